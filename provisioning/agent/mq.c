/* mq.c - the agent's MQTT connection: libmosquitto driven by hand
 * (mosquitto_loop with a timeout) on the agent's only thread, MQTT v5, TLS
 * with the shared claim certificate.
 *
 * TLS: our own OpenSSL context (rt/tls.h, shared with storenode's bridge),
 * so that a box whose clock cannot be trusted checks the broker's
 * certificate without its dates (X509_V_FLAG_NO_CHECK_TIME): a box that
 * believes it is 1970 still connects.  Signature, chain and host name are
 * always checked.
 *
 * Every wait is bounded by the caller's timeout and waits on the socket
 * (mosquitto_loop's select), never a fixed sleep.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "rt/tls.h"

#include "agent.h"

#define LOOP_MS 100
#define QUEUE_MAX 8               /* messages kept between two agent_mq_next calls */

struct agent_mq {
  struct mosquitto *mosq;
  bool connected, subscribed, lost;
  int connack;                    /* reason code of a refused CONNACK, or 0 */
  int sub_mid, pub_mid;
  bool pub_acked;
  int pub_reason;
  const rt_log *lg;
  proto_buf queue[QUEUE_MAX];     /* messages on the subscription, oldest first */
  int queued;
};

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props) {
  agent_mq *m = obj;
  if (rc == 0) m->connected = true;
  else m->connack = rc, m->lost = true;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *p) {
  agent_mq *m = obj;
  m->connected = false;
  m->lost = true;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props) {
  agent_mq *m = obj;
  if (mid == m->sub_mid && n == 1 && granted[0] <= 2) m->subscribed = true;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props) {
  agent_mq *m = obj;
  if (mid == m->pub_mid) m->pub_acked = true, m->pub_reason = reason;
}

