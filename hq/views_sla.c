/* views_sla.c - SLA percentiles per store and for the chain.
 *
 * One pass over today's orders, ordered by store (views_int.h, SLA): each
 * order gives up to four samples, one per metric whose two milestones were
 * both reached:
 *
 *   accept      accepted_ms      - dispatched_ms
 *   prep        ready_ms         - accepted_ms
 *   rider_wait  handoff_ms       - rider_arrived_ms    (delivery orders)
 *   total       handoff_ms       - dispatched_ms
 *
 * A negative difference (two boxes' clocks, or HQ's rider milestone racing
 * the store's handoff) counts as 0: the order was not late.  Percentiles
 * are nearest-rank on the sorted samples: p = the ceil(p/100 * n)-th
 * smallest, so every figure is a real order's time (p99 of 10 orders is
 * the slowest one).  Cost: O(orders today * log) per call; a chain the
 * size of the brief's would keep per-store histograms at apply time
 * instead (docs/hq-dashboard.md, "Scale").
 */
#include <stdlib.h>
#include <string.h>

#include "proto/settings.h"
#include "rt/db.h"
#include "views_int.h"

static const char *const metric_names[HQ_SLA__COUNT] = {
#define HQ__SLA_NAME(e, name) [HQ_SLA_##e] = name,
    HQ_SLA_METRIC_MAP(HQ__SLA_NAME)
#undef HQ__SLA_NAME
};

const char *hq_sla_metric_name(hq_sla_metric m) {
  return (unsigned)m < HQ_SLA__COUNT ? metric_names[m] : NULL;
}

/* Growable sample vectors, one per metric. */
typedef struct samples {
  uint64_t *v[HQ_SLA__COUNT];
  size_t n[HQ_SLA__COUNT], cap[HQ_SLA__COUNT];
} samples;

typedef struct sla_run {
  hq_views *v;
  hq_view_sla *out;
  size_t cap_stores;
  samples store, chain;
  char cur[PROTO_ID_MAX];          /* store whose samples `store` holds */
} sla_run;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t rank(const uint64_t *v, size_t n, unsigned p) {
  size_t r = (p * n + 99) / 100; /* ceil(p/100 * n), n >= 1 */
  return v[r ? r - 1 : 0];
}

static void pct(uint64_t *v, size_t n, hq_view_pct *out) {
  memset(out, 0, sizeof *out);
  if (!n) return;
  qsort(v, n, sizeof *v, cmp_u64);
  out->n = (uint32_t)n;
  out->p50 = rank(v, n, 50);
  out->p90 = rank(v, n, 90);
  out->p99 = rank(v, n, 99);
  out->max = v[n - 1];
}

static int push(samples *s, hq_sla_metric m, uint64_t x) {
  if (hq__v_grow((void **)&s->v[m], &s->cap[m], s->n[m] + 1, sizeof *s->v[m]) != 0) return -1;
  s->v[m][s->n[m]++] = x;
  return 0;
}

static void samples_free(samples *s) {
  for (int m = 0; m < HQ_SLA__COUNT; m++) free(s->v[m]);
}

/* b - a in ms when both milestones were reached, clamped at 0. */
static bool span(int64_t a, int64_t b, uint64_t *out) {
  if (a <= 0 || b <= 0) return false;
  *out = b > a ? (uint64_t)(b - a) : 0;
  return true;
}

/* Row: store, kind, dispatched, accepted, ready, rider_arrived, handoff. */
static int add_row(sla_run *r, sqlite3_stmt *st) {
  int64_t d = sqlite3_column_int64(st, 2), a = sqlite3_column_int64(st, 3);
  int64_t rd = sqlite3_column_int64(st, 4), ra = sqlite3_column_int64(st, 5);
  int64_t h = sqlite3_column_int64(st, 6);
  bool delivery = sqlite3_column_int(st, 1) == PROTO_KIND_DELIVERY;
  const struct { bool ok; hq_sla_metric m; } want[] = {
      {true, HQ_SLA_ACCEPT}, {true, HQ_SLA_PREP}, {delivery, HQ_SLA_RIDER_WAIT}, {true, HQ_SLA_TOTAL}};
  const int64_t from[] = {d, a, ra, d}, to[] = {a, rd, h, h};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    uint64_t x;
    if (!want[i].ok || !span(from[i], to[i], &x)) continue;
    if (push(&r->store, want[i].m, x) != 0 || push(&r->chain, want[i].m, x) != 0) return -1;
  }
  return 0;
}

