/* test_log.c - the store log (hq/log.h; diagram and L1..L4 in log.c, the
 * loop's half in log_merge.c): the boxes' events go to a SQLite file of
 * their own, written by a thread of its own, and the loop merges what was
 * logged into hq.db.  Each case is a real hq_core on temp files:
 *
 *   the program's asynchronous path (submit, wait, poll, commit, ack);
 *   L1: hq.db's commit lost after the log's (a COMMIT made to fail with a
 *       commit hook), merged again from the log's rows, by the next poll
 *       and by a restart; a resend is then a duplicate;
 *   the move of the boxes' events out of an hq.db written before the split;
 *   an hq.db with a store log that is not its own is refused at open;
 *   L4: the queue is bounded (HQ_EBUSY, the box resends);
 *   L3: a refused batch logs nothing and is reported by hq_core_poll; a
 *       skewed one keeps its prefix.
 *
 * No sleeps: the log thread is held back by holding the store log's write
 * lock from a connection of the test (its BEGIN IMMEDIATE waits in its busy
 * handler), and hq_core_log_wait is the bounded wait for it. */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_int.h"
#include "hq_test.h"

#define S1 "s-1"
#define S2 "s-2"
#define WAIT_MS 10000
#define SKEW_MS 60000

/* ---- helpers ------------------------------------------------------------------------ */

/* n stock.delta events of the box `store`, seqs first.., into a batch. */
static void deltas(proto_buf *out, const char *store, uint64_t first, size_t n, const char *sku,
                   uint64_t now) {
  proto_event ev[8];
  assert_true(n <= 8);
  for (size_t i = 0; i < n; i++) {
    uint64_t seq = first + i;
    proto_event_init(&ev[i], PROTO_EV_STOCK_DELTA, store, seq, PROTO_HLC_MAKE(now, seq), store);
    snprintf(ev[i].body.delta.sku, PROTO_ID_MAX, "%s", sku);
    ev[i].body.delta.delta = 1;
    ev[i].body.delta.reason = PROTO_STOCK_RECEIVE;
  }
  t_batch(store, ev, n, out);
}

static int submit(tctx *t, const char *store, const proto_buf *b) {
  char topic[PROTO_TOPIC_MAX];
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/up/events", store);
  hq_err_clear(&t->err);
  return hq_core_submit(t->c, topic, b->data, b->len, NULL, &t->err);
}

typedef struct refusal {
  char store[PROTO_ID_MAX];
  size_t bytes;
  int rc;
  hq_err err;
} refusal;

typedef struct refusals {
  refusal r[8];
  size_t n;
} refusals;

static void on_refused(void *ctx, const char *store, size_t bytes, int rc, const hq_err *err) {
  refusals *rs = ctx;
  if (rs->n == 8) fail_msg("more than 8 refusals");
  refusal *r = &rs->r[rs->n++];
  snprintf(r->store, sizeof r->store, "%s", store);
  r->bytes = bytes;
  r->rc = rc;
  r->err = *err;
}

/* Wait for the log thread, merge everything it logged; the batches merged. */
static size_t merge_all(tctx *t, refusals *rs) {
  assert_int_equal(hq_core_log_wait(t->c, WAIT_MS), 0);
  size_t n = hq_core_poll(t->c, SIZE_MAX, rs ? on_refused : NULL, rs);
  assert_false(hq_core_log_busy(t->c));
  return n;
}

static int64_t meta(tctx *t, const char *key) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT COALESCE((SELECT value FROM meta WHERE key='%s'),-1)", key);
  return t_sql_i64(t, sql);
}

static int64_t on_hand(tctx *t, const char *store, const char *sku) {
  char sql[200];
  snprintf(sql, sizeof sql,
           "SELECT COALESCE((SELECT on_hand FROM stock WHERE store='%s' AND sku='%s'),-1)", store, sku);
  return t_sql_i64(t, sql);
}

#define LOG_ROWS(t) t_sql_i64(t, "SELECT COUNT(*) FROM log.events")
#define LOG_HEAD(t) t_sql_i64(t, "SELECT COALESCE(MAX(id),0) FROM log.events")

/* Hold the store log's write lock: the log thread's next transaction waits
 * (in SQLite's busy handler) until log_unlock. */
static sqlite3 *log_lock(tctx *t) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(hq_core_events_path(t->c), &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    fail_msg("lock the store log: %s", sqlite3_errmsg(db));
  return db;
}

