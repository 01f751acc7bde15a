/* bench_corpus.c - the seeded day of events described in bench_corpus.h.
 *
 * Two passes:
 *   1. plan: every event as a small `spec` (time, type, writer, subject);
 *      orders follow the plan tables below, the rest of the day's traffic
 *      fills up to opts.events; then sort by time (ties: creation order).
 *   2. encode: walk the specs in time order, give each its origin's next seq
 *      and HLC, build the proto_event, encode it, and track the expected
 *      state (order status by rank, on-hand stock) exactly as a correct
 *      merge must see it.
 * Deterministic for a given opts: splitmix64 from opts.seed, no wall clock.
 */
#include "bench_corpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_START_MS UINT64_C(1763679600000) /* 2025-11-21 07:00 +08:00 */
#define DAY_MS (14u * 3600u * 1000u)
#define SEC 1000u
#define MIN (60u * SEC)
#define LINES_MAX 4

/* ---- plan ------------------------------------------------------------------ */

typedef struct spec {
  uint64_t t_ms;
  uint32_t ix;       /* creation order: makes the sort deterministic */
  uint32_t subject;  /* order index, stock key (store * skus + sku) or store */
  uint8_t type;      /* proto_event_type */
  uint8_t by_hq;     /* written by hq, else by the subject's store box */
  uint8_t arg;       /* order line, stock reason, sold-out flag, variant */
  int32_t value;     /* delta, price or shrinkage */
} spec;

typedef struct gen_order {
  uint16_t store;
  uint8_t kind;
  uint8_t n_items;
  uint8_t sku[LINES_MAX];
  uint8_t qty[LINES_MAX];
  uint16_t code;
  uint8_t extras;    /* bit 0 customer name, bit 1 note */
  uint64_t placed_ms;
} gen_order;

typedef struct gen {
  uint64_t rng;
  bench_corpus_opts o;
  spec *specs;
  size_t n_specs, cap_specs;
  gen_order *orders;
} gen;

/* One step of an order's plan: who writes it and how long after the step
 * before it (uniform in [min_ms, max_ms]). */
typedef struct plan_step {
  proto_event_type type;
  uint8_t by_hq;
  uint32_t min_ms, max_ms;
  uint8_t handoff;   /* first step that hands the order over */
} plan_step;

static const plan_step plan_pickup[] = {
    {PROTO_EV_ORDER_ACCEPTED, 0, 5 * SEC, 60 * SEC, 0},
    {PROTO_EV_ORDER_PREPARING, 0, 10 * SEC, 60 * SEC, 0},
    {PROTO_EV_ORDER_READY, 0, 1 * MIN, 6 * MIN, 0},
    {PROTO_EV_ORDER_COMPLETED, 0, 1 * MIN, 20 * MIN, 1},
};
static const plan_step plan_delivery[] = {
    {PROTO_EV_ORDER_ACCEPTED, 0, 5 * SEC, 60 * SEC, 0},
    {PROTO_EV_RIDER_ASSIGNED, 1, 10 * SEC, 2 * MIN, 0},
    {PROTO_EV_ORDER_PREPARING, 0, 10 * SEC, 60 * SEC, 0},
    {PROTO_EV_ORDER_READY, 0, 1 * MIN, 6 * MIN, 0},
    {PROTO_EV_RIDER_ARRIVED, 1, 0, 5 * MIN, 0},
    {PROTO_EV_ORDER_PICKED_UP, 0, 30 * SEC, 3 * MIN, 1},
    {PROTO_EV_ORDER_DELIVERED, 1, 10 * MIN, 40 * MIN, 0},
};
static const plan_step plan_express[] = {
    {PROTO_EV_ORDER_ACCEPTED, 0, 5 * SEC, 60 * SEC, 0},
    {PROTO_EV_ORDER_PREPARING, 0, 1 * MIN, 10 * MIN, 0},
    {PROTO_EV_ORDER_READY, 0, 5 * MIN, 30 * MIN, 0},
    {PROTO_EV_ORDER_SHIPPED, 0, 10 * MIN, 120 * MIN, 1},
    {PROTO_EV_ORDER_DELIVERED, 1, 60 * MIN, 180 * MIN, 0},
};
static const struct {
  const plan_step *steps;
  size_t n;
  unsigned weight;   /* percent of orders */
} plans[PROTO_KIND__COUNT] = {
    [PROTO_KIND_PICKUP] = {plan_pickup, sizeof plan_pickup / sizeof *plan_pickup, 52},
    [PROTO_KIND_DELIVERY] = {plan_delivery, sizeof plan_delivery / sizeof *plan_delivery, 40},
    [PROTO_KIND_EXPRESS] = {plan_express, sizeof plan_express / sizeof *plan_express, 8},
};

