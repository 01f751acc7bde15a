/* test_vv_nomem.c - PROTO_ENOMEM paths of the version vector: malloc and
 * realloc are wrapped (-Wl,--wrap) so the Nth allocation fails; after a
 * failure an add must leave the vector exactly as it was, and a merge must
 * leave a subset of the union that still contains the original. */
#include <stdlib.h>
#include <string.h>

#include "merge_util.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

/* The seam: -1 = never fail, else the number of allocations still allowed. */
static int allow = -1;

static bool should_fail(void) {
  if (allow < 0) return false;
  if (allow == 0) return true;
  allow--;
  return false;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }

static void fill(proto_vv *vv) {
  proto_vv_init(vv);
  for (uint64_t s = 1; s <= 3; s++) assert_int_equal(proto_vv_add(vv, "m", s, NULL), PROTO_OK);
  assert_int_equal(proto_vv_add(vv, "m", 9, NULL), PROTO_OK);
  /* a, c, e and m: the entry array is at its first capacity (4) */
  for (int o = 0; o < 3; o++) {
    char name[2] = {(char)('a' + 2 * o), '\0'};
    assert_int_equal(proto_vv_add(vv, name, 2, NULL), PROTO_OK);
  }
}

static void copy(proto_vv *dst, const proto_vv *src) {
  proto_vv_init(dst);
  assert_int_equal(proto_vv_merge(dst, src), PROTO_OK);
}

/* Runs op with 0, 1, 2... allocations allowed until it succeeds. */
typedef int (*op_fn)(proto_vv *vv, const proto_vv *arg);

static int op_add_new_origin(proto_vv *vv, const proto_vv *arg) {
  return proto_vv_add(vv, "b", 5, NULL); /* new entry (grow) + held (alloc) */
}
static int op_add_held(proto_vv *vv, const proto_vv *arg) {
  int rc = PROTO_OK;
  for (uint64_t s = 11; s <= 20 && rc == PROTO_OK; s += 2) rc = proto_vv_add(vv, "m", s, NULL);
  return rc;
}
static int op_merge(proto_vv *vv, const proto_vv *arg) { return proto_vv_merge(vv, arg); }

static bool subset(const proto_vv *small, const proto_vv *big) {
  proto_vv u;
  copy(&u, big);
  assert_int_equal(proto_vv_merge(&u, small), PROTO_OK);
  bool eq = proto_vv_equal(&u, big);
  proto_vv_close(&u);
  return eq;
}

static void run(op_fn op, bool exact) {
  proto_vv other;
  proto_vv_init(&other);
  for (uint64_t s = 2; s <= 30; s += 3) {
    assert_int_equal(proto_vv_add(&other, "b", s, NULL), PROTO_OK);
    assert_int_equal(proto_vv_add(&other, "m", s, NULL), PROTO_OK);
    assert_int_equal(proto_vv_add(&other, "zz", s, NULL), PROTO_OK);
  }
  int failures = 0;
  for (int k = 0;; k++) {
    proto_vv vv, before, all;
    fill(&vv);
    copy(&before, &vv);
    copy(&all, &vv);
    assert_int_equal(op(&all, &other), PROTO_OK); /* the result without failures */
    allow = k;
    int rc = op(&vv, &other);
    allow = -1;
    if (rc == PROTO_OK) {
      assert_true(proto_vv_equal(&vv, &all));
    } else {
      assert_int_equal(rc, PROTO_ENOMEM);
      failures++;
      if (exact) assert_true(proto_vv_equal(&vv, &before));
      assert_true(subset(&before, &vv) && subset(&vv, &all));
      for (size_t i = 0; i < vv.n; i++) /* no empty entry left behind */
        assert_true(vv.e[i].contiguous > 0 || vv.e[i].n_held > 0);
    }
    proto_vv_close(&vv);
    proto_vv_close(&before);
    proto_vv_close(&all);
    if (rc == PROTO_OK) break;
  }
  assert_true(failures > 0);
  proto_vv_close(&other);
}

static void test_add_new_origin_nomem(void **st) { run(op_add_new_origin, true); }
static void test_add_held_nomem(void **st) { run(op_add_held, false); }
static void test_merge_nomem(void **st) { run(op_merge, false); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_new_origin_nomem),
      cmocka_unit_test(test_add_held_nomem),
      cmocka_unit_test(test_merge_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
