/* mqtt.c - libmosquitto on its own thread, handed over to one event loop
 * (see rt/mqtt.h for the contract).
 *
 *   rt_mqtt_open ──pthread──▶ starter: mosquitto_connect_bind_v5 (blocking,
 *        │                    may fail: the broker is simply not there yet),
 *        │                    then mosquitto_loop_start ──▶ library thread
 *        │                    (network loop; reconnects with backoff and, as
 *        │                    of 2.0.0, resends the CONNECT properties, so
 *        │                    session expiry survives every reconnect)
 *        ▼
 *   library thread callbacks ──lock──▶ queue (FIFO of copies) ──unlock──▶
 *        lws_cancel_service(wake)
 *   loop thread: rt_mqtt_drain ──lock, detach the list, unlock──▶ handle
 *
 * TLS: our own OpenSSL context from rt/tls.h (as the provisioning agent),
 * so that a box whose clock is not synchronised yet still connects
 * (tls_time_check); chain, signature and host name are always checked.
 *
 * The starter exists so that the first connect (a DNS lookup and a TCP
 * connect that can block for a long time on a dead WAN) never blocks the
 * caller's loop: a store without its broker keeps serving its tablets.
 *
 * Invariants:
 *   Q1 only the queue and `connected`/`dropped` are shared between threads;
 *      the queue is touched only under `lock`, the others are atomics.
 *   Q2 the queue holds at most max_queue items; when full, the oldest
 *      MESSAGE item is dropped (connection events are kept, they are few),
 *      and `dropped` counts it.  Application-level acks make the peer resend.
 *   Q3 CONNECTED is queued before any message of that connection (the
 *      library calls on_connect before it reads further packets).
 *   Q4 opts.prepare runs on the library thread, before the item is queued,
 *      on the item's own copy; its result belongs to the item until the
 *      drain hands it to the callback, and is freed with the item otherwise.
 */
#include "rt/mqtt.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#define DEFAULT_KEEPALIVE_S 30
#define DEFAULT_SESSION_EXPIRY_S 86400u
#define DEFAULT_MAX_QUEUE 10000u
#define DEFAULT_RECONNECT_MIN_S 1u
#define DEFAULT_RECONNECT_MAX_S 30u

typedef struct item {
  struct item *next;
  rt_mqtt_kind kind;
  int rc;
  char *topic;   /* MESSAGE: points into data */
  size_t len;
  void *prepared; /* MESSAGE: opts.prepare's result, or NULL */
  char data[];   /* topic NUL payload NUL */
} item;

struct rt_mqtt {
  struct mosquitto *mosq;
  struct lws_context *wake;
  pthread_t starter;
  bool starter_running, loop_running, has_will;
  /* copies of the options the threads keep using */
  char *host;
  int port, keepalive;
  uint32_t session_expiry_s;
  char **subs;
  size_t n_subs;
  /* shared (Q1) */
  pthread_mutex_t lock;
  item *head, *tail;
  size_t n_items, max_queue;
  /* read-only after open */
  void *(*prepare)(void *ctx, const char *topic, const void *payload, size_t len);
  void (*prepared_free)(void *p);
  void *prepare_ctx;
  atomic_bool connected;
  atomic_uint_fast64_t dropped;
  atomic_bool stopping;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) { mosquitto_lib_init(); }

/* ---- the queue (library thread pushes, loop thread drains) ------------------- */

static void item_free(const rt_mqtt *m, item *it) {
  if (it->prepared && m->prepared_free) m->prepared_free(it->prepared);
  free(it);
}

/* Drop the oldest MESSAGE item; false if there is none.  Lock held. */
static bool drop_oldest_message(rt_mqtt *m) {
  item *prev = NULL;
  for (item *it = m->head; it; prev = it, it = it->next) {
    if (it->kind != RT_MQTT_MESSAGE) continue;
    if (prev) prev->next = it->next;
    else m->head = it->next;
    if (m->tail == it) m->tail = prev;
    m->n_items--;
    item_free(m, it);
    atomic_fetch_add(&m->dropped, 1);
    return true;
  }
  return false;
}

