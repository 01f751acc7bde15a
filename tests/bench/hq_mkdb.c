/* hq_mkdb.c - build a chain-scale HQ database for the views benchmark
 * (tests/bench/views.bench.mjs).  Not a benchmark itself: built with
 * retail_benches, not listed in the manifest.
 *
 * Everything goes through hq_core's MQTT ingest path (hq_core_submit of
 * up/events batches to the store log, hq_ingest of up/status and
 * up/heartbeat), exactly as hq would write it, committed every --commit
 * messages.  HQ's clock is the real one; the
 * local day is the one of the time zone printed (chosen so that it is
 * 20:xx there, as the browser test does: a day with a fixed shape).
 *
 *   per store   settings (name, targets) and --skus catalog entries, half
 *               of them counted by a stocktake; then --orders / --stores
 *               orders yesterday and as many today, uniformly in time:
 *
 *   order at t: dispatched ── accepted +10..120 s ── preparing +5 s
 *               ── ready +2..15 min
 *               ── pickup (70%): completed +1..10 min
 *               ── delivery (30%): rider.arrived ready -5..+5 min,
 *                                  picked_up 30 s after both
 *               2% rejected at +30 s, 3% cancelled after accepting, 0.1%
 *               cancelled after the handoff (a conflict); a milestone
 *               still in the future is left out (the order is open)
 *
 *   then status "online" and a heartbeat saying HQ holds everything.
 *
 * Deterministic for a given --seed (except the wall clock it ends at).
 * Prints one JSON line: db, tz_offset_min, stores, orders, events, secs.
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "proto/codec.h"
#include "proto/hlc.h"
#include "proto/repl.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define BATCH_EVENTS 100

typedef struct options {
  const char *db;
  uint64_t stores, orders, skus, seed, commit;
} options;

/* One event of a store's stream before sorting: time, type, order index. */
typedef struct gen_ev {
  int64_t ms;
  uint32_t order;
  uint8_t type;                    /* proto_event_type */
  uint8_t kind;
} gen_ev;

typedef struct gen {
  const options *o;
  hq_core *core;
  uint64_t rng;
  int64_t now, day0;               /* wall now; today's local midnight (UTC ms) */
  int32_t tz_min;
  gen_ev *ev;
  size_t n_ev, cap_ev;
  uint64_t events, msgs;
  proto_buf one, batch;
} gen;

static uint64_t next_rand(gen *g) { /* xorshift64* */
  g->rng ^= g->rng >> 12;
  g->rng ^= g->rng << 25;
  g->rng ^= g->rng >> 27;
  return g->rng * UINT64_C(2685821657736338717);
}

static int64_t uniform(gen *g, int64_t lo, int64_t hi) {
  return lo + (int64_t)(next_rand(g) % (uint64_t)(hi - lo + 1));
}

static int publish(void *ctx, const char *topic, const void *payload, size_t len) {
  (void)ctx, (void)topic, (void)payload, (void)len;
  return 0;
}

static int die(const char *what, const char *msg) {
  fprintf(stderr, "hq_mkdb: %s: %s\n", what, msg);
  return 1;
}

static void refused(void *ctx, const char *store, size_t bytes, int rc, const hq_err *err) {
  (void)ctx;
  (void)rc;
  fprintf(stderr, "hq_mkdb: a batch of %s (%zu bytes) was refused: %s\n", store, bytes, err->msg);
  exit(1);
}

/* Everything submitted logged and merged (hq's own loop does the same). */
static int settle(gen *g) {
  if (hq_core_log_wait(g->core, 60000) != 0) return die("store log", "no answer in 60 s");
  while (hq_core_poll(g->core, (size_t)-1, refused, g) > 0) {
  }
  return 0;
}

/* Events batches go through the store log's thread as in hq (submit, then
 * merge what it logged); the other messages wait for them, to keep the
 * order a box sends in. */
static int ingest(gen *g, const char *store, proto_repl_kind kind, const proto_buf *b) {
  char topic[PROTO_TOPIC_MAX];
  hq_err err = {0};
  proto_err perr = {0};
  int rc = 0;
  if (proto_topic_make(topic, sizeof topic, store, PROTO_DIR_UP, kind, &perr) != PROTO_OK)
    return die("topic", perr.msg);
  if (kind == PROTO_REPL_EVENTS) {
    if (hq_core_submit(g->core, topic, b->data, b->len, NULL, &err) != HQ_OK) return die("submit", err.msg);
  } else if ((rc = settle(g)) == 0 && hq_ingest(g->core, topic, b->data, b->len, &err) != HQ_OK) {
    return die("hq_ingest", err.msg);
  }
  if (rc == 0 && ++g->msgs % g->o->commit == 0) {
    rc = settle(g);
    if (rc == 0 && hq_core_commit(g->core, &err) != HQ_OK) rc = die("commit", err.msg);
  }
  return rc;
}

