/* core.c - the core handle: open/close, transactions with one savepoint per
 * message or command, the store registry, and the commit that releases
 * acknowledgements and HQ's events.
 *
 * Transactions (one writer, the event loop):
 *
 *   idle --hq_core_begin / first savepoint--> BEGIN IMMEDIATE
 *        each message/command: SAVEPOINT m ... RELEASE m           (ok)
 *                              SAVEPOINT m ... ROLLBACK TO m       (refused:
 *                              journal, clock and seqs restored from the mark)
 *   hq_core_commit: fold the journal into the stores' version vectors, write
 *        their replication columns and meta 'hlc', COMMIT (one fsync), then
 *        publish: down/ack for every events batch handled, HQ's new events.
 *   COMMIT fails: ROLLBACK; the touched stores are reloaded from the log.
 *
 * Invariants:
 *   C1 nothing leaves HQ before the commit that made it durable: acks are
 *      computed from committed vectors, HQ's events are sent up to
 *      committed_seq only.
 *   C2 HQ's seqs per store are gap-free and never reused: next_seq starts
 *      above the log, the stores row's down_seq and down_acked (a store that
 *      holds more than HQ, after HQ was restored from a backup).
 *   C3 the HLC never goes backwards: meta 'hlc' is written in every commit.
 *
 * WAL checkpoints never run on the loop thread (a stall for HTTP and MQTT):
 * the writer's auto-checkpoint is off and a helper thread with its own
 * connection does them:
 *
 *   commit (loop) --wal hook: WAL >= wal_checkpoint_pages--> want PASSIVE
 *   hq_core_wal_tick (loop), no commit since the last tick --> want TRUNCATE
 *   helper: wait for `want` --> sqlite3_wal_checkpoint_v2 --> done/failed++
 *   hq_core_close: stop, interrupt, join, close its connection; then the
 *        writer closes (the last connection: SQLite checkpoints and deletes
 *        the WAL, as before).
 *
 *   K1 the helper never blocks the writer for long: PASSIVE takes no lock a
 *      writer needs; TRUNCATE runs without a busy handler (SQLITE_BUSY while
 *      the writer or a reader is in the way: tried again at the next idle
 *      tick) and only when idle, so a writer waits at most for the few
 *      frames left and one fsync.  A checkpoint is always crash-safe.
 *   K2 PASSIVE then the writer's restart of a fully backfilled WAL keeps the
 *      file near wal_checkpoint_pages under load; TRUNCATE empties it idle.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_int.h"
#include "proto/repl.h"

#define DEFAULT_SKEW_MS 60000u
#define DEFAULT_BUSY_MS 5000
#define DEFAULT_WINDOW 1024u
#define DEFAULT_RETRANSMIT_MS 5000u
#define DEFAULT_OFFLINE_MS 90000u
#define DEFAULT_IDEM_KEEP_MS (7u * 24u * 3600u * 1000u)
#define PRUNE_EVERY_MS (3600u * 1000u)
#define DEFAULT_CKPT_PAGES 10000

/* ---- small helpers ------------------------------------------------------------ */

uint64_t hq__now(const hq_core *c) { return c->o.clock_ms ? c->o.clock_ms(c->o.ctx) : proto_wall_ms(); }

uint64_t hq_core_hlc(const hq_core *c) { return c->hlc.last; }

struct sqlite3 *hq_core_sqlite(hq_core *c) { return c->db.h; }

int hq__err_proto(int prc, const proto_err *perr, hq_err *err) {
  int code = prc == PROTO_EILLEGAL      ? HQ_EILLEGAL
             : prc == PROTO_ECLOCK_SKEW ? HQ_ECLOCK
             : prc == PROTO_ENOMEM      ? HQ_ENOMEM
             : prc == PROTO_EJSON || prc == PROTO_EUTF8 || prc == PROTO_EDEPTH ? HQ_EJSON
             : prc == PROTO_ETOOLONG    ? HQ_ETOOBIG
                                        : HQ_EINVAL;
  return hq_err_set(err, code, "%s", perr && perr->msg[0] ? perr->msg : proto_strerror(prc));
}

