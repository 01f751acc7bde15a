/* test_fast_equiv.c - the event decoder's fast path against its reference
 * (proto/src/codec_fast.c, invariant F).
 *
 * For every input here, proto_event_decode must give the same code, the same
 * message and (on success) the same bytes of the event as the reference
 * decoder alone (proto__event_decode_tree), and whenever the fast path
 * (proto__event_decode_fast) accepts, the reference must accept the same
 * event.  Just as important for speed: the fast path must be TAKEN for what
 * replicas send (every encoder output, re-spaced, reordered, with unknown
 * members and escapes), else the decoder silently falls back to cJSON.
 *
 * Inputs: encodings of generated events (every type; random, maximal and
 * minimal values), variants of them, a table of JSON corner cases placed in
 * an unknown member, and mutations.  CODEC_SEED=<n> / CODEC_FUZZ_N=<n>
 * change the mutation run; the seed is printed.
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

typedef enum { FAST_ANY = -1, FAST_NO = 0, FAST_YES = 1 } want_fast;

typedef struct counts {
  long inputs, fast, ok;
} counts;

/* Decode json[0..len) from an exact-size heap copy (ASan sees over-reads)
 * three ways and compare.  Returns the public decoder's code. */
static int check_same(const char *json, size_t len, want_fast want, counts *n, const char *what) {
  char *in = malloc(len ? len : 1);
  proto_event *pub = malloc(sizeof *pub), *ref = malloc(sizeof *ref), *fast = malloc(sizeof *fast);
  proto_err e_pub, e_ref;
  memcpy(in, json, len);
  memset(pub, 0xA5, sizeof *pub);
  memset(ref, 0x5A, sizeof *ref);
  proto_err_clear(&e_pub);
  proto_err_clear(&e_ref);
  int rc = proto_event_decode(in, len, pub, &e_pub);
  int rc_ref = proto__event_decode_tree(in, len, ref, &e_ref);
  bool took = proto__event_decode_fast(in, len, fast);
  const char *bad = NULL;
  if (rc != rc_ref || e_pub.code != e_ref.code || strcmp(e_pub.msg, e_ref.msg) != 0)
    bad = "public and reference decoders disagree";
  else if (rc == PROTO_OK && memcmp(pub, ref, sizeof *pub) != 0)
    bad = "public and reference events differ";
  else if (took && (rc_ref != PROTO_OK || memcmp(fast, ref, sizeof *ref) != 0))
    bad = "fast path accepted what the reference decodes otherwise";
  else if (want != FAST_ANY && took != (want == FAST_YES))
    bad = want == FAST_YES ? "fast path not taken" : "fast path taken where it must not be";
  if (bad) {
    print_error("%s: %s\n input (%zu bytes): %.*s\n public %s \"%s\"\n reference %s \"%s\"\n", what,
                bad, len, (int)(len > 600 ? 600 : len), json, proto_err_name(rc), e_pub.msg,
                proto_err_name(rc_ref), e_ref.msg);
  }
  n->inputs++;
  n->fast += took;
  n->ok += rc == PROTO_OK;
  free(in);
  free(pub);
  free(ref);
  free(fast);
  if (bad) fail();
  return rc;
}

/* ---- text edits that keep an event valid --------------------------------------- */

/* The envelope with "body" moved to the front (before "type"). */
static char *body_first(const char *s) {
  const char *b = strstr(s, ",\"body\":{"); /* a quote inside a string is escaped */
  size_t n = strlen(s);
  char *out = malloc(n + 8);
  assert_non_null(b);
  size_t head = (size_t)(b - s), body = n - head - 2; /* ,"body":{...} without the last '}' */
  sprintf(out, "{%.*s,%.*s}", (int)body, b + 1, (int)(head - 1), s + 1);
  return out;
}

/* After the first '{' of the object that `anchor` opens (or of the whole
 * text), a member "zz":<value>. */
static char *add_member(const char *s, const char *anchor, const char *value) {
  const char *at = anchor ? strstr(s, anchor) : s;
  assert_non_null(at);
  at = strchr(at, '{') + 1;
  char *out = malloc(strlen(s) + strlen(value) + 16);
  sprintf(out, "%.*s\"zz\":%s,%s", (int)(at - s), s, value, at);
  return out;
}

/* ---- encoder output and its variants --------------------------------------------- */

