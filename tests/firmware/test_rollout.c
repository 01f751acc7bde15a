/* test_rollout.c - fw_rollout_next(): the staged-rollout decision HQ calls.
 *
 * Table cases for the arithmetic (percentage, in-flight cap, thresholds),
 * properties (raising the percentage only adds boxes; a halt offers
 * nothing), and a seeded simulation of whole rollouts where boxes fail at
 * random: the rollout must stop once the failures pass the threshold, and
 * one with healthy boxes must reach everyone.  FW_ROLLOUT_SEED=N replays a
 * run; the seed is printed with every failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fw/rollout.h"

#define N 100

typedef struct fleet {
  char ids[N][32];
  fw_fleet_box boxes[N];
  size_t offer[N];
} fleet;

static void fleet_init(fleet *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    snprintf(f->ids[i], sizeof f->ids[i], "store-%03zu", i);
    f->boxes[i] = (fw_fleet_box){f->ids[i], FW_FLEET_PENDING};
  }
}

static fw_rollout_decision decide(fleet *f, size_t n, fw_rollout_policy p) {
  fw_rollout_decision d;
  fw_err err;
  if (fw_rollout_next(f->boxes, n, &p, f->offer, N, &d, &err) != FW_OK) fail_msg("%s", err.msg);
  return d;
}

static void test_percentage_and_in_flight(void **state) {
  fleet f;
  fw_rollout_policy p = {10, -1, -1, 0, 42};
  fw_rollout_decision d;
  (void)state;
  fleet_init(&f, N);
  d = decide(&f, N, p);
  assert_int_equal(d.target, 10);
  assert_int_equal(d.n_offer, 10);
  assert_false(d.halt);
  for (size_t i = 0; i < d.n_offer; i++) f.boxes[f.offer[i]].status = FW_FLEET_ACTIVE;
  d = decide(&f, N, p); /* nothing more until the percentage grows */
  assert_int_equal(d.n_offer, 0);
  assert_int_equal(d.active, 10);
  p.percent = 25;
  p.max_in_flight = 12; /* 10 still busy: room for 2 */
  d = decide(&f, N, p);
  assert_int_equal(d.n_offer, 2);
  p.max_in_flight = 0;
  d = decide(&f, N, p);
  assert_int_equal(d.n_offer, 15);
  p.percent = 1; /* 1 % of 100 */
  fleet_init(&f, N);
  assert_int_equal(decide(&f, N, p).n_offer, 1);
  p.percent = 1; /* ceil: 1 % of 3 boxes is one box, not zero */
  assert_int_equal(decide(&f, 3, p).target, 1);
  p.percent = 0;
  assert_int_equal(decide(&f, N, p).n_offer, 0);
}

/* The boxes of a small stage stay the first ones of a bigger stage. */
static void test_stages_nest(void **state) {
  fleet f;
  fw_rollout_policy p = {10, -1, -1, 0, 7};
  fw_rollout_decision d;
  size_t first[N], n1;
  (void)state;
  fleet_init(&f, N);
  d = decide(&f, N, p);
  n1 = d.n_offer;
  memcpy(first, f.offer, n1 * sizeof *first);
  p.percent = 50;
  d = decide(&f, N, p);
  assert_int_equal(d.n_offer, 50);
  for (size_t i = 0; i < n1; i++) assert_int_equal(f.offer[i], first[i]);
  p.seed = 8; /* another rollout picks another sample */
  d = decide(&f, N, p);
  assert_memory_not_equal(f.offer, first, n1 * sizeof *first);
}

static void test_thresholds(void **state) {
  static const struct {
    size_t committed, failed, active;
    int max_failures, max_pct;
    bool halt;
  } rows[] = {
      {10, 2, 0, 2, -1, false},  /* two failures allowed */
      {10, 3, 0, 2, -1, true},   /* the third passes the threshold */
      {0, 1, 5, 0, -1, true},    /* zero tolerance: the first failure stops it */
      {18, 2, 0, -1, 10, false}, /* 2 of 20 = 10 %: not above */
      {17, 3, 0, -1, 10, true},  /* 3 of 20 = 15 % */
      {0, 0, 10, 0, 0, false},   /* nothing finished yet */
      {50, 50, 0, -1, -1, false},/* no threshold at all */
  };
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fleet f;
    fw_rollout_policy p = {100, rows[i].max_failures, rows[i].max_pct, 0, 1};
    fw_rollout_decision d;
    size_t k = 0;
    fleet_init(&f, N);
    for (size_t j = 0; j < rows[i].committed; j++) f.boxes[k++].status = FW_FLEET_COMMITTED;
    for (size_t j = 0; j < rows[i].failed; j++) f.boxes[k++].status = FW_FLEET_FAILED;
    for (size_t j = 0; j < rows[i].active; j++) f.boxes[k++].status = FW_FLEET_ACTIVE;
    d = decide(&f, N, p);
    if (d.halt != rows[i].halt) fail_msg("row %zu: halt %d, reason \"%s\"", i, d.halt, d.reason);
    assert_int_equal(d.n_offer, d.halt ? 0 : N - k);
    assert_true(d.halt == (d.reason[0] != '\0'));
  }
}

