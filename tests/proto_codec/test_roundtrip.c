/* test_roundtrip.c - decode(encode(ev)) == ev for every event type, the
 * exact wire form, and the encoder's refusals.
 *
 * Seeded: CODEC_SEED=<n> reruns with another seed; a failure prints it. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "codec_gen.h"

#define ITERATIONS 300 /* per type */

static uint64_t seed_from_env(void) {
  const char *s = getenv("CODEC_SEED");
  return s ? strtoull(s, NULL, 0) : UINT64_C(20261121);
}

/* Encode, decode, compare; encode again and compare bytes (canonical). */
static void roundtrip(const proto_event *ev, uint64_t seed, int iter) {
  proto_event back;
  proto_err err = {0};
  char why[200] = "";
  char *json = encode_str(ev);
  size_t len = strlen(json);
  int rc = proto_event_decode(json, len, &back, &err);
  if (rc != PROTO_OK || !event_equal(ev, &back, why, sizeof why)) {
    print_error("seed %" PRIu64 " iteration %d type %s: %s %s %s\n%s\n", seed, iter,
                proto_event_type_name(ev->type), proto_err_name(rc), err.msg, why, json);
    free(json);
    fail();
  }
  char *again = encode_str(&back);
  assert_string_equal(json, again);
  assert_true(len <= PROTO_EVENT_JSON_MAX);
  free(again);
  free(json);
}

static void test_roundtrip_random(void **state) {
  uint64_t seed = seed_from_env();
  rng r = {seed};
  proto_event ev;
  for (int i = 0; i < ITERATIONS; i++) {
    for (int t = 0; t < PROTO_EV__COUNT; t++) {
      gen_event(&r, (proto_event_type)t, GEN_RANDOM, &ev);
      roundtrip(&ev, seed, i);
    }
  }
}

static void test_roundtrip_extremes(void **state) {
  rng r = {7};
  proto_event ev;
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    gen_event(&r, (proto_event_type)t, GEN_MAX, &ev);
    roundtrip(&ev, 7, -1);
    gen_event(&r, (proto_event_type)t, GEN_MIN, &ev);
    roundtrip(&ev, 7, -2);
  }
  /* The generator's extremes are what the task promises: check a few. */
  gen_event(&r, PROTO_EV_ORDER_DISPATCHED, GEN_MAX, &ev);
  assert_int_equal(ev.body.dispatched.n_items, 32);
  assert_int_equal(strlen(ev.body.dispatched.note), PROTO_NOTE_MAX - 1);
  assert_int_equal(strlen(ev.body.dispatched.items[31].name), PROTO_NAME_MAX - 1);
  gen_event(&r, PROTO_EV_STOCK_STOCKTAKE, GEN_MAX, &ev);
  assert_int_equal(ev.body.stocktake.n_seen, 16);
  assert_int_equal(strlen(ev.body.stocktake.seen[15].origin), PROTO_ID_MAX - 1);
}

/* proto_event_size: the prefix of that many bytes, copied over garbage, is
 * the same event (encodes to the same JSON, has the same key). */
static void test_event_size_prefix(void **state) {
  rng r = {11};
  proto_event *ev = malloc(sizeof *ev), *copy = malloc(sizeof *copy);
  assert_non_null(ev);
  assert_non_null(copy);
  for (int i = 0; i < 50; i++) {
    for (int t = 0; t < PROTO_EV__COUNT; t++) {
      gen_event(&r, (proto_event_type)t, i == 0 ? GEN_MAX : GEN_RANDOM, ev);
      size_t n = proto_event_size((proto_event_type)t);
      assert_true(n > offsetof(proto_event, body) && n <= sizeof *ev);
      memset(copy, 0xa5, sizeof *copy);
      memcpy(copy, ev, n);
      char *a = encode_str(ev), *b = encode_str(copy);
      assert_string_equal(a, b);
      assert_string_equal(proto_event_key(ev), proto_event_key(copy));
      free(a);
      free(b);
    }
  }
  assert_int_equal(proto_event_size(PROTO_EV__COUNT), 0);
  assert_true(proto_event_size(PROTO_EV_ORDER_ACCEPTED) < sizeof *ev / 4); /* the point of it */
  free(ev);
  free(copy);
}

