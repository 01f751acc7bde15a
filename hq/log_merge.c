/* log_merge.c - the loop's half of the store log (diagram and L1..L4 in
 * log.c): what the log thread logged is merged into hq.db here.
 *
 *   hq__poll: [replay_due: hq__log_catch_up] take the ready handoffs; per
 *        handoff hq__merge_handoff: SAVEPOINT; the store's row says "seen";
 *        each new event with id > log_applied: copy it out of the handoff
 *        (decoded by the log thread), advance HQ's clock, hq__merge_logged,
 *        journal (the ack), then
 *        log_applied = id --> RELEASE.  The caller commits (core.c writes
 *        meta 'log_applied' in the same commit) and the acks go out.
 *   a merge that fails (storage: disk full, I/O): the whole transaction is
 *        rolled back (log_applied back to log_committed) and replay_due set;
 *        the next hq__poll merges from the store log's own rows after
 *        log_applied (hq__log_catch_up), and handoffs whose events are all
 *        <= log_applied then are skipped.  Nothing logged is lost (L1).
 *   start-up: hq__log_catch_up merges what a crash left between the log's
 *        commit and hq.db's.
 */
#include <string.h>

#include "core_int.h"

#define CATCH_UP_CHUNK 4096

/* Merge one logged event (decoded in c->ev) of store s (registry entry). */
static int merge_one(hq_core *c, hq__store *s, int64_t id, hq_err *err) {
  /* Checked within the bound by the log thread; HQ's clock only follows. */
  proto_hlc_recv(&c->hlc, hq__now(c), c->ev->hlc, NULL);
  int rc = hq__merge_logged(c, c->ev, err);
  if (rc == HQ_OK) rc = hq__journal(c, s, false, c->ev->seq, err);
  if (rc == HQ_OK) c->log_applied = id;
  return rc;
}

/* Decoded when prepared: each is a proto_event_size() prefix. */
static int merge_new(hq_core *c, hq__store *s, const hq__handoff *h, hq_err *err) {
  int rc = HQ_OK;
  for (size_t i = 0; rc == HQ_OK && i < h->n_new; i++) {
    const hq__logev *e = &h->ev[i];
    const hq__prepev *pe = &h->prep->e[e->i];
    if (e->id <= c->log_applied) continue; /* merged by a catch-up already */
    memcpy(c->ev, h->prep->evs + pe->ev_off, pe->ev_len);
    rc = merge_one(c, s, e->id, err);
  }
  return rc;
}

int hq__merge_handoff(hq_core *c, const hq__handoff *h, hq_err *err) {
  hq__mark mark;
  if (h->rc != HQ_OK && h->rc != HQ_ECLOCK) { /* refused by the log thread: nothing logged */
    *err = h->err;
    return h->rc;
  }
  int rc = hq__sp_begin(c, &mark, err);
  if (rc != HQ_OK) return rc;
  c->stats.msgs[PROTO_REPL_EVENTS]++;
  hq__store *s = hq__store_get(c, h->store, true, err);
  rc = s ? hq__seen(c, s, true, err) : err->code;
  if (rc == HQ_OK) {
    s->ack_due = true; /* duplicates too: the box waits for the ack */
    c->wb.on = true;
    rc = merge_new(c, s, h, err);
    c->wb.on = false;
    if (rc == HQ_OK) rc = hq__wb_flush(c, err);
    hq__wb_drop(c);
  }
  rc = hq__sp_end(c, &mark, rc, err);
  if (rc != HQ_OK) { /* logged but not merged: merge from the log itself (L1) */
    hq_core_rollback(c);
    c->replay_due = true;
    return rc;
  }
  if (h->rc == HQ_ECLOCK) *err = h->err;
  return h->rc;
}

/* ---- merging from the log's rows ------------------------------------------------------- */

typedef struct replay_ctx {
  hq_core *c;
  hq_err *err;
} replay_ctx;

static int replay_row(void *ctx, int64_t id, const char *json, size_t len) {
  replay_ctx *r = ctx;
  hq_core *c = r->c;
  proto_err perr = {0};
  if (proto_event_decode(json, len, c->ev, &perr) != PROTO_OK)
    return hq_err_set(r->err, HQ_ECORRUPT, "store log row %lld: %s", (long long)id, perr.msg);
  hq__store *s = hq__store_get(c, c->ev->store, true, r->err);
  if (!s) return r->err->code;
  s->ack_due = true;
  return merge_one(c, s, id, r->err);
}

int hq__log_catch_up(hq_core *c, hq_err *err) {
  replay_ctx r = {c, err};
  size_t n = 0, total = 0;
  int rc = HQ_OK;
  do {
    rc = hq_core_begin(c, err);
    if (rc == HQ_OK) {
      c->wb.on = true;
      rc = hq__logr_after(&c->logr, c->log_applied, CATCH_UP_CHUNK, replay_row, &r, &n, err);
      c->wb.on = false;
      if (rc == HQ_OK) rc = hq__wb_flush(c, err);
      hq__wb_drop(c);
    }
    rc = rc == HQ_OK ? hq_core_commit(c, err) : (hq_core_rollback(c), rc);
    total += n;
  } while (rc == HQ_OK && n > 0);
  if (rc == HQ_OK) c->replay_due = false;
  if (total)
    hq__logf(c, rc == HQ_OK ? RT_LOG_INFO : RT_LOG_ERROR, "store log merged from its rows",
             "events=%zu log_applied=%lld ok=%d", total, (long long)c->log_applied, rc == HQ_OK);
  return rc;
}

/* ---- polling ---------------------------------------------------------------------------- */

size_t hq__poll(hq_core *c, size_t max, hq__report_fn report, void *ctx) {
  size_t n = 0;
  hq_err err;
  if (c->replay_due) {
    hq_err_clear(&err);
    if (hq_core_commit(c, &err) != HQ_OK || hq__log_catch_up(c, &err) != HQ_OK) return 0;
  }
  hq__handoff *more = hq__log_take(c->log);
  if (more) {
    if (c->ready_tail) c->ready_tail->next = more;
    else c->ready = more;
    for (c->ready_tail = more; c->ready_tail->next;) c->ready_tail = c->ready_tail->next;
  }
  while (c->ready && n < max && !c->replay_due) {
    hq__handoff *h = c->ready;
    c->ready = h->next;
    if (!c->ready) c->ready_tail = NULL;
    hq_err_clear(&err);
    int rc = hq__merge_handoff(c, h, &err);
    if (rc != HQ_OK && rc != HQ_ECLOCK) c->stats.msgs_rejected++;
    if (report) report(ctx, h, rc, &err);
    hq__handoff_free(h);
    n++;
  }
  return n;
}

/* The public form reports refusals only. */
typedef struct public_report {
  hq_core_refused_fn fn;
  void *ctx;
} public_report;

static void report_refused(void *ctx, const hq__handoff *h, int rc, const hq_err *err) {
  public_report *p = ctx;
  if (rc != HQ_OK && p->fn) p->fn(p->ctx, h->store, h->bytes, rc, err);
}

size_t hq_core_poll(hq_core *c, size_t max, hq_core_refused_fn refused, void *ctx) {
  public_report p = {refused, ctx};
  return hq__poll(c, max, report_refused, &p);
}

bool hq_core_log_busy(hq_core *c) { return c->ready || hq__log_busy(c->log); }

int hq_core_log_wait(hq_core *c, int timeout_ms) {
  return hq__log_wait(c->log, c->last_ticket, timeout_ms);
}
