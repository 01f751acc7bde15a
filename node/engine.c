/* engine.c - the engine handle: open/close, group commit with one savepoint
 * per command, idempotent command ids, remote events, feed, outbox, figures.
 *
 * Transactions (one writer, the event loop):
 *
 *   idle --first command--> BEGIN IMMEDIATE (batch open, batch_mark taken)
 *        each command: SAVEPOINT c ... RELEASE c        (success)
 *                      SAVEPOINT c ... ROLLBACK TO c    (failure: no trace;
 *                      counters restored from the command's mark)
 *   node_engine_commit: COMMIT (one fsync) -> committed_* advance, the version
 *        vector learns the batch, then on_change for each event in feed order.
 *   COMMIT fails, or SQLite rolls the whole transaction back by itself
 *   (SQLITE_FULL, IOERR, NOMEM can do that mid-statement): counters go back
 *   to batch_mark, and the error is reported to the caller of commit, who
 *   answers every command of the batch with it.  Until then new commands are
 *   refused with the same error, so none can be acknowledged by mistake.
 *
 * Invariants:
 *   E1 local seqs are gap-free: next_seq only advances inside a savepoint and
 *      is restored with it; committed seqs are never reused (next_seq starts
 *      at MAX(seq)+1 of the log).
 *   E2 the HLC never goes backwards across restarts: meta 'hlc' is written in
 *      every commit and the clock starts at the highest of it and the newest
 *      local event.
 *   E3 readers of the outbox and the feed only see committed rows
 *      (feed <= committed_feed), so an event never leaves the box before its
 *      commit made it durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"

/* ---- small helpers ------------------------------------------------------------ */

uint64_t node__now(node_engine *e) {
  return e->clock_ms ? e->clock_ms(e->ctx) : proto_wall_ms();
}

int node__copy(char *dst, size_t cap, const char *src, const char *field, bool required,
               node_err *err) {
  size_t n = src ? strlen(src) : 0;
  if (required && n == 0) return node_err_set(err, NODE_EINVAL, "%s: required", field);
  if (n >= cap)
    return node_err_set(err, NODE_EINVAL, "%s: too long (%zu bytes, max %zu)", field, n, cap - 1);
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
  return NODE_OK;
}

