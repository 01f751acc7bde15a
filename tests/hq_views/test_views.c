/* test_views.c - the view SQL against a real hq database filled by the
 * core's ingest path (views_test.h), with every expected figure worked out
 * by hand from the scenario below.
 *
 * Local day (tz +08:00): M = 2025-11-21 00:00 local; now = M + 14:30.
 *
 *   s1 "一号店"  o1 pickup   09:00 accept +30s  ready +300s  completed +120s   5900
 *                o2 delivery 10:15 accept +60s  rider_arrived +400s (after accept)
 *                                   ready +600s  picked_up +60s after ready    3000
 *                o3 pickup   13:00 accept +20s  preparing (open, 2 x latte)   3800
 *                o4 pickup   yesterday 20:00, completed yesterday             1000
 *                o5 pickup   11:00, cancelled 11:05                          2000
 *   s2 "二号店"  o6 delivery 12:00 accept +200s ready +900s rider +100s
 *                                   picked_up +300s after ready               4200
 *                o7 pickup   11:30 accept +10s ready +100s, cancelled +10s,
 *                                   completed +60s: a conflict               2500
 *                o8 pickup   14:00 rejected                                  1500
 *                target_accept_s = 60
 *   s3            no orders; offline
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "views_test.h"

#define M INT64_C(1763654400000) /* 2025-11-21 00:00 +08:00 */
#define NOW (M + 14 * VT_HOUR + 30 * VT_MIN)
#define AT(h, m) ((uint64_t)(M + (h) * VT_HOUR + (m) * VT_MIN))

static void orders_s1(vt *t) {
  uint64_t a;
  vt_dispatch(t, "s1", "o1", PROTO_KIND_PICKUP, AT(9, 0), "tea", 1, 5900);
  vt_step(t, "s1", "o1", PROTO_EV_ORDER_ACCEPTED, a = AT(9, 0) + 30 * VT_SEC);
  vt_step(t, "s1", "o1", PROTO_EV_ORDER_READY, a + 300 * VT_SEC);
  vt_step(t, "s1", "o1", PROTO_EV_ORDER_COMPLETED, a + 420 * VT_SEC);

  vt_dispatch(t, "s1", "o2", PROTO_KIND_DELIVERY, AT(10, 15), "tea", 2, 3000);
  vt_step(t, "s1", "o2", PROTO_EV_ORDER_ACCEPTED, a = AT(10, 15) + 60 * VT_SEC);
  vt_step(t, "s1", "o2", PROTO_EV_RIDER_ARRIVED, a + 400 * VT_SEC);
  vt_step(t, "s1", "o2", PROTO_EV_ORDER_READY, a + 600 * VT_SEC);
  vt_step(t, "s1", "o2", PROTO_EV_ORDER_PICKED_UP, a + 660 * VT_SEC);

  vt_dispatch(t, "s1", "o3", PROTO_KIND_PICKUP, AT(13, 0), "latte", 2, 3800);
  vt_step(t, "s1", "o3", PROTO_EV_ORDER_ACCEPTED, AT(13, 0) + 20 * VT_SEC);
  vt_step(t, "s1", "o3", PROTO_EV_ORDER_PREPARING, AT(13, 1));

  vt_dispatch(t, "s1", "o4", PROTO_KIND_PICKUP, AT(-4, 0), "tea", 1, 1000);
  vt_step(t, "s1", "o4", PROTO_EV_ORDER_ACCEPTED, AT(-4, 1));
  vt_step(t, "s1", "o4", PROTO_EV_ORDER_COMPLETED, AT(-4, 10));

  vt_dispatch(t, "s1", "o5", PROTO_KIND_PICKUP, AT(11, 0), "tea", 1, 2000);
  vt_cancel(t, "s1", "o5", AT(11, 5), "changed my mind");
}

