/* ws_stock.c - stock, SKU and settings handlers.
 *
 * Quantities arrive positive ("qty") and get their sign from the command;
 * only stock.correct takes a signed "delta".  A multi-SKU stocktake checks
 * every SKU before counting any, so a bad line fails the whole command
 * rather than leaving half a count in the batch.
 */
#include <inttypes.h>

#include "ws.h"

static const char *opt(const char *s) { return s && *s ? s : NULL; }

static int adjust(node_wsctx *x, int64_t delta, proto_stock_reason why, const char *ref,
                  const char *peer) {
  return node_stock_adjust(x->srv->eng, x->a->sku, delta, why, opt(ref), opt(peer),
                           opt(x->a->note), x->by, x->err);
}

int node_wsh_stock_receive(node_wsctx *x) {
  return adjust(x, x->a->qty, PROTO_STOCK_RECEIVE, NULL, NULL);
}

int node_wsh_stock_waste(node_wsctx *x) { return adjust(x, -x->a->qty, PROTO_STOCK_WASTE, NULL, NULL); }

int node_wsh_stock_correct(node_wsctx *x) {
  if (x->a->delta == 0) return node_err_set(x->err, NODE_EINVAL, "delta: must not be 0");
  return adjust(x, x->a->delta, PROTO_STOCK_CORRECTION, NULL, NULL);
}

int node_wsh_stock_transfer_out(node_wsctx *x) {
  return adjust(x, -x->a->qty, PROTO_STOCK_TRANSFER_OUT, x->a->transfer_id, x->a->to_store);
}

int node_wsh_stock_transfer_in(node_wsctx *x) {
  return adjust(x, x->a->qty, PROTO_STOCK_TRANSFER_IN, x->a->transfer_id, x->a->from_store);
}

int node_wsh_stock_stocktake(node_wsctx *x) {
  const node_wsargs *a = x->a;
  node_stock_view v;
  int rc = NODE_OK;
  for (uint32_t i = 0; i < a->n_counts && rc == NODE_OK; i++) {
    rc = node_stock_get(x->srv->eng, a->counts[i].sku, &v, x->err);
    if (rc != NODE_OK)
      node_err_set(x->err, rc, "counts[%u].sku: '%s': %s", i, a->counts[i].sku, node_strerror(rc));
  }
  if (rc == NODE_OK && proto_buf_puts(x->result, "\"variances\":[") != PROTO_OK) rc = NODE_ENOMEM;
  for (uint32_t i = 0; i < a->n_counts && rc == NODE_OK; i++) {
    int64_t before = 0;
    rc = node_stocktake(x->srv->eng, a->counts[i].sku, a->counts[i].counted, x->by, &before, x->err);
    if (rc == NODE_OK &&
        proto_buf_printf(x->result, "%s{\"sku\":\"%s\",\"system\":%" PRId64 ",\"counted\":%" PRId64
                                    ",\"variance\":%" PRId64 "}",
                         i ? "," : "", a->counts[i].sku, before, a->counts[i].counted,
                         a->counts[i].counted - before) != PROTO_OK)
      rc = NODE_ENOMEM;
  }
  if (rc == NODE_OK && proto_buf_puts(x->result, "]") != PROTO_OK) rc = NODE_ENOMEM;
  if (rc == NODE_ENOMEM) node_err_set(x->err, rc, "out of memory");
  return rc;
}

int node_wsh_sku_sold_out(node_wsctx *x) {
  return node_sku_set_sold_out(x->srv->eng, x->a->sku, x->a->sold_out, x->by, x->err);
}

int node_wsh_settings_set(node_wsctx *x) {
  return node_settings_set(x->srv->eng, &x->a->settings, x->by, x->err);
}
