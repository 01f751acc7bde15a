/* registry.c - the provisioning registry: open, transactions, devices,
 * claim tokens, the per-serial rate limit, claims (prov/registry.h; the
 * tables are described in registry_schema.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

#define BUSY_MS 5000

int prov__db_err(prov_registry *r, int rc, const char *what, prov_err *err) {
  return prov_err_set(err, PROV_EDB, "registry: %s: %s (%d)", what,
                      r && r->db.h ? sqlite3_errmsg(r->db.h) : sqlite3_errstr(rc), rc);
}

void prov__col(sqlite3_stmt *st, int i, char *out, size_t cap) {
  const unsigned char *t = sqlite3_column_text(st, i);
  snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int prov_registry_open(prov_registry **out, const char *path, prov_err *err) {
  char msg[256];
  *out = NULL;
  prov_registry *r = calloc(1, sizeof *r);
  if (!r) return prov_err_set(err, PROV_ENOMEM, "registry");
  int rc = rt_db_open(&r->db, prov__registry_schema(), path, BUSY_MS, msg, sizeof msg);
  if (rc != SQLITE_OK) {
    free(r);
    return prov_err_set(err, PROV_EDB, "registry %s: %s", path, msg);
  }
  *out = r;
  return PROV_OK;
}

void prov_registry_close(prov_registry *r) {
  if (!r) return;
  rt_db_close(&r->db);
  free(r);
}

int prov_registry_begin(prov_registry *r, prov_err *err) {
  int rc = rt_db_exec(&r->db, "BEGIN IMMEDIATE");
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "begin", err);
}

int prov_registry_commit(prov_registry *r, prov_err *err) {
  int rc = rt_db_exec(&r->db, "COMMIT");
  if (rc == SQLITE_OK) return PROV_OK;
  prov__db_err(r, rc, "commit", err);
  prov_registry_rollback(r);
  return PROV_EDB;
}

void prov_registry_rollback(prov_registry *r) {
  if (!sqlite3_get_autocommit(r->db.h)) rt_db_exec(&r->db, "ROLLBACK");
}

/* ---- devices ---------------------------------------------------------------- */

int prov_registry_register(prov_registry *r, const char *serial, const char *store_id,
                           int64_t now_ms, prov_err *err) {
  if (!prov__id_ok(serial)) return prov_err_set(err, PROV_EINVAL, "serial: not an id");
  bool assign = store_id && *store_id;
  if (assign && !prov__id_ok(store_id))
    return prov_err_set(err, PROV_EINVAL, "store_id: not an id");
  int rc = rt_db_run(&r->db, PROV_Q_DEV_INSERT, "ti", serial, now_ms);
  if (rc == SQLITE_OK && assign)
    rc = rt_db_run(&r->db, PROV_Q_DEV_ASSIGN, "tti", serial, store_id, now_ms);
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "register", err);
}

static void read_device(sqlite3_stmt *st, prov_device *d) {
  memset(d, 0, sizeof *d);
  prov__col(st, 0, d->serial, sizeof d->serial);
  prov__col(st, 1, d->store_id, sizeof d->store_id);
  d->registered_ms = sqlite3_column_int64(st, 2);
  d->assigned_ms = sqlite3_column_int64(st, 3);
  d->pending = sqlite3_column_int(st, 4) != 0;
  prov__col(st, 5, d->cert_serial, sizeof d->cert_serial);
  prov__col(st, 6, d->cert_cn, sizeof d->cert_cn);
  d->cert_not_after_s = sqlite3_column_int64(st, 7);
  d->cert_revoked = sqlite3_column_int64(st, 8) > 0;
}

int prov_registry_device(prov_registry *r, const char *serial, prov_device *out, prov_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = rt_db_bind(&r->db, PROV_Q_DEV_GET, &st, "t", serial);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) read_device(st, out);
  rc = rt_db_end(st, rc) == SQLITE_OK ? (rc == SQLITE_ROW ? PROV_OK : PROV_ENOTFOUND)
                                      : prov__db_err(r, rc, "device", err);
  if (rc == PROV_ENOTFOUND) prov_err_set(err, rc, "serial %s is not registered", serial);
  return rc;
}

int prov_registry_devices(prov_registry *r, prov_device_fn fn, void *ctx, prov_err *err) {
  sqlite3_stmt *st = NULL;
  prov_device d;
  int rc = rt_db_bind(&r->db, PROV_Q_DEV_ALL, &st, ""), stop = 0;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) break;
    read_device(st, &d);
    if ((stop = fn(ctx, &d)) != 0) break;
  }
  rc = rt_db_end(st, rc);
  if (rc != SQLITE_OK) return prov__db_err(r, rc, "devices", err);
  return stop;
}

/* ---- tokens ----------------------------------------------------------------- */

