/* test_batch_fast.c - the batch decoder's fast path against its reference
 * (proto/src/repl.c, invariant B).
 *
 * For every input here, proto_batch_decode must return the same code and
 * message as the reference (proto__batch_decode_tree), leave the same store
 * and hand fn the same events, byte for byte, in the same order; and
 * whenever the fast path (proto__batch_decode_fast) decides, the reference
 * must decide the same.  Just as important for speed: the fast path must be
 * TAKEN for what replicas send (writer output, re-spaced, reordered, with
 * unknown members and escapes), else HQ and the boxes silently ingest
 * through cJSON.
 *
 * Inputs: batches of generated events (every type; random, maximal and
 * minimal values) and variants of them, batch-level corner cases, invalid
 * \u escapes, fn stopping early, and mutations.  REPL_SEED=<n> /
 * REPL_FUZZ_N=<n> change the mutation run; the seed is printed.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"
#include "codec_int.h"
#include "json_mutate.h"
#include "proto/repl.h"

#define STORE "store-007"

typedef enum { FAST_ANY = -1, FAST_NO = 0, FAST_YES = 1 } want_fast;

typedef struct counts {
  long inputs, fast, ok, over; /* over: variants past the byte limit */
  long each_restarts;          /* one-pass decodes that fell back after calling fn */
} counts;

/* What one decoder did: its answer, the store it left and the events fn saw. */
typedef struct run {
  int rc;
  proto_err err;
  char store[PROTO_ID_MAX];
  proto_event *ev;
  size_t n, stop_at; /* fn returns 99 for the stop_at-th event (1-based; 0 never) */
  size_t restarts;   /* proto_batch_decode_each started over */
} run;

static int collect(void *ctx, const proto_event *ev) {
  run *r = ctx;
  if (r->stop_at && r->n + 1 == r->stop_at) return 99;
  r->ev = realloc(r->ev, (r->n + 1) * sizeof *r->ev);
  assert_non_null(r->ev);
  r->ev[r->n++] = *ev;
  return 0;
}

/* proto_batch_decode_each's fn: collect, and the bytes it was given must
 * decode alone to the very same event (what hq's log stores). */
static int collect_each(void *ctx, const proto_event *ev, const char *json, size_t len) {
  proto_event *again = malloc(sizeof *again);
  proto_err err = {0};
  assert_non_null(again);
  assert_non_null(json);
  assert_int_equal(proto_event_decode(json, len, again, &err), PROTO_OK);
  assert_memory_equal(again, ev, sizeof *ev);
  free(again);
  return collect(ctx, ev);
}

/* proto_batch_decode_each's restart: forget what fn saw. */
static void restart_each(void *ctx) {
  run *r = ctx;
  r->n = 0;
  r->restarts++;
}

static void run_init(run *r, size_t stop_at) {
  memset(r, 0, sizeof *r);
  strcpy(r->store, "untouched");
  r->stop_at = stop_at;
}

/* Same answer, message, store and events? */
static const char *differ(const run *a, const run *b) {
  if (a->rc != b->rc || a->err.code != b->err.code || strcmp(a->err.msg, b->err.msg) != 0)
    return "codes or messages differ";
  if (strcmp(a->store, b->store) != 0) return "stores differ";
  if (a->n != b->n) return "fn saw a different number of events";
  for (size_t i = 0; i < a->n; i++)
    if (memcmp(&a->ev[i], &b->ev[i], sizeof a->ev[i]) != 0) return "fn saw different events";
  return NULL;
}

/* Decode json[0..len) from an exact-size heap copy (ASan sees over-reads)
 * three ways and compare.  Returns the public decoder's code. */
