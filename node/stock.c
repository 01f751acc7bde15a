/* stock.c - stock commands, stock views and the derived sold-out rule.
 *
 * Figures of one SKU:
 *   on_hand   = proto_stock_on_hand(): last winning stocktake + the deltas it
 *               had not seen (recount protocol, apply.c)
 *   reserved  = SUM(qty) of order_items whose order is reserving
 *               (proto_order_reserving) and whose line is not unavailable;
 *               derived in SQL on every read, never a stored counter, so it
 *               cannot drift (the Medusa negative-reserved bug).  The lines'
 *               `reserving` copy is rewritten with the order row on every
 *               save, and a partial index holds only open reservations, so
 *               the sum costs O(open lines of the SKU), not O(history).
 *   available = on_hand - reserved
 *   low       = catalog low_threshold > 0 and available <= low_threshold
 *
 * Tracked SKUs: the store tracks stock of a SKU once any stock.delta or
 * stock.stocktake for it exists (a row in `stock`).  Made-to-order products
 * (a latte) have none, so sales do not drive them negative and the sold-out
 * rule leaves them alone; staff still toggle them by hand.
 *
 * Sold-out rule (沽清), run when a command's savepoint closes for every SKU
 * whose available may have moved, and only for tracked SKUs; only the store
 * writes these events (HQ never does):
 *   available <= 0 and not sold out             -> sku.availability
 *                                                  {sold_out:true, automatic:true}
 *   available > 0 and sold out by the rule       -> {sold_out:false, automatic:true}
 *   sold out by a person (automatic:false)       -> left alone: a person decides
 *
 * Stocktake seen vector: the count includes exactly the deltas applied here,
 * i.e. the rows of `deltas` for this SKU (this batch's included).  Per origin
 * it records MAX(seq) of those rows.  Every seq of an origin below its
 * contiguous mark is held here, so no unseen delta of this SKU hides under
 * that maximum; the whole version vector would cover the same deltas but
 * list origins that never touched the SKU (and PROTO_SEEN_MAX is 16).  The
 * one inexact case is a gap: an HQ delta held beyond a missing HQ seq makes
 * the count also cover the missing seq, should it turn out to be a delta of
 * this SKU.  HQ closes gaps on reconnect, and HQ rarely writes a store's
 * deltas, so the record stays "what this store had applied".
 */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

/* What staff may record per reason.  sign: +1 in, -1 out, 0 either. */
typedef struct reason_rule {
  bool allowed;   /* sale: only the engine writes it, at handoff */
  int sign;
  bool transfer;  /* needs peer store and ref = transfer id */
  bool note;      /* needs a note */
} reason_rule;

static const reason_rule reasons[PROTO_STOCK__COUNT] = {
    [PROTO_STOCK_RECEIVE] = {true, +1, false, false},
    [PROTO_STOCK_SALE] = {false, -1, false, false},
    [PROTO_STOCK_WASTE] = {true, -1, false, false},
    [PROTO_STOCK_TRANSFER_OUT] = {true, -1, true, false},
    [PROTO_STOCK_TRANSFER_IN] = {true, +1, true, false},
    [PROTO_STOCK_CORRECTION] = {true, 0, false, true},
};

static int sku_check(const char *sku, node_err *err) {
  return sku && proto_id_valid(sku)
             ? NODE_OK
             : node_err_set(err, NODE_EINVAL, "sku: must match [A-Za-z0-9_.:-]{1,63}");
}

/* ---- views ------------------------------------------------------------------------- */

static int view(node_engine *e, const char *sku, node_stock_view *v, bool *found, bool *tracked,
                node_err *err) {
  proto_stock s;
  bool has_sku = false, has_stock = false;
  int64_t reserved = 0;
  memset(v, 0, sizeof *v);
  int rc = node__sku_load(e, sku, &v->sku, &has_sku, err);
  if (rc == NODE_OK) rc = node__stock_load(e, sku, &s, &has_stock, err);
  if (rc == NODE_OK) rc = node__db_get_i64(&e->db, NODE_Q_RESERVED, &reserved, NULL, err, "t", sku);
  if (rc != NODE_OK) return rc;
  v->on_hand = has_stock ? proto_stock_on_hand(&s) : 0;
  v->reserved = reserved;
  v->available = v->on_hand - reserved;
  v->low = v->sku.catalog.low_threshold > 0 && v->available <= v->sku.catalog.low_threshold;
  if (found) *found = has_sku || has_stock || reserved != 0;
  if (tracked) *tracked = has_stock;
  return NODE_OK;
}

