/* prov/server.h - HQ's side of provisioning: the fleet CA, the registry and
 * the policy, behind one handle.  This is what `hq` calls.
 *
 * Wiring in hq (see docs/security.md, "Wiring"):
 *   start:    prov_server_open(); prov_server_write_crl() (nextUpdate moves
 *             on; also once a day); subscribe PROV_REQUEST_FILTER (QoS 1).
 *   message on retail/v1/provision/<serial>/request:
 *             prov_handle_request(); if reply.send, publish reply.json on
 *             reply.topic (QoS 1, not retained); if reply.crl_changed,
 *             make the broker reload (SIGHUP).
 *   operator: prov_assign() (publish its reply the same way: that finishes a
 *             box that was waiting), prov_server_register_csv(),
 *             prov_server_token_create(), prov_server_revoke_*() (then
 *             SIGHUP the broker), prov_server_issue_identity() for the
 *             broker, hq itself and the shared claim certificate,
 *             prov_registry_devices(prov_server_registry()) to list.
 *
 * Policy of prov_handle_request (each refusal is a reply with a reason):
 *   - at most rate_max requests per serial per rate_window_s (rate_limited);
 *   - the message decodes and names the topic's serial (bad_message,
 *     wrong_serial);
 *   - the CSR's signature verifies with its own key, ECDSA P-256 / SHA-256
 *     (bad_csr, bad_signature), and its CN is the serial (wrong_serial);
 *   - a key HQ already certified for this serial needs no token: same cert
 *     again (a retry), or a new one when less than renew_before_days is
 *     left or the box was moved to another store; revoked keys are refused
 *     (revoked);
 *   - any other key must spend a claim token: one-time (token_used),
 *     unexpired (token_expired), for this serial if it was made for one
 *     (wrong_serial), known (bad_token);
 *   - the serial must be assigned to a store, else the claim is kept and
 *     the answer is pending (unassigned) until prov_assign;
 *   - the certificate: CN = store id, serialNumber = device serial,
 *     clientAuth, device_days long (from 1 h ago: clock skew); a box's older
 *     certificates for another key or store are revoked (superseded).
 * Reserved identities ("hq", "claim") can never be store ids.
 */
#ifndef PROV_SERVER_H
#define PROV_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/repl.h"
#include "prov/ca.h"
#include "prov/error.h"
#include "prov/msg.h"
#include "prov/registry.h"

#define PROV_HQ_IDENTITY "hq"
#define PROV_CLAIM_IDENTITY "claim"
#define PROV_REGISTRY_FILE "registry.db"
#define PROV_CRL_FILE "crl.pem"

typedef struct prov_server_opts {
  const char *ca_dir;              /* prov_ca directory (ca.key, ca.crt) */
  const char *registry_path;       /* NULL: <ca_dir>/registry.db */
  const char *crl_path;            /* NULL: <ca_dir>/crl.pem (the broker's crlfile) */
  const char *broker_host;         /* what boxes are told to connect to */
  int broker_port;                 /* 0: 8883 */
  const char *node_config;         /* storenode config lines for every box, or NULL.
                                      No secrets: every claim holder can read answers */
  int64_t device_days;             /* 0: 365 */
  int64_t renew_before_days;       /* 0: 30 */
  int64_t crl_days;                /* CRL nextUpdate after thisUpdate; 0: 30 */
  int rate_max;                    /* requests per serial per window; 0: 10 */
  int64_t rate_window_s;           /* 0: 60 */
  int64_t pending_retry_s;         /* retry_after_s told to a pending box; 0: 30 */
  int64_t (*clock_ms)(void *ctx);  /* NULL: the wall clock (tests inject one) */
  void *clock_ctx;
} prov_server_opts;

typedef struct prov_server prov_server;