static int check_same(const char *json, size_t len, size_t stop_at, want_fast want, counts *n,
                      const char *what) {
  char *in = malloc(len ? len : 1);
  run pub, ref, fast, each;
  memcpy(in, json, len);
  run_init(&pub, stop_at);
  run_init(&ref, stop_at);
  run_init(&fast, stop_at);
  run_init(&each, stop_at);
  proto__batch_cb ref_cb = {collect, NULL, &ref}, fast_cb = {collect, NULL, &fast};
  pub.rc = proto_batch_decode(in, len, pub.store, collect, &pub, &pub.err);
  ref.rc = proto__batch_decode_tree(in, len, ref.store, &ref_cb, &ref.err);
  each.rc = proto_batch_decode_each(in, len, each.store, collect_each, restart_each, &each, &each.err);
  fast.rc = -1;
  bool took = proto__batch_decode_fast(in, len, fast.store, &fast_cb, &fast.rc, &fast.err);
  const char *bad = differ(&pub, &ref);
  if (!bad && differ(&each, &ref)) bad = "proto_batch_decode_each decided otherwise";
  if (!bad && took && each.restarts) bad = "proto_batch_decode_each started over on a batch the fast path decides";
  n->each_restarts += each.restarts;
  if (!bad && took) bad = differ(&fast, &ref) ? "the fast path decided otherwise" : NULL;
  if (!bad && !took && (fast.n || strcmp(fast.store, "untouched") != 0))
    bad = "the fast path gave up after calling fn or writing the store";
  if (!bad && want != FAST_ANY && took != (want == FAST_YES))
    bad = want == FAST_YES ? "fast path not taken" : "fast path taken where it must not be";
  if (bad)
    print_error("%s: %s\n input (%zu bytes): %.*s\n public %s \"%s\" (%zu events)\n reference %s "
                "\"%s\" (%zu events)\n",
                what, bad, len, (int)(len > 600 ? 600 : len), json, proto_err_name(pub.rc),
                pub.err.msg, pub.n, proto_err_name(ref.rc), ref.err.msg, ref.n);
  n->inputs++;
  n->fast += took;
  n->ok += pub.rc == PROTO_OK || pub.rc == 99; /* 99: fn stopped a valid batch */
  free(pub.ev);
  free(ref.ev);
  free(fast.ev);
  free(each.ev);
  free(in);
  if (bad) fail();
  return pub.rc;
}

/* ---- batches and their variants ---------------------------------------------------- */

static void random_event(rng *r, gen_mode mode, proto_event *ev) {
  gen_event(r, (proto_event_type)rng_below(r, PROTO_EV__COUNT), mode, ev);
  strcpy(ev->store, STORE);
}

/* A batch of n events from the writer (fresh heap string). */
static char *make_batch(rng *r, gen_mode mode, size_t n) {
  proto_buf b;
  proto_batch_writer w;
  proto_err err = {0};
  proto_event *ev = malloc(sizeof *ev);
  proto_buf_init(&b);
  assert_int_equal(proto_batch_begin(&w, &b, STORE, &err), PROTO_OK);
  for (size_t i = 0; i < n; i++) {
    random_event(r, mode, ev);
    char *js = encode_str(ev);
    int rc = proto_batch_add(&w, js, strlen(js), &err);
    free(js);
    if (rc == PROTO_EFULL) break;
    assert_int_equal(rc, PROTO_OK);
  }
  assert_int_equal(proto_batch_end(&w, &err), PROTO_OK);
  free(ev);
  return b.data; /* the buffer's storage, NUL-terminated */
}

/* {"v":1,"store":S,"events":[...]} with members in another order / with an
 * unknown member: `head` replaces everything before "events". */
static char *rewrite_head(const char *batch, const char *head, const char *tail) {
  const char *ev = strstr(batch, "\"events\":");
  size_t n = strlen(ev) - 1; /* without the closing brace */
  char *out = malloc(strlen(head) + n + strlen(tail) + 4);
  assert_non_null(ev);
  sprintf(out, "%s%.*s%s}", head, (int)n, ev, tail);
  return out;
}

/* A variant of a valid batch (freed here): on the fast path unless it grew
 * past the byte limit (variants of a full batch). */
static void check_variant(char *v, counts *n, const char *what) {
  size_t len = strlen(v);
  bool fits = len <= PROTO_BATCH_MAX_BYTES;
  n->over += !fits;
  assert_int_equal(check_same(v, len, 0, fits ? FAST_YES : FAST_NO, n, what),
                   fits ? PROTO_OK : PROTO_ETOOLONG);
  free(v);
}

static void check_variants(rng *r, const char *batch, counts *n) {
  check_same(batch, strlen(batch), 0, FAST_YES, n, "writer output");
  check_variant(respace(r, batch), n, "re-spaced");
  check_variant(escape_values(r, batch), n, "escaped values");
  check_variant(rewrite_head(batch, "{\"x\":{\"a\":[1,-2.5e3,null,\"\\ud83d\\ude00\"]},\"v\":1,",
                             ",\"store\":\"" STORE "\""),
                n, "events before store, unknown members");
  check_variant(rewrite_head(batch, "{\"store\":\"" STORE "\",\"v\":1,", ",\"y\":[[[[[[[[1]]]]]]]]"), n,
                "v after store, a member nested to the depth limit");
}

