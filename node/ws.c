/* ws.c - dispatch of one tablet message: the route table and its checks.
 *
 * For each complete frame, in this order:
 *   1. parse (bad_json) and read type/id (bad_request)
 *   2. token bucket (rate_limited; a flooding tablet is closed with 1008
 *      once its queued answers are sent)
 *   3. route by type (unknown_type)
 *   4. session: logged in (unauthenticated), token still valid
 *      (session_expired), role at least min_role (forbidden)
 *   5. fields the route declares, checked by wsmsg.c (bad_request)
 *   6. R_IDEM: an id already executed gets its stored result, "replayed"
 *   7. the handler; R_IDEM stores its result under the id in the same batch
 *   8. answer: R_DURABLE acks wait for the group commit (node_srv_hold);
 *      everything else, and every error, is sent at once.
 */
#include "ws.h"

#include <string.h>

#define R_AUTH 1u    /* needs a logged-in session */
#define R_DURABLE 2u /* changes the database: ack after commit */
#define R_IDEM 4u    /* recorded by id: a retry is answered, not re-applied */
#define R_CMD (R_AUTH | R_DURABLE | R_IDEM)

#define F(x) NODE_WSF_BIT(x)

typedef struct route {
  const char *type;
  node_ws_handler fn;
  unsigned flags;
  node_role min_role;
  uint32_t required, optional;
} route;

static const route routes[] = {
    {"login", node_wsh_login, R_DURABLE, NODE_ROLE_CLERK, F(TABLET) | F(PIN), 0},
    {"auth", node_wsh_auth, 0, NODE_ROLE_CLERK, F(TOKEN), 0},
    {"sync", node_wsh_sync, R_AUTH, NODE_ROLE_CLERK, 0, F(SINCE)},
    {"logout", node_wsh_logout, R_AUTH | R_DURABLE, NODE_ROLE_CLERK, 0, 0},
    {"ping", node_wsh_ping, 0, NODE_ROLE_CLERK, 0, 0},
    {"order.accept", node_wsh_order_accept, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID), 0},
    {"order.reject", node_wsh_order_reject, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID) | F(REJECT_REASON), 0},
    {"order.prepare", node_wsh_order_prepare, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID), 0},
    {"order.ready", node_wsh_order_ready, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID), 0},
    {"order.complete", node_wsh_order_complete, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID) | F(CODE), 0},
    {"order.rider_arrived", node_wsh_order_rider_arrived, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID), 0},
    {"order.handoff", node_wsh_order_handoff, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID) | F(CODE), 0},
    {"order.ship", node_wsh_order_ship, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID) | F(COURIER) | F(TRACKING), 0},
    {"order.cancel", node_wsh_order_cancel, R_CMD, NODE_ROLE_MANAGER, F(ORDER_ID) | F(CANCEL_REASON), 0},
    {"order.item_unavailable", node_wsh_order_item_unavailable, R_CMD, NODE_ROLE_CLERK, F(ORDER_ID) | F(SKU), 0},
    {"alert.ack", node_wsh_alert_ack, R_AUTH, NODE_ROLE_CLERK, F(ORDER_ID), 0},
    {"stock.receive", node_wsh_stock_receive, R_CMD, NODE_ROLE_CLERK, F(SKU) | F(QTY), F(NOTE)},
    {"stock.waste", node_wsh_stock_waste, R_CMD, NODE_ROLE_CLERK, F(SKU) | F(QTY), F(NOTE)},
    {"stock.correct", node_wsh_stock_correct, R_CMD, NODE_ROLE_MANAGER, F(SKU) | F(DELTA) | F(NOTE), 0},
    {"stock.stocktake", node_wsh_stock_stocktake, R_CMD, NODE_ROLE_MANAGER, F(COUNTS), 0},
    {"stock.transfer_out", node_wsh_stock_transfer_out, R_CMD, NODE_ROLE_MANAGER,
     F(SKU) | F(QTY) | F(TO_STORE) | F(TRANSFER_ID), F(NOTE)},
    {"stock.transfer_in", node_wsh_stock_transfer_in, R_CMD, NODE_ROLE_CLERK,
     F(SKU) | F(QTY) | F(FROM_STORE) | F(TRANSFER_ID), F(NOTE)},
    {"sku.sold_out", node_wsh_sku_sold_out, R_CMD, NODE_ROLE_CLERK, F(SKU) | F(SOLD_OUT), 0},
    {"settings.set", node_wsh_settings_set, R_CMD, NODE_ROLE_MANAGER, F(SETTINGS), 0},
    {"staff.list", node_wsh_staff_list, R_AUTH, NODE_ROLE_MANAGER, 0, 0},
    {"staff.set", node_wsh_staff_set, R_CMD, NODE_ROLE_MANAGER, F(STAFF_ID) | F(NAME) | F(ROLE), F(PIN)},
    {"staff.remove", node_wsh_staff_remove, R_CMD, NODE_ROLE_MANAGER, F(STAFF_ID), 0},
    {"session.revoke", node_wsh_session_revoke, R_CMD, NODE_ROLE_MANAGER, F(STAFF_ID), 0},
};

