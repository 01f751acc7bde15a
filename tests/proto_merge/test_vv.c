/* test_vv.c - version vectors: unit tests and seeded properties. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_util.h"

static void add_ok(proto_vv *vv, const char *origin, uint64_t seq, bool expect_new) {
  bool added = !expect_new;
  assert_int_equal(proto_vv_add(vv, origin, seq, &added), PROTO_OK);
  assert_true(added == expect_new);
}

static void test_add_has_contiguous(void **st) {
  proto_vv vv;
  proto_vv_init(&vv);
  assert_false(proto_vv_has(&vv, "a", 1));
  assert_int_equal(proto_vv_contiguous(&vv, "a"), 0);
  add_ok(&vv, "a", 1, true);
  add_ok(&vv, "a", 1, false);
  add_ok(&vv, "a", 2, true);
  assert_true(proto_vv_has(&vv, "a", 2));
  assert_false(proto_vv_has(&vv, "a", 3));
  assert_false(proto_vv_has(&vv, "a", 0));
  assert_false(proto_vv_has(&vv, "b", 1));
  assert_int_equal(proto_vv_contiguous(&vv, "a"), 2);
  assert_int_equal(proto_vv_max(&vv, "a"), 2);
  assert_int_equal(proto_vv_add(&vv, "a", 2, NULL), PROTO_OK);
  proto_vv_close(&vv);
  assert_null(vv.e);
  assert_int_equal(vv.n, 0);
}

static void test_held_folding(void **st) {
  proto_vv vv;
  proto_vv_init(&vv);
  add_ok(&vv, "o", 5, true);
  add_ok(&vv, "o", 3, true);
  add_ok(&vv, "o", 9, true);
  add_ok(&vv, "o", 3, false);
  const proto_vv_entry *e = proto_vv_find(&vv, "o");
  assert_non_null(e);
  assert_int_equal(e->contiguous, 0);
  assert_int_equal(e->n_held, 3);
  assert_int_equal(e->held[0], 3);
  assert_int_equal(e->held[1], 5);
  assert_int_equal(e->held[2], 9);
  assert_int_equal(proto_vv_max(&vv, "o"), 9);
  add_ok(&vv, "o", 4, true);
  add_ok(&vv, "o", 1, true);
  e = proto_vv_find(&vv, "o");
  assert_int_equal(e->contiguous, 1);
  assert_int_equal(e->n_held, 4);
  add_ok(&vv, "o", 2, true); /* closes the gap: 1..5 fold, 9 stays held */
  e = proto_vv_find(&vv, "o");
  assert_int_equal(e->contiguous, 5);
  assert_int_equal(e->n_held, 1);
  assert_int_equal(e->held[0], 9);
  for (uint64_t s = 6; s <= 8; s++) add_ok(&vv, "o", s, true);
  e = proto_vv_find(&vv, "o");
  assert_int_equal(e->contiguous, 9);
  assert_int_equal(e->n_held, 0);
  proto_vv_close(&vv);
}

static void test_invalid(void **st) {
  proto_vv vv;
  char long_origin[PROTO_ID_MAX + 1];
  bool added = true;
  memset(long_origin, 'x', PROTO_ID_MAX);
  long_origin[PROTO_ID_MAX] = '\0';
  proto_vv_init(&vv);
  assert_int_equal(proto_vv_add(&vv, "a", 0, &added), PROTO_EINVAL);
  assert_false(added);
  assert_int_equal(proto_vv_add(&vv, "", 1, NULL), PROTO_EINVAL);
  assert_int_equal(proto_vv_add(&vv, NULL, 1, NULL), PROTO_EINVAL);
  assert_int_equal(proto_vv_add(&vv, long_origin, 1, NULL), PROTO_EINVAL);
  assert_int_equal(proto_vv_add(&vv, "a", PROTO_SEQ_MAX + 1, NULL), PROTO_EINVAL);
  assert_int_equal(proto_vv_advance(&vv, "", 3), PROTO_EINVAL);
  assert_int_equal(vv.n, 0);
  long_origin[PROTO_ID_MAX - 1] = '\0'; /* 63 chars: the longest valid */
  assert_int_equal(proto_vv_add(&vv, long_origin, PROTO_SEQ_MAX, NULL), PROTO_OK);
  assert_true(proto_vv_has(&vv, long_origin, PROTO_SEQ_MAX));
  proto_vv_close(&vv);
}

