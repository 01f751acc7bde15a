/* test_limits.c - byte-level and size rules of the decoder: string and array
 * limits, UTF-8, nesting depth, input size, truncation, and JSON-level
 * strictness (trailing data, NUL escapes, control characters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"
#include "malformed_util.h"

/* ---- string and array limits --------------------------------------------------- */

typedef struct {
  proto_event_type type;
  const char *key;  /* first occurrence in the base is replaced */
  const char *path; /* as named in messages */
  size_t size;      /* buffer size: size-1 bytes fit */
  bool id;
} str_case;

static const str_case strings[] = {
    {PROTO_EV_ORDER_READY, "origin", "origin", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_READY, "store", "store", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_READY, "order_id", "body.order_id", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_READY, "by", "body.by", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_DISPATCHED, "sku", "body.items[0].sku", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_DISPATCHED, "name", "body.items[0].name", PROTO_NAME_MAX, false},
    {PROTO_EV_ORDER_DISPATCHED, "pickup_code", "body.pickup_code", PROTO_CODE_MAX, false},
    {PROTO_EV_ORDER_DISPATCHED, "customer", "body.customer", PROTO_NAME_MAX, false},
    {PROTO_EV_ORDER_DISPATCHED, "phone_tail", "body.phone_tail", PROTO_CODE_MAX, false},
    {PROTO_EV_ORDER_DISPATCHED, "note", "body.note", PROTO_NOTE_MAX, false},
    {PROTO_EV_ORDER_REJECTED, "by", "body.by", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_SHIPPED, "courier", "body.courier", PROTO_NAME_MAX, false},
    {PROTO_EV_ORDER_SHIPPED, "tracking", "body.tracking", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_CANCELLED, "reason", "body.reason", PROTO_NOTE_MAX, false},
    {PROTO_EV_ORDER_REMINDED, "note", "body.note", PROTO_NOTE_MAX, false},
    {PROTO_EV_ORDER_ITEM_UNAVAILABLE, "sku", "body.sku", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_RESOLVED, "resolution", "body.resolution", PROTO_ID_MAX, true},
    {PROTO_EV_ORDER_RESOLVED, "note", "body.note", PROTO_NOTE_MAX, false},
    {PROTO_EV_RIDER_ASSIGNED, "name", "body.name", PROTO_NAME_MAX, false},
    {PROTO_EV_RIDER_ASSIGNED, "phone_tail", "body.phone_tail", PROTO_CODE_MAX, false},
    {PROTO_EV_STOCK_DELTA, "sku", "body.sku", PROTO_ID_MAX, true},
    {PROTO_EV_STOCK_DELTA, "ref", "body.ref", PROTO_ID_MAX, true},
    {PROTO_EV_STOCK_DELTA, "peer", "body.peer", PROTO_ID_MAX, true},
    {PROTO_EV_STOCK_DELTA, "note", "body.note", PROTO_NOTE_MAX, false},
    {PROTO_EV_STOCK_STOCKTAKE, "sku", "body.sku", PROTO_ID_MAX, true},
    {PROTO_EV_SKU_AVAILABILITY, "sku", "body.sku", PROTO_ID_MAX, true},
    {PROTO_EV_CATALOG_ENTRY, "name", "body.name", PROTO_NAME_MAX, false},
    {PROTO_EV_CATALOG_ENTRY, "name_en", "body.name_en", PROTO_NAME_MAX, false},
    {PROTO_EV_STORE_SETTINGS, "name", "body.name", PROTO_NAME_MAX, false},
};

/* A JSON string literal of exactly n bytes of content: identifiers in
 * ASCII, text mostly in 3-byte Chinese characters. */
static void literal(char *dst, size_t n, bool id) {
  size_t len = 0;
  *dst++ = '"';
  while (len < n) {
    const char *p = !id && n - len >= 3 ? "生" : "a";
    size_t k = strlen(p);
    memcpy(dst + len, p, k);
    len += k;
  }
  dst[len] = '"';
  dst[len + 1] = '\0';
}

static void test_string_limits(void **state) {
  char val[1100], needle[120];
  for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
    const str_case *c = &strings[i];
    literal(val, c->size - 1, c->id);
    expect_edit(c->type, base_of(c->type).body, c->key, val, PROTO_OK, NULL);
    literal(val, c->size, c->id);
    snprintf(needle, sizeof needle, "%s: %zu bytes, limit %zu", c->path, c->size, c->size - 1);
    expect_edit(c->type, base_of(c->type).body, c->key, val, PROTO_ETOOLONG, needle);
  }
}