static void log_unlock(sqlite3 *db) {
  assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* hq.db's next `fail` COMMITs fail (a commit hook's non-zero return turns
 * COMMIT into a rollback): the crash between the log's commit and hq.db's. */
typedef struct commit_fail {
  int fail;
} commit_fail;

static int fail_commit(void *ctx) {
  commit_fail *f = ctx;
  if (f->fail <= 0) return 0;
  f->fail--;
  return 1;
}

/* Rename (or, to == NULL, remove) the store log with its -wal and -shm. */
static void move_log(const char *path, const char *to) {
  static const char *const sfx[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < 3; i++) {
    char a[300], b[300];
    snprintf(a, sizeof a, "%s%s", path, sfx[i]);
    snprintf(b, sizeof b, "%s%s", to ? to : "", sfx[i]);
    int rc = to ? rename(a, b) : unlink(a);
    if (rc != 0 && errno != ENOENT) fail_msg("%s: %s", a, strerror(errno));
  }
}

/* A second fixture (its own directory): the same batches without faults. */
static uint64_t reference_digest(const proto_buf *const *b, const char *const *store, size_t n) {
  void *state = NULL;
  assert_int_equal(t_setup(&state), 0);
  tctx *r = state;
  for (size_t i = 0; i < n; i++) T_OK(r, t_ingest(r, store[i], "events", b[i]->data, b[i]->len));
  uint64_t d = t_state_digest(r);
  t_teardown(&state);
  return d;
}

/* ---- 1: the program's path ---------------------------------------------------------- */

static void step(proto_event *ev, uint64_t seq, uint64_t now, proto_event_type type, const char *order) {
  proto_event_init(ev, type, S1, seq, PROTO_HLC_MAKE(now, seq), S1);
  snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", order);
}

static void test_submit_returns_at_once_poll_merges(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  char id[PROTO_ID_MAX];
  proto_event ev[2];
  proto_buf b[5];
  refusals rs = {.n = 0};
  for (size_t i = 0; i < 5; i++) proto_buf_init(&b[i]);
  /* An order HQ dispatches to s-1, worked by the box in the batches below. */
  t_store(t, S1, 31.23, 121.47, 5000);
  t_catalog(t, "latte", 1900);
  t_order_req(&r, "k", PROTO_KIND_PICKUP, "latte", 2);
  snprintf(r.store_id, sizeof r.store_id, "%s", S1);
  T_OK(t, hq_order_create(t->c, &r, &status, &t->body, &t->err));
  assert_int_equal(status, 201);
  const char *p = strstr(t->body.data, "\"order_id\":\"") + 12;
  snprintf(id, sizeof id, "%.*s", (int)strcspn(p, "\""), p);
  t_pub_clear(t);
  t->now += 60000;
  step(&ev[0], 1, t->now, PROTO_EV_ORDER_ACCEPTED, id);
  step(&ev[1], 2, t->now, PROTO_EV_ORDER_READY, id);
  t_batch(S1, ev, 2, &b[0]);
  step(&ev[0], 3, t->now, PROTO_EV_ORDER_COMPLETED, id);
  proto_event_init(&ev[1], PROTO_EV_STOCK_DELTA, S1, 4, PROTO_HLC_MAKE(t->now, 4), S1);
  snprintf(ev[1].body.delta.sku, PROTO_ID_MAX, "latte");
  ev[1].body.delta.delta = -2;
  ev[1].body.delta.reason = PROTO_STOCK_SALE;
  t_batch(S1, ev, 2, &b[1]);
  deltas(&b[2], S1, 5, 2, "latte", t->now);
  deltas(&b[3], S2, 1, 3, "cup", t->now);
  deltas(&b[4], S2, 4, 3, "cup", t->now);

  /* With the log's write lock held, nothing can be logged: submit returns
   * without waiting for the log thread. */
  sqlite3 *lock = log_lock(t);
  static const size_t order[] = {0, 3, 1, 4, 2};
  for (size_t i = 0; i < 5; i++) T_OK(t, submit(t, i == 1 || i == 3 ? S2 : S1, &b[order[i]]));
  assert_true(hq_core_log_busy(t->c));
  assert_int_equal(hq_core_log_wait(t->c, 0), -1);
  assert_int_equal(LOG_ROWS(t), 0);
  assert_int_equal(hq_core_poll(t->c, SIZE_MAX, on_refused, &rs), 0);
  log_unlock(lock);

  /* Logged: still busy until merged (the handoffs wait for hq_core_poll). */
  assert_int_equal(hq_core_log_wait(t->c, WAIT_MS), 0);
  assert_int_equal(LOG_ROWS(t), 12);
  assert_true(hq_core_log_busy(t->c));
  assert_int_equal(hq_core_poll(t->c, 2, on_refused, &rs), 2);
  assert_true(hq_core_log_busy(t->c));
  assert_int_equal(hq_core_poll(t->c, SIZE_MAX, on_refused, &rs), 3);
  assert_false(hq_core_log_busy(t->c));
  assert_int_equal(rs.n, 0);
  assert_true(hq_core_in_txn(t->c));
  assert_int_equal(t_acked(t, S1), -1); /* C1/L2: no ack before hq.db's commit */
  assert_int_equal(meta(t, "log_applied"), -1);

  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(t_acked(t, S1), 6);
  assert_int_equal(t_acked(t, S2), 6);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1' AND store='s-1'"), 6);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-2'"), 6);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE origin NOT LIKE 'hq:%'"), 0);
  assert_int_equal(meta(t, "log_applied"), LOG_HEAD(t));
  assert_int_equal(on_hand(t, S1, "latte"), 0); /* -2 sold, +2 received */
  assert_int_equal(on_hand(t, S2, "cup"), 6);
  assert_int_equal(t_sql_i64(t, "SELECT open FROM orders"), 0);
  T_OK(t, hq_order_get(t->c, id, &t->body, &t->err));
  assert_non_null(strstr(t->body.data, "\"status\":\"completed\""));
  assert_int_equal(t_sql_i64(t, "SELECT up_seq FROM stores WHERE id='s-2'"), 6);
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.msgs[PROTO_REPL_EVENTS], 5);
  assert_int_equal(st.log_head, 12);
  assert_int_equal(st.log_applied, 12);
  assert_int_equal(st.log_queued, 0);
  for (size_t i = 0; i < 5; i++) proto_buf_close(&b[i]);
}

