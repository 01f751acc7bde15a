/* codec_gen.h - test support for the codec tests: a seeded generator of
 * valid events of every type, a field-by-field equality check, and a
 * textual JSON editor used to build malformed inputs from valid ones. */
#ifndef CODEC_GEN_H
#define CODEC_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

typedef struct rng {
  uint64_t s;
} rng;

uint64_t rng_next(rng *r);
/* Uniform in 0..n-1 (n > 0). */
uint64_t rng_below(rng *r, uint64_t n);
/* Uniform in lo..hi inclusive. */
int64_t rng_range(rng *r, int64_t lo, int64_t hi);

typedef enum {
  GEN_RANDOM, /* realistic and random values, random lengths */
  GEN_MAX,    /* every optional field set, strings at their byte limit,
                 numbers at their maximum, 32 items, 16 seen entries */
  GEN_MIN     /* optional fields empty, numbers at their minimum */
} gen_mode;

/* Fill ev with a valid event of type t. */
void gen_event(rng *r, proto_event_type t, gen_mode mode, proto_event *ev);

/* Field-by-field comparison; on a difference false and why names it. */
bool event_equal(const proto_event *a, const proto_event *b, char *why, size_t cap);

/* Copy src to dst (cap bytes) with the value of the first "key": replaced by
 * val, or the member removed when val is NULL.  Returns false if the key is
 * not found or dst is too small.  Textual, for building test inputs. */
bool json_edit(const char *src, const char *key, const char *val, char *dst, size_t cap);

/* Encode ev into a fresh NUL-terminated heap string (caller frees); NULL
 * (after a cmocka failure) if encoding fails. */
char *encode_str(const proto_event *ev);

#endif
