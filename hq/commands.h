/* hq/commands.h - the commands behind the HTTP API, on typed requests.
 *
 * api_json.c turns request bodies into these structs (JSON types, lengths);
 * the commands check the rules (presence, ranges, state), write HQ's events
 * (origin hq:<store>) and commit before they answer, so a 2xx means the
 * change is durable and on its way to the store.
 *
 * Convention: HQ_OK with *status (when given) and `body` holding the JSON
 * answer; otherwise an hq code with err naming the field and why, and
 * nothing was written.  Each command runs in its own transaction (an open
 * ingest transaction is committed first).
 */
#ifndef HQ_COMMANDS_H
#define HQ_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "proto/buf.h"

#define HQ_IDEM_MAX 129           /* idempotency key: 1..128 visible ASCII */

/* ---- orders (intake.c, orders.c) ------------------------------------------- */
typedef struct hq_line {
  char sku[PROTO_ID_MAX];
  int64_t qty;
  bool has_price;
  int64_t price;                   /* unit price, cents; catalog price if absent */
  char name[PROTO_NAME_MAX];       /* catalog name if empty */
} hq_line;

typedef struct hq_order_req {
  char idem_key[HQ_IDEM_MAX];
  char client[PROTO_ID_MAX];       /* the API token's name: keys are per client */
  bool has_kind;
  proto_order_kind kind;
  char store_id[PROTO_ID_MAX];     /* pickup: required; express: optional */
  bool has_location;
  int64_t lat_e6, lon_e6;          /* customer, delivery: required */
  uint32_t n_items;
  hq_line items[PROTO_ITEMS_MAX];
  char customer[PROTO_NAME_MAX], phone_tail[PROTO_CODE_MAX], note[PROTO_NOTE_MAX];
  uint64_t placed_ms;              /* 0: now */
} hq_order_req;

/* The rules of an order request (unit-tested without a database). */
int hq_order_validate(const hq_order_req *r, hq_err *err);
/* Hash of the request's meaning (not its bytes): the idempotency check. */
uint64_t hq_order_req_hash(const hq_order_req *r);
/* 201 {order_id, store_id, pickup_code, status, ...} or 409
 * {"error":"no_store","reason":...}; a retry with the same key and request
 * gets the first answer again (header-free replay), another request under
 * the same key is HQ_EIDEMPOTENT. */
int hq_order_create(hq_core *c, const hq_order_req *r, unsigned *status, proto_buf *body,
                    hq_err *err);

int hq_order_get(hq_core *c, const char *order_id, proto_buf *body, hq_err *err);

typedef struct hq_cancel_req {
  proto_cancel_by by;              /* customer (default) or hq */
  char reason[PROTO_NOTE_MAX];
} hq_cancel_req;
int hq_order_cancel(hq_core *c, const char *order_id, const hq_cancel_req *r, proto_buf *body,
                    hq_err *err);

typedef enum { HQ_RIDER_ASSIGNED, HQ_RIDER_ARRIVED, HQ_RIDER_DELIVERED, HQ_RIDER__COUNT } hq_rider_event;
typedef struct hq_rider_req {
  hq_rider_event event;
  char name[PROTO_NAME_MAX];
  char phone_tail[PROTO_CODE_MAX];
  uint64_t eta_ms;
} hq_rider_req;
int hq_order_rider(hq_core *c, const char *order_id, const hq_rider_req *r, proto_buf *body,
                   hq_err *err);

typedef struct hq_note_req {
  char resolution[PROTO_ID_MAX];   /* resolve only */
  char note[PROTO_NOTE_MAX];
} hq_note_req;
int hq_order_remind(hq_core *c, const char *order_id, const hq_note_req *r, proto_buf *body,
                    hq_err *err);
int hq_order_resolve(hq_core *c, const char *order_id, const hq_note_req *r, proto_buf *body,
                     hq_err *err);

/* ---- stores, catalog, transfers (stores.c) ------------------------------------- */
typedef struct hq_store_req {
  proto_ev_settings set;           /* present bits + values, ranges checked here */
} hq_store_req;
int hq_store_get(hq_core *c, const char *store, proto_buf *body, hq_err *err);
int hq_stores_list(hq_core *c, proto_buf *body, hq_err *err);
/* Creates the store if unknown. */
int hq_store_put(hq_core *c, const char *store, const hq_store_req *r, proto_buf *body,
                 hq_err *err);

#define HQ_CATALOG_STORES_MAX 1024
typedef struct hq_catalog_req {
  proto_ev_catalog entry;          /* sku is taken from the path */
  bool has_price, has_name;
  size_t n_stores;                 /* 0: every known store */
  char (*stores)[PROTO_ID_MAX];    /* owned by the caller */
} hq_catalog_req;
int hq_catalog_put(hq_core *c, const char *sku, const hq_catalog_req *r, proto_buf *body,
                   hq_err *err);

typedef struct hq_transfer_req {
  char id[PROTO_ID_MAX];           /* optional: generated if empty; idempotent */
  char from_store[PROTO_ID_MAX], to_store[PROTO_ID_MAX];
  char sku[PROTO_ID_MAX];
  int64_t qty;
  char note[PROTO_NOTE_MAX];
} hq_transfer_req;
int hq_transfer_create(hq_core *c, const hq_transfer_req *r, unsigned *status, proto_buf *body,
                       hq_err *err);
int hq_transfer_get(hq_core *c, const char *id, proto_buf *body, hq_err *err);

#endif
