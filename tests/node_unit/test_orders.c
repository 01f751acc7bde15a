/* test_orders.c - order commands: every transition of every kind, legal and
 * illegal; pickup codes; cancel before/after handoff; auto-accept; remote
 * side events. */
#include <stdio.h>
#include <string.h>

#include "node_test.h"

enum { C_ACCEPT, C_REJECT, C_PREPARE, C_READY, C_COMPLETE, C_ARRIVED, C_HANDOFF, C_SHIP,
       C_CANCEL, C_ITEM, C__COUNT };
static const char *const cmd_names[C__COUNT] = {"accept", "reject", "prepare", "ready", "complete",
                                                "rider_arrived", "handoff", "ship", "cancel",
                                                "item_unavailable"};

enum { S_DISPATCHED, S_ACCEPTED, S_PREPARING, S_READY, S_REJECTED, S_CANCELLED, S_HANDED,
       S__COUNT };
static const char *const state_names[S__COUNT] = {"dispatched", "accepted", "preparing", "ready",
                                                  "rejected", "cancelled", "handed_off"};

#define B(s) (1u << S_##s)
#define OPEN (B(DISPATCHED) | B(ACCEPTED) | B(PREPARING) | B(READY))
/* The lifecycle of brief section 3, written independently of proto's table:
 * legal[cmd][kind] = states in which the command is legal. */
static const unsigned legal[C__COUNT][PROTO_KIND__COUNT] = {
    [C_ACCEPT] = {B(DISPATCHED), B(DISPATCHED), B(DISPATCHED)},
    [C_REJECT] = {B(DISPATCHED), B(DISPATCHED), B(DISPATCHED)},
    [C_PREPARE] = {B(ACCEPTED), B(ACCEPTED), B(ACCEPTED)},
    [C_READY] = {B(ACCEPTED) | B(PREPARING), B(ACCEPTED) | B(PREPARING), B(ACCEPTED) | B(PREPARING)},
    [C_COMPLETE] = {B(READY), 0, 0},
    [C_ARRIVED] = {0, OPEN, 0},
    [C_HANDOFF] = {0, B(READY), 0},
    [C_SHIP] = {0, 0, B(READY)},
    [C_CANCEL] = {OPEN, OPEN, OPEN},
    [C_ITEM] = {B(DISPATCHED) | B(ACCEPTED) | B(PREPARING), B(DISPATCHED) | B(ACCEPTED) | B(PREPARING),
                B(DISPATCHED) | B(ACCEPTED) | B(PREPARING)},
};
/* Status after a legal command; -1: unchanged. */
static const int after[C__COUNT] = {
    [C_ACCEPT] = PROTO_MS_ACCEPTED,   [C_REJECT] = PROTO_MS_REJECTED,
    [C_PREPARE] = PROTO_MS_PREPARING, [C_READY] = PROTO_MS_READY,
    [C_COMPLETE] = PROTO_MS_COMPLETED, [C_ARRIVED] = -1,
    [C_HANDOFF] = PROTO_MS_PICKED_UP, [C_SHIP] = PROTO_MS_SHIPPED,
    [C_CANCEL] = PROTO_MS_CANCELLED,  [C_ITEM] = -1,
};

static int do_cmd(tctx *t, int c, const char *id) {
  node_engine *e = t->e;
  node_err *err = &t->err;
  switch (c) {
    case C_ACCEPT: return node_order_accept(e, id, "s-li", err);
    case C_REJECT: return node_order_reject(e, id, PROTO_REJECT_BUSY, "s-li", err);
    case C_PREPARE: return node_order_prepare(e, id, "s-li", err);
    case C_READY: return node_order_ready(e, id, "s-li", err);
    case C_COMPLETE: return node_order_complete(e, id, "1234", "s-li", err);
    case C_ARRIVED: return node_order_rider_arrived(e, id, "s-li", err);
    case C_HANDOFF: return node_order_handoff(e, id, "1234", "s-li", err);
    case C_SHIP: return node_order_ship(e, id, "SF Express", "SF123456", "s-li", err);
    case C_CANCEL: return node_order_cancel(e, id, "customer called", "s-li", err);
    case C_ITEM: return node_order_item_unavailable(e, id, "sku-a", "s-li", err);
  }
  return NODE_EINVAL;
}