/* Hand-filled events with Chinese text: decode gives exactly these bytes. */
static void test_roundtrip_chinese(void **state) {
  proto_event ev;
  proto_event_init(&ev, PROTO_EV_ORDER_DISPATCHED, "hq", 9, PROTO_HLC_MAKE(1795400000000, 3),
                   "store-001");
  proto_ev_dispatched *d = &ev.body.dispatched;
  strcpy(d->order_id, "o-20261121-0007");
  d->kind = PROTO_KIND_DELIVERY;
  d->n_items = 2;
  d->items[0] = (proto_item){"latte", "生椰拿铁（大杯）", 2, 1900};
  d->items[1] = (proto_item){"bagel", "", 1, 0};
  strcpy(d->pickup_code, "4821");
  strcpy(d->customer, "王先生");
  strcpy(d->phone_tail, "4321");
  strcpy(d->note, "少冰，不要吸管 \"谢谢\" \\ 😀\n第二行");
  d->total = 3800;
  d->placed_ms = 1795400000000;
  roundtrip(&ev, 0, 0);
  char *json = encode_str(&ev);
  assert_non_null(strstr(json, "\"name\":\"生椰拿铁（大杯）\"")); /* UTF-8 raw, not \u */
  assert_non_null(strstr(json, "少冰，不要吸管 \\\"谢谢\\\" \\\\ 😀\\n第二行"));
  assert_null(strstr(json, "\"customer\":\"\""));
  free(json);
}

static void test_exact_output(void **state) {
  proto_event ev;
  proto_event_init(&ev, PROTO_EV_ORDER_ACCEPTED, "store-001", 42, UINT64_C(115292150460684697),
                   "store-001");
  strcpy(ev.body.step.order_id, "o-123");
  strcpy(ev.body.step.by, "staff-7");
  char *json = encode_str(&ev);
  assert_string_equal(json,
                      "{\"v\":1,\"origin\":\"store-001\",\"seq\":42,\"hlc\":\"115292150460684697\","
                      "\"store\":\"store-001\",\"type\":\"order.accepted\","
                      "\"body\":{\"order_id\":\"o-123\",\"by\":\"staff-7\"}}");
  free(json);
  ev.body.step.by[0] = '\0'; /* optional and empty: omitted */
  json = encode_str(&ev);
  assert_non_null(strstr(json, "\"body\":{\"order_id\":\"o-123\"}}"));
  free(json);

  proto_event_init(&ev, PROTO_EV_STORE_SETTINGS, "hq", 1, 1, "store-001");
  ev.body.settings.present = (1u << PROTO_SET_PAUSED) | (1u << PROTO_SET_RADIUS_M);
  ev.body.settings.v.paused = true;
  ev.body.settings.v.radius_m = 3000;
  ev.body.settings.v.open_min = 480; /* not present: not written */
  json = encode_str(&ev);
  assert_non_null(strstr(json, "\"body\":{\"paused\":true,\"radius_m\":3000}}"));
  free(json);
}

/* ---- encoder refusals ------------------------------------------------------- */

typedef void (*spoil_fn)(proto_event *ev);
typedef struct {
  proto_event_type type;
  spoil_fn spoil;
  const char *field; /* expected in err.msg */
} spoil_case;

static void no_origin(proto_event *ev) { ev->origin[0] = '\0'; }
static void bad_origin(proto_event *ev) { strcpy(ev->origin, "store 001"); }
static void slash_store(proto_event *ev) { strcpy(ev->store, "store/1"); }
static void unterminated(proto_event *ev) { memset(ev->origin, 'a', sizeof ev->origin); }
static void seq_zero(proto_event *ev) { ev->seq = 0; }
static void seq_big(proto_event *ev) { ev->seq = PROTO_SEQ_MAX + 1; }
static void hlc_zero(proto_event *ev) { ev->hlc = 0; }
static void v_zero(proto_event *ev) { ev->v = 0; }
static void v_two(proto_event *ev) { ev->v = 2; }
static void type_bad(proto_event *ev) { ev->type = PROTO_EV__COUNT; }
static void kind_bad(proto_event *ev) { ev->body.dispatched.kind = PROTO_KIND__COUNT; }
static void no_items(proto_event *ev) { ev->body.dispatched.n_items = 0; }
static void many_items(proto_event *ev) { ev->body.dispatched.n_items = PROTO_ITEMS_MAX + 1; }
static void qty_zero(proto_event *ev) { ev->body.dispatched.items[0].qty = 0; }
static void price_neg(proto_event *ev) { ev->body.dispatched.items[0].price = -1; }
static void note_utf8(proto_event *ev) { strcpy(ev->body.dispatched.note, "ok \xC0\xAF"); }
static void code_empty(proto_event *ev) { ev->body.dispatched.pickup_code[0] = '\0'; }
static void by_bad(proto_event *ev) { strcpy(ev->body.step.by, "a b"); }
static void delta_zero(proto_event *ev) { ev->body.delta.delta = 0; }
static void delta_big(proto_event *ev) { ev->body.delta.delta = -PROTO_STOCK_MAX - 1; }
static void reason_bad(proto_event *ev) { ev->body.delta.reason = (proto_stock_reason)-1; }
static void seen_many(proto_event *ev) { ev->body.stocktake.n_seen = PROTO_SEEN_MAX + 1; }
static void seen_dup(proto_event *ev) {
  ev->body.stocktake.n_seen = 2;
  strcpy(ev->body.stocktake.seen[0].origin, "hq");
  strcpy(ev->body.stocktake.seen[1].origin, "hq");
  ev->body.stocktake.seen[0].seq = ev->body.stocktake.seen[1].seq = 1;
}
static void seen_zero(proto_event *ev) {
  ev->body.stocktake.n_seen = 1;
  strcpy(ev->body.stocktake.seen[0].origin, "hq");
  ev->body.stocktake.seen[0].seq = 0;
}
static void reminder_zero(proto_event *ev) { ev->body.reminded.n = 0; }
static void eta_big(proto_event *ev) { ev->body.rider.eta_ms = UINT64_C(1) << 53; }
static void bool_two(proto_event *ev) { memset(&ev->body.avail.sold_out, 2, 1); }
static void settings_none(proto_event *ev) { ev->body.settings.present = 0; }
static void settings_unknown(proto_event *ev) { ev->body.settings.present |= 1u << 30; }
static void settings_range(proto_event *ev) {
  ev->body.settings.present |= 1u << PROTO_SET_OPEN_MIN;
  ev->body.settings.v.open_min = 1441;
}
static void catalog_name(proto_event *ev) { ev->body.catalog.name[0] = '\0'; }

