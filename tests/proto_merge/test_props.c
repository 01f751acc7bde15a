/* test_props.c - seeded property tests of the merge.
 *
 * State-based (order, sku, settings): random states are built from random
 * subsets of a random event pool, each applied in a random order with
 * duplicates; the join must be commutative, associative and idempotent, and
 * agree with applying the whole pool in any order.  Equality is checked both
 * with the *_hash functions and field by field.
 * Op-based (stock): the same event set in random permutations with
 * duplicates, deduplicated by (origin, seq) as the event log does and with
 * the recount protocol, must give the on-hand value of the formula in stock.h.
 * RETAIL_SEED=<n> repeats a run; failures print the seed and case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_util.h"

#define CASES 3000
#define POOL_MAX 96
#define N_ORIGINS 4
#define OID "o1"

static const char *const origins[N_ORIGINS] = {"hq", "s1", "tabA", "tabB"};
static const char *const words[] = {"", "a", "bb", "note", "zz"};
#define WORD(c) words[tu_below(c, sizeof words / sizeof *words)]

typedef struct pool {
  proto_event ev[POOL_MAX];
  size_t n;
} pool;

/* Envelopes: per origin, seq gap-free and hlc strictly increasing (as a real
 * replica writes them), with close clocks so stamps tie on hlc across origins. */
typedef struct clocks {
  uint64_t seq[N_ORIGINS], hlc[N_ORIGINS];
} clocks;

static void clocks_init(tu_case *c, clocks *k) {
  for (int o = 0; o < N_ORIGINS; o++) {
    k->seq[o] = 0;
    k->hlc[o] = 1000 + tu_below(c, 4);
  }
}

static proto_event next_ev(tu_case *c, clocks *k, proto_event_type t, const char *oid) {
  int o = (int)tu_below(c, N_ORIGINS);
  k->seq[o]++;
  k->hlc[o] += 1 + tu_below(c, 3);
  return tu_ev(t, origins[o], k->seq[o], k->hlc[o], oid);
}

/* ---- order -------------------------------------------------------------------- */

static const proto_event_type order_types[] = {
    PROTO_EV_ORDER_DISPATCHED, PROTO_EV_ORDER_ACCEPTED,  PROTO_EV_ORDER_REJECTED,
    PROTO_EV_ORDER_PREPARING,  PROTO_EV_ORDER_READY,     PROTO_EV_ORDER_SHIPPED,
    PROTO_EV_ORDER_PICKED_UP,  PROTO_EV_ORDER_COMPLETED, PROTO_EV_ORDER_DELIVERED,
    PROTO_EV_ORDER_CANCELLED,  PROTO_EV_ORDER_REMINDED,  PROTO_EV_ORDER_ITEM_UNAVAILABLE,
    PROTO_EV_ORDER_RESOLVED,   PROTO_EV_RIDER_ASSIGNED,  PROTO_EV_RIDER_ARRIVED};
#define N_ORDER_TYPES (sizeof order_types / sizeof *order_types)

static void fill_order_body(tu_case *c, proto_event *ev, uint32_t n_skus) {
  switch (ev->type) {
    case PROTO_EV_ORDER_DISPATCHED: {
      proto_ev_dispatched *d = &ev->body.dispatched;
      d->kind = (proto_order_kind)tu_below(c, PROTO_KIND__COUNT);
      d->n_items = 1 + tu_below(c, 3);
      for (uint32_t i = 0; i < d->n_items; i++) {
        snprintf(d->items[i].sku, sizeof d->items[i].sku, "k%02u", tu_below(c, n_skus));
        strcpy(d->items[i].name, WORD(c));
        d->items[i].qty = 1 + (int32_t)tu_below(c, 5);
        d->items[i].price = tu_below(c, 3) * 100;
      }
      strcpy(d->note, WORD(c));
      strcpy(d->customer, WORD(c));
      d->total = tu_below(c, 1000);
      d->placed_ms = tu_below(c, 3);
      break;
    }
    case PROTO_EV_ORDER_REJECTED:
      ev->body.rejected.reason = (proto_reject_reason)tu_below(c, PROTO_REJECT__COUNT);
      break;
    case PROTO_EV_ORDER_SHIPPED:
      strcpy(ev->body.shipped.courier, WORD(c));
      strcpy(ev->body.shipped.tracking, WORD(c));
      break;
    case PROTO_EV_ORDER_CANCELLED:
      ev->body.cancelled.by = (proto_cancel_by)tu_below(c, PROTO_CANCEL__COUNT);
      strcpy(ev->body.cancelled.reason, WORD(c));
      break;
    case PROTO_EV_ORDER_REMINDED:
      ev->body.reminded.n = 1 + tu_below(c, 5);
      strcpy(ev->body.reminded.note, WORD(c));
      break;
    case PROTO_EV_ORDER_ITEM_UNAVAILABLE:
      snprintf(ev->body.item.sku, sizeof ev->body.item.sku, "k%02u", tu_below(c, n_skus));
      break;
    case PROTO_EV_ORDER_RESOLVED:
      strcpy(ev->body.resolved.resolution, WORD(c));
      strcpy(ev->body.resolved.note, WORD(c));
      break;
    case PROTO_EV_RIDER_ASSIGNED:
      strcpy(ev->body.rider.name, WORD(c));
      ev->body.rider.eta_ms = tu_below(c, 3);
      break;
    default:
      break;
  }
}

