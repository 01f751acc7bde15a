/* views_test.c - the fixture of views_test.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/repl.h"
#include "tmpdir.h"
#include "views_test.h"

static uint64_t clock_of(void *ctx) { return ((vt *)ctx)->now_ms; }

/* The core's MQTT output goes nowhere: these tests look at the database. */
static int publish(void *ctx, const char *topic, const void *payload, size_t len) {
  (void)ctx, (void)topic, (void)payload, (void)len;
  return 0;
}

static void fail_err(const char *what, const hq_err *err) {
  print_error("%s: %s (%s)\n", what, err->msg, hq_err_wire(err->code));
  fail();
}

void vt_open(vt *t, uint64_t now_ms, int32_t tz_offset_min) {
  hq_err err = {0};
  memset(t, 0, sizeof *t);
  t->now_ms = now_ms;
  assert_int_equal(test_tmpdir_make(t->dir, sizeof t->dir, "hq-views"), 0);
  snprintf(t->db, sizeof t->db, "%s/hq.db", t->dir);
  hq_core_opts co = {.db_path = t->db, .clock_ms = clock_of, .publish = publish, .ctx = t};
  if (hq_core_open(&t->core, &co, &err) != HQ_OK) fail_err("hq_core_open", &err);
  hq_views_opts vo = {.db_path = t->db, .tz_offset_min = tz_offset_min, .clock_ms = clock_of, .ctx = t};
  if (hq_views_open(&t->views, &vo, &err) != HQ_OK) fail_err("hq_views_open", &err);
}

void vt_close(vt *t) {
  hq_views_close(t->views);
  hq_core_close(t->core);
  test_tmpdir_remove(t->dir);
}

static size_t slot(vt *t, const char *store) {
  for (size_t i = 0; i < t->n_st; i++)
    if (strcmp(t->st[i].id, store) == 0) return i;
  assert_true(t->n_st < VT_STORES_MAX);
  snprintf(t->st[t->n_st].id, PROTO_ID_MAX, "%s", store);
  return t->n_st++;
}

uint64_t vt_seq(vt *t, const char *store) { return t->st[slot(t, store)].seq; }

static void ingest(vt *t, const char *store, proto_repl_kind kind, const proto_buf *b) {
  char topic[PROTO_TOPIC_MAX];
  hq_err err = {0};
  proto_err perr = {0};
  assert_int_equal(proto_topic_make(topic, sizeof topic, store, PROTO_DIR_UP, kind, &perr), PROTO_OK);
  if (hq_ingest(t->core, topic, b->data, b->len, &err) != HQ_OK) fail_err("hq_ingest", &err);
  if (!t->hold && hq_core_commit(t->core, &err) != HQ_OK) fail_err("hq_core_commit", &err);
}

void vt_event(vt *t, const char *store, uint64_t at_ms, proto_event *ev) {
  proto_buf one, batch;
  proto_batch_writer w;
  proto_err perr = {0};
  size_t i = slot(t, store);
  /* The counter keeps two events of the same ms in order. */
  uint64_t hlc = PROTO_HLC_MAKE(at_ms, t->st[i].seq & 0xff);
  snprintf(ev->origin, sizeof ev->origin, "%s", store);
  snprintf(ev->store, sizeof ev->store, "%s", store);
  ev->v = PROTO_VERSION;
  ev->seq = ++t->st[i].seq;
  ev->hlc = hlc;
  proto_buf_init(&one);
  proto_buf_init(&batch);
  assert_int_equal(proto_event_encode(ev, &one, &perr), PROTO_OK);
  assert_int_equal(proto_batch_begin(&w, &batch, store, &perr), PROTO_OK);
  assert_int_equal(proto_batch_add(&w, one.data, one.len, &perr), PROTO_OK);
  assert_int_equal(proto_batch_end(&w, &perr), PROTO_OK);
  ingest(t, store, PROTO_REPL_EVENTS, &batch);
  proto_buf_close(&one);
  proto_buf_close(&batch);
}

static proto_event *new_event(proto_event_type type) {
  proto_event *ev = test_malloc(sizeof *ev);
  proto_event_init(ev, type, "x", 1, 1, "x");
  return ev;
}

static void send_free(vt *t, const char *store, uint64_t at_ms, proto_event *ev) {
  vt_event(t, store, at_ms, ev);
  test_free(ev);
}

void vt_dispatch(vt *t, const char *store, const char *order, proto_order_kind kind, uint64_t at_ms,
                 const char *sku, int32_t qty, int64_t total) {
  proto_event *ev = new_event(PROTO_EV_ORDER_DISPATCHED);
  proto_ev_dispatched *d = &ev->body.dispatched;
  snprintf(d->order_id, sizeof d->order_id, "%s", order);
  d->kind = kind;
  d->n_items = 1;
  snprintf(d->items[0].sku, sizeof d->items[0].sku, "%s", sku);
  snprintf(d->items[0].name, sizeof d->items[0].name, "%s", sku);
  d->items[0].qty = qty;
  d->items[0].price = total / qty;
  snprintf(d->pickup_code, sizeof d->pickup_code, "4821");
  d->total = total;
  d->placed_ms = at_ms;
  send_free(t, store, at_ms, ev);
}

