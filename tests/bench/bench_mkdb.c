/* bench_mkdb.c - build a store database of N orders quickly, for the memory
 * benchmark (tests/bench/rss.bench.mjs).  Not a benchmark itself: it is
 * built with retail_benches but not listed in the manifest.
 *
 * Everything goes through node_core, exactly as storenode would write it:
 * HQ's events (catalog, dispatches, rider and delivery milestones, customer
 * cancellations) through node_engine_ingest, the store's own commands
 * (accept ... complete, stock receipts, weekly stocktakes) through the
 * command API, committed every --batch commands instead of every few.  The
 * engine's clock is injected and walks from `--days` days ago to a minute
 * ago at one order per (days / N), so the last board_recent_s (6 h) of
 * finished orders and the open ones at the end are what a tablet's snapshot
 * would show on a real box:
 *
 *   order i at t_i:  dispatched (hq) ── accept 10% ── prepare 20% ── ready 50%
 *                    ── pickup: complete 70%
 *                    ── delivery: rider.assigned (hq) 5%, arrived 60%,
 *                                 handoff 70%, delivered (hq) 90%
 *                    ── express: ship 70%
 *                    (% of the step between two orders; 2% rejected, 2%
 *                    cancelled by the customer; the last --open orders stop
 *                    at dispatched / accepted / preparing / ready)
 *
 * Deterministic for a given --seed (except the wall clock it ends at).
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

#define N_SKUS 40
#define N_TRACKED 16 /* SKUs 0..15 are packaged goods with stock; the rest made to order */
#define DAY_MS UINT64_C(86400000)

typedef struct options {
  const char *db, *store;
  uint64_t orders, days, seed, batch, open;
} options;

typedef struct gen {
  const options *o;
  node_engine *e;
  uint64_t now;              /* the injected clock, ms */
  uint64_t t0, step;         /* first order's time, ms between orders */
  uint64_t rng;
  uint64_t hq_seq;
  uint16_t hq_ctr;
  uint64_t commands;         /* since the last commit */
  uint64_t day;              /* last day stock was received */
} gen;

static const char *const sku_names[N_SKUS] = {
    "芝士贝果", "巧克力蛋糕", "矿泉水", "可颂", "三明治", "酸奶", "坚果棒", "饭团",
    "沙拉", "香蕉", "曲奇", "司康", "蛋挞", "肉松面包", "果汁", "能量棒",
    "生椰拿铁", "美式咖啡", "拿铁", "澳白", "摩卡", "焦糖玛奇朵", "卡布奇诺", "冷萃",
    "柠檬茶", "杨枝甘露", "芋泥波波", "抹茶拿铁", "红茶拿铁", "燕麦拿铁", "椰青美式", "橙C美式",
    "桂花拿铁", "丝绒拿铁", "厚乳拿铁", "热可可", "蜂蜜柚子茶", "茉莉奶绿", "乌龙拿铁", "气泡水"};

static uint64_t next_rand(gen *g) { /* xorshift64* */
  g->rng ^= g->rng >> 12;
  g->rng ^= g->rng << 25;
  g->rng ^= g->rng >> 27;
  return g->rng * UINT64_C(2685821657736338717);
}

static uint32_t pick(gen *g, uint32_t n) { return (uint32_t)(next_rand(g) % n); }

static uint64_t clock_cb(void *ctx) { return ((gen *)ctx)->now; }

/* Move the clock to t if that is later (it never goes back). */
static void at(gen *g, uint64_t t) {
  if (t > g->now) g->now = t;
}

static void sku_id(char *out, size_t cap, uint32_t k) { snprintf(out, cap, "sku-%02u", (unsigned)k); }

/* One command or event done: commit every --batch. */
static int done_one(gen *g, int rc, node_err *err) {
  if (rc != NODE_OK) return rc;
  if (++g->commands < g->o->batch) return NODE_OK;
  g->commands = 0;
  return node_engine_commit(g->e, err);
}

/* HQ's next event: gap-free seq, HLC from the clock. */
static void hq_init(gen *g, proto_event *ev, proto_event_type type) {
  proto_event_init(ev, type, "hq", ++g->hq_seq, PROTO_HLC_MAKE(g->now, g->hq_ctr++), g->o->store);
}

