/* gen.c - what each replica may issue: random, but legal for its role and
 * for its own current view (never for the truth it cannot see yet).
 *
 *   hq      dispatches orders to a store; cancels (customer / hq), reminds,
 *           rider.assigned / rider.arrived (delivery), delivered (delivery,
 *           express); resolves the conflicts it sees; catalog entries and
 *           settings of any store; warehouse stock deltas (receive,
 *           transfer_in, correction), audit stocktakes and availability
 *           holds for any store (so those registers have two writers)
 *   store   on its own orders: accept, reject, preparing, ready, completed
 *           (pickup), picked_up (delivery), shipped (express),
 *           item_unavailable, cancel (store); a sale delta per available line
 *           at handoff; stock deltas of every reason, stocktakes whose seen
 *           vector is its own version vector of the stock writers (itself
 *           and hq), availability toggles, its own settings
 * Every order event is first checked with proto_order_check() on the local
 * state; the kind rules (pickup completes, delivery is picked up, express
 * ships) are the tables below.  An event only exists once sim_issue() ran.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"

#define KP (1u << PROTO_KIND_PICKUP)
#define KD (1u << PROTO_KIND_DELIVERY)
#define KE (1u << PROTO_KIND_EXPRESS)
#define KALL (KP | KD | KE)

typedef struct order_step {
  proto_event_type t;
  unsigned kinds;     /* order kinds it applies to */
  unsigned weight;
} order_step;

static const order_step store_steps[] = {
    {PROTO_EV_ORDER_ACCEPTED, KALL, 60},  {PROTO_EV_ORDER_REJECTED, KALL, 2},
    {PROTO_EV_ORDER_PREPARING, KALL, 60}, {PROTO_EV_ORDER_READY, KALL, 60},
    {PROTO_EV_ORDER_COMPLETED, KP, 60},   {PROTO_EV_ORDER_PICKED_UP, KD, 60},
    {PROTO_EV_ORDER_SHIPPED, KE, 60},     {PROTO_EV_ORDER_ITEM_UNAVAILABLE, KALL, 4},
    {PROTO_EV_ORDER_CANCELLED, KALL, 1},
};

static const order_step hq_steps[] = {
    {PROTO_EV_ORDER_CANCELLED, KALL, 2},  {PROTO_EV_ORDER_REMINDED, KALL, 4},
    {PROTO_EV_RIDER_ASSIGNED, KD, 10},    {PROTO_EV_RIDER_ARRIVED, KD, 10},
    {PROTO_EV_ORDER_DELIVERED, KD | KE, 12},
};

static const order_step *pick_step(sim_world *w, const order_step *s, size_t n) {
  unsigned total = 0;
  for (size_t i = 0; i < n; i++) total += s[i].weight;
  unsigned x = sim_below(&w->rng, total);
  for (size_t i = 0; i < n; i++) {
    if (x < s[i].weight) return &s[i];
    x -= s[i].weight;
  }
  return &s[n - 1];
}

static void staff(sim_world *w, char *out) {
  snprintf(out, PROTO_ID_MAX, "staff-%u", 1 + sim_below(&w->rng, 9));
}

/* ---- order bodies -------------------------------------------------------- */

/* Fill the body of t for order o; 1 = nothing sensible to issue. */
typedef int (*fill_fn)(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev);

static int fill_step(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  if (r->is_hq)
    snprintf(ev->body.step.by, PROTO_ID_MAX, "%s", ev->type == PROTO_EV_ORDER_DELIVERED ? "rider" : "hq");
  else if (ev->type == PROTO_EV_ORDER_ACCEPTED && sim_permille(&w->rng, 300))
    snprintf(ev->body.step.by, PROTO_ID_MAX, "auto");
  else
    staff(w, ev->body.step.by);
  return 0;
}

static int fill_rejected(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  ev->body.rejected.reason = (proto_reject_reason)sim_below(&w->rng, PROTO_REJECT__COUNT);
  staff(w, ev->body.rejected.by);
  return 0;
}

