/* apply.c - how events become rows.
 *
 * The log is the truth; every other table is derived from it:
 *
 *   event --encode--> events(feed, origin, seq, hlc, type, target, key, json)
 *           INSERT OR IGNORE on UNIQUE(origin, seq): a repeated event inserts
 *           nothing and the apply stops there (dedup, whatever the transport
 *           did); feed = the row id, the local order tablets resume from.
 *         --proto_event_merge--> the state of its target, keyed by
 *           proto_event_key():
 *             order  -> orders(order_id, status, kind, reserving, conflict,
 *                       waste, dispatched_ms, ended_ms, state) and its lines in
 *                       order_items(order_id, line, sku, qty, unavailable,
 *                       reserving = the order's, copied for the partial index
 *                       of open reservations)
 *             stock  -> stock(sku, on_hand, state) + deltas(sku, origin, seq,
 *                       delta, reason, ref) for every stock.delta
 *             sku    -> sku(sku, state)
 *             store  -> settings(store, state)
 *
 * State BLOBs: `state` holds the proto struct (proto_order, proto_stock,
 * proto_sku, proto_settings) byte for byte with runs of zero bytes packed
 * (rt_db_pack: a 7 KB proto_order with two lines stores as ~0.5 KB; the SD
 * card writes less).  The file never leaves the box, so the host's layout
 * is fine; meta 'layout' records node__state_layout() (rt_db_state_layout:
 * struct sizes + a manual version) and when a new binary finds another
 * value it drops every derived row and replays the log (node__rebuild),
 * because the state is a pure function of the set of events.  The columns
 * next to the BLOB are derived from it on every save, for SQL (board,
 * reserved sums, figures).
 *
 * Recount protocol (proto/stock.h): a stock.delta is written to `deltas`
 * before it is merged; when a stocktake wins (*recount), unseen restarts at
 * 0 and every delta of the SKU in `deltas` is re-added with
 * proto_stock_add_delta(), which skips those the winning count covers.  So
 * on_hand = count + every delta the count had not seen, in any arrival order.
 *
 * Derived rules: applying an event notes which SKUs' available stock may have
 * moved (node__touch); the sold-out rule runs once per command when its
 * savepoint closes (engine.c), so a handoff's release + sale nets out
 * without a flicker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* Bump when a proto struct changes meaning without changing size. */
#define NODE_LAYOUT_MANUAL 3

int64_t node__state_layout(void) { return rt_db_state_layout(NODE_LAYOUT_MANUAL); }

/* ---- loading state ---------------------------------------------------------------- */

int node__order_load(node_engine *e, const char *order_id, proto_order *o, bool *found,
                     node_err *err) {
  bool f = false;
  int rc = node__db_get_blob(&e->db, NODE_Q_ORDER_LOAD, o, sizeof *o, &f, err, "t", order_id);
  if (rc == NODE_OK && !f) proto_order_init(o, order_id, e->store);
  if (found) *found = f;
  return rc;
}

int node__stock_load(node_engine *e, const char *sku, proto_stock *s, bool *found,
                     node_err *err) {
  bool f = false;
  int rc = node__db_get_blob(&e->db, NODE_Q_STOCK_LOAD, s, sizeof *s, &f, err, "t", sku);
  if (rc == NODE_OK && !f) proto_stock_init(s, sku);
  if (found) *found = f;
  return rc;
}

int node__sku_load(node_engine *e, const char *sku, proto_sku *s, bool *found, node_err *err) {
  bool f = false;
  int rc = node__db_get_blob(&e->db, NODE_Q_SKU_LOAD, s, sizeof *s, &f, err, "t", sku);
  if (rc == NODE_OK && !f) proto_sku_init(s, sku);
  if (found) *found = f;
  return rc;
}

int node__settings_load(node_engine *e, proto_settings *s, node_err *err) {
  bool f = false;
  int rc = node__db_get_blob(&e->db, NODE_Q_SET_LOAD, s, sizeof *s, &f, err, "t", e->store);
  if (rc == NODE_OK && !f) proto_settings_init(s, e->store);
  return rc;
}

