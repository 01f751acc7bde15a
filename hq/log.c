/* log.c - the store log's writer thread (hq/log.h): every up/events message,
 * decoded and checked once in log_prep.c, is logged here, in the store
 * log's own file, before the loop merges it into hq.db (log_merge.c).
 *
 *   hq_prepared (log_prep.c, on the MQTT client thread or the submitter's):
 *        the batch decoded once, store == origin == the topic's store
 *   hq__log_submit_prep (loop) --> in queue --> log thread, per message
 *        (log_message): a batch refused while prepared logs nothing;
 *        SAVEPOINT; per event: HLC within max_skew_ms; INSERT OR IGNORE (the
 *        event's bytes as received: no encoding again) --> RELEASE, or
 *        ROLLBACK TO (refused: nothing logged) / RELEASE of the events
 *        before a skewed one (HQ_ECLOCK, as before the split)
 *   every chunk_size() messages (8 after an idle spell, doubling up to
 *        max_msgs) or an empty queue: COMMIT (one fsync), then the handoffs
 *        go to the out queue and the loop is woken (wake); a failed COMMIT,
 *        or a transaction SQLite rolled back itself (full disk, I/O),
 *        turns every handoff of it into a refusal with that error
 *   hq__log_take (loop): merge, write meta 'log_applied', COMMIT hq.db, ack
 *
 * Invariants:
 *   L1 the store log holds everything hq.db merged: a handoff exists only
 *      after the COMMIT that logged its events, and hq.db records the last
 *      id it merged (meta 'log_applied') in the commit that merged it.  A
 *      crash between the two commits leaves rows after 'log_applied': the
 *      core merges them at the next start (hq__log_catch_up, log_merge.c),
 *      as it does after an hq.db commit that failed (replay_due).
 *   L2 a box is acknowledged only after hq.db's commit, so an ack still
 *      means "merged and durable"; the log's INSERT OR IGNORE on
 *      UNIQUE(origin, seq) is the one dedup.
 *   L3 a refused message logs nothing (its savepoint is rolled back) and
 *      is reported on its handoff; the box resends what was not acked.
 *   L4 bounded: at most max_queue messages wait; past it a message is
 *      refused (HQ_EBUSY) and the box resends it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_int.h"
#include "log.h"
#include "proto/repl.h"
#include "rt/db.h"

#define DEFAULT_MAX_MSGS 256
#define DEFAULT_MAX_QUEUE 100000

typedef enum { LQ_INSERT, LQ_HEAD, LQ_SAVEPOINT, LQ_RELEASE, LQ__COUNT } log_q;

/* Never edit a released step: append a new one.  The table is hq.db's
 * `events` (schema.c), so the same rows can move between the two. */
static const char *const log_migrations[] = {
    "CREATE TABLE events(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  hlc INTEGER NOT NULL, store TEXT NOT NULL, type TEXT NOT NULL, target INTEGER NOT NULL,"
    "  key TEXT NOT NULL, json TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    "  UNIQUE(origin, seq));",
};

static const char *const log_sql[LQ__COUNT] = {
    [LQ_INSERT] = "INSERT OR IGNORE INTO events(origin,seq,hlc,store,type,target,key,json,"
                  "received_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [LQ_HEAD] = "SELECT COALESCE(MAX(id),0) FROM events",
    [LQ_SAVEPOINT] = "SAVEPOINT m",
    [LQ_RELEASE] = "RELEASE m",
};

static const rt_db_schema log_schema = {"hq store log", log_migrations, 1, log_sql, LQ__COUNT};

/* One submitted message. */
typedef struct logmsg {
  struct logmsg *next;
  uint64_t ticket;
  hq_prepared *prep;
} logmsg;

