/* outbox.c - the down direction: HQ's events for each store, kept in the log
 * (origin hq:<store>, gap-free seq) until the store acknowledges them.
 *
 * Per store (hq__store in core_int.h):
 *
 *   acked by the store      published            committed
 *   1 ..... down_acked ..... sent_upto ..... committed_seq
 *           |<------------ window (down_window events) ------->|
 *
 *   - after every commit that wrote HQ events for the store, and after each
 *     ack, hq__send() publishes (down_acked or sent_upto, committed_seq],
 *     at most down_window events past down_acked, as batches bounded by
 *     PROTO_BATCH_MAX_EVENTS / _BYTES;
 *   - on up/hello everything after what the store holds is resent, skipping
 *     the seqs its vector says it holds above a gap;
 *   - a store that stays silent for retransmit_ms while events are unacked
 *     gets them again (hq_core_tick), if it is online; an offline store gets
 *     them on its next hello;
 *   - on an MQTT (re)connect every known store gets a down/hello and its
 *     unacked events.
 * The broker's queue only saves a round trip: the log is the outbox, and an
 * event leaves it only when the store's ack covers it.
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"
#include "proto/repl.h"

static int topic(hq_core *c, const hq__store *s, proto_repl_kind kind, char *buf, size_t cap) {
  proto_err perr = {0};
  if (proto_topic_make(buf, cap, s->id, PROTO_DIR_DOWN, kind, &perr) == PROTO_OK) return 0;
  hq__logf(c, RT_LOG_ERROR, "cannot make a topic", "store=%s err=\"%s\"", s->id, perr.msg);
  return -1;
}

void hq__send_hello(hq_core *c, hq__store *s) {
  char t[PROTO_TOPIC_MAX];
  proto_err perr = {0};
  proto_buf_reset(&c->out);
  if (topic(c, s, PROTO_REPL_HELLO, t, sizeof t) != 0) return;
  if (proto_vvmsg_encode(s->id, &s->vv, &c->out, &perr) != PROTO_OK) {
    hq__logf(c, RT_LOG_ERROR, "cannot encode hello", "store=%s err=\"%s\"", s->id, perr.msg);
    return;
  }
  if (hq__publish(c, t, &c->out) == 0) c->stats.hellos_sent++;
}

void hq__send_ack(hq_core *c, hq__store *s) {
  char t[PROTO_TOPIC_MAX];
  proto_err perr = {0};
  proto_buf_reset(&c->out);
  if (topic(c, s, PROTO_REPL_ACK, t, sizeof t) != 0) return;
  if (proto_ackmsg_encode(s->id, &s->vv, &c->out, &perr) != PROTO_OK) {
    hq__logf(c, RT_LOG_ERROR, "cannot encode ack", "store=%s err=\"%s\"", s->id, perr.msg);
    return;
  }
  if (hq__publish(c, t, &c->out) == 0) c->stats.acks_sent++;
}

/* One batch being filled.  `prev` is the last seq handled (added to a
 * batch or skipped because the store holds it): once the batches holding
 * everything up to it are published, sent_upto may move to it. */
typedef struct sender {
  hq_core *c;
  hq__store *s;
  char topic[PROTO_TOPIC_MAX];
  proto_batch_writer w;
  size_t n;                        /* events in the open batch */
  uint64_t prev;
  uint64_t published;              /* every seq up to this is published or held */
  bool failed;
} sender;

static void flush(sender *x, uint64_t upto) {
  proto_err perr = {0};
  if (x->failed) return;
  if (x->n > 0) {
    if (proto_batch_end(&x->w, &perr) != PROTO_OK || hq__publish(x->c, x->topic, &x->c->out) != 0) {
      x->failed = true;
      return;
    }
    x->c->stats.down_batches++;
    x->c->stats.down_events += x->n;
    x->n = 0;
  }
  x->published = upto;
}

static void add(sender *x, uint64_t seq, const char *json, size_t len) {
  proto_err perr = {0};
  for (int tries = 0; tries < 2 && !x->failed; tries++) {
    if (x->n == 0 && proto_batch_begin(&x->w, &x->c->out, x->s->id, &perr) != PROTO_OK) break;
    int rc = proto_batch_add(&x->w, json, len, &perr);
    if (rc == PROTO_OK) {
      x->n++;
      x->prev = seq;
      return;
    }
    if (rc != PROTO_EFULL || x->n == 0) break;
    flush(x, x->prev); /* full: send it, start the next batch with this event */
  }
  if (!x->failed)
    hq__logf(x->c, RT_LOG_ERROR, "cannot batch an HQ event", "store=%s seq=%llu err=\"%s\"",
             x->s->id, (unsigned long long)seq, perr.msg);
  x->failed = true;
}