/* ---- touched SKUs and pending changes ----------------------------------------------- */

int node__touch(node_engine *e, const char *sku, node_err *err) {
  for (size_t i = 0; i < e->n_touched; i++)
    if (strcmp(e->touched[i], sku) == 0) return NODE_OK;
  if (e->n_touched == e->cap_touched) {
    size_t cap = e->cap_touched ? e->cap_touched * 2 : 16;
    void *p = realloc(e->touched, cap * sizeof *e->touched);
    if (!p) return node_err_set(err, NODE_ENOMEM, "touched skus: out of memory");
    e->touched = p;
    e->cap_touched = cap;
  }
  snprintf(e->touched[e->n_touched++], PROTO_ID_MAX, "%s", sku);
  return NODE_OK;
}

static int push_change(node_engine *e, const proto_event *ev, uint64_t feed, bool local,
                       node_err *err) {
  if (e->n_changes == e->cap_changes) {
    size_t cap = e->cap_changes ? e->cap_changes * 2 : 16;
    void *p = realloc(e->changes, cap * sizeof *e->changes);
    if (!p) return node_err_set(err, NODE_ENOMEM, "batch: out of memory");
    e->changes = p;
    e->cap_changes = cap;
  }
  node__change *c = &e->changes[e->n_changes++];
  c->ev = *ev;
  c->feed = feed;
  c->local = local;
  return NODE_OK;
}

/* ---- per target ----------------------------------------------------------------------- */

static int merge(const proto_event *ev, void *state, bool *recount, node_err *err) {
  proto_err perr = {0};
  int prc = proto_event_merge(ev, state, recount);
  /* EFULL: the unavailable set kept its join at capacity; the state is right. */
  if (prc == PROTO_OK || prc == PROTO_EFULL) return NODE_OK;
  proto_err_set(&perr, prc, "merge of %s %s:%llu refused", proto_event_type_name(ev->type),
                ev->origin, (unsigned long long)ev->seq);
  return node__proto_err(prc, &perr, err);
}

static uint64_t ended_ms(const proto_order *o) {
  static const proto_milestone ends[] = {PROTO_MS_REJECTED,  PROTO_MS_CANCELLED,
                                         PROTO_MS_SHIPPED,   PROTO_MS_PICKED_UP,
                                         PROTO_MS_COMPLETED, PROTO_MS_DELIVERED};
  uint64_t first = 0;
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
    uint64_t h = o->ms_hlc[ends[i]];
    if (h && (!first || h < first)) first = h;
  }
  return PROTO_HLC_MS(first);
}

int node__pack_state(node_engine *e, const void *p, size_t n, node_err *err) {
  return rt_db_pack(p, n, &e->pack) == PROTO_OK
             ? NODE_OK
             : node_err_set(err, NODE_ENOMEM, "state: out of memory");
}

static int order_save(node_engine *e, const proto_order *o, node_err *err) {
  int rc = node__pack_state(e, o, sizeof *o, err);
  if (rc == NODE_OK)
    rc = node__db_run(&e->db, NODE_Q_ORDER_SAVE, err, "tiiiiiiib", o->order_id,
                        (int64_t)proto_order_status(o), (int64_t)o->info.kind,
                        (int64_t)proto_order_reserving(o), (int64_t)proto_order_conflict(o),
                        (int64_t)proto_order_waste(o),
                        (int64_t)PROTO_HLC_MS(o->ms_hlc[PROTO_MS_DISPATCHED]),
                        (int64_t)ended_ms(o), (const void *)e->pack.data, e->pack.len);
  if (rc == NODE_OK) rc = node__db_run(&e->db, NODE_Q_ITEMS_DEL, err, "t", o->order_id);
  int64_t reserving = proto_order_reserving(o);
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  for (uint32_t i = 0; rc == NODE_OK && i < n; i++) {
    const proto_item *it = &o->info.items[i];
    rc = node__db_run(&e->db, NODE_Q_ITEM_INS, err, "titiii", o->order_id, (int64_t)i, it->sku,
                      (int64_t)it->qty, (int64_t)proto_order_item_unavailable(o, it->sku),
                      reserving);
  }
  return rc;
}

