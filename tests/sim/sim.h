/* sim.h - the world of the convergence simulation (tests/sim).
 *
 * Four replicas ("hq" and store-001..003) issue random but legal events,
 * exchange them over a simulated network that delays, reorders, duplicates,
 * loses and partitions, and merge them with proto_event_merge().  After a
 * final full exchange every replica must hold the same events (equal version
 * vectors) and the same canonical state hash.
 *
 *   gen.c      what each role may issue, checked against its local view
 *   replica.c  receive / issue / apply: dedup by (origin, seq), HLC, merge
 *   check.c    invariants after every step, oracles recomputed from the log
 *   net.c      per-link delays, duplicates, loss, partitions, anti-entropy
 *   sim.c      one seed end to end, summary line, cmocka driver
 *
 * Events are immutable once issued, so they live once in the world's event
 * store and replicas, logs and network messages refer to them by index.
 * Everything is a pure function of the seed: no wall clock, no rand().
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define SIM_NREP 4            /* replica 0 is hq, 1..3 the stores */
#define SIM_HQ 0
#define SIM_NSTORE (SIM_NREP - 1)
#define SIM_NSKU 6
#define SIM_KEY_MAX (2 + PROTO_ID_MAX + 1 + PROTO_ID_MAX)
#define SIM_CHUNK 1024        /* events per event-store chunk */
#define SIM_TRACE 24          /* steps remembered for a failure report */
#define SIM_MAX_AHEAD_MS 60000

/* ---- tiny PRNG: splitmix64 ------------------------------------------------ */