/* Queue a copy and wake the loop.  Out of memory: the event is lost; for a
 * message that is a drop like Q2, for a connection event the loop finds out
 * from the next one (the library keeps reconnecting). */
static void push(rt_mqtt *m, rt_mqtt_kind kind, int rc, const char *topic, const void *payload,
                 size_t len) {
  size_t tlen = topic ? strlen(topic) : 0;
  item *it = malloc(sizeof *it + tlen + 1 + len + 1);
  if (!it) {
    if (kind == RT_MQTT_MESSAGE) atomic_fetch_add(&m->dropped, 1);
    return;
  }
  it->next = NULL;
  it->kind = kind;
  it->rc = rc;
  it->len = len;
  it->topic = it->data;
  memcpy(it->data, topic ? topic : "", tlen + 1);
  if (len) memcpy(it->data + tlen + 1, payload, len);
  it->data[tlen + 1 + len] = '\0';
  it->prepared = kind == RT_MQTT_MESSAGE && m->prepare
                     ? m->prepare(m->prepare_ctx, it->topic, it->data + tlen + 1, len)
                     : NULL;
  pthread_mutex_lock(&m->lock);
  bool keep = true;
  if (m->n_items >= m->max_queue && !drop_oldest_message(m) && kind == RT_MQTT_MESSAGE) keep = false;
  if (keep) {
    if (m->tail) m->tail->next = it;
    else m->head = it;
    m->tail = it;
    m->n_items++;
  }
  pthread_mutex_unlock(&m->lock);
  if (!keep) {
    item_free(m, it);
    atomic_fetch_add(&m->dropped, 1);
  }
  if (m->wake) lws_cancel_service(m->wake);
}