typedef struct rc_row {
  int sqlite_rc; /* extended code first, then primary codes */
  int hq_rc;
} rc_row;

static const rc_row rc_map[] = {
    {SQLITE_FULL, HQ_EFULL},   {SQLITE_CORRUPT, HQ_ECORRUPT}, {SQLITE_NOTADB, HQ_ECORRUPT},
    {SQLITE_NOMEM, HQ_ENOMEM}, {SQLITE_IOERR, HQ_EIO},        {SQLITE_CANTOPEN, HQ_EIO},
    {SQLITE_READONLY, HQ_EIO}, {SQLITE_PERM, HQ_EIO},
};

int hq__db_err(const rt_db *db, int rc, const char *what, hq_err *err) {
  int code = HQ_EDB;
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return HQ_OK;
  for (size_t i = 0; i < sizeof rc_map / sizeof rc_map[0]; i++) {
    if (rc_map[i].sqlite_rc == rc || rc_map[i].sqlite_rc == (rc & 0xff)) {
      code = rc_map[i].hq_rc;
      break;
    }
  }
  return hq_err_set(err, code, "%s: %s (sqlite %d)", what,
                    db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc), rc);
}

int hq__dberr(hq_core *c, int rc, const char *what, hq_err *err) {
  return hq__db_err(&c->db, rc, what, err);
}

void hq__logf(const hq_core *c, rt_log_level lvl, const char *msg, const char *kv_fmt, ...) {
  char tail[1024];
  va_list ap;
  if (!c->o.log || lvl < c->o.log->level) return;
  tail[0] = '\0';
  if (kv_fmt) {
    va_start(ap, kv_fmt);
    vsnprintf(tail, sizeof tail, kv_fmt, ap);
    va_end(ap);
  }
  rt_logf(c->o.log, lvl, msg, "%s", tail);
}

