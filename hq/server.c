/* server.c - the one event loop (diagram in server.h): lws context, the
 * MQTT hand-over, the tick timer, the tokens reload (SIGHUP), start-up and
 * shutdown.
 *
 * MQTT batching: every message queued by the client thread is handled in
 * one drain, all inside one transaction (commit every ingest_max_msgs
 * messages, and at the end of the drain), so a burst of batches from many
 * stores costs one fsync per drain instead of one per message.  Acks go out
 * after each commit (hq_core_commit), never before.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/repl.h"
#include "rollout.h"
#include "server.h"
#include "views_http.h"

#define PROTOCOL_NAME "hq"
#define UP_FILTER PROTO_TOPIC_ROOT "/stores/+/up/#"

/* ---- MQTT ---------------------------------------------------------------------- */

static int publish(void *ctx, const char *topic, const void *payload, size_t len) {
  hq_server *s = ctx;
  return s->mqtt ? rt_mqtt_publish(s->mqtt, topic, payload, len, 1, false) : -1;
}

static void commit(hq_server *s, const char *why) {
  hq_err err;
  hq_err_clear(&err);
  if (hq_core_in_txn(s->core) && hq_core_commit(s->core, &err) != HQ_OK) {
    char esc[300];
    rt_logf(s->log, RT_LOG_ERROR, "commit failed: the batch is rolled back and will be resent",
            "during=%s code=%s err=\"%s\"", why, hq_err_wire(err.code), rt_log_esc(esc, sizeof esc, err.msg));
  }
}

static void on_message(hq_server *s, const rt_mqtt_event *ev) {
  hq_err err;
  hq_err_clear(&err);
  if (hq_prov_message(s, ev) || hq_fw_message(s, ev)) {
    hq_core_prepared_free(ev->prepared); /* not a store's events: NULL anyway */
    return;
  }
  int rc = hq_core_submit(s->core, ev->topic, ev->payload, ev->len, ev->prepared, &err);
  if (rc != HQ_OK) {
    char topic[200], esc[300];
    rt_logf(s->log, RT_LOG_WARN, "mqtt message refused",
            "topic=\"%s\" bytes=%zu code=%s err=\"%s\"", rt_log_esc(topic, sizeof topic, ev->topic),
            ev->len, hq_err_wire(rc), rt_log_esc(esc, sizeof esc, err.msg));
  }
  if (hq_core_pending(s->core) >= (size_t)s->cfg->ingest_max_msgs) commit(s, "ingest");
}

/* An events batch the store log refused (or kept in part). */
static void on_refused(void *ctx, const char *store, size_t bytes, int rc, const hq_err *err) {
  hq_server *s = ctx;
  char topic[PROTO_TOPIC_MAX] = "", esc[300];
  proto_err perr = {0};
  proto_topic_make(topic, sizeof topic, store, PROTO_DIR_UP, PROTO_REPL_EVENTS, &perr);
  rt_logf(s->log, RT_LOG_WARN, "mqtt message refused", "topic=\"%s\" bytes=%zu code=%s err=\"%s\"",
          topic, bytes, hq_err_wire(rc), rt_log_esc(esc, sizeof esc, err->msg));
}

/* Merge what the store log has logged.  Commit (and ack) every
 * ingest_max_msgs messages, and whenever the log has nothing more in hand:
 * in a burst the transaction stays open for the batches still being
 * logged, so a burst costs fewer fsyncs; a lone batch is committed at once. */
static void merge_logged(hq_server *s) {
  size_t max = (size_t)s->cfg->ingest_max_msgs;
  while (hq_core_poll(s->core, max, on_refused, s) > 0)
    if (hq_core_pending(s->core) >= max || !hq_core_log_busy(s->core)) commit(s, "ingest");
}

/* The store log's thread has batches logged (any thread). */
static void wake_loop(void *ctx) {
  hq_server *s = ctx;
  if (s->ctx) lws_cancel_service(s->ctx);
}

static void on_mqtt(void *ctx, const rt_mqtt_event *ev) {
  hq_server *s = ctx;
  switch (ev->kind) {
    case RT_MQTT_CONNECTED:
      commit(s, "connect");
      s->counters.mqtt_connected = true;
      s->counters.mqtt_connects++;
      rt_logf(s->log, RT_LOG_INFO, "mqtt connected", "host=%s port=%lld rc=%d", s->cfg->mqtt_host,
              (long long)s->cfg->mqtt_port, ev->rc);
      hq_core_connected(s->core);
      break;
    case RT_MQTT_DISCONNECTED:
      s->counters.mqtt_connected = false;
      s->counters.mqtt_disconnects++;
      rt_logf(s->log, RT_LOG_WARN, "mqtt disconnected", "rc=%d", ev->rc);
      hq_core_disconnected(s->core);
      break;
    case RT_MQTT_MESSAGE: on_message(s, ev); break;
  }
}