static const spoil_case spoil_cases[] = {
    {PROTO_EV_ORDER_ACCEPTED, no_origin, "origin: empty"},
    {PROTO_EV_ORDER_ACCEPTED, bad_origin, "origin: \"store 001\" is not an identifier"},
    {PROTO_EV_ORDER_ACCEPTED, slash_store, "store: \"store/1\" is not an identifier"},
    {PROTO_EV_ORDER_ACCEPTED, unterminated, "origin: not NUL-terminated"},
    {PROTO_EV_ORDER_ACCEPTED, seq_zero, "seq: 0 is out of range 1..9007199254740991"},
    {PROTO_EV_ORDER_ACCEPTED, seq_big, "seq: 9007199254740992 is out of range"},
    {PROTO_EV_ORDER_ACCEPTED, hlc_zero, "hlc: 0"},
    {PROTO_EV_ORDER_ACCEPTED, v_zero, "v: 0"},
    {PROTO_EV_ORDER_ACCEPTED, v_two, "v: 2"},
    {PROTO_EV_ORDER_ACCEPTED, type_bad, "type: 20"},
    {PROTO_EV_ORDER_ACCEPTED, by_bad, "body.by:"},
    {PROTO_EV_ORDER_DISPATCHED, kind_bad, "body.kind: 3"},
    {PROTO_EV_ORDER_DISPATCHED, no_items, "body.items: 0 entries"},
    {PROTO_EV_ORDER_DISPATCHED, many_items, "body.items: 33 entries"},
    {PROTO_EV_ORDER_DISPATCHED, qty_zero, "body.items[0].qty: 0 is out of range 1..9999"},
    {PROTO_EV_ORDER_DISPATCHED, price_neg, "body.items[0].price: -1"},
    {PROTO_EV_ORDER_DISPATCHED, note_utf8, "body.note: invalid UTF-8 at byte 3"},
    {PROTO_EV_ORDER_DISPATCHED, code_empty, "body.pickup_code: empty"},
    {PROTO_EV_STOCK_DELTA, delta_zero, "body.delta: 0 is not allowed"},
    {PROTO_EV_STOCK_DELTA, delta_big, "body.delta: -1000000001 is out of range"},
    {PROTO_EV_STOCK_DELTA, reason_bad, "body.reason: -1"},
    {PROTO_EV_STOCK_STOCKTAKE, seen_many, "body.seen: 17 entries"},
    {PROTO_EV_STOCK_STOCKTAKE, seen_dup, "body.seen[1]: duplicate origin"},
    {PROTO_EV_STOCK_STOCKTAKE, seen_zero, "body.seen[0]: 0 is out of range"},
    {PROTO_EV_ORDER_REMINDED, reminder_zero, "body.n: 0"},
    {PROTO_EV_RIDER_ASSIGNED, eta_big, "body.eta_ms:"},
    {PROTO_EV_SKU_AVAILABILITY, bool_two, "body.sold_out: 2"},
    {PROTO_EV_STORE_SETTINGS, settings_none, "body: no settings field"},
    {PROTO_EV_STORE_SETTINGS, settings_unknown, "body: unknown settings bits 0x40000000"},
    {PROTO_EV_STORE_SETTINGS, settings_range, "body.open_min: 1441 is out of range 0..1440"},
    {PROTO_EV_CATALOG_ENTRY, catalog_name, "body.name: empty"},
};

