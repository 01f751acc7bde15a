/* ws_orders.c - order command handlers: one engine call each.
 *
 * Field checks happened in wsmsg.c (the route declares the fields) and the
 * role check in ws.c; the engine checks the transition (illegal_transition)
 * and the codes (wrong_code).  The change itself reaches every tablet as an
 * "order" message after the commit (push.c), so acks carry no result.
 */
#include "ws.h"

int node_wsh_order_accept(node_wsctx *x) {
  return node_order_accept(x->srv->eng, x->a->order_id, x->by, x->err);
}

int node_wsh_order_reject(node_wsctx *x) {
  return node_order_reject(x->srv->eng, x->a->order_id, x->a->reject_reason, x->by, x->err);
}

int node_wsh_order_prepare(node_wsctx *x) {
  return node_order_prepare(x->srv->eng, x->a->order_id, x->by, x->err);
}

int node_wsh_order_ready(node_wsctx *x) {
  return node_order_ready(x->srv->eng, x->a->order_id, x->by, x->err);
}

int node_wsh_order_complete(node_wsctx *x) {
  return node_order_complete(x->srv->eng, x->a->order_id, x->a->code, x->by, x->err);
}

int node_wsh_order_rider_arrived(node_wsctx *x) {
  return node_order_rider_arrived(x->srv->eng, x->a->order_id, x->by, x->err);
}

int node_wsh_order_handoff(node_wsctx *x) {
  return node_order_handoff(x->srv->eng, x->a->order_id, x->a->code, x->by, x->err);
}

int node_wsh_order_ship(node_wsctx *x) {
  return node_order_ship(x->srv->eng, x->a->order_id, x->a->courier, x->a->tracking, x->by, x->err);
}

int node_wsh_order_cancel(node_wsctx *x) {
  return node_order_cancel(x->srv->eng, x->a->order_id, x->a->cancel_reason, x->by, x->err);
}

int node_wsh_order_item_unavailable(node_wsctx *x) {
  return node_order_item_unavailable(x->srv->eng, x->a->order_id, x->a->sku, x->by, x->err);
}

/* Not an event: the alert is server state (push.c); the order must exist. */
int node_wsh_alert_ack(node_wsctx *x) {
  proto_order o;
  int rc = node_order_get(x->srv->eng, x->a->order_id, &o, x->err);
  if (rc != NODE_OK) return rc;
  node_push_alert_ack(x->srv, x->a->order_id, x->by);
  return NODE_OK;
}
