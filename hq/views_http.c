/* views_http.c - the dashboard's route table (views_http.h): the JSON
 * views and the embedded files of hq/www.
 *
 * Query arguments come one by one from lws (already %-decoded) and go
 * through hq_view_query_set, the same checks as a parsed query string.
 *
 * A view request never computes on the loop:
 *
 *   GET /api/v1/views/<v>?q ── cache fresh (views_cache_ms) ──▶ answered now
 *        │ miss
 *        ├─ the same key already computing (cache on) ──▶ wait on it
 *        └─ else: a pending slot + a job for the reader thread
 *                 (all HQ_VIEWS_QUEUE_MAX slots taken: 503 busy, Retry-After: 1)
 *   r->deferred: http.c sends nothing yet
 *   worker done ─▶ lws_cancel_service ─▶ EVENT_WAIT_CANCELLED ─▶
 *   hq_views_http_poll: cache the answer, hq_http_finish every waiter
 *
 * Invariants: a request is in at most one pending slot's waiters, and
 * leaves it when answered or when its connection closes first (on_drop);
 * a slot is free (tag 0) or has exactly one job in the worker.
 * Files: the request path picks an embedded file by exact name; the
 * content type comes from a table of extensions.
 */
#include <stdio.h>
#include <string.h>

#include "views_http.h"
#include "views_int.h"

#define READ_SCOPES (HQ_SCOPE(READ) | HQ_SCOPE(ADMIN))

/* ---- the views: cache, reader thread, requests waiting ------------------------------ */

/* One computation asked of the worker and the requests waiting for it. */
typedef struct pending {
  uint64_t tag;                    /* 0: free slot */
  char key[HQ_VIEWS_KEY_MAX];
  uint64_t at_ms;                  /* cache clock when asked (freshness origin) */
  hq_req **waiters;
  size_t n, cap;
} pending;

typedef struct views_http {
  hq_server *s;
  hq_views_worker *worker;
  hq_views_cache *cache;
  uint64_t ttl_ms;
  uint64_t next_tag;
  pending p[HQ_VIEWS_QUEUE_MAX];
} views_http;

static void wake(void *ctx) { lws_cancel_service(ctx); }

static void close_state(views_http *vh) {
  if (!vh) return;
  hq_views_worker_stop(vh->worker); /* first: no wake after this (W3) */
  hq_views_cache_close(vh->cache);
  for (size_t i = 0; i < HQ_VIEWS_QUEUE_MAX; i++) free(vh->p[i].waiters);
  free(vh);
}

static views_http *state_of(hq_server *s, hq_err *err) {
  if (s->ext) return s->ext;
  hq_views_opts o;
  hq_views_cache_opts co;
  views_http *vh = calloc(1, sizeof *vh);
  if (!vh) return hq_err_set(err, HQ_ENOMEM, "views: out of memory"), NULL;
  memset(&o, 0, sizeof o);
  memset(&co, 0, sizeof co);
  o.db_path = s->cfg->db_path;
  o.events_db_path = hq_core_events_path(s->core);
  o.tz_offset_min = (int32_t)s->cfg->tz_offset_min;
  o.busy_timeout_ms = (int)s->cfg->busy_timeout_ms;
  co.ttl_ms = (uint64_t)s->cfg->views_cache_ms;
  vh->s = s;
  vh->ttl_ms = co.ttl_ms;
  if (hq_views_cache_open(&vh->cache, &co, err) != HQ_OK ||
      hq_views_worker_start(&vh->worker, &o, wake, s->ctx, err) != HQ_OK) {
    close_state(vh);
    return NULL;
  }
  s->ext = vh;
  return vh;
}

void hq_views_http_close(hq_server *s) {
  if (!s) return;
  close_state(s->ext);
  s->ext = NULL;
}

/* The slot computing key (caching on), else a new one with its job queued. */
static pending *pending_for(views_http *vh, const char *key, const char *name, const hq_view_query *q,
                            hq_err *err) {
  pending *slot = NULL;
  for (size_t i = 0; i < HQ_VIEWS_QUEUE_MAX; i++) {
    pending *p = &vh->p[i];
    if (p->tag && vh->ttl_ms && strcmp(p->key, key) == 0) return p; /* coalesce */
    if (!p->tag && !slot) slot = p;
  }
  if (!slot) /* as many as the worker holds (W4): 503 + Retry-After, the client polls again */
    return hq_err_set(err, HQ_EBUSY, "views busy: %d computations queued", HQ_VIEWS_QUEUE_MAX), NULL;
  uint64_t tag = ++vh->next_tag;
  if (hq_views_worker_submit(vh->worker, name, q, tag, err) != HQ_OK) return NULL;
  slot->tag = tag;
  snprintf(slot->key, sizeof slot->key, "%s", key);
  slot->at_ms = hq_views_cache_now(vh->cache);
  slot->n = 0;
  return slot;
}

/* The connection of a waiting request closed: forget it (its view still
 * finishes and is cached). */