/* What to publish after a request or an assignment. */
typedef struct prov_reply {
  bool send;                       /* publish json on topic, QoS 1, not retained */
  char topic[PROTO_TOPIC_MAX];
  proto_buf json;
  prov_status status;
  int reason;                      /* PROV_OK when issued, else the refusal/pending code */
  char detail[PROV_DETAIL_MAX];    /* for HQ's log; never holds a secret */
  char store_id[PROTO_ID_MAX];     /* issued: the store */
  char cert_serial[PROV_CERT_SERIAL_MAX];  /* issued: the certificate */
  bool crl_changed;                /* the CRL file was rewritten: reload the broker */
} prov_reply;

void prov_reply_init(prov_reply *r);
void prov_reply_close(prov_reply *r);

/* Open the CA (which must exist: prov_ca_create) and the registry.  The
 * options are copied.  PROV_ECONFIG / PROV_ENOTFOUND / PROV_EDB. */
int prov_server_open(prov_server **out, const prov_server_opts *o, prov_err *err);
void prov_server_close(prov_server *s);
prov_registry *prov_server_registry(prov_server *s);
prov_ca *prov_server_ca(prov_server *s);

/* A message that arrived on a provisioning request topic.  On PROV_OK,
 * reply says what to publish (reply->send is false only for a topic that is
 * not a request topic: nothing to answer).  A refusal is PROV_OK with
 * status PROV_REFUSED.  An error code means HQ itself failed (storage, CA):
 * nothing was changed and nothing should be published, except PROV_EIO from
 * rewriting the CRL after a committed issuance, where reply is still valid
 * (send it; the CRL is rewritten by the next prov_server_write_crl). */
int prov_handle_request(prov_server *s, const char *topic, const void *payload, size_t len,
                        prov_reply *reply, prov_err *err);

/* Assign serial to store_id (registering serial if new).  If a box was
 * pending for that serial, its certificate is issued now and reply->send
 * is true: publish it, and the box finishes by itself. */
int prov_assign(prov_server *s, const char *serial, const char *store_id, prov_reply *reply,
                prov_err *err);
/* "serial,store_id" per line (a header line "serial,store_id", blank lines
 * and # comments allowed) through prov_assign; each reply that must be sent
 * is passed to fn (may be NULL).  *n = rows applied.  Stops at the first bad
 * line (PROV_EINVAL naming the line); the rows before it stay applied. */
typedef void (*prov_reply_fn)(void *ctx, const prov_reply *reply);
int prov_server_register_csv(prov_server *s, const char *path, prov_reply_fn fn, void *ctx, int *n,
                             prov_err *err);

/* A one-time claim token for serial (NULL: any serial), valid ttl_s.  The
 * token is returned once, here; only its hash is stored. */
int prov_server_token_create(prov_server *s, const char *serial, int64_t ttl_s,
                             char token[PROV_TOKEN_MAX], prov_err *err);

/* Revoke, then rewrite the CRL (reload the broker afterwards).  *n (may be
 * NULL) = certificates revoked.  By device serial, by certificate serial,
 * or every certificate of an identity (a store id, "hq", "claim", ...). */
int prov_server_revoke_device(prov_server *s, const char *serial, const char *reason, int *n,
                              prov_err *err);
int prov_server_revoke_cert(prov_server *s, const char *cert_serial, const char *reason, int *n,
                            prov_err *err);
int prov_server_revoke_identity(prov_server *s, const char *cn, const char *reason, int *n,
                                prov_err *err);
/* Write the CRL from the registry (a fresh thisUpdate/nextUpdate).  Call at
 * start and at least every crl_days / 2: a CRL past its nextUpdate makes
 * the broker refuse every client. */
int prov_server_write_crl(prov_server *s, prov_err *err);

/* A key pair + certificate for a non-box identity: the broker (uses =
 * PROV_USE_SERVER, cn = its host name, san = the names/addresses boxes
 * use), hq (cn "hq", client) or the shared claim certificate (cn "claim",
 * client).  The key is generated here and written to keyfile (0600; it must
 * not exist), the certificate to certfile; both are recorded.  days 0: 365. */
int prov_server_issue_identity(prov_server *s, const prov_cert_req *req, int64_t days,
                               const char *certfile, const char *keyfile, prov_cert_info *info,
                               prov_err *err);

#endif
