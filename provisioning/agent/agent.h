/* agent.h - storenode-provision, the box's first-boot and renewal agent.
 *
 * On first boot a box has: its serial, a claim token (file), the fleet CA
 * certificate, the shared claim certificate + key, the broker's address.
 * The agent makes the box a store node:
 *
 *   new ─key─▶ keyed ─CSR, request─▶ (pending: wait) ─▶ issued ─files─▶ done
 *
 *   keyed     state_dir/key.pem: P-256, generated here, mode 0600, never sent
 *   issued    state_dir/response.json: HQ's answer, checked (chains to the
 *             factory CA, carries our public key, CN = the store id)
 *   done      cert.pem, ca.pem and the storenode config written
 * Every file is written atomically (temp + fsync + rename + dir fsync) and
 * the phase (state_dir/state) only after what it stands for, so a power cut
 * at any step resumes where it stopped: the key is never regenerated while
 * it exists, a request is simply sent again (HQ answers a known key with
 * the same certificate, without spending another token), an answer already
 * received is finished without the network.
 *
 * Time: the box may have no real-time clock.  HQ's certificate is checked
 * without validity dates (the broker checks them with its own clock); the
 * broker's certificate dates are checked only if the clock is trustworthy
 * (time_check = auto: the kernel says NTP-synchronised and the clock is not
 * before the CA's notBefore), so a box that boots in 1970 still connects.
 * Renewal ("done" and less than renew_before_days left, or --renew) sends a
 * request without a token: HQ recognises the key.  The days left are only
 * counted when the clock is trustworthy (as above, or time_check = yes);
 * otherwise the run does nothing and the daily timer
 * (firmware/systemd/storenode-renew.timer) asks again.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/event.h"
#include "prov/error.h"
#include "prov/msg.h"
#include "rt/log.h"

#define AGENT_PATH_MAX 512

typedef enum { AGENT_TIME_AUTO, AGENT_TIME_YES, AGENT_TIME_NO } agent_time_check;

typedef struct agent_config {
  char serial[PROTO_ID_MAX];
  char claim_token_file[AGENT_PATH_MAX];
  char ca_file[AGENT_PATH_MAX];
  char claim_certfile[AGENT_PATH_MAX];
  char claim_keyfile[AGENT_PATH_MAX];
  char broker_host[PROV_HOST_MAX];
  int64_t broker_port;
  char state_dir[AGENT_PATH_MAX];
  char node_config[AGENT_PATH_MAX];
  char node_config_base[AGENT_PATH_MAX];
  int64_t response_wait_s;
  int64_t retry_min_s;
  int64_t retry_max_s;
  int64_t max_wait_s;
  int64_t renew_before_days;
  char time_check[8];
  rt_log_level log_level;
} agent_config;

/* config.c */
int agent_config_defaults(agent_config *c, prov_err *err);
int agent_config_load(agent_config *c, const char *path, prov_err *err);
void agent_config_print_keys(FILE *out);
agent_time_check agent_config_time_check(const agent_config *c);

/* state.c: the phase file and the storenode config */
typedef enum { AGENT_NEW, AGENT_KEYED, AGENT_ISSUED, AGENT_DONE } agent_phase;
const char *agent_phase_name(agent_phase p);
/* The saved phase; AGENT_NEW when there is no state file. */
int agent_state_load(const char *state_dir, agent_phase *phase, prov_err *err);
int agent_state_save(const char *state_dir, agent_phase phase, prov_err *err);
/* state_dir/<name> into buf. */
void agent_path(char *buf, size_t cap, const agent_config *c, const char *name);
/* Write the storenode config for an issued answer: our own keys, then the
 * local base file's lines, then HQ's snippet (a key already set is not
 * repeated: storenode refuses repeated keys).  Atomic. */
int agent_write_node_config(const agent_config *c, const prov_response *p, const rt_log *lg,
                            prov_err *err);

/* agent.c */
typedef struct agent_run_opts {
  bool renew;                      /* ask HQ even if the certificate is not due */
} agent_run_opts;
/* PROV_OK when the box is provisioned (or already was), PROV_ETIMEOUT after
 * max_wait_s, PROV_EREVOKED when HQ says this key is revoked, else the error. */
int agent_run(const agent_config *c, const agent_run_opts *o, const rt_log *lg, prov_err *err);

/* mq.c: one MQTT connection with the claim identity, single-threaded */
typedef struct agent_mq agent_mq;
typedef struct agent_mq_opts {
  const char *host;
  int port;
  const char *client_id;
  const char *cafile, *certfile, *keyfile;
  bool check_time;                 /* broker certificate validity dates */
  const rt_log *log;               /* libmosquitto's errors go here (debug) */
} agent_mq_opts;
int agent_mq_open(agent_mq **out, const agent_mq_opts *o, prov_err *err);
void agent_mq_close(agent_mq *m);
/* Connect, subscribe to topic, wait for both: PROV_ETIMEOUT / PROV_EIO. */
int agent_mq_start(agent_mq *m, const char *sub_topic, int timeout_ms, prov_err *err);
/* Publish (QoS 1) and wait for the broker's PUBACK. */
int agent_mq_publish(agent_mq *m, const char *topic, const void *payload, size_t len,
                     int timeout_ms, prov_err *err);
/* Wait for the next message on the subscription (copied into out, reset
 * first): PROV_OK, PROV_ETIMEOUT, PROV_EIO (connection lost). */
int agent_mq_next(agent_mq *m, int timeout_ms, proto_buf *out, prov_err *err);

#endif
