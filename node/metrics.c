/* metrics.c - /metrics in the Prometheus text exposition format.
 *
 * Each metric is one row of a table (name, type, help, how to read it;
 * rt/prom.h writes the HELP/TYPE lines), so HELP/TYPE lines and values can
 * never drift apart.  Values come from node_engine_stats_get (orders,
 * outbox, commits, events), the server's own counters, node_repl_stats_get
 * (replication with HQ) and /proc/self/statm.
 */
#include "metrics.h"

#include "proto/order.h"
#include "rt/prom.h"

typedef struct src {
  const node_engine_stats *st;     /* NULL if the engine could not answer */
  const node_server_counters *c;
  bool repl_on;                    /* replication configured (mqtt_host set) */
  node_repl_stats rs;              /* all 0 when it is off */
  const char *version, *store_id;
} src;

/* Each row's emit: ctx is the src below. */
#define SRC const src *s = ctx

static int orders(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  int rc = PROTO_OK;
  for (int m = 0; s->st && m < PROTO_MS__COUNT && rc == PROTO_OK; m++) {
    if (proto_milestone_rank((proto_milestone)m) < 0) continue;
    rc = rt_prom_labeled(out, name, "status", proto_milestone_name((proto_milestone)m),
                         s->st->orders_by_status[m]);
  }
  return rc;
}

#define STAT_FN(fn, field) \
  static int fn(proto_buf *out, const char *name, const void *ctx) { \
    SRC;                                                              \
    return s->st ? rt_prom_u64(out, name, s->st->field) : PROTO_OK;   \
  }
STAT_FN(outbox, outbox_depth)
STAT_FN(last_seq, last_seq)
STAT_FN(last_acked, last_acked_seq)
STAT_FN(duplicates, events_duplicate)

static int commit_seconds(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  return s->st ? rt_prom_seconds_summary(out, name, s->st->commit_ns_total, s->st->commits) : PROTO_OK;
}

static int commit_max(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  return s->st ? rt_prom_seconds(out, name, s->st->commit_ns_max) : PROTO_OK;
}

static int events(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  if (!s->st) return PROTO_OK;
  int rc = rt_prom_labeled(out, name, "source", "local", s->st->events_local);
  return rc == PROTO_OK ? rt_prom_labeled(out, name, "source", "remote", s->st->events_remote) : rc;
}

#define COUNTER_FN(fn, field) \
  static int fn(proto_buf *out, const char *name, const void *ctx) { \
    SRC;                                                              \
    return rt_prom_u64(out, name, s->c->field);                       \
  }
COUNTER_FN(tablets, tablets_connected)
COUNTER_FN(tablets_auth, tablets_authenticated)
COUNTER_FN(ws_messages, ws_messages)
COUNTER_FN(ws_errors, ws_errors)
COUNTER_FN(ws_rate_limited, ws_rate_limited)
COUNTER_FN(commits_failed, commits_failed)
COUNTER_FN(http_requests, http_requests)

/* Replication: always reported (0 when off), so a dashboard tells "off" from
 * "down" by storenode_repl_enabled rather than by missing series. */
#define REPL_FN(fn, expr)                                             \
  static int fn(proto_buf *out, const char *name, const void *ctx) { \
    SRC;                                                              \
    return rt_prom_u64(out, name, (uint64_t)(expr));                  \
  }
REPL_FN(repl_enabled, s->repl_on)
REPL_FN(repl_connected, s->rs.connected)
REPL_FN(repl_hq_ready, s->rs.hq_ready)
REPL_FN(repl_batches_sent, s->rs.batches_sent)
REPL_FN(repl_events_sent, s->rs.events_sent)
REPL_FN(repl_retransmits, s->rs.retransmits)
REPL_FN(repl_batches_received, s->rs.batches_received)
REPL_FN(repl_events_received, s->rs.events_received)
REPL_FN(repl_batches_rejected, s->rs.batches_rejected)
REPL_FN(repl_acks_received, s->rs.acks_received)
REPL_FN(repl_mqtt_dropped, s->rs.mqtt_dropped)

static int ws_closed(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  int rc = rt_prom_labeled(out, name, "reason", "flood", s->c->ws_closed_flood);
  if (rc == PROTO_OK) rc = rt_prom_labeled(out, name, "reason", "too_large", s->c->ws_closed_too_big);
  if (rc == PROTO_OK) rc = rt_prom_labeled(out, name, "reason", "slow_reader", s->c->ws_dropped_slow);
  return rc;
}