static void dropped(hq_server *s, hq_req *r) {
  views_http *vh = s->ext;
  for (size_t i = 0; vh && i < HQ_VIEWS_QUEUE_MAX; i++) {
    pending *p = &vh->p[i];
    for (size_t k = 0; p->tag && k < p->n; k++) {
      if (p->waiters[k] != r) continue;
      p->waiters[k] = p->waiters[--p->n];
      return;
    }
  }
}

static int view(hq_server *s, hq_req *r, hq_err *err) {
  static const char *const keys[] = {"store", "sku", "limit"};
  hq_view_query q;
  char val[256], key[HQ_VIEWS_KEY_MAX];
  memset(&q, 0, sizeof q);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!hq_req_arg(r, keys[i], val, sizeof val)) continue;
    int rc = hq_view_query_set(&q, keys[i], val, err);
    if (rc != HQ_OK) return rc;
  }
  if (!hq_views_exists(r->seg[0])) return hq_err_field(err, HQ_ENOTFOUND, "view", "no view '%s'", r->seg[0]);
  views_http *vh = state_of(s, err);
  if (!vh) return err->code;
  if (hq_views_cache_key(r->seg[0], &q, key, sizeof key) != 0)
    return hq_err_set(err, HQ_EINVAL, "views: query too long");
  int hit = hq_views_cache_get(vh->cache, key, &r->out);
  if (hit) return hit > 0 ? HQ_OK : hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  pending *p = pending_for(vh, key, r->seg[0], &q, err);
  if (!p) return err->code;
  if (hq__v_grow((void **)&p->waiters, &p->cap, p->n + 1, sizeof *p->waiters) != 0)
    return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  p->waiters[p->n++] = r;
  r->deferred = true; /* answered by hq_views_http_poll */
  r->on_drop = dropped;
  return HQ_OK;
}

/* Answer every request waiting on d and cache the answer. */
static void finish(views_http *vh, hq_views_done *d) {
  pending *p = NULL;
  for (size_t i = 0; !p && i < HQ_VIEWS_QUEUE_MAX; i++)
    if (vh->p[i].tag == d->tag) p = &vh->p[i];
  if (!p) return;
  if (d->rc == HQ_OK) hq_views_cache_put(vh->cache, p->key, d->json.data, d->json.len, p->at_ms);
  for (size_t k = 0; k < p->n; k++) {
    hq_req *r = p->waiters[k];
    hq_err err = d->err;
    int rc = d->rc;
    if (rc == HQ_OK && proto_buf_append(&r->out, d->json.data, d->json.len) != PROTO_OK)
      rc = hq_err_set(&err, HQ_ENOMEM, "views: out of memory");
    hq_http_finish(vh->s, r, rc, &err);
  }
  p->tag = 0;
  p->n = 0;
}

void hq_views_http_poll(hq_server *s) {
  views_http *vh = s ? s->ext : NULL;
  hq_views_done d;
  while (vh && hq_views_worker_take(vh->worker, &d)) {
    finish(vh, &d);
    proto_buf_close(&d.json);
  }
}

/* ---- files ------------------------------------------------------------------------ */

typedef struct ctype_row {
  const char *ext, *ctype;
} ctype_row;

static const ctype_row ctypes[] = {
    {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
    {".png", "image/png"},                  {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},  {"LICENSE", "text/plain; charset=utf-8"},
};

static const char *ctype_of(const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++) {
    size_t e = strlen(ctypes[i].ext);
    if (n >= e && strcmp(path + n - e, ctypes[i].ext) == 0) return ctypes[i].ctype;
  }
  return "application/octet-stream";
}

static int send_file(hq_req *r, const char *path, hq_err *err) {
  for (size_t i = 0; i < hq_www_n_files; i++) {
    const hq_www_file *f = &hq_www_files[i];
    if (strcmp(f->path, path) != 0) continue;
    r->ctype = ctype_of(path);
    return proto_buf_append(&r->out, (const char *)f->data, f->len) == PROTO_OK
               ? HQ_OK
               : hq_err_set(err, HQ_ENOMEM, "out of memory");
  }
  return hq_err_set(err, HQ_ENOTFOUND, "no file '%.80s'", path);
}

static int index_page(hq_server *s, hq_req *r, hq_err *err) {
  (void)s;
  return send_file(r, "index.html", err);
}

static int top_file(hq_server *s, hq_req *r, hq_err *err) {
  (void)s;
  return send_file(r, r->seg[0], err);
}

static int vendor_file(hq_server *s, hq_req *r, hq_err *err) {
  char path[PROTO_ID_MAX + 8];
  (void)s;
  snprintf(path, sizeof path, "vendor/%s", r->seg[0]);
  return send_file(r, path, err);
}

/* After hq_api_routes in http.c: /healthz and /metrics match there first. */
static const hq_route routes[] = {
    {LWSHUMETH_GET, "/api/v1/views/{}", view, READ_SCOPES},
    {LWSHUMETH_GET, "/", index_page, 0},
    {LWSHUMETH_GET, "/vendor/{}", vendor_file, 0},
    {LWSHUMETH_GET, "/{}", top_file, 0},
};

const hq_route_table hq_views_routes = {routes, sizeof routes / sizeof routes[0]};
