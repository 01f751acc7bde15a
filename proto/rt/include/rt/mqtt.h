/* rt/mqtt.h - libmosquitto on its own thread, handed over to an event loop.
 *
 * storenode and hq are single-threaded libwebsockets loops.  libmosquitto
 * runs its network loop on its own thread (mosquitto_loop_start); its
 * callbacks only copy what happened into a mutex-protected queue and wake
 * the lws loop with lws_cancel_service() (the one lws call that is safe from
 * another thread).  The loop thread then calls rt_mqtt_drain() from
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED and handles each item.  So all program
 * state is touched by one thread only.
 *
 * MQTT v5; persistent session: clean_start false with
 * MQTT_PROP_SESSION_EXPIRY_INTERVAL set (without it mosquitto 2.0 ends the
 * session at disconnect).  The broker's queue is only a convenience: the
 * SQLite logs are the source of truth and everything is resent from them.
 */
#ifndef RT_MQTT_H
#define RT_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/tls.h"

struct lws_context;

typedef struct rt_mqtt rt_mqtt;

typedef enum { RT_MQTT_CONNECTED, RT_MQTT_DISCONNECTED, RT_MQTT_MESSAGE } rt_mqtt_kind;

/* CONNECTED always means accepted (CONNACK reason 0): the subscriptions have
 * been requested again and publishing works.  A refused CONNACK comes as
 * DISCONNECTED with the broker's reason code (e.g. 135 not authorised). */
typedef struct rt_mqtt_event {
  rt_mqtt_kind kind;
  int rc;                   /* CONNECTED/DISCONNECTED: broker reason code */
  const char *topic;        /* MESSAGE only; valid during the callback */
  const void *payload;
  size_t len;
  void *prepared;           /* MESSAGE: opts.prepare's result (or NULL); the
                               callback owns it (frees it or hands it on) */
} rt_mqtt_event;

typedef struct rt_mqtt_opts {
  const char *host;         /* e.g. "127.0.0.1" */
  int port;
  const char *client_id;
  const char *username;     /* NULL: none */
  int keepalive_s;          /* default 30 */
  uint32_t session_expiry_s;/* default 86400 */
  const char *will_topic;   /* NULL: no will */
  const char *will_payload;
  bool will_retain;
  const char *const *subs;  /* topic filters subscribed on every connect, QoS 1 */
  size_t n_subs;
  const char *cafile;       /* TLS when set (issue 5); NULL: plain TCP */
  const char *certfile;
  const char *keyfile;
  size_t max_queue;         /* queued items before the oldest messages are
                               refused back to the broker (default 10000) */
  struct lws_context *wake; /* woken with lws_cancel_service; may be NULL (tests poll) */
  unsigned reconnect_min_s; /* first reconnect delay, doubling up to max (defaults 1, 30) */
  unsigned reconnect_max_s;
  /* TLS only: the broker certificate's validity dates (rt/tls.h).  Default
   * AUTO: checked when the kernel says the clock is NTP-synchronised, decided
   * once at rt_mqtt_open.  Chain, signature and host name: always. */
  rt_tls_time_check tls_time_check;
  bool (*clock_synced)(void); /* AUTO's question; NULL: rt_tls_clock_synced (tests inject) */
  /* Work done on the client thread for each message before it is queued
   * (hq decodes events batches there: the thread is idle between
   * messages); the result rides with the message to the drain callback
   * (ev->prepared).  Must be thread-safe and touch no loop state.  NULL:
   * none.  prepared_free frees a result nobody drained (a message dropped
   * from a full queue, rt_mqtt_close). */
  void *(*prepare)(void *ctx, const char *topic, const void *payload, size_t len);
  void (*prepared_free)(void *p);
  void *prepare_ctx;
} rt_mqtt_opts;

/* Start the client thread and connect asynchronously (reconnects by itself
 * with backoff).  On failure *out is NULL, errbuf says why, nothing runs.
 * Failure means bad options (host, port 1..65535, client_id, keepalive >= 5
 * when set, TLS files, tls_time_check) or no memory; an unreachable broker is not a failure. */
int rt_mqtt_open(rt_mqtt **out, const rt_mqtt_opts *opts, char *errbuf, size_t cap);
/* Disconnect, stop the thread, free queued items.  NULL is fine.  With a
 * will configured, the DISCONNECT asks the broker to publish it (reason 4),
 * so a clean stop reads the same as a lost link ("offline").  May wait for
 * a TCP connect in progress (kernel SYN timeout) if the broker's host does
 * not answer at all. */
void rt_mqtt_close(rt_mqtt *m);
/* Queue a publish (thread-safe).  0 on success, -1 if not connected or the
 * library refused; the caller's log is the outbox, so it simply resends later. */
int rt_mqtt_publish(rt_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain);
/* Handle every queued item on the calling thread, in arrival order.
 * Returns how many were handled. */
size_t rt_mqtt_drain(rt_mqtt *m, void (*cb)(void *ctx, const rt_mqtt_event *ev), void *ctx);
bool rt_mqtt_connected(const rt_mqtt *m);
/* Messages dropped because the queue was full (the peer resends them). */
uint64_t rt_mqtt_dropped(const rt_mqtt *m);

#endif
