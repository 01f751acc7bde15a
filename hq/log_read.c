/* log_read.c - the loop's read-only connection to the store log (hq/log.h):
 * version vectors of the boxes' origins and the rows hq.db has not merged
 * yet (core.c, log_catch_up).  WAL: it reads what the log thread committed,
 * without blocking it.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char sql_count[] =
    "SELECT COUNT(*),COALESCE(MAX(seq),0) FROM events WHERE origin=?1 AND id<=?2";
static const char sql_seqs[] = "SELECT seq FROM events WHERE origin=?1 AND id<=?2 ORDER BY seq";
static const char sql_after[] = "SELECT id,json FROM events WHERE id>?1 ORDER BY id LIMIT ?2";
static const char sql_head[] = "SELECT COALESCE(MAX(id),0) FROM events";

static int rerr(const hq__logr *r, int rc, const char *what, hq_err *err) {
  int code = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? HQ_ECORRUPT
             : (rc & 0xff) == SQLITE_IOERR                                ? HQ_EIO
                                                                          : HQ_EDB;
  return hq_err_set(err, code, "store log: %s: %s (sqlite %d)", what,
                    r->h ? sqlite3_errmsg(r->h) : sqlite3_errstr(rc), rc);
}

int hq__logr_open(hq__logr *r, const char *path, int busy_timeout_ms, hq_err *err) {
  memset(r, 0, sizeof *r);
  int rc = sqlite3_open_v2(path, &r->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(r->h, busy_timeout_ms);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v3(r->h, sql_count, -1, SQLITE_PREPARE_PERSISTENT, &r->count, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v3(r->h, sql_seqs, -1, SQLITE_PREPARE_PERSISTENT, &r->seqs, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v3(r->h, sql_after, -1, SQLITE_PREPARE_PERSISTENT, &r->after, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v3(r->h, sql_head, -1, SQLITE_PREPARE_PERSISTENT, &r->head, NULL);
  if (rc != SQLITE_OK) {
    char what[300];
    snprintf(what, sizeof what, "open %s", path);
    rerr(r, rc, what, err);
    hq__logr_close(r);
    return err->code;
  }
  return HQ_OK;
}

void hq__logr_close(hq__logr *r) {
  sqlite3_finalize(r->count);
  sqlite3_finalize(r->seqs);
  sqlite3_finalize(r->after);
  sqlite3_finalize(r->head);
  sqlite3_close(r->h);
  memset(r, 0, sizeof *r);
}

/* COUNT = MAX means gap-free (the usual case, one query over the index,
 * which holds the row id); else every seq is read. */
int hq__logr_origin(hq__logr *r, const char *origin, int64_t upto, proto_vv *vv, uint64_t *max,
                    hq_err *err) {
  int64_t count = 0, top = 0;
  sqlite3_reset(r->count);
  int rc = sqlite3_bind_text(r->count, 1, origin, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(r->count, 2, upto);
  if (rc == SQLITE_OK && (rc = sqlite3_step(r->count)) == SQLITE_ROW) {
    count = sqlite3_column_int64(r->count, 0);
    top = sqlite3_column_int64(r->count, 1);
    rc = SQLITE_OK;
  }
  sqlite3_reset(r->count);
  if (rc != SQLITE_OK) return rerr(r, rc, "version vector", err);
  *max = (uint64_t)top;
  int prc = PROTO_OK;
  if (top > 0 && count == top) {
    prc = proto_vv_advance(vv, origin, (uint64_t)top);
  } else if (top > 0) {
    sqlite3_reset(r->seqs);
    rc = sqlite3_bind_text(r->seqs, 1, origin, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(r->seqs, 2, upto);
    while (rc == SQLITE_OK && prc == PROTO_OK && (rc = sqlite3_step(r->seqs)) == SQLITE_ROW) {
      prc = proto_vv_add(vv, origin, (uint64_t)sqlite3_column_int64(r->seqs, 0), NULL);
      rc = SQLITE_OK;
    }
    sqlite3_reset(r->seqs);
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return rerr(r, rc, "version vector", err);
  }
  return prc == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, "version vector: out of memory");
}

int hq__logr_head(hq__logr *r, int64_t *head, hq_err *err) {
  sqlite3_reset(r->head);
  int rc = sqlite3_step(r->head);
  if (rc == SQLITE_ROW) *head = sqlite3_column_int64(r->head, 0);
  sqlite3_reset(r->head);
  return rc == SQLITE_ROW ? HQ_OK : rerr(r, rc, "head", err);
}

int hq__logr_after(hq__logr *r, int64_t after, int limit, hq__logr_fn fn, void *ctx, size_t *n,
                   hq_err *err) {
  int stop = 0;
  *n = 0;
  sqlite3_reset(r->after);
  int rc = sqlite3_bind_int64(r->after, 1, after);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int(r->after, 2, limit);
  while (rc == SQLITE_OK && !stop && (rc = sqlite3_step(r->after)) == SQLITE_ROW) {
    const char *json = (const char *)sqlite3_column_text(r->after, 1);
    size_t len = (size_t)sqlite3_column_bytes(r->after, 1);
    (*n)++;
    stop = fn(ctx, sqlite3_column_int64(r->after, 0), json ? json : "", len);
    rc = SQLITE_OK;
  }
  sqlite3_reset(r->after);
  if (rc != SQLITE_OK && rc != SQLITE_DONE) return rerr(r, rc, "read", err);
  return stop;
}