/* The rest of the day's traffic, by weight. */
typedef struct misc_kind {
  proto_event_type type;
  uint8_t arg;       /* stock reason for deltas */
  unsigned weight;
} misc_kind;

static const misc_kind misc_kinds[] = {
    {PROTO_EV_STOCK_DELTA, PROTO_STOCK_RECEIVE, 50},
    {PROTO_EV_STOCK_DELTA, PROTO_STOCK_WASTE, 18},
    {PROTO_EV_STOCK_DELTA, PROTO_STOCK_CORRECTION, 5},
    {PROTO_EV_SKU_AVAILABILITY, 0, 12},
    {PROTO_EV_STOCK_STOCKTAKE, 0, 8},
    {PROTO_EV_CATALOG_ENTRY, 0, 5},
    {PROTO_EV_STORE_SETTINGS, 0, 2},
};

/* Menu: names in Chinese and English, price in cents; SKU i is product
 * i / 2 in size M (even) or L (odd). */
static const struct {
  const char *zh, *en;
  int32_t price;
} menu[] = {
    {"生椰拿铁", "Coconut Latte", 1900},    {"厚乳拿铁", "Thick Milk Latte", 1800},
    {"美式咖啡", "Americano", 1300},        {"丝绒拿铁", "Velvet Latte", 1900},
    {"橙C美式", "Orange Americano", 1600},  {"陨石拿铁", "Brown Sugar Latte", 1900},
    {"柠檬茶", "Lemon Tea", 1200},          {"茉莉花茶", "Jasmine Tea", 1100},
    {"珍珠奶茶", "Bubble Milk Tea", 1400},  {"杨枝甘露", "Mango Pomelo Sago", 1700},
    {"冰淇淋", "Soft Ice Cream", 600},      {"芝士蛋糕", "Cheesecake", 2200},
    {"牛角包", "Croissant", 900},           {"三明治", "Sandwich", 1500},
    {"热狗", "Hot Dog", 1000},              {"关东煮", "Oden", 800},
    {"饭团", "Onigiri", 700},               {"酸奶", "Yogurt", 800},
    {"矿泉水", "Mineral Water", 300},       {"燕麦拿铁", "Oat Latte", 2000},
};
#define MENU_N (sizeof menu / sizeof *menu)

