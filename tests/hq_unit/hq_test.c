/* hq_test.c - fixtures shared by hq's unit tests. */
#include "hq_test.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdir.h"

static uint64_t t_clock(void *ctx) { return ((tctx *)ctx)->now; }

static int t_publish(void *ctx, const char *topic, const void *payload, size_t len) {
  tctx *t = ctx;
  if (t->offline) return -1;
  if (t->n_pub == T_MAX_PUB) fail_msg("more than %d publishes: clear the recorder", T_MAX_PUB);
  t_pub *p = &t->pub[t->n_pub++];
  snprintf(p->topic, sizeof p->topic, "%s", topic);
  p->payload = malloc(len + 1);
  assert_non_null(p->payload);
  memcpy(p->payload, payload, len);
  p->payload[len] = '\0';
  p->len = len;
  return 0;
}

void t_pub_clear(tctx *t) {
  for (size_t i = 0; i < t->n_pub; i++) free(t->pub[i].payload);
  t->n_pub = 0;
}

int t_pub_find(const tctx *t, size_t from, const char *store, const char *suffix) {
  char topic[PROTO_TOPIC_MAX];
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/%s", store, suffix);
  for (size_t i = from; i < t->n_pub; i++)
    if (strcmp(t->pub[i].topic, topic) == 0) return (int)i;
  return -1;
}

void t_open(tctx *t) {
  t->o.db_path = t->path;
  t->o.clock_ms = t_clock;
  t->o.publish = t_publish;
  t->o.ctx = t;
  if (!t->o.pickup_digits) t->o.pickup_digits = 4;
  T_OK(t, hq_core_open(&t->c, &t->o, &t->err));
}

void t_close(tctx *t) {
  hq_core_close(t->c);
  t->c = NULL;
}

void t_reopen(tctx *t) {
  t_close(t);
  t_open(t);
}

int t_setup(void **state) {
  tctx *t = calloc(1, sizeof *t);
  if (!t || test_tmpdir_make(t->dir, sizeof t->dir, "hq_unit") != 0) return -1;
  snprintf(t->path, sizeof t->path, "%s/hq.db", t->dir);
  t->now = T_T0;
  t->o.tz_offset_min = 0;
  t->o.route_online_only = false;
  proto_buf_init(&t->body);
  t_open(t);
  *state = t;
  return 0;
}

int t_teardown(void **state) {
  tctx *t = *state;
  t_close(t);
  t_pub_clear(t);
  proto_buf_close(&t->body);
  test_tmpdir_remove(t->dir);
  free(t);
  return 0;
}

void t_box_event(tctx *t, proto_event *ev, const char *store, proto_event_type type) {
  uint64_t seq = ++t->box_seq;
  proto_event_init(ev, type, store, seq, PROTO_HLC_MAKE(t->now, seq), store);
}

void t_batch(const char *store, const proto_event *evs, size_t n, proto_buf *out) {
  proto_batch_writer w;
  proto_buf one;
  proto_err e = {0};
  proto_buf_init(&one);
  proto_buf_reset(out);
  assert_int_equal(proto_batch_begin(&w, out, store, &e), PROTO_OK);
  for (size_t i = 0; i < n; i++) {
    proto_buf_reset(&one);
    if (proto_event_encode(&evs[i], &one, &e) != PROTO_OK) fail_msg("encode: %s", e.msg);
    assert_int_equal(proto_batch_add(&w, one.data, one.len, &e), PROTO_OK);
  }
  assert_int_equal(proto_batch_end(&w, &e), PROTO_OK);
  proto_buf_close(&one);
}

int t_ingest(tctx *t, const char *store, const char *kind, const char *payload, size_t len) {
  char topic[PROTO_TOPIC_MAX];
  hq_err_clear(&t->err);
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/up/%s", store, kind);
  int rc = hq_ingest(t->c, topic, payload, len, &t->err);
  hq_err cerr;
  hq_err_clear(&cerr);
  if (hq_core_commit(t->c, &cerr) != HQ_OK) fail_msg("commit: %s", cerr.msg);
  return rc;
}

