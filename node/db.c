/* db.c - the store's SQLite database: schema, statements, and the
 * node_err forms of rt/db.h's conventions.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so a COMMIT that
 * returned is on the disk (one fsync of the WAL per commit; the engine groups
 * many commands per commit).  foreign_keys=ON (order_items and sessions
 * cascade from their parents).  busy_timeout covers a second process such as
 * an operator's sqlite3 shell.
 *
 * Schema versions: PRAGMA user_version = number of migrations applied.  The
 * `migrations` table below only ever grows: each step runs in its own
 * transaction together with the user_version bump, so a crash mid-upgrade
 * leaves the previous version intact.  A file newer than this binary is
 * refused rather than guessed at.
 *
 * Verification: PRAGMA quick_check runs on every start before anything is
 * written; a damaged file is refused with NODE_ECORRUPT and a message saying
 * what to do, never "repaired" silently.
 *
 * All of that is rt_db_open's (rt/db.h); what is the node's own here: the
 * tables, the page cache set before quick_check, and the mapping of SQLite
 * codes to node codes.
 */
#include "db.h"

#include <stdarg.h>

static const char *const sql_text[NODE_Q__COUNT] = {
#define NODE__Q_SQL(id, sql) [NODE_Q_##id] = sql,
    NODE_SQL_MAP(NODE__Q_SQL)
#undef NODE__Q_SQL
};

/* Forward migrations; index i takes user_version i to i + 1.  Never edit a
 * released step: append a new one.  The tables are described in
 * docs/storenode-engine.md; state BLOBs are explained at the top of apply.c. */
static const char *const migrations[] = {
    /* v1: the event log, materialised state, commands, staff. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE events(feed INTEGER PRIMARY KEY, origin TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, hlc INTEGER NOT NULL, type TEXT NOT NULL,"
    "  target INTEGER NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL,"
    "  UNIQUE(origin, seq));"
    "CREATE TABLE orders(order_id TEXT PRIMARY KEY, status INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, reserving INTEGER NOT NULL, conflict INTEGER NOT NULL,"
    "  waste INTEGER NOT NULL, dispatched_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL,"
    "  state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX orders_ended ON orders(ended_ms);"
    "CREATE INDEX orders_status ON orders(status, dispatched_ms);"
    "CREATE TABLE order_items(order_id TEXT NOT NULL REFERENCES orders(order_id)"
    "  ON DELETE CASCADE, line INTEGER NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,"
    "  unavailable INTEGER NOT NULL, PRIMARY KEY(order_id, line)) WITHOUT ROWID;"
    "CREATE INDEX order_items_sku ON order_items(sku);"
    "CREATE TABLE stock(sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL,"
    "  state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE deltas(sku TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  delta INTEGER NOT NULL, reason INTEGER NOT NULL, ref TEXT NOT NULL,"
    "  PRIMARY KEY(sku, origin, seq)) WITHOUT ROWID;"
    "CREATE TABLE sku(sku TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE settings(store TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE commands(cmd_id TEXT PRIMARY KEY, result TEXT NOT NULL,"
    "  ts INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX commands_ts ON commands(ts);"
    "CREATE TABLE staff(id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    "  salt BLOB NOT NULL, hash BLOB NOT NULL, iterations INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE sessions(token_hash BLOB PRIMARY KEY, staff_id TEXT NOT NULL"
    "  REFERENCES staff(id) ON DELETE CASCADE, tablet TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_staff ON sessions(staff_id);"
    "CREATE TABLE login_attempts(tablet TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
    "  locked_until_ms INTEGER NOT NULL) WITHOUT ROWID;",
    /* v2: reserved stock from a partial index of the open reservations only,
     * not a join over every line ever sold (the rows are refilled by the
     * state rebuild that the layout bump of the same release triggers). */
    "ALTER TABLE order_items ADD COLUMN reserving INTEGER NOT NULL DEFAULT 0;"
    "DROP INDEX order_items_sku;"
    "CREATE INDEX order_items_reserved ON order_items(sku) WHERE reserving=1 AND unavailable=0;",
    /* v3: the PIN lockout per peer address (auth.c), next to the per-tablet one. */
    "CREATE TABLE login_peers(addr TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
    "  window_start_ms INTEGER NOT NULL, locked_until_ms INTEGER NOT NULL) WITHOUT ROWID;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- errors ---------------------------------------------------------------- */

typedef struct rc_row {
  int sqlite_rc;   /* extended code first, then primary codes */
  int node_rc;
} rc_row;

static const rc_row rc_map[] = {
    {SQLITE_FULL, NODE_EFULL},
    {SQLITE_CORRUPT, NODE_ECORRUPT},  {SQLITE_NOTADB, NODE_ECORRUPT},
    {SQLITE_NOMEM, NODE_ENOMEM},      {SQLITE_IOERR, NODE_EIO},
    {SQLITE_CANTOPEN, NODE_EIO},      {SQLITE_READONLY, NODE_EIO},
    {SQLITE_PERM, NODE_EIO},
};

static int node_code(int rc) {
  for (size_t i = 0; i < sizeof rc_map / sizeof rc_map[0]; i++)
    if (rc_map[i].sqlite_rc == rc || rc_map[i].sqlite_rc == (rc & 0xff)) return rc_map[i].node_rc;
  return NODE_EDB;
}

int node__db_err(const node_db *db, int rc, const char *what, node_err *err) {
  const char *detail = db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc);
  return node_err_set(err, node_code(rc), "%s: %s (sqlite %d)", what, detail, rc);
}