static void test_encode_refuses(void **state) {
  rng r = {11};
  proto_buf out;
  proto_buf_init(&out);
  for (size_t i = 0; i < sizeof spoil_cases / sizeof spoil_cases[0]; i++) {
    const spoil_case *c = &spoil_cases[i];
    proto_event ev;
    proto_err err = {0};
    gen_event(&r, c->type, GEN_RANDOM, &ev);
    c->spoil(&ev);
    proto_buf_reset(&out);
    assert_int_equal(proto_buf_puts(&out, "prefix"), PROTO_OK);
    int rc = proto_event_encode(&ev, &out, &err);
    if (rc != PROTO_EINVAL || !strstr(err.msg, c->field)) {
      print_error("case %zu: %s \"%s\", want \"%s\"\n", i, proto_err_name(rc), err.msg, c->field);
      fail();
    }
    /* Rolled back: the buffer holds exactly what it held before. */
    assert_int_equal(out.len, 6);
    assert_string_equal(out.data, "prefix");
  }
  proto_buf_close(&out);
}

/* Text that escapes six-fold can push an event past PROTO_EVENT_JSON_MAX:
 * the encoder refuses rather than write what no peer would read. */
static void test_encode_too_big(void **state) {
  rng r = {3};
  proto_event ev;
  proto_err err = {0};
  proto_buf out;
  proto_buf_init(&out);
  gen_event(&r, PROTO_EV_ORDER_DISPATCHED, GEN_MAX, &ev);
  for (int i = 0; i < PROTO_ITEMS_MAX; i++) memset(ev.body.dispatched.items[i].name, 1, PROTO_NAME_MAX - 1);
  assert_int_equal(proto_event_encode(&ev, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "event: encodes to"));
  assert_int_equal(out.len, 0);
  proto_buf_close(&out);
}

/* Events append to what is in the buffer (batching). */
static void test_encode_appends(void **state) {
  rng r = {5};
  proto_event a, b, back;
  proto_err err = {0};
  proto_buf out;
  proto_buf_init(&out);
  gen_event(&r, PROTO_EV_STOCK_DELTA, GEN_RANDOM, &a);
  gen_event(&r, PROTO_EV_SKU_AVAILABILITY, GEN_RANDOM, &b);
  assert_int_equal(proto_event_encode(&a, &out, &err), PROTO_OK);
  size_t first = out.len;
  assert_int_equal(proto_buf_puts(&out, "\n"), PROTO_OK);
  assert_int_equal(proto_event_encode(&b, &out, &err), PROTO_OK);
  char why[200];
  assert_int_equal(proto_event_decode(out.data, first, &back, &err), PROTO_OK);
  assert_true(event_equal(&a, &back, why, sizeof why));
  assert_int_equal(proto_event_decode(out.data + first + 1, out.len - first - 1, &back, &err),
                   PROTO_OK);
  assert_true(event_equal(&b, &back, why, sizeof why));
  proto_buf_close(&out);
}

/* Throughput, for the report (not an assertion: the machine is shared). */
static void test_speed(void **state) {
  rng r = {99};
  enum { N = 20000 };
  static proto_event evs[64];
  proto_event back;
  proto_err err = {0};
  proto_buf out;
  proto_buf_init(&out);
  for (int i = 0; i < 64; i++) gen_event(&r, (proto_event_type)(i % PROTO_EV__COUNT), GEN_RANDOM, &evs[i]);
  struct timespec t0, t1, t2, t3;
  size_t bytes = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < N; i++) {
    proto_buf_reset(&out);
    assert_int_equal(proto_event_encode(&evs[i % 64], &out, &err), PROTO_OK);
    bytes += out.len;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  char *json[64];
  for (int i = 0; i < 64; i++) json[i] = encode_str(&evs[i]);
  clock_gettime(CLOCK_MONOTONIC, &t2);
  for (int i = 0; i < N; i++)
    assert_int_equal(proto_event_decode(json[i % 64], strlen(json[i % 64]), &back, &err), PROTO_OK);
  clock_gettime(CLOCK_MONOTONIC, &t3);
  double enc = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  double dec = (double)(t3.tv_sec - t2.tv_sec) + (double)(t3.tv_nsec - t2.tv_nsec) / 1e9;
  print_message("codec speed: encode %.0f events/s, decode %.0f events/s (avg %zu bytes)\n",
                N / enc, N / dec, bytes / N);
  for (int i = 0; i < 64; i++) free(json[i]);
  proto_buf_close(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_random), cmocka_unit_test(test_roundtrip_extremes),
      cmocka_unit_test(test_roundtrip_chinese), cmocka_unit_test(test_exact_output),
      cmocka_unit_test(test_encode_refuses),   cmocka_unit_test(test_encode_too_big),
      cmocka_unit_test(test_encode_appends),   cmocka_unit_test(test_speed),
      cmocka_unit_test(test_event_size_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
