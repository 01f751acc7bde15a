/* test_order.c - order merge rules and the legality of local commands. */
#include <stdio.h>
#include <string.h>

#include "merge_util.h"

#define OID "o1"

static proto_event ev_at(proto_event_type t, const char *origin, uint64_t hlc) {
  return tu_ev(t, origin, hlc, hlc, OID);
}

static void apply_at(proto_order *o, proto_event_type t, const char *origin, uint64_t hlc) {
  proto_event ev = ev_at(t, origin, hlc);
  tu_apply_ok(o, &ev);
}

static void dispatched(proto_order *o, proto_order_kind k, uint64_t hlc) {
  proto_event ev = tu_dispatch("hq", 1, hlc, OID, k, 3, "apple", 2, "pear", 1, "apple", 3);
  proto_order_init(o, OID, "s1");
  tu_apply_ok(o, &ev);
}

static void test_pickup_lifecycle(void **st) {
  static const proto_event_type steps[] = {PROTO_EV_ORDER_ACCEPTED, PROTO_EV_ORDER_PREPARING,
                                           PROTO_EV_ORDER_READY, PROTO_EV_ORDER_COMPLETED};
  static const proto_milestone want[] = {PROTO_MS_ACCEPTED, PROTO_MS_PREPARING, PROTO_MS_READY,
                                         PROTO_MS_COMPLETED};
  proto_order o;
  dispatched(&o, PROTO_KIND_PICKUP, 100);
  assert_int_equal(proto_order_status(&o), PROTO_MS_DISPATCHED);
  assert_int_equal(o.ms_hlc[PROTO_MS_DISPATCHED], 100);
  assert_string_equal(o.info.items[1].sku, "pear");
  for (int i = 0; i < 4; i++) {
    assert_int_equal(proto_order_check(&o, steps[i], NULL), PROTO_OK);
    apply_at(&o, steps[i], "s1", 200 + (uint64_t)i);
    assert_int_equal(proto_order_status(&o), want[i]);
    assert_true(proto_order_reached(&o, want[i]));
  }
  assert_true(proto_order_handed_off(&o));
  assert_false(proto_order_conflict(&o));
  assert_string_equal(proto_milestone_name(PROTO_MS_COMPLETED), "completed");
  assert_int_equal(proto_milestone_rank(PROTO_MS_DELIVERED), 9);
  assert_int_equal(proto_milestone_rank(PROTO_MS_RIDER_ASSIGNED), -1);
  assert_null(proto_milestone_name(PROTO_MS__COUNT));
}

static void test_first_hlc_kept(void **st) {
  proto_order o;
  dispatched(&o, PROTO_KIND_PICKUP, 10);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "tabA", 50);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "tabB", 30);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "tabC", 70);
  assert_int_equal(o.ms_hlc[PROTO_MS_ACCEPTED], 30);
  /* a second dispatch (later) does not move the dispatched milestone */
  proto_event d2 = tu_dispatch("hq", 2, 90, OID, PROTO_KIND_PICKUP, 1, "kiwi", 1);
  tu_apply_ok(&o, &d2);
  assert_int_equal(o.ms_hlc[PROTO_MS_DISPATCHED], 10);
  assert_string_equal(o.info.items[0].sku, "kiwi"); /* but info is LWW */
  assert_int_equal(o.info_stamp.hlc, 90);
  proto_event d1 = tu_dispatch("hq", 3, 20, OID, PROTO_KIND_PICKUP, 1, "fig", 1);
  tu_apply_ok(&o, &d1);
  assert_string_equal(o.info.items[0].sku, "kiwi");
}

