/* test_batch.c - events batches: seeded round trips through the writer and
 * the decoder, the count and byte limits, and malformed batches with their
 * exact codes (fn must never run for a batch that fails).
 * REPL_SEED=<n> reproduces a run; the seed is printed on failure. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"
#include "proto/repl.h"

#define STORE "store-007"

static uint64_t seed_from_env(void) {
  const char *s = getenv("REPL_SEED");
  return s ? strtoull(s, NULL, 0) : UINT64_C(20261122);
}

/* Collects what the decoder hands over. */
typedef struct sink {
  proto_event *ev;
  size_t n, cap;
  size_t stop_at; /* return 99 at this index (0 = never) */
} sink;

static int collect(void *ctx, const proto_event *ev) {
  sink *s = ctx;
  if (s->stop_at && s->n + 1 == s->stop_at) return 99;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
    assert_non_null(s->ev);
  }
  s->ev[s->n++] = *ev;
  return 0;
}

/* GEN_MAX makes big dispatches only, to reach the byte limit. */
static void random_event(rng *r, gen_mode mode, proto_event *ev) {
  gen_event(r, mode == GEN_MAX ? PROTO_EV_ORDER_DISPATCHED : (proto_event_type)rng_below(r, PROTO_EV__COUNT),
            mode, ev);
  strcpy(ev->store, STORE);
}

/* Write events from r into out until the writer says full or `max` were
 * added; the added events go to evs (cap entries).  Returns the count. */
static size_t fill_batch(rng *r, gen_mode mode, size_t max, proto_buf *out, proto_event *evs) {
  proto_batch_writer w;
  proto_err err = {0};
  size_t n = 0;
  assert_int_equal(proto_batch_begin(&w, out, STORE, &err), PROTO_OK);
  while (n < max) {
    random_event(r, mode, &evs[n]);
    char *js = encode_str(&evs[n]);
    int rc = proto_batch_add(&w, js, strlen(js), &err);
    free(js);
    if (rc == PROTO_EFULL) break;
    assert_int_equal(rc, PROTO_OK);
    n++;
  }
  assert_int_equal(w.n, n);
  assert_int_equal(proto_batch_end(&w, &err), PROTO_OK);
  return n;
}

static void check_roundtrip(uint64_t seed, int iter, const proto_buf *b, const proto_event *evs, size_t n) {
  sink s = {0};
  char store[PROTO_ID_MAX] = "", why[256];
  proto_err err = {0};
  int rc = proto_batch_decode(b->data, b->len, store, collect, &s, &err);
  if (rc != PROTO_OK || s.n != n)
    fail_msg("seed %" PRIu64 " iter %d: %s %s (n %zu of %zu)", seed, iter, proto_err_name(rc), err.msg, s.n, n);
  assert_string_equal(store, STORE);
  for (size_t i = 0; i < n; i++)
    if (!event_equal(&evs[i], &s.ev[i], why, sizeof why))
      fail_msg("seed %" PRIu64 " iter %d event %zu: %s", seed, iter, i, why);
  free(s.ev);
}

static void test_roundtrip_random(void **state) {
  uint64_t seed = seed_from_env();
  rng r = {seed};
  proto_event *evs = calloc(PROTO_BATCH_MAX_EVENTS, sizeof *evs);
  assert_non_null(evs);
  for (int it = 0; it < 40; it++) {
    proto_buf b;
    proto_buf_init(&b);
    size_t n = fill_batch(&r, it % 5 == 4 ? GEN_MAX : GEN_RANDOM, 1 + rng_below(&r, 60), &b, evs);
    assert_true(b.len <= PROTO_BATCH_MAX_BYTES);
    check_roundtrip(seed, it, &b, evs, n);
    proto_buf_close(&b);
  }
  free(evs);
}

/* The writer appends after what the buffer already holds. */
static void test_writer_appends(void **state) {
  proto_buf b;
  proto_batch_writer w;
  proto_err err = {0};
  char store[PROTO_ID_MAX];
  proto_buf_init(&b);
  proto_buf_puts(&b, "prefix:");
  assert_int_equal(proto_batch_begin(&w, &b, STORE, &err), PROTO_OK);
  assert_int_equal(proto_batch_end(&w, &err), PROTO_OK);
  assert_string_equal(b.data, "prefix:{\"v\":1,\"store\":\"" STORE "\",\"events\":[]}");
  assert_int_equal(proto_batch_decode(b.data + 7, b.len - 7, store, NULL, NULL, &err), PROTO_OK);
  assert_string_equal(store, STORE);
  assert_int_equal(proto_batch_begin(&w, &b, "bad store", &err), PROTO_EINVAL);
  proto_buf_close(&b);
}