static void check_event(rng *r, const proto_event *ev, counts *n) {
  char *json = encode_str(ev);
  char *v;
  check_same(json, strlen(json), FAST_YES, n, "encoder output");
  v = respace(r, json);
  check_same(v, strlen(v), FAST_YES, n, "re-spaced");
  free(v);
  v = escape_values(r, json);
  check_same(v, strlen(v), FAST_YES, n, "escaped values");
  free(v);
  v = body_first(json);
  check_same(v, strlen(v), FAST_YES, n, "body before type");
  free(v);
  v = add_member(json, NULL, "{\"a\":[1,-2.5e-3,{\"b\\u0063\":null}],\"d\":\"\\ud83d\\ude00\"}");
  check_same(v, strlen(v), FAST_YES, n, "unknown envelope member");
  free(v);
  v = add_member(json, "\"body\":", "[true,false,\"x\"]");
  check_same(v, strlen(v), FAST_YES, n, "unknown body member");
  free(v);
  free(json);
}

static void test_encoder_output_takes_fast_path(void **state) {
  rng r = {7};
  counts n = {0};
  proto_event *ev = malloc(sizeof *ev);
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    for (int i = 0; i < 200; i++) {
      gen_event(&r, (proto_event_type)t, GEN_RANDOM, ev);
      check_event(&r, ev, &n);
    }
    gen_event(&r, (proto_event_type)t, GEN_MAX, ev);
    check_event(&r, ev, &n);
    gen_event(&r, (proto_event_type)t, GEN_MIN, ev);
    check_event(&r, ev, &n);
  }
  free(ev);
  assert_int_equal(n.fast, n.inputs);
  print_message("encoder output: %ld inputs, all on the fast path\n", n.inputs);
}

/* ---- JSON corner cases ------------------------------------------------------------ */

/* Values placed in an unknown body member; fast: whether the fast path takes
 * them (the outcome itself must always match the reference). */
static const struct {
  const char *value;
  want_fast fast;
} corners[] = {
    {"0", FAST_YES},          {"-0", FAST_YES},        {"-1.5e-3", FAST_YES},
    {"1E+2", FAST_YES},       {"0.5", FAST_YES},       {"true", FAST_YES},
    {"null", FAST_YES},       {"\"\"", FAST_YES},      {"[]", FAST_YES},
    {"{}", FAST_YES},         {"[[[[[[1]]]]]]", FAST_YES}, /* depth 8: the limit */
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", FAST_YES},
    {"\"\\u00e9\\u751F\\ud83d\\ude00\\u001f\x7f\"", FAST_YES},
    {"{\"k\\u0065y\":1}", FAST_YES},
    {"123456789012345678901234567890123456789012345678901234567890123", FAST_YES},
    {"1234567890123456789012345678901234567890123456789012345678901234", FAST_NO},
    {"01", FAST_NO},          {"1.", FAST_NO},         {".5", FAST_NO},
    {"+1", FAST_NO},          {"1e", FAST_NO},         {"-", FAST_NO},
    {"1.5.3", FAST_NO},       {"tru", FAST_NO},        {"nul", FAST_NO},
    {"[1,]", FAST_NO},        {"{\"a\":1,}", FAST_NO}, {"[,1]", FAST_NO},
    {"{,}", FAST_NO},         {"[[[[[[[1]]]]]]]", FAST_NO}, /* depth 9 */
    {"\"\\u0000\"", FAST_NO}, {"\"\\uzzzz\"", FAST_NO}, {"\"\\u12\"", FAST_NO},
    {"\"ab\\uzzzzcd\"", FAST_NO}, {"\"\\u00\\u0041\"", FAST_NO}, {"\"\\ud800\\uzzzz\"", FAST_NO},
    {"{\"k\\uzzzz\":1}", FAST_NO}, {"\"\\uDFFF\"", FAST_NO},
    {"\"\\ud800\"", FAST_NO}, {"\"\\udc00\\ud800\"", FAST_NO},
    {"\"\\ud800\\u0041\"", FAST_NO}, {"\"\\x\"", FAST_NO}, {"\"a\x01\"", FAST_NO},
    {"\"a\tb\"", FAST_NO},    {"\"\xC0\xAF\"", FAST_NO}, {"\"\xED\xA0\x80\"", FAST_NO},
    {"\"\xE4\xB8\"", FAST_NO}, {"'a'", FAST_NO},       {"NaN", FAST_NO},
    {"\"unterminated", FAST_NO},
};

static void test_json_corners(void **state) {
  counts n = {0};
  proto_event *ev = malloc(sizeof *ev);
  rng r = {11};
  gen_event(&r, PROTO_EV_ORDER_DISPATCHED, GEN_RANDOM, ev);
  char *json = encode_str(ev);
  for (size_t i = 0; i < sizeof corners / sizeof *corners; i++) {
    char *v = add_member(json, "\"body\":", corners[i].value);
    check_same(v, strlen(v), corners[i].fast, &n, corners[i].value);
    free(v);
  }
  free(json);
  free(ev);
}

