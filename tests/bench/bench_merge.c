/* bench_merge.c - merge throughput: decode only vs decode + merge, one core.
 *
 * Question: how many events per second can one core take off the wire and
 * fold into materialised state, and how much of that time is the codec?
 *
 *   corpus (bench_corpus.c: a seeded day, each event as its JSON text)
 *     (a) baseline   for each text: proto_event_decode                 events/s
 *     (b) pipeline   for each text: proto_event_decode, find-or-create
 *                    the state of (target, store, key) in an open-
 *                    addressing map, proto_event_merge; a stocktake that
 *                    wins replays the SKU's delta log (the recount)    events/s
 * Reported: best of --runs for each (runs interleaved a, b, a, b... so
 * drift on a shared machine hits both), the ratio (b)/(a), merge's own cost
 * per event, and the codec's mean bytes per event, overall and per type.
 * The maps are emptied before each (b) run but keep their memory, so the
 * best run measures merge work, not page faults.
 *
 * After every (b) run the state is checked against the generator's
 * expectation (each order's status, each SKU's on-hand stock) and a digest
 * of all state must be equal across runs: a fast wrong merge fails the bench.
 * Exit status: 0 ok, 1 failure (codec/merge error or wrong state), 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_corpus.h"

/* ---- state maps ------------------------------------------------------------- */

typedef struct delta_rec {
  char origin[PROTO_ID_MAX];
  uint64_t seq;
  int64_t delta;
} delta_rec;

/* Stock state plus the SKU's delta log (what node/HQ scan in SQL on a
 * recount).  `st` first: proto_event_merge is handed the entry itself. */
typedef struct stock_entry {
  proto_stock st;
  delta_rec *log;
  size_t n_log, cap_log;
} stock_entry;

typedef struct target_ops {
  const char *name;
  size_t size;
  void (*init)(void *v, const char *store, const char *key);
  void (*fini)(void *v);  /* may be NULL */
} target_ops;

static void init_order(void *v, const char *store, const char *key) { proto_order_init(v, key, store); }
static void init_sku(void *v, const char *store, const char *key) { proto_sku_init(v, key); }
static void init_store(void *v, const char *store, const char *key) { proto_settings_init(v, store); }
static void init_stock(void *v, const char *store, const char *key) {
  stock_entry *e = v;
  proto_stock_init(&e->st, key);
  e->log = NULL;
  e->n_log = e->cap_log = 0;
}
static void fini_stock(void *v) { free(((stock_entry *)v)->log); }

#define N_TARGETS 4
static const target_ops targets[N_TARGETS] = {
    [PROTO_TARGET_ORDER] = {"orders", sizeof(proto_order), init_order, NULL},
    [PROTO_TARGET_STOCK] = {"stock", sizeof(stock_entry), init_stock, fini_stock},
    [PROTO_TARGET_SKU] = {"skus", sizeof(proto_sku), init_sku, NULL},
    [PROTO_TARGET_STORE] = {"stores", sizeof(proto_settings), init_store, NULL},
};

typedef struct map_key {
  char store[PROTO_ID_MAX];
  char key[PROTO_ID_MAX];
} map_key;

typedef struct map_slot {
  uint64_t hash;
  uint32_t idx1;     /* entry index + 1; 0 = empty */
} map_slot;

#define CHUNK 1024   /* values per chunk: values never move once created */

/* Linear-probing map (store, key) -> value of one target.  Load <= 1/2. */
typedef struct state_map {
  const target_ops *ops;
  map_slot *slots;
  size_t cap;        /* power of two, 0 before the first insert */
  size_t n;
  map_key *keys;     /* n entries, in insertion order */
  size_t cap_keys;
  unsigned char **chunks;
  size_t n_chunks;   /* kept by map_clear */
} state_map;

static void *map_value(const state_map *m, size_t idx) {
  return m->chunks[idx / CHUNK] + (idx % CHUNK) * m->ops->size;
}

static uint64_t key_hash(const char *store, const char *key) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (const char *p = store;; p++) {
    h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    if (!*p) break;
  }
  for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
  return h;
}