int node__proto_err(int prc, const proto_err *perr, node_err *err) {
  int code = prc == PROTO_EILLEGAL      ? NODE_EILLEGAL
             : prc == PROTO_ECLOCK_SKEW ? NODE_ECLOCK
             : prc == PROTO_ENOMEM      ? NODE_ENOMEM
                                        : NODE_EINVAL;
  const char *msg = perr && perr->msg[0] ? perr->msg : proto_strerror(prc);
  return node_err_set(err, code, "%s", msg);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- savepoints and the batch -------------------------------------------------- */

static void mark_take(const node_engine *e, node__mark *m) {
  m->next_seq = e->next_seq;
  m->hlc = e->hlc.last;
  m->feed = e->feed;
  m->acked = e->acked;
  m->n_changes = e->n_changes;
  m->n_touched = e->n_touched;
}

static void mark_restore(node_engine *e, const node__mark *m) {
  e->next_seq = m->next_seq;
  e->hlc.last = m->hlc;
  e->feed = m->feed;
  e->acked = m->acked;
  e->n_changes = m->n_changes;
  e->n_touched = m->n_touched;
}

/* The whole batch is gone (rolled back by SQLite or by us): forget it. */
static void batch_lost(node_engine *e, int rc, const node_err *err) {
  if (!sqlite3_get_autocommit(e->db.h)) sqlite3_exec(e->db.h, "ROLLBACK", NULL, NULL, NULL);
  mark_restore(e, &e->batch_mark);
  e->in_batch = false;
  e->pending = 0;
  e->lost_rc = rc;
  snprintf(e->lost_msg, sizeof e->lost_msg, "batch rolled back: %s",
           err && err->msg[0] ? err->msg : node_strerror(rc));
}

int node__begin(node_engine *e, node__txn *t, node_err *err) {
  mark_take(e, &t->mark);
  if (e->lost_rc) return node_err_set(err, e->lost_rc, "%s", e->lost_msg);
  if (!e->in_batch) {
    int rc = node__db_exec(&e->db, "BEGIN IMMEDIATE", err);
    if (rc != NODE_OK) return rc;
    e->in_batch = true;
    e->batch_mark = t->mark;
  }
  int rc = node__db_exec(&e->db, "SAVEPOINT c", err);
  if (rc != NODE_OK) return rc;
  e->depth++;
  return NODE_OK;
}

int node__end(node_engine *e, node__txn *t, int rc, node_err *err) {
  e->depth--;
  if (!e->in_batch) /* a nested command lost the batch */
    return rc != NODE_OK ? rc : node_err_set(err, e->lost_rc, "%s", e->lost_msg);
  if (rc == NODE_OK && !e->rebuilding) rc = node__stock_rules(e, t->mark.n_touched, err);
  if (rc == NODE_OK) rc = node__db_exec(&e->db, "RELEASE c", err);
  if (rc == NODE_OK) {
    e->n_touched = t->mark.n_touched;
    if (e->depth == 0) e->pending++;
    return NODE_OK;
  }
  if (!sqlite3_get_autocommit(e->db.h) &&
      sqlite3_exec(e->db.h, "ROLLBACK TO c; RELEASE c", NULL, NULL, NULL) == SQLITE_OK) {
    mark_restore(e, &t->mark);
    return rc;
  }
  batch_lost(e, rc, err);
  return rc;
}

size_t node_engine_pending(const node_engine *e) { return e->pending; }

/* Learn the committed batch, then tell the caller about each event.  The
 * list is detached first: a callback may start the next batch. */
static void after_commit(node_engine *e) {
  node__change *list = e->changes;
  size_t n = e->n_changes, cap = e->cap_changes;
  e->changes = NULL;
  e->n_changes = e->cap_changes = 0;
  for (size_t i = 0; i < n; i++) {
    if (proto_vv_add(&e->vv, list[i].ev.origin, list[i].ev.seq, NULL) != PROTO_OK)
      e->vv_stale = true;
    if (list[i].local)
      e->stats.events_local++;
    else
      e->stats.events_remote++;
  }
  for (size_t i = 0; e->on_change && i < n; i++) {
    node_change ch = {&list[i].ev, list[i].feed, list[i].local};
    e->on_change(e->ctx, &ch);
  }
  if (!e->changes) { /* keep the storage for the next batch */
    e->changes = list;
    e->cap_changes = cap;
  } else {
    free(list);
  }
}

int node_engine_commit(node_engine *e, node_err *err) {
  if (e->lost_rc) {
    int rc = e->lost_rc;
    node_err_set(err, rc, "%s", e->lost_msg);
    e->lost_rc = 0;
    return rc;
  }
  if (!e->in_batch) return NODE_OK;
  uint64_t t0 = mono_ns();
  int rc = node__db_run(&e->db, NODE_Q_META_SET, err, "ti", "hlc", (int64_t)e->hlc.last);
  if (rc == NODE_OK) rc = node__db_exec(&e->db, "COMMIT", err);
  if (rc != NODE_OK) {
    batch_lost(e, rc, err);
    e->lost_rc = 0; /* reported right here */
    return rc;
  }
  uint64_t dt = mono_ns() - t0;
  e->stats.commits++;
  e->stats.commit_ns_total += dt;
  if (dt > e->stats.commit_ns_max) e->stats.commit_ns_max = dt;
  e->in_batch = false;
  e->pending = 0;
  e->committed_feed = e->feed;
  e->committed_seq = e->next_seq - 1;
  after_commit(e);
  return NODE_OK;
}

/* ---- open / close ---------------------------------------------------------------- */

static int meta_get(node_engine *e, const char *key, uint64_t *out, bool *found, node_err *err) {
  int64_t v = 0;
  int rc = node__db_get_i64(&e->db, NODE_Q_META_GET, &v, found, err, "t", key);
  if (rc == NODE_OK && *found) *out = (uint64_t)v;
  return rc;
}

static int vv_load(node_engine *e, node_err *err) {
  sqlite3_stmt *st = NULL;
  proto_vv_reset(&e->vv);
  int rc = node__db_bind(&e->db, NODE_Q_EV_IDS, &st, err, "");
  if (rc != NODE_OK) return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *origin = (const char *)sqlite3_column_text(st, 0);
    if (proto_vv_add(&e->vv, origin ? origin : "", (uint64_t)sqlite3_column_int64(st, 1), NULL) ==
        PROTO_ENOMEM) {
      sqlite3_reset(st);
      return node_err_set(err, NODE_ENOMEM, "version vector: out of memory");
    }
  }
  rc = node__db_end(&e->db, st, src, "load version vector", err);
  if (rc == NODE_OK) e->vv_stale = false;
  return rc;
}

