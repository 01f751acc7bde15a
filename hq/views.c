/* views.c - the views' connection, the read snapshot every view runs in,
 * the query string, and the two order-count views (summary, hourly).
 *
 *   hq_views_open: sqlite3_open_v2(READONLY) + query_only + busy_timeout.
 *   a view:  hq__v_begin  window from the clock, BEGIN, store filter checked
 *            ... cached SELECTs (views_int.h), rows folded into C structs ...
 *            hq__v_end    COMMIT (ends the snapshot; nothing was written)
 *
 * Invariants:
 *   V1 one view = one read transaction: its figures agree with each other
 *      (the sum over the stores equals the chain figure) even while the
 *      core commits between the statements.
 *   V2 this connection never writes (query_only): a bug here cannot
 *      corrupt the log, and readers never block the core's writer (WAL).
 *
 * The window: local day d of tz_offset_min starts at
 *   day_start = floor((now + off) / 24h) * 24h - off          (UTC ms)
 * and an hour bucket is (t - day_start) / 1h: fixed offsets, no DST (China
 * has none; a chain spanning zones runs one HQ day, documented).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "proto/codec.h"
#include "proto/hlc.h"
#include "views_int.h"

#define DEFAULT_BUSY_MS 2000
#define DEFAULT_STALE_MS 60000u
#define DEFAULT_LAG_WARN_MS 30000u
#define TZ_MAX_MIN 840

static const char *const sql_text[HQ_VQ__COUNT] = {
#define HQ__VQ_SQL(id, sql) [HQ_VQ_##id] = sql,
    HQ_VIEW_SQL_MAP(HQ__VQ_SQL)
#undef HQ__VQ_SQL
};

/* ---- connection ------------------------------------------------------------------- */

