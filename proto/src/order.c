/* order.c - materialised state of one order: a grow-only milestone set plus
 * registers, and the legality of local commands.
 *
 * Lifecycle of LOCAL commands (proto_order_check(), table `checks`):
 *
 *   (unknown) --dispatched--> dispatched --accepted--> accepted --preparing--> preparing
 *                                 |                       |                        |
 *                              rejected                 ready                    ready
 *                                 v                       v                        |
 *                              rejected                 ready <--------------------+
 *
 *   pickup:   ready --completed--> completed
 *   delivery: ready --picked_up--> picked_up --delivered--> delivered
 *   express:  ready --shipped----> shipped   --delivered--> delivered
 *             (shipped, picked_up, completed, delivered = handed off)
 *
 *   dispatched|accepted|preparing|ready --cancelled--> cancelled
 *   side events: item_unavailable  while dispatched|accepted|preparing
 *                reminded          while not ended (ended = rejected, cancelled, handed off)
 *                rider.assigned/rider.arrived  delivery orders, while not ended
 *                resolved          only while proto_order_conflict()
 *   Anything but dispatched on an unknown order (no dispatch yet) is illegal;
 *   checks use the derived status, so a delivery whose cancel met its
 *   pickup (status picked_up, in conflict) may still be delivered.
 *
 * Merge rules (remote events are facts and are never refused for being
 * late; each rule is a semilattice join, so the state is a pure function of
 * the SET of events and proto_order_merge() is commutative, associative and
 * idempotent):
 *   R1 milestones grow-only; ms_hlc[m] = MIN non-zero hlc at which m was
 *      reached (the first time, for SLA views); which event reaches which
 *      milestone, and which register it writes, is the table `rules`
 *                                 proto_order_apply(), reach(), merge_milestones()
 *   R2 status = reached status milestone of highest rank  proto_order_status()
 *        dispatched0 accepted1 preparing2 ready3 rejected4 cancelled5
 *        shipped6 picked_up7 completed8 delivered9  (rider_*, reminded: -1)
 *      The set only grows and the max of a growing set only grows, so the
 *      status never moves backwards; cancellation beats every milestone
 *      before handoff.
 *   R3 cancelled AND handed off (shipped|picked_up|completed|delivered):
 *      the handoff status stays, proto_order_conflict() is true and HQ
 *      resolves it (order.resolved); the cancel is never dropped.
 *   R4 info (dispatched body): LWW, highest (hlc, origin)     reg_info()
 *   R5 reject, cancel registers: FIRST writer, lowest stamp -- the reason
 *      kept is the one that actually ended the order    reg_reject(), reg_cancel()
 *   R6 rider, shipped, resolved, remind note: LWW    reg_rider(), reg_shipped(),
 *                                                    reg_resolved(), reg_reminded()
 *   R7 reminders = max(n)                                       reg_reminded()
 *   R8 unavailable: grow-only sorted set of skus; at capacity it keeps the
 *      PROTO_ITEMS_MAX smallest (still a join), apply reports PROTO_EFULL
 *                                                    set_add(), set_union()
 *   R9 store: from the event envelope; all events of an order carry the
 *      same store, should they not, the greatest wins so replicas agree
 *                                                               join_store()
 * Derived, never stored:
 *   D1 reserving: ACCEPTED reached and status accepted|preparing|ready
 *                                                      proto_order_reserving()
 *   D2 reserved(sku) = sum of qty of the info lines of sku; 0 when sku is
 *      unavailable or the order is not reserving         proto_order_reserved()
 *   D3 waste: cancelled, PREPARING or READY reached, not handed off
 *                                                         proto_order_waste()
 *   D4 hash: FNV-1a over a canonical serialisation of the merged fields; a
 *      register's content counts only once written        proto_order_hash()
 */
#include <string.h>

#include "proto_int.h"

#define NO_MS (-1)
#define MS_BIT(m) (1u << PROTO_MS_##m)
#define OPEN_MASK (MS_BIT(DISPATCHED) | MS_BIT(ACCEPTED) | MS_BIT(PREPARING) | MS_BIT(READY))
#define HANDOFF_MASK (MS_BIT(SHIPPED) | MS_BIT(PICKED_UP) | MS_BIT(COMPLETED) | MS_BIT(DELIVERED))

static const char *const ms_names[PROTO_MS__COUNT] = {
#define PROTO__MS_NAME(e, name, rank) [PROTO_MS_##e] = name,
    PROTO_MILESTONE_MAP(PROTO__MS_NAME)
#undef PROTO__MS_NAME
};

