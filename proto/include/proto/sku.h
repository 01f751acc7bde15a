/* proto/sku.h - per-store SKU registers: catalog entry and availability.
 *
 * Two independent last-writer-wins registers ordered by (hlc, origin):
 * the catalog entry (name, price, low threshold; written by HQ) and the
 * availability flag (sold out / 沽清; written by staff or by the stock rule).
 * Keeping them apart means a price change never undoes a sold-out toggle.
 */
#ifndef PROTO_SKU_H
#define PROTO_SKU_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/event.h"
#include "proto/order.h"

typedef struct proto_sku {
  char sku[PROTO_ID_MAX];
  proto_stamp catalog_stamp;        /* hlc 0: no catalog entry yet */
  proto_ev_catalog catalog;
  proto_stamp avail_stamp;          /* hlc 0: never toggled (available) */
  proto_ev_avail avail;
} proto_sku;

void proto_sku_init(proto_sku *s, const char *sku);
/* Apply sku.availability or catalog.entry for this SKU; PROTO_EINVAL otherwise. */
int proto_sku_apply(proto_sku *s, const proto_event *ev);
void proto_sku_merge(proto_sku *into, const proto_sku *from);
bool proto_sku_sold_out(const proto_sku *s);
uint64_t proto_sku_hash(const proto_sku *s);

#endif
