/* repl_load_mqtt.c - the MQTT side of repl_load: simulated stores publish
 * up/events through the broker (libmosquitto, QoS 1, one loop thread per
 * connection) and a subscriber on retail/v1/stores/+/down/ack tells when
 * HQ has merged them durably (HQ acks only after its commit).
 *
 * Shared between the loop threads and the main thread, under one mutex:
 * connected/subscribed flags, PUBACK count, per store the highest seq HQ
 * acknowledged and (steady) the publish time of its pending seq.
 */
#include <errno.h>
#include <math.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/codec.h"
#include "proto/hlc.h"
#include "proto/vv.h"
#include "repl_load.h"

#define MAX_CONNS 64
#define ACK_FILTER "retail/v1/stores/+/down/ack"

typedef struct shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const rl_corpus *c;              /* store names (sorted) */
  unsigned connected, want_connected;
  bool subscribed;
  uint64_t pubacks, acks;
  uint64_t *acked;                 /* per store: HQ's contiguous seq */
  uint32_t done;                   /* stores whose last seq is acked */
  double t_done, t_puback;         /* when the last of each happened */
  uint64_t want_pubacks;
  /* steady */
  bool steady;
  uint64_t *pend_seq;              /* per store: seq awaiting its ack (0 none) */
  double *pend_t;
  double *lat;                     /* ms */
  size_t n_lat, cap_lat;
} shared;