/* Counters and clock from the log and meta (E1, E2). */
static int load_counters(node_engine *e, uint64_t max_skew_ms, node_err *err) {
  int64_t last_seq = 0, feed = 0, own_hlc = 0;
  uint64_t hlc = 0, acked = 0;
  bool found = false;
  int rc = node__db_get_i64(&e->db, NODE_Q_EV_MAX_SEQ, &last_seq, NULL, err, "t", e->store);
  if (rc == NODE_OK) rc = node__db_get_i64(&e->db, NODE_Q_EV_MAX_FEED, &feed, NULL, err, "");
  if (rc == NODE_OK)
    rc = node__db_get_i64(&e->db, NODE_Q_EV_HLC_OF, &own_hlc, NULL, err, "ti", e->store, last_seq);
  if (rc == NODE_OK) rc = meta_get(e, "hlc", &hlc, &found, err);
  if (rc == NODE_OK) rc = meta_get(e, "acked", &acked, &found, err);
  if (rc != NODE_OK) return rc;
  if ((uint64_t)own_hlc > hlc) hlc = (uint64_t)own_hlc;
  proto_hlc_init(&e->hlc, hlc, max_skew_ms);
  e->next_seq = (uint64_t)last_seq + 1;
  e->committed_seq = (uint64_t)last_seq;
  e->feed = e->committed_feed = (uint64_t)feed;
  e->acked = acked > e->committed_seq ? e->committed_seq : acked;
  return vv_load(e, err);
}

/* One start-up batch: rebuild state if its layout changed, forget old
 * command ids and sessions. */
static int housekeeping(node_engine *e, node_err *err) {
  node__txn t;
  uint64_t layout = 0, now = node__now(e);
  bool found = false;
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = meta_get(e, "layout", &layout, &found, err);
  if (rc == NODE_OK && (!found || (int64_t)layout != node__state_layout())) {
    rc = node__rebuild(e, err);
    if (rc == NODE_OK)
      rc = node__db_run(&e->db, NODE_Q_META_SET, err, "ti", "layout", node__state_layout());
  }
  if (rc == NODE_OK && now > NODE_CMD_KEEP_MS)
    rc = node__db_run(&e->db, NODE_Q_CMD_PRUNE, err, "i", (int64_t)(now - NODE_CMD_KEEP_MS));
  if (rc == NODE_OK) rc = node__db_run(&e->db, NODE_Q_SESSION_PRUNE, err, "i", (int64_t)now);
  rc = node__end(e, &t, rc, err);
  return rc == NODE_OK ? node_engine_commit(e, err) : rc;
}

int node_engine_open(node_engine **out, const node_engine_opts *opts, node_err *err) {
  *out = NULL;
  if (!opts || !opts->db_path || !opts->store_id || !proto_id_valid(opts->store_id))
    return node_err_set(err, NODE_ECONFIG, "engine: db_path and a valid store_id are required");
  node_engine *e = calloc(1, sizeof *e);
  if (!e) return node_err_set(err, NODE_ENOMEM, "engine: out of memory");
  snprintf(e->store, sizeof e->store, "%s", opts->store_id);
  e->clock_ms = opts->clock_ms;
  e->on_change = opts->on_change;
  e->ctx = opts->ctx;
  proto_vv_init(&e->vv);
  proto_buf_init(&e->json);
  proto_buf_init(&e->pack);
  node_auth_configure(e, NULL);
  int rc = node__db_open(&e->db, opts->db_path,
                         opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : NODE_DEFAULT_BUSY_MS,
                         err);
  if (rc == NODE_OK)
    rc = load_counters(e, opts->max_skew_ms ? opts->max_skew_ms : NODE_DEFAULT_SKEW_MS, err);
  if (rc == NODE_OK) rc = node__auth_init(e, err);
  if (rc == NODE_OK) rc = housekeeping(e, err);
  if (rc != NODE_OK) {
    node_engine_close(e);
    return rc;
  }
  *out = e;
  return NODE_OK;
}

