/* orders.c - the order endpoints after intake: status, cancel, delivery
 * platform rider events, reminders (催单), conflict resolution.
 *
 * HQ writes each as an event of origin hq:<store> for the order's store,
 * checked against HQ's current view of the order:
 *
 *   cancel     legal before handoff (proto_order_check); an order already
 *              cancelled answers 200 again without a second event.  A cancel
 *              that crosses a handoff HQ has not heard of yet becomes a
 *              conflict when the handoff arrives (never dropped).
 *   rider      delivery orders only.  assigned: while the order is open (a
 *              repeat with the same rider writes nothing); arrived: once;
 *              delivered: a fact reported by the platform, recorded whatever
 *              HQ has heard from the store so far (once).
 *   remind     while open; numbered 1, 2, ... by HQ (the only writer).
 *   resolve    only an order in conflict (cancelled and handed off).
 *
 * Every answer is the order as GET /api/v1/orders/<id> shows it.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core_int.h"
#include "jw.h"

/* The order's row: the one that carries the dispatch if several stores
 * wrote events under the same id. */
static int find(hq_core *c, const char *order_id, proto_order *o, hq_err *err) {
  sqlite3_stmt *st = NULL;
  bool found = false;
  int rc = HQ_OK;
  if (!order_id || !proto_id_valid(order_id))
    return hq_err_field(err, HQ_ENOTFOUND, "order_id", "no order '%.63s'", order_id ? order_id : "");
  int src = rt_db_bind(&c->db, HQ_Q_ORDER_FIND, &st, "t", order_id);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    found = true;
    if (rt_db_unpack(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), o, sizeof *o) != 0)
      rc = hq_err_set(err, HQ_ECORRUPT, "order %s: state does not unpack", order_id);
  }
  src = rt_db_end(st, src);
  if (rc == HQ_OK && src != SQLITE_OK) rc = hq__dberr(c, src, "order", err);
  if (rc == HQ_OK && (!found || o->info_stamp.hlc == 0))
    rc = hq_err_field(err, HQ_ENOTFOUND, "order_id", "no order '%s'", order_id);
  return rc;
}

/* ---- the order as JSON ---------------------------------------------------------------- */

static void milestones(jw *w, const proto_order *o) {
  jw_obj(w, "milestones");
  for (int m = 0; m < PROTO_MS__COUNT; m++)
    if (o->ms_hlc[m]) jw_u64(w, proto_milestone_name((proto_milestone)m), PROTO_HLC_MS(o->ms_hlc[m]));
  jw_end(w);
}

static void items(jw *w, const proto_order *o) {
  jw_arr(w, "items");
  for (uint32_t i = 0; i < o->info.n_items && i < PROTO_ITEMS_MAX; i++) {
    const proto_item *it = &o->info.items[i];
    jw_obj(w, NULL);
    jw_str(w, "sku", it->sku);
    jw_str_opt(w, "name", it->name);
    jw_int(w, "qty", it->qty);
    jw_int(w, "price", it->price);
    jw_bool(w, "unavailable", proto_order_item_unavailable(o, it->sku));
    jw_end(w);
  }
  jw_end_arr(w);
}

static void registers(jw *w, const proto_order *o) {
  if (o->rider_stamp.hlc) {
    jw_obj(w, "rider");
    jw_str(w, "name", o->rider.name);
    jw_str_opt(w, "phone_tail", o->rider.phone_tail);
    jw_u64(w, "eta_ms", o->rider.eta_ms);
    jw_end(w);
  } else {
    jw_null(w, "rider");
  }
  if (o->cancel_stamp.hlc) {
    jw_obj(w, "cancel");
    jw_str(w, "by", proto_cancel_by_name(o->cancel_by));
    jw_str_opt(w, "reason", o->cancel_reason);
    jw_end(w);
  }
  if (o->reject_stamp.hlc) {
    jw_obj(w, "reject");
    jw_str(w, "reason", proto_reject_reason_name(o->reject_reason));
    jw_end(w);
  }
  if (o->ship_stamp.hlc) {
    jw_obj(w, "shipped");
    jw_str(w, "courier", o->shipped.courier);
    jw_str(w, "tracking", o->shipped.tracking);
    jw_end(w);
  }
  if (o->resolve_stamp.hlc) {
    jw_obj(w, "resolution");
    jw_str(w, "resolution", o->resolved.resolution);
    jw_str_opt(w, "note", o->resolved.note);
    jw_end(w);
  }
}