static void test_sorted_origins(void **st) {
  const char *names[] = {"m", "c", "x", "a", "hq", "b", "z", "store-01", "store-00"};
  size_t n = sizeof names / sizeof *names;
  proto_vv vv;
  proto_vv_init(&vv);
  for (size_t i = 0; i < n; i++) add_ok(&vv, names[i], i + 1, true);
  assert_int_equal(vv.n, n);
  for (size_t i = 1; i < vv.n; i++) assert_true(strcmp(vv.e[i - 1].origin, vv.e[i].origin) < 0);
  for (size_t i = 0; i < n; i++) {
    assert_true(proto_vv_has(&vv, names[i], i + 1));
    assert_non_null(proto_vv_find(&vv, names[i]));
  }
  assert_null(proto_vv_find(&vv, "nope"));
  proto_vv_reset(&vv);
  assert_int_equal(vv.n, 0);
  add_ok(&vv, "m", 1, true); /* storage reused after reset */
  proto_vv_close(&vv);
}

static void test_advance(void **st) {
  proto_vv vv;
  proto_vv_init(&vv);
  add_ok(&vv, "a", 4, true);
  add_ok(&vv, "a", 7, true);
  add_ok(&vv, "a", 12, true);
  assert_int_equal(proto_vv_advance(&vv, "a", 6), PROTO_OK); /* drops 4, folds 7 */
  const proto_vv_entry *e = proto_vv_find(&vv, "a");
  assert_int_equal(e->contiguous, 7);
  assert_int_equal(e->n_held, 1);
  assert_int_equal(e->held[0], 12);
  assert_int_equal(proto_vv_advance(&vv, "a", 3), PROTO_OK); /* never lowers */
  assert_int_equal(proto_vv_contiguous(&vv, "a"), 7);
  assert_int_equal(proto_vv_advance(&vv, "b", 0), PROTO_OK); /* no-op, no entry */
  assert_null(proto_vv_find(&vv, "b"));
  assert_int_equal(proto_vv_advance(&vv, "b", 10), PROTO_OK);
  assert_int_equal(proto_vv_contiguous(&vv, "b"), 10);
  proto_vv_close(&vv);
}

typedef struct ranges {
  int n;
  char origin[8][PROTO_ID_MAX];
  uint64_t first[8], last[8];
  int stop_after; /* return 7 once this many were seen; 0 = never */
} ranges;

static int collect(void *ctx, const char *origin, uint64_t first, uint64_t last) {
  ranges *r = ctx;
  if (r->n >= 8) return -1;
  strcpy(r->origin[r->n], origin);
  r->first[r->n] = first;
  r->last[r->n] = last;
  r->n++;
  return r->stop_after && r->n >= r->stop_after ? 7 : 0;
}

static void add_range(proto_vv *vv, const char *o, uint64_t lo, uint64_t hi) {
  for (uint64_t s = lo; s <= hi; s++) assert_int_equal(proto_vv_add(vv, o, s, NULL), PROTO_OK);
}

static void test_missing_ranges(void **st) {
  proto_vv have, other;
  ranges r = {0};
  proto_vv_init(&have);
  proto_vv_init(&other);
  add_range(&have, "a", 1, 10);
  add_range(&have, "a", 15, 15);
  add_range(&have, "a", 17, 18);
  add_range(&other, "a", 1, 3);
  add_range(&other, "a", 5, 5);
  add_range(&other, "a", 8, 9);
  add_range(&other, "a", 17, 17);
  add_range(&have, "b", 2, 3); /* other has no "b" at all */
  add_range(&other, "c", 1, 4); /* have has no "c": nothing to send */
  assert_int_equal(proto_vv_missing(&have, &other, collect, &r), 0);
  static const uint64_t want[][2] = {{4, 4}, {6, 7}, {10, 10}, {15, 15}, {18, 18}, {2, 3}};
  assert_int_equal(r.n, 6);
  for (int i = 0; i < 6; i++) {
    assert_string_equal(r.origin[i], i < 5 ? "a" : "b");
    assert_int_equal(r.first[i], want[i][0]);
    assert_int_equal(r.last[i], want[i][1]);
  }
  memset(&r, 0, sizeof r);
  r.stop_after = 2;
  assert_int_equal(proto_vv_missing(&have, &other, collect, &r), 7);
  assert_int_equal(r.n, 2);
  memset(&r, 0, sizeof r);
  assert_int_equal(proto_vv_missing(&have, &have, collect, &r), 0);
  assert_int_equal(r.n, 0);
  proto_vv_close(&have);
  proto_vv_close(&other);
}

