/* hq/core.h - HQ's domain core: the SQLite logs of every store's events
 * (the boxes' in the store log, events_db_path; HQ's own in hq.db), the
 * per-store materialised state (the same proto merge as the boxes), the
 * per-store version vectors, the replication protocol of proto/repl.h, and
 * the commands behind the HTTP API (intake.h, orders.h, stores.h).
 *
 * No network code: the core is handed MQTT messages (hq_core_submit,
 * hq_ingest) and hands back what it must publish through opts.publish, so
 * unit tests drive it directly.  Call everything from the event loop; the
 * core's two threads work on their own connections: the store log's writer
 * (hq/log.h) and the WAL checkpoint helper.
 *
 * Transactions: a caller opens one with hq_core_begin(), runs any number of
 * ingests or commands (each in its own SAVEPOINT, so a refused one leaves no
 * trace), and makes them durable with hq_core_commit() (one fsync,
 * synchronous=FULL).  Only after that commit does HQ acknowledge anything:
 * down/ack to a store, 201 to the mall, and HQ's own events go down only
 * once committed.
 */
#ifndef HQ_CORE_H
#define HQ_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proto/proto.h"
#include "rt/log.h"

typedef struct hq_core hq_core;

typedef struct hq_core_opts {
  const char *db_path;
  uint64_t max_skew_ms;            /* HLC bound for events from the boxes */
  int busy_timeout_ms;
  uint64_t down_window;            /* HQ events in flight per store (unacked) */
  uint64_t retransmit_ms;          /* resend unacked HQ events after this */
  uint64_t offline_after_ms;       /* no traffic for this long: offline */
  uint64_t idem_keep_ms;           /* intake idempotency keys kept this long */
  int64_t tz_offset_min;           /* stores' local time = UTC + this (opening hours) */
  int pickup_digits;               /* pickup code length, 4..6 */
  bool route_online_only;          /* route only to stores that are online */
  const char *events_db_path;      /* the store log (hq/log.h); NULL or "":
                                      db_path with "-events" before ".db" */
  size_t log_max_msgs;             /* messages per store log transaction (0: 256) */
  size_t log_max_queue;            /* messages waiting for the log (0: 100000) */
  /* The store log has messages merged-ready: call hq_core_poll soon.  Runs
   * on the log's thread; NULL: nobody is woken (hq_ingest waits itself). */
  void (*wake)(void *ctx);
  int wal_checkpoint_pages;        /* WAL pages that wake the checkpoint helper
                                      (0: 10000, ~40 MiB) */
  const rt_log *log;               /* may be NULL: no logging */
  /* Wall clock in ms; NULL = proto_wall_ms.  Tests inject their own. */
  uint64_t (*clock_ms)(void *ctx);
  /* Publish one MQTT message (QoS 1, not retained); 0 on success, -1 when
   * it could not be queued (not connected): the core resends later. */
  int (*publish)(void *ctx, const char *topic, const void *payload, size_t len);
  void *ctx;
} hq_core_opts;

/* Opens (creating or migrating) the database and loads the store registry.
 * On failure *out is NULL and nothing is left open. */
int hq_core_open(hq_core **out, const hq_core_opts *opts, hq_err *err);
/* Rolls back an open transaction and closes.  NULL is fine. */
void hq_core_close(hq_core *c);

/* ---- transactions ------------------------------------------------------------ */
int hq_core_begin(hq_core *c, hq_err *err);
/* Commit (no-op without a transaction), then publish what the commit
 * allows: acks for applied batches, HQ's new events.  On failure everything
 * since hq_core_begin is rolled back and must be answered with the error. */
int hq_core_commit(hq_core *c, hq_err *err);
void hq_core_rollback(hq_core *c);
bool hq_core_in_txn(const hq_core *c);
/* Messages (ingests) in the open transaction. */
size_t hq_core_pending(const hq_core *c);

/* ---- replication (ingest.c, outbox.c) ---------------------------------------- */
/* Handle one MQTT message from a store (topic retail/v1/stores/<s>/up/<kind>)
 * inside the open transaction (opened if none).  A refused message (bad
 * topic, malformed, oversized, wrong store or origin) is rolled back to its
 * savepoint and reported: HQ_EJSON/HQ_EINVAL/HQ_ETOOBIG/HQ_EWRONGSTORE with
 * err naming why; the transaction stays usable.  A batch whose event is too
 * far ahead of HQ's clock keeps the events before it (HQ_ECLOCK). */
int hq_ingest(hq_core *c, const char *topic, const void *payload, size_t len, hq_err *err);
/* An events batch decoded and checked ahead of hq_core_submit, on any
 * thread (hq's MQTT client thread): opaque. */
