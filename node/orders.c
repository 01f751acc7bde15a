/* orders.c - order commands of the store and the order board.
 *
 * Lifecycle (legality is proto_order_check(); R = remote event from HQ,
 * every other arrow is a local command writing one event):
 *
 *   R order.dispatched (node_engine_ingest)
 *        |
 *   dispatched --node_order_accept / node_engine_auto_accept--> accepted
 *        |          (reserves stock: reserving = accepted and not ended)
 *        +--node_order_reject(reason)--> rejected
 *   accepted --node_order_prepare--> preparing --node_order_ready--> ready
 *   accepted --node_order_ready--> ready
 *   ready, pickup   --node_order_complete(code)--> completed
 *   ready, delivery --node_order_handoff(code)---> picked_up --R delivered
 *                     (writes rider.arrived first if the rider was never
 *                      marked arrived, so the wait SLA has a point)
 *   ready, express  --node_order_ship(courier, tracking)--> shipped --R delivered
 *   dispatched..ready --node_order_cancel / R order.cancelled--> cancelled
 *                     (cancelled after preparing/ready: proto_order_waste;
 *                      a remote cancel meeting a handoff: proto_order_conflict)
 *   side events: node_order_rider_arrived (delivery, before handoff),
 *                node_order_item_unavailable (dispatched..preparing),
 *                R rider.assigned, R order.reminded, R order.resolved.
 *
 * Invariants:
 *   O1 a command writes nothing unless the order exists here, the transition
 *      is legal and (complete, handoff) the code matches the dispatched
 *      pickup code, compared in constant time.
 *   O2 every handoff (complete, handoff, ship) writes, in the same savepoint,
 *      one stock.delta sale of -qty per SKU over its available lines, for the
 *      SKUs whose stock the store tracks (stock.c).  Releasing the
 *      reservation and the sale happen together, so available does not move.
 *   O3 milestone times are the first HLC that reached them (proto R1), so a
 *      repeated or late event never moves an SLA point.
 */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

typedef struct order_req {
  const char *order_id, *by, *code, *sku, *courier, *tracking, *reason;
  proto_reject_reason reject;
} order_req;

typedef int (*fill_fn)(proto_event *ev, const proto_order *o, const order_req *r, node_err *err);

typedef struct order_cmd {
  proto_event_type type;
  bool verify_code; /* customer's / rider's code must match */
  bool arrive;      /* write rider.arrived first if missing */
  bool sale;        /* handoff: sale deltas */
  fill_fn fill;
} order_cmd;

/* ---- bodies ------------------------------------------------------------------------ */

static int fill_step(proto_event *ev, const proto_order *o, const order_req *r, node_err *err) {
  snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", o->order_id);
  return node__copy(ev->body.step.by, PROTO_ID_MAX, r->by, "by", false, err);
}

static int fill_rejected(proto_event *ev, const proto_order *o, const order_req *r,
                         node_err *err) {
  if (!proto_reject_reason_name(r->reject))
    return node_err_set(err, NODE_EINVAL, "reason: unknown reject reason %d", (int)r->reject);
  snprintf(ev->body.rejected.order_id, PROTO_ID_MAX, "%s", o->order_id);
  ev->body.rejected.reason = r->reject;
  return node__copy(ev->body.rejected.by, PROTO_ID_MAX, r->by, "by", false, err);
}

static int fill_shipped(proto_event *ev, const proto_order *o, const order_req *r,
                        node_err *err) {
  proto_ev_shipped *s = &ev->body.shipped;
  snprintf(s->order_id, PROTO_ID_MAX, "%s", o->order_id);
  int rc = node__copy(s->courier, sizeof s->courier, r->courier, "courier", true, err);
  return rc ? rc : node__copy(s->tracking, sizeof s->tracking, r->tracking, "tracking", true, err);
}

static int fill_cancelled(proto_event *ev, const proto_order *o, const order_req *r,
                          node_err *err) {
  proto_ev_cancelled *c = &ev->body.cancelled;
  snprintf(c->order_id, PROTO_ID_MAX, "%s", o->order_id);
  c->by = PROTO_CANCEL_STORE;
  return node__copy(c->reason, sizeof c->reason, r->reason, "reason", false, err);
}