static int fill_shipped(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  snprintf(ev->body.shipped.courier, PROTO_NAME_MAX, "SF Express");
  snprintf(ev->body.shipped.tracking, PROTO_ID_MAX, "SF%010u", sim_below(&w->rng, 1000000000u));
  return 0;
}

static int fill_cancelled(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  ev->body.cancelled.by = !r->is_hq ? PROTO_CANCEL_STORE
                          : sim_permille(&w->rng, 500) ? PROTO_CANCEL_CUSTOMER : PROTO_CANCEL_HQ;
  snprintf(ev->body.cancelled.reason, PROTO_NOTE_MAX, "%s",
           r->is_hq ? "customer changed their mind" : "machine broken");
  return 0;
}

static int fill_reminded(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  ev->body.reminded.n = o->reminders + 1;  /* hq is the only writer: its view is complete */
  snprintf(ev->body.reminded.note, PROTO_NOTE_MAX, "催单 #%u", o->reminders + 1);
  return 0;
}

static int fill_item(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  uint32_t n = o->info.n_items, start = sim_below(&w->rng, n ? n : 1);
  for (uint32_t i = 0; i < n; i++) {
    const char *sku = o->info.items[(start + i) % n].sku;
    if (proto_order_item_unavailable(o, sku)) continue;
    snprintf(ev->body.item.sku, PROTO_ID_MAX, "%s", sku);
    return 0;
  }
  return 1;
}

static int fill_resolved(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  snprintf(ev->body.resolved.resolution, PROTO_ID_MAX, "%s",
           sim_permille(&w->rng, 800) ? "refund" : "redeliver");
  snprintf(ev->body.resolved.note, PROTO_NOTE_MAX, "cancelled after handoff");
  return 0;
}

static int fill_rider(sim_world *w, const sim_replica *r, const proto_order *o, proto_event *ev) {
  snprintf(ev->body.rider.name, PROTO_NAME_MAX, "Rider %u", sim_below(&w->rng, 500));
  snprintf(ev->body.rider.phone_tail, PROTO_CODE_MAX, "%04u", sim_below(&w->rng, 10000));
  ev->body.rider.eta_ms = sim_wall(w, r) + (uint64_t)sim_range(&w->rng, 60000, 900000);
  return 0;
}

static const fill_fn fills[PROTO_EV__COUNT] = {
    [PROTO_EV_ORDER_ACCEPTED] = fill_step,       [PROTO_EV_ORDER_REJECTED] = fill_rejected,
    [PROTO_EV_ORDER_PREPARING] = fill_step,      [PROTO_EV_ORDER_READY] = fill_step,
    [PROTO_EV_ORDER_SHIPPED] = fill_shipped,     [PROTO_EV_ORDER_PICKED_UP] = fill_step,
    [PROTO_EV_ORDER_COMPLETED] = fill_step,      [PROTO_EV_ORDER_DELIVERED] = fill_step,
    [PROTO_EV_ORDER_CANCELLED] = fill_cancelled, [PROTO_EV_ORDER_REMINDED] = fill_reminded,
    [PROTO_EV_ORDER_ITEM_UNAVAILABLE] = fill_item, [PROTO_EV_ORDER_RESOLVED] = fill_resolved,
    [PROTO_EV_RIDER_ASSIGNED] = fill_rider,      [PROTO_EV_RIDER_ARRIVED] = fill_step,
};

/* ---- stock bodies -------------------------------------------------------- */

static int issue_delta(sim_world *w, sim_replica *r, const char *store, const char *sku,
                       proto_stock_reason why, int64_t delta, const char *ref, const char *peer) {
  proto_event *ev = sim_slot(w, r, PROTO_EV_STOCK_DELTA, store);
  proto_ev_delta *d = &ev->body.delta;
  snprintf(d->sku, PROTO_ID_MAX, "%s", sku);
  d->delta = delta;
  d->reason = why;
  snprintf(d->ref, PROTO_ID_MAX, "%s", ref);
  snprintf(d->peer, PROTO_ID_MAX, "%s", peer);
  return sim_issue(w, r);
}

