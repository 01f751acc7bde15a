/* http.c - the dynamic HTTP routes (everything else is the file mount).
 *
 *   GET  /metrics          Prometheus text (metrics.c)
 *   GET  /healthz          {"ok":true,"store":..,"feed":N,"version":V,"build":B}
 *                          V: the firmware slot's VERSION file when there is
 *                          one (the update agent's health check wants the
 *                          version it installed), else B = compiled version
 *   POST /api/dev/events   dev_inject only, from loopback only: event
 *                          envelope(s) -> node_engine_ingest -> commit ->
 *                          200 {"ok":true,"feed":N,"events":n}
 *                          or 4xx/5xx {"error":code,"message":..}
 *   GET  /debug/statehash  dev_inject only, from loopback only: the digest
 *                          of this store's state (proto/statehash.h), the
 *                          same one hq computes for its copy of the store
 *
 * Every answer is prepared whole in pss->resp; its headers are written at
 * once and its body in the next HTTP_WRITEABLE (one lws_write each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/statehash.h"
#include "server_int.h"

#define DEV_BODY_MAX (1024 * 1024)
#define DEV_EVENTS_MAX 2000

enum { RT_NONE, RT_DEV_EVENTS };

static int respond(struct lws *wsi, node_pss *pss, unsigned status, const char *ctype,
                   const char *body, size_t len) {
  unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
  free(pss->resp);
  pss->resp = malloc(LWS_PRE + len + 1);
  if (!pss->resp) return -1;
  memcpy(pss->resp + LWS_PRE, body, len);
  pss->resp_len = len;
  if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int respond_json_error(struct lws *wsi, node_pss *pss, unsigned status, int code,
                              const char *message) {
  proto_buf b;
  int rc;
  proto_buf_init(&b);
  if (proto_buf_printf(&b, "{\"error\":\"%s\",\"message\":", node_err_wire(code)) != PROTO_OK ||
      proto_buf_json_string(&b, message ? message : node_strerror(code)) != PROTO_OK ||
      proto_buf_puts(&b, "}") != PROTO_OK) {
    proto_buf_close(&b);
    return -1;
  }
  rc = respond(wsi, pss, status, "application/json", b.data, b.len);
  proto_buf_close(&b);
  return rc;
}

static int metrics(node_server *s, struct lws *wsi, node_pss *pss) {
  proto_buf b;
  int rc;
  s->counters.tablets_authenticated = 0;
  for (node_wsconn *c = s->conns; c; c = c->next) s->counters.tablets_authenticated += c->authed;
  proto_buf_init(&b);
  if (node_metrics_render(&b, s->eng, &s->counters, s->repl, s->version, s->cfg->store_id) !=
      NODE_OK) {
    proto_buf_close(&b);
    return respond_json_error(wsi, pss, 500, NODE_ENOMEM, NULL);
  }
  rc = respond(wsi, pss, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
  proto_buf_close(&b);
  return rc;
}

/* version: the firmware's (s->version, the slot's VERSION); build: this binary's. */
static int healthz(node_server *s, struct lws *wsi, node_pss *pss) {
  proto_buf b;
  int rc;
  proto_buf_init(&b);
  if (proto_buf_printf(&b,
                       "{\"ok\":true,\"store\":\"%s\",\"feed\":%llu,\"version\":\"%s\",\"build\":\"%s\"}",
                       s->cfg->store_id, (unsigned long long)node_engine_feed(s->eng), s->version,
                       STORENODE_VERSION) != PROTO_OK) {
    proto_buf_close(&b);
    return -1;
  }
  rc = respond(wsi, pss, 200, "application/json", b.data, b.len);
  proto_buf_close(&b);
  return rc;
}

/* ---- GET /debug/statehash ------------------------------------------------------------ */

static int sh_order(void *ctx, const proto_order *o) {
  proto_state_hash_order(ctx, o);
  return 0;
}

static int sh_sku(void *ctx, const node_stock_view *v) {
  proto_state_hash_sku(ctx, &v->sku, v->on_hand);
  return 0;
}

/* Every order (recent_ms = all of time), every SKU, the settings. */
static int statehash(node_server *s, struct lws *wsi, node_pss *pss) {
  proto_state_hash h;
  proto_settings set;
  node_err err;
  char body[512];
  node_err_clear(&err);
  proto_state_hash_init(&h);
  int rc = node_orders_each(s->eng, UINT64_MAX, sh_order, &h, &err);
  if (rc == NODE_OK) rc = node_stock_each(s->eng, sh_sku, &h, &err);
  if (rc == NODE_OK) rc = node_settings_get(s->eng, &set, &err);
  if (rc != NODE_OK) return respond_json_error(wsi, pss, 500, rc, err.msg);
  proto_state_hash_settings(&h, &set);
  snprintf(body, sizeof body,
           "{\"store\":\"%s\",\"hash\":\"%016llx\",\"orders\":%llu,\"skus\":%llu,"
           "\"orders_hash\":\"%016llx\",\"skus_hash\":\"%016llx\",\"settings_hash\":\"%016llx\"}",
           s->cfg->store_id, (unsigned long long)proto_state_hash_value(&h, PROTO_SH__COUNT),
           (unsigned long long)h.n[PROTO_SH_ORDERS], (unsigned long long)h.n[PROTO_SH_SKUS],
           (unsigned long long)proto_state_hash_value(&h, PROTO_SH_ORDERS),
           (unsigned long long)proto_state_hash_value(&h, PROTO_SH_SKUS),
           (unsigned long long)proto_state_hash_value(&h, PROTO_SH_SETTINGS));
  return respond(wsi, pss, 200, "application/json", body, strlen(body));
}

static bool loopback(struct lws *wsi);

