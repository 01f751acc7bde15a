/* test_ingest.c - the replication protocol at HQ: batches applied once and
 * acked after the commit, refusals (wrong store/origin, malformed,
 * oversized, skewed clocks), hello/ack/retransmit of HQ's own events, fleet
 * messages, the state HQ builds being the boxes' merge, and the order
 * write-back (apply.c) writing exactly the rows the write-through did. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq_test.h"

#define S "s-1"
#define ING(t, store, kind, text) t_ingest(t, store, kind, text, strlen(text))

/* The contiguous seq of origin in the vv message published at index i. */
static uint64_t vv_c(tctx *t, int i, const char *origin) {
  char store[PROTO_ID_MAX];
  proto_vv vv;
  proto_err e = {0};
  uint64_t c;
  assert_true(i >= 0);
  proto_vv_init(&vv);
  if (proto_vvmsg_decode(t->pub[i].payload, t->pub[i].len, store, &vv, &e) != PROTO_OK)
    fail_msg("vv message %s: %s", t->pub[i].payload, e.msg);
  c = proto_vv_contiguous(&vv, origin);
  proto_vv_close(&vv);
  return c;
}

typedef struct seqs {
  uint64_t seq[64];
  size_t n;
} seqs;

static int collect(void *ctx, const proto_event *ev) {
  seqs *s = ctx;
  if (s->n < 64) s->seq[s->n++] = ev->seq;
  return 0;
}

/* Every seq in the down/events batches published from index `from`. */
static seqs down_seqs(tctx *t, size_t from) {
  seqs s = {{0}, 0};
  char store[PROTO_ID_MAX];
  for (size_t i = from; i < t->n_pub; i++) {
    proto_err e = {0};
    if (!strstr(t->pub[i].topic, "/down/events")) continue;
    if (proto_batch_decode(t->pub[i].payload, t->pub[i].len, store, collect, &s, &e) != PROTO_OK)
      fail_msg("down batch: %s", e.msg);
  }
  return s;
}

static void deltas(tctx *t, proto_event *ev, size_t n, const char *sku) {
  for (size_t i = 0; i < n; i++) {
    t_box_event(t, &ev[i], S, PROTO_EV_STOCK_DELTA);
    snprintf(ev[i].body.delta.sku, PROTO_ID_MAX, "%s", sku);
    ev[i].body.delta.delta = 1;
    ev[i].body.delta.reason = PROTO_STOCK_RECEIVE;
  }
}

static void test_batch_applied_once_then_acked(void **state) {
  tctx *t = *state;
  proto_event ev[3];
  proto_buf b;
  proto_buf_init(&b);
  deltas(t, ev, 3, "cup");
  t_batch(S, ev, 3, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  int ack = t_pub_find(t, 0, S, "down/ack");
  assert_int_equal(vv_c(t, ack, S), 3);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1'"), 3);
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE store='s-1' AND sku='cup'"), 3);
  /* The same batch again (a QoS 1 redelivery): nothing changes, acked again. */
  t_pub_clear(t);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(vv_c(t, t_pub_find(t, 0, S, "down/ack"), S), 3);
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE store='s-1' AND sku='cup'"), 3);
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.events_applied, 3);
  assert_int_equal(st.events_duplicate, 3);
  assert_int_equal(t_sql_i64(t, "SELECT up_seq FROM stores WHERE id='s-1'"), 3);
  proto_buf_close(&b);
}

