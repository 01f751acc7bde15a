/* test_vvmsg.c - hello/ack (store + version vector) and heartbeat messages:
 * round trips (seqs up to 2^53 - 1 must survive exactly), the exact form,
 * acks carrying contiguous seqs only, refusals with exact codes, and the
 * vector read as proto_vv_decode reads it. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/codec.h"
#include "proto/repl.h"

static void add(proto_vv *vv, const char *origin, uint64_t seq) {
  assert_int_equal(proto_vv_add(vv, origin, seq, NULL), PROTO_OK);
}

static void test_vvmsg_exact_and_roundtrip(void **state) {
  proto_vv vv, back;
  proto_buf b;
  proto_err err = {0};
  char store[PROTO_ID_MAX] = "";
  proto_vv_init(&vv);
  proto_vv_init(&back);
  proto_buf_init(&b);
  add(&vv, "s1", 1);
  add(&vv, "s1", 2);
  add(&vv, "s1", 5);
  add(&vv, "hq:s1", 1);
  assert_int_equal(proto_vv_advance(&vv, "big", PROTO_SEQ_MAX - 2), PROTO_OK);
  add(&vv, "big", PROTO_SEQ_MAX); /* 2^53 - 1: cJSON's printer would round it */
  assert_int_equal(proto_vvmsg_encode("s1", &vv, &b, &err), PROTO_OK);
  assert_string_equal(b.data,
                      "{\"v\":1,\"store\":\"s1\",\"vv\":{\"big\":{\"c\":9007199254740989,"
                      "\"h\":[9007199254740991]},\"hq:s1\":{\"c\":1},\"s1\":{\"c\":2,\"h\":[5]}}}");
  assert_int_equal(proto_vvmsg_decode(b.data, b.len, store, &back, &err), PROTO_OK);
  assert_string_equal(store, "s1");
  assert_true(proto_vv_equal(&vv, &back));
  /* ack: contiguous only */
  proto_buf_reset(&b);
  assert_int_equal(proto_ackmsg_encode("s1", &vv, &b, &err), PROTO_OK);
  assert_string_equal(b.data,
                      "{\"v\":1,\"store\":\"s1\",\"vv\":{\"big\":{\"c\":9007199254740989},"
                      "\"hq:s1\":{\"c\":1},\"s1\":{\"c\":2}}}");
  assert_int_equal(proto_vvmsg_decode(b.data, b.len, store, &back, &err), PROTO_OK);
  assert_int_equal(proto_vv_contiguous(&back, "s1"), 2);
  assert_false(proto_vv_has(&back, "s1", 5));
  /* whitespace and key order do not matter */
  const char *spaced = " { \"vv\" : { \"a\" : { \"h\" : [ 3 ] , \"c\" : 1 } } , \"store\" : \"x\" , \"v\" : 1 } ";
  assert_int_equal(proto_vvmsg_decode(spaced, strlen(spaced), store, &back, &err), PROTO_OK);
  assert_string_equal(store, "x");
  assert_true(proto_vv_has(&back, "a", 3));
  assert_int_equal(proto_vv_contiguous(&back, "a"), 1);
  /* an empty vector */
  proto_vv_reset(&vv);
  proto_buf_reset(&b);
  assert_int_equal(proto_ackmsg_encode("s1", &vv, &b, &err), PROTO_OK);
  assert_string_equal(b.data, "{\"v\":1,\"store\":\"s1\",\"vv\":{}}");
  proto_buf_close(&b);
  proto_vv_close(&vv);
  proto_vv_close(&back);
}

static void expect_vvmsg(const char *json, int code, const char *in_msg) {
  proto_vv vv;
  char store[PROTO_ID_MAX] = "untouched";
  proto_err err = {0};
  proto_vv_init(&vv);
  add(&vv, "keep", 3);
  int rc = proto_vvmsg_decode(json, strlen(json), store, &vv, &err);
  if (rc != code) fail_msg("%s\n got %s (%s), want %s", json, proto_err_name(rc), err.msg, proto_err_name(code));
  if (in_msg && !strstr(err.msg, in_msg)) fail_msg("message '%s' lacks '%s'", err.msg, in_msg);
  assert_string_equal(store, "untouched");
  assert_true(proto_vv_has(&vv, "keep", 3)); /* unchanged */
  assert_int_equal(vv.n, 1);
  proto_vv_close(&vv);
}