/* "[e,e,...]" or "{k:v,...}" of n members; "%d" in pattern becomes i. */
static char *repeat(const char *open, const char *pattern, const char *close, int n) {
  size_t cap = 64 + strlen(close) + (size_t)n * (strlen(pattern) + 16);
  const char *hole = strstr(pattern, "%d");
  int pre = (int)(hole - pattern);
  char *s = malloc(cap);
  size_t len = (size_t)snprintf(s, cap, "%s", open);
  for (int i = 0; i < n; i++) {
    if (i) s[len++] = ',';
    len += (size_t)snprintf(s + len, cap - len, "%.*s%d%s", pre, pattern, i, hole + 2);
  }
  snprintf(s + len, cap - len, "%s", close);
  return s;
}

static void expect_list(proto_event_type t, const char *key, char *list, int code,
                        const char *needle) {
  expect_edit(t, base_of(t).body, key, list, code, needle);
  free(list);
}

static void test_array_limits(void **state) {
  const char *item = "{\"sku\":\"s%d\",\"qty\":1,\"price\":5}";
  proto_event_type d = PROTO_EV_ORDER_DISPATCHED, st = PROTO_EV_STOCK_STOCKTAKE;
  expect_list(d, "items", repeat("[", item, "]", 32), PROTO_OK, NULL);
  expect_list(d, "items", repeat("[", item, "]", 33), PROTO_ETOOLONG,
              "body.items: 33 entries, limit 32");
  expect_list(d, "items", repeat("[", item, "]", 300), PROTO_ETOOLONG, "body.items: 300 entries");
  expect_list(d, "items", repeat("[", item, "]", 0), PROTO_EINVAL, "body.items: 0 entries, need 1..32");
  expect_list(d, "items", repeat("[", item, ",3]", 2), PROTO_ETYPE,
              "body.items[2]: expected an object, got number");
  expect_list(d, "items", repeat("[", item, ",{\"sku\":\"x\",\"qty\":0,\"price\":1}]", 2),
              PROTO_ERANGE, "body.items[2].qty: 0 is out of range 1..9999");
  expect_list(st, "seen", repeat("{", "\"o%d\":1", "}", 16), PROTO_OK, NULL);
  expect_list(st, "seen", repeat("{", "\"o%d\":1", "}", 17), PROTO_ETOOLONG,
              "body.seen: 17 entries, limit 16");
  expect_list(st, "seen", repeat("{", "\"o%d\":1", "}", 0), PROTO_OK, NULL);
  expect_edit(st, base_of(st).body, "seen", "{\"hq\":1,\"hq\":2}", PROTO_EINVAL,
              "body.seen.hq: origin given twice");
  expect_edit(st, base_of(st).body, "seen", "{\"bad key\":1}", PROTO_EINVAL,
              "body.seen.bad key: \"bad key\" is not an identifier");
  expect_edit(st, base_of(st).body, "seen", "{\"\":1}", PROTO_EINVAL, "body.seen.: empty");
  char val[200];
  literal(val, PROTO_ID_MAX, true);
  memmove(val + 2, val, strlen(val) + 1);
  val[0] = '{';
  val[1] = ' ';
  strcat(val, ":3}");
  expect_edit(st, base_of(st).body, "seen", val, PROTO_ETOOLONG, "64 bytes, limit 63");
}

/* ---- UTF-8 -------------------------------------------------------------------------- */

static const char *const bad_utf8[] = {
    "\xC0\xAF",         /* overlong '/' */
    "\xC1\xBF",         /* overlong, 2 bytes */
    "\xE0\x80\xAF",     /* overlong, 3 bytes */
    "\xE0\x9F\xBF",     /* overlong, 3 bytes, top */
    "\xF0\x80\x80\xAF", /* overlong, 4 bytes */
    "\xF0\x8F\xBF\xBF", /* overlong, 4 bytes, top */
    "\xED\xA0\x80",     /* surrogate U+D800 */
    "\xED\xBF\xBF",     /* surrogate U+DFFF */
    "\xED\xA0\xBD\xED\xB8\x80", /* CESU-8 surrogate pair */
    "\xF4\x90\x80\x80", /* U+110000 */
    "\xF5\x80\x80\x80", /* lead byte F5 */
    "\xF8\x88\x80\x80\x80", /* 5-byte form */
    "\xFE",             /* never in UTF-8 */
    "\xFF",
    "\x80",             /* lone continuation */
    "\xBF\xBF",
    "\xE4\xB8",         /* truncated 3-byte (then the closing quote) */
    "\xF0\x9F\x98",     /* truncated 4-byte */
    "\xC3" "a",         /* lead then ASCII */
    "\xE4" "a" "\xB8\x80", /* interrupted */
};

static const char *const good_utf8[] = {
    "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
    "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "生椰拿铁", "😀",
};