static void drain(hq_server *s) {
  if (s->mqtt) rt_mqtt_drain(s->mqtt, on_mqtt, s);
  merge_logged(s);
  if (!hq_core_log_busy(s->core)) commit(s, "ingest");
}

static void *prepare(void *ctx, const char *topic, const void *payload, size_t len) {
  (void)ctx;
  return hq_core_prepare(topic, payload, len);
}

static void prepared_free(void *p) { hq_core_prepared_free(p); }

static int open_mqtt(hq_server *s, hq_err *err) {
  static const char *const subs[] = {UP_FILTER, PROV_REQUEST_FILTER};
  const hq_config *c = s->cfg;
  char msg[256] = "";
  rt_mqtt_opts o;
  memset(&o, 0, sizeof o);
  o.host = c->mqtt_host;
  o.port = (int)c->mqtt_port;
  o.client_id = c->mqtt_client_id;
  o.username = c->mqtt_username[0] ? c->mqtt_username : NULL;
  o.keepalive_s = (int)c->mqtt_keepalive_s;
  o.session_expiry_s = (uint32_t)c->mqtt_session_expiry_s;
  o.subs = subs;
  o.n_subs = s->prov ? 2 : 1;
  o.cafile = c->mqtt_cafile[0] ? c->mqtt_cafile : NULL;
  o.certfile = c->mqtt_certfile[0] ? c->mqtt_certfile : NULL;
  o.keyfile = c->mqtt_keyfile[0] ? c->mqtt_keyfile : NULL;
  o.max_queue = (size_t)c->mqtt_max_queue;
  o.wake = s->ctx;
  /* Events batches are decoded and checked on the client thread, idle
   * between messages: the store log's thread then only writes rows. */
  o.prepare = prepare;
  o.prepared_free = prepared_free;
  if (rt_mqtt_open(&s->mqtt, &o, msg, sizeof msg) != 0)
    return hq_err_set(err, HQ_EIO, "mqtt: %s", msg);
  return HQ_OK;
}

