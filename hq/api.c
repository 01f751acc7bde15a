/* api.c - the route table of the HTTP API and its handlers.
 *
 * A handler is the whole HTTP-facing part of an endpoint: decode the body
 * (api_json.c), call the command (commands.h), let the command's JSON be the
 * answer.  docs/hq.md shows every endpoint with real requests and answers.
 */
#include <stdio.h>
#include <string.h>

#include "api_json.h"
#include "jw.h"
#include "server.h"

#define ORDERS HQ_SCOPE(ORDERS)
#define RIDER HQ_SCOPE(RIDER)
#define ADMIN HQ_SCOPE(ADMIN)
#define READ HQ_SCOPE(READ)

/* Public (no token): liveness only.  The figures (stores, version, ...) are
 * in /metrics, which needs the read scope. */
static int healthz(hq_server *s, hq_req *r, hq_err *err) {
  hq_core_stats st;
  jw w;
  int rc = hq_core_stats_get(s->core, &st, err); /* the database answers */
  if (rc != HQ_OK) return rc;
  jw_init(&w, &r->out);
  jw_obj(&w, NULL);
  jw_bool(&w, "ok", true);
  jw_bool(&w, "mqtt_connected", s->counters.mqtt_connected);
  jw_u64(&w, "uptime_s", (proto_wall_ms() - s->started_ms) / 1000u);
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

static int metrics(hq_server *s, hq_req *r, hq_err *err) {
  r->ctype = "text/plain; version=0.0.4; charset=utf-8";
  return hq_metrics_render(s, &r->out, err);
}

/* ---- orders --------------------------------------------------------------------------- */

static int order_create(hq_server *s, hq_req *r, hq_err *err) {
  hq_order_req q;
  int rc = hq_json_order(r->body, r->body_len, r->idem_key, &q, err);
  snprintf(q.client, sizeof q.client, "%s", r->who);
  if (rc == HQ_OK) rc = hq_order_create(s->core, &q, &r->status, &r->out, err);
  if (rc == HQ_OK) { /* the answer holds the pickup code: not logged */
    char esc[160];
    rt_logf(s->log, RT_LOG_INFO, "order intake", "status=%u kind=%s by=%s key=\"%s\"", r->status,
            proto_order_kind_name(q.kind), r->who[0] ? r->who : "-",
            rt_log_esc(esc, sizeof esc, q.idem_key));
  }
  return rc;
}

static int order_get(hq_server *s, hq_req *r, hq_err *err) {
  return hq_order_get(s->core, r->seg[0], &r->out, err);
}

static int order_cancel(hq_server *s, hq_req *r, hq_err *err) {
  hq_cancel_req q;
  int rc = hq_json_cancel(r->body, r->body_len, &q, err);
  if (rc == HQ_OK) rc = hq_order_cancel(s->core, r->seg[0], &q, &r->out, err);
  if (rc == HQ_OK)
    rt_logf(s->log, RT_LOG_INFO, "order cancelled", "order=%s by=%s", r->seg[0], r->who[0] ? r->who : "-");
  return rc;
}

static int order_rider(hq_server *s, hq_req *r, hq_err *err) {
  hq_rider_req q;
  int rc = hq_json_rider(r->body, r->body_len, &q, err);
  return rc == HQ_OK ? hq_order_rider(s->core, r->seg[0], &q, &r->out, err) : rc;
}

static int order_remind(hq_server *s, hq_req *r, hq_err *err) {
  hq_note_req q;
  int rc = hq_json_note(r->body, r->body_len, &q, err);
  return rc == HQ_OK ? hq_order_remind(s->core, r->seg[0], &q, &r->out, err) : rc;
}

static int order_resolve(hq_server *s, hq_req *r, hq_err *err) {
  hq_note_req q;
  int rc = hq_json_note(r->body, r->body_len, &q, err);
  return rc == HQ_OK ? hq_order_resolve(s->core, r->seg[0], &q, &r->out, err) : rc;
}

/* ---- stores, catalog, transfers ------------------------------------------------------ */

static int stores_list(hq_server *s, hq_req *r, hq_err *err) {
  return hq_stores_list(s->core, &r->out, err);
}

static int store_get(hq_server *s, hq_req *r, hq_err *err) {
  return hq_store_get(s->core, r->seg[0], &r->out, err);
}

static int store_put(hq_server *s, hq_req *r, hq_err *err) {
  hq_store_req q;
  int rc = hq_json_store(r->body, r->body_len, &q, err);
  return rc == HQ_OK ? hq_store_put(s->core, r->seg[0], &q, &r->out, err) : rc;
}

static int catalog_put(hq_server *s, hq_req *r, hq_err *err) {
  hq_catalog_req q;
  int rc = hq_json_catalog(r->body, r->body_len, &q, err);
  if (rc == HQ_OK) rc = hq_catalog_put(s->core, r->seg[0], &q, &r->out, err);
  hq_json_catalog_free(&q);
  return rc;
}

static int transfer_create(hq_server *s, hq_req *r, hq_err *err) {
  hq_transfer_req q;
  int rc = hq_json_transfer(r->body, r->body_len, &q, err);
  return rc == HQ_OK ? hq_transfer_create(s->core, &q, &r->status, &r->out, err) : rc;
}

static int transfer_get(hq_server *s, hq_req *r, hq_err *err) {
  return hq_transfer_get(s->core, r->seg[0], &r->out, err);
}

static const hq_route routes[] = {
    {LWSHUMETH_GET, "/healthz", healthz, 0},
    {LWSHUMETH_GET, "/metrics", metrics, READ},
    {LWSHUMETH_POST, "/api/v1/orders", order_create, ORDERS},
    {LWSHUMETH_GET, "/api/v1/orders/{}", order_get, ORDERS | ADMIN | READ},
    {LWSHUMETH_POST, "/api/v1/orders/{}/cancel", order_cancel, ORDERS | ADMIN},
    {LWSHUMETH_POST, "/api/v1/orders/{}/rider", order_rider, RIDER},
    {LWSHUMETH_POST, "/api/v1/orders/{}/remind", order_remind, ORDERS | ADMIN},
    {LWSHUMETH_POST, "/api/v1/orders/{}/resolve", order_resolve, ADMIN},
    {LWSHUMETH_GET, "/api/v1/stores", stores_list, ADMIN | READ},
    {LWSHUMETH_GET, "/api/v1/stores/{}", store_get, ADMIN | READ | ORDERS},
    {LWSHUMETH_PUT, "/api/v1/stores/{}", store_put, ADMIN},
    {LWSHUMETH_PUT, "/api/v1/catalog/{}", catalog_put, ADMIN},
    {LWSHUMETH_POST, "/api/v1/transfers", transfer_create, ADMIN},
    {LWSHUMETH_GET, "/api/v1/transfers/{}", transfer_get, ADMIN | READ},
};

const hq_route_table hq_api_routes = {routes, sizeof routes / sizeof routes[0]};
