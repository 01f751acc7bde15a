/* apply.c - how events become rows at HQ (the schema: top of schema.c).
 *
 *   event --encode--> events(...)  INSERT OR IGNORE on UNIQUE(origin, seq):
 *           a repeated event inserts nothing and the apply stops there;
 *         --proto_event_merge--> the state of its target in ITS store,
 *           keyed by (event.store, proto_event_key()):
 *             order  -> orders + order_items (lines rewritten only when the
 *                       lines or the order's open/reserving flags changed)
 *             stock  -> stock + deltas (recount protocol, proto/stock.h)
 *             sku    -> sku
 *             store  -> settings, and the routing columns of stores
 *
 * The merge is the boxes' own (proto_event_merge), so HQ's state of a store
 * equals the box's once both hold the same set of events.
 *
 * Write-back of order and stock rows (hq__wb in core_int.h), while `on`
 * (one store message in hq_ingest, a rebuild):
 *
 *   apply_order/apply_stock: slot hit? --no--> load the row into a free
 *        slot (writing every slot first when none is free) --> merge into
 *        the slot (orders: note updated_ms and whether the lines must be
 *        rewritten; stock: the delta row is written at once, so a recount
 *        sees it)
 *   hq__wb_flush: every slot -> its rows, slots free; called before the
 *        message's RELEASE, so the rows are written in the same transaction
 *        as the events: a crash loses nothing acknowledged
 *   hq__wb_drop: the message was refused (ROLLBACK TO): slots forgotten
 *
 * An order's lifecycle steps, or a SKU's sales, in one batch then cost one
 * row write instead of one per event (docs/performance.md,
 * bench_repl_ingest).  The rows equal the write-through ones: each write is
 * a full replacement derived from the state, and the lines depend only on
 * what sets `lines`.  Nothing reads orders, order_items or stock through
 * SQL while slots are dirty: ingest reads them only here, and commands run
 * outside hq_ingest (`on` false: written at once, as before).
 *
 * The hot statements bind with SQLITE_STATIC (hot_bind): their arguments
 * outlive the step, and the copies rt_db_run makes cost ~0.3 us an event.
 *
 * State BLOBs are packed proto structs (rt_db_pack); meta 'layout' records
 * hq__state_layout() (rt_db_state_layout) and a binary that finds another
 * value replays the log (hq__rebuild): the state is a pure function of the
 * set of events.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

/* Bump when a proto struct or a derived column changes meaning. */
#define HQ_LAYOUT_MANUAL 1

int64_t hq__state_layout(void) { return rt_db_state_layout(HQ_LAYOUT_MANUAL); }

/* ---- hot statements ------------------------------------------------------------------ */

/* Statement q of rt_db's cache (prepared on first use), reset, with fmt's
 * arguments bound without copies (letters as rt_db_bind's).  The caller
 * steps and resets it before any argument goes out of scope. */
static int hot_bind(hq_core *c, hq_q q, sqlite3_stmt **out, const char *fmt, ...) {
  sqlite3_stmt **slot = &c->db.st[q];
  va_list ap;
  int rc = *slot ? SQLITE_OK
                 : sqlite3_prepare_v3(c->db.h, rt_db_sql(&c->db, q), -1, SQLITE_PREPARE_PERSISTENT,
                                      slot, NULL);
  if (rc != SQLITE_OK) return rc;
  sqlite3_reset(*slot);
  if ((int)strlen(fmt) != sqlite3_bind_parameter_count(*slot)) return SQLITE_MISUSE;
  va_start(ap, fmt);
  for (int i = 1; rc == SQLITE_OK && fmt[i - 1]; i++) {
    if (fmt[i - 1] == 't') {
      rc = sqlite3_bind_text(*slot, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
    } else if (fmt[i - 1] == 'i') {
      rc = sqlite3_bind_int64(*slot, i, va_arg(ap, int64_t));
    } else {
      const void *p = va_arg(ap, const void *);
      rc = sqlite3_bind_blob64(*slot, i, p, va_arg(ap, size_t), SQLITE_STATIC);
    }
  }
  va_end(ap);
  *out = *slot;
  return rc;
}

/* Reset st (NULL fine); SQLITE_OK when rc is a step's DONE or ROW. */
static int hot_end(sqlite3_stmt *st, int rc) {
  if (st) sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK ? SQLITE_OK : rc;
}

/* hot_bind's result: step once (no rows wanted) and reset. */
static int hot_step(sqlite3_stmt *st, int rc) {
  return hot_end(st, rc == SQLITE_OK ? sqlite3_step(st) : rc);
}

/* ---- loading ---------------------------------------------------------------------- */

static int load_blob(hq_core *c, hq_q q, void *out, size_t size, bool *found, const char *store,
                     const char *key, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = key ? hot_bind(c, q, &st, "tt", store, key) : hot_bind(c, q, &st, "t", store);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  *found = rc == SQLITE_ROW;
  if (*found && rt_db_unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out,
                             size) != 0)
    rc = SQLITE_CORRUPT;
  rc = hot_end(st, rc);
  if (rc != SQLITE_OK) *found = false;
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "load state", err);
}