static int fill_item(proto_event *ev, const proto_order *o, const order_req *r, node_err *err) {
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  bool has = false;
  for (uint32_t i = 0; r->sku && i < n; i++) has = has || strcmp(o->info.items[i].sku, r->sku) == 0;
  if (!has)
    return node_err_set(err, NODE_ENOTFOUND, "order %s has no line for sku '%s'", o->order_id,
                        r->sku ? r->sku : "");
  snprintf(ev->body.item.order_id, PROTO_ID_MAX, "%s", o->order_id);
  snprintf(ev->body.item.sku, PROTO_ID_MAX, "%s", r->sku);
  return NODE_OK;
}

enum {
  CMD_ACCEPT, CMD_REJECT, CMD_PREPARE, CMD_READY, CMD_COMPLETE, CMD_RIDER_ARRIVED,
  CMD_HANDOFF, CMD_SHIP, CMD_CANCEL, CMD_ITEM
};

static const order_cmd cmds[] = {
    [CMD_ACCEPT] = {PROTO_EV_ORDER_ACCEPTED, false, false, false, fill_step},
    [CMD_REJECT] = {PROTO_EV_ORDER_REJECTED, false, false, false, fill_rejected},
    [CMD_PREPARE] = {PROTO_EV_ORDER_PREPARING, false, false, false, fill_step},
    [CMD_READY] = {PROTO_EV_ORDER_READY, false, false, false, fill_step},
    [CMD_COMPLETE] = {PROTO_EV_ORDER_COMPLETED, true, false, true, fill_step},
    [CMD_RIDER_ARRIVED] = {PROTO_EV_RIDER_ARRIVED, false, false, false, fill_step},
    [CMD_HANDOFF] = {PROTO_EV_ORDER_PICKED_UP, true, true, true, fill_step},
    [CMD_SHIP] = {PROTO_EV_ORDER_SHIPPED, false, false, true, fill_shipped},
    [CMD_CANCEL] = {PROTO_EV_ORDER_CANCELLED, false, false, false, fill_cancelled},
    [CMD_ITEM] = {PROTO_EV_ORDER_ITEM_UNAVAILABLE, false, false, false, fill_item},
};

/* ---- checks and derived events --------------------------------------------------------- */

/* Constant time over the whole field: the position of the first wrong digit
 * is not observable.  An order without a code never matches. */
static bool code_matches(const char *expected, const char *given) {
  unsigned char a[PROTO_CODE_MAX] = {0}, b[PROTO_CODE_MAX] = {0};
  size_t ne = strnlen(expected, PROTO_CODE_MAX - 1), ng = given ? strlen(given) : 0;
  bool fits = ng < PROTO_CODE_MAX;
  memcpy(a, expected, ne);
  if (fits && ng) memcpy(b, given, ng);
  unsigned diff = 0;
  for (size_t i = 0; i < PROTO_CODE_MAX; i++) diff |= (unsigned)(a[i] ^ b[i]);
  return ne > 0 && fits && diff == 0;
}

/* O2: one sale per tracked SKU, summed over its available lines. */
static int emit_sales(node_engine *e, const proto_order *o, node_err *err) {
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  int rc = NODE_OK;
  for (uint32_t i = 0; rc == NODE_OK && i < n; i++) {
    const char *sku = o->info.items[i].sku;
    bool seen = false, tracked = false;
    for (uint32_t j = 0; j < i; j++) seen = seen || strcmp(o->info.items[j].sku, sku) == 0;
    if (seen || proto_order_item_unavailable(o, sku)) continue;
    int64_t qty = 0;
    for (uint32_t j = i; j < n; j++)
      if (strcmp(o->info.items[j].sku, sku) == 0) qty += o->info.items[j].qty;
    rc = node__stock_tracked(e, sku, &tracked, err);
    if (rc != NODE_OK || !tracked || qty == 0) continue;
    proto_event ev;
    proto_event_init(&ev, PROTO_EV_STOCK_DELTA, e->store, 0, 0, e->store);
    snprintf(ev.body.delta.sku, PROTO_ID_MAX, "%s", sku);
    snprintf(ev.body.delta.ref, PROTO_ID_MAX, "%s", o->order_id);
    ev.body.delta.delta = -qty;
    ev.body.delta.reason = PROTO_STOCK_SALE;
    rc = node__emit(e, &ev, err);
  }
  return rc;
}