static int touch_items(node_engine *e, const proto_order *o, node_err *err) {
  int rc = NODE_OK;
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  for (uint32_t i = 0; rc == NODE_OK && i < n; i++) rc = node__touch(e, o->info.items[i].sku, err);
  return rc;
}

/* Reservations move when `reserving` flips, or while reserving when the
 * lines change (a newer dispatch) or a line becomes unavailable. */
static int apply_order(node_engine *e, const proto_event *ev, node_err *err) {
  proto_order o;
  int rc = node__order_load(e, proto_event_key(ev), &o, NULL, err);
  if (rc != NODE_OK) return rc;
  bool before = proto_order_reserving(&o);
  bool lines = ev->type == PROTO_EV_ORDER_DISPATCHED || ev->type == PROTO_EV_ORDER_ITEM_UNAVAILABLE;
  if (before && lines) rc = touch_items(e, &o, err); /* the old lines */
  if (rc == NODE_OK) rc = merge(ev, &o, NULL, err);
  if (rc == NODE_OK) rc = order_save(e, &o, err);
  bool after = proto_order_reserving(&o);
  if (rc == NODE_OK && (before != after || (after && lines))) rc = touch_items(e, &o, err);
  return rc;
}

static int recount(node_engine *e, proto_stock *s, node_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = node__db_bind(&e->db, NODE_Q_DELTAS_OF, &st, err, "t", s->sku);
  if (rc != NODE_OK) return rc;
  int src = rt_db_recount(st, s);
  return src == SQLITE_OK ? NODE_OK : node__db_err(&e->db, src, "recount", err);
}

static int apply_stock(node_engine *e, const proto_event *ev, node_err *err) {
  proto_stock s;
  bool again = false;
  const char *sku = proto_event_key(ev);
  int rc = node__stock_load(e, sku, &s, NULL, err);
  if (rc == NODE_OK && ev->type == PROTO_EV_STOCK_DELTA) {
    const proto_ev_delta *d = &ev->body.delta;
    rc = node__db_run(&e->db, NODE_Q_DELTA_INS, err, "ttiiit", sku, ev->origin, (int64_t)ev->seq,
                      d->delta, (int64_t)d->reason, d->ref);
  }
  if (rc == NODE_OK) rc = merge(ev, &s, &again, err);
  if (rc == NODE_OK && again) rc = recount(e, &s, err);
  if (rc == NODE_OK) rc = node__pack_state(e, &s, sizeof s, err);
  if (rc == NODE_OK)
    rc = node__db_run(&e->db, NODE_Q_STOCK_SAVE, err, "tib", sku,
                      (int64_t)proto_stock_on_hand(&s), (const void *)e->pack.data, e->pack.len);
  if (rc == NODE_OK) rc = node__touch(e, sku, err);
  return rc;
}

static int apply_sku(node_engine *e, const proto_event *ev, node_err *err) {
  proto_sku s;
  const char *sku = proto_event_key(ev);
  int rc = node__sku_load(e, sku, &s, NULL, err);
  if (rc == NODE_OK) rc = merge(ev, &s, NULL, err);
  if (rc == NODE_OK) rc = node__pack_state(e, &s, sizeof s, err);
  if (rc == NODE_OK)
    rc = node__db_run(&e->db, NODE_Q_SKU_SAVE, err, "tb", sku, (const void *)e->pack.data,
                      e->pack.len);
  return rc;
}

static int apply_store(node_engine *e, const proto_event *ev, node_err *err) {
  proto_settings s;
  int rc = node__settings_load(e, &s, err);
  if (rc == NODE_OK) rc = merge(ev, &s, NULL, err);
  if (rc == NODE_OK) rc = node__pack_state(e, &s, sizeof s, err);
  if (rc == NODE_OK)
    rc = node__db_run(&e->db, NODE_Q_SET_SAVE, err, "tb", e->store, (const void *)e->pack.data,
                      e->pack.len);
  return rc;
}