void t_store(tctx *t, const char *store, double lat, double lon, int64_t radius_m) {
  hq_store_req r;
  memset(&r, 0, sizeof r);
  r.set.present = (1u << PROTO_SET_LAT_E6) | (1u << PROTO_SET_LON_E6) | (1u << PROTO_SET_RADIUS_M);
  r.set.v.lat_e6 = llround(lat * 1e6);
  r.set.v.lon_e6 = llround(lon * 1e6);
  r.set.v.radius_m = radius_m;
  T_OK(t, hq_store_put(t->c, store, &r, &t->body, &t->err));
}

void t_catalog(tctx *t, const char *sku, int64_t price) {
  hq_catalog_req r;
  memset(&r, 0, sizeof r);
  snprintf(r.entry.name, sizeof r.entry.name, "name of %s", sku);
  r.entry.price = price;
  r.entry.active = true;
  r.has_name = r.has_price = true;
  T_OK(t, hq_catalog_put(t->c, sku, &r, &t->body, &t->err));
}

void t_receive(tctx *t, const char *store, const char *sku, int64_t qty) {
  proto_event ev;
  proto_buf b;
  proto_buf_init(&b);
  t_box_event(t, &ev, store, PROTO_EV_STOCK_DELTA);
  snprintf(ev.body.delta.sku, sizeof ev.body.delta.sku, "%s", sku);
  ev.body.delta.delta = qty;
  ev.body.delta.reason = PROTO_STOCK_RECEIVE;
  t_batch(store, &ev, 1, &b);
  T_OK(t, t_ingest(t, store, "events", b.data, b.len));
  proto_buf_close(&b);
}

void t_online(tctx *t, const char *store) {
  T_OK(t, t_ingest(t, store, "status", "online", 6));
}

int64_t t_sql_i64(tctx *t, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  char attach[4200];
  if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) fail_msg("open");
  snprintf(attach, sizeof attach, "ATTACH '%s' AS log", hq_core_events_path(t->c));
  if (sqlite3_exec(db, attach, NULL, NULL, NULL) != SQLITE_OK) fail_msg("%s: %s", attach, sqlite3_errmsg(db));
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void t_order_req(hq_order_req *r, const char *key, proto_order_kind kind, const char *sku, int64_t qty) {
  memset(r, 0, sizeof *r);
  snprintf(r->idem_key, sizeof r->idem_key, "%s", key);
  r->has_kind = true;
  r->kind = kind;
  r->n_items = 1;
  snprintf(r->items[0].sku, sizeof r->items[0].sku, "%s", sku);
  r->items[0].qty = qty;
}

int64_t t_acked(tctx *t, const char *store) {
  int i = -1;
  for (int j = t_pub_find(t, 0, store, "down/ack"); j >= 0;
       j = t_pub_find(t, (size_t)j + 1, store, "down/ack"))
    i = j;
  if (i < 0) return -1;
  char got[PROTO_ID_MAX];
  proto_vv vv;
  proto_err e = {0};
  proto_vv_init(&vv);
  if (proto_vvmsg_decode(t->pub[i].payload, t->pub[i].len, got, &vv, &e) != PROTO_OK)
    fail_msg("ack %s: %s", t->pub[i].payload, e.msg);
  int64_t c = (int64_t)proto_vv_contiguous(&vv, store);
  proto_vv_close(&vv);
  return c;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(1099511628211);
  return h;
}

uint64_t t_state_digest(tctx *t) {
  static const char *const q[] = {
      "SELECT * FROM orders ORDER BY store, order_id",
      "SELECT * FROM order_items ORDER BY store, order_id, line",
      "SELECT * FROM stock ORDER BY store, sku",
      "SELECT * FROM deltas ORDER BY store, sku, origin, seq",
      "SELECT * FROM sku ORDER BY store, sku",
      "SELECT * FROM settings ORDER BY store",
      "SELECT id, up_seq, down_seq, down_acked FROM stores ORDER BY id",
  };
  uint64_t h = UINT64_C(14695981039346656037);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) fail_msg("open %s", t->path);
  for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK)
      fail_msg("%s: %s", q[i], sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int col = 0; col < sqlite3_column_count(st); col++) {
        unsigned char type = (unsigned char)sqlite3_column_type(st, col);
        const void *v = sqlite3_column_blob(st, col);
        h = fnv(h, &type, 1);
        if (v) h = fnv(h, v, (size_t)sqlite3_column_bytes(st, col));
      }
      h = fnv(h, "\n", 1);
    }
    sqlite3_finalize(st);
    h = fnv(h, q[i], strlen(q[i]));
  }
  sqlite3_close(db);
  return h;
}