static uint64_t rnd(gen *g) {
  uint64_t z = (g->rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t between(gen *g, uint64_t lo, uint64_t hi) { return lo + rnd(g) % (hi - lo + 1); }

static bool chance(gen *g, unsigned percent) { return rnd(g) % 100 < percent; }

static int push(gen *g, uint64_t t, proto_event_type type, bool by_hq, uint32_t subject,
                uint8_t arg, int32_t value) {
  if (g->n_specs == g->cap_specs) {
    size_t cap = g->cap_specs ? 2 * g->cap_specs : 4096;
    spec *s = realloc(g->specs, cap * sizeof *s);
    if (!s) return PROTO_ENOMEM;
    g->specs = s;
    g->cap_specs = cap;
  }
  g->specs[g->n_specs] = (spec){t, (uint32_t)g->n_specs, subject, (uint8_t)type,
                                (uint8_t)by_hq, arg, value};
  g->n_specs++;
  return PROTO_OK;
}

static uint32_t stock_key(const gen *g, uint32_t store, uint32_t sku) {
  return store * g->o.skus + sku;
}

/* Opening: settings per store, then catalog and a receipt per (store, sku). */
static int plan_opening(gen *g) {
  int rc = PROTO_OK;
  uint64_t t = DAY_START_MS - 60 * MIN;
  for (uint32_t s = 0; s < g->o.stores && rc == PROTO_OK; s++) {
    rc = push(g, t, PROTO_EV_STORE_SETTINGS, true, s, 0, 0);
    for (uint32_t k = 0; k < g->o.skus && rc == PROTO_OK; k++) {
      uint32_t key = stock_key(g, s, k);
      rc = push(g, t + 1, PROTO_EV_CATALOG_ENTRY, true, key, 0,
                menu[(k / 2) % MENU_N].price + (int32_t)(k % 2) * 300);
      if (rc == PROTO_OK)
        rc = push(g, t + 2, PROTO_EV_STOCK_DELTA, false, key, PROTO_STOCK_RECEIVE,
                  (int32_t)between(g, 150, 300));
    }
  }
  return rc;
}

static proto_order_kind pick_kind(gen *g) {
  unsigned r = (unsigned)(rnd(g) % 100), acc = 0;
  for (int k = 0; k < PROTO_KIND__COUNT; k++) {
    acc += plans[k].weight;
    if (r < acc) return (proto_order_kind)k;
  }
  return PROTO_KIND_PICKUP;
}

static void make_order(gen *g, gen_order *o) {
  static const unsigned lines_pct[LINES_MAX] = {45, 35, 15, 5};
  unsigned r = (unsigned)(rnd(g) % 100), acc = 0;
  o->n_items = LINES_MAX;
  for (unsigned i = 0; i < LINES_MAX; i++) {
    acc += lines_pct[i];
    if (r < acc) {
      o->n_items = (uint8_t)(i + 1);
      break;
    }
  }
  o->store = (uint16_t)(rnd(g) % g->o.stores);
  o->kind = (uint8_t)pick_kind(g);
  for (unsigned i = 0; i < o->n_items; i++) {
    o->sku[i] = (uint8_t)(rnd(g) % g->o.skus);
    o->qty[i] = (uint8_t)(chance(g, 80) ? 1 : 2);
  }
  o->code = (uint16_t)between(g, 1000, 9999);
  o->extras = (uint8_t)((chance(g, 30) ? 1 : 0) | (chance(g, 15) ? 2 : 0));
}

/* Events of one order: dispatch, then its plan; 2% rejected, 3% cancelled
 * before handoff (stock given back if it was taken), 5% reminded, 2% with a
 * line marked unavailable.  Sales leave stock at acceptance. */
static int plan_order(gen *g, uint32_t idx) {
  gen_order *o = &g->orders[idx];
  make_order(g, o);
  uint64_t t = DAY_START_MS + rnd(g) % DAY_MS;
  o->placed_ms = t - between(g, 1 * SEC, 8 * SEC);
  int rc = push(g, t, PROTO_EV_ORDER_DISPATCHED, true, idx, 0, 0);
  if (rc != PROTO_OK) return rc;
  if (chance(g, 2)) return push(g, t + between(g, 20 * SEC, 2 * MIN), PROTO_EV_ORDER_REJECTED, false, idx, 0, 0);

  const plan_step *steps = plans[o->kind].steps;
  size_t n = plans[o->kind].n, cut = n, handoff = 0;
  while (!steps[handoff].handoff) handoff++;
  if (chance(g, 3)) cut = (size_t)between(g, 0, handoff - 1);
  bool accepted = false;
  for (size_t i = 0; i < cut && rc == PROTO_OK; i++) {
    t += between(g, steps[i].min_ms, steps[i].max_ms);
    rc = push(g, t, steps[i].type, steps[i].by_hq, idx, 0, 0);
    if (steps[i].type != PROTO_EV_ORDER_ACCEPTED) continue;
    accepted = true;
    for (uint8_t l = 0; l < o->n_items && rc == PROTO_OK; l++)
      rc = push(g, t, PROTO_EV_STOCK_DELTA, false, stock_key(g, o->store, o->sku[l]),
                PROTO_STOCK_SALE, -(int32_t)o->qty[l]);
    if (rc == PROTO_OK && chance(g, 2)) rc = push(g, t + 20 * SEC, PROTO_EV_ORDER_ITEM_UNAVAILABLE, false, idx, 0, 0);
    if (rc == PROTO_OK && chance(g, 5)) rc = push(g, t + 3 * MIN, PROTO_EV_ORDER_REMINDED, true, idx, 0, 0);
  }
  if (rc != PROTO_OK || cut == n) return rc;
  bool by_hq = chance(g, 70);
  t += between(g, 10 * SEC, 5 * MIN);
  rc = push(g, t, PROTO_EV_ORDER_CANCELLED, by_hq, idx, by_hq, 0);
  for (uint8_t l = 0; accepted && l < o->n_items && rc == PROTO_OK; l++)
    rc = push(g, t, PROTO_EV_STOCK_DELTA, false, stock_key(g, o->store, o->sku[l]),
              PROTO_STOCK_CORRECTION, o->qty[l]);
  return rc;
}

static int plan_misc(gen *g, size_t count) {
  unsigned total = 0;
  for (size_t i = 0; i < sizeof misc_kinds / sizeof *misc_kinds; i++) total += misc_kinds[i].weight;
  int rc = PROTO_OK;
  for (size_t e = 0; e < count && rc == PROTO_OK; e++) {
    unsigned r = (unsigned)(rnd(g) % total);
    const misc_kind *m = misc_kinds;
    while (r >= m->weight) r -= (m++)->weight;
    uint64_t t = DAY_START_MS + rnd(g) % DAY_MS;
    uint32_t store = (uint32_t)(rnd(g) % g->o.stores);
    uint32_t key = stock_key(g, store, (uint32_t)(rnd(g) % g->o.skus));
    int32_t delta = m->arg == PROTO_STOCK_RECEIVE ? (int32_t)between(g, 12, 48)
                    : m->arg == PROTO_STOCK_WASTE ? -(int32_t)between(g, 1, 3)
                                                  : (chance(g, 50) ? 1 : -1);
    switch (m->type) {
      case PROTO_EV_STOCK_DELTA: rc = push(g, t, m->type, false, key, m->arg, delta); break;
      case PROTO_EV_STOCK_STOCKTAKE: rc = push(g, t, m->type, false, key, 0, (int32_t)between(g, 0, 2)); break;
      case PROTO_EV_SKU_AVAILABILITY: rc = push(g, t, m->type, false, key, chance(g, 60), 0); break;
      case PROTO_EV_CATALOG_ENTRY: rc = push(g, t, m->type, true, key, 0, (int32_t)between(g, 500, 2500)); break;
      default: rc = push(g, t, m->type, chance(g, 50), store, (uint8_t)(rnd(g) % 4), 0); break;
    }
  }
  return rc;
}

static int spec_cmp(const void *pa, const void *pb) {
  const spec *a = pa, *b = pb;
  if (a->t_ms != b->t_ms) return a->t_ms < b->t_ms ? -1 : 1;
  return (a->ix > b->ix) - (a->ix < b->ix);
}

/* ---- encode ---------------------------------------------------------------- */

typedef struct encoder {
  gen *g;
  bench_corpus *c;
  uint64_t *seq;     /* per origin: 0 = hq, 1 + store = its box */
  uint64_t *hlc;
} encoder;

void bench_store_id(char out[PROTO_ID_MAX], uint32_t store) { snprintf(out, PROTO_ID_MAX, "s%03u", store + 1); }
void bench_order_id(char out[PROTO_ID_MAX], uint32_t order) { snprintf(out, PROTO_ID_MAX, "o%07u", order + 1); }
void bench_sku_id(char out[PROTO_ID_MAX], uint32_t sku) { snprintf(out, PROTO_ID_MAX, "sku-%03u", sku + 1); }

static void origin_id(char out[PROTO_ID_MAX], uint32_t origin) {
  if (origin == 0)
    snprintf(out, PROTO_ID_MAX, "hq");
  else
    snprintf(out, PROTO_ID_MAX, "s%03u-box", origin);
}

static uint32_t spec_store(const gen *g, const spec *s) {
  switch (proto_event_target((proto_event_type)s->type)) {
    case PROTO_TARGET_ORDER: return g->orders[s->subject].store;
    case PROTO_TARGET_STOCK:
    case PROTO_TARGET_SKU: return s->subject / g->o.skus;
    case PROTO_TARGET_STORE: break;
  }
  return s->subject;
}

/* Body builders: one per body kind, picked by the table below. */
typedef void (*build_fn)(encoder *e, const spec *s, proto_event *ev);

static void build_dispatched(encoder *e, const spec *s, proto_event *ev) {
  static const char *const customers[] = {"王先生", "李女士", "张同学", "Alex"};
  static const char *const notes[] = {"少冰", "去冰 少糖", "不要吸管", "请尽快"};
  const gen_order *o = &e->g->orders[s->subject];
  proto_ev_dispatched *d = &ev->body.dispatched;
  bench_order_id(d->order_id, s->subject);
  d->kind = (proto_order_kind)o->kind;
  d->n_items = o->n_items;
  for (unsigned i = 0; i < o->n_items; i++) {
    proto_item *it = &d->items[i];
    bench_sku_id(it->sku, o->sku[i]);
    snprintf(it->name, sizeof it->name, "%s (%s)", menu[(o->sku[i] / 2) % MENU_N].zh,
             o->sku[i] % 2 ? "大" : "中");
    it->qty = o->qty[i];
    it->price = menu[(o->sku[i] / 2) % MENU_N].price + (o->sku[i] % 2) * 300;
    d->total += it->price * it->qty;
  }
  snprintf(d->pickup_code, sizeof d->pickup_code, "%04u", (unsigned)o->code);
  if (o->extras & 1) snprintf(d->customer, sizeof d->customer, "%s", customers[o->code % 4]);
  if (o->kind == PROTO_KIND_DELIVERY) snprintf(d->phone_tail, sizeof d->phone_tail, "%04u", (unsigned)(o->code * 7 % 10000));
  if (o->extras & 2) snprintf(d->note, sizeof d->note, "%s", notes[o->code % 4]);
  d->placed_ms = o->placed_ms;
}

static void build_step(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.step.order_id, s->subject);
  if (s->by_hq)
    snprintf(ev->body.step.by, sizeof ev->body.step.by, "%s", ev->type == PROTO_EV_RIDER_ARRIVED ? "rider" : "hq");
  else
    snprintf(ev->body.step.by, sizeof ev->body.step.by, "staff-%02u", (unsigned)(s->ix % 7 + 1));
}

static void build_rejected(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.rejected.order_id, s->subject);
  ev->body.rejected.reason = (proto_reject_reason)(s->ix % 2 ? PROTO_REJECT_BUSY : PROTO_REJECT_SOLD_OUT);
  snprintf(ev->body.rejected.by, sizeof ev->body.rejected.by, "staff-01");
}