/* The store hands an order off: one sale per line it could serve. */
static int sell(sim_world *w, sim_replica *r, const proto_order *o) {
  int rc = 0;
  for (uint32_t i = 0; rc == 0 && i < o->info.n_items; i++) {
    const proto_item *it = &o->info.items[i];
    if (!proto_order_item_unavailable(o, it->sku))
      rc = issue_delta(w, r, o->store, it->sku, PROTO_STOCK_SALE, -(int64_t)it->qty, o->order_id, "");
  }
  return rc;
}

/* ---- order actions ------------------------------------------------------- */

static const sim_key *pick_recent(sim_world *w, const sim_replica *r) {
  /* Mostly recent orders; now and then any order, for late events. */
  size_t win = sim_permille(&w->rng, 50) ? r->n_orders : r->is_hq ? 96 : 40;
  if (win > r->n_orders) win = r->n_orders;
  return r->orders[r->n_orders - 1 - sim_below(&w->rng, (uint32_t)win)];
}

/* An order to act on; a store looks for one that has not ended in its view
 * (rejected, cancelled, handed off), as staff work the open tickets. */
static const sim_key *pick_order(sim_world *w, const sim_replica *r) {
  if (!r->n_orders) return NULL;
  const sim_key *k = pick_recent(w, r);
  for (int i = 0; i < 4 && !r->is_hq; i++) {
    int rank = proto_milestone_rank(proto_order_status(&k->st.order));
    if (rank < proto_milestone_rank(PROTO_MS_REJECTED)) break;
    k = pick_recent(w, r);
  }
  return k;
}

static int issue_order_event(sim_world *w, sim_replica *r, const proto_order *o, proto_event_type t) {
  proto_event *ev = sim_slot(w, r, t, o->store);
  snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", o->order_id);  /* every order body starts so */
  if (fills[t](w, r, o, ev)) return 0;
  int rc = sim_issue(w, r);
  bool handoff = t == PROTO_EV_ORDER_COMPLETED || t == PROTO_EV_ORDER_PICKED_UP || t == PROTO_EV_ORDER_SHIPPED;
  return rc == 0 && handoff ? sell(w, r, o) : rc;
}

/* Issue step s on order k if it fits the kind and proto_order_check() allows
 * it now; *done says whether it did. */
static int try_step(sim_world *w, sim_replica *r, const sim_key *k, const order_step *s, bool *done) {
  const proto_order *o = &k->st.order;
  *done = false;
  if (!(s->kinds & (1u << o->info.kind))) return 0;
  proto_err err;
  proto_err_clear(&err);
  int rc = proto_order_check(o, s->t, &err);
  if (rc == PROTO_EILLEGAL) {
    w->st.illegal++;
    return 0;
  }
  SIM_CHECK(w, rc == PROTO_OK, "proto_order_check(%s, %s) returned %s: %s", o->order_id,
            proto_event_type_name(s->t), proto_err_name(rc), err.msg);
  *done = true;
  return issue_order_event(w, r, o, s->t);
}

/* Staff pick an order and do whatever is next on it: the steps in a
 * weighted random order, the first legal one wins, so the lifecycle moves on
 * and the rare steps (reject, cancel) stay rare. */
static int act_store_order(sim_world *w, sim_replica *r) {
  enum { N = sizeof store_steps / sizeof store_steps[0] };
  for (int pick = 0; pick < 3; pick++) {
    const sim_key *k = pick_order(w, r);
    if (!k) return 0;
    unsigned weight[N], left = 0;
    for (size_t i = 0; i < N; i++) left += weight[i] = store_steps[i].weight;
    while (left) {
      unsigned x = sim_below(&w->rng, left);
      size_t i = 0;
      while (x >= weight[i]) x -= weight[i++];
      left -= weight[i];
      weight[i] = 0;
      bool done = false;
      int rc = try_step(w, r, k, &store_steps[i], &done);
      if (rc || done) return rc;
    }
  }
  return 0;
}

/* HQ's events come from outside (customer, delivery platform): first what
 * happens, then an order it can legally happen to. */
