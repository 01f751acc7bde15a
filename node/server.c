/* server.c - the one event loop: lws context, mounts, the protocol callback,
 * group commit and timers.
 *
 *   lws_service ─┬─ HTTP  file mount "/"  -> www_dir (lws serves the files)
 *                │        callback mounts /metrics /healthz /api -> http.c
 *                ├─ WS    /ws -> wsconn.c (frames) -> ws.c (dispatch) -> engine
 *                │                                            │ ack held
 *                ├─ sul_commit (group_commit_ms after the first held ack, or
 *                │   at once at group_commit_max): node_engine_commit
 *                │     -> on_change -> push.c collects
 *                │     -> push flush (state + alerts to tablets)
 *                │     -> held acks released (or turned into errors)
 *                ├─ sul_tick (auto_accept_tick_ms): auto-accept rule, and
 *                │   tablets whose session expired stop getting pushes
 *                └─ sul_watchdog ($WATCHDOG_USEC / 2, under systemd only):
 *                    WATCHDOG=1, so a hung loop gets the daemon restarted
 *                    (READY=1 once listening, STOPPING=1 at the end: rt/sdnotify.h)
 *
 * Invariant: an ack leaves the server only after the node_engine_commit that
 * covers its command returned NODE_OK.  Everything runs on this one thread;
 * only lws_cancel_service() may be called from elsewhere (signal handler).
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt/sdnotify.h"
#include "server_int.h"
#include "update_relay.h"

#define PROTOCOL_NAME "storenode"
#ifndef STORENODE_VERSION
#define STORENODE_VERSION "0.0.0"
#endif

uint64_t node_srv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- group commit ------------------------------------------------------------ */

static void release_held(node_server *s, int rc, const char *why) {
  for (size_t i = 0; i < s->n_held; i++) {
    node_held *h = &s->held[i];
    if (h->conn && rc == NODE_OK) node_ws_send(h->conn, h->json, h->len);
    else if (h->conn) node_ws_send_error(h->conn, h->id, rc, why);
    free(h->json);
  }
  s->n_held = 0;
}

int node_srv_commit(node_server *s) {
  node_err err;
  uint64_t t0 = node_srv_now_ns();
  int rc;
  lws_sul_cancel(&s->sul_commit);
  s->commit_scheduled = false;
  node_err_clear(&err);
  rc = node_engine_commit(s->eng, &err);
  if (rc == NODE_OK) {
    node_push_flush(s);
  } else {
    char esc[256];
    s->counters.commits_failed++;
    node_push_discard(s);
    node_logf(s->log, NODE_LOG_ERROR, "commit failed", "code=%s acks=%zu err=\"%s\"",
              node_err_wire(rc), s->n_held, node_log_esc(esc, sizeof esc, err.msg));
  }
  if (s->n_held)
    node_logf(s->log, NODE_LOG_DEBUG, "group commit", "acks=%zu us=%llu", s->n_held,
              (unsigned long long)((node_srv_now_ns() - t0) / 1000));
  release_held(s, rc, rc == NODE_OK ? NULL : err.msg);
  return rc;
}

static void commit_cb(lws_sorted_usec_list_t *sul) {
  node_server *s = lws_container_of(sul, node_server, sul_commit);
  s->commit_scheduled = false;
  node_srv_commit(s);
}

void node_srv_schedule_commit(node_server *s) {
  if (s->commit_scheduled) return;
  s->commit_scheduled = true;
  lws_sul_schedule(s->ctx, 0, &s->sul_commit, commit_cb,
                   (lws_usec_t)s->cfg->group_commit_ms * LWS_US_PER_MS);
}

void node_srv_hold(node_server *s, node_wsconn *c, const char *id, const char *json, size_t len) {
  node_held *h;
  char *copy;
  if (s->n_held == s->cap_held) {
    size_t cap = s->cap_held ? s->cap_held * 2 : 64;
    node_held *n = realloc(s->held, cap * sizeof *n);
    if (!n) {
      node_ws_send_error(c, id, NODE_ENOMEM, NULL);
      return;
    }
    s->held = n;
    s->cap_held = cap;
  }
  copy = malloc(len + 1);
  if (!copy) {
    node_ws_send_error(c, id, NODE_ENOMEM, NULL);
    return;
  }
  memcpy(copy, json, len);
  copy[len] = '\0';
  h = &s->held[s->n_held++];
  h->conn = c;
  snprintf(h->id, sizeof h->id, "%s", id);
  h->json = copy;
  h->len = len;
  if (s->n_held >= (size_t)s->cfg->group_commit_max) node_srv_commit(s);
  else node_srv_schedule_commit(s);
}