static void test_status_rank(void **st) {
  proto_order o;
  dispatched(&o, PROTO_KIND_DELIVERY, 10);
  apply_at(&o, PROTO_EV_ORDER_READY, "s1", 40);
  apply_at(&o, PROTO_EV_ORDER_CANCELLED, "hq", 30); /* cancel beats ready */
  assert_int_equal(proto_order_status(&o), PROTO_MS_CANCELLED);
  apply_at(&o, PROTO_EV_ORDER_REJECTED, "s1", 20);
  assert_int_equal(proto_order_status(&o), PROTO_MS_CANCELLED);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "s1", 50); /* late: status never moves back */
  apply_at(&o, PROTO_EV_RIDER_ASSIGNED, "hq", 60);
  apply_at(&o, PROTO_EV_RIDER_ARRIVED, "hq", 61);
  apply_at(&o, PROTO_EV_ORDER_REMINDED, "hq", 62);
  assert_int_equal(proto_order_status(&o), PROTO_MS_CANCELLED);
  assert_true(proto_order_reached(&o, PROTO_MS_RIDER_ARRIVED));
  /* nothing reached yet: the lowest status */
  proto_order e;
  proto_order_init(&e, OID, "s1");
  assert_int_equal(proto_order_status(&e), PROTO_MS_DISPATCHED);
  apply_at(&e, PROTO_EV_ORDER_REJECTED, "s1", 5);
  assert_int_equal(proto_order_status(&e), PROTO_MS_REJECTED);
}

static void test_conflict(void **st) {
  proto_order o;
  dispatched(&o, PROTO_KIND_DELIVERY, 10);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "s1", 20);
  apply_at(&o, PROTO_EV_ORDER_PREPARING, "s1", 21);
  apply_at(&o, PROTO_EV_ORDER_READY, "s1", 22);
  apply_at(&o, PROTO_EV_ORDER_PICKED_UP, "s1", 30);
  assert_false(proto_order_conflict(&o));
  apply_at(&o, PROTO_EV_ORDER_CANCELLED, "hq", 29); /* cancelled while offline */
  assert_int_equal(proto_order_status(&o), PROTO_MS_PICKED_UP);
  assert_true(proto_order_conflict(&o));
  assert_false(proto_order_waste(&o)); /* the food left the store */
  assert_int_equal(o.cancel_stamp.hlc, 29);
  assert_int_equal(proto_order_check(&o, PROTO_EV_ORDER_RESOLVED, NULL), PROTO_OK);
  proto_event r = ev_at(PROTO_EV_ORDER_RESOLVED, "hq", 40);
  strcpy(r.body.resolved.resolution, "refund");
  tu_apply_ok(&o, &r);
  apply_at(&o, PROTO_EV_ORDER_DELIVERED, "hq", 50);
  assert_int_equal(proto_order_status(&o), PROTO_MS_DELIVERED);
  assert_true(proto_order_conflict(&o)); /* kept, resolution recorded beside it */
  assert_string_equal(o.resolved.resolution, "refund");
}

static void test_waste(void **st) {
  proto_order a, b, c;
  dispatched(&a, PROTO_KIND_PICKUP, 10);
  apply_at(&a, PROTO_EV_ORDER_ACCEPTED, "s1", 20);
  apply_at(&a, PROTO_EV_ORDER_CANCELLED, "hq", 30);
  assert_false(proto_order_waste(&a));
  dispatched(&b, PROTO_KIND_PICKUP, 10);
  apply_at(&b, PROTO_EV_ORDER_PREPARING, "s1", 20);
  assert_false(proto_order_waste(&b));
  apply_at(&b, PROTO_EV_ORDER_CANCELLED, "hq", 30);
  assert_true(proto_order_waste(&b));
  dispatched(&c, PROTO_KIND_PICKUP, 10);
  apply_at(&c, PROTO_EV_ORDER_READY, "s1", 20);
  apply_at(&c, PROTO_EV_ORDER_CANCELLED, "hq", 30);
  assert_true(proto_order_waste(&c));
}