int hq__publish(hq_core *c, const char *topic, const proto_buf *b) {
  int rc = c->o.publish ? c->o.publish(c->o.ctx, topic, b->data, b->len) : -1;
  if (rc != 0) c->stats.publish_failed++;
  return rc;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap * 2 : 16;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* ---- the store registry --------------------------------------------------------- */

static size_t locate(const hq_core *c, const char *id, bool *found) {
  size_t lo = 0, hi = c->n_stores;
  *found = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int d = strcmp(c->stores[mid]->id, id);
    if (d == 0) {
      *found = true;
      return mid;
    }
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* A new entry at position at; NULL if out of memory or id unusable. */
static hq__store *registry_insert(hq_core *c, size_t at, const char *id, hq_err *err) {
  proto_err perr = {0};
  hq__store *s = calloc(1, sizeof *s);
  if (!s || grow((void **)&c->stores, &c->cap_stores, c->n_stores + 1, sizeof *c->stores) != 0) {
    free(s);
    hq_err_set(err, HQ_ENOMEM, "store registry: out of memory");
    return NULL;
  }
  snprintf(s->id, sizeof s->id, "%s", id);
  if (proto_hq_origin(s->origin, sizeof s->origin, id, &perr) != PROTO_OK) {
    free(s);
    hq_err_field(err, HQ_EINVAL, "store", "store id '%.63s' cannot be used: %s", id, perr.msg);
    return NULL;
  }
  proto_vv_init(&s->vv);
  memmove(c->stores + at + 1, c->stores + at, (c->n_stores - at) * sizeof *c->stores);
  c->stores[at] = s;
  c->n_stores++;
  return s;
}

/* Held seqs of origin into vv: COUNT = MAX means gap-free (the usual case,
 * one indexed query); else every seq is read. */
static int load_origin(hq_core *c, proto_vv *vv, const char *origin, uint64_t *max, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = rt_db_bind(&c->db, HQ_Q_EV_COUNT, &st, "t", origin), src = SQLITE_DONE;
  int64_t count = 0, top = 0;
  if (rc == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    count = sqlite3_column_int64(st, 0);
    top = sqlite3_column_int64(st, 1);
  }
  rc = rc == SQLITE_OK ? rt_db_end(st, src) : rc;
  if (rc != SQLITE_OK) return hq__dberr(c, rc, "load version vector", err);
  *max = (uint64_t)top;
  if (top > 0 && count == top) {
    return proto_vv_advance(vv, origin, (uint64_t)top) == PROTO_OK
               ? HQ_OK
               : hq_err_set(err, HQ_ENOMEM, "version vector: out of memory");
  }
  rc = top > 0 ? rt_db_bind(&c->db, HQ_Q_EV_SEQS, &st, "t", origin) : SQLITE_OK;
  int prc = PROTO_OK;
  while (top > 0 && rc == SQLITE_OK && prc == PROTO_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
    prc = proto_vv_add(vv, origin, (uint64_t)sqlite3_column_int64(st, 0), NULL);
  if (top > 0 && rc == SQLITE_OK) rc = rt_db_end(st, prc == PROTO_OK ? src : SQLITE_OK);
  if (prc != PROTO_OK) return hq_err_set(err, HQ_ENOMEM, "version vector: out of memory");
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "load version vector", err);
}

/* vv and seqs from the logs and the stores row (C2): HQ's own events are
 * in hq.db, the box's in the store log up to what hq.db merged (L2). */
static int store_load(hq_core *c, hq__store *s, hq_err *err) {
  uint64_t own_max = 0, box_max = 0;
  int64_t down_seq = 0;
  proto_vv_reset(&s->vv);
  int rc = hq__logr_origin(&c->logr, s->id, c->log_committed, &s->vv, &box_max, err);
  if (rc == HQ_OK) rc = load_origin(c, &s->vv, s->origin, &own_max, err);
  if (rc != HQ_OK) return rc;
  sqlite3_stmt *st = NULL;
  int src = rt_db_bind(&c->db, HQ_Q_STORE_GET, &st, "t", s->id);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    down_seq = sqlite3_column_int64(st, 24);
    uint64_t acked = (uint64_t)sqlite3_column_int64(st, 25);
    if (acked > s->down_acked) s->down_acked = acked;
  }
  src = rt_db_end(st, src);
  if (src != SQLITE_OK) return hq__dberr(c, src, "load store", err);
  uint64_t top = own_max;
  if ((uint64_t)down_seq > top) top = (uint64_t)down_seq;
  if (s->down_acked > top) top = s->down_acked;
  s->next_seq = top + 1;
  s->committed_seq = own_max;
  if (s->sent_upto < s->down_acked || s->sent_upto > own_max) s->sent_upto = s->down_acked;
  s->loaded = true;
  return HQ_OK;
}

hq__store *hq__store_get(hq_core *c, const char *id, bool create, hq_err *err) {
  bool found = false;
  size_t at;
  hq__store *s;
  if (!id || !proto_id_valid(id)) {
    hq_err_field(err, HQ_EINVAL, "store", "'%.63s' is not a store id", id ? id : "");
    return NULL;
  }
  at = locate(c, id, &found);
  if (!found && !create) {
    hq_err_field(err, HQ_ENOTFOUND, "store", "no store '%s'", id);
    return NULL;
  }
  if (create) {
    /* Every time, not only for a new entry: a rolled-back savepoint may have
     * taken the row with it.  INSERT OR IGNORE on the key is one look-up. */
    int rc = c->in_txn ? rt_db_run(&c->db, HQ_Q_STORE_ENSURE, "ti", id, (int64_t)hq__now(c))
                       : SQLITE_MISUSE;
    if (rc != SQLITE_OK) {
      hq__dberr(c, rc, "register store", err);
      return NULL;
    }
  }
  s = found ? c->stores[at] : registry_insert(c, at, id, err);
  if (!s) return NULL;
  if (!s->loaded && store_load(c, s, err) != HQ_OK) return NULL;
  if (create && hq__touch(c, s, err) != HQ_OK) return NULL;
  return s;
}

static int registry_load(hq_core *c, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int src = rt_db_bind(&c->db, HQ_Q_STORES_ALL, &st, "");
  while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    bool found = false;
    size_t at = locate(c, id ? id : "", &found);
    hq__store *s = found || !id ? NULL : registry_insert(c, at, id, err);
    if (!s) continue; /* an unusable id in the table: skipped */
    s->down_acked = s->sent_upto = (uint64_t)sqlite3_column_int64(st, 1);
    s->online = sqlite3_column_int(st, 2) != 0;
    s->last_seen_ms = (uint64_t)sqlite3_column_int64(st, 3);
    src = SQLITE_OK;
  }
  src = rt_db_end(st, src);
  c->stats.stores_known = c->n_stores;
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "load stores", err);
}