struct hq__log {
  rt_db db;                        /* the thread's connection (opened by the caller) */
  hq__log_opts o;
  char path[4096];
  proto_hlc hlc;                   /* the skew check's clock (the thread's) */
  proto_event *ev;                 /* the thread's scratch: one event */
  pthread_t th;
  bool running;
  pthread_mutex_t lock;            /* guards everything below */
  pthread_cond_t cond;             /* work for the thread; done for waiters */
  logmsg *in_head, *in_tail;
  size_t in_n;
  hq__handoff *out_head, *out_tail;
  uint64_t next_ticket, done_ticket;
  size_t chunk;                    /* messages in the next transaction (adaptive) */
  bool stop;
  hq__log_stats st;
};

static uint64_t now_ms(const hq__log *lg) {
  return lg->o.clock_ms ? lg->o.clock_ms(lg->o.clock_ctx) : proto_wall_ms();
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int dberr(const hq__log *lg, int rc, const char *what, hq_err *err) {
  int code = (rc & 0xff) == SQLITE_FULL ? HQ_EFULL : (rc & 0xff) == SQLITE_IOERR ? HQ_EIO : HQ_EDB;
  return hq_err_set(err, code, "store log: %s: %s (sqlite %d)", what,
                    lg->db.h ? sqlite3_errmsg(lg->db.h) : sqlite3_errstr(rc), rc);
}

/* ---- one message (the thread) ---------------------------------------------------------- */

/* Bound without copies (rt_db_bind copies): the arguments outlive the step. */
static int insert(hq__log *lg, const proto_event *ev, const char *json, size_t len, uint64_t now) {
  int rc = SQLITE_OK;
  if (!lg->db.st[LQ_INSERT] &&
      (rc = sqlite3_prepare_v3(lg->db.h, log_sql[LQ_INSERT], -1, SQLITE_PREPARE_PERSISTENT,
                               &lg->db.st[LQ_INSERT], NULL)) != SQLITE_OK)
    return rc;
  sqlite3_stmt *s = lg->db.st[LQ_INSERT];
  sqlite3_reset(s);
  rc = sqlite3_bind_text(s, 1, ev->origin, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 2, (int64_t)ev->seq);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 3, (int64_t)ev->hlc);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 4, ev->store, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 5, proto_event_type_name(ev->type), -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 6, (int64_t)proto_event_target(ev->type));
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 7, proto_event_key(ev), -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 8, json, (int)len, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 9, (int64_t)now);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int keep_new(hq__handoff *h, int64_t id, size_t i) {
  if (h->n_new == h->cap_new) {
    size_t n = h->cap_new ? h->cap_new * 2 : h->prep->n;
    hq__logev *p = realloc(h->ev, n * sizeof *p);
    if (!p) return -1;
    h->ev = p;
    h->cap_new = n;
  }
  h->ev[h->n_new++] = (hq__logev){id, i};
  return 0;
}

/* Event i of the prepared batch: the HLC bound, then INSERT OR IGNORE. */
static int log_event(hq__log *lg, hq__handoff *h, size_t i, uint64_t now) {
  const hq__prepev *e = &h->prep->e[i];
  proto_event *ev = lg->ev;
  proto_err perr = {0};
  memcpy(ev, h->prep->evs + e->ev_off, e->ev_len);
  if (proto_hlc_recv(&lg->hlc, now, ev->hlc, &perr) != PROTO_OK)
    return hq_err_set(&h->err, HQ_ECLOCK, "%s:%llu: %s", ev->origin, (unsigned long long)ev->seq,
                      perr.msg);
  int rc = insert(lg, ev, h->prep->json + e->js_off, e->js_len, now);
  if (rc != SQLITE_OK) return dberr(lg, rc, "log event", &h->err);
  if (sqlite3_changes(lg->db.h) == 0) {
    h->n_dup++;
    return HQ_OK;
  }
  return keep_new(h, sqlite3_last_insert_rowid(lg->db.h), i) == 0
             ? HQ_OK
             : hq_err_set(&h->err, HQ_ENOMEM, "store log: out of memory");
}