int hq__order_load(hq_core *c, const char *store, const char *order_id, proto_order *o,
                   bool *found, hq_err *err) {
  bool f = false;
  int rc = load_blob(c, HQ_Q_ORDER_LOAD, o, sizeof *o, &f, store, order_id, err);
  if (rc == HQ_OK && !f) proto_order_init(o, order_id, store);
  if (found) *found = f;
  return rc;
}

int hq__settings_load(hq_core *c, const char *store, proto_settings *s, bool *found,
                      hq_err *err) {
  bool f = false;
  int rc = load_blob(c, HQ_Q_SET_LOAD, s, sizeof *s, &f, store, NULL, err);
  if (rc == HQ_OK && !f) proto_settings_init(s, store);
  if (found) *found = f;
  return rc;
}

static int pack(hq_core *c, const void *p, size_t n, hq_err *err) {
  return rt_db_pack(p, n, &c->pack) == PROTO_OK ? HQ_OK
                                                 : hq_err_set(err, HQ_ENOMEM, "state: out of memory");
}

static int merge(const proto_event *ev, void *state, bool *recount, hq_err *err) {
  int prc = proto_event_merge(ev, state, recount);
  /* EFULL: the unavailable set kept its join at capacity; the state is right. */
  if (prc == PROTO_OK || prc == PROTO_EFULL) return HQ_OK;
  return hq_err_set(err, HQ_EINVAL, "merge of %s %s:%llu refused: %s",
                    proto_event_type_name(ev->type), ev->origin, (unsigned long long)ev->seq,
                    proto_strerror(prc));
}

/* ---- orders --------------------------------------------------------------------- */

static int64_t ms_of(const proto_order *o, proto_milestone m) {
  return (int64_t)PROTO_HLC_MS(o->ms_hlc[m]);
}

/* First non-zero HLC among milestones, as ms (0 if none). */
static int64_t first_ms(const proto_order *o, const proto_milestone *ms, size_t n) {
  uint64_t first = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = o->ms_hlc[ms[i]];
    if (h && (!first || h < first)) first = h;
  }
  return (int64_t)PROTO_HLC_MS(first);
}

static const proto_milestone handoffs[] = {PROTO_MS_SHIPPED, PROTO_MS_PICKED_UP,
                                           PROTO_MS_COMPLETED, PROTO_MS_DELIVERED};
static const proto_milestone ends[] = {PROTO_MS_REJECTED,  PROTO_MS_CANCELLED, PROTO_MS_SHIPPED,
                                       PROTO_MS_PICKED_UP, PROTO_MS_COMPLETED, PROTO_MS_DELIVERED};
#define N_OF(a) (sizeof a / sizeof a[0])

static bool order_open(const proto_order *o) {
  return o->info_stamp.hlc != 0 && first_ms(o, ends, N_OF(ends)) == 0;
}

