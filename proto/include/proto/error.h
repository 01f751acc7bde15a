/* proto/error.h - the one error enum of the proto library.
 *
 * Every fallible proto function returns an int: PROTO_OK (0) or one of the
 * PROTO_E* codes below.  The human-readable detail (which field, which value)
 * travels on a proto_err handle that the caller owns, never in a global.
 */
#ifndef PROTO_ERROR_H
#define PROTO_ERROR_H

#include <stddef.h>

/* X(NAME, message): the single source of the codes, their names and messages. */
#define PROTO_ERRNO_MAP(X)                                          \
  X(NOMEM,        "out of memory")                                  \
  X(JSON,         "malformed JSON")                                 \
  X(MISSING,      "required field missing")                         \
  X(TYPE,         "field has the wrong JSON type")                  \
  X(RANGE,        "number out of range")                            \
  X(TOOLONG,      "string or array too long")                       \
  X(UTF8,         "invalid UTF-8")                                  \
  X(DEPTH,        "JSON nested too deeply")                         \
  X(UNKNOWN_TYPE, "unknown event type")                             \
  X(ENUM,         "unknown enumeration value")                      \
  X(VERSION,      "unsupported envelope version")                   \
  X(CLOCK_SKEW,   "remote clock too far ahead")                     \
  X(ILLEGAL,      "illegal state transition")                       \
  X(FULL,         "capacity exceeded")                              \
  X(INVAL,        "invalid argument")

typedef enum {
  PROTO_OK = 0,
#define PROTO__ERR_ENUM(name, msg) PROTO_E##name,
  PROTO_ERRNO_MAP(PROTO__ERR_ENUM)
#undef PROTO__ERR_ENUM
  PROTO__ERR_COUNT
} proto_errno;

/* Error handle: code plus a message naming what was wrong ("body.items[2].qty:
 * number out of range").  Zero-initialise or call proto_err_clear(). */
typedef struct proto_err {
  int code;
  char msg[200];
} proto_err;

/* Static message of a code ("unknown error" for codes outside the enum). */
const char *proto_strerror(int code);
/* Symbolic name of a code: "PROTO_EMISSING". */
const char *proto_err_name(int code);
/* Reset a handle to PROTO_OK with an empty message. */
void proto_err_clear(proto_err *err);
/* Record code + printf-style detail on err (which may be NULL); returns code,
 * so callers can write `return proto_err_set(err, PROTO_ERANGE, "...")`. */
int proto_err_set(proto_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