static int emit_step(node_engine *e, proto_event_type t, const proto_order *o, const char *by,
                     node_err *err) {
  proto_event ev;
  order_req r = {.by = by};
  proto_event_init(&ev, t, e->store, 0, 0, e->store);
  int rc = fill_step(&ev, o, &r, err);
  return rc ? rc : node__emit(e, &ev, err);
}

static int cmd_body(node_engine *e, const order_cmd *c, const order_req *r, node_err *err) {
  proto_order o;
  proto_event ev;
  proto_err perr = {0};
  bool found = false;
  int rc = node__order_load(e, r->order_id, &o, &found, err);
  if (rc != NODE_OK) return rc;
  if (!found) return node_err_set(err, NODE_ENOTFOUND, "order %s: not found", r->order_id);
  int prc = proto_order_check(&o, c->type, &perr);
  if (prc != PROTO_OK) return node__proto_err(prc, &perr, err);
  if (c->verify_code && !code_matches(o.info.pickup_code, r->code))
    return node_err_set(err, NODE_EWRONGCODE, "order %s: the code does not match", r->order_id);
  if (c->arrive && !proto_order_reached(&o, PROTO_MS_RIDER_ARRIVED))
    rc = emit_step(e, PROTO_EV_RIDER_ARRIVED, &o, r->by, err);
  proto_event_init(&ev, c->type, e->store, 0, 0, e->store);
  if (rc == NODE_OK) rc = c->fill(&ev, &o, r, err);
  if (rc == NODE_OK) rc = node__emit(e, &ev, err);
  if (rc == NODE_OK && c->sale) rc = emit_sales(e, &o, err);
  return rc;
}

/* One command in its own savepoint: all of it or nothing. */
static int run(node_engine *e, int which, const order_req *r, node_err *err) {
  node__txn t;
  if (!r->order_id || !proto_id_valid(r->order_id))
    return node_err_set(err, NODE_EINVAL, "order_id: must match [A-Za-z0-9_.:-]{1,63}");
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  return node__end(e, &t, cmd_body(e, &cmds[which], r, err), err);
}

/* ---- commands ------------------------------------------------------------------------- */

int node_order_accept(node_engine *e, const char *order_id, const char *by, node_err *err) {
  return run(e, CMD_ACCEPT, &(order_req){.order_id = order_id, .by = by}, err);
}

int node_order_reject(node_engine *e, const char *order_id, proto_reject_reason reason,
                      const char *by, node_err *err) {
  return run(e, CMD_REJECT, &(order_req){.order_id = order_id, .by = by, .reject = reason}, err);
}

int node_order_prepare(node_engine *e, const char *order_id, const char *by, node_err *err) {
  return run(e, CMD_PREPARE, &(order_req){.order_id = order_id, .by = by}, err);
}

int node_order_ready(node_engine *e, const char *order_id, const char *by, node_err *err) {
  return run(e, CMD_READY, &(order_req){.order_id = order_id, .by = by}, err);
}

int node_order_complete(node_engine *e, const char *order_id, const char *code, const char *by,
                        node_err *err) {
  return run(e, CMD_COMPLETE, &(order_req){.order_id = order_id, .by = by, .code = code}, err);
}

int node_order_rider_arrived(node_engine *e, const char *order_id, const char *by,
                             node_err *err) {
  return run(e, CMD_RIDER_ARRIVED, &(order_req){.order_id = order_id, .by = by}, err);
}

int node_order_handoff(node_engine *e, const char *order_id, const char *code, const char *by,
                       node_err *err) {
  return run(e, CMD_HANDOFF, &(order_req){.order_id = order_id, .by = by, .code = code}, err);
}