static const int ms_ranks[PROTO_MS__COUNT] = {
#define PROTO__MS_RANK(e, name, rank) [PROTO_MS_##e] = rank,
    PROTO_MILESTONE_MAP(PROTO__MS_RANK)
#undef PROTO__MS_RANK
};

/* ---- stamps and registers ----------------------------------------------- */

static bool stamp_newer(const proto_stamp *cand, const proto_stamp *cur) {
  return cand->hlc != 0 && proto__stamp_newer(cand->hlc, cand->origin, cur);
}

/* First-writer register: the lowest non-zero stamp wins. */
static bool stamp_earlier(const proto_stamp *cand, const proto_stamp *cur) {
  if (cand->hlc == 0) return false;
  return cur->hlc == 0 || proto_stamp_cmp(cand->hlc, cand->origin, cur->hlc, cur->origin) < 0;
}

static void join_store(proto_order *o, const char *store) {
  if (store[0] && strcmp(store, o->store) > 0) proto__strlcpy(o->store, store, sizeof o->store);
}

static void reach(proto_order *o, int m, uint64_t hlc) {
  if (m == NO_MS || hlc == 0) return;
  if (o->ms_hlc[m] == 0 || hlc < o->ms_hlc[m]) o->ms_hlc[m] = hlc;
}

/* ---- unavailable set (R8) ------------------------------------------------ */

/* Index of sku in the sorted set, or where it would go (*found false). */
static uint32_t set_find(const proto_order *o, const char *sku, bool *found) {
  uint32_t lo = 0, hi = o->n_unavailable;
  *found = false;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = strcmp(o->unavailable[mid], sku);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Add sku.  When the set is full the PROTO_ITEMS_MAX smallest skus of the
 * union are kept (so replicas agree whatever the arrival order) and
 * PROTO_EFULL reports that capacity was exceeded. */
static int set_add(proto_order *o, const char *sku) {
  bool found = false;
  uint32_t i = set_find(o, sku, &found);
  if (found) return PROTO_OK;
  bool full = o->n_unavailable >= PROTO_ITEMS_MAX;
  if (full && i >= PROTO_ITEMS_MAX) return PROTO_EFULL;
  uint32_t n = full ? PROTO_ITEMS_MAX - 1 : o->n_unavailable;
  memmove(o->unavailable[i + 1], o->unavailable[i], (size_t)(n - i) * PROTO_ID_MAX);
  proto__strlcpy(o->unavailable[i], sku, PROTO_ID_MAX);
  o->n_unavailable = n + 1;
  return full ? PROTO_EFULL : PROTO_OK;
}

static void set_union(proto_order *into, const proto_order *from) {
  char u[PROTO_ITEMS_MAX][PROTO_ID_MAX];
  uint32_t i = 0, j = 0, n = 0;
  uint32_t ni = into->n_unavailable, nj = from->n_unavailable;
  if (ni > PROTO_ITEMS_MAX) ni = PROTO_ITEMS_MAX;
  if (nj > PROTO_ITEMS_MAX) nj = PROTO_ITEMS_MAX;
  while (n < PROTO_ITEMS_MAX && (i < ni || j < nj)) {
    int c = i == ni ? 1 : j == nj ? -1 : strcmp(into->unavailable[i], from->unavailable[j]);
    const char *s = c <= 0 ? into->unavailable[i] : from->unavailable[j];
    proto__strlcpy(u[n++], s, PROTO_ID_MAX);
    i += c <= 0;
    j += c >= 0;
  }
  if (n) memcpy(into->unavailable, u, (size_t)n * PROTO_ID_MAX);
  into->n_unavailable = n;
}

/* ---- per-event registers (apply) ------------------------------------------ */

typedef int (*reg_fn)(proto_order *o, const proto_event *ev, const proto_stamp *st);

static int reg_info(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_newer(st, &o->info_stamp)) {
    o->info_stamp = *st;
    o->info = ev->body.dispatched;
  }
  return PROTO_OK;
}

static int reg_reject(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_earlier(st, &o->reject_stamp)) {
    o->reject_stamp = *st;
    o->reject_reason = ev->body.rejected.reason;
  }
  return PROTO_OK;
}