static void orders_s2(vt *t) {
  uint64_t a, r;
  vt_target_accept(t, "s2", "二号店", 60);
  vt_dispatch(t, "s2", "o6", PROTO_KIND_DELIVERY, AT(12, 0), "tea", 1, 4200);
  vt_step(t, "s2", "o6", PROTO_EV_ORDER_ACCEPTED, a = AT(12, 0) + 200 * VT_SEC);
  vt_step(t, "s2", "o6", PROTO_EV_ORDER_READY, r = a + 900 * VT_SEC);
  vt_step(t, "s2", "o6", PROTO_EV_RIDER_ARRIVED, r + 100 * VT_SEC);
  vt_step(t, "s2", "o6", PROTO_EV_ORDER_PICKED_UP, r + 300 * VT_SEC);

  vt_dispatch(t, "s2", "o7", PROTO_KIND_PICKUP, AT(11, 30), "tea", 1, 2500);
  vt_step(t, "s2", "o7", PROTO_EV_ORDER_ACCEPTED, a = AT(11, 30) + 10 * VT_SEC);
  vt_step(t, "s2", "o7", PROTO_EV_ORDER_READY, r = a + 100 * VT_SEC);
  vt_cancel(t, "s2", "o7", r + 10 * VT_SEC, "顾客取消");
  vt_step(t, "s2", "o7", PROTO_EV_ORDER_COMPLETED, r + 60 * VT_SEC);

  vt_dispatch(t, "s2", "o8", PROTO_KIND_PICKUP, AT(14, 0), "tea", 1, 1500);
  vt_step(t, "s2", "o8", PROTO_EV_ORDER_REJECTED, AT(14, 1));
}

/* latte: s1 10 on hand (2 reserved by o3), s2 1 and flagged sold out, s3
 * counted 0.  mocha: s1 3 with threshold 5 (low), s2 catalog only. */
static void stock(vt *t) {
  vt_catalog(t, "s1", "latte", "生椰拿铁", 5);
  vt_catalog(t, "s1", "mocha", "摩卡", 5);
  vt_catalog(t, "s2", "latte", "生椰拿铁", 5);
  vt_catalog(t, "s2", "mocha", "摩卡", 5);
  vt_delta(t, "s1", "latte", 10);
  vt_delta(t, "s1", "mocha", 3);
  vt_delta(t, "s2", "latte", 1);
  vt_sold_out(t, "s2", "latte", true);
  vt_stocktake(t, "s3", "latte", 0);
}

/* s1 current, s2 five events behind with its last event 2 min ago, s3
 * offline; s1's box clock 1.5 s ahead. */
static void fleet(vt *t) {
  t->now_ms = NOW - 2 * VT_MIN;
  vt_target_accept(t, "s2", "二号店", 60); /* any event: its arrival is "last event" */
  t->now_ms = NOW;
  vt_heartbeat(t, "s1", "1.2.0", vt_seq(t, "s1"), 0, 1500);
  vt_heartbeat(t, "s2", "1.2.0", vt_seq(t, "s2") + 5, 5, 0);
  vt_heartbeat(t, "s3", "1.1.9", vt_seq(t, "s3"), 0, 0);
  vt_status(t, "s3", false);
}

static int setup(void **state) {
  vt *t = malloc(sizeof *t);
  vt_open(t, NOW, 480);
  orders_s1(t);
  orders_s2(t);
  stock(t);
  fleet(t);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  vt_close(*state);
  free(*state);
  return 0;
}

static hq_view_query query(const char *qs) {
  hq_view_query q;
  hq_err err = {0};
  assert_int_equal(hq_view_query_parse(qs, &q, &err), HQ_OK);
  return q;
}

/* ---- window ----------------------------------------------------------------------- */

static void test_window(void **state) {
  vt *t = *state;
  hq_view_hourly h;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_hourly(t->views, &q, &h, &err), HQ_OK);
  assert_int_equal(h.w.now_ms, NOW);
  assert_int_equal(h.w.day_start_ms, M);
  assert_int_equal(h.w.hour, 14);
  assert_int_equal(h.w.tz_offset_min, 480);
}

/* ---- summary ----------------------------------------------------------------------- */

