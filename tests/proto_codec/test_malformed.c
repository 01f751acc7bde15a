/* test_malformed.c - every decoding rule of proto/codec.h, each with the
 * exact error code and a message that names the field (or, for byte-level
 * faults found before parsing, the offset).
 *
 * Inputs are built from one valid body per type by textual edits
 * (json_edit), so each case differs from a valid event in one place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"
#include "malformed_util.h"

/* ---- presence and JSON types -------------------------------------------------- */

static void test_bases_valid(void **state) {
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    char *json = envelope((proto_event_type)t, base_of((proto_event_type)t).body);
    expect(json, PROTO_OK, NULL);
    free(json);
  }
}

static void missing_one(proto_event_type t, const char *key) {
  char needle[80];
  snprintf(needle, sizeof needle, "body.%s: missing", key);
  expect_edit(t, base_of(t).body, key, NULL, PROTO_EMISSING, needle);
}

static void optional_one(proto_event_type t, const char *key) {
  expect_edit(t, base_of(t).body, key, NULL, PROTO_OK, NULL);
  expect_edit(t, base_of(t).body, key, "\"\"", PROTO_OK, NULL);
}

static void wrong_type_one(proto_event_type t, const char *key) {
  char needle[80];
  snprintf(needle, sizeof needle, "body.%s: expected", key);
  expect_edit(t, base_of(t).body, key, "null", PROTO_ETYPE, needle);
  bool is_bool = strstr("sold_out automatic active", key) != NULL;
  expect_edit(t, base_of(t).body, key, is_bool ? "\"true\"" : "true", PROTO_ETYPE, needle);
}

static void test_missing_required(void **state) {
  for (int t = 0; t < PROTO_EV__COUNT; t++)
    each_word(base_of((proto_event_type)t).required, missing_one, (proto_event_type)t);
  static const char *const env_keys[] = {"v", "origin", "seq", "hlc", "store", "type", "body"};
  char *json = envelope(PROTO_EV_ORDER_READY, step_base.body), edited[1000], needle[40];
  for (size_t i = 0; i < sizeof env_keys / sizeof *env_keys; i++) {
    assert_true(json_edit(json, env_keys[i], NULL, edited, sizeof edited));
    snprintf(needle, sizeof needle, "%s: missing", env_keys[i]);
    expect(edited, PROTO_EMISSING, needle);
  }
  free(json);
  /* Order lines: sku, qty, price required; name optional. */
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "qty", NULL, PROTO_EMISSING,
              "body.items[0].qty: missing");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "sku", NULL, PROTO_EMISSING,
              "body.items[0].sku: missing");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "price", NULL, PROTO_EMISSING,
              "body.items[0].price: missing");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "name", NULL, PROTO_OK, NULL);
}

static void test_optional_absent_or_empty(void **state) {
  for (int t = 0; t < PROTO_EV__COUNT; t++)
    each_word(base_of((proto_event_type)t).optional, optional_one, (proto_event_type)t);
  /* Absent and "" both decode to "". */
  proto_event ev;
  proto_err err;
  char *json = envelope(PROTO_EV_ORDER_ACCEPTED, "{\"order_id\":\"o-1\",\"by\":\"\"}");
  assert_int_equal(decode_n(json, strlen(json), &ev, &err), PROTO_OK);
  assert_string_equal(ev.body.step.by, "");
  free(json);
}