static void test_writer_output_takes_fast_path(void **state) {
  rng r = {17};
  counts n = {0};
  for (int i = 0; i < 60; i++) {
    char *b = make_batch(&r, GEN_RANDOM, (size_t)rng_below(&r, 40));
    check_variants(&r, b, &n);
    free(b);
  }
  for (gen_mode m = GEN_RANDOM; m <= GEN_MIN; m++) {
    char *b = make_batch(&r, m, PROTO_BATCH_MAX_EVENTS); /* full by count or by bytes */
    check_variants(&r, b, &n);
    free(b);
  }
  assert_int_equal(n.fast, n.inputs - n.over);
  print_message("writer output: %ld batches, all %ld within the byte limit on the fast path\n",
                n.inputs, n.inputs - n.over);
}

/* fn stopping at every position: the same prefix and the same value. */
static void test_fn_stops(void **state) {
  rng r = {23};
  counts n = {0};
  char *b = make_batch(&r, GEN_RANDOM, 12);
  for (size_t stop = 1; stop <= 13; stop++)
    assert_int_equal(check_same(b, strlen(b), stop, FAST_YES, &n, "fn stops"), stop <= 12 ? 99 : 0);
  free(b);
}

/* ---- batch-level corner cases -------------------------------------------------------- */

static char *event_json(const char *store, uint64_t seq) {
  proto_event ev;
  proto_event_init(&ev, PROTO_EV_ORDER_ACCEPTED, "hq:" STORE, seq, 1000 + seq, store);
  strcpy(ev.body.step.order_id, "o-1");
  return encode_str(&ev);
}

/* tmpl with its "%s" (if any) replaced by ev: plain text, not a format. */
static void fill(char *dst, size_t cap, const char *tmpl, const char *ev) {
  const char *at = strstr(tmpl, "%s");
  if (!at)
    snprintf(dst, cap, "%s", tmpl);
  else
    snprintf(dst, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, ev, at + 2);
}

static void test_corners(void **state) {
  char *e = event_json(STORE, 1), *other = event_json("store-008", 2);
  char *deep = malloc(strlen(e) + 64), *deeper = malloc(strlen(e) + 64);
  char buf[8192];
  counts n = {0};
  /* the event with an unknown member nested to the batch's depth limit, and one more */
  sprintf(deep, "{\"zz\":[[[[[[[1]]]]]]],%s", e + 1);
  sprintf(deeper, "{\"zz\":[[[[[[[[1]]]]]]]],%s", e + 1);
  const struct {
    const char *fmt; /* "%s" stands for ev */
    const char *ev;
    want_fast fast;
    int code;
  } cases[] = {
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[]}", NULL, FAST_YES, PROTO_OK},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", deep, FAST_YES, PROTO_OK},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", deeper, FAST_NO, PROTO_EDEPTH},
      {"{\"v\":1.0,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_OK},
      {"\xEF\xBB\xBF{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_OK},
      {"{\"\\u0076\":1,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_OK},
      {"{\"v\":1,\"store\":\"store-\\u0030\\u00307\",\"events\":[%s]}", e, FAST_YES, PROTO_OK},
      {"{\"v\":2,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_EVERSION},
      {"{\"v\":0,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_ERANGE},
      {"{\"v\":1,\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\",\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s],\"events\":[]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"events\":[%s],\"store\":\"" STORE "\",\"events\":[]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\"}", NULL, FAST_NO, PROTO_EMISSING},
      {"{\"store\":\"" STORE "\",\"events\":[%s]}", e, FAST_NO, PROTO_EMISSING},
      {"{\"v\":1,\"events\":[%s]}", e, FAST_NO, PROTO_EMISSING},
      {"{\"v\":1,\"store\":\"a b\",\"events\":[%s]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"\",\"events\":[]}", NULL, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":{}}", NULL, FAST_NO, PROTO_ETYPE},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,1]}", e, FAST_NO, PROTO_ETYPE},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s,]}", e, FAST_NO, PROTO_EJSON},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]} x", e, FAST_NO, PROTO_EJSON},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]} \n", e, FAST_YES, PROTO_OK},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]", e, FAST_NO, PROTO_EJSON},
      {"[{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}]", e, FAST_NO, PROTO_ETYPE},
      {"{\"v\":1,\"store\":\"store-008\",\"events\":[%s]}", e, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\",\"events\":[%s]}", other, FAST_NO, PROTO_EINVAL},
      {"{\"v\":1,\"store\":\"" STORE "\",\"x\":\"ab\\uzzzzcd\",\"events\":[%s]}", e, FAST_NO, PROTO_EJSON},
      {"{\"v\":1,\"store\":\"" STORE "\",\"x\":\"\\udc00\",\"events\":[%s]}", e, FAST_NO, PROTO_EUTF8},
      {"", NULL, FAST_NO, PROTO_EJSON},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    fill(buf, sizeof buf, cases[i].fmt, cases[i].ev);
    char what[48];
    snprintf(what, sizeof what, "corner %zu", i);
    int rc = check_same(buf, strlen(buf), 0, cases[i].fast, &n, what);
    if (rc != cases[i].code)
      fail_msg("%s: %s, want %s", what, proto_err_name(rc), proto_err_name(cases[i].code));
  }
  free(deep);
  free(deeper);
  free(e);
  free(other);
}