static void test_summary_chain(void **state) {
  vt *t = *state;
  hq_view_summary s;
  hq_err err = {0};
  hq_view_query q = query("");
  assert_int_equal(hq_views_summary(t->views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.chain.orders, 7);
  assert_int_equal(s.chain.handed_off, 3);
  assert_int_equal(s.chain.sales, 5900 + 3000 + 4200);
  assert_int_equal(s.chain.open, 1);
  assert_int_equal(s.chain.cancelled, 2);
  assert_int_equal(s.chain.rejected, 1);
  assert_int_equal(s.chain.conflicts, 1);
  assert_int_equal(s.chain.by_kind[PROTO_KIND_PICKUP], 5);
  assert_int_equal(s.chain.by_kind[PROTO_KIND_DELIVERY], 2);
  assert_int_equal(s.chain.by_status[PROTO_MS_COMPLETED], 2); /* o1, o7 (conflict) */
  assert_int_equal(s.chain.by_status[PROTO_MS_PICKED_UP], 2);
  assert_int_equal(s.chain.by_status[PROTO_MS_PREPARING], 1);
  assert_int_equal(s.chain.by_status[PROTO_MS_CANCELLED], 1);
  assert_int_equal(s.chain.by_status[PROTO_MS_REJECTED], 1);
  assert_int_equal(s.stores_total, 3);
  assert_int_equal(s.stores_online, 2);
  assert_int_equal(s.n_stores, 3);
  /* By sales, highest first; names from the store settings. */
  assert_string_equal(s.stores[0].store, "s1");
  assert_int_equal(s.stores[0].c.sales, 8900);
  assert_int_equal(s.stores[0].c.orders, 4);
  assert_int_equal(s.stores[0].c.cancelled, 1);
  assert_string_equal(s.stores[1].store, "s2");
  assert_string_equal(s.stores[1].name, "二号店");
  assert_int_equal(s.stores[1].c.sales, 4200);
  assert_int_equal(s.stores[1].c.conflicts, 1);
  assert_string_equal(s.stores[2].store, "s3");
  assert_false(s.stores[2].online);
  /* The stores add up to the chain. */
  uint64_t orders = 0;
  int64_t sales = 0;
  for (size_t i = 0; i < s.n_stores; i++) orders += s.stores[i].c.orders, sales += s.stores[i].c.sales;
  assert_int_equal(orders, s.chain.orders);
  assert_int_equal(sales, s.chain.sales);
  hq_view_free_summary(&s);
}

static void test_summary_store_and_limit(void **state) {
  vt *t = *state;
  hq_view_summary s;
  hq_err err = {0};
  hq_view_query q = query("store=s2");
  assert_int_equal(hq_views_summary(t->views, &q, &s, &err), HQ_OK);
  assert_string_equal(s.w.store, "s2");
  assert_int_equal(s.chain.orders, 3);
  assert_int_equal(s.chain.sales, 4200);
  assert_int_equal(s.stores_total, 1);
  hq_view_free_summary(&s);

  q = query("limit=1");
  assert_int_equal(hq_views_summary(t->views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.n_stores, 1);
  assert_int_equal(s.stores_total, 3);
  assert_int_equal(s.chain.orders, 7); /* the cut never changes the chain */
  hq_view_free_summary(&s);

  q = query("store=nope");
  assert_int_equal(hq_views_summary(t->views, &q, &s, &err), HQ_ENOTFOUND);
  assert_string_equal(err.field, "store");
  assert_null(s.stores);
}

/* ---- hourly ------------------------------------------------------------------------ */

static void test_hourly(void **state) {
  vt *t = *state;
  hq_view_hourly h;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_hourly(t->views, &q, &h, &err), HQ_OK);
  const uint64_t orders[HQ_VIEW_HOURS] = {[9] = 1, [10] = 1, [11] = 2, [12] = 1, [13] = 1, [14] = 1};
  const int64_t sales[HQ_VIEW_HOURS] = {[9] = 5900, [10] = 3000, [12] = 4200};
  for (int i = 0; i < HQ_VIEW_HOURS; i++) {
    assert_int_equal(h.orders[i], orders[i]);
    assert_int_equal(h.sales[i], sales[i]);
    assert_int_equal(h.handed_off[i], sales[i] ? 1 : 0);
    assert_int_equal(h.orders_prev[i], i == 20 ? 1 : 0); /* o4, yesterday 20:00 */
  }
  q = query("store=s2");
  assert_int_equal(hq_views_hourly(t->views, &q, &h, &err), HQ_OK);
  assert_int_equal(h.orders[11], 1);
  assert_int_equal(h.orders[9], 0);
  assert_int_equal(h.sales[12], 4200);
}

/* ---- SLA ------------------------------------------------------------------------------- */

static void assert_pct(const hq_view_pct *p, uint32_t n, int64_t p50_s, int64_t p90_s, int64_t p99_s) {
  assert_int_equal(p->n, n);
  assert_int_equal(p->p50, p50_s * VT_SEC);
  assert_int_equal(p->p90, p90_s * VT_SEC);
  assert_int_equal(p->p99, p99_s * VT_SEC);
}

static void test_sla(void **state) {
  vt *t = *state;
  hq_view_sla s;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_sla(t->views, &q, &s, &err), HQ_OK);
  /* Chain accept samples 10, 20, 30, 60, 200: ranks 3, 5, 5. */
  assert_pct(&s.chain[HQ_SLA_ACCEPT], 5, 30, 200, 200);
  assert_pct(&s.chain[HQ_SLA_PREP], 4, 300, 900, 900);       /* 100 300 600 900 */
  assert_pct(&s.chain[HQ_SLA_RIDER_WAIT], 2, 200, 260, 260); /* 200 260 */
  assert_pct(&s.chain[HQ_SLA_TOTAL], 4, 450, 1400, 1400);    /* 170 450 720 1400 */
  assert_int_equal(s.chain[HQ_SLA_TOTAL].max, 1400 * VT_SEC);

  assert_int_equal(s.stores_total, 2); /* s3 had no orders */
  assert_int_equal(s.n_stores, 2);
  /* Worst p90 total first: s2 (1400 s) before s1 (720 s). */
  const hq_view_sla_store *s2 = &s.stores[0], *s1 = &s.stores[1];
  assert_string_equal(s2->store, "s2");
  assert_string_equal(s1->store, "s1");
  assert_pct(&s2->m[HQ_SLA_ACCEPT], 2, 10, 200, 200);
  assert_pct(&s2->m[HQ_SLA_TOTAL], 2, 170, 1400, 1400);
  assert_pct(&s1->m[HQ_SLA_ACCEPT], 3, 30, 60, 60);
  assert_pct(&s1->m[HQ_SLA_PREP], 2, 300, 600, 600);
  assert_pct(&s1->m[HQ_SLA_RIDER_WAIT], 1, 260, 260, 260);
  assert_pct(&s1->m[HQ_SLA_TOTAL], 2, 450, 720, 720);
  /* Targets: s2 set accept to 60 s; the rest are proto's defaults. */
  assert_int_equal(s2->target_ms[HQ_SLA_ACCEPT], 60 * VT_SEC);
  assert_int_equal(s2->target_ms[HQ_SLA_PREP], 600 * VT_SEC);
  assert_int_equal(s2->target_ms[HQ_SLA_RIDER_WAIT], 300 * VT_SEC);
  assert_int_equal(s2->target_ms[HQ_SLA_TOTAL], 0);
  assert_int_equal(s1->target_ms[HQ_SLA_ACCEPT], 120 * VT_SEC);
  assert_int_equal(s2->breaches, 2); /* accept 200 > 60, prep 900 > 600 */
  assert_int_equal(s1->breaches, 0); /* prep p90 600 is not over 600 */
  hq_view_free_sla(&s);
}

