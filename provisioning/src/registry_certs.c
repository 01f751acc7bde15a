/* registry_certs.c - issued certificates, revocation and the CRL's
 * monotonic state (prov/registry.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_int.h"

int prov_registry_cert_add(prov_registry *r, const prov_cert_info *i, const char *pem,
                           int64_t now_ms, prov_err *err) {
  int rc = rt_db_run(&r->db, PROV_Q_CERT_ADD, "ttttiiit", i->cert_serial, i->cn,
                     i->device_serial[0] ? i->device_serial : NULL, i->key_hash, i->not_before_s,
                     i->not_after_s, now_ms, pem);
  return rc == SQLITE_OK ? PROV_OK : prov__db_err(r, rc, "certificate", err);
}

int prov_registry_cert_latest(prov_registry *r, const char *device_serial, const char *key_hash,
                              prov_cert_row *out, prov_err *err) {
  sqlite3_stmt *st = NULL;
  int prc = PROV_OK;
  int rc = rt_db_bind(&r->db, PROV_Q_CERT_LATEST, &st, "tt", device_serial, key_hash);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  bool found = rc == SQLITE_ROW;
  if (found) {
    prov_cert_info *i = &out->info;
    memset(i, 0, sizeof *i);
    prov__col(st, 0, i->cert_serial, sizeof i->cert_serial);
    prov__col(st, 1, i->cn, sizeof i->cn);
    prov__col(st, 2, i->device_serial, sizeof i->device_serial);
    prov__col(st, 3, i->key_hash, sizeof i->key_hash);
    i->not_before_s = sqlite3_column_int64(st, 4);
    i->not_after_s = sqlite3_column_int64(st, 5);
    out->issued_ms = sqlite3_column_int64(st, 6);
    out->revoked_ms = sqlite3_column_int64(st, 7);
    prov__col(st, 8, out->reason, sizeof out->reason);
    const unsigned char *pem = sqlite3_column_text(st, 9);
    proto_buf_reset(&out->pem);
    if (proto_buf_puts(&out->pem, pem ? (const char *)pem : "") != 0)
      prc = prov_err_set(err, PROV_ENOMEM, "certificate");
  }
  if ((rc = rt_db_end(st, rc)) != SQLITE_OK) return prov__db_err(r, rc, "certificate", err);
  if (!found) return prov_err_set(err, PROV_ENOTFOUND, "no certificate for %s", device_serial);
  return prc;
}

static int changed(prov_registry *r, int rc, int *n, const char *what, prov_err *err) {
  if (rc != SQLITE_OK) return prov__db_err(r, rc, what, err);
  if (n) *n = sqlite3_changes(r->db.h);
  return PROV_OK;
}

int prov_registry_revoke_cert(prov_registry *r, const char *cert_serial, const char *reason,
                              int64_t now_ms, int *n, prov_err *err) {
  int64_t exists = 0;
  if (n) *n = 0;
  int rc = rt_db_get_i64(&r->db, PROV_Q_CERT_EXISTS, &exists, NULL, "t", cert_serial);
  if (rc != SQLITE_OK) return prov__db_err(r, rc, "revoke", err);
  if (!exists)
    return prov_err_set(err, PROV_ENOTFOUND, "no certificate with serial %s", cert_serial);
  rc = rt_db_run(&r->db, PROV_Q_REVOKE_CERT, "tit", cert_serial, now_ms, reason);
  return changed(r, rc, n, "revoke", err);
}

int prov_registry_revoke_device(prov_registry *r, const char *device_serial, const char *keep,
                                const char *reason, int64_t now_ms, int *n, prov_err *err) {
  int rc = rt_db_run(&r->db, PROV_Q_REVOKE_DEVICE, "ttit", device_serial, keep, now_ms, reason);
  return changed(r, rc, n, "revoke", err);
}

int prov_registry_revoke_superseded(prov_registry *r, const char *device_serial, const char *keep,
                                    const char *key_hash, const char *cn, int64_t now_ms, int *n,
                                    prov_err *err) {
  int rc = rt_db_run(&r->db, PROV_Q_REVOKE_SUPERSEDED, "ttitt", device_serial, keep, now_ms,
                     key_hash, cn);
  return changed(r, rc, n, "revoke", err);
}

int prov_registry_revoke_cn(prov_registry *r, const char *cn, const char *reason, int64_t now_ms,
                            int *n, prov_err *err) {
  int rc = rt_db_run(&r->db, PROV_Q_REVOKE_CN, "tit", cn, now_ms, reason);
  return changed(r, rc, n, "revoke", err);
}

int prov_registry_revoked(prov_registry *r, int64_t now_s, prov_crl_entry **list, size_t *n,
                          prov_err *err) {
  sqlite3_stmt *st = NULL;
  prov_crl_entry *v = NULL;
  size_t len = 0, cap = 0;
  int prc = PROV_OK;
  *list = NULL;
  *n = 0;
  int rc = rt_db_bind(&r->db, PROV_Q_REVOKED, &st, "i", now_s);
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) break;
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      prov_crl_entry *nv = realloc(v, ncap * sizeof *v);
      if (!nv) {
        prc = prov_err_set(err, PROV_ENOMEM, "revocation list");
        break;
      }
      v = nv, cap = ncap;
    }
    prov__col(st, 0, v[len].cert_serial, sizeof v[len].cert_serial);
    v[len++].revoked_s = sqlite3_column_int64(st, 1) / 1000;
  }
  rc = rt_db_end(st, rc);
  if (rc != SQLITE_OK) prc = prov__db_err(r, rc, "revocation list", err);
  if (prc != PROV_OK) {
    free(v);
    return prc;
  }
  *list = v;
  *n = len;
  return PROV_OK;
}

int prov_registry_crl_next(prov_registry *r, int64_t now_s, int64_t backdate_s, uint64_t *number,
                           int64_t *this_update_s, prov_err *err) {
  sqlite3_stmt *st = NULL;
  int64_t num = 0, last = 0;
  int rc = rt_db_bind(&r->db, PROV_Q_CRL_GET, &st, "");
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) num = sqlite3_column_int64(st, 0), last = sqlite3_column_int64(st, 1);
  if ((rc = rt_db_end(st, rc)) != SQLITE_OK) return prov__db_err(r, rc, "crl state", err);
  int64_t t = now_s - backdate_s;
  if (t <= last) t = last + 1;
  rc = rt_db_run(&r->db, PROV_Q_CRL_SET, "ii", num + 1, t);
  if (rc != SQLITE_OK) return prov__db_err(r, rc, "crl state", err);
  *number = (uint64_t)(num + 1);
  *this_update_s = t;
  return PROV_OK;
}