static const route *find_route(const char *type) {
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strcmp(routes[i].type, type) == 0) return &routes[i];
  return NULL;
}

/* Step 4: the session may run this route. */
static int check_session(node_wsconn *c, const route *r, node_err *err) {
  node_session sess;
  int rc;
  if (!(r->flags & R_AUTH)) return NODE_OK;
  if (!c->authed) return node_err_set(err, NODE_EUNAUTH, "log in first");
  rc = node_auth_check(c->srv->eng, c->token, &sess, err);
  if (rc != NODE_OK) {
    c->authed = c->synced = false;
    memset(c->token, 0, sizeof c->token);
    return rc == NODE_EEXPIRED ? rc : node_err_set(err, NODE_EEXPIRED, "session ended");
  }
  c->sess.staff = sess.staff; /* a manager may have changed the role */
  c->sess.expires_ms = sess.expires_ms;
  if (sess.staff.role < r->min_role)
    return node_err_set(err, NODE_EFORBIDDEN, "%s needs the %s role", r->type,
                        node_role_name(r->min_role));
  return NODE_OK;
}

static void answer(node_wsconn *c, const route *r, const char *id, const char *result, bool replayed) {
  proto_buf b;
  proto_buf_init(&b);
  if (node_wsenc_ack(&b, id, result, replayed) != PROTO_OK) node_ws_send_error(c, id, NODE_ENOMEM, NULL);
  else if (r->flags & R_DURABLE) node_srv_hold(c->srv, c, id, b.data, b.len);
  else node_ws_send(c, b.data, b.len);
  proto_buf_close(&b);
}

/* Step 6: true if id was executed before and has been answered. */
static bool replay(node_wsconn *c, const route *r, const char *id) {
  node_server *s = c->srv;
  if (node_engine_cmd_lookup(s->eng, id, s->replay, sizeof s->replay) != NODE_OK) return false;
  node_logf(s->log, NODE_LOG_DEBUG, "command replayed", "conn=%llu type=%s id=%s",
            (unsigned long long)c->serial, r->type, id);
  answer(c, r, id, s->replay, true);
  return true;
}

static void run(node_wsconn *c, const route *r, const node_wsmsg *m, const char *id) {
  node_server *s = c->srv;
  node_err err;
  proto_buf res;
  node_wsctx x = {s, c, &s->args, id, "", &res, &err};
  int rc;
  node_err_clear(&err);
  proto_buf_init(&res);
  rc = check_session(c, r, &err);
  if (rc == NODE_OK) rc = node_wsmsg_args(m, r->required, r->optional, &s->args, &err);
  if (rc == NODE_OK && (r->flags & R_IDEM) && replay(c, r, id)) goto done;
  if (rc == NODE_OK && proto_buf_puts(&res, "{") != PROTO_OK) rc = node_err_set(&err, NODE_ENOMEM, "out of memory");
  if (c->authed) x.by = c->sess.staff.id;
  if (rc == NODE_OK) rc = r->fn(&x);
  if (rc == NODE_OK && proto_buf_puts(&res, "}") != PROTO_OK) rc = node_err_set(&err, NODE_ENOMEM, "out of memory");
  if (rc == NODE_OK && (r->flags & R_IDEM)) rc = node_engine_cmd_record(s->eng, id, res.data, &err);
  if (rc == NODE_OK) {
    answer(c, r, id, res.data, false);
  } else {
    node_logf(s->log, NODE_LOG_DEBUG, "command failed", "conn=%llu type=%s id=%s code=%s",
              (unsigned long long)c->serial, r->type, id, node_err_wire(rc));
    node_ws_send_error(c, id, rc, err.msg);
  }
done:
  if (r->flags & R_DURABLE) node_srv_schedule_commit(s);
  proto_buf_close(&res);
}

static int flood(node_wsconn *c) {
  c->srv->counters.ws_closed_flood++;
  node_logf(c->srv->log, NODE_LOG_WARN, "tablet flooding, closing", "conn=%llu refused=%u",
            (unsigned long long)c->serial, c->refused);
  node_ws_close_after_queue(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "rate limit");
  return 0;
}

int node_ws_dispatch(node_wsconn *c, const char *data, size_t len) {
  node_server *s = c->srv;
  node_wsmsg *m = NULL;
  node_err err;
  char type[NODE_WS_TYPE_MAX] = "", id[PROTO_ID_MAX] = "";
  const route *r = NULL;
  int rc;
  s->counters.ws_messages++;
  node_err_clear(&err);
  rc = node_wsmsg_parse(data, len, &m, &err);
  if (rc == NODE_OK) rc = node_wsmsg_head(m, type, id, &err);
  if (!node_ws_take_token(c)) {
    node_wsmsg_free(m);
    if (c->refused > (uint32_t)s->cfg->ws_burst) return flood(c);
    node_ws_send_error(c, id, NODE_ERATE, "too many commands; slow down");
    return 0;
  }
  if (rc == NODE_OK && !(r = find_route(type)))
    rc = node_err_set(&err, NODE_EUNKNOWN, "unknown message type '%s'", type);
  if (rc == NODE_OK) run(c, r, m, id);
  else node_ws_send_error(c, id, rc, err.msg);
  node_wsmsg_free(m);
  return 0;
}