int node_stock_get(node_engine *e, const char *sku, node_stock_view *out, node_err *err) {
  bool found = false;
  int rc = sku_check(sku, err);
  if (rc == NODE_OK) rc = view(e, sku, out, &found, NULL, err);
  if (rc == NODE_OK && !found) rc = node_err_set(err, NODE_ENOTFOUND, "sku %s: not found", sku);
  return rc;
}

int node_stock_each(node_engine *e, int (*cb)(void *ctx, const node_stock_view *v), void *ctx,
                    node_err *err) {
  sqlite3_stmt *st = NULL;
  node_stock_view v;
  int src = SQLITE_DONE;
  int rc = node__db_bind(&e->db, NODE_Q_SKUS_ALL, &st, err, "");
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    char sku[PROTO_ID_MAX];
    const char *t = (const char *)sqlite3_column_text(st, 0);
    snprintf(sku, sizeof sku, "%s", t ? t : "");
    rc = view(e, sku, &v, NULL, NULL, err);
    if (rc == NODE_OK && cb(ctx, &v) != 0) break;
  }
  if (!st) return rc;
  sqlite3_reset(st);
  if (rc == NODE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
    rc = node__db_err(&e->db, src, "stock", err);
  return rc;
}

int node__stock_tracked(node_engine *e, const char *sku, bool *tracked, node_err *err) {
  int64_t unused = 0;
  return node__db_get_i64(&e->db, NODE_Q_STOCK_LOAD, &unused, tracked, err, "t", sku);
}

/* ---- sold-out rule ---------------------------------------------------------------------- */

static int emit_avail(node_engine *e, const char *sku, bool sold_out, bool automatic,
                      node_err *err) {
  proto_event ev;
  proto_event_init(&ev, PROTO_EV_SKU_AVAILABILITY, e->store, 0, 0, e->store);
  snprintf(ev.body.avail.sku, PROTO_ID_MAX, "%s", sku);
  ev.body.avail.sold_out = sold_out;
  ev.body.avail.automatic = automatic;
  return node__emit(e, &ev, err);
}

static int sold_out_rule(node_engine *e, const char *sku, node_err *err) {
  node_stock_view v;
  bool tracked = false;
  int rc = view(e, sku, &v, NULL, &tracked, err);
  if (rc != NODE_OK || !tracked) return rc;
  bool sold_out = proto_sku_sold_out(&v.sku);
  if (v.available <= 0 && !sold_out) return emit_avail(e, sku, true, true, err);
  if (v.available > 0 && sold_out && v.sku.avail.automatic) return emit_avail(e, sku, false, true, err);
  return NODE_OK;
}

int node__stock_rules(node_engine *e, size_t from, node_err *err) {
  int rc = NODE_OK;
  for (size_t i = from; rc == NODE_OK && i < e->n_touched; i++) {
    char sku[PROTO_ID_MAX];
    snprintf(sku, sizeof sku, "%s", e->touched[i]); /* emitting may grow the list */
    rc = sold_out_rule(e, sku, err);
  }
  return rc;
}

/* ---- commands ----------------------------------------------------------------------------- */

static int adjust_check(node_engine *e, const proto_ev_delta *d, node_err *err) {
  const reason_rule *r = &reasons[d->reason];
  if (!r->allowed)
    return node_err_set(err, NODE_EINVAL, "reason: %s is written by the engine only",
                        proto_stock_reason_name(d->reason));
  if (d->delta == 0 || d->delta > PROTO_STOCK_MAX || d->delta < -PROTO_STOCK_MAX ||
      (r->sign > 0 && d->delta < 0) || (r->sign < 0 && d->delta > 0))
    return node_err_set(err, NODE_EINVAL, "delta: %lld is not a valid %s quantity",
                        (long long)d->delta, proto_stock_reason_name(d->reason));
  if (r->transfer && (!proto_id_valid(d->ref) || !proto_id_valid(d->peer)))
    return node_err_set(err, NODE_EINVAL, "%s needs a transfer id (ref) and the peer store",
                        proto_stock_reason_name(d->reason));
  if (r->transfer && strcmp(d->peer, e->store) == 0)
    return node_err_set(err, NODE_EINVAL, "peer: a transfer needs another store");
  if (r->note && !d->note[0])
    return node_err_set(err, NODE_EINVAL, "note: a %s needs a note",
                        proto_stock_reason_name(d->reason));
  return NODE_OK;
}

/* A transfer id is recorded once per direction and SKU here. */
static int transfer_once(node_engine *e, const proto_ev_delta *d, node_err *err) {
  int64_t one = 0;
  bool dup = false;
  if (!reasons[d->reason].transfer) return NODE_OK;
  int rc = node__db_get_i64(&e->db, NODE_Q_DELTA_REF, &one, &dup, err, "ttit", d->sku, e->store,
                            (int64_t)d->reason, d->ref);
  if (rc == NODE_OK && dup)
    rc = node_err_set(err, NODE_EILLEGAL, "transfer %s of %s: %s already recorded", d->ref, d->sku,
                      proto_stock_reason_name(d->reason));
  return rc;
}