/* Whole-event cases the fast path leaves to the reference, and limits. */
static void test_event_corners(void **state) {
  static const struct {
    const char *key, *value;
    want_fast fast;
  } edits[] = {
      {"v", "1.0", FAST_NO},
      {"v", "2", FAST_NO},
      {"seq", "4e1", FAST_NO},
      {"seq", "9007199254740991", FAST_YES},
      {"seq", "9007199254740992", FAST_NO},
      {"seq", "-0", FAST_NO},
      {"seq", "42,\"seq\":42", FAST_NO},
      {"hlc", "\"007\"", FAST_NO},
      {"hlc", "\"18446744073709551615\"", FAST_YES},
      {"hlc", "\"18446744073709551616\"", FAST_NO},
      {"hlc", "\"0\"", FAST_NO},
      {"hlc", "\"1\\u0032\"", FAST_YES},
      {"order_id", "\"o\\u002d1\"", FAST_YES},
      {"order_id", "\"o 1\"", FAST_NO},
      {"by", "\"\"", FAST_YES},
      {"type", "\"order.eaten\"", FAST_NO},
      {"type", "\"order.read\\u0079\"", FAST_YES},
  };
  counts n = {0};
  const char *base =
      "{\"v\":1,\"origin\":\"store-001\",\"seq\":42,\"hlc\":\"115292150460684697\","
      "\"store\":\"store-001\",\"type\":\"order.ready\","
      "\"body\":{\"order_id\":\"o-1\",\"by\":\"s7\"}}";
  char buf[1000];
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    assert_true(json_edit(base, edits[i].key, edits[i].value, buf, sizeof buf));
    check_same(buf, strlen(buf), edits[i].fast, &n, edits[i].key);
  }
  snprintf(buf, sizeof buf, "\xEF\xBB\xBF%s", base); /* a BOM: cJSON skips it */
  assert_int_equal(check_same(buf, strlen(buf), FAST_NO, &n, "BOM"), PROTO_OK);
  snprintf(buf, sizeof buf, "{\"\\u0076\":1,%s", base + 7); /* "v" spelt with an escape */
  assert_int_equal(check_same(buf, strlen(buf), FAST_NO, &n, "escaped key"), PROTO_OK);
  snprintf(buf, sizeof buf, " %s \n", base);
  check_same(buf, strlen(buf), FAST_YES, &n, "surrounding whitespace");
  snprintf(buf, sizeof buf, "%s x", base);
  check_same(buf, strlen(buf), FAST_NO, &n, "trailing data");
  check_same(base, strlen(base) - 1, FAST_NO, &n, "truncated");
  check_same("", 0, FAST_NO, &n, "empty");
  /* The size limit is the reference's, padding included. */
  char *big = malloc(PROTO_EVENT_JSON_MAX + 2);
  memset(big, ' ', PROTO_EVENT_JSON_MAX + 1);
  memcpy(big, base, strlen(base));
  check_same(big, PROTO_EVENT_JSON_MAX, FAST_YES, &n, "at the size limit");
  check_same(big, PROTO_EVENT_JSON_MAX + 1, FAST_NO, &n, "over the size limit");
  free(big);
}

/* ---- invalid \u escapes ------------------------------------------------------------ */

/* cJSON 1.7.15 decodes "\uzzzz" into a NUL, so "ab\uzzzzcd" used to be read
 * as "ab", and it refuses a lone surrogate with a bare "malformed JSON".  The
 * precheck now refuses both, naming the offset of the backslash; the fast
 * reader never takes them, so proto_event_decode words them the same way. */