static int send_hq(gen *g, proto_event *ev, node_err *err) {
  return done_one(g, node_engine_ingest(g->e, ev, err), err);
}

static int catalog(gen *g, proto_event *ev, node_err *err) {
  int rc = NODE_OK;
  for (uint32_t k = 0; k < N_SKUS && rc == NODE_OK; k++) {
    hq_init(g, ev, PROTO_EV_CATALOG_ENTRY);
    proto_ev_catalog *c = &ev->body.catalog;
    sku_id(c->sku, sizeof c->sku, k);
    snprintf(c->name, sizeof c->name, "%s", sku_names[k]);
    c->price = 900 + 100 * (int64_t)(k % 20);
    c->low_threshold = k < N_TRACKED ? 5 : 0;
    c->active = true;
    rc = send_hq(g, ev, err);
  }
  return rc;
}

/* Daily delivery of packaged goods, a stocktake of each every 7th day. */
static int stock_day(gen *g, node_err *err) {
  int rc = NODE_OK;
  uint64_t day = (g->now - g->t0) / DAY_MS + 1;
  if (day == g->day) return NODE_OK;
  g->day = day;
  for (uint32_t k = 0; k < N_TRACKED && rc == NODE_OK; k++) {
    char sku[16];
    sku_id(sku, sizeof sku, k);
    if (day % 7 == 0) {
      node_stock_view v;
      rc = node_stock_get(g->e, sku, &v, err);
      if (rc == NODE_OK) rc = done_one(g, node_stocktake(g->e, sku, v.on_hand > 2 ? v.on_hand - 1 : 0, "s-li", NULL, err), err);
    }
    if (rc == NODE_OK)
      rc = done_one(g, node_stock_adjust(g->e, sku, 200, PROTO_STOCK_RECEIVE, NULL, NULL, "每日到货", "s-wang", err), err);
  }
  return rc;
}

static void fill_dispatch(gen *g, proto_event *ev, const char *id, proto_order_kind kind) {
  static const char *const customers[] = {"王先生", "李女士", "张同学", "陈先生", "刘女士"};
  static const char *const notes[] = {"", "少冰", "不要吸管", "多加糖", "少冰，不要吸管", ""};
  proto_ev_dispatched *d = &ev->body.dispatched;
  snprintf(d->order_id, sizeof d->order_id, "%s", id);
  d->kind = kind;
  d->n_items = 1 + pick(g, 3);
  for (uint32_t k = 0; k < d->n_items; k++) {
    uint32_t s = pick(g, N_SKUS);
    proto_item *it = &d->items[k];
    sku_id(it->sku, sizeof it->sku, s);
    snprintf(it->name, sizeof it->name, "%s", sku_names[s]);
    it->qty = 1 + (int32_t)pick(g, 2);
    it->price = 900 + 100 * (int64_t)(s % 20);
    d->total += it->price * it->qty;
  }
  snprintf(d->pickup_code, sizeof d->pickup_code, "%04u", pick(g, 10000));
  snprintf(d->customer, sizeof d->customer, "%s", customers[pick(g, 5)]);
  snprintf(d->phone_tail, sizeof d->phone_tail, "%04u", pick(g, 10000));
  snprintf(d->note, sizeof d->note, "%s", notes[pick(g, 6)]);
  d->placed_ms = g->now - 2000;
}

/* The store's steps of one order, up to `last` (0 accept .. 3 ready, 4 all). */
static int local_steps(gen *g, const proto_ev_dispatched *d, uint64_t t, int last, node_err *err) {
  const char *id = d->order_id, *by = "s-wang";
  int rc = NODE_OK;
  at(g, t + g->step / 10);
  if (last >= 0) rc = done_one(g, node_order_accept(g->e, id, by, err), err);
  at(g, t + g->step / 5);
  if (rc == NODE_OK && last >= 1) rc = done_one(g, node_order_prepare(g->e, id, by, err), err);
  at(g, t + g->step / 2);
  if (rc == NODE_OK && last >= 2) rc = done_one(g, node_order_ready(g->e, id, by, err), err);
  if (rc != NODE_OK || last < 4) return rc;
  if (d->kind == PROTO_KIND_DELIVERY) {
    at(g, t + g->step * 6 / 10);
    rc = done_one(g, node_order_rider_arrived(g->e, id, by, err), err);
  }
  at(g, t + g->step * 7 / 10);
  if (rc == NODE_OK && d->kind == PROTO_KIND_PICKUP)
    rc = done_one(g, node_order_complete(g->e, id, d->pickup_code, by, err), err);
  if (rc == NODE_OK && d->kind == PROTO_KIND_DELIVERY)
    rc = done_one(g, node_order_handoff(g->e, id, d->pickup_code, by, err), err);
  if (rc == NODE_OK && d->kind == PROTO_KIND_EXPRESS)
    rc = done_one(g, node_order_ship(g->e, id, "顺丰速运", "SF1234567890", by, err), err);
  return rc;
}