static bool copy_hdr(struct lws *wsi, enum lws_token_indexes h, char *dst, int cap) {
  return lws_hdr_total_length(wsi, h) > 0 && lws_hdr_copy(wsi, dst, cap, h) >= 0;
}

int node_http_request(node_server *s, struct lws *wsi, node_pss *pss, const char *in) {
  char uri[128];
  s->counters.http_requests++;
  pss->route = RT_NONE;
  if (copy_hdr(wsi, WSI_TOKEN_POST_URI, uri, sizeof uri)) {
    if (strcmp(uri, "/api/dev/events") == 0) {
      pss->route = RT_DEV_EVENTS; /* answered once the body is in */
      return 0;
    }
    return respond_json_error(wsi, pss, 404, NODE_ENOTFOUND, "no such endpoint");
  }
  if (!copy_hdr(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri))
    return respond_json_error(wsi, pss, 405, NODE_EINVAL, "method not allowed");
  if (strcmp(uri, "/metrics") == 0) return metrics(s, wsi, pss);
  if (strcmp(uri, "/healthz") == 0) return healthz(s, wsi, pss);
  if (strcmp(uri, "/debug/statehash") == 0 && s->cfg->dev_inject && loopback(wsi))
    return statehash(s, wsi, pss);
  if (strcmp(uri, "/api/dev/events") == 0)
    return respond_json_error(wsi, pss, 405, NODE_EINVAL, "use POST");
  return respond_json_error(wsi, pss, 404, NODE_ENOTFOUND, "no such endpoint");
}

int node_http_body(node_server *s, struct lws *wsi, node_pss *pss, const void *in, size_t len) {
  char *n;
  if (pss->body_too_big) return 0;
  if (pss->body_len + len > DEV_BODY_MAX) {
    pss->body_too_big = true;
    free(pss->body);
    pss->body = NULL;
    pss->body_len = 0;
    return 0;
  }
  n = realloc(pss->body, pss->body_len + len + 1);
  if (!n) return -1;
  memcpy(n + pss->body_len, in, len);
  pss->body = n;
  pss->body_len += len;
  pss->body[pss->body_len] = '\0';
  return 0;
}

static bool loopback(struct lws *wsi) {
  char peer[64] = "";
  lws_get_peer_simple(wsi, peer, sizeof peer);
  return strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0 ||
         strcmp(peer, "::ffff:127.0.0.1") == 0;
}

static unsigned status_of(int code) {
  switch (code) {
    case NODE_EJSON:
    case NODE_EINVAL: return 400;
    case NODE_ECLOCK:
    case NODE_EILLEGAL: return 409;
    default: return 500;
  }
}

/* Ingest every event, commit, answer.  Events before a failing one stay in
 * the batch and are committed (each is a fact on its own; re-sending the
 * whole array is harmless: duplicates change nothing). */
static int dev_events(node_server *s, struct lws *wsi, node_pss *pss) {
  proto_event *evs = NULL;
  size_t n = 0, i = 0;
  node_err err;
  char body[128];
  int rc;
  node_err_clear(&err);
  rc = node_wsmsg_events(pss->body ? pss->body : "", pss->body_len, DEV_EVENTS_MAX, &evs, &n, &err);
  for (; rc == NODE_OK && i < n; i++) rc = node_engine_ingest(s->eng, &evs[i], &err);
  free(evs);
  if (rc != NODE_OK && i > 0) {
    char prefixed[sizeof err.msg + 32];
    snprintf(prefixed, sizeof prefixed, "[%zu]: %s", i - 1, err.msg);
    memcpy(err.msg, prefixed, sizeof err.msg - 1);
    err.msg[sizeof err.msg - 1] = '\0';
  }
  if (i > 0) {
    int crc = node_srv_commit(s);
    if (crc != NODE_OK && rc == NODE_OK) rc = node_err_set(&err, crc, "commit failed");
  }
  node_logf(s->log, rc == NODE_OK ? NODE_LOG_DEBUG : NODE_LOG_INFO, "dev events", "n=%zu applied=%zu code=%s",
            n, rc == NODE_OK ? i : (i ? i - 1 : 0), rc == NODE_OK ? "ok" : node_err_wire(rc));
  if (rc != NODE_OK) return respond_json_error(wsi, pss, status_of(rc), rc, err.msg);
  snprintf(body, sizeof body, "{\"ok\":true,\"feed\":%llu,\"events\":%zu}",
           (unsigned long long)node_engine_feed(s->eng), n);
  return respond(wsi, pss, 200, "application/json", body, strlen(body));
}

int node_http_body_done(node_server *s, struct lws *wsi, node_pss *pss) {
  if (pss->route != RT_DEV_EVENTS || !s->cfg->dev_inject)
    return respond_json_error(wsi, pss, 404, NODE_ENOTFOUND, "no such endpoint");
  if (!loopback(wsi))
    return respond_json_error(wsi, pss, 403, NODE_EFORBIDDEN, "dev API only from 127.0.0.1");
  if (pss->body_too_big)
    return respond_json_error(wsi, pss, 413, NODE_ETOOBIG, "body larger than 1 MiB");
  return dev_events(s, wsi, pss);
}

int node_http_writeable(node_server *s, struct lws *wsi, node_pss *pss) {
  int n;
  if (!pss->resp) return 0;
  n = lws_write(wsi, (unsigned char *)pss->resp + LWS_PRE, pss->resp_len, LWS_WRITE_HTTP_FINAL);
  free(pss->resp);
  pss->resp = NULL;
  if (n < 0) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void node_http_free(node_pss *pss) {
  free(pss->body);
  free(pss->resp);
  pss->body = pss->resp = NULL;
  pss->body_len = pss->resp_len = 0;
  pss->body_too_big = false;
}