static void build_shipped(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.shipped.order_id, s->subject);
  snprintf(ev->body.shipped.courier, sizeof ev->body.shipped.courier, "顺丰速运");
  snprintf(ev->body.shipped.tracking, sizeof ev->body.shipped.tracking, "SF%010u", s->subject * 7919u);
}

static void build_cancelled(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.cancelled.order_id, s->subject);
  ev->body.cancelled.by = s->arg ? PROTO_CANCEL_CUSTOMER : PROTO_CANCEL_STORE;
  snprintf(ev->body.cancelled.reason, sizeof ev->body.cancelled.reason, "%s",
           s->arg ? "顾客取消订单" : "门店缺货");
}

static void build_reminded(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.reminded.order_id, s->subject);
  ev->body.reminded.n = 1;
  snprintf(ev->body.reminded.note, sizeof ev->body.reminded.note, "顾客催单");
}

static void build_item(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.item.order_id, s->subject);
  bench_sku_id(ev->body.item.sku, e->g->orders[s->subject].sku[0]);
}

static void build_resolved(encoder *e, const spec *s, proto_event *ev) { /* not planned: no conflicts */
  bench_order_id(ev->body.resolved.order_id, s->subject);
  snprintf(ev->body.resolved.resolution, sizeof ev->body.resolved.resolution, "refund");
}