static inline uint64_t sim_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}
/* Uniform in 0..n-1 (n > 0). */
static inline uint32_t sim_below(uint64_t *s, uint32_t n) {
  return (uint32_t)(((sim_next(s) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform in lo..hi inclusive. */
static inline int64_t sim_range(uint64_t *s, int64_t lo, int64_t hi) {
  return lo + (int64_t)(sim_next(s) % (uint64_t)(hi - lo + 1));
}
static inline bool sim_permille(uint64_t *s, uint32_t pm) { return sim_below(s, 1000) < pm; }

/* ---- materialised state of one key at one replica ------------------------ */

typedef union sim_state {
  proto_order order;
  proto_stock stock;
  proto_sku sku;
  proto_settings settings;
} sim_state;

typedef struct sim_key {
  char key[SIM_KEY_MAX];      /* "O|<order>", "S|<store>|<sku>", "K|<store>|<sku>", "T|<store>" */
  proto_target target;
  int store;                  /* store index 0..SIM_NSTORE-1 */
  sim_state st;
  uint32_t *evs;              /* events of this key held here, arrival order */
  size_t n_evs, cap_evs;
  /* orders: the checks' memory */
  int last_rank;              /* rank of the status after the previous step */
  int64_t reserved[PROTO_ITEMS_MAX]; /* per line, as last added to reserved_sum */
  bool listed;                /* in the replica's order list (dispatch known) */
  bool conflict_queued;       /* hq: waiting to be resolved */
  /* oracle scratch (check.c) */
  uint32_t or_winner;         /* winning stocktake + 1, 0 = none */
  uint64_t or_seen[SIM_NREP]; /* its seen vector by replica index */
  int64_t or_sum;
} sim_key;

typedef struct sim_replica {
  int id;
  char name[PROTO_ID_MAX];    /* also the store id for a store */
  bool is_hq;
  int store;                  /* store index, -1 for hq */
  proto_hlc hlc;
  int64_t clock_offset_ms;    /* skew of this replica's wall clock */
  bool no_rtc;                /* restarted, wall clock near 1970 until "NTP" */
  uint64_t boot_at, ntp_at;   /* world time of the restart and of the sync */
  uint64_t seq;               /* last own seq */
  uint64_t max_hlc;           /* highest hlc in the log */
  uint64_t last_own_hlc;
  uint64_t next_order;        /* hq: order id counter */
  proto_vv vv;
  uint32_t *log;              /* event indices, arrival order */
  size_t n_log, cap_log;
  sim_key **keys;             /* creation order */
  size_t n_keys, cap_keys;
  uint32_t *slots;            /* open addressing: key index + 1, 0 empty */
  size_t n_slots;
  sim_key **orders;           /* orders in scope with a known dispatch */
  size_t n_orders, cap_orders;
  sim_key **conflicts;        /* hq: conflicts not resolved yet */
  size_t n_conflicts, cap_conflicts;
  int64_t reserved_sum[SIM_NSTORE][SIM_NSKU];
} sim_replica;

/* ---- network ------------------------------------------------------------- */

typedef struct sim_msg {
  uint64_t due, tie;          /* delivery time; tie keeps the heap deterministic */
  uint32_t ev;
  uint8_t src, dst;
} sim_msg;

typedef struct sim_link {
  bool exists, up;
  uint64_t heal_at, sync_at;
} sim_link;

typedef struct sim_net {
  sim_msg *heap;
  size_t n, cap;
  uint64_t tie;
  sim_link link[SIM_NREP][SIM_NREP];  /* symmetric */
  bool final;                 /* final exchange: no loss, no partitions */
} sim_net;

/* ---- the world ----------------------------------------------------------- */

/* A compact copy of what the stock oracle reads of each event, so that its
 * scans do not stride through 6 KB events. */
typedef struct sim_fact {
  uint64_t seq;
  int64_t delta;              /* stock.delta only */
  uint8_t rep;                /* replica index of the origin */
  uint8_t type;               /* proto_event_type */
} sim_fact;

typedef struct sim_stats {
  uint64_t issued, by_rep[SIM_NREP], by_type[PROTO_EV__COUNT], by_reason[PROTO_STOCK__COUNT];
  uint64_t sent, dup_sent, lost, cut, delivered, dup_dropped, refused, resync_sent;
  uint64_t partitions, isolations, restarts, clock_steps;
  uint64_t recounts, conflicts, illegal, ties, step_checks, full_checks, joins;
} sim_stats;

typedef struct sim_trace_ent {
  uint64_t now;
  uint32_t ev;
  int8_t rep, from;           /* from: sender, -1 issued locally */
} sim_trace_ent;

/* Memory kept between the seeds one process runs (event chunks and key
 * states, ~200 MB a seed), so that later seeds do not page it in again. */
typedef struct sim_pool {
  proto_event **chunks;
  size_t n_chunks, cap_chunks;
  sim_key **keys;
  size_t n_keys, cap_keys;
} sim_pool;
void sim_pool_close(sim_pool *p);

typedef struct sim_world {
  sim_pool *pool;
  uint64_t seed, rng, now, start;
  uint64_t target;            /* events to issue */
  bool star;                  /* stores talk only to hq, hq relays */
  proto_event **chunks;       /* the event store */
  size_t n_ev, n_chunks, cap_chunks;
  sim_fact *facts;            /* event index -> the few fields hot loops read */
  size_t cap_facts;
  uint32_t *by_origin[SIM_NREP]; /* seq-1 -> event index */
  size_t cap_origin[SIM_NREP];
  sim_replica rep[SIM_NREP];
  sim_net net;
  sim_stats st;
  sim_trace_ent trace[SIM_TRACE];
  uint64_t n_trace;
  bool failed;
  char fail[2048];
  const sim_replica *cur_rep; /* key being checked, for the failure report */
  const sim_key *cur_key;
} sim_world;

/* Fixed universe of names. */
extern const char *const sim_rep_names[SIM_NREP];
extern const char *const sim_sku_names[SIM_NSKU];
int sim_rep_index(const char *name);   /* -1 if unknown */
int sim_sku_index(const char *sku);    /* -1 if unknown */

/* Record the first failure (printf-style); returns -1 for `return sim_fail(...)`. */
int sim_fail(sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define SIM_CHECK(w, cond, ...)                 \
  do {                                          \
    if (!(cond)) return sim_fail((w), __VA_ARGS__); \
  } while (0)

static inline proto_event *sim_ev(const sim_world *w, uint32_t idx) {
  return &w->chunks[idx / SIM_CHUNK][idx % SIM_CHUNK];
}
/* One-line description of an event for reports. */
const char *sim_ev_str(const sim_world *w, uint32_t idx, char *buf, size_t cap);

/* replica.c */
int sim_replica_init(sim_world *w, int id);
void sim_replica_close(sim_world *w, sim_replica *r);  /* keys go back to the pool */
uint64_t sim_wall(const sim_world *w, const sim_replica *r);
/* A zeroed event slot for r to fill; committed by sim_issue(). */
proto_event *sim_slot(sim_world *w, sim_replica *r, proto_event_type t, const char *store);
/* Stamp (seq, hlc), store, apply locally and send to the neighbours. */
int sim_issue(sim_world *w, sim_replica *r);
/* Deliver event idx from replica `from` to r (dedup, HLC, merge, checks). */
int sim_receive(sim_world *w, sim_replica *r, uint32_t idx, int from);
sim_key *sim_key_find(const sim_replica *r, const char *key);
void sim_key_of(const proto_event *ev, char out[SIM_KEY_MAX]);
void sim_restart(sim_world *w, sim_replica *r);
uint64_t sim_replica_hash(const sim_replica *r);
uint64_t sim_state_hash(proto_target t, const sim_state *st);
static inline uint64_t sim_key_hash(const sim_key *k) { return sim_state_hash(k->target, &k->st); }
/* Human-readable state of a key plus its events, for failure reports. */
void sim_describe_key(const sim_world *w, const sim_key *k, char *buf, size_t cap);

/* check.c */
int sim_check_step(sim_world *w, sim_replica *r, sim_key *k);
int sim_check_full(sim_world *w, sim_replica *r);
int sim_check_joins(sim_world *w, sim_replica *a, sim_replica *b, unsigned max_keys);
int sim_check_converged(sim_world *w);

/* net.c */
int sim_net_init(sim_world *w);
void sim_net_close(sim_world *w);
int sim_net_send(sim_world *w, int src, int dst, uint32_t idx);
int sim_net_tick(sim_world *w);
int sim_net_final(sim_world *w);

/* gen.c */
int sim_gen_step(sim_world *w, sim_replica *r);
/* hq and a store write one register in the same millisecond (equal HLCs). */
int sim_gen_tie(sim_world *w);

/* realloc p to hold at least `need` elements (doubling); aborts when out of
 * memory, which a test may do. */
void *sim_grow(void *p, size_t *cap, size_t need, size_t elem);

/* FNV-1a for the canonical hash. */
static inline uint64_t sim_fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}
#define SIM_FNV_INIT UINT64_C(0xcbf29ce484222325)

#endif