static int order_row(hq_core *c, const proto_order *o, uint64_t hlc, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = pack(c, o, sizeof *o, err);
  if (rc != HQ_OK) return rc;
  int src = hot_bind(c, HQ_Q_ORDER_SAVE, &st, "ttiiiiiiiiiiiiiiiiib", o->store, o->order_id,
                     (int64_t)proto_order_status(o), (int64_t)o->info.kind, (int64_t)order_open(o),
                     (int64_t)proto_order_reserving(o), (int64_t)proto_order_conflict(o),
                     (int64_t)(o->resolve_stamp.hlc != 0), (int64_t)proto_order_waste(o),
                     o->info.total, ms_of(o, PROTO_MS_DISPATCHED), ms_of(o, PROTO_MS_ACCEPTED),
                     ms_of(o, PROTO_MS_READY), ms_of(o, PROTO_MS_RIDER_ARRIVED),
                     first_ms(o, handoffs, N_OF(handoffs)), ms_of(o, PROTO_MS_DELIVERED),
                     ms_of(o, PROTO_MS_CANCELLED), first_ms(o, ends, N_OF(ends)),
                     (int64_t)PROTO_HLC_MS(hlc), (const void *)c->pack.data, c->pack.len);
  src = hot_step(st, src);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "save order", err);
}

static int order_lines(hq_core *c, const proto_order *o, hq_err *err) {
  int rc = rt_db_run(&c->db, HQ_Q_ITEMS_DEL, "tt", o->store, o->order_id);
  int64_t open = order_open(o), reserving = proto_order_reserving(o);
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  for (uint32_t i = 0; rc == SQLITE_OK && i < n; i++) {
    const proto_item *it = &o->info.items[i];
    rc = rt_db_run(&c->db, HQ_Q_ITEM_INS, "ttitiiiii", o->store, o->order_id, (int64_t)i, it->sku,
                   (int64_t)it->qty, it->price, (int64_t)proto_order_item_unavailable(o, it->sku),
                   open, reserving);
  }
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "save order lines", err);
}

static int order_write(hq_core *c, const hq__order_slot *sl, hq_err *err) {
  int rc = order_row(c, &sl->o, sl->hlc, err);
  return rc == HQ_OK && sl->lines ? order_lines(c, &sl->o, err) : rc;
}

static int stock_write(hq_core *c, const hq__stock_slot *sl, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = pack(c, &sl->s, sizeof sl->s, err);
  if (rc != HQ_OK) return rc;
  int src = hot_bind(c, HQ_Q_STOCK_SAVE, &st, "ttib", sl->store, sl->sku,
                     (int64_t)proto_stock_on_hand(&sl->s), (const void *)c->pack.data, c->pack.len);
  src = hot_step(st, src);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "save stock", err);
}

int hq__wb_flush(hq_core *c, hq_err *err) {
  hq__wb *w = &c->wb;
  int rc = HQ_OK;
  for (size_t i = 0; rc == HQ_OK && i < w->n_orders; i++) rc = order_write(c, &w->orders[i], err);
  for (size_t i = 0; rc == HQ_OK && i < w->n_stock; i++) rc = stock_write(c, &w->stock[i], err);
  hq__wb_drop(c);
  return rc;
}

void hq__wb_drop(hq_core *c) { c->wb.n_orders = c->wb.n_stock = 0; }

/* A free slot in *arr (HQ_WB_SLOTS of size each, allocated on first use;
 * every slot is written first when *n is full): index, or -1 with err set. */
static long wb_take(hq_core *c, void **arr, size_t size, const size_t *n, hq_err *err) {
  if (!*arr && !(*arr = malloc(HQ_WB_SLOTS * size))) {
    hq_err_set(err, HQ_ENOMEM, "write-back: out of memory");
    return -1;
  }
  return *n < HQ_WB_SLOTS || hq__wb_flush(c, err) == HQ_OK ? (long)*n : -1;
}

/* The order ev applies to: its write-back slot (filled from the row on a
 * miss) while the write-back is on, else *local loaded from the row. */
static int order_slot(hq_core *c, const proto_event *ev, hq__order_slot *local,
                      hq__order_slot **out, hq_err *err) {
  hq__wb *w = &c->wb;
  const char *id = proto_event_key(ev);
  *out = local;
  for (size_t i = w->on ? w->n_orders : 0; i-- > 0;) { /* newest first */
    if (strcmp(w->orders[i].o.order_id, id) == 0 && strcmp(w->orders[i].o.store, ev->store) == 0) {
      *out = &w->orders[i];
      return HQ_OK;
    }
  }
  long at = w->on ? wb_take(c, (void **)&w->orders, sizeof *w->orders, &w->n_orders, err) : 0;
  if (at < 0) return err->code;
  if (w->on) *out = &w->orders[at];
  (*out)->lines = false;
  int rc = hq__order_load(c, ev->store, id, &(*out)->o, NULL, err);
  if (rc == HQ_OK && w->on) w->n_orders++;
  return rc;
}

