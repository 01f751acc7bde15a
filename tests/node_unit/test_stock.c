/* test_stock.c - on hand, reserved and available; sale deltas at handoff;
 * stocktakes (variance, reset-swallows-increment); sold-out rule; low stock;
 * the rules of stock adjustments. */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "node_test.h"

static int adjust(tctx *t, const char *sku, int64_t d, proto_stock_reason r) {
  return node_stock_adjust(t->e, sku, d, r, NULL, NULL, "", "s-li", &t->err);
}

static void hq_delta(tctx *t, const char *sku, int64_t d, uint64_t at_ms) {
  proto_event ev;
  uint64_t now = t->now;
  t->now = at_ms;
  t_hq_init(t, &ev, PROTO_EV_STOCK_DELTA);
  t->now = now;
  snprintf(ev.body.delta.sku, PROTO_ID_MAX, "%s", sku);
  ev.body.delta.delta = d;
  ev.body.delta.reason = d > 0 ? PROTO_STOCK_RECEIVE : PROTO_STOCK_CORRECTION;
  snprintf(ev.body.delta.note, PROTO_NOTE_MAX, "from hq");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
}

static void expect(tctx *t, const char *sku, int64_t on_hand, int64_t reserved) {
  node_stock_view v = t_stock(t, sku);
  if (v.on_hand != on_hand || v.reserved != reserved || v.available != on_hand - reserved)
    fail_msg("%s: on_hand %lld reserved %lld available %lld, want %lld %lld", sku,
             (long long)v.on_hand, (long long)v.reserved, (long long)v.available,
             (long long)on_hand, (long long)reserved);
}

