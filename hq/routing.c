/* routing.c - distance, opening hours and the choice of store (routing.h). */
#include "routing.h"

#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846 /* M_PI is not in strict C11 */

static const char *const nostore_names[HQ_NOSTORE__COUNT] = {
    [HQ_NOSTORE_OUT_OF_RANGE] = "out_of_range",
    [HQ_NOSTORE_OUT_OF_STOCK] = "out_of_stock",
    [HQ_NOSTORE_CLOSED] = "closed",
};

const char *hq_nostore_name(hq_nostore r) {
  return (unsigned)r < HQ_NOSTORE__COUNT ? nostore_names[r] : "unknown";
}

static double rad(int64_t e6) { return (double)e6 / 1e6 * PI / 180.0; }

double hq_haversine_m(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6) {
  double p1 = rad(lat1_e6), p2 = rad(lat2_e6);
  double dp = p2 - p1, dl = rad(lon2_e6) - rad(lon1_e6);
  double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  if (a > 1.0) a = 1.0; /* rounding at antipodes */
  return 2.0 * HQ_EARTH_RADIUS_M * asin(sqrt(a));
}

bool hq_hours_open(int64_t open_min, int64_t close_min, int now_min) {
  if (open_min <= 0 && close_min >= 1440) return true;
  if (open_min == close_min) return false;
  if (open_min < close_min) return now_min >= open_min && now_min < close_min;
  return now_min >= open_min || now_min < close_min; /* across midnight */
}

int hq_minute_of_day(uint64_t wall_ms, int64_t tz_offset_min) {
  int64_t m = (int64_t)(wall_ms / 60000u) + tz_offset_min;
  m %= 1440;
  return (int)(m < 0 ? m + 1440 : m);
}

/* Is a better than b?  Whole metres, then open orders, then id. */
static bool better(const hq_candidate *a, const hq_candidate *b) {
  long long da = llround(a->distance_m), db = llround(b->distance_m);
  if (da != db) return da < db;
  if (a->open_orders != b->open_orders) return a->open_orders < b->open_orders;
  return strcmp(a->store, b->store) < 0;
}

int hq_route_pick(hq_candidate *c, size_t n, int64_t lat_e6, int64_t lon_e6, hq_nostore *why) {
  int best = -1;
  hq_nostore stage = HQ_NOSTORE_OUT_OF_RANGE;
  for (size_t i = 0; i < n; i++) {
    c[i].distance_m = hq_haversine_m(lat_e6, lon_e6, c[i].lat_e6, c[i].lon_e6);
    if (c[i].radius_m <= 0 || c[i].distance_m > (double)c[i].radius_m) continue;
    if (!c[i].open) {
      if (stage == HQ_NOSTORE_OUT_OF_RANGE) stage = HQ_NOSTORE_CLOSED;
      continue;
    }
    if (!c[i].has_stock) {
      stage = HQ_NOSTORE_OUT_OF_STOCK;
      continue;
    }
    if (best < 0 || better(&c[i], &c[best])) best = (int)i;
  }
  if (best < 0 && why) *why = stage;
  return best;
}

void hq_route_box(int64_t lat_e6, int64_t lon_e6, int64_t radius_m, int64_t box[4]) {
  double dlat = (double)radius_m / HQ_EARTH_RADIUS_M * 180.0 / PI;
  double coslat = cos(rad(lat_e6));
  double dlon = coslat > 1e-6 ? dlat / coslat : 360.0;
  int64_t dl = (int64_t)ceil(dlat * 1e6) + 1, dn = (int64_t)ceil(dlon * 1e6) + 1;
  box[0] = lat_e6 - dl;
  box[1] = lat_e6 + dl;
  box[2] = dn >= 180000000 ? -180000000 : lon_e6 - dn;
  box[3] = dn >= 180000000 ? 180000000 : lon_e6 + dn;
}
