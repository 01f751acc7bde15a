/* registry_schema.c - the provisioning registry's SQLite schema: every
 * table, what writes it, and the forward migrations (PRAGMA user_version =
 * steps applied; rt/db.h).  Its own file so hq can keep it separate from
 * its event database (prov/registry.h says why it is a file of its own).
 *
 *   devices(serial, store_id, registered_ms, assigned_ms)
 *       a box by its factory serial; store_id NULL until HQ assigns it.
 *       Written by prov_registry_register (hq: register/assign, CSV) and
 *       by a claim for a serial HQ did not know yet.
 *   tokens(hash, serial, created_ms, expires_ms, used_ms, used_serial, used_key)
 *       one-time claim tokens, by the SHA-256 of the token; serial NULL =
 *       good for any serial.  used_* bind it to the first (serial, key) that
 *       spent it: the same pair may come again (a retry), nobody else.
 *   claims(serial, key_hash, nonce, agent_version, csr, pending, created_ms, updated_ms)
 *       the (serial, key) that proved a token, one per serial (a newer
 *       claim with another key and another token replaces it); pending = 1
 *       while the serial has no store, so prov_assign can finish it.
 *   certs(cert_serial, cn, device_serial, key_hash, not_before_s, not_after_s,
 *         issued_ms, revoked_ms, reason, pem)
 *       every certificate the CA issued: boxes (device_serial set) and the
 *       other identities (broker, hq, claim).  revoked_ms > 0 = on the CRL.
 *   rate(serial, window_ms, n)   requests per serial in the current window
 *       (pruned when the window is over, so junk serials do not pile up).
 *   crl(id = 1, number, this_update_s)   the last CRL written: cRLNumber and
 *       thisUpdate only ever grow.
 */
#include "registry_int.h"

/* Never edit a released step: append a new one. */
static const char *const migrations[] = {
    /* v1 */
    "CREATE TABLE devices(serial TEXT PRIMARY KEY, store_id TEXT,"
    "  registered_ms INTEGER NOT NULL, assigned_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX devices_store ON devices(store_id);"
    "CREATE TABLE tokens(hash TEXT PRIMARY KEY, serial TEXT, created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL DEFAULT 0, used_serial TEXT,"
    "  used_key TEXT) WITHOUT ROWID;"
    "CREATE TABLE claims(serial TEXT PRIMARY KEY, key_hash TEXT NOT NULL, nonce TEXT NOT NULL,"
    "  agent_version TEXT NOT NULL, csr TEXT NOT NULL, pending INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE certs(cert_serial TEXT PRIMARY KEY, cn TEXT NOT NULL, device_serial TEXT,"
    "  key_hash TEXT NOT NULL, not_before_s INTEGER NOT NULL, not_after_s INTEGER NOT NULL,"
    "  issued_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '', pem TEXT NOT NULL);"
    "CREATE INDEX certs_device ON certs(device_serial, issued_ms);"
    "CREATE INDEX certs_cn ON certs(cn);"
    "CREATE INDEX certs_revoked ON certs(not_after_s) WHERE revoked_ms > 0;"
    "CREATE TABLE rate(serial TEXT PRIMARY KEY, window_ms INTEGER NOT NULL,"
    "  n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX rate_window ON rate(window_ms);"
    "CREATE TABLE crl(id INTEGER PRIMARY KEY CHECK(id = 1), number INTEGER NOT NULL,"
    "  this_update_s INTEGER NOT NULL);",
};

static const char *const sql_text[PROV_Q__COUNT] = {
#define PROV__Q_SQL(id, sql) [PROV_Q_##id] = sql,
    PROV_SQL_MAP(PROV__Q_SQL)
#undef PROV__Q_SQL
};

static const rt_db_schema schema = {"provisioning registry", migrations,
                                    sizeof migrations / sizeof migrations[0], sql_text,
                                    PROV_Q__COUNT};

const rt_db_schema *prov__registry_schema(void) { return &schema; }
