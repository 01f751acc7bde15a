/* test_topic.c - topic names and HQ origins: every (dir, kind) round trip,
 * the exact strings, and each refusal with its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/codec.h"
#include "proto/repl.h"

static void test_make_exact(void **state) {
  char t[PROTO_TOPIC_MAX];
  proto_err err = {0};
  assert_int_equal(proto_topic_make(t, sizeof t, "store-001", PROTO_DIR_UP, PROTO_REPL_EVENTS, &err),
                   PROTO_OK);
  assert_string_equal(t, "retail/v1/stores/store-001/up/events");
  assert_int_equal(proto_topic_make(t, sizeof t, "S_9.x:y", PROTO_DIR_DOWN, PROTO_REPL_ACK, &err),
                   PROTO_OK);
  assert_string_equal(t, "retail/v1/stores/S_9.x:y/down/ack");
  static const char *const kinds[] = {"hello", "events", "ack", "heartbeat", "status"};
  for (int k = 0; k < PROTO_REPL__COUNT; k++) {
    char want[PROTO_TOPIC_MAX];
    snprintf(want, sizeof want, "retail/v1/stores/s/up/%s", kinds[k]);
    assert_int_equal(proto_topic_make(t, sizeof t, "s", PROTO_DIR_UP, (proto_repl_kind)k, &err), PROTO_OK);
    assert_string_equal(t, want);
  }
}

static void test_roundtrip_all(void **state) {
  char store63[64];
  memset(store63, 'z', 63);
  store63[63] = '\0';
  const char *stores[] = {"a", "store-001", store63};
  for (size_t s = 0; s < 3; s++)
    for (int d = 0; d <= PROTO_DIR_DOWN; d++)
      for (int k = 0; k < PROTO_REPL__COUNT; k++) {
        char t[PROTO_TOPIC_MAX], back[PROTO_ID_MAX] = "";
        proto_dir dir = PROTO_DIR_UP;
        proto_repl_kind kind = PROTO_REPL_HELLO;
        proto_err err = {0};
        assert_int_equal(proto_topic_make(t, sizeof t, stores[s], (proto_dir)d, (proto_repl_kind)k, &err),
                         PROTO_OK);
        assert_true(strlen(t) <= PROTO_TOPIC_MAX);
        assert_int_equal(proto_topic_parse(t, back, &dir, &kind, &err), PROTO_OK);
        assert_string_equal(back, stores[s]);
        assert_int_equal(dir, d);
        assert_int_equal(kind, k);
      }
}

static void test_make_refusals(void **state) {
  char t[PROTO_TOPIC_MAX], small[20];
  char long_id[70];
  proto_err err = {0};
  memset(long_id, 'a', 64);
  long_id[64] = '\0';
  assert_int_equal(proto_topic_make(t, sizeof t, "a/b", PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_non_null(strstr(err.msg, "a/b"));
  assert_int_equal(proto_topic_make(t, sizeof t, "+", PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(t, sizeof t, "#", PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(t, sizeof t, "", PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(t, sizeof t, NULL, PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(t, sizeof t, long_id, PROTO_DIR_UP, PROTO_REPL_ACK, &err), PROTO_ETOOLONG);
  assert_int_equal(proto_topic_make(t, sizeof t, "s", (proto_dir)7, PROTO_REPL_ACK, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(t, sizeof t, "s", PROTO_DIR_UP, PROTO_REPL__COUNT, &err), PROTO_EINVAL);
  assert_int_equal(proto_topic_make(small, sizeof small, "s", PROTO_DIR_UP, PROTO_REPL_ACK, &err),
                   PROTO_ETOOLONG);
  assert_string_equal(small, "");
}

static void expect_parse(const char *topic, int code, const char *in_msg) {
  char store[PROTO_ID_MAX] = "untouched";
  proto_dir dir;
  proto_repl_kind kind;
  proto_err err = {0};
  int rc = proto_topic_parse(topic, store, &dir, &kind, &err);
  if (rc != code) fail_msg("%s: got %s (%s), want %s", topic ? topic : "(null)", proto_err_name(rc), err.msg,
                           proto_err_name(code));
  assert_string_equal(store, "untouched");
  if (in_msg && !strstr(err.msg, in_msg)) fail_msg("%s: message '%s' lacks '%s'", topic, err.msg, in_msg);
}

static void test_parse_refusals(void **state) {
  char big[PROTO_TOPIC_MAX + 40], longstore[120];
  memset(longstore, 'q', 64);
  longstore[64] = '\0';
  snprintf(big, sizeof big, "retail/v1/stores/%s/up/ack", longstore);
  expect_parse(NULL, PROTO_EINVAL, NULL);
  expect_parse("", PROTO_EINVAL, NULL);
  expect_parse("retail/v2/stores/s/up/ack", PROTO_EINVAL, "not under");
  expect_parse("retail/v1/provision/s/up/ack", PROTO_EINVAL, "not under");
  expect_parse("retail/v1/stores/s/up", PROTO_EINVAL, "<store>");
  expect_parse("retail/v1/stores/s", PROTO_EINVAL, NULL);
  expect_parse("retail/v1/stores/s/up/ack/x", PROTO_EINVAL, NULL);
  expect_parse("retail/v1/stores//up/ack", PROTO_EINVAL, NULL);
  expect_parse("retail/v1/stores/s+t/up/ack", PROTO_EINVAL, NULL);
  expect_parse(big, PROTO_ETOOLONG, NULL);
  expect_parse("retail/v1/stores/s/sideways/ack", PROTO_EENUM, "direction");
  expect_parse("retail/v1/stores/s/up/acks", PROTO_EENUM, "kind");
  expect_parse("retail/v1/stores/s/up/", PROTO_EENUM, "kind");
  expect_parse("retail/v1/stores/s/up/#", PROTO_EENUM, "kind");
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  expect_parse(big, PROTO_ETOOLONG, NULL);
}

static void test_parse_null_outputs(void **state) {
  char store[PROTO_ID_MAX];
  proto_err err = {0};
  assert_int_equal(proto_topic_parse("retail/v1/stores/s1/down/hello", store, NULL, NULL, &err), PROTO_OK);
  assert_string_equal(store, "s1");
}

static void test_hq_origin(void **state) {
  char o[PROTO_ID_MAX], tiny[4], id60[61], id61[62];
  proto_err err = {0};
  assert_int_equal(proto_hq_origin(o, sizeof o, "store-001", &err), PROTO_OK);
  assert_string_equal(o, "hq:store-001");
  assert_true(proto_id_valid(o));
  memset(id60, 'x', 60);
  id60[60] = '\0';
  memset(id61, 'x', 61);
  id61[61] = '\0';
  assert_int_equal(proto_hq_origin(o, sizeof o, id60, &err), PROTO_OK);
  assert_int_equal(strlen(o), 63);
  assert_true(proto_id_valid(o));
  assert_int_equal(proto_hq_origin(o, sizeof o, id61, &err), PROTO_ETOOLONG);
  assert_int_equal(proto_hq_origin(o, sizeof o, "a b", &err), PROTO_EINVAL);
  assert_int_equal(proto_hq_origin(tiny, sizeof tiny, "ab", &err), PROTO_ETOOLONG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_make_exact),     cmocka_unit_test(test_roundtrip_all),
      cmocka_unit_test(test_make_refusals),  cmocka_unit_test(test_parse_refusals),
      cmocka_unit_test(test_parse_null_outputs), cmocka_unit_test(test_hq_origin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
