/* sim.c - the convergence proof: one seeded simulation per cmocka test.
 *
 *   sim_converge [FIRST [COUNT]]     seeds FIRST..FIRST+COUNT-1 (default 1 10)
 *   RETAIL_SEED=<n> sim_converge     just seed n (how a failure says to rerun)
 *   RETAIL_SIM_EVENTS=<n>            events per seed (default 20000)
 *   RETAIL_SIM_VERBOSE=1             also print what was issued, per type
 *
 * Per seed: four replicas issue events until `target` exist, ticking a
 * simulated millisecond clock; every 20% of the way all invariants are
 * rechecked from the raw logs and state joins are compared with op-based
 * merges; then the final exchange, then the convergence check (equal
 * version vectors holding every event, equal canonical state hashes) and a
 * coverage check (every event type and stock reason was exercised).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sim.h"

#define SIM_DEFAULT_EVENTS 20000
#define SIM_START_MS UINT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

int sim_fail(sim_world *w, const char *fmt, ...) {
  if (!w->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->fail, sizeof w->fail, fmt, ap);
    va_end(ap);
    w->failed = true;
  }
  return -1;
}

/* ---- reports ------------------------------------------------------------- */

static void body_str(const proto_event *ev, char *b, size_t cap) {
  const char *by = NULL;
  b[0] = '\0';
  switch (ev->type) {
    case PROTO_EV_STOCK_DELTA:
      snprintf(b, cap, " delta=%" PRId64 " %s", ev->body.delta.delta,
               proto_stock_reason_name(ev->body.delta.reason));
      break;
    case PROTO_EV_STOCK_STOCKTAKE: {
      size_t n = (size_t)snprintf(b, cap, " counted=%" PRId64 " seen=[", ev->body.stocktake.counted);
      for (uint32_t i = 0; i < ev->body.stocktake.n_seen && n < cap; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s%s:%" PRIu64, i ? " " : "",
                              ev->body.stocktake.seen[i].origin, ev->body.stocktake.seen[i].seq);
      if (n < cap) snprintf(b + n, cap - n, "]");
      break;
    }
    case PROTO_EV_ORDER_CANCELLED: by = proto_cancel_by_name(ev->body.cancelled.by); break;
    case PROTO_EV_ORDER_REJECTED: by = proto_reject_reason_name(ev->body.rejected.reason); break;
    case PROTO_EV_ORDER_REMINDED: snprintf(b, cap, " n=%u", ev->body.reminded.n); break;
    case PROTO_EV_ORDER_ITEM_UNAVAILABLE: by = ev->body.item.sku; break;
    case PROTO_EV_ORDER_DISPATCHED: by = proto_order_kind_name(ev->body.dispatched.kind); break;
    case PROTO_EV_SKU_AVAILABILITY: by = ev->body.avail.sold_out ? "sold_out" : "available"; break;
    case PROTO_EV_CATALOG_ENTRY: snprintf(b, cap, " price=%" PRId64, ev->body.catalog.price); break;
    case PROTO_EV_STORE_SETTINGS: snprintf(b, cap, " fields=0x%x", ev->body.settings.present); break;
    default: break;
  }
  if (by) snprintf(b, cap, " %s", by);
}

const char *sim_ev_str(const sim_world *w, uint32_t idx, char *buf, size_t cap) {
  const proto_event *ev = sim_ev(w, idx);
  char body[160];
  body_str(ev, body, sizeof body);
  snprintf(buf, cap, "%s#%" PRIu64 " hlc=%" PRIu64 ".%" PRIu64 " %s %s@%s%s", ev->origin, ev->seq,
           PROTO_HLC_MS(ev->hlc), PROTO_HLC_COUNTER(ev->hlc), proto_event_type_name(ev->type),
           proto_event_key(ev), ev->store, body);
  return buf;
}

