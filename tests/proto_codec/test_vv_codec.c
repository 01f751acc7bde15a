/* test_vv_codec.c - version-vector JSON: round trip, exact form, malformed
 * inputs, encoder refusals, and a seeded mutation loop.  Vectors are built
 * with proto_vv_add only; merge behaviour is not under test here. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"

static uint64_t seed_from_env(void) {
  const char *s = getenv("CODEC_SEED");
  return s ? strtoull(s, NULL, 0) : UINT64_C(20261121);
}

/* Up to 12 origins, each with a gap-free run and a few scattered seqs. */
static void random_vv(rng *r, proto_vv *vv) {
  static const char *const names[] = {"hq", "store-001", "store-002", "store-017", "a", "Z.9:x-y_z"};
  int n = (int)rng_below(r, 13);
  for (int i = 0; i < n; i++) {
    char origin[PROTO_ID_MAX];
    snprintf(origin, sizeof origin, "%s%d", names[rng_below(r, 6)], i);
    uint64_t run = rng_below(r, 3) ? rng_below(r, 500) : PROTO_SEQ_MAX - 100;
    for (uint64_t s = 1; s <= run && s < 600; s++) assert_int_equal(proto_vv_add(vv, origin, s, NULL), PROTO_OK);
    if (run >= 600) assert_int_equal(proto_vv_advance(vv, origin, run), PROTO_OK);
    int extra = (int)rng_below(r, 6);
    for (int k = 0; k < extra; k++) {
      uint64_t s = run + 2 + rng_below(r, 90);
      assert_int_equal(proto_vv_add(vv, origin, s, NULL), PROTO_OK);
    }
  }
}

static char *vv_str(const proto_vv *vv) {
  proto_buf b;
  proto_err err = {0};
  proto_buf_init(&b);
  int rc = proto_vv_encode(vv, &b, &err);
  if (rc != PROTO_OK) fail_msg("vv encode: %s %s", proto_err_name(rc), err.msg);
  return b.data;
}

static void test_vv_roundtrip(void **state) {
  uint64_t seed = seed_from_env();
  rng r = {seed};
  for (int i = 0; i < 300; i++) {
    proto_vv a, b;
    proto_err err = {0};
    proto_vv_init(&a);
    proto_vv_init(&b);
    random_vv(&r, &a);
    char *json = vv_str(&a);
    int rc = proto_vv_decode(json, strlen(json), &b, &err);
    if (rc != PROTO_OK || !proto_vv_equal(&a, &b)) {
      print_error("seed %" PRIu64 " iteration %d: %s %s\n%s\n", seed, i, proto_err_name(rc), err.msg, json);
      fail();
    }
    char *again = vv_str(&b);
    assert_string_equal(json, again);
    free(again);
    free(json);
    proto_vv_close(&a);
    proto_vv_close(&b);
  }
}

static void test_vv_exact(void **state) {
  proto_vv vv, back;
  proto_err err = {0};
  proto_vv_init(&vv);
  proto_vv_init(&back);
  char *json = vv_str(&vv);
  assert_string_equal(json, "{}");
  assert_int_equal(proto_vv_decode(json, 2, &back, &err), PROTO_OK);
  assert_int_equal(back.n, 0);
  free(json);
  static const uint64_t hq[] = {1, 2, 3, 4, 5, 8, 10};
  for (size_t i = 0; i < 7; i++) assert_int_equal(proto_vv_add(&vv, "hq", hq[i], NULL), PROTO_OK);
  for (uint64_t s = 1; s <= 3; s++) assert_int_equal(proto_vv_add(&vv, "store-001", s, NULL), PROTO_OK);
  assert_int_equal(proto_vv_add(&vv, "store-002", 4, NULL), PROTO_OK);
  json = vv_str(&vv);
  assert_string_equal(json, "{\"hq\":{\"c\":5,\"h\":[8,10]},\"store-001\":{\"c\":3},"
                            "\"store-002\":{\"c\":0,\"h\":[4]}}");
  free(json);
  /* Decode replaces what was there. */
  const char *in = " {\"x\":{\"c\":2,\"note\":\"ignored\"}} ";
  assert_int_equal(proto_vv_decode(in, strlen(in), &vv, &err), PROTO_OK);
  assert_int_equal(proto_vv_contiguous(&vv, "x"), 2);
  assert_int_equal(proto_vv_contiguous(&vv, "hq"), 0);
  /* {"c":0} alone holds nothing. */
  in = "{\"x\":{\"c\":0},\"y\":{\"c\":0,\"h\":[]}}";
  assert_int_equal(proto_vv_decode(in, strlen(in), &vv, &err), PROTO_OK);
  assert_true(proto_vv_equal(&vv, &back));
  proto_vv_close(&vv);
  proto_vv_close(&back);
}