static void reserve_commit_release(void **state) {
  tctx *t = *state;
  T_OK(t, adjust(t, "latte", 10, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 2, "cake", 1, NULL);
  T_COMMIT(t);
  expect(t, "latte", 10, 0); /* dispatched: not reserved yet */
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 10, 2);
  expect(t, "cake", 0, 1); /* untracked, but its reservation shows */
  T_OK(t, node_order_ready(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_complete(t->e, "o-1", "1234", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 0); /* committed: the sale delta */
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM deltas WHERE sku='latte' AND reason=1 "
                              "AND ref='o-1' AND delta=-2"), 1);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM deltas WHERE sku='cake'"), 0);
  node_stock_view v;
  T_RC(t, NODE_ENOTFOUND, node_stock_get(t->e, "cake", &v, &t->err));

  /* reject: never reserved */
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "latte", 3, NULL);
  T_OK(t, node_order_reject(t->e, "o-2", PROTO_REJECT_SOLD_OUT, "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 0);
  /* store cancel releases */
  t_dispatch(t, "o-3", PROTO_KIND_DELIVERY, "1234", "latte", 3, NULL);
  T_OK(t, node_order_accept(t->e, "o-3", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 3);
  T_OK(t, node_order_cancel(t->e, "o-3", "no rider", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 0);
  /* HQ cancel releases */
  t_dispatch(t, "o-4", PROTO_KIND_PICKUP, "1234", "latte", 4, NULL);
  T_OK(t, node_order_accept(t->e, "o-4", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 4);
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_ORDER_CANCELLED);
  snprintf(ev.body.cancelled.order_id, PROTO_ID_MAX, "o-4");
  ev.body.cancelled.by = PROTO_CANCEL_CUSTOMER;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 0);
  /* express and delivery handoffs sell too */
  t_dispatch(t, "o-5", PROTO_KIND_EXPRESS, "1234", "latte", 1, NULL);
  t_dispatch(t, "o-6", PROTO_KIND_DELIVERY, "5555", "latte", 1, "latte", 2, NULL);
  T_OK(t, node_order_accept(t->e, "o-5", "s-li", &t->err));
  T_OK(t, node_order_accept(t->e, "o-6", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 8, 4);
  T_OK(t, node_order_ready(t->e, "o-5", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-6", "s-li", &t->err));
  T_OK(t, node_order_ship(t->e, "o-5", "SF", "SF1", "s-li", &t->err));
  T_OK(t, node_order_handoff(t->e, "o-6", "5555", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 4, 0);
  /* two lines of one SKU: one sale of their sum */
  assert_int_equal(t_count(t, "SELECT delta FROM deltas WHERE ref='o-6'"), -3);
}

static void unavailable_line(void **state) {
  tctx *t = *state;
  T_OK(t, adjust(t, "latte", 10, PROTO_STOCK_RECEIVE));
  T_OK(t, adjust(t, "milk", 10, PROTO_STOCK_RECEIVE));
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 2, "milk", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 10, 2);
  T_OK(t, node_order_item_unavailable(t->e, "o-1", "latte", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 10, 0);
  expect(t, "milk", 10, 1);
  T_OK(t, node_order_ready(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_complete(t->e, "o-1", "1234", "s-li", &t->err));
  T_COMMIT(t);
  expect(t, "latte", 10, 0); /* the unavailable line was not sold */
  expect(t, "milk", 9, 0);
}

static void stocktake_variance(void **state) {
  tctx *t = *state;
  int64_t before = -1;
  T_OK(t, adjust(t, "latte", 10, PROTO_STOCK_RECEIVE));
  T_OK(t, adjust(t, "latte", -2, PROTO_STOCK_WASTE));
  T_COMMIT(t);
  expect(t, "latte", 8, 0);
  T_OK(t, node_stocktake(t->e, "latte", 7, "s-mgr", &before, &t->err));
  T_COMMIT(t);
  assert_int_equal(before, 8);
  expect(t, "latte", 7, 0);
  proto_stock s;
  T_OK(t, node__stock_load(t->e, "latte", &s, NULL, &t->err));
  assert_int_equal(s.count.n_seen, 1);
  assert_string_equal(s.count.seen[0].origin, T_STORE);
  assert_int_equal(s.count.seen[0].seq, 2); /* the waste */
  T_RC(t, NODE_EINVAL, node_stocktake(t->e, "latte", -1, "s-mgr", NULL, &t->err));
  /* a count of a SKU never seen before is fine: variance from 0 */
  T_OK(t, node_stocktake(t->e, "syrup", 4, "s-mgr", &before, &t->err));
  T_COMMIT(t);
  assert_int_equal(before, 0);
  expect(t, "syrup", 4, 0);
}

static void reset_swallows_increment(void **state) {
  tctx *t = *state;
  uint64_t base = t->now;
  hq_delta(t, "latte", 5, base);              /* hq:1, seen by the count */
  T_OK(t, adjust(t, "latte", 10, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  expect(t, "latte", 15, 0);
  t->now = base + 10000;
  T_OK(t, node_stocktake(t->e, "latte", 20, "s-mgr", NULL, &t->err));
  T_COMMIT(t);
  expect(t, "latte", 20, 0);
  /* HQ recorded a delivery before the count (lower HLC), it arrives after:
   * the count never saw it, so it must survive. */
  hq_delta(t, "latte", 3, base + 5000);       /* hq:2 */
  T_COMMIT(t);
  expect(t, "latte", 23, 0);
  T_OK(t, adjust(t, "latte", -1, PROTO_STOCK_WASTE));
  T_COMMIT(t);
  expect(t, "latte", 22, 0);
  /* an older stocktake from elsewhere loses and changes nothing */
  proto_event ev;
  t->now = base + 1;
  t_hq_init(t, &ev, PROTO_EV_STOCK_STOCKTAKE);
  t->now = base + 20000;
  snprintf(ev.body.stocktake.sku, PROTO_ID_MAX, "latte");
  ev.body.stocktake.counted = 100;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  expect(t, "latte", 22, 0);
  /* replaying the whole log from scratch gives the same figure */
  T_OK(t, node__db_exec(&t->e->db, "UPDATE meta SET value=0 WHERE key='layout'", &t->err));
  t_reopen(t);
  expect(t, "latte", 22, 0);
}

static void sold_out_automatic(void **state) {
  tctx *t = *state;
  node_stock_view v;
  T_OK(t, adjust(t, "latte", 2, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 0);
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 2, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 1);
  assert_true(t->last_avail.body.avail.sold_out);
  assert_true(t->last_avail.body.avail.automatic);
  assert_string_equal(t->last_avail.origin, T_STORE);
  v = t_stock(t, "latte");
  assert_true(proto_sku_sold_out(&v.sku));
  T_OK(t, node_order_cancel(t->e, "o-1", NULL, "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 2);
  assert_false(t->last_avail.body.avail.sold_out);
  assert_true(t->last_avail.body.avail.automatic);
  T_OK(t, adjust(t, "latte", -2, PROTO_STOCK_WASTE));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 3);
  assert_true(t->last_avail.body.avail.sold_out);
  T_OK(t, adjust(t, "latte", 5, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 4);
  assert_false(t->last_avail.body.avail.sold_out);
  /* a handoff releases and sells in one command: no flicker */
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "latte", 5, NULL);
  T_OK(t, node_order_accept(t->e, "o-2", "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 5); /* 5 reserved of 5 */
  T_OK(t, node_order_ready(t->e, "o-2", "s-li", &t->err));
  T_OK(t, node_order_complete(t->e, "o-2", "1234", "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t->n_avail, 5);
  v = t_stock(t, "latte");
  assert_int_equal(v.available, 0);
  assert_true(proto_sku_sold_out(&v.sku));
}

static void sold_out_manual(void **state) {
  tctx *t = *state;
  node_stock_view v;
  T_OK(t, adjust(t, "latte", 5, PROTO_STOCK_RECEIVE));
  T_OK(t, node_sku_set_sold_out(t->e, "latte", true, "s-li", &t->err));
  T_COMMIT(t);
  v = t_stock(t, "latte");
  assert_true(proto_sku_sold_out(&v.sku));
  assert_false(v.sku.avail.automatic);
  T_OK(t, adjust(t, "latte", 1, PROTO_STOCK_RECEIVE)); /* a person decided: stays */
  T_COMMIT(t);
  v = t_stock(t, "latte");
  assert_true(proto_sku_sold_out(&v.sku));
  T_OK(t, node_sku_set_sold_out(t->e, "latte", false, "s-li", &t->err));
  T_COMMIT(t);
  v = t_stock(t, "latte");
  assert_false(proto_sku_sold_out(&v.sku));
  /* manual toggle of an untracked product */
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_CATALOG_ENTRY);
  snprintf(ev.body.catalog.sku, PROTO_ID_MAX, "americano");
  snprintf(ev.body.catalog.name, PROTO_NAME_MAX, "美式");
  ev.body.catalog.price = 1500;
  ev.body.catalog.active = true;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_OK(t, node_sku_set_sold_out(t->e, "americano", true, "s-li", &t->err));
  T_COMMIT(t);
  v = t_stock(t, "americano");
  assert_true(proto_sku_sold_out(&v.sku));
  assert_string_equal(v.sku.catalog.name, "美式");
  T_RC(t, NODE_ENOTFOUND, node_sku_set_sold_out(t->e, "nothing", true, "s-li", &t->err));
}

static void low_stock(void **state) {
  tctx *t = *state;
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_CATALOG_ENTRY);
  snprintf(ev.body.catalog.sku, PROTO_ID_MAX, "latte");
  snprintf(ev.body.catalog.name, PROTO_NAME_MAX, "生椰拿铁");
  ev.body.catalog.price = 1900;
  ev.body.catalog.low_threshold = 5;
  ev.body.catalog.active = true;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_OK(t, adjust(t, "latte", 6, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  assert_false(t_stock(t, "latte").low);
  T_OK(t, adjust(t, "latte", -1, PROTO_STOCK_WASTE));
  T_COMMIT(t);
  assert_true(t_stock(t, "latte").low);
  T_OK(t, adjust(t, "milk", 1, PROTO_STOCK_RECEIVE)); /* no threshold: never low */
  T_COMMIT(t);
  assert_false(t_stock(t, "milk").low);
}

static void adjust_rules(void **state) {
  tctx *t = *state;
  node_engine *e = t->e;
  node_err *err = &t->err;
  T_OK(t, adjust(t, "latte", 10, PROTO_STOCK_RECEIVE));
  T_COMMIT(t);
  uint64_t feed = node_engine_feed(e);
  T_RC(t, NODE_EINVAL, adjust(t, "latte", -1, PROTO_STOCK_RECEIVE));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", 0, PROTO_STOCK_RECEIVE));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", 1, PROTO_STOCK_WASTE));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", -1, PROTO_STOCK_SALE));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", PROTO_STOCK_MAX + 1, PROTO_STOCK_RECEIVE));
  T_RC(t, NODE_EINVAL, adjust(t, "bad sku", 1, PROTO_STOCK_RECEIVE));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", 1, (proto_stock_reason)77));
  T_RC(t, NODE_EINVAL, adjust(t, "latte", 1, PROTO_STOCK_CORRECTION)); /* needs a note */
  T_RC(t, NODE_EINVAL, node_stock_adjust(e, "latte", -3, PROTO_STOCK_TRANSFER_OUT, "tr-1", NULL,
                                         NULL, "s-mgr", err));
  T_RC(t, NODE_EINVAL, node_stock_adjust(e, "latte", -3, PROTO_STOCK_TRANSFER_OUT, "tr-1", T_STORE,
                                         NULL, "s-mgr", err));
  T_COMMIT(t);
  assert_int_equal(node_engine_feed(e), feed);
  T_OK(t, node_stock_adjust(e, "latte", -3, PROTO_STOCK_TRANSFER_OUT, "tr-1", "s-002", NULL,
                            "s-mgr", err));
  T_RC(t, NODE_EILLEGAL, node_stock_adjust(e, "latte", -3, PROTO_STOCK_TRANSFER_OUT, "tr-1",
                                           "s-002", NULL, "s-mgr", err));
  T_OK(t, node_stock_adjust(e, "latte", 2, PROTO_STOCK_TRANSFER_IN, "tr-9", "s-003", NULL, "s-li",
                            err));
  T_OK(t, node_stock_adjust(e, "latte", -1, PROTO_STOCK_CORRECTION, NULL, NULL, "miscounted",
                            "s-mgr", err));
  T_COMMIT(t);
  expect(t, "latte", 8, 0);
  T_RC(t, NODE_EILLEGAL, node_stock_adjust(e, "latte", -3, PROTO_STOCK_TRANSFER_OUT, "tr-1",
                                           "s-002", NULL, "s-mgr", err));
}

typedef struct each_ctx {
  int n;
  char skus[8][PROTO_ID_MAX];
} each_ctx;

static int collect(void *ctx, const node_stock_view *v) {
  each_ctx *c = ctx;
  if (c->n < 8) snprintf(c->skus[c->n], PROTO_ID_MAX, "%s", v->sku.sku);
  c->n++;
  return 0;
}

static void stock_each(void **state) {
  tctx *t = *state;
  each_ctx c = {0};
  T_OK(t, adjust(t, "milk", 3, PROTO_STOCK_RECEIVE));
  T_OK(t, adjust(t, "latte", 3, PROTO_STOCK_RECEIVE));
  T_OK(t, node_sku_set_sold_out(t->e, "latte", true, "s-li", &t->err));
  T_COMMIT(t);
  T_OK(t, node_stock_each(t->e, collect, &c, &t->err));
  assert_int_equal(c.n, 2);
  assert_string_equal(c.skus[0], "latte");
  assert_string_equal(c.skus[1], "milk");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(reserve_commit_release, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(unavailable_line, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(stocktake_variance, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(reset_swallows_increment, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(sold_out_automatic, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(sold_out_manual, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(low_stock, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(adjust_rules, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(stock_each, t_setup, t_teardown),
  };
  return cmocka_run_group_tests_name("node_unit_stock", tests, NULL, NULL);
}
