/* auth.c - staff PINs, roles, tablet sessions and the per-tablet lockout.
 *
 * Secrets at rest:
 *   staff.hash    = PBKDF2-HMAC-SHA256(pin, staff.salt, staff.iterations), 32 bytes;
 *                   salt = 16 random bytes per staff member (CTR-DRBG seeded
 *                   from the platform entropy, kept on the engine handle)
 *   sessions.token_hash = SHA-256 of the hex token; the token itself is only
 *                   ever returned to the tablet by node_auth_login.  A check
 *                   looks the hash up by index: the probe's timing depends on
 *                   a hash the caller cannot steer, not on the secret.
 * A PIN identifies the person, so a login computes the KDF against every
 * staff row (no early exit: the time does not say whose PIN it was) and
 * compares in constant time; staff per store are few, so this is N x ~10 ms
 * on a Pi.  PINs are unique per store (checked the same way on set).
 *
 * Lockout, per tablet, in login_attempts(tablet, failures, locked_until_ms):
 *   wrong PIN          -> failures + 1; at lockout_attempts: locked_until =
 *                         now + lockout_s, failures = 0 (NODE_EWRONGPIN says so)
 *   while locked       -> NODE_ELOCKED with the seconds left, PIN not checked
 *   right PIN          -> row deleted, new session
 * and per peer address (node_auth_login_from; a rogue client on the store
 * LAN rotating tablet ids), in login_peers(addr, failures, window_start_ms,
 * locked_until_ms), a fixed window:
 *   wrong PIN          -> window over (now >= start + peer_window_s): count
 *                         from 0, start = now; failures + 1; at
 *                         peer_attempts: locked_until = now + peer_lockout_s,
 *                         failures = 0
 *   while locked       -> NODE_ELOCKED with the seconds left, checked before
 *                         the tablet's lock; neither count moves
 *   right PIN          -> the address's count stays (the window ends it)
 * The address key is the IPv4 address, or the /64 of an IPv6 one (a host
 * picks any address in its /64 at will).
 * The attempt is written in its own savepoint that is kept although the
 * call fails, so it survives the commit like any command.
 *
 * Every write joins the engine's batch (one savepoint per call): like any
 * command, answer the tablet after node_engine_commit().
 */
#include <arpa/inet.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define TOKEN_BYTES 16

static const char *const role_names[] = {[NODE_ROLE_CLERK] = "clerk",
                                         [NODE_ROLE_MANAGER] = "manager"};
#define N_ROLES ((int)(sizeof role_names / sizeof role_names[0]))

const char *node_role_name(node_role r) {
  return (int)r >= 0 && (int)r < N_ROLES ? role_names[r] : NULL;
}

int node_role_from_name(const char *s, node_role *out) {
  for (int i = 0; s && i < N_ROLES; i++) {
    if (strcmp(s, role_names[i]) == 0) {
      *out = (node_role)i;
      return NODE_OK;
    }
  }
  return NODE_EINVAL;
}

void node_auth_configure(node_engine *e, const node_auth_opts *opts) {
  static const node_auth_opts defaults = {5, 60, 12 * 3600, 10000, 20, 300, 300};
  node_auth_opts o = opts ? *opts : defaults;
  e->auth.lockout_attempts = o.lockout_attempts > 0 ? o.lockout_attempts : defaults.lockout_attempts;
  e->auth.lockout_s = o.lockout_s > 0 ? o.lockout_s : defaults.lockout_s;
  e->auth.session_ttl_s = o.session_ttl_s > 0 ? o.session_ttl_s : defaults.session_ttl_s;
  e->auth.kdf_iterations = o.kdf_iterations > 0 ? o.kdf_iterations : defaults.kdf_iterations;
  e->auth.peer_attempts = o.peer_attempts > 0 ? o.peer_attempts : defaults.peer_attempts;
  e->auth.peer_window_s = o.peer_window_s > 0 ? o.peer_window_s : defaults.peer_window_s;
  e->auth.peer_lockout_s = o.peer_lockout_s > 0 ? o.peer_lockout_s : defaults.peer_lockout_s;
}

