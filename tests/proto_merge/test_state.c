/* test_state.c - stock (counts and deltas), SKU and store-settings registers. */
#include <string.h>

#include "merge_util.h"

/* ---- stock ------------------------------------------------------------------ */

static proto_event delta_ev(const char *origin, uint64_t seq, int64_t d) {
  proto_event ev = tu_ev(PROTO_EV_STOCK_DELTA, origin, seq, 1000 + seq, NULL);
  strcpy(ev.body.delta.sku, "apple");
  ev.body.delta.delta = d;
  ev.body.delta.reason = d > 0 ? PROTO_STOCK_RECEIVE : PROTO_STOCK_SALE;
  return ev;
}

/* A stocktake with seen = (origin, seq) pairs, n of them. */
static proto_event count_ev(const char *origin, uint64_t seq, uint64_t hlc, int64_t counted,
                            int n, const char *o1, uint64_t s1, const char *o2, uint64_t s2) {
  proto_event ev = tu_ev(PROTO_EV_STOCK_STOCKTAKE, origin, seq, hlc, NULL);
  strcpy(ev.body.stocktake.sku, "apple");
  ev.body.stocktake.counted = counted;
  ev.body.stocktake.n_seen = (uint32_t)n;
  if (n > 0) {
    strcpy(ev.body.stocktake.seen[0].origin, o1);
    ev.body.stocktake.seen[0].seq = s1;
  }
  if (n > 1) {
    strcpy(ev.body.stocktake.seen[1].origin, o2);
    ev.body.stocktake.seen[1].seq = s2;
  }
  return ev;
}

/* What a replica does: apply, and on recount re-add every delta it holds. */
static void stock_take_in(proto_stock *s, const proto_event *ev, const proto_event *log,
                          int n_log) {
  bool recount = false;
  assert_int_equal(proto_stock_apply(s, ev, &recount), PROTO_OK);
  if (!recount) return;
  for (int i = 0; i < n_log; i++)
    if (log[i].type == PROTO_EV_STOCK_DELTA)
      proto_stock_add_delta(s, log[i].origin, log[i].seq, log[i].body.delta.delta);
}

static void test_stock_deltas_only(void **st) {
  proto_stock s;
  proto_stock_init(&s, "apple");
  proto_event d[] = {delta_ev("hq", 1, 10), delta_ev("s1", 1, -3), delta_ev("s1", 2, -2)};
  for (int i = 0; i < 3; i++) stock_take_in(&s, &d[i], d, i + 1);
  assert_int_equal(proto_stock_on_hand(&s), 5);
  assert_false(proto_stock_covers(&s, "hq", 1)); /* no count yet */
}

/* The naive counter's bug: the count (made at the store, which had not yet
 * received HQ's delivery) must not swallow that delivery. */
static void test_stock_reset_swallows_increment(void **st) {
  proto_event sale = delta_ev("s1", 1, -2);
  proto_event recv = delta_ev("hq", 1, 5);                       /* not seen by the count */
  proto_event count = count_ev("s1", 2, 2000, 10, 1, "s1", 1, NULL, 0);
  const proto_event *orders[][3] = {
      {&sale, &recv, &count}, {&sale, &count, &recv}, {&count, &sale, &recv},
      {&recv, &count, &sale}, {&count, &recv, &sale}, {&recv, &sale, &count}};
  for (int p = 0; p < 6; p++) {
    proto_stock s;
    proto_event log[3];
    proto_stock_init(&s, "apple");
    for (int i = 0; i < 3; i++) {
      log[i] = *orders[p][i];
      stock_take_in(&s, &log[i], log, i + 1);
    }
    assert_int_equal(proto_stock_on_hand(&s), 15); /* 10 counted + 5 received */
    assert_true(proto_stock_covers(&s, "s1", 1));
    assert_false(proto_stock_covers(&s, "s1", 3));
    assert_false(proto_stock_covers(&s, "hq", 1));
  }
}

static void test_stock_winner(void **st) {
  proto_stock s;
  bool recount = false;
  proto_stock_init(&s, "apple");
  proto_event d1 = delta_ev("s1", 1, 4), d2 = delta_ev("s2", 1, 6);
  proto_event older = count_ev("s1", 2, 2000, 50, 1, "s1", 1, NULL, 0);
  proto_event tie_lo = count_ev("s1", 3, 3000, 7, 2, "s1", 1, "s2", 1);
  proto_event tie_hi = count_ev("s2", 2, 3000, 9, 1, "s2", 1, NULL, 0); /* wins the tie */
  proto_event log[] = {d1, d2, older, tie_lo, tie_hi};
  stock_take_in(&s, &d1, log, 1);
  stock_take_in(&s, &d2, log, 2);
  stock_take_in(&s, &tie_hi, log, 3);
  assert_int_equal(proto_stock_on_hand(&s), 9 + 4); /* s1:1 not seen by the count */
  assert_int_equal(proto_stock_apply(&s, &older, &recount), PROTO_OK);
  assert_false(recount); /* a losing count changes nothing */
  assert_int_equal(proto_stock_apply(&s, &tie_lo, &recount), PROTO_OK);
  assert_false(recount);
  assert_int_equal(proto_stock_on_hand(&s), 13);
  assert_string_equal(s.count_stamp.origin, "s2");
  /* NULL recount is tolerated; merge entry point reports recount */
  proto_stock t;
  proto_stock_init(&t, "apple");
  assert_int_equal(proto_stock_apply(&t, &older, NULL), PROTO_OK);
  proto_stock_init(&t, "apple");
  assert_int_equal(proto_event_merge(&older, &t, &recount), PROTO_OK);
  assert_true(recount);
  assert_int_equal(proto_stock_on_hand(&t), 50);
}