void hq__send(hq_core *c, hq__store *s, const proto_vv *have) {
  sqlite3_stmt *st = NULL;
  uint64_t from = s->sent_upto > s->down_acked ? s->sent_upto : s->down_acked;
  uint64_t to = s->committed_seq, limit = s->down_acked + c->o.down_window;
  if (!s->loaded || from >= (to < limit ? to : limit)) return;
  if (to > limit) to = limit;
  sender x = {c, s, "", {0}, 0, from, from, false};
  if (topic(c, s, PROTO_REPL_EVENTS, x.topic, sizeof x.topic) != 0) return;
  proto_buf_reset(&c->out);
  int src = rt_db_bind(&c->db, HQ_Q_EV_RANGE, &st, "tii", s->origin, (int64_t)from, (int64_t)to);
  while (src == SQLITE_OK && !x.failed && (src = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
    const char *json = (const char *)sqlite3_column_text(st, 1);
    src = SQLITE_OK;
    if (have && proto_vv_has(have, s->origin, seq)) x.prev = seq; /* the store has it */
    else add(&x, seq, json ? json : "", (size_t)sqlite3_column_bytes(st, 1));
  }
  src = rt_db_end(st, src);
  flush(&x, x.prev);
  if (src != SQLITE_OK) {
    hq_err e;
    hq__dberr(c, src, "read outbox", &e);
    hq__logf(c, RT_LOG_ERROR, "cannot read the outbox", "store=%s err=\"%s\"", s->id, e.msg);
  }
  if (x.published > s->sent_upto) s->sent_upto = x.published;
  s->sent_ms = hq__now(c);
}

/* ---- reconnect and timers --------------------------------------------------------- */

void hq_core_disconnected(hq_core *c) { c->mqtt_down = true; }

void hq_core_connected(hq_core *c) {
  c->mqtt_down = false;
  c->connected_ms = hq__now(c);
  for (size_t i = 0; i < c->n_stores; i++) {
    hq_err err;
    hq__store *s = hq__store_get(c, c->stores[i]->id, false, &err);
    if (!s) continue;
    s->sent_upto = s->down_acked;
    hq__send_hello(c, s);
    if (s->online) hq__send(c, s, NULL);
  }
}

/* Stores silent for offline_after_ms are offline (their last will may have
 * been lost with a broker restart).  Silence only counts while HQ itself is
 * connected, and from when it (re)connected. */
static void mark_offline(hq_core *c, uint64_t now) {
  hq_err err;
  hq_err_clear(&err);
  for (size_t i = 0; i < c->n_stores && !c->mqtt_down; i++) {
    hq__store *s = c->stores[i];
    uint64_t heard = s->last_seen_ms > c->connected_ms ? s->last_seen_ms : c->connected_ms;
    if (!s->online || now < heard + c->o.offline_after_ms) continue;
    if (!c->in_txn && hq_core_begin(c, &err) != HQ_OK) break;
    s->online = false;
    if (rt_db_run(&c->db, HQ_Q_STORE_SEEN, "tiii", s->id, (int64_t)s->last_seen_ms, (int64_t)0,
                  (int64_t)now) != SQLITE_OK)
      break;
    hq__logf(c, RT_LOG_WARN, "store silent: offline", "store=%s last_seen_ms=%llu", s->id,
             (unsigned long long)s->last_seen_ms);
  }
}

static void prune(hq_core *c, uint64_t now) {
  if (now < c->last_prune_ms + 3600u * 1000u || now < c->o.idem_keep_ms) return;
  hq_err err;
  if (!c->in_txn && hq_core_begin(c, &err) != HQ_OK) return;
  if (rt_db_run(&c->db, HQ_Q_INTAKE_PRUNE, "i", (int64_t)(now - c->o.idem_keep_ms)) == SQLITE_OK)
    c->last_prune_ms = now;
}

void hq_core_tick(hq_core *c) {
  uint64_t now = hq__now(c);
  hq_err err;
  if (c->in_txn) return; /* the loop commits first; ticks never join a batch */
  for (size_t i = 0; i < c->n_stores; i++) {
    hq__store *s = c->stores[i];
    if (!s->loaded || !s->online || s->down_acked >= s->committed_seq) continue;
    if (now < s->sent_ms + c->o.retransmit_ms) continue;
    if (s->sent_upto > s->down_acked) c->stats.down_resends++;
    s->sent_upto = s->down_acked;
    hq__send(c, s, NULL);
  }
  mark_offline(c, now);
  prune(c, now);
  hq_err_clear(&err);
  if (c->in_txn && hq_core_commit(c, &err) != HQ_OK)
    hq__logf(c, RT_LOG_ERROR, "tick commit failed", "err=\"%s\"", err.msg);
}