static void on_connect(struct mosquitto *m, void *obj, int rc) {
  shared *s = obj;
  (void)m;
  pthread_mutex_lock(&s->mu);
  if (rc == 0) s->connected++;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted) {
  shared *s = obj;
  (void)m, (void)mid, (void)n, (void)granted;
  pthread_mutex_lock(&s->mu);
  s->subscribed = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void on_publish(struct mosquitto *m, void *obj, int mid) {
  shared *s = obj;
  (void)m, (void)mid;
  pthread_mutex_lock(&s->mu);
  if (++s->pubacks == s->want_pubacks) {
    s->t_puback = rl_now_s();
    pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
}

static void note_latency(shared *s, uint32_t i, uint64_t c, double now) {
  if (!s->pend_seq[i] || c < s->pend_seq[i]) return;
  if (s->n_lat == s->cap_lat) {
    size_t ncap = s->cap_lat ? s->cap_lat * 2 : 4096;
    double *p = realloc(s->lat, ncap * sizeof *p);
    if (!p) return;
    s->lat = p;
    s->cap_lat = ncap;
  }
  s->lat[s->n_lat++] = (now - s->pend_t[i]) * 1000.0;
  s->pend_seq[i] = 0;
}

/* HQ's down/ack: {"v":1,"store":s,"vv":{s:{"c":n},...}}. */
static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg) {
  shared *s = obj;
  char store[PROTO_ID_MAX];
  proto_vv vv;
  proto_err perr = {0};
  double now = rl_now_s();
  (void)m;
  proto_vv_init(&vv);
  if (proto_vvmsg_decode(msg->payload, (size_t)msg->payloadlen, store, &vv, &perr) == PROTO_OK) {
    int i = rl_corpus_store(s->c, store);
    uint64_t c = proto_vv_contiguous(&vv, store);
    pthread_mutex_lock(&s->mu);
    if (i >= 0) {
      s->acks++;
      if (s->steady) note_latency(s, (uint32_t)i, c, now);
      if (c > s->acked[i]) {
        if (s->acked[i] < s->c->store_last[i] && c >= s->c->store_last[i] && !s->steady) {
          s->done++;
          s->t_done = now;
          pthread_cond_broadcast(&s->cv);
        }
        s->acked[i] = c;
      }
    }
    pthread_mutex_unlock(&s->mu);
  }
  proto_vv_close(&vv);
}

/* Wait on the condition until pred(s) or the deadline (monotonic s). */
static bool wait_for(shared *s, bool (*pred)(const shared *), double deadline) {
  bool ok;
  pthread_mutex_lock(&s->mu);
  while (!(ok = pred(s))) {
    double left = deadline - rl_now_s();
    if (left <= 0) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double whole = floor(left);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((left - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  pthread_mutex_unlock(&s->mu);
  return ok;
}

static bool all_connected(const shared *s) { return s->connected >= s->want_connected; }
static bool is_subscribed(const shared *s) { return s->subscribed; }
static bool all_done(const shared *s) { return s->done >= s->c->n_stores; }
static bool all_pubacked(const shared *s) { return s->pubacks >= s->want_pubacks; }

typedef struct clients {
  struct mosquitto *sub, *pub[MAX_CONNS];
  unsigned n;
} clients;

static struct mosquitto *client(shared *s, const char *role, unsigned k, int port, char *why, size_t cap) {
  char id[64];
  snprintf(id, sizeof id, "repl-load-%s-%ld-%u", role, (long)getpid(), k);
  struct mosquitto *m = mosquitto_new(id, true, s);
  if (!m) {
    snprintf(why, cap, "mosquitto_new: %s", strerror(errno));
    return NULL;
  }
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_subscribe_callback_set(m, on_subscribe);
  mosquitto_publish_callback_set(m, on_publish);
  mosquitto_message_callback_set(m, on_message);
  mosquitto_max_inflight_messages_set(m, 100);
  int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(m);
  if (rc != MOSQ_ERR_SUCCESS) {
    snprintf(why, cap, "connect to 127.0.0.1:%d: %s", port, mosquitto_strerror(rc));
    mosquitto_destroy(m);
    return NULL;
  }
  return m;
}

static void clients_close(clients *cl) {
  for (unsigned i = 0; i < cl->n; i++) {
    mosquitto_disconnect(cl->pub[i]);
    mosquitto_loop_stop(cl->pub[i], false);
    mosquitto_destroy(cl->pub[i]);
  }
  if (cl->sub) {
    mosquitto_disconnect(cl->sub);
    mosquitto_loop_stop(cl->sub, false);
    mosquitto_destroy(cl->sub);
  }
  memset(cl, 0, sizeof *cl);
}

/* The ack subscriber first (subscribed before anything is sent), then
 * `conns` publishers, all connected. */
static int clients_open(clients *cl, shared *s, int port, unsigned conns, char *why, size_t cap) {
  double deadline = rl_now_s() + 10;
  memset(cl, 0, sizeof *cl);
  s->want_connected = 1;
  if (!(cl->sub = client(s, "sub", 0, port, why, cap))) return -1;
  if (!wait_for(s, all_connected, deadline)) return snprintf(why, cap, "subscriber: no CONNACK"), -1;
  int rc = mosquitto_subscribe(cl->sub, NULL, ACK_FILTER, 1);
  if (rc != MOSQ_ERR_SUCCESS || !wait_for(s, is_subscribed, deadline))
    return snprintf(why, cap, "subscribe %s: %s", ACK_FILTER, mosquitto_strerror(rc)), -1;
  for (cl->n = 0; cl->n < conns; cl->n++)
    if (!(cl->pub[cl->n] = client(s, "pub", cl->n, port, why, cap))) return -1;
  pthread_mutex_lock(&s->mu);
  s->want_connected = 1 + conns;
  pthread_mutex_unlock(&s->mu);
  if (!wait_for(s, all_connected, deadline)) return snprintf(why, cap, "publishers: no CONNACK"), -1;
  return 0;
}

static int shared_init(shared *s, const rl_corpus *c, bool steady) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->c = c;
  s->steady = steady;
  s->acked = calloc(c->n_stores, sizeof *s->acked);
  s->pend_seq = calloc(c->n_stores, sizeof *s->pend_seq);
  s->pend_t = calloc(c->n_stores, sizeof *s->pend_t);
  return s->acked && s->pend_seq && s->pend_t ? 0 : -1;
}

static void shared_free(shared *s) {
  free(s->acked);
  free(s->pend_seq);
  free(s->pend_t);
  free(s->lat);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
}

int rl_pub(const rl_corpus *c, int port, unsigned conns, double timeout_s, rl_pub_result *out,
           char *why, size_t cap) {
  shared s;
  clients cl;
  int rc = 0;
  memset(out, 0, sizeof *out);
  memset(&cl, 0, sizeof cl);
  if (conns < 1 || conns > MAX_CONNS) return snprintf(why, cap, "--conns 1..%d", MAX_CONNS), -1;
  mosquitto_lib_init();
  if (shared_init(&s, c, false) != 0) rc = (snprintf(why, cap, "out of memory"), -1);
  s.want_pubacks = c->n_msgs;
  if (rc == 0) rc = clients_open(&cl, &s, port, conns, why, cap);
  double t0 = rl_now_s();
  for (size_t i = 0; rc == 0 && i < c->n_msgs; i++) {
    const rl_msg *m = &c->msgs[i];
    int prc = mosquitto_publish(cl.pub[m->store % conns], NULL, c->topics[m->store], (int)m->len,
                                c->payloads.data + m->off, 1, false);
    if (prc != MOSQ_ERR_SUCCESS) rc = (snprintf(why, cap, "publish: %s", mosquitto_strerror(prc)), -1);
  }
  if (rc == 0 && !wait_for(&s, all_done, t0 + timeout_s)) {
    pthread_mutex_lock(&s.mu);
    snprintf(why, cap, "timed out after %.0f s: %u of %u stores fully acked, %llu PUBACKs of %zu", timeout_s,
             s.done, c->n_stores, (unsigned long long)s.pubacks, c->n_msgs);
    pthread_mutex_unlock(&s.mu);
    rc = -1;
  }
  if (rc == 0) wait_for(&s, all_pubacked, rl_now_s() + 10);
  pthread_mutex_lock(&s.mu);
  out->secs = s.t_done - t0;
  out->pub_secs = s.t_puback > 0 ? s.t_puback - t0 : 0;
  out->acks = s.acks;
  pthread_mutex_unlock(&s.mu);
  clients_close(&cl);
  shared_free(&s);
  mosquitto_lib_cleanup();
  return rc;
}

/* ---- steady load ------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(const double *xs, size_t n, double p) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(p / 100.0 * (double)n);
  return xs[k == 0 ? 0 : (k > n ? n - 1 : k - 1)];
}

/* One batch of one stock receipt for store i, seq. */
static int one_batch(const rl_corpus *c, uint32_t i, uint64_t seq, proto_buf *ev_json, proto_buf *out) {
  proto_event ev;
  proto_batch_writer w;
  proto_err perr = {0};
  proto_event_init(&ev, PROTO_EV_STOCK_DELTA, c->stores[i], seq, PROTO_HLC_MAKE(proto_wall_ms(), seq), c->stores[i]);
  snprintf(ev.body.delta.sku, sizeof ev.body.delta.sku, "sku-%02u", (unsigned)(seq % 16));
  ev.body.delta.delta = 1;
  ev.body.delta.reason = PROTO_STOCK_RECEIVE;
  proto_buf_reset(ev_json);
  proto_buf_reset(out);
  return proto_event_encode(&ev, ev_json, &perr) == PROTO_OK && proto_batch_begin(&w, out, c->stores[i], &perr) == PROTO_OK &&
                 proto_batch_add(&w, ev_json->data, ev_json->len, &perr) == PROTO_OK &&
                 proto_batch_end(&w, &perr) == PROTO_OK
             ? 0
             : -1;
}

static void sleep_until(double t) {
  double left = t - rl_now_s();
  if (left <= 0) return;
  struct timespec ts = {(time_t)left, (long)((left - floor(left)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Message j goes at t0 + j / (stores * rate): store j % stores, its next
 * seq.  The schedule is the load generator's pacing, not a wait for an
 * event. */
static int steady_run(shared *s, clients *cl, const rl_corpus *c, double rate, double secs,
                      volatile int *stop, rl_steady_result *out, char *why, size_t cap) {
  proto_buf ev_json, batch;
  uint64_t *seq = calloc(c->n_stores, sizeof *seq);
  double step = 1.0 / ((double)c->n_stores * rate), t0 = rl_now_s();
  int rc = seq ? 0 : (snprintf(why, cap, "out of memory"), -1);
  proto_buf_init(&ev_json);
  proto_buf_init(&batch);
  for (uint64_t j = 0; rc == 0 && !*stop; j++) {
    double due = t0 + (double)j * step;
    if (due - t0 >= secs) break;
    sleep_until(due);
    double late = (rl_now_s() - due) * 1000.0;
    if (late > out->late_max_ms) out->late_max_ms = late;
    uint32_t i = (uint32_t)(j % c->n_stores);
    if (one_batch(c, i, ++seq[i], &ev_json, &batch) != 0) rc = (snprintf(why, cap, "encode"), -1);
    pthread_mutex_lock(&s->mu);
    if (!s->pend_seq[i]) { /* measure one event per store at a time */
      s->pend_seq[i] = seq[i];
      s->pend_t[i] = rl_now_s();
    }
    pthread_mutex_unlock(&s->mu);
    int prc = rc == 0 ? mosquitto_publish(cl->pub[i % cl->n], NULL, c->topics[i], (int)batch.len, batch.data, 1, false)
                      : MOSQ_ERR_SUCCESS;
    if (prc != MOSQ_ERR_SUCCESS) rc = (snprintf(why, cap, "publish: %s", mosquitto_strerror(prc)), -1);
    out->sent++;
  }
  out->secs = rl_now_s() - t0;
  free(seq);
  proto_buf_close(&ev_json);
  proto_buf_close(&batch);
  return rc;
}

int rl_steady(const char *prefix, uint32_t stores, double rate, double secs, int port,
              unsigned conns, volatile int *stop, rl_steady_result *out, char *why, size_t cap) {
  rl_corpus c;
  shared s;
  clients cl;
  int rc = 0;
  memset(out, 0, sizeof *out);
  memset(&c, 0, sizeof c);
  memset(&cl, 0, sizeof cl);
  if (conns < 1 || conns > MAX_CONNS) return snprintf(why, cap, "--conns 1..%d", MAX_CONNS), -1;
  /* A corpus of no events: just the stores, their topics and zero seqs. */
  rc = rl_corpus_generate(&c, prefix, stores, 0, 1, why, cap);
  mosquitto_lib_init();
  if (shared_init(&s, &c, true) != 0 && rc == 0) rc = (snprintf(why, cap, "out of memory"), -1);
  if (rc == 0) {
    rc = clients_open(&cl, &s, port, conns, why, cap);
    if (rc == 0) rc = steady_run(&s, &cl, &c, rate, secs, stop, out, why, cap);
    /* the last second's acks */
    double end = rl_now_s() + 2;
    while (rc == 0 && rl_now_s() < end) {
      pthread_mutex_lock(&s.mu);
      bool pending = false;
      for (uint32_t i = 0; i < c.n_stores && !pending; i++) pending = s.pend_seq[i] != 0;
      pthread_mutex_unlock(&s.mu);
      if (!pending) break;
      sleep_until(rl_now_s() + 0.01);
    }
    clients_close(&cl);
    qsort(s.lat, s.n_lat, sizeof *s.lat, cmp_double);
    out->acked = s.n_lat;
    out->p50_ms = pct(s.lat, s.n_lat, 50);
    out->p99_ms = pct(s.lat, s.n_lat, 99);
    out->max_ms = s.n_lat ? s.lat[s.n_lat - 1] : 0;
  }
  shared_free(&s);
  mosquitto_lib_cleanup();
  rl_corpus_free(&c);
  return rc;
}
