/* test_statehash.c - the state digest (proto/statehash.h): a function of
 * the multiset of rows, whatever the order they are visited in; any row's
 * content, an extra row or a duplicate changes it; an order without its
 * dispatch is not hashed; each part has its own digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/hlc.h"
#include "proto/statehash.h"

#define HLC(ms) PROTO_HLC_MAKE((ms), 0)

static void order_of(proto_order *o, const char *id, uint64_t dispatched_ms) {
  proto_order_init(o, id, "store-1");
  o->ms_hlc[PROTO_MS_DISPATCHED] = dispatched_ms ? HLC(dispatched_ms) : 0;
}

static void sku_of(proto_sku *s, const char *sku, int64_t price) {
  proto_sku_init(s, sku);
  if (price) {
    s->catalog_stamp.hlc = HLC(1795400000000);
    snprintf(s->catalog_stamp.origin, sizeof s->catalog_stamp.origin, "hq:store-1");
    snprintf(s->catalog.sku, sizeof s->catalog.sku, "%s", sku);
    snprintf(s->catalog.name, sizeof s->catalog.name, "生椰拿铁");
    s->catalog.price = price;
    s->catalog.active = true;
  }
}

/* Digest of orders o[idx[0..n-1]], skus with on hand, and settings. */
static uint64_t digest(const proto_order *o, const size_t *idx, size_t n, const proto_sku *s,
                       const int64_t *on_hand, size_t ns, const proto_settings *set) {
  proto_state_hash h;
  proto_state_hash_init(&h);
  for (size_t i = 0; i < n; i++) proto_state_hash_order(&h, &o[idx[i]]);
  for (size_t i = 0; i < ns; i++) proto_state_hash_sku(&h, &s[i], on_hand[i]);
  if (set) proto_state_hash_settings(&h, set);
  return proto_state_hash_value(&h, PROTO_SH__COUNT);
}

static void test_order_independent(void **state) {
  (void)state;
  proto_order o[4];
  proto_sku s[2];
  proto_settings set;
  const int64_t on_hand[2] = {5, 0};
  order_of(&o[0], "o-1", 1795400000000);
  order_of(&o[1], "o-2", 1795400001000);
  order_of(&o[2], "o-3", 1795400002000);
  order_of(&o[3], "o-4", 1795400003000);
  o[2].ms_hlc[PROTO_MS_ACCEPTED] = HLC(1795400005000);
  sku_of(&s[0], "latte", 1900);
  sku_of(&s[1], "cake", 0);
  proto_settings_init(&set, "store-1");
  const size_t fwd[] = {0, 1, 2, 3}, rev[] = {3, 2, 1, 0}, mix[] = {2, 0, 3, 1};
  uint64_t d = digest(o, fwd, 4, s, on_hand, 2, &set);
  assert_int_equal(d, digest(o, rev, 4, s, on_hand, 2, &set));
  assert_int_equal(d, digest(o, mix, 4, s, on_hand, 2, &set));
  /* an extra or a duplicated row, a missing one, another on-hand figure */
  const size_t dup[] = {0, 1, 2, 3, 3}, three[] = {0, 1, 2};
  assert_int_not_equal(d, digest(o, dup, 5, s, on_hand, 2, &set));
  assert_int_not_equal(d, digest(o, three, 3, s, on_hand, 2, &set));
  const int64_t other[2] = {6, 0};
  assert_int_not_equal(d, digest(o, fwd, 4, s, other, 2, &set));
  assert_int_not_equal(d, digest(o, fwd, 4, s, on_hand, 2, NULL));
  /* one milestone of one order */
  o[1].ms_hlc[PROTO_MS_READY] = HLC(1795400009000);
  assert_int_not_equal(d, digest(o, fwd, 4, s, on_hand, 2, &set));
}

static void test_parts_and_undispatched(void **state) {
  (void)state;
  proto_state_hash a, b;
  proto_order o, later;
  proto_sku s;
  proto_settings set;
  order_of(&o, "o-1", 1795400000000);
  order_of(&later, "o-2", 0); /* known by a later event only */
  later.ms_hlc[PROTO_MS_ACCEPTED] = HLC(1795400005000);
  sku_of(&s, "latte", 1900);
  proto_settings_init(&set, "store-1");
  proto_state_hash_init(&a);
  proto_state_hash_init(&b);
  assert_true(proto_state_hash_order(&a, &o));
  assert_true(proto_state_hash_order(&b, &o));
  assert_false(proto_state_hash_order(&b, &later));
  assert_int_equal(b.n[PROTO_SH_ORDERS], 1);
  assert_int_equal(proto_state_hash_value(&a, PROTO_SH__COUNT), proto_state_hash_value(&b, PROTO_SH__COUNT));
  proto_state_hash_sku(&a, &s, 3);
  proto_state_hash_settings(&a, &set);
  /* the orders part does not see the others */
  assert_int_equal(proto_state_hash_value(&a, PROTO_SH_ORDERS), proto_state_hash_value(&b, PROTO_SH_ORDERS));
  assert_int_not_equal(proto_state_hash_value(&a, PROTO_SH__COUNT), proto_state_hash_value(&b, PROTO_SH__COUNT));
  assert_int_not_equal(proto_state_hash_value(&a, PROTO_SH_SKUS), proto_state_hash_value(&b, PROTO_SH_SKUS));
  /* the same row as an order and as a SKU cannot cancel out across parts */
  assert_int_not_equal(proto_state_hash_value(&a, PROTO_SH_SKUS), proto_state_hash_value(&a, PROTO_SH_SETTINGS));
  /* settings: one field set changes it */
  proto_state_hash_init(&b);
  proto_state_hash_settings(&b, &set);
  uint64_t before = proto_state_hash_value(&b, PROTO_SH_SETTINGS);
  set.stamp[PROTO_SET_PAUSED].hlc = HLC(1795400000000);
  snprintf(set.stamp[PROTO_SET_PAUSED].origin, PROTO_ID_MAX, "store-1");
  set.v.paused = true;
  proto_state_hash_init(&b);
  proto_state_hash_settings(&b, &set);
  assert_int_not_equal(before, proto_state_hash_value(&b, PROTO_SH_SETTINGS));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_independent),
      cmocka_unit_test(test_parts_and_undispatched),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
