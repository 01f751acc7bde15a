/* hq/core_int.h - private to hq_core: the core handle, the store registry
 * and the helpers shared by core.c, apply.c, ingest.c, outbox.c, intake.c,
 * orders.c and stores.c (hq__* names).  Unit tests include it for white-box
 * checks; the program (server, api) does not.
 */
#ifndef HQ_CORE_INT_H
#define HQ_CORE_INT_H

#include <pthread.h>

#include "core.h"
#include "db.h"
#include "log.h"
#include "proto/repl.h"

/* One store as the replication layer sees it.  Loaded lazily (vv and seqs
 * come from the log on first use); pointers are stable (the registry is an
 * array of pointers sorted by id).
 *
 *   HQ's origin for the store, hq:<id>:  1 .. down_acked .. sent_upto .. committed_seq .. next_seq-1
 *        acked by the store ^      published ^    durable ^     written, maybe uncommitted ^
 *   Invariants: down_acked <= committed_seq is not guaranteed (a store can
 *   hold more than HQ after HQ was restored from a backup; next_seq then
 *   jumps past it so a seq is never reused); sent_upto <= committed_seq.
 */
typedef struct hq__store {
  char id[PROTO_ID_MAX];
  char origin[PROTO_ID_MAX];       /* "hq:<id>" */
  bool loaded;
  proto_vv vv;                     /* committed (origin, seq) of <id> and hq:<id> */
  uint64_t next_seq, committed_seq;
  uint64_t down_acked, sent_upto;
  uint64_t sent_ms;                /* last down batch published (wall ms) */
  uint64_t last_seen_ms;
  bool online;
  bool ack_due;                    /* an events batch was handled: ack after commit */
  bool touched;                    /* on the transaction's touched list */
} hq__store;

/* One event written in the open transaction. */
typedef struct hq__applied {
  hq__store *s;
  bool own;                        /* origin hq:<store> (else the box's) */
  uint64_t seq;
} hq__applied;

/* Rows held back by the write-back of apply.c (diagram there). */
typedef struct hq__order_slot {
  proto_order o;
  uint64_t hlc;                    /* the last event merged: updated_ms */
  bool lines;                      /* order_items must be rewritten too */
} hq__order_slot;

typedef struct hq__stock_slot {
  char store[PROTO_ID_MAX], sku[PROTO_ID_MAX]; /* the row's key */
  proto_stock s;
} hq__stock_slot;

/* Slots per kind; all are written when one kind is full, so any batch fits
 * (~10 KB an order, ~1.4 KB a SKU; allocated on first use). */
#define HQ_WB_SLOTS 64

typedef struct hq__wb {
  bool on;                         /* hq_ingest's message, hq__rebuild */
  hq__order_slot *orders;          /* HQ_WB_SLOTS, or NULL */
  hq__stock_slot *stock;
  size_t n_orders, n_stock;        /* slots in use, each maybe unwritten */
} hq__wb;

/* WAL checkpoints on a helper thread (diagram in core.c).  `lock` guards
 * want, stop and the counters; the helper alone uses db. */
typedef struct hq__ckpt {
  sqlite3 *db;                     /* the helper's own connection */
  pthread_t th;
  bool running;                    /* th started (joined by hq_core_close) */
  pthread_mutex_t lock;
  pthread_cond_t cond;             /* work for the helper; results for waiters */
  int want;                        /* SQLITE_CHECKPOINT_* asked for, -1 none */
  bool stop;
  uint64_t done, failed;           /* checkpoints run (BUSY counts as done) */
  int pages;                       /* loop thread: the WAL size that asks for one */
  bool dirty;                      /* loop thread: WAL written since the last TRUNCATE */
  uint64_t commits_seen;           /* loop thread: stats.commits at the last wal tick */
} hq__ckpt;

/* Values restored when a savepoint is rolled back. */
typedef struct hq__mark {
  size_t n_applied;
  uint64_t hlc;
  int64_t log_applied;
} hq__mark;