static void test_count_limit(void **state) {
  rng r = {seed_from_env()};
  proto_event *evs = calloc(PROTO_BATCH_MAX_EVENTS + 1, sizeof *evs);
  proto_buf b;
  proto_buf_init(&b);
  size_t n = fill_batch(&r, GEN_MIN, PROTO_BATCH_MAX_EVENTS + 1, &b, evs);
  assert_int_equal(n, PROTO_BATCH_MAX_EVENTS);
  check_roundtrip(r.s, 0, &b, evs, n);
  proto_buf_close(&b);
  free(evs);
}

static void test_byte_limit(void **state) {
  uint64_t seed = seed_from_env();
  rng r = {seed};
  proto_event *evs = calloc(PROTO_BATCH_MAX_EVENTS, sizeof *evs);
  proto_buf b;
  proto_buf_init(&b);
  size_t n = fill_batch(&r, GEN_MAX, PROTO_BATCH_MAX_EVENTS, &b, evs);
  assert_true(n > 1 && n < PROTO_BATCH_MAX_EVENTS);
  assert_true(b.len <= PROTO_BATCH_MAX_BYTES);
  /* the refused event would have passed the limit */
  char *js = encode_str(&evs[n]);
  assert_true(b.len + 1 + strlen(js) > PROTO_BATCH_MAX_BYTES);
  free(js);
  check_roundtrip(seed, 0, &b, evs, n);
  proto_buf_close(&b);
  free(evs);
}

static void test_add_refusals(void **state) {
  proto_buf b;
  proto_batch_writer w;
  proto_err err = {0};
  char *huge = malloc(PROTO_EVENT_JSON_MAX + 2);
  memset(huge, ' ', PROTO_EVENT_JSON_MAX + 1);
  huge[0] = '{';
  huge[PROTO_EVENT_JSON_MAX + 1] = '\0';
  proto_buf_init(&b);
  assert_int_equal(proto_batch_begin(&w, &b, STORE, &err), PROTO_OK);
  size_t len = b.len;
  assert_int_equal(proto_batch_add(&w, "", 0, &err), PROTO_EINVAL);
  assert_int_equal(proto_batch_add(&w, "[1]", 3, &err), PROTO_EINVAL);
  assert_int_equal(proto_batch_add(&w, huge, PROTO_EVENT_JSON_MAX + 1, &err), PROTO_ETOOLONG);
  assert_int_equal(b.len, len);
  assert_int_equal(w.n, 0);
  proto_buf_close(&b);
  free(huge);
}

/* ---- malformed batches ------------------------------------------------------------ */

static char *valid_event(const char *store, uint64_t seq) {
  proto_event ev;
  proto_event_init(&ev, PROTO_EV_ORDER_ACCEPTED, "hq:" STORE, seq, 1000 + seq, store);
  strcpy(ev.body.step.order_id, "o-1");
  return encode_str(&ev);
}

static void expect(const char *json, int code, const char *in_msg) {
  sink s = {0};
  char store[PROTO_ID_MAX] = "untouched";
  proto_err err = {0};
  int rc = proto_batch_decode(json, strlen(json), store, collect, &s, &err);
  if (rc != code)
    fail_msg("%.200s\n got %s (%s), want %s", json, proto_err_name(rc), err.msg, proto_err_name(code));
  if (in_msg && !strstr(err.msg, in_msg)) fail_msg("message '%s' lacks '%s'", err.msg, in_msg);
  assert_int_equal(s.n, 0); /* nothing reached fn */
  assert_string_equal(store, "untouched");
  free(s.ev);
}