/* The store's targets from its settings (defaults when it has none). */
static int targets(sla_run *r, hq_view_sla_store *s, hq_err *err) {
  proto_settings set;
  int rc = HQ_OK;
  sqlite3_stmt *st = hq__v_stmt(r->v, HQ_VQ_SETTINGS, err, "t", s->store);
  if (!st) return err->code;
  proto_settings_init(&set, s->store);
  if (hq__v_row(r->v, st, &rc, "settings", err)) {
    if (rt_db_unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &set, sizeof set) != 0)
      proto_settings_init(&set, s->store); /* a layout the core rebuilds on start: defaults meanwhile */
    sqlite3_reset(st);
  }
  s->target_ms[HQ_SLA_ACCEPT] = (uint64_t)set.v.target_accept_s * 1000u;
  s->target_ms[HQ_SLA_PREP] = (uint64_t)set.v.target_prep_s * 1000u;
  s->target_ms[HQ_SLA_RIDER_WAIT] = (uint64_t)set.v.target_wait_s * 1000u;
  return rc;
}

/* Close the current store: percentiles, name, targets; samples reset. */
static int flush(sla_run *r, hq_err *err) {
  if (!r->cur[0]) return HQ_OK;
  hq_view_sla *o = r->out;
  if (hq__v_grow((void **)&o->stores, &r->cap_stores, o->n_stores + 1, sizeof *o->stores) != 0)
    return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  hq_view_sla_store *s = &o->stores[o->n_stores++];
  memset(s, 0, sizeof *s);
  memcpy(s->store, r->cur, sizeof s->store);
  for (int m = 0; m < HQ_SLA__COUNT; m++) {
    pct(r->store.v[m], r->store.n[m], &s->m[m]);
    r->store.n[m] = 0;
  }
  int rc = hq__v_store_name(r->v, s->store, s->name, sizeof s->name, err);
  if (rc == HQ_OK) rc = targets(r, s, err);
  for (int m = 0; m < HQ_SLA__COUNT; m++)
    s->breaches += s->m[m].n && s->target_ms[m] && s->m[m].p90 > s->target_ms[m];
  r->cur[0] = '\0';
  return rc;
}

static int scan(sla_run *r, hq_err *err) {
  int rc = HQ_OK;
  char id[PROTO_ID_MAX];
  sqlite3_stmt *st = hq__v_stmt(r->v, HQ_VQ_SLA, err, "it", (int64_t)r->out->w.day_start_ms, r->out->w.store);
  if (!st) return err->code;
  while (rc == HQ_OK && hq__v_row(r->v, st, &rc, "sla", err)) {
    hq__v_text(st, 0, id, sizeof id);
    if (strcmp(id, r->cur) != 0) {
      rc = flush(r, err);
      memcpy(r->cur, id, sizeof r->cur);
    }
    if (rc == HQ_OK && add_row(r, st) != 0) rc = hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  }
  sqlite3_reset(st);
  return rc == HQ_OK ? flush(r, err) : rc;
}

/* Worst first: p90 total, then (no handoff yet) p90 accept; then id. */
static int worst_first(const void *a, const void *b) {
  const hq_view_sla_store *x = a, *y = b;
  static const hq_sla_metric keys[] = {HQ_SLA_TOTAL, HQ_SLA_ACCEPT};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const hq_view_pct *p = &x->m[keys[i]], *q = &y->m[keys[i]];
    if ((p->n > 0) != (q->n > 0)) return p->n > 0 ? -1 : 1;
    if (p->p90 != q->p90) return p->p90 > q->p90 ? -1 : 1;
  }
  return strcmp(x->store, y->store);
}

int hq_views_sla(hq_views *v, const hq_view_query *q, hq_view_sla *out, hq_err *err) {
  sla_run r;
  memset(out, 0, sizeof *out);
  memset(&r, 0, sizeof r);
  r.v = v;
  r.out = out;
  int rc = hq__v_begin(v, q, &out->w, err);
  if (rc != HQ_OK) return rc;
  rc = hq__v_end(v, scan(&r, err), err);
  for (int m = 0; rc == HQ_OK && m < HQ_SLA__COUNT; m++) pct(r.chain.v[m], r.chain.n[m], &out->chain[m]);
  samples_free(&r.store);
  samples_free(&r.chain);
  if (rc != HQ_OK) {
    hq_view_free_sla(out);
    return rc;
  }
  out->stores_total = (uint32_t)out->n_stores;
  if (out->n_stores) qsort(out->stores, out->n_stores, sizeof *out->stores, worst_first);
  if (out->n_stores > hq__v_limit(q)) out->n_stores = hq__v_limit(q);
  return HQ_OK;
}

void hq_view_free_sla(hq_view_sla *s) {
  if (!s) return;
  free(s->stores);
  s->stores = NULL;
  s->n_stores = 0;
}