void vt_step(vt *t, const char *store, const char *order, proto_event_type type, uint64_t at_ms) {
  proto_event *ev = new_event(type);
  if (type == PROTO_EV_ORDER_REJECTED) {
    snprintf(ev->body.rejected.order_id, PROTO_ID_MAX, "%s", order);
    ev->body.rejected.reason = PROTO_REJECT_BUSY;
  } else {
    snprintf(ev->body.step.order_id, PROTO_ID_MAX, "%s", order);
  }
  send_free(t, store, at_ms, ev);
}

void vt_cancel(vt *t, const char *store, const char *order, uint64_t at_ms, const char *reason) {
  proto_event *ev = new_event(PROTO_EV_ORDER_CANCELLED);
  snprintf(ev->body.cancelled.order_id, PROTO_ID_MAX, "%s", order);
  ev->body.cancelled.by = PROTO_CANCEL_CUSTOMER;
  snprintf(ev->body.cancelled.reason, PROTO_NOTE_MAX, "%s", reason);
  send_free(t, store, at_ms, ev);
}

void vt_catalog(vt *t, const char *store, const char *sku, const char *name, int64_t low) {
  proto_event *ev = new_event(PROTO_EV_CATALOG_ENTRY);
  proto_ev_catalog *c = &ev->body.catalog;
  snprintf(c->sku, sizeof c->sku, "%s", sku);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->name_en, sizeof c->name_en, "%s-en", sku);
  c->price = 1900;
  c->low_threshold = low;
  c->active = true;
  send_free(t, store, t->now_ms - VT_DAY, ev);
}

void vt_delta(vt *t, const char *store, const char *sku, int64_t delta) {
  proto_event *ev = new_event(PROTO_EV_STOCK_DELTA);
  snprintf(ev->body.delta.sku, PROTO_ID_MAX, "%s", sku);
  ev->body.delta.delta = delta;
  ev->body.delta.reason = PROTO_STOCK_RECEIVE;
  send_free(t, store, t->now_ms - VT_HOUR, ev);
}

void vt_stocktake(vt *t, const char *store, const char *sku, int64_t counted) {
  proto_event *ev = new_event(PROTO_EV_STOCK_STOCKTAKE);
  snprintf(ev->body.stocktake.sku, PROTO_ID_MAX, "%s", sku);
  ev->body.stocktake.counted = counted;
  send_free(t, store, t->now_ms - VT_HOUR, ev);
}

void vt_sold_out(vt *t, const char *store, const char *sku, bool sold_out) {
  proto_event *ev = new_event(PROTO_EV_SKU_AVAILABILITY);
  snprintf(ev->body.avail.sku, PROTO_ID_MAX, "%s", sku);
  ev->body.avail.sold_out = sold_out;
  send_free(t, store, t->now_ms - VT_HOUR, ev);
}

void vt_target_accept(vt *t, const char *store, const char *name, int64_t target_s) {
  proto_event *ev = new_event(PROTO_EV_STORE_SETTINGS);
  proto_ev_settings *s = &ev->body.settings;
  s->present = (1u << PROTO_SET_NAME) | (1u << PROTO_SET_TARGET_ACCEPT_S);
  snprintf(s->v.name, sizeof s->v.name, "%s", name);
  s->v.target_accept_s = target_s;
  send_free(t, store, t->now_ms - VT_DAY, ev);
}

void vt_heartbeat(vt *t, const char *store, const char *version, uint64_t last_seq,
                  uint64_t outbox, int64_t skew_ms) {
  proto_heartbeat hb;
  proto_buf b;
  proto_err perr = {0};
  memset(&hb, 0, sizeof hb);
  snprintf(hb.store, sizeof hb.store, "%s", store);
  snprintf(hb.version, sizeof hb.version, "%s", version);
  hb.ts_ms = (uint64_t)((int64_t)t->now_ms + skew_ms);
  hb.hlc = PROTO_HLC_MAKE(hb.ts_ms, 0);
  hb.uptime_s = 3600;
  hb.outbox_depth = outbox;
  hb.last_seq = last_seq;
  hb.last_acked_seq = last_seq - outbox;
  hb.rss_kb = 20480;
  hb.tablets = 2;
  hb.orders_open = 1;
  proto_buf_init(&b);
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &perr), PROTO_OK);
  ingest(t, store, PROTO_REPL_HEARTBEAT, &b);
  proto_buf_close(&b);
}

void vt_status(vt *t, const char *store, bool online) {
  proto_buf b;
  proto_buf_init(&b);
  assert_int_equal(proto_buf_puts(&b, online ? PROTO_STATUS_ONLINE : PROTO_STATUS_OFFLINE), PROTO_OK);
  ingest(t, store, PROTO_REPL_STATUS, &b);
  proto_buf_close(&b);
}