static int act_hq_order(sim_world *w, sim_replica *r) {
  const order_step *s = pick_step(w, hq_steps, sizeof hq_steps / sizeof hq_steps[0]);
  for (int pick = 0; pick < 8; pick++) {
    const sim_key *k = pick_order(w, r);
    if (!k) return 0;
    bool done = false;
    int rc = try_step(w, r, k, s, &done);
    if (rc || done) return rc;
  }
  return 0;
}

static int64_t catalog_price(const sim_replica *r, const char *store, const char *sku) {
  char key[SIM_KEY_MAX];
  snprintf(key, sizeof key, "K|%s|%s", store, sku);
  const sim_key *k = sim_key_find(r, key);
  return k && k->st.sku.catalog_stamp.hlc ? k->st.sku.catalog.price : 1800;
}

static int act_dispatch(sim_world *w, sim_replica *r) {
  static const proto_order_kind kinds[] = {PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_DELIVERY,
                                           PROTO_KIND_DELIVERY, PROTO_KIND_EXPRESS};
  char id[PROTO_ID_MAX];
  snprintf(id, sizeof id, "ord-%06llu", (unsigned long long)++r->next_order);
  const char *store = sim_rep_names[1 + sim_below(&w->rng, SIM_NSTORE)];
  proto_order fresh;
  proto_order_init(&fresh, id, store);
  proto_err err;
  proto_err_clear(&err);
  int rc = proto_order_check(&fresh, PROTO_EV_ORDER_DISPATCHED, &err);
  if (rc == PROTO_EILLEGAL) w->st.illegal++;
  if (rc == PROTO_EILLEGAL) return 0;
  SIM_CHECK(w, rc == PROTO_OK, "proto_order_check(new order, dispatched): %s", err.msg);

  proto_event *ev = sim_slot(w, r, PROTO_EV_ORDER_DISPATCHED, store);
  proto_ev_dispatched *d = &ev->body.dispatched;
  snprintf(d->order_id, PROTO_ID_MAX, "%s", id);
  d->kind = kinds[sim_below(&w->rng, sizeof kinds / sizeof kinds[0])];
  int skus[SIM_NSKU];
  for (int i = 0; i < SIM_NSKU; i++) skus[i] = i;
  d->n_items = 1 + sim_below(&w->rng, 4);
  for (uint32_t i = 0; i < d->n_items; i++) {  /* distinct SKUs: partial shuffle */
    uint32_t j = i + sim_below(&w->rng, SIM_NSKU - i);
    int t = skus[i];
    skus[i] = skus[j];
    skus[j] = t;
    proto_item *it = &d->items[i];
    snprintf(it->sku, PROTO_ID_MAX, "%s", sim_sku_names[skus[i]]);
    snprintf(it->name, PROTO_NAME_MAX, "%s", sim_sku_names[skus[i]] + 4);
    it->qty = 1 + (int32_t)sim_below(&w->rng, 3);
    it->price = catalog_price(r, store, it->sku);
    d->total += it->qty * it->price;
  }
  snprintf(d->pickup_code, PROTO_CODE_MAX, "%04u", sim_below(&w->rng, 10000));
  snprintf(d->customer, PROTO_NAME_MAX, "customer-%u", sim_below(&w->rng, 5000));
  snprintf(d->phone_tail, PROTO_CODE_MAX, "%04u", sim_below(&w->rng, 10000));
  if (sim_permille(&w->rng, 200)) snprintf(d->note, PROTO_NOTE_MAX, "少冰 less ice");
  d->placed_ms = sim_wall(w, r);
  return sim_issue(w, r);
}

static int act_resolve(sim_world *w, sim_replica *r) {
  if (!r->n_conflicts) return 0;
  size_t i = sim_below(&w->rng, (uint32_t)r->n_conflicts);
  sim_key *k = r->conflicts[i];
  r->conflicts[i] = r->conflicts[--r->n_conflicts];
  proto_err err;
  proto_err_clear(&err);
  int rc = proto_order_check(&k->st.order, PROTO_EV_ORDER_RESOLVED, &err);
  if (rc == PROTO_EILLEGAL) w->st.illegal++;
  if (rc == PROTO_EILLEGAL) return 0;
  SIM_CHECK(w, rc == PROTO_OK, "proto_order_check(%s, resolved): %s", k->st.order.order_id, err.msg);
  return issue_order_event(w, r, &k->st.order, PROTO_EV_ORDER_RESOLVED);
}