/* ---- 2, 3: L1, hq.db's commit lost ----------------------------------------------------- */

static void test_lost_commit_merged_from_the_log(void **state) {
  tctx *t = *state;
  commit_fail f = {0};
  proto_buf a, c, b1, b2;
  proto_buf_init(&a);
  proto_buf_init(&c);
  proto_buf_init(&b1);
  proto_buf_init(&b2);
  deltas(&a, S1, 1, 3, "cup", t->now);
  deltas(&c, S2, 1, 2, "cup", t->now);
  deltas(&b1, S1, 4, 2, "cup", t->now);
  deltas(&b2, S1, 6, 1, "tea", t->now);
  sqlite3_commit_hook(hq_core_sqlite(t->c), fail_commit, &f);

  /* Everything merged, then the commit fails: no ack, nothing in hq.db. */
  T_OK(t, submit(t, S1, &a));
  T_OK(t, submit(t, S2, &c));
  assert_int_equal(merge_all(t, NULL), 2);
  f.fail = 1;
  assert_int_not_equal(hq_core_commit(t->c, &t->err), HQ_OK);
  assert_false(hq_core_in_txn(t->c));
  assert_int_equal(t->n_pub, 0);
  assert_int_equal(LOG_ROWS(t), 5); /* logged (its own commit) */
  assert_int_equal(meta(t, "log_applied"), -1);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM stock"), 0);
  /* No new message: the next poll merges the log's rows, commits, acks. */
  assert_false(hq_core_log_busy(t->c));
  assert_int_equal(hq_core_poll(t->c, SIZE_MAX, NULL, NULL), 0);
  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(t_acked(t, S1), 3);
  assert_int_equal(t_acked(t, S2), 2);
  assert_int_equal(meta(t, "log_applied"), 5);
  assert_int_equal(on_hand(t, S1, "cup"), 3);

  /* Lost with handoffs still waiting: the log's rows are merged first,
   * then the handoffs (their events already merged) are skipped, acked. */
  t_pub_clear(t);
  T_OK(t, submit(t, S1, &b1));
  T_OK(t, submit(t, S1, &b2));
  assert_int_equal(hq_core_log_wait(t->c, WAIT_MS), 0);
  assert_int_equal(hq_core_poll(t->c, 1, NULL, NULL), 1);
  f.fail = 1;
  assert_int_not_equal(hq_core_commit(t->c, &t->err), HQ_OK);
  assert_int_equal(t_acked(t, S1), -1);
  assert_true(hq_core_log_busy(t->c)); /* b2's handoff is in hand */
  assert_int_equal(hq_core_poll(t->c, SIZE_MAX, NULL, NULL), 1);
  assert_false(hq_core_log_busy(t->c));
  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(t_acked(t, S1), 6);
  assert_int_equal(meta(t, "log_applied"), 8);
  assert_int_equal(LOG_ROWS(t), 8);
  assert_int_equal(on_hand(t, S1, "cup"), 5);
  assert_int_equal(on_hand(t, S1, "tea"), 1);
  assert_int_equal(t_sql_i64(t, "SELECT up_seq FROM stores WHERE id='s-1'"), 6);
  sqlite3_commit_hook(hq_core_sqlite(t->c), NULL, NULL);

  const proto_buf *const bs[] = {&a, &c, &b1, &b2};
  const char *const stores[] = {S1, S2, S1, S1};
  assert_true(t_state_digest(t) == reference_digest(bs, stores, 4));
  proto_buf_close(&a);
  proto_buf_close(&c);
  proto_buf_close(&b1);
  proto_buf_close(&b2);
}