int hq__v_dberr(hq_views *v, int rc, const char *what, hq_err *err) {
  int code = (rc & 0xff) == SQLITE_NOMEM                                   ? HQ_ENOMEM
             : (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? HQ_ECORRUPT
             : (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR ? HQ_EIO
                                                                            : HQ_EDB;
  return hq_err_set(err, code, "views: %s: %s (sqlite %d)", what,
                    v && v->db ? sqlite3_errmsg(v->db) : sqlite3_errstr(rc), rc);
}

/* The store log as schema `log` (read-only like the main file): the fleet
 * view's newest event per box. */
static int attach_log(hq_views *v, const hq_views_opts *opts) {
  char path[4096];
  sqlite3_stmt *st = NULL;
  hq_core_events_path_for(opts->db_path, opts->events_db_path, path, sizeof path);
  int rc = sqlite3_prepare_v2(v->db, "ATTACH ?1 AS log", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(v->db);
  sqlite3_finalize(st);
  return rc;
}

int hq_views_open(hq_views **out, const hq_views_opts *opts, hq_err *err) {
  *out = NULL;
  if (!opts || !opts->db_path || !opts->db_path[0])
    return hq_err_set(err, HQ_ECONFIG, "views: db_path is required");
  if (opts->tz_offset_min < -TZ_MAX_MIN || opts->tz_offset_min > TZ_MAX_MIN)
    return hq_err_set(err, HQ_ECONFIG, "views: tz_offset_min %" PRId32 " outside -840..840",
                      opts->tz_offset_min);
  hq_views *v = calloc(1, sizeof *v);
  if (!v) return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  v->o = *opts;
  if (v->o.busy_timeout_ms <= 0) v->o.busy_timeout_ms = DEFAULT_BUSY_MS;
  if (!v->o.stale_after_ms) v->o.stale_after_ms = DEFAULT_STALE_MS;
  if (!v->o.lag_warn_ms) v->o.lag_warn_ms = DEFAULT_LAG_WARN_MS;
  int rc = sqlite3_open_v2(opts->db_path, &v->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(v->db, v->o.busy_timeout_ms);
  if (rc == SQLITE_OK) rc = sqlite3_exec(v->db, "PRAGMA query_only=1", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = attach_log(v, opts);
  if (rc != SQLITE_OK) {
    hq__v_dberr(v, rc, opts->db_path, err);
    hq_views_close(v);
    return err ? err->code : HQ_EDB;
  }
  v->o.db_path = NULL; /* not ours to keep */
  *out = v;
  return HQ_OK;
}

void hq_views_close(hq_views *v) {
  if (!v) return;
  for (size_t i = 0; i < HQ_VQ__COUNT; i++) sqlite3_finalize(v->st[i]);
  sqlite3_close(v->db);
  free(v);
}

sqlite3_stmt *hq__v_stmt(hq_views *v, hq__vq q, hq_err *err, const char *fmt, ...) {
  va_list ap;
  int rc = SQLITE_OK;
  if (!v->st[q])
    rc = sqlite3_prepare_v3(v->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &v->st[q], NULL);
  sqlite3_stmt *st = v->st[q];
  if (rc == SQLITE_OK) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  va_start(ap, fmt);
  for (int i = 0; rc == SQLITE_OK && fmt[i]; i++) {
    if (fmt[i] == 't') rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
    else rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
  }
  va_end(ap);
  if (rc == SQLITE_OK) return st;
  hq__v_dberr(v, rc, "prepare", err);
  return NULL;
}

bool hq__v_row(hq_views *v, sqlite3_stmt *st, int *rc, const char *what, hq_err *err) {
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) return true;
  sqlite3_reset(st);
  *rc = src == SQLITE_DONE ? HQ_OK : hq__v_dberr(v, src, what, err);
  return false;
}

void hq__v_text(sqlite3_stmt *st, int col, char *dst, size_t cap) {
  const char *s = (const char *)sqlite3_column_text(st, col);
  snprintf(dst, cap, "%s", s ? s : "");
}

uint64_t hq__v_u64(sqlite3_stmt *st, int col) {
  int64_t x = sqlite3_column_int64(st, col);
  return x > 0 ? (uint64_t)x : 0;
}

size_t hq__v_limit(const hq_view_query *q) {
  return q->limit ? q->limit : HQ_VIEW_LIMIT_DEFAULT;
}

int hq__v_grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap * 2 : 16;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

int hq__v_store_name(hq_views *v, const char *id, char *dst, size_t cap, hq_err *err) {
  int rc = HQ_OK;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_STORE_NAME, err, "t", id);
  dst[0] = '\0';
  if (!st) return err->code;
  if (hq__v_row(v, st, &rc, "store name", err)) {
    hq__v_text(st, 0, dst, cap);
    sqlite3_reset(st);
  }
  return rc;
}

/* ---- the snapshot -------------------------------------------------------------------- */

static uint64_t now_ms(const hq_views *v) {
  return v->o.clock_ms ? v->o.clock_ms(v->o.ctx) : proto_wall_ms();
}

static void window(const hq_views *v, const hq_view_query *q, hq_view_window *w) {
  int64_t off = (int64_t)v->o.tz_offset_min * 60000;
  int64_t local = (int64_t)now_ms(v) + off;
  int64_t day = local >= 0 ? local / HQ__DAY_MS : (local - HQ__DAY_MS + 1) / HQ__DAY_MS;
  memset(w, 0, sizeof *w);
  w->now_ms = (uint64_t)(local - off);
  w->day_start_ms = (uint64_t)(day * HQ__DAY_MS - off);
  w->tz_offset_min = v->o.tz_offset_min;
  w->hour = (uint32_t)((local - day * HQ__DAY_MS) / HQ__HOUR_MS);
  snprintf(w->store, sizeof w->store, "%s", q ? q->store : "");
}

int hq__v_begin(hq_views *v, const hq_view_query *q, hq_view_window *w, hq_err *err) {
  char name[PROTO_NAME_MAX];
  window(v, q, w);
  int src = sqlite3_exec(v->db, "BEGIN", NULL, NULL, NULL);
  if (src != SQLITE_OK) return hq__v_dberr(v, src, "begin", err);
  if (!w->store[0]) return HQ_OK;
  int rc = HQ_OK;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_STORE_NAME, err, "t", w->store);
  bool found = st && hq__v_row(v, st, &rc, "store", err);
  if (st && found) {
    hq__v_text(st, 0, name, sizeof name);
    sqlite3_reset(st);
  }
  if (!st) rc = err->code;
  else if (rc == HQ_OK && !found) rc = hq_err_field(err, HQ_ENOTFOUND, "store", "no store '%s'", w->store);
  return rc == HQ_OK ? HQ_OK : hq__v_end(v, rc, err);
}

int hq__v_end(hq_views *v, int rc, hq_err *err) {
  int src = sqlite3_exec(v->db, rc == HQ_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  if (rc == HQ_OK && src != SQLITE_OK) return hq__v_dberr(v, src, "end", err);
  return rc;
}

/* ---- the query string ------------------------------------------------------------------ */

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode src[0..n) into dst (cap bytes); -1 if malformed or too long. */
static int url_decode(const char *src, size_t n, char *dst, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)src[i];
    if (c == '+') c = ' ';
    else if (c == '%') {
      if (i + 2 >= n) return -1;
      int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      c = hi * 16 + lo;
      i += 2;
    }
    if (o + 1 >= cap) return -1;
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  return 0;
}

static int set_id(char *dst, const char *val, const char *field, hq_err *err) {
  if (val[0] && (strlen(val) >= PROTO_ID_MAX || !proto_id_valid(val)))
    return hq_err_field(err, HQ_EINVAL, field, "%s: '%.63s' is not an id", field, val);
  snprintf(dst, PROTO_ID_MAX, "%s", val);
  return HQ_OK;
}

static int set_limit(hq_view_query *q, const char *val, hq_err *err) {
  char *end = NULL;
  unsigned long n = val[0] >= '0' && val[0] <= '9' ? strtoul(val, &end, 10) : 0;
  if (!end || *end || n < 1 || n > HQ_VIEW_LIMIT_MAX)
    return hq_err_field(err, HQ_EINVAL, "limit", "limit: '%.20s' is not 1..%d", val, HQ_VIEW_LIMIT_MAX);
  q->limit = (uint32_t)n;
  return HQ_OK;
}

int hq_view_query_set(hq_view_query *q, const char *key, const char *value, hq_err *err) {
  if (strcmp(key, "store") == 0) return set_id(q->store, value, "store", err);
  if (strcmp(key, "sku") == 0) return set_id(q->sku, value, "sku", err);
  if (strcmp(key, "limit") == 0) return set_limit(q, value, err);
  return HQ_OK;
}

int hq_view_query_parse(const char *qs, hq_view_query *q, hq_err *err) {
  char key[16], val[PROTO_ID_MAX + 8];
  memset(q, 0, sizeof *q);
  for (const char *p = qs ? qs : ""; *p;) {
    const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    int rc = HQ_OK;
    if (eq && url_decode(p, (size_t)(eq - p), key, sizeof key) == 0) {
      if (url_decode(eq + 1, (size_t)(end - eq - 1), val, sizeof val) != 0)
        rc = hq_err_field(err, HQ_EINVAL, key, "%s: malformed or too long", key);
      else rc = hq_view_query_set(q, key, val, err);
    }
    if (rc != HQ_OK) return rc;
    p = amp ? amp + 1 : end;
  }
  return HQ_OK;
}

/* ---- summary ---------------------------------------------------------------------------- */

static int by_id(const void *key, const void *elem) {
  return strcmp(key, ((const hq_view_store_summary *)elem)->store);
}

static int by_sales(const void *a, const void *b) {
  const hq_view_store_summary *x = a, *y = b;
  if (x->c.sales != y->c.sales) return x->c.sales > y->c.sales ? -1 : 1;
  if (x->c.orders != y->c.orders) return x->c.orders > y->c.orders ? -1 : 1;
  return strcmp(x->store, y->store);
}

/* One SUMMARY row, an order (store, kind, status, and 0/1 flags today, shown, open, cancelled,
 * handed, then sales, conflict) added to c. */
static void add_counts(hq_view_counts *c, sqlite3_stmt *st) {
  int kind = sqlite3_column_int(st, 1), status = sqlite3_column_int(st, 2);
  uint64_t today = hq__v_u64(st, 3);
  c->orders += today;
  if (kind >= 0 && kind < PROTO_KIND__COUNT) c->by_kind[kind] += today;
  if (status >= 0 && status < PROTO_MS__COUNT) c->by_status[status] += hq__v_u64(st, 4);
  if (status == PROTO_MS_REJECTED) c->rejected += today;
  c->open += hq__v_u64(st, 5);
  c->cancelled += hq__v_u64(st, 6);
  c->handed_off += hq__v_u64(st, 7);
  c->sales += sqlite3_column_int64(st, 8);
  c->conflicts += hq__v_u64(st, 9);
}

static int load_stores(hq_views *v, hq_view_summary *s, hq_err *err) {
  int rc = HQ_OK;
  size_t cap = 0;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_STORES, err, "t", s->w.store);
  if (!st) return err->code;
  while (hq__v_row(v, st, &rc, "stores", err)) {
    if (hq__v_grow((void **)&s->stores, &cap, s->n_stores + 1, sizeof *s->stores) != 0) {
      sqlite3_reset(st);
      return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
    }
    hq_view_store_summary *x = &s->stores[s->n_stores++];
    memset(x, 0, sizeof *x);
    hq__v_text(st, 0, x->store, sizeof x->store);
    hq__v_text(st, 1, x->name, sizeof x->name);
    x->online = sqlite3_column_int(st, 2) != 0;
    x->paused = sqlite3_column_int(st, 3) != 0;
    s->stores_online += x->online;
  }
  s->stores_total = (uint32_t)s->n_stores;
  return rc;
}

static int summary_rows(hq_views *v, hq_view_summary *s, hq_err *err) {
  int rc = HQ_OK;
  int64_t day = (int64_t)s->w.day_start_ms;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_SUMMARY, err, "iit", day, day - HQ__DAY_MS, s->w.store);
  if (!st) return err->code;
  while (hq__v_row(v, st, &rc, "summary", err)) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    hq_view_store_summary *x = id ? bsearch(id, s->stores, s->n_stores, sizeof *s->stores, by_id) : NULL;
    add_counts(&s->chain, st);
    if (x) add_counts(&x->c, st);
  }
  return rc;
}