typedef int (*apply_fn)(node_engine *e, const proto_event *ev, node_err *err);
static const apply_fn appliers[] = {
    [PROTO_TARGET_ORDER] = apply_order,
    [PROTO_TARGET_STOCK] = apply_stock,
    [PROTO_TARGET_SKU] = apply_sku,
    [PROTO_TARGET_STORE] = apply_store,
};

static int materialise(node_engine *e, const proto_event *ev, node_err *err) {
  proto_target t = proto_event_target(ev->type);
  if ((size_t)t >= sizeof appliers / sizeof appliers[0])
    return node_err_set(err, NODE_EINVAL, "event: no state for type %d", (int)ev->type);
  return appliers[t](e, ev, err);
}

/* ---- the log ----------------------------------------------------------------------------- */

int node__apply(node_engine *e, const proto_event *ev, bool local, bool *dup, node_err *err) {
  proto_err perr = {0};
  if (dup) *dup = false;
  proto_buf_reset(&e->json);
  int prc = proto_event_encode(ev, &e->json, &perr);
  if (prc != PROTO_OK) return node__proto_err(prc, &perr, err);
  int rc = node__db_run(&e->db, NODE_Q_EV_INSERT, err, "tiititt", ev->origin, (int64_t)ev->seq,
                        (int64_t)ev->hlc, proto_event_type_name(ev->type),
                        (int64_t)proto_event_target(ev->type), proto_event_key(ev), e->json.data);
  if (rc != NODE_OK) return rc;
  if (sqlite3_changes(e->db.h) == 0) {
    if (dup) *dup = true;
    return NODE_OK;
  }
  uint64_t feed = (uint64_t)sqlite3_last_insert_rowid(e->db.h);
  rc = materialise(e, ev, err);
  if (rc == NODE_OK) rc = push_change(e, ev, feed, local, err);
  if (rc == NODE_OK) e->feed = feed;
  return rc;
}

int node__emit(node_engine *e, proto_event *ev, node_err *err) {
  ev->v = PROTO_VERSION;
  snprintf(ev->origin, sizeof ev->origin, "%s", e->store);
  snprintf(ev->store, sizeof ev->store, "%s", e->store);
  ev->seq = e->next_seq;
  ev->hlc = proto_hlc_send(&e->hlc, node__now(e));
  int rc = node__apply(e, ev, true, NULL, err);
  if (rc == NODE_OK) e->next_seq++;
  return rc;
}

int node__rebuild(node_engine *e, node_err *err) {
  static const char wipe[] =
      "DELETE FROM order_items; DELETE FROM orders; DELETE FROM stock; DELETE FROM deltas;"
      "DELETE FROM sku; DELETE FROM settings;";
  sqlite3_stmt *st = NULL;
  proto_event *ev = malloc(sizeof *ev);
  int rc = ev ? node__db_exec(&e->db, wipe, err) : node_err_set(err, NODE_ENOMEM, "rebuild");
  if (rc == NODE_OK) rc = node__db_bind(&e->db, NODE_Q_EV_ALL, &st, err, "");
  int src = SQLITE_DONE;
  e->rebuilding = true;
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    proto_err perr = {0};
    const char *json = (const char *)sqlite3_column_text(st, 0);
    int prc = proto_event_decode(json ? json : "", (size_t)sqlite3_column_bytes(st, 0), ev, &perr);
    rc = prc == PROTO_OK ? materialise(e, ev, err)
                         : node_err_set(err, NODE_ECORRUPT, "rebuild: stored event: %s", perr.msg);
  }
  if (st) {
    int end = node__db_end(&e->db, st, src, "rebuild", err);
    if (rc == NODE_OK) rc = end;
  }
  e->rebuilding = false;
  e->n_touched = 0; /* the log already holds the rules' outcomes */
  free(ev);
  return rc;
}