static void test_reserved(void **st) {
  proto_order o;
  dispatched(&o, PROTO_KIND_PICKUP, 10);
  assert_false(proto_order_reserving(&o));
  assert_int_equal(proto_order_reserved(&o, "apple"), 0);
  apply_at(&o, PROTO_EV_ORDER_ACCEPTED, "s1", 20);
  assert_true(proto_order_reserving(&o));
  assert_int_equal(proto_order_reserved(&o, "apple"), 5); /* two lines: 2 + 3 */
  assert_int_equal(proto_order_reserved(&o, "pear"), 1);
  assert_int_equal(proto_order_reserved(&o, "plum"), 0);
  proto_event it = ev_at(PROTO_EV_ORDER_ITEM_UNAVAILABLE, "s1", 25);
  strcpy(it.body.item.sku, "apple");
  tu_apply_ok(&o, &it);
  assert_true(proto_order_item_unavailable(&o, "apple"));
  assert_int_equal(proto_order_reserved(&o, "apple"), 0);
  apply_at(&o, PROTO_EV_ORDER_PREPARING, "s1", 30);
  apply_at(&o, PROTO_EV_ORDER_READY, "s1", 40);
  assert_int_equal(proto_order_reserved(&o, "pear"), 1);
  apply_at(&o, PROTO_EV_ORDER_COMPLETED, "s1", 50);
  assert_false(proto_order_reserving(&o));
  assert_int_equal(proto_order_reserved(&o, "pear"), 0);
  /* ready without accepted (accept event not arrived): not reserving */
  proto_order r;
  dispatched(&r, PROTO_KIND_PICKUP, 10);
  apply_at(&r, PROTO_EV_ORDER_READY, "s1", 20);
  assert_false(proto_order_reserving(&r));
  apply_at(&r, PROTO_EV_ORDER_ACCEPTED, "s1", 15);
  assert_int_equal(proto_order_reserved(&r, "pear"), 1);
  apply_at(&r, PROTO_EV_ORDER_REJECTED, "s2", 16);
  assert_int_equal(proto_order_reserved(&r, "pear"), 0);
}

static proto_event rejected_ev(const char *origin, uint64_t hlc, proto_reject_reason why) {
  proto_event ev = ev_at(PROTO_EV_ORDER_REJECTED, origin, hlc);
  ev.body.rejected.reason = why;
  return ev;
}

static proto_event cancelled_ev(const char *origin, uint64_t hlc, proto_cancel_by by,
                                const char *reason) {
  proto_event ev = ev_at(PROTO_EV_ORDER_CANCELLED, origin, hlc);
  ev.body.cancelled.by = by;
  strcpy(ev.body.cancelled.reason, reason);
  return ev;
}

static void test_first_writer_registers(void **st) {
  proto_order o;
  proto_order_init(&o, OID, "s1");
  proto_event r1 = rejected_ev("x", 20, PROTO_REJECT_BUSY);
  proto_event r2 = rejected_ev("y", 10, PROTO_REJECT_CLOSED);
  proto_event r3 = rejected_ev("z", 15, PROTO_REJECT_SOLD_OUT);
  proto_event r4 = rejected_ev("a", 10, PROTO_REJECT_OTHER); /* same hlc, lower origin */
  tu_apply_ok(&o, &r1);
  tu_apply_ok(&o, &r2);
  tu_apply_ok(&o, &r3);
  assert_int_equal(o.reject_reason, PROTO_REJECT_CLOSED);
  tu_apply_ok(&o, &r4);
  assert_int_equal(o.reject_reason, PROTO_REJECT_OTHER);
  assert_string_equal(o.reject_stamp.origin, "a");

  proto_order_init(&o, OID, "s1");
  proto_event c1 = cancelled_ev("hq", 30, PROTO_CANCEL_HQ, "fraud");
  proto_event c2 = cancelled_ev("s1", 30, PROTO_CANCEL_STORE, "no stock");
  proto_event c3 = cancelled_ev("hq", 40, PROTO_CANCEL_CUSTOMER, "changed mind");
  tu_apply_ok(&o, &c2);
  tu_apply_ok(&o, &c3);
  tu_apply_ok(&o, &c1);
  assert_int_equal(o.cancel_by, PROTO_CANCEL_HQ); /* (30,"hq") < (30,"s1") */
  assert_string_equal(o.cancel_reason, "fraud");
  assert_int_equal(o.ms_hlc[PROTO_MS_CANCELLED], 30);
}

static proto_event rider_ev(const char *origin, uint64_t hlc, const char *name) {
  proto_event ev = ev_at(PROTO_EV_RIDER_ASSIGNED, origin, hlc);
  strcpy(ev.body.rider.name, name);
  ev.body.rider.eta_ms = hlc * 1000;
  return ev;
}

