/* test_checkpoint.c - WAL checkpoints off the loop thread (hq/core.c): the
 * writer never checkpoints by itself, the helper thread does when a commit
 * leaves the WAL past wal_checkpoint_pages (so the file stops growing), an
 * idle tick truncates it, and closing with work pending is clean.  Waits are
 * bounded waits on the helper's counters (hq__ckpt_wait), never sleeps. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core_int.h"
#include "hq_test.h"

#define S "s-1"
#define WAIT_MS 10000
#define PAGES 4 /* tiny, so that every commit of a batch passes it */

static long long wal_bytes(const tctx *t) {
  char p[160];
  struct stat st;
  snprintf(p, sizeof p, "%s-wal", t->path);
  return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static uint64_t ckpts(tctx *t) {
  hq_core_stats st;
  T_OK(t, hq_core_stats_get(t->c, &st, &t->err));
  assert_int_equal(st.wal_checkpoints_failed, 0);
  return st.wal_checkpoints;
}

/* One batch of n stock deltas on its own SKU, ingested and committed. */
static void batch(tctx *t, int i, size_t n) {
  proto_event ev[16];
  proto_buf b;
  proto_buf_init(&b);
  for (size_t j = 0; j < n; j++) {
    t_box_event(t, &ev[j], S, PROTO_EV_STOCK_DELTA);
    snprintf(ev[j].body.delta.sku, PROTO_ID_MAX, "sku-%d-%zu", i, j);
    ev[j].body.delta.delta = 1;
    ev[j].body.delta.reason = PROTO_STOCK_RECEIVE;
  }
  t_batch(S, ev, n, &b);
  T_OK(t, t_ingest(t, S, "events", b.data, b.len));
  proto_buf_close(&b);
}

static int setup_small(void **state) {
  if (t_setup(state) != 0) return -1;
  tctx *t = *state;
  t->o.wal_checkpoint_pages = PAGES;
  t_reopen(t);
  return 0;
}

static void test_writer_never_checkpoints(void **state) {
  tctx *t = *state;
  sqlite3_stmt *st = NULL;
  const char *sql = "PRAGMA wal_autocheckpoint";
  assert_int_equal(sqlite3_prepare_v2(hq_core_sqlite(t->c), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
}

/* Past the threshold the helper checkpoints after each commit, and the
 * writer restarts the fully backfilled WAL, so the file holds about one
 * commit's frames; the same commits without the helper's checkpoints
 * (threshold out of reach) leave it several times bigger. */
static long long forty_commits(tctx *t, bool wait) {
  for (int i = 0; i < 40; i++) {
    uint64_t n = ckpts(t);
    batch(t, i, 16);
    if (wait && hq__ckpt_wait(t->c, n + 1, WAIT_MS) != 0)
      fail_msg("no checkpoint after commit %d", i);
  }
  return wal_bytes(t);
}

static void test_threshold_checkpoints_bound_the_wal(void **state) {
  tctx *t = *state;
  long long with = forty_commits(t, true);
  assert_true(ckpts(t) >= 40);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1'"), 40 * 16);
  t->o.wal_checkpoint_pages = 1000000;
  t_reopen(t); /* the last connection's close checkpoints and removes the WAL */
  long long without = forty_commits(t, false);
  assert_int_equal(ckpts(t), 0);
  if (with <= 0 || with * 4 > without)
    fail_msg("WAL of %lld bytes with checkpoints, %lld without", with, without);
}

/* Below the threshold nothing runs until the loop is idle for a tick; then
 * the helper truncates the WAL to nothing. */
static void test_idle_tick_truncates(void **state) {
  tctx *t = *state;
  t->o.wal_checkpoint_pages = 1000000;
  t_reopen(t);
  batch(t, 0, 16);
  batch(t, 1, 16);
  assert_true(wal_bytes(t) > 0);
  hq_core_wal_tick(t->c); /* commits since the last tick: not idle */
  assert_int_equal(ckpts(t), 0);
  hq_core_wal_tick(t->c); /* idle */
  if (hq__ckpt_wait(t->c, 1, WAIT_MS) != 0) fail_msg("no checkpoint after an idle tick");
  assert_int_equal(ckpts(t), 1);
  assert_int_equal(wal_bytes(t), 0);
  hq_core_wal_tick(t->c); /* nothing written since: nothing to do */
  assert_int_equal(ckpts(t), 1);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1'"), 32);
}

/* Closing while a checkpoint is asked for (or running) joins the helper
 * first; the data is all there after reopening. */
static void test_close_with_work_pending(void **state) {
  tctx *t = *state;
  for (int round = 0; round < 5; round++) {
    batch(t, round, 16);
    hq_core_wal_tick(t->c);
    hq_core_wal_tick(t->c);
    t_reopen(t);
  }
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM log.events WHERE origin='s-1'"), 5 * 16);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_small, t_teardown)
  const struct CMUnitTest tests[] = {
      T(test_writer_never_checkpoints),
      T(test_threshold_checkpoints_bound_the_wal),
      T(test_idle_tick_truncates),
      T(test_close_with_work_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
