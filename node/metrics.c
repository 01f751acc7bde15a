/* metrics.c - /metrics in the Prometheus text exposition format.
 *
 * Each metric is one row of a table (name, type, help, how to read it), so
 * HELP/TYPE lines and values can never drift apart.  Values come from
 * node_engine_stats_get (orders, outbox, commits, events), the server's own
 * counters, and /proc/self/statm.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "proto/order.h"

typedef struct src {
  const node_engine_stats *st;     /* NULL if the engine could not answer */
  const node_server_counters *c;
  const char *version, *store_id;
} src;

typedef int (*emit_fn)(proto_buf *out, const char *name, const src *s);

typedef struct metric {
  const char *name, *type, *help;
  emit_fn emit;
} metric;

static int orders(proto_buf *out, const char *name, const src *s) {
  int rc = PROTO_OK;
  if (!s->st) return rc;
  for (int m = 0; m < PROTO_MS__COUNT && rc == PROTO_OK; m++) {
    if (proto_milestone_rank((proto_milestone)m) < 0) continue;
    rc = proto_buf_printf(out, "%s{status=\"%s\"} %" PRIu64 "\n", name,
                          proto_milestone_name((proto_milestone)m), s->st->orders_by_status[m]);
  }
  return rc;
}

static int value(proto_buf *out, const char *name, uint64_t v) {
  return proto_buf_printf(out, "%s %" PRIu64 "\n", name, v);
}

static int outbox(proto_buf *out, const char *name, const src *s) {
  return s->st ? value(out, name, s->st->outbox_depth) : PROTO_OK;
}

static int last_seq(proto_buf *out, const char *name, const src *s) {
  return s->st ? value(out, name, s->st->last_seq) : PROTO_OK;
}

static int last_acked(proto_buf *out, const char *name, const src *s) {
  return s->st ? value(out, name, s->st->last_acked_seq) : PROTO_OK;
}

static int commit_seconds(proto_buf *out, const char *name, const src *s) {
  if (!s->st) return PROTO_OK;
  return proto_buf_printf(out, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name,
                          (double)s->st->commit_ns_total / 1e9, name, s->st->commits);
}

static int commit_max(proto_buf *out, const char *name, const src *s) {
  return s->st ? proto_buf_printf(out, "%s %.9f\n", name, (double)s->st->commit_ns_max / 1e9)
               : PROTO_OK;
}

static int events(proto_buf *out, const char *name, const src *s) {
  if (!s->st) return PROTO_OK;
  return proto_buf_printf(out,
                          "%s{source=\"local\"} %" PRIu64 "\n%s{source=\"remote\"} %" PRIu64
                          "\n",
                          name, s->st->events_local, name, s->st->events_remote);
}

static int duplicates(proto_buf *out, const char *name, const src *s) {
  return s->st ? value(out, name, s->st->events_duplicate) : PROTO_OK;
}

#define COUNTER_FN(fn, field) \
  static int fn(proto_buf *out, const char *name, const src *s) { return value(out, name, s->c->field); }
COUNTER_FN(tablets, tablets_connected)
COUNTER_FN(tablets_auth, tablets_authenticated)
COUNTER_FN(ws_messages, ws_messages)
COUNTER_FN(ws_errors, ws_errors)
COUNTER_FN(ws_rate_limited, ws_rate_limited)
COUNTER_FN(commits_failed, commits_failed)
COUNTER_FN(http_requests, http_requests)

static int ws_closed(proto_buf *out, const char *name, const src *s) {
  return proto_buf_printf(out,
                          "%s{reason=\"flood\"} %" PRIu64 "\n%s{reason=\"too_large\"} %" PRIu64
                          "\n%s{reason=\"slow_reader\"} %" PRIu64 "\n",
                          name, s->c->ws_closed_flood, name, s->c->ws_closed_too_big, name,
                          s->c->ws_dropped_slow);
}

/* Resident set size: second field of /proc/self/statm, in pages. */
static int rss(proto_buf *out, const char *name, const src *s) {
  unsigned long size = 0, resident = 0;
  long page = sysconf(_SC_PAGESIZE);
  FILE *f = fopen("/proc/self/statm", "r");
  int n = f ? fscanf(f, "%lu %lu", &size, &resident) : 0;
  if (f) fclose(f);
  if (n != 2 || page <= 0) return PROTO_OK;
  return value(out, name, (uint64_t)resident * (uint64_t)page);
}

static int build_info(proto_buf *out, const char *name, const src *s) {
  int rc = proto_buf_printf(out, "%s{version=", name);
  if (rc == PROTO_OK) rc = proto_buf_json_string(out, s->version);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, ",store=");
  if (rc == PROTO_OK) rc = proto_buf_json_string(out, s->store_id);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, "} 1\n");
  return rc;
}

static const metric metrics[] = {
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
    {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss},
    {"storenode_build_info", "gauge", "Build version of this storenode (always 1).", build_info},
};

int node_metrics_render(proto_buf *out, node_engine *e, const node_server_counters *c,
                        const char *version, const char *store_id) {
  node_engine_stats st;
  node_err err;
  src s = {NULL, c, version, store_id};
  int rc = PROTO_OK;
  if (e && node_engine_stats_get(e, &st, &err) == NODE_OK) s.st = &st;
  for (size_t i = 0; i < sizeof metrics / sizeof metrics[0] && rc == PROTO_OK; i++) {
    rc = proto_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", metrics[i].name, metrics[i].help,
                          metrics[i].name, metrics[i].type);
    if (rc == PROTO_OK) rc = metrics[i].emit(out, metrics[i].name, &s);
  }
  return rc == PROTO_OK ? NODE_OK : NODE_ENOMEM;
}