typedef struct hq_prepared hq_prepared;
/* NULL when topic is not a store's up/events (nothing to do ahead), or
 * without memory; else free it with hq_core_prepared_free unless it is
 * handed to hq_core_submit.  Thread-safe: needs no core. */
hq_prepared *hq_core_prepare(const char *topic, const void *payload, size_t len);
void hq_core_prepared_free(hq_prepared *p);
/* The program's form (hq/server.c): an events batch is queued for the store
 * log's thread and this returns at once (HQ_EBUSY when log_max_queue
 * messages wait: the box resends); its verdict comes from hq_core_poll.
 * prepared: hq_core_prepare's result for this message, or NULL (prepared
 * here); taken in every case.  Every other message is handled at once, as
 * hq_ingest does. */
int hq_core_submit(hq_core *c, const char *topic, const void *payload, size_t len,
                   hq_prepared *prepared, hq_err *err);
/* Merge at most max batches the store log has logged, in the open
 * transaction (opened if none; the caller commits, which sends the acks).
 * Each refused batch (and each kept in part, HQ_ECLOCK) is reported through
 * refused (may be NULL).  Returns the batches merged. */
typedef void (*hq_core_refused_fn)(void *ctx, const char *store, size_t bytes, int rc,
                                   const hq_err *err);
size_t hq_core_poll(hq_core *c, size_t max, hq_core_refused_fn refused, void *ctx);
/* Batches submitted and not merged yet?  While they are, a caller may keep
 * the transaction open for them (fewer commits in a burst). */
bool hq_core_log_busy(hq_core *c);
/* Wait at most timeout_ms until every batch submitted so far is logged
 * (then hq_core_poll merges them all); 0, or -1 on timeout.  Shutdown. */
int hq_core_log_wait(hq_core *c, int timeout_ms);
/* The store log's file. */
const char *hq_core_events_path(const hq_core *c);
/* The store log's file for these options: events_db_path if set, else
 * db_path with "-events" before its ".db" (or at its end). */
void hq_core_events_path_for(const char *db_path, const char *events_db_path, char *out,
                             size_t cap);
/* The MQTT session (re)connected: resend every store's unacknowledged HQ
 * events and send each known store a down/hello. */
void hq_core_connected(hq_core *c);
/* The MQTT session is down: silence from the stores now says nothing about
 * them, so none is marked offline until HQ is connected again (and has
 * heard from them for offline_after_ms). */
void hq_core_disconnected(hq_core *c);
/* Timers: retransmit unacked HQ events, mark silent stores offline, prune
 * old idempotency keys.  Runs its own transaction if it writes. */
void hq_core_tick(hq_core *c);
/* WAL housekeeping, from the same timer: when no commit happened since the
 * previous call and the WAL was written since it was last truncated, the
 * checkpoint helper TRUNCATEs it (PASSIVE checkpoints run by themselves
 * whenever a commit leaves the WAL past wal_checkpoint_pages). */
void hq_core_wal_tick(hq_core *c);

/* ---- figures --------------------------------------------------------------------- */
typedef struct hq_core_stats {
  uint64_t msgs[5];                /* up messages handled, by proto_repl_kind */
  uint64_t msgs_rejected;          /* refused messages (logged) */
  uint64_t events_applied, events_duplicate, events_skewed;
  uint64_t commits, commit_ns_total, commit_ns_max, commit_msgs_total;
  uint64_t acks_sent, hellos_sent, down_batches, down_events, down_resends;
  uint64_t publish_failed;
  uint64_t orders_created, orders_replayed;
  uint64_t no_store[3];            /* 409 by reason: out_of_range, out_of_stock, closed */
  uint64_t stores_known, stores_online, down_unacked;
  uint64_t open_by_status[PROTO_MS__COUNT];
  uint64_t conflicts;
  uint64_t wal_checkpoints, wal_checkpoints_failed; /* by the helper thread */
  uint64_t events_unmerged;        /* logged, refused by the proto merge */
  uint64_t log_commits, log_commit_ns_total, log_commit_failed; /* the store log's thread */
  uint64_t log_queued;             /* batches waiting for the store log */
  int64_t log_head, log_applied;   /* the log's last row id; the last hq.db merged */
} hq_core_stats;
/* Counters plus figures read from the database (stores, open orders). */
int hq_core_stats_get(hq_core *c, hq_core_stats *out, hq_err *err);

/* HQ's HLC now (for /healthz and tests). */
uint64_t hq_core_hlc(const hq_core *c);

/* The core's SQLite connection, for the program's own tables (the firmware
 * registry and rollouts, hq/rollout_db.c).  Write only between
 * hq_core_begin() and hq_core_commit() (or inside the open ingest
 * transaction), and finalise every statement before returning to the loop. */
struct sqlite3 *hq_core_sqlite(hq_core *c);

#endif
