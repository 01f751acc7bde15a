/* tclient.h - a minimal MQTT v5 test client over TLS (libmosquitto, driven
 * on the test's thread with bounded waits on the socket, no sleeps).  The
 * bounds given are those of a native run: each is times RETAIL_TIME_SCALE
 * (tests/common/exec_wrap.h). */
#ifndef PROV_TEST_TCLIENT_H
#define PROV_TEST_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define TC_MSGS 64
#define TC_WAIT_MS 5000

typedef struct tc_msg {
  char topic[160];
  char payload[8192];
  int len;
} tc_msg;

typedef struct tclient {
  struct mosquitto *m;
  bool connected, lost;
  int connack;                 /* CONNACK reason (0 = accepted) */
  int disconnect_rc;           /* why the link went: MQTT reason or MOSQ_ERR_* */
  int sub_mid, sub_qos;        /* granted QoS or reason >= 0x80 */
  bool sub_done;
  int pub_mid, pub_reason;
  bool pub_done;
  tc_msg msgs[TC_MSGS];        /* received, in order */
  int n_msgs;
} tclient;

typedef struct tc_opts {
  int port;
  const char *client_id;
  const char *cafile, *certfile, *keyfile;   /* certfile NULL: no client certificate */
  const char *username;                      /* sent in CONNECT (ignored by the broker) */
  bool clean_start;
  int session_expiry_s;
  bool no_time_check;                        /* accept a broker certificate outside its dates */
} tc_opts;

/* Connect and wait for the CONNACK: 0 accepted; -1 refused or the link
 * (TLS) failed within the wait. */
int tc_connect(tclient *c, const tc_opts *o);
/* Subscribe, wait for SUBACK: granted QoS (0..2) or the reason (>= 0x80). */
int tc_sub(tclient *c, const char *filter);
/* Publish QoS 1, wait for PUBACK: its reason code (0 or e.g. 0x87). */
int tc_pub(tclient *c, const char *topic, const char *payload);
/* Pump until a message on topic arrives (or the wait ends): its index in
 * msgs, or -1. */
int tc_wait_msg(tclient *c, const char *topic, int timeout_ms);
/* Pump until the link is lost (true) or the wait ends (false). */
bool tc_wait_lost(tclient *c, int timeout_ms);
/* Did a message on topic arrive (without waiting)? */
bool tc_got(const tclient *c, const char *topic);
/* Pump once for up to ms (handles pending network work). */
void tc_pump(tclient *c, int ms);
void tc_close(tclient *c);

#endif