int node__auth_init(node_engine *e, node_err *err) {
  static const char pers[] = "storenode-auth";
  mbedtls_entropy_init(&e->entropy);
  mbedtls_ctr_drbg_init(&e->drbg);
  e->drbg_ready = true;
  int mrc = mbedtls_ctr_drbg_seed(&e->drbg, mbedtls_entropy_func, &e->entropy,
                                  (const unsigned char *)pers, sizeof pers - 1);
  return mrc == 0 ? NODE_OK : node_err_set(err, NODE_EIO, "auth: DRBG seed failed (-0x%04x)", -mrc);
}

void node__auth_free(node_engine *e) {
  if (!e->drbg_ready) return;
  mbedtls_ctr_drbg_free(&e->drbg);
  mbedtls_entropy_free(&e->entropy);
  e->drbg_ready = false;
}

/* ---- primitives ------------------------------------------------------------------- */

static bool ct_equal(const unsigned char *a, const unsigned char *b, size_t n) {
  unsigned diff = 0;
  for (size_t i = 0; i < n; i++) diff |= (unsigned)(a[i] ^ b[i]);
  return diff == 0;
}

static bool pin_ok(const char *pin) {
  size_t n = pin ? strlen(pin) : 0;
  for (size_t i = 0; i < n; i++)
    if (pin[i] < '0' || pin[i] > '9') return false;
  return n >= 4 && n <= 8;
}

static int kdf(const char *pin, const unsigned char *salt, int iterations,
               unsigned char out[HASH_LEN], node_err *err) {
  mbedtls_md_context_t md;
  mbedtls_md_init(&md);
  int mrc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
  if (mrc == 0)
    mrc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)pin, strlen(pin), salt, SALT_LEN,
                                    (unsigned)iterations, HASH_LEN, out);
  mbedtls_md_free(&md);
  return mrc == 0 ? NODE_OK : node_err_set(err, NODE_EIO, "auth: PBKDF2 failed (-0x%04x)", -mrc);
}

static int random_bytes(node_engine *e, unsigned char *buf, size_t n, node_err *err) {
  int mrc = mbedtls_ctr_drbg_random(&e->drbg, buf, n);
  return mrc == 0 ? NODE_OK : node_err_set(err, NODE_EIO, "auth: DRBG failed (-0x%04x)", -mrc);
}

static void hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static bool token_ok(const char *t) {
  size_t n = t ? strlen(t) : 0;
  for (size_t i = 0; i < n; i++)
    if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) return false;
  return n == 2 * TOKEN_BYTES;
}

static int token_hash(const char *token, unsigned char out[HASH_LEN], node_err *err) {
  int mrc = mbedtls_sha256_ret((const unsigned char *)token, strlen(token), out, 0);
  return mrc == 0 ? NODE_OK : node_err_set(err, NODE_EIO, "auth: SHA-256 failed");
}

/* ---- staff rows ---------------------------------------------------------------------- */

typedef struct staff_row {
  node_staff s;
  unsigned char salt[SALT_LEN], hash[HASH_LEN];
  int iterations;
} staff_row;

/* Columns: id, name, role, salt, hash, iterations. */
static int row_read(sqlite3_stmt *st, staff_row *r, node_err *err) {
  const char *id = (const char *)sqlite3_column_text(st, 0);
  const char *name = (const char *)sqlite3_column_text(st, 1);
  const char *role = (const char *)sqlite3_column_text(st, 2);
  memset(r, 0, sizeof *r);
  snprintf(r->s.id, sizeof r->s.id, "%s", id ? id : "");
  snprintf(r->s.name, sizeof r->s.name, "%s", name ? name : "");
  r->iterations = sqlite3_column_int(st, 5);
  if (node_role_from_name(role, &r->s.role) != NODE_OK || sqlite3_column_bytes(st, 3) != SALT_LEN ||
      sqlite3_column_bytes(st, 4) != HASH_LEN || r->iterations <= 0)
    return node_err_set(err, NODE_ECORRUPT, "staff %s: damaged row", r->s.id);
  memcpy(r->salt, sqlite3_column_blob(st, 3), SALT_LEN);
  memcpy(r->hash, sqlite3_column_blob(st, 4), HASH_LEN);
  return NODE_OK;
}