/* Every fourth case is item-heavy over more SKUs than the set can hold, to
 * exercise the capacity rule. */
static void gen_order_pool(tu_case *c, pool *p) {
  clocks k;
  bool heavy = c->index % 4 == 3;
  uint32_t n_skus = heavy ? 60 : 8;
  clocks_init(c, &k);
  p->n = heavy ? 40 + tu_below(c, POOL_MAX - 40) : 1 + tu_below(c, 40);
  for (size_t i = 0; i < p->n; i++) {
    proto_event_type t = heavy && tu_below(c, 10) < 7 ? PROTO_EV_ORDER_ITEM_UNAVAILABLE
                                                      : order_types[tu_below(c, N_ORDER_TYPES)];
    p->ev[i] = next_ev(c, &k, t, OID);
    if (tu_below(c, 20) == 0) strcpy(p->ev[i].store, "s0");
    fill_order_body(c, &p->ev[i], n_skus);
  }
}

/* Indices of the events of `take` (all if NULL), shuffled, some repeated. */
static size_t pick(tu_case *c, const pool *p, const bool *take, size_t *idx) {
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    if (!take || take[i]) {
      idx[n++] = i;
      if (tu_below(c, 5) == 0) idx[n++] = i; /* delivered twice */
    }
  tu_shuffle(c, idx, n);
  return n;
}

static void random_subset(tu_case *c, const pool *p, bool *take) {
  for (size_t i = 0; i < p->n; i++) take[i] = tu_below(c, 2);
}

/* Apply in a random order with duplicates; the status never moves backwards. */
static void order_from(tu_case *c, const pool *p, const bool *take, proto_order *o) {
  size_t idx[2 * POOL_MAX];
  size_t n = pick(c, p, take, idx);
  proto_order_init(o, OID, "s1");
  int rank = proto_milestone_rank(proto_order_status(o));
  for (size_t i = 0; i < n; i++) {
    int rc = proto_order_apply(o, &p->ev[idx[i]]);
    TU_CHECK(c, rc == PROTO_OK || rc == PROTO_EFULL);
    int r = proto_milestone_rank(proto_order_status(o));
    TU_CHECK(c, r >= rank);
    rank = r;
  }
}

#define SAME_ORDER(c, x, y) \
  TU_CHECK(c, proto_order_hash(x) == proto_order_hash(y) && tu_order_eq(x, y))