static void refuse(hq__handoff *h, int rc) {
  h->rc = rc;
  h->n_new = h->n_dup = 0;
}

/* Log one prepared message in the open transaction; the verdict is on h.
 * A skewed event keeps the events before it (HQ_ECLOCK: they are acked, it
 * is resent); any other failure logs nothing of the message. */
static void log_message(hq__log *lg, hq__handoff *h) {
  uint64_t now = now_ms(lg);
  int rc = h->prep->rc;
  if (rc != HQ_OK) { /* refused while prepared: nothing to log */
    h->err = h->prep->err;
    refuse(h, rc);
    return;
  }
  if (rt_db_run(&lg->db, LQ_SAVEPOINT, "") != SQLITE_OK) {
    refuse(h, dberr(lg, sqlite3_errcode(lg->db.h), "savepoint", &h->err));
    return;
  }
  for (size_t i = 0; rc == HQ_OK && i < h->prep->n; i++) rc = log_event(lg, h, i, now);
  bool keep = rc == HQ_OK || rc == HQ_ECLOCK;
  if (keep && rt_db_run(&lg->db, LQ_RELEASE, "") != SQLITE_OK) {
    keep = false;
    rc = dberr(lg, sqlite3_errcode(lg->db.h), "release", &h->err);
  }
  /* A transaction SQLite already rolled back (FULL, IOERR) has no
   * savepoint left: the error that lost it stays the message's. */
  if (!keep && !sqlite3_get_autocommit(lg->db.h) &&
      sqlite3_exec(lg->db.h, "ROLLBACK TO m; RELEASE m", NULL, NULL, NULL) != SQLITE_OK)
    rc = dberr(lg, sqlite3_errcode(lg->db.h), "rollback", &h->err);
  if (keep) h->rc = rc;
  else refuse(h, rc);
}

/* ---- the thread ---------------------------------------------------------------------- */

/* The handoff takes the message's prepared batch (freed with it). */
static hq__handoff *handoff_new(logmsg *in) {
  hq__handoff *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  snprintf(h->store, sizeof h->store, "%s", in->prep->store);
  h->ticket = in->ticket;
  h->bytes = in->prep->bytes;
  h->prep = in->prep;
  in->prep = NULL;
  hq_err_clear(&h->err);
  return h;
}

/* One log transaction over the messages of list (freed); its handoffs are
 * appended to *out (a message without memory for one is dropped: never
 * acknowledged, so resent). */