void node_engine_close(node_engine *e) {
  if (!e) return;
  if (e->db.h && !sqlite3_get_autocommit(e->db.h))
    sqlite3_exec(e->db.h, "ROLLBACK", NULL, NULL, NULL);
  node__db_close(&e->db);
  node__auth_free(e);
  proto_vv_close(&e->vv);
  proto_buf_close(&e->json);
  proto_buf_close(&e->pack);
  free(e->changes);
  free(e->touched);
  free(e);
}

/* ---- idempotent tablet commands ----------------------------------------------------- */

int node_engine_cmd_lookup(node_engine *e, const char *cmd_id, char *result, size_t cap) {
  sqlite3_stmt *st = NULL;
  if (!cmd_id || node__db_bind(&e->db, NODE_Q_CMD_GET, &st, NULL, "t", cmd_id) != NODE_OK)
    return NODE_ENOTFOUND;
  int rc = sqlite3_step(st) == SQLITE_ROW ? NODE_OK : NODE_ENOTFOUND;
  if (rc == NODE_OK && result && cap) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(result, cap, "%s", t ? (const char *)t : "");
  }
  sqlite3_reset(st);
  return rc;
}

int node_engine_cmd_record(node_engine *e, const char *cmd_id, const char *result,
                           node_err *err) {
  node__txn t;
  if (!cmd_id || !proto_id_valid(cmd_id))
    return node_err_set(err, NODE_EINVAL, "id: must match [A-Za-z0-9_.:-]{1,63}");
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = node__db_run(&e->db, NODE_Q_CMD_PUT, err, "tti", cmd_id, result ? result : "{}",
                    (int64_t)node__now(e));
  return node__end(e, &t, rc, err);
}

/* ---- events from HQ ----------------------------------------------------------------- */

static int ingest_check(const node_engine *e, const proto_event *ev, node_err *err) {
  if (!ev || !proto_id_valid(ev->origin) || ev->seq == 0 || ev->seq > PROTO_SEQ_MAX || ev->hlc == 0)
    return node_err_set(err, NODE_EINVAL, "event: bad origin, seq or hlc");
  if (strcmp(ev->store, e->store) != 0)
    return node_err_set(err, NODE_EINVAL, "event %s:%" PRIu64 " is for store '%s', this is '%s'",
                        ev->origin, ev->seq, ev->store, e->store);
  if (!proto_event_type_name(ev->type))
    return node_err_set(err, NODE_EINVAL, "event: unknown type %d", (int)ev->type);
  return NODE_OK;
}

static int ingest_body(node_engine *e, const proto_event *ev, node_err *err) {
  int64_t one = 0;
  bool held = false;
  proto_err perr = {0};
  int rc = node__db_get_i64(&e->db, NODE_Q_EV_HAS, &one, &held, err, "ti", ev->origin,
                            (int64_t)ev->seq);
  if (rc != NODE_OK || held) {
    if (held) e->stats.events_duplicate++;
    return rc;
  }
  int prc = proto_hlc_recv(&e->hlc, node__now(e), ev->hlc, &perr);
  if (prc != PROTO_OK) return node__proto_err(prc, &perr, err);
  rc = node__apply(e, ev, false, NULL, err);
  /* Our own events coming back (a box restored from an old backup): never
   * reuse their seqs. */
  if (rc == NODE_OK && strcmp(ev->origin, e->store) == 0 && ev->seq >= e->next_seq)
    e->next_seq = ev->seq + 1;
  return rc;
}

int node_engine_ingest(node_engine *e, const proto_event *ev, node_err *err) {
  node__txn t;
  int rc = ingest_check(e, ev, err);
  if (rc == NODE_OK) rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  return node__end(e, &t, ingest_body(e, ev, err), err);
}

/* ---- settings ---------------------------------------------------------------------- */

int node_settings_set(node_engine *e, const proto_ev_settings *s, const char *by,
                      node_err *err) {
  node__txn t;
  proto_event ev;
  if (!s || s->present == 0 || (s->present >> PROTO_SET__COUNT) != 0)
    return node_err_set(err, NODE_EINVAL, "settings: no (known) field to set");
  proto_event_init(&ev, PROTO_EV_STORE_SETTINGS, e->store, 0, 0, e->store);
  ev.body.settings = *s;
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  return node__end(e, &t, node__emit(e, &ev, err), err);
}