/* HQ's events after the dispatch: rider, delivered, or a cancellation. */
static int hq_step(gen *g, proto_event *ev, proto_event_type type, const char *id, node_err *err) {
  hq_init(g, ev, type);
  if (type == PROTO_EV_RIDER_ASSIGNED) {
    snprintf(ev->body.rider.order_id, sizeof ev->body.rider.order_id, "%s", id);
    snprintf(ev->body.rider.name, sizeof ev->body.rider.name, "张师傅");
    snprintf(ev->body.rider.phone_tail, sizeof ev->body.rider.phone_tail, "8899");
    ev->body.rider.eta_ms = g->now + 600000;
  } else if (type == PROTO_EV_ORDER_CANCELLED) {
    snprintf(ev->body.cancelled.order_id, sizeof ev->body.cancelled.order_id, "%s", id);
    ev->body.cancelled.by = PROTO_CANCEL_CUSTOMER;
    snprintf(ev->body.cancelled.reason, sizeof ev->body.cancelled.reason, "地址填错了");
  } else {
    snprintf(ev->body.step.order_id, sizeof ev->body.step.order_id, "%s", id);
    snprintf(ev->body.step.by, sizeof ev->body.step.by, "rider");
  }
  return send_hq(g, ev, err);
}

static int one_order(gen *g, proto_event *ev, uint64_t i, node_err *err) {
  static const proto_order_kind kinds[20] = {
      PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP,
      PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP, PROTO_KIND_PICKUP,
      PROTO_KIND_PICKUP, PROTO_KIND_DELIVERY, PROTO_KIND_DELIVERY, PROTO_KIND_DELIVERY,
      PROTO_KIND_DELIVERY, PROTO_KIND_DELIVERY, PROTO_KIND_DELIVERY, PROTO_KIND_DELIVERY,
      PROTO_KIND_DELIVERY, PROTO_KIND_EXPRESS};
  uint64_t t = g->t0 + i * g->step, left = g->o->orders - i;
  proto_order_kind kind = kinds[pick(g, 20)];
  uint32_t fate = pick(g, 100);
  char id[PROTO_ID_MAX];
  int rc;
  at(g, t);
  rc = stock_day(g, err);
  snprintf(id, sizeof id, "o-%08" PRIu64, i + 1);
  if (rc == NODE_OK) {
    hq_init(g, ev, PROTO_EV_ORDER_DISPATCHED);
    fill_dispatch(g, ev, id, kind);
    rc = send_hq(g, ev, err);
  }
  proto_ev_dispatched d = ev->body.dispatched;
  if (rc == NODE_OK && left <= g->o->open) return local_steps(g, &d, t, (int)(left % 4) - 1, err);
  if (rc == NODE_OK && fate < 2) {
    at(g, t + g->step / 10);
    return done_one(g, node_order_reject(g->e, id, PROTO_REJECT_BUSY, "s-wang", err), err);
  }
  if (rc == NODE_OK && fate < 4) {
    at(g, t + g->step / 20);
    return hq_step(g, ev, PROTO_EV_ORDER_CANCELLED, id, err);
  }
  if (rc == NODE_OK && kind == PROTO_KIND_DELIVERY) {
    at(g, t + g->step / 20);
    rc = hq_step(g, ev, PROTO_EV_RIDER_ASSIGNED, id, err);
  }
  if (rc == NODE_OK) rc = local_steps(g, &d, t, 4, err);
  if (rc == NODE_OK && kind == PROTO_KIND_DELIVERY) {
    at(g, t + g->step * 9 / 10);
    rc = hq_step(g, ev, PROTO_EV_ORDER_DELIVERED, id, err);
  }
  return rc;
}