static void test_restart_merges_what_hq_db_lost(void **state) {
  tctx *t = *state;
  commit_fail f = {1};
  proto_buf a, c;
  proto_buf_init(&a);
  proto_buf_init(&c);
  deltas(&a, S1, 1, 3, "cup", t->now);
  deltas(&c, S2, 1, 2, "cup", t->now);
  T_OK(t, submit(t, S1, &a));
  T_OK(t, submit(t, S2, &c));
  assert_int_equal(merge_all(t, NULL), 2);
  sqlite3_commit_hook(hq_core_sqlite(t->c), fail_commit, &f);
  assert_int_not_equal(hq_core_commit(t->c, &t->err), HQ_OK);
  sqlite3_commit_hook(hq_core_sqlite(t->c), NULL, NULL);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(meta(t, "log_applied"), -1);
  assert_int_equal(t->n_pub, 0);

  /* Closed before any poll: the start-up merges the log after log_applied
   * and acks what it merged. */
  t_reopen(t);
  assert_int_equal(meta(t, "log_applied"), 5);
  assert_int_equal(LOG_HEAD(t), 5);
  assert_int_equal(on_hand(t, S1, "cup"), 3);
  assert_int_equal(on_hand(t, S2, "cup"), 2);
  assert_int_equal(t_acked(t, S1), 3);
  assert_int_equal(t_acked(t, S2), 2);
  uint64_t before = t_state_digest(t);
  const proto_buf *const bs[] = {&a, &c};
  const char *const stores[] = {S1, S2};
  assert_true(before == reference_digest(bs, stores, 2));

  /* The box had no ack when it went down: its resend is a duplicate. */
  t_pub_clear(t);
  T_OK(t, t_ingest(t, S1, "events", a.data, a.len));
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.events_duplicate, 3);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(meta(t, "log_applied"), 5);
  assert_int_equal(t_acked(t, S1), 3);
  assert_true(t_state_digest(t) == before);
  proto_buf_close(&a);
  proto_buf_close(&c);
}

/* ---- 4, 5: the store log's file ----------------------------------------------------------- */

static void sql_exec(sqlite3 *db, const char *sql) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

/* Make the closed core's hq.db one from before the split: the boxes'
 * events in its own `events` table, no meta 'log_split' / 'log_applied'.
 * The store log is removed, or kept (a move cut short after the log's
 * commit, before hq.db's). */
static void unsplit(tctx *t, const char *events, bool keep_log) {
  char sql[600];
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  snprintf(sql, sizeof sql, "ATTACH '%s' AS log", events);
  sql_exec(db, sql);
  sql_exec(db, "INSERT INTO main.events(origin,seq,hlc,store,type,target,key,json,received_ms) "
               "SELECT origin,seq,hlc,store,type,target,key,json,received_ms FROM log.events ORDER BY id");
  sql_exec(db, "DETACH log");
  sql_exec(db, "DELETE FROM meta WHERE key IN ('log_split','log_applied')");
  sqlite3_close(db);
  if (!keep_log) move_log(events, NULL);
}

/* HQ's own events and two boxes' batches a (s-1, 3 events), c (s-2, 2);
 * then closed.  The state's digest; the store log's path into events. */