int node_settings_get(node_engine *e, proto_settings *out, node_err *err) {
  return node__settings_load(e, out, err);
}

/* ---- feed -------------------------------------------------------------------------- */

uint64_t node_engine_feed(const node_engine *e) { return e->committed_feed; }

uint64_t node_engine_feed_floor(const node_engine *e) {
  return e->committed_feed > NODE_FEED_WINDOW ? e->committed_feed - NODE_FEED_WINDOW : 0;
}

int node_engine_changes_since(node_engine *e, uint64_t since,
                              int (*cb)(void *ctx, proto_target target, const char *key),
                              void *ctx, node_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = node__db_bind(&e->db, NODE_Q_EV_CHANGES, &st, err, "ii", (int64_t)since,
                         (int64_t)e->committed_feed);
  if (rc != NODE_OK) return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 1);
    if (cb(ctx, (proto_target)sqlite3_column_int(st, 0), key ? key : "") != 0) break;
  }
  return node__db_end(&e->db, st, src, "changes since", err);
}

/* ---- outbox ------------------------------------------------------------------------- */

int node_engine_outbox_each(node_engine *e, size_t max_events, size_t max_bytes,
                            int (*cb)(void *ctx, const proto_event *ev, const char *json,
                                      size_t len),
                            void *ctx, node_err *err) {
  sqlite3_stmt *st = NULL;
  proto_event ev;
  size_t bytes = 0, n = 0;
  int src = SQLITE_DONE;
  int rc = node__db_bind(&e->db, NODE_Q_EV_OUTBOX, &st, err, "tiii", e->store, (int64_t)e->acked,
                         (int64_t)e->committed_feed, (int64_t)(max_events ? max_events : 1));
  if (rc != NODE_OK) return rc;
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *json = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    proto_err perr = {0};
    if (n > 0 && bytes + len > max_bytes) break;
    if (proto_event_decode(json ? json : "", len, &ev, &perr) != PROTO_OK) {
      rc = node_err_set(err, NODE_ECORRUPT, "outbox: stored event unreadable: %s", perr.msg);
      break;
    }
    bytes += len;
    n++;
    if (cb(ctx, &ev, json, len) != 0) break;
  }
  sqlite3_reset(st);
  if (rc == NODE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
    rc = node__db_err(&e->db, src, "outbox", err);
  return rc;
}

int node_engine_outbox_ack(node_engine *e, uint64_t seq, node_err *err) {
  node__txn t;
  if (seq > e->committed_seq) seq = e->committed_seq; /* HQ cannot hold more */
  if (seq <= e->acked) return NODE_OK;
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = node__db_run(&e->db, NODE_Q_META_SET, err, "ti", "acked", (int64_t)seq);
  if (rc == NODE_OK) e->acked = seq;
  return node__end(e, &t, rc, err);
}

int node_engine_vv(node_engine *e, proto_vv *out, node_err *err) {
  if (e->vv_stale) {
    int rc = vv_load(e, err);
    if (rc != NODE_OK) return rc;
  }
  proto_vv_reset(out);
  if (proto_vv_merge(out, &e->vv) != PROTO_OK)
    return node_err_set(err, NODE_ENOMEM, "version vector: out of memory");
  return NODE_OK;
}

/* ---- figures ------------------------------------------------------------------------ */

int node_engine_stats_get(node_engine *e, node_engine_stats *out, node_err *err) {
  sqlite3_stmt *st = NULL;
  *out = e->stats;
  memset(out->orders_by_status, 0, sizeof out->orders_by_status);
  out->last_acked_seq = e->acked;
  out->last_seq = e->committed_seq;
  out->outbox_depth = e->committed_seq > e->acked ? e->committed_seq - e->acked : 0;
  int rc = node__db_bind(&e->db, NODE_Q_ORDERS_BY_STATUS, &st, err, "");
  if (rc != NODE_OK) return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    int s = sqlite3_column_int(st, 0);
    if (s >= 0 && s < PROTO_MS__COUNT) out->orders_by_status[s] = (uint64_t)sqlite3_column_int64(st, 1);
  }
  return node__db_end(&e->db, st, src, "order figures", err);
}
