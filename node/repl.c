/* repl.c - the store's replication session (node/repl.h), on the lws loop.
 *
 *   MQTT thread ──queue──▶ node_repl_service ──▶ on_mqtt
 *     CONNECTED     publish up/status "online" (retained), up/hello (our vv);
 *                   wait for HQ's hello (sent again every retransmit_s)
 *     down/hello    HQ's vv: its contiguous seq of our origin is an ack;
 *                   resend everything after it (pump from the acked point);
 *                   answer up/ack
 *     down/events   whole batch checked first (proto_batch_decode): store of
 *                   topic = batch = every event = ours and every origin is
 *                   "hq:<ours>", else dropped + logged;
 *                   node_engine_ingest each, one commit, then up/ack
 *     down/ack      our contiguous seq in it leaves the outbox; pump more
 *     down/update   the update agent's offer: to its spool (update_relay.c)
 *     DISCONNECTED  forget what is in flight (it is resent after the hello)
 *   on_change(local) ─▶ sul_kick (zero delay) ─▶ pump
 *   sul_tick (1 s)   heartbeat every heartbeat_s; retransmit from the acked
 *                    point when nothing was acked for retransmit_s; the update
 *                    agent's new report to up/update (also on every connect)
 *
 * Outbox window (seqs of our origin, gap-free):
 *
 *       acked          sent_upto                   last committed
 *   ─────┼─────────────────┼───────────────────────────────┼──
 *   HQ has│ in flight: ≤ window batches (flight[] = last seq │ not sent yet
 *   these │ of each, ascending)                              │
 *
 * Invariants:
 *   R1 acked only grows, and only from HQ's acks/hellos after the engine
 *      committed it (node_engine_outbox_ack + commit): nothing leaves the
 *      outbox on the broker's PUBACK alone.
 *   R2 acked <= sent_upto; every seq in (acked, sent_upto] was published on
 *      this connection, in order, in the batches listed in flight[].
 *   R3 nothing is sent before HQ's hello on this connection (hq_ready): only
 *      then do we know what HQ lacks.
 *   R4 the engine is called from this thread only, never from inside its own
 *      on_change (sends are deferred to sul_kick).
 */
#include "repl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "proto/order.h"
#include "proto/repl.h"
#include "rt/mqtt.h"
#include "update_relay.h"

#define DEF_PORT 1883
#define DEF_HEARTBEAT_S 15
#define DEF_RETRANSMIT_S 10
#define DEF_WINDOW 16u /* 4 capped catch-up at ~20k events/s (docs/performance.md) */
#define MAX_WINDOW 64u
#define TICK_US (1000 * LWS_US_PER_MS)