static void log_batch(hq__log *lg, logmsg *list, hq__handoff **out_head, hq__handoff **out_tail) {
  uint64_t t0 = mono_ns();
  hq_err cause; /* why the transaction is lost, once it is */
  int lost = HQ_OK, brc = sqlite3_exec(lg->db.h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  hq__handoff *head = NULL, *tail = NULL;
  hq_err_clear(&cause);
  if (brc != SQLITE_OK) lost = dberr(lg, brc, "begin", &cause);
  for (logmsg *in = list, *next; in; in = next) {
    next = in->next;
    hq__handoff *h = handoff_new(in);
    if (h && lost == HQ_OK) {
      log_message(lg, h);
      /* SQLite rolls the whole transaction back by itself on FULL, IOERR
       * or NOMEM: a SAVEPOINT now would run in autocommit, outside any
       * transaction, so the rest is refused for the same reason. */
      if (sqlite3_get_autocommit(lg->db.h)) {
        cause = h->err;
        lost = h->rc != HQ_OK && h->rc != HQ_ECLOCK ? h->rc : HQ_EDB;
      }
    } else if (h) {
      h->err = cause;
      refuse(h, lost);
    }
    if (h) {
      if (tail) tail->next = h;
      else head = h;
      tail = h;
    }
    hq__prep_free(in->prep);
    free(in);
  }
  int crc = lost == HQ_OK ? sqlite3_exec(lg->db.h, "COMMIT", NULL, NULL, NULL) : SQLITE_ABORT;
  if (lost == HQ_OK && crc != SQLITE_OK) lost = dberr(lg, crc, "commit", &cause);
  if (lost != HQ_OK) { /* what was logged is gone: refused, the boxes resend it */
    if (!sqlite3_get_autocommit(lg->db.h)) sqlite3_exec(lg->db.h, "ROLLBACK", NULL, NULL, NULL);
    for (hq__handoff *h = head; h; h = h->next) {
      if (h->rc != HQ_OK && h->rc != HQ_ECLOCK) continue;
      h->err = cause;
      refuse(h, lost);
    }
  }
  pthread_mutex_lock(&lg->lock);
  lg->st.commits += lost == HQ_OK;
  lg->st.commit_failed += lost != HQ_OK;
  lg->st.commit_ns_total += mono_ns() - t0;
  for (hq__handoff *h = head; h; h = h->next) {
    lg->st.msgs++;
    lg->st.refused += h->rc != HQ_OK && h->rc != HQ_ECLOCK;
    lg->st.events_skewed += h->rc == HQ_ECLOCK;
    lg->st.events_new += h->n_new;
    lg->st.events_dup += h->n_dup;
  }
  pthread_mutex_unlock(&lg->lock);
  *out_head = head;
  *out_tail = tail;
}

/* Messages for the next transaction: small after an idle spell and when
 * few wait (the loop gets the first and the last batches of a burst
 * sooner), doubling up to max_msgs while a burst lasts (fewer fsyncs).
 * Under lg->lock. */
static size_t chunk_size(hq__log *lg) {
  enum { FIRST = 8 };
  size_t half = lg->in_n / 2 > FIRST ? lg->in_n / 2 : FIRST;
  lg->chunk = lg->chunk ? lg->chunk * 2 : FIRST;
  if (lg->chunk > lg->o.max_msgs) lg->chunk = lg->o.max_msgs;
  return lg->chunk < half ? lg->chunk : half;
}

static void *log_main(void *arg) {
  hq__log *lg = arg;
  pthread_setname_np(pthread_self(), "hq-log"); /* top -H, perf */
  pthread_mutex_lock(&lg->lock);
  for (;;) {
    if (!lg->in_head) lg->chunk = 0; /* idle: the next burst starts small */
    while (!lg->in_head && !lg->stop) pthread_cond_wait(&lg->cond, &lg->lock);
    if (lg->stop) break;
    logmsg *list = lg->in_head, *last = list;
    size_t n = 1, want = chunk_size(lg);
    while (last->next && n < want) {
      last = last->next;
      n++;
    }
    uint64_t upto = last->ticket;
    lg->in_head = last->next;
    if (!lg->in_head) lg->in_tail = NULL;
    lg->in_n -= n;
    last->next = NULL;
    pthread_mutex_unlock(&lg->lock);
    hq__handoff *head = NULL, *tail = NULL;
    log_batch(lg, list, &head, &tail);
    pthread_mutex_lock(&lg->lock);
    if (head) {
      if (lg->out_tail) lg->out_tail->next = head;
      else lg->out_head = head;
      lg->out_tail = tail;
    }
    lg->done_ticket = upto;
    lg->st.queued = lg->in_n;
    pthread_cond_broadcast(&lg->cond);
    pthread_mutex_unlock(&lg->lock);
    if (lg->o.wake) lg->o.wake(lg->o.wake_ctx);
    pthread_mutex_lock(&lg->lock);
  }
  pthread_mutex_unlock(&lg->lock);
  return NULL;
}

/* ---- the loop's side ---------------------------------------------------------------- */

int hq__log_submit_prep(hq__log *lg, hq_prepared *p, uint64_t *ticket, hq_err *err) {
  logmsg *m = malloc(sizeof *m);
  if (!m) {
    hq__prep_free(p);
    return hq_err_set(err, HQ_ENOMEM, "store log: out of memory");
  }
  m->next = NULL;
  m->prep = p;
  pthread_mutex_lock(&lg->lock);
  if (lg->in_n >= lg->o.max_queue) {
    pthread_mutex_unlock(&lg->lock);
    hq__prep_free(p);
    free(m);
    return hq_err_set(err, HQ_EBUSY, "store log: %zu messages waiting; resend later",
                      lg->o.max_queue);
  }
  m->ticket = ++lg->next_ticket;
  if (ticket) *ticket = m->ticket;
  if (lg->in_tail) lg->in_tail->next = m;
  else lg->in_head = m;
  lg->in_tail = m;
  lg->in_n++;
  lg->st.queued = lg->in_n;
  pthread_cond_broadcast(&lg->cond);
  pthread_mutex_unlock(&lg->lock);
  return HQ_OK;
}

int hq__log_submit(hq__log *lg, const char *store, const void *payload, size_t len,
                   uint64_t *ticket, hq_err *err) {
  hq_prepared *p = hq__prep_make(store, payload, len);
  return p ? hq__log_submit_prep(lg, p, ticket, err)
           : hq_err_set(err, HQ_ENOMEM, "store log: out of memory");
}

hq__handoff *hq__log_take(hq__log *lg) {
  pthread_mutex_lock(&lg->lock);
  hq__handoff *h = lg->out_head;
  lg->out_head = lg->out_tail = NULL;
  pthread_mutex_unlock(&lg->lock);
  return h;
}

int hq__log_wait(hq__log *lg, uint64_t ticket, int timeout_ms) {
  struct timespec until;
  hq__deadline(&until, CLOCK_REALTIME, timeout_ms); /* the condvar's clock */
  int rc = 0;
  pthread_mutex_lock(&lg->lock);
  while (lg->done_ticket < ticket && rc == 0 && lg->running)
    rc = pthread_cond_timedwait(&lg->cond, &lg->lock, &until);
  rc = lg->done_ticket >= ticket ? 0 : -1;
  pthread_mutex_unlock(&lg->lock);
  return rc;
}

bool hq__log_busy(hq__log *lg) {
  pthread_mutex_lock(&lg->lock);
  bool busy = lg->done_ticket < lg->next_ticket || lg->out_head; /* logged, not taken: not merged */
  pthread_mutex_unlock(&lg->lock);
  return busy;
}

void hq__log_stats_get(hq__log *lg, hq__log_stats *out) {
  pthread_mutex_lock(&lg->lock);
  *out = lg->st;
  pthread_mutex_unlock(&lg->lock);
}

void hq__handoff_free(hq__handoff *h) {
  if (!h) return;
  free(h->ev);
  hq__prep_free(h->prep);
  free(h);
}

/* ---- open, import, close ---------------------------------------------------------------- */

int hq__log_open(hq__log **out, const hq__log_opts *o, hq_err *err) {
  char msg[300];
  *out = NULL;
  if (!o || !o->path || !o->path[0]) return hq_err_set(err, HQ_ECONFIG, "store log: path is required");
  hq__log *lg = calloc(1, sizeof *lg);
  proto_event *ev = malloc(sizeof *ev);
  if (!lg || !ev) {
    free(lg);
    free(ev);
    return hq_err_set(err, HQ_ENOMEM, "store log: out of memory");
  }
  lg->ev = ev;
  lg->o = *o;
  snprintf(lg->path, sizeof lg->path, "%s", o->path);
  lg->o.path = lg->path;
  if (!lg->o.max_msgs) lg->o.max_msgs = DEFAULT_MAX_MSGS;
  if (!lg->o.max_queue) lg->o.max_queue = DEFAULT_MAX_QUEUE;
  proto_hlc_init(&lg->hlc, 0, lg->o.max_skew_ms);
  pthread_mutex_init(&lg->lock, NULL);
  pthread_cond_init(&lg->cond, NULL);
  rt_db_open_opts oo = {o->busy_timeout_ms, o->first_sql, NULL};
  int src = rt_db_open_with(&lg->db, &log_schema, lg->path, &oo, msg, sizeof msg);
  int rc = src == SQLITE_OK ? HQ_OK : hq_err_set(err, src == SQLITE_CORRUPT || src == SQLITE_NOTADB ? HQ_ECORRUPT : HQ_EDB, "%s", msg);
  /* Checkpoints: SQLite's own, every 10,000 pages (as hq.db's), on this thread: off the loop. */
  if (rc == HQ_OK && sqlite3_exec(lg->db.h, "PRAGMA cache_size=-65536;PRAGMA temp_store=MEMORY;PRAGMA wal_autocheckpoint=10000", NULL,
                                  NULL, NULL) != SQLITE_OK)
    rc = dberr(lg, sqlite3_errcode(lg->db.h), "pragmas", err);
  if (rc != HQ_OK) {
    hq__log_close(lg);
    return rc;
  }
  *out = lg;
  return HQ_OK;
}

int hq__log_head(hq__log *lg, int64_t *head, hq_err *err) {
  int rc = rt_db_get_i64(&lg->db, LQ_HEAD, head, NULL, "");
  return rc == SQLITE_OK ? HQ_OK : dberr(lg, rc, "head", err);
}

int hq__log_import(hq__log *lg, const char *main_db_path, hq_err *err) {
  static const char copy[] =
      "INSERT OR IGNORE INTO main.events(origin,seq,hlc,store,type,target,key,json,received_ms) "
      "SELECT origin,seq,hlc,store,type,target,key,json,received_ms FROM h.events "
      "WHERE origin NOT LIKE 'hq:%' ORDER BY id";
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(lg->db.h, "ATTACH ?1 AS h", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, main_db_path, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(lg->db.h);
  sqlite3_finalize(st);
  bool attached = rc == SQLITE_OK;
  if (rc == SQLITE_OK) rc = sqlite3_exec(lg->db.h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(lg->db.h, copy, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(lg->db.h, "COMMIT", NULL, NULL, NULL);
  int result = rc == SQLITE_OK ? HQ_OK : dberr(lg, rc, "import from hq.db", err);
  if (!sqlite3_get_autocommit(lg->db.h)) sqlite3_exec(lg->db.h, "ROLLBACK", NULL, NULL, NULL);
  if (attached) sqlite3_exec(lg->db.h, "DETACH h", NULL, NULL, NULL);
  return result;
}

int hq__log_start(hq__log *lg, hq_err *err) {
  pthread_mutex_lock(&lg->lock); /* hq__log_wait reads it */
  lg->running = pthread_create(&lg->th, NULL, log_main, lg) == 0;
  pthread_mutex_unlock(&lg->lock);
  return lg->running ? HQ_OK : hq_err_set(err, HQ_ENOMEM, "store log: cannot start its thread");
}

void hq__log_close(hq__log *lg) {
  if (!lg) return;
  if (lg->running) {
    pthread_mutex_lock(&lg->lock);
    lg->stop = true;
    pthread_cond_broadcast(&lg->cond);
    pthread_mutex_unlock(&lg->lock);
    pthread_join(lg->th, NULL);
    lg->running = false; /* the thread is gone: no lock needed */
  }
  for (logmsg *m = lg->in_head, *next; m; m = next) {
    next = m->next;
    hq__prep_free(m->prep);
    free(m);
  }
  for (hq__handoff *h = lg->out_head, *next; h; h = next) {
    next = h->next;
    hq__handoff_free(h);
  }
  rt_db_close(&lg->db);
  pthread_cond_destroy(&lg->cond);
  pthread_mutex_destroy(&lg->lock);
  free(lg->ev);
  free(lg);
}
