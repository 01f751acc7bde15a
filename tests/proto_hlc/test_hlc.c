/* test_hlc.c - the hybrid logical clock of proto/hlc.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/hlc.h"

#define T0 UINT64_C(1795400000000) /* 2026-11, ms */
#define BOUND 60000

static void send_is_strictly_monotonic_when_wall_clock_steps_back(void **state) {
  proto_hlc c;
  proto_hlc_init(&c, 0, BOUND);
  uint64_t prev = proto_hlc_send(&c, T0);
  assert_int_equal(PROTO_HLC_MS(prev), T0);
  assert_int_equal(PROTO_HLC_COUNTER(prev), 0);
  /* NTP steps the clock back 5 s: timestamps keep growing on the counter. */
  for (int i = 0; i < 1000; i++) {
    uint64_t t = proto_hlc_send(&c, T0 - 5000);
    assert_true(t > prev);
    assert_int_equal(PROTO_HLC_MS(t), T0);
    prev = t;
  }
  /* Once the wall clock passes the old time again, it takes over. */
  uint64_t t = proto_hlc_send(&c, T0 + 1);
  assert_int_equal(t, PROTO_HLC_MAKE(T0 + 1, 0));
}

static void counter_overflow_moves_into_the_next_millisecond(void **state) {
  proto_hlc c;
  proto_hlc_init(&c, 0, BOUND);
  uint64_t prev = proto_hlc_send(&c, T0);
  for (int i = 0; i < 70000; i++) {
    uint64_t t = proto_hlc_send(&c, T0);
    assert_true(t > prev);
    prev = t;
  }
  assert_int_equal(PROTO_HLC_MS(prev), T0 + 1);
}

static void receive_within_bound_advances_past_the_remote(void **state) {
  proto_hlc c;
  proto_err err = {0};
  proto_hlc_init(&c, 0, BOUND);
  proto_hlc_send(&c, T0);
  uint64_t remote = PROTO_HLC_MAKE(T0 + 30000, 7); /* 30 s ahead: allowed */
  assert_int_equal(proto_hlc_recv(&c, T0, remote, &err), PROTO_OK);
  assert_true(proto_hlc_last(&c) > remote);
  assert_true(proto_hlc_send(&c, T0) > remote);
}

static void receive_of_an_older_remote_keeps_local_order(void **state) {
  proto_hlc c;
  proto_hlc_init(&c, 0, BOUND);
  uint64_t mine = proto_hlc_send(&c, T0);
  assert_int_equal(proto_hlc_recv(&c, T0, PROTO_HLC_MAKE(T0 - 100000, 0), NULL), PROTO_OK);
  assert_true(proto_hlc_last(&c) > mine);
}

static void receive_too_far_ahead_is_refused_and_changes_nothing(void **state) {
  proto_hlc c;
  proto_err err = {0};
  proto_hlc_init(&c, 0, BOUND);
  proto_hlc_send(&c, T0);
  uint64_t before = proto_hlc_last(&c);
  uint64_t remote = PROTO_HLC_MAKE(T0 + BOUND + 1, 0);
  assert_int_equal(proto_hlc_recv(&c, T0, remote, &err), PROTO_ECLOCK_SKEW);
  assert_int_equal(err.code, PROTO_ECLOCK_SKEW);
  assert_non_null(strstr(err.msg, "60001 ms ahead"));
  assert_int_equal(proto_hlc_last(&c), before);
  /* Exactly at the bound is still accepted. */
  assert_int_equal(proto_hlc_recv(&c, T0, PROTO_HLC_MAKE(T0 + BOUND, 0), &err), PROTO_OK);
}

static void restart_from_persisted_value_never_goes_back(void **state) {
  proto_hlc c;
  proto_hlc_init(&c, 0, BOUND);
  for (int i = 0; i < 10; i++) proto_hlc_send(&c, T0);
  uint64_t persisted = proto_hlc_last(&c);
  /* The box reboots without a real-time clock: the wall clock says 1970. */
  proto_hlc again;
  proto_hlc_init(&again, persisted, BOUND);
  uint64_t t = proto_hlc_send(&again, 0);
  assert_true(t > persisted);
}

static void box_without_rtc_accepts_hq_relative_to_its_own_last_time(void **state) {
  /* Wall clock at 1970, but the persisted HLC says 2026: HQ's events from
   * 2026 are within the bound of the clock's own last time. */
  proto_hlc c;
  proto_err err = {0};
  proto_hlc_init(&c, PROTO_HLC_MAKE(T0, 0), BOUND);
  assert_int_equal(proto_hlc_recv(&c, 0, PROTO_HLC_MAKE(T0 + 1000, 0), &err), PROTO_OK);
  /* ... but a first boot with no history cannot vouch for anything. */
  proto_hlc fresh;
  proto_hlc_init(&fresh, 0, BOUND);
  assert_int_equal(proto_hlc_recv(&fresh, 0, PROTO_HLC_MAKE(T0, 0), &err), PROTO_ECLOCK_SKEW);
}

static void wall_clock_beyond_48_bits_is_clamped(void **state) {
  proto_hlc c;
  proto_hlc_init(&c, 0, BOUND);
  uint64_t t = proto_hlc_send(&c, UINT64_MAX);
  assert_int_equal(PROTO_HLC_MS(t), PROTO_HLC_MS_MAX);
}

static void wall_ms_is_plausible(void **state) {
  uint64_t now = proto_wall_ms();
  assert_true(now > UINT64_C(1600000000000)); /* after 2020 */
  assert_true(now < PROTO_HLC_MS_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(send_is_strictly_monotonic_when_wall_clock_steps_back),
      cmocka_unit_test(counter_overflow_moves_into_the_next_millisecond),
      cmocka_unit_test(receive_within_bound_advances_past_the_remote),
      cmocka_unit_test(receive_of_an_older_remote_keeps_local_order),
      cmocka_unit_test(receive_too_far_ahead_is_refused_and_changes_nothing),
      cmocka_unit_test(restart_from_persisted_value_never_goes_back),
      cmocka_unit_test(box_without_rtc_accepts_hq_relative_to_its_own_last_time),
      cmocka_unit_test(wall_clock_beyond_48_bits_is_clamped),
      cmocka_unit_test(wall_ms_is_plausible),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