static void test_vvmsg_malformed(void **state) {
  expect_vvmsg("", PROTO_EJSON, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{}", PROTO_EJSON, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{}}{}", PROTO_EJSON, "after");
  expect_vvmsg("\"x\"", PROTO_ETYPE, NULL);
  expect_vvmsg("{\"store\":\"s\",\"vv\":{}}", PROTO_EMISSING, "v");
  expect_vvmsg("{\"v\":9,\"store\":\"s\",\"vv\":{}}", PROTO_EVERSION, "v");
  expect_vvmsg("{\"v\":1,\"vv\":{}}", PROTO_EMISSING, "store");
  expect_vvmsg("{\"v\":1,\"store\":\"\",\"vv\":{}}", PROTO_EINVAL, "store");
  expect_vvmsg("{\"v\":1,\"store\":\"s\"}", PROTO_EMISSING, "vv");
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":[]}", PROTO_ETYPE, "vv");
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{},\"vv\":{}}", PROTO_EINVAL, "twice");
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":1},\"a\":{\"c\":2}}}", PROTO_EINVAL, "twice");
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a b\":{\"c\":1}}}", PROTO_EINVAL, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":-1}}}", PROTO_ERANGE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":1.5}}}", PROTO_ERANGE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":9007199254740992}}}", PROTO_ERANGE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":1,\"h\":[2]}}}", PROTO_ERANGE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":1,\"h\":[5,4]}}}", PROTO_ERANGE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":\"1\"}}}", PROTO_ETYPE, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{}}}", PROTO_EMISSING, NULL);
  expect_vvmsg("{\"v\":1,\"store\":\"s\",\"vv\":{\"a\":{\"c\":1,\"h\":[[[[[[[[1]]]]]]]]}}}", PROTO_EDEPTH, NULL);
}

/* The vector inside a hello/ack is read from the message's tree by the one
 * vv validator: the same answer, message and vector as proto_vv_decode on
 * the vector's own text.  Numbers that the old re-printing of the tree got
 * wrong (1e400 printed as "inf", -0 as 0) are among them. */
static void test_vvmsg_vv_as_proto_vv_decode(void **state) {
  static const char *const vvs[] = {
      "{}",
      "{\"a\":{\"c\":0}}",
      "{\"a\":{\"c\":1,\"h\":[3,4,9]},\"b:c\":{\"c\":9007199254740991}}",
      "{\"a\":{\"c\":1,\"h\":[]},\"z\":{\"c\":2,\"x\":[1,{\"y\":null}]}}",
      "{\"a\":{\"c\":4.0}}",
      "{\"a\":{\"c\":1e400}}",
      "{\"a\":{\"c\":1,\"h\":[-0]}}",
      "{\"a\":{\"c\":1,\"h\":[9007199254740993]}}",
      "{\"a\":{\"c\":9007199254740991,\"h\":[1]}}",
      "{\"a\":{\"c\":1,\"h\":3}}",
      "{\"a\":{\"c\":1,\"h\":[3,3]}}",
      "{\"a\":{\"c\":true}}",
      "{\"a\":7}",
      "{\"\":{\"c\":1}}",
      "{\"a\\u0020b\":{\"c\":1}}",
      "{\"0123456789012345678901234567890123456789012345678901234567890123\":{\"c\":1}}",
      "{\"a\":{\"c\":1},\"a\":{\"c\":1}}",
      "{\"a\":{\"c\":1,\"c\":2}}",
  };
  char msg[512], store[PROTO_ID_MAX];
  for (size_t i = 0; i < sizeof vvs / sizeof *vvs; i++) {
    proto_vv a, b;
    proto_err ea = {0}, eb = {0};
    proto_vv_init(&a);
    proto_vv_init(&b);
    add(&a, "keep", 1);
    add(&b, "keep", 1);
    snprintf(msg, sizeof msg, "{\"v\":1,\"store\":\"s\",\"vv\":%s}", vvs[i]);
    int ra = proto_vvmsg_decode(msg, strlen(msg), store, &a, &ea);
    int rb = proto_vv_decode(vvs[i], strlen(vvs[i]), &b, &eb);
    if (ra != rb || strcmp(ea.msg, eb.msg) != 0 || !proto_vv_equal(&a, &b))
      fail_msg("%s\n vvmsg %s \"%s\"\n vv    %s \"%s\"", vvs[i], proto_err_name(ra), ea.msg,
               proto_err_name(rb), eb.msg);
    proto_vv_close(&a);
    proto_vv_close(&b);
  }
  /* 1e400 is out of range, not malformed JSON as the re-printed "inf" was */
  proto_vv vv;
  proto_err err = {0};
  proto_vv_init(&vv);
  snprintf(msg, sizeof msg, "{\"v\":1,\"store\":\"s\",\"vv\":%s}", vvs[5]);
  assert_int_equal(proto_vvmsg_decode(msg, strlen(msg), store, &vv, &err), PROTO_ERANGE);
  assert_string_equal(err.msg, "vv.a.c: inf is out of range 0..9007199254740991");
  proto_vv_close(&vv);
}