/* ---- timers ---------------------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul) {
  node_server *s = lws_container_of(sul, node_server, sul_tick);
  node_err err;
  size_t n = 0;
  node_err_clear(&err);
  if (node_engine_auto_accept(s->eng, &n, &err) != NODE_OK) {
    char esc[256];
    node_logf(s->log, NODE_LOG_WARN, "auto-accept failed", "err=\"%s\"",
              node_log_esc(esc, sizeof esc, err.msg));
  } else if (n > 0) {
    node_logf(s->log, NODE_LOG_INFO, "auto-accepted orders", "n=%zu", n);
    node_srv_schedule_commit(s);
  }
  node_ws_expire_sessions(s, proto_wall_ms());
  lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb,
                   (lws_usec_t)s->cfg->auto_accept_tick_ms * LWS_US_PER_MS);
}

/* Keep-alive for systemd's WatchdogSec=: sent from the loop itself, so it
 * stops when the loop hangs, not only when the process dies. */
static void watchdog_cb(lws_sorted_usec_list_t *sul) {
  node_server *s = lws_container_of(sul, node_server, sul_watchdog);
  rt_sd_notify("WATCHDOG=1");
  lws_sul_schedule(s->ctx, 0, &s->sul_watchdog, watchdog_cb, s->watchdog_us);
}

/* ---- the protocol callback ---------------------------------------------------------- */