static void test_stock_invalid(void **st) {
  proto_stock s;
  bool recount = true;
  proto_stock_init(&s, "pear");
  proto_event d = delta_ev("s1", 1, 4);
  assert_int_equal(proto_stock_apply(&s, &d, &recount), PROTO_EINVAL); /* other sku */
  assert_false(recount);
  proto_stock_init(&s, "apple");
  proto_event c = count_ev("s1", 2, 0, 5, 0, NULL, 0, NULL, 0); /* hlc 0 */
  assert_int_equal(proto_stock_apply(&s, &c, &recount), PROTO_EINVAL);
  c = count_ev("s1", 2, 10, 5, 0, NULL, 0, NULL, 0);
  c.body.stocktake.n_seen = PROTO_SEEN_MAX + 1;
  assert_int_equal(proto_stock_apply(&s, &c, &recount), PROTO_EINVAL);
  proto_event a = tu_ev(PROTO_EV_SKU_AVAILABILITY, "s1", 3, 30, NULL);
  strcpy(a.body.avail.sku, "apple");
  assert_int_equal(proto_stock_apply(&s, &a, &recount), PROTO_EINVAL);
  assert_int_equal(proto_stock_on_hand(&s), 0);
}

/* ---- sku -------------------------------------------------------------------- */

static proto_event avail_ev(const char *origin, uint64_t hlc, bool sold_out) {
  proto_event ev = tu_ev(PROTO_EV_SKU_AVAILABILITY, origin, hlc, hlc, NULL);
  strcpy(ev.body.avail.sku, "apple");
  ev.body.avail.sold_out = sold_out;
  return ev;
}

static proto_event catalog_ev(const char *origin, uint64_t hlc, int64_t price) {
  proto_event ev = tu_ev(PROTO_EV_CATALOG_ENTRY, origin, hlc, hlc, NULL);
  strcpy(ev.body.catalog.sku, "apple");
  strcpy(ev.body.catalog.name, "Apple");
  ev.body.catalog.price = price;
  ev.body.catalog.active = true;
  return ev;
}

static void test_sku_registers(void **st) {
  proto_sku s;
  proto_sku_init(&s, "apple");
  assert_false(proto_sku_sold_out(&s));
  proto_event so = avail_ev("s1", 100, true), price = catalog_ev("hq", 200, 350);
  assert_int_equal(proto_sku_apply(&s, &so), PROTO_OK);
  assert_int_equal(proto_sku_apply(&s, &price), PROTO_OK);
  assert_true(proto_sku_sold_out(&s)); /* a later price change keeps the toggle */
  assert_int_equal(s.catalog.price, 350);
  proto_event old_price = catalog_ev("hq", 150, 300), back = avail_ev("s1", 90, false);
  assert_int_equal(proto_sku_apply(&s, &old_price), PROTO_OK);
  assert_int_equal(proto_sku_apply(&s, &back), PROTO_OK);
  assert_int_equal(s.catalog.price, 350);
  assert_true(proto_sku_sold_out(&s));
  /* tie on hlc: the higher origin wins, whatever the order */
  proto_event ta = avail_ev("a", 500, false), tb = avail_ev("b", 500, true);
  proto_sku x, y;
  proto_sku_init(&x, "apple");
  proto_sku_init(&y, "apple");
  proto_sku_apply(&x, &ta);
  proto_sku_apply(&x, &tb);
  proto_sku_apply(&y, &tb);
  proto_sku_apply(&y, &ta);
  assert_true(proto_sku_sold_out(&x) && proto_sku_sold_out(&y));
  assert_int_equal(proto_sku_hash(&x), proto_sku_hash(&y));
  /* merge joins register by register */
  proto_sku_merge(&x, &s);
  assert_int_equal(x.catalog.price, 350);
  assert_int_equal(x.avail_stamp.hlc, 500);
  proto_event other = avail_ev("s1", 600, false);
  strcpy(other.body.avail.sku, "pear");
  assert_int_equal(proto_sku_apply(&x, &other), PROTO_EINVAL);
  proto_event zero = avail_ev("s1", 0, false);
  assert_int_equal(proto_sku_apply(&x, &zero), PROTO_EINVAL);
  proto_event delta = tu_ev(PROTO_EV_STOCK_DELTA, "s1", 700, 700, NULL);
  strcpy(delta.body.delta.sku, "apple");
  assert_int_equal(proto_sku_apply(&x, &delta), PROTO_EINVAL);
  bool recount = true;
  assert_int_equal(proto_event_merge(&price, &y, &recount), PROTO_OK);
  assert_false(recount);
  assert_int_equal(y.catalog.price, 350);
}