/* ---- stock, sku and settings actions ------------------------------------- */

static const sim_key *find(const sim_replica *r, char tag, const char *store, const char *sku) {
  char key[SIM_KEY_MAX];
  snprintf(key, sizeof key, "%c|%s|%s", tag, store, sku);
  return sim_key_find(r, key);
}

static int64_t on_hand(const sim_replica *r, const char *store, const char *sku) {
  const sim_key *k = find(r, 'S', store, sku);
  return k ? proto_stock_on_hand(&k->st.stock) : 0;
}

static int act_hq_stock(sim_world *w, sim_replica *r) {
  static const proto_stock_reason why[] = {PROTO_STOCK_RECEIVE, PROTO_STOCK_TRANSFER_IN,
                                           PROTO_STOCK_CORRECTION};
  proto_stock_reason y = why[sim_below(&w->rng, 3)];
  /* One draw per statement: C leaves the order of evaluation inside an
   * expression open, and a seed must replay the same on every compiler. */
  int64_t delta;
  if (y == PROTO_STOCK_CORRECTION) {
    int64_t sign = sim_permille(&w->rng, 500) ? 1 : -1;
    delta = sign * sim_range(&w->rng, 1, 5);
  } else {
    delta = sim_range(&w->rng, 5, 30);
  }
  char ref[PROTO_ID_MAX];
  snprintf(ref, sizeof ref, "po-%u", sim_below(&w->rng, 100000));
  const char *store = sim_rep_names[1 + sim_below(&w->rng, SIM_NSTORE)];
  const char *sku = sim_sku_names[sim_below(&w->rng, SIM_NSKU)];
  return issue_delta(w, r, store, sku, y, delta, ref,
                     y == PROTO_STOCK_TRANSFER_IN ? "warehouse-01" : "");
}

static int act_store_stock(sim_world *w, sim_replica *r) {
  /* Sign and size per reason: receive, sale, waste, out, in, correction. */
  static const int64_t lo[PROTO_STOCK__COUNT] = {5, -3, -2, -5, 1, -5};
  static const int64_t hi[PROTO_STOCK__COUNT] = {30, -1, -1, -1, 5, 5};
  proto_stock_reason y = (proto_stock_reason)sim_below(&w->rng, PROTO_STOCK__COUNT);
  int64_t delta = sim_range(&w->rng, lo[y], hi[y]);
  if (delta == 0) delta = 1;
  bool transfer = y == PROTO_STOCK_TRANSFER_IN || y == PROTO_STOCK_TRANSFER_OUT;
  const char *peer = transfer ? sim_rep_names[1 + (r->store + 1 + sim_below(&w->rng, SIM_NSTORE - 1)) % SIM_NSTORE] : "";
  char ref[PROTO_ID_MAX];
  snprintf(ref, sizeof ref, "tr-%u", sim_below(&w->rng, 100000));
  return issue_delta(w, r, r->name, sim_sku_names[sim_below(&w->rng, SIM_NSKU)], y, delta,
                     transfer ? ref : "", peer);
}

/* A store counts its own shelf; hq now and then enters an audit count for
 * a store, which makes concurrent stocktakes from two origins. */
static int do_stocktake(sim_world *w, sim_replica *r, const char *store, const char *sku) {
  int64_t counted = on_hand(r, store, sku) + sim_range(&w->rng, -2, 2);
  proto_event *ev = sim_slot(w, r, PROTO_EV_STOCK_STOCKTAKE, store);
  proto_ev_stocktake *t = &ev->body.stocktake;
  snprintf(t->sku, PROTO_ID_MAX, "%s", sku);
  t->counted = counted < 0 ? 0 : counted;
  /* Seen = what this replica holds gap-free from each writer of the
   * store's stock; "hq" sorts before "store-...". */
  const char *writers[] = {sim_rep_names[SIM_HQ], store};
  for (int i = 0; i < 2; i++) {
    uint64_t c = proto_vv_contiguous(&r->vv, writers[i]);
    if (!c) continue;
    snprintf(t->seen[t->n_seen].origin, PROTO_ID_MAX, "%s", writers[i]);
    t->seen[t->n_seen++].seq = c;
  }
  return sim_issue(w, r);
}