static int reg_cancel(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_earlier(st, &o->cancel_stamp)) {
    o->cancel_stamp = *st;
    o->cancel_by = ev->body.cancelled.by;
    proto__strlcpy(o->cancel_reason, ev->body.cancelled.reason, sizeof o->cancel_reason);
  }
  return PROTO_OK;
}

static int reg_shipped(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_newer(st, &o->ship_stamp)) {
    o->ship_stamp = *st;
    o->shipped = ev->body.shipped;
  }
  return PROTO_OK;
}

static int reg_rider(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_newer(st, &o->rider_stamp)) {
    o->rider_stamp = *st;
    o->rider = ev->body.rider;
  }
  return PROTO_OK;
}

static int reg_resolved(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (stamp_newer(st, &o->resolve_stamp)) {
    o->resolve_stamp = *st;
    o->resolved = ev->body.resolved;
  }
  return PROTO_OK;
}

static int reg_reminded(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  if (ev->body.reminded.n > o->reminders) o->reminders = ev->body.reminded.n;
  if (stamp_newer(st, &o->remind_stamp)) {
    o->remind_stamp = *st;
    proto__strlcpy(o->remind_note, ev->body.reminded.note, sizeof o->remind_note);
  }
  return PROTO_OK;
}

static int reg_item(proto_order *o, const proto_event *ev, const proto_stamp *st) {
  return set_add(o, ev->body.item.sku);
}

/* What each order event does: the milestone it reaches and its register.
 * Table over a switch: adding an order event type is one row here and one
 * in `checks` below. */
typedef struct order_rule {
  bool is_order;
  int ms;
  reg_fn reg;
} order_rule;

#define RULE(e, m, fn) [PROTO_EV_##e] = {true, m, fn}
static const order_rule rules[PROTO_EV__COUNT] = {
    RULE(ORDER_DISPATCHED, PROTO_MS_DISPATCHED, reg_info),
    RULE(ORDER_ACCEPTED, PROTO_MS_ACCEPTED, NULL),
    RULE(ORDER_REJECTED, PROTO_MS_REJECTED, reg_reject),
    RULE(ORDER_PREPARING, PROTO_MS_PREPARING, NULL),
    RULE(ORDER_READY, PROTO_MS_READY, NULL),
    RULE(ORDER_SHIPPED, PROTO_MS_SHIPPED, reg_shipped),
    RULE(ORDER_PICKED_UP, PROTO_MS_PICKED_UP, NULL),
    RULE(ORDER_COMPLETED, PROTO_MS_COMPLETED, NULL),
    RULE(ORDER_DELIVERED, PROTO_MS_DELIVERED, NULL),
    RULE(ORDER_CANCELLED, PROTO_MS_CANCELLED, reg_cancel),
    RULE(ORDER_REMINDED, PROTO_MS_REMINDED, reg_reminded),
    RULE(ORDER_ITEM_UNAVAILABLE, NO_MS, reg_item),
    RULE(ORDER_RESOLVED, NO_MS, reg_resolved),
    RULE(RIDER_ASSIGNED, PROTO_MS_RIDER_ASSIGNED, reg_rider),
    RULE(RIDER_ARRIVED, PROTO_MS_RIDER_ARRIVED, NULL),
};
#undef RULE

void proto_order_init(proto_order *o, const char *order_id, const char *store) {
  memset(o, 0, sizeof *o);
  proto__strlcpy(o->order_id, order_id ? order_id : "", sizeof o->order_id);
  proto__strlcpy(o->store, store ? store : "", sizeof o->store);
}

/* Apply one event.  PROTO_EINVAL (state unchanged) for a non-order event,
 * another order's event or hlc 0; PROTO_EFULL: see set_add(). */
int proto_order_apply(proto_order *o, const proto_event *ev) {
  if ((int)ev->type < 0 || ev->type >= PROTO_EV__COUNT || !rules[ev->type].is_order)
    return PROTO_EINVAL;
  if (ev->hlc == 0 || strncmp(ev->body.step.order_id, o->order_id, PROTO_ID_MAX) != 0)
    return PROTO_EINVAL;
  const order_rule *r = &rules[ev->type];
  proto_stamp st;
  proto__stamp_set(&st, ev->hlc, ev->origin);
  int rc = r->reg ? r->reg(o, ev, &st) : PROTO_OK;
  reach(o, r->ms, ev->hlc);
  join_store(o, ev->store);
  return rc;
}

int proto__merge_order(void *state, const proto_event *ev, bool *recount) {
  *recount = false;
  return proto_order_apply(state, ev);
}