static void test_wrong_type(void **state) {
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    each_word(base_of((proto_event_type)t).required, wrong_type_one, (proto_event_type)t);
    each_word(base_of((proto_event_type)t).optional, wrong_type_one, (proto_event_type)t);
  }
  static const struct { const char *key, *val, *needle; } env[] = {
      {"v", "\"1\"", "v: expected an integer, got string"},
      {"origin", "7", "origin: expected a string, got number"},
      {"seq", "\"42\"", "seq: expected an integer"},
      {"hlc", "115292150460684697", "hlc: expected a decimal string, got number"},
      {"store", "[]", "store: expected a string, got array"},
      {"type", "true", "type: expected a string, got bool"},
      {"body", "[]", "body: expected an object, got array"},
      {"body", "\"x\"", "body: expected an object, got string"},
  };
  char *json = envelope(PROTO_EV_ORDER_READY, step_base.body), edited[1000];
  for (size_t i = 0; i < sizeof env / sizeof *env; i++) {
    assert_true(json_edit(json, env[i].key, env[i].val, edited, sizeof edited));
    expect(edited, PROTO_ETYPE, env[i].needle);
  }
  free(json);
  /* Type-specific mismatches in bodies. */
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "qty", "\"2\"", PROTO_ETYPE,
              "body.items[0].qty: expected an integer, got string");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "sku", "7", PROTO_ETYPE,
              "body.items[0].sku: expected a string");
  expect_edit(PROTO_EV_SKU_AVAILABILITY, base_of(PROTO_EV_SKU_AVAILABILITY).body, "sold_out", "1",
              PROTO_ETYPE, "body.sold_out: expected true or false, got number");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "items", "{\"sku\":\"x\"}", PROTO_ETYPE,
              "body.items: expected an array, got object");
  expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "items", "[1]", PROTO_ETYPE,
              "body.items[0]: expected an object, got number");
  expect_edit(PROTO_EV_STOCK_STOCKTAKE, base_of(PROTO_EV_STOCK_STOCKTAKE).body, "seen", "[]",
              PROTO_ETYPE, "body.seen: expected an object, got array");
  expect_edit(PROTO_EV_STOCK_STOCKTAKE, base_of(PROTO_EV_STOCK_STOCKTAKE).body, "hq", "\"7\"",
              PROTO_ETYPE, "body.seen.hq: expected an integer");
  expect_edit(PROTO_EV_ORDER_REJECTED, base_of(PROTO_EV_ORDER_REJECTED).body, "reason", "3",
              PROTO_ETYPE, "body.reason: expected a string");
}

static void test_not_an_object(void **state) {
  static const char *const inputs[] = {"[]", "42", "\"x\"", "null", "true", "[{\"v\":1}]"};
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
    expect(inputs[i], PROTO_ETYPE, "event: expected an object");
}

/* ---- numbers -------------------------------------------------------------------- */

typedef struct {
  proto_event_type type;
  const char *key, *val;
  int code;
  const char *needle;
} edit_case;

