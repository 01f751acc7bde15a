/* malformed_util.h - building and checking malformed events: one valid
 * body per type, an envelope around it, and decoding with the expected
 * code and message.  Decoding copies the input to a heap block of exactly
 * its length (no NUL after it) so that ASan catches any over-read. */
#ifndef MALFORMED_UTIL_H
#define MALFORMED_UTIL_H

#include <stddef.h>

#include "proto/proto.h"

typedef struct {
  const char *body;     /* valid, with every optional field present */
  const char *required; /* space-separated body keys */
  const char *optional;
} base;

extern const char dispatched_body[];
extern const base step_base;

base base_of(proto_event_type t);
/* The standard envelope around body (heap string, caller frees). */
char *envelope(proto_event_type t, const char *body);
int decode_n(const char *json, size_t len, proto_event *ev, proto_err *err);
/* Decode and require code and, if needle is not NULL, needle in err.msg. */
void expect_n(const char *json, size_t len, int code, const char *needle);
void expect(const char *json, int code, const char *needle);
void expect_body(proto_event_type t, const char *body, int code, const char *needle);
/* The envelope around body, with key's value replaced (val) or the member
 * removed (NULL), then expect(). */
void expect_edit(proto_event_type t, const char *body, const char *key, const char *val, int code,
                 const char *needle);
/* fn(t, word) for each space-separated word of list. */
void each_word(const char *list, void (*fn)(proto_event_type, const char *), proto_event_type t);

#endif