static void build_rider(encoder *e, const spec *s, proto_event *ev) {
  bench_order_id(ev->body.rider.order_id, s->subject);
  snprintf(ev->body.rider.name, sizeof ev->body.rider.name, "骑手%03u", s->ix % 500);
  snprintf(ev->body.rider.phone_tail, sizeof ev->body.rider.phone_tail, "%04u", s->ix % 10000);
  ev->body.rider.eta_ms = s->t_ms + 8 * MIN;
}

static void build_delta(encoder *e, const spec *s, proto_event *ev) {
  proto_ev_delta *d = &ev->body.delta;
  bench_sku_id(d->sku, s->subject % e->g->o.skus);
  d->delta = s->value;
  d->reason = (proto_stock_reason)s->arg;
  if (d->reason == PROTO_STOCK_RECEIVE) snprintf(d->ref, sizeof d->ref, "po-%06u", s->ix % 1000000);
  if (d->reason == PROTO_STOCK_WASTE) snprintf(d->note, sizeof d->note, "过期报损");
}

static void build_stocktake(encoder *e, const spec *s, proto_event *ev) {
  proto_ev_stocktake *st = &ev->body.stocktake;
  uint32_t store = s->subject / e->g->o.skus;
  bench_sku_id(st->sku, s->subject % e->g->o.skus);
  int64_t counted = e->c->on_hand[s->subject] - s->value;  /* shrinkage */
  st->counted = counted < 0 ? 0 : counted;
  /* Seen: everything both writers had written before the count. */
  st->n_seen = 2;
  origin_id(st->seen[0].origin, 0);
  st->seen[0].seq = e->seq[0];
  origin_id(st->seen[1].origin, store + 1);
  st->seen[1].seq = e->seq[store + 1];
}

