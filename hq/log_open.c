/* log_open.c - the store log at start-up (hq/log.h; diagram in log.c):
 * its file for the core's options, the writer opened (its thread starts
 * last, in hq_core_open), the boxes' events hq.db held before the store log
 * existed moved out once, and where hq.db stands in the log (L1).
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

/* The boxes' events that hq.db itself held before the store log existed
 * move there once (meta 'log_split'); hq.db had merged them all. */
static int log_split(hq_core *c, hq_err *err) {
  int64_t done = 0, moved = 0, head = 0;
  bool found = false;
  int rc = hq__meta_get(c, "log_split", &done, &found, err);
  if (rc != HQ_OK || found) return rc;
  int src = rt_db_get_i64(&c->db, HQ_Q_EV_BOX_COUNT, &moved, NULL, "");
  rc = src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "store log split", err);
  if (rc == HQ_OK && moved) rc = hq__log_import(c->log, c->o.db_path, err);
  if (rc == HQ_OK) rc = hq__log_head(c->log, &head, err);
  if (rc != HQ_OK) return rc;
  src = rt_db_exec(&c->db, "BEGIN IMMEDIATE");
  if (src == SQLITE_OK) src = rt_db_run(&c->db, HQ_Q_EV_BOX_DEL, "");
  if (src == SQLITE_OK) src = rt_db_run(&c->db, HQ_Q_META_SET, "ti", "log_split", (int64_t)1);
  if (src == SQLITE_OK && moved) src = rt_db_run(&c->db, HQ_Q_META_SET, "ti", "log_applied", head);
  if (src == SQLITE_OK) src = rt_db_exec(&c->db, "COMMIT");
  if (src != SQLITE_OK) {
    sqlite3_exec(c->db.h, "ROLLBACK", NULL, NULL, NULL);
    return hq__dberr(c, src, "store log split", err);
  }
  if (moved)
    hq__logf(c, RT_LOG_INFO, "the boxes' events moved from hq.db to the store log",
             "events=%lld file=%s", (long long)moved, c->events_path);
  return HQ_OK;
}

/* log_applied from meta, never past the store log's end (L1). */
static int log_position(hq_core *c, hq_err *err) {
  int64_t applied = 0, head = 0;
  bool found = false;
  int rc = hq__meta_get(c, "log_applied", &applied, &found, err);
  if (rc == HQ_OK) rc = hq__logr_head(&c->logr, &head, err);
  if (rc == HQ_OK && applied > head)
    return hq_err_set(err, HQ_ECORRUPT,
                      "hq.db has merged the store log up to row %lld but %s ends at row %lld: "
                      "not the store log this hq.db was written with (keep and restore both files together)",
                      (long long)applied, c->events_path, (long long)head);
  c->log_applied = c->log_committed = applied;
  return rc;
}


void hq_core_events_path_for(const char *db_path, const char *events_db_path, char *out,
                             size_t cap) {
  size_t n = strlen(db_path);
  if (events_db_path && events_db_path[0]) snprintf(out, cap, "%s", events_db_path);
  else if (n > 3 && strcmp(db_path + n - 3, ".db") == 0)
    snprintf(out, cap, "%.*s-events.db", (int)(n - 3), db_path);
  else snprintf(out, cap, "%s-events", db_path);
}

const char *hq_core_events_path(const hq_core *c) { return c->events_path; }

static int open_log(hq_core *c, hq_err *err) {
  hq__log_opts lo;
  memset(&lo, 0, sizeof lo);
  lo.path = c->events_path;
  lo.max_skew_ms = c->o.max_skew_ms;
  lo.busy_timeout_ms = c->o.busy_timeout_ms;
  lo.max_msgs = c->o.log_max_msgs;
  lo.max_queue = c->o.log_max_queue;
  lo.clock_ms = c->o.clock_ms;
  lo.clock_ctx = c->o.ctx;
  lo.wake = c->o.wake;
  lo.wake_ctx = c->o.ctx;
  return hq__log_open(&c->log, &lo, err);
}

int hq__log_setup(hq_core *c, hq_err *err) {
  int rc = open_log(c, err);
  if (rc == HQ_OK) rc = log_split(c, err);
  if (rc == HQ_OK) rc = hq__logr_open(&c->logr, c->events_path, c->o.busy_timeout_ms, err);
  return rc == HQ_OK ? log_position(c, err) : rc;
}
