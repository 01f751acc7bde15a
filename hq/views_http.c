/* views_http.c - the dashboard's route table (views_http.h): the JSON
 * views and the embedded files of hq/www.
 *
 * Query arguments come one by one from lws (already %-decoded) and go
 * through hq_view_query_set, the same checks as a parsed query string.
 * Files: the request path picks an embedded file by exact name; the
 * content type comes from a table of extensions.
 */
#include <stdio.h>
#include <string.h>

#include "views.h"
#include "views_http.h"

#define READ_SCOPES (HQ_SCOPE(READ) | HQ_SCOPE(ADMIN))

static hq_views *views_of(hq_server *s, hq_err *err) {
  if (s->ext) return s->ext;
  hq_views_opts o;
  hq_views *v = NULL;
  memset(&o, 0, sizeof o);
  o.db_path = s->cfg->db_path;
  o.tz_offset_min = (int32_t)s->cfg->tz_offset_min;
  o.busy_timeout_ms = (int)s->cfg->busy_timeout_ms;
  if (hq_views_open(&v, &o, err) != HQ_OK) return NULL;
  s->ext = v;
  return v;
}

void hq_views_http_close(hq_server *s) {
  if (!s) return;
  hq_views_close(s->ext);
  s->ext = NULL;
}

static int view(hq_server *s, hq_req *r, hq_err *err) {
  static const char *const keys[] = {"store", "sku", "limit"};
  hq_view_query q;
  char val[256];
  memset(&q, 0, sizeof q);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!hq_req_arg(r, keys[i], val, sizeof val)) continue;
    int rc = hq_view_query_set(&q, keys[i], val, err);
    if (rc != HQ_OK) return rc;
  }
  hq_views *v = views_of(s, err);
  return v ? hq_views_run_json(v, r->seg[0], &q, &r->out, err) : err->code;
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
