/* bench_batch.c - proto_batch_decode: the fast path against the reference
 * (cJSON) path it falls back to, and proto_event_decode of the same events
 * one by one as the ceiling.  Not a ctest test (timing is not a test); built
 * with every build so it keeps compiling.  Run it from a Release build:
 *
 *   build/tests/proto_repl/bench_batch [--batch N] [--runs N] [--seed N]
 *
 * Corpus: bench_merge's (tests/bench/bench_corpus.c: one trading day of 50
 * stores, 200,000 events, seed 1), grouped by store into batches of up to N
 * events (default 256, PROTO_BATCH_MAX_EVENTS) by proto_batch_add, as a
 * box's or HQ's sender makes them.  Best of `runs`, the three interleaved so
 * machine drift hits all of them; fn only counts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_corpus.h"
#include "codec_int.h"
#include "proto/repl.h"

typedef struct batches {
  proto_buf *b;
  size_t n, cap;
  uint64_t events, bytes;
} batches;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_event(void *ctx, const proto_event *ev) {
  (void)ev;
  ++*(uint64_t *)ctx;
  return 0;
}

/* One open batch per store; a batch is closed when it has `per` events or
 * the writer says full. */
typedef struct open_batch {
  proto_buf buf;
  proto_batch_writer w;
  bool open;
} open_batch;

static void close_batch(open_batch *o, batches *out) {
  proto_err err = {0};
  if (!o->open) return;
  if (proto_batch_end(&o->w, &err) != PROTO_OK) abort();
  if (out->n == out->cap) {
    out->cap = out->cap ? 2 * out->cap : 256;
    out->b = realloc(out->b, out->cap * sizeof *out->b);
    if (!out->b) abort();
  }
  out->bytes += o->buf.len;
  out->b[out->n++] = o->buf;
  o->open = false;
}

static void add_event(open_batch *o, const char *store, const char *json, size_t len, size_t per,
                      batches *out) {
  proto_err err = {0};
  for (int tries = 0; tries < 2; tries++) {
    if (!o->open) {
      proto_buf_init(&o->buf);
      if (proto_batch_begin(&o->w, &o->buf, store, &err) != PROTO_OK) abort();
      o->open = true;
    }
    int rc = o->w.n < per ? proto_batch_add(&o->w, json, len, &err) : PROTO_EFULL;
    if (rc == PROTO_OK) return;
    if (rc != PROTO_EFULL) abort();
    close_batch(o, out);
  }
  abort();
}

static int make_batches(const bench_corpus *c, size_t per, batches *out) {
  open_batch *open = calloc(c->opts.stores, sizeof *open);
  proto_event *ev = malloc(sizeof *ev);
  proto_err err = {0};
  if (!open || !ev) return PROTO_ENOMEM;
  for (uint32_t i = 0; i < c->n; i++) {
    const char *js = c->text + c->off[i];
    if (proto_event_decode(js, c->len[i], ev, &err) != PROTO_OK) return err.code;
    uint32_t s = (uint32_t)strtoul(ev->store + 1, NULL, 10) - 1; /* "s001" */
    if (s >= c->opts.stores) return PROTO_EINVAL;
    add_event(&open[s], ev->store, js, c->len[i], per, out);
    out->events++;
  }
  for (uint32_t s = 0; s < c->opts.stores; s++) close_batch(&open[s], out);
  free(open);
  free(ev);
  return PROTO_OK;
}

typedef int (*batch_decoder)(const char *json, size_t len, char store[PROTO_ID_MAX],
                             proto_batch_fn fn, void *ctx, proto_err *err);

/* The reference decoder with proto_batch_decode's signature. */
static int decode_tree(const char *json, size_t len, char store[PROTO_ID_MAX], proto_batch_fn fn,
                       void *ctx, proto_err *err) {
  proto__batch_cb cb = {fn, NULL, ctx};
  return proto__batch_decode_tree(json, len, store, &cb, err);
}

