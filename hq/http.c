/* http.c - HTTP plumbing: request line and headers, body, route tables,
 * auth, the answer.
 *
 *   HTTP ──▶ method + path (lws_http_get_uri_and_method)
 *        ──▶ route: first row of the tables whose pattern matches; a path
 *            that matches only with another method is 405, none is 404
 *        ──▶ scope: the route's scopes need a bearer token that has one
 *            (auth.c): none or unknown 401, without the scope 403; scope 0
 *            is a public route (server.h lists the few)
 *        ──▶ body (POST/PUT): collected up to http_body_max, else 413 once
 *            the body is read
 *        ──▶ handler ──▶ r->status + r->out, or an hq code: error JSON
 *            {"error":<wire>,"message":..,"field":..} with the code's status
 *            (401 adds WWW-Authenticate: Bearer, 503 Retry-After: 1)
 *
 * Every answer is prepared whole; its headers are written at once and the
 * body in the next HTTP_WRITEABLE (one lws_write each), as lws requires.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"
#include "rollout.h"
#include "server.h"
#include "views_http.h"

typedef struct pss {
  hq_req req;
  const hq_route *route;           /* NULL: answered already */
  char *body;
  size_t body_len;
  bool body_too_big, waiting_body, answered;
  char *resp;                      /* LWS_PRE + body */
  size_t resp_len;
} pss;

size_t hq_http_pss_size(void) { return sizeof(pss); }

/* The views of the dashboard add their table here. */
static const hq_route_table *const tables[] = {&hq_api_routes, &hq_views_routes,
                                               &hq_debug_routes, &hq_prov_routes,
                                               &hq_fw_routes, &hq_rollout_routes};

const hq_route_table *const *hq_http_tables(size_t *n) {
  *n = sizeof tables / sizeof tables[0];
  return tables;
}

/* ---- matching -------------------------------------------------------------------------- */

/* Does path match pattern?  Captures `{}` segments into seg. */
static bool match(const char *pattern, const char *path, char seg[][PROTO_ID_MAX]) {
  int n = 0;
  while (*pattern && *path) {
    if (strncmp(pattern, "{}", 2) == 0) {
      size_t len = strcspn(path, "/");
      if (len == 0 || len >= PROTO_ID_MAX || n >= HQ_ROUTE_SEGS) return false;
      memcpy(seg[n], path, len);
      seg[n][len] = '\0';
      if (!proto_id_valid(seg[n++])) return false;
      pattern += 2;
      path += len;
    } else if (*pattern++ != *path++) {
      return false;
    }
  }
  return *pattern == '\0' && *path == '\0';
}

/* The route for method + path; *wrong_method when only the method differs. */
static const hq_route *find_route(hq_req *r, bool *wrong_method) {
  *wrong_method = false;
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    for (size_t i = 0; i < tables[t]->n; i++) {
      const hq_route *rt = &tables[t]->routes[i];
      if (!match(rt->pattern, r->path, r->seg)) continue;
      if (rt->method == r->method) return rt;
      *wrong_method = true;
    }
  }
  return NULL;
}

bool hq_req_arg(const hq_req *r, const char *name, char *buf, size_t cap) {
  char key[64], tmp[512];
  const char *v;
  if (!r->wsi || snprintf(key, sizeof key, "%s=", name) >= (int)sizeof key) return false;
  v = lws_get_urlarg_by_name(r->wsi, key, tmp, (int)sizeof tmp);
  if (!v) return false;
  snprintf(buf, cap, "%s", v);
  return true;
}

/* ---- answering ---------------------------------------------------------------------------- */

