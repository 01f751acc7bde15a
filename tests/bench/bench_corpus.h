/* bench_corpus.h - a seeded, realistic day of events for benchmarks.
 *
 * One trading day across `stores` stores with a `skus`-item menu: opening
 * settings, catalog and stock receipts, then `orders` orders through their
 * lifecycle (pickup / delivery / express, some rejected, cancelled, reminded),
 * a sale delta per order line, and the day's other traffic (receipts, waste,
 * corrections, sold-out toggles, stocktakes, price and settings changes),
 * all in time order with gap-free seqs and HLCs per origin.  Origins: "hq"
 * and one box per store ("s001-box").  Each event is held as its JSON text
 * (proto_event_encode), so a benchmark measures what a replica receives.
 *
 * Alongside, what a correct merge must end with: each order's status and
 * each (store, sku)'s on-hand stock, computed by the generator.
 */
#ifndef BENCH_CORPUS_H
#define BENCH_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

typedef struct bench_corpus_opts {
  uint64_t seed;
  uint32_t events;   /* total, including the opening events */
  uint32_t orders;
  uint32_t stores;   /* 1..999 */
  uint32_t skus;     /* 1..255 */
} bench_corpus_opts;

typedef struct bench_corpus {
  bench_corpus_opts opts;
  uint32_t n;                 /* events held (== opts.events unless too few orders) */
  char *text;                 /* every event's JSON, each followed by a NUL */
  size_t text_len;
  size_t *off;                /* n: start of event i in text */
  uint32_t *len;              /* n: its length without the NUL */
  uint64_t type_count[PROTO_EV__COUNT];
  uint64_t type_bytes[PROTO_EV__COUNT];

  /* Expected final state. */
  uint16_t *order_store;      /* orders: store index of order i */
  int *order_status;          /* orders: proto_milestone, -1 if not in corpus */
  int64_t *on_hand;           /* stores * skus, index store * skus + sku */
} bench_corpus;

/* Build the corpus.  On failure (PROTO_ENOMEM, or an event the codec
 * refused, named in err) nothing is left allocated. */
int bench_corpus_make(bench_corpus *c, const bench_corpus_opts *opts, proto_err *err);
void bench_corpus_free(bench_corpus *c);

/* Ids as written in the corpus. */
void bench_store_id(char out[PROTO_ID_MAX], uint32_t store);
void bench_order_id(char out[PROTO_ID_MAX], uint32_t order);
void bench_sku_id(char out[PROTO_ID_MAX], uint32_t sku);

#endif