/* Seconds to decode every batch with d; the events fn saw in *seen. */
static double run_batches(const batches *bs, batch_decoder d, uint64_t *seen) {
  char store[PROTO_ID_MAX];
  proto_err err = {0};
  double t0 = now_s();
  *seen = 0;
  for (size_t i = 0; i < bs->n; i++)
    if (d(bs->b[i].data, bs->b[i].len, store, count_event, seen, &err) != PROTO_OK) abort();
  return now_s() - t0;
}

/* Seconds to decode every event of the corpus alone. */
static double run_events(const bench_corpus *c, proto_event *ev) {
  proto_err err = {0};
  double t0 = now_s();
  for (uint32_t i = 0; i < c->n; i++)
    if (proto_event_decode(c->text + c->off[i], c->len[i], ev, &err) != PROTO_OK) abort();
  return now_s() - t0;
}

/* Batches the fast path decides (all of them, for writer output). */
static size_t count_fast(const batches *bs) {
  char store[PROTO_ID_MAX];
  proto_err err = {0};
  size_t n = 0;
  int rc;
  for (size_t i = 0; i < bs->n; i++)
    n += proto__batch_decode_fast(bs->b[i].data, bs->b[i].len, store, NULL, &rc, &err);
  return n;
}

int main(int argc, char **argv) {
  unsigned long per = PROTO_BATCH_MAX_EVENTS, runs = 5, seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    unsigned long v = strtoul(argv[i + 1], NULL, 0);
    if (strcmp(argv[i], "--batch") == 0 && v >= 1 && v <= PROTO_BATCH_MAX_EVENTS) per = v;
    else if (strcmp(argv[i], "--runs") == 0 && v >= 1) runs = v;
    else if (strcmp(argv[i], "--seed") == 0) seed = v;
    else return fprintf(stderr, "usage: bench_batch [--batch 1..256] [--runs N] [--seed N]\n"), 2;
  }
  bench_corpus_opts co = {seed, 200000, 20000, 50, 40};
  bench_corpus c;
  batches bs = {0};
  proto_err err = {0};
  proto_event *ev = malloc(sizeof *ev);
  if (!ev || bench_corpus_make(&c, &co, &err) != PROTO_OK) {
    fprintf(stderr, "bench_batch: corpus: %s\n", err.msg);
    return 1;
  }
  if (make_batches(&c, per, &bs) != PROTO_OK) {
    fprintf(stderr, "bench_batch: cannot build the batches\n");
    return 1;
  }
  printf("bench_batch: %" PRIu64 " events in %zu batches of up to %lu (mean %.1f events, %.1f kB), "
         "seed %lu, best of %lu; fast path decides %zu of %zu batches\n",
         bs.events, bs.n, per, (double)bs.events / (double)bs.n, (double)bs.bytes / (double)bs.n / 1e3,
         seed, runs, count_fast(&bs), bs.n);
  double best[3] = {1e9, 1e9, 1e9};
  uint64_t seen;
  for (unsigned long r = 0; r < runs; r++) {
    double t = run_batches(&bs, decode_tree, &seen);
    if (seen != bs.events) abort();
    if (t < best[0]) best[0] = t;
    t = run_batches(&bs, proto_batch_decode, &seen);
    if (seen != bs.events) abort();
    if (t < best[1]) best[1] = t;
    t = run_events(&c, ev);
    if (t < best[2]) best[2] = t;
  }
  static const char *const names[3] = {"batch, reference (cJSON)", "proto_batch_decode",
                                       "proto_event_decode alone"};
  for (int k = 0; k < 3; k++)
    printf("  %-26s %10.0f events/s  %6.3f us/event\n", names[k], (double)bs.events / best[k],
           1e6 * best[k] / (double)bs.events);
  printf("  speed-up over the reference: %.2fx\n", best[0] / best[1]);
  for (size_t i = 0; i < bs.n; i++) proto_buf_close(&bs.b[i]);
  free(bs.b);
  free(ev);
  bench_corpus_free(&c);
  return 0;
}