struct node_repl {
  node_repl_opts o;
  char up[PROTO_REPL__COUNT][PROTO_TOPIC_MAX]; /* our up/<kind> topics */
  char sub[PROTO_TOPIC_MAX];                   /* .../down/# */
  rt_mqtt *mq;
  node_update_relay *relay;                    /* NULL: update_spool_dir "" */
  bool connected, hq_ready;
  uint64_t acked, sent_upto;
  uint64_t flight[MAX_WINDOW];
  unsigned n_flight;
  uint64_t start_ms, progress_ms, hello_ms, next_hb_ms, hlc_seen;
  bool kick_pending;
  proto_buf batch, msg;
  lws_sorted_usec_list_t sul_kick, sul_tick;
  node_repl_stats st;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int commit(node_repl *r, node_err *err) {
  return r->o.commit ? r->o.commit(r->o.ctx, err) : node_engine_commit(r->o.eng, err);
}

static void publish(node_repl *r, proto_repl_kind kind, const char *data, size_t len, bool retain) {
  if (rt_mqtt_publish(r->mq, r->up[kind], data, len, 1, retain) != 0)
    node_logf(r->o.log, NODE_LOG_DEBUG, "mqtt publish refused", "topic=%s bytes=%zu", r->up[kind], len);
}

/* ---- acks ---------------------------------------------------------------------------- */

static uint64_t engine_acked(node_repl *r) {
  node_engine_stats st;
  node_err err;
  node_err_clear(&err);
  return node_engine_stats_get(r->o.eng, &st, &err) == NODE_OK ? st.last_acked_seq : r->acked;
}

/* HQ holds every own seq up to c (R1). */
static void on_acked(node_repl *r, uint64_t c) {
  node_err err;
  char esc[300];
  node_err_clear(&err);
  if (c <= r->acked) return;
  int rc = node_engine_outbox_ack(r->o.eng, c, &err);
  if (rc == NODE_OK) rc = commit(r, &err);
  r->acked = engine_acked(r); /* clamped to what exists; unchanged if the commit failed */
  if (rc != NODE_OK)
    node_logf(r->o.log, NODE_LOG_ERROR, "outbox ack not stored", "seq=%" PRIu64 " err=\"%s\"", c,
              node_log_esc(esc, sizeof esc, err.msg));
  unsigned keep = 0;
  for (unsigned i = 0; i < r->n_flight; i++)
    if (r->flight[i] > r->acked) r->flight[keep++] = r->flight[i];
  r->n_flight = keep;
  if (r->sent_upto < r->acked) r->sent_upto = r->acked;
  r->progress_ms = mono_ms();
}

/* up/ack: the contiguous seqs of every origin we hold. */
static void send_ack(node_repl *r) {
  proto_vv vv;
  proto_err perr = {0};
  node_err err;
  node_err_clear(&err);
  proto_vv_init(&vv);
  proto_buf_reset(&r->msg);
  if (node_engine_vv(r->o.eng, &vv, &err) == NODE_OK &&
      proto_ackmsg_encode(r->o.store_id, &vv, &r->msg, &perr) == PROTO_OK)
    publish(r, PROTO_REPL_ACK, r->msg.data, r->msg.len, false);
  else
    node_logf(r->o.log, NODE_LOG_ERROR, "cannot build up/ack", "err=\"%s\"", err.msg[0] ? err.msg : perr.msg);
  proto_vv_close(&vv);
}

static void send_hello(node_repl *r) {
  proto_vv vv;
  proto_err perr = {0};
  node_err err;
  node_err_clear(&err);
  proto_vv_init(&vv);
  proto_buf_reset(&r->msg);
  if (node_engine_vv(r->o.eng, &vv, &err) == NODE_OK &&
      proto_vvmsg_encode(r->o.store_id, &vv, &r->msg, &perr) == PROTO_OK)
    publish(r, PROTO_REPL_HELLO, r->msg.data, r->msg.len, false);
  else
    node_logf(r->o.log, NODE_LOG_ERROR, "cannot build up/hello", "err=\"%s\"", err.msg[0] ? err.msg : perr.msg);
  proto_vv_close(&vv);
  r->hello_ms = mono_ms();
}

/* ---- sending the outbox ------------------------------------------------------------ */

typedef struct pump_ctx {
  node_repl *r;
  proto_batch_writer w;
  bool open;                     /* a batch is begun and holds >= 1 event */
  bool stop;                     /* window full or the link refused */
  uint64_t last;                 /* seq of the open batch's last event */
} pump_ctx;

/* Publish the open batch: it is in flight (R2). */
static void flush_batch(pump_ctx *p) {
  node_repl *r = p->r;
  proto_err perr = {0};
  if (!p->open) return;
  p->open = false;
  proto_batch_end(&p->w, &perr);
  if (rt_mqtt_publish(r->mq, r->up[PROTO_REPL_EVENTS], r->batch.data, r->batch.len, 1, false) != 0) {
    p->stop = true; /* link gone: DISCONNECTED follows, then hello */
    return;
  }
  if (r->n_flight == 0) r->progress_ms = mono_ms();
  r->st.events_sent += p->w.n;
  r->st.batches_sent++;
  r->sent_upto = p->last;
  r->flight[r->n_flight++] = p->last;
  if (r->n_flight >= r->o.window) p->stop = true;
}

/* Reset the batch buffer and start a batch with this event. */
static int start_batch(pump_ctx *p, const char *json, size_t len, proto_err *perr) {
  proto_buf_reset(&p->r->batch);
  int rc = proto_batch_begin(&p->w, &p->r->batch, p->r->o.store_id, perr);
  if (rc == PROTO_OK) rc = proto_batch_add(&p->w, json, len, perr);
  p->open = rc == PROTO_OK;
  return rc;
}

static int pump_event(void *ctx, const proto_event *ev, const char *json, size_t len) {
  pump_ctx *p = ctx;
  proto_err perr = {0};
  if (ev->seq <= p->r->sent_upto) return 0; /* in flight already */
  int rc = p->open ? proto_batch_add(&p->w, json, len, &perr) : PROTO_EFULL;
  if (rc == PROTO_EFULL) {
    flush_batch(p);
    if (p->stop) return 1;
    rc = start_batch(p, json, len, &perr);
  }
  if (rc != PROTO_OK) {
    node_logf(p->r->o.log, NODE_LOG_ERROR, "outbox event not sendable", "seq=%" PRIu64 " err=\"%s\"",
              ev->seq, perr.msg);
    return 1;
  }
  p->last = ev->seq;
  return 0;
}

/* Send what is committed and not in flight, up to the window (R2, R3). */
static void pump(node_repl *r) {
  pump_ctx p;
  node_err err;
  if (!r->mq || !r->connected || !r->hq_ready || r->n_flight >= r->o.window) return;
  memset(&p, 0, sizeof p);
  p.r = r;
  node_err_clear(&err);
  size_t max = (size_t)(r->sent_upto - r->acked) +
               (size_t)(r->o.window - r->n_flight) * PROTO_BATCH_MAX_EVENTS;
  if (node_engine_outbox_each(r->o.eng, max, SIZE_MAX, pump_event, &p, &err) != NODE_OK)
    node_logf(r->o.log, NODE_LOG_ERROR, "outbox read failed", "err=\"%s\"", err.msg);
  flush_batch(&p);
}

/* Start again from what HQ acknowledged. */
static void rewind_flight(node_repl *r) {
  r->sent_upto = r->acked;
  r->n_flight = 0;
  r->progress_ms = mono_ms();
}

/* ---- what HQ sends ------------------------------------------------------------------ */

typedef struct ingest_ctx {
  node_repl *r;
  size_t seen, applied;
  const char *refused;           /* check pass: why the batch is refused */
  char hq_origin[PROTO_ID_MAX];
  int rc;
  node_err err;
} ingest_ctx;

/* Check pass, before anything is applied: HQ writes a store's down stream
 * only as origin "hq:<store>" (proto/repl.h).  Another store, or any other
 * origin (our own included), is forged or misrouted: the whole batch goes. */
static int check_event(void *ctx, const proto_event *ev) {
  ingest_ctx *c = ctx;
  c->seen++;
  if (strcmp(ev->store, c->r->o.store_id) != 0) c->refused = "wrong_store";
  else if (strcmp(ev->origin, c->hq_origin) != 0) c->refused = "wrong_origin";
  return c->refused != NULL;
}

static int ingest_event(void *ctx, const proto_event *ev) {
  ingest_ctx *c = ctx;
  c->seen++;
  c->rc = node_engine_ingest(c->r->o.eng, ev, &c->err);
  if (c->rc != NODE_OK) return 1;
  c->applied++;
  return 0;
}

static void on_events(node_repl *r, const void *payload, size_t len) {
  ingest_ctx c;
  proto_err perr = {0};
  char store[PROTO_ID_MAX] = "", esc[300];
  memset(&c, 0, sizeof c);
  c.r = r;
  node_err_clear(&c.err);
  proto_hq_origin(c.hq_origin, sizeof c.hq_origin, r->o.store_id, NULL);
  int prc = proto_batch_decode(payload, len, store, check_event, &c, &perr);
  if (!c.refused && prc == PROTO_OK && strcmp(store, r->o.store_id) != 0) c.refused = "wrong_store";
  if (c.refused) {
    r->st.batches_rejected++;
    node_logf(r->o.log, NODE_LOG_WARN, "replication batch rejected",
              "reason=%s store=%s batch_store=%s index=%zu", c.refused, r->o.store_id,
              node_log_esc(esc, sizeof esc, store), c.seen ? c.seen - 1 : 0);
    return;
  }
  if (prc != PROTO_OK) {
    r->st.batches_rejected++;
    node_logf(r->o.log, NODE_LOG_WARN, "replication batch rejected", "reason=malformed code=%s err=\"%s\"",
              proto_err_name(prc), node_log_esc(esc, sizeof esc, perr.msg));
    return;
  }
  c.seen = 0;
  prc = proto_batch_decode(payload, len, store, ingest_event, &c, &perr);
  if (c.rc != NODE_OK) /* the events before it stand: each is a fact on its own */
    node_logf(r->o.log, NODE_LOG_WARN, "replicated event refused", "index=%zu code=%s err=\"%s\"",
              c.seen - 1, node_err_wire(c.rc), node_log_esc(esc, sizeof esc, c.err.msg));
  r->st.batches_received++;
  r->st.events_received += c.applied;
  if (c.applied > 0) {
    node_err err;
    node_err_clear(&err);
    if (commit(r, &err) != NODE_OK) { /* no ack: HQ sends it again */
      node_logf(r->o.log, NODE_LOG_ERROR, "replicated batch not committed", "err=\"%s\"",
                node_log_esc(esc, sizeof esc, err.msg));
      return;
    }
  }
  send_ack(r);
}

/* down/hello and down/ack: HQ's vector; our contiguous entry is an ack. */
static void on_vv(node_repl *r, proto_repl_kind kind, const void *payload, size_t len) {
  proto_vv vv;
  proto_err perr = {0};
  char store[PROTO_ID_MAX] = "", esc[300];
  proto_vv_init(&vv);
  int prc = proto_vvmsg_decode(payload, len, store, &vv, &perr);
  if (prc != PROTO_OK || strcmp(store, r->o.store_id) != 0) {
    node_logf(r->o.log, NODE_LOG_WARN, "replication message rejected", "kind=%s code=%s err=\"%s\"",
              kind == PROTO_REPL_HELLO ? "hello" : "ack", prc ? proto_err_name(prc) : "wrong_store",
              node_log_esc(esc, sizeof esc, prc ? perr.msg : store));
    proto_vv_close(&vv);
    return;
  }
  r->st.acks_received++;
  uint64_t c = proto_vv_contiguous(&vv, r->o.store_id);
  if (c < r->acked) /* HQ lost what it acknowledged (restored from a backup?) */
    node_logf(r->o.log, NODE_LOG_WARN, "hq is behind its own ack", "hq_seq=%" PRIu64 " acked=%" PRIu64,
              c, r->acked);
  on_acked(r, c);
  proto_vv_close(&vv);
  if (kind == PROTO_REPL_HELLO) {
    if (!r->hq_ready)
      node_logf(r->o.log, NODE_LOG_INFO, "replication ready", "acked=%" PRIu64, r->acked);
    r->hq_ready = true;
    rewind_flight(r); /* send everything HQ lacks */
    send_ack(r);
  }
  pump(r);
}

static void on_message(node_repl *r, const char *topic, const void *payload, size_t len) {
  char store[PROTO_ID_MAX];
  proto_dir dir;
  proto_repl_kind kind;
  proto_err perr = {0};
  if (node_update_relay_offer(r->relay, topic, payload, len)) return;
  if (proto_topic_parse(topic, store, &dir, &kind, &perr) != PROTO_OK || dir != PROTO_DIR_DOWN ||
      strcmp(store, r->o.store_id) != 0) {
    node_logf(r->o.log, NODE_LOG_WARN, "mqtt message ignored", "topic_bytes=%zu err=\"%s\"",
              strlen(topic), perr.msg[0] ? perr.msg : "not our down topic");
    return;
  }
  if (kind == PROTO_REPL_EVENTS) on_events(r, payload, len);
  else if (kind == PROTO_REPL_ACK || kind == PROTO_REPL_HELLO) on_vv(r, kind, payload, len);
}

static void on_connected(node_repl *r) {
  r->connected = true;
  r->hq_ready = false;
  rewind_flight(r);
  node_logf(r->o.log, NODE_LOG_INFO, "mqtt connected", "host=%s port=%d", r->o.host, r->o.port);
  publish(r, PROTO_REPL_STATUS, PROTO_STATUS_ONLINE, sizeof PROTO_STATUS_ONLINE - 1, true);
  send_hello(r);
  node_update_relay_publish(r->relay, r->mq, true);
  r->next_hb_ms = mono_ms(); /* first heartbeat at the next tick */
}

static void on_mqtt(void *ctx, const rt_mqtt_event *ev) {
  node_repl *r = ctx;
  switch (ev->kind) {
    case RT_MQTT_CONNECTED: on_connected(r); break;
    case RT_MQTT_DISCONNECTED:
      if (r->connected)
        node_logf(r->o.log, NODE_LOG_WARN, "mqtt disconnected", "rc=%d outbox_acked=%" PRIu64, ev->rc,
                  r->acked);
      else
        node_logf(r->o.log, NODE_LOG_WARN, "mqtt connection refused", "rc=%d", ev->rc);
      r->connected = r->hq_ready = false;
      rewind_flight(r);
      break;
    case RT_MQTT_MESSAGE: on_message(r, ev->topic, ev->payload, ev->len); break;
  }
}

/* ---- timers ------------------------------------------------------------------------- */

static uint64_t rss_kb(void) {
  unsigned long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096) / 1024u;
}

