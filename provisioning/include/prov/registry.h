/* prov/registry.h - HQ's provisioning registry: which box (factory serial)
 * belongs to which store, claim tokens, claims, issued certificates and
 * revocations, per-serial rate limits.
 *
 * It is its own SQLite file (default <ca_dir>/registry.db; any path works),
 * not a part of hq's database, on purpose: its schema version (PRAGMA
 * user_version, rt/db.h migrations) is its own, it lives and is backed up
 * with the CA it belongs to, and hq's event database can be rebuilt or
 * moved without touching identities.  The schema is in registry_schema.c.
 *
 * Secrets: claim tokens are stored only as SHA-256 hashes (they are 256-bit
 * random, so a plain hash is enough); private keys are never here.
 *
 * Every function returns PROV_OK or a PROV_E* code (PROV_EDB with SQLite's
 * message for storage failures).  Times are ms since the epoch unless _s.
 * A function changes nothing when it fails, unless it runs inside the
 * caller's transaction (prov_registry_begin), which the caller rolls back.
 */
#ifndef PROV_REGISTRY_H
#define PROV_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/event.h"
#include "prov/ca.h"
#include "prov/error.h"
#include "prov/x509.h"

typedef struct prov_registry prov_registry;

int prov_registry_open(prov_registry **out, const char *path, prov_err *err);
void prov_registry_close(prov_registry *r);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int prov_registry_begin(prov_registry *r, prov_err *err);
int prov_registry_commit(prov_registry *r, prov_err *err);
void prov_registry_rollback(prov_registry *r);

/* ---- devices: serial -> store ------------------------------------------- */
typedef struct prov_device {
  char serial[PROTO_ID_MAX];
  char store_id[PROTO_ID_MAX];     /* "" = not assigned yet */
  int64_t registered_ms, assigned_ms;
  bool pending;                    /* a claim waits for the assignment */
  char cert_serial[PROV_CERT_SERIAL_MAX];  /* newest certificate, "" if none */
  char cert_cn[PROTO_ID_MAX];
  int64_t cert_not_after_s;
  bool cert_revoked;
} prov_device;

/* Register serial (new or existing); store_id NULL or "" keeps the current
 * assignment (none for a new serial).  PROV_EINVAL for bad ids. */
int prov_registry_register(prov_registry *r, const char *serial, const char *store_id,
                           int64_t now_ms, prov_err *err);
/* PROV_ENOTFOUND if the serial was never registered nor claimed. */
int prov_registry_device(prov_registry *r, const char *serial, prov_device *out, prov_err *err);
/* Every registered or claiming serial, ordered by serial; fn returning
 * non-zero stops and is returned. */
typedef int (*prov_device_fn)(void *ctx, const prov_device *d);
int prov_registry_devices(prov_registry *r, prov_device_fn fn, void *ctx, prov_err *err);

/* ---- claim tokens --------------------------------------------------------- */
/* Store a token's hash; serial NULL: the token is good for any serial. */
int prov_registry_token_add(prov_registry *r, const char *token_hash, const char *serial,
                            int64_t now_ms, int64_t expires_ms, prov_err *err);
/* Spend the token on (serial, key): PROV_OK the first time (it is now bound
 * to them) and again for the same (serial, key) (a retry); PROV_ETOKEN
 * unknown, PROV_ESERIAL made for another serial, PROV_ETOKEN_EXPIRED,
 * PROV_ETOKEN_USED bound to another serial or key. */
int prov_registry_token_use(prov_registry *r, const char *token_hash, const char *serial,
                            const char *key_hash, int64_t now_ms, prov_err *err);

/* ---- rate limit ------------------------------------------------------------ */
/* Count one request for serial in a fixed window; PROV_ERATE once more than
 * max came within window_ms (the count goes on, so a flood stays refused). */
int prov_registry_rate(prov_registry *r, const char *serial, int64_t now_ms, int64_t window_ms,
                       int max, prov_err *err);

/* ---- claims: a (serial, key) that proved a token ---------------------------- */
#define PROV_NONCE_MAX 33
typedef struct prov_claim {
  char serial[PROTO_ID_MAX];
  char key_hash[PROV_HASH_HEX];
  char nonce[PROV_NONCE_MAX];      /* of the latest request, echoed in answers */
  char agent_version[PROTO_ID_MAX];
  proto_buf csr;                   /* PEM; caller inits/closes */
  bool pending;                    /* waiting for the serial to be assigned */
  int64_t created_ms, updated_ms;
} prov_claim;
/* Insert or replace serial's claim (one per serial: a new key replaces). */
int prov_registry_claim_put(prov_registry *r, const prov_claim *c, int64_t now_ms, prov_err *err);
/* PROV_ENOTFOUND if serial has no claim. */
int prov_registry_claim_get(prov_registry *r, const char *serial, prov_claim *out, prov_err *err);

/* ---- certificates and revocation ------------------------------------------- */
typedef struct prov_cert_row {
  prov_cert_info info;
  int64_t issued_ms, revoked_ms;   /* revoked_ms 0 = valid */
  char reason[PROTO_ID_MAX];
  proto_buf pem;                   /* caller inits/closes */
} prov_cert_row;
int prov_registry_cert_add(prov_registry *r, const prov_cert_info *info, const char *pem,
                           int64_t now_ms, prov_err *err);
/* Newest certificate of a device serial, for key_hash (NULL: any key).
 * PROV_ENOTFOUND if none. */
int prov_registry_cert_latest(prov_registry *r, const char *device_serial, const char *key_hash,
                              prov_cert_row *out, prov_err *err);
/* Revoke one certificate by its serial (PROV_ENOTFOUND if unknown; an
 * already revoked one stays as it was). *n = how many changed. */
int prov_registry_revoke_cert(prov_registry *r, const char *cert_serial, const char *reason,
                              int64_t now_ms, int *n, prov_err *err);
/* Revoke every valid certificate of a device serial except keep (a cert
 * serial, or NULL). */
int prov_registry_revoke_device(prov_registry *r, const char *device_serial, const char *keep,
                                const char *reason, int64_t now_ms, int *n, prov_err *err);
/* After issuing `keep` (a cert serial) for (key_hash, cn) to a device:
 * revoke its other valid certificates for another key or another CN
 * ("superseded"); earlier ones for the same key and CN (renewals) stay valid
 * until they expire, so a box switches over without a gap. */
int prov_registry_revoke_superseded(prov_registry *r, const char *device_serial, const char *keep,
                                    const char *key_hash, const char *cn, int64_t now_ms, int *n,
                                    prov_err *err);
/* Revoke every valid certificate whose CN is cn (e.g. a store's boxes). */
int prov_registry_revoke_cn(prov_registry *r, const char *cn, const char *reason, int64_t now_ms,
                            int *n, prov_err *err);
/* Every revoked certificate that has not expired yet (expired ones need not
 * stay on the CRL: the broker refuses them anyway), at now_s. */
int prov_registry_revoked(prov_registry *r, int64_t now_s, prov_crl_entry **list, size_t *n,
                          prov_err *err);
/* The next CRL's number and thisUpdate: number + 1, and thisUpdate =
 * max(now_s - backdate_s, previous + 1) so a reloaded broker always prefers
 * the new list (OpenSSL keeps the one with the latest thisUpdate). */
int prov_registry_crl_next(prov_registry *r, int64_t now_s, int64_t backdate_s, uint64_t *number,
                           int64_t *this_update_s, prov_err *err);

#endif