typedef struct {
  const char *json;
  int code;
  const char *needle;
} vv_case;

static const vv_case bad[] = {
    {"[]", PROTO_ETYPE, "vv: expected an object, got array"},
    {"7", PROTO_ETYPE, "vv: expected an object"},
    {"{\"hq\":5}", PROTO_ETYPE, "vv.hq: expected an object, got number"},
    {"{\"hq\":{}}", PROTO_EMISSING, "vv.hq.c: missing"},
    {"{\"hq\":{\"c\":\"3\"}}", PROTO_ETYPE, "vv.hq.c: expected an integer"},
    {"{\"hq\":{\"c\":-1}}", PROTO_ERANGE, "vv.hq.c: -1 is out of range 0..9007199254740991"},
    {"{\"hq\":{\"c\":1.5}}", PROTO_ERANGE, "vv.hq.c: 1.5 is not an integer"},
    {"{\"hq\":{\"c\":9007199254740992}}", PROTO_ERANGE, "vv.hq.c:"},
    {"{\"hq\":{\"c\":3,\"h\":5}}", PROTO_ETYPE, "vv.hq: expected an array for h"},
    {"{\"hq\":{\"c\":3,\"h\":[4]}}", PROTO_ERANGE, "vv.hq.h[0]: 4 is out of range 5..9007199254740991"},
    {"{\"hq\":{\"c\":3,\"h\":[3]}}", PROTO_ERANGE, "vv.hq.h[0]: 3 is out of range"},
    {"{\"hq\":{\"c\":3,\"h\":[7,6]}}", PROTO_ERANGE, "vv.hq.h[1]: 6 is out of range 8.."},
    {"{\"hq\":{\"c\":3,\"h\":[7,7]}}", PROTO_ERANGE, "vv.hq.h[1]: 7 is out of range"},
    {"{\"hq\":{\"c\":3,\"h\":[\"9\"]}}", PROTO_ETYPE, "vv.hq.h[0]: expected an integer"},
    {"{\"hq\":{\"c\":3,\"h\":[9.5]}}", PROTO_ERANGE, "vv.hq.h[0]: 9.5 is not an integer"},
    {"{\"hq\":{\"c\":9007199254740991,\"h\":[1]}}", PROTO_ERANGE, "vv.hq.h[0]: nothing can follow"},
    {"{\"hq\":{\"c\":1,\"c\":2}}", PROTO_EINVAL, "vv.hq.c: key given twice"},
    {"{\"hq\":{\"c\":1},\"hq\":{\"c\":2}}", PROTO_EINVAL, "vv.hq: origin given twice"},
    {"{\"bad key\":{\"c\":1}}", PROTO_EINVAL, "vv.bad key: \"bad key\" is not an identifier"},
    {"{\"\":{\"c\":1}}", PROTO_EINVAL, "vv.: empty"},
    {"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":{\"c\":1}}", PROTO_ETOOLONG,
     "64 bytes, limit 63"},
    {"{\"h\xC3\":{\"c\":1}}", PROTO_EUTF8, "offset 3: invalid UTF-8"},
    {"{\"hq\":{\"c\":1,\"h\":[[[[[[[[2]]]]]]]]}}", PROTO_EDEPTH, "nesting deeper than 8"},
    {"{\"hq\":{\"c\":1}} {}", PROTO_EJSON, "vv: unexpected data after"},
    {"{\"hq\":{\"c\":1}", PROTO_EJSON, "vv: malformed JSON"},
    {"", PROTO_EJSON, "vv: empty input"},
};

static void test_vv_malformed(void **state) {
  proto_vv vv;
  proto_vv_init(&vv);
  assert_int_equal(proto_vv_add(&vv, "keep", 3, NULL), PROTO_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    proto_err err = {0};
    size_t len = strlen(bad[i].json);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, bad[i].json, len);
    int rc = proto_vv_decode(copy, len, &vv, &err);
    free(copy);
    if (rc != bad[i].code || !strstr(err.msg, bad[i].needle)) {
      print_error("%s\n got %s \"%s\"\nwant %s \"%s\"\n", bad[i].json, proto_err_name(rc), err.msg,
                  proto_err_name(bad[i].code), bad[i].needle);
      fail();
    }
    /* On failure the vector is untouched. */
    assert_int_equal(vv.n, 1);
    assert_true(proto_vv_has(&vv, "keep", 3));
  }
  char *big = malloc(PROTO_VV_JSON_MAX + 1);
  memset(big, ' ', PROTO_VV_JSON_MAX + 1);
  memcpy(big, "{}", 2);
  proto_err err = {0};
  assert_int_equal(proto_vv_decode(big, PROTO_VV_JSON_MAX, &vv, &err), PROTO_OK);
  assert_int_equal(proto_vv_decode(big, PROTO_VV_JSON_MAX + 1, &vv, &err), PROTO_ETOOLONG);
  assert_non_null(strstr(err.msg, "vv: 1048577 bytes, limit 1048576"));
  free(big);
  proto_vv_close(&vv);
}

