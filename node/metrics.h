/* node/metrics.h - GET /metrics in the Prometheus text format (0.0.4). */
#ifndef NODE_METRICS_H
#define NODE_METRICS_H

#include <stdint.h>

#include "engine.h"
#include "proto/buf.h"
#include "repl.h"

/* Figures the server keeps itself (the engine keeps the rest). */
typedef struct node_server_counters {
  uint64_t tablets_connected;      /* open WebSockets */
  uint64_t tablets_authenticated;
  uint64_t ws_messages;            /* frames handled */
  uint64_t ws_errors;              /* error answers sent */
  uint64_t ws_rate_limited;        /* frames refused by the token bucket */
  uint64_t ws_closed_flood;        /* closed 1008 */
  uint64_t ws_closed_too_big;      /* closed 1009 */
  uint64_t ws_dropped_slow;        /* send queue overflow */
  uint64_t commits_failed;
  uint64_t http_requests;          /* dynamic routes only */
} node_server_counters;

/* Append every metric to out.  Engine figures missing (engine error) are
 * skipped, never invented; replication figures come from repl (NULL when
 * replication is off: storenode_repl_enabled 0 and the rest 0).
 * NODE_ENOMEM if out could not grow. */
int node_metrics_render(proto_buf *out, node_engine *e, const node_server_counters *c,
                        const node_repl *repl, const char *version, const char *store_id);

#endif