static void order_case(tu_case *c) {
  static pool p;
  bool ta[POOL_MAX], tb[POOL_MAX], tc[POOL_MAX];
  proto_order a, b, x, ab, ba, ab_c, bc, a_bc, all1, all2, parts, aa;
  gen_order_pool(c, &p);
  random_subset(c, &p, ta);
  random_subset(c, &p, tb);
  random_subset(c, &p, tc);
  order_from(c, &p, ta, &a);
  order_from(c, &p, tb, &b);
  order_from(c, &p, tc, &x);
  ab = a, ba = b;
  proto_order_merge(&ab, &b);
  proto_order_merge(&ba, &a);
  SAME_ORDER(c, &ab, &ba); /* commutative */
  ab_c = ab, bc = b, a_bc = a;
  proto_order_merge(&ab_c, &x);
  proto_order_merge(&bc, &x);
  proto_order_merge(&a_bc, &bc);
  SAME_ORDER(c, &ab_c, &a_bc); /* associative */
  aa = a;
  proto_order_merge(&aa, &a);
  proto_order_merge(&aa, &aa);
  SAME_ORDER(c, &aa, &a); /* idempotent */
  /* op-based and state-based agree: every order of the whole pool, and the
   * join of states that together saw every event, give the same state */
  order_from(c, &p, NULL, &all1);
  order_from(c, &p, NULL, &all2);
  SAME_ORDER(c, &all1, &all2);
  for (size_t i = 0; i < p.n; i++) tc[i] = tc[i] || (!ta[i] && !tb[i]);
  order_from(c, &p, tc, &x);
  parts = ab;
  proto_order_merge(&parts, &x);
  SAME_ORDER(c, &parts, &all1);
  proto_order_merge(&all2, &a); /* a is below the whole */
  SAME_ORDER(c, &all2, &all1);
  bool cancelled = proto_order_reached(&all1, PROTO_MS_CANCELLED);
  TU_CHECK(c, proto_order_conflict(&all1) == (cancelled && proto_order_handed_off(&all1)));
}

static void test_order_join(void **st) {
  uint64_t seed = tu_base_seed();
  for (int i = 0; i < CASES; i++) {
    tu_case c;
    tu_case_init(&c, seed, i);
    order_case(&c);
  }
}

/* ---- sku ---------------------------------------------------------------------- */

static void gen_sku_pool(tu_case *c, pool *p) {
  clocks k;
  clocks_init(c, &k);
  p->n = 1 + tu_below(c, 30);
  for (size_t i = 0; i < p->n; i++) {
    bool cat = tu_below(c, 2);
    proto_event *ev = &p->ev[i];
    *ev = next_ev(c, &k, cat ? PROTO_EV_CATALOG_ENTRY : PROTO_EV_SKU_AVAILABILITY, NULL);
    if (cat) {
      strcpy(ev->body.catalog.sku, "apple");
      strcpy(ev->body.catalog.name, WORD(c));
      ev->body.catalog.price = tu_below(c, 4) * 50;
      ev->body.catalog.low_threshold = tu_below(c, 3);
      ev->body.catalog.active = tu_below(c, 2);
    } else {
      strcpy(ev->body.avail.sku, "apple");
      ev->body.avail.sold_out = tu_below(c, 2);
      ev->body.avail.automatic = tu_below(c, 2);
    }
  }
}

static void sku_from(tu_case *c, const pool *p, const bool *take, proto_sku *s) {
  size_t idx[2 * POOL_MAX];
  size_t n = pick(c, p, take, idx);
  proto_sku_init(s, "apple");
  for (size_t i = 0; i < n; i++) TU_CHECK(c, proto_sku_apply(s, &p->ev[idx[i]]) == PROTO_OK);
}

#define SAME_SKU(c, x, y) TU_CHECK(c, proto_sku_hash(x) == proto_sku_hash(y) && tu_sku_eq(x, y))

static void test_sku_join(void **st) {
  uint64_t seed = tu_base_seed();
  static pool p;
  for (int i = 0; i < CASES; i++) {
    tu_case c;
    bool ta[POOL_MAX], tb[POOL_MAX], tc[POOL_MAX];
    proto_sku a, b, x, ab, ba, ab_c, bc, a_bc, all1, all2, aa;
    tu_case_init(&c, seed, i);
    gen_sku_pool(&c, &p);
    random_subset(&c, &p, ta);
    random_subset(&c, &p, tb);
    random_subset(&c, &p, tc);
    sku_from(&c, &p, ta, &a);
    sku_from(&c, &p, tb, &b);
    sku_from(&c, &p, tc, &x);
    ab = a, ba = b;
    proto_sku_merge(&ab, &b);
    proto_sku_merge(&ba, &a);
    SAME_SKU(&c, &ab, &ba);
    ab_c = ab, bc = b, a_bc = a;
    proto_sku_merge(&ab_c, &x);
    proto_sku_merge(&bc, &x);
    proto_sku_merge(&a_bc, &bc);
    SAME_SKU(&c, &ab_c, &a_bc);
    aa = a;
    proto_sku_merge(&aa, &a);
    SAME_SKU(&c, &aa, &a);
    sku_from(&c, &p, NULL, &all1);
    sku_from(&c, &p, NULL, &all2);
    SAME_SKU(&c, &all1, &all2);
    proto_sku_merge(&all2, &ab_c);
    SAME_SKU(&c, &all1, &all2);
  }
}