static void test_reordered_batches(void **state) {
  tctx *t = *state;
  proto_event ev[4];
  proto_buf b;
  proto_buf_init(&b);
  deltas(t, ev, 4, "cup");
  t_batch(S, &ev[2], 2, &b); /* 3, 4 first */
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(vv_c(t, t_pub_find(t, 0, S, "down/ack"), S), 0); /* nothing gap-free yet */
  t_pub_clear(t);
  t_batch(S, ev, 2, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(vv_c(t, t_pub_find(t, 0, S, "down/ack"), S), 4);
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE store='s-1' AND sku='cup'"), 4);
  proto_buf_close(&b);
}

static void test_refusals_leave_nothing(void **state) {
  tctx *t = *state;
  proto_event ev[2];
  proto_buf b;
  char *big;
  proto_buf_init(&b);
  deltas(t, ev, 2, "cup");
  /* Another store's batch on s-1's topic. */
  t_batch(S, ev, 2, &b);
  T_RC(t, HQ_EWRONGSTORE, t_ingest(t, "s-2", "events", b.data, b.len));
  /* s-1's batch whose second event claims HQ's origin: the whole batch goes. */
  snprintf(ev[1].origin, PROTO_ID_MAX, "hq:s-1");
  t_batch(S, ev, 2, &b);
  T_RC(t, HQ_EWRONGSTORE, t_ingest(t, S, "events", b.data, b.len));
  assert_non_null(strstr(t->err.msg, "events[1].origin"));
  /* Another store's events in s-1's name. */
  snprintf(ev[1].origin, PROTO_ID_MAX, "s-2");
  t_batch(S, ev, 2, &b);
  T_RC(t, HQ_EWRONGSTORE, t_ingest(t, S, "events", b.data, b.len));
  T_RC(t, HQ_EJSON, ING(t, S, "events", "{\"v\":1,"));
  T_RC(t, HQ_EINVAL, ING(t, S, "events", "{\"v\":1,\"store\":\"s-1\",\"events\":[{}]}"));
  big = calloc(1, PROTO_BATCH_MAX_BYTES + 2);
  memset(big, ' ', PROTO_BATCH_MAX_BYTES + 1);
  T_RC(t, HQ_ETOOBIG, t_ingest(t, S, "events", big, PROTO_BATCH_MAX_BYTES + 1));
  free(big);
  T_RC(t, HQ_EINVAL, ING(t, S, "nonsense", "{}"));
  T_RC(t, HQ_EINVAL, ING(t, "bad store", "events", "{}"));
  T_RC(t, HQ_EINVAL, ING(t, S, "status", "maybe"));
  assert_int_not_equal(ING(t, S, "heartbeat", "[]"), HQ_OK);
  T_RC(t, HQ_EJSON, ING(t, S, "hello", "\xff\xfe"));
  assert_int_not_equal(ING(t, S, "ack", "{\"v\":1,\"store\":\"s-1\",\"vv\":{\"hq:s-1\":{\"c\":-1}}}"), HQ_OK);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events"), 0);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM stores"), 0); /* garbage registers nothing */
  assert_int_equal(t->n_pub, 0);                                    /* and is never acked */
  /* The core carries on: a good batch after all that. */
  t->box_seq = 0;
  deltas(t, ev, 1, "cup");
  t_batch(S, ev, 1, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events"), 1);
  proto_buf_close(&b);
}

