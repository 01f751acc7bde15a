/* proto/event.h - the event envelope and one typed body per event type.
 *
 * Everything that changes in the system is an event
 *   {v, origin, seq, hlc, store, type, body}
 * (origin, seq) is its identity: origin is the replica that wrote it (a store
 * box's id or "hq"), seq that origin's gap-free counter starting at 1.
 *
 * Structs are fixed-size (no pointers) so that an event can be copied,
 * stored and freed without ownership rules.  String limits include the NUL.
 */
#ifndef PROTO_EVENT_H
#define PROTO_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

#define PROTO_VERSION 1          /* envelope major version we write and read */
#define PROTO_ID_MAX 64          /* origin, store, order id, sku, staff id */
#define PROTO_NAME_MAX 96        /* product, customer, rider, courier names */
#define PROTO_NOTE_MAX 256       /* free text */
#define PROTO_CODE_MAX 16        /* pickup code, phone tail */
#define PROTO_ITEMS_MAX 32       /* lines per order */
#define PROTO_SEEN_MAX 16        /* origins in a stocktake's seen vector */
#define PROTO_QTY_MAX 9999       /* per order line */
#define PROTO_MONEY_MAX INT64_C(100000000000) /* cents */
#define PROTO_STOCK_MAX INT64_C(1000000000)   /* |stock value| and |delta| */
#define PROTO_SEQ_MAX ((UINT64_C(1) << 53) - 1) /* exact in a JSON double */

/* X(ENUM, "wire.name", body member, target state).  The one list of types;
 * event.c builds the type table (name, encoder, decoder, merge) from it. */
#define PROTO_EVENT_TYPE_MAP(X)                                            \
  X(ORDER_DISPATCHED,       "order.dispatched",       dispatched, ORDER)   \
  X(ORDER_ACCEPTED,         "order.accepted",         step,       ORDER)   \
  X(ORDER_REJECTED,         "order.rejected",         rejected,   ORDER)   \
  X(ORDER_PREPARING,        "order.preparing",        step,       ORDER)   \
  X(ORDER_READY,            "order.ready",            step,       ORDER)   \
  X(ORDER_SHIPPED,          "order.shipped",          shipped,    ORDER)   \
  X(ORDER_PICKED_UP,        "order.picked_up",        step,       ORDER)   \
  X(ORDER_COMPLETED,        "order.completed",        step,       ORDER)   \
  X(ORDER_DELIVERED,        "order.delivered",        step,       ORDER)   \
  X(ORDER_CANCELLED,        "order.cancelled",        cancelled,  ORDER)   \
  X(ORDER_REMINDED,         "order.reminded",         reminded,   ORDER)   \
  X(ORDER_ITEM_UNAVAILABLE, "order.item_unavailable", item,       ORDER)   \
  X(ORDER_RESOLVED,         "order.resolved",         resolved,   ORDER)   \
  X(RIDER_ASSIGNED,         "rider.assigned",         rider,      ORDER)   \
  X(RIDER_ARRIVED,          "rider.arrived",          step,       ORDER)   \
  X(STOCK_DELTA,            "stock.delta",            delta,      STOCK)   \
  X(STOCK_STOCKTAKE,        "stock.stocktake",        stocktake,  STOCK)   \
  X(SKU_AVAILABILITY,       "sku.availability",       avail,      SKU)     \
  X(CATALOG_ENTRY,          "catalog.entry",          catalog,    SKU)     \
  X(STORE_SETTINGS,         "store.settings",         settings,   STORE)

typedef enum {
#define PROTO__TYPE_ENUM(e, name, body, target) PROTO_EV_##e,
  PROTO_EVENT_TYPE_MAP(PROTO__TYPE_ENUM)
#undef PROTO__TYPE_ENUM
  PROTO_EV__COUNT
} proto_event_type;

/* Which piece of materialised state an event merges into. */
typedef enum {
  PROTO_TARGET_ORDER,   /* proto_order, keyed by body order_id (order.h) */
  PROTO_TARGET_STOCK,   /* proto_stock, keyed by (store, sku)  (stock.h) */
  PROTO_TARGET_SKU,     /* proto_sku, keyed by (store, sku)    (sku.h) */
  PROTO_TARGET_STORE    /* proto_settings, keyed by store      (settings.h) */
} proto_target;

/* Enumerations carried in bodies.  Each has a wire-name table in event.c. */
typedef enum { PROTO_KIND_PICKUP, PROTO_KIND_DELIVERY, PROTO_KIND_EXPRESS, PROTO_KIND__COUNT } proto_order_kind;
typedef enum { PROTO_REJECT_BUSY, PROTO_REJECT_SOLD_OUT, PROTO_REJECT_CLOSED, PROTO_REJECT_OTHER, PROTO_REJECT__COUNT } proto_reject_reason;
typedef enum { PROTO_CANCEL_CUSTOMER, PROTO_CANCEL_HQ, PROTO_CANCEL_STORE, PROTO_CANCEL__COUNT } proto_cancel_by;
typedef enum {
  PROTO_STOCK_RECEIVE, PROTO_STOCK_SALE, PROTO_STOCK_WASTE, PROTO_STOCK_TRANSFER_OUT,
  PROTO_STOCK_TRANSFER_IN, PROTO_STOCK_CORRECTION, PROTO_STOCK__COUNT
} proto_stock_reason;