/* Hand-built vectors that break vv.h's invariants are refused. */
static void test_vv_encode_refuses(void **state) {
  proto_vv_entry e[2];
  uint64_t held[2] = {9, 8};
  proto_vv vv = {e, 2, 2};
  proto_buf out;
  proto_err err = {0};
  proto_buf_init(&out);
  memset(e, 0, sizeof e);
  strcpy(e[0].origin, "b");
  strcpy(e[1].origin, "a");
  e[0].contiguous = e[1].contiguous = 1;
  assert_int_equal(proto_buf_puts(&out, "x"), PROTO_OK);
  assert_int_equal(proto_vv_encode(&vv, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "vv.a: entries not sorted"));
  assert_string_equal(out.data, "x");
  strcpy(e[1].origin, "c d");
  assert_int_equal(proto_vv_encode(&vv, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "is not an identifier"));
  strcpy(e[1].origin, "c");
  e[1].held = held;
  e[1].n_held = 2;
  assert_int_equal(proto_vv_encode(&vv, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "vv.c.h[1]: 8 is not in 10.."));
  held[1] = 2;
  held[0] = 2;
  assert_int_equal(proto_vv_encode(&vv, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "vv.c.h[0]: 2 is not in 3.."));
  e[1].n_held = 0;
  e[1].contiguous = PROTO_SEQ_MAX + 1;
  assert_int_equal(proto_vv_encode(&vv, &out, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "vv.c.c:"));
  assert_string_equal(out.data, "x");
  assert_int_equal(out.len, 1);
  proto_buf_close(&out);
}

/* Many origins and held seqs: well past an event's size limit. */
static void test_vv_large(void **state) {
  proto_vv a, b;
  proto_err err = {0};
  proto_vv_init(&a);
  proto_vv_init(&b);
  for (int i = 0; i < 3000; i++) {
    char origin[32];
    snprintf(origin, sizeof origin, "store-%05d", i);
    assert_int_equal(proto_vv_advance(&a, origin, (uint64_t)i * 1000 + 1), PROTO_OK);
    assert_int_equal(proto_vv_add(&a, origin, (uint64_t)i * 1000 + 5, NULL), PROTO_OK);
  }
  char *json = vv_str(&a);
  assert_true(strlen(json) > 2 * PROTO_EVENT_JSON_MAX);
  assert_int_equal(proto_vv_decode(json, strlen(json), &b, &err), PROTO_OK);
  assert_true(proto_vv_equal(&a, &b));
  free(json);
  proto_vv_close(&a);
  proto_vv_close(&b);
}

static void test_vv_fuzz(void **state) {
  uint64_t seed = seed_from_env();
  rng r = {seed};
  static const char alphabet[] = "{}[]\",:0123456789-.ehcqx \xC0\xE4";
  for (int i = 0; i < 5000; i++) {
    proto_vv a, b;
    proto_err err = {0};
    proto_vv_init(&a);
    proto_vv_init(&b);
    random_vv(&r, &a);
    char *json = vv_str(&a);
    size_t len = strlen(json);
    int edits = 1 + (int)rng_below(&r, 3);
    for (int k = 0; k < edits && len; k++) {
      size_t at = (size_t)rng_below(&r, len);
      if (rng_below(&r, 4) == 0) len = at; /* truncate */
      else json[at] = alphabet[rng_below(&r, sizeof alphabet - 1)];
    }
    char *input = malloc(len ? len : 1);
    memcpy(input, json, len);
    int rc = proto_vv_decode(input, len, &b, &err);
    if (rc < 0 || rc >= PROTO__ERR_COUNT || rc == PROTO_ENOMEM || (rc && !err.msg[0])) {
      print_error("seed %" PRIu64 " iteration %d: %s %s\n", seed, i, proto_err_name(rc), err.msg);
      fail();
    }
    if (rc == PROTO_OK) { /* accepted: a valid vector that encodes again */
      char *re = vv_str(&b);
      proto_vv c;
      proto_vv_init(&c);
      assert_int_equal(proto_vv_decode(re, strlen(re), &c, &err), PROTO_OK);
      assert_true(proto_vv_equal(&b, &c));
      proto_vv_close(&c);
      free(re);
    }
    free(input);
    free(json);
    proto_vv_close(&a);
    proto_vv_close(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vv_roundtrip),      cmocka_unit_test(test_vv_exact),
      cmocka_unit_test(test_vv_malformed),      cmocka_unit_test(test_vv_encode_refuses),
      cmocka_unit_test(test_vv_large),          cmocka_unit_test(test_vv_fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
