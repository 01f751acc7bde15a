/* merge_util.c - see merge_util.h. */
#include "merge_util.h"

#include <stdlib.h>
#include <string.h>

uint64_t tu_base_seed(void) {
  const char *s = getenv("RETAIL_SEED");
  return s && *s ? strtoull(s, NULL, 0) : UINT64_C(20240611);
}

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void tu_case_init(tu_case *c, uint64_t seed, int index) {
  uint64_t x = seed ^ ((uint64_t)index * UINT64_C(0xd1b54a32d192ed03));
  c->seed = seed;
  c->index = index;
  c->state = splitmix(&x);
}

uint64_t tu_next(tu_case *c) { return splitmix(&c->state); }

uint32_t tu_below(tu_case *c, uint32_t n) { return n ? (uint32_t)(tu_next(c) % n) : 0; }

void tu_shuffle(tu_case *c, size_t *idx, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = tu_below(c, (uint32_t)i);
    size_t t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}

proto_event tu_ev(proto_event_type t, const char *origin, uint64_t seq, uint64_t hlc,
                  const char *order_id) {
  proto_event ev;
  proto_event_init(&ev, t, origin, seq, hlc, "s1");
  if (order_id && proto_event_target(t) == PROTO_TARGET_ORDER)
    strcpy(ev.body.step.order_id, order_id);
  return ev;
}

proto_event tu_dispatch(const char *origin, uint64_t seq, uint64_t hlc, const char *order_id,
                        proto_order_kind k, int n, ...) {
  proto_event ev = tu_ev(PROTO_EV_ORDER_DISPATCHED, origin, seq, hlc, order_id);
  proto_ev_dispatched *d = &ev.body.dispatched;
  va_list ap;
  d->kind = k;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    strcpy(d->items[i].sku, va_arg(ap, const char *));
    d->items[i].qty = va_arg(ap, int);
    d->items[i].price = 100 * (i + 1);
    d->total += d->items[i].price * d->items[i].qty;
  }
  va_end(ap);
  d->n_items = (uint32_t)n;
  strcpy(d->pickup_code, "1234");
  return ev;
}

void tu_apply_ok(proto_order *o, const proto_event *ev) {
  int rc = proto_order_apply(o, ev);
  if (rc != PROTO_OK)
    fail_msg("apply %s hlc %" PRIu64 ": %s", proto_event_type_name(ev->type), ev->hlc,
             proto_err_name(rc));
}

static bool stamp_eq(const proto_stamp *a, const proto_stamp *b) {
  return a->hlc == b->hlc && (a->hlc == 0 || strcmp(a->origin, b->origin) == 0);
}

static bool info_eq(const proto_ev_dispatched *a, const proto_ev_dispatched *b) {
  if (strcmp(a->order_id, b->order_id) || a->kind != b->kind || a->n_items != b->n_items ||
      strcmp(a->pickup_code, b->pickup_code) || strcmp(a->customer, b->customer) ||
      strcmp(a->phone_tail, b->phone_tail) || strcmp(a->note, b->note) || a->total != b->total ||
      a->placed_ms != b->placed_ms)
    return false;
  for (uint32_t i = 0; i < a->n_items; i++) {
    const proto_item *x = &a->items[i], *y = &b->items[i];
    if (strcmp(x->sku, y->sku) || strcmp(x->name, y->name) || x->qty != y->qty ||
        x->price != y->price)
      return false;
  }
  return true;
}

/* Registers compare their content only when written. */
#define REG_EQ(stamp, cond) (stamp_eq(&a->stamp, &b->stamp) && (a->stamp.hlc == 0 || (cond)))

bool tu_order_eq(const proto_order *a, const proto_order *b) {
  if (strcmp(a->order_id, b->order_id) || strcmp(a->store, b->store) ||
      memcmp(a->ms_hlc, b->ms_hlc, sizeof a->ms_hlc) || a->reminders != b->reminders ||
      a->n_unavailable != b->n_unavailable)
    return false;
  for (uint32_t i = 0; i < a->n_unavailable; i++)
    if (strcmp(a->unavailable[i], b->unavailable[i])) return false;
  return REG_EQ(info_stamp, info_eq(&a->info, &b->info)) &&
         REG_EQ(reject_stamp, a->reject_reason == b->reject_reason) &&
         REG_EQ(cancel_stamp, a->cancel_by == b->cancel_by &&
                                  !strcmp(a->cancel_reason, b->cancel_reason)) &&
         REG_EQ(rider_stamp, !strcmp(a->rider.name, b->rider.name) &&
                                 !strcmp(a->rider.phone_tail, b->rider.phone_tail) &&
                                 a->rider.eta_ms == b->rider.eta_ms) &&
         REG_EQ(ship_stamp, !strcmp(a->shipped.courier, b->shipped.courier) &&
                                !strcmp(a->shipped.tracking, b->shipped.tracking)) &&
         REG_EQ(resolve_stamp, !strcmp(a->resolved.resolution, b->resolved.resolution) &&
                                   !strcmp(a->resolved.note, b->resolved.note)) &&
         REG_EQ(remind_stamp, !strcmp(a->remind_note, b->remind_note));
}

bool tu_sku_eq(const proto_sku *a, const proto_sku *b) {
  const proto_ev_catalog *x = &a->catalog, *y = &b->catalog;
  return !strcmp(a->sku, b->sku) &&
         REG_EQ(catalog_stamp, !strcmp(x->sku, y->sku) && !strcmp(x->name, y->name) &&
                                   !strcmp(x->name_en, y->name_en) && x->price == y->price &&
                                   x->low_threshold == y->low_threshold &&
                                   x->active == y->active) &&
         REG_EQ(avail_stamp, a->avail.sold_out == b->avail.sold_out &&
                                 a->avail.automatic == b->avail.automatic);
}

bool tu_settings_eq(const proto_settings *a, const proto_settings *b) {
  const proto_settings_values *x = &a->v, *y = &b->v;
  if (strcmp(a->store, b->store)) return false;
  for (int f = 0; f < PROTO_SET__COUNT; f++)
    if (!stamp_eq(&a->stamp[f], &b->stamp[f])) return false;
  return !strcmp(x->name, y->name) && x->lat_e6 == y->lat_e6 && x->lon_e6 == y->lon_e6 &&
         x->open_min == y->open_min && x->close_min == y->close_min && x->paused == y->paused &&
         x->auto_accept_s == y->auto_accept_s && x->target_accept_s == y->target_accept_s &&
         x->target_prep_s == y->target_prep_s && x->target_wait_s == y->target_wait_s &&
         x->radius_m == y->radius_m;
}