int node__db_exec(node_db *db, const char *sql, node_err *err) {
  int rc = rt_db_exec(db, sql);
  return rc == SQLITE_OK ? NODE_OK : node__db_err(db, rc, sql, err);
}

/* ---- statements ------------------------------------------------------------ */

/* An rt_db result as a node code; rt_db answers SQLITE_MISUSE (before any
 * SQLite call that would set a message) when the bind letters do not fit. */
static int q_err(node_db *db, node_q q, int rc, const char *fmt, node_err *err) {
  if (rc == SQLITE_MISUSE)
    return node_err_set(err, NODE_EINVAL, "db: bind letters \"%s\" do not fit %s", fmt ? fmt : "",
                        rt_db_sql(db, q));
  return node__db_err(db, rc, rt_db_sql(db, q), err);
}

int node__db_bind(node_db *db, node_q q, sqlite3_stmt **out, node_err *err, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vbind(db, (int)q, out, fmt, ap);
  va_end(ap);
  return rc == SQLITE_OK ? NODE_OK : q_err(db, q, rc, fmt, err);
}

int node__db_end(node_db *db, sqlite3_stmt *st, int rc, const char *what, node_err *err) {
  rc = rt_db_end(st, rc);
  return rc == SQLITE_OK ? NODE_OK : node__db_err(db, rc, what, err);
}

int node__db_run(node_db *db, node_q q, node_err *err, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vstep(db, (int)q, &st, &row, fmt, ap);
  va_end(ap);
  if (st) sqlite3_reset(st);
  return rc == SQLITE_OK ? NODE_OK : q_err(db, q, rc, fmt, err);
}

int node__db_get_i64(node_db *db, node_q q, int64_t *out, bool *found, node_err *err,
                     const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vstep(db, (int)q, &st, &row, fmt, ap);
  va_end(ap);
  if (rc == SQLITE_OK && row) *out = sqlite3_column_int64(st, 0);
  if (found) *found = rc == SQLITE_OK && row;
  if (st) sqlite3_reset(st);
  return rc == SQLITE_OK ? NODE_OK : q_err(db, q, rc, fmt, err);
}

int node__db_get_blob(node_db *db, node_q q, void *out, size_t size, bool *found,
                      node_err *err, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int src = rt_db_vstep(db, (int)q, &st, &row, fmt, ap);
  va_end(ap);
  int rc = src == SQLITE_OK ? NODE_OK : q_err(db, q, src, fmt, err);
  if (rc == NODE_OK && row)
    rc = node__unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out, size,
                      err);
  if (found) *found = rc == NODE_OK && row;
  if (st) sqlite3_reset(st);
  return rc;
}

int node__unpack(const void *blob, size_t bn, void *out, size_t n, node_err *err) {
  if (rt_db_unpack(blob, bn, out, n) == 0) return NODE_OK;
  return node_err_set(err, NODE_ECORRUPT, "state blob of %zu bytes does not unpack to %zu", bn, n);
}

/* ---- open ------------------------------------------------------------------- */

static const rt_db_schema schema = {"storenode", migrations, N_MIGRATIONS, sql_text,
                                    NODE_Q__COUNT};

int node__db_open(node_db *db, const char *path, int busy_timeout_ms, node_err *err) {
  /* A small page cache before quick_check reads the whole file: the box has
   * little RAM and freed cache pages stay in the heap (docs/performance.md). */
  const rt_db_open_opts o = {
      .busy_timeout_ms = busy_timeout_ms,
      .first_sql = "PRAGMA cache_size=-512",
      .recovery = "the store's acknowledged events are also at HQ",
  };
  char msg[sizeof err->msg];
  int rc = rt_db_open_with(db, &schema, path, &o, msg, sizeof msg);
  return rc == SQLITE_OK ? NODE_OK : node_err_set(err, node_code(rc), "%s", msg);
}

void node__db_close(node_db *db) { rt_db_close(db); }
