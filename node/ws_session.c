/* ws_session.c - session and staff handlers: login, auth, sync, logout,
 * ping, staff.list/set/remove, session.revoke.
 *
 * A connection is in one of three states, and only these handlers move it:
 *
 *   anonymous --login/auth--> authed --sync--> authed+synced (gets pushes)
 *       ^                       |                  |
 *       +--- logout / token expired or revoked ----+
 *
 * PINs and tokens are never logged; the token only travels in the login ack.
 */
#include <inttypes.h>
#include <string.h>

#include "ws.h"

static int put_staff(proto_buf *b, const node_staff *st) {
  int rc = proto_buf_puts(b, "\"staff\":");
  return rc == PROTO_OK ? node_wsenc_staff(b, st) : rc;
}

static int nomem(node_wsctx *x) { return node_err_set(x->err, NODE_ENOMEM, "out of memory"); }

/* The connection now acts for this session. */
static void adopt(node_wsconn *c, const node_session *sess, const char *token) {
  c->authed = true;
  c->synced = false;
  c->sess = *sess;
  memset(c->sess.token, 0, sizeof c->sess.token);
  snprintf(c->token, sizeof c->token, "%s", token);
}

static int session_result(node_wsctx *x, const node_session *sess) {
  int rc = put_staff(x->result, &sess->staff);
  if (rc == PROTO_OK)
    rc = proto_buf_printf(x->result, ",\"expires_ms\":%" PRIu64, sess->expires_ms);
  return rc == PROTO_OK ? NODE_OK : nomem(x);
}

int node_wsh_login(node_wsctx *x) {
  node_session sess;
  /* the peer address: a second lockout, so rotating tablet ids does not help */
  int rc = node_auth_login_from(x->srv->eng, x->a->tablet, x->conn->peer, x->a->pin, &sess, x->err);
  if (rc != NODE_OK) {
    node_logf(x->srv->log, NODE_LOG_INFO, "login refused", "conn=%llu tablet=%s peer=%s code=%s",
              (unsigned long long)x->conn->serial, x->a->tablet, x->conn->peer, node_err_wire(rc));
    return rc;
  }
  adopt(x->conn, &sess, sess.token);
  node_logf(x->srv->log, NODE_LOG_INFO, "login", "conn=%llu tablet=%s staff=%s role=%s",
            (unsigned long long)x->conn->serial, sess.tablet, sess.staff.id,
            node_role_name(sess.staff.role));
  if (proto_buf_puts(x->result, "\"token\":") != PROTO_OK ||
      proto_buf_json_string(x->result, sess.token) != PROTO_OK ||
      proto_buf_puts(x->result, ",") != PROTO_OK)
    return nomem(x);
  return session_result(x, &sess);
}

int node_wsh_auth(node_wsctx *x) {
  node_session sess;
  int rc = node_auth_check(x->srv->eng, x->a->token, &sess, x->err);
  if (rc != NODE_OK) return rc;
  adopt(x->conn, &sess, x->a->token);
  node_logf(x->srv->log, NODE_LOG_INFO, "session resumed", "conn=%llu tablet=%s staff=%s",
            (unsigned long long)x->conn->serial, sess.tablet, sess.staff.id);
  return session_result(x, &sess);
}

int node_wsh_sync(node_wsctx *x) {
  uint64_t since = (x->a->present & NODE_WSF_BIT(SINCE)) ? (uint64_t)x->a->since : 0, feed = 0;
  bool resume = false;
  int rc;
  /* What the snapshot shows must be durable: commit the open batch first
   * (its changes go out to the synced tablets, then the snapshot here). */
  node_srv_commit(x->srv);
  rc = node_push_sync(x->srv, x->conn, since, &resume, &feed, x->err);
  if (rc != NODE_OK) return rc;
  x->conn->synced = true;
  if (proto_buf_printf(x->result, "\"feed\":%" PRIu64 ",\"mode\":\"%s\"", feed,
                       resume ? "resume" : "snapshot") != PROTO_OK)
    return nomem(x);
  return NODE_OK;
}

int node_wsh_logout(node_wsctx *x) {
  node_wsconn *c = x->conn;
  int rc = node_auth_logout(x->srv->eng, c->token, x->err);
  if (rc != NODE_OK && rc != NODE_EEXPIRED) return rc;
  node_logf(x->srv->log, NODE_LOG_INFO, "logout", "conn=%llu staff=%s",
            (unsigned long long)c->serial, c->sess.staff.id);
  c->authed = c->synced = false;
  memset(c->token, 0, sizeof c->token);
  return NODE_OK;
}

int node_wsh_ping(node_wsctx *x) {
  if (proto_buf_printf(x->result, "\"now_ms\":%" PRIu64, proto_wall_ms()) != PROTO_OK)
    return nomem(x);
  return NODE_OK;
}

/* ---- staff (manager) ----------------------------------------------------------- */

static int list_one(void *ctx, const node_staff *st) {
  proto_buf *b = ctx;
  if (b->data[b->len - 1] != '[' && proto_buf_puts(b, ",") != PROTO_OK) return 1;
  return node_wsenc_staff(b, st) == PROTO_OK ? 0 : 1;
}

int node_wsh_staff_list(node_wsctx *x) {
  int rc;
  if (proto_buf_puts(x->result, "\"staff\":[") != PROTO_OK) return nomem(x);
  rc = node_staff_each(x->srv->eng, list_one, x->result, x->err);
  if (rc != NODE_OK) return rc;
  return proto_buf_puts(x->result, "]") == PROTO_OK ? NODE_OK : nomem(x);
}

int node_wsh_staff_set(node_wsctx *x) {
  node_staff st;
  const char *pin = (x->a->present & NODE_WSF_BIT(PIN)) ? x->a->pin : NULL;
  int rc;
  memset(&st, 0, sizeof st);
  snprintf(st.id, sizeof st.id, "%s", x->a->staff_id);
  snprintf(st.name, sizeof st.name, "%s", x->a->name);
  st.role = x->a->role;
  rc = node_staff_set(x->srv->eng, &st, pin, x->err);
  if (rc == NODE_OK)
    node_logf(x->srv->log, NODE_LOG_INFO, "staff set", "staff=%s role=%s pin_changed=%s by=%s",
              st.id, node_role_name(st.role), pin ? "yes" : "no", x->by);
  return rc;
}

int node_wsh_staff_remove(node_wsctx *x) {
  int rc = node_staff_remove(x->srv->eng, x->a->staff_id, x->err);
  if (rc != NODE_OK) return rc;
  node_logf(x->srv->log, NODE_LOG_INFO, "staff removed", "staff=%s by=%s", x->a->staff_id, x->by);
  node_ws_end_sessions(x->srv, x->a->staff_id, "staff member removed");
  return NODE_OK;
}

int node_wsh_session_revoke(node_wsctx *x) {
  int rc = node_auth_revoke_staff(x->srv->eng, x->a->staff_id, x->err);
  if (rc != NODE_OK) return rc;
  node_logf(x->srv->log, NODE_LOG_INFO, "sessions revoked", "staff=%s by=%s", x->a->staff_id, x->by);
  node_ws_end_sessions(x->srv, x->a->staff_id, "session revoked by a manager");
  return NODE_OK;
}
