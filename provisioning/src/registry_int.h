/* registry_int.h - the registry's statements (by enum) and its object,
 * shared by registry.c (devices, tokens, rate, claims) and registry_certs.c
 * (certificates, revocation, CRL state).  Tables: registry_schema.c. */
#ifndef PROV_REGISTRY_INT_H
#define PROV_REGISTRY_INT_H

#include "prov/registry.h"
#include "prov_int.h"
#include "rt/db.h"

#define DEVICE_COLS                                                                        \
  "d.serial, coalesce(d.store_id,''), d.registered_ms, d.assigned_ms,"                     \
  " coalesce((SELECT pending FROM claims c WHERE c.serial=d.serial),0),"                  \
  " coalesce(k.cert_serial,''), coalesce(k.cn,''), coalesce(k.not_after_s,0),"           \
  " coalesce(k.revoked_ms,0)"
#define DEVICE_FROM                                                                        \
  " FROM devices d LEFT JOIN certs k ON k.cert_serial = (SELECT cert_serial FROM certs"   \
  " WHERE device_serial=d.serial ORDER BY issued_ms DESC, rowid DESC LIMIT 1)"

/* X(ID, sql) */
#define PROV_SQL_MAP(X)                                                                    \
  X(DEV_INSERT, "INSERT OR IGNORE INTO devices(serial, registered_ms) VALUES(?1, ?2)")    \
  X(DEV_ASSIGN, "UPDATE devices SET store_id=?2, assigned_ms=?3 WHERE serial=?1"          \
                " AND coalesce(store_id,'') <> ?2")                                       \
  X(DEV_GET, "SELECT " DEVICE_COLS DEVICE_FROM " WHERE d.serial=?1")                     \
  X(DEV_ALL, "SELECT " DEVICE_COLS DEVICE_FROM " ORDER BY d.serial")                     \
  X(TOKEN_ADD, "INSERT INTO tokens(hash, serial, created_ms, expires_ms) VALUES(?1,?2,?3,?4)") \
  X(TOKEN_GET, "SELECT coalesce(serial,''), expires_ms, used_ms, coalesce(used_serial,''),"    \
               " coalesce(used_key,'') FROM tokens WHERE hash=?1")                         \
  X(TOKEN_BIND, "UPDATE tokens SET used_ms=?2, used_serial=?3, used_key=?4 WHERE hash=?1") \
  X(RATE_PRUNE, "DELETE FROM rate WHERE window_ms < ?1")                                   \
  X(RATE_HIT, "INSERT INTO rate(serial, window_ms, n) VALUES(?1, ?2, 1)"                  \
              " ON CONFLICT(serial) DO UPDATE SET"                                         \
              " n = CASE WHEN window_ms <= ?3 THEN 1 ELSE n + 1 END,"                      \
              " window_ms = CASE WHEN window_ms <= ?3 THEN ?2 ELSE window_ms END"           \
              " RETURNING n")                                                              \
  X(CLAIM_PUT, "INSERT INTO claims(serial, key_hash, nonce, agent_version, csr, pending,"  \
               " created_ms, updated_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?7)"                  \
               " ON CONFLICT(serial) DO UPDATE SET key_hash=?2, nonce=?3, agent_version=?4," \
               " csr=?5, pending=?6, updated_ms=?7,"                                       \
               " created_ms = CASE WHEN key_hash = ?2 THEN created_ms ELSE ?7 END")       \
  X(CLAIM_GET, "SELECT key_hash, nonce, agent_version, csr, pending, created_ms, updated_ms" \
               " FROM claims WHERE serial=?1")                                             \
  X(CERT_ADD, "INSERT INTO certs(cert_serial, cn, device_serial, key_hash, not_before_s,"  \
              " not_after_s, issued_ms, pem) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)")            \
  X(CERT_LATEST, "SELECT cert_serial, cn, coalesce(device_serial,''), key_hash,"           \
                 " not_before_s, not_after_s, issued_ms, revoked_ms, reason, pem FROM certs" \
                 " WHERE device_serial=?1 AND (?2 IS NULL OR key_hash=?2)"                 \
                 " ORDER BY issued_ms DESC, rowid DESC LIMIT 1")                          \
  X(REVOKE_CERT, "UPDATE certs SET revoked_ms=?2, reason=?3 WHERE cert_serial=?1"          \
                 " AND revoked_ms=0")                                                      \
  X(CERT_EXISTS, "SELECT count(*) FROM certs WHERE cert_serial=?1")                        \
  X(REVOKE_DEVICE, "UPDATE certs SET revoked_ms=?3, reason=?4 WHERE device_serial=?1"      \
                   " AND revoked_ms=0 AND cert_serial <> coalesce(?2,'')")                 \
  X(REVOKE_SUPERSEDED, "UPDATE certs SET revoked_ms=?3, reason='superseded' WHERE"         \
                       " device_serial=?1 AND revoked_ms=0 AND cert_serial <> ?2"          \
                       " AND (key_hash <> ?4 OR cn <> ?5)")                                \
  X(REVOKE_CN, "UPDATE certs SET revoked_ms=?2, reason=?3 WHERE cn=?1 AND revoked_ms=0")   \
  X(REVOKED, "SELECT cert_serial, revoked_ms FROM certs WHERE revoked_ms > 0"              \
             " AND not_after_s >= ?1 ORDER BY revoked_ms, cert_serial")                    \
  X(CRL_GET, "SELECT number, this_update_s FROM crl WHERE id=1")                           \
  X(CRL_SET, "INSERT INTO crl(id, number, this_update_s) VALUES(1, ?1, ?2)"                \
             " ON CONFLICT(id) DO UPDATE SET number=?1, this_update_s=?2")

typedef enum {
#define PROV__Q_ENUM(id, sql) PROV_Q_##id,
  PROV_SQL_MAP(PROV__Q_ENUM)
#undef PROV__Q_ENUM
  PROV_Q__COUNT
} prov_q;

struct prov_registry {
  rt_db db;
};

const rt_db_schema *prov__registry_schema(void);
/* PROV_EDB with SQLite's message and what was being done. */
int prov__db_err(prov_registry *r, int rc, const char *what, prov_err *err);
/* Column text copied into a fixed buffer ("" for NULL). */
void prov__col(sqlite3_stmt *st, int i, char *out, size_t cap);

#endif