static map_slot *map_probe(const state_map *m, uint64_t h, const char *store, const char *key) {
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    map_slot *s = &m->slots[i];
    if (!s->idx1) return s;
    const map_key *k = &m->keys[s->idx1 - 1];
    if (s->hash == h && strcmp(k->key, key) == 0 && strcmp(k->store, store) == 0) return s;
  }
}

static int map_rehash(state_map *m, size_t cap) {
  map_slot *old = m->slots;
  size_t old_cap = m->cap;
  m->slots = calloc(cap, sizeof *m->slots);
  if (!m->slots) {
    m->slots = old;
    return PROTO_ENOMEM;
  }
  m->cap = cap;
  for (size_t i = 0; i < old_cap; i++) {
    if (!old[i].idx1) continue;
    size_t j = old[i].hash & (cap - 1);
    while (m->slots[j].idx1) j = (j + 1) & (cap - 1);
    m->slots[j] = old[i];
  }
  free(old);
  return PROTO_OK;
}

/* Room for entry m->n: key slot, value chunk, and a load <= 1/2 table.
 * PROTO_ENOMEM leaves the map valid, with its entries, maybe with more room. */
static int map_reserve(state_map *m) {
  if (2 * (m->n + 1) > m->cap && map_rehash(m, m->cap ? 2 * m->cap : 1024) != PROTO_OK) return PROTO_ENOMEM;
  if (m->n == m->cap_keys) {
    size_t cap = m->cap_keys ? 2 * m->cap_keys : 1024;
    map_key *k = realloc(m->keys, cap * sizeof *k);
    if (!k) return PROTO_ENOMEM;
    m->keys = k;
    m->cap_keys = cap;
  }
  if (m->n / CHUNK == m->n_chunks) {
    unsigned char **c = realloc(m->chunks, (m->n_chunks + 1) * sizeof *c);
    if (!c) return PROTO_ENOMEM;
    m->chunks = c;
    if (!(c[m->n_chunks] = malloc(CHUNK * m->ops->size))) return PROTO_ENOMEM;
    m->n_chunks++;
  }
  return PROTO_OK;
}

/* The value for (store, key), created with the target's init if new.
 * PROTO_ENOMEM: nothing added, the map as before. */
static int map_get(state_map *m, const char *store, const char *key, void **out) {
  uint64_t h = key_hash(store, key);
  map_slot *s = m->cap ? map_probe(m, h, store, key) : NULL;
  if (s && s->idx1) {
    *out = map_value(m, s->idx1 - 1);
    return PROTO_OK;
  }
  if (map_reserve(m) != PROTO_OK) return PROTO_ENOMEM;
  s = map_probe(m, h, store, key);  /* the table may have moved */
  map_key *k = &m->keys[m->n];
  snprintf(k->store, sizeof k->store, "%s", store);
  snprintf(k->key, sizeof k->key, "%s", key);
  s->hash = h;
  s->idx1 = (uint32_t)++m->n;
  *out = map_value(m, m->n - 1);
  m->ops->init(*out, store, key);
  return PROTO_OK;
}

static void *map_find(const state_map *m, const char *store, const char *key) {
  if (!m->cap) return NULL;
  const map_slot *s = map_probe(m, key_hash(store, key), store, key);
  return s->idx1 ? map_value(m, s->idx1 - 1) : NULL;
}

/* Forget every entry, keep the memory. */
static void map_clear(state_map *m) {
  for (size_t i = 0; m->ops->fini && i < m->n; i++) m->ops->fini(map_value(m, i));
  if (m->cap) memset(m->slots, 0, m->cap * sizeof *m->slots);
  m->n = 0;
}

static void map_free(state_map *m) {
  map_clear(m);
  for (size_t i = 0; i < m->n_chunks; i++) free(m->chunks[i]);
  free(m->chunks);
  free(m->slots);
  free(m->keys);
  memset(m, 0, sizeof *m);
}

/* ---- merge ------------------------------------------------------------------- */

static int stock_log(stock_entry *e, const proto_event *ev, bool recount) {
  if (ev->type == PROTO_EV_STOCK_DELTA) {
    if (e->n_log == e->cap_log) {
      size_t cap = e->cap_log ? 2 * e->cap_log : 64;
      delta_rec *l = realloc(e->log, cap * sizeof *l);
      if (!l) return PROTO_ENOMEM;
      e->log = l;
      e->cap_log = cap;
    }
    delta_rec *r = &e->log[e->n_log++];
    memcpy(r->origin, ev->origin, sizeof r->origin);
    r->seq = ev->seq;
    r->delta = ev->body.delta.delta;
  }
  for (size_t i = 0; recount && i < e->n_log; i++)
    proto_stock_add_delta(&e->st, e->log[i].origin, e->log[i].seq, e->log[i].delta);
  return PROTO_OK;
}