static int staff_get(node_engine *e, const char *id, staff_row *r, bool *found, node_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = node__db_bind(&e->db, NODE_Q_STAFF_GET, &st, err, "t", id);
  if (rc != NODE_OK) return rc;
  int src = sqlite3_step(st);
  *found = src == SQLITE_ROW;
  if (*found) rc = row_read(st, r, err);
  int end = node__db_end(&e->db, st, src, "staff", err);
  return rc != NODE_OK ? rc : end;
}

/* Whose PIN is this (skipping staff `skip`)?  Every row is hashed. */
static int pin_owner(node_engine *e, const char *pin, const char *skip, staff_row *match,
                     bool *found, node_err *err) {
  sqlite3_stmt *st = NULL;
  staff_row r;
  unsigned char h[HASH_LEN];
  *found = false;
  int src = SQLITE_DONE;
  int rc = node__db_bind(&e->db, NODE_Q_STAFF_ALL, &st, err, "");
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    rc = row_read(st, &r, err);
    if (rc == NODE_OK) rc = kdf(pin, r.salt, r.iterations, h, err);
    bool same = rc == NODE_OK && ct_equal(h, r.hash, HASH_LEN);
    if (same && !*found && !(skip && strcmp(skip, r.s.id) == 0)) {
      *match = r;
      *found = true;
    }
  }
  if (!st) return rc;
  sqlite3_reset(st);
  if (rc == NODE_OK && src != SQLITE_DONE) rc = node__db_err(&e->db, src, "staff", err);
  return rc;
}

static int staff_set_body(node_engine *e, const node_staff *s, const char *pin, node_err *err) {
  staff_row old, other;
  bool exists = false, taken = false;
  memset(&old, 0, sizeof old);
  int rc = staff_get(e, s->id, &old, &exists, err);
  if (rc != NODE_OK) return rc;
  if (!pin && !exists)
    return node_err_set(err, NODE_EINVAL, "pin: required for new staff member %s", s->id);
  if (pin) {
    if (!pin_ok(pin)) return node_err_set(err, NODE_EINVAL, "pin: must be 4-8 digits");
    rc = pin_owner(e, pin, s->id, &other, &taken, err);
    if (rc == NODE_OK && taken) rc = node_err_set(err, NODE_EINVAL, "pin: already in use");
    if (rc == NODE_OK) rc = random_bytes(e, old.salt, SALT_LEN, err);
    old.iterations = e->auth.kdf_iterations;
    if (rc == NODE_OK) rc = kdf(pin, old.salt, old.iterations, old.hash, err);
    if (rc != NODE_OK) return rc;
  }
  return node__db_run(&e->db, NODE_Q_STAFF_PUT, err, "tttbbi", s->id, s->name,
                      node_role_name(s->role), (const void *)old.salt, (size_t)SALT_LEN,
                      (const void *)old.hash, (size_t)HASH_LEN, (int64_t)old.iterations);
}

int node_staff_set(node_engine *e, const node_staff *s, const char *pin, node_err *err) {
  node__txn t;
  if (!s || !proto_id_valid(s->id))
    return node_err_set(err, NODE_EINVAL, "staff_id: must match [A-Za-z0-9_.:-]{1,63}");
  if (!s->name[0] || !memchr(s->name, '\0', sizeof s->name))
    return node_err_set(err, NODE_EINVAL, "name: required");
  if (!node_role_name(s->role)) return node_err_set(err, NODE_EINVAL, "role: unknown");
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  return node__end(e, &t, staff_set_body(e, s, pin, err), err);
}

int node_staff_remove(node_engine *e, const char *staff_id, node_err *err) {
  node__txn t;
  if (!staff_id) return node_err_set(err, NODE_EINVAL, "staff_id: required");
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = node__db_run(&e->db, NODE_Q_STAFF_DEL, err, "t", staff_id); /* sessions cascade */
  if (rc == NODE_OK && sqlite3_changes(e->db.h) == 0)
    rc = node_err_set(err, NODE_ENOTFOUND, "staff %s: not found", staff_id);
  return node__end(e, &t, rc, err);
}