/* ---- settings ------------------------------------------------------------------ */

static void gen_settings_pool(tu_case *c, pool *p) {
  const proto_settings_field_info *fi = proto_settings_fields();
  clocks k;
  clocks_init(c, &k);
  p->n = 1 + tu_below(c, 30);
  for (size_t i = 0; i < p->n; i++) {
    proto_event *ev = &p->ev[i];
    *ev = next_ev(c, &k, PROTO_EV_STORE_SETTINGS, NULL);
    for (int f = 0; f < PROTO_SET__COUNT; f++) {
      char *dst = (char *)&ev->body.settings.v + fi[f].offset;
      int64_t val = fi[f].min + (int64_t)tu_below(c, 3);
      /* absent fields carry junk that must never be written */
      if (tu_below(c, 3) == 0) ev->body.settings.present |= 1u << f;
      if (fi[f].type == PROTO_FIELD_STRING)
        strcpy(dst, WORD(c));
      else if (fi[f].type == PROTO_FIELD_INT)
        memcpy(dst, &val, sizeof val);
      else
        *(bool *)(void *)dst = tu_below(c, 2);
    }
  }
}

static void settings_from(tu_case *c, const pool *p, const bool *take, proto_settings *s) {
  size_t idx[2 * POOL_MAX];
  size_t n = pick(c, p, take, idx);
  proto_settings_init(s, "s1");
  for (size_t i = 0; i < n; i++)
    TU_CHECK(c, proto_settings_apply(s, &p->ev[idx[i]]) == PROTO_OK);
}

#define SAME_SET(c, x, y) \
  TU_CHECK(c, proto_settings_hash(x) == proto_settings_hash(y) && tu_settings_eq(x, y))

static void test_settings_join(void **st) {
  uint64_t seed = tu_base_seed();
  static pool p;
  for (int i = 0; i < CASES; i++) {
    tu_case c;
    bool ta[POOL_MAX], tb[POOL_MAX], tc[POOL_MAX];
    proto_settings a, b, x, ab, ba, ab_c, bc, a_bc, all1, all2, aa;
    tu_case_init(&c, seed, i);
    gen_settings_pool(&c, &p);
    random_subset(&c, &p, ta);
    random_subset(&c, &p, tb);
    random_subset(&c, &p, tc);
    settings_from(&c, &p, ta, &a);
    settings_from(&c, &p, tb, &b);
    settings_from(&c, &p, tc, &x);
    ab = a, ba = b;
    proto_settings_merge(&ab, &b);
    proto_settings_merge(&ba, &a);
    SAME_SET(&c, &ab, &ba);
    ab_c = ab, bc = b, a_bc = a;
    proto_settings_merge(&ab_c, &x);
    proto_settings_merge(&bc, &x);
    proto_settings_merge(&a_bc, &bc);
    SAME_SET(&c, &ab_c, &a_bc);
    aa = a;
    proto_settings_merge(&aa, &a);
    SAME_SET(&c, &aa, &a);
    settings_from(&c, &p, NULL, &all1);
    settings_from(&c, &p, NULL, &all2);
    SAME_SET(&c, &all1, &all2);
    proto_settings_merge(&all2, &ab_c);
    SAME_SET(&c, &all1, &all2);
    /* each field holds the value of its newest present write */
    for (int f = 0; f < PROTO_SET__COUNT; f++) {
      const proto_event *best = NULL;
      for (size_t e = 0; e < p.n; e++)
        if ((p.ev[e].body.settings.present & (1u << f)) &&
            (!best || proto_stamp_cmp(p.ev[e].hlc, p.ev[e].origin, best->hlc, best->origin) > 0))
          best = &p.ev[e];
      TU_CHECK(&c, all1.stamp[f].hlc == (best ? best->hlc : 0));
    }
  }
}

/* ---- stock (op-based) ------------------------------------------------------------ */