static const edit_case ranges[] = {
    {PROTO_EV_ORDER_READY, "seq", "0", PROTO_ERANGE, "seq: 0 is out of range 1..9007199254740991"},
    {PROTO_EV_ORDER_READY, "seq", "-1", PROTO_ERANGE, "seq: -1 is out of range"},
    {PROTO_EV_ORDER_READY, "seq", "9007199254740992", PROTO_ERANGE, "seq: 9007199254740992 is out"},
    {PROTO_EV_ORDER_READY, "seq", "9007199254740991", PROTO_OK, NULL},
    {PROTO_EV_ORDER_READY, "seq", "1.5", PROTO_ERANGE, "seq: 1.5 is not an integer"},
    {PROTO_EV_ORDER_READY, "seq", "1e300", PROTO_ERANGE, "seq: 1.0000000000000001e+300 is out"},
    {PROTO_EV_ORDER_READY, "seq", "1e999", PROTO_ERANGE, "seq: inf is out of range"},
    {PROTO_EV_ORDER_READY, "seq", "4e1", PROTO_OK, NULL}, /* 40: integral */
    {PROTO_EV_ORDER_DISPATCHED, "qty", "0", PROTO_ERANGE, "body.items[0].qty: 0 is out of range 1..9999"},
    {PROTO_EV_ORDER_DISPATCHED, "qty", "10000", PROTO_ERANGE, "body.items[0].qty: 10000 is out"},
    {PROTO_EV_ORDER_DISPATCHED, "qty", "2.5", PROTO_ERANGE, "body.items[0].qty: 2.5 is not an integer"},
    {PROTO_EV_ORDER_DISPATCHED, "price", "-1", PROTO_ERANGE, "body.items[0].price: -1 is out"},
    {PROTO_EV_ORDER_DISPATCHED, "price", "100000000001", PROTO_ERANGE, "body.items[0].price:"},
    {PROTO_EV_ORDER_DISPATCHED, "price", "100000000000", PROTO_OK, NULL},
    {PROTO_EV_ORDER_DISPATCHED, "total", "-1", PROTO_ERANGE, "body.total: -1 is out"},
    {PROTO_EV_ORDER_DISPATCHED, "total", "19.99", PROTO_ERANGE, "body.total: 19.9"},
    {PROTO_EV_ORDER_DISPATCHED, "placed_ms", "-1", PROTO_ERANGE, "body.placed_ms: -1"},
    {PROTO_EV_ORDER_DISPATCHED, "placed_ms", "9007199254740992", PROTO_ERANGE, "body.placed_ms:"},
    {PROTO_EV_RIDER_ASSIGNED, "eta_ms", "-5", PROTO_ERANGE, "body.eta_ms: -5"},
    {PROTO_EV_RIDER_ASSIGNED, "eta_ms", "0", PROTO_OK, NULL},
    {PROTO_EV_STOCK_DELTA, "delta", "0", PROTO_ERANGE, "body.delta: 0 is not allowed"},
    {PROTO_EV_STOCK_DELTA, "delta", "-0", PROTO_ERANGE, "body.delta: 0 is not allowed"},
    {PROTO_EV_STOCK_DELTA, "delta", "1000000001", PROTO_ERANGE, "body.delta: 1000000001 is out"},
    {PROTO_EV_STOCK_DELTA, "delta", "-1000000001", PROTO_ERANGE, "body.delta: -1000000001 is out"},
    {PROTO_EV_STOCK_DELTA, "delta", "-1000000000", PROTO_OK, NULL},
    {PROTO_EV_STOCK_DELTA, "delta", "0.5", PROTO_ERANGE, "body.delta: 0.5 is not an integer"},
    {PROTO_EV_STOCK_STOCKTAKE, "counted", "-1", PROTO_ERANGE, "body.counted: -1 is out"},
    {PROTO_EV_STOCK_STOCKTAKE, "counted", "1000000001", PROTO_ERANGE, "body.counted:"},
    {PROTO_EV_STOCK_STOCKTAKE, "counted", "-0", PROTO_OK, NULL},
    {PROTO_EV_STOCK_STOCKTAKE, "hq", "0", PROTO_ERANGE, "body.seen.hq: 0 is out of range"},
    {PROTO_EV_STOCK_STOCKTAKE, "hq", "9007199254740992", PROTO_ERANGE, "body.seen.hq:"},
    {PROTO_EV_STOCK_STOCKTAKE, "hq", "7.5", PROTO_ERANGE, "body.seen.hq: 7.5 is not an integer"},
    {PROTO_EV_CATALOG_ENTRY, "low_threshold", "-1", PROTO_ERANGE, "body.low_threshold: -1"},
    {PROTO_EV_CATALOG_ENTRY, "price", "1e12", PROTO_ERANGE, "body.price: 1000000000000 is out"},
    {PROTO_EV_ORDER_REMINDED, "n", "0", PROTO_ERANGE, "body.n: 0 is out of range 1..4294967295"},
    {PROTO_EV_ORDER_REMINDED, "n", "4294967296", PROTO_ERANGE, "body.n: 4294967296"},
    {PROTO_EV_ORDER_REMINDED, "n", "4294967295", PROTO_OK, NULL},
    /* The envelope version. */
    {PROTO_EV_ORDER_READY, "v", "2", PROTO_EVERSION, "v: 2 is newer than supported 1"},
    {PROTO_EV_ORDER_READY, "v", "0", PROTO_ERANGE, "v: 0 is out of range"},
    {PROTO_EV_ORDER_READY, "v", "-1", PROTO_ERANGE, "v: -1 is out of range"},
    {PROTO_EV_ORDER_READY, "v", "1.5", PROTO_ERANGE, "v: 1.5 is not an integer"},
    {PROTO_EV_ORDER_READY, "v", "1.0", PROTO_OK, NULL},
    /* hlc: canonical decimal string of 1..2^64-1. */
    {PROTO_EV_ORDER_READY, "hlc", "\"0\"", PROTO_ERANGE, "hlc: 0 is out of range"},
    {PROTO_EV_ORDER_READY, "hlc", "\"18446744073709551616\"", PROTO_ERANGE, "hlc: 18446744073709551616"},
    {PROTO_EV_ORDER_READY, "hlc", "\"99999999999999999999999\"", PROTO_ERANGE, "hlc:"},
    {PROTO_EV_ORDER_READY, "hlc", "\"18446744073709551615\"", PROTO_OK, NULL},
    {PROTO_EV_ORDER_READY, "hlc", "\"\"", PROTO_EINVAL, "hlc: \"\" is not a decimal integer"},
    {PROTO_EV_ORDER_READY, "hlc", "\"12a\"", PROTO_EINVAL, "hlc: \"12a\" is not"},
    {PROTO_EV_ORDER_READY, "hlc", "\"-1\"", PROTO_EINVAL, "hlc: \"-1\" is not"},
    {PROTO_EV_ORDER_READY, "hlc", "\"007\"", PROTO_EINVAL, "hlc: \"007\" is not"},
    {PROTO_EV_ORDER_READY, "hlc", "\" 7\"", PROTO_EINVAL, "hlc:"},
    /* Enumerations and the type. */
    {PROTO_EV_ORDER_READY, "type", "\"order.eaten\"", PROTO_EUNKNOWN_TYPE,
     "type: unknown event type \"order.eaten\""},
    {PROTO_EV_ORDER_READY, "type", "\"\"", PROTO_EUNKNOWN_TYPE, "type: unknown event type"},
    {PROTO_EV_ORDER_DISPATCHED, "kind", "\"drone\"", PROTO_EENUM, "body.kind: unknown value \"drone\""},
    {PROTO_EV_ORDER_DISPATCHED, "kind", "\"Pickup\"", PROTO_EENUM, "body.kind:"},
    {PROTO_EV_ORDER_REJECTED, "reason", "\"bored\"", PROTO_EENUM, "body.reason: unknown value"},
    {PROTO_EV_ORDER_CANCELLED, "by", "\"cat\"", PROTO_EENUM, "body.by: unknown value \"cat\""},
    {PROTO_EV_STOCK_DELTA, "reason", "\"theft\"", PROTO_EENUM, "body.reason: unknown value"},
    /* Identifiers. */
    {PROTO_EV_ORDER_READY, "origin", "\"store 001\"", PROTO_EINVAL, "origin: \"store 001\" is not an identifier"},
    {PROTO_EV_ORDER_READY, "origin", "\"\"", PROTO_EINVAL, "origin: empty"},
    {PROTO_EV_ORDER_READY, "store", "\"店\"", PROTO_EINVAL, "store: \"???\" is not an identifier"},
    {PROTO_EV_ORDER_READY, "store", "\"a/b\"", PROTO_EINVAL, "store:"},
    {PROTO_EV_ORDER_READY, "order_id", "\"o 1\"", PROTO_EINVAL, "body.order_id:"},
    {PROTO_EV_ORDER_READY, "order_id", "\"\"", PROTO_EINVAL, "body.order_id: empty"},
    {PROTO_EV_ORDER_READY, "by", "\"x y\"", PROTO_EINVAL, "body.by: \"x y\""},
    {PROTO_EV_ORDER_READY, "by", "\"A-Za-z0-9_.:-\"", PROTO_OK, NULL},
    {PROTO_EV_ORDER_DISPATCHED, "sku", "\"la\\tte\"", PROTO_EINVAL, "body.items[0].sku: \"la?te\""},
    {PROTO_EV_STOCK_DELTA, "peer", "\"store 2\"", PROTO_EINVAL, "body.peer:"},
    {PROTO_EV_STOCK_DELTA, "ref", "\"o#1\"", PROTO_EINVAL, "body.ref:"},
    {PROTO_EV_ORDER_SHIPPED, "tracking", "\"SF 123\"", PROTO_EINVAL, "body.tracking:"},
    {PROTO_EV_ORDER_RESOLVED, "resolution", "\"\"", PROTO_EINVAL, "body.resolution: empty"},
    /* Required free text must not be empty. */
    {PROTO_EV_ORDER_DISPATCHED, "pickup_code", "\"\"", PROTO_EINVAL, "body.pickup_code: empty"},
    {PROTO_EV_ORDER_SHIPPED, "courier", "\"\"", PROTO_EINVAL, "body.courier: empty"},
    /* Keys given twice are refused, whichever value is "right". */
    {PROTO_EV_ORDER_DISPATCHED, "qty", "2,\"qty\":2", PROTO_EINVAL, "body.items[0].qty: key given twice"},
    {PROTO_EV_ORDER_READY, "seq", "42,\"seq\":43", PROTO_EINVAL, "seq: key given twice"},
    {PROTO_EV_ORDER_READY, "type", "\"order.ready\",\"type\":\"order.ready\"", PROTO_EINVAL, "type: key given twice"},
};