static int push(gen *g, int64_t ms, proto_event_type type, uint32_t order, int kind) {
  if (ms > g->now - 1000) return 0; /* not yet: the order stays open there */
  if (g->n_ev == g->cap_ev) {
    size_t cap = g->cap_ev ? g->cap_ev * 2 : 4096;
    gen_ev *p = realloc(g->ev, cap * sizeof *p);
    if (!p) return -1;
    g->ev = p;
    g->cap_ev = cap;
  }
  g->ev[g->n_ev++] = (gen_ev){ms, order, (uint8_t)type, (uint8_t)kind};
  return 0;
}

/* The lifecycle of order i dispatched at t (header comment). */
static int order_events(gen *g, uint32_t i, int64_t t) {
  int kind = next_rand(g) % 10 < 3 ? PROTO_KIND_DELIVERY : PROTO_KIND_PICKUP;
  uint64_t fate = next_rand(g) % 1000;
  int64_t a = t + uniform(g, 10, 120) * 1000, r = a + 5000 + uniform(g, 120, 900) * 1000;
  int rc = push(g, t, PROTO_EV_ORDER_DISPATCHED, i, kind);
  if (fate < 20) return rc | push(g, t + 30000, PROTO_EV_ORDER_REJECTED, i, kind);
  rc |= push(g, a, PROTO_EV_ORDER_ACCEPTED, i, kind);
  if (fate < 50) return rc | push(g, a + 60000, PROTO_EV_ORDER_CANCELLED, i, kind);
  rc |= push(g, a + 5000, PROTO_EV_ORDER_PREPARING, i, kind) | push(g, r, PROTO_EV_ORDER_READY, i, kind);
  int64_t h;
  if (kind == PROTO_KIND_DELIVERY) {
    int64_t ra = r + uniform(g, -300, 300) * 1000;
    rc |= push(g, ra, PROTO_EV_RIDER_ARRIVED, i, kind);
    h = (ra > r ? ra : r) + 30000;
    rc |= push(g, h, PROTO_EV_ORDER_PICKED_UP, i, kind);
  } else {
    h = r + uniform(g, 60, 600) * 1000;
    rc |= push(g, h, PROTO_EV_ORDER_COMPLETED, i, kind);
  }
  if (fate == 999) rc |= push(g, h + 1000, PROTO_EV_ORDER_CANCELLED, i, kind);
  return rc;
}

static int by_time(const void *a, const void *b) {
  const gen_ev *x = a, *y = b;
  if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
  if (x->order != y->order) return x->order < y->order ? -1 : 1;
  return x->type < y->type ? -1 : x->type > y->type;
}

/* The body of stream event e of store s (settings, catalog and stocktakes
 * are orders past the store's last one: see store_events). */