int node_staff_each(node_engine *e, int (*cb)(void *ctx, const node_staff *s), void *ctx,
                    node_err *err) {
  sqlite3_stmt *st = NULL;
  staff_row r;
  int src = SQLITE_DONE;
  int rc = node__db_bind(&e->db, NODE_Q_STAFF_ALL, &st, err, "");
  while (rc == NODE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    rc = row_read(st, &r, err);
    if (rc == NODE_OK && cb(ctx, &r.s) != 0) break;
  }
  if (!st) return rc;
  sqlite3_reset(st);
  if (rc == NODE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
    rc = node__db_err(&e->db, src, "staff", err);
  return rc;
}

/* ---- login and sessions ---------------------------------------------------------------- */

static int session_new(node_engine *e, const staff_row *who, const char *tablet, uint64_t now,
                       node_session *out, node_err *err) {
  unsigned char raw[TOKEN_BYTES], th[HASH_LEN];
  memset(out, 0, sizeof *out);
  int rc = random_bytes(e, raw, sizeof raw, err);
  if (rc != NODE_OK) return rc;
  hex(raw, sizeof raw, out->token);
  out->staff = who->s;
  snprintf(out->tablet, sizeof out->tablet, "%s", tablet);
  out->expires_ms = now + (uint64_t)e->auth.session_ttl_s * 1000u;
  rc = token_hash(out->token, th, err);
  if (rc == NODE_OK)
    rc = node__db_run(&e->db, NODE_Q_SESSION_PUT, err, "bttii", (const void *)th, (size_t)HASH_LEN,
                      who->s.id, tablet, (int64_t)now, (int64_t)out->expires_ms);
  if (rc == NODE_OK) rc = node__db_run(&e->db, NODE_Q_SESSION_PRUNE, err, "i", (int64_t)now);
  if (rc != NODE_OK) memset(out, 0, sizeof *out);
  return rc;
}

/* ---- the per-address limit ------------------------------------------------------------ */

typedef struct peer_row {
  int64_t failures, window_start, locked_until;
} peer_row;

/* The lockout key of a peer address: IPv4 as is (also when IPv4-mapped),
 * IPv6 as its /64; anything else (a unix socket, "") as given. */
static void peer_key(const char *peer, char out[INET6_ADDRSTRLEN + 4]) {
  unsigned char a6[16];
  const char *v4 = strncmp(peer, "::ffff:", 7) == 0 && strchr(peer, '.') ? peer + 7 : peer;
  if (v4 == peer && inet_pton(AF_INET6, peer, a6) == 1) {
    memset(a6 + 8, 0, 8);
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a6, txt, sizeof txt);
    snprintf(out, INET6_ADDRSTRLEN + 4, "%s/64", txt);
    return;
  }
  snprintf(out, INET6_ADDRSTRLEN + 4, "%s", v4);
}

static int peer_get(node_engine *e, const char *key, peer_row *p, node_err *err) {
  sqlite3_stmt *st = NULL;
  memset(p, 0, sizeof *p);
  int rc = node__db_bind(&e->db, NODE_Q_PEER_GET, &st, err, "t", key);
  if (rc != NODE_OK) return rc;
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    p->failures = sqlite3_column_int64(st, 0);
    p->window_start = sqlite3_column_int64(st, 1);
    p->locked_until = sqlite3_column_int64(st, 2);
  }
  return node__db_end(&e->db, st, src, "login peers", err);
}

/* Count a wrong PIN from this address (see the top); *locked: it is now. */
static int peer_wrong(node_engine *e, const char *key, peer_row *p, uint64_t now, bool *locked,
                      node_err *err) {
  int64_t window_ms = (int64_t)e->auth.peer_window_s * 1000;
  *locked = false;
  if ((int64_t)now - p->window_start >= window_ms) p->failures = 0, p->window_start = (int64_t)now;
  if (++p->failures >= e->auth.peer_attempts) {
    p->locked_until = (int64_t)now + (int64_t)e->auth.peer_lockout_s * 1000;
    p->failures = 0;
    p->window_start = (int64_t)now;
    *locked = true;
  }
  int rc = node__db_run(&e->db, NODE_Q_PEER_PUT, err, "tiii", key, p->failures, p->window_start,
                        p->locked_until);
  if (rc == NODE_OK) /* forget addresses that are neither locked nor counting */
    rc = node__db_run(&e->db, NODE_Q_PEER_PRUNE, err, "ii", (int64_t)now,
                      (int64_t)now - window_ms);
  return rc;
}