static void test_malformed(void **state) {
  char *e1 = valid_event(STORE, 1), *e2 = valid_event(STORE, 2), *other = valid_event("store-008", 3);
  char buf[4096], bad[1024];
  assert_true(json_edit(e2, "type", NULL, bad, sizeof bad));
  expect("", PROTO_EJSON, "empty");
  expect("[]", PROTO_ETYPE, "object");
  expect("{\"v\":1,\"store\":\"s\",\"events\":[]} x", PROTO_EJSON, "after");
  expect("{\"v\":1,\"store\":\"s\",\"events\":[", PROTO_EJSON, NULL);
  expect("{\"store\":\"s\",\"events\":[]}", PROTO_EMISSING, "v");
  expect("{\"v\":\"1\",\"store\":\"s\",\"events\":[]}", PROTO_ETYPE, "v");
  expect("{\"v\":1.5,\"store\":\"s\",\"events\":[]}", PROTO_ERANGE, "v");
  expect("{\"v\":0,\"store\":\"s\",\"events\":[]}", PROTO_ERANGE, "v");
  expect("{\"v\":2,\"store\":\"s\",\"events\":[]}", PROTO_EVERSION, "v");
  expect("{\"v\":1,\"events\":[]}", PROTO_EMISSING, "store");
  expect("{\"v\":1,\"store\":7,\"events\":[]}", PROTO_ETYPE, "store");
  expect("{\"v\":1,\"store\":\"a/b\",\"events\":[]}", PROTO_EINVAL, "store");
  expect("{\"v\":1,\"store\":\"s\",\"store\":\"t\",\"events\":[]}", PROTO_EINVAL, "twice");
  expect("{\"v\":1,\"store\":\"s\"}", PROTO_EMISSING, "events");
  expect("{\"v\":1,\"store\":\"s\",\"events\":{}}", PROTO_ETYPE, "events");
  expect("{\"v\":1,\"store\":\"s\",\"events\":[1]}", PROTO_ETYPE, "events[0]");
  expect("{\"v\":1,\"store\":\"s\",\"events\":[\"\xff\"]}", PROTO_EUTF8, NULL);
  expect("{\"v\":1,\"store\":\"s\",\"events\":[[[[[[[[[[1]]]]]]]]]]}", PROTO_EDEPTH, NULL);
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,%s]}", e1, bad);
  expect(buf, PROTO_EMISSING, "events[1].type");
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,%s]}", e1, other);
  expect(buf, PROTO_EINVAL, "events[1].store");
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"store-008\",\"events\":[%s]}", e1);
  expect(buf, PROTO_EINVAL, "events[0].store");
  assert_true(json_edit(e1, "qty", NULL, bad, sizeof bad) == false); /* no such key: sanity */
  assert_true(json_edit(e1, "order_id", "\"has space\"", bad, sizeof bad));
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", bad);
  expect(buf, PROTO_EINVAL, "events[0].body.order_id");
  free(e1);
  free(e2);
  free(other);
}

static void test_too_big_and_too_many(void **state) {
  proto_buf b;
  char *e = valid_event(STORE, 1);
  proto_buf_init(&b);
  proto_buf_puts(&b, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[");
  for (int i = 0; i <= PROTO_BATCH_MAX_EVENTS; i++) {
    if (i) proto_buf_puts(&b, ",");
    proto_buf_puts(&b, e);
  }
  proto_buf_puts(&b, "]}");
  assert_true(b.len < PROTO_BATCH_MAX_BYTES);
  expect(b.data, PROTO_ETOOLONG, "limit 256");
  proto_buf_reset(&b);
  proto_buf_puts(&b, "{\"v\":1,\"store\":\"" STORE "\",\"pad\":\"");
  while (b.len <= PROTO_BATCH_MAX_BYTES) proto_buf_puts(&b, "xxxxxxxxxxxxxxxx");
  proto_buf_puts(&b, "\",\"events\":[]}");
  expect(b.data, PROTO_ETOOLONG, "bytes");
  proto_buf_close(&b);
  free(e);
}

static void test_fn_stops(void **state) {
  char *e1 = valid_event(STORE, 1), *e2 = valid_event(STORE, 2), *e3 = valid_event(STORE, 3);
  char buf[4096], store[PROTO_ID_MAX];
  sink s = {.stop_at = 2};
  proto_err err = {0};
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,%s,%s],\"extra\":[1]}", e1, e2, e3);
  assert_int_equal(proto_batch_decode(buf, strlen(buf), store, collect, &s, &err), 99);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.ev[0].seq, 1);
  /* duplicates inside a batch are the receiver's business, not malformed */
  snprintf(buf, sizeof buf, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,%s]}", e1, e1);
  s.n = 0;
  s.stop_at = 0;
  assert_int_equal(proto_batch_decode(buf, strlen(buf), store, collect, &s, &err), PROTO_OK);
  assert_int_equal(s.n, 2);
  free(s.ev);
  free(e1);
  free(e2);
  free(e3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_random), cmocka_unit_test(test_writer_appends),
      cmocka_unit_test(test_count_limit),      cmocka_unit_test(test_byte_limit),
      cmocka_unit_test(test_add_refusals),     cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_too_big_and_too_many), cmocka_unit_test(test_fn_stops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