int node_stock_adjust(node_engine *e, const char *sku, int64_t delta, proto_stock_reason reason,
                      const char *ref, const char *peer, const char *note, const char *by,
                      node_err *err) {
  node__txn t;
  proto_event ev;
  proto_ev_delta *d = &ev.body.delta;
  proto_event_init(&ev, PROTO_EV_STOCK_DELTA, e->store, 0, 0, e->store);
  int rc = sku_check(sku, err);
  if (rc == NODE_OK && !proto_stock_reason_name(reason))
    rc = node_err_set(err, NODE_EINVAL, "reason: unknown stock reason %d", (int)reason);
  if (rc == NODE_OK) rc = node__copy(d->sku, sizeof d->sku, sku, "sku", true, err);
  if (rc == NODE_OK) rc = node__copy(d->ref, sizeof d->ref, ref, "ref", false, err);
  if (rc == NODE_OK) rc = node__copy(d->peer, sizeof d->peer, peer, "peer", false, err);
  if (rc == NODE_OK) rc = node__copy(d->note, sizeof d->note, note, "note", false, err);
  d->delta = delta;
  d->reason = reason;
  if (rc == NODE_OK) rc = adjust_check(e, d, err);
  if (rc == NODE_OK) rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = transfer_once(e, d, err);
  if (rc == NODE_OK) rc = node__emit(e, &ev, err);
  return node__end(e, &t, rc, err);
}

static int seen_vector(node_engine *e, proto_ev_stocktake *st, node_err *err) {
  sqlite3_stmt *q = NULL;
  int rc = node__db_bind(&e->db, NODE_Q_DELTA_SEEN, &q, err, "t", st->sku);
  int src = SQLITE_DONE;
  while (rc == NODE_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
    if (st->n_seen == PROTO_SEEN_MAX) {
      rc = node_err_set(err, NODE_EINVAL, "stocktake of %s: more than %d origins wrote deltas",
                        st->sku, PROTO_SEEN_MAX);
      break;
    }
    proto_seen *s = &st->seen[st->n_seen++];
    const char *origin = (const char *)sqlite3_column_text(q, 0);
    snprintf(s->origin, sizeof s->origin, "%s", origin ? origin : "");
    s->seq = (uint64_t)sqlite3_column_int64(q, 1);
  }
  if (!q) return rc;
  sqlite3_reset(q);
  if (rc == NODE_OK && src != SQLITE_DONE) rc = node__db_err(&e->db, src, "seen vector", err);
  return rc;
}

static int stocktake_body(node_engine *e, proto_event *ev, int64_t *before, node_err *err) {
  proto_stock s;
  int rc = node__stock_load(e, ev->body.stocktake.sku, &s, NULL, err);
  if (rc == NODE_OK) *before = proto_stock_on_hand(&s);
  if (rc == NODE_OK) rc = seen_vector(e, &ev->body.stocktake, err);
  if (rc == NODE_OK) rc = node__emit(e, ev, err);
  return rc;
}

int node_stocktake(node_engine *e, const char *sku, int64_t counted, const char *by,
                   int64_t *system_before, node_err *err) {
  node__txn t;
  proto_event ev;
  int64_t before = 0;
  int rc = sku_check(sku, err);
  if (rc == NODE_OK && (counted < 0 || counted > PROTO_STOCK_MAX))
    rc = node_err_set(err, NODE_EINVAL, "counted: %lld out of 0..%lld", (long long)counted,
                      (long long)PROTO_STOCK_MAX);
  if (rc == NODE_OK) rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  proto_event_init(&ev, PROTO_EV_STOCK_STOCKTAKE, e->store, 0, 0, e->store);
  snprintf(ev.body.stocktake.sku, PROTO_ID_MAX, "%s", sku);
  ev.body.stocktake.counted = counted;
  rc = node__end(e, &t, stocktake_body(e, &ev, &before, err), err);
  if (rc == NODE_OK && system_before) *system_before = before;
  return rc;
}

int node_sku_set_sold_out(node_engine *e, const char *sku, bool sold_out, const char *by,
                          node_err *err) {
  node__txn t;
  node_stock_view v;
  bool found = false;
  int rc = sku_check(sku, err);
  if (rc == NODE_OK) rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = view(e, sku, &v, &found, NULL, err);
  if (rc == NODE_OK && !found) rc = node_err_set(err, NODE_ENOTFOUND, "sku %s: not found", sku);
  if (rc == NODE_OK) rc = emit_avail(e, sku, sold_out, false, err);
  return node__end(e, &t, rc, err);
}