/* The same for the stock row of ev's SKU. */
static int stock_slot(hq_core *c, const proto_event *ev, hq__stock_slot *local,
                      hq__stock_slot **out, hq_err *err) {
  hq__wb *w = &c->wb;
  const char *sku = proto_event_key(ev);
  bool found = false;
  *out = local;
  for (size_t i = w->on ? w->n_stock : 0; i-- > 0;) {
    if (strcmp(w->stock[i].sku, sku) == 0 && strcmp(w->stock[i].store, ev->store) == 0) {
      *out = &w->stock[i];
      return HQ_OK;
    }
  }
  long at = w->on ? wb_take(c, (void **)&w->stock, sizeof *w->stock, &w->n_stock, err) : 0;
  if (at < 0) return err->code;
  if (w->on) *out = &w->stock[at];
  snprintf((*out)->store, sizeof (*out)->store, "%s", ev->store);
  snprintf((*out)->sku, sizeof (*out)->sku, "%s", sku);
  int rc = load_blob(c, HQ_Q_STOCK_LOAD, &(*out)->s, sizeof (*out)->s, &found, ev->store, sku, err);
  if (rc == HQ_OK && !found) proto_stock_init(&(*out)->s, sku);
  if (rc == HQ_OK && w->on) w->n_stock++;
  return rc;
}

static int apply_order(hq_core *c, const proto_event *ev, hq_err *err) {
  hq__order_slot local, *sl = NULL;
  int rc = order_slot(c, ev, &local, &sl, err);
  if (rc != HQ_OK) return rc;
  bool open = order_open(&sl->o), reserving = proto_order_reserving(&sl->o);
  rc = merge(ev, &sl->o, NULL, err);
  if (rc != HQ_OK) return rc; /* a write-back slot goes with the refused message */
  sl->hlc = ev->hlc;
  sl->lines = sl->lines || ev->type == PROTO_EV_ORDER_DISPATCHED ||
              ev->type == PROTO_EV_ORDER_ITEM_UNAVAILABLE || open != order_open(&sl->o) ||
              reserving != proto_order_reserving(&sl->o);
  return sl == &local ? order_write(c, sl, err) : HQ_OK;
}

/* ---- stock, SKUs, settings -------------------------------------------------------- */

static int recount(hq_core *c, const char *store, proto_stock *s, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = rt_db_bind(&c->db, HQ_Q_DELTAS_OF, &st, "tt", store, s->sku);
  rc = rc == SQLITE_OK ? rt_db_recount(st, s) : rt_db_end(st, rc);
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "recount", err);
}

/* The receiving store's transfer_in completes a transfer ordered at HQ. */
static int transfer_received(hq_core *c, const proto_event *ev, hq_err *err) {
  const proto_ev_delta *d = &ev->body.delta;
  if (d->reason != PROTO_STOCK_TRANSFER_IN || !d->ref[0]) return HQ_OK;
  int rc = rt_db_run(&c->db, HQ_Q_XFER_RECEIVED, "ttiit", d->ref, ev->store,
                     (int64_t)PROTO_HLC_MS(ev->hlc), d->delta, d->sku);
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "transfer receipt", err);
}

static int apply_stock(hq_core *c, const proto_event *ev, hq_err *err) {
  hq__stock_slot local, *sl = NULL;
  bool again = false;
  int rc = stock_slot(c, ev, &local, &sl, err);
  if (rc == HQ_OK && ev->type == PROTO_EV_STOCK_DELTA) {
    const proto_ev_delta *d = &ev->body.delta;
    sqlite3_stmt *st = NULL;
    int src = hot_bind(c, HQ_Q_DELTA_INS, &st, "tttiiit", ev->store, sl->sku, ev->origin,
                       (int64_t)ev->seq, d->delta, (int64_t)d->reason, d->ref);
    src = hot_step(st, src);
    rc = src == SQLITE_OK ? transfer_received(c, ev, err) : hq__dberr(c, src, "delta", err);
  }
  /* The recount reads the deltas rows: this event's is already written. */
  if (rc == HQ_OK) rc = merge(ev, &sl->s, &again, err);
  if (rc == HQ_OK && again) rc = recount(c, ev->store, &sl->s, err);
  return rc == HQ_OK && sl == &local ? stock_write(c, sl, err) : rc;
}