static uint64_t secs_left(int64_t until, uint64_t now) {
  return ((uint64_t)until - now + 999) / 1000;
}

/* ---- login and the per-tablet limit ----------------------------------------------------- */

/* The tablet's row: failures and lock. */
static int attempt_get(node_engine *e, const char *tablet, int64_t *failures,
                       int64_t *locked_until, node_err *err) {
  sqlite3_stmt *st = NULL;
  *failures = *locked_until = 0;
  int rc = node__db_bind(&e->db, NODE_Q_ATTEMPT_GET, &st, err, "t", tablet);
  if (rc != NODE_OK) return rc;
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    *failures = sqlite3_column_int64(st, 0);
    *locked_until = sqlite3_column_int64(st, 1);
  }
  return node__db_end(&e->db, st, src, "login attempts", err);
}

/* A wrong PIN: count it for the tablet and the address; *verdict says
 * NODE_EWRONGPIN with the tries left or the lock just set. */
static int login_wrong(node_engine *e, const char *tablet, const char *key, peer_row *p,
                       int64_t failures, uint64_t now, int *verdict, node_err *err) {
  int64_t locked_until = 0;
  bool peer_locked = false;
  if (++failures >= e->auth.lockout_attempts) {
    locked_until = (int64_t)(now + (uint64_t)e->auth.lockout_s * 1000u);
    failures = 0;
    *verdict = node_err_set(err, NODE_EWRONGPIN, "wrong PIN; tablet %s is locked for %d s", tablet,
                            e->auth.lockout_s);
  } else {
    *verdict = node_err_set(err, NODE_EWRONGPIN, "wrong PIN (%lld tries left)",
                            (long long)(e->auth.lockout_attempts - failures));
  }
  int rc = node__db_run(&e->db, NODE_Q_ATTEMPT_PUT, err, "tii", tablet, failures, locked_until);
  if (rc == NODE_OK && key) rc = peer_wrong(e, key, p, now, &peer_locked, err);
  if (rc == NODE_OK && peer_locked)
    *verdict = node_err_set(err, NODE_EWRONGPIN, "wrong PIN; address %s is locked for %d s", key,
                            e->auth.peer_lockout_s);
  return rc;
}

/* *verdict: NODE_OK, NODE_EWRONGPIN or NODE_ELOCKED; the return code is
 * only for storage trouble, so a wrong attempt is still kept.  key: the
 * peer's lockout key, or NULL for no per-address limit. */
static int login_body(node_engine *e, const char *tablet, const char *key, const char *pin,
                      node_session *out, int *verdict, node_err *err) {
  int64_t failures = 0, locked_until = 0;
  uint64_t now = node__now(e);
  staff_row who;
  peer_row p = {0, 0, 0};
  bool found = false;
  int rc = key ? peer_get(e, key, &p, err) : NODE_OK;
  if (rc == NODE_OK && key && (uint64_t)p.locked_until > now) {
    *verdict = node_err_set(err, NODE_ELOCKED, "address %s is locked for %llu more s", key,
                            (unsigned long long)secs_left(p.locked_until, now));
    return NODE_OK;
  }
  if (rc == NODE_OK) rc = attempt_get(e, tablet, &failures, &locked_until, err);
  if (rc == NODE_OK && (uint64_t)locked_until > now) {
    *verdict = node_err_set(err, NODE_ELOCKED, "tablet %s is locked for %llu more s", tablet,
                            (unsigned long long)secs_left(locked_until, now));
    return NODE_OK;
  }
  if (rc == NODE_OK && pin_ok(pin)) rc = pin_owner(e, pin, NULL, &who, &found, err);
  if (rc != NODE_OK) return rc;
  if (!found) return login_wrong(e, tablet, key, &p, failures, now, verdict, err);
  *verdict = NODE_OK;
  rc = node__db_run(&e->db, NODE_Q_ATTEMPT_DEL, err, "t", tablet);
  return rc == NODE_OK ? session_new(e, &who, tablet, now, out, err) : rc;
}