static int merge_one(state_map *maps, const proto_event *ev, proto_err *err) {
  proto_target t = proto_event_target(ev->type);
  void *state = NULL;
  bool recount = false;
  int rc = map_get(&maps[t], ev->store, proto_event_key(ev), &state);
  if (rc == PROTO_OK) rc = proto_event_merge(ev, state, &recount);
  if (rc == PROTO_OK && t == PROTO_TARGET_STOCK) rc = stock_log(state, ev, recount);
  if (rc != PROTO_OK)
    proto_err_set(err, rc, "merge of %s %s #%" PRIu64 " failed: %s", proto_event_type_name(ev->type),
                  ev->origin, ev->seq, proto_err_name(rc));
  return rc;
}

/* ---- runs -------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int decode_at(const bench_corpus *c, uint32_t i, proto_event *ev, proto_err *err) {
  int rc = proto_event_decode(c->text + c->off[i], c->len[i], ev, err);
  if (rc != PROTO_OK) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    proto_err_set(err, rc, "decode of event %u failed: %s: %s", i, proto_err_name(rc), why);
  }
  return rc;
}

/* (a): decode every event.  *sink keeps the work observable.  noinline (here
 * and in run_merge) so that a profiler can attribute each phase:
 *   valgrind --tool=callgrind --toggle-collect=run_decode bench_merge --runs 1 */
__attribute__((noinline)) static int run_decode(const bench_corpus *c, proto_event *ev, double *secs, uint64_t *sink, proto_err *err) {
  int rc = PROTO_OK;
  double t0 = now_s();
  for (uint32_t i = 0; i < c->n && rc == PROTO_OK; i++) {
    rc = decode_at(c, i, ev, err);
    *sink += ev->seq;
  }
  *secs = now_s() - t0;
  return rc;
}

/* (b): decode and merge every event into emptied maps. */
__attribute__((noinline)) static int run_merge(const bench_corpus *c, state_map *maps, proto_event *ev, double *secs, proto_err *err) {
  for (int t = 0; t < N_TARGETS; t++) map_clear(&maps[t]);
  int rc = PROTO_OK;
  double t0 = now_s();
  for (uint32_t i = 0; i < c->n && rc == PROTO_OK; i++) {
    rc = decode_at(c, i, ev, err);
    if (rc == PROTO_OK) rc = merge_one(maps, ev, err);
  }
  *secs = now_s() - t0;
  return rc;
}

/* Compare the merged state with the generator's expectation; *digest folds
 * every state's hash (maps fill in event order, so it is run-independent). */
static int check_state(const bench_corpus *c, state_map *maps, uint64_t *digest, proto_err *err) {
  char store[PROTO_ID_MAX], id[PROTO_ID_MAX];
  for (uint32_t i = 0; i < c->opts.orders; i++) {
    if (c->order_status[i] < 0) continue;
    bench_store_id(store, c->order_store[i]);
    bench_order_id(id, i);
    const proto_order *o = map_find(&maps[PROTO_TARGET_ORDER], store, id);
    proto_milestone got = o ? proto_order_status(o) : PROTO_MS__COUNT;
    if (got != (proto_milestone)c->order_status[i])
      return proto_err_set(err, PROTO_EINVAL, "order %s at %s: status %s, expected %s", id, store,
                           o ? proto_milestone_name(got) : "(no state)",
                           proto_milestone_name((proto_milestone)c->order_status[i]));
  }
  for (uint32_t s = 0; s < c->opts.stores; s++) {
    for (uint32_t k = 0; k < c->opts.skus; k++) {
      bench_store_id(store, s);
      bench_sku_id(id, k);
      const stock_entry *e = map_find(&maps[PROTO_TARGET_STOCK], store, id);
      int64_t got = e ? proto_stock_on_hand(&e->st) : 0, want = c->on_hand[s * c->opts.skus + k];
      if (got != want)
        return proto_err_set(err, PROTO_EINVAL, "stock %s at %s: on hand %" PRId64 ", expected %" PRId64,
                             id, store, got, want);
    }
  }
  uint64_t h = 0;
  for (size_t i = 0; i < maps[PROTO_TARGET_ORDER].n; i++) h = h * 31 + proto_order_hash(map_value(&maps[PROTO_TARGET_ORDER], i));
  for (size_t i = 0; i < maps[PROTO_TARGET_STOCK].n; i++)
    h = h * 31 + (uint64_t)proto_stock_on_hand(&((stock_entry *)map_value(&maps[PROTO_TARGET_STOCK], i))->st);
  for (size_t i = 0; i < maps[PROTO_TARGET_SKU].n; i++) h = h * 31 + proto_sku_hash(map_value(&maps[PROTO_TARGET_SKU], i));
  for (size_t i = 0; i < maps[PROTO_TARGET_STORE].n; i++) h = h * 31 + proto_settings_hash(map_value(&maps[PROTO_TARGET_STORE], i));
  *digest = h;
  return PROTO_OK;
}