static void test_utf8(void **state) {
  char val[64];
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
    snprintf(val, sizeof val, "\"ok%s\"", bad_utf8[i]);
    expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "note", val, PROTO_EUTF8,
                "invalid UTF-8 byte");
    assert_int_equal(proto_json_precheck(val, strlen(val), 8, NULL), PROTO_EUTF8);
  }
  for (size_t i = 0; i < sizeof good_utf8 / sizeof *good_utf8; i++) {
    snprintf(val, sizeof val, "\"%s\"", good_utf8[i]);
    expect_edit(PROTO_EV_ORDER_DISPATCHED, dispatched_body, "note", val, PROTO_OK, NULL);
  }
  /* The offset is exact; bad bytes outside strings and in keys count too. */
  proto_err err = {0};
  assert_int_equal(proto_json_precheck("{\"a\":\"xy\xC0\xAF\"}", 11, 8, &err), PROTO_EUTF8);
  assert_string_equal(err.msg, "offset 8: invalid UTF-8 byte 0xC0");
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\",\"k\xFF\":1", PROTO_EUTF8, "offset");
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\" \xE4\xB8\xAD", PROTO_EJSON,
              "malformed JSON");
  char *json = envelope(PROTO_EV_ORDER_READY, step_base.body);
  size_t n = strlen(json);
  json[n - 1] = '\xE4'; /* last byte a lead byte with nothing after it */
  expect_n(json, n, PROTO_EUTF8, "invalid UTF-8");
  free(json);
}

/* ---- nesting, size, emptiness, truncation ------------------------------------------ */

static void test_depth(void **state) {
  char val[200000];
  /* envelope 1, body 2: six more levels reach the limit of 8. */
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\",\"x\":[[[[[[1]]]]]]", PROTO_OK, NULL);
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\",\"x\":[[[[[[[1]]]]]]]", PROTO_EDEPTH,
              "nesting deeper than 8");
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\",\"x\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{}}}}}}}",
              PROTO_EDEPTH, "nesting deeper than 8");
  /* Brackets inside strings do not count. */
  expect_edit(PROTO_EV_ORDER_READY, step_base.body, "by", "\"s\",\"x\":\"[[[[[[[[[[{{{{{{{\\\"[[[[\"",
              PROTO_OK, NULL);
  /* Very deep input fails fast at the limit, without recursion in cJSON. */
  memset(val, '[', 100000);
  val[100000] = '\0';
  expect(val, PROTO_ETOOLONG, "event: 100000 bytes, limit 16384");
  expect_n(val, 16000, PROTO_EDEPTH, "offset 8: nesting deeper than 8");
  proto_err err = {0};
  assert_int_equal(proto_json_precheck("[[1]]", 5, 2, &err), PROTO_OK);
  assert_int_equal(proto_json_precheck("[[1]]", 5, 1, &err), PROTO_EDEPTH);
  assert_int_equal(proto_json_precheck("\"[[\\\"[[\"", 8, 0, &err), PROTO_OK);
}

static void test_size_and_empty(void **state) {
  char *json = envelope(PROTO_EV_ORDER_READY, step_base.body);
  size_t n = strlen(json);
  char *big = malloc(PROTO_EVENT_JSON_MAX + 2);
  memcpy(big, json, n);
  memset(big + n, ' ', PROTO_EVENT_JSON_MAX + 1 - n);
  expect_n(big, PROTO_EVENT_JSON_MAX, PROTO_OK, NULL); /* trailing whitespace is fine */
  expect_n(big, PROTO_EVENT_JSON_MAX + 1, PROTO_ETOOLONG, "event: 16385 bytes, limit 16384");
  memset(big, ' ', PROTO_EVENT_JSON_MAX - n);
  memcpy(big + PROTO_EVENT_JSON_MAX - n, json, n);
  expect_n(big, PROTO_EVENT_JSON_MAX, PROTO_OK, NULL); /* leading too */
  free(big);
  free(json);

  proto_event ev;
  proto_err err = {0};
  assert_int_equal(proto_event_decode(NULL, 0, &ev, &err), PROTO_EJSON);
  assert_non_null(strstr(err.msg, "event: empty input"));
  expect_n("", 0, PROTO_EJSON, "event: empty input");
  expect("   ", PROTO_EJSON, "malformed JSON");
  expect("\n", PROTO_EJSON, "malformed JSON");
  expect("{", PROTO_EJSON, "malformed JSON at offset");
}

