/* views_test.h - a real hq_core in a temp dir, fed with proto events
 * through hq_ingest (the MQTT path: one up/events batch per event, then a
 * commit), and the views opened on the same file.  The clock is the test's.
 */
#ifndef VIEWS_TEST_H
#define VIEWS_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "views.h"

#define VT_MIN INT64_C(60000)
#define VT_SEC INT64_C(1000)
#define VT_HOUR (60 * VT_MIN)
#define VT_DAY (24 * VT_HOUR)
#define VT_STORES_MAX 8

typedef struct vt {
  char dir[64];
  char db[128];
  uint64_t now_ms;                 /* what both clocks say */
  hq_core *core;
  hq_views *views;
  struct {
    char id[PROTO_ID_MAX];
    uint64_t seq;
  } st[VT_STORES_MAX];
  size_t n_st;
  bool hold;                       /* true: ingest leaves the transaction open */
} vt;

/* Temp dir, core and views (tz_offset_min as given).  Asserts on failure. */
void vt_open(vt *t, uint64_t now_ms, int32_t tz_offset_min);
void vt_close(vt *t);

/* Ingest ev (envelope filled here: origin = store, next seq, hlc from
 * at_ms) as store's batch and commit; the clock reads t->now_ms. */
void vt_event(vt *t, const char *store, uint64_t at_ms, proto_event *ev);
/* Highest seq written for store. */
uint64_t vt_seq(vt *t, const char *store);

/* Builders: each makes the event and calls vt_event. */
void vt_dispatch(vt *t, const char *store, const char *order, proto_order_kind kind, uint64_t at_ms,
                 const char *sku, int32_t qty, int64_t total);
void vt_step(vt *t, const char *store, const char *order, proto_event_type type, uint64_t at_ms);
void vt_cancel(vt *t, const char *store, const char *order, uint64_t at_ms, const char *reason);
void vt_catalog(vt *t, const char *store, const char *sku, const char *name, int64_t low);
void vt_delta(vt *t, const char *store, const char *sku, int64_t delta);
void vt_stocktake(vt *t, const char *store, const char *sku, int64_t counted);
void vt_sold_out(vt *t, const char *store, const char *sku, bool sold_out);
void vt_target_accept(vt *t, const char *store, const char *name, int64_t target_s);
/* An up/heartbeat with these figures; ts_ms = t->now_ms + skew_ms. */
void vt_heartbeat(vt *t, const char *store, const char *version, uint64_t last_seq,
                  uint64_t outbox, int64_t skew_ms);
/* The retained up/status message ("online" / "offline"). */
void vt_status(vt *t, const char *store, bool online);

#endif
