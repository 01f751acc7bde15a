/* node/auth.h - staff PINs, roles, tablet sessions, PIN lockout.
 *
 * PINs (4-8 digits) are stored as PBKDF2-HMAC-SHA256 (mbedTLS) with a random
 * 16-byte salt per staff member; never logged, never sent.  Login is per
 * tablet: after `lockout_attempts` wrong PINs in a row (default 5) that tablet
 * is locked for `lockout_s` (default 60 s) and even a right PIN is refused
 * with NODE_ELOCKED.  A second limit is keyed on the peer address the server
 * sees (node_auth_login_from), so that a client rotating tablet ids is
 * stopped too: `peer_attempts` wrong PINs within `peer_window_s` lock that
 * address (IPv4, or the IPv6 /64) for `peer_lockout_s`.  Sessions are
 * random 128-bit tokens (hex) stored hashed,
 * expiring after session_ttl_s, revocable by a manager.  Tables live in the
 * engine's database (schema in db.c's migrations).
 */
#ifndef NODE_AUTH_H
#define NODE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

typedef enum { NODE_ROLE_CLERK, NODE_ROLE_MANAGER } node_role;

typedef struct node_staff {
  char id[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  node_role role;
} node_staff;

typedef struct node_session {
  char token[33];                  /* hex; only returned by node_auth_login */
  node_staff staff;
  char tablet[PROTO_ID_MAX];
  uint64_t expires_ms;
} node_session;

typedef struct node_auth_opts {
  int lockout_attempts;            /* default 5 */
  int lockout_s;                   /* default 60 */
  int session_ttl_s;               /* default 12 h */
  int kdf_iterations;              /* default 10000 (a Pi 3 does ~10 ms) */
  int peer_attempts;               /* wrong PINs from one address ... default 20 */
  int peer_window_s;               /* ... within this window (s) ...  default 300 */
  int peer_lockout_s;              /* ... lock that address this long (s), default 300 */
} node_auth_opts;

const char *node_role_name(node_role r);
int node_role_from_name(const char *s, node_role *out);

/* Apply options (NULL = defaults).  Call once after node_engine_open. */
void node_auth_configure(node_engine *e, const node_auth_opts *opts);
/* Create or replace a staff member; pin NULL keeps the old PIN. */
int node_staff_set(node_engine *e, const node_staff *s, const char *pin, node_err *err);
int node_staff_remove(node_engine *e, const char *staff_id, node_err *err);
int node_staff_each(node_engine *e, int (*cb)(void *ctx, const node_staff *s), void *ctx,
                    node_err *err);
/* PIN login from a tablet: NODE_EWRONGPIN, NODE_ELOCKED (message says how
 * many seconds are left), or NODE_OK with a new session in *out.  A PIN
 * identifies the staff member (PINs are unique per store). */
int node_auth_login(node_engine *e, const char *tablet, const char *pin, node_session *out,
                    node_err *err);
/* The same with the per-address limit on peer (the socket's address as
 * lws_get_peer_simple gives it; NULL = none): while that address is locked,
 * NODE_ELOCKED ("address ... is locked for N more s") before anything else. */
int node_auth_login_from(node_engine *e, const char *tablet, const char *peer, const char *pin,
                         node_session *out, node_err *err);
/* Validate a token: NODE_EEXPIRED if unknown, expired or revoked. */
int node_auth_check(node_engine *e, const char *token, node_session *out, node_err *err);
int node_auth_logout(node_engine *e, const char *token, node_err *err);
/* Revoke every session of a staff member (manager action). */
int node_auth_revoke_staff(node_engine *e, const char *staff_id, node_err *err);

#endif