static void test_lww_registers(void **st) {
  proto_event a = rider_ev("a", 10, "Ann"), b = rider_ev("b", 10, "Bob");
  proto_event z = rider_ev("z", 9, "Zed");
  proto_order o1, o2;
  proto_order_init(&o1, OID, "s1");
  proto_order_init(&o2, OID, "s1");
  tu_apply_ok(&o1, &a);
  tu_apply_ok(&o1, &b);
  tu_apply_ok(&o1, &z);
  tu_apply_ok(&o2, &z);
  tu_apply_ok(&o2, &b);
  tu_apply_ok(&o2, &a);
  assert_string_equal(o1.rider.name, "Bob"); /* tie on hlc: higher origin wins */
  assert_string_equal(o2.rider.name, "Bob");
  assert_int_equal(o1.ms_hlc[PROTO_MS_RIDER_ASSIGNED], 9);

  proto_event s1 = ev_at(PROTO_EV_ORDER_SHIPPED, "s1", 50);
  proto_event s2 = ev_at(PROTO_EV_ORDER_SHIPPED, "s2", 49);
  strcpy(s1.body.shipped.courier, "SF");
  strcpy(s1.body.shipped.tracking, "T1");
  strcpy(s2.body.shipped.courier, "ZTO");
  tu_apply_ok(&o1, &s1);
  tu_apply_ok(&o1, &s2);
  assert_string_equal(o1.shipped.courier, "SF");

  proto_event m2 = ev_at(PROTO_EV_ORDER_REMINDED, "hq", 10);
  proto_event m1 = ev_at(PROTO_EV_ORDER_REMINDED, "hq", 20);
  m2.body.reminded.n = 2;
  strcpy(m2.body.reminded.note, "second");
  m1.body.reminded.n = 1;
  strcpy(m1.body.reminded.note, "first");
  tu_apply_ok(&o1, &m2);
  tu_apply_ok(&o1, &m1);
  assert_int_equal(o1.reminders, 2);           /* max(n) */
  assert_string_equal(o1.remind_note, "first"); /* note is LWW by stamp */

  proto_event x1 = ev_at(PROTO_EV_ORDER_RESOLVED, "hq", 70);
  proto_event x2 = ev_at(PROTO_EV_ORDER_RESOLVED, "hq", 60);
  strcpy(x1.body.resolved.resolution, "refund");
  strcpy(x2.body.resolved.resolution, "redeliver");
  tu_apply_ok(&o1, &x2);
  tu_apply_ok(&o1, &x1);
  assert_string_equal(o1.resolved.resolution, "refund");
  assert_int_equal(proto_order_status(&o1), PROTO_MS_SHIPPED); /* resolved: no milestone */
}

static void test_unavailable_set(void **st) {
  proto_order o;
  char sku[16];
  proto_order_init(&o, OID, "s1");
  for (int i = PROTO_ITEMS_MAX; i >= 1; i--) { /* fill in descending order */
    proto_event ev = ev_at(PROTO_EV_ORDER_ITEM_UNAVAILABLE, "s1", 100 + (uint64_t)i);
    snprintf(ev.body.item.sku, sizeof ev.body.item.sku, "k%03d", i * 2);
    tu_apply_ok(&o, &ev);
    tu_apply_ok(&o, &ev); /* duplicate: no change */
  }
  assert_int_equal(o.n_unavailable, PROTO_ITEMS_MAX);
  for (uint32_t i = 1; i < o.n_unavailable; i++)
    assert_true(strcmp(o.unavailable[i - 1], o.unavailable[i]) < 0);
  assert_int_equal(proto_order_status(&o), PROTO_MS_DISPATCHED); /* no milestone */
  assert_int_equal(o.ms_hlc[PROTO_MS_DISPATCHED], 0);
  proto_event big = ev_at(PROTO_EV_ORDER_ITEM_UNAVAILABLE, "s1", 300);
  strcpy(big.body.item.sku, "k999");
  uint64_t h = proto_order_hash(&o);
  assert_int_equal(proto_order_apply(&o, &big), PROTO_EFULL);
  assert_int_equal(proto_order_hash(&o), h); /* not among the smallest: unchanged */
  proto_event small = ev_at(PROTO_EV_ORDER_ITEM_UNAVAILABLE, "s1", 301);
  strcpy(small.body.item.sku, "k001");
  assert_int_equal(proto_order_apply(&o, &small), PROTO_EFULL);
  assert_true(proto_order_item_unavailable(&o, "k001")); /* smallest kept ... */
  snprintf(sku, sizeof sku, "k%03d", PROTO_ITEMS_MAX * 2);
  assert_false(proto_order_item_unavailable(&o, sku)); /* ... the largest dropped */
  assert_int_equal(o.n_unavailable, PROTO_ITEMS_MAX);
}