static void test_vvmsg_encode_refusals(void **state) {
  proto_vv vv;
  proto_buf b;
  proto_err err = {0};
  proto_vv_init(&vv);
  proto_buf_init(&b);
  proto_buf_puts(&b, "keep");
  assert_int_equal(proto_vvmsg_encode("no/slash", &vv, &b, &err), PROTO_EINVAL);
  assert_int_equal(proto_ackmsg_encode("", &vv, &b, &err), PROTO_EINVAL);
  assert_string_equal(b.data, "keep");
  proto_buf_close(&b);
  proto_vv_close(&vv);
}

/* ---- heartbeat ------------------------------------------------------------------ */

static proto_heartbeat sample(void) {
  proto_heartbeat hb;
  memset(&hb, 0, sizeof hb);
  strcpy(hb.store, "store-001");
  strcpy(hb.version, "0.1.0");
  hb.ts_ms = 1795400000123;
  hb.hlc = UINT64_MAX;
  hb.uptime_s = 3600;
  hb.outbox_depth = 12;
  hb.last_acked_seq = 100;
  hb.last_seq = 112;
  hb.rss_kb = 5120;
  hb.tablets = UINT32_MAX;
  hb.orders_open = (UINT64_C(1) << 53) - 1;
  return hb;
}

static void test_heartbeat_roundtrip(void **state) {
  proto_heartbeat hb = sample(), back;
  proto_buf b;
  proto_err err = {0};
  proto_buf_init(&b);
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &err), PROTO_OK);
  assert_string_equal(b.data,
                      "{\"v\":1,\"store\":\"store-001\",\"version\":\"0.1.0\",\"ts_ms\":1795400000123,"
                      "\"hlc\":\"18446744073709551615\",\"uptime_s\":3600,\"outbox_depth\":12,"
                      "\"last_acked_seq\":100,\"last_seq\":112,\"rss_kb\":5120,\"tablets\":4294967295,"
                      "\"orders_open\":9007199254740991}");
  assert_int_equal(proto_heartbeat_decode(b.data, b.len, &back, &err), PROTO_OK);
  assert_memory_equal(&hb, &back, sizeof hb);
  hb.hlc = 0;
  proto_buf_reset(&b);
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &err), PROTO_OK);
  assert_int_equal(proto_heartbeat_decode(b.data, b.len, &back, &err), PROTO_OK);
  assert_int_equal(back.hlc, 0);
  proto_buf_close(&b);
}