static void test_merge_equal(void **st) {
  proto_vv a, b;
  proto_vv_init(&a);
  proto_vv_init(&b);
  add_range(&a, "x", 1, 3);
  add_range(&a, "x", 6, 6);
  add_range(&b, "x", 4, 5);
  add_range(&b, "x", 9, 9);
  add_range(&b, "y", 2, 2);
  assert_false(proto_vv_equal(&a, &b));
  assert_int_equal(proto_vv_merge(&a, &b), PROTO_OK);
  assert_int_equal(proto_vv_contiguous(&a, "x"), 6);
  assert_int_equal(proto_vv_max(&a, "x"), 9);
  assert_true(proto_vv_has(&a, "y", 2));
  assert_false(proto_vv_has(&a, "y", 1));
  assert_int_equal(proto_vv_merge(&b, &a), PROTO_OK);
  assert_true(proto_vv_equal(&a, &b));
  assert_int_equal(proto_vv_merge(&a, &a), PROTO_OK);
  assert_true(proto_vv_equal(&a, &b));
  proto_vv_close(&a);
  proto_vv_close(&b);
}

/* ---- properties ------------------------------------------------------------ */

#define P_ORIGINS 4
#define P_SEQ 48
static const char *const p_origins[P_ORIGINS] = {"hq", "s1", "s2", "tab"};

/* A random set as a bitmap model plus the vector built from it. */
typedef struct model {
  bool has[P_ORIGINS][P_SEQ + 1];
} model;

static void random_vv(tu_case *c, proto_vv *vv, model *m) {
  uint32_t density = 1 + tu_below(c, 9); /* out of 10 */
  size_t idx[P_ORIGINS * P_SEQ], n = 0;
  memset(m, 0, sizeof *m);
  for (int o = 0; o < P_ORIGINS; o++)
    for (int s = 1; s <= P_SEQ; s++)
      if (tu_below(c, 10) < density) {
        m->has[o][s] = true;
        idx[n++] = (size_t)(o * P_SEQ + s - 1);
      }
  tu_shuffle(c, idx, n);
  proto_vv_init(vv);
  for (size_t i = 0; i < n; i++) {
    bool added = false;
    TU_CHECK(c, proto_vv_add(vv, p_origins[idx[i] / P_SEQ], idx[i] % P_SEQ + 1, &added) == 0);
    TU_CHECK(c, added);
    if (tu_below(c, 4) == 0) { /* a duplicate is not new */
      TU_CHECK(c, proto_vv_add(vv, p_origins[idx[i] / P_SEQ], idx[i] % P_SEQ + 1, &added) == 0);
      TU_CHECK(c, !added);
    }
  }
}

/* The vector holds exactly the model's set, in canonical form. */
static void check_model(tu_case *c, const proto_vv *vv, const model *m) {
  for (size_t i = 1; i < vv->n; i++) TU_CHECK(c, strcmp(vv->e[i - 1].origin, vv->e[i].origin) < 0);
  for (size_t i = 0; i < vv->n; i++) {
    const proto_vv_entry *e = &vv->e[i];
    TU_CHECK(c, e->contiguous > 0 || e->n_held > 0);
    for (size_t k = 0; k < e->n_held; k++) {
      TU_CHECK(c, e->held[k] > e->contiguous + 1);
      TU_CHECK(c, k == 0 || e->held[k] > e->held[k - 1]);
    }
  }
  for (int o = 0; o < P_ORIGINS; o++) {
    uint64_t contiguous = 0, max = 0;
    while (contiguous < P_SEQ && m->has[o][contiguous + 1]) contiguous++;
    for (int s = 1; s <= P_SEQ; s++) {
      TU_CHECK(c, proto_vv_has(vv, p_origins[o], (uint64_t)s) == m->has[o][s]);
      if (m->has[o][s]) max = (uint64_t)s;
    }
    TU_CHECK(c, proto_vv_contiguous(vv, p_origins[o]) == contiguous);
    TU_CHECK(c, proto_vv_max(vv, p_origins[o]) == max);
  }
}

