/* repl_load.h - the replication benchmarks' load tool (repl_load.c,
 * repl_load_mqtt.c): store traffic as HQ receives it, published through a
 * real broker with libmosquitto, or inserted raw into SQLite as the
 * baseline.
 *
 * A corpus is a list of up/events batches in publish order (stores round
 * robin, each store's seqs gap-free from 1) plus, for the raw baseline,
 * every event as the row HQ's log stores: (origin, seq, hlc, store, type,
 * target, key, json).
 */
#ifndef REPL_LOAD_H
#define REPL_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/event.h"
#include "proto/repl.h"

typedef struct rl_row {
  uint32_t store;                  /* index into stores */
  uint64_t seq, hlc;
  proto_event_type type;
  char key[PROTO_ID_MAX];
  size_t off, len;                 /* the event's JSON in corpus.json */
} rl_row;

typedef struct rl_msg {
  uint32_t store;
  uint64_t last_seq;               /* the store's last seq in this batch */
  size_t off, len;                 /* the batch's JSON in corpus.payloads */
} rl_msg;

typedef struct rl_corpus {
  char (*stores)[PROTO_ID_MAX];    /* sorted (bsearch by the acks) */
  char (*topics)[PROTO_TOPIC_MAX]; /* each store's up/events */
  uint64_t *store_last;            /* each store's last seq */
  uint32_t n_stores;
  rl_row *rows;
  size_t n_rows, cap_rows;
  rl_msg *msgs;
  size_t n_msgs, cap_msgs;
  proto_buf json, payloads;
} rl_corpus;

/* `stores` stores "<prefix>-NNNN", each `batches` batches of `events`
 * events: per order o-<store>-<k> accepted, preparing, ready, completed and
 * its sale (stock.delta); HLCs from the wall clock now.  0, or -1 with why. */
int rl_corpus_generate(rl_corpus *c, const char *prefix, uint32_t stores, uint32_t batches,
                       uint32_t events, char *why, size_t cap);
/* One store's own events (origin = store) from a storenode database, in
 * batches of at most `events` events and PROTO_BATCH_MAX_BYTES. */
int rl_corpus_from_db(rl_corpus *c, const char *db, const char *store, uint32_t events, char *why,
                      size_t cap);
void rl_corpus_free(rl_corpus *c);
/* Index of a store id, or -1. */
int rl_corpus_store(const rl_corpus *c, const char *store);

double rl_now_s(void);             /* CLOCK_MONOTONIC, seconds */

/* Publish every batch (QoS 1) over `conns` connections and wait until
 * HQ's down/ack covers each store's last seq.  secs: first publish to the
 * last store's covering ack; pub_secs: first publish to the last PUBACK. */
typedef struct rl_pub_result {
  double secs, pub_secs;
  uint64_t acks;                   /* down/ack messages seen for our stores */
} rl_pub_result;
int rl_pub(const rl_corpus *c, int port, unsigned conns, double timeout_s, rl_pub_result *out,
           char *why, size_t cap);

/* `stores` stores "<prefix>-NNNN" each publishing one batch of one event
 * every 1/rate s (evenly staggered) for `secs` seconds or until *stop;
 * latencies (ms) from each publish to HQ's ack covering it. */
typedef struct rl_steady_result {
  uint64_t sent, acked;
  double secs, late_max_ms;        /* worst slip behind the schedule */
  double p50_ms, p99_ms, max_ms;
} rl_steady_result;
int rl_steady(const char *prefix, uint32_t stores, double rate, double secs, int port,
              unsigned conns, volatile int *stop, rl_steady_result *out, char *why, size_t cap);

#endif