static void send_heartbeat(node_repl *r) {
  proto_heartbeat hb;
  node_engine_stats st;
  node_err err;
  proto_err perr = {0};
  memset(&hb, 0, sizeof hb);
  node_err_clear(&err);
  snprintf(hb.store, sizeof hb.store, "%s", r->o.store_id);
  snprintf(hb.version, sizeof hb.version, "%s", r->o.version && *r->o.version ? r->o.version : "0");
  hb.ts_ms = proto_wall_ms();
  hb.hlc = r->hlc_seen;
  hb.uptime_s = (mono_ms() - r->start_ms) / 1000u;
  hb.rss_kb = rss_kb();
  hb.tablets = r->o.tablets ? r->o.tablets(r->o.ctx) : 0;
  if (node_engine_stats_get(r->o.eng, &st, &err) == NODE_OK) {
    hb.outbox_depth = st.outbox_depth;
    hb.last_acked_seq = st.last_acked_seq;
    hb.last_seq = st.last_seq;
    static const proto_milestone live[] = {PROTO_MS_DISPATCHED, PROTO_MS_ACCEPTED,
                                           PROTO_MS_PREPARING, PROTO_MS_READY};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) hb.orders_open += st.orders_by_status[live[i]];
  }
  proto_buf_reset(&r->msg);
  if (proto_heartbeat_encode(&hb, &r->msg, &perr) == PROTO_OK) publish(r, PROTO_REPL_HEARTBEAT, r->msg.data, r->msg.len, false);
  else node_logf(r->o.log, NODE_LOG_ERROR, "cannot build heartbeat", "err=\"%s\"", perr.msg);
}

