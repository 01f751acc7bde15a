/* test_routing.c - the pure routing functions: great-circle distance,
 * opening hours, and the choice among candidates (radius, open, stock,
 * ties). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "routing.h"

#define E6(x) ((int64_t)((x) * 1e6 + ((x) < 0 ? -0.5 : 0.5)))

static void near_m(double got, double want, double tol) {
  if (got < want - tol || got > want + tol) fail_msg("distance %.3f m, want %.3f +- %.3f", got, want, tol);
}

static void test_haversine_known_distances(void **state) {
  (void)state;
  /* People's Square to Jing'an Temple, Shanghai (reference: 2834.75 m). */
  near_m(hq_haversine_m(E6(31.2304), E6(121.4737), E6(31.2235), E6(121.4450)), 2834.75, 0.5);
  /* One degree of longitude on the equator: 2 pi R / 360. */
  near_m(hq_haversine_m(0, 0, 0, E6(1)), 111195.08, 0.1);
  /* Antipodes: half the circumference, no NaN from rounding. */
  near_m(hq_haversine_m(0, 0, 0, E6(180)), 20015114.44, 1.0);
  near_m(hq_haversine_m(E6(31.2304), E6(121.4737), E6(39.9042), E6(116.4074)), 1067311.65, 5.0);
  /* Symmetric and zero on the spot. */
  near_m(hq_haversine_m(E6(31.2), E6(121.4), E6(31.3), E6(121.5)),
         hq_haversine_m(E6(31.3), E6(121.5), E6(31.2), E6(121.4)), 1e-6);
  near_m(hq_haversine_m(E6(31.2), E6(121.4), E6(31.2), E6(121.4)), 0, 1e-9);
}

static void test_hours(void **state) {
  (void)state;
  assert_true(hq_hours_open(0, 1440, 0));
  assert_true(hq_hours_open(0, 1440, 1439));
  assert_true(hq_hours_open(420, 1320, 420));   /* 07:00 opens */
  assert_false(hq_hours_open(420, 1320, 419));
  assert_false(hq_hours_open(420, 1320, 1320)); /* 22:00 closed */
  assert_true(hq_hours_open(1320, 120, 1400));  /* 22:00-02:00 across midnight */
  assert_true(hq_hours_open(1320, 120, 60));
  assert_false(hq_hours_open(1320, 120, 600));
  assert_false(hq_hours_open(600, 600, 600));   /* open == close: closed all day */
  /* 2026-11-23T02:13:20Z is 10:13 in China (UTC+8), 21:13 the day before in New York. */
  assert_int_equal(hq_minute_of_day(UINT64_C(1795400000000), 0), 133);
  assert_int_equal(hq_minute_of_day(UINT64_C(1795400000000), 480), 613);
  assert_int_equal(hq_minute_of_day(UINT64_C(1795400000000), -300), 1273);
}

/* Customer at People's Square; stores east/west at known offsets. */
static hq_candidate cand(const char *id, double lat, double lon, int64_t radius, bool open,
                         bool stock, uint64_t load) {
  hq_candidate c;
  memset(&c, 0, sizeof c);
  snprintf(c.store, sizeof c.store, "%s", id);
  c.lat_e6 = E6(lat);
  c.lon_e6 = E6(lon);
  c.radius_m = radius;
  c.open = open;
  c.has_stock = stock;
  c.open_orders = load;
  return c;
}

#define CUST_LAT E6(31.2304)
#define CUST_LON E6(121.4737)

static void test_pick_nearest_with_stock(void **state) {
  (void)state;
  hq_nostore why = HQ_NOSTORE__COUNT;
  hq_candidate c[] = {
      cand("far", 31.2304, 121.5100, 5000, true, true, 0),  /* ~3.4 km */
      cand("near", 31.2304, 121.4800, 5000, true, true, 9), /* ~0.6 km, busy: still nearest */
      cand("mid", 31.2304, 121.4950, 5000, true, true, 0),  /* ~2 km */
  };
  int i = hq_route_pick(c, 3, CUST_LAT, CUST_LON, &why);
  assert_int_equal(i, 1);
  assert_true(c[1].distance_m > 500 && c[1].distance_m < 700);
  /* The nearest has no stock: the next nearest wins. */
  c[1].has_stock = false;
  assert_int_equal(hq_route_pick(c, 3, CUST_LAT, CUST_LON, &why), 2);
}