/* Staff (or the stock rule) mark a SKU sold out; hq may too (a quality
 * hold), which makes the register multi-writer. */
static int do_avail(sim_world *w, sim_replica *r, const char *store, const char *sku) {
  const sim_key *k = find(r, 'K', store, sku);
  bool sold_out = k && proto_sku_sold_out(&k->st.sku);
  proto_event *ev = sim_slot(w, r, PROTO_EV_SKU_AVAILABILITY, store);
  snprintf(ev->body.avail.sku, PROTO_ID_MAX, "%s", sku);
  ev->body.avail.automatic = !r->is_hq && on_hand(r, store, sku) <= 0;  /* the stock rule */
  ev->body.avail.sold_out = ev->body.avail.automatic || !sold_out;
  return sim_issue(w, r);
}

static int act_catalog(sim_world *w, sim_replica *r) {
  int s = sim_below(&w->rng, SIM_NSKU);
  proto_event *ev = sim_slot(w, r, PROTO_EV_CATALOG_ENTRY, sim_rep_names[1 + sim_below(&w->rng, SIM_NSTORE)]);
  proto_ev_catalog *c = &ev->body.catalog;
  snprintf(c->sku, PROTO_ID_MAX, "%s", sim_sku_names[s]);
  snprintf(c->name, PROTO_NAME_MAX, "品 %s", sim_sku_names[s] + 4);
  snprintf(c->name_en, PROTO_NAME_MAX, "%s", sim_sku_names[s] + 4);
  c->price = 100 * sim_range(&w->rng, 8, 35);
  c->low_threshold = sim_range(&w->rng, 0, 5);
  c->active = sim_permille(&w->rng, 900);
  return sim_issue(w, r);
}

static int do_settings(sim_world *w, sim_replica *r, const char *store) {
  /* A store edits its opening hours, pause and auto-accept; hq anything. */
  static const proto_settings_field store_fields[] = {PROTO_SET_OPEN_MIN, PROTO_SET_CLOSE_MIN,
                                                      PROTO_SET_PAUSED, PROTO_SET_AUTO_ACCEPT_S};
  proto_event *ev = sim_slot(w, r, PROTO_EV_STORE_SETTINGS, store);
  proto_ev_settings *s = &ev->body.settings;
  const proto_settings_field_info *fields = proto_settings_fields();
  for (int n = 1 + (int)sim_below(&w->rng, 3); n > 0; n--) {
    int f = r->is_hq ? (int)sim_below(&w->rng, PROTO_SET__COUNT) : (int)store_fields[sim_below(&w->rng, 4)];
    char *p = (char *)&s->v + fields[f].offset;
    s->present |= 1u << f;
    if (fields[f].type == PROTO_FIELD_STRING)
      snprintf(p, PROTO_NAME_MAX, "%s rev %u", store, sim_below(&w->rng, 1000));
    else if (fields[f].type == PROTO_FIELD_BOOL)
      *(bool *)p = sim_permille(&w->rng, 500);
    else
      *(int64_t *)(void *)p = sim_range(&w->rng, fields[f].min, fields[f].max);
  }
  return sim_issue(w, r);
}

/* hq writes for any store, a store for itself. */
static const char *target_store(sim_world *w, const sim_replica *r) {
  return r->is_hq ? sim_rep_names[1 + sim_below(&w->rng, SIM_NSTORE)] : r->name;
}
static int act_stocktake(sim_world *w, sim_replica *r) {
  const char *store = target_store(w, r);
  return do_stocktake(w, r, store, sim_sku_names[sim_below(&w->rng, SIM_NSKU)]);
}
static int act_avail(sim_world *w, sim_replica *r) {
  const char *store = target_store(w, r);
  return do_avail(w, r, store, sim_sku_names[sim_below(&w->rng, SIM_NSKU)]);
}
static int act_settings(sim_world *w, sim_replica *r) { return do_settings(w, r, target_store(w, r)); }