/* ---- library callbacks (library thread) ------------------------------------------ */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props) {
  rt_mqtt *m = obj;
  (void)flags;
  (void)props;
  if (rc != 0) { /* refused: not a connection (see rt/mqtt.h) */
    push(m, RT_MQTT_DISCONNECTED, rc, NULL, NULL, 0);
    return;
  }
  /* Again on every connect: the broker may have lost the session. */
  if (m->n_subs)
    mosquitto_subscribe_multiple(mosq, NULL, (int)m->n_subs, m->subs, 1, 0, NULL);
  atomic_store(&m->connected, true);
  push(m, RT_MQTT_CONNECTED, 0, NULL, NULL, 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props) {
  rt_mqtt *m = obj;
  (void)mosq;
  (void)props;
  atomic_store(&m->connected, false);
  push(m, RT_MQTT_DISCONNECTED, rc, NULL, NULL, 0);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
  (void)mosq;
  (void)props;
  push(obj, RT_MQTT_MESSAGE, 0, msg->topic, msg->payload,
       msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

/* ---- start and stop ----------------------------------------------------------------- */

/* First connect, then the library's own loop thread (see top). */
static void *starter_main(void *arg) {
  rt_mqtt *m = arg;
  mosquitto_property *props = NULL;
  if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, m->session_expiry_s) ==
      MOSQ_ERR_SUCCESS && !atomic_load(&m->stopping))
    mosquitto_connect_bind_v5(m->mosq, m->host, m->port, m->keepalive, NULL, props);
  mosquitto_property_free_all(&props);
  /* Whatever the connect said, the loop retries with backoff. */
  if (!atomic_load(&m->stopping)) m->loop_running = mosquitto_loop_start(m->mosq) == MOSQ_ERR_SUCCESS;
  return NULL;
}

static int fail(char *errbuf, size_t cap, const char *what, int mrc) {
  if (errbuf && cap)
    snprintf(errbuf, cap, "%s%s%s", what, mrc ? ": " : "", mrc ? mosquitto_strerror(mrc) : "");
  return -1;
}

static int copy_options(rt_mqtt *m, const rt_mqtt_opts *o, char *errbuf, size_t cap) {
  m->host = strdup(o->host);
  m->port = o->port;
  m->keepalive = o->keepalive_s ? o->keepalive_s : DEFAULT_KEEPALIVE_S;
  m->session_expiry_s = o->session_expiry_s ? o->session_expiry_s : DEFAULT_SESSION_EXPIRY_S;
  m->max_queue = o->max_queue ? o->max_queue : DEFAULT_MAX_QUEUE;
  m->prepare = o->prepare;
  m->prepared_free = o->prepared_free;
  m->prepare_ctx = o->prepare_ctx;
  m->wake = o->wake;
  m->subs = o->n_subs ? calloc(o->n_subs, sizeof *m->subs) : NULL;
  if (!m->host || (o->n_subs && !m->subs)) return fail(errbuf, cap, "out of memory", 0);
  for (size_t i = 0; i < o->n_subs; i++) {
    m->subs[i] = strdup(o->subs[i]);
    if (!m->subs[i]) return fail(errbuf, cap, "out of memory", 0);
    m->n_subs++;
  }
  return 0;
}

static int check_options(const rt_mqtt_opts *o, char *errbuf, size_t cap) {
  if (!o || !o->host || !*o->host) return fail(errbuf, cap, "mqtt: host is required", 0);
  if (o->port < 1 || o->port > 65535) return fail(errbuf, cap, "mqtt: port must be 1..65535", 0);
  if (!o->client_id || !*o->client_id) return fail(errbuf, cap, "mqtt: client_id is required", 0);
  if (o->keepalive_s != 0 && (o->keepalive_s < 5 || o->keepalive_s > 65535))
    return fail(errbuf, cap, "mqtt: keepalive_s must be 5..65535", 0);
  for (size_t i = 0; i < o->n_subs; i++)
    if (!o->subs || !o->subs[i] || !*o->subs[i])
      return fail(errbuf, cap, "mqtt: empty subscription", 0);
  if ((unsigned)o->tls_time_check > RT_TLS_TIME_NEVER)
    return fail(errbuf, cap, "mqtt: tls_time_check must be auto, always or never", 0);
  return 0;
}

/* Our own TLS context (rt/tls.h: dates checked per tls_time_check), used as
 * is: libmosquitto keeps its own reference. */
static int setup_tls(rt_mqtt *m, const rt_mqtt_opts *o, char *errbuf, size_t cap) {
  char why[300];
  const char *cert = o->certfile && *o->certfile ? o->certfile : NULL;
  const char *key = o->keyfile && *o->keyfile ? o->keyfile : NULL;
  bool dates = rt_tls_check_dates(o->tls_time_check, o->clock_synced);
  struct ssl_ctx_st *ctx = rt_tls_client_ctx(o->cafile, cert, key, o->host, dates, why, sizeof why);
  if (!ctx) return fail(errbuf, cap, why, 0);
  int mrc = mosquitto_int_option(m->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  if (mrc == MOSQ_ERR_SUCCESS) mrc = mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX, ctx);
  rt_tls_ctx_free(ctx);
  return mrc ? fail(errbuf, cap, "mqtt: TLS context", mrc) : 0;
}

/* Everything mosquitto needs before the first connect. */
static int setup_client(rt_mqtt *m, const rt_mqtt_opts *o, char *errbuf, size_t cap) {
  int mrc;
  unsigned lo = o->reconnect_min_s ? o->reconnect_min_s : DEFAULT_RECONNECT_MIN_S;
  unsigned hi = o->reconnect_max_s ? o->reconnect_max_s : DEFAULT_RECONNECT_MAX_S;
  m->mosq = mosquitto_new(o->client_id, false, m); /* clean_start false: persistent session */
  if (!m->mosq) return fail(errbuf, cap, "mqtt: mosquitto_new failed", 0);
  mrc = mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  if (mrc) return fail(errbuf, cap, "mqtt: protocol version", mrc);
  /* Small messages (acks, single events) must not wait for Nagle: ~40 ms of
   * the tablet-to-HQ lag was TCP delay (docs/performance.md, replication). */
  mrc = mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (mrc) return fail(errbuf, cap, "mqtt: tcp nodelay", mrc);
  mosquitto_connect_v5_callback_set(m->mosq, on_connect);
  mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
  mosquitto_message_v5_callback_set(m->mosq, on_message);
  mrc = mosquitto_reconnect_delay_set(m->mosq, lo, hi < lo ? lo : hi, true);
  if (mrc) return fail(errbuf, cap, "mqtt: reconnect delay", mrc);
  if (o->username && (mrc = mosquitto_username_pw_set(m->mosq, o->username, NULL)))
    return fail(errbuf, cap, "mqtt: username", mrc);
  if (o->will_topic) {
    const char *p = o->will_payload ? o->will_payload : "";
    mrc = mosquitto_will_set_v5(m->mosq, o->will_topic, (int)strlen(p), p, 1, o->will_retain, NULL);
    if (mrc) return fail(errbuf, cap, "mqtt: will", mrc);
    m->has_will = true;
  }
  if (o->cafile && *o->cafile) return setup_tls(m, o, errbuf, cap);
  return 0;
}

int rt_mqtt_open(rt_mqtt **out, const rt_mqtt_opts *opts, char *errbuf, size_t cap) {
  *out = NULL;
  if (check_options(opts, errbuf, cap) != 0) return -1;
  pthread_once(&lib_once, lib_init);
  rt_mqtt *m = calloc(1, sizeof *m);
  if (!m) return fail(errbuf, cap, "out of memory", 0);
  pthread_mutex_init(&m->lock, NULL);
  atomic_init(&m->connected, false);
  atomic_init(&m->dropped, 0);
  atomic_init(&m->stopping, false);
  int rc = copy_options(m, opts, errbuf, cap);
  if (rc == 0) rc = setup_client(m, opts, errbuf, cap);
  if (rc == 0 && pthread_create(&m->starter, NULL, starter_main, m) != 0)
    rc = fail(errbuf, cap, "mqtt: cannot start a thread", 0);
  if (rc == 0) m->starter_running = true;
  if (rc != 0) {
    rt_mqtt_close(m);
    return -1;
  }
  *out = m;
  return 0;
}

void rt_mqtt_close(rt_mqtt *m) {
  if (!m) return;
  atomic_store(&m->stopping, true);
  if (m->starter_running) pthread_join(m->starter, NULL);
  if (m->mosq) {
    /* Reason 4 makes the broker publish the will (see rt/mqtt.h). */
    mosquitto_disconnect_v5(m->mosq, m->has_will ? MQTT_RC_DISCONNECT_WITH_WILL_MSG : 0, NULL);
    if (m->loop_running) mosquitto_loop_stop(m->mosq, false);
    mosquitto_destroy(m->mosq);
  }
  for (item *it = m->head, *next; it; it = next) {
    next = it->next;
    item_free(m, it);
  }
  for (size_t i = 0; i < m->n_subs; i++) free(m->subs[i]);
  free(m->subs);
  free(m->host);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

/* ---- loop-thread side --------------------------------------------------------------- */

int rt_mqtt_publish(rt_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain) {
  if (!m || !topic || len > INT_MAX || !atomic_load(&m->connected)) return -1;
  int mrc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, qos, retain, NULL);
  return mrc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

size_t rt_mqtt_drain(rt_mqtt *m, void (*cb)(void *ctx, const rt_mqtt_event *ev), void *ctx) {
  if (!m) return 0;
  pthread_mutex_lock(&m->lock);
  item *list = m->head;
  m->head = m->tail = NULL;
  m->n_items = 0;
  pthread_mutex_unlock(&m->lock);
  size_t n = 0;
  for (item *it = list, *next; it; it = next, n++) {
    next = it->next;
    rt_mqtt_event ev = {it->kind, it->rc, NULL, NULL, 0, NULL};
    if (it->kind == RT_MQTT_MESSAGE) {
      ev.topic = it->topic;
      ev.payload = it->data + strlen(it->topic) + 1;
      ev.len = it->len;
      ev.prepared = it->prepared;
      it->prepared = NULL; /* the callback's now */
    }
    if (cb) cb(ctx, &ev);
    else if (ev.prepared && m->prepared_free) m->prepared_free(ev.prepared);
    free(it);
  }
  return n;
}

bool rt_mqtt_connected(const rt_mqtt *m) { return m && atomic_load(&m->connected); }

uint64_t rt_mqtt_dropped(const rt_mqtt *m) { return m ? (uint64_t)atomic_load(&m->dropped) : 0; }
