/* db.c - open, verify and migrate the store's SQLite database; statement
 * cache and binding helpers.
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
 */
#include "db.h"

#include "proto/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int node__db_err(const node_db *db, int rc, const char *what, node_err *err) {
  int code = NODE_EDB;
  for (size_t i = 0; i < sizeof rc_map / sizeof rc_map[0]; i++) {
    if (rc_map[i].sqlite_rc == rc || rc_map[i].sqlite_rc == (rc & 0xff)) {
      code = rc_map[i].node_rc;
      break;
    }
  }
  const char *detail = db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc);
  return node_err_set(err, code, "%s: %s (sqlite %d)", what, detail, rc);
}

int node__db_exec(node_db *db, const char *sql, node_err *err) {
  int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? NODE_OK : node__db_err(db, rc, sql, err);
}

/* ---- statements ------------------------------------------------------------ */

static int stmt_get(node_db *db, node_q q, sqlite3_stmt **out, node_err *err) {
  if (!db->st[q]) {
    int rc = sqlite3_prepare_v3(db->h, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &db->st[q],
                                NULL);
    if (rc != SQLITE_OK) return node__db_err(db, rc, sql_text[q], err);
  }
  sqlite3_reset(db->st[q]);
  sqlite3_clear_bindings(db->st[q]);
  *out = db->st[q];
  return NODE_OK;
}

static int bind_va(node_db *db, sqlite3_stmt *st, node_err *err, const char *fmt, va_list ap) {
  /* The letters are not type-checked by the compiler: at least the count is. */
  if ((int)strlen(fmt ? fmt : "") != sqlite3_bind_parameter_count(st))
    return node_err_set(err, NODE_EINVAL, "db: %zu bind letters for %d parameters of %s",
                        strlen(fmt ? fmt : ""), sqlite3_bind_parameter_count(st), sqlite3_sql(st));
  for (int i = 1; fmt && fmt[i - 1]; i++) {
    int rc = SQLITE_OK;
    switch (fmt[i - 1]) {
      case 't':
        rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        break;
      case 'i':
        rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
        break;
      case 'b': {
        const void *p = va_arg(ap, const void *);
        size_t n = va_arg(ap, size_t);
        rc = sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
        break;
      }
      default:
        return node_err_set(err, NODE_EINVAL, "db: bad bind format '%c'", fmt[i - 1]);
    }
    if (rc != SQLITE_OK) return node__db_err(db, rc, "bind", err);
  }
  return NODE_OK;
}

int node__db_bind(node_db *db, node_q q, sqlite3_stmt **out, node_err *err, const char *fmt,
                  ...) {
  int rc = stmt_get(db, q, out, err);
  if (rc != NODE_OK) return rc;
  va_list ap;
  va_start(ap, fmt);
  rc = bind_va(db, *out, err, fmt, ap);
  va_end(ap);
  return rc;
}

int node__db_end(node_db *db, sqlite3_stmt *st, int rc, const char *what, node_err *err) {
  sqlite3_reset(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK) return NODE_OK;
  return node__db_err(db, rc, what, err);
}

/* Bind + step once; the statement stays on its row for the caller. */
static int step_va(node_db *db, node_q q, sqlite3_stmt **st, bool *found, node_err *err,
                   const char *fmt, va_list ap) {
  int rc = stmt_get(db, q, st, err);
  if (rc == NODE_OK) rc = bind_va(db, *st, err, fmt, ap);
  if (rc != NODE_OK) return rc;
  int src = sqlite3_step(*st);
  if (found) *found = src == SQLITE_ROW;
  if (src == SQLITE_ROW || src == SQLITE_DONE) return NODE_OK;
  return node__db_end(db, *st, src, sql_text[q], err);
}

int node__db_run(node_db *db, node_q q, node_err *err, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  va_list ap;
  va_start(ap, fmt);
  int rc = step_va(db, q, &st, NULL, err, fmt, ap);
  va_end(ap);
  if (st) sqlite3_reset(st);
  return rc;
}

int node__db_get_i64(node_db *db, node_q q, int64_t *out, bool *found, node_err *err,
                     const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = step_va(db, q, &st, &row, err, fmt, ap);
  va_end(ap);
  if (rc == NODE_OK && row) *out = sqlite3_column_int64(st, 0);
  if (found) *found = rc == NODE_OK && row;
  if (st) sqlite3_reset(st);
  return rc;
}

int node__db_get_blob(node_db *db, node_q q, void *out, size_t size, bool *found,
                      node_err *err, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = step_va(db, q, &st, &row, err, fmt, ap);
  va_end(ap);
  if (rc == NODE_OK && row)
    rc = node__unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out, size,
                      err);
  if (found) *found = rc == NODE_OK && row;
  if (st) sqlite3_reset(st);
  return rc;
}

/* ---- state BLOBs ------------------------------------------------------------ */