static void test_pick_radius_is_the_stores(void **state) {
  (void)state;
  hq_nostore why = HQ_NOSTORE__COUNT;
  hq_candidate c[] = {
      cand("small", 31.2304, 121.4950, 1500, true, true, 0), /* 2 km away, delivers 1.5 km */
      cand("big", 31.2304, 121.5300, 6000, true, true, 0),   /* 5.4 km away, delivers 6 km */
  };
  assert_int_equal(hq_route_pick(c, 2, CUST_LAT, CUST_LON, &why), 1);
  /* Exactly on the edge is in range; a metre short is not. */
  hq_candidate e = cand("edge", 31.2304, 121.4950, 0, true, true, 0);
  e.radius_m = (int64_t)hq_haversine_m(CUST_LAT, CUST_LON, e.lat_e6, e.lon_e6) + 1;
  assert_int_equal(hq_route_pick(&e, 1, CUST_LAT, CUST_LON, &why), 0);
  e.radius_m -= 2;
  assert_int_equal(hq_route_pick(&e, 1, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_OUT_OF_RANGE);
  /* Radius 0: the store does not deliver at all, even next door. */
  hq_candidate z = cand("pickup-only", 31.2304, 121.4737, 0, true, true, 0);
  assert_int_equal(hq_route_pick(&z, 1, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_OUT_OF_RANGE);
}

static void test_pick_ties_fewest_open_orders(void **state) {
  (void)state;
  hq_nostore why;
  /* Mirror images east and west of the customer: the same distance. */
  hq_candidate c[] = {
      cand("east", 31.2304, 121.4837, 5000, true, true, 4),
      cand("west", 31.2304, 121.4637, 5000, true, true, 2),
  };
  near_m(hq_haversine_m(CUST_LAT, CUST_LON, c[0].lat_e6, c[0].lon_e6),
         hq_haversine_m(CUST_LAT, CUST_LON, c[1].lat_e6, c[1].lon_e6), 0.01);
  assert_int_equal(hq_route_pick(c, 2, CUST_LAT, CUST_LON, &why), 1);
  c[0].open_orders = 1;
  assert_int_equal(hq_route_pick(c, 2, CUST_LAT, CUST_LON, &why), 0);
  /* Same load too: the smaller id, so the choice never flaps. */
  c[0].open_orders = c[1].open_orders = 3;
  assert_int_equal(hq_route_pick(c, 2, CUST_LAT, CUST_LON, &why), 0);
  assert_string_equal(c[0].store, "east");
}

static void test_pick_reasons(void **state) {
  (void)state;
  hq_nostore why = HQ_NOSTORE__COUNT;
  hq_candidate c[] = {
      cand("closed", 31.2304, 121.4800, 5000, false, true, 0),
      cand("empty", 31.2304, 121.4900, 5000, true, false, 0),
      cand("far", 31.2304, 122.4000, 5000, true, true, 0),
  };
  /* In range and open but no stock beats closed: out_of_stock. */
  assert_int_equal(hq_route_pick(c, 3, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_OUT_OF_STOCK);
  /* Only a closed (or paused, or offline) store in range: closed. */
  assert_int_equal(hq_route_pick(c, 1, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_CLOSED);
  /* Nothing in range. */
  assert_int_equal(hq_route_pick(&c[2], 1, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_OUT_OF_RANGE);
  assert_int_equal(hq_route_pick(NULL, 0, CUST_LAT, CUST_LON, &why), -1);
  assert_int_equal(why, HQ_NOSTORE_OUT_OF_RANGE);
  assert_string_equal(hq_nostore_name(HQ_NOSTORE_OUT_OF_STOCK), "out_of_stock");
  assert_string_equal(hq_nostore_name(HQ_NOSTORE_CLOSED), "closed");
  assert_string_equal(hq_nostore_name(HQ_NOSTORE_OUT_OF_RANGE), "out_of_range");
}

static void test_box_contains_radius(void **state) {
  (void)state;
  int64_t box[4];
  const double lats[] = {0, 31.2304, -45, 70};
  for (size_t i = 0; i < sizeof lats / sizeof lats[0]; i++) {
    hq_route_box(E6(lats[i]), E6(10), 5000, box);
    /* Points 5 km north, south, east and west are inside. */
    double dlat = 5000.0 / HQ_EARTH_RADIUS_M * 180.0 / 3.14159265358979323846;
    assert_true(E6(lats[i] + dlat) <= box[1] && E6(lats[i] - dlat) >= box[0]);
    int64_t east = E6(10);
    while (hq_haversine_m(E6(lats[i]), E6(10), E6(lats[i]), east) < 5000) east += 100;
    assert_true(east - 100 <= box[3] && 2 * E6(10) - (east - 100) >= box[2]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_haversine_known_distances),
      cmocka_unit_test(test_hours),
      cmocka_unit_test(test_pick_nearest_with_stock),
      cmocka_unit_test(test_pick_radius_is_the_stores),
      cmocka_unit_test(test_pick_ties_fewest_open_orders),
      cmocka_unit_test(test_pick_reasons),
      cmocka_unit_test(test_box_contains_radius),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
