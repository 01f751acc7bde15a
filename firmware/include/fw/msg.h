/* fw/msg.h - the update agent's states and its two MQTT messages
 * (docs/protocol.md, "Firmware updates"):
 *
 *   retail/v1/stores/<store>/down/update   HQ -> box   an offer (retained)
 *   retail/v1/stores/<store>/up/update     box -> HQ   a report per step
 *
 * The offer carries the manifest and its signature (base64, so the signed
 * bytes travel untouched); the box verifies both before it downloads
 * anything, and again before it installs.
 */
#ifndef FW_MSG_H
#define FW_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/bundle.h"
#include "fw/error.h"
#include "proto/buf.h"

#define FW_MSG_MAX (2 * 1024 * 1024)  /* an offer: the manifest in base64 and a bit */
#define FW_ID_MAX 64
#define FW_URL_MAX 512

/* The agent's state machine (firmware/agent/machine.c draws it).  At rest:
 * IDLE, COMMITTED, FAILED; every other state is an update in flight. */
#define FW_STATE_MAP(X)                \
  X(IDLE,         "idle")              \
  X(OFFERED,      "offered")           \
  X(DOWNLOADING,  "downloading")       \
  X(VERIFYING,    "verifying")         \
  X(INSTALLING,   "installing")        \
  X(SWITCHING,    "switching")         \
  X(HEALTH_CHECK, "health_check")      \
  X(COMMITTED,    "committed")         \
  X(ROLLBACK,     "rollback")          \
  X(FAILED,       "failed")

typedef enum {
#define FW__ST_ENUM(name, wire) FW_ST_##name,
  FW_STATE_MAP(FW__ST_ENUM)
#undef FW__ST_ENUM
  FW_ST__COUNT
} fw_state;

/* Wire name ("health_check"); NULL outside the enum. */
const char *fw_state_name(fw_state s);
/* State of a wire name; -1 if unknown. */
int fw_state_from_name(const char *name);
/* IDLE, COMMITTED or FAILED: a new offer may start. */
bool fw_state_at_rest(fw_state s);

typedef struct fw_offer {
  char offer_id[FW_ID_MAX];       /* identifier, e.g. the rollout's id */
  char version[FW_VERSION_MAX];   /* must equal the manifest's version */
  char url[FW_URL_MAX];           /* http://host[:port]/path of payload.tar */
  char *manifest;                 /* the signed bytes (malloc'd, NUL-terminated) */
  size_t manifest_len;
  unsigned char sig[FW_SIG_MAX];
  size_t sig_len;
  bool rollback;                  /* explicit rollback: may go below installed */
} fw_offer;

/* {"v":1,"offer_id":..,"version":..,"url":..,"manifest":"<base64>",
 *  "sig":"<base64>","rollback":false}.  Decode is strict (FW_EOFFER naming
 * the member; the manifest itself is decoded later, by the agent); on
 * failure *o is empty.  Encode fails with FW_EOFFER on an offer that would
 * not decode again. */
int fw_offer_decode(const char *json, size_t len, fw_offer *o, fw_err *err);
int fw_offer_encode(const fw_offer *o, proto_buf *out, fw_err *err);
/* Deep copy (dst is overwritten). */
int fw_offer_copy(fw_offer *dst, const fw_offer *src, fw_err *err);
void fw_offer_free(fw_offer *o);

typedef struct fw_report {
  char store[FW_ID_MAX];
  char offer_id[FW_ID_MAX];       /* "" when no offer was ever taken */
  fw_state state;
  char version[FW_VERSION_MAX];   /* the offered version ("" at IDLE) */
  char installed[FW_VERSION_MAX]; /* what the current slot holds ("" if none) */
  char error[32];                 /* fw_err_wire() code, "" when none */
  char detail[256];               /* the error's message, "" when none */
  uint64_t bytes, total;          /* DOWNLOADING progress, 0 otherwise */
  uint64_t ts_ms;                 /* the box's wall clock */
} fw_report;

/* {"v":1,"store":..,"offer_id":..,"state":"downloading","version":..,
 *  "installed":..,"error":null|"<code>","detail":..,"bytes":N,"total":N,
 *  "ts_ms":N}.  Decode: FW_EOFFER naming the member. */
int fw_report_encode(const fw_report *r, proto_buf *out, fw_err *err);
int fw_report_decode(const char *json, size_t len, fw_report *r, fw_err *err);

/* storenode's GET /healthz answer, as the agent's health check reads it:
 * {"ok":true,"store":..,"feed":N,"version":"1.1.0"}.  *ok is the "ok"
 * member (false if absent), version "" if absent.  FW_EHEALTH if it is not
 * a JSON object. */
int fw_healthz_decode(const char *json, size_t len, bool *ok, char *version, size_t cap, fw_err *err);

#endif
