/* ingest.c - what HQ does with each message a store sends (proto/repl.h).
 *
 *   retail/v1/stores/<s>/up/events     batch -> one savepoint: every event
 *        must have store == origin == <s> (a box writes only as itself), its
 *        HLC within max_skew_ms of HQ's clock; INSERT OR IGNORE + merge;
 *        after the commit: down/ack with HQ's contiguous seqs for <s>.
 *        A wrong store/origin anywhere refuses the whole batch; a skewed
 *        event keeps the events before it (they are acked, it is resent).
 *   .../up/hello      the box's vector: down_acked learns what it holds of
 *        hq:<s>; answer down/hello (HQ's vector) and resend what it lacks.
 *   .../up/ack        the box holds hq:<s> up to c: the window moves on.
 *   .../up/heartbeat  fleet figures into the stores row.
 *   .../up/status     retained "online" / last will "offline".
 *
 * Every message is validated before the store is looked up, so garbage on a
 * topic never registers a store.  A refused message leaves nothing behind
 * (savepoint) and is reported to the caller, who logs it; the transaction
 * and the process carry on.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core_int.h"
#include "proto/repl.h"

#define HELLO_MAX (PROTO_VV_JSON_MAX + 1024)
#define HEARTBEAT_MAX 4096
#define STATUS_MAX 256

typedef struct msg {
  hq_core *c;
  char topic_store[PROTO_ID_MAX];
  const char *data;
  size_t len;
  bool keep;                       /* refused, but keep what was applied */
} msg;

/* The store's row says it was heard from now. */
static int seen(hq_core *c, hq__store *s, bool online, hq_err *err) {
  uint64_t now = hq__now(c);
  s->last_seen_ms = now;
  s->online = online;
  int rc = rt_db_run(&c->db, HQ_Q_STORE_SEEN, "tiii", s->id, (int64_t)now, (int64_t)online,
                     (int64_t)now);
  return rc == SQLITE_OK ? HQ_OK : hq__dberr(c, rc, "store seen", err);
}

static int wrong_store(hq_err *err, const char *what, const char *got, const char *topic) {
  return hq_err_set(err, HQ_EWRONGSTORE, "%s '%.63s' on the topic of store '%s'", what, got, topic);
}

/* HQ must never reuse a seq the store already holds (C2 in core.c). */
static void learn_acked(hq_core *c, hq__store *s, const proto_vv *vv) {
  uint64_t held = proto_vv_contiguous(vv, s->origin), top = proto_vv_max(vv, s->origin);
  if (held > s->down_acked) s->down_acked = held;
  if (top >= s->next_seq) {
    hq__logf(c, RT_LOG_WARN, "store holds HQ events HQ does not (HQ restored from a backup?)",
             "store=%s held=%llu next_seq=%llu", s->id, (unsigned long long)top,
             (unsigned long long)s->next_seq);
    s->next_seq = top + 1;
  }
  if (s->sent_upto < s->down_acked) s->sent_upto = s->down_acked;
}

/* ---- events ------------------------------------------------------------------------ */

typedef struct batch_ctx {
  msg *m;
  hq__store *s;
  size_t i;
  hq_err *err;
} batch_ctx;

/* Callback results, apart from every proto code. */
enum { STOP_REFUSE = PROTO__ERR_COUNT + 1, STOP_KEEP };

static int on_event(void *ctx, const proto_event *ev) {
  batch_ctx *b = ctx;
  hq_core *c = b->m->c;
  proto_err perr = {0};
  bool dup = false;
  const char *field = strcmp(ev->store, b->m->topic_store) != 0    ? "store"
                      : strcmp(ev->origin, b->m->topic_store) != 0 ? "origin"
                                                                    : NULL;
  if (field) {
    char where[32];
    snprintf(where, sizeof where, "events[%zu].%s", b->i, field);
    wrong_store(b->err, where, field[0] == 's' ? ev->store : ev->origin, b->m->topic_store);
    return STOP_REFUSE;
  }
  b->i++;
  if (!b->s && !(b->s = hq__store_get(c, ev->store, true, b->err))) return STOP_REFUSE;
  if (proto_hlc_recv(&c->hlc, hq__now(c), ev->hlc, &perr) != PROTO_OK) {
    c->stats.events_skewed++;
    hq_err_set(b->err, HQ_ECLOCK, "%s:%llu: %s", ev->origin, (unsigned long long)ev->seq, perr.msg);
    return STOP_KEEP;
  }
  if (hq__apply(c, ev, &dup, b->err) != HQ_OK) return STOP_REFUSE;
  if (!dup && hq__journal(c, b->s, false, ev->seq, b->err) != HQ_OK) return STOP_REFUSE;
  return 0;
}