/* ---- options and report ---------------------------------------------------------- */

typedef struct options {
  bench_corpus_opts corpus;
  unsigned runs;
  const char *json;
} options;

static const char usage[] =
    "usage: bench_merge [--events N] [--orders N] [--stores N] [--skus N] [--runs N]\n"
    "                   [--seed N] [--json FILE]\n"
    "  defaults: 200000 events, 20000 orders, 50 stores, 40 SKUs, best of 5, seed 1;\n"
    "  --json appends the figures to FILE as JSON lines.\n";

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  if (!s || !*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 0);
  if (*end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  uint64_t seed = 1, events = 200000, orders = 20000, stores = 50, skus = 40, runs = 5;
  const struct {
    const char *name;
    uint64_t min, max, *dst;
  } table[] = {
      {"--seed", 0, UINT64_MAX, &seed},       {"--events", 1, 50000000, &events},
      {"--orders", 0, 5000000, &orders},      {"--stores", 1, 999, &stores},
      {"--skus", 1, 255, &skus},              {"--runs", 1, 1000, &runs},
  };
  o->json = NULL;
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 1;
    if (strcmp(a, "--json") == 0 && v) bad = 0, o->json = v;
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
      if (strcmp(a, table[k].name) == 0) bad = parse_u64(v, table[k].min, table[k].max, table[k].dst);
    if (bad) {
      fprintf(stderr, "bench_merge: bad argument %s%s%s\n%s", a, v ? " " : "", v ? v : "", usage);
      return -1;
    }
  }
  o->corpus = (bench_corpus_opts){seed, (uint32_t)events, (uint32_t)orders, (uint32_t)stores, (uint32_t)skus};
  o->runs = (unsigned)runs;
  return 0;
}

static void json_line(FILE *f, const options *o, const char *metric, const char *type, double value,
                      const char *unit, uint64_t count) {
  if (!f) return;
  fprintf(f, "{\"bench\":\"merge\",\"metric\":\"%s\",", metric);
  if (type) fprintf(f, "\"type\":\"%s\",", type);
  fprintf(f, "\"value\":%.6g,\"unit\":\"%s\",\"count\":%" PRIu64 ",\"events\":%" PRIu32
             ",\"runs\":%u,\"seed\":%" PRIu64 "}\n",
          value, unit, count, o->corpus.events, o->runs, o->corpus.seed);
}

