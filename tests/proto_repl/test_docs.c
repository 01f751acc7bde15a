/* test_docs.c - the examples of docs/protocol.md ("MQTT replication") are
 * what the encoders write today, and each decodes back.
 *
 *   proto_repl_docs DOCS.md   check that every example line is in DOCS.md
 *   proto_repl_docs --print   print the examples, to paste there
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/codec.h"
#include "proto/hlc.h"
#include "proto/repl.h"

#define STORE "store-001"
#define MS(t) PROTO_HLC_MAKE(UINT64_C(1795400000000) + (t), 0)
#define N_EXAMPLES 6

static const char *docs_path;

static void encode_event(const proto_event *ev, proto_buf *tmp, proto_batch_writer *w) {
  proto_err err = {0};
  proto_buf_reset(tmp);
  assert_int_equal(proto_event_encode(ev, tmp, &err), PROTO_OK);
  assert_int_equal(proto_batch_add(w, tmp->data, tmp->len, &err), PROTO_OK);
}

static void up_batch(proto_buf *out) {
  proto_batch_writer w;
  proto_event ev;
  proto_buf tmp;
  proto_err err = {0};
  proto_buf_init(&tmp);
  assert_int_equal(proto_batch_begin(&w, out, STORE, &err), PROTO_OK);
  proto_event_init(&ev, PROTO_EV_ORDER_ACCEPTED, STORE, 69, MS(60000), STORE);
  strcpy(ev.body.step.order_id, "o-20261121-0007");
  strcpy(ev.body.step.by, "s-li");
  encode_event(&ev, &tmp, &w);
  proto_event_init(&ev, PROTO_EV_STOCK_DELTA, STORE, 70, MS(61000), STORE);
  strcpy(ev.body.delta.sku, "latte-cup");
  ev.body.delta.delta = 24;
  ev.body.delta.reason = PROTO_STOCK_RECEIVE;
  encode_event(&ev, &tmp, &w);
  assert_int_equal(proto_batch_end(&w, &err), PROTO_OK);
  proto_buf_close(&tmp);
}

static void down_batch(proto_buf *out) {
  proto_batch_writer w;
  proto_event ev;
  proto_buf tmp;
  proto_err err = {0};
  proto_buf_init(&tmp);
  assert_int_equal(proto_batch_begin(&w, out, STORE, &err), PROTO_OK);
  proto_event_init(&ev, PROTO_EV_ORDER_DISPATCHED, "hq:" STORE, 42, MS(1000), STORE);
  proto_ev_dispatched *d = &ev.body.dispatched;
  strcpy(d->order_id, "o-20261121-0008");
  d->kind = PROTO_KIND_PICKUP;
  d->n_items = 1;
  strcpy(d->items[0].sku, "latte");
  strcpy(d->items[0].name, "生椰拿铁");
  d->items[0].qty = 2;
  d->items[0].price = 1900;
  strcpy(d->pickup_code, "4721");
  d->total = 3800;
  d->placed_ms = 1795400000000;
  encode_event(&ev, &tmp, &w);
  proto_event_init(&ev, PROTO_EV_ORDER_REMINDED, "hq:" STORE, 43, MS(2000), STORE);
  strcpy(ev.body.reminded.order_id, "o-20261121-0007");
  ev.body.reminded.n = 1;
  encode_event(&ev, &tmp, &w);
  assert_int_equal(proto_batch_end(&w, &err), PROTO_OK);
  proto_buf_close(&tmp);
}

static void vvmsg(proto_buf *out, uint64_t hq_c, uint64_t own_c, uint64_t own_held, bool ack) {
  proto_vv vv;
  proto_err err = {0};
  proto_vv_init(&vv);
  assert_int_equal(proto_vv_advance(&vv, "hq:" STORE, hq_c), PROTO_OK);
  assert_int_equal(proto_vv_advance(&vv, STORE, own_c), PROTO_OK);
  if (own_held) assert_int_equal(proto_vv_add(&vv, STORE, own_held, NULL), PROTO_OK);
  int rc = ack ? proto_ackmsg_encode(STORE, &vv, out, &err) : proto_vvmsg_encode(STORE, &vv, out, &err);
  assert_int_equal(rc, PROTO_OK);
  proto_vv_close(&vv);
}

static void heartbeat(proto_buf *out) {
  proto_heartbeat hb;
  proto_err err = {0};
  memset(&hb, 0, sizeof hb);
  strcpy(hb.store, STORE);
  strcpy(hb.version, "0.1.0");
  hb.ts_ms = 1795400062000;
  hb.hlc = MS(61000);
  hb.uptime_s = 86400;
  hb.outbox_depth = 2;
  hb.last_acked_seq = 68;
  hb.last_seq = 70;
  hb.rss_kb = 7356;
  hb.tablets = 3;
  hb.orders_open = 5;
  assert_int_equal(proto_heartbeat_encode(&hb, out, &err), PROTO_OK);
}

/* Examples in the order of the docs; titles name their topic. */
static const char *const titles[N_EXAMPLES] = {
    "up/events", "down/events", "up/hello", "down/hello", "up/ack (and down/ack)", "up/heartbeat"};

static void build(proto_buf *ex) {
  for (int i = 0; i < N_EXAMPLES; i++) proto_buf_init(&ex[i]);
  up_batch(&ex[0]);
  down_batch(&ex[1]);
  vvmsg(&ex[2], 41, 70, 0, false);
  vvmsg(&ex[3], 43, 64, 66, false);
  vvmsg(&ex[4], 43, 70, 0, true);
  heartbeat(&ex[5]);
}

static int count_event(void *ctx, const proto_event *ev) {
  (void)ev;
  ++*(int *)ctx;
  return 0;
}

static void test_examples_in_docs(void **state) {
  proto_buf ex[N_EXAMPLES];
  char store[PROTO_ID_MAX], line[4200];
  proto_err err = {0};
  proto_vv vv;
  proto_heartbeat hb;
  int n = 0;
  build(ex);
  assert_int_equal(proto_batch_decode(ex[0].data, ex[0].len, store, count_event, &n, &err), PROTO_OK);
  assert_int_equal(proto_batch_decode(ex[1].data, ex[1].len, store, count_event, &n, &err), PROTO_OK);
  assert_int_equal(n, 4);
  proto_vv_init(&vv);
  for (int i = 2; i < 5; i++) assert_int_equal(proto_vvmsg_decode(ex[i].data, ex[i].len, store, &vv, &err), PROTO_OK);
  proto_vv_close(&vv);
  assert_int_equal(proto_heartbeat_decode(ex[5].data, ex[5].len, &hb, &err), PROTO_OK);
  FILE *f = fopen(docs_path, "rb");
  assert_non_null(f);
  static char docs[1 << 20];
  size_t len = fread(docs, 1, sizeof docs - 1, f);
  docs[len] = '\0';
  fclose(f);
  for (int i = 0; i < N_EXAMPLES; i++) {
    snprintf(line, sizeof line, "\n%s\n", ex[i].data);
    if (!strstr(docs, line))
      fail_msg("%s: example for %s is not in the docs (run proto_repl_docs --print):\n%s", docs_path,
               titles[i], ex[i].data);
    proto_buf_close(&ex[i]);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--print") == 0) {
    proto_buf ex[N_EXAMPLES];
    build(ex);
    for (int i = 0; i < N_EXAMPLES; i++) {
      printf("`%s`\n\n```json\n%s\n```\n\n", titles[i], ex[i].data);
      proto_buf_close(&ex[i]);
    }
    return 0;
  }
  docs_path = argc > 1 ? argv[1] : "docs/protocol.md";
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_examples_in_docs)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