int hq_views_summary(hq_views *v, const hq_view_query *q, hq_view_summary *out, hq_err *err) {
  memset(out, 0, sizeof *out);
  int rc = hq__v_begin(v, q, &out->w, err);
  if (rc != HQ_OK) return rc;
  rc = load_stores(v, out, err);
  if (rc == HQ_OK) rc = summary_rows(v, out, err);
  rc = hq__v_end(v, rc, err);
  if (rc != HQ_OK) {
    hq_view_free_summary(out);
    return rc;
  }
  if (out->n_stores) qsort(out->stores, out->n_stores, sizeof *out->stores, by_sales);
  if (out->n_stores > hq__v_limit(q)) out->n_stores = hq__v_limit(q);
  return HQ_OK;
}

void hq_view_free_summary(hq_view_summary *s) {
  if (!s) return;
  free(s->stores);
  s->stores = NULL;
  s->n_stores = 0;
}

/* ---- hourly ------------------------------------------------------------------------------- */

/* Bucket b of the 48 from yesterday's midnight: 0..23 yesterday, 24..47 today. */
static int hourly_in(hq_views *v, hq_view_hourly *h, int64_t origin, hq_err *err) {
  int rc = HQ_OK;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_HOURLY_IN, err, "it", origin, h->w.store);
  if (!st) return err->code;
  while (hq__v_row(v, st, &rc, "hourly", err)) {
    int64_t b = sqlite3_column_int64(st, 0);
    if (b >= 0 && b < HQ_VIEW_HOURS) h->orders_prev[b] += hq__v_u64(st, 1);
    else if (b >= HQ_VIEW_HOURS && b < 2 * HQ_VIEW_HOURS) h->orders[b - HQ_VIEW_HOURS] += hq__v_u64(st, 1);
  }
  return rc;
}

static int hourly_out(hq_views *v, hq_view_hourly *h, int64_t origin, hq_err *err) {
  int rc = HQ_OK;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_HOURLY_OUT, err, "it", origin, h->w.store);
  if (!st) return err->code;
  while (hq__v_row(v, st, &rc, "hourly", err)) {
    int64_t b = sqlite3_column_int64(st, 0) - HQ_VIEW_HOURS;
    if (b < 0 || b >= HQ_VIEW_HOURS) continue; /* yesterday, or a clock ahead */
    h->handed_off[b] += hq__v_u64(st, 1);
    h->sales[b] += sqlite3_column_int64(st, 2);
  }
  return rc;
}

int hq_views_hourly(hq_views *v, const hq_view_query *q, hq_view_hourly *out, hq_err *err) {
  memset(out, 0, sizeof *out);
  int rc = hq__v_begin(v, q, &out->w, err);
  if (rc != HQ_OK) return rc;
  int64_t origin = (int64_t)out->w.day_start_ms - HQ__DAY_MS;
  rc = hourly_in(v, out, origin, err);
  if (rc == HQ_OK) rc = hourly_out(v, out, origin, err);
  return hq__v_end(v, rc, err);
}