static void test_truncated(void **state) {
  rng r = {17};
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    proto_event ev;
    gen_event(&r, (proto_event_type)t, GEN_RANDOM, &ev);
    char *json = encode_str(&ev);
    size_t n = strlen(json);
    for (size_t k = 0; k < n; k++) {
      proto_err err;
      int rc = decode_n(json, k, &ev, &err);
      /* Cut after a complete character: the JSON is incomplete; cut
       * inside one: either fault may be the first seen. */
      bool ascii_cut = k == 0 || (unsigned char)json[k - 1] < 0x80;
      bool ok = rc == PROTO_EJSON || (!ascii_cut && rc == PROTO_EUTF8);
      if (!ok) {
        print_error("prefix %zu of %s: %s %s\n", k, json, proto_err_name(rc), err.msg);
        fail();
      }
    }
    free(json);
  }
}

/* ---- JSON-level strictness ------------------------------------------------------------ */

static void test_strict_json(void **state) {
  char *json = envelope(PROTO_EV_ORDER_READY, step_base.body);
  char buf[1000];
  snprintf(buf, sizeof buf, "%s x", json);
  expect(buf, PROTO_EJSON, "event: unexpected data after the JSON value at offset");
  snprintf(buf, sizeof buf, "%s{}", json);
  expect(buf, PROTO_EJSON, "unexpected data");
  snprintf(buf, sizeof buf, " \r\n\t%s \r\n\t", json);
  expect(buf, PROTO_OK, NULL);
  size_t n = strlen(json);
  memcpy(buf, json, n);
  buf[n] = '\0';
  buf[n + 1] = '{';
  expect_n(buf, n + 1, PROTO_EJSON, "control character 0x00"); /* raw NUL after the value */
  expect_n(buf, n + 2, PROTO_EJSON, "control character 0x00");
  free(json);

  proto_event_type d = PROTO_EV_ORDER_DISPATCHED;
  expect_edit(d, dispatched_body, "note", "\"a\\u0000b\"", PROTO_EINVAL, "\\u0000 in a string");
  expect_edit(d, dispatched_body, "note", "\"a\x01\"", PROTO_EJSON, "control character 0x01");
  expect_edit(d, dispatched_body, "note", "\"a\tb\"", PROTO_EJSON, "control character 0x09");
  expect_edit(d, dispatched_body, "note", "\"a\\ud800\"", PROTO_EUTF8, "lone surrogate \\uD800");
  expect_edit(d, dispatched_body, "note", "\"a\\udc00\\ud800\"", PROTO_EUTF8, "lone surrogate \\uDC00");
  expect_edit(d, dispatched_body, "note", "\"a\\x\"", PROTO_EJSON, "malformed JSON");
  expect_edit(d, dispatched_body, "note", "'a'", PROTO_EJSON, "malformed JSON");
  expect_edit(d, dispatched_body, "total", "NaN", PROTO_EJSON, "malformed JSON");
  expect_edit(d, dispatched_body, "total", "3800,", PROTO_EJSON, "malformed JSON");

  /* Escapes decode to the bytes they stand for. */
  proto_event ev;
  proto_err err;
  json = envelope(d, dispatched_body);
  assert_true(json_edit(json, "note", "\"\\u751f\\u6930 \\ud83d\\ude00 \\/\\b\\f\\u001f\"", buf,
                        sizeof buf));
  assert_int_equal(decode_n(buf, strlen(buf), &ev, &err), PROTO_OK);
  assert_string_equal(ev.body.dispatched.note, "生椰 😀 /\b\f\x1f");
  free(json);
}

/* Unknown members anywhere are ignored and change nothing. */
static void test_unknown_fields_ignored(void **state) {
  proto_event a, b;
  proto_err err;
  char *json = envelope(PROTO_EV_ORDER_DISPATCHED, dispatched_body), buf[2000];
  assert_int_equal(decode_n(json, strlen(json), &a, &err), PROTO_OK);
  assert_true(json_edit(json, "qty", "2,\"color\":\"red\",\"tags\":[1,{\"x\":null}]", buf, sizeof buf));
  char buf2[2000], buf3[2000];
  assert_true(json_edit(buf, "total", "3800,\"coupon\":{\"id\":\"c\"}", buf2, sizeof buf2));
  assert_true(json_edit(buf2, "seq", "42,\"trace\":\"abc\",\"V\":2,\"Type\":7", buf3, sizeof buf3));
  assert_int_equal(decode_n(buf3, strlen(buf3), &b, &err), PROTO_OK);
  char why[200];
  if (!event_equal(&a, &b, why, sizeof why)) fail_msg("%s", why);
  free(json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_string_limits), cmocka_unit_test(test_array_limits),
      cmocka_unit_test(test_utf8),          cmocka_unit_test(test_depth),
      cmocka_unit_test(test_size_and_empty), cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_strict_json),   cmocka_unit_test(test_unknown_fields_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