/* ---- state join ----------------------------------------------------------- */

static void merge_milestones(proto_order *into, const proto_order *from) {
  for (int m = 0; m < PROTO_MS__COUNT; m++) reach(into, m, from->ms_hlc[m]);
}

static void merge_registers(proto_order *into, const proto_order *from) {
  if (stamp_newer(&from->info_stamp, &into->info_stamp)) {
    into->info_stamp = from->info_stamp;
    into->info = from->info;
  }
  if (stamp_earlier(&from->reject_stamp, &into->reject_stamp)) {
    into->reject_stamp = from->reject_stamp;
    into->reject_reason = from->reject_reason;
  }
  if (stamp_earlier(&from->cancel_stamp, &into->cancel_stamp)) {
    into->cancel_stamp = from->cancel_stamp;
    into->cancel_by = from->cancel_by;
    memcpy(into->cancel_reason, from->cancel_reason, sizeof into->cancel_reason);
  }
  if (stamp_newer(&from->rider_stamp, &into->rider_stamp)) {
    into->rider_stamp = from->rider_stamp;
    into->rider = from->rider;
  }
  if (stamp_newer(&from->ship_stamp, &into->ship_stamp)) {
    into->ship_stamp = from->ship_stamp;
    into->shipped = from->shipped;
  }
  if (stamp_newer(&from->resolve_stamp, &into->resolve_stamp)) {
    into->resolve_stamp = from->resolve_stamp;
    into->resolved = from->resolved;
  }
  if (from->reminders > into->reminders) into->reminders = from->reminders;
  if (stamp_newer(&from->remind_stamp, &into->remind_stamp)) {
    into->remind_stamp = from->remind_stamp;
    memcpy(into->remind_note, from->remind_note, sizeof into->remind_note);
  }
}

/* Orders with different ids are left alone: there is nothing to join. */
void proto_order_merge(proto_order *into, const proto_order *from) {
  if (into == from || strncmp(into->order_id, from->order_id, PROTO_ID_MAX) != 0) return;
  merge_milestones(into, from);
  merge_registers(into, from);
  set_union(into, from);
  join_store(into, from->store);
}

/* ---- derived views -------------------------------------------------------- */

const char *proto_milestone_name(proto_milestone m) {
  return (int)m >= 0 && m < PROTO_MS__COUNT ? ms_names[m] : NULL;
}

int proto_milestone_rank(proto_milestone m) {
  return (int)m >= 0 && m < PROTO_MS__COUNT ? ms_ranks[m] : -1;
}

bool proto_order_reached(const proto_order *o, proto_milestone m) {
  return (int)m >= 0 && m < PROTO_MS__COUNT && o->ms_hlc[m] != 0;
}

static unsigned reached_mask(const proto_order *o) {
  unsigned mask = 0;
  for (int m = 0; m < PROTO_MS__COUNT; m++)
    if (o->ms_hlc[m]) mask |= 1u << m;
  return mask;
}

/* With nothing reached yet (events not arrived) the status is dispatched,
 * the lowest rank. */
proto_milestone proto_order_status(const proto_order *o) {
  proto_milestone best = PROTO_MS_DISPATCHED;
  for (int m = 0; m < PROTO_MS__COUNT; m++)
    if (o->ms_hlc[m] && ms_ranks[m] > ms_ranks[best]) best = (proto_milestone)m;
  return best;
}

bool proto_order_handed_off(const proto_order *o) { return (reached_mask(o) & HANDOFF_MASK) != 0; }

bool proto_order_conflict(const proto_order *o) {
  return proto_order_reached(o, PROTO_MS_CANCELLED) && proto_order_handed_off(o);
}

bool proto_order_waste(const proto_order *o) {
  return proto_order_reached(o, PROTO_MS_CANCELLED) &&
         (proto_order_reached(o, PROTO_MS_PREPARING) || proto_order_reached(o, PROTO_MS_READY)) &&
         !proto_order_handed_off(o);
}

bool proto_order_reserving(const proto_order *o) {
  const unsigned holding = MS_BIT(ACCEPTED) | MS_BIT(PREPARING) | MS_BIT(READY);
  return proto_order_reached(o, PROTO_MS_ACCEPTED) && ((1u << proto_order_status(o)) & holding);
}

bool proto_order_item_unavailable(const proto_order *o, const char *sku) {
  bool found = false;
  set_find(o, sku, &found);
  return found;
}