static int rss(proto_buf *out, const char *name, const void *ctx) {
  (void)ctx;
  return rt_prom_rss(out, name);
}

static int build_info(proto_buf *out, const char *name, const void *ctx) {
  SRC;
  int rc = proto_buf_printf(out, "%s{version=", name);
  if (rc == PROTO_OK) rc = proto_buf_json_string(out, s->version);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, ",store=");
  if (rc == PROTO_OK) rc = proto_buf_json_string(out, s->store_id);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, "} 1\n");
  return rc;
}

static const rt_prom_metric metrics[] = {
    {"storenode_orders", "gauge", "Orders on the board by status.", orders},
    {"storenode_outbox_depth", "gauge", "Local events not yet acknowledged by HQ.", outbox},
    {"storenode_last_seq", "gauge", "Highest seq of this store's own events.", last_seq},
    {"storenode_last_acked_seq", "gauge", "Highest own seq HQ acknowledged.", last_acked},
    {"storenode_commit_seconds", "summary", "Group commit duration (one fsync each).", commit_seconds},
    {"storenode_commit_seconds_max", "gauge", "Longest group commit since start.", commit_max},
    {"storenode_events_total", "counter", "Events applied, by where they were written.", events},
    {"storenode_events_duplicate_total", "counter", "Remote events received again and ignored.", duplicates},
    {"storenode_tablets_connected", "gauge", "Open tablet WebSockets.", tablets},
    {"storenode_tablets_authenticated", "gauge", "Tablet WebSockets with a staff session.", tablets_auth},
    {"storenode_ws_messages_total", "counter", "Tablet frames handled.", ws_messages},
    {"storenode_ws_errors_total", "counter", "Error answers sent to tablets.", ws_errors},
    {"storenode_ws_rate_limited_total", "counter", "Tablet frames refused by the rate limit.", ws_rate_limited},
    {"storenode_ws_closed_total", "counter", "Tablet sockets closed by the server, by reason.", ws_closed},
    {"storenode_commit_failures_total", "counter", "Group commits that failed (acks became errors).", commits_failed},
    {"storenode_http_requests_total", "counter", "Requests to /metrics, /healthz and /api/.", http_requests},
    {"storenode_repl_enabled", "gauge", "1 if replication with HQ is configured (mqtt_host set).", repl_enabled},
    {"storenode_repl_connected", "gauge", "1 while connected to the MQTT broker.", repl_connected},
    {"storenode_repl_hq_ready", "gauge", "1 once HQ's hello arrived on this connection (sending allowed).", repl_hq_ready},
    {"storenode_repl_batches_sent_total", "counter", "Event batches published to HQ, resends included.", repl_batches_sent},
    {"storenode_repl_events_sent_total", "counter", "Events published to HQ, resends included.", repl_events_sent},
    {"storenode_repl_retransmits_total", "counter", "Resends of unacknowledged batches after retransmit_s.", repl_retransmits},
    {"storenode_repl_batches_received_total", "counter", "Event batches from HQ taken in.", repl_batches_received},
    {"storenode_repl_events_received_total", "counter", "Events from HQ ingested (duplicates included).", repl_events_received},
    {"storenode_repl_batches_rejected_total", "counter", "Batches from HQ refused (malformed, or another store's).", repl_batches_rejected},
    {"storenode_repl_acks_received_total", "counter", "Acknowledgements from HQ (down/ack and down/hello).", repl_acks_received},
    {"storenode_repl_mqtt_dropped_total", "counter", "Incoming MQTT messages dropped on a full queue (HQ resends them).", repl_mqtt_dropped},
    {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss},
    {"storenode_build_info", "gauge", "Build version of this storenode (always 1).", build_info},
};

int node_metrics_render(proto_buf *out, node_engine *e, const node_server_counters *c,
                        const node_repl *repl, const char *version, const char *store_id) {
  node_engine_stats st;
  node_err err;
  src s = {.c = c, .repl_on = repl != NULL, .version = version, .store_id = store_id};
  if (e && node_engine_stats_get(e, &st, &err) == NODE_OK) s.st = &st;
  node_repl_stats_get(repl, &s.rs); /* zeroes when repl is NULL */
  return rt_prom_render(out, metrics, sizeof metrics / sizeof metrics[0], &s) == PROTO_OK ? NODE_OK
                                                                                           : NODE_ENOMEM;
}