static void test_skewed_clock_keeps_the_prefix(void **state) {
  tctx *t = *state;
  proto_event ev[3];
  proto_buf b;
  proto_buf_init(&b);
  t->o.max_skew_ms = 60000;
  t_reopen(t);
  deltas(t, ev, 3, "cup");
  ev[1].hlc = PROTO_HLC_MAKE(t->now + 10 * 60000, 0); /* ten minutes ahead */
  ev[2].hlc = PROTO_HLC_MAKE(t->now + 10 * 60000, 1);
  t_batch(S, ev, 3, &b);
  T_RC(t, HQ_ECLOCK, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events"), 1);
  assert_int_equal(vv_c(t, t_pub_find(t, 0, S, "down/ack"), S), 1);
  assert_true(hq_core_hlc(t->c) < PROTO_HLC_MAKE(t->now + 60000, 0)); /* clock not dragged */
  t->now += 10 * 60000; /* HQ's clock caught up: the resend goes through */
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events"), 3);
  proto_buf_close(&b);
}

/* HQ's events for s-1: settings + catalog = hq:s-1 seqs 1, 2, 3. */
static void hq_events(tctx *t) {
  t_store(t, S, 31.23, 121.47, 5000);
  t_catalog(t, "latte", 1900);
  t_catalog(t, "cake", 2500);
}

static void hello(tctx *t, uint64_t c, const uint64_t *held, size_t n_held) {
  proto_vv vv;
  proto_buf b;
  proto_err e = {0};
  proto_vv_init(&vv);
  proto_buf_init(&b);
  if (c) assert_int_equal(proto_vv_advance(&vv, "hq:s-1", c), PROTO_OK);
  for (size_t i = 0; i < n_held; i++) assert_int_equal(proto_vv_add(&vv, "hq:s-1", held[i], NULL), PROTO_OK);
  assert_int_equal(proto_vvmsg_encode(S, &vv, &b, &e), PROTO_OK);
  T_OK(t, t_ingest(t, S, "hello", b.data, b.len));
  proto_vv_close(&vv);
  proto_buf_close(&b);
}

static void test_hello_resends_what_the_store_lacks(void **state) {
  tctx *t = *state;
  const uint64_t held3 = 3;
  hq_events(t); /* published at once (the store is not online: no matter) */
  seqs s = down_seqs(t, 0);
  assert_int_equal(s.n, 3);
  t_pub_clear(t);
  hello(t, 1, NULL, 0);
  int h = t_pub_find(t, 0, S, "down/hello");
  assert_true(h >= 0);
  assert_int_equal(vv_c(t, h, "hq:s-1"), 3);
  s = down_seqs(t, 0);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.seq[0], 2);
  assert_int_equal(s.seq[1], 3);
  /* Holding 3 above a gap: only 2 is missing. */
  t_pub_clear(t);
  hello(t, 1, &held3, 1);
  s = down_seqs(t, 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.seq[0], 2);
  assert_int_equal(t_sql_i64(t, "SELECT down_acked FROM stores WHERE id='s-1'"), 1);
}

static void ack(tctx *t, uint64_t c) {
  proto_vv vv;
  proto_buf b;
  proto_err e = {0};
  proto_vv_init(&vv);
  proto_buf_init(&b);
  assert_int_equal(proto_vv_advance(&vv, "hq:s-1", c), PROTO_OK);
  assert_int_equal(proto_ackmsg_encode(S, &vv, &b, &e), PROTO_OK);
  T_OK(t, t_ingest(t, S, "ack", b.data, b.len));
  proto_vv_close(&vv);
  proto_buf_close(&b);
}

static void test_retransmit_until_acked(void **state) {
  tctx *t = *state;
  t->o.retransmit_ms = 5000;
  t_reopen(t);
  t_online(t, S);
  t->offline = true; /* the broker is away: publishes fail */
  hq_events(t);
  assert_int_equal(t->n_pub, 0);
  t->offline = false;
  hq_core_tick(t->c); /* too early: nothing */
  assert_int_equal(down_seqs(t, 0).n, 0);
  t->now += 5000;
  hq_core_tick(t->c);
  assert_int_equal(down_seqs(t, 0).n, 3);
  /* Acked up to 2: only 3 is sent again, and only after the interval. */
  ack(t, 2);
  t_pub_clear(t);
  t->now += 4999;
  hq_core_tick(t->c);
  assert_int_equal(down_seqs(t, 0).n, 0);
  t->now += 1;
  hq_core_tick(t->c);
  seqs s = down_seqs(t, 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.seq[0], 3);
  ack(t, 3);
  t_pub_clear(t);
  t->now += 60000;
  hq_core_tick(t->c);
  assert_int_equal(down_seqs(t, 0).n, 0);
  assert_int_equal(t_sql_i64(t, "SELECT down_acked FROM stores WHERE id='s-1'"), 3);
  /* After a restart HQ still knows what was acked. */
  t_reopen(t);
  t_pub_clear(t);
  hq_core_connected(t->c);
  assert_true(t_pub_find(t, 0, S, "down/hello") >= 0);
  assert_int_equal(down_seqs(t, 0).n, 0);
}

static void test_window_bounds_in_flight(void **state) {
  tctx *t = *state;
  t->o.down_window = 2;
  t_reopen(t);
  hq_events(t);
  seqs s = down_seqs(t, 0);
  assert_int_equal(s.n, 2); /* 3 waits for an ack */
  t_pub_clear(t);
  ack(t, 1);
  s = down_seqs(t, 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.seq[0], 3);
}