static void test_bad_u_escapes(void **state) {
  static const struct {
    const char *note; /* the value of body.note, quotes included */
    int code;
    size_t at;        /* offset of the faulty backslash within note */
    const char *msg;  /* after "offset N: " */
  } cases[] = {
      {"\"ab\\uzzzzcd\"", PROTO_EJSON, 3, "\\u escape without 4 hex digits"},
      {"\"ab\\u12\"", PROTO_EJSON, 3, "\\u escape without 4 hex digits"},
      {"\"ab\\u12g4\"", PROTO_EJSON, 3, "\\u escape without 4 hex digits"},
      {"\"ab\\u 123\"", PROTO_EJSON, 3, "\\u escape without 4 hex digits"},
      {"\"\\u00e\"", PROTO_EJSON, 1, "\\u escape without 4 hex digits"},
      {"\"ab\\ud800\"", PROTO_EUTF8, 3, "lone surrogate \\uD800"},
      {"\"ab\\uDBFFcd\"", PROTO_EUTF8, 3, "lone surrogate \\uDBFF"},
      {"\"ab\\udc00\\ud800\"", PROTO_EUTF8, 3, "lone surrogate \\uDC00"},
      {"\"ab\\ud800\\u0041\"", PROTO_EUTF8, 3, "lone surrogate \\uD800"},
      {"\"ab\\ud800\\ud800\"", PROTO_EUTF8, 3, "lone surrogate \\uD800"},
      {"\"ab\\ud800\\uzz00\"", PROTO_EJSON, 9, "\\u escape without 4 hex digits"},
      {"\"ab\\u0000\"", PROTO_EINVAL, 3, "\\u0000 in a string"},
  };
  rng r = {5};
  counts n = {0};
  proto_event *ev = malloc(sizeof *ev);
  char buf[8192], want[200];
  proto_err err;
  gen_event(&r, PROTO_EV_ORDER_DISPATCHED, GEN_MAX, ev); /* has a note */
  char *json = encode_str(ev);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_true(json_edit(json, "note", cases[i].note, buf, sizeof buf));
    size_t at = (size_t)(strstr(buf, cases[i].note) - buf) + cases[i].at;
    snprintf(want, sizeof want, "offset %zu: %s", at, cases[i].msg);
    assert_int_equal(check_same(buf, strlen(buf), FAST_NO, &n, cases[i].note), cases[i].code);
    proto_err_clear(&err);
    assert_int_equal(proto_event_decode(buf, strlen(buf), ev, &err), cases[i].code);
    assert_string_equal(err.msg, want);
    proto_err_clear(&err);
    assert_int_equal(proto_json_precheck(buf, strlen(buf), PROTO_JSON_DEPTH_MAX, &err),
                     cases[i].code);
    assert_string_equal(err.msg, want);
    assert_int_equal(proto_json_precheck(buf, strlen(buf), PROTO_JSON_DEPTH_MAX, NULL),
                     cases[i].code);
  }
  /* Cut off inside the escape: the precheck names it, not a later byte. */
  static const char cut1[] = "\"\\u12", cut2[] = "\"\\ud83d\\ude";
  assert_int_equal(proto_json_precheck(cut1, strlen(cut1), 8, &err), PROTO_EJSON);
  assert_string_equal(err.msg, "offset 1: \\u escape without 4 hex digits");
  assert_int_equal(proto_json_precheck(cut2, strlen(cut2), 8, &err), PROTO_EJSON);
  assert_string_equal(err.msg, "offset 7: \\u escape without 4 hex digits");
  /* Valid escapes in either case still decode, on the fast path. */
  assert_true(json_edit(json, "note", "\"ab\\uD83D\\uDE00\\u00E9\\u00e9cd\"", buf, sizeof buf));
  assert_int_equal(check_same(buf, strlen(buf), FAST_YES, &n, "valid escapes"), PROTO_OK);
  assert_int_equal(proto_event_decode(buf, strlen(buf), ev, &err), PROTO_OK);
  assert_string_equal(ev->body.dispatched.note, "ab\xF0\x9F\x98\x80\xC3\xA9\xC3\xA9" "cd");
  free(json);
  free(ev);
}

/* ---- mutations ------------------------------------------------------------------------ */

static void test_mutations(void **state) {
  const char *s = getenv("CODEC_SEED"), *ns = getenv("CODEC_FUZZ_N");
  uint64_t seed = s ? strtoull(s, NULL, 0) : UINT64_C(20261122);
  long runs = ns ? strtol(ns, NULL, 0) : 20000;
  size_t cap = 2 * PROTO_EVENT_JSON_MAX;
  char *work = malloc(cap), what[64];
  proto_event *ev = malloc(sizeof *ev);
  counts n = {0};
  rng r = {seed};
  print_message("mutations: seed %" PRIu64 ", %ld inputs (CODEC_SEED to reproduce)\n", seed, runs);
  for (long i = 0; i < runs; i++) {
    gen_event(&r, (proto_event_type)rng_below(&r, PROTO_EV__COUNT), GEN_RANDOM, ev);
    char *json = encode_str(ev), *v = rng_below(&r, 2) ? respace(&r, json) : NULL;
    size_t len = strlen(v ? v : json);
    if (len > cap / 2) len = cap / 2;
    memcpy(work, v ? v : json, len);
    mutate(&r, work, &len, cap);
    snprintf(what, sizeof what, "seed %" PRIu64 " input %ld", seed, i);
    check_same(work, len, FAST_ANY, &n, what);
    free(json);
    free(v);
  }
  print_message("mutations: %ld decoded (%ld on the fast path), %ld refused\n", n.ok, n.fast,
                n.inputs - n.ok);
  free(ev);
  free(work);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encoder_output_takes_fast_path),
      cmocka_unit_test(test_json_corners),
      cmocka_unit_test(test_event_corners),
      cmocka_unit_test(test_bad_u_escapes),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