static void test_heartbeat_encode_refusals(void **state) {
  proto_heartbeat hb = sample();
  proto_buf b;
  proto_err err = {0};
  proto_buf_init(&b);
  hb.uptime_s = UINT64_C(1) << 53;
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "uptime_s"));
  hb = sample();
  strcpy(hb.version, "1.0 beta");
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "version"));
  assert_int_equal(b.len, 0);
  proto_buf_close(&b);
}

/* The sample with `key`'s value replaced by val (or removed when NULL). */
static void expect_hb(const char *key, const char *val, int code) {
  proto_heartbeat hb = sample(), back;
  proto_buf b, e;
  proto_err err = {0};
  char pat[64];
  proto_buf_init(&b);
  proto_buf_init(&e);
  assert_int_equal(proto_heartbeat_encode(&hb, &b, &err), PROTO_OK);
  snprintf(pat, sizeof pat, "\"%s\":", key);
  char *at = strstr(b.data, pat);
  assert_non_null(at);
  char *end = at + strlen(pat);
  if (*end == '"') end = strchr(end + 1, '"') + 1;
  else end += strspn(end, "0123456789");
  proto_buf_append(&e, b.data, (size_t)(at - b.data));
  if (val) {
    proto_buf_puts(&e, pat);
    proto_buf_puts(&e, val);
    proto_buf_puts(&e, end);
  } else {
    proto_buf_puts(&e, *end == ',' ? end + 1 : end);
  }
  memset(&back, 0x5a, sizeof back);
  int rc = proto_heartbeat_decode(e.data, e.len, &back, &err);
  if (rc != code) fail_msg("%s\n got %s (%s), want %s", e.data, proto_err_name(rc), err.msg, proto_err_name(code));
  if (!strstr(err.msg, key)) fail_msg("message '%s' does not name %s", err.msg, key);
  assert_int_equal((unsigned char)back.store[0], 0x5a); /* untouched */
  proto_buf_close(&b);
  proto_buf_close(&e);
}

static void test_heartbeat_malformed(void **state) {
  expect_hb("rss_kb", NULL, PROTO_EMISSING);
  expect_hb("store", NULL, PROTO_EMISSING);
  expect_hb("rss_kb", "\"5\"", PROTO_ETYPE);
  expect_hb("rss_kb", "-1", PROTO_ERANGE);
  expect_hb("rss_kb", "9007199254740992", PROTO_ERANGE);
  expect_hb("tablets", "4294967296", PROTO_ERANGE);
  expect_hb("uptime_s", "1.25", PROTO_ERANGE);
  expect_hb("hlc", "17", PROTO_ETYPE);
  expect_hb("hlc", "\"017\"", PROTO_EINVAL);
  expect_hb("hlc", "\"-1\"", PROTO_EINVAL);
  expect_hb("hlc", "\"18446744073709551616\"", PROTO_ERANGE);
  expect_hb("version", "\"a b\"", PROTO_EINVAL);
  expect_hb("store", "\"x\",\"store\":\"y\"", PROTO_EINVAL);
  expect_hb("v", "2", PROTO_EVERSION);
  proto_heartbeat hb;
  proto_err err = {0};
  char big[5000];
  memset(big, ' ', sizeof big);
  memcpy(big, "{\"v\":1}", 7);
  assert_int_equal(proto_heartbeat_decode(big, sizeof big, &hb, &err), PROTO_ETOOLONG);
  assert_int_equal(proto_heartbeat_decode("[]", 2, &hb, &err), PROTO_ETYPE);
  assert_int_equal(proto_heartbeat_decode("{\"v\":1,", 7, &hb, &err), PROTO_EJSON);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vvmsg_exact_and_roundtrip),
      cmocka_unit_test(test_vvmsg_malformed),
      cmocka_unit_test(test_vvmsg_vv_as_proto_vv_decode),
      cmocka_unit_test(test_vvmsg_encode_refusals),
      cmocka_unit_test(test_heartbeat_roundtrip),
      cmocka_unit_test(test_heartbeat_encode_refusals),
      cmocka_unit_test(test_heartbeat_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
