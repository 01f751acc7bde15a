/* proto/stock.h - on-hand stock of one SKU at one store.
 *
 * Stock is a set of delta events (receive, sale, waste, transfers,
 * corrections) plus stocktakes.  A stocktake carries the counted value and,
 * per origin, the highest seq it had seen.  The winning stocktake is the one
 * with the highest (hlc, origin) stamp, and
 *
 *     on_hand = winner.counted + sum(delta d : d not covered by winner.seen)
 *
 * where d = (origin, seq) is covered when seq <= winner.seen[origin].  A count
 * therefore never swallows a delivery it did not see (the naive counter's
 * reset-swallows-increment bug), and deltas it did see are never counted
 * twice.  Deduplication of events is the event log's job ((origin, seq) is
 * unique); this state is a pure function of the set of events.
 *
 * Applying:
 *   delta     -> proto_stock_apply(): added to `unseen` unless covered.
 *   stocktake -> proto_stock_apply(): if it wins, it replaces the count,
 *                `unseen` restarts at 0 and *recount is set: the caller then
 *                feeds every delta it holds for this SKU to
 *                proto_stock_add_delta() (node/HQ: one indexed SQL scan).
 * Reserved stock is not stored here; it is derived from open orders
 * (proto_order_reserved), so it cannot drift.
 */
#ifndef PROTO_STOCK_H
#define PROTO_STOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/event.h"
#include "proto/order.h"

typedef struct proto_stock {
  char sku[PROTO_ID_MAX];
  proto_stamp count_stamp;          /* hlc 0: no stocktake yet (counted = 0) */
  proto_ev_stocktake count;
  int64_t unseen;                   /* sum of deltas the winning count lacks */
} proto_stock;

void proto_stock_init(proto_stock *s, const char *sku);
/* Apply a stock.delta or stock.stocktake for this SKU; PROTO_EINVAL otherwise.
 * *recount (required) is set true when a stocktake won and the caller must
 * re-add every known delta with proto_stock_add_delta(). */
int proto_stock_apply(proto_stock *s, const proto_event *ev, bool *recount);
/* Add one delta (origin, seq, delta) unless the current count covers it. */
void proto_stock_add_delta(proto_stock *s, const char *origin, uint64_t seq, int64_t delta);
bool proto_stock_covers(const proto_stock *s, const char *origin, uint64_t seq);
int64_t proto_stock_on_hand(const proto_stock *s);

#endif
