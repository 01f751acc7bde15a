/* rollout_db.c - the firmware registry, the rollouts and the boxes' reports
 * in hq.db (tables fw_*, schema.c v2), written through on every change and
 * read back at start, so a rollout resumes where it was after a restart.
 *
 * The connection is the core's (hq_core_sqlite): one writer, one loop.
 * Writes that the caller acts on (answering the API, publishing an offer)
 * run in their own transaction, committed before the call returns (an open
 * ingest batch is committed first).  A report joins the ingest transaction
 * it arrived in: it is retained on the broker and comes again.
 *
 * Invariant R1 (with rollout_run.c): a box is offered only after
 * fw_rollout_boxes.offered=1 is committed, so after any crash, kill -9
 * included, the database never counts fewer offers than were published and
 * a stage's share holds; an offer it claims but that was never published
 * is published at the next start (same offer_id: a box that had it ignores
 * it).
 *
 * Statements are prepared per call (firmware changes are rare: a register,
 * a rollout, a few reports per box and update), so nothing is left
 * prepared on the core's connection when it closes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sqlite3.h>

#include "rollout_int.h"

/* ---- statements ------------------------------------------------------------------- */

static int dberr(sqlite3 *db, int rc, const char *what, hq_err *err) {
  return hq_err_set(err, (rc & 0xff) == SQLITE_FULL ? HQ_EFULL : HQ_EDB, "firmware tables: %s: %s (sqlite %d)",
                    what, sqlite3_errmsg(db), rc);
}

/* Reset st and bind by fmt: t text, i int64_t, b blob (pointer, size_t). */
static int bind_args(sqlite3_stmt *st, const char *fmt, ...) {
  va_list ap;
  int rc = SQLITE_OK, i = 1;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  va_start(ap, fmt);
  for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
    if (*f == 't') {
      rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    } else if (*f == 'i') {
      rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
    } else {
      const void *p = va_arg(ap, const void *);
      rc = sqlite3_bind_blob(st, i, p, (int)va_arg(ap, size_t), SQLITE_TRANSIENT);
    }
  }
  va_end(ap);
  return rc;
}

static int done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

/* ---- transactions --------------------------------------------------------------------- */

typedef int (*job_fn)(sqlite3 *db, const void *arg, hq_err *err);

/* fn in its own transaction, committed when this returns HQ_OK; rolled
 * back (nothing written) otherwise. */
static int durable(hq_server *s, job_fn fn, const void *arg, hq_err *err) {
  int rc = hq_core_commit(s->core, err); /* an open ingest batch first: no-op without one */
  if (rc == HQ_OK) rc = hq_core_begin(s->core, err);
  if (rc != HQ_OK) return rc;
  rc = fn(hq_core_sqlite(s->core), arg, err);
  if (rc == HQ_OK) return hq_core_commit(s->core, err);
  hq_core_rollback(s->core);
  return rc;
}

/* ---- writes ------------------------------------------------------------------------------ */