static void tick_cb(lws_sorted_usec_list_t *sul) {
  node_repl *r = lws_container_of(sul, node_repl, sul_tick);
  uint64_t now = mono_ms(), rt_ms = (uint64_t)r->o.retransmit_s * 1000u;
  if (r->connected && now >= r->next_hb_ms) {
    send_heartbeat(r);
    r->next_hb_ms = now + (uint64_t)r->o.heartbeat_s * 1000u;
  }
  if (r->connected && !r->hq_ready && now - r->hello_ms >= rt_ms) send_hello(r);
  if (r->hq_ready && r->n_flight > 0 && now - r->progress_ms >= rt_ms) {
    r->st.retransmits++;
    node_logf(r->o.log, NODE_LOG_INFO, "replication retransmit", "from_seq=%" PRIu64 " batches=%u",
              r->acked + 1, r->n_flight);
    rewind_flight(r);
    pump(r);
  }
  node_update_relay_publish(r->relay, r->connected ? r->mq : NULL, false);
  lws_sul_schedule(r->o.lws, 0, &r->sul_tick, tick_cb, TICK_US);
}

static void kick_cb(lws_sorted_usec_list_t *sul) {
  node_repl *r = lws_container_of(sul, node_repl, sul_kick);
  r->kick_pending = false;
  pump(r);
}

