/* hq/routing.h - choosing the store for an order: pure functions, no I/O.
 *
 * Delivery: among the candidate stores, those within their own delivery
 * radius of the customer (great-circle distance, haversine on a sphere of
 * the IUGG mean Earth radius), open now (opening hours, not paused, online)
 * and with stock covering every line; the nearest wins, distances compared
 * in whole metres; ties go to the store with the fewest open orders, then
 * to the smaller store id (so the choice is deterministic).
 *
 * When no store qualifies the reason is the furthest stage a store got to:
 *   some store in range, open, but none with the stock   -> out_of_stock
 *   some store in range, none open                        -> closed
 *   no store in range                                     -> out_of_range
 */
#ifndef HQ_ROUTING_H
#define HQ_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/event.h"

#define HQ_EARTH_RADIUS_M 6371008.8

typedef enum { HQ_NOSTORE_OUT_OF_RANGE, HQ_NOSTORE_OUT_OF_STOCK, HQ_NOSTORE_CLOSED, HQ_NOSTORE__COUNT } hq_nostore;
const char *hq_nostore_name(hq_nostore r);

/* Great-circle distance in metres between two points in micro-degrees. */
double hq_haversine_m(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6);

/* Is a store with opening hours [open_min, close_min) open at minute of day
 * `now_min` (0..1439, store local time)?  close < open spans midnight;
 * 0..1440 is all day; open == close (other than that) is closed all day. */
bool hq_hours_open(int64_t open_min, int64_t close_min, int now_min);

/* Minute of day (0..1439) of wall-clock ms at UTC offset tz_offset_min. */
int hq_minute_of_day(uint64_t wall_ms, int64_t tz_offset_min);

typedef struct hq_candidate {
  char store[PROTO_ID_MAX];
  int64_t lat_e6, lon_e6;
  int64_t radius_m;
  bool open;                       /* hours, not paused, online: all true */
  bool has_stock;                  /* covers every line */
  uint64_t open_orders;
  double distance_m;               /* filled by hq_route_pick */
} hq_candidate;

/* Choose among n candidates for a customer at (lat, lon): the index of the
 * winner, or -1 with *why set.  Fills each candidate's distance_m. */
int hq_route_pick(hq_candidate *c, size_t n, int64_t lat_e6, int64_t lon_e6, hq_nostore *why);

/* Micro-degree bounding box around a point that contains every point within
 * radius_m (for the SQL pre-filter; longitudes clamp near the poles). */
void hq_route_box(int64_t lat_e6, int64_t lon_e6, int64_t radius_m, int64_t box[4]);

#endif