struct hq_core {
  rt_db db;
  hq_core_opts o;
  proto_hlc hlc;
  hq__store **stores;              /* sorted by id */
  size_t n_stores, cap_stores;
  bool in_txn;
  size_t pending;                  /* messages/commands in the transaction */
  hq__mark txn_mark;
  hq__applied *applied;
  size_t n_applied, cap_applied;
  hq__store **touched;             /* stores the transaction wrote for */
  size_t n_touched, cap_touched;
  proto_buf json, pack, out;       /* scratch: event JSON, state BLOB, messages */
  hq__wb wb;                       /* apply.c: rows held back in a message */
  uint64_t last_prune_ms;
  bool mqtt_down;                  /* hq_core_disconnected: no offline marking */
  uint64_t connected_ms;           /* when the MQTT session last came up */
  hq_core_stats stats;
  hq__ckpt ck;                     /* core.c: the checkpoint helper */
  /* The store log (log.h; diagram in log.c, L1..L4):
   *   1 .. log_committed .. log_applied .. the log's head
   *   merged, in hq.db ^   merged in the open transaction ^   logged, to merge */
  char events_path[4096];
  hq__log *log;                    /* the writer thread */
  hq__logr logr;                   /* the loop's reader */
  int64_t log_applied, log_committed;
  bool replay_due;                 /* a merge failed: merge from the log itself */
  hq__handoff *ready, *ready_tail; /* taken from the log thread, not merged yet */
  uint64_t last_ticket;            /* the newest message submitted */
  proto_event *ev;                 /* scratch: one decoded event (6 KB) */
  hq_err rebuild_err;              /* apply.c: a rebuild's failure, from its callback */
};