/* The limits: 256 events pass, 257 are the reference's ETOOLONG; the byte
 * limit likewise. */
static void test_limits(void **state) {
  char *e = event_json(STORE, 1);
  proto_buf b;
  counts n = {0};
  proto_buf_init(&b);
  for (int count = PROTO_BATCH_MAX_EVENTS; count <= PROTO_BATCH_MAX_EVENTS + 1; count++) {
    proto_buf_reset(&b);
    proto_buf_puts(&b, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[");
    for (int i = 0; i < count; i++) proto_buf_printf(&b, "%s%s", i ? "," : "", e);
    proto_buf_puts(&b, "]}");
    bool over = count > PROTO_BATCH_MAX_EVENTS;
    assert_int_equal(check_same(b.data, b.len, 0, over ? FAST_NO : FAST_YES, &n, "count limit"),
                     over ? PROTO_ETOOLONG : PROTO_OK);
  }
  proto_buf_reset(&b);
  proto_buf_puts(&b, "{\"v\":1,\"store\":\"" STORE "\",\"events\":[]}");
  while (b.len <= PROTO_BATCH_MAX_BYTES) proto_buf_puts(&b, "                ");
  assert_int_equal(check_same(b.data, PROTO_BATCH_MAX_BYTES, 0, FAST_YES, &n, "at the byte limit"),
                   PROTO_OK);
  assert_int_equal(check_same(b.data, PROTO_BATCH_MAX_BYTES + 1, 0, FAST_NO, &n, "over it"),
                   PROTO_ETOOLONG);
  proto_buf_close(&b);
  free(e);
}

/* ---- mutations ------------------------------------------------------------------------ */

static void test_mutations(void **state) {
  const char *s = getenv("REPL_SEED"), *ns = getenv("REPL_FUZZ_N");
  uint64_t seed = s ? strtoull(s, NULL, 0) : UINT64_C(20261122);
  long runs = ns ? strtol(ns, NULL, 0) : 10000;
  counts n = {0};
  rng r = {seed};
  char what[64];
  print_message("mutations: seed %" PRIu64 ", %ld batches (REPL_SEED to reproduce)\n", seed, runs);
  for (long i = 0; i < runs; i++) {
    char *b = make_batch(&r, GEN_RANDOM, 1 + (size_t)rng_below(&r, 4));
    char *v = rng_below(&r, 2) ? respace(&r, b) : NULL;
    size_t len = strlen(v ? v : b), cap = 2 * len + 64;
    char *work = malloc(cap);
    memcpy(work, v ? v : b, len);
    mutate(&r, work, &len, cap);
    snprintf(what, sizeof what, "seed %" PRIu64 " batch %ld", seed, i);
    check_same(work, len, (size_t)rng_below(&r, 4), FAST_ANY, &n, what);
    free(work);
    free(v);
    free(b);
  }
  print_message("mutations: %ld accepted (%ld on the fast path), %ld refused; the one-pass "
                "decoder started over %ld times\n", n.ok, n.fast, n.inputs - n.ok, n.each_restarts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writer_output_takes_fast_path),
      cmocka_unit_test(test_fn_stops),
      cmocka_unit_test(test_corners),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