/* Legal path from dispatched to each state. */
static void drive(tctx *t, const char *id, proto_order_kind kind, int state) {
  static const int paths[S__COUNT][4] = {
      [S_DISPATCHED] = {-1},
      [S_ACCEPTED] = {C_ACCEPT, -1},
      [S_PREPARING] = {C_ACCEPT, C_PREPARE, -1},
      [S_READY] = {C_ACCEPT, C_PREPARE, C_READY, -1},
      [S_REJECTED] = {C_REJECT, -1},
      [S_CANCELLED] = {C_ACCEPT, C_CANCEL, -1},
      [S_HANDED] = {C_ACCEPT, C_READY, -2, -1},
  };
  static const int handoff[PROTO_KIND__COUNT] = {C_COMPLETE, C_HANDOFF, C_SHIP};
  t_dispatch(t, id, kind, "1234", "sku-a", 1, "sku-b", 2, NULL);
  for (int i = 0; paths[state][i] != -1; i++) {
    int c = paths[state][i] == -2 ? handoff[kind] : paths[state][i];
    T_OK(t, do_cmd(t, c, id));
  }
  T_COMMIT(t);
}

static void transitions(void **state) {
  tctx *t = *state;
  int n = 0;
  for (int kind = 0; kind < PROTO_KIND__COUNT; kind++) {
    for (int s = 0; s < S__COUNT; s++) {
      for (int c = 0; c < C__COUNT; c++) {
        char id[32];
        snprintf(id, sizeof id, "o-%d-%d-%d", kind, s, c);
        drive(t, id, (proto_order_kind)kind, s);
        proto_milestone before = t_status(t, id);
        uint64_t feed = node_engine_feed(t->e);
        bool ok = (legal[c][kind] >> s) & 1u;
        int rc = do_cmd(t, c, id);
        T_COMMIT(t);
        if (ok != (rc == NODE_OK) || (!ok && rc != NODE_EILLEGAL))
          fail_msg("%s order %s: %s -> %s (%s), want %s", proto_order_kind_name(kind),
                   state_names[s], cmd_names[c], node_err_wire(rc), t->err.msg,
                   ok ? "ok" : "illegal_transition");
        proto_milestone now = t_status(t, id);
        if (ok) {
          assert_true(node_engine_feed(t->e) > feed);
          assert_int_equal(now, after[c] < 0 ? (int)before : after[c]);
        } else {
          assert_int_equal(node_engine_feed(t->e), feed); /* no trace */
          assert_int_equal(now, before);
          assert_non_null(strstr(t->err.msg, "cannot"));
        }
        n++;
      }
    }
  }
  assert_int_equal(n, PROTO_KIND__COUNT * S__COUNT * C__COUNT);
}

