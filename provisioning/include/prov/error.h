/* prov/error.h - the one error enum of the provisioning library and of
 * storenode-provision.
 *
 * Functions return PROV_OK (0) or a PROV_E* code; the detail (which file,
 * which field, which serial) travels on the caller's prov_err handle.  Each
 * code has a stable wire name: a refused provisioning request carries it as
 * its "reason" (docs/protocol.md, "Provisioning"), so a refusal reads the
 * same in HQ's log, on the wire and in the box's log.
 */
#ifndef PROV_ERROR_H
#define PROV_ERROR_H

/* X(NAME, "wire_name", "message") */
#define PROV_ERRNO_MAP(X)                                                          \
  X(NOMEM,         "internal",      "out of memory")                               \
  X(INVAL,         "invalid",       "invalid argument")                            \
  X(IO,            "io",            "I/O error")                                   \
  X(DB,            "storage",       "registry database error")                     \
  X(CRYPTO,        "crypto",        "crypto library error")                        \
  X(CONFIG,        "config",        "bad configuration")                           \
  X(MSG,           "bad_message",   "malformed provisioning message")              \
  X(CSR,           "bad_csr",       "malformed or unacceptable CSR")               \
  X(SIGNATURE,     "bad_signature", "CSR signature does not verify")               \
  X(SERIAL,        "wrong_serial",  "names another serial")                        \
  X(TOKEN,         "bad_token",     "unknown claim token")                         \
  X(TOKEN_USED,    "token_used",    "claim token already used by another key")     \
  X(TOKEN_EXPIRED, "token_expired", "claim token expired")                         \
  X(RATE,          "rate_limited",  "too many requests for this serial")           \
  X(UNASSIGNED,    "unassigned",    "serial not assigned to a store yet")          \
  X(REVOKED,       "revoked",       "certificate revoked")                         \
  X(NOTFOUND,      "not_found",     "no such object")                              \
  X(EXISTS,        "exists",        "already exists")                              \
  X(CERT,          "bad_cert",      "certificate does not verify")                 \
  X(TIMEOUT,       "timeout",       "no answer in time")                           \
  X(STATE,         "bad_state",     "corrupt agent state")

typedef enum {
  PROV_OK = 0,
#define PROV__ERR_ENUM(name, wire, msg) PROV_E##name,
  PROV_ERRNO_MAP(PROV__ERR_ENUM)
#undef PROV__ERR_ENUM
  PROV__ERR_COUNT
} prov_errno;

typedef struct prov_err {
  int code;
  char msg[256];
} prov_err;

/* Static message of a code ("unknown error" outside the enum). */
const char *prov_strerror(int code);
/* Wire name of a code ("token_used"); "internal" outside the enum. */
const char *prov_err_wire(int code);
/* Code of a wire name; -1 if unknown. */
int prov_err_from_wire(const char *wire);
void prov_err_clear(prov_err *err);
/* Record code + printf-style detail on err (may be NULL); returns code. */
int prov_err_set(prov_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