/* ---- stock ------------------------------------------------------------------------------ */

static const hq_view_stock_cell *cell(const hq_view_sku *k, const char *store) {
  for (size_t i = 0; i < k->n_cells; i++)
    if (strcmp(k->cells[i].store, store) == 0) return &k->cells[i];
  fail_msg("no cell for %s/%s", k->sku, store);
  return NULL;
}

static void test_stock(void **state) {
  vt *t = *state;
  hq_view_stock s;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_stock(t->views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.n_skus, 2);
  const hq_view_sku *latte = &s.skus[0], *mocha = &s.skus[1];
  assert_string_equal(latte->sku, "latte");
  assert_string_equal(latte->name, "生椰拿铁");
  assert_string_equal(latte->name_en, "latte-en");
  assert_int_equal(latte->stores, 3);
  assert_int_equal(latte->on_hand, 11);
  assert_int_equal(latte->reserved, 2);
  assert_int_equal(latte->available, 9);
  assert_int_equal(latte->stores_sold_out, 2);
  assert_int_equal(latte->stores_low, 0);
  /* Worst first: the two sold-out cells, then s1. */
  assert_true(latte->cells[0].sold_out && latte->cells[1].sold_out);
  assert_string_equal(latte->cells[2].store, "s1");
  const hq_view_stock_cell *c = cell(latte, "s1");
  assert_true(c->tracked && !c->low && !c->sold_out);
  assert_int_equal(c->available, 8);
  c = cell(latte, "s2");
  assert_true(c->flagged && c->sold_out);
  assert_int_equal(c->available, 1);
  c = cell(latte, "s3");
  assert_true(c->sold_out && !c->flagged && c->tracked);

  assert_string_equal(mocha->sku, "mocha");
  assert_int_equal(mocha->stores, 2);
  assert_int_equal(mocha->stores_low, 1);
  c = cell(mocha, "s2");
  assert_false(c->tracked || c->low || c->sold_out); /* catalog only: nobody counts it */
  c = cell(mocha, "s1");
  assert_true(c->low && !c->sold_out);
  assert_int_equal(c->on_hand, 3);
  assert_int_equal(s.skus_low, 1);
  assert_int_equal(s.skus_sold_out, 1);
  hq_view_free_stock(&s);

  q = query("sku=latte&store=s3");
  assert_int_equal(hq_views_stock(t->views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.n_skus, 1);
  assert_int_equal(s.skus[0].n_cells, 1);
  assert_string_equal(s.skus[0].cells[0].store, "s3");
  hq_view_free_stock(&s);
}

/* ---- fleet --------------------------------------------------------------------------------- */

static void test_fleet(void **state) {
  vt *t = *state;
  hq_view_fleet f;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_fleet(t->views, &q, &f, &err), HQ_OK);
  assert_int_equal(f.stores_total, 3);
  assert_int_equal(f.by_state[HQ_FLEET_OFFLINE], 1);
  assert_int_equal(f.by_state[HQ_FLEET_LAGGING], 1);
  assert_int_equal(f.by_state[HQ_FLEET_OK], 1);
  /* Worst first. */
  assert_string_equal(f.stores[0].store, "s3");
  assert_int_equal(f.stores[0].state, HQ_FLEET_OFFLINE);
  const hq_view_fleet_store *s2 = &f.stores[1], *s1 = &f.stores[2];
  assert_string_equal(s2->store, "s2");
  assert_int_equal(s2->state, HQ_FLEET_LAGGING);
  assert_int_equal(s2->lag_ms, 2 * VT_MIN);
  assert_int_equal(s2->behind, 5);
  assert_int_equal(s2->outbox_depth, 5);
  assert_int_equal(s2->up_seq, vt_seq(t, "s2"));
  assert_int_equal(s2->last_event_ms, NOW - 2 * VT_MIN);
  assert_string_equal(s1->store, "s1");
  assert_int_equal(s1->state, HQ_FLEET_OK);
  assert_int_equal(s1->lag_ms, 0);
  assert_int_equal(s1->clock_skew_ms, 1500);
  assert_int_equal(s1->tablets, 2);
  assert_string_equal(s1->version, "1.2.0");
  assert_int_equal(f.lag_max_ms, 2 * VT_MIN);
  assert_int_equal(f.n_versions, 2);
  assert_string_equal(f.versions[0].version, "1.2.0");
  assert_int_equal(f.versions[0].stores, 2);

  /* A heartbeat older than stale_after_ms (60 s): stale. */
  t->now_ms = NOW + 61 * VT_SEC;
  hq_view_free_fleet(&f);
  q = query("store=s1");
  assert_int_equal(hq_views_fleet(t->views, &q, &f, &err), HQ_OK);
  assert_int_equal(f.stores[0].state, HQ_FLEET_STALE);
  t->now_ms = NOW;
  hq_view_free_fleet(&f);
}