static void milestones_keep_first_time(void **state) {
  tctx *t = *state;
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  t->now += 30000;
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  t->now += 60000;
  T_OK(t, node_order_prepare(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  proto_order o = t_order(t, "o-1");
  uint64_t acc = o.ms_hlc[PROTO_MS_ACCEPTED];
  assert_int_equal(PROTO_HLC_MS(acc), t->now - 60000);
  assert_int_equal(PROTO_HLC_MS(o.ms_hlc[PROTO_MS_PREPARING]), t->now);
  /* HQ echoes an acceptance later: the first time stays. */
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_ORDER_ACCEPTED);
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-1");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  o = t_order(t, "o-1");
  assert_int_equal(o.ms_hlc[PROTO_MS_ACCEPTED], acc);
}

static void pickup_code(void **state) {
  tctx *t = *state;
  static const char *const wrong[] = {"", "123", "12345", "1235", "0000", "1234 ",
                                      "12340000000000000000000"};
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
    T_RC(t, NODE_EWRONGCODE, node_order_complete(t->e, "o-1", wrong[i], "s-li", &t->err));
  T_RC(t, NODE_EWRONGCODE, node_order_complete(t->e, "o-1", NULL, "s-li", &t->err));
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_READY);
  T_OK(t, node_order_complete(t->e, "o-1", "1234", "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_COMPLETED);

  /* Delivery: handoff checks the code too and marks the rider arrived. */
  t_dispatch(t, "o-2", PROTO_KIND_DELIVERY, "7788", "sku-a", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-2", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-2", "s-li", &t->err));
  T_RC(t, NODE_EWRONGCODE, node_order_handoff(t->e, "o-2", "1234", "s-li", &t->err));
  T_OK(t, node_order_handoff(t->e, "o-2", "7788", "s-li", &t->err));
  T_COMMIT(t);
  proto_order o = t_order(t, "o-2");
  assert_int_equal(proto_order_status(&o), PROTO_MS_PICKED_UP);
  assert_true(proto_order_reached(&o, PROTO_MS_RIDER_ARRIVED));
}

static void cancel_flags(void **state) {
  tctx *t = *state;
  proto_order o;
  /* Store cancels before preparing: no waste. */
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_cancel(t->e, "o-1", "out of milk", "s-li", &t->err));
  T_COMMIT(t);
  o = t_order(t, "o-1");
  assert_int_equal(proto_order_status(&o), PROTO_MS_CANCELLED);
  assert_false(proto_order_waste(&o));
  assert_false(proto_order_conflict(&o));
  assert_int_equal(o.cancel_by, PROTO_CANCEL_STORE);
  assert_string_equal(o.cancel_reason, "out of milk");

  /* Cancelled after it was prepared: waste flag. */
  t_dispatch(t, "o-2", PROTO_KIND_DELIVERY, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-2", "s-li", &t->err));
  T_OK(t, node_order_prepare(t->e, "o-2", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-2", "s-li", &t->err));
  T_OK(t, node_order_cancel(t->e, "o-2", NULL, "s-li", &t->err));
  T_COMMIT(t);
  o = t_order(t, "o-2");
  assert_true(proto_order_waste(&o));
  assert_false(proto_order_conflict(&o));

  /* HQ's cancel meets a handoff already made here: conflict, status stays. */
  t_dispatch(t, "o-3", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-3", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-3", "s-li", &t->err));
  T_OK(t, node_order_complete(t->e, "o-3", "1234", "s-li", &t->err));
  T_COMMIT(t);
  T_RC(t, NODE_EILLEGAL, node_order_cancel(t->e, "o-3", "too late", "s-li", &t->err));
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_ORDER_CANCELLED);
  snprintf(ev.body.cancelled.order_id, PROTO_ID_MAX, "o-3");
  ev.body.cancelled.by = PROTO_CANCEL_CUSTOMER;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  o = t_order(t, "o-3");
  assert_int_equal(proto_order_status(&o), PROTO_MS_COMPLETED);
  assert_true(proto_order_conflict(&o));
  assert_false(proto_order_waste(&o));
  assert_int_equal(t_count(t, "SELECT conflict FROM orders WHERE order_id='o-3'"), 1);

  /* HQ cancels an open order: cancelled, and later local steps are illegal. */
  t_dispatch(t, "o-4", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  t_hq_init(t, &ev, PROTO_EV_ORDER_CANCELLED);
  snprintf(ev.body.cancelled.order_id, PROTO_ID_MAX, "o-4");
  ev.body.cancelled.by = PROTO_CANCEL_HQ;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  assert_int_equal(t_status(t, "o-4"), PROTO_MS_CANCELLED);
  T_RC(t, NODE_EILLEGAL, node_order_accept(t->e, "o-4", "s-li", &t->err));
}

static void auto_accept(void **state) {
  tctx *t = *state;
  size_t n = 99;
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_COMMIT(t);
  t->now += 3600 * 1000;
  T_OK(t, node_engine_auto_accept(t->e, &n, &t->err)); /* off by default */
  assert_int_equal(n, 0);

  proto_ev_settings s = {.present = 1u << PROTO_SET_AUTO_ACCEPT_S};
  s.v.auto_accept_s = 30;
  T_OK(t, node_settings_set(t->e, &s, "s-mgr", &t->err));
  T_COMMIT(t);
  t_dispatch(t, "o-2", PROTO_KIND_DELIVERY, "1234", "sku-a", 1, NULL);
  t_dispatch(t, "o-3", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_reject(t->e, "o-3", PROTO_REJECT_BUSY, "s-li", &t->err));
  T_COMMIT(t);
  /* o-1 has waited an hour already; o-2 is fresh. */
  T_OK(t, node_engine_auto_accept(t->e, &n, &t->err));
  T_COMMIT(t);
  assert_int_equal(n, 1);
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_ACCEPTED);
  assert_int_equal(t_status(t, "o-2"), PROTO_MS_DISPATCHED);
  t->now += 29999;
  T_OK(t, node_engine_auto_accept(t->e, &n, &t->err));
  assert_int_equal(n, 0);
  t->now += 1;
  T_OK(t, node_engine_auto_accept(t->e, &n, &t->err));
  T_COMMIT(t);
  assert_int_equal(n, 1);
  proto_order o = t_order(t, "o-2");
  assert_int_equal(proto_order_status(&o), PROTO_MS_ACCEPTED);
  assert_int_equal(t_status(t, "o-3"), PROTO_MS_REJECTED);
  T_OK(t, node_engine_auto_accept(t->e, &n, &t->err));
  assert_int_equal(n, 0);
}

static void remote_side_events(void **state) {
  tctx *t = *state;
  proto_event ev;
  t_dispatch(t, "o-1", PROTO_KIND_DELIVERY, "1234", "sku-a", 1, NULL);
  t_hq_init(t, &ev, PROTO_EV_RIDER_ASSIGNED);
  snprintf(ev.body.rider.order_id, PROTO_ID_MAX, "o-1");
  snprintf(ev.body.rider.name, PROTO_NAME_MAX, "张师傅");
  snprintf(ev.body.rider.phone_tail, PROTO_CODE_MAX, "8899");
  ev.body.rider.eta_ms = t->now + 600000;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  t_hq_init(t, &ev, PROTO_EV_ORDER_REMINDED);
  snprintf(ev.body.reminded.order_id, PROTO_ID_MAX, "o-1");
  ev.body.reminded.n = 1;
  snprintf(ev.body.reminded.note, PROTO_NOTE_MAX, "customer asks");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  proto_order o = t_order(t, "o-1");
  assert_string_equal(o.rider.name, "张师傅");
  assert_int_equal(o.reminders, 1);
  assert_string_equal(o.remind_note, "customer asks");
  assert_true(proto_order_reached(&o, PROTO_MS_RIDER_ASSIGNED));
  assert_int_equal(proto_order_status(&o), PROTO_MS_DISPATCHED);
  /* the tablet learns through on_change, as remote events */
  assert_int_equal(t->types[t->n_changes - 1], PROTO_EV_ORDER_REMINDED);
  assert_false(t->local[t->n_changes - 1]);
  /* an event about an order never dispatched here is kept, but the order
   * is not actionable */
  t_hq_init(t, &ev, PROTO_EV_RIDER_ARRIVED);
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-ghost");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  T_RC(t, NODE_EILLEGAL, node_order_accept(t->e, "o-ghost", "s-li", &t->err));
}

static void bad_arguments(void **state) {
  tctx *t = *state;
  T_RC(t, NODE_ENOTFOUND, node_order_accept(t->e, "o-none", "s-li", &t->err));
  T_RC(t, NODE_EINVAL, node_order_accept(t->e, "bad id with spaces", "s-li", &t->err));
  T_RC(t, NODE_EINVAL, node_order_accept(t->e, NULL, "s-li", &t->err));
  t_dispatch(t, "o-1", PROTO_KIND_EXPRESS, "1234", "sku-a", 1, NULL);
  T_RC(t, NODE_EINVAL, node_order_reject(t->e, "o-1", (proto_reject_reason)42, "s-li", &t->err));
  T_RC(t, NODE_ENOTFOUND, node_order_item_unavailable(t->e, "o-1", "sku-zz", "s-li", &t->err));
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_ready(t->e, "o-1", "s-li", &t->err));
  T_RC(t, NODE_EINVAL, node_order_ship(t->e, "o-1", "SF", "", "s-li", &t->err));
  T_RC(t, NODE_EINVAL, node_order_ship(t->e, "o-1", "", "SF1", "s-li", &t->err));
  T_OK(t, node_order_ship(t->e, "o-1", "SF Express", "SF1234", "s-li", &t->err));
  T_COMMIT(t);
  proto_order o = t_order(t, "o-1");
  assert_string_equal(o.shipped.tracking, "SF1234");
  assert_int_equal(proto_order_status(&o), PROTO_MS_SHIPPED);
  /* HQ reports delivery from the courier */
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_ORDER_DELIVERED);
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-1");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_DELIVERED);
}

