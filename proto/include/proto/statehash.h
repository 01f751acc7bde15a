/* proto/statehash.h - one canonical digest of a store's materialised state.
 *
 * HQ keeps a copy of every store's state (orders, SKUs with their stock,
 * settings) built by the same merge as the box.  Once both hold the same
 * set of events the two copies must be equal; this digest is how the
 * convergence tests and the debug endpoints (hq `GET /api/v1/debug/
 * statehash?store=<id>`, storenode `GET /debug/statehash`) compare them
 * without shipping the rows.  Node and HQ feed their rows through these
 * same functions, so a difference in the digest is a difference in state.
 *
 * What is hashed, per row kind (each row's own canonical hash, then mixed):
 *   order     proto_order_hash, only once its dispatch has arrived (a box
 *             lists only those: an order known by later events alone is a
 *             transient that the dispatch completes)
 *   SKU       proto_sku_hash of its registers plus its on-hand stock, for
 *             every SKU with a catalog/availability row or a stock row
 *             (caller: proto_sku_init for a missing register row, on_hand 0
 *             for a missing stock row)
 *   settings  proto_settings_hash of the store's settings
 * Rows are combined by wrapping addition of their mixed hashes: the digest
 * is a function of the multiset of rows, independent of the order in which
 * the caller visits them (a duplicate row changes it).
 */
#ifndef PROTO_STATEHASH_H
#define PROTO_STATEHASH_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/order.h"
#include "proto/settings.h"
#include "proto/sku.h"

typedef enum { PROTO_SH_ORDERS, PROTO_SH_SKUS, PROTO_SH_SETTINGS, PROTO_SH__COUNT } proto_sh_part;

typedef struct proto_state_hash {
  uint64_t sum[PROTO_SH__COUNT];   /* wrapping sum of the rows' mixed hashes */
  uint64_t n[PROTO_SH__COUNT];     /* rows hashed */
} proto_state_hash;

void proto_state_hash_init(proto_state_hash *h);
/* false (nothing added) for an order whose dispatch has not arrived. */
bool proto_state_hash_order(proto_state_hash *h, const proto_order *o);
void proto_state_hash_sku(proto_state_hash *h, const proto_sku *s, int64_t on_hand);
void proto_state_hash_settings(proto_state_hash *h, const proto_settings *s);
/* The digest of one part, or of everything (part == PROTO_SH__COUNT). */
uint64_t proto_state_hash_value(const proto_state_hash *h, proto_sh_part part);

#endif
