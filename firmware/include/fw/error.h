/* fw/error.h - the one error enum of the firmware library and its programs
 * (fw-bundle, storenode-update).
 *
 * Functions return FW_OK (0) or an FW_E* code; the detail (which file, which
 * field, which version) travels on the caller's fw_err handle.  Each code
 * has a stable wire name: it is the "error" code an update report carries to
 * HQ (docs/protocol.md, "Firmware updates"), so a refusal reads the same in
 * the box's log, the report and the dashboard.
 */
#ifndef FW_ERROR_H
#define FW_ERROR_H

/* X(NAME, "wire_name", "message") */
#define FW_ERRNO_MAP(X)                                                          \
  X(NOMEM,     "internal",       "out of memory")                                \
  X(INVAL,     "invalid",        "invalid argument")                             \
  X(IO,        "io",             "I/O error")                                    \
  X(MANIFEST,  "bad_manifest",   "malformed manifest")                           \
  X(KEY,       "bad_key",        "unusable key")                                 \
  X(SIGNATURE, "bad_signature",  "manifest signature does not verify")           \
  X(PAYLOAD,   "bad_payload",    "payload does not match the manifest")          \
  X(ARCHIVE,   "bad_archive",    "malformed payload archive")                    \
  X(VERSION,   "bad_version",    "malformed version")                            \
  X(DOWNGRADE, "downgrade",      "downgrade refused")                            \
  X(INSTALLED, "installed",      "version already installed")                    \
  X(OFFER,     "bad_offer",      "malformed update offer")                       \
  X(BUSY,      "busy",           "another update is in progress")                \
  X(DOWNLOAD,  "download",       "download failed")                              \
  X(HEALTH,    "health",         "health check failed")                          \
  X(STATE,     "bad_state",      "corrupt update state")                         \
  X(CRYPTO,    "crypto",         "crypto library error")

typedef enum {
  FW_OK = 0,
#define FW__ERR_ENUM(name, wire, msg) FW_E##name,
  FW_ERRNO_MAP(FW__ERR_ENUM)
#undef FW__ERR_ENUM
  FW__ERR_COUNT
} fw_errno;

typedef struct fw_err {
  int code;
  char msg[256];
} fw_err;

/* Static message of a code ("unknown error" outside the enum). */
const char *fw_strerror(int code);
/* Wire name of a code ("bad_signature"); "internal" outside the enum. */
const char *fw_err_wire(int code);
/* Code of a wire name; -1 if unknown. */
int fw_err_from_wire(const char *wire);
void fw_err_clear(fw_err *err);
/* Record code + printf-style detail on err (may be NULL); returns code. */
int fw_err_set(fw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