static void test_apply_invalid(void **st) {
  proto_order o;
  dispatched(&o, PROTO_KIND_PICKUP, 10);
  uint64_t h = proto_order_hash(&o);
  proto_event other = tu_ev(PROTO_EV_ORDER_ACCEPTED, "s1", 2, 20, "o2");
  proto_event zero = ev_at(PROTO_EV_ORDER_ACCEPTED, "s1", 0);
  proto_event stock = tu_ev(PROTO_EV_STOCK_DELTA, "s1", 3, 30, NULL);
  proto_event bad = ev_at(PROTO_EV_ORDER_ACCEPTED, "s1", 40);
  bad.type = PROTO_EV__COUNT;
  assert_int_equal(proto_order_apply(&o, &other), PROTO_EINVAL);
  assert_int_equal(proto_order_apply(&o, &zero), PROTO_EINVAL);
  assert_int_equal(proto_order_apply(&o, &stock), PROTO_EINVAL);
  assert_int_equal(proto_order_apply(&o, &bad), PROTO_EINVAL);
  assert_int_equal(proto_order_hash(&o), h);
  proto_err err = {0};
  assert_int_equal(proto_order_check(&o, PROTO_EV_STOCK_DELTA, &err), PROTO_EINVAL);
}

static void test_store_and_merge_entry(void **st) {
  proto_order o;
  bool recount = true;
  proto_order_init(&o, OID, "");
  proto_event ev = ev_at(PROTO_EV_ORDER_ACCEPTED, "s7", 10);
  strcpy(ev.store, "s7");
  assert_int_equal(proto_event_merge(&ev, &o, &recount), PROTO_OK); /* type-table entry */
  assert_false(recount);
  assert_string_equal(o.store, "s7");
  assert_true(proto_order_reached(&o, PROTO_MS_ACCEPTED));
  /* merge of another order's state is refused silently */
  proto_order p;
  proto_order_init(&p, "o2", "s7");
  apply_at(&o, PROTO_EV_ORDER_READY, "s7", 20);
  uint64_t h = proto_order_hash(&p);
  proto_order_merge(&p, &o);
  assert_int_equal(proto_order_hash(&p), h);
}

/* The hash covers every merged field: changing any register changes it. */
static void test_hash_sensitivity(void **st) {
  proto_order base;
  dispatched(&base, PROTO_KIND_DELIVERY, 10);
  uint64_t h0 = proto_order_hash(&base);
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    if (proto_event_target((proto_event_type)t) != PROTO_TARGET_ORDER) continue;
    proto_order o = base;
    proto_event ev = ev_at((proto_event_type)t, "s1", 20);
    if (t == PROTO_EV_ORDER_ITEM_UNAVAILABLE) strcpy(ev.body.item.sku, "apple");
    if (t == PROTO_EV_ORDER_DISPATCHED)
      ev = tu_dispatch("hq", 9, 20, OID, PROTO_KIND_PICKUP, 1, "x", 1);
    tu_apply_ok(&o, &ev);
    assert_true(proto_order_hash(&o) != h0);
    assert_false(tu_order_eq(&o, &base));
  }
  proto_order o = base;
  o.info.note[0] = 'n';
  assert_true(proto_order_hash(&o) != h0);
  o = base;
  memset(o.remind_note, 'q', 10); /* an unwritten register is not state */
  assert_true(proto_order_hash(&o) == h0);
}

/* ---- proto_order_check: every (kind, state, command) ------------------------- */