static void gen_stock_pool(tu_case *c, pool *p) {
  clocks k;
  clocks_init(c, &k);
  p->n = 1 + tu_below(c, 40);
  for (size_t i = 0; i < p->n; i++) {
    bool count = tu_below(c, 5) == 0;
    proto_event *ev = &p->ev[i];
    *ev = next_ev(c, &k, count ? PROTO_EV_STOCK_STOCKTAKE : PROTO_EV_STOCK_DELTA, NULL);
    if (!count) {
      strcpy(ev->body.delta.sku, "apple");
      ev->body.delta.delta = (int64_t)tu_below(c, 21) - 10;
      if (ev->body.delta.delta == 0) ev->body.delta.delta = 1;
      continue;
    }
    /* a count has seen, per origin, some prefix of what that origin wrote */
    proto_ev_stocktake *t = &ev->body.stocktake;
    strcpy(t->sku, "apple");
    t->counted = tu_below(c, 100);
    for (int o = 0; o < N_ORIGINS; o++) {
      if (tu_below(c, 4) == 0) continue;
      strcpy(t->seen[t->n_seen].origin, origins[o]);
      t->seen[t->n_seen++].seq = tu_below(c, (uint32_t)k.seq[o] + 1);
    }
  }
}

/* The formula of stock.h, straight from the set of events. */
static int64_t stock_expected(const pool *p) {
  const proto_event *win = NULL;
  int64_t sum = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->ev[i].type == PROTO_EV_STOCK_STOCKTAKE &&
        (!win || proto_stamp_cmp(p->ev[i].hlc, p->ev[i].origin, win->hlc, win->origin) > 0))
      win = &p->ev[i];
  for (size_t i = 0; i < p->n; i++) {
    const proto_event *d = &p->ev[i];
    bool covered = false;
    if (d->type != PROTO_EV_STOCK_DELTA) continue;
    for (uint32_t s = 0; win && s < win->body.stocktake.n_seen; s++)
      covered |= !strcmp(win->body.stocktake.seen[s].origin, d->origin) &&
                 d->seq <= win->body.stocktake.seen[s].seq;
    if (!covered) sum += d->body.delta.delta;
  }
  return (win ? win->body.stocktake.counted : 0) + sum;
}

/* One replica: an event log deduplicating by (origin, seq) plus the state. */
static int64_t stock_replica(tu_case *c, const pool *p) {
  size_t idx[2 * POOL_MAX], n = pick(c, p, NULL, idx);
  const proto_event *log[POOL_MAX];
  size_t n_log = 0;
  proto_stock s;
  proto_stock_init(&s, "apple");
  for (size_t i = 0; i < n; i++) {
    const proto_event *ev = &p->ev[idx[i]];
    bool dup = false, recount = false;
    for (size_t j = 0; j < n_log; j++)
      dup |= log[j]->seq == ev->seq && !strcmp(log[j]->origin, ev->origin);
    if (dup) continue; /* INSERT OR IGNORE */
    log[n_log++] = ev;
    TU_CHECK(c, proto_stock_apply(&s, ev, &recount) == PROTO_OK);
    TU_CHECK(c, recount == (ev->type == PROTO_EV_STOCK_STOCKTAKE &&
                            s.count_stamp.hlc == ev->hlc &&
                            !strcmp(s.count_stamp.origin, ev->origin)));
    for (size_t j = 0; recount && j < n_log; j++)
      if (log[j]->type == PROTO_EV_STOCK_DELTA)
        proto_stock_add_delta(&s, log[j]->origin, log[j]->seq, log[j]->body.delta.delta);
  }
  return proto_stock_on_hand(&s);
}

static void test_stock_permutations(void **st) {
  uint64_t seed = tu_base_seed();
  static pool p;
  int with_count = 0;
  for (int i = 0; i < CASES; i++) {
    tu_case c;
    tu_case_init(&c, seed, i);
    gen_stock_pool(&c, &p);
    int64_t want = stock_expected(&p);
    for (int perm = 0; perm < 4; perm++) TU_CHECK(&c, stock_replica(&c, &p) == want);
    for (size_t e = 0; e < p.n; e++) with_count += p.ev[e].type == PROTO_EV_STOCK_STOCKTAKE;
  }
  assert_true(with_count > CASES); /* the counts were really exercised */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_join),
      cmocka_unit_test(test_sku_join),
      cmocka_unit_test(test_settings_join),
      cmocka_unit_test(test_stock_permutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