int node_auth_login_from(node_engine *e, const char *tablet, const char *peer, const char *pin,
                         node_session *out, node_err *err) {
  node__txn t;
  int verdict = NODE_OK;
  node_err why = {0};
  char key[INET6_ADDRSTRLEN + 4];
  if (!tablet || !proto_id_valid(tablet))
    return node_err_set(err, NODE_EINVAL, "tablet: must match [A-Za-z0-9_.:-]{1,63}");
  if (peer) peer_key(peer, key);
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = node__end(e, &t, login_body(e, tablet, peer ? key : NULL, pin, out, &verdict, &why), &why);
  if (rc == NODE_OK) rc = verdict;
  if (rc != NODE_OK) node_err_set(err, rc, "%s", why.msg);
  return rc;
}

int node_auth_login(node_engine *e, const char *tablet, const char *pin, node_session *out,
                    node_err *err) {
  return node_auth_login_from(e, tablet, NULL, pin, out, err);
}

int node_auth_check(node_engine *e, const char *token, node_session *out, node_err *err) {
  unsigned char th[HASH_LEN];
  sqlite3_stmt *st = NULL;
  if (!token_ok(token)) return node_err_set(err, NODE_EEXPIRED, "session: unknown token");
  int rc = token_hash(token, th, err);
  if (rc == NODE_OK)
    rc = node__db_bind(&e->db, NODE_Q_SESSION_GET, &st, err, "b", (const void *)th, (size_t)HASH_LEN);
  if (rc != NODE_OK) return rc;
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *tablet = (const char *)sqlite3_column_text(st, 1);
    const char *name = (const char *)sqlite3_column_text(st, 3);
    memset(out, 0, sizeof *out);
    snprintf(out->staff.id, sizeof out->staff.id, "%s", id ? id : "");
    snprintf(out->tablet, sizeof out->tablet, "%s", tablet ? tablet : "");
    snprintf(out->staff.name, sizeof out->staff.name, "%s", name ? name : "");
    out->expires_ms = (uint64_t)sqlite3_column_int64(st, 2);
    if (node_role_from_name((const char *)sqlite3_column_text(st, 4), &out->staff.role) != NODE_OK)
      rc = node_err_set(err, NODE_ECORRUPT, "session: staff role damaged");
  }
  int end = node__db_end(&e->db, st, src, "session", err);
  if (rc == NODE_OK) rc = end;
  if (rc == NODE_OK && src != SQLITE_ROW)
    rc = node_err_set(err, NODE_EEXPIRED, "session: unknown or revoked");
  else if (rc == NODE_OK && out->expires_ms <= node__now(e))
    rc = node_err_set(err, NODE_EEXPIRED, "session: expired");
  if (rc != NODE_OK && src == SQLITE_ROW) memset(out, 0, sizeof *out);
  return rc;
}

int node_auth_logout(node_engine *e, const char *token, node_err *err) {
  node__txn t;
  unsigned char th[HASH_LEN];
  if (!token_ok(token)) return NODE_OK; /* nothing to end */
  int rc = token_hash(token, th, err);
  if (rc == NODE_OK) rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = node__db_run(&e->db, NODE_Q_SESSION_DEL, err, "b", (const void *)th, (size_t)HASH_LEN);
  return node__end(e, &t, rc, err);
}

int node_auth_revoke_staff(node_engine *e, const char *staff_id, node_err *err) {
  node__txn t;
  staff_row r;
  bool found = false;
  if (!staff_id) return node_err_set(err, NODE_EINVAL, "staff_id: required");
  int rc = node__begin(e, &t, err);
  if (rc != NODE_OK) return rc;
  rc = staff_get(e, staff_id, &r, &found, err);
  if (rc == NODE_OK && !found) rc = node_err_set(err, NODE_ENOTFOUND, "staff %s: not found", staff_id);
  if (rc == NODE_OK) rc = node__db_run(&e->db, NODE_Q_SESSION_DEL_STAFF, err, "t", staff_id);
  return node__end(e, &t, rc, err);
}
