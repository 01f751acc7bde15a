/* stock.c - on-hand stock of one SKU at one store; rules in proto/stock.h.
 *
 * Invariants:
 *   S1 count_stamp is the highest (hlc, origin) of every stocktake applied
 *      (hlc 0: none yet, and the count is taken as 0)
 *   S2 a delta (origin, seq) is covered iff seq <= count.seen[origin]; the
 *      test depends on the winning count only                proto_stock_covers()
 *   S3 unseen = sum of the uncovered deltas applied since the count last
 *      changed; when a stocktake wins, unseen restarts at 0 and *recount asks
 *      the caller to re-add every delta it holds, so unseen is again the sum
 *      over ALL known uncovered deltas                   proto_stock_apply()
 *   => on_hand = counted + unseen is a pure function of the set of events:
 *      the winner is the maximum of a total order, and coverage depends only
 *      on the winner, whatever the arrival order.       proto_stock_on_hand()
 * A losing stocktake changes nothing.  Deduplication is the event log's: a
 * delta added twice is counted twice.
 *
 * The reset-swallows-increment case: a count of 10 that had seen store:5
 * meets hq's receive of +5 (hq:3) that it had not seen: on_hand = 15, in
 * whichever order the two arrive.
 */
#include <string.h>

#include "proto_int.h"

void proto_stock_init(proto_stock *s, const char *sku) {
  memset(s, 0, sizeof *s);
  proto__strlcpy(s->sku, sku ? sku : "", sizeof s->sku);
}

bool proto_stock_covers(const proto_stock *s, const char *origin, uint64_t seq) {
  if (s->count_stamp.hlc == 0) return false;
  uint32_t n = s->count.n_seen < PROTO_SEEN_MAX ? s->count.n_seen : PROTO_SEEN_MAX;
  for (uint32_t i = 0; i < n; i++)
    if (seq <= s->count.seen[i].seq && strncmp(s->count.seen[i].origin, origin, PROTO_ID_MAX) == 0)
      return true;
  return false;
}

void proto_stock_add_delta(proto_stock *s, const char *origin, uint64_t seq, int64_t delta) {
  if (!proto_stock_covers(s, origin, seq)) s->unseen += delta;
}

static int apply_delta(proto_stock *s, const proto_event *ev, bool *recount) {
  if (strncmp(ev->body.delta.sku, s->sku, PROTO_ID_MAX) != 0) return PROTO_EINVAL;
  proto_stock_add_delta(s, ev->origin, ev->seq, ev->body.delta.delta);
  return PROTO_OK;
}

static int apply_stocktake(proto_stock *s, const proto_event *ev, bool *recount) {
  const proto_ev_stocktake *st = &ev->body.stocktake;
  if (strncmp(st->sku, s->sku, PROTO_ID_MAX) != 0 || ev->hlc == 0 || st->n_seen > PROTO_SEEN_MAX)
    return PROTO_EINVAL;
  if (!proto__stamp_newer(ev->hlc, ev->origin, &s->count_stamp)) return PROTO_OK;
  proto__stamp_set(&s->count_stamp, ev->hlc, ev->origin);
  s->count = *st;
  s->unseen = 0;
  *recount = true;
  return PROTO_OK;
}

/* PROTO_EINVAL (state unchanged) for another type or SKU, a stocktake with
 * hlc 0 or more than PROTO_SEEN_MAX seen entries. */
int proto_stock_apply(proto_stock *s, const proto_event *ev, bool *recount) {
  bool dummy = false;
  if (!recount) recount = &dummy;
  *recount = false;
  if (ev->type == PROTO_EV_STOCK_DELTA) return apply_delta(s, ev, recount);
  if (ev->type == PROTO_EV_STOCK_STOCKTAKE) return apply_stocktake(s, ev, recount);
  return PROTO_EINVAL;
}

int proto__merge_stock(void *state, const proto_event *ev, bool *recount) {
  return proto_stock_apply(state, ev, recount);
}

int64_t proto_stock_on_hand(const proto_stock *s) {
  return (s->count_stamp.hlc ? s->count.counted : 0) + s->unseen;
}