static void build_avail(encoder *e, const spec *s, proto_event *ev) {
  bench_sku_id(ev->body.avail.sku, s->subject % e->g->o.skus);
  ev->body.avail.sold_out = s->arg != 0;
  ev->body.avail.automatic = s->ix % 3 == 0;
}

static void build_catalog(encoder *e, const spec *s, proto_event *ev) {
  proto_ev_catalog *c = &ev->body.catalog;
  uint32_t sku = s->subject % e->g->o.skus;
  bench_sku_id(c->sku, sku);
  snprintf(c->name, sizeof c->name, "%s (%s)", menu[(sku / 2) % MENU_N].zh, sku % 2 ? "大" : "中");
  snprintf(c->name_en, sizeof c->name_en, "%s (%s)", menu[(sku / 2) % MENU_N].en, sku % 2 ? "L" : "M");
  c->price = s->value;
  c->low_threshold = 10;
  c->active = true;
}

static void build_settings(encoder *e, const spec *s, proto_event *ev) {
  proto_ev_settings *st = &ev->body.settings;
  uint32_t store = s->subject;
  if (s->t_ms < DAY_START_MS) { /* opening: every field */
    st->present = (1u << PROTO_SET__COUNT) - 1;
    snprintf(st->v.name, sizeof st->v.name, "演示门店 %03u", store + 1);
    st->v.lat_e6 = 31230000 + (int64_t)store * 1000;
    st->v.lon_e6 = 121470000 + (int64_t)store * 1000;
    st->v.open_min = 420;
    st->v.close_min = 1320;
    st->v.auto_accept_s = 30;
    st->v.target_accept_s = 120;
    st->v.target_prep_s = 600;
    st->v.target_wait_s = 300;
    st->v.radius_m = 5000;
    return;
  }
  static const proto_settings_field changes[] = {PROTO_SET_PAUSED, PROTO_SET_AUTO_ACCEPT_S,
                                                 PROTO_SET_CLOSE_MIN, PROTO_SET_TARGET_PREP_S};
  st->present = 1u << changes[s->arg % 4];
  st->v.paused = s->ix % 2;
  st->v.auto_accept_s = s->ix % 60;
  st->v.close_min = 1320 + s->ix % 60;
  st->v.target_prep_s = 300 + s->ix % 300;
}