static void test_store_ahead_of_hq_never_reuses_a_seq(void **state) {
  tctx *t = *state;
  hq_events(t); /* hq:s-1 1..3 */
  hello(t, 10, NULL, 0); /* the box holds 1..10: HQ was restored from an old backup */
  t_catalog(t, "tea", 1200);
  assert_int_equal(t_sql_i64(t, "SELECT MAX(seq) FROM events WHERE origin='hq:s-1'"), 11);
  t_reopen(t); /* remembered across a restart (stores.down_seq) */
  t_catalog(t, "juice", 1500);
  assert_int_equal(t_sql_i64(t, "SELECT MAX(seq) FROM events WHERE origin='hq:s-1'"), 12);
}

static void test_fleet_messages(void **state) {
  tctx *t = *state;
  proto_heartbeat hb;
  proto_buf b;
  proto_err e = {0};
  proto_buf_init(&b);
  hq_core_connected(t->c);
  memset(&hb, 0, sizeof hb);
  snprintf(hb.store, sizeof hb.store, "%s", S);
  snprintf(hb.version, sizeof hb.version, "0.1.0");
  hb.ts_ms = t->now;
  hb.hlc = PROTO_HLC_MAKE(t->now, 0);
  hb.uptime_s = 42;
  hb.outbox_depth = 7;
  hb.tablets = 2;
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &e), PROTO_OK);
  T_OK(t, t_ingest(t, S, "heartbeat", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT outbox_depth FROM stores WHERE id='s-1'"), 7);
  assert_int_equal(t_sql_i64(t, "SELECT tablets FROM stores WHERE id='s-1'"), 2);
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 1);
  T_RC(t, HQ_EWRONGSTORE, t_ingest(t, "s-2", "heartbeat", b.data, b.len));
  T_OK(t, t_ingest(t, S, "status", "offline", 7));
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 0);
  T_OK(t, t_ingest(t, S, "status", "{\"status\":\"online\"}", 19));
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 1);
  /* Silence while HQ itself is cut off from the broker says nothing. */
  hq_core_disconnected(t->c);
  t->now += 91000;
  hq_core_tick(t->c);
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 1);
  /* Back: the store gets offline_after_ms from the reconnect to be heard. */
  hq_core_connected(t->c);
  t->now += 89000;
  hq_core_tick(t->c);
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 1);
  /* Silent for offline_after_ms: offline. */
  t->now += 2000;
  hq_core_tick(t->c);
  assert_int_equal(t_sql_i64(t, "SELECT online FROM stores WHERE id='s-1'"), 0);
  proto_buf_close(&b);
}

/* The store works an order HQ dispatched; HQ's view follows, and replaying
 * the log (a layout change) rebuilds exactly the same state. */
static void test_state_follows_the_store_and_rebuilds(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  char id[PROTO_ID_MAX], before[4096];
  proto_event ev[4];
  proto_buf b;
  proto_buf_init(&b);
  hq_events(t);
  t_order_req(&r, "k", PROTO_KIND_PICKUP, "latte", 2);
  snprintf(r.store_id, sizeof r.store_id, "%s", S);
  T_OK(t, hq_order_create(t->c, &r, &status, &t->body, &t->err));
  assert_int_equal(status, 201);
  const char *p = strstr(t->body.data, "\"order_id\":\"") + 12;
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p, "\""), p);
  const proto_event_type steps[] = {PROTO_EV_ORDER_ACCEPTED, PROTO_EV_ORDER_READY,
                                    PROTO_EV_ORDER_COMPLETED};
  for (size_t i = 0; i < 3; i++) {
    t->now += 60000;
    t_box_event(t, &ev[i], S, steps[i]);
    snprintf(ev[i].body.step.order_id, PROTO_ID_MAX, "%s", id);
  }
  t_box_event(t, &ev[3], S, PROTO_EV_STOCK_DELTA);
  snprintf(ev[3].body.delta.sku, PROTO_ID_MAX, "latte");
  ev[3].body.delta.delta = -2;
  ev[3].body.delta.reason = PROTO_STOCK_SALE;
  t_batch(S, ev, 4, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  T_OK(t, hq_order_get(t->c, id, &t->body, &t->err));
  assert_non_null(strstr(t->body.data, "\"status\":\"completed\""));
  assert_non_null(strstr(t->body.data, "\"accepted\":1795400060000"));
  assert_int_equal(t_sql_i64(t, "SELECT open FROM orders"), 0);
  assert_int_equal(t_sql_i64(t, "SELECT handoff_ms - accepted_ms FROM orders"), 120000);
  snprintf(before, sizeof before, "%s", t->body.data);
  /* Force a rebuild: forget the layout, reopen. */
  t_close(t);
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "sqlite3 %s \"DELETE FROM meta WHERE key='layout'\"", t->path);
    if (system(cmd) != 0) skip(); /* no sqlite3 shell on this machine */
  }
  t_open(t);
  T_OK(t, hq_order_get(t->c, id, &t->body, &t->err));
  assert_string_equal(t->body.data, before);
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE sku='latte'"), -2);
  proto_buf_close(&b);
}