static int respond(struct lws *wsi, pss *p, unsigned status, const char *ctype, const char *body,
                   size_t len, bool challenge) {
  unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *q = start, *end = hdr + sizeof hdr - 1;
  free(p->resp);
  p->resp = malloc(LWS_PRE + len + 1);
  if (!p->resp) return -1;
  memcpy(p->resp + LWS_PRE, body, len);
  p->resp_len = len;
  p->answered = true;
  if (lws_add_http_common_headers(wsi, status, ctype, len, &q, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &q, end) ||
      (p->req.content_range[0] &&
       lws_add_http_header_by_name(wsi, (const unsigned char *)"content-range:",
                                   (const unsigned char *)p->req.content_range,
                                   (int)strlen(p->req.content_range), &q, end)) ||
      (challenge && lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                                (const unsigned char *)"Bearer", 6, &q, end)) ||
      (status == 503 && lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                                    (const unsigned char *)"1", 1, &q, end)) ||
      lws_finalize_write_http_header(wsi, start, &q, end))
    return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int respond_error(hq_server *s, struct lws *wsi, pss *p, const hq_err *err) {
  proto_buf b;
  jw w;
  int code = err->code ? err->code : HQ_EDB;
  proto_buf_init(&b);
  jw_init(&w, &b);
  jw_obj(&w, NULL);
  jw_str(&w, "error", hq_err_wire(code));
  jw_str(&w, "message", err->msg[0] ? err->msg : hq_strerror(code));
  jw_str_opt(&w, "field", err->field);
  jw_end(&w);
  s->counters.http_errors++;
  if (code == HQ_EUNAUTH) s->counters.http_unauth++;
  int rc = jw_done(&w) == PROTO_OK
               ? respond(wsi, p, hq_err_status(code), "application/json", b.data, b.len,
                         code == HQ_EUNAUTH)
               : -1;
  if (hq_err_status(code) >= 500) { /* busy is load shed on purpose: a warning, not hq failing */
    char esc[300];
    rt_logf(s->log, code == HQ_EBUSY ? RT_LOG_WARN : RT_LOG_ERROR, "request failed",
            "path=%s code=%s err=\"%s\"", p->req.path, hq_err_wire(code), rt_log_esc(esc, sizeof esc, err->msg));
  }
  proto_buf_close(&b);
  return rc;
}

static int fail(hq_server *s, struct lws *wsi, pss *p, int code, const char *msg) {
  hq_err err;
  hq_err_clear(&err);
  hq_err_set(&err, code, "%s", msg);
  return respond_error(s, wsi, p, &err);
}

static void header(struct lws *wsi, enum lws_token_indexes h, char *dst, int cap) {
  dst[0] = '\0';
  if (lws_hdr_total_length(wsi, h) <= 0 || lws_hdr_copy(wsi, dst, cap, h) < 0) dst[0] = '\0';
}

/* Run the route's handler on the complete request. */
static int run(hq_server *s, struct lws *wsi, pss *p) {
  hq_err err;
  hq_req *r = &p->req;
  hq_err_clear(&err);
  r->body = p->body ? p->body : "";
  r->body_len = p->body_len;
  if (p->body_too_big) {
    char msg[96];
    snprintf(msg, sizeof msg, "request body larger than %lld bytes", (long long)s->cfg->http_body_max);
    return fail(s, wsi, p, HQ_ETOOBIG, msg);
  }
  int rc = p->route->fn(s, r, &err);
  if (rc == HQ_OK && r->deferred) return 0; /* hq_http_finish answers */
  if (rc != HQ_OK) {
    if (!err.code) hq_err_set(&err, rc, NULL);
    return respond_error(s, wsi, p, &err);
  }
  return respond(wsi, p, r->status ? r->status : 200, r->ctype ? r->ctype : "application/json",
                 r->out.data ? r->out.data : "", r->out.len, false);
}

void hq_http_finish(hq_server *s, hq_req *r, int rc, const hq_err *err) {
  pss *p = (pss *)(void *)((char *)r - offsetof(pss, req));
  hq_err e;
  if (err) e = *err;
  else hq_err_clear(&e);
  r->deferred = false;
  if (rc != HQ_OK && !e.code) hq_err_set(&e, rc, NULL);
  int n = rc != HQ_OK ? respond_error(s, r->wsi, p, &e)
                      : respond(r->wsi, p, r->status ? r->status : 200,
                                r->ctype ? r->ctype : "application/json",
                                r->out.data ? r->out.data : "", r->out.len, false);
  if (n < 0) lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC); /* as a -1 would */
}