static uint64_t two_boxes_then_close(tctx *t, proto_buf *a, proto_buf *c, char *events, size_t cap,
                                     int64_t *own) {
  t_store(t, S1, 31.23, 121.47, 5000); /* HQ's own events: they stay in hq.db */
  t_catalog(t, "latte", 1900);
  deltas(a, S1, 1, 3, "cup", t->now);
  deltas(c, S2, 1, 2, "cup", t->now);
  T_OK(t, t_ingest(t, S1, "events", a->data, a->len));
  T_OK(t, t_ingest(t, S2, "events", c->data, c->len));
  *own = t_sql_i64(t, "SELECT COUNT(*) FROM events");
  assert_true(*own > 0);
  assert_int_equal(LOG_ROWS(t), 5);
  uint64_t d = t_state_digest(t);
  snprintf(events, cap, "%s", hq_core_events_path(t->c));
  t_close(t);
  return d;
}

static void test_events_in_hq_db_move_to_the_store_log(void **state) {
  tctx *t = *state;
  char events[300];
  int64_t own = 0;
  proto_buf a, c;
  proto_buf_init(&a);
  proto_buf_init(&c);
  uint64_t before = two_boxes_then_close(t, &a, &c, events, sizeof events, &own);
  unsplit(t, events, false);

  t_open(t);
  assert_string_equal(hq_core_events_path(t->c), events);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1'"), 3);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE origin NOT LIKE 'hq:%'"), 0);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events"), own);
  assert_int_equal(meta(t, "log_split"), 1);
  assert_int_equal(meta(t, "log_applied"), LOG_HEAD(t));
  assert_int_equal(LOG_HEAD(t), 5);
  assert_true(t_state_digest(t) == before);

  /* The boxes' version vectors come from the moved rows: a resend is a duplicate. */
  T_OK(t, t_ingest(t, S1, "events", a.data, a.len));
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.events_duplicate, 3);
  assert_int_equal(t_acked(t, S1), 3);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_true(t_state_digest(t) == before);
  /* And the next start does not move anything again. */
  t_reopen(t);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(meta(t, "log_applied"), 5);
  assert_true(t_state_digest(t) == before);
  proto_buf_close(&a);
  proto_buf_close(&c);
}

/* hq__log_import is INSERT OR IGNORE: a move whose rows reached the store
 * log but whose DELETE in hq.db did not commit is finished, once. */
static void test_move_cut_short_is_finished(void **state) {
  tctx *t = *state;
  char events[300];
  int64_t own = 0;
  proto_buf a, c;
  proto_buf_init(&a);
  proto_buf_init(&c);
  uint64_t before = two_boxes_then_close(t, &a, &c, events, sizeof events, &own);
  unsplit(t, events, true);
  t_open(t);
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events"), own);
  assert_int_equal(meta(t, "log_split"), 1);
  assert_int_equal(meta(t, "log_applied"), 5);
  assert_true(t_state_digest(t) == before);
  T_OK(t, t_ingest(t, S2, "events", c.data, c.len));
  assert_int_equal(LOG_ROWS(t), 5);
  assert_int_equal(t_acked(t, S2), 2);
  assert_true(t_state_digest(t) == before);
  proto_buf_close(&a);
  proto_buf_close(&c);
}

static void test_store_log_not_this_hq_db_is_refused(void **state) {
  tctx *t = *state;
  char events[300], kept[310];
  proto_buf a;
  proto_buf_init(&a);
  deltas(&a, S1, 1, 3, "cup", t->now);
  T_OK(t, t_ingest(t, S1, "events", a.data, a.len));
  assert_int_equal(meta(t, "log_applied"), 3);
  uint64_t before = t_state_digest(t);
  snprintf(events, sizeof events, "%s", hq_core_events_path(t->c));
  snprintf(kept, sizeof kept, "%s.kept", events);
  t_close(t);
  move_log(events, kept);

  /* hq.db merged rows 1..3 of a log that is not there (a new, empty one). */
  hq_err_clear(&t->err);
  T_RC(t, HQ_ECORRUPT, hq_core_open(&t->c, &t->o, &t->err));
  assert_null(t->c);
  assert_non_null(strstr(t->err.msg, events));
  assert_non_null(strstr(t->err.msg, "row 3"));

  /* Both files back together: it opens, nothing lost. */
  move_log(events, NULL);
  move_log(kept, events);
  t_open(t);
  assert_int_equal(LOG_ROWS(t), 3);
  assert_true(t_state_digest(t) == before);
  proto_buf_close(&a);
}

