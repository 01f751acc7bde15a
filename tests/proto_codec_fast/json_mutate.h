/* json_mutate.h - test support shared by the fast-path tests
 * (tests/proto_codec_fast, tests/proto_repl/test_batch_fast.c): textual
 * edits of JSON that keep it valid, and random mutations that usually do
 * not.  Every function is deterministic in the rng it is given. */
#ifndef JSON_MUTATE_H
#define JSON_MUTATE_H

#include <stddef.h>

#include "codec_gen.h"

/* Length of the JSON string literal starting at s[0] == '"'. */
size_t literal_len(const char *s);
/* Random whitespace around every structural character (fresh heap copy). */
char *respace(rng *r, const char *s);
/* Some letters and digits of string VALUES as \u00XX, '/' as \/ (keys are
 * left alone: an escaped key sends a fast path to the reference). */
char *escape_values(rng *r, const char *s);
/* One to four edits of buf[0..*len) in place (half the time one: inputs
 * near a valid one probe a fast path's own checks): bit flips, random
 * bytes, truncation, deleted ranges and inserted JSON-ish tokens; the text
 * never grows past cap. */
void mutate(rng *r, char *buf, size_t *len, size_t cap);

#endif