/* ---- options and main ---------------------------------------------------------- */

static const char usage[] =
    "usage: bench_mkdb --db PATH [--store ID] [--orders N] [--days N] [--open N] [--batch N] [--seed N]\n"
    "  defaults: store store-bench, 50000 orders over orders/1000 days ending a minute ago,\n"
    "  the last 24 left open, commit every 2000 commands, seed 1.  PATH must not exist.\n";

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  if (!s || !*s || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  *o = (options){.store = "store-bench", .orders = 50000, .seed = 1, .batch = 2000, .open = 24};
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = -1;
    if (strcmp(a, "--db") == 0 && v) bad = 0, o->db = v;
    else if (strcmp(a, "--store") == 0 && v) bad = proto_id_valid(v) ? 0 : -1, o->store = v;
    else if (strcmp(a, "--orders") == 0) bad = parse_u64(v, 1, 10000000, &o->orders);
    else if (strcmp(a, "--days") == 0) bad = parse_u64(v, 1, 3650, &o->days);
    else if (strcmp(a, "--open") == 0) bad = parse_u64(v, 0, 1000, &o->open);
    else if (strcmp(a, "--batch") == 0) bad = parse_u64(v, 1, 1000000, &o->batch);
    else if (strcmp(a, "--seed") == 0) bad = parse_u64(v, 1, UINT64_MAX, &o->seed);
    if (bad) {
      fprintf(stderr, "bench_mkdb: bad argument %s%s%s\n%s", a, v ? " " : "", v ? v : "", usage);
      return -1;
    }
  }
  if (!o->db) {
    fprintf(stderr, "bench_mkdb: --db is required\n%s", usage);
    return -1;
  }
  if (!o->days) o->days = o->orders / 1000 ? o->orders / 1000 : 1;
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  options o;
  gen g;
  node_err err;
  proto_event *ev = NULL;
  node_engine_stats st;
  if (parse_options(argc, argv, &o) != 0) return 2;
  FILE *exists = fopen(o.db, "rb");
  if (exists) {
    fclose(exists);
    fprintf(stderr, "bench_mkdb: %s exists; refusing to add to it\n", o.db);
    return 2;
  }
  memset(&g, 0, sizeof g);
  node_err_clear(&err);
  g.o = &o;
  g.rng = o.seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
  uint64_t end = proto_wall_ms() - 60000, span = o.days * DAY_MS;
  g.step = span / o.orders;
  g.t0 = g.now = end - span;
  double t_start = now_s();
  node_engine_opts eo = {.db_path = o.db, .store_id = o.store, .max_skew_ms = 60000, .clock_ms = clock_cb, .ctx = &g};
  ev = malloc(sizeof *ev);
  int rc = ev ? node_engine_open(&g.e, &eo, &err) : node_err_set(&err, NODE_ENOMEM, "out of memory");
  if (rc == NODE_OK) rc = catalog(&g, ev, &err);
  for (uint64_t i = 0; i < o.orders && rc == NODE_OK; i++) rc = one_order(&g, ev, i, &err);
  if (rc == NODE_OK) rc = node_engine_commit(g.e, &err);
  if (rc == NODE_OK) rc = node_engine_stats_get(g.e, &st, &err);
  if (rc == NODE_OK) {
    printf("bench_mkdb: %s: %" PRIu64 " orders over %" PRIu64 " days, %" PRIu64 " events (%" PRIu64
           " local, %" PRIu64 " from hq) in %" PRIu64 " commits, %.1f s\n",
           o.db, o.orders, o.days, st.events_local + st.events_remote, st.events_local, st.events_remote,
           st.commits, now_s() - t_start);
    printf("  open orders by status:");
    for (int m = 0; m < PROTO_MS__COUNT; m++)
      if (st.orders_by_status[m]) printf(" %s=%" PRIu64, proto_milestone_name((proto_milestone)m), st.orders_by_status[m]);
    printf("\n");
  } else {
    fprintf(stderr, "bench_mkdb: FAILED: %s: %s\n", node_err_wire(rc), err.msg);
  }
  node_engine_close(g.e);
  free(ev);
  return rc == NODE_OK ? 0 : 1;
}