static const build_fn builders[PROTO_EV__COUNT] = {
#define BENCH_BUILDER(e, wire, body, target) [PROTO_EV_##e] = build_##body,
    PROTO_EVENT_TYPE_MAP(BENCH_BUILDER)
#undef BENCH_BUILDER
};

/* Status milestone an order event reaches, -1 for the others (stored +1 so
 * that the zero of unlisted types means "none"). */
static int status_of(proto_event_type t) {
  static const int ms1[PROTO_EV__COUNT] = {
      [PROTO_EV_ORDER_DISPATCHED] = 1 + PROTO_MS_DISPATCHED, [PROTO_EV_ORDER_ACCEPTED] = 1 + PROTO_MS_ACCEPTED,
      [PROTO_EV_ORDER_REJECTED] = 1 + PROTO_MS_REJECTED,     [PROTO_EV_ORDER_PREPARING] = 1 + PROTO_MS_PREPARING,
      [PROTO_EV_ORDER_READY] = 1 + PROTO_MS_READY,           [PROTO_EV_ORDER_SHIPPED] = 1 + PROTO_MS_SHIPPED,
      [PROTO_EV_ORDER_PICKED_UP] = 1 + PROTO_MS_PICKED_UP,   [PROTO_EV_ORDER_COMPLETED] = 1 + PROTO_MS_COMPLETED,
      [PROTO_EV_ORDER_DELIVERED] = 1 + PROTO_MS_DELIVERED,   [PROTO_EV_ORDER_CANCELLED] = 1 + PROTO_MS_CANCELLED,
  };
  return ms1[t] - 1;
}

/* What a correct merge ends with: highest-rank status, on-hand stock. */
static void expect(encoder *e, const spec *s, const proto_event *ev) {
  bench_corpus *c = e->c;
  int ms = status_of(ev->type);
  if (ms >= 0) {
    int *cur = &c->order_status[s->subject];
    if (*cur < 0 || proto_milestone_rank((proto_milestone)ms) > proto_milestone_rank((proto_milestone)*cur))
      *cur = ms;
  }
  if (ev->type == PROTO_EV_STOCK_DELTA) c->on_hand[s->subject] += ev->body.delta.delta;
  if (ev->type == PROTO_EV_STOCK_STOCKTAKE) c->on_hand[s->subject] = ev->body.stocktake.counted;
}

static int encode_one(encoder *e, const spec *s, proto_event *ev, proto_buf *out, proto_err *err) {
  uint32_t store = spec_store(e->g, s);
  uint32_t origin = s->by_hq ? 0 : store + 1;
  char origin_s[PROTO_ID_MAX], store_s[PROTO_ID_MAX];
  origin_id(origin_s, origin);
  bench_store_id(store_s, store);
  uint64_t hlc = PROTO_HLC_MAKE(s->t_ms, 0);
  if (hlc <= e->hlc[origin]) hlc = e->hlc[origin] + 1;
  proto_event_init(ev, (proto_event_type)s->type, origin_s, e->seq[origin] + 1, hlc, store_s);
  builders[s->type](e, s, ev);  /* before seq advances: a stocktake sees earlier events only */
  e->seq[origin]++;
  e->hlc[origin] = hlc;

  size_t start = out->len;
  int rc = proto_event_encode(ev, out, err);
  if (rc == PROTO_OK) rc = proto_buf_append(out, "", 1); /* NUL separator */
  if (rc != PROTO_OK) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return proto_err_set(err, rc, "encoding event %u (%s, %s #%llu): %s: %s", e->c->n,
                         proto_event_type_name(ev->type), origin_s, (unsigned long long)ev->seq,
                         proto_err_name(rc), why);
  }
  uint32_t i = e->c->n++;
  e->c->off[i] = start;
  e->c->len[i] = (uint32_t)(out->len - start - 1);
  e->c->type_count[s->type]++;
  e->c->type_bytes[s->type] += e->c->len[i];
  expect(e, s, ev);
  return PROTO_OK;
}