int node_order_ship(node_engine *e, const char *order_id, const char *courier,
                    const char *tracking, const char *by, node_err *err) {
  return run(e, CMD_SHIP,
             &(order_req){.order_id = order_id, .by = by, .courier = courier, .tracking = tracking},
             err);
}

int node_order_cancel(node_engine *e, const char *order_id, const char *reason, const char *by,
                      node_err *err) {
  return run(e, CMD_CANCEL, &(order_req){.order_id = order_id, .by = by, .reason = reason}, err);
}

int node_order_item_unavailable(node_engine *e, const char *order_id, const char *sku,
                                const char *by, node_err *err) {
  return run(e, CMD_ITEM, &(order_req){.order_id = order_id, .by = by, .sku = sku}, err);
}

/* Orders due are collected first (at most this many per call; the caller's
 * timer picks up the rest), then accepted one savepoint each. */
#define AUTO_ACCEPT_MAX 64

int node_engine_auto_accept(node_engine *e, size_t *n, node_err *err) {
  proto_settings s;
  char ids[AUTO_ACCEPT_MAX][PROTO_ID_MAX];
  size_t n_ids = 0, done = 0;
  sqlite3_stmt *st = NULL;
  if (n) *n = 0;
  int rc = node__settings_load(e, &s, err);
  if (rc != NODE_OK || s.v.auto_accept_s <= 0) return rc;
  uint64_t now = node__now(e), wait = (uint64_t)s.v.auto_accept_s * 1000u;
  if (now <= wait) return NODE_OK;
  rc = node__db_bind(&e->db, NODE_Q_ORDERS_DUE, &st, err, "iii", (int64_t)PROTO_MS_DISPATCHED,
                     (int64_t)(now - wait), (int64_t)AUTO_ACCEPT_MAX);
  if (rc != NODE_OK) return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW && n_ids < AUTO_ACCEPT_MAX) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(ids[n_ids++], PROTO_ID_MAX, "%s", id ? id : "");
  }
  rc = node__db_end(&e->db, st, src, "orders due", err);
  for (size_t i = 0; rc == NODE_OK && i < n_ids; i++) {
    node_err one = {0};
    int arc = node_order_accept(e, ids[i], "auto", &one);
    if (arc == NODE_OK)
      done++;
    else if (arc != NODE_EILLEGAL && arc != NODE_ENOTFOUND) /* storage trouble: stop */
      rc = node_err_set(err, arc, "auto-accept %s: %s", ids[i], one.msg);
  }
  if (n) *n = done;
  return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

int node_order_get(node_engine *e, const char *order_id, proto_order *out, node_err *err) {
  bool found = false;
  if (!order_id || !proto_id_valid(order_id))
    return node_err_set(err, NODE_EINVAL, "order_id: must match [A-Za-z0-9_.:-]{1,63}");
  int rc = node__order_load(e, order_id, out, &found, err);
  if (rc == NODE_OK && !found)
    rc = node_err_set(err, NODE_ENOTFOUND, "order %s: not found", order_id);
  return rc;
}

int node_orders_each(node_engine *e, uint64_t recent_ms,
                     int (*cb)(void *ctx, const proto_order *o), void *ctx, node_err *err) {
  sqlite3_stmt *st = NULL;
  proto_order o;
  uint64_t now = node__now(e), since = now > recent_ms ? now - recent_ms : 0;
  /* ended_ms = 0 means open; an order that ended at ms 0 cannot exist. */
  int rc = node__db_bind(&e->db, NODE_Q_ORDERS_BOARD, &st, err, "i", (int64_t)(since ? since : 1));
  if (rc != NODE_OK) return rc;
  int src = SQLITE_DONE;
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    rc = node__unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &o,
                      sizeof o, err);
    if (rc == NODE_OK && cb(ctx, &o) != 0) break;
  }
  sqlite3_reset(st);
  if (rc == NODE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
    rc = node__db_err(&e->db, src, "orders", err);
  return rc;
}
