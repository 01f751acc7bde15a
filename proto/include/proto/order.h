/* proto/order.h - materialised state of one order and its merge.
 *
 * State = a grow-only set of milestones, each with the first (lowest) HLC at
 * which any replica reached it, plus a few registers.  The status is not
 * stored: proto_order_status() derives it from the set by a fixed rank, so
 * merging in any order, any number of times, gives the same status.
 * Full rules and the lifecycle diagram: top of order.c and docs/data-model.md.
 */
#ifndef PROTO_ORDER_H
#define PROTO_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/error.h"
#include "proto/event.h"

/* Milestones, in rank order for the status ones (see proto_order_status). */
#define PROTO_MILESTONE_MAP(X)                  \
  X(DISPATCHED, "dispatched", 0)                \
  X(ACCEPTED,   "accepted",   1)                \
  X(PREPARING,  "preparing",  2)                \
  X(READY,      "ready",      3)                \
  X(REJECTED,   "rejected",   4)                \
  X(CANCELLED,  "cancelled",  5)                \
  X(SHIPPED,    "shipped",    6)                \
  X(PICKED_UP,  "picked_up",  7)                \
  X(COMPLETED,  "completed",  8)                \
  X(DELIVERED,  "delivered",  9)                \
  X(RIDER_ASSIGNED, "rider_assigned", -1)       \
  X(RIDER_ARRIVED,  "rider_arrived",  -1)       \
  X(REMINDED,       "reminded",       -1)

typedef enum {
#define PROTO__MS_ENUM(e, name, rank) PROTO_MS_##e,
  PROTO_MILESTONE_MAP(PROTO__MS_ENUM)
#undef PROTO__MS_ENUM
  PROTO_MS__COUNT
} proto_milestone;

/* A last-writer-wins stamp: compare with proto_stamp_cmp (hlc, then origin). */
typedef struct proto_stamp {
  uint64_t hlc;                     /* 0 = register never written */
  char origin[PROTO_ID_MAX];
} proto_stamp;

typedef struct proto_order {
  char order_id[PROTO_ID_MAX];
  char store[PROTO_ID_MAX];

  /* From order.dispatched; if several dispatches exist the highest stamp wins. */
  proto_stamp info_stamp;           /* hlc 0 until the dispatch has arrived */
  proto_ev_dispatched info;

  uint64_t ms_hlc[PROTO_MS__COUNT]; /* first HLC reached; 0 = not reached */

  /* Registers.  reject/cancel keep the FIRST writer (lowest stamp): the
   * reason recorded is the one that actually ended the order. */
  proto_stamp reject_stamp;   proto_reject_reason reject_reason;
  proto_stamp cancel_stamp;   proto_cancel_by cancel_by; char cancel_reason[PROTO_NOTE_MAX];
  proto_stamp rider_stamp;    proto_ev_rider rider;      /* LWW */
  proto_stamp ship_stamp;     proto_ev_shipped shipped;  /* LWW */
  proto_stamp resolve_stamp;  proto_ev_resolved resolved;/* LWW */
  uint32_t reminders;               /* max reminder number seen */
  proto_stamp remind_stamp;   char remind_note[PROTO_NOTE_MAX]; /* LWW */

  /* Grow-only set of SKUs marked unavailable, sorted. */
  uint32_t n_unavailable;
  char unavailable[PROTO_ITEMS_MAX][PROTO_ID_MAX];
} proto_order;

void proto_order_init(proto_order *o, const char *order_id, const char *store);
/* Merge one order-target event.  PROTO_EINVAL if ev is not an order event or
 * is for another order; PROTO_EFULL if the unavailable set is full.  Remote
 * events are facts: this never refuses a legal event for being "late". */
int proto_order_apply(proto_order *o, const proto_event *ev);
/* State-based join: into := into ⊔ from (same order id). */
void proto_order_merge(proto_order *into, const proto_order *from);

proto_milestone proto_order_status(const proto_order *o);
const char *proto_milestone_name(proto_milestone m);
int proto_milestone_rank(proto_milestone m);  /* -1 for non-status milestones */
bool proto_order_reached(const proto_order *o, proto_milestone m);
/* Handed off: shipped, picked up, completed or delivered. */
bool proto_order_handed_off(const proto_order *o);
/* Cancelled and handed off: a conflict HQ must resolve (refund). */
bool proto_order_conflict(const proto_order *o);
/* Cancelled after it was prepared (ready or preparing): flag for waste. */
bool proto_order_waste(const proto_order *o);
/* Holds stock: accepted and not yet ended (rejected, cancelled, handed off). */
bool proto_order_reserving(const proto_order *o);
bool proto_order_item_unavailable(const proto_order *o, const char *sku);
/* Units of sku this order reserves now (0 unless reserving; unavailable
 * lines reserve nothing). */
int64_t proto_order_reserved(const proto_order *o, const char *sku);

/* Would a LOCAL command producing event type t be legal now?  Used by the
 * node before it writes an event; PROTO_EILLEGAL with "cannot <t> an order
 * that is <status>" in err.  Remote events are never checked this way. */
int proto_order_check(const proto_order *o, proto_event_type t, proto_err *err);

/* Deterministic 64-bit hash of the whole state (FNV-1a over a canonical
 * serialisation), for convergence tests. */
uint64_t proto_order_hash(const proto_order *o);

#endif