static int apply_sku(hq_core *c, const proto_event *ev, hq_err *err) {
  proto_sku s;
  bool found = false;
  const char *sku = proto_event_key(ev);
  int rc = load_blob(c, HQ_Q_SKU_LOAD, &s, sizeof s, &found, ev->store, sku, err);
  if (rc == HQ_OK && !found) proto_sku_init(&s, sku);
  if (rc == HQ_OK) rc = merge(ev, &s, NULL, err);
  if (rc == HQ_OK) rc = pack(c, &s, sizeof s, err);
  if (rc != HQ_OK) return rc;
  bool catalog = s.catalog_stamp.hlc != 0;
  int src = rt_db_run(&c->db, HQ_Q_SKU_SAVE, "ttiiiitb", ev->store, sku,
                      (int64_t)proto_sku_sold_out(&s), (int64_t)(catalog && s.catalog.active),
                      catalog ? s.catalog.price : 0, catalog ? s.catalog.low_threshold : 0,
                      catalog ? s.catalog.name : "", (const void *)c->pack.data, c->pack.len);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "save sku", err);
}

static int apply_store(hq_core *c, const proto_event *ev, hq_err *err) {
  proto_settings s;
  int rc = hq__settings_load(c, ev->store, &s, NULL, err);
  if (rc == HQ_OK) rc = merge(ev, &s, NULL, err);
  if (rc == HQ_OK) rc = pack(c, &s, sizeof s, err);
  if (rc != HQ_OK) return rc;
  int src = rt_db_run(&c->db, HQ_Q_SET_SAVE, "tb", ev->store, (const void *)c->pack.data,
                      c->pack.len);
  if (src == SQLITE_OK) src = rt_db_run(&c->db, HQ_Q_STORE_ENSURE, "ti", ev->store, (int64_t)hq__now(c));
  bool located = proto_settings_is_set(&s, PROTO_SET_LAT_E6) && proto_settings_is_set(&s, PROTO_SET_LON_E6);
  if (src == SQLITE_OK)
    src = rt_db_run(&c->db, HQ_Q_STORE_SETTINGS, "ttiiiiiii", ev->store, s.v.name, s.v.lat_e6,
                    s.v.lon_e6, (int64_t)located, s.v.open_min, s.v.close_min, (int64_t)s.v.paused,
                    s.v.radius_m);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "save settings", err);
}

typedef int (*apply_fn)(hq_core *c, const proto_event *ev, hq_err *err);
static const apply_fn appliers[] = {
    [PROTO_TARGET_ORDER] = apply_order,
    [PROTO_TARGET_STOCK] = apply_stock,
    [PROTO_TARGET_SKU] = apply_sku,
    [PROTO_TARGET_STORE] = apply_store,
};

static int materialise(hq_core *c, const proto_event *ev, hq_err *err) {
  proto_target t = proto_event_target(ev->type);
  if ((size_t)t >= N_OF(appliers))
    return hq_err_set(err, HQ_EINVAL, "event: no state for type %d", (int)ev->type);
  return appliers[t](c, ev, err);
}

/* ---- the log ---------------------------------------------------------------------- */

int hq__apply(hq_core *c, const proto_event *ev, bool *dup, hq_err *err) {
  proto_err perr = {0};
  *dup = false;
  proto_buf_reset(&c->json);
  int prc = proto_event_encode(ev, &c->json, &perr);
  if (prc != PROTO_OK) return hq__err_proto(prc, &perr, err);
  sqlite3_stmt *st = NULL;
  int rc = hot_bind(c, HQ_Q_EV_INSERT, &st, "tiittitti", ev->origin, (int64_t)ev->seq,
                    (int64_t)ev->hlc, ev->store, proto_event_type_name(ev->type),
                    (int64_t)proto_event_target(ev->type), proto_event_key(ev), c->json.data,
                    (int64_t)hq__now(c));
  rc = hot_step(st, rc);
  if (rc != SQLITE_OK) return hq__dberr(c, rc, "log event", err);
  if (sqlite3_changes(c->db.h) == 0) {
    *dup = true;
    c->stats.events_duplicate++;
    return HQ_OK;
  }
  c->stats.events_applied++;
  return materialise(c, ev, err);
}

