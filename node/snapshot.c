/* snapshot.c - the "snapshot" message: the whole board in one frame.
 *
 *   {"type":"snapshot","feed":F,"orders":[...],"stock":[...],
 *    "settings":{...},"alerts":[...]}
 *
 * orders: every open order plus those that ended within board_recent_s.
 * alerts: what still needs someone: new orders ringing, unresolved
 * conflicts.  Built after a commit, so F and the contents agree.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "server_int.h"

typedef struct snap {
  node_server *s;
  proto_buf *b, *alerts;
  size_t n;                        /* items in the current array */
  int rc;                          /* first encoding error */
} snap;

static void comma(snap *x, proto_buf *b, size_t n) {
  if (n && x->rc == PROTO_OK) x->rc = proto_buf_puts(b, ",");
}

static void add_alert(snap *x, const char *kind, const char *order_id) {
  comma(x, x->alerts, x->alerts->len > 1);
  if (x->rc == PROTO_OK) x->rc = node_wsenc_alert(x->alerts, kind, order_id, NULL, NULL, NULL);
}

static int one_order(void *ctx, const proto_order *o) {
  snap *x = ctx;
  bool alerting = node_push_alerting(x->s, o);
  comma(x, x->b, x->n++);
  if (x->rc == PROTO_OK) x->rc = node_wsenc_order(x->b, o, alerting);
  if (alerting) add_alert(x, "new_order", o->order_id);
  if (proto_order_conflict(o) && o->resolve_stamp.hlc == 0) add_alert(x, "conflict", o->order_id);
  return x->rc != PROTO_OK;
}

static int one_stock(void *ctx, const node_stock_view *v) {
  snap *x = ctx;
  comma(x, x->b, x->n++);
  if (x->rc == PROTO_OK) x->rc = node_wsenc_stock(x->b, v);
  return x->rc != PROTO_OK;
}

static void puts_(snap *x, proto_buf *b, const char *s) {
  if (x->rc == PROTO_OK) x->rc = proto_buf_puts(b, s);
}

/* On failure nothing is sent and err says why. */
int node_push_snapshot(node_server *s, node_wsconn *c, uint64_t feed, node_err *err) {
  proto_buf b, alerts;
  proto_settings *st = malloc(sizeof *st);
  snap x = {s, &b, &alerts, 0, PROTO_OK};
  int rc = st ? NODE_OK : node_err_set(err, NODE_ENOMEM, "out of memory");
  proto_buf_init(&b);
  proto_buf_init(&alerts);
  if (rc == NODE_OK) rc = node_settings_get(s->eng, st, err);
  if (rc == NODE_OK) x.rc = proto_buf_printf(&b, "{\"type\":\"snapshot\",\"feed\":%" PRIu64 ",\"orders\":[", feed);
  puts_(&x, &alerts, "[");
  if (rc == NODE_OK && x.rc == PROTO_OK)
    rc = node_orders_each(s->eng, (uint64_t)s->cfg->board_recent_s * 1000u, one_order, &x, err);
  puts_(&x, &b, "],\"stock\":[");
  x.n = 0;
  if (rc == NODE_OK && x.rc == PROTO_OK) rc = node_stock_each(s->eng, one_stock, &x, err);
  puts_(&x, &b, "],\"settings\":");
  if (rc == NODE_OK && x.rc == PROTO_OK) x.rc = node_wsenc_settings(&b, st);
  puts_(&x, &alerts, "]");
  puts_(&x, &b, ",\"alerts\":");
  if (x.rc == PROTO_OK) x.rc = proto_buf_append(&b, alerts.data, alerts.len);
  puts_(&x, &b, "}");
  if (rc == NODE_OK && x.rc != PROTO_OK) rc = node_err_set(err, NODE_ENOMEM, "out of memory");
  if (rc == NODE_OK) node_ws_send(c, b.data, b.len);
  proto_buf_close(&b);
  proto_buf_close(&alerts);
  free(st);
  return rc;
}