static int encode_all(gen *g, bench_corpus *c, proto_err *err) {
  encoder e = {g, c, calloc(g->o.stores + 1, sizeof(uint64_t)), calloc(g->o.stores + 1, sizeof(uint64_t))};
  proto_event *ev = malloc(sizeof *ev);
  proto_buf out;
  proto_buf_init(&out);
  int rc = e.seq && e.hlc && ev ? PROTO_OK : PROTO_ENOMEM;
  for (size_t i = 0; i < g->n_specs && rc == PROTO_OK; i++) rc = encode_one(&e, &g->specs[i], ev, &out, err);
  if (rc == PROTO_OK) {
    c->text = out.data;
    c->text_len = out.len;
  } else {
    proto_buf_close(&out);
  }
  free(ev);
  free(e.seq);
  free(e.hlc);
  return rc;
}

/* ---- corpus ---------------------------------------------------------------- */

static int alloc_corpus(bench_corpus *c, const bench_corpus_opts *o, size_t n) {
  c->off = malloc(n * sizeof *c->off);
  c->len = malloc(n * sizeof *c->len);
  c->order_store = calloc(o->orders ? o->orders : 1, sizeof *c->order_store);
  c->order_status = malloc((o->orders ? o->orders : 1) * sizeof *c->order_status);
  c->on_hand = calloc((size_t)o->stores * o->skus, sizeof *c->on_hand);
  if (!c->off || !c->len || !c->order_store || !c->order_status || !c->on_hand) return PROTO_ENOMEM;
  for (uint32_t i = 0; i < o->orders; i++) c->order_status[i] = -1;
  return PROTO_OK;
}

/* Leaves nothing allocated on failure (bench_corpus_free is idempotent). */
int bench_corpus_make(bench_corpus *c, const bench_corpus_opts *opts, proto_err *err) {
  memset(c, 0, sizeof *c);
  c->opts = *opts;
  if (!opts->stores || opts->stores > 999 || !opts->skus || opts->skus > 255 || !opts->events)
    return proto_err_set(err, PROTO_EINVAL, "corpus: stores 1..999, skus 1..255, events > 0");
  gen g = {.rng = opts->seed, .o = *opts};
  g.orders = calloc(opts->orders ? opts->orders : 1, sizeof *g.orders);
  int rc = g.orders ? plan_opening(&g) : PROTO_ENOMEM;
  for (uint32_t i = 0; i < opts->orders && rc == PROTO_OK; i++) rc = plan_order(&g, i);
  if (rc == PROTO_OK && g.n_specs < opts->events) rc = plan_misc(&g, opts->events - g.n_specs);
  if (rc == PROTO_OK) {
    qsort(g.specs, g.n_specs, sizeof *g.specs, spec_cmp);
    if (g.n_specs > opts->events) g.n_specs = opts->events; /* the day ends early */
    rc = alloc_corpus(c, opts, g.n_specs);
  }
  for (uint32_t i = 0; rc == PROTO_OK && i < opts->orders; i++) c->order_store[i] = g.orders[i].store;
  if (rc == PROTO_OK) rc = encode_all(&g, c, err);
  if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "corpus: out of memory");
  free(g.specs);
  free(g.orders);
  if (rc != PROTO_OK) bench_corpus_free(c);
  return rc;
}

void bench_corpus_free(bench_corpus *c) {
  free(c->text);
  free(c->off);
  free(c->len);
  free(c->order_store);
  free(c->order_status);
  free(c->on_hand);
  memset(c, 0, sizeof *c);
}