int node__pack(const void *p, size_t n, proto_buf *out) {
  const unsigned char *s = p;
  int rc = PROTO_OK;
  proto_buf_reset(out);
  for (size_t i = 0; rc == PROTO_OK && i < n;) {
    size_t run = 0, lim = n - i < 255 ? n - i : 255;
    uint64_t w = 0;
    /* Most of a struct is empty array slots: skip zeros a word at a time. */
    while (run + sizeof w <= lim && (memcpy(&w, s + i + run, sizeof w), w == 0)) run += sizeof w;
    while (run < lim && s[i + run] == 0) run++;
    if (run == 0) { /* a stretch of non-zero bytes goes out as is */
      const unsigned char *z = memchr(s + i, 0, n - i);
      run = z ? (size_t)(z - (s + i)) : n - i;
      rc = proto_buf_append(out, (const char *)s + i, run);
    } else {
      const char tok[2] = {0, (char)run};
      rc = proto_buf_append(out, tok, 2);
    }
    i += run;
  }
  if (rc != PROTO_OK) proto_buf_reset(out);
  return rc;
}

int node__unpack(const void *blob, size_t bn, void *out, size_t n, node_err *err) {
  const unsigned char *b = blob;
  unsigned char *o = out;
  size_t i = 0, j = 0;
  while (b && i < bn) {
    size_t run = b[i] ? 1 : i + 1 < bn ? b[i + 1] : 0;
    if (run == 0 || j + run > n) break;
    if (b[i])
      o[j] = b[i];
    else
      memset(o + j, 0, run);
    i += b[i] ? 1 : 2;
    j += run;
  }
  if (i == bn && j == n) return NODE_OK;
  return node_err_set(err, NODE_ECORRUPT, "state blob of %zu bytes does not unpack to %zu", bn, n);
}

/* ---- open ------------------------------------------------------------------- */

/* First row of a one-column PRAGMA as text into buf. */
static int pragma_text(node_db *db, const char *sql, char *buf, size_t cap, node_err *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  buf[0] = '\0';
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  int out = rc == SQLITE_OK ? NODE_OK : node__db_err(db, rc, sql, err);
  sqlite3_finalize(st);
  return out;
}

static int verify(node_db *db, const char *path, node_err *err) {
  char res[200];
  int rc = pragma_text(db, "PRAGMA quick_check", res, sizeof res, err);
  if (rc == NODE_OK && strcmp(res, "ok") != 0)
    rc = node_err_set(err, NODE_ECORRUPT, "quick_check: %s", res);
  if (rc != NODE_ECORRUPT) return rc;
  char detail[sizeof err->msg];
  snprintf(detail, sizeof detail, "%s", err->msg);
  return node_err_set(err, NODE_ECORRUPT,
                      "database %s is corrupt (%s); refusing to start: move the file aside "
                      "(the store's acknowledged events are also at HQ) and restart",
                      path, detail);
}

static int pragmas(node_db *db, int busy_timeout_ms, node_err *err) {
  char mode[32];
  sqlite3_busy_timeout(db->h, busy_timeout_ms);
  int rc = pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
  if (rc == NODE_OK && strcmp(mode, "wal") != 0)
    rc = node_err_set(err, NODE_EDB, "journal_mode=WAL refused (mode is '%s')", mode);
  if (rc == NODE_OK) rc = node__db_exec(db, "PRAGMA synchronous=FULL", err);
  if (rc == NODE_OK) rc = node__db_exec(db, "PRAGMA foreign_keys=ON", err);
  return rc;
}

static int migrate(node_db *db, node_err *err) {
  char buf[32];
  int rc = pragma_text(db, "PRAGMA user_version", buf, sizeof buf, err);
  int version = rc == NODE_OK ? atoi(buf) : 0;
  if (rc == NODE_OK && version > N_MIGRATIONS)
    rc = node_err_set(err, NODE_EDB,
                      "database schema v%d is newer than this storenode (v%d): refusing to "
                      "downgrade it",
                      version, N_MIGRATIONS);
  for (; rc == NODE_OK && version < N_MIGRATIONS; version++) {
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version=%d", version + 1);
    rc = node__db_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != NODE_OK) break;
    rc = node__db_exec(db, migrations[version], err);
    if (rc == NODE_OK) rc = node__db_exec(db, bump, err);
    if (rc == NODE_OK) rc = node__db_exec(db, "COMMIT", err);
    if (rc != NODE_OK && !sqlite3_get_autocommit(db->h))
      sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
  }
  return rc;
}

int node__db_open(node_db *db, const char *path, int busy_timeout_ms, node_err *err) {
  memset(db, 0, sizeof *db);
  int src = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  int rc = src == SQLITE_OK ? NODE_OK : node__db_err(db, src, path, err);
  if (rc == NODE_OK) sqlite3_extended_result_codes(db->h, 1);
  /* A small page cache before quick_check reads the whole file: the box has
   * little RAM and freed cache pages stay in the heap (docs/performance.md). */
  if (rc == NODE_OK) rc = node__db_exec(db, "PRAGMA cache_size=-512", err);
  if (rc == NODE_OK) rc = verify(db, path, err);
  if (rc == NODE_OK) rc = pragmas(db, busy_timeout_ms, err);
  if (rc == NODE_OK) rc = migrate(db, err);
  if (rc != NODE_OK) node__db_close(db);
  return rc;
}

void node__db_close(node_db *db) {
  if (!db) return;
  for (int i = 0; i < NODE_Q__COUNT; i++) sqlite3_finalize(db->st[i]);
  sqlite3_close(db->h);
  memset(db, 0, sizeof *db);
}
