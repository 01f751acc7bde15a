/* rt/db.h - the SQLite conventions of storenode and hq in one place: open +
 * verify + pragmas + forward migrations, a cache of prepared statements
 * indexed by the program's own enum, binding by a format string, the
 * packed state BLOBs with their layout fingerprint, and the stock recount.
 *
 * Every function returns an SQLite result code (SQLITE_OK on success; the
 * step results SQLITE_ROW/SQLITE_DONE are folded into SQLITE_OK where noted)
 * so the program maps codes to its own error enum in one place; the text is
 * sqlite3_errmsg(db->h), or `err` where a function takes one.
 *
 * Threads: a connection belongs to one thread (SQLITE_OPEN_NOMUTEX).
 * Durability: journal_mode=WAL with synchronous=FULL (a COMMIT that returned
 * is on the disk), foreign_keys=ON, busy_timeout for an operator's shell.
 * Schema versions: PRAGMA user_version = number of migrations applied; each
 * step runs in its own transaction with the version bump, so a crash
 * mid-upgrade leaves the previous version; a file newer than the binary is
 * refused.  PRAGMA quick_check runs before anything is written; a damaged
 * file is refused (SQLITE_CORRUPT), never "repaired" silently.
 */
#ifndef RT_DB_H
#define RT_DB_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/stock.h"

typedef struct rt_db_schema {
  const char *program;             /* "hq": named in refusals */
  const char *const *migrations;   /* step i takes user_version i to i + 1 */
  size_t n_migrations;
  const char *const *sql;          /* statement texts by the program's enum */
  size_t n_sql;
} rt_db_schema;

typedef struct rt_db {
  sqlite3 *h;
  const rt_db_schema *schema;
  sqlite3_stmt **st;               /* n_sql cached statements, prepared on first use */
} rt_db;

/* Open path (created if missing), verify, set the pragmas, migrate.  On
 * failure nothing is left open, db is zeroed and err says why. */
int rt_db_open(rt_db *db, const rt_db_schema *schema, const char *path, int busy_timeout_ms,
               char *err, size_t cap);
/* rt_db_open with the knobs a program may need; a zeroed struct is
 * rt_db_open(..., 0, ...). */
typedef struct rt_db_open_opts {
  int busy_timeout_ms;
  const char *first_sql;           /* NULL, or run right after opening, before
                                      quick_check reads the whole file (storenode:
                                      a smaller page cache, docs/performance.md) */
  const char *recovery;            /* why moving a corrupt file aside is safe, for
                                      the refusal; NULL: "see the docs on recovery" */
} rt_db_open_opts;
int rt_db_open_with(rt_db *db, const rt_db_schema *schema, const char *path,
                    const rt_db_open_opts *o, char *err, size_t cap);
/* Finalise the statements and close; a zeroed db is fine. */
void rt_db_close(rt_db *db);
/* Run SQL text without results (BEGIN, SAVEPOINT, ...). */
int rt_db_exec(rt_db *db, const char *sql);

/* Bind arguments by a format string, one letter per parameter:
 *   t  const char *   text (NULL binds NULL)
 *   i  int64_t        integer (pass exactly int64_t: it is read by va_arg)
 *   b  const void *, size_t   blob
 * The statement is reset and its old bindings cleared first; a letter count
 * that does not match the statement is SQLITE_MISUSE. */
int rt_db_bind(rt_db *db, int q, sqlite3_stmt **out, const char *fmt, ...);
/* Bind and step a statement that returns no rows; SQLITE_OK on DONE/ROW. */
int rt_db_run(rt_db *db, int q, const char *fmt, ...);
/* Bind, step once: *found (may be NULL) says whether a row came; its first
 * column is read as an integer into *out (unchanged if no row). */
int rt_db_get_i64(rt_db *db, int q, int64_t *out, bool *found, const char *fmt, ...);
/* Same, reading a packed state BLOB that must unpack to exactly `size`
 * bytes (SQLITE_CORRUPT otherwise). */
int rt_db_get_blob(rt_db *db, int q, void *out, size_t size, bool *found, const char *fmt, ...);
/* After the caller's own sqlite3_step loop: reset st; SQLITE_OK when the
 * final rc was DONE or ROW, else rc. */
int rt_db_end(sqlite3_stmt *st, int rc);
/* va_list forms, for a program's own variadic wrappers (its error mapping).
 * rt_db_vstep binds and steps once: *row (required) says whether the
 * statement stands on a row for the caller to read.  Either way the caller
 * resets *out afterwards (NULL if the statement could not be prepared). */
int rt_db_vbind(rt_db *db, int q, sqlite3_stmt **out, const char *fmt, va_list ap);
int rt_db_vstep(rt_db *db, int q, sqlite3_stmt **out, bool *row, const char *fmt, va_list ap);
/* The SQL text of statement q (for messages). */
const char *rt_db_sql(const rt_db *db, int q);

/* State BLOB encoding: the struct's bytes, each run of zero bytes written as
 * (0x00, run length 1..255).  Fixed-size proto structs are mostly unused
 * array slots, so a 7 KB proto_order packs to a few hundred bytes.
 * rt_db_pack: PROTO_ENOMEM leaves out reset.  rt_db_unpack: 0, or -1 unless
 * the blob decodes to exactly n bytes. */
int rt_db_pack(const void *p, size_t n, proto_buf *out);
int rt_db_unpack(const void *blob, size_t bn, void *out, size_t n);
/* Fingerprint of the packed layout: the proto state structs' sizes and
 * table sizes, mixed with the program's `manual` version (bumped when a
 * struct changes meaning without changing size).  A program keeps it in its
 * meta table; a binary that finds another value replays its log, since the
 * state is a pure function of the set of events.  Never negative. */
int64_t rt_db_state_layout(uint64_t manual);

/* The recount of proto/stock.h: step st, whose rows are (origin, seq, delta)
 * of every delta the program holds for s's SKU, to its end, re-adding each
 * with proto_stock_add_delta() (which skips those the winning count covers).
 * Returns rt_db_end(st, the last step's rc). */
int rt_db_recount(sqlite3_stmt *st, proto_stock *s);

#endif