typedef struct miss_ctx {
  tu_case *c;
  model seen;
  int last_origin;
  uint64_t last_hi;
} miss_ctx;

static int record_missing(void *ctx, const char *origin, uint64_t first, uint64_t last) {
  miss_ctx *mc = ctx;
  int o = 0;
  while (o < P_ORIGINS && strcmp(p_origins[o], origin) != 0) o++;
  TU_CHECK(mc->c, o < P_ORIGINS && first >= 1 && first <= last && last <= P_SEQ);
  TU_CHECK(mc->c, o > mc->last_origin || (o == mc->last_origin && first > mc->last_hi + 1));
  for (uint64_t s = first; s <= last; s++) mc->seen.has[o][s] = true;
  mc->last_origin = o;
  mc->last_hi = last;
  return 0;
}

static void test_vv_properties(void **st) {
  uint64_t seed = tu_base_seed();
  for (int i = 0; i < 3000; i++) {
    tu_case c;
    proto_vv a, b, x, ab, ba, ab_c, bc, a_bc;
    model ma, mb, mx, mu;
    tu_case_init(&c, seed, i);
    random_vv(&c, &a, &ma);
    random_vv(&c, &b, &mb);
    random_vv(&c, &x, &mx);
    check_model(&c, &a, &ma);
    for (int o = 0; o < P_ORIGINS; o++)
      for (int s = 0; s <= P_SEQ; s++) mu.has[o][s] = ma.has[o][s] || mb.has[o][s];
    proto_vv_init(&ab);
    proto_vv_init(&ba);
    TU_CHECK(&c, proto_vv_merge(&ab, &a) == 0 && proto_vv_merge(&ab, &b) == 0);
    TU_CHECK(&c, proto_vv_merge(&ba, &b) == 0 && proto_vv_merge(&ba, &a) == 0);
    check_model(&c, &ab, &mu);
    TU_CHECK(&c, proto_vv_equal(&ab, &ba)); /* commutative */
    proto_vv_init(&ab_c);
    proto_vv_init(&bc);
    proto_vv_init(&a_bc);
    TU_CHECK(&c, proto_vv_merge(&ab_c, &ab) == 0 && proto_vv_merge(&ab_c, &x) == 0);
    TU_CHECK(&c, proto_vv_merge(&bc, &b) == 0 && proto_vv_merge(&bc, &x) == 0);
    TU_CHECK(&c, proto_vv_merge(&a_bc, &a) == 0 && proto_vv_merge(&a_bc, &bc) == 0);
    TU_CHECK(&c, proto_vv_equal(&ab_c, &a_bc)); /* associative */
    TU_CHECK(&c, proto_vv_merge(&ab, &a) == 0 && proto_vv_merge(&ab, &ab) == 0);
    TU_CHECK(&c, proto_vv_equal(&ab, &ba)); /* idempotent */
    /* missing(a, b) reports exactly a \ b as maximal runs */
    miss_ctx mc = {&c, {{{false}}}, -1, 0};
    TU_CHECK(&c, proto_vv_missing(&a, &b, record_missing, &mc) == 0);
    for (int o = 0; o < P_ORIGINS; o++)
      for (int s = 1; s <= P_SEQ; s++)
        TU_CHECK(&c, mc.seen.has[o][s] == (ma.has[o][s] && !mb.has[o][s]));
    proto_vv *all[] = {&a, &b, &x, &ab, &ba, &ab_c, &bc, &a_bc};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) proto_vv_close(all[k]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_has_contiguous), cmocka_unit_test(test_held_folding),
      cmocka_unit_test(test_invalid),            cmocka_unit_test(test_sorted_origins),
      cmocka_unit_test(test_advance),            cmocka_unit_test(test_missing_ranges),
      cmocka_unit_test(test_merge_equal),        cmocka_unit_test(test_vv_properties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