typedef struct state_def {
  const char *name;
  unsigned kinds;                 /* bit per kind this state is reachable for */
  bool unknown;                   /* no dispatch */
  proto_event_type path[6];       /* after dispatch; 0-terminated (0 = dispatched) */
} state_def;

#define K(k) (1u << PROTO_KIND_##k)
#define ALLK (K(PICKUP) | K(DELIVERY) | K(EXPRESS))
#define E(x) PROTO_EV_ORDER_##x
static const state_def states[] = {
    {"unknown", ALLK, true, {0}},
    {"unknown+accepted", ALLK, true, {E(ACCEPTED)}},
    {"dispatched", ALLK, false, {0}},
    {"accepted", ALLK, false, {E(ACCEPTED)}},
    {"preparing", ALLK, false, {E(ACCEPTED), E(PREPARING)}},
    {"ready", ALLK, false, {E(ACCEPTED), E(PREPARING), E(READY)}},
    {"rejected", ALLK, false, {E(REJECTED)}},
    {"cancelled", ALLK, false, {E(ACCEPTED), E(CANCELLED)}},
    {"completed", K(PICKUP), false, {E(ACCEPTED), E(READY), E(COMPLETED)}},
    {"picked_up", K(DELIVERY), false, {E(ACCEPTED), E(READY), E(PICKED_UP)}},
    {"shipped", K(EXPRESS), false, {E(ACCEPTED), E(READY), E(SHIPPED)}},
    {"delivered", K(DELIVERY), false, {E(ACCEPTED), E(READY), E(PICKED_UP), E(DELIVERED)}},
    {"delivered", K(EXPRESS), false, {E(ACCEPTED), E(READY), E(SHIPPED), E(DELIVERED)}},
    {"conflict", K(PICKUP), false, {E(READY), E(COMPLETED), E(CANCELLED)}},
    {"conflict", K(DELIVERY), false, {E(READY), E(PICKED_UP), E(CANCELLED)}},
    {"conflict", K(EXPRESS), false, {E(READY), E(SHIPPED), E(CANCELLED)}},
};

/* The legal (command, state, kinds) triples, written out independently of
 * the table in order.c; everything else must be PROTO_EILLEGAL. */
typedef struct legal_def {
  proto_event_type t;
  const char *state;
  unsigned kinds;
} legal_def;

#define OPEN4(t, k) {t, "dispatched", k}, {t, "accepted", k}, {t, "preparing", k}, {t, "ready", k}
static const legal_def legal[] = {
    {E(DISPATCHED), "unknown", ALLK},
    {E(DISPATCHED), "unknown+accepted", ALLK},
    {E(ACCEPTED), "dispatched", ALLK},
    {E(REJECTED), "dispatched", ALLK},
    {E(PREPARING), "accepted", ALLK},
    {E(READY), "accepted", ALLK},
    {E(READY), "preparing", ALLK},
    {E(COMPLETED), "ready", K(PICKUP)},
    {E(PICKED_UP), "ready", K(DELIVERY)},
    {E(SHIPPED), "ready", K(EXPRESS)},
    {E(DELIVERED), "picked_up", K(DELIVERY)},
    {E(DELIVERED), "shipped", K(EXPRESS)},
    /* a cancel that met a handoff leaves the handoff status: delivery goes on */
    {E(DELIVERED), "conflict", K(DELIVERY) | K(EXPRESS)},
    OPEN4(E(CANCELLED), ALLK),
    OPEN4(E(REMINDED), ALLK),
    {E(ITEM_UNAVAILABLE), "dispatched", ALLK},
    {E(ITEM_UNAVAILABLE), "accepted", ALLK},
    {E(ITEM_UNAVAILABLE), "preparing", ALLK},
    OPEN4(PROTO_EV_RIDER_ASSIGNED, K(DELIVERY)),
    OPEN4(PROTO_EV_RIDER_ARRIVED, K(DELIVERY)),
    {E(RESOLVED), "conflict", ALLK},
};
#undef OPEN4

