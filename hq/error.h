/* hq/error.h - the one error enum of hq.
 *
 * Functions return HQ_OK (0) or an HQ_E* code; the detail travels on the
 * caller's hq_err handle: a message and, for request validation, the field
 * that was wrong ("items[2].qty").  Each code has a stable wire name and the
 * HTTP status the API answers with (docs/hq.md, "Errors").
 */
#ifndef HQ_ERROR_H
#define HQ_ERROR_H

/* X(NAME, "wire_name", http status, "message") */
#define HQ_ERRNO_MAP(X)                                                          \
  X(NOMEM,     "internal",             500, "out of memory")                     \
  X(JSON,      "bad_json",             400, "the body is not a JSON object")     \
  X(INVAL,     "invalid",              422, "invalid field")                     \
  X(TOOBIG,    "too_large",            413, "request body too large")            \
  X(NOTFOUND,  "not_found",            404, "no such object")                    \
  X(METHOD,    "method_not_allowed",   405, "method not allowed")                \
  X(ILLEGAL,   "illegal_transition",   409, "not possible in the order's state") \
  X(NOSTORE,   "no_store",             409, "no store can serve the order")      \
  X(IDEMPOTENT,"idempotency_mismatch", 422, "idempotency key reused for another request") \
  X(UNAUTH,    "unauthenticated",      401, "bearer token required")             \
  X(FORBIDDEN, "forbidden",            403, "token lacks the scope")             \
  X(CLOCK,     "clock_skew",           409, "remote clock too far ahead")        \
  X(WRONGSTORE,"wrong_store",          422, "event of another store")            \
  X(FULL,      "storage_full",         507, "storage full")                      \
  X(DB,        "storage",              500, "database error")                    \
  X(CORRUPT,   "corrupt",              500, "database file is corrupt")          \
  X(CONFIG,    "config",               500, "bad configuration")                 \
  X(IO,        "io",                   500, "I/O error")                         \
  X(BUSY,      "busy",                 503, "busy: retry shortly")

typedef enum {
  HQ_OK = 0,
#define HQ__ERR_ENUM(name, wire, status, msg) HQ_E##name,
  HQ_ERRNO_MAP(HQ__ERR_ENUM)
#undef HQ__ERR_ENUM
  HQ__ERR_COUNT
} hq_errno;

typedef struct hq_err {
  int code;
  char field[64];                  /* request field at fault, "" if none */
  char msg[256];
} hq_err;

const char *hq_strerror(int code);
const char *hq_err_wire(int code);     /* "illegal_transition" */
unsigned hq_err_status(int code);      /* 409 */
void hq_err_clear(hq_err *err);
/* Record code + printf-style detail; returns code. */
int hq_err_set(hq_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, naming the request field at fault (field may be NULL). */
int hq_err_field(hq_err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