static size_t state_str(const sim_key *k, char *b, size_t cap) {
  const sim_state *s = &k->st;
  switch (k->target) {
    case PROTO_TARGET_ORDER: {
      size_t n = (size_t)snprintf(b, cap, "status=%s conflict=%d reached=",
                                  proto_milestone_name(proto_order_status(&s->order)),
                                  proto_order_conflict(&s->order));
      for (int m = 0; m < PROTO_MS__COUNT && n < cap; m++)
        if (s->order.ms_hlc[m])
          n += (size_t)snprintf(b + n, cap - n, "%s@%" PRIu64 ".%" PRIu64 " ",
                                proto_milestone_name((proto_milestone)m),
                                PROTO_HLC_MS(s->order.ms_hlc[m]), PROTO_HLC_COUNTER(s->order.ms_hlc[m]));
      return n;
    }
    case PROTO_TARGET_STOCK:
      return (size_t)snprintf(b, cap, "on_hand=%" PRId64 " count=%" PRId64 " by %s@%" PRIu64 ".%" PRIu64 " unseen=%" PRId64,
                              proto_stock_on_hand(&s->stock), s->stock.count.counted, s->stock.count_stamp.origin,
                              PROTO_HLC_MS(s->stock.count_stamp.hlc), PROTO_HLC_COUNTER(s->stock.count_stamp.hlc),
                              s->stock.unseen);
    case PROTO_TARGET_SKU:
      return (size_t)snprintf(b, cap, "catalog by %s@%" PRIu64 ".%" PRIu64 " price=%" PRId64 ", sold_out=%d by %s@%" PRIu64 ".%" PRIu64,
                              s->sku.catalog_stamp.origin, PROTO_HLC_MS(s->sku.catalog_stamp.hlc),
                              PROTO_HLC_COUNTER(s->sku.catalog_stamp.hlc), s->sku.catalog.price,
                              proto_sku_sold_out(&s->sku), s->sku.avail_stamp.origin,
                              PROTO_HLC_MS(s->sku.avail_stamp.hlc), PROTO_HLC_COUNTER(s->sku.avail_stamp.hlc));
    case PROTO_TARGET_STORE:
      return (size_t)snprintf(b, cap, "settings hash %016" PRIx64, proto_settings_hash(&s->settings));
  }
  return 0;
}

void sim_describe_key(const sim_world *w, const sim_key *k, char *buf, size_t cap) {
  size_t n = state_str(k, buf, cap);
  if (n < cap) n += (size_t)snprintf(buf + n, cap - n, "; %zu events:", k->n_evs);
  for (size_t i = 0; i < k->n_evs && i < 24 && n < cap; i++) {
    char e[300];
    n += (size_t)snprintf(buf + n, cap - n, "\n      %s", sim_ev_str(w, k->evs[i], e, sizeof e));
  }
  if (k->n_evs > 24 && n < cap) snprintf(buf + n, cap - n, "\n      ...");
}

static void print_failure(const sim_world *w, const char *argv0) {
  char *key = malloc(8192);
  fprintf(stderr, "\nSIM FAILURE seed %" PRIu64 " at t=+%" PRIu64 " ms: %s\n", w->seed,
          w->now - w->start, w->fail);
  if (w->cur_key && key) {
    sim_describe_key(w, w->cur_key, key, 8192);
    fprintf(stderr, "  %s %s: %s\n", w->cur_rep->name, w->cur_key->key, key);
  }
  fprintf(stderr, "  last steps (oldest first):\n");
  uint64_t from = w->n_trace > SIM_TRACE ? w->n_trace - SIM_TRACE : 0;
  for (uint64_t i = from; i < w->n_trace; i++) {
    const sim_trace_ent *t = &w->trace[i % SIM_TRACE];
    char e[300];
    fprintf(stderr, "    t=+%" PRIu64 " %s %s %s\n", t->now - w->start, w->rep[t->rep].name,
            t->from < 0 ? "issued" : "got", sim_ev_str(w, t->ev, e, sizeof e));
  }
  fprintf(stderr, "  rerun: RETAIL_SEED=%" PRIu64 " %s\n", w->seed, argv0);
  free(key);
}