/* ---- same-millisecond writes --------------------------------------------- */

/* Both cancel the same open order, if both see it as cancellable. */
static int tie_cancel(sim_world *w, sim_replica *hq, sim_replica *st, int *issued) {
  const sim_key *ks = pick_order(w, st);
  if (!ks) return 0;
  const sim_key *kh = sim_key_find(hq, ks->key);
  if (!kh || proto_order_check(&ks->st.order, PROTO_EV_ORDER_CANCELLED, NULL) != PROTO_OK ||
      proto_order_check(&kh->st.order, PROTO_EV_ORDER_CANCELLED, NULL) != PROTO_OK)
    return 0;
  int rc = issue_order_event(w, hq, &kh->st.order, PROTO_EV_ORDER_CANCELLED);
  if (rc == 0) rc = issue_order_event(w, st, &ks->st.order, PROTO_EV_ORDER_CANCELLED);
  *issued = 2;
  return rc;
}

/* hq and a store write the same register in the same millisecond with
 * clocks that agree: both HLCs come out equal and only the origin orders
 * the two writes.  The clocks are stepped 20 s ahead for the moment (ahead
 * of every HLC in the system, so each send is exactly wall << 16) and then
 * stepped back, an NTP glitch the HLC must absorb. */
int sim_gen_tie(sim_world *w) {
  sim_replica *hq = &w->rep[SIM_HQ], *st = &w->rep[1 + sim_below(&w->rng, SIM_NSTORE)];
  const char *sku = sim_sku_names[sim_below(&w->rng, SIM_NSKU)];
  int64_t off_h = hq->clock_offset_ms, off_s = st->clock_offset_ms;
  bool rtc_h = hq->no_rtc, rtc_s = st->no_rtc;
  hq->clock_offset_ms = st->clock_offset_ms = 20000;
  hq->no_rtc = st->no_rtc = false;
  size_t first = w->n_ev;
  int issued = 2, rc = 0;
  switch (sim_below(&w->rng, 4)) {
    case 0: rc = do_settings(w, hq, st->name); if (!rc) rc = do_settings(w, st, st->name); break;
    case 1: rc = do_avail(w, hq, st->name, sku); if (!rc) rc = do_avail(w, st, st->name, sku); break;
    case 2: rc = do_stocktake(w, hq, st->name, sku); if (!rc) rc = do_stocktake(w, st, st->name, sku); break;
    default: issued = 0; rc = tie_cancel(w, hq, st, &issued); break;
  }
  hq->clock_offset_ms = off_h;
  st->clock_offset_ms = off_s;
  hq->no_rtc = rtc_h;
  st->no_rtc = rtc_s;
  if (rc == 0 && issued == 2 && sim_ev(w, (uint32_t)first)->hlc == sim_ev(w, (uint32_t)first + 1)->hlc)
    w->st.ties++;
  return rc;
}

/* ---- the roles ----------------------------------------------------------- */

typedef struct sim_action {
  int (*fn)(sim_world *w, sim_replica *r);
  unsigned weight;
} sim_action;

static const sim_action hq_actions[] = {
    {act_dispatch, 14}, {act_hq_order, 36}, {act_resolve, 4}, {act_catalog, 4},
    {act_settings, 3},  {act_hq_stock, 5},  {act_avail, 2},   {act_stocktake, 1},
};
static const sim_action store_actions[] = {
    {act_store_order, 60}, {act_store_stock, 22}, {act_stocktake, 4},
    {act_avail, 5},        {act_settings, 2},
};

int sim_gen_step(sim_world *w, sim_replica *r) {
  const sim_action *a = r->is_hq ? hq_actions : store_actions;
  size_t n = r->is_hq ? sizeof hq_actions / sizeof *a : sizeof store_actions / sizeof *a;
  unsigned total = 0;
  for (size_t i = 0; i < n; i++) total += a[i].weight;
  unsigned x = sim_below(&w->rng, total);
  size_t i = 0;
  while (x >= a[i].weight) x -= a[i++].weight;
  return a[i].fn(w, r);
}