/* Headers are in: route, authorise, then run now or after the body. */
static int request(hq_server *s, struct lws *wsi, pss *p) {
  char *uri = NULL, auth[200], clen[24];
  int len = 0;
  bool wrong = false;
  hq_req *r = &p->req;
  hq_err err;
  s->counters.http_requests++;
  proto_buf_init(&r->out);
  r->wsi = wsi;
  r->method = lws_http_get_uri_and_method(wsi, &uri, &len);
  if (r->method < 0 || !uri || len <= 0 || (size_t)len >= sizeof r->path)
    return fail(s, wsi, p, HQ_ENOTFOUND, "no such endpoint");
  memcpy(r->path, uri, (size_t)len);
  r->path[len] = '\0';
  p->route = find_route(r, &wrong);
  if (!p->route)
    return wrong ? fail(s, wsi, p, HQ_EMETHOD, "method not allowed on this path")
                 : fail(s, wsi, p, HQ_ENOTFOUND, "no such endpoint");
  header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth);
  hq_err_clear(&err);
  const char *who = "";
  r->who[0] = '\0';
  if (p->route->scope && hq_tokens_check(&s->tokens, auth, p->route->scope, &who, &err) != HQ_OK)
    return respond_error(s, wsi, p, &err);
  snprintf(r->who, sizeof r->who, "%s", who); /* a body may arrive after a reload */
  if (lws_hdr_custom_copy(wsi, r->idem_key, sizeof r->idem_key, "idempotency-key:", 16) < 0)
    r->idem_key[0] = '\0';
  header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, clen, sizeof clen);
  bool has_body = (r->method == LWSHUMETH_POST || r->method == LWSHUMETH_PUT) &&
                  (atoll(clen) > 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0);
  if (has_body) {
    p->waiting_body = true; /* answered at BODY_COMPLETION */
    return 0;
  }
  return run(s, wsi, p);
}

static int body(hq_server *s, pss *p, const void *in, size_t len) {
  char *n;
  if (!p->waiting_body || p->body_too_big) return 0;
  if (p->body_len + len > (size_t)s->cfg->http_body_max) {
    p->body_too_big = true; /* keep reading, keep nothing */
    free(p->body);
    p->body = NULL;
    p->body_len = 0;
    return 0;
  }
  n = realloc(p->body, p->body_len + len + 1);
  if (!n) return -1;
  memcpy(n + p->body_len, in, len);
  p->body = n;
  p->body_len += len;
  p->body[p->body_len] = '\0';
  return 0;
}

static int writeable(struct lws *wsi, pss *p) {
  int n;
  if (!p->resp) return 0;
  n = lws_write(wsi, (unsigned char *)p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL);
  free(p->resp);
  p->resp = NULL;
  if (n < 0) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Between keep-alive requests and at close: forget the request. */
static void reset(pss *p) {
  proto_buf_close(&p->req.out);
  free(p->body);
  free(p->resp);
  memset(p, 0, sizeof *p);
}

int hq_http_callback(hq_server *s, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                     void *in, size_t len) {
  pss *p = user;
  switch (reason) {
    case LWS_CALLBACK_HTTP:
      if (!p) return -1;
      reset(p);
      return request(s, wsi, p);
    case LWS_CALLBACK_HTTP_BODY: return p ? body(s, p, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      if (!p || !p->waiting_body || p->answered) return 0;
      p->waiting_body = false;
      return run(s, wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE: return p ? writeable(wsi, p) : -1;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
      if (p && p->req.deferred && p->req.on_drop) p->req.on_drop(s, &p->req);
      if (p) reset(p);
      return 0;
    default: return 0;
  }
}
