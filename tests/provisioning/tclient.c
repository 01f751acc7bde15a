/* tclient.c - see tclient.h.  Every wait is times RETAIL_TIME_SCALE
 * (tests/common/exec_wrap.h): the arm64 pass runs the tests under qemu. */
#include "tclient.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "exec_wrap.h"

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *p) {
  tclient *c = obj;
  c->connack = rc;
  if (rc == 0) c->connected = true;
  else c->lost = true;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *p) {
  tclient *c = obj;
  c->connected = false;
  c->lost = true;
  c->disconnect_rc = rc;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q,
                         const mosquitto_property *p) {
  tclient *c = obj;
  if (mid == c->sub_mid) c->sub_done = true, c->sub_qos = n > 0 ? q[0] : 0x80;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *p) {
  tclient *c = obj;
  if (mid == c->pub_mid) c->pub_done = true, c->pub_reason = reason;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *p) {
  tclient *c = obj;
  if (c->n_msgs == TC_MSGS) return;
  tc_msg *t = &c->msgs[c->n_msgs++];
  snprintf(t->topic, sizeof t->topic, "%s", msg->topic);
  t->len =
      msg->payloadlen < (int)sizeof t->payload - 1 ? msg->payloadlen : (int)sizeof t->payload - 1;
  memcpy(t->payload, msg->payload, (size_t)t->len);
  t->payload[t->len] = '\0';
}

void tc_pump(tclient *c, int ms) {
  if (!c->m) return;
  int rc = mosquitto_loop(c->m, ms, 1);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
    c->connected = false;
    c->lost = true;
    if (!c->disconnect_rc) c->disconnect_rc = rc;
  }
  if (rc == MOSQ_ERR_NO_CONN) c->lost = true;
}

static bool pump_until(tclient *c, bool *flag, int timeout_ms) {
  long long end = now_ms() + test_scaled_ms(timeout_ms);
  while (!*flag && !c->lost && now_ms() < end) tc_pump(c, 20);
  return *flag;
}

/* As the agent does (provisioning/agent/mq.c): our own TLS context with
 * OpenSSL's host check and X509_V_FLAG_NO_CHECK_TIME. */
static int no_time_ctx(tclient *c, const tc_opts *o) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return -1;
  X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
  int ok = SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) == 1 &&
           SSL_CTX_use_certificate_chain_file(ctx, o->certfile) == 1 &&
           SSL_CTX_use_PrivateKey_file(ctx, o->keyfile, SSL_FILETYPE_PEM) == 1 &&
           X509_VERIFY_PARAM_set1_ip_asc(param, "127.0.0.1") == 1;
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (ok) ok = mosquitto_int_option(c->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) == MOSQ_ERR_SUCCESS &&
               mosquitto_void_option(c->m, MOSQ_OPT_SSL_CTX, ctx) == MOSQ_ERR_SUCCESS;
  SSL_CTX_free(ctx);
  return ok ? 0 : -1;
}

int tc_connect(tclient *c, const tc_opts *o) {
  mosquitto_property *props = NULL;
  memset(c, 0, sizeof *c);
  mosquitto_lib_init();
  c->m = mosquitto_new(o->client_id, o->clean_start, c);
  if (!c->m) return -1;
  mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(c->m, on_connect);
  mosquitto_disconnect_v5_callback_set(c->m, on_disconnect);
  mosquitto_subscribe_v5_callback_set(c->m, on_subscribe);
  mosquitto_publish_v5_callback_set(c->m, on_publish);
  mosquitto_message_v5_callback_set(c->m, on_message);
  if (o->username) mosquitto_username_pw_set(c->m, o->username, NULL);
  if (!o->no_time_check &&
      mosquitto_tls_set(c->m, o->cafile, NULL, o->certfile, o->keyfile, NULL) != MOSQ_ERR_SUCCESS)
    return -1;
  if (o->no_time_check && no_time_ctx(c, o) != 0) return -1;
  if (o->session_expiry_s)
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                 (uint32_t)o->session_expiry_s);
  int rc = mosquitto_connect_bind_v5(c->m, "127.0.0.1", o->port, 30, NULL, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS) {
    c->lost = true;
    c->disconnect_rc = rc;
    return -1;
  }
  return pump_until(c, &c->connected, TC_WAIT_MS) ? 0 : -1;
}

int tc_sub(tclient *c, const char *filter) {
  c->sub_done = false;
  if (mosquitto_subscribe_v5(c->m, &c->sub_mid, filter, 1, 0, NULL) != MOSQ_ERR_SUCCESS) return -1;
  return pump_until(c, &c->sub_done, TC_WAIT_MS) ? c->sub_qos : -1;
}

int tc_pub(tclient *c, const char *topic, const char *payload) {
  c->pub_done = false;
  if (mosquitto_publish_v5(c->m, &c->pub_mid, topic, (int)strlen(payload), payload, 1, false,
                           NULL) != MOSQ_ERR_SUCCESS)
    return -1;
  return pump_until(c, &c->pub_done, TC_WAIT_MS) ? c->pub_reason : -1;
}

bool tc_got(const tclient *c, const char *topic) {
  for (int i = 0; i < c->n_msgs; i++)
    if (strcmp(c->msgs[i].topic, topic) == 0) return true;
  return false;
}

int tc_wait_msg(tclient *c, const char *topic, int timeout_ms) {
  long long end = now_ms() + test_scaled_ms(timeout_ms);
  for (;;) {
    for (int i = 0; i < c->n_msgs; i++)
      if (!topic || strcmp(c->msgs[i].topic, topic) == 0) return i;
    if (c->lost || now_ms() >= end) return -1;
    tc_pump(c, 20);
  }
}

bool tc_wait_lost(tclient *c, int timeout_ms) {
  long long end = now_ms() + test_scaled_ms(timeout_ms);
  while (!c->lost && now_ms() < end) tc_pump(c, 20);
  return c->lost;
}

void tc_close(tclient *c) {
  if (!c->m) return;
  if (c->connected) {
    mosquitto_disconnect(c->m);
    tc_pump(c, 20);
  }
  mosquitto_destroy(c->m);
  c->m = NULL;
  mosquitto_lib_cleanup();
}