/* ---- timers and the callback ------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul) {
  hq_server *s = lws_container_of(sul, hq_server, sul_tick);
  merge_logged(s); /* and a merge from the store log's rows that failed before */
  commit(s, "tick");
  hq_core_tick(s->core);
  hq_core_wal_tick(s->core); /* idle: the helper truncates the WAL */
  hq_prov_tick(s);
  hq_fw_tick(s);
  lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb, (lws_usec_t)s->cfg->tick_ms * LWS_US_PER_MS);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  struct lws_context *ctx = lws_get_context(wsi);
  hq_server *s = ctx ? lws_context_user(ctx) : NULL;
  if (!s) return lws_callback_http_dummy(wsi, reason, user, in, len);
  switch (reason) {
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP: return hq_http_callback(s, wsi, reason, user, in, len);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return -1; /* no WebSockets */
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      drain(s); /* woken by the MQTT thread (or the signal handler) */
      hq_views_http_poll(s); /* or by the views' reader thread */
      return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

/* ---- set-up -------------------------------------------------------------------------------- */

static int start_lws(hq_server *s, hq_err *err) {
  struct lws_context_creation_info info;
  const char *addr = s->cfg->http_addr;
  memset(&info, 0, sizeof info);
  s->protocols[0].name = PROTOCOL_NAME;
  s->protocols[0].callback = callback;
  s->protocols[0].per_session_data_size = hq_http_pss_size();
  info.port = (int)s->cfg->http_port;
  info.iface = strcmp(addr, "0.0.0.0") == 0 ? NULL : addr;
  info.protocols = s->protocols;
  info.user = s;
  info.vhost_name = "hq";
  info.server_string = "hq";
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                 (strchr(addr, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
  /* Explicit vhost: lws 4.1.6 leaks a registration when lws_create_context
   * itself fails to bind; a failed lws_create_vhost leaves a context that
   * the destroy path frees cleanly. */
  info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  s->ctx = lws_create_context(&info);
  if (!s->ctx) return hq_err_set(err, HQ_EIO, "cannot create the libwebsockets context");
  s->vh = lws_create_vhost(s->ctx, &info);
  if (!s->vh)
    return hq_err_set(err, HQ_EIO, "cannot listen on %s:%lld", addr, (long long)s->cfg->http_port);
  s->port = lws_get_vhost_listen_port(s->vh);
  return HQ_OK;
}

static int open_core(hq_server *s, const rt_log *lg, hq_err *err) {
  const hq_config *c = s->cfg;
  hq_core_opts o;
  memset(&o, 0, sizeof o);
  o.db_path = c->db_path;
  o.max_skew_ms = (uint64_t)c->max_skew_ms;
  o.busy_timeout_ms = (int)c->busy_timeout_ms;
  o.down_window = (uint64_t)c->down_window;
  o.retransmit_ms = (uint64_t)c->retransmit_ms;
  o.offline_after_ms = (uint64_t)c->offline_after_s * 1000u;
  o.idem_keep_ms = (uint64_t)c->idempotency_keep_s * 1000u;
  o.tz_offset_min = c->tz_offset_min;
  o.pickup_digits = (int)c->pickup_code_digits;
  o.route_online_only = c->route_online_only;
  o.events_db_path = c->events_db_path;
  o.log_max_msgs = (size_t)c->ingest_max_msgs;
  o.log_max_queue = (size_t)c->mqtt_max_queue;
  o.wake = wake_loop;
  o.log = lg;
  o.publish = publish;
  o.ctx = s;
  return hq_core_open(&s->core, &o, err);
}

int hq_server_create(hq_server **out, const hq_config *cfg, const rt_log *lg, hq_err *err) {
  hq_server *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s) return hq_err_set(err, HQ_ENOMEM, "out of memory");
  s->cfg = cfg;
  s->log = lg;
  s->started_ms = proto_wall_ms();
  int rc = hq_tokens_load(&s->tokens, cfg->api_tokens_file, err);
  if (rc == HQ_OK) rc = open_core(s, lg, err);
  if (rc == HQ_OK) rc = hq_prov_start(s, err);
  if (rc == HQ_OK) rc = start_lws(s, err);
  if (rc == HQ_OK) rc = open_mqtt(s, err);
  if (rc != HQ_OK) {
    hq_server_destroy(s);
    return rc;
  }
  lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb, (lws_usec_t)cfg->tick_ms * LWS_US_PER_MS);
  rt_logf(lg, RT_LOG_INFO, "listening", "addr=%s port=%d db=%s mqtt=%s:%lld tokens=%zu",
          cfg->http_addr, s->port, cfg->db_path, cfg->mqtt_host, (long long)cfg->mqtt_port,
          s->tokens.n);
  *out = s;
  return HQ_OK;
}

struct lws_context *hq_server_lws(hq_server *s) { return s->ctx; }

/* Each lws_service() is one poll and its callbacks, so the reload lands
 * between callbacks; the signal's lws_cancel_service() ends the poll. */
void hq_server_run(hq_server *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload_tokens) {
  while (!*stop) {
    if (*reload_tokens) {
      *reload_tokens = 0; /* first: a SIGHUP during the reload reloads again */
      hq_server_reload_tokens(s);
    }
    if (lws_service(s->ctx, 0) < 0) break;
  }
}

int hq_server_reload_tokens(hq_server *s) {
  hq_tokens fresh;
  hq_err err;
  char esc[300];
  hq_err_clear(&err);
  int rc = hq_tokens_load(&fresh, s->cfg->api_tokens_file, &err);
  if (rc != HQ_OK) { /* err names file:line and why, never a token */
    rt_logf(s->log, RT_LOG_ERROR, "api tokens not reloaded: the old ones stay", "tokens=%zu code=%s err=\"%s\"",
            s->tokens.n, hq_err_wire(err.code), rt_log_esc(esc, sizeof esc, err.msg));
    return rc;
  }
  size_t was = s->tokens.n;
  hq_tokens_free(&s->tokens); /* wiped; requests hold copies of names only */
  s->tokens = fresh;
  rt_logf(s->log, RT_LOG_INFO, "api tokens reloaded", "file=%s tokens=%zu was=%zu", s->cfg->api_tokens_file,
          s->tokens.n, was);
  return HQ_OK;
}

void hq_server_destroy(hq_server *s) {
  if (!s) return;
  if (s->core) {
    drain(s); /* what the broker already handed us: log, merge and ack it */
    if (hq_core_log_wait(s->core, 10000) != 0)
      rt_logf(s->log, RT_LOG_WARN, "store log still busy at shutdown: the boxes resend the rest", NULL);
    merge_logged(s);
    commit(s, "shutdown");
  }
  rt_mqtt_close(s->mqtt); /* before the context: its thread wakes the context */
  s->mqtt = NULL;
  hq_views_http_close(s); /* the same for the views' reader thread; before the core */
  if (s->ctx) {
    lws_sul_cancel(&s->sul_tick);
    lws_context_destroy(s->ctx);
  }
  hq_core_close(s->core);
  prov_server_close(s->prov);
  hq_tokens_free(&s->tokens);
  hq_fw_free(s->fw);
  free(s);
}