/* ---- 6: L4, a bounded queue ------------------------------------------------------------------ */

static uint64_t fixed_clock(void *ctx) { return *(const uint64_t *)ctx; }

static void free_all(hq__handoff *h) {
  for (hq__handoff *next; h; h = next) {
    next = h->next;
    hq__handoff_free(h);
  }
}

/* White box: the log alone, its thread not started, so nothing drains. */
static void test_log_queue_is_bounded(void **state) {
  tctx *t = *state;
  char path[200];
  hq__log *lg = NULL;
  proto_buf b[4];
  uint64_t ticket = 0;
  snprintf(path, sizeof path, "%s/white-events.db", t->dir);
  hq__log_opts o = {.path = path, .max_skew_ms = SKEW_MS, .busy_timeout_ms = 5000, .max_queue = 3,
                    .clock_ms = fixed_clock, .clock_ctx = &t->now};
  T_OK(t, hq__log_open(&lg, &o, &t->err));
  for (size_t i = 0; i < 4; i++) {
    proto_buf_init(&b[i]);
    deltas(&b[i], S1, 1 + 2 * i, 2, "cup", t->now);
  }
  for (size_t i = 0; i < 3; i++) {
    T_OK(t, hq__log_submit(lg, S1, b[i].data, b[i].len, &ticket, &t->err));
    assert_int_equal(ticket, i + 1);
  }
  hq_err_clear(&t->err);
  T_RC(t, HQ_EBUSY, hq__log_submit(lg, S1, b[3].data, b[3].len, &ticket, &t->err));
  assert_int_equal(ticket, 3); /* untouched: nothing queued */
  assert_non_null(strstr(t->err.msg, "3 messages waiting"));
  hq__log_stats ls;
  hq__log_stats_get(lg, &ls);
  assert_int_equal(ls.queued, 3);
  assert_true(hq__log_busy(lg));
  assert_null(hq__log_take(lg));

  T_OK(t, hq__log_start(lg, &t->err));
  assert_int_equal(hq__log_wait(lg, 3, WAIT_MS), 0);
  assert_true(hq__log_busy(lg)); /* handed off, not taken */
  hq__handoff *taken = hq__log_take(lg), *h = taken;
  assert_false(hq__log_busy(lg));
  int64_t id = 0;
  for (uint64_t i = 1; i <= 3; i++, h = h->next) {
    assert_non_null(h);
    assert_int_equal(h->ticket, i);
    assert_int_equal(h->rc, HQ_OK);
    assert_string_equal(h->store, S1);
    assert_int_equal(h->n_new, 2);
    assert_int_equal(h->n_dup, 0);
    for (size_t k = 0; k < 2; k++) assert_int_equal(h->ev[k].id, ++id);
  }
  assert_null(h);
  free_all(taken);
  /* Drained: the refused one is accepted now; a resend is all duplicates. */
  T_OK(t, hq__log_submit(lg, S1, b[3].data, b[3].len, &ticket, &t->err));
  T_OK(t, hq__log_submit(lg, S1, b[0].data, b[0].len, &ticket, &t->err));
  assert_int_equal(ticket, 5);
  assert_int_equal(hq__log_wait(lg, 5, WAIT_MS), 0);
  hq__handoff *all = hq__log_take(lg);
  h = all;
  assert_non_null(h);
  assert_int_equal(h->n_new, 2);
  assert_int_equal(h->ev[0].id, 7);
  h = h->next;
  assert_non_null(h);
  assert_int_equal(h->n_new, 0);
  assert_int_equal(h->n_dup, 2);
  assert_null(h->next);
  free_all(all);
  hq__log_stats_get(lg, &ls);
  assert_int_equal(ls.msgs, 5);
  assert_int_equal(ls.events_new, 8);
  assert_int_equal(ls.events_dup, 2);
  assert_int_equal(ls.queued, 0);
  hq__log_close(lg);
  for (size_t i = 0; i < 4; i++) proto_buf_close(&b[i]);
}

/* White box, a full disk (max_page_count on the log's own connection):
 * a batch that does not fit is refused whole with HQ_EFULL, naming it,
 * the ones before it stay logged, the thread carries on refusing, and the
 * file holds exactly the accepted events. */