/* Only /ws may become a WebSocket. */
static int ws_path_ok(struct lws *wsi) {
  char uri[16];
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) return 0;
  if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0) return 0;
  return strcmp(uri, "/ws") == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  struct lws_context *ctx = lws_get_context(wsi);
  node_server *s = ctx ? lws_context_user(ctx) : NULL;
  node_pss *pss = user;
  if (!s) return lws_callback_http_dummy(wsi, reason, user, in, len);
  switch (reason) {
    case LWS_CALLBACK_HTTP: return node_http_request(s, wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY: return node_http_body(s, wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: return node_http_body_done(s, wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE: return node_http_writeable(s, wsi, pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
      if (pss && !pss->conn) node_http_free(pss);
      break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return ws_path_ok(wsi) ? 0 : -1;
    case LWS_CALLBACK_ESTABLISHED: return node_ws_open(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE: return pss->conn ? node_ws_receive(pss->conn, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE: return pss->conn ? node_ws_writeable(pss->conn) : -1;
    case LWS_CALLBACK_TIMER: return pss && pss->conn ? node_ws_timer(pss->conn) : 0;
    case LWS_CALLBACK_CLOSED:
      if (pss->conn) node_ws_closed(pss->conn);
      pss->conn = NULL;
      break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      /* Woken by lws_cancel_service(): the signal handler, or the MQTT
       * thread handing over what it received (node/repl.c). */
      node_repl_service(s->repl);
      break;
    default: break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- set-up ------------------------------------------------------------------------------ */

static void on_change(void *ctx, const node_change *ch) {
  node_server *s = ctx;
  node_push_collect(s, ch);
  node_repl_on_change(s->repl, ch);
}

/* ---- replication (node/repl.c) ---------------------------------------------------- */

/* The replication layer commits HQ's batches like a command batch: tablets
 * are told, held acks released. */
static int repl_commit(void *ctx, node_err *err) {
  int rc = node_srv_commit(ctx);
  return rc == NODE_OK ? NODE_OK : node_err_set(err, rc, "commit failed (see the log)");
}

static uint32_t repl_tablets(void *ctx) {
  return (uint32_t)((node_server *)ctx)->counters.tablets_connected;
}

static int start_repl(node_server *s, node_err *err) {
  const node_config *c = s->cfg;
  node_repl_opts o;
  memset(&o, 0, sizeof o);
  o.store_id = c->store_id;
  o.host = c->mqtt_host;
  o.port = (int)c->mqtt_port;
  o.keepalive_s = (int)c->mqtt_keepalive_s;
  o.session_expiry_s = (uint32_t)c->mqtt_session_expiry_s;
  o.reconnect_max_s = (unsigned)c->mqtt_reconnect_max_s;
  o.heartbeat_s = (int)c->heartbeat_s;
  o.retransmit_s = (int)c->retransmit_s;
  o.cafile = c->mqtt_cafile;
  o.certfile = c->mqtt_certfile;
  o.keyfile = c->mqtt_keyfile;
  o.version = s->version;
  o.update_spool_dir = c->update_spool_dir;
  o.eng = s->eng;
  o.lws = s->ctx;
  o.log = s->log;
  o.commit = repl_commit;
  o.tablets = repl_tablets;
  o.ctx = s;
  return node_repl_create(&s->repl, &o, err);
}

static void setup_mounts(node_server *s) {
  static const char *const mime[][2] = {{".mjs", "text/javascript"},
                                        {".json", "application/json"},
                                        {".webmanifest", "application/manifest+json"},
                                        {".wav", "audio/wav"},
                                        {".mp3", "audio/mpeg"},
                                        {".svg", "image/svg+xml"}};
  static const char *const dyn[] = {"/ws", "/metrics", "/healthz", "/api"};
  struct lws_http_mount *m = s->mounts;
  for (size_t i = 0; i < 6; i++) {
    s->mime[i].next = i + 1 < 6 ? &s->mime[i + 1] : NULL;
    s->mime[i].name = mime[i][0];
    s->mime[i].value = mime[i][1];
  }
  for (size_t i = 0; i < NODE_MOUNTS - 1; i++) {
    m[i].mount_next = &m[i + 1];
    m[i].mountpoint = dyn[i];
    m[i].mountpoint_len = (unsigned char)strlen(dyn[i]);
    m[i].origin = PROTOCOL_NAME;
    m[i].origin_protocol = LWSMPRO_CALLBACK;
  }
  m[NODE_MOUNTS - 1].mountpoint = "/";
  m[NODE_MOUNTS - 1].mountpoint_len = 1;
  m[NODE_MOUNTS - 1].origin = s->cfg->www_dir;
  m[NODE_MOUNTS - 1].def = "index.html";
  m[NODE_MOUNTS - 1].origin_protocol = LWSMPRO_FILE;
  m[NODE_MOUNTS - 1].extra_mimetypes = s->mime;
  m[NODE_MOUNTS - 1].cache_max_age = 0;
  m[NODE_MOUNTS - 1].cache_revalidate = 1;
}

static int start_lws(node_server *s, node_err *err) {
  struct lws_context_creation_info info;
  const char *addr = s->cfg->http_addr;
  memset(&info, 0, sizeof info);
  s->protocols[0].name = PROTOCOL_NAME;
  s->protocols[0].callback = callback;
  s->protocols[0].per_session_data_size = sizeof(node_pss);
  /* A frame bigger than this arrives in pieces; wsconn.c adds them up and
   * refuses the message once it passes ws_max_message. */
  s->protocols[0].rx_buffer_size = (size_t)s->cfg->ws_max_message;
  setup_mounts(s);
  if (s->cfg->ws_ping_s > 0) {
    s->retry.secs_since_valid_ping = (uint16_t)s->cfg->ws_ping_s;
    s->retry.secs_since_valid_hangup = (uint16_t)(s->cfg->ws_ping_s * 2 + 1);
    info.retry_and_idle_policy = &s->retry;
  }
  info.port = (int)s->cfg->http_port;
  info.iface = strcmp(addr, "0.0.0.0") == 0 ? NULL : addr;
  info.protocols = s->protocols;
  info.mounts = s->mounts;
  info.user = s;
  info.vhost_name = "storenode";
  info.server_string = "storenode";
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                 (strchr(addr, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
  /* Explicit vhost: lws 4.1.6 leaks a registration when lws_create_context
   * itself fails to bind; a failed lws_create_vhost leaves a context that
   * the destroy path frees cleanly. */
  info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  s->ctx = lws_create_context(&info);
  if (!s->ctx) return node_err_set(err, NODE_EIO, "cannot create the libwebsockets context");
  s->vh = lws_create_vhost(s->ctx, &info);
  if (!s->vh)
    return node_err_set(err, NODE_EIO, "cannot listen on %s:%lld", addr, (long long)s->cfg->http_port);
  s->port = lws_get_vhost_listen_port(s->vh);
  return NODE_OK;
}

static int open_engine(node_server *s, node_err *err) {
  node_engine_opts eo;
  node_auth_opts ao;
  int rc;
  memset(&eo, 0, sizeof eo);
  eo.db_path = s->cfg->db_path;
  eo.store_id = s->cfg->store_id;
  eo.max_skew_ms = (uint64_t)s->cfg->max_skew_ms;
  eo.busy_timeout_ms = (int)s->cfg->busy_timeout_ms;
  eo.on_change = on_change;
  eo.ctx = s;
  rc = node_engine_open(&s->eng, &eo, err);
  if (rc != NODE_OK) return rc;
  ao.lockout_attempts = (int)s->cfg->lockout_attempts;
  ao.lockout_s = (int)s->cfg->lockout_s;
  ao.session_ttl_s = (int)s->cfg->session_ttl_s;
  ao.kdf_iterations = (int)s->cfg->kdf_iterations;
  ao.peer_attempts = (int)s->cfg->lockout_peer_attempts;
  ao.peer_window_s = (int)s->cfg->lockout_peer_window_s;
  ao.peer_lockout_s = (int)s->cfg->lockout_peer_s;
  node_auth_configure(s->eng, &ao);
  return NODE_OK;
}

int node_server_create(node_server **out, const node_config *cfg, const node_log *lg,
                       node_err *err) {
  node_server *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (!s) return node_err_set(err, NODE_ENOMEM, "out of memory");
  s->cfg = cfg;
  s->log = lg;
  if (!node_update_fw_version(NULL, s->version, sizeof s->version))
    snprintf(s->version, sizeof s->version, "%s", STORENODE_VERSION);
  rc = open_engine(s, err);
  if (rc == NODE_OK) rc = node_push_init(&s->push, s->eng, err);
  if (rc == NODE_OK) rc = start_lws(s, err);
  if (rc == NODE_OK) rc = start_repl(s, err);
  if (rc != NODE_OK) {
    node_server_destroy(s);
    return rc;
  }
  lws_sul_schedule(s->ctx, 0, &s->sul_tick, tick_cb,
                   (lws_usec_t)cfg->auto_accept_tick_ms * LWS_US_PER_MS);
  node_logf(lg, NODE_LOG_INFO, "listening", "addr=%s port=%d store=%s db=%s feed=%llu dev_inject=%s",
            cfg->http_addr, s->port, cfg->store_id, cfg->db_path,
            (unsigned long long)node_engine_feed(s->eng), cfg->dev_inject ? "true" : "false");
  rt_sd_notify("READY=1"); /* Type=notify: started means listening */
  s->watchdog_us = (lws_usec_t)(rt_sd_watchdog_usec() / 2);
  if (s->watchdog_us > 0) watchdog_cb(&s->sul_watchdog);
  *out = s;
  return NODE_OK;
}

struct lws_context *node_server_lws(node_server *s) { return s->ctx; }

int node_server_port(const node_server *s) { return s->port; }

void node_server_run(node_server *s, volatile sig_atomic_t *stop) {
  while (!*stop) {
    if (lws_service(s->ctx, 0) < 0) break;
  }
}

void node_server_destroy(node_server *s) {
  if (!s) return;
  if (s->ctx) rt_sd_notify("STOPPING=1");
  if (s->eng && s->ctx) {
    /* Make the batch durable before the sockets go: those acks are lost on
     * the wire, but a tablet's retry with the same id gets "replayed". */
    node_srv_commit(s);
  }
  node_repl_destroy(s->repl); /* before the loop's timers go */
  s->repl = NULL;
  if (s->ctx) {
    lws_sul_cancel(&s->sul_commit);
    lws_sul_cancel(&s->sul_tick);
    lws_sul_cancel(&s->sul_watchdog);
    lws_context_destroy(s->ctx); /* CLOSED callbacks free the connections */
  }
  for (size_t i = 0; i < s->n_held; i++) free(s->held[i].json);
  free(s->held);
  node_push_free(&s->push);
  node_engine_close(s->eng);
  free(s);
}
