/* db.c - SQLite open/verify/migrate, statement cache, binding helpers,
 * packed state BLOBs and the stock recount (rt/db.h). */
#include "rt/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/settings.h"
#include "proto/sku.h"

/* ---- statements ------------------------------------------------------------ */

const char *rt_db_sql(const rt_db *db, int q) {
  return db->schema && q >= 0 && (size_t)q < db->schema->n_sql ? db->schema->sql[q] : "?";
}

static int stmt_get(rt_db *db, int q, sqlite3_stmt **out) {
  if (!db->st || q < 0 || (size_t)q >= db->schema->n_sql) return SQLITE_MISUSE;
  if (!db->st[q]) {
    int rc = sqlite3_prepare_v3(db->h, db->schema->sql[q], -1, SQLITE_PREPARE_PERSISTENT,
                                &db->st[q], NULL);
    if (rc != SQLITE_OK) return rc;
  }
  sqlite3_reset(db->st[q]);
  sqlite3_clear_bindings(db->st[q]);
  *out = db->st[q];
  return SQLITE_OK;
}

static int bind_va(sqlite3_stmt *st, const char *fmt, va_list ap) {
  /* The letters are not type-checked by the compiler: at least the count is. */
  if ((int)strlen(fmt ? fmt : "") != sqlite3_bind_parameter_count(st)) return SQLITE_MISUSE;
  for (int i = 1; fmt && fmt[i - 1]; i++) {
    int rc;
    switch (fmt[i - 1]) {
      case 't': rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
      case 'i': rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t)); break;
      case 'b': {
        const void *p = va_arg(ap, const void *);
        size_t n = va_arg(ap, size_t);
        rc = sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
        break;
      }
      default: return SQLITE_MISUSE;
    }
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

int rt_db_vbind(rt_db *db, int q, sqlite3_stmt **out, const char *fmt, va_list ap) {
  int rc = stmt_get(db, q, out);
  return rc == SQLITE_OK ? bind_va(*out, fmt, ap) : rc;
}

int rt_db_bind(rt_db *db, int q, sqlite3_stmt **out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vbind(db, q, out, fmt, ap);
  va_end(ap);
  return rc;
}

int rt_db_end(sqlite3_stmt *st, int rc) {
  if (st) sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK ? SQLITE_OK : rc;
}

/* Bind + step once; the statement stays on its row for the caller. */
int rt_db_vstep(rt_db *db, int q, sqlite3_stmt **st, bool *row, const char *fmt, va_list ap) {
  int rc = rt_db_vbind(db, q, st, fmt, ap);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(*st);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return SQLITE_OK;
  sqlite3_reset(*st);
  return rc;
}

int rt_db_run(rt_db *db, int q, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vstep(db, q, &st, &row, fmt, ap);
  va_end(ap);
  if (st) sqlite3_reset(st);
  return rc;
}

int rt_db_get_i64(rt_db *db, int q, int64_t *out, bool *found, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vstep(db, q, &st, &row, fmt, ap);
  va_end(ap);
  if (rc == SQLITE_OK && row) *out = sqlite3_column_int64(st, 0);
  if (found) *found = rc == SQLITE_OK && row;
  if (st) sqlite3_reset(st);
  return rc;
}

int rt_db_get_blob(rt_db *db, int q, void *out, size_t size, bool *found, const char *fmt, ...) {
  sqlite3_stmt *st = NULL;
  bool row = false;
  va_list ap;
  va_start(ap, fmt);
  int rc = rt_db_vstep(db, q, &st, &row, fmt, ap);
  va_end(ap);
  if (rc == SQLITE_OK && row &&
      rt_db_unpack(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), out, size) != 0)
    rc = SQLITE_CORRUPT;
  if (found) *found = rc == SQLITE_OK && row;
  if (st) sqlite3_reset(st);
  return rc;
}

int rt_db_exec(rt_db *db, const char *sql) { return sqlite3_exec(db->h, sql, NULL, NULL, NULL); }

/* ---- state BLOBs ------------------------------------------------------------ */

int rt_db_pack(const void *p, size_t n, proto_buf *out) {
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

int rt_db_unpack(const void *blob, size_t bn, void *out, size_t n) {
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
  return i == bn && j == n ? 0 : -1;
}

int64_t rt_db_state_layout(uint64_t manual) {
  const uint64_t parts[] = {manual,            sizeof(proto_order),    sizeof(proto_stock),
                            sizeof(proto_sku), sizeof(proto_settings), PROTO_MS__COUNT,
                            PROTO_SET__COUNT,  PROTO_ITEMS_MAX,        PROTO_SEEN_MAX};
  uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a, a part at a time */
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    h ^= parts[i];
    h *= UINT64_C(0x100000001b3);
  }
  return (int64_t)(h >> 1);
}

int rt_db_recount(sqlite3_stmt *st, proto_stock *s) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *origin = (const char *)sqlite3_column_text(st, 0);
    proto_stock_add_delta(s, origin ? origin : "", (uint64_t)sqlite3_column_int64(st, 1),
                          sqlite3_column_int64(st, 2));
  }
  return rt_db_end(st, rc);
}