static void test_full_disk_refuses_and_keeps_the_log_whole(void **state) {
  tctx *t = *state;
  char path[200];
  hq__log *lg = NULL;
  proto_buf b;
  uint64_t ticket = 0, seq = 1;
  size_t logged = 0, ok = 0, full = 0;
  proto_buf_init(&b);
  snprintf(path, sizeof path, "%s/full-events.db", t->dir);
  hq__log_opts o = {.path = path, .max_skew_ms = SKEW_MS, .busy_timeout_ms = 5000,
                    .clock_ms = fixed_clock, .clock_ctx = &t->now,
                    .first_sql = "PRAGMA max_page_count=12"};
  T_OK(t, hq__log_open(&lg, &o, &t->err));
  T_OK(t, hq__log_start(lg, &t->err));
  for (int i = 0; i < 400 && full < 2; i++, seq += 8) {
    deltas(&b, S1, seq, 8, "cup", t->now);
    T_OK(t, hq__log_submit(lg, S1, b.data, b.len, &ticket, &t->err));
    assert_int_equal(hq__log_wait(lg, ticket, WAIT_MS), 0);
    hq__handoff *h = hq__log_take(lg);
    assert_non_null(h);
    if (h->rc == HQ_OK) {
      assert_int_equal(full, 0); /* nothing fits once the file is full */
      assert_int_equal(h->n_new, 8);
      logged += h->n_new;
      ok++;
    } else {
      assert_int_equal(h->rc, HQ_EFULL);
      assert_non_null(strstr(h->err.msg, "store log"));
      assert_int_equal(h->n_new, 0);
      full++;
    }
    free_all(h);
  }
  assert_true(ok > 0);
  assert_int_equal(full, 2); /* the thread kept going after the first refusal */
  hq__log_close(lg);

  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(seq) FROM events", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)logged);
  assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)logged); /* gap-free: no half batch */
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
  proto_buf_close(&b);
}

/* The core: the log thread held back by the lock, submits fill the queue
 * (the thread holds at most one transaction's worth), then HQ_EBUSY. */
static void test_submit_past_the_queue_is_busy(void **state) {
  tctx *t = *state;
  enum { MAXQ = 4, CAP = 64 };
  proto_buf b;
  size_t n = 0;
  int rc = HQ_OK;
  proto_buf_init(&b);
  t->o.log_max_queue = MAXQ;
  t_reopen(t);
  sqlite3 *lock = log_lock(t);
  for (; n < CAP; n++) {
    deltas(&b, S1, 1 + 2 * n, 2, "cup", t->now);
    if ((rc = submit(t, S1, &b)) != HQ_OK) break;
  }
  T_RC(t, HQ_EBUSY, rc);
  assert_true(n >= MAXQ);
  assert_non_null(strstr(t->err.msg, "4 messages waiting"));
  log_unlock(lock);
  assert_int_equal(merge_all(t, NULL), n);
  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(LOG_ROWS(t), 2 * (int64_t)n);
  assert_int_equal(t_acked(t, S1), 2 * (int64_t)n); /* the refused one is not acked */
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.msgs_rejected, 1);
  /* The box resends it. */
  T_OK(t, submit(t, S1, &b));
  assert_int_equal(merge_all(t, NULL), 1);
  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(t_acked(t, S1), 2 * (int64_t)n + 2);
  assert_int_equal(on_hand(t, S1, "cup"), 2 * (int64_t)n + 2);
  proto_buf_close(&b);
}

/* ---- 7: L3, refusals ---------------------------------------------------------------------- */

