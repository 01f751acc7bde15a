/* ingest.c - what HQ does with each message a store sends (proto/repl.h).
 *
 *   retail/v1/stores/<s>/up/events     batch -> the store log's thread
 *        (log.c: every event must have store == origin == <s>, a box writes
 *        only as itself, and its HLC within max_skew_ms; INSERT OR IGNORE),
 *        then merged here on the loop (log_merge.c), one savepoint; after
 *        hq.db's commit: down/ack with HQ's contiguous seqs for <s>.
 *        A wrong store/origin anywhere refuses the whole batch; a skewed
 *        event keeps the events before it (they are acked, it is resent).
 *   .../up/hello      the box's vector: down_acked learns what it holds of
 *        hq:<s>; answer down/hello (HQ's vector) and resend what it lacks.
 *   .../up/ack        the box holds hq:<s> up to c: the window moves on.
 *   .../up/heartbeat  fleet figures into the stores row.
 *   .../up/status     retained "online" / last will "offline".
 *
 * hq_core_submit hands events batches to the log thread and returns (the
 * program's path); hq_ingest waits for the batch to be logged and merges it
 * before it returns (tests and tools: one call, one verdict).
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
} msg;

/* The store's row says it was heard from now. */
int hq__seen(hq_core *c, hq__store *s, bool online, hq_err *err) {
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

/* ---- hello and ack -------------------------------------------------------------------- */

static int vv_msg(msg *m, proto_vv *vv, hq__store **s, hq_err *err) {
  char store[PROTO_ID_MAX] = "";
  proto_err perr = {0};
  int prc = proto_vvmsg_decode(m->data, m->len, store, vv, &perr);
  if (prc != PROTO_OK) return hq__err_proto(prc, &perr, err);
  if (strcmp(store, m->topic_store) != 0) return wrong_store(err, "store", store, m->topic_store);
  *s = hq__store_get(m->c, store, true, err);
  return *s ? hq__seen(m->c, *s, true, err) : err->code;
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
  int rc = hq__seen(m->c, s, true, err);
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
  return hq__seen(m->c, s, online, err);
}

/* ---- dispatch ------------------------------------------------------------------------- */

typedef struct kind_row {
  int (*fn)(msg *m, hq_err *err);  /* NULL: the store log's (events) */
  size_t max_len;
} kind_row;

static const kind_row kinds[PROTO_REPL__COUNT] = {
    [PROTO_REPL_HELLO] = {on_hello, HELLO_MAX},
    [PROTO_REPL_EVENTS] = {NULL, PROTO_BATCH_MAX_BYTES},
    [PROTO_REPL_ACK] = {on_ack, HELLO_MAX},
    [PROTO_REPL_HEARTBEAT] = {on_heartbeat, HEARTBEAT_MAX},
    [PROTO_REPL_STATUS] = {on_status, STATUS_MAX},
};

int hq__ingest_check(const char *topic, size_t len, const void *payload, char store[PROTO_ID_MAX],
                     proto_repl_kind *kind, hq_err *err) {
  proto_dir dir;
  proto_err perr = {0};
  if (proto_topic_parse(topic ? topic : "", store, &dir, kind, &perr) != PROTO_OK)
    return hq_err_set(err, HQ_EINVAL, "%s", perr.msg);
  if (dir != PROTO_DIR_UP || (unsigned)*kind >= PROTO_REPL__COUNT ||
      (!kinds[*kind].fn && *kind != PROTO_REPL_EVENTS))
    return hq_err_set(err, HQ_EINVAL, "topic: not a store's up topic");
  if (len > kinds[*kind].max_len)
    return hq_err_set(err, HQ_ETOOBIG, "payload of %zu bytes, limit %zu", len, kinds[*kind].max_len);
  if (!payload && len) return hq_err_set(err, HQ_EINVAL, "payload missing");
  return HQ_OK;
}

/* A message other than events, in its own savepoint. */
static int ingest_other(hq_core *c, msg *m, proto_repl_kind kind, hq_err *err) {
  hq__mark mark;
  int rc = hq__sp_begin(c, &mark, err);
  if (rc != HQ_OK) return rc;
  c->stats.msgs[kind]++;
  rc = kinds[kind].fn(m, err);
  return hq__sp_end(c, &mark, rc, err);
}

/* hq__poll's report for hq_ingest: the verdict of the one message. */
typedef struct verdict {
  uint64_t ticket;
  bool seen;
  int rc;
  hq_err *err;
} verdict;

static void keep_verdict(void *ctx, const hq__handoff *h, int rc, const hq_err *e) {
  verdict *v = ctx;
  if (h->ticket != v->ticket) return;
  v->seen = true;
  v->rc = rc;
  if (rc != HQ_OK) *v->err = *e;
}

/* An events batch, logged and merged before returning. */
static int ingest_events_now(hq_core *c, msg *m, hq_err *err) {
  verdict v = {0, false, HQ_OK, err};
  int rc = hq__log_submit(c->log, m->topic_store, m->data, m->len, &v.ticket, err);
  if (rc != HQ_OK) return rc;
  c->last_ticket = v.ticket;
  if (hq__log_wait(c->log, v.ticket, 60000) != 0)
    return hq_err_set(err, HQ_EIO, "store log: no answer in 60 s");
  while (!v.seen && hq__poll(c, (size_t)-1, keep_verdict, &v) > 0) {
  }
  return v.seen ? v.rc : hq_err_set(err, HQ_EIO, "store log: the message was not merged");
}

int hq_ingest(hq_core *c, const char *topic, const void *payload, size_t len, hq_err *err) {
  msg m = {c, "", payload ? payload : "", len};
  proto_repl_kind kind = PROTO_REPL_EVENTS;
  int rc = hq__ingest_check(topic, len, payload, m.topic_store, &kind, err);
  if (rc == HQ_OK && kind == PROTO_REPL_EVENTS) return ingest_events_now(c, &m, err); /* counted by hq__poll */
  if (rc == HQ_OK) rc = ingest_other(c, &m, kind, err);
  if (rc != HQ_OK) c->stats.msgs_rejected++;
  return rc;
}

int hq_core_submit(hq_core *c, const char *topic, const void *payload, size_t len,
                   hq_prepared *prepared, hq_err *err) {
  msg m = {c, "", payload ? payload : "", len};
  proto_repl_kind kind = PROTO_REPL_EVENTS;
  int rc = hq__ingest_check(topic, len, payload, m.topic_store, &kind, err);
  if (rc == HQ_OK && kind == PROTO_REPL_EVENTS) {
    rc = prepared ? hq__log_submit_prep(c->log, prepared, &c->last_ticket, err)
                  : hq__log_submit(c->log, m.topic_store, m.data, len, &c->last_ticket, err);
    prepared = NULL; /* the log's now */
  } else if (rc == HQ_OK) {
    rc = ingest_other(c, &m, kind, err);
  }
  hq__prep_free(prepared);
  if (rc != HQ_OK) c->stats.msgs_rejected++;
  return rc;
}
