/* node/ws.h - tablet message handlers (docs/protocol.md).
 *
 * ws.c holds the dispatch table {type, handler, flags, min_role, fields} and
 * node_ws_dispatch(); each handler is one small function in ws_session.c,
 * ws_orders.c or ws_stock.c.  A handler gets the decoded fields and appends
 * the members of its ack's "result" object to x->result (already holding
 * "{"; the dispatcher closes it).  It returns NODE_OK or a NODE_E* code with
 * the detail in x->err; it never writes to the socket for its own answer.
 */
#ifndef NODE_WS_H
#define NODE_WS_H

#include "server_int.h"

typedef struct node_wsctx {
  node_server *srv;
  node_wsconn *conn;
  const node_wsargs *a;
  const char *id;                  /* the command's id */
  const char *by;                  /* staff id of the session ("" if none) */
  proto_buf *result;               /* "{" + members appended by the handler */
  node_err *err;
} node_wsctx;

typedef int (*node_ws_handler)(node_wsctx *x);

/* ws_session.c */
int node_wsh_login(node_wsctx *x);
int node_wsh_auth(node_wsctx *x);
int node_wsh_sync(node_wsctx *x);
int node_wsh_logout(node_wsctx *x);
int node_wsh_ping(node_wsctx *x);
int node_wsh_staff_list(node_wsctx *x);
int node_wsh_staff_set(node_wsctx *x);
int node_wsh_staff_remove(node_wsctx *x);
int node_wsh_session_revoke(node_wsctx *x);

/* ws_orders.c */
int node_wsh_order_accept(node_wsctx *x);
int node_wsh_order_reject(node_wsctx *x);
int node_wsh_order_prepare(node_wsctx *x);
int node_wsh_order_ready(node_wsctx *x);
int node_wsh_order_complete(node_wsctx *x);
int node_wsh_order_rider_arrived(node_wsctx *x);
int node_wsh_order_handoff(node_wsctx *x);
int node_wsh_order_ship(node_wsctx *x);
int node_wsh_order_cancel(node_wsctx *x);
int node_wsh_order_item_unavailable(node_wsctx *x);
int node_wsh_alert_ack(node_wsctx *x);

/* ws_stock.c */
int node_wsh_stock_receive(node_wsctx *x);
int node_wsh_stock_waste(node_wsctx *x);
int node_wsh_stock_correct(node_wsctx *x);
int node_wsh_stock_stocktake(node_wsctx *x);
int node_wsh_stock_transfer_out(node_wsctx *x);
int node_wsh_stock_transfer_in(node_wsctx *x);
int node_wsh_sku_sold_out(node_wsctx *x);
int node_wsh_settings_set(node_wsctx *x);

#endif