static void test_refused_batches_log_nothing(void **state) {
  tctx *t = *state;
  proto_event ev[3];
  proto_buf wrong, origin, cut, skew;
  refusals rs = {.n = 0};
  proto_buf_init(&wrong);
  proto_buf_init(&origin);
  proto_buf_init(&cut);
  proto_buf_init(&skew);
  deltas(&wrong, S2, 1, 2, "cup", t->now); /* s-2's batch, sent on s-1's topic */
  for (size_t i = 0; i < 3; i++) {
    proto_event_init(&ev[i], PROTO_EV_STOCK_DELTA, S1, i + 1, PROTO_HLC_MAKE(t->now, i + 1), S1);
    snprintf(ev[i].body.delta.sku, PROTO_ID_MAX, "cup");
    ev[i].body.delta.delta = 1;
    ev[i].body.delta.reason = PROTO_STOCK_RECEIVE;
  }
  snprintf(ev[1].origin, PROTO_ID_MAX, "hq:s-1"); /* a box writes only as itself */
  t_batch(S1, ev, 2, &origin);
  snprintf(ev[1].origin, PROTO_ID_MAX, "%s", S1);
  t_batch(S1, ev, 3, &cut); /* valid events, then cut short: malformed */
  cut.len -= 2;
  ev[1].hlc = PROTO_HLC_MAKE(t->now + 10 * SKEW_MS, 0); /* ten minutes ahead */
  ev[2].hlc = PROTO_HLC_MAKE(t->now + 10 * SKEW_MS, 1);
  t_batch(S1, ev, 3, &skew);

  const proto_buf *const bs[] = {&wrong, &origin, &cut, &skew};
  static const int want[] = {HQ_EWRONGSTORE, HQ_EWRONGSTORE, HQ_EJSON, HQ_ECLOCK};
  static const char *const says[] = {"events[0].store 's-2' on the topic of store 's-1'",
                                     "events[1].origin 'hq:s-1'", "", "s-1:2"};
  for (size_t i = 0; i < 4; i++) T_OK(t, submit(t, S1, bs[i])); /* decided by the log thread */
  assert_int_equal(merge_all(t, &rs), 4);
  assert_int_equal(rs.n, 4);
  for (size_t i = 0; i < 4; i++) {
    refusal *r = &rs.r[i];
    if (r->rc != want[i])
      fail_msg("batch %zu: %s (%s), want %s", i, hq_err_wire(r->rc), r->err.msg, hq_err_wire(want[i]));
    assert_string_equal(r->store, S1);
    assert_int_equal(r->bytes, bs[i]->len);
    assert_int_equal(r->err.code, want[i]);
    if (!strstr(r->err.msg, says[i])) fail_msg("batch %zu: '%s' lacks '%s'", i, r->err.msg, says[i]);
  }
  assert_int_equal(t_acked(t, S1), -1);
  T_OK(t, hq_core_commit(t->c, &t->err));
  /* Only the skewed batch's prefix is logged, merged and acked. */
  assert_int_equal(LOG_ROWS(t), 1);
  assert_int_equal(t_sql_i64(t, "SELECT seq FROM log.events"), 1);
  assert_int_equal(meta(t, "log_applied"), LOG_HEAD(t));
  assert_int_equal(on_hand(t, S1, "cup"), 1);
  assert_int_equal(t_acked(t, S1), 1);
  assert_int_equal(t_acked(t, S2), -1);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM stores WHERE id='s-2'"), 0);
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.msgs_rejected, 3);
  assert_int_equal(st.events_skewed, 1);

  /* Refused before the log: a bad topic, an oversized payload. */
  hq_err_clear(&t->err);
  T_RC(t, HQ_EINVAL,
       hq_core_submit(t->c, "retail/v1/stores/s-1/down/events", skew.data, skew.len, NULL, &t->err));
  size_t big_len = PROTO_BATCH_MAX_BYTES + 1;
  char *big = calloc(1, big_len);
  assert_non_null(big);
  T_RC(t, HQ_ETOOBIG, hq_core_submit(t->c, "retail/v1/stores/s-1/up/events", big, big_len, NULL, &t->err));
  free(big);
  assert_false(hq_core_log_busy(t->c));

  /* The skewed batch resent once HQ's clock caught up: all of it logged. */
  t->now += 10 * SKEW_MS;
  t_batch(S1, ev, 3, &skew);
  T_OK(t, submit(t, S1, &skew));
  rs.n = 0;
  assert_int_equal(merge_all(t, &rs), 1);
  assert_int_equal(rs.n, 0);
  T_OK(t, hq_core_commit(t->c, &t->err));
  assert_int_equal(LOG_ROWS(t), 3);
  assert_int_equal(t_acked(t, S1), 3);
  proto_buf_close(&wrong);
  proto_buf_close(&origin);
  proto_buf_close(&cut);
  proto_buf_close(&skew);
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_setup, t_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_submit_returns_at_once_poll_merges),
      T(test_lost_commit_merged_from_the_log),
      T(test_restart_merges_what_hq_db_lost),
      T(test_events_in_hq_db_move_to_the_store_log),
      T(test_move_cut_short_is_finished),
      T(test_store_log_not_this_hq_db_is_refused),
      T(test_log_queue_is_bounded),
      T(test_full_disk_refuses_and_keeps_the_log_whole),
      T(test_submit_past_the_queue_is_busy),
      T(test_refused_batches_log_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