static void test_bad_input(void **state) {
  fleet f;
  fw_rollout_decision d;
  fw_err err;
  fw_rollout_policy p = {101, -1, -1, 0, 1};
  (void)state;
  fleet_init(&f, 5);
  assert_int_equal(fw_rollout_next(f.boxes, 5, &p, f.offer, N, &d, &err), FW_EINVAL);
  assert_non_null(strstr(err.msg, "percent"));
  p.percent = 50;
  p.max_failure_pct = 101;
  assert_int_equal(fw_rollout_next(f.boxes, 5, &p, f.offer, N, &d, &err), FW_EINVAL);
  p.max_failure_pct = -1;
  f.boxes[3].store_id = f.ids[1];
  assert_int_equal(fw_rollout_next(f.boxes, 5, &p, f.offer, N, &d, &err), FW_EINVAL);
  assert_non_null(strstr(err.msg, "store-001 listed twice"));
  f.boxes[3].store_id = NULL;
  assert_int_equal(fw_rollout_next(f.boxes, 5, &p, f.offer, N, &d, &err), FW_EINVAL);
  f.boxes[3].store_id = f.ids[3];
  assert_int_equal(fw_rollout_next(f.boxes, 5, &p, f.offer, 4, &d, &err), FW_EINVAL);
  assert_int_equal(fw_rollout_next(f.boxes, 0, &p, f.offer, 0, &d, &err), FW_OK);
  assert_int_equal(d.n_offer, 0);
  assert_int_equal(fw_fleet_status_of(FW_ST_DOWNLOADING), FW_FLEET_ACTIVE);
  assert_int_equal(fw_fleet_status_of(FW_ST_ROLLBACK), FW_FLEET_ACTIVE);
  assert_int_equal(fw_fleet_status_of(FW_ST_FAILED), FW_FLEET_FAILED);
  assert_int_equal(fw_fleet_status_of(FW_ST_COMMITTED), FW_FLEET_COMMITTED);
}

/* A whole rollout in waves of 10 %: every offered box finishes before the
 * next wave, failing with probability fail_pct.  Returns the decision that
 * ended it (halt, or done). */
static fw_rollout_decision simulate(unsigned seed, unsigned fail_pct, int max_failures, size_t *offered_after_halt) {
  fleet f;
  fw_rollout_policy p = {0, max_failures, -1, 5, seed};
  fw_rollout_decision d;
  unsigned x = seed;
  *offered_after_halt = 0;
  fleet_init(&f, N);
  for (int round = 0; round < 1000; round++) {
    p.percent = p.percent < 100 ? p.percent + 10 : 100;
    d = decide(&f, N, p);
    if (d.halt) {
      *offered_after_halt += d.n_offer;
      return d;
    }
    if (d.done) return d;
    for (size_t i = 0; i < d.n_offer; i++) f.boxes[f.offer[i]].status = FW_FLEET_ACTIVE;
    for (size_t i = 0; i < N; i++) {
      if (f.boxes[i].status != FW_FLEET_ACTIVE) continue;
      x = x * 1103515245u + 12345u;
      f.boxes[i].status = (x >> 16) % 100 < fail_pct ? FW_FLEET_FAILED : FW_FLEET_COMMITTED;
    }
  }
  fail_msg("seed %u: the rollout neither finished nor halted", seed);
  return d;
}

static void test_simulated_rollouts(void **state) {
  const char *env = getenv("FW_ROLLOUT_SEED");
  unsigned base = env ? (unsigned)strtoul(env, NULL, 10) : 20261121u;
  (void)state;
  for (unsigned k = 0; k < 200; k++) {
    unsigned seed = base + k;
    size_t after = 0;
    fw_rollout_decision bad = simulate(seed, 40, 3, &after), good = simulate(seed, 0, 3, &after);
    /* it stops once failures pass 3; boxes already in flight (at most 5)
     * may still fail, but nothing is offered after the halt */
    if (!bad.halt || bad.failed < 4 || bad.failed > 3 + 5 || after != 0)
      fail_msg("seed %u: a rollout with 40 %% failures did not stop after the 4th failure (halt %d, failed %zu)",
               seed, bad.halt, bad.failed);
    if (bad.offered >= N) fail_msg("seed %u: every box was offered despite the failures", seed);
    if (!good.done || good.committed != N) fail_msg("seed %u: a healthy rollout did not reach every box", seed);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentage_and_in_flight),
      cmocka_unit_test(test_stages_nest),
      cmocka_unit_test(test_thresholds),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_simulated_rollouts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
