/* hq/log.h - private to hq_core: the store log, every event the boxes send,
 * in a SQLite file of its own (events_db_path, beside hq.db), written by a
 * thread of its own.  The diagram and the invariants: top of log.c.
 *
 * Why a second file: SQLite has one writer per file.  With the boxes' event
 * rows in hq.db, one thread wrote them, merged them and wrote the derived
 * rows, one after the other.  With two files the log thread inserts and
 * fsyncs a batch while the loop merges the batch before it
 * (docs/performance.md, "Two writers").
 *
 *   loop thread                       log thread (this file)
 *   hq__log_submit(up/events) ----->  decode, check, INSERT OR IGNORE, COMMIT
 *   hq__log_take  <-----------------  one hq__handoff per message (wake)
 *   merge the new events into hq.db, meta 'log_applied' = the last id, COMMIT, ack
 */
#ifndef HQ_LOG_H
#define HQ_LOG_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "error.h"
#include "proto/proto.h"

/* One event of a prepared batch (log_prep.c). */
typedef struct hq__prepev {
  uint32_t ev_off, ev_len;         /* decoded: its proto_event_size() prefix in evs */
  uint32_t js_off, js_len;         /* its JSON as received (or canonical) in json */
} hq__prepev;

/* A store's events batch decoded and checked once, on any thread
 * (log_prep.c): what the log thread inserts and the loop merges.  Owned by
 * whoever holds it: the submitter, then the log thread, then the handoff. */
struct hq_prepared {
  char store[PROTO_ID_MAX];        /* the topic's store */
  size_t bytes;                    /* the payload's size */
  int rc;                          /* HQ_OK, or why the whole batch is refused */
  hq_err err;
  size_t n, cap;                   /* events (0 when refused) */
  hq__prepev *e;
  char *evs, *json;
  size_t evs_len, evs_cap, json_len, json_cap;
};

/* Decode and check payload for store; NULL only without memory. */
hq_prepared *hq__prep_make(const char *store, const void *payload, size_t len);
void hq__prep_free(hq_prepared *p);

/* One event the log thread wrote (a new (origin, seq)). */
typedef struct hq__logev {
  int64_t id;                      /* its row in the store log: arrival order */
  size_t i;                        /* the event in the handoff's prep */
} hq__logev;

/* What the log thread made of one up/events message.  Owned by whoever
 * holds it; hq__handoff_free frees one. */
typedef struct hq__handoff {
  struct hq__handoff *next;
  char store[PROTO_ID_MAX];        /* the topic's store */
  uint64_t ticket;                 /* hq__log_submit's */
  size_t bytes;                    /* the payload's size */
  int rc;                          /* HQ_OK; HQ_ECLOCK: the events before the
                                      skewed one are logged; else refused,
                                      nothing logged */
  hq_err err;
  size_t n_dup;                    /* events the log already held */
  size_t n_new, cap_new;
  hq__logev *ev;                   /* n_new, in log order */
  hq_prepared *prep;               /* the batch, decoded: the loop merges the
                                      new events without decoding them again */
} hq__handoff;

typedef struct hq__log_opts {
  const char *path;                /* the store log file (created if missing) */
  uint64_t max_skew_ms;            /* the HLC bound of proto/hlc.h */
  int busy_timeout_ms;
  size_t max_msgs;                 /* messages per log transaction (0: 256) */
  size_t max_queue;                /* messages waiting; more are refused (0: 100000) */
  uint64_t (*clock_ms)(void *ctx); /* NULL: proto_wall_ms */
  void *clock_ctx;
  void (*wake)(void *ctx);         /* handoffs are ready; any thread, may be NULL */
  void *wake_ctx;
  const char *first_sql;           /* NULL, or run right after opening (tests: PRAGMA
                                      max_page_count plays a full disk) */
} hq__log_opts;

typedef struct hq__log_stats {
  uint64_t msgs, refused, events_new, events_dup, events_skewed;
  uint64_t commits, commit_ns_total, commit_failed;
  uint64_t queued;                 /* messages waiting or in the open transaction */
} hq__log_stats;

typedef struct hq__log hq__log;

/* Open (create, migrate, check) the store log; the thread is not started.
 * On failure nothing is left and err says why. */
int hq__log_open(hq__log **out, const hq__log_opts *o, hq_err *err);
/* Move the boxes' events still in hq.db's own `events` table (written
 * before the store log existed) into the store log; INSERT OR IGNORE, so a
 * crash half-way is repaired by the next call.  Before hq__log_start. */
int hq__log_import(hq__log *lg, const char *main_db_path, hq_err *err);
/* Highest id in the store log (0: empty).  Before hq__log_start. */
int hq__log_head(hq__log *lg, int64_t *head, hq_err *err);
int hq__log_start(hq__log *lg, hq_err *err);
/* Queue one prepared up/events batch; it is the log's from now on (freed
 * on failure too).  HQ_EBUSY (nothing queued: the box resends) past
 * max_queue, HQ_ENOMEM. */
int hq__log_submit_prep(hq__log *lg, hq_prepared *p, uint64_t *ticket, hq_err *err);
/* The same for a payload of `store`, prepared here. */
int hq__log_submit(hq__log *lg, const char *store, const void *payload, size_t len,
                   uint64_t *ticket, hq_err *err);
/* Every handoff ready, oldest first (a list through next), or NULL. */
hq__handoff *hq__log_take(hq__log *lg);
/* Block until every message up to ticket has its handoff (or timeout_ms
 * passes: -1); 0 then.  For hq_ingest's synchronous form and shutdown. */
int hq__log_wait(hq__log *lg, uint64_t ticket, int timeout_ms);
/* Messages submitted that hq__log_take has not returned yet (queued,
 * being logged, or handed off and not taken)? */
bool hq__log_busy(hq__log *lg);
void hq__log_stats_get(hq__log *lg, hq__log_stats *out);
/* Stop and join the thread (messages still queued are dropped: never
 * acknowledged, so the boxes resend them), free the handoffs not taken,
 * close the file.  NULL is fine. */
void hq__log_close(hq__log *lg);
void hq__handoff_free(hq__handoff *h);

/* ---- the loop's read-only view of the store log (log_read.c) ---------------------- */

typedef struct hq__logr {
  sqlite3 *h;
  sqlite3_stmt *count, *seqs, *after, *head;
} hq__logr;

/* Open path read-only; on failure nothing is left open. */
int hq__logr_open(hq__logr *r, const char *path, int busy_timeout_ms, hq_err *err);
void hq__logr_close(hq__logr *r);
/* The seqs of origin with row id <= upto into vv; *max = the highest. */
int hq__logr_origin(hq__logr *r, const char *origin, int64_t upto, proto_vv *vv, uint64_t *max,
                    hq_err *err);
int hq__logr_head(hq__logr *r, int64_t *head, hq_err *err);
/* Call fn for the rows after `after`, in id order, at most limit of them;
 * stops at fn's first non-zero return (returned).  *n = rows seen. */
typedef int (*hq__logr_fn)(void *ctx, int64_t id, const char *json, size_t len);
int hq__logr_after(hq__logr *r, int64_t after, int limit, hq__logr_fn fn, void *ctx, size_t *n,
                   hq_err *err);

#endif