static void test_stocktake_recount(void **state) {
  tctx *t = *state;
  proto_event ev[3];
  proto_buf b;
  proto_buf_init(&b);
  /* +10 (seq 1), count 7 having seen seq 1 (seq 3), +5 it had not seen (seq 2). */
  deltas(t, ev, 2, "cup");
  ev[0].body.delta.delta = 10;
  ev[1].body.delta.delta = 5;
  t_box_event(t, &ev[2], S, PROTO_EV_STOCK_STOCKTAKE);
  snprintf(ev[2].body.stocktake.sku, PROTO_ID_MAX, "cup");
  ev[2].body.stocktake.counted = 7;
  ev[2].body.stocktake.n_seen = 1;
  snprintf(ev[2].body.stocktake.seen[0].origin, PROTO_ID_MAX, "%s", S);
  ev[2].body.stocktake.seen[0].seq = 1;
  /* Arrival order: the count first, then the deltas. */
  t_batch(S, &ev[2], 1, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  t_batch(S, ev, 2, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE sku='cup'"), 12);
  proto_buf_close(&b);
}

/* ---- the write-back of order and stock rows (apply.c) ----------------------------- */

#define WB_ORDERS 70 /* more than HQ_WB_SLOTS: a batch flushes mid-way */
#define WB_DISPATCHED 8

static int no_publish(void *ctx, const char *topic, const void *payload, size_t len) {
  (void)ctx, (void)topic, (void)payload, (void)len;
  return 0;
}

/* FNV-1a over every value of every row of sql in the file at path. */
static uint64_t rows_hash(const char *path, const char *sql, int64_t *rows) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  *rows = 0;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  while (sqlite3_step(st) == SQLITE_ROW) {
    (*rows)++;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      const unsigned char *v = sqlite3_column_blob(st, i);
      int n = sqlite3_column_bytes(st, i);
      for (int k = 0; k < n; k++) h = (h ^ v[k]) * UINT64_C(0x100000001b3);
      h = (h ^ (uint64_t)sqlite3_column_type(st, i)) * UINT64_C(0x100000001b3);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return h;
}

static void stock_event(tctx *t, proto_event *ev, int sku, int64_t qty, bool count) {
  t_box_event(t, ev, S, count ? PROTO_EV_STOCK_STOCKTAKE : PROTO_EV_STOCK_DELTA);
  if (count) {
    snprintf(ev->body.stocktake.sku, PROTO_ID_MAX, "sku-%d", sku);
    ev->body.stocktake.counted = qty;
  } else {
    snprintf(ev->body.delta.sku, PROTO_ID_MAX, "sku-%d", sku);
    ev->body.delta.delta = qty;
    ev->body.delta.reason = PROTO_STOCK_SALE;
  }
}

static void order_step(tctx *t, proto_event *ev, proto_event_type type, const char *id) {
  t_box_event(t, ev, S, type);
  if (type == PROTO_EV_ORDER_ITEM_UNAVAILABLE) {
    snprintf(ev->body.item.order_id, PROTO_ID_MAX, "%s", id);
    snprintf(ev->body.item.sku, PROTO_ID_MAX, "latte");
  } else {
    snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", id);
  }
}

/* WB_DISPATCHED orders through intake (they have lines), the rest known
 * only from the box's steps; then two or three steps of each order in a row
 * (held in one slot: item_unavailable rewrites the lines, preparing after
 * it does not; the slots fill and are flushed mid-way), and one more step
 * of every other order (reloaded from the rows flushed before).  Around
 * them, sales of 10 SKUs, two each, then a stocktake (a recount over the
 * delta rows) and a sale of one after the flush. */
static size_t wb_events(tctx *t, proto_event *ev, char (*ids)[PROTO_ID_MAX]) {
  size_t n = 0;
  hq_events(t);
  for (int i = 0; i < 20; i++) stock_event(t, &ev[n++], i % 10, -1 - i, false);
  for (int i = 0; i < WB_ORDERS; i++) {
    if (i < WB_DISPATCHED) {
      hq_order_req r;
      unsigned status = 0;
      char key[16];
      snprintf(key, sizeof key, "k%d", i);
      t_order_req(&r, key, PROTO_KIND_PICKUP, "latte", 1 + i);
      snprintf(r.store_id, sizeof r.store_id, "%s", S);
      T_OK(t, hq_order_create(t->c, &r, &status, &t->body, &t->err));
      const char *p = strstr(t->body.data, "\"order_id\":\"") + 12;
      snprintf(ids[i], PROTO_ID_MAX, "%.*s", (int)strcspn(p, "\""), p);
    } else {
      snprintf(ids[i], PROTO_ID_MAX, "box-order-%d", i);
    }
  }
  for (int i = 0; i < WB_ORDERS; i++, t->now += 1000) {
    if (i < WB_DISPATCHED) order_step(t, &ev[n++], PROTO_EV_ORDER_ACCEPTED, ids[i]);
    order_step(t, &ev[n++], i < WB_DISPATCHED ? PROTO_EV_ORDER_ITEM_UNAVAILABLE : PROTO_EV_ORDER_ACCEPTED,
               ids[i]);
    t->now += 1000;
    order_step(t, &ev[n++], PROTO_EV_ORDER_PREPARING, ids[i]);
  }
  for (int i = 0; i < WB_ORDERS; i += 2, t->now += 1000)
    order_step(t, &ev[n++], PROTO_EV_ORDER_COMPLETED, ids[i]);
  stock_event(t, &ev[n++], 1, 5, true);
  stock_event(t, &ev[n++], 1, -2, false);
  stock_event(t, &ev[n++], 2, -3, false);
  assert_true(n <= 3 * WB_ORDERS && n <= PROTO_BATCH_MAX_EVENTS);
  return n;
}

/* One batch (write-back, flushed mid-way) and one event per batch (each
 * step written at once, as before the write-back) give the same rows. */
static void test_write_back_equals_write_through(void **state) {
  tctx *t = *state;
  proto_event *ev = calloc(3 * WB_ORDERS, sizeof *ev); /* wb_events makes 206 */
  char(*ids)[PROTO_ID_MAX] = calloc(WB_ORDERS, PROTO_ID_MAX);
  char copy[160], cmd[400];
  hq_core *c2 = NULL;
  proto_buf b;
  proto_buf_init(&b);
  assert_non_null(ev);
  assert_non_null(ids);
  size_t n = wb_events(t, ev, ids);
  t_close(t); /* checkpointed: the file alone is the database */
  snprintf(copy, sizeof copy, "%s/copy.db", t->dir);
  snprintf(cmd, sizeof cmd, "cp %s %s", t->path, copy);
  assert_int_equal(system(cmd), 0);
  t_open(t);
  hq_core_opts o = t->o;
  o.db_path = copy;
  o.publish = no_publish;
  T_OK(t, hq_core_open(&c2, &o, &t->err));
  t_batch(S, ev, n, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  hq_core *one = t->c;
  t->c = c2;
  for (size_t i = 0; i < n; i++) {
    t_batch(S, &ev[i], 1, &b);
    T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  }
  t->c = one;
  hq_core_close(c2);
  static const char *const dumps[] = {
      "SELECT * FROM orders ORDER BY store, order_id",
      "SELECT * FROM order_items ORDER BY store, order_id, line",
      "SELECT * FROM stock ORDER BY store, sku",
      "SELECT * FROM deltas ORDER BY store, sku, origin, seq",
  };
  t_close(t); /* everything on the file for the readers */
  for (size_t i = 0; i < sizeof dumps / sizeof dumps[0]; i++) {
    int64_t rows_a = 0, rows_b = 0;
    uint64_t a = rows_hash(t->path, dumps[i], &rows_a), h2 = rows_hash(copy, dumps[i], &rows_b);
    assert_int_equal(rows_a, rows_b);
    assert_true(rows_a > 0);
    if (a != h2) fail_msg("%s differs between the write-back and the write-through", dumps[i]);
  }
  t_open(t);
  snprintf(cmd, sizeof cmd, "SELECT COUNT(*) FROM orders WHERE status=%d", (int)PROTO_MS_COMPLETED);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM orders"), WB_ORDERS);
  assert_int_equal(t_sql_i64(t, cmd), WB_ORDERS / 2);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM order_items WHERE unavailable=1"), WB_DISPATCHED);
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE sku='sku-3'"), -4 - 14);
  /* Counted 5 having seen none of the sales before it: they count again. */
  assert_int_equal(t_sql_i64(t, "SELECT on_hand FROM stock WHERE sku='sku-1'"), 5 - 2 - 12 - 2);
  free(ev);
  free(ids);
  proto_buf_close(&b);
}

/* A refused batch takes the orders it held back with it; a clock refusal
 * keeps (and writes) the steps before the skewed event. */
static void test_write_back_rollback_and_keep(void **state) {
  tctx *t = *state;
  proto_event ev[3];
  proto_buf b;
  proto_buf_init(&b);
  t->o.max_skew_ms = 60000;
  t_reopen(t);
  order_step(t, &ev[0], PROTO_EV_ORDER_ACCEPTED, "o-1");
  order_step(t, &ev[1], PROTO_EV_ORDER_READY, "o-1");
  order_step(t, &ev[2], PROTO_EV_ORDER_COMPLETED, "o-1");
  snprintf(ev[2].origin, PROTO_ID_MAX, "s-2");
  t_batch(S, ev, 3, &b);
  T_RC(t, HQ_EWRONGSTORE, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM orders"), 0);
  /* The next message starts clean: only its own step reaches the row. */
  t_batch(S, ev, 1, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT status FROM orders WHERE order_id='o-1'"), PROTO_MS_ACCEPTED);
  /* ready, then completed ten minutes ahead: ready is kept and written. */
  snprintf(ev[2].origin, PROTO_ID_MAX, "%s", S);
  ev[2].hlc = PROTO_HLC_MAKE(t->now + 10 * 60000, 0);
  t_batch(S, &ev[1], 2, &b);
  T_RC(t, HQ_ECLOCK, t_ingest(t, S, "events", b.data, b.len));
  assert_int_equal(t_sql_i64(t, "SELECT status FROM orders WHERE order_id='o-1'"), PROTO_MS_READY);
  assert_int_equal(t_sql_i64(t, "SELECT updated_ms FROM orders WHERE order_id='o-1'"),
                   (int64_t)PROTO_HLC_MS(ev[1].hlc));
  proto_buf_close(&b);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, t_setup, t_teardown)
  const struct CMUnitTest tests[] = {
      T(test_batch_applied_once_then_acked),
      T(test_reordered_batches),
      T(test_refusals_leave_nothing),
      T(test_skewed_clock_keeps_the_prefix),
      T(test_hello_resends_what_the_store_lacks),
      T(test_retransmit_until_acked),
      T(test_window_bounds_in_flight),
      T(test_store_ahead_of_hq_never_reuses_a_seq),
      T(test_fleet_messages),
      T(test_state_follows_the_store_and_rebuilds),
      T(test_stocktake_recount),
      T(test_write_back_equals_write_through),
      T(test_write_back_rollback_and_keep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