int64_t proto_order_reserved(const proto_order *o, const char *sku) {
  int64_t sum = 0;
  if (!proto_order_reserving(o) || proto_order_item_unavailable(o, sku)) return 0;
  uint32_t n = o->info.n_items < PROTO_ITEMS_MAX ? o->info.n_items : PROTO_ITEMS_MAX;
  for (uint32_t i = 0; i < n; i++)
    if (strncmp(o->info.items[i].sku, sku, PROTO_ID_MAX) == 0) sum += o->info.items[i].qty;
  return sum;
}

/* ---- legality of local commands -------------------------------------------- */

enum { NEEDS_KNOWN, NEEDS_UNKNOWN, NEEDS_CONFLICT };

/* from[kind]: statuses (bit per milestone) the command is legal in; 0 for a
 * kind the command does not apply to. */
typedef struct check_rule {
  int needs;
  unsigned from[PROTO_KIND__COUNT];
} check_rule;

#define ALL_KINDS(mask) {mask, mask, mask}
#define KINDS(p, d, x) \
  {[PROTO_KIND_PICKUP] = p, [PROTO_KIND_DELIVERY] = d, [PROTO_KIND_EXPRESS] = x}
static const check_rule checks[PROTO_EV__COUNT] = {
    [PROTO_EV_ORDER_DISPATCHED] = {NEEDS_UNKNOWN, ALL_KINDS(~0u)},
    [PROTO_EV_ORDER_ACCEPTED] = {NEEDS_KNOWN, ALL_KINDS(MS_BIT(DISPATCHED))},
    [PROTO_EV_ORDER_REJECTED] = {NEEDS_KNOWN, ALL_KINDS(MS_BIT(DISPATCHED))},
    [PROTO_EV_ORDER_PREPARING] = {NEEDS_KNOWN, ALL_KINDS(MS_BIT(ACCEPTED))},
    [PROTO_EV_ORDER_READY] = {NEEDS_KNOWN, ALL_KINDS(MS_BIT(ACCEPTED) | MS_BIT(PREPARING))},
    [PROTO_EV_ORDER_COMPLETED] = {NEEDS_KNOWN, KINDS(MS_BIT(READY), 0, 0)},
    [PROTO_EV_ORDER_PICKED_UP] = {NEEDS_KNOWN, KINDS(0, MS_BIT(READY), 0)},
    [PROTO_EV_ORDER_SHIPPED] = {NEEDS_KNOWN, KINDS(0, 0, MS_BIT(READY))},
    [PROTO_EV_ORDER_DELIVERED] = {NEEDS_KNOWN, KINDS(0, MS_BIT(PICKED_UP), MS_BIT(SHIPPED))},
    [PROTO_EV_ORDER_CANCELLED] = {NEEDS_KNOWN, ALL_KINDS(OPEN_MASK)},
    [PROTO_EV_ORDER_REMINDED] = {NEEDS_KNOWN, ALL_KINDS(OPEN_MASK)},
    [PROTO_EV_ORDER_ITEM_UNAVAILABLE] =
        {NEEDS_KNOWN, ALL_KINDS(MS_BIT(DISPATCHED) | MS_BIT(ACCEPTED) | MS_BIT(PREPARING))},
    [PROTO_EV_ORDER_RESOLVED] = {NEEDS_CONFLICT, ALL_KINDS(~0u)},
    [PROTO_EV_RIDER_ASSIGNED] = {NEEDS_KNOWN, KINDS(0, OPEN_MASK, 0)},
    [PROTO_EV_RIDER_ARRIVED] = {NEEDS_KNOWN, KINDS(0, OPEN_MASK, 0)},
};
#undef ALL_KINDS
#undef KINDS