static int order_json(const proto_order *o, proto_buf *body) {
  jw w;
  proto_buf_reset(body);
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_str(&w, "order_id", o->order_id);
  jw_str(&w, "store_id", o->store);
  jw_str(&w, "kind", proto_order_kind_name(o->info.kind));
  jw_str(&w, "status", proto_milestone_name(proto_order_status(o)));
  jw_str(&w, "pickup_code", o->info.pickup_code);
  items(&w, o);
  jw_int(&w, "total", o->info.total);
  jw_u64(&w, "placed_ms", o->info.placed_ms);
  jw_str_opt(&w, "customer", o->info.customer);
  jw_str_opt(&w, "phone_tail", o->info.phone_tail);
  jw_str_opt(&w, "note", o->info.note);
  milestones(&w, o);
  registers(&w, o);
  jw_u64(&w, "reminders", o->reminders);
  jw_bool(&w, "conflict", proto_order_conflict(o));
  jw_bool(&w, "waste", proto_order_waste(o));
  jw_end(&w);
  return jw_done(&w);
}

static int answer(const proto_order *o, proto_buf *body, hq_err *err) {
  return order_json(o, body) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

int hq_order_get(hq_core *c, const char *order_id, proto_buf *body, hq_err *err) {
  proto_order o;
  int rc = find(c, order_id, &o, err);
  return rc == HQ_OK ? answer(&o, body, err) : rc;
}

/* ---- writing -------------------------------------------------------------------------------- */

static int check(const proto_order *o, proto_event_type t, hq_err *err) {
  proto_err perr = {0};
  int prc = proto_order_check(o, t, &perr);
  return prc == PROTO_OK ? HQ_OK : hq__err_proto(prc, &perr, err);
}

/* Emit ev (body filled, order_id set) for o's store and merge it into o. */
static int emit(hq_core *c, proto_order *o, proto_event *ev, hq_err *err) {
  hq__store *s = hq__store_get(c, o->store, true, err);
  int rc = s ? hq__emit(c, s, ev, err) : HQ_EINVAL;
  if (rc == HQ_OK && proto_order_apply(o, ev) == PROTO_EINVAL)
    rc = hq_err_set(err, HQ_EINVAL, "order %s: event not applicable", o->order_id);
  return rc;
}

typedef int (*order_fn)(hq_core *c, proto_order *o, const void *req, hq_err *err);

/* Find, run fn in a transaction, answer with the order. */
static int run(hq_core *c, const char *order_id, order_fn fn, const void *req, proto_buf *body,
               hq_err *err) {
  proto_order o;
  int rc = hq__cmd_begin(c, err);
  if (rc != HQ_OK) return rc;
  rc = find(c, order_id, &o, err);
  if (rc == HQ_OK) rc = fn(c, &o, req, err);
  rc = hq__cmd_end(c, rc, err);
  return rc == HQ_OK ? answer(&o, body, err) : rc;
}

static int do_cancel(hq_core *c, proto_order *o, const void *req, hq_err *err) {
  const hq_cancel_req *r = req;
  proto_event ev;
  if (proto_order_reached(o, PROTO_MS_CANCELLED)) return HQ_OK; /* a retry: nothing new */
  int rc = check(o, PROTO_EV_ORDER_CANCELLED, err);
  if (rc != HQ_OK) return rc;
  proto_event_init(&ev, PROTO_EV_ORDER_CANCELLED, "", 0, 0, "");
  snprintf(ev.body.cancelled.order_id, PROTO_ID_MAX, "%s", o->order_id);
  ev.body.cancelled.by = r->by;
  snprintf(ev.body.cancelled.reason, PROTO_NOTE_MAX, "%s", r->reason);
  return emit(c, o, &ev, err);
}

int hq_order_cancel(hq_core *c, const char *order_id, const hq_cancel_req *r, proto_buf *body,
                    hq_err *err) {
  if ((unsigned)r->by >= PROTO_CANCEL__COUNT || r->by == PROTO_CANCEL_STORE)
    return hq_err_field(err, HQ_EINVAL, "by", "customer or hq");
  return run(c, order_id, do_cancel, r, body, err);
}

static int step(hq_core *c, proto_order *o, proto_event_type t, proto_milestone m, hq_err *err) {
  proto_event ev;
  if (proto_order_reached(o, m)) return HQ_OK;
  int rc = t == PROTO_EV_ORDER_DELIVERED ? HQ_OK : check(o, t, err);
  if (rc != HQ_OK) return rc;
  proto_event_init(&ev, t, "", 0, 0, "");
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "%s", o->order_id);
  snprintf(ev.body.step.by, PROTO_ID_MAX, "rider");
  return emit(c, o, &ev, err);
}