static void hex(const unsigned char *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int bundle_job(sqlite3 *db, const void *arg, hq_err *err) {
  const hq_fw_entry *e = arg;
  sqlite3_stmt *st = NULL;
  char h[65];
  hex(e->sha256, 32, h);
  int rc = sqlite3_prepare_v2(db, "INSERT INTO fw_bundles(version,dir,sha256,size,registered_ms) "
                                  "VALUES(?1,?2,?3,?4,?5)", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = bind_args(st, "tttii", e->version, e->dir, h, (int64_t)e->size, (int64_t)e->registered_ms);
  if (rc == SQLITE_OK) rc = done(st);
  if (rc != SQLITE_OK) dberr(db, rc, "register", err);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? HQ_OK : err->code;
}

int hq__fwdb_bundle_put(hq_server *s, const hq_fw_entry *e, hq_err *err) {
  return durable(s, bundle_job, e, err);
}

static void steps_text(const hq_fw_rollout *ro, char *out, size_t cap) {
  out[0] = '\0';
  for (size_t i = 0; i < ro->n_steps; i++)
    snprintf(out + strlen(out), cap - strlen(out), "%s%u", i ? "," : "", ro->steps[i]);
}

static int rollout_job(sqlite3 *db, const void *arg, hq_err *err) {
  const hq_fw_rollout *ro = arg;
  sqlite3_stmt *st = NULL;
  char steps[64];
  steps_text(ro, steps, sizeof steps);
  int rc = sqlite3_prepare_v2(db, "INSERT INTO fw_rollouts(id,version,steps,stage,max_failures,created_ms) "
                                  "VALUES(?1,?2,?3,?4,?5,?6)", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = bind_args(st, "tttiii", ro->id, ro->version, steps, (int64_t)ro->stage, (int64_t)ro->max_failures,
              (int64_t)ro->created_ms);
  if (rc == SQLITE_OK) rc = done(st);
  sqlite3_finalize(st);
  st = NULL;
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db, "INSERT INTO fw_rollout_boxes(rollout,pos,store) VALUES(?1,?2,?3)", -1, &st, NULL);
  for (size_t i = 0; rc == SQLITE_OK && i < ro->n; i++) {
    rc = bind_args(st, "tit", ro->id, (int64_t)i, ro->box[i].store);
    if (rc == SQLITE_OK) rc = done(st);
  }
  if (rc != SQLITE_OK) dberr(db, rc, "start rollout", err);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? HQ_OK : err->code;
}

int hq__fwdb_rollout_put(hq_server *s, const hq_fw_rollout *ro, hq_err *err) {
  return durable(s, rollout_job, ro, err);
}

typedef struct save_arg {
  const hq_fw_rollout *ro;
  const hq_fw_row *row;
  const size_t *idx;
  size_t n;
  uint64_t now_ms;
} save_arg;

static int save_job(sqlite3 *db, const void *arg, hq_err *err) {
  const save_arg *a = arg;
  const hq_fw_row *w = a->row;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "UPDATE fw_rollouts SET stage=?2,stopped=?3,finished=?4,halted=?5,"
                                  "reason=?6,active=?7,committed=?8,failed=?9 WHERE id=?1", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = bind_args(st, "tiiiitiii", a->ro->id, (int64_t)w->stage, (int64_t)w->stopped, (int64_t)w->finished,
              (int64_t)w->halt, w->reason, (int64_t)w->active, (int64_t)w->committed, (int64_t)w->failed);
  if (rc == SQLITE_OK) rc = done(st);
  sqlite3_finalize(st);
  st = NULL;
  if (rc == SQLITE_OK && a->n)
    rc = sqlite3_prepare_v2(db, "UPDATE fw_rollout_boxes SET offered=1,offered_ms=?3 WHERE rollout=?1 AND pos=?2",
                            -1, &st, NULL);
  for (size_t k = 0; rc == SQLITE_OK && k < a->n; k++) {
    rc = bind_args(st, "tii", a->ro->id, (int64_t)a->idx[k], (int64_t)a->now_ms);
    if (rc == SQLITE_OK) rc = done(st);
  }
  if (rc != SQLITE_OK) dberr(db, rc, "save rollout", err);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? HQ_OK : err->code;
}

int hq__fwdb_rollout_save(hq_server *s, const hq_fw_rollout *ro, const hq_fw_row *row,
                          const size_t *idx, size_t n, uint64_t now_ms, hq_err *err) {
  save_arg a = {ro, row, idx, n, now_ms};
  return durable(s, save_job, &a, err);
}

int hq__fwdb_report_put(hq_server *s, const fw_report *r, hq_err *err) {
  sqlite3 *db = hq_core_sqlite(s->core);
  sqlite3_stmt *st = NULL;
  proto_buf json;
  fw_err fe;
  int rc;
  proto_buf_init(&json);
  fw_err_clear(&fe);
  if (fw_report_encode(r, &json, &fe) != FW_OK || proto_buf_append(&json, "", 1) != PROTO_OK) {
    proto_buf_close(&json);
    return hq_err_set(err, HQ_ENOMEM, "report: %s", fe.msg);
  }
  rc = hq_core_begin(s->core, err); /* joins the open batch, or opens one the drain commits */
  if (rc != HQ_OK) {
    proto_buf_close(&json);
    return rc;
  }
  int src = sqlite3_prepare_v2(db, "INSERT INTO fw_reports(store,offer_id,state,installed,json,received_ms) "
                                   "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(store) DO UPDATE SET "
                                   "offer_id=excluded.offer_id,state=excluded.state,"
                                   "installed=excluded.installed,json=excluded.json,"
                                   "received_ms=excluded.received_ms", -1, &st, NULL);
  if (src == SQLITE_OK)
    src = bind_args(st, "ttttti", r->store, r->offer_id, fw_state_name(r->state),
               r->installed, json.data, (int64_t)proto_wall_ms());
  if (src == SQLITE_OK) src = done(st);
  sqlite3_finalize(st);
  st = NULL;
  /* what the offer's rollout saw of this box (no row: not one of its boxes) */
  if (src == SQLITE_OK && r->offer_id[0])
    src = sqlite3_prepare_v2(db, "UPDATE fw_rollout_boxes SET state=?3,error=?4 WHERE rollout=?1 AND store=?2",
                             -1, &st, NULL);
  if (src == SQLITE_OK && st) src = bind_args(st, "tttt", r->offer_id, r->store, fw_state_name(r->state), r->error);
  if (src == SQLITE_OK && st) src = done(st);
  sqlite3_finalize(st);
  proto_buf_close(&json);
  return src == SQLITE_OK ? HQ_OK : dberr(db, src, "report", err);
}

/* ---- loading -------------------------------------------------------------------------------- */

static int unhex(const char *h, unsigned char *out, size_t n) {
  if (strlen(h) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(h + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (unsigned char)v;
  }
  return 0;
}

static int load_bundles(sqlite3 *db, hq_fw *fw, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT version,dir,sha256,size,registered_ms FROM fw_bundles "
                                  "ORDER BY registered_ms,version", -1, &st, NULL);
  int hrc = HQ_OK;
  while (rc == SQLITE_OK && hrc == HQ_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    hq_fw_entry e, *n;
    rc = SQLITE_OK;
    memset(&e, 0, sizeof e);
    snprintf(e.version, sizeof e.version, "%s", col(st, 0));
    snprintf(e.dir, sizeof e.dir, "%s", col(st, 1));
    e.size = (uint64_t)sqlite3_column_int64(st, 3);
    e.registered_ms = (uint64_t)sqlite3_column_int64(st, 4);
    if (unhex(col(st, 2), e.sha256, 32) != 0)
      hrc = hq_err_set(err, HQ_ECORRUPT, "fw_bundles: version %s: bad sha256", e.version);
    else if (!(n = realloc(fw->e, (fw->n + 1) * sizeof *n)))
      hrc = hq_err_set(err, HQ_ENOMEM, NULL);
    else (fw->e = n)[fw->n++] = e;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  return hrc != HQ_OK ? hrc : rc == SQLITE_OK ? HQ_OK : dberr(db, rc, "load bundles", err);
}

/* "25,50,100" into ro's steps; -1 if it is not 1..10 ascending percentages. */
static int parse_steps(const char *t, hq_fw_rollout *ro) {
  ro->n_steps = 0;
  for (const char *p = t; *p;) {
    char *end = NULL;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || v < 1 || v > 100 || ro->n_steps == HQ_FW_STEPS_MAX) return -1;
    if (ro->n_steps && v <= ro->steps[ro->n_steps - 1]) return -1;
    ro->steps[ro->n_steps++] = (unsigned)v;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return ro->n_steps ? 0 : -1;
}

static int load_boxes(sqlite3 *db, hq_fw_rollout *ro, hq_err *err) {
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  int hrc = HQ_OK;
  int rc = sqlite3_prepare_v2(db, "SELECT store,offered,offered_ms,state,error FROM fw_rollout_boxes "
                                  "WHERE rollout=?1 ORDER BY pos", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = bind_args(st, "t", ro->id);
  while (rc == SQLITE_OK && hrc == HQ_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    rc = SQLITE_OK;
    if (ro->n == cap) {
      hq_fw_box *n = realloc(ro->box, (cap = cap ? 2 * cap : 16) * sizeof *n);
      if (!n) {
        hrc = hq_err_set(err, HQ_ENOMEM, NULL);
        break;
      }
      ro->box = n;
    }
    hq_fw_box *b = &ro->box[ro->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->store, sizeof b->store, "%s", col(st, 0));
    b->offered = sqlite3_column_int(st, 1) != 0;
    b->offered_ms = (uint64_t)sqlite3_column_int64(st, 2);
    b->state = col(st, 3)[0] ? fw_state_from_name(col(st, 3)) : -1;
    snprintf(b->error, sizeof b->error, "%s", col(st, 4));
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (hrc == HQ_OK && rc == SQLITE_OK && ro->n == 0)
    hrc = hq_err_set(err, HQ_ECORRUPT, "fw_rollout_boxes: rollout %s has no box", ro->id);
  return hrc != HQ_OK ? hrc : rc == SQLITE_OK ? HQ_OK : dberr(db, rc, "load rollout boxes", err);
}

/* One fw_rollouts row (columns of load_rollouts' SELECT) into ro. */
static int rollout_of(sqlite3_stmt *st, hq_fw_rollout *ro, hq_err *err) {
  hq_fw_row *w = &ro->saved;
  memset(ro, 0, sizeof *ro);
  snprintf(ro->id, sizeof ro->id, "%s", col(st, 0));
  snprintf(ro->version, sizeof ro->version, "%s", col(st, 1));
  ro->stage = (size_t)sqlite3_column_int64(st, 3);
  ro->max_failures = sqlite3_column_int(st, 4);
  ro->created_ms = (uint64_t)sqlite3_column_int64(st, 5);
  if (parse_steps(col(st, 2), ro) != 0 || ro->stage >= ro->n_steps)
    return hq_err_set(err, HQ_ECORRUPT, "fw_rollouts: rollout %s: bad steps or stage", ro->id);
  ro->stopped = sqlite3_column_int(st, 6) != 0;
  ro->finished = sqlite3_column_int(st, 7) != 0;
  ro->d.halt = sqlite3_column_int(st, 8) != 0;
  snprintf(ro->d.reason, sizeof ro->d.reason, "%s", col(st, 9));
  ro->d.active = (size_t)sqlite3_column_int64(st, 10);
  ro->d.committed = (size_t)sqlite3_column_int64(st, 11);
  ro->d.failed = (size_t)sqlite3_column_int64(st, 12);
  hq__fw_row_of(ro, w);
  return HQ_OK;
}

static int load_rollouts(sqlite3 *db, hq_fw *fw, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int hrc = HQ_OK;
  int rc = sqlite3_prepare_v2(db, "SELECT id,version,steps,stage,max_failures,created_ms,stopped,finished,"
                                  "halted,reason,active,committed,failed FROM fw_rollouts ORDER BY seq",
                              -1, &st, NULL);
  while (rc == SQLITE_OK && hrc == HQ_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    hq_fw_rollout ro, *n;
    rc = SQLITE_OK;
    hrc = rollout_of(st, &ro, err);
    if (hrc == HQ_OK) hrc = load_boxes(db, &ro, err);
    if (hrc == HQ_OK && !(n = realloc(fw->ro, (fw->n_ro + 1) * sizeof *n)))
      hrc = hq_err_set(err, HQ_ENOMEM, NULL);
    if (hrc != HQ_OK) {
      free(ro.box);
      break;
    }
    (fw->ro = n)[fw->n_ro++] = ro;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  return hrc != HQ_OK ? hrc : rc == SQLITE_OK ? HQ_OK : dberr(db, rc, "load rollouts", err);
}

/* A report that no longer decodes is skipped (the box reports again). */
static int load_reports(hq_server *s, sqlite3 *db, hq_fw *fw, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int hrc = HQ_OK;
  int rc = sqlite3_prepare_v2(db, "SELECT store,json FROM fw_reports ORDER BY store", -1, &st, NULL);
  while (rc == SQLITE_OK && hrc == HQ_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *json = col(st, 1);
    fw_report r, *n;
    fw_err fe;
    rc = SQLITE_OK;
    fw_err_clear(&fe);
    if (fw_report_decode(json, strlen(json), &r, &fe) != FW_OK) {
      rt_logf(s->log, RT_LOG_WARN, "stored update report skipped", "store=%s err=\"%s\"", col(st, 0), fe.msg);
      continue;
    }
    if (!(n = realloc(fw->rep, (fw->n_rep + 1) * sizeof *n))) hrc = hq_err_set(err, HQ_ENOMEM, NULL);
    else (fw->rep = n)[fw->n_rep++] = r;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  return hrc != HQ_OK ? hrc : rc == SQLITE_OK ? HQ_OK : dberr(db, rc, "load reports", err);
}

static int key_job(sqlite3 *db, const void *arg, hq_err *err) {
  const unsigned char *key = arg;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "INSERT INTO fw_secret(id,key,created_ms) VALUES(1,?1,?2)", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = bind_args(st, "bi", key, (size_t)HQ_FW_KEY_LEN, (int64_t)proto_wall_ms());
  if (rc == SQLITE_OK) rc = done(st);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? HQ_OK : dberr(db, rc, "create the URL key", err);
}

/* The URL key into fw->key: the stored one, or a new random one stored now. */
static int load_key(hq_server *s, sqlite3 *db, hq_fw *fw, hq_err *err) {
  sqlite3_stmt *st = NULL;
  bool found = false;
  int rc = sqlite3_prepare_v2(db, "SELECT key FROM fw_secret WHERE id=1", -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    found = sqlite3_column_bytes(st, 0) == HQ_FW_KEY_LEN;
    if (found) memcpy(fw->key, sqlite3_column_blob(st, 0), HQ_FW_KEY_LEN);
    rc = found ? SQLITE_OK : SQLITE_CORRUPT;
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return dberr(db, rc, "read the URL key", err);
  if (found) return HQ_OK;
  if (getrandom(fw->key, HQ_FW_KEY_LEN, 0) != HQ_FW_KEY_LEN)
    return hq_err_set(err, HQ_EIO, "no randomness for the firmware URL key");
  rt_logf(s->log, RT_LOG_INFO, "firmware URL key created", NULL);
  return durable(s, key_job, fw->key, err);
}

int hq__fwdb_load(hq_server *s, hq_fw *fw, hq_err *err) {
  sqlite3 *db = hq_core_sqlite(s->core);
  int rc = load_bundles(db, fw, err);
  if (rc == HQ_OK) rc = load_rollouts(db, fw, err);
  if (rc == HQ_OK) rc = load_reports(s, db, fw, err);
  if (rc == HQ_OK) rc = load_key(s, db, fw, err);
  if (rc != HQ_OK) {
    hq__fw_rollouts_free(fw);
    free(fw->e);
    free(fw->rep);
    fw->e = NULL;
    fw->rep = NULL;
    fw->n = fw->n_rep = 0;
    memset(fw->key, 0, sizeof fw->key);
  }
  return rc;
}