static void fill(gen *g, const char *s, uint32_t n_orders, const gen_ev *e, proto_event *ev) {
  proto_event_type type = (proto_event_type)e->type;
  char order[PROTO_ID_MAX], sku[PROTO_ID_MAX];
  snprintf(order, sizeof order, "o-%.40s-%05" PRIu32, s, e->order);
  snprintf(sku, sizeof sku, "sku-%02" PRIu64, (uint64_t)e->order % g->o->skus);
  switch (type) {
    case PROTO_EV_ORDER_DISPATCHED: {
      proto_ev_dispatched *d = &ev->body.dispatched;
      int32_t qty = 1 + (int32_t)(e->order % 2);
      snprintf(d->order_id, sizeof d->order_id, "%s", order);
      d->kind = (proto_order_kind)e->kind;
      d->n_items = 1;
      snprintf(d->items[0].sku, sizeof d->items[0].sku, "sku-%02" PRIu64, (uint64_t)(e->order * 7) % g->o->skus);
      snprintf(d->items[0].name, sizeof d->items[0].name, "%s", d->items[0].sku);
      d->items[0].qty = qty;
      d->items[0].price = 1500 + (int64_t)(e->order % 16) * 100;
      snprintf(d->pickup_code, sizeof d->pickup_code, "%04" PRIu32, e->order % 10000);
      d->total = d->items[0].price * qty;
      d->placed_ms = (uint64_t)e->ms;
      break;
    }
    case PROTO_EV_ORDER_REJECTED:
      snprintf(ev->body.rejected.order_id, PROTO_ID_MAX, "%s", order);
      ev->body.rejected.reason = PROTO_REJECT_BUSY;
      break;
    case PROTO_EV_ORDER_CANCELLED:
      snprintf(ev->body.cancelled.order_id, PROTO_ID_MAX, "%s", order);
      ev->body.cancelled.by = PROTO_CANCEL_CUSTOMER;
      snprintf(ev->body.cancelled.reason, PROTO_NOTE_MAX, "changed their mind");
      break;
    case PROTO_EV_STORE_SETTINGS: {
      proto_ev_settings *st = &ev->body.settings;
      st->present = (1u << PROTO_SET_NAME) | (1u << PROTO_SET_TARGET_ACCEPT_S) |
                    (1u << PROTO_SET_TARGET_PREP_S) | (1u << PROTO_SET_TARGET_WAIT_S);
      snprintf(st->v.name, sizeof st->v.name, "门店 %.40s", s);
      st->v.target_accept_s = 90;
      st->v.target_prep_s = 600;
      st->v.target_wait_s = 300;
      break;
    }
    case PROTO_EV_CATALOG_ENTRY: {
      proto_ev_catalog *c = &ev->body.catalog;
      snprintf(sku, sizeof sku, "sku-%02" PRIu32, e->order - n_orders - 1);
      snprintf(c->sku, sizeof c->sku, "%s", sku);
      snprintf(c->name, sizeof c->name, "商品 %s", sku);
      snprintf(c->name_en, sizeof c->name_en, "Product %s", sku);
      c->price = 1500;
      c->low_threshold = 5;
      c->active = true;
      break;
    }
    case PROTO_EV_STOCK_STOCKTAKE:
      snprintf(ev->body.stocktake.sku, PROTO_ID_MAX, "sku-%02" PRIu32, e->order - n_orders - 1);
      ev->body.stocktake.counted = (int64_t)(next_rand(g) % 40);
      break;
    default: snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", order); break;
  }
}

/* Store s's stream: settings, catalog, stocktakes, then its orders. */
static int store_events(gen *g, uint32_t n_orders) {
  int64_t start = g->day0 - DAY_MS, setup = start - HOUR_MS;
  int rc = 0;
  g->n_ev = 0;
  rc |= push(g, setup, PROTO_EV_STORE_SETTINGS, n_orders, 0);
  for (uint32_t k = 0; k < g->o->skus; k++) {
    rc |= push(g, setup + 1 + k, PROTO_EV_CATALOG_ENTRY, n_orders + 1 + k, 0);
    if (k % 2 == 0) rc |= push(g, setup + 100 + k, PROTO_EV_STOCK_STOCKTAKE, n_orders + 1 + k, 0);
  }
  for (uint32_t i = 0; i < n_orders; i++) {
    /* first half yesterday, second half today up to now */
    int64_t t = i < n_orders / 2 ? uniform(g, start, g->day0 - 1) : uniform(g, g->day0, g->now - MIN_MS);
    rc |= order_events(g, i, t);
  }
  if (rc == 0) qsort(g->ev, g->n_ev, sizeof *g->ev, by_time);
  return rc;
}

static int send_store(gen *g, const char *s, uint32_t n_orders) {
  proto_event ev;
  proto_batch_writer w;
  proto_err perr = {0};
  uint64_t seq = 0, hlc = 0;
  if (store_events(g, n_orders) != 0) return die("events", "out of memory");
  for (size_t i = 0; i < g->n_ev;) {
    proto_buf_reset(&g->batch);
    if (proto_batch_begin(&w, &g->batch, s, &perr) != PROTO_OK) return die("batch", perr.msg);
    for (size_t n = 0; i < g->n_ev && n < BATCH_EVENTS; n++, i++) {
      uint64_t h = PROTO_HLC_MAKE(g->ev[i].ms, 0);
      hlc = h > hlc ? h : hlc + 1;
      proto_event_init(&ev, (proto_event_type)g->ev[i].type, s, ++seq, hlc, s);
      fill(g, s, n_orders, &g->ev[i], &ev);
      proto_buf_reset(&g->one);
      if (proto_event_encode(&ev, &g->one, &perr) != PROTO_OK) return die("encode", perr.msg);
      int rc = proto_batch_add(&w, g->one.data, g->one.len, &perr);
      if (rc == PROTO_EFULL) break;
      if (rc != PROTO_OK) return die("batch", perr.msg);
    }
    if (proto_batch_end(&w, &perr) != PROTO_OK) return die("batch", perr.msg);
    if (ingest(g, s, PROTO_REPL_EVENTS, &g->batch) != 0) return 1;
  }
  g->events += seq;
  proto_heartbeat hb;
  memset(&hb, 0, sizeof hb);
  snprintf(hb.store, sizeof hb.store, "%s", s);
  snprintf(hb.version, sizeof hb.version, "1.%" PRIu64 ".0", next_rand(g) % 3);
  hb.ts_ms = (uint64_t)g->now;
  hb.hlc = PROTO_HLC_MAKE(hb.ts_ms, 0);
  hb.uptime_s = 3600;
  hb.last_seq = hb.last_acked_seq = seq;
  hb.rss_kb = 20480;
  hb.tablets = 2;
  proto_buf_reset(&g->batch);
  if (proto_buf_puts(&g->batch, PROTO_STATUS_ONLINE) != PROTO_OK) return die("status", "out of memory");
  if (ingest(g, s, PROTO_REPL_STATUS, &g->batch) != 0) return 1;
  proto_buf_reset(&g->batch);
  if (proto_heartbeat_encode(&hb, &g->batch, &perr) != PROTO_OK) return die("heartbeat", perr.msg);
  return ingest(g, s, PROTO_REPL_HEARTBEAT, &g->batch);
}