static int do_rider(hq_core *c, proto_order *o, const void *req, hq_err *err) {
  const hq_rider_req *r = req;
  proto_event ev;
  if (o->info.kind != PROTO_KIND_DELIVERY)
    return hq_err_set(err, HQ_EILLEGAL, "order %s is a %s order: rider events are for delivery orders",
                      o->order_id, proto_order_kind_name(o->info.kind));
  if (r->event == HQ_RIDER_ARRIVED) return step(c, o, PROTO_EV_RIDER_ARRIVED, PROTO_MS_RIDER_ARRIVED, err);
  if (r->event == HQ_RIDER_DELIVERED) return step(c, o, PROTO_EV_ORDER_DELIVERED, PROTO_MS_DELIVERED, err);
  if (o->rider_stamp.hlc && strcmp(o->rider.name, r->name) == 0 &&
      strcmp(o->rider.phone_tail, r->phone_tail) == 0 && o->rider.eta_ms == r->eta_ms)
    return HQ_OK; /* the same assignment again */
  int rc = check(o, PROTO_EV_RIDER_ASSIGNED, err);
  if (rc != HQ_OK) return rc;
  proto_event_init(&ev, PROTO_EV_RIDER_ASSIGNED, "", 0, 0, "");
  proto_ev_rider *b = &ev.body.rider;
  snprintf(b->order_id, PROTO_ID_MAX, "%s", o->order_id);
  snprintf(b->name, sizeof b->name, "%s", r->name);
  snprintf(b->phone_tail, sizeof b->phone_tail, "%s", r->phone_tail);
  b->eta_ms = r->eta_ms;
  return emit(c, o, &ev, err);
}

int hq_order_rider(hq_core *c, const char *order_id, const hq_rider_req *r, proto_buf *body,
                   hq_err *err) {
  if ((unsigned)r->event >= HQ_RIDER__COUNT)
    return hq_err_field(err, HQ_EINVAL, "event", "assigned, arrived or delivered");
  if (r->event == HQ_RIDER_ASSIGNED && !r->name[0])
    return hq_err_field(err, HQ_EINVAL, "name", "required for \"assigned\"");
  if (r->eta_ms > PROTO_SEQ_MAX) return hq_err_field(err, HQ_EINVAL, "eta_ms", "out of range");
  return run(c, order_id, do_rider, r, body, err);
}

static int do_remind(hq_core *c, proto_order *o, const void *req, hq_err *err) {
  const hq_note_req *r = req;
  proto_event ev;
  int rc = check(o, PROTO_EV_ORDER_REMINDED, err);
  if (rc != HQ_OK) return rc;
  proto_event_init(&ev, PROTO_EV_ORDER_REMINDED, "", 0, 0, "");
  snprintf(ev.body.reminded.order_id, PROTO_ID_MAX, "%s", o->order_id);
  ev.body.reminded.n = o->reminders + 1;
  snprintf(ev.body.reminded.note, PROTO_NOTE_MAX, "%s", r->note);
  return emit(c, o, &ev, err);
}

int hq_order_remind(hq_core *c, const char *order_id, const hq_note_req *r, proto_buf *body,
                    hq_err *err) {
  return run(c, order_id, do_remind, r, body, err);
}

static int do_resolve(hq_core *c, proto_order *o, const void *req, hq_err *err) {
  const hq_note_req *r = req;
  proto_event ev;
  int rc = check(o, PROTO_EV_ORDER_RESOLVED, err);
  if (rc != HQ_OK) return rc;
  proto_event_init(&ev, PROTO_EV_ORDER_RESOLVED, "", 0, 0, "");
  snprintf(ev.body.resolved.order_id, PROTO_ID_MAX, "%s", o->order_id);
  snprintf(ev.body.resolved.resolution, PROTO_ID_MAX, "%s", r->resolution);
  snprintf(ev.body.resolved.note, PROTO_NOTE_MAX, "%s", r->note);
  return emit(c, o, &ev, err);
}

int hq_order_resolve(hq_core *c, const char *order_id, const hq_note_req *r, proto_buf *body,
                     hq_err *err) {
  if (!proto_id_valid(r->resolution))
    return hq_err_field(err, HQ_EINVAL, "resolution", "required: an id such as refund or redeliver");
  return run(c, order_id, do_resolve, r, body, err);
}