static int on_events(msg *m, hq_err *err) {
  char store[PROTO_ID_MAX] = "";
  proto_err perr = {0};
  batch_ctx b = {m, NULL, 0, err};
  int prc = proto_batch_decode(m->data, m->len, store, on_event, &b, &perr);
  if (prc == STOP_REFUSE) return err->code ? err->code : hq_err_set(err, HQ_EINVAL, "batch refused");
  if (prc != PROTO_OK && prc != STOP_KEEP) return hq__err_proto(prc, &perr, err);
  if (strcmp(store, m->topic_store) != 0) return wrong_store(err, "batch store", store, m->topic_store);
  if (!b.s && !(b.s = hq__store_get(m->c, store, true, err))) return err->code;
  b.s->ack_due = true;
  int rc = seen(m->c, b.s, true, err);
  if (rc == HQ_OK && prc == STOP_KEEP) {
    m->keep = true;
    return HQ_ECLOCK;
  }
  return rc;
}

/* ---- hello and ack -------------------------------------------------------------------- */

static int vv_msg(msg *m, proto_vv *vv, hq__store **s, hq_err *err) {
  char store[PROTO_ID_MAX] = "";
  proto_err perr = {0};
  int prc = proto_vvmsg_decode(m->data, m->len, store, vv, &perr);
  if (prc != PROTO_OK) return hq__err_proto(prc, &perr, err);
  if (strcmp(store, m->topic_store) != 0) return wrong_store(err, "store", store, m->topic_store);
  *s = hq__store_get(m->c, store, true, err);
  return *s ? seen(m->c, *s, true, err) : err->code;
}

static int on_hello(msg *m, hq_err *err) {
  proto_vv vv;
  hq__store *s = NULL;
  proto_vv_init(&vv);
  int rc = vv_msg(m, &vv, &s, err);
  if (rc == HQ_OK) {
    learn_acked(m->c, s, &vv);
    s->sent_upto = s->down_acked; /* everything after it is resent (C1: committed only) */
    hq__send_hello(m->c, s);
    hq__send(m->c, s, &vv);
  }
  proto_vv_close(&vv);
  return rc;
}

static int on_ack(msg *m, hq_err *err) {
  proto_vv vv;
  hq__store *s = NULL;
  proto_vv_init(&vv);
  int rc = vv_msg(m, &vv, &s, err);
  if (rc == HQ_OK) {
    learn_acked(m->c, s, &vv);
    hq__send(m->c, s, NULL);
  }
  proto_vv_close(&vv);
  return rc;
}

/* ---- fleet health ------------------------------------------------------------------------ */

static int on_heartbeat(msg *m, hq_err *err) {
  proto_heartbeat hb;
  proto_err perr = {0};
  hq__store *s;
  int prc = proto_heartbeat_decode(m->data, m->len, &hb, &perr);
  if (prc != PROTO_OK) return hq__err_proto(prc, &perr, err);
  if (strcmp(hb.store, m->topic_store) != 0) return wrong_store(err, "store", hb.store, m->topic_store);
  if (!(s = hq__store_get(m->c, hb.store, true, err))) return err->code;
  int rc = seen(m->c, s, true, err);
  if (rc != HQ_OK) return rc;
  int src = rt_db_run(&m->c->db, HQ_Q_STORE_HB, "titiiiiiiiii", s->id, (int64_t)hq__now(m->c),
                      hb.version, (int64_t)hb.uptime_s, (int64_t)hb.outbox_depth,
                      (int64_t)hb.last_acked_seq, (int64_t)hb.last_seq, (int64_t)hb.rss_kb,
                      (int64_t)hb.tablets, (int64_t)hb.orders_open, (int64_t)hb.ts_ms,
                      (int64_t)hb.hlc);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(m->c, src, "heartbeat", err);
}