/* ---- journal, savepoints, the transaction ------------------------------------------ */

int hq__journal(hq_core *c, hq__store *s, bool own, uint64_t seq, hq_err *err) {
  if (grow((void **)&c->applied, &c->cap_applied, c->n_applied + 1, sizeof *c->applied) != 0)
    return hq_err_set(err, HQ_ENOMEM, "journal: out of memory");
  c->applied[c->n_applied++] = (hq__applied){s, own, seq};
  return hq__touch(c, s, err);
}

int hq__touch(hq_core *c, hq__store *s, hq_err *err) {
  if (s->touched) return HQ_OK;
  if (grow((void **)&c->touched, &c->cap_touched, c->n_touched + 1, sizeof *c->touched) != 0)
    return hq_err_set(err, HQ_ENOMEM, "touched stores: out of memory");
  c->touched[c->n_touched++] = s;
  s->touched = true;
  return HQ_OK;
}

int hq_core_begin(hq_core *c, hq_err *err) {
  if (c->in_txn) return HQ_OK;
  int rc = rt_db_exec(&c->db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return hq__dberr(c, rc, "begin", err);
  c->in_txn = true;
  c->pending = 0;
  c->txn_mark = (hq__mark){c->n_applied, c->hlc.last, c->log_applied};
  return HQ_OK;
}

int hq__sp_begin(hq_core *c, hq__mark *m, hq_err *err) {
  int rc = hq_core_begin(c, err);
  if (rc != HQ_OK) return rc;
  *m = (hq__mark){c->n_applied, c->hlc.last, c->log_applied};
  rc = rt_db_run(&c->db, HQ_Q_SP_BEGIN, "");
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "savepoint", err);
}

static void restore(hq_core *c, const hq__mark *m) {
  for (size_t i = m->n_applied; i < c->n_applied; i++) {
    hq__applied *a = &c->applied[i];
    if (a->own && a->seq < a->s->next_seq) a->s->next_seq = a->seq;
  }
  c->n_applied = m->n_applied;
  c->hlc.last = m->hlc;
  c->log_applied = m->log_applied;
}

/* The whole transaction is gone: forget it; touched stores reload. */
static void txn_lost(hq_core *c) {
  if (c->db.h && !sqlite3_get_autocommit(c->db.h)) sqlite3_exec(c->db.h, "ROLLBACK", NULL, NULL, NULL);
  c->hlc.last = c->txn_mark.hlc;
  /* Merged from the store log but not committed: merge them again from the
   * log's rows (log_merge.c), since their handoffs are gone (L1). */
  if (c->log_applied != c->log_committed) c->replay_due = true;
  c->log_applied = c->log_committed;
  hq__wb_drop(c);
  for (size_t i = 0; i < c->n_touched; i++) {
    c->touched[i]->loaded = false;
    c->touched[i]->touched = false;
    c->touched[i]->ack_due = false;
  }
  c->n_touched = c->n_applied = 0;
  c->in_txn = false;
  c->pending = 0;
}

int hq__sp_end(hq_core *c, const hq__mark *m, int rc, hq_err *err) {
  if (rc == HQ_OK) {
    int src = rt_db_run(&c->db, HQ_Q_SP_RELEASE, "");
    if (src == SQLITE_OK) {
      c->pending++;
      return HQ_OK;
    }
    rc = hq__dberr(c, src, "release", err);
  }
  if (!sqlite3_get_autocommit(c->db.h) &&
      sqlite3_exec(c->db.h, "ROLLBACK TO m; RELEASE m", NULL, NULL, NULL) == SQLITE_OK) {
    restore(c, m);
    return rc;
  }
  txn_lost(c); /* SQLite rolled everything back by itself (FULL, IOERR, NOMEM) */
  return rc;
}

void hq_core_rollback(hq_core *c) {
  if (c->in_txn) txn_lost(c);
}