static void run_edits(const edit_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const edit_case *c = &cases[i];
    expect_edit(c->type, base_of(c->type).body, c->key, c->val, c->code, c->needle);
  }
}

static void test_ranges_enums_ids(void **state) { run_edits(ranges, sizeof ranges / sizeof *ranges); }

static void test_newer_version_first(void **state) {
  /* A newer major is reported before anything else is looked at. */
  expect("{\"v\":2}", PROTO_EVERSION, "v: 2");
  expect("{\"v\":3,\"type\":\"order.eaten\",\"body\":[]}", PROTO_EVERSION, "v: 3");
  expect("{\"type\":\"order.ready\"}", PROTO_EMISSING, "v: missing");
  expect("{\"v\":1,\"type\":\"order.eaten\"}", PROTO_EUNKNOWN_TYPE, "order.eaten");
}

/* ---- settings ---------------------------------------------------------------------- */

/* Every field of the settings table: range edges, integrality, JSON type. */
static void test_settings(void **state) {
  const proto_settings_field_info *tbl = proto_settings_fields();
  char body[400], needle[100];
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    const char *k = tbl[i].key;
    long long lo = (long long)tbl[i].min, hi = (long long)tbl[i].max;
    snprintf(needle, sizeof needle, "body.%s: expected", k);
    snprintf(body, sizeof body, "{\"%s\":null}", k);
    expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ETYPE, needle);
    if (tbl[i].type == PROTO_FIELD_INT) {
      snprintf(body, sizeof body, "{\"%s\":%lld}", k, lo);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_OK, NULL);
      snprintf(body, sizeof body, "{\"%s\":%lld}", k, hi);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_OK, NULL);
      snprintf(body, sizeof body, "{\"%s\":%lld}", k, lo - 1);
      snprintf(needle, sizeof needle, "body.%s: %lld is out of range %lld..%lld", k, lo - 1, lo, hi);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ERANGE, needle);
      snprintf(body, sizeof body, "{\"paused\":true,\"%s\":%lld}", k, hi + 1);
      snprintf(needle, sizeof needle, "body.%s: %lld is out of range", k, hi + 1);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ERANGE, needle);
      long long in = lo < 0 ? lo + 1 : lo; /* in.5 lies within lo..hi */
      snprintf(body, sizeof body, "{\"%s\":%lld.5}", k, in);
      snprintf(needle, sizeof needle, "body.%s: %lld.5 is not an integer", k, in);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ERANGE, needle);
    } else if (tbl[i].type == PROTO_FIELD_BOOL) {
      snprintf(body, sizeof body, "{\"%s\":1}", k);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ETYPE, needle);
    } else {
      snprintf(body, sizeof body, "{\"%s\":7}", k);
      expect_body(PROTO_EV_STORE_SETTINGS, body, PROTO_ETYPE, needle);
    }
  }
}

