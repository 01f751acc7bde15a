/* metrics.c - GET /metrics in the Prometheus text format: one table of
 * rows (rt/prom.h), values from hq_core_stats_get and the server's counters.
 * The route needs a token with the read scope (api.c's table).
 */
#include <inttypes.h>

#include "routing.h"
#include "rt/prom.h"
#include "server.h"

#ifndef HQ_VERSION
#define HQ_VERSION "0.0.0"
#endif

typedef struct src {
  const hq_core_stats *st;
  const hq_server_counters *c;
} src;

static const char *const kind_names[] = {"hello", "events", "ack", "heartbeat", "status"};

static int msgs(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  int rc = PROTO_OK;
  for (size_t k = 0; k < 5 && rc == PROTO_OK; k++)
    rc = rt_prom_labeled(out, name, "kind", kind_names[k], s->st->msgs[k]);
  return rc;
}

static int events(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  int rc = rt_prom_labeled(out, name, "result", "applied", s->st->events_applied);
  if (rc == PROTO_OK) rc = rt_prom_labeled(out, name, "result", "duplicate", s->st->events_duplicate);
  if (rc == PROTO_OK) rc = rt_prom_labeled(out, name, "result", "clock_skew", s->st->events_skewed);
  if (rc == PROTO_OK) rc = rt_prom_labeled(out, name, "result", "unmerged", s->st->events_unmerged);
  return rc;
}

static int no_store(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  int rc = PROTO_OK;
  for (int r = 0; r < HQ_NOSTORE__COUNT && rc == PROTO_OK; r++)
    rc = rt_prom_labeled(out, name, "reason", hq_nostore_name((hq_nostore)r), s->st->no_store[r]);
  return rc;
}

static int open_orders(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  int rc = PROTO_OK;
  for (int m = 0; m < PROTO_MS__COUNT && rc == PROTO_OK; m++)
    if (proto_milestone_rank((proto_milestone)m) >= 0 && proto_milestone_rank((proto_milestone)m) <= 3)
      rc = rt_prom_labeled(out, name, "status", proto_milestone_name((proto_milestone)m),
                           s->st->open_by_status[m]);
  return rc;
}

static int commit_seconds(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  return rt_prom_seconds_summary(out, name, s->st->commit_ns_total, s->st->commits);
}

static int log_commit_seconds(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  return rt_prom_seconds_summary(out, name, s->st->log_commit_ns_total, s->st->log_commits);
}

static int log_lag(proto_buf *out, const char *name, const void *ctx) {
  const src *s = ctx;
  int64_t lag = s->st->log_head - s->st->log_applied;
  return rt_prom_u64(out, name, lag > 0 ? (uint64_t)lag : 0);
}

static int commit_max(proto_buf *out, const char *name, const void *ctx) {
  return rt_prom_seconds(out, name, ((const src *)ctx)->st->commit_ns_max);
}

static int rss(proto_buf *out, const char *name, const void *ctx) {
  (void)ctx;
  return rt_prom_rss(out, name);
}

static int build(proto_buf *out, const char *name, const void *ctx) {
  (void)ctx;
  return rt_prom_labeled(out, name, "version", HQ_VERSION, 1);
}

#define STAT(fn, field) \
  static int fn(proto_buf *out, const char *name, const void *ctx) { \
    return rt_prom_u64(out, name, ((const src *)ctx)->st->field);      \
  }
#define COUNTER(fn, field) \
  static int fn(proto_buf *out, const char *name, const void *ctx) { \
    return rt_prom_u64(out, name, (uint64_t)((const src *)ctx)->c->field); \
  }
STAT(rejected, msgs_rejected)
STAT(commit_msgs, commit_msgs_total)
STAT(acks, acks_sent)
STAT(hellos, hellos_sent)
STAT(down_batches, down_batches)
STAT(down_events, down_events)
STAT(down_resends, down_resends)
STAT(down_unacked, down_unacked)
STAT(publish_failed, publish_failed)
STAT(created, orders_created)
STAT(replayed, orders_replayed)
STAT(stores, stores_known)
STAT(online, stores_online)
STAT(conflicts, conflicts)
STAT(wal_checkpoints, wal_checkpoints)
STAT(log_commit_failed, log_commit_failed)
STAT(log_queued, log_queued)
STAT(wal_checkpoints_failed, wal_checkpoints_failed)
COUNTER(mqtt_connected, mqtt_connected)
COUNTER(http_requests, http_requests)
COUNTER(http_errors, http_errors)
COUNTER(http_unauth, http_unauth)