static int board_count(void *ctx, const proto_order *o) {
  (*(int *)ctx)++;
  return 0;
}

static void board(void **state) {
  tctx *t = *state;
  int n = 0;
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "sku-a", 1, NULL);
  T_OK(t, node_order_reject(t->e, "o-2", PROTO_REJECT_CLOSED, "s-li", &t->err));
  T_COMMIT(t);
  proto_event ev; /* an order known only from a rider event is not on the board */
  t_hq_init(t, &ev, PROTO_EV_RIDER_ASSIGNED);
  snprintf(ev.body.rider.order_id, PROTO_ID_MAX, "o-ghost");
  snprintf(ev.body.rider.name, PROTO_NAME_MAX, "rider");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  T_OK(t, node_orders_each(t->e, 60000, board_count, &n, &t->err));
  assert_int_equal(n, 2);
  t->now += 60001; /* o-2 ended more than a minute ago */
  n = 0;
  T_OK(t, node_orders_each(t->e, 60000, board_count, &n, &t->err));
  assert_int_equal(n, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(transitions, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(milestones_keep_first_time, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(pickup_code, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(cancel_flags, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(auto_accept, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(remote_side_events, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(bad_arguments, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(board, t_setup, t_teardown),
  };
  return cmocka_run_group_tests_name("node_unit_orders", tests, NULL, NULL);
}