/* ---- one seed ------------------------------------------------------------ */

static int checkpoint(sim_world *w) {
  int rc = 0;
  for (int a = 0; a < SIM_NREP && rc == 0; a++) rc = sim_check_full(w, &w->rep[a]);
  for (int a = 0; a < SIM_NREP && rc == 0; a++)
    for (int b = a + 1; b < SIM_NREP && rc == 0; b++) rc = sim_check_joins(w, &w->rep[a], &w->rep[b], 40);
  return rc;
}

/* The run must have exercised every event type and every stock reason. */
static int coverage(sim_world *w) {
  for (int t = 0; t < PROTO_EV__COUNT; t++)
    SIM_CHECK(w, w->st.by_type[t] > 0, "coverage: no %s was ever issued (legal)", proto_event_type_name((proto_event_type)t));
  for (int y = 0; y < PROTO_STOCK__COUNT; y++)
    SIM_CHECK(w, w->st.by_reason[y] > 0, "coverage: no stock delta with reason %s",
              proto_stock_reason_name((proto_stock_reason)y));
  SIM_CHECK(w, w->st.conflicts > 0, "coverage: no cancel-after-handoff conflict happened");
  return 0;
}

static int run(sim_world *w) {
  for (int i = 0; i < SIM_NREP; i++) sim_replica_init(w, i);
  sim_net_init(w);
  uint64_t next_check = w->target / 5;
  int rc = 0;
  while (rc == 0 && w->st.issued < w->target) {
    w->now += sim_below(&w->rng, 3);
    rc = sim_net_tick(w);
    int actor = sim_permille(&w->rng, 300) ? SIM_HQ : 1 + (int)sim_below(&w->rng, SIM_NSTORE);
    if (rc == 0) rc = sim_gen_step(w, &w->rep[actor]);
    if (rc == 0 && sim_below(&w->rng, 1500) == 0) rc = sim_gen_tie(w);
    if (rc == 0 && w->st.issued >= next_check) {
      rc = checkpoint(w);
      next_check += w->target / 5;
    }
  }
  if (rc == 0) rc = sim_net_final(w);
  if (rc == 0) rc = sim_check_converged(w);
  return rc ? rc : coverage(w);
}

static void world_close(sim_world *w) {
  for (int i = 0; i < SIM_NREP; i++) {
    sim_replica_close(w, &w->rep[i]);
    free(w->by_origin[i]);
  }
  sim_net_close(w);
  sim_pool *p = w->pool;
  p->chunks = sim_grow(p->chunks, &p->cap_chunks, p->n_chunks + w->n_chunks, sizeof *p->chunks);
  for (size_t i = 0; i < w->n_chunks; i++) p->chunks[p->n_chunks++] = w->chunks[i];
  free(w->chunks);
  free(w->facts);
}

static double ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void summary(const sim_world *w, double ms) {
  const sim_stats *s = &w->st;
  size_t orders = 0;
  for (size_t i = 0; i < w->rep[0].n_keys; i++) orders += w->rep[0].keys[i]->target == PROTO_TARGET_ORDER;
  printf("seed %" PRIu64 " ok: %s, %" PRIu64 " events (hq %" PRIu64 ", stores %" PRIu64 "/%" PRIu64 "/%" PRIu64
         "), %zu orders, %" PRIu64 " conflicts, %" PRIu64 " recounts, %" PRIu64 " ties; net: %" PRIu64 " delivered, %" PRIu64
         " dup-dropped, %" PRIu64 " lost, %" PRIu64 " cut, %" PRIu64 " resent, %" PRIu64 " partitions, %" PRIu64
         " isolations, %" PRIu64 " restarts, %" PRIu64 " clock steps, %" PRIu64 " refused; %" PRIu64 " step checks, %"
         PRIu64 " joins; %.1f s simulated; hash %016" PRIx64 "; %.0f ms\n",
         w->seed, w->star ? "star" : "mesh", s->issued, s->by_rep[0], s->by_rep[1], s->by_rep[2], s->by_rep[3],
         orders, s->conflicts, s->recounts, s->ties, s->delivered, s->dup_dropped, s->lost, s->cut, s->resync_sent,
         s->partitions, s->isolations, s->restarts, s->clock_steps, s->refused, s->step_checks, s->joins,
         (double)(w->now - w->start) / 1e3, sim_replica_hash(&w->rep[0]), ms);
  fflush(stdout);
}