/* "online" / "offline", bare, as a JSON string, or as {"status":"..."}. */
static int status_of(const char *p, size_t n, bool *online) {
  char buf[STATUS_MAX + 1];
  memcpy(buf, p, n);
  buf[n] = '\0';
  for (char *q = buf; *q; q++) *q = (char)tolower((unsigned char)*q);
  if (strstr(buf, "offline")) *online = false;
  else if (strstr(buf, "online")) *online = true;
  else return -1;
  return 0;
}

static int on_status(msg *m, hq_err *err) {
  bool online = false;
  hq__store *s;
  if (memchr(m->data, '\0', m->len) || status_of(m->data, m->len, &online) != 0)
    return hq_err_set(err, HQ_EINVAL, "status: expected \"online\" or \"offline\"");
  if (!(s = hq__store_get(m->c, m->topic_store, true, err))) return err->code;
  hq__logf(m->c, RT_LOG_INFO, online ? "store online" : "store offline", "store=%s", s->id);
  return seen(m->c, s, online, err);
}

/* ---- dispatch ------------------------------------------------------------------------- */

typedef struct kind_row {
  int (*fn)(msg *m, hq_err *err);
  size_t max_len;
} kind_row;

static const kind_row kinds[PROTO_REPL__COUNT] = {
    [PROTO_REPL_HELLO] = {on_hello, HELLO_MAX},
    [PROTO_REPL_EVENTS] = {on_events, PROTO_BATCH_MAX_BYTES},
    [PROTO_REPL_ACK] = {on_ack, HELLO_MAX},
    [PROTO_REPL_HEARTBEAT] = {on_heartbeat, HEARTBEAT_MAX},
    [PROTO_REPL_STATUS] = {on_status, STATUS_MAX},
};

int hq_ingest(hq_core *c, const char *topic, const void *payload, size_t len, hq_err *err) {
  msg m = {c, "", payload, len, false};
  proto_dir dir;
  proto_repl_kind kind;
  proto_err perr = {0};
  hq__mark mark;
  int rc = HQ_OK;
  if (proto_topic_parse(topic ? topic : "", m.topic_store, &dir, &kind, &perr) != PROTO_OK)
    rc = hq_err_set(err, HQ_EINVAL, "%s", perr.msg);
  else if (dir != PROTO_DIR_UP || (unsigned)kind >= PROTO_REPL__COUNT || !kinds[kind].fn)
    rc = hq_err_set(err, HQ_EINVAL, "topic: not a store's up topic");
  else if (len > kinds[kind].max_len)
    rc = hq_err_set(err, HQ_ETOOBIG, "payload of %zu bytes, limit %zu", len, kinds[kind].max_len);
  else if (!payload && len)
    rc = hq_err_set(err, HQ_EINVAL, "payload missing");
  if (rc == HQ_OK) rc = hq__sp_begin(c, &mark, err);
  if (rc == HQ_OK) {
    c->stats.msgs[kind]++;
    if (!payload) m.data = "";
    c->wb.on = true;
    rc = kinds[kind].fn(&m, err);
    c->wb.on = false;
    /* The rows held back are written before RELEASE (same transaction as
     * the events); a refused message forgets them. */
    int frc = rc == HQ_OK || m.keep ? hq__wb_flush(c, err) : HQ_OK;
    if (frc != HQ_OK) {
      rc = frc;
      m.keep = false;
    }
    hq__wb_drop(c);
    int end = hq__sp_end(c, &mark, m.keep ? HQ_OK : rc, err);
    if (end != HQ_OK) rc = end;
  }
  if (rc != HQ_OK) c->stats.msgs_rejected++;
  return rc;
}
