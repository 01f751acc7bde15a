/* node/repl.h - the store's replication session with HQ over MQTT
 * (docs/protocol.md, "MQTT replication"; message formats in proto/repl.h).
 *
 * Driven from the storenode lws loop: the MQTT client runs on its own thread
 * (rt/mqtt.h) and wakes the loop; node_repl_service() handles what arrived.
 * Everything else (timers, the engine) is on the loop thread.
 *
 * What it guarantees: a local event leaves the outbox only when HQ's
 * application-level ack (down/ack or down/hello) covers its seq; until then
 * it is sent again (after every hello, and when no ack comes within
 * retransmit_s).  HQ's events are applied in one commit per batch and acked
 * after that commit.  Without a broker the store keeps working; when the
 * link returns the hello exchange sends whatever is missing, both ways.
 */
#ifndef NODE_REPL_H
#define NODE_REPL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"
#include "log.h"

struct lws_context;
typedef struct node_repl node_repl;

typedef struct node_repl_opts {
  const char *store_id;
  const char *host;              /* NULL or "": replication off */
  int port;                      /* 1883 */
  int keepalive_s;               /* 0: 30 */
  uint32_t session_expiry_s;     /* 0: 86400 */
  int heartbeat_s;               /* 0: 15 */
  int retransmit_s;              /* 0: 10 */
  unsigned window;               /* batches in flight; 0: 16 */
  unsigned reconnect_min_s, reconnect_max_s; /* 0: 1 and 30 */
  const char *cafile, *certfile, *keyfile;   /* TLS when cafile is set */
  const char *version;           /* storenode version for the heartbeat (an id) */
  const char *update_spool_dir;  /* relay the update agent's spool (update_relay.h); NULL/"": off */
  node_engine *eng;
  struct lws_context *lws;       /* timers, and the MQTT thread wakes it */
  const node_log *log;
  /* Commit the open batch as the program does (tablet pushes, held acks);
   * NULL: node_engine_commit. */
  int (*commit)(void *ctx, node_err *err);
  /* Tablets connected now, for the heartbeat; NULL: 0. */
  uint32_t (*tablets)(void *ctx);
  void *ctx;
} node_repl_opts;

/* Start the session (connects in the background).  Replication off (no
 * host): NODE_OK with *out NULL; every call below accepts NULL.  On failure
 * *out is NULL, nothing runs, err says why (NODE_ECONFIG for bad options). */
int node_repl_create(node_repl **out, const node_repl_opts *o, node_err *err);
/* Publish "offline", disconnect, stop the thread, cancel the timers. */
void node_repl_destroy(node_repl *r);
/* Call from LWS_CALLBACK_EVENT_WAIT_CANCELLED: handle what MQTT queued. */
void node_repl_service(node_repl *r);
/* The engine's on_change (inside node_engine_commit): local events are
 * sent soon after (from a zero-delay timer, not from inside the commit). */
void node_repl_on_change(node_repl *r, const node_change *ch);

typedef struct node_repl_stats {
  bool connected;                /* to the broker */
  bool hq_ready;                 /* HQ's hello received on this connection */
  uint64_t batches_sent, events_sent, retransmits;
  uint64_t batches_received, events_received, batches_rejected;
  uint64_t acks_received, mqtt_dropped;
} node_repl_stats;
void node_repl_stats_get(const node_repl *r, node_repl_stats *out);

#endif