bool hq_core_in_txn(const hq_core *c) { return c->in_txn; }

int hq__cmd_begin(hq_core *c, hq_err *err) {
  int rc = c->in_txn ? hq_core_commit(c, err) : HQ_OK;
  return rc == HQ_OK ? hq_core_begin(c, err) : rc;
}

int hq__cmd_end(hq_core *c, int rc, hq_err *err) {
  if (rc == HQ_OK) return hq_core_commit(c, err);
  hq_core_rollback(c);
  return rc;
}
size_t hq_core_pending(const hq_core *c) { return c->pending; }

/* Fold the journal into the vectors and write the touched stores' columns. */
static int pre_commit(hq_core *c, hq_err *err) {
  for (size_t i = 0; i < c->n_applied; i++) {
    hq__applied *a = &c->applied[i];
    if (proto_vv_add(&a->s->vv, a->own ? a->s->origin : a->s->id, a->seq, NULL) != PROTO_OK)
      return hq_err_set(err, HQ_ENOMEM, "version vector: out of memory");
  }
  for (size_t i = 0; i < c->n_touched; i++) {
    hq__store *s = c->touched[i];
    int rc = rt_db_run(&c->db, HQ_Q_STORE_REPL, "tiii", s->id,
                       (int64_t)proto_vv_contiguous(&s->vv, s->id), (int64_t)(s->next_seq - 1),
                       (int64_t)s->down_acked);
    if (rc != SQLITE_OK) return hq__dberr(c, rc, "store replication state", err);
  }
  int rc = rt_db_run(&c->db, HQ_Q_META_SET, "ti", "hlc", (int64_t)c->hlc.last);
  if (rc == SQLITE_OK && c->log_applied != c->log_committed) /* L1 */
    rc = rt_db_run(&c->db, HQ_Q_META_SET, "ti", "log_applied", c->log_applied);
  if (rc == SQLITE_OK) rc = rt_db_exec(&c->db, "COMMIT");
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "commit", err);
}

/* After COMMIT: acks and HQ's new events (C1). */
static void post_commit(hq_core *c) {
  size_t n = c->n_touched;
  c->log_committed = c->log_applied;
  c->n_applied = 0;
  c->n_touched = 0;
  for (size_t i = 0; i < n; i++) {
    hq__store *s = c->touched[i];
    s->touched = false;
    s->committed_seq = proto_vv_max(&s->vv, s->origin);
    if (s->ack_due) hq__send_ack(c, s);
    s->ack_due = false;
    hq__send(c, s, NULL);
  }
}

int hq_core_commit(hq_core *c, hq_err *err) {
  if (!c->in_txn) return HQ_OK;
  uint64_t t0 = mono_ns();
  int rc = pre_commit(c, err);
  if (rc != HQ_OK) {
    txn_lost(c);
    return rc;
  }
  uint64_t dt = mono_ns() - t0;
  c->stats.commits++;
  c->stats.commit_ns_total += dt;
  c->stats.commit_msgs_total += c->pending;
  if (dt > c->stats.commit_ns_max) c->stats.commit_ns_max = dt;
  c->in_txn = false;
  c->pending = 0;
  post_commit(c);
  return HQ_OK;
}

/* ---- WAL checkpoints (the helper thread; K1, K2 at the top) -------------------------- */

static const char *ckpt_mode_name(int mode) {
  return mode == SQLITE_CHECKPOINT_TRUNCATE ? "truncate" : "passive";
}

/* Loop thread: ask for a checkpoint (the stronger mode wins if one waits). */
static void ckpt_want(hq__ckpt *k, int mode) {
  pthread_mutex_lock(&k->lock);
  if (mode > k->want) k->want = mode;
  pthread_cond_broadcast(&k->cond);
  pthread_mutex_unlock(&k->lock);
}

/* After every commit that wrote the WAL, with its size in frames. */
static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames) {
  hq_core *c = ctx;
  (void)db;
  (void)name;
  c->ck.dirty = true;
  if (frames >= c->ck.pages) ckpt_want(&c->ck, SQLITE_CHECKPOINT_PASSIVE);
  return SQLITE_OK;
}