/* RETAIL_SIM_VERBOSE=1: what was issued, per type and stock reason. */
static void counts(const sim_world *w) {
  printf("  issued:");
  for (int t = 0; t < PROTO_EV__COUNT; t++)
    printf(" %s=%" PRIu64, proto_event_type_name((proto_event_type)t), w->st.by_type[t]);
  printf("\n  stock reasons:");
  for (int y = 0; y < PROTO_STOCK__COUNT; y++)
    printf(" %s=%" PRIu64, proto_stock_reason_name((proto_stock_reason)y), w->st.by_reason[y]);
  printf("\n  illegal attempts refused by proto_order_check: %" PRIu64 "\n", w->st.illegal);
}

typedef struct seed_case {
  uint64_t seed, target;
  const char *argv0;
  sim_pool *pool;
} seed_case;

static void test_seed(void **state) {
  const seed_case *c = *state;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  sim_world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->pool = c->pool;
  w->seed = c->seed;
  w->rng = c->seed;
  w->target = c->target;
  w->star = sim_permille(&w->rng, 500);
  w->now = w->start = SIM_START_MS + sim_below(&w->rng, 1000000);
  int rc = run(w);
  if (rc == 0) summary(w, ms_since(&t0));
  else print_failure(w, c->argv0);
  if (getenv("RETAIL_SIM_VERBOSE")) counts(w);
  world_close(w);
  bool failed = rc != 0;
  free(w);
  if (failed) fail_msg("seed %" PRIu64 " did not converge; rerun: RETAIL_SEED=%" PRIu64 " %s", c->seed, c->seed, c->argv0);
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  return s && *s ? strtoull(s, NULL, 10) : dflt;
}

int main(int argc, char **argv) {
  uint64_t first = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
  uint64_t count = argc > 2 ? strtoull(argv[2], NULL, 10) : 10;
  if (getenv("RETAIL_SEED") && *getenv("RETAIL_SEED")) {
    first = env_u64("RETAIL_SEED", 1);
    count = 1;
  }
  uint64_t target = env_u64("RETAIL_SIM_EVENTS", SIM_DEFAULT_EVENTS);
  if (count == 0 || count > 100000 || target == 0) {
    fprintf(stderr, "usage: %s [FIRST [COUNT]]  (env RETAIL_SEED, RETAIL_SIM_EVENTS)\n", argv[0]);
    return 2;
  }
  sim_pool pool = {0};
  seed_case *cases = calloc(count, sizeof *cases);
  struct CMUnitTest *tests = calloc(count, sizeof *tests);
  char (*names)[32] = calloc(count, sizeof *names);
  if (!cases || !tests || !names) return 1;
  for (uint64_t i = 0; i < count; i++) {
    cases[i] = (seed_case){first + i, target, argv[0], &pool};
    snprintf(names[i], sizeof names[i], "seed %" PRIu64, first + i);
    tests[i] = (struct CMUnitTest){.name = names[i], .test_func = test_seed, .initial_state = &cases[i]};
  }
  printf("sim_converge: seeds %" PRIu64 "..%" PRIu64 ", %" PRIu64 " events each\n", first, first + count - 1, target);
  int failed = _cmocka_run_group_tests("sim_converge", tests, count, NULL, NULL);
  sim_pool_close(&pool);
  free(names);
  free(tests);
  free(cases);
  return failed ? 1 : 0;
}