static void report(const options *o, const bench_corpus *c, const state_map *maps, double best_a,
                   double best_b, uint64_t digest) {
  FILE *f = o->json ? fopen(o->json, "a") : NULL;
  if (o->json && !f) fprintf(stderr, "bench_merge: cannot open %s; figures not written\n", o->json);
  double rate_a = c->n / best_a, rate_b = c->n / best_b;
  printf("  corpus: %" PRIu32 " events, %" PRIu64 " orders dispatched, %.1f MB of JSON, mean %.1f B/event\n",
         c->n, c->type_count[PROTO_EV_ORDER_DISPATCHED], c->text_len / 1e6, (double)c->text_len / c->n - 1);
  printf("    %-24s %8s %8s\n", "type", "count", "mean B");
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    if (!c->type_count[t]) continue;
    double mean = (double)c->type_bytes[t] / (double)c->type_count[t];
    printf("    %-24s %8" PRIu64 " %8.1f\n", proto_event_type_name((proto_event_type)t), c->type_count[t], mean);
    json_line(f, o, "bytes_per_event", proto_event_type_name((proto_event_type)t), mean, "B", c->type_count[t]);
  }
  json_line(f, o, "bytes_per_event", "all", (double)c->text_len / c->n - 1, "B", c->n);
  printf("  (a) decode only       %10.0f events/s  %7.3f us/event   (baseline)\n", rate_a, 1e6 / rate_a);
  printf("  (b) decode + merge    %10.0f events/s  %7.3f us/event\n", rate_b, 1e6 / rate_b);
  printf("  ratio (b)/(a)         %10.3f\n", rate_b / rate_a);
  printf("  merge alone (b - a)   %10.3f us/event  (%.0f%% of (b))\n", 1e6 * (best_b - best_a) / c->n,
         100.0 * (best_b - best_a) / best_b);
  printf("  state: %zu orders, %zu stock, %zu skus, %zu stores; digest %016" PRIx64 " (same every run)\n",
         maps[PROTO_TARGET_ORDER].n, maps[PROTO_TARGET_STOCK].n, maps[PROTO_TARGET_SKU].n,
         maps[PROTO_TARGET_STORE].n, digest);
  json_line(f, o, "decode_events_per_s", NULL, rate_a, "events/s", c->n);
  json_line(f, o, "decode_merge_events_per_s", NULL, rate_b, "events/s", c->n);
  json_line(f, o, "ratio_decode_merge_vs_decode", NULL, rate_b / rate_a, "ratio", c->n);
  json_line(f, o, "merge_us_per_event", NULL, 1e6 * (best_b - best_a) / c->n, "us", c->n);
  if (f) fclose(f);
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv) {
  options o;
  if (parse_options(argc, argv, &o) != 0) return 2;
  proto_err err = {0};
  bench_corpus c;
  state_map maps[N_TARGETS] = {{0}};
  for (int t = 0; t < N_TARGETS; t++) maps[t].ops = &targets[t];
  proto_event *ev = malloc(sizeof *ev);
  int rc = ev ? PROTO_OK : PROTO_ENOMEM;

  printf("bench_merge: %" PRIu32 " events, %" PRIu32 " orders, %" PRIu32 " stores, %" PRIu32
         " SKUs, seed %" PRIu64 ", best of %u\n",
         o.corpus.events, o.corpus.orders, o.corpus.stores, o.corpus.skus, o.corpus.seed, o.runs);
  if (rc == PROTO_OK) rc = bench_corpus_make(&c, &o.corpus, &err);
  if (rc != PROTO_OK) {
    fprintf(stderr, "bench_merge: corpus: %s: %s\n", proto_err_name(rc), err.msg);
    free(ev);
    return 1;
  }

  double best_a = 1e300, best_b = 1e300;
  uint64_t sink = 0, digest = 0;
  for (unsigned r = 0; r < o.runs && rc == PROTO_OK; r++) {
    double a = 0, b = 0;
    uint64_t d = 0;
    rc = run_decode(&c, ev, &a, &sink, &err);
    if (rc == PROTO_OK) rc = run_merge(&c, maps, ev, &b, &err);
    if (rc == PROTO_OK) rc = check_state(&c, maps, &d, &err);
    if (rc == PROTO_OK && r > 0 && d != digest)
      rc = proto_err_set(&err, PROTO_EINVAL, "state digest differs between runs: %016" PRIx64 " vs %016" PRIx64, d, digest);
    digest = d;
    if (a < best_a) best_a = a;
    if (b < best_b) best_b = b;
  }
  if (rc == PROTO_OK) report(&o, &c, maps, best_a, best_b, digest);
  else fprintf(stderr, "bench_merge: FAILED (seed %" PRIu64 "): %s\n", o.corpus.seed, err.msg);

  for (int t = 0; t < N_TARGETS; t++) map_free(&maps[t]);
  bench_corpus_free(&c);
  free(ev);
  return rc == PROTO_OK && sink != 0 ? 0 : 1;
}