/* ---- settings ----------------------------------------------------------------- */

static proto_event settings_ev(const char *origin, uint64_t hlc) {
  return tu_ev(PROTO_EV_STORE_SETTINGS, origin, hlc, hlc, NULL);
}

#define SET(ev, field, member, value)                              \
  do {                                                             \
    (ev).body.settings.present |= 1u << PROTO_SET_##field;         \
    (ev).body.settings.v.member = (value);                         \
  } while (0)

static void test_settings_defaults_and_table(void **st) {
  proto_settings s;
  proto_settings_init(&s, "s1");
  assert_int_equal(s.v.open_min, 0);
  assert_int_equal(s.v.close_min, 1440);
  assert_false(s.v.paused);
  assert_int_equal(s.v.auto_accept_s, 0);
  assert_int_equal(s.v.target_accept_s, 120);
  assert_int_equal(s.v.target_prep_s, 600);
  assert_int_equal(s.v.target_wait_s, 300);
  assert_int_equal(s.v.radius_m, 5000);
  for (int f = 0; f < PROTO_SET__COUNT; f++) assert_false(proto_settings_is_set(&s, f));
  const proto_settings_field_info *t = proto_settings_fields();
  assert_string_equal(t[PROTO_SET_RADIUS_M].key, "radius_m");
  assert_int_equal(t[PROTO_SET_PAUSED].type, PROTO_FIELD_BOOL);
  assert_string_equal(proto_settings_field_key(PROTO_SET_OPEN_MIN), "open_min");
  assert_null(proto_settings_field_key(PROTO_SET__COUNT));
}

static void test_settings_per_field_lww(void **st) {
  proto_settings s;
  proto_settings_init(&s, "s1");
  proto_event a = settings_ev("hq", 100), b = settings_ev("s1", 100), old = settings_ev("zz", 50);
  SET(a, PAUSED, paused, true);
  SET(a, RADIUS_M, radius_m, 3000);
  a.body.settings.v.open_min = 480; /* not present: must not be written */
  SET(b, NAME, name[0], 'N');
  SET(b, RADIUS_M, radius_m, 4000); /* same hlc as a: "s1" > "hq" wins */
  SET(old, PAUSED, paused, false);
  SET(old, TARGET_PREP_S, target_prep_s, 900);
  assert_int_equal(proto_settings_apply(&s, &a), PROTO_OK);
  assert_int_equal(proto_settings_apply(&s, &b), PROTO_OK);
  assert_int_equal(proto_settings_apply(&s, &old), PROTO_OK);
  assert_true(s.v.paused);                /* the newer write of paused stays */
  assert_string_equal(s.v.name, "N");     /* concurrent edits of other fields both win */
  assert_int_equal(s.v.radius_m, 4000);   /* tie broken by origin */
  assert_int_equal(s.v.target_prep_s, 900); /* old, but nobody else wrote it */
  assert_int_equal(s.v.open_min, 0);
  assert_true(proto_settings_is_set(&s, PROTO_SET_PAUSED));
  assert_false(proto_settings_is_set(&s, PROTO_SET_OPEN_MIN));
  assert_string_equal(s.stamp[PROTO_SET_PAUSED].origin, "hq");

  proto_settings r;
  proto_settings_init(&r, "s1");
  proto_settings_apply(&r, &old);
  proto_settings_apply(&r, &b);
  proto_settings_apply(&r, &a);
  assert_true(tu_settings_eq(&r, &s));
  assert_int_equal(proto_settings_hash(&r), proto_settings_hash(&s));

  proto_settings m;
  proto_settings_init(&m, "s1");
  proto_settings_apply(&m, &old);
  proto_settings_merge(&m, &r);
  assert_true(tu_settings_eq(&m, &s));

  proto_event other = settings_ev("hq", 200);
  strcpy(other.store, "s2");
  SET(other, PAUSED, paused, false);
  assert_int_equal(proto_settings_apply(&s, &other), PROTO_EINVAL);
  assert_true(s.v.paused);
  bool recount = true;
  proto_event c = settings_ev("hq", 300);
  SET(c, CLOSE_MIN, close_min, 1200);
  assert_int_equal(proto_event_merge(&c, &s, &recount), PROTO_OK);
  assert_false(recount);
  assert_int_equal(s.v.close_min, 1200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stock_deltas_only),
      cmocka_unit_test(test_stock_reset_swallows_increment),
      cmocka_unit_test(test_stock_winner),
      cmocka_unit_test(test_stock_invalid),
      cmocka_unit_test(test_sku_registers),
      cmocka_unit_test(test_settings_defaults_and_table),
      cmocka_unit_test(test_settings_per_field_lww),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