/* ---- core.c ------------------------------------------------------------------ */
/* meta's integer under key; *found says whether it is there. */
int hq__meta_get(hq_core *c, const char *key, int64_t *out, bool *found, hq_err *err);
uint64_t hq__now(const hq_core *c);
int hq__err_proto(int prc, const proto_err *perr, hq_err *err);
int hq__dberr(hq_core *c, int rc, const char *what, hq_err *err);
void hq__logf(const hq_core *c, rt_log_level lvl, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The registry entry of store id, created (and its stores row ensured, which
 * needs the open transaction) if `create`; loaded from the log.  NULL with
 * err set if id is not a valid store id or on a database error. */
hq__store *hq__store_get(hq_core *c, const char *id, bool create, hq_err *err);
/* Savepoints inside the open transaction (opened by hq__sp_begin if none). */
int hq__sp_begin(hq_core *c, hq__mark *m, hq_err *err);
/* rc == HQ_OK: release; else roll back to the savepoint and restore.
 * Returns rc (or the release's error). */
int hq__sp_end(hq_core *c, const hq__mark *m, int rc, hq_err *err);
/* Note an event written in the open transaction. */
int hq__journal(hq_core *c, hq__store *s, bool own, uint64_t seq, hq_err *err);
/* Put s on the transaction's touched list: its replication columns are
 * written, and its ack/sends done, at commit. */
int hq__touch(hq_core *c, hq__store *s, hq_err *err);
/* Commands: commit any open batch, then open the command's transaction. */
int hq__cmd_begin(hq_core *c, hq_err *err);
/* rc == HQ_OK: commit (a failed commit becomes the result); else roll back. */
int hq__cmd_end(hq_core *c, int rc, hq_err *err);
/* Publish through opts.publish; counts failures. */
int hq__publish(hq_core *c, const char *topic, const proto_buf *b);
/* now + timeout_ms on clock, for pthread_cond_timedwait. */
void hq__deadline(struct timespec *until, clockid_t clock, int timeout_ms);
/* Wait (at most timeout_ms) until the helper has finished n checkpoints in
 * all (done + failed); 0 then, -1 on timeout.  For tests. */
int hq__ckpt_wait(hq_core *c, uint64_t n, int timeout_ms);

/* ---- log_open.c --------------------------------------------------------------- */
/* At start-up, before the layout check: open the store log's writer (its
 * thread not started), move the boxes' old rows out of hq.db once (meta
 * 'log_split'), open the loop's reader, and set log_applied from meta,
 * refusing (HQ_ECORRUPT) a store log that ends before it. */
int hq__log_setup(hq_core *c, hq_err *err);

/* ---- log_merge.c -------------------------------------------------------------- */
/* Merge one handoff of the log thread (a message, its own savepoint).
 * Returns the message's verdict (err set): HQ_OK; HQ_ECLOCK (kept, the
 * rest is resent); a refusal of the log thread; or a merge failure, after
 * which the transaction is rolled back and replay_due set. */
int hq__merge_handoff(hq_core *c, const hq__handoff *h, hq_err *err);
/* Merge at most max handoffs (taking what the log thread has ready),
 * reporting each message that was not simply fine (and, when report is
 * given at all, every message) through report.  Catches up from the log
 * first when replay_due.  Returns the handoffs merged. */
typedef void (*hq__report_fn)(void *ctx, const hq__handoff *h, int rc, const hq_err *err);
size_t hq__poll(hq_core *c, size_t max, hq__report_fn report, void *ctx);
/* Merge the store log's rows after log_applied, committing every chunk;
 * clears replay_due when it reached the head.  Outside a transaction. */
int hq__log_catch_up(hq_core *c, hq_err *err);
/* The ingest checks of a store's message: topic -> its store and kind,
 * size.  For hq_ingest and hq_core_submit. */
int hq__ingest_check(const char *topic, size_t len, const void *payload, char store[PROTO_ID_MAX],
                     proto_repl_kind *kind, hq_err *err);
/* Mark store s heard from (online) in the open transaction. */
int hq__seen(hq_core *c, hq__store *s, bool online, hq_err *err);

/* ---- apply.c ----------------------------------------------------------------- */
/* Merge a store log event into its store's state (no logging: the log
 * thread did).  A merge the proto refuses is counted and logged, and the
 * event stays unmerged (as on every replay): HQ_OK. */
int hq__merge_logged(hq_core *c, const proto_event *ev, hq_err *err);
/* Store ev in the log and merge it into its store's state.  *dup: already
 * held (nothing changed). */
int hq__apply(hq_core *c, const proto_event *ev, bool *dup, hq_err *err);
/* Write one of HQ's own events for store s: envelope (origin hq:<s>, next
 * seq, HLC now), log, state.  Joins the open transaction. */
int hq__emit(hq_core *c, hq__store *s, proto_event *ev, hq_err *err);
/* Drop every materialised row and replay the log (layout changed). */
int hq__rebuild(hq_core *c, hq_err *err);
int64_t hq__state_layout(void);
int hq__order_load(hq_core *c, const char *store, const char *order_id, proto_order *o,
                   bool *found, hq_err *err);
int hq__settings_load(hq_core *c, const char *store, proto_settings *s, bool *found,
                      hq_err *err);
/* Write every row the write-back holds (inside the open transaction) and
 * free its slots; on failure the slots are freed too and the caller rolls
 * back what they belonged to. */
int hq__wb_flush(hq_core *c, hq_err *err);
/* Forget the write-back's slots (their message was rolled back). */
void hq__wb_drop(hq_core *c);

/* ---- outbox.c ---------------------------------------------------------------- */
/* Publish s's committed HQ events the store lacks, within the window; skip
 * seqs `have` (the store's hello vector, may be NULL) already holds. */
void hq__send(hq_core *c, hq__store *s, const proto_vv *have);
/* down/hello with HQ's vector for s. */
void hq__send_hello(hq_core *c, hq__store *s);
/* down/ack with HQ's contiguous seqs for s. */
void hq__send_ack(hq_core *c, hq__store *s);

#endif