int hq__merge_logged(hq_core *c, const proto_event *ev, hq_err *err) {
  hq_err why;
  hq_err_clear(&why);
  int rc = materialise(c, ev, &why);
  if (rc == HQ_OK) {
    c->stats.events_applied++;
  } else if (rc == HQ_EINVAL) { /* the proto refused it: the same on every replay */
    c->stats.events_unmerged++;
    hq__logf(c, RT_LOG_WARN, "event logged but not merged", "origin=%s seq=%llu err=\"%s\"",
             ev->origin, (unsigned long long)ev->seq, why.msg);
    rc = HQ_OK;
  } else {
    *err = why;
  }
  return rc;
}

int hq__emit(hq_core *c, hq__store *s, proto_event *ev, hq_err *err) {
  bool dup = false;
  ev->v = PROTO_VERSION;
  snprintf(ev->origin, sizeof ev->origin, "%s", s->origin);
  snprintf(ev->store, sizeof ev->store, "%s", s->id);
  ev->seq = s->next_seq;
  ev->hlc = proto_hlc_send(&c->hlc, hq__now(c));
  int rc = hq__apply(c, ev, &dup, err);
  if (rc == HQ_OK && dup) /* C2 says this cannot happen; never overwrite silently */
    rc = hq_err_set(err, HQ_EDB, "seq %llu of %s is already in the log",
                    (unsigned long long)ev->seq, s->origin);
  if (rc == HQ_OK) rc = hq__journal(c, s, true, ev->seq, err);
  if (rc == HQ_OK) s->next_seq++;
  return rc;
}

/* One stored event of either log, for hq__rebuild. */
static int rebuild_one(void *ctx, int64_t id, const char *json, size_t len) {
  hq_core *c = ctx;
  proto_err perr = {0};
  hq_err *err = &c->rebuild_err;
  int prc = proto_event_decode(json, len, c->ev, &perr);
  int rc = prc == PROTO_OK ? materialise(c, c->ev, err)
                           : hq_err_set(err, HQ_ECORRUPT, "rebuild: stored event: %s", perr.msg);
  if (rc == HQ_EINVAL) rc = HQ_OK; /* refused by the proto: unmerged, as when it came */
  if (id > c->log_applied) c->log_applied = id;
  return rc;
}

int hq__rebuild(hq_core *c, hq_err *err) {
  static const char wipe[] =
      "DELETE FROM order_items; DELETE FROM orders; DELETE FROM stock; DELETE FROM deltas;"
      "DELETE FROM sku; DELETE FROM settings;";
  sqlite3_stmt *st = NULL;
  size_t n = 0;
  int src = rt_db_exec(&c->db, wipe);
  int rc = src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "rebuild", err);
  hq_err_clear(&c->rebuild_err);
  if (rc == HQ_OK) src = rt_db_bind(&c->db, HQ_Q_EV_ALL, &st, "");
  c->wb.on = true;
  /* HQ's own events (hq.db), then the boxes' (the store log): the merge
   * does not care about the order. */
  while (rc == HQ_OK && src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *json = (const char *)sqlite3_column_text(st, 0);
    rc = rebuild_one(c, 0, json ? json : "", (size_t)sqlite3_column_bytes(st, 0));
    src = SQLITE_OK;
  }
  src = rt_db_end(st, src);
  if (rc == HQ_OK && src != SQLITE_OK) rc = hq__dberr(c, src, "rebuild", err);
  c->log_applied = 0;
  do {
    rc = rc == HQ_OK ? hq__logr_after(&c->logr, c->log_applied, 4096, rebuild_one, c, &n, err) : rc;
    if (rc != HQ_OK && c->rebuild_err.code) *err = c->rebuild_err;
  } while (rc == HQ_OK && n > 0);
  if (rc == HQ_OK) rc = hq__wb_flush(c, err);
  hq__wb_drop(c);
  c->wb.on = false;
  if (rc == HQ_OK) hq__logf(c, RT_LOG_INFO, "state rebuilt from the event logs", NULL);
  return rc;
}