void hq_core_wal_tick(hq_core *c) {
  bool idle = !c->in_txn && c->stats.commits == c->ck.commits_seen;
  c->ck.commits_seen = c->stats.commits;
  if (!idle || !c->ck.dirty || !c->ck.running) return;
  c->ck.dirty = false;
  ckpt_want(&c->ck, SQLITE_CHECKPOINT_TRUNCATE);
}

static void *ckpt_main(void *arg) {
  hq_core *c = arg;
  hq__ckpt *k = &c->ck;
  pthread_mutex_lock(&k->lock);
  while (!k->stop) {
    if (k->want < 0) {
      pthread_cond_wait(&k->cond, &k->lock);
      continue;
    }
    int mode = k->want, log = -1, moved = -1;
    k->want = -1;
    pthread_mutex_unlock(&k->lock);
    int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, mode, &log, &moved);
    bool failed = rc != SQLITE_OK && rc != SQLITE_BUSY;
    pthread_mutex_lock(&k->lock);
    if (failed) k->failed++;
    else k->done++;
    pthread_cond_broadcast(&k->cond);
    if (failed && !(rc == SQLITE_INTERRUPT && k->stop)) /* stopping: not an error */
      hq__logf(c, RT_LOG_ERROR, "wal checkpoint failed", "mode=%s rc=%d err=\"%s\"",
               ckpt_mode_name(mode), rc, sqlite3_errmsg(k->db));
    else if (!failed)
      hq__logf(c, RT_LOG_DEBUG, "wal checkpoint", "mode=%s busy=%d frames=%d moved=%d",
               ckpt_mode_name(mode), rc == SQLITE_BUSY, log, moved);
  }
  pthread_mutex_unlock(&k->lock);
  return NULL;
}

/* Lock and condition (monotonic clock: hq__ckpt_wait); nothing runs yet. */
static void ckpt_init(hq__ckpt *k) {
  pthread_condattr_t ca;
  pthread_mutex_init(&k->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&k->cond, &ca);
  pthread_condattr_destroy(&ca);
  k->want = -1;
}

/* The helper's connection and thread; the writer's own checkpoints off.
 * On failure nothing runs (hq_core_close tidies what was set up). */
static int ckpt_start(hq_core *c, hq_err *err) {
  hq__ckpt *k = &c->ck;
  k->pages = c->o.wal_checkpoint_pages > 0 ? c->o.wal_checkpoint_pages : DEFAULT_CKPT_PAGES;
  int rc = sqlite3_open_v2(c->o.db_path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(k->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return hq_err_set(err, HQ_EDB, "open: checkpoint connection: %s",
                      k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc));
  rc = rt_db_exec(&c->db, "PRAGMA wal_autocheckpoint=0");
  if (rc != SQLITE_OK) return hq__dberr(c, rc, "open: wal_autocheckpoint", err);
  if (pthread_create(&k->th, NULL, ckpt_main, c) != 0)
    return hq_err_set(err, HQ_ENOMEM, "open: cannot start the checkpoint thread");
  k->running = true;
  sqlite3_wal_hook(c->db.h, wal_hook, c); /* after the pragma: it installs its own hook */
  return HQ_OK;
}

/* Before the writer's connection closes (the top's diagram). */
static void ckpt_stop(hq_core *c) {
  hq__ckpt *k = &c->ck;
  if (c->db.h) sqlite3_wal_hook(c->db.h, NULL, NULL);
  if (k->running) {
    pthread_mutex_lock(&k->lock);
    k->stop = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    sqlite3_interrupt(k->db); /* a long PASSIVE stops at its next page */
    pthread_join(k->th, NULL);
    k->running = false;
  }
  sqlite3_close(k->db);
  k->db = NULL;
}

void hq__deadline(struct timespec *until, clockid_t clock, int timeout_ms) {
  clock_gettime(clock, until);
  until->tv_sec += timeout_ms / 1000;
  until->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until->tv_nsec >= 1000000000L) {
    until->tv_sec++;
    until->tv_nsec -= 1000000000L;
  }
}

