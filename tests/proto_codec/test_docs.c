/* test_docs.c - the examples of docs/protocol.md ("Event envelope") are what
 * the encoder writes today, and each decodes back to its event.
 *
 *   proto_codec_docs DOCS.md   check that every example line is in DOCS.md
 *   proto_codec_docs --print   print the examples as Markdown, to paste
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"

#define MS(t) PROTO_HLC_MAKE(UINT64_C(1795400000000) + (t), 0)
#define ORDER "o-20261121-0007"

static const char *docs_path;

static void env(proto_event *ev, proto_event_type t, const char *origin, uint64_t seq,
                uint64_t hlc) {
  proto_event_init(ev, t, origin, seq, hlc, "store-001");
}

static void step(proto_event *ev, proto_event_type t, const char *origin, uint64_t seq,
                 uint64_t hlc, const char *by) {
  env(ev, t, origin, seq, hlc);
  strcpy(ev->body.step.order_id, ORDER);
  strcpy(ev->body.step.by, by);
}

/* One realistic event per type, in type-table order; returns the count. */
static int examples(proto_event *ev) {
  proto_event *e = ev;
  env(e, PROTO_EV_ORDER_DISPATCHED, "hq", 1042, MS(1000));
  proto_ev_dispatched *d = &e->body.dispatched;
  strcpy(d->order_id, ORDER);
  d->kind = PROTO_KIND_DELIVERY;
  d->n_items = 2;
  d->items[0] = (proto_item){"latte", "生椰拿铁", 2, 1900};
  d->items[1] = (proto_item){"bagel", "芝士贝果", 1, 1200};
  strcpy(d->pickup_code, "4821");
  strcpy(d->customer, "王先生");
  strcpy(d->phone_tail, "4321");
  strcpy(d->note, "少冰，不要吸管");
  d->total = 5000;
  d->placed_ms = UINT64_C(1795400000000);
  e++;
  step(e++, PROTO_EV_ORDER_ACCEPTED, "store-001", 57, MS(31000), "staff-7");
  env(e, PROTO_EV_ORDER_REJECTED, "store-001", 58, MS(32000));
  strcpy(e->body.rejected.order_id, "o-20261121-0008");
  e->body.rejected.reason = PROTO_REJECT_SOLD_OUT;
  strcpy(e->body.rejected.by, "staff-7");
  e++;
  step(e++, PROTO_EV_ORDER_PREPARING, "store-001", 59, MS(45000), "staff-7");
  step(e++, PROTO_EV_ORDER_READY, "store-001", 61, MS(300000), "staff-7");
  env(e, PROTO_EV_ORDER_SHIPPED, "store-001", 62, MS(310000));
  strcpy(e->body.shipped.order_id, ORDER);
  strcpy(e->body.shipped.courier, "顺丰速运");
  strcpy(e->body.shipped.tracking, "SF1234567890");
  e++;
  step(e++, PROTO_EV_ORDER_PICKED_UP, "store-001", 63, MS(420000), "staff-7");
  step(e++, PROTO_EV_ORDER_COMPLETED, "store-001", 64, MS(430000), "staff-3");
  step(e++, PROTO_EV_ORDER_DELIVERED, "hq", 1050, MS(1500000), "rider");
  env(e, PROTO_EV_ORDER_CANCELLED, "hq", 1043, MS(20000));
  strcpy(e->body.cancelled.order_id, ORDER);
  e->body.cancelled.by = PROTO_CANCEL_CUSTOMER;
  strcpy(e->body.cancelled.reason, "地址填错了");
  e++;
  env(e, PROTO_EV_ORDER_REMINDED, "hq", 1044, MS(600000));
  strcpy(e->body.reminded.order_id, ORDER);
  e->body.reminded.n = 1;
  strcpy(e->body.reminded.note, "顾客催单");
  e++;
  env(e, PROTO_EV_ORDER_ITEM_UNAVAILABLE, "store-001", 60, MS(50000));
  strcpy(e->body.item.order_id, ORDER);
  strcpy(e->body.item.sku, "bagel");
  e++;
  env(e, PROTO_EV_ORDER_RESOLVED, "hq", 1051, MS(1600000));
  strcpy(e->body.resolved.order_id, ORDER);
  strcpy(e->body.resolved.resolution, "refund");
  strcpy(e->body.resolved.note, "退款 ¥12.00");
  e++;
  env(e, PROTO_EV_RIDER_ASSIGNED, "hq", 1045, MS(200000));
  strcpy(e->body.rider.order_id, ORDER);
  strcpy(e->body.rider.name, "张师傅");
  strcpy(e->body.rider.phone_tail, "8899");
  e->body.rider.eta_ms = UINT64_C(1795400400000);
  e++;
  step(e++, PROTO_EV_RIDER_ARRIVED, "store-001", 62, MS(410000), "staff-7");
  env(e, PROTO_EV_STOCK_DELTA, "store-001", 65, MS(430001));
  strcpy(e->body.delta.sku, "latte-cup");
  e->body.delta.delta = -2;
  e->body.delta.reason = PROTO_STOCK_SALE;
  strcpy(e->body.delta.ref, ORDER);
  e++;
  env(e, PROTO_EV_STOCK_STOCKTAKE, "store-001", 66, MS(900000));
  strcpy(e->body.stocktake.sku, "latte-cup");
  e->body.stocktake.counted = 37;
  e->body.stocktake.n_seen = 2;
  e->body.stocktake.seen[0] = (proto_seen){"hq", 1051};
  e->body.stocktake.seen[1] = (proto_seen){"store-001", 65};
  e++;
  env(e, PROTO_EV_SKU_AVAILABILITY, "store-001", 67, MS(910000));
  strcpy(e->body.avail.sku, "bagel");
  e->body.avail.sold_out = true;
  e++;
  env(e, PROTO_EV_CATALOG_ENTRY, "hq", 1052, MS(2000000));
  proto_ev_catalog *c = &e->body.catalog;
  strcpy(c->sku, "latte");
  strcpy(c->name, "生椰拿铁");
  strcpy(c->name_en, "Coconut latte");
  c->price = 1900;
  c->low_threshold = 10;
  c->active = true;
  e++;
  env(e, PROTO_EV_STORE_SETTINGS, "store-001", 68, MS(3000000));
  proto_ev_settings *s = &e->body.settings;
  s->present = (1u << PROTO_SET_NAME) | (1u << PROTO_SET_OPEN_MIN) | (1u << PROTO_SET_CLOSE_MIN) |
               (1u << PROTO_SET_AUTO_ACCEPT_S);
  strcpy(s->v.name, "人民广场店");
  s->v.open_min = 420;
  s->v.close_min = 1320;
  s->v.auto_accept_s = 30;
  e++;
  return (int)(e - ev);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static void test_examples_documented(void **state) {
  static proto_event ev[PROTO_EV__COUNT];
  assert_int_equal(examples(ev), PROTO_EV__COUNT);
  char *docs = read_file(docs_path);
  if (!docs) fail_msg("cannot read %s", docs_path);
  for (int i = 0; i < PROTO_EV__COUNT; i++) {
    assert_int_equal(ev[i].type, i); /* one per type, in order */
    char *json = encode_str(&ev[i]), line[4200], why[200];
    proto_event back;
    proto_err err = {0};
    assert_int_equal(proto_event_decode(json, strlen(json), &back, &err), PROTO_OK);
    if (!event_equal(&ev[i], &back, why, sizeof why)) fail_msg("%s", why);
    snprintf(line, sizeof line, "\n%s\n", json);
    if (!strstr(docs, line))
      fail_msg("%s lacks the current example of %s (run proto_codec_docs --print):\n%s", docs_path,
               proto_event_type_name(ev[i].type), json);
    free(json);
  }
  free(docs);
}

static void print_examples(void) {
  static proto_event ev[PROTO_EV__COUNT];
  int n = examples(ev);
  for (int i = 0; i < n; i++) {
    proto_buf b;
    proto_err err = {0};
    proto_buf_init(&b);
    if (proto_event_encode(&ev[i], &b, &err) != PROTO_OK) {
      fprintf(stderr, "%s\n", err.msg);
      exit(1);
    }
    printf("`%s`\n\n```json\n%s\n```\n\n", proto_event_type_name(ev[i].type), b.data);
    proto_buf_close(&b);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--print") == 0) {
    print_examples();
    return 0;
  }
  docs_path = argc > 1 ? argv[1] : "docs/protocol.md";
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_examples_documented)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