/* ---- public -------------------------------------------------------------------------- */

void node_repl_on_change(node_repl *r, const node_change *ch) {
  if (!r) return;
  if (ch->ev->hlc > r->hlc_seen) r->hlc_seen = ch->ev->hlc;
  if (!ch->local || r->kick_pending) return;
  r->kick_pending = true; /* R4 */
  lws_sul_schedule(r->o.lws, 0, &r->sul_kick, kick_cb, 0);
}

void node_repl_service(node_repl *r) {
  if (r) rt_mqtt_drain(r->mq, on_mqtt, r);
}

void node_repl_stats_get(const node_repl *r, node_repl_stats *out) {
  memset(out, 0, sizeof *out);
  if (!r) return;
  *out = r->st;
  out->connected = r->connected;
  out->hq_ready = r->hq_ready;
  out->mqtt_dropped = rt_mqtt_dropped(r->mq);
}

static int make_topics(node_repl *r, node_err *err) {
  proto_err perr = {0};
  for (int k = 0; k < PROTO_REPL__COUNT; k++)
    if (proto_topic_make(r->up[k], sizeof r->up[k], r->o.store_id, PROTO_DIR_UP, (proto_repl_kind)k,
                         &perr) != PROTO_OK)
      return node_err_set(err, NODE_ECONFIG, "replication: %s", perr.msg);
  /* ".../down/hello" -> ".../down/#" */
  if (proto_topic_make(r->sub, sizeof r->sub, r->o.store_id, PROTO_DIR_DOWN, PROTO_REPL_ACK, &perr) !=
      PROTO_OK)
    return node_err_set(err, NODE_ECONFIG, "replication: %s", perr.msg);
  strcpy(strrchr(r->sub, '/') + 1, "#");
  return NODE_OK;
}

