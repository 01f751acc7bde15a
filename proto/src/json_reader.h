/* json_reader.h - private to proto's codec: a strict, allocation-free pull
 * reader over one JSON text (json_reader.c says what it accepts and why it
 * exists).
 *
 * The caller walks the document in order:
 *
 *   proto__jr r;  proto__jr_init(&r, json, len, 8);
 *   proto__jr_object(&r);                        '{'
 *   while (proto__jr_member(&r, &key) == 1)      "key":  (then exactly one
 *     read the value or proto__jr_skip(&r);       value reader per member)
 *   proto__jr_end(&r);                           only whitespace left
 *
 * Every function answers false (or -1) as soon as the input is not what was
 * asked for or leaves the strict subset; it never says why.  The reader is
 * a plain value: copying it saves a position to come back to.
 */
#ifndef PROTO_JSON_READER_H
#define PROTO_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest magnitude proto__jr_int returns: every integer up to it is exact
 * in a double, so it agrees with any parser that goes through strtod. */
#define PROTO__JR_INT_MAX (INT64_C(1) << 53)

typedef struct proto__jr {
  const unsigned char *p;   /* next unread byte */
  const unsigned char *end; /* one past the last byte */
  int depth;                /* containers open at p */
  int max_depth;            /* opening one more fails */
  bool fresh;               /* just after '{' or '[': no ',' expected */
} proto__jr;

/* A member's key as it stands in the input (never contains an escape). */
typedef struct proto__jr_key {
  const char *s;
  size_t len;
} proto__jr_key;

void proto__jr_init(proto__jr *r, const char *json, size_t len, int max_depth);

/* Open the object / array that comes next. */
bool proto__jr_object(proto__jr *r);
bool proto__jr_array(proto__jr *r);
/* In the innermost open object: 1 with the next member's key (its value
 * comes next), 0 after the closing brace, -1 if malformed or if the key has
 * an escape (a decoder matching keys byte-wise must not guess). */
int proto__jr_member(proto__jr *r, proto__jr_key *key);
/* In the innermost open array: 1 if an element comes next, 0 after ']'. */
int proto__jr_element(proto__jr *r);

/* The next value as a string, unescaped, into dst with a NUL: false if it
 * is not a string or decodes to more than cap - 1 bytes.  *len is its length. */
bool proto__jr_string(proto__jr *r, char *dst, size_t cap, size_t *len);
/* The next value as an integer written without fraction or exponent, of at
 * most 16 digits and magnitude <= PROTO__JR_INT_MAX.  "-0" reads as 0. */
bool proto__jr_int(proto__jr *r, int64_t *v);
bool proto__jr_bool(proto__jr *r, bool *v);
/* Step over the next value of any type, checking it all the same. */
bool proto__jr_skip(proto__jr *r);
/* Every container closed and nothing but whitespace left. */
bool proto__jr_end(proto__jr *r);

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if the bytes
 * there (at most avail of them) are not one.  Unicode table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF. */
size_t proto__utf8_seq(const unsigned char *p, size_t avail);

#endif