int prov_registry_token_add(prov_registry *r, const char *token_hash, const char *serial,
                            int64_t now_ms, int64_t expires_ms, prov_err *err) {
  if (serial && !prov__id_ok(serial)) return prov_err_set(err, PROV_EINVAL, "serial: not an id");
  int rc = rt_db_run(&r->db, PROV_Q_TOKEN_ADD, "ttii", token_hash, serial, now_ms, expires_ms);
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "token", err);
}

typedef struct token_row {
  char serial[PROTO_ID_MAX], used_serial[PROTO_ID_MAX], used_key[PROV_HASH_HEX];
  int64_t expires_ms, used_ms;
} token_row;

int prov_registry_token_use(prov_registry *r, const char *token_hash, const char *serial,
                            const char *key_hash, int64_t now_ms, prov_err *err) {
  sqlite3_stmt *st = NULL;
  token_row t;
  int rc = rt_db_bind(&r->db, PROV_Q_TOKEN_GET, &st, "t", token_hash);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  bool found = rc == SQLITE_ROW;
  if (found) {
    prov__col(st, 0, t.serial, sizeof t.serial);
    t.expires_ms = sqlite3_column_int64(st, 1);
    t.used_ms = sqlite3_column_int64(st, 2);
    prov__col(st, 3, t.used_serial, sizeof t.used_serial);
    prov__col(st, 4, t.used_key, sizeof t.used_key);
  }
  if ((rc = rt_db_end(st, rc)) != SQLITE_OK) return prov__db_err(r, rc, "token", err);
  if (!found) return prov_err_set(err, PROV_ETOKEN, "claim token unknown");
  if (t.serial[0] && strcmp(t.serial, serial) != 0)
    return prov_err_set(err, PROV_ESERIAL, "claim token was made for another serial");
  if (t.used_ms) {
    if (strcmp(t.used_serial, serial) == 0 && strcmp(t.used_key, key_hash) == 0) return PROV_OK;
    return prov_err_set(err, PROV_ETOKEN_USED, "claim token already used (by another key)");
  }
  if (now_ms >= t.expires_ms) return prov_err_set(err, PROV_ETOKEN_EXPIRED, "claim token expired");
  rc = rt_db_run(&r->db, PROV_Q_TOKEN_BIND, "titt", token_hash, now_ms, serial, key_hash);
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "token", err);
}

/* ---- rate ------------------------------------------------------------------- */

int prov_registry_rate(prov_registry *r, const char *serial, int64_t now_ms, int64_t window_ms,
                       int max, prov_err *err) {
  int64_t n = 0;
  int rc = rt_db_run(&r->db, PROV_Q_RATE_PRUNE, "i", now_ms - window_ms);
  if (rc == SQLITE_OK)
    rc =
        rt_db_get_i64(&r->db, PROV_Q_RATE_HIT, &n, NULL, "tii", serial, now_ms, now_ms - window_ms);
  if (rc != SQLITE_OK) return prov__db_err(r, rc, "rate", err);
  if (n > max)
    return prov_err_set(err, PROV_ERATE, "%lld requests for %s within %lld s (limit %d)",
                        (long long)n, serial, (long long)(window_ms / 1000), max);
  return PROV_OK;
}

/* ---- claims ----------------------------------------------------------------- */

int prov_registry_claim_put(prov_registry *r, const prov_claim *c, int64_t now_ms, prov_err *err) {
  int rc = rt_db_run(&r->db, PROV_Q_CLAIM_PUT, "tttttii", c->serial, c->key_hash, c->nonce,
                     c->agent_version, c->csr.data ? c->csr.data : "", (int64_t)c->pending, now_ms);
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "claim", err);
}

int prov_registry_claim_get(prov_registry *r, const char *serial, prov_claim *out, prov_err *err) {
  sqlite3_stmt *st = NULL;
  int prc = PROV_OK;
  int rc = rt_db_bind(&r->db, PROV_Q_CLAIM_GET, &st, "t", serial);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  bool found = rc == SQLITE_ROW;
  if (found) {
    snprintf(out->serial, sizeof out->serial, "%s", serial);
    prov__col(st, 0, out->key_hash, sizeof out->key_hash);
    prov__col(st, 1, out->nonce, sizeof out->nonce);
    prov__col(st, 2, out->agent_version, sizeof out->agent_version);
    proto_buf_reset(&out->csr);
    const unsigned char *csr = sqlite3_column_text(st, 3);
    if (proto_buf_puts(&out->csr, csr ? (const char *)csr : "") != 0)
      prc = prov_err_set(err, PROV_ENOMEM, "claim");
    out->pending = sqlite3_column_int(st, 4) != 0;
    out->created_ms = sqlite3_column_int64(st, 5);
    out->updated_ms = sqlite3_column_int64(st, 6);
  }
  if ((rc = rt_db_end(st, rc)) != SQLITE_OK) return prov__db_err(r, rc, "claim", err);
  if (!found) return prov_err_set(err, PROV_ENOTFOUND, "no claim for %s", serial);
  return prc;
}
