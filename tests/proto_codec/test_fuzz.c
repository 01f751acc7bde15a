/* test_fuzz.c - deterministic mutation fuzzing of the event decoder.
 *
 * Valid encodings of random events are mutated (bit flips, byte sets,
 * truncations, insertions of bytes or JSON-ish tokens, deletions,
 * duplications) and decoded from an exact-size heap copy.  Every input
 * must give PROTO_OK or one of the decoder's documented codes with a
 * message; every accepted input must re-encode and decode to the same
 * event.  CODEC_SEED=<n> and CODEC_FUZZ_N=<n> change seed and count.
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

static const char *const tokens[] = {
    "{",    "}",     "[",      "]",        "\"",       "\\",         ",",
    ":",    "0",     "-1",     "1e400",    "1.5",      "null",       "true",
    " ",    "\"\":", "\\u0000", "\\ud800",  "\\u751f",  "\xC0\xAF",   "\xE4\xB8",
    "😀",   "\x01",  "9007199254740993", "\"order.eaten\"", "[[[[[[[[[", "\"v\":2,",
};
#define N_TOKENS (sizeof tokens / sizeof *tokens)

static const char ascii[] = "{}[]\",:0123456789-.eE abcdefghijklmnopqrstuvwxyz_";

/* Codes the decoder may return (codec.h). */
static bool known_decode_code(int rc) {
  switch (rc) {
    case PROTO_OK: case PROTO_EJSON: case PROTO_EMISSING: case PROTO_ETYPE: case PROTO_ERANGE:
    case PROTO_ETOOLONG: case PROTO_EUTF8: case PROTO_EDEPTH: case PROTO_EUNKNOWN_TYPE:
    case PROTO_EENUM: case PROTO_EVERSION: case PROTO_EINVAL:
      return true;
    default:
      return false;
  }
}

/* One to four edits of buf[0..*len) in place; cap bounds growth. */
static void mutate(rng *r, char *buf, size_t *len, size_t cap) {
  int edits = 1 + (int)rng_below(r, 4);
  for (int e = 0; e < edits; e++) {
    size_t n = *len, at = n ? (size_t)rng_below(r, n) : 0;
    switch (rng_below(r, 7)) {
      /* Mostly ASCII-preserving, so that many inputs get past the byte
       * checks and the parser and exercise the field rules. */
      case 0: if (n) buf[at] ^= (char)(1u << rng_below(r, rng_below(r, 4) ? 7 : 8)); break;
      case 1:
        if (n) buf[at] = rng_below(r, 4) ? ascii[rng_below(r, sizeof ascii - 1)] : (char)rng_below(r, 256);
        break;
      case 2: *len = (size_t)rng_below(r, n + 1); break;
      case 3: { /* insert 1..3 random bytes */
        size_t k = 1 + (size_t)rng_below(r, 3);
        if (n + k > cap) break;
        memmove(buf + at + k, buf + at, n - at);
        for (size_t i = 0; i < k; i++) buf[at + i] = (char)rng_below(r, 256);
        *len = n + k;
        break;
      }
      case 4: { /* delete a range */
        size_t k = n ? 1 + (size_t)rng_below(r, n - at < 16 ? n - at : 16) : 0;
        memmove(buf + at, buf + at + k, n - at - k);
        *len = n - k;
        break;
      }
      case 5: { /* duplicate a range */
        size_t k = n ? 1 + (size_t)rng_below(r, n - at < 64 ? n - at : 64) : 0;
        if (n + k > cap) break;
        memmove(buf + at + k, buf + at, n - at);
        *len = n + k;
        break;
      }
      default: { /* insert a token */
        const char *t = tokens[rng_below(r, N_TOKENS)];
        size_t k = strlen(t);
        if (n + k > cap) break;
        memmove(buf + at + k, buf + at, n - at);
        memcpy(buf + at, t, k);
        *len = n + k;
        break;
      }
    }
  }
}

static void test_fuzz_decode(void **state) {
  const char *s = getenv("CODEC_SEED"), *ns = getenv("CODEC_FUZZ_N");
  uint64_t seed = s ? strtoull(s, NULL, 0) : UINT64_C(20261121);
  long n = ns ? strtol(ns, NULL, 0) : 20000;
  rng r = {seed};
  size_t cap = 2 * PROTO_EVENT_JSON_MAX;
  char *work = malloc(cap);
  int counts[PROTO__ERR_COUNT] = {0};
  print_message("fuzz: seed %" PRIu64 ", %ld mutations (CODEC_SEED to reproduce)\n", seed, n);
  for (long i = 0; i < n; i++) {
    proto_event ev, back, again;
    proto_err err = {0};
    gen_event(&r, (proto_event_type)rng_below(&r, PROTO_EV__COUNT), GEN_RANDOM, &ev);
    char *json = encode_str(&ev);
    size_t len = strlen(json);
    memcpy(work, json, len);
    free(json);
    mutate(&r, work, &len, cap);
    char *input = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
    memcpy(input, work, len);
    int rc = proto_event_decode(input, len, &back, &err);
    if (!known_decode_code(rc) || (rc != PROTO_OK && !err.msg[0])) {
      print_error("seed %" PRIu64 " iteration %ld: %s \"%s\"\n", seed, i, proto_err_name(rc), err.msg);
      fail();
    }
    counts[rc]++;
    if (rc == PROTO_OK) { /* whatever is accepted is valid: it re-encodes identically */
      char *re = encode_str(&back), why[200];
      rc = proto_event_decode(re, strlen(re), &again, &err);
      if (rc != PROTO_OK || !event_equal(&back, &again, why, sizeof why)) {
        print_error("seed %" PRIu64 " iteration %ld: re-decode %s %s %s\n", seed, i,
                    proto_err_name(rc), err.msg, why);
        fail();
      }
      free(re);
    }
    free(input);
  }
  free(work);
  for (int c = 0; c < PROTO__ERR_COUNT; c++)
    if (counts[c]) print_message("fuzz: %-22s %d\n", proto_err_name(c), counts[c]);
}

/* Random bytes and random token soup, not derived from valid events. */
static void test_fuzz_garbage(void **state) {
  rng r = {424242};
  char buf[512];
  for (int i = 0; i < 5000; i++) {
    size_t len = (size_t)rng_below(&r, sizeof buf);
    if (i % 2) {
      for (size_t k = 0; k < len; k++) buf[k] = (char)rng_below(&r, 256);
    } else {
      size_t k = 0;
      while (k < len) {
        const char *t = tokens[rng_below(&r, N_TOKENS)];
        size_t tl = strlen(t);
        if (k + tl > len) break;
        memcpy(buf + k, t, tl);
        k += tl;
      }
      len = k;
    }
    char *input = malloc(len ? len : 1);
    memcpy(input, buf, len);
    proto_event ev;
    proto_err err = {0};
    int rc = proto_event_decode(input, len, &ev, &err);
    if (!known_decode_code(rc) || rc == PROTO_OK) {
      print_error("garbage %d: %s %s\n", i, proto_err_name(rc), err.msg);
      fail();
    }
    free(input);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fuzz_decode),
      cmocka_unit_test(test_fuzz_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
