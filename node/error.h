/* node/error.h - the one error enum of storenode.
 *
 * Functions return NODE_OK (0) or a NODE_E* code; the detail travels on the
 * caller's node_err handle.  Each code has a stable wire name sent to tablets
 * in {"type":"error","code":"<wire>"} (docs/protocol.md).
 */
#ifndef NODE_ERROR_H
#define NODE_ERROR_H

/* X(NAME, "wire_name", "message") */
#define NODE_ERRNO_MAP(X)                                                   \
  X(NOMEM,      "internal",           "out of memory")                      \
  X(INVAL,      "bad_request",        "invalid request")                    \
  X(JSON,       "bad_json",           "malformed JSON")                     \
  X(UNKNOWN,    "unknown_type",       "unknown message type")               \
  X(TOOBIG,     "too_large",          "message too large")                  \
  X(NOTFOUND,   "not_found",          "no such object")                     \
  X(ILLEGAL,    "illegal_transition", "illegal state transition")           \
  X(WRONGCODE,  "wrong_code",         "pickup code does not match")         \
  X(UNAUTH,     "unauthenticated",    "log in first")                       \
  X(FORBIDDEN,  "forbidden",          "your role may not do this")          \
  X(WRONGPIN,   "wrong_pin",          "wrong PIN")                          \
  X(LOCKED,     "locked_out",         "too many wrong PINs; wait")          \
  X(EXPIRED,    "session_expired",    "session expired or revoked")         \
  X(RATE,       "rate_limited",       "too many commands; slow down")       \
  X(CLOCK,      "clock_skew",         "remote clock too far ahead")         \
  X(FULL,       "storage_full",       "storage full")                       \
  X(DB,         "storage",            "database error")                     \
  X(CORRUPT,    "corrupt",            "database file is corrupt")           \
  X(CONFIG,     "config",             "bad configuration")                  \
  X(IO,         "io",                 "I/O error")

typedef enum {
  NODE_OK = 0,
#define NODE__ERR_ENUM(name, wire, msg) NODE_E##name,
  NODE_ERRNO_MAP(NODE__ERR_ENUM)
#undef NODE__ERR_ENUM
  NODE__ERR_COUNT
} node_errno;

typedef struct node_err {
  int code;
  char msg[256];
} node_err;

const char *node_strerror(int code);
const char *node_err_wire(int code);   /* "illegal_transition" */
void node_err_clear(node_err *err);
int node_err_set(node_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