typedef struct proto_item {
  char sku[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  int32_t qty;                 /* 1..PROTO_QTY_MAX */
  int64_t price;               /* unit price, cents, 0..PROTO_MONEY_MAX */
} proto_item;

typedef struct proto_ev_dispatched {
  char order_id[PROTO_ID_MAX];
  proto_order_kind kind;
  uint32_t n_items;            /* 1..PROTO_ITEMS_MAX */
  proto_item items[PROTO_ITEMS_MAX];
  char pickup_code[PROTO_CODE_MAX];
  char customer[PROTO_NAME_MAX];   /* optional */
  char phone_tail[PROTO_CODE_MAX]; /* optional, last digits only */
  char note[PROTO_NOTE_MAX];       /* optional */
  int64_t total;                   /* cents */
  uint64_t placed_ms;              /* when the customer paid (wall clock at HQ) */
} proto_ev_dispatched;

/* accepted, preparing, ready, picked_up, completed, delivered, rider.arrived */
typedef struct proto_ev_step {
  char order_id[PROTO_ID_MAX];
  char by[PROTO_ID_MAX];           /* staff id, "auto", "hq", "rider"; optional */
} proto_ev_step;

typedef struct proto_ev_rejected {
  char order_id[PROTO_ID_MAX];
  proto_reject_reason reason;
  char by[PROTO_ID_MAX];
} proto_ev_rejected;

typedef struct proto_ev_shipped {
  char order_id[PROTO_ID_MAX];
  char courier[PROTO_NAME_MAX];
  char tracking[PROTO_ID_MAX];
} proto_ev_shipped;

typedef struct proto_ev_cancelled {
  char order_id[PROTO_ID_MAX];
  proto_cancel_by by;
  char reason[PROTO_NOTE_MAX];     /* optional */
} proto_ev_cancelled;

typedef struct proto_ev_reminded {
  char order_id[PROTO_ID_MAX];
  uint32_t n;                      /* 1, 2, 3... numbered by HQ, the only writer */
  char note[PROTO_NOTE_MAX];       /* optional */
} proto_ev_reminded;

typedef struct proto_ev_item {
  char order_id[PROTO_ID_MAX];
  char sku[PROTO_ID_MAX];
} proto_ev_item;

typedef struct proto_ev_resolved {
  char order_id[PROTO_ID_MAX];
  char resolution[PROTO_ID_MAX];   /* "refund", "redeliver", ... */
  char note[PROTO_NOTE_MAX];       /* optional */
} proto_ev_resolved;

typedef struct proto_ev_rider {
  char order_id[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  char phone_tail[PROTO_CODE_MAX];
  uint64_t eta_ms;                 /* expected arrival, wall clock ms; 0 unknown */
} proto_ev_rider;

typedef struct proto_ev_delta {
  char sku[PROTO_ID_MAX];
  int64_t delta;                   /* non-zero, |delta| <= PROTO_STOCK_MAX */
  proto_stock_reason reason;
  char ref[PROTO_ID_MAX];          /* order or transfer id; optional */
  char peer[PROTO_ID_MAX];         /* other store of a transfer; optional */
  char note[PROTO_NOTE_MAX];       /* optional */
} proto_ev_delta;

typedef struct proto_seen {
  char origin[PROTO_ID_MAX];
  uint64_t seq;                    /* highest seq of origin the count includes */
} proto_seen;

typedef struct proto_ev_stocktake {
  char sku[PROTO_ID_MAX];
  int64_t counted;                 /* 0..PROTO_STOCK_MAX */
  uint32_t n_seen;
  proto_seen seen[PROTO_SEEN_MAX];
} proto_ev_stocktake;

typedef struct proto_ev_avail {
  char sku[PROTO_ID_MAX];
  bool sold_out;
  bool automatic;                  /* set by the stock rule, not by a person */
} proto_ev_avail;

typedef struct proto_ev_catalog {
  char sku[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  char name_en[PROTO_NAME_MAX];    /* optional */
  int64_t price;                   /* cents */
  int64_t low_threshold;           /* low-stock alert at or below; 0 = none */
  bool active;
} proto_ev_catalog;

/* Store settings: each field is its own last-writer-wins register, so two
 * people changing different fields at once both win.  X(ENUM, wire key,
 * member of proto_settings_values, type, min, max); settings.c turns it into
 * the field table (with offsets) that codec and merge share.  STRING fields
 * are char[PROTO_NAME_MAX], INT int64_t, BOOL bool. */
#define PROTO_SETTINGS_FIELD_MAP(X)                                                   \
  X(NAME,            "name",            name,            STRING, 0, 0)                  \
  X(LAT_E6,          "lat_e6",          lat_e6,          INT,    -90000000, 90000000)   \
  X(LON_E6,          "lon_e6",          lon_e6,          INT,    -180000000, 180000000) \
  X(OPEN_MIN,        "open_min",        open_min,        INT,    0, 1440)               \
  X(CLOSE_MIN,       "close_min",       close_min,       INT,    0, 1440)               \
  X(PAUSED,          "paused",          paused,          BOOL,   0, 1)                  \
  X(AUTO_ACCEPT_S,   "auto_accept_s",   auto_accept_s,   INT,    0, 3600)               \
  X(TARGET_ACCEPT_S, "target_accept_s", target_accept_s, INT,    1, 86400)              \
  X(TARGET_PREP_S,   "target_prep_s",   target_prep_s,   INT,    1, 86400)              \
  X(TARGET_WAIT_S,   "target_wait_s",   target_wait_s,   INT,    1, 86400)              \
  X(RADIUS_M,        "radius_m",        radius_m,        INT,    0, 100000)

typedef enum {
#define PROTO__SET_ENUM(e, key, member, type, lo, hi) PROTO_SET_##e,
  PROTO_SETTINGS_FIELD_MAP(PROTO__SET_ENUM)
#undef PROTO__SET_ENUM
  PROTO_SET__COUNT
} proto_settings_field;

typedef struct proto_settings_values {
  char name[PROTO_NAME_MAX];
  int64_t lat_e6, lon_e6, open_min, close_min;
  bool paused;
  int64_t auto_accept_s, target_accept_s, target_prep_s, target_wait_s, radius_m;
} proto_settings_values;

typedef struct proto_ev_settings {
  uint32_t present;                /* bit (1u << proto_settings_field) */
  proto_settings_values v;
} proto_ev_settings;

typedef struct proto_event {
  uint32_t v;                      /* PROTO_VERSION */
  char origin[PROTO_ID_MAX];
  uint64_t seq;                    /* 1..PROTO_SEQ_MAX */
  uint64_t hlc;
  char store[PROTO_ID_MAX];
  proto_event_type type;
  union {
    proto_ev_dispatched dispatched;
    proto_ev_step step;
    proto_ev_rejected rejected;
    proto_ev_shipped shipped;
    proto_ev_cancelled cancelled;
    proto_ev_reminded reminded;
    proto_ev_item item;
    proto_ev_resolved resolved;
    proto_ev_rider rider;
    proto_ev_delta delta;
    proto_ev_stocktake stocktake;
    proto_ev_avail avail;
    proto_ev_catalog catalog;
    proto_ev_settings settings;
  } body;
} proto_event;

/* Type table look-ups.  Names are the wire names ("order.accepted"). */
const char *proto_event_type_name(proto_event_type t);     /* NULL if out of range */
int proto_event_type_from_name(const char *name, proto_event_type *out); /* PROTO_EUNKNOWN_TYPE */
proto_target proto_event_target(proto_event_type t);
/* The key of the state an event merges into: order id, sku, or store. */
const char *proto_event_key(const proto_event *ev);
/* Bytes at the start of a proto_event that hold an event of type t: the
 * envelope and t's own body (the union is the last member, and nothing in
 * proto reads another body than its type's).  Copying that prefix of a
 * decoded event into any proto_event moves the event whole: a compact form
 * for events handed between threads (hq's store log: ~300 bytes instead of
 * sizeof(proto_event), without decoding the JSON twice).  0: unknown type. */
size_t proto_event_size(proto_event_type t);

/* Wire names of the body enumerations; *_from_name return PROTO_EENUM. */
const char *proto_order_kind_name(proto_order_kind k);
int proto_order_kind_from_name(const char *s, proto_order_kind *out);
const char *proto_reject_reason_name(proto_reject_reason r);
int proto_reject_reason_from_name(const char *s, proto_reject_reason *out);
const char *proto_cancel_by_name(proto_cancel_by b);
int proto_cancel_by_from_name(const char *s, proto_cancel_by *out);
const char *proto_stock_reason_name(proto_stock_reason r);
int proto_stock_reason_from_name(const char *s, proto_stock_reason *out);

/* Settings field table. */
const char *proto_settings_field_key(proto_settings_field f);

/* Identity order of two events' stamps: (hlc, origin), the LWW order. */
int proto_stamp_cmp(uint64_t hlc_a, const char *origin_a, uint64_t hlc_b, const char *origin_b);

/* Merge ev into `state`, the struct of proto_event_target(ev->type):
 * proto_order *, proto_stock *, proto_sku * or proto_settings *.  The one
 * entry point node and HQ use; *recount as in stock.h (false for others). */
int proto_event_merge(const proto_event *ev, void *state, bool *recount);

/* Zero the event and fill the envelope; the body is left zeroed. */
void proto_event_init(proto_event *ev, proto_event_type t, const char *origin,
                      uint64_t seq, uint64_t hlc, const char *store);

#endif