int hq__ckpt_wait(hq_core *c, uint64_t n, int timeout_ms) {
  hq__ckpt *k = &c->ck;
  struct timespec until;
  int rc = 0;
  hq__deadline(&until, CLOCK_MONOTONIC, timeout_ms);
  pthread_mutex_lock(&k->lock);
  while (k->done + k->failed < n && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&k->cond, &k->lock, &until);
  rc = k->done + k->failed >= n ? 0 : -1;
  pthread_mutex_unlock(&k->lock);
  return rc;
}

/* ---- open / close --------------------------------------------------------------------- */

int hq__meta_get(hq_core *c, const char *key, int64_t *out, bool *found, hq_err *err) {
  int rc = rt_db_get_i64(&c->db, HQ_Q_META_GET, out, found, "t", key);
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "meta", err);
}

/* Clock from meta (C3); the store log; state rebuilt if its layout
 * changed; what a crash left unmerged in the store log merged (L1). */
static int startup(hq_core *c, hq_err *err) {
  int64_t hlc = 0, layout = 0;
  bool found = false;
  int rc = hq__meta_get(c, "hlc", &hlc, &found, err);
  if (rc != HQ_OK) return rc;
  proto_hlc_init(&c->hlc, (uint64_t)hlc, c->o.max_skew_ms);
  rc = hq__log_setup(c, err);
  if (rc == HQ_OK) rc = hq__meta_get(c, "layout", &layout, &found, err);
  if (rc == HQ_OK && (!found || layout != hq__state_layout())) {
    rc = hq_core_begin(c, err);
    if (rc == HQ_OK) rc = hq__rebuild(c, err);
    if (rc == HQ_OK) {
      int src = rt_db_run(&c->db, HQ_Q_META_SET, "ti", "layout", hq__state_layout());
      rc = src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "meta", err);
    }
    rc = rc == HQ_OK ? hq_core_commit(c, err) : (hq_core_rollback(c), rc);
  }
  if (rc == HQ_OK) rc = registry_load(c, err);
  return rc == HQ_OK ? hq__log_catch_up(c, err) : rc;
}

/* HQ is a server, not the box (docs/performance.md, bench_repl_ingest):
 * a 64 MiB page cache keeps big ingest transactions from spilling mid-way;
 * and each message's SAVEPOINT journal (the pages it changes, bounded by
 * one batch) stays in memory instead of spilling to a temp file past
 * 64 KiB: half of ingest's write() calls went there.  Checkpoints: every
 * ~40 MiB of WAL instead of every commit took 7% + 7% of ingest time, and
 * the helper thread (ckpt_start) takes the rest off the loop. */
static const char *const server_pragmas[] = {
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
};

static void defaults(hq_core_opts *o) {
  if (!o->max_skew_ms) o->max_skew_ms = DEFAULT_SKEW_MS;
  if (o->busy_timeout_ms <= 0) o->busy_timeout_ms = DEFAULT_BUSY_MS;
  if (!o->down_window) o->down_window = DEFAULT_WINDOW;
  if (!o->retransmit_ms) o->retransmit_ms = DEFAULT_RETRANSMIT_MS;
  if (!o->offline_after_ms) o->offline_after_ms = DEFAULT_OFFLINE_MS;
  if (!o->idem_keep_ms) o->idem_keep_ms = DEFAULT_IDEM_KEEP_MS;
}