/* libmosquitto's own log lines (TLS errors say why here), at debug level */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str) {
  agent_mq *m = obj;
  char esc[256];
  if (m->lg && (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
    rt_logf(m->lg, RT_LOG_DEBUG, "libmosquitto", "line=\"%s\"", rt_log_esc(esc, sizeof esc, str));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
  agent_mq *m = obj;
  if (m->queued == QUEUE_MAX) { /* a flood on our topic: keep the newest */
    proto_buf oldest = m->queue[0];
    memmove(m->queue, m->queue + 1, (QUEUE_MAX - 1) * sizeof m->queue[0]);
    m->queue[QUEUE_MAX - 1] = oldest;
    m->queued--;
  }
  proto_buf *b = &m->queue[m->queued];
  proto_buf_reset(b);
  if (proto_buf_append(b, msg->payload, (size_t)msg->payloadlen) == 0) m->queued++;
}

void agent_mq_close(agent_mq *m) {
  if (!m) return;
  if (m->mosq) {
    if (m->connected) mosquitto_disconnect(m->mosq);
    mosquitto_destroy(m->mosq);
  }
  for (int i = 0; i < QUEUE_MAX; i++) proto_buf_close(&m->queue[i]);
  free(m);
  mosquitto_lib_cleanup();
}

static int tls_setup(agent_mq *m, const agent_mq_opts *o, prov_err *err) {
  char why[300];
  struct ssl_ctx_st *ctx = rt_tls_client_ctx(o->cafile, o->certfile, o->keyfile, o->host,
                                             o->check_time, why, sizeof why);
  if (!ctx) return prov_err_set(err, PROV_ECONFIG, "mqtt: %s", why);
  int rc = mosquitto_int_option(m->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX, ctx);
  rt_tls_ctx_free(ctx); /* the library holds its own reference */
  return rc == MOSQ_ERR_SUCCESS
             ? PROV_OK
             : prov_err_set(err, PROV_ECONFIG, "mqtt: TLS: %s", mosquitto_strerror(rc));
}

int agent_mq_open(agent_mq **out, const agent_mq_opts *o, prov_err *err) {
  *out = NULL;
  mosquitto_lib_init(); /* reference counted by libmosquitto; idempotent for us */
  agent_mq *m = calloc(1, sizeof *m);
  if (!m) return prov_err_set(err, PROV_ENOMEM, "mqtt");
  for (int i = 0; i < QUEUE_MAX; i++) proto_buf_init(&m->queue[i]);
  int rc = PROV_OK;
  if (!(m->mosq = mosquitto_new(o->client_id, true, m))) {
    rc = prov_err_set(err, PROV_ENOMEM, "mqtt client");
    goto done;
  }
  mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(m->mosq, on_connect);
  mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
  mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
  mosquitto_publish_v5_callback_set(m->mosq, on_publish);
  mosquitto_message_v5_callback_set(m->mosq, on_message);
  mosquitto_log_callback_set(m->mosq, on_log);
  m->lg = o->log;
  if ((rc = tls_setup(m, o, err)) != PROV_OK) goto done;
  int mrc = mosquitto_connect_async(m->mosq, o->host, o->port, 30);
  if (mrc != MOSQ_ERR_SUCCESS)
    rc = prov_err_set(err, PROV_EIO, "mqtt: connect %s:%d: %s", o->host, o->port,
                      mosquitto_strerror(mrc));

done:
  if (rc != PROV_OK) agent_mq_close(m);
  else *out = m;
  return rc;
}

/* Run the network until done(m) or the deadline; PROV_EIO when the link
 * is lost, PROV_ETIMEOUT at the deadline. */
static int pump(agent_mq *m, long long deadline, bool (*done)(const agent_mq *), prov_err *err,
                const char *what) {
  while (!done(m)) {
    if (m->lost) {
      if (m->connack)
        return prov_err_set(err, PROV_EIO, "mqtt: %s: broker refused (reason %d: %s)", what,
                            m->connack, mosquitto_reason_string(m->connack));
      return prov_err_set(err, PROV_EIO, "mqtt: %s: connection lost", what);
    }
    long long left = deadline - mono_ms();
    if (left <= 0) return prov_err_set(err, PROV_ETIMEOUT, "mqtt: %s: no answer in time", what);
    int rc = mosquitto_loop(m->mosq, (int)(left < LOOP_MS ? left : LOOP_MS), 1);
    if (rc != MOSQ_ERR_SUCCESS && !m->lost) {
      m->lost = true;
      return prov_err_set(err, PROV_EIO, "mqtt: %s: %s", what, mosquitto_strerror(rc));
    }
  }
  return PROV_OK;
}

static bool is_connected(const agent_mq *m) { return m->connected; }
static bool is_subscribed(const agent_mq *m) { return m->subscribed; }
static bool is_acked(const agent_mq *m) { return m->pub_acked; }
static bool has_msg(const agent_mq *m) { return m->queued > 0; }

int agent_mq_start(agent_mq *m, const char *sub_topic, int timeout_ms, prov_err *err) {
  long long deadline = mono_ms() + timeout_ms;
  int rc = pump(m, deadline, is_connected, err, "connect");
  if (rc != PROV_OK) return rc;
  if (mosquitto_subscribe_v5(m->mosq, &m->sub_mid, sub_topic, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
    return prov_err_set(err, PROV_EIO, "mqtt: subscribe");
  return pump(m, deadline, is_subscribed, err, "subscribe");
}

int agent_mq_publish(agent_mq *m, const char *topic, const void *payload, size_t len,
                     int timeout_ms, prov_err *err) {
  m->pub_acked = false;
  int mrc = mosquitto_publish_v5(m->mosq, &m->pub_mid, topic, (int)len, payload, 1, false, NULL);
  if (mrc != MOSQ_ERR_SUCCESS)
    return prov_err_set(err, PROV_EIO, "mqtt: publish: %s", mosquitto_strerror(mrc));
  int rc = pump(m, mono_ms() + timeout_ms, is_acked, err, "publish");
  if (rc == PROV_OK && m->pub_reason >= 0x80)
    rc = prov_err_set(err, PROV_EIO, "mqtt: publish refused by the broker (reason %d)",
                      m->pub_reason);
  return rc;
}

int agent_mq_next(agent_mq *m, int timeout_ms, proto_buf *out, prov_err *err) {
  int rc = pump(m, mono_ms() + timeout_ms, has_msg, err, "waiting for HQ");
  if (rc != PROV_OK) return rc;
  /* hand the oldest over by swapping buffers: no copy */
  proto_buf head = m->queue[0];
  memmove(m->queue, m->queue + 1, (QUEUE_MAX - 1) * sizeof m->queue[0]);
  m->queue[QUEUE_MAX - 1] = *out;
  *out = head;
  m->queued--;
  return PROV_OK;
}