static void test_settings_presence(void **state) {
  proto_event ev;
  proto_err err;
  char *json = envelope(PROTO_EV_STORE_SETTINGS, "{\"radius_m\":0,\"paused\":true,\"future\":1}");
  assert_int_equal(decode_n(json, strlen(json), &ev, &err), PROTO_OK);
  assert_int_equal(ev.body.settings.present, (1u << PROTO_SET_RADIUS_M) | (1u << PROTO_SET_PAUSED));
  assert_true(ev.body.settings.v.paused);
  free(json);
  json = envelope(PROTO_EV_STORE_SETTINGS, "{}");
  expect(json, PROTO_EMISSING, "body: no settings field present");
  free(json);
  json = envelope(PROTO_EV_STORE_SETTINGS, "{\"future\":1}"); /* unknown keys do not count */
  expect(json, PROTO_EMISSING, "body: no settings field present");
  free(json);
  json = envelope(PROTO_EV_STORE_SETTINGS, "{\"name\":\"\"}");
  expect(json, PROTO_EINVAL, "body.name: empty");
  free(json);
  json = envelope(PROTO_EV_STORE_SETTINGS, "{\"paused\":\"yes\"}");
  expect(json, PROTO_ETYPE, "body.paused: expected true or false, got string");
  free(json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bases_valid),
      cmocka_unit_test(test_missing_required),
      cmocka_unit_test(test_optional_absent_or_empty),
      cmocka_unit_test(test_wrong_type),
      cmocka_unit_test(test_not_an_object),
      cmocka_unit_test(test_ranges_enums_ids),
      cmocka_unit_test(test_newer_version_first),
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_settings_presence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