/* ---- open ------------------------------------------------------------------- */

/* First row of a one-column PRAGMA as text into buf. */
static int pragma_text(rt_db *db, const char *sql, char *buf, size_t cap) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  buf[0] = '\0';
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
  }
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int fail(rt_db *db, int rc, const char *what, char *err, size_t cap) {
  snprintf(err, cap, "%s: %s (sqlite %d)", what, db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc),
           rc);
  return rc;
}

static int verify(rt_db *db, const char *path, const char *recovery, char *err, size_t cap) {
  char res[200];
  int rc = pragma_text(db, "PRAGMA quick_check", res, sizeof res);
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_CORRUPT && (rc & 0xff) != SQLITE_NOTADB)
    return fail(db, rc, "quick_check", err, cap);
  if (rc == SQLITE_OK && strcmp(res, "ok") == 0) return SQLITE_OK;
  snprintf(err, cap,
           "database %s is corrupt (%s); refusing to start: move the file aside and restart (%s)",
           path, rc == SQLITE_OK ? res : sqlite3_errmsg(db->h),
           recovery ? recovery : "see the docs on recovery");
  return SQLITE_CORRUPT;
}

static int pragmas(rt_db *db, int busy_timeout_ms, char *err, size_t cap) {
  char mode[32];
  sqlite3_busy_timeout(db->h, busy_timeout_ms);
  int rc = pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode);
  if (rc != SQLITE_OK) return fail(db, rc, "journal_mode=WAL", err, cap);
  if (strcmp(mode, "wal") != 0) {
    snprintf(err, cap, "journal_mode=WAL refused (mode is '%s')", mode);
    return SQLITE_ERROR;
  }
  rc = rt_db_exec(db, "PRAGMA synchronous=FULL");
  if (rc == SQLITE_OK) rc = rt_db_exec(db, "PRAGMA foreign_keys=ON");
  return rc == SQLITE_OK ? rc : fail(db, rc, "pragmas", err, cap);
}

static int migrate(rt_db *db, char *err, size_t cap) {
  char buf[32];
  const rt_db_schema *s = db->schema;
  int rc = pragma_text(db, "PRAGMA user_version", buf, sizeof buf);
  int version = rc == SQLITE_OK ? atoi(buf) : 0;
  if (rc != SQLITE_OK) return fail(db, rc, "user_version", err, cap);
  if (version > (int)s->n_migrations) {
    snprintf(err, cap, "database schema v%d is newer than this %s (v%zu): refusing to downgrade it",
             version, s->program, s->n_migrations);
    return SQLITE_ERROR;
  }
  for (; version < (int)s->n_migrations; version++) {
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version=%d", version + 1);
    rc = rt_db_exec(db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) rc = rt_db_exec(db, s->migrations[version]);
    if (rc == SQLITE_OK) rc = rt_db_exec(db, bump);
    if (rc == SQLITE_OK) rc = rt_db_exec(db, "COMMIT");
    if (rc != SQLITE_OK) {
      char what[48];
      snprintf(what, sizeof what, "migration to v%d", version + 1);
      fail(db, rc, what, err, cap);
      if (!sqlite3_get_autocommit(db->h)) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
  }
  return SQLITE_OK;
}

int rt_db_open_with(rt_db *db, const rt_db_schema *schema, const char *path,
                    const rt_db_open_opts *o, char *err, size_t cap) {
  memset(db, 0, sizeof *db);
  db->schema = schema;
  db->st = calloc(schema->n_sql ? schema->n_sql : 1, sizeof *db->st);
  if (!db->st) {
    snprintf(err, cap, "%s: out of memory", path);
    return SQLITE_NOMEM;
  }
  /* NOMUTEX: a connection is only ever used by its one loop thread, so
   * SQLite's per-call mutexes are pure cost (~15% of HQ's ingest). */
  int rc = sqlite3_open_v2(path, &db->h,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) fail(db, rc, path, err, cap);
  if (rc == SQLITE_OK) sqlite3_extended_result_codes(db->h, 1);
  if (rc == SQLITE_OK && o->first_sql && (rc = rt_db_exec(db, o->first_sql)) != SQLITE_OK)
    fail(db, rc, o->first_sql, err, cap);
  if (rc == SQLITE_OK) rc = verify(db, path, o->recovery, err, cap);
  if (rc == SQLITE_OK) rc = pragmas(db, o->busy_timeout_ms, err, cap);
  if (rc == SQLITE_OK) rc = migrate(db, err, cap);
  if (rc != SQLITE_OK) rt_db_close(db);
  return rc;
}

int rt_db_open(rt_db *db, const rt_db_schema *schema, const char *path, int busy_timeout_ms,
               char *err, size_t cap) {
  const rt_db_open_opts o = {.busy_timeout_ms = busy_timeout_ms};
  return rt_db_open_with(db, schema, path, &o, err, cap);
}

void rt_db_close(rt_db *db) {
  if (!db) return;
  for (size_t i = 0; db->st && i < db->schema->n_sql; i++) sqlite3_finalize(db->st[i]);
  free(db->st);
  sqlite3_close(db->h);
  memset(db, 0, sizeof *db);
}