static bool expect_legal(proto_event_type t, const char *state, proto_order_kind k) {
  for (size_t i = 0; i < sizeof legal / sizeof *legal; i++)
    if (legal[i].t == t && !strcmp(legal[i].state, state) && (legal[i].kinds & (1u << k)))
      return true;
  return false;
}

static void build_state(proto_order *o, const state_def *s, proto_order_kind k) {
  if (s->unknown)
    proto_order_init(o, OID, "s1");
  else
    dispatched(o, k, 10);
  for (int i = 0; i < 6 && s->path[i]; i++) apply_at(o, s->path[i], "s1", 20 + (uint64_t)i);
}

static void test_check_every_transition(void **st) {
  int n_legal = 0, n_illegal = 0;
  for (size_t si = 0; si < sizeof states / sizeof *states; si++) {
    for (int k = 0; k < PROTO_KIND__COUNT; k++) {
      if (!(states[si].kinds & (1u << k))) continue;
      proto_order o;
      build_state(&o, &states[si], (proto_order_kind)k);
      for (int t = 0; t < PROTO_EV__COUNT; t++) {
        if (proto_event_target((proto_event_type)t) != PROTO_TARGET_ORDER) continue;
        proto_err err = {0};
        bool want = expect_legal((proto_event_type)t, states[si].name, (proto_order_kind)k);
        int rc = proto_order_check(&o, (proto_event_type)t, &err);
        if (rc != (want ? PROTO_OK : PROTO_EILLEGAL))
          fail_msg("%s on %s %s order: got %s (%s)", proto_event_type_name((proto_event_type)t),
                   states[si].name, proto_order_kind_name((proto_order_kind)k), proto_err_name(rc),
                   err.msg);
        if (!want) {
          char prefix[128];
          snprintf(prefix, sizeof prefix, "cannot %s order " OID ": it is ",
                   proto_event_type_name((proto_event_type)t));
          assert_memory_equal(err.msg, prefix, strlen(prefix));
        }
        want ? n_legal++ : n_illegal++;
      }
    }
  }
  /* dispatched 6, accepted/rejected 6, preparing/ready 9, handoffs 3,
   * delivered 2 (+2 in conflict), cancelled/reminded 24, item 9, rider 8, resolved 3 */
  assert_int_equal(n_legal, 72);
  assert_true(n_illegal > 200);
}

static void test_check_messages(void **st) {
  proto_order o;
  proto_err err = {0};
  dispatched(&o, PROTO_KIND_PICKUP, 10);
  apply_at(&o, PROTO_EV_ORDER_READY, "s1", 20);
  assert_int_equal(proto_order_check(&o, PROTO_EV_ORDER_ACCEPTED, &err), PROTO_EILLEGAL);
  assert_int_equal(err.code, PROTO_EILLEGAL);
  assert_string_equal(err.msg, "cannot order.accepted order o1: it is ready");
  assert_int_equal(proto_order_check(&o, PROTO_EV_ORDER_SHIPPED, &err), PROTO_EILLEGAL);
  assert_string_equal(err.msg, "cannot order.shipped order o1: it is ready (a pickup order)");
  proto_order_init(&o, "o9", "s1");
  assert_int_equal(proto_order_check(&o, PROTO_EV_ORDER_CANCELLED, &err), PROTO_EILLEGAL);
  assert_string_equal(err.msg, "cannot order.cancelled order o9: it is unknown");
  assert_int_equal(proto_order_check(&o, PROTO_EV_ORDER_ACCEPTED, NULL), PROTO_EILLEGAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pickup_lifecycle),
      cmocka_unit_test(test_first_hlc_kept),
      cmocka_unit_test(test_status_rank),
      cmocka_unit_test(test_conflict),
      cmocka_unit_test(test_waste),
      cmocka_unit_test(test_reserved),
      cmocka_unit_test(test_first_writer_registers),
      cmocka_unit_test(test_lww_registers),
      cmocka_unit_test(test_unavailable_set),
      cmocka_unit_test(test_apply_invalid),
      cmocka_unit_test(test_store_and_merge_entry),
      cmocka_unit_test(test_hash_sensitivity),
      cmocka_unit_test(test_check_every_transition),
      cmocka_unit_test(test_check_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