int hq_core_open(hq_core **out, const hq_core_opts *opts, hq_err *err) {
  char msg[300];
  *out = NULL;
  if (!opts || !opts->db_path) return hq_err_set(err, HQ_ECONFIG, "core: db_path is required");
  hq_core *c = calloc(1, sizeof *c);
  if (!c) return hq_err_set(err, HQ_ENOMEM, "core: out of memory");
  ckpt_init(&c->ck);
  c->o = *opts;
  defaults(&c->o);
  proto_buf_init(&c->json);
  proto_buf_init(&c->pack);
  proto_buf_init(&c->out);
  hq_core_events_path_for(c->o.db_path, c->o.events_db_path, c->events_path, sizeof c->events_path);
  c->o.events_db_path = c->events_path;
  c->ev = malloc(sizeof *c->ev);
  int src = c->ev ? rt_db_open(&c->db, hq__schema(), c->o.db_path, c->o.busy_timeout_ms, msg, sizeof msg)
                  : SQLITE_NOMEM;
  int rc = src == SQLITE_OK ? HQ_OK : hq__db_err(NULL, src, "open", err);
  if (rc != HQ_OK) hq_err_set(err, rc, "%s", c->ev ? msg : "core: out of memory");
  for (size_t i = 0; rc == HQ_OK && i < sizeof server_pragmas / sizeof server_pragmas[0]; i++)
    if (rt_db_exec(&c->db, server_pragmas[i]) != SQLITE_OK)
      rc = hq_err_set(err, HQ_EDB, "open: %s refused: %s", server_pragmas[i], sqlite3_errmsg(c->db.h));
  if (rc == HQ_OK) rc = startup(c, err);
  if (rc == HQ_OK) rc = ckpt_start(c, err);
  if (rc == HQ_OK) rc = hq__log_start(c->log, err);
  if (rc != HQ_OK) {
    hq_core_close(c);
    return rc;
  }
  c->last_prune_ms = 0;
  c->mqtt_down = true; /* until the first connect: silence means nothing yet */
  *out = c;
  return HQ_OK;
}

void hq_core_close(hq_core *c) {
  if (!c) return;
  hq__log_close(c->log); /* first: its thread wakes the loop through opts */
  for (hq__handoff *h = c->ready, *next; h; h = next) {
    next = h->next;
    hq__handoff_free(h);
  }
  hq__logr_close(&c->logr);
  hq_core_rollback(c);
  ckpt_stop(c);
  rt_db_close(&c->db);
  free(c->ev);
  for (size_t i = 0; i < c->n_stores; i++) {
    proto_vv_close(&c->stores[i]->vv);
    free(c->stores[i]);
  }
  free(c->stores);
  free(c->applied);
  free(c->touched);
  free(c->wb.orders);
  free(c->wb.stock);
  proto_buf_close(&c->json);
  proto_buf_close(&c->pack);
  proto_buf_close(&c->out);
  pthread_cond_destroy(&c->ck.cond);
  pthread_mutex_destroy(&c->ck.lock);
  free(c);
}

/* ---- figures ----------------------------------------------------------------------------- */

int hq_core_stats_get(hq_core *c, hq_core_stats *out, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int64_t conflicts = 0;
  *out = c->stats;
  pthread_mutex_lock(&c->ck.lock);
  out->wal_checkpoints = c->ck.done;
  out->wal_checkpoints_failed = c->ck.failed;
  pthread_mutex_unlock(&c->ck.lock);
  hq__log_stats ls;
  hq__log_stats_get(c->log, &ls);
  out->events_duplicate = ls.events_dup;
  out->events_skewed = ls.events_skewed;
  out->log_commits = ls.commits;
  out->log_commit_ns_total = ls.commit_ns_total;
  out->log_commit_failed = ls.commit_failed;
  out->log_queued = ls.queued;
  out->log_applied = c->log_committed;
  if (hq__logr_head(&c->logr, &out->log_head, err) != HQ_OK) return err->code;
  out->stores_online = out->down_unacked = 0;
  out->stores_known = c->n_stores;
  for (size_t i = 0; i < c->n_stores; i++) {
    const hq__store *s = c->stores[i];
    out->stores_online += s->online;
    if (s->loaded && s->committed_seq > s->down_acked) out->down_unacked += s->committed_seq - s->down_acked;
  }
  memset(out->open_by_status, 0, sizeof out->open_by_status);
  int src = rt_db_bind(&c->db, HQ_Q_ORDERS_OPEN_BY_STATUS, &st, "");
  while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    int m = sqlite3_column_int(st, 0);
    if (m >= 0 && m < PROTO_MS__COUNT) out->open_by_status[m] = (uint64_t)sqlite3_column_int64(st, 1);
    src = SQLITE_OK;
  }
  src = rt_db_end(st, src);
  if (src == SQLITE_OK) src = rt_db_get_i64(&c->db, HQ_Q_CONFLICTS_COUNT, &conflicts, NULL, "");
  out->conflicts = (uint64_t)conflicts;
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "figures", err);
}