/* A zone in which it is 20:xx now. */
static int32_t zone_at_20(int64_t now) {
  int64_t h = (now % DAY_MS) / HOUR_MS;
  int64_t off = ((20 - h) % 24 + 24) % 24;
  if (off > 12) off -= 24;
  return (int32_t)(off * 60);
}

static int parse(int argc, char **argv, options *o) {
  *o = (options){NULL, 1000, 200000, 20, 1, 256};
  for (int i = 1; i + 1 < argc; i += 2) {
    static const char *const names[] = {"--stores", "--orders", "--skus", "--seed", "--commit"};
    uint64_t *dst[] = {&o->stores, &o->orders, &o->skus, &o->seed, &o->commit};
    bool ok = false;
    if (strcmp(argv[i], "--db") == 0) o->db = argv[i + 1], ok = true;
    for (size_t k = 0; !ok && k < sizeof names / sizeof names[0]; k++)
      if (strcmp(argv[i], names[k]) == 0) *dst[k] = strtoull(argv[i + 1], NULL, 10), ok = true;
    if (!ok) return -1;
  }
  return o->db && o->stores && o->stores < 100000 && o->orders >= o->stores && o->skus &&
                 o->skus <= 100 && o->commit && argc % 2 == 1
             ? 0
             : -1;
}

int main(int argc, char **argv) {
  options o;
  gen g;
  hq_err err = {0};
  struct timespec t0, t1;
  if (parse(argc, argv, &o) != 0) {
    fprintf(stderr, "usage: hq_mkdb --db PATH [--stores 1000] [--orders 200000 (half yesterday, half "
                    "today)] [--skus 20] [--seed 1] [--commit 256]\n");
    return 2;
  }
  memset(&g, 0, sizeof g);
  g.o = &o;
  g.rng = o.seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
  g.now = (int64_t)proto_wall_ms();
  g.tz_min = zone_at_20(g.now);
  int64_t off = (int64_t)g.tz_min * MIN_MS;
  g.day0 = (g.now + off) / DAY_MS * DAY_MS - off;
  proto_buf_init(&g.one);
  proto_buf_init(&g.batch);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hq_core_opts co = {.db_path = o.db, .publish = publish, .ctx = &g, .tz_offset_min = g.tz_min};
  int rc = hq_core_open(&g.core, &co, &err) == HQ_OK ? 0 : die("hq_core_open", err.msg);
  for (uint64_t s = 0; rc == 0 && s < o.stores; s++) {
    char id[PROTO_ID_MAX];
    snprintf(id, sizeof id, "s-%04" PRIu64, s);
    rc = send_store(&g, id, (uint32_t)(o.orders / o.stores + (s < o.orders % o.stores)));
  }
  if (rc == 0) rc = settle(&g);
  if (rc == 0 && hq_core_commit(g.core, &err) != HQ_OK) rc = die("commit", err.msg);
  hq_core_close(g.core);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc == 0)
    printf("{\"db\":\"%s\",\"tz_offset_min\":%" PRId32 ",\"stores\":%" PRIu64 ",\"orders\":%" PRIu64
           ",\"events\":%" PRIu64 ",\"secs\":%.3f}\n",
           o.db, g.tz_min, o.stores, o.orders, g.events,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
  free(g.ev);
  proto_buf_close(&g.one);
  proto_buf_close(&g.batch);
  return rc;
}