static const rt_prom_metric rows[] = {
    {"hq_mqtt_messages_total", "counter", "Messages from stores handled, by kind.", msgs},
    {"hq_mqtt_rejected_total", "counter", "Messages from stores refused (malformed, oversized, wrong store).", rejected},
    {"hq_events_total", "counter", "Store events received, by result.", events},
    {"hq_commit_seconds", "summary", "Ingest/command commit duration (one fsync each).", commit_seconds},
    {"hq_commit_seconds_max", "gauge", "Longest commit since start.", commit_max},
    {"hq_commit_messages_total", "counter", "Messages and commands made durable (sum over commits).", commit_msgs},
    {"hq_acks_sent_total", "counter", "down/ack messages published.", acks},
    {"hq_hellos_sent_total", "counter", "down/hello messages published.", hellos},
    {"hq_down_batches_total", "counter", "down/events batches published.", down_batches},
    {"hq_down_events_total", "counter", "HQ events published to stores (resends included).", down_events},
    {"hq_down_resends_total", "counter", "Retransmissions after an ack did not come.", down_resends},
    {"hq_down_unacked", "gauge", "HQ events not yet acknowledged by their store.", down_unacked},
    {"hq_publish_failed_total", "counter", "Publishes refused (MQTT not connected); resent later.", publish_failed},
    {"hq_orders_created_total", "counter", "Orders dispatched by the intake API.", created},
    {"hq_orders_replayed_total", "counter", "Intake retries answered from the idempotency key.", replayed},
    {"hq_orders_no_store_total", "counter", "Intake requests no store could serve (409), by reason.", no_store},
    {"hq_orders_open", "gauge", "Open orders across all stores, by status.", open_orders},
    {"hq_conflicts", "gauge", "Orders cancelled and handed off, not yet resolved.", conflicts},
    {"hq_stores", "gauge", "Stores known.", stores},
    {"hq_stores_online", "gauge", "Stores online (status, or traffic within offline_after_s).", online},
    {"hq_log_commit_seconds", "summary", "Store log commits (the log thread; one fsync each).", log_commit_seconds},
    {"hq_log_commit_failed_total", "counter", "Store log commits that failed (their batches refused, resent).", log_commit_failed},
    {"hq_log_queue", "gauge", "Events batches waiting for the store log's thread.", log_queued},
    {"hq_log_lag_events", "gauge", "Store log rows not merged into hq.db yet.", log_lag},
    {"hq_wal_checkpoints_total", "counter", "WAL checkpoints run by the checkpoint thread.", wal_checkpoints},
    {"hq_wal_checkpoints_failed_total", "counter", "WAL checkpoints that failed (logged; retried).", wal_checkpoints_failed},
    {"hq_mqtt_connected", "gauge", "1 while HQ's MQTT session is up.", mqtt_connected},
    {"hq_http_requests_total", "counter", "HTTP requests.", http_requests},
    {"hq_http_errors_total", "counter", "HTTP requests answered with an error.", http_errors},
    {"hq_http_unauthorized_total", "counter", "HTTP requests refused 401: no or an unknown bearer token.", http_unauth},
    {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss},
    {"hq_build_info", "gauge", "Build version of this hq (always 1).", build},
};

int hq_metrics_render(hq_server *s, proto_buf *out, hq_err *err) {
  hq_core_stats st;
  int rc = hq_core_stats_get(s->core, &st, err);
  if (rc != HQ_OK) return rc;
  src x = {&st, &s->counters};
  return rt_prom_render(out, rows, sizeof rows / sizeof rows[0], &x) == PROTO_OK
             ? HQ_OK
             : hq_err_set(err, HQ_ENOMEM, "metrics: out of memory");
}