static void apply_defaults(node_repl_opts *o) {
  if (o->port == 0) o->port = DEF_PORT;
  if (o->heartbeat_s <= 0) o->heartbeat_s = DEF_HEARTBEAT_S;
  if (o->retransmit_s <= 0) o->retransmit_s = DEF_RETRANSMIT_S;
  if (o->window == 0) o->window = DEF_WINDOW;
  if (o->window > MAX_WINDOW) o->window = MAX_WINDOW;
}

static int open_mqtt(node_repl *r, node_err *err) {
  const char *subs[] = {r->sub};
  char client_id[PROTO_ID_MAX + 16], why[256];
  rt_mqtt_opts mo;
  memset(&mo, 0, sizeof mo);
  snprintf(client_id, sizeof client_id, "storenode-%s", r->o.store_id);
  mo.host = r->o.host;
  mo.port = r->o.port;
  mo.client_id = client_id;
  mo.keepalive_s = r->o.keepalive_s;
  mo.session_expiry_s = r->o.session_expiry_s;
  mo.will_topic = r->up[PROTO_REPL_STATUS];
  mo.will_payload = PROTO_STATUS_OFFLINE;
  mo.will_retain = true;
  mo.subs = subs;
  mo.n_subs = 1;
  mo.cafile = r->o.cafile;
  mo.certfile = r->o.certfile;
  mo.keyfile = r->o.keyfile;
  mo.wake = r->o.lws;
  mo.reconnect_min_s = r->o.reconnect_min_s;
  mo.reconnect_max_s = r->o.reconnect_max_s;
  if (rt_mqtt_open(&r->mq, &mo, why, sizeof why) != 0)
    return node_err_set(err, NODE_ECONFIG, "replication: %s", why);
  return NODE_OK;
}

int node_repl_create(node_repl **out, const node_repl_opts *o, node_err *err) {
  *out = NULL;
  if (!o->host || !*o->host) return NODE_OK; /* replication off */
  if (!o->eng || !o->lws || !o->log || !o->store_id)
    return node_err_set(err, NODE_ECONFIG, "replication: engine, loop, log and store are required");
  node_repl *r = calloc(1, sizeof *r);
  if (!r) return node_err_set(err, NODE_ENOMEM, "replication: out of memory");
  r->o = *o;
  apply_defaults(&r->o);
  proto_buf_init(&r->batch);
  proto_buf_init(&r->msg);
  r->start_ms = r->progress_ms = mono_ms();
  r->acked = r->sent_upto = engine_acked(r);
  int rc = make_topics(r, err);
  if (rc == NODE_OK)
    rc = node_update_relay_create(&r->relay, r->o.update_spool_dir, r->o.store_id, r->o.log, err);
  if (rc == NODE_OK) rc = open_mqtt(r, err);
  if (rc != NODE_OK) {
    node_repl_destroy(r);
    return rc;
  }
  lws_sul_schedule(r->o.lws, 0, &r->sul_tick, tick_cb, TICK_US);
  node_logf(r->o.log, NODE_LOG_INFO, "replication started", "host=%s port=%d topic=%s acked=%" PRIu64,
            r->o.host, r->o.port, r->sub, r->acked);
  *out = r;
  return NODE_OK;
}

void node_repl_destroy(node_repl *r) {
  if (!r) return;
  if (r->o.lws) {
    lws_sul_cancel(&r->sul_tick);
    lws_sul_cancel(&r->sul_kick);
  }
  rt_mqtt_close(r->mq); /* the will ("offline") is published by the broker */
  node_update_relay_destroy(r->relay);
  proto_buf_close(&r->batch);
  proto_buf_close(&r->msg);
  free(r);
}