int proto_order_check(const proto_order *o, proto_event_type t, proto_err *err) {
  const char *tname = proto_event_type_name(t);
  if (!tname || !rules[t].is_order)
    return proto_err_set(err, PROTO_EINVAL, "type: %d is not an order event type", (int)t);
  const check_rule *c = &checks[t];
  bool known = o->info_stamp.hlc != 0;
  const char *status = proto_milestone_name(proto_order_status(o));
  if (c->needs == NEEDS_UNKNOWN || !known) {
    if (c->needs == NEEDS_UNKNOWN && !known) return PROTO_OK;
    return proto_err_set(err, PROTO_EILLEGAL, "cannot %s order %s: it is %s", tname, o->order_id,
                         known ? status : "unknown");
  }
  if (c->needs == NEEDS_CONFLICT && !proto_order_conflict(o))
    return proto_err_set(err, PROTO_EILLEGAL, "cannot %s order %s: it is %s (no conflict)", tname,
                         o->order_id, status);
  int kind = (int)o->info.kind;
  unsigned from = kind >= 0 && kind < PROTO_KIND__COUNT ? c->from[kind] : 0;
  if (from == 0)
    return proto_err_set(err, PROTO_EILLEGAL, "cannot %s order %s: it is %s (a %s order)", tname,
                         o->order_id, status,
                         proto_order_kind_name(o->info.kind) ? proto_order_kind_name(o->info.kind)
                                                             : "?");
  if (((1u << proto_order_status(o)) & from) == 0)
    return proto_err_set(err, PROTO_EILLEGAL, "cannot %s order %s: it is %s", tname, o->order_id,
                         status);
  return PROTO_OK;
}

/* ---- canonical hash --------------------------------------------------------- */

#define H_STR(h, s) proto__fnv_str(h, s)

static uint64_t h_stamp(uint64_t h, const proto_stamp *s) {
  h = proto__fnv_u64(h, s->hlc);
  return s->hlc ? H_STR(h, s->origin) : h;
}

static uint64_t h_info(uint64_t h, const proto_ev_dispatched *d) {
  uint32_t n = d->n_items < PROTO_ITEMS_MAX ? d->n_items : PROTO_ITEMS_MAX;
  h = H_STR(h, d->order_id);
  h = proto__fnv_u64(h, (uint64_t)d->kind);
  h = proto__fnv_u64(h, n);
  for (uint32_t i = 0; i < n; i++) {
    const proto_item *it = &d->items[i];
    h = H_STR(H_STR(h, it->sku), it->name);
    h = proto__fnv_u64(proto__fnv_u64(h, (uint64_t)it->qty), (uint64_t)it->price);
  }
  h = H_STR(H_STR(h, d->pickup_code), d->customer);
  h = H_STR(H_STR(h, d->phone_tail), d->note);
  return proto__fnv_u64(proto__fnv_u64(h, (uint64_t)d->total), d->placed_ms);
}

/* Each register's content is hashed only when it was written (stamp != 0):
 * an unwritten register's bytes are not part of the state. */
static uint64_t h_registers(uint64_t h, const proto_order *o) {
  h = h_stamp(h, &o->info_stamp);
  if (o->info_stamp.hlc) h = h_info(h, &o->info);
  h = h_stamp(h, &o->reject_stamp);
  if (o->reject_stamp.hlc) h = proto__fnv_u64(h, (uint64_t)o->reject_reason);
  h = h_stamp(h, &o->cancel_stamp);
  if (o->cancel_stamp.hlc) h = H_STR(proto__fnv_u64(h, (uint64_t)o->cancel_by), o->cancel_reason);
  h = h_stamp(h, &o->rider_stamp);
  if (o->rider_stamp.hlc) {
    h = H_STR(H_STR(H_STR(h, o->rider.order_id), o->rider.name), o->rider.phone_tail);
    h = proto__fnv_u64(h, o->rider.eta_ms);
  }
  h = h_stamp(h, &o->ship_stamp);
  if (o->ship_stamp.hlc)
    h = H_STR(H_STR(H_STR(h, o->shipped.order_id), o->shipped.courier), o->shipped.tracking);
  h = h_stamp(h, &o->resolve_stamp);
  if (o->resolve_stamp.hlc)
    h = H_STR(H_STR(H_STR(h, o->resolved.order_id), o->resolved.resolution), o->resolved.note);
  h = proto__fnv_u64(h, o->reminders);
  h = h_stamp(h, &o->remind_stamp);
  if (o->remind_stamp.hlc) h = H_STR(h, o->remind_note);
  return h;
}

uint64_t proto_order_hash(const proto_order *o) {
  uint64_t h = H_STR(H_STR(PROTO__FNV_INIT, o->order_id), o->store);
  for (int m = 0; m < PROTO_MS__COUNT; m++) h = proto__fnv_u64(h, o->ms_hlc[m]);
  h = h_registers(h, o);
  uint32_t n = o->n_unavailable < PROTO_ITEMS_MAX ? o->n_unavailable : PROTO_ITEMS_MAX;
  h = proto__fnv_u64(h, n);
  for (uint32_t i = 0; i < n; i++) h = H_STR(h, o->unavailable[i]);
  return h;
}