/* ---- conflicts ------------------------------------------------------------------------------ */

static void test_conflicts(void **state) {
  vt *t = *state;
  hq_view_conflicts c;
  hq_err err = {0};
  hq_view_query q = query(NULL);
  assert_int_equal(hq_views_conflicts(t->views, &q, &c, &err), HQ_OK);
  assert_int_equal(c.total, 1);
  assert_int_equal(c.amount, 2500);
  assert_int_equal(c.n, 1);
  assert_string_equal(c.items[0].order_id, "o7");
  assert_string_equal(c.items[0].store, "s2");
  assert_string_equal(c.items[0].name, "二号店");
  assert_int_equal(c.items[0].cancel_by, PROTO_CANCEL_CUSTOMER);
  assert_string_equal(c.items[0].cancel_reason, "顾客取消");
  assert_int_equal(c.items[0].status, PROTO_MS_COMPLETED);
  assert_true(c.items[0].handoff_ms > c.items[0].cancelled_ms);
  hq_view_free_conflicts(&c);
  q = query("store=s1");
  assert_int_equal(hq_views_conflicts(t->views, &q, &c, &err), HQ_OK);
  assert_int_equal(c.total, 0);
  hq_view_free_conflicts(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window),
      cmocka_unit_test(test_summary_chain),
      cmocka_unit_test(test_summary_store_and_limit),
      cmocka_unit_test(test_hourly),
      cmocka_unit_test(test_sla),
      cmocka_unit_test(test_stock),
      cmocka_unit_test(test_fleet),
      cmocka_unit_test(test_conflicts),
  };
  return cmocka_run_group_tests_name("hq_views", tests, setup, teardown);
}
