/* bench_commit.c - durable acknowledged commands per second, synchronous=FULL.
 *
 * Question: how many tablet commands per second can the store box make
 * durable (and so acknowledge), and how much does group commit buy over
 * committing every command on its own?
 *
 *   (b) baseline  raw SQLite, WAL, synchronous=FULL: one prepared INSERT of
 *                 one event-sized row per transaction (BEGIN IMMEDIATE,
 *                 INSERT, COMMIT = one fsync per command)         commits/s
 *   (a) engine    node_core, what the server does per stock.receive:
 *                 node_engine_cmd_lookup (replay check), node_stock_adjust
 *                 (event + delta + stock state + sold-out rule, one
 *                 SAVEPOINT), node_engine_cmd_record; node_engine_commit
 *                 after every G commands, G in --groups (default 1, 8, 32,
 *                 256; 256 is the server's group_commit_max)       commands/s
 *
 * Both databases live in the same directory (--dir, default a fresh folder
 * under $TMPDIR or /tmp), each run on fresh files.  The baseline's row is the
 * JSON of a real stock.receive event written by the engine (taken from a
 * warm-up run), so the rows are the same size.  Runs are interleaved
 * (b, a G1, a G8, ... b, a G1, ...) so machine drift hits all; best of --runs.
 *
 * Checked after every run: the engine wrote exactly N local events in
 * ceil(N/G) commits and the SKUs' on-hand sum is N; the raw table holds N
 * rows.  Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

#define MAX_GROUPS 8
#define N_SKUS 40
#define STORE "store-bench"
#define SERVER_GROUP_MAX 256 /* node/config.c group_commit_max default */

typedef struct options {
  uint64_t commands, runs;
  uint64_t groups[MAX_GROUPS];
  size_t n_groups;
  const char *dir, *json;
} options;

typedef struct bench {
  const options *o;
  char dir[512];
  bool made_dir;
  char *row;                 /* baseline row: a real stock.delta event's JSON */
  size_t row_len;
  double best_raw;           /* seconds, best of runs */
  double best_eng[MAX_GROUPS];
} bench;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void db_path(const bench *b, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", b->dir, name);
}

/* Remove a database and its WAL / shm files. */
static void db_remove(const char *path) {
  static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[600];
  for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
    snprintf(p, sizeof p, "%s%s", path, sfx[i]);
    unlink(p);
  }
}

/* ---- (a) the engine ------------------------------------------------------------ */

static void sku_name(char *out, size_t cap, uint64_t i) {
  snprintf(out, cap, "sku-%02u", (unsigned)(i % N_SKUS));
}

/* One stock.receive as the server runs it: replay check, the command, the
 * id recorded in the same batch. */
static int one_command(node_engine *e, uint64_t i, node_err *err) {
  char id[40], sku[16];
  snprintf(id, sizeof id, "tab-bench-%" PRIu64, i);
  sku_name(sku, sizeof sku, i);
  if (node_engine_cmd_lookup(e, id, NULL, 0) == NODE_OK)
    return node_err_set(err, NODE_EINVAL, "command id %s already recorded", id);
  int rc = node_stock_adjust(e, sku, 1, PROTO_STOCK_RECEIVE, NULL, NULL, NULL, "s-bench", err);
  if (rc == NODE_OK) rc = node_engine_cmd_record(e, id, "{}", err);
  return rc;
}

/* The engine wrote what it was asked to, in the commits expected (counted
 * from `before`, the figures right after open). */
static int check_engine(node_engine *e, const node_engine_stats *before, uint64_t n, uint64_t group,
                        node_err *err) {
  node_engine_stats st;
  int64_t sum = 0;
  int rc = node_engine_stats_get(e, &st, err);
  st.commits -= before->commits;
  st.events_local -= before->events_local;
  for (uint64_t k = 0; k < N_SKUS && k < n && rc == NODE_OK; k++) {
    node_stock_view v;
    char sku[16];
    sku_name(sku, sizeof sku, k);
    rc = node_stock_get(e, sku, &v, err);
    if (rc == NODE_OK) sum += v.on_hand;
  }
  if (rc != NODE_OK) return rc;
  if (st.events_local != n || st.commits != (n + group - 1) / group || sum != (int64_t)n)
    return node_err_set(err, NODE_EINVAL,
                        "engine wrote %" PRIu64 " events in %" PRIu64 " commits, on hand %" PRId64
                        "; expected %" PRIu64 " in %" PRIu64 ", %" PRIu64,
                        st.events_local, st.commits, sum, n, (n + group - 1) / group, n);
  return NODE_OK;
}

/* N commands committed every `group`; *secs = their time, commits included.
 * Leaves the database file behind (the caller reads or removes it). */
static int run_engine(const char *path, uint64_t n, uint64_t group, double *secs, node_err *err) {
  node_engine *e = NULL;
  node_engine_opts o = {.db_path = path, .store_id = STORE};
  node_engine_stats before;
  int rc;
  db_remove(path);
  rc = node_engine_open(&e, &o, err);
  if (rc == NODE_OK) rc = node_engine_stats_get(e, &before, err);
  if (rc != NODE_OK) goto done;
  double t0 = now_s();
  for (uint64_t i = 0; i < n && rc == NODE_OK; i++) {
    rc = one_command(e, i, err);
    /* Count commands, not node_engine_pending() (two savepoints each): the
     * server commits at group_commit_max held acks. */
    if (rc == NODE_OK && ((i + 1) % group == 0 || i + 1 == n)) rc = node_engine_commit(e, err);
  }
  *secs = now_s() - t0;
  if (rc == NODE_OK) rc = check_engine(e, &before, n, group, err);
done:
  node_engine_close(e);
  return rc;
}

/* ---- (b) raw SQLite --------------------------------------------------------------- */

static int sql_fail(sqlite3 *db, const char *what, node_err *err) {
  return node_err_set(err, NODE_EDB, "raw sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : "open failed");
}

static int exec1(sqlite3 *db, const char *sql, node_err *err) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? NODE_OK : sql_fail(db, sql, err);
}

/* A copy of the JSON of the engine's last stock.delta: the baseline's row. */
static int sample_row(bench *b, const char *path, node_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = NODE_OK;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT json FROM events WHERE type='stock.delta' ORDER BY feed DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = sql_fail(db, "reading a sample event", err);
    goto done;
  }
  if (sqlite3_step(st) != SQLITE_ROW) {
    rc = node_err_set(err, NODE_EDB, "warm-up wrote no stock.delta event");
    goto done;
  }
  b->row_len = (size_t)sqlite3_column_bytes(st, 0);
  b->row = malloc(b->row_len + 1);
  if (!b->row) {
    rc = node_err_set(err, NODE_ENOMEM, "out of memory");
    goto done;
  }
  memcpy(b->row, sqlite3_column_text(st, 0), b->row_len + 1);
done:
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

/* N single-row transactions, each one fsync.  Table shaped like the
 * engine's log: rowid, (origin, seq) unique, the event's JSON. */
static int run_raw(const bench *b, const char *path, uint64_t n, double *secs, node_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL, *cnt = NULL;
  int rc = NODE_OK;
  db_remove(path);
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    rc = sql_fail(db, "open", err);
    goto done;
  }
  rc = exec1(db, "PRAGMA journal_mode=WAL", err);
  if (rc == NODE_OK) rc = exec1(db, "PRAGMA synchronous=FULL", err);
  if (rc == NODE_OK)
    rc = exec1(db, "CREATE TABLE events(feed INTEGER PRIMARY KEY, origin TEXT NOT NULL, "
                   "seq INTEGER NOT NULL, json TEXT NOT NULL, UNIQUE(origin, seq))", err);
  if (rc == NODE_OK && sqlite3_prepare_v2(db, "INSERT INTO events(origin, seq, json) VALUES(?, ?, ?)", -1,
                                          &ins, NULL) != SQLITE_OK)
    rc = sql_fail(db, "prepare", err);
  if (rc != NODE_OK) goto done;
  double t0 = now_s();
  for (uint64_t i = 0; i < n && rc == NODE_OK; i++) {
    rc = exec1(db, "BEGIN IMMEDIATE", err);
    sqlite3_bind_text(ins, 1, STORE, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, (sqlite3_int64)i + 1);
    sqlite3_bind_text(ins, 3, b->row, (int)b->row_len, SQLITE_STATIC);
    if (rc == NODE_OK && sqlite3_step(ins) != SQLITE_DONE) rc = sql_fail(db, "insert", err);
    sqlite3_reset(ins);
    if (rc == NODE_OK) rc = exec1(db, "COMMIT", err);
  }
  *secs = now_s() - t0;
  if (rc == NODE_OK && (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &cnt, NULL) != SQLITE_OK ||
                        sqlite3_step(cnt) != SQLITE_ROW))
    rc = sql_fail(db, "count", err);
  if (rc == NODE_OK && (uint64_t)sqlite3_column_int64(cnt, 0) != n)
    rc = node_err_set(err, NODE_EDB, "raw table holds %lld rows, expected %" PRIu64,
                      (long long)sqlite3_column_int64(cnt, 0), n);
done:
  sqlite3_finalize(cnt);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rc;
}

/* ---- runs ---------------------------------------------------------------------------- */

static int run_all(bench *b, node_err *err) {
  const options *o = b->o;
  char eng[560], raw[560];
  double secs = 0;
  db_path(b, "engine.db", eng, sizeof eng);
  db_path(b, "raw.db", raw, sizeof raw);
  /* Warm-up: code paths, the file system, and the baseline's row. */
  int rc = run_engine(eng, SERVER_GROUP_MAX, SERVER_GROUP_MAX, &secs, err);
  if (rc == NODE_OK) rc = sample_row(b, eng, err);
  b->best_raw = 1e300;
  for (size_t g = 0; g < o->n_groups; g++) b->best_eng[g] = 1e300;
  for (uint64_t r = 0; r < o->runs && rc == NODE_OK; r++) {
    rc = run_raw(b, raw, o->commands, &secs, err);
    if (rc == NODE_OK && secs < b->best_raw) b->best_raw = secs;
    for (size_t g = 0; g < o->n_groups && rc == NODE_OK; g++) {
      rc = run_engine(eng, o->commands, o->groups[g], &secs, err);
      if (rc == NODE_OK && secs < b->best_eng[g]) b->best_eng[g] = secs;
    }
  }
  db_remove(eng);
  db_remove(raw);
  return rc;
}

/* ---- options and report ------------------------------------------------------------ */

static const char usage[] =
    "usage: bench_commit [--commands N] [--runs N] [--groups G,G,...] [--dir DIR] [--json FILE]\n"
    "  defaults: 5000 commands, best of 5, groups 1,8,32,256, a fresh folder under $TMPDIR\n"
    "  or /tmp (put it on the disk you mean to measure); --json appends one JSON line.\n";

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  if (!s || !*s || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_groups(const char *s, options *o) {
  char buf[128], *save = NULL;
  if (!s || strlen(s) >= sizeof buf) return -1;
  snprintf(buf, sizeof buf, "%s", s);
  o->n_groups = 0;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (o->n_groups == MAX_GROUPS || parse_u64(t, 1, 100000, &o->groups[o->n_groups]) != 0) return -1;
    o->n_groups++;
  }
  return o->n_groups ? 0 : -1;
}

static int parse_options(int argc, char **argv, options *o) {
  *o = (options){.commands = 5000, .runs = 5, .groups = {1, 8, 32, SERVER_GROUP_MAX}, .n_groups = 4};
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = -1;
    if (strcmp(a, "--commands") == 0) bad = parse_u64(v, 1, 10000000, &o->commands);
    else if (strcmp(a, "--runs") == 0) bad = parse_u64(v, 1, 1000, &o->runs);
    else if (strcmp(a, "--groups") == 0) bad = parse_groups(v, o);
    else if (strcmp(a, "--dir") == 0 && v) bad = 0, o->dir = v;
    else if (strcmp(a, "--json") == 0 && v) bad = 0, o->json = v;
    if (bad) {
      fprintf(stderr, "bench_commit: bad argument %s%s%s\n%s", a, v ? " " : "", v ? v : "", usage);
      return -1;
    }
  }
  return 0;
}

/* Index of the server's group size in the sweep, else the largest. */
static size_t headline_group(const options *o) {
  size_t best = 0;
  for (size_t g = 0; g < o->n_groups; g++) {
    if (o->groups[g] == SERVER_GROUP_MAX) return g;
    if (o->groups[g] > o->groups[best]) best = g;
  }
  return best;
}

static void report(const bench *b) {
  const options *o = b->o;
  double raw = (double)o->commands / b->best_raw;
  size_t h = headline_group(o);
  double eng = (double)o->commands / b->best_eng[h];
  printf("  (b) raw SQLite, 1 row per commit   %9.0f commits/s   %7.3f ms/commit   (baseline)\n", raw,
         1e3 / raw);
  for (size_t g = 0; g < o->n_groups; g++) {
    double rate = (double)o->commands / b->best_eng[g];
    printf("  (a) engine, commit every %-6" PRIu64 "   %9.0f commands/s  %7.3f ms/command  ratio %.2f\n",
           o->groups[g], rate, 1e3 / rate, rate / raw);
  }
  printf("  headline: group %" PRIu64 ": %.0f commands/s = %.2f x the raw one-commit-per-command rate\n",
         o->groups[h], eng, eng / raw);
  FILE *f = o->json ? fopen(o->json, "a") : NULL;
  if (o->json && !f) fprintf(stderr, "bench_commit: cannot open %s; figures not written\n", o->json);
  if (!f) return;
  fprintf(f, "{\"bench\":\"storenode_commit\",\"metric\":\"engine_commands_per_s\",\"value\":%.0f,"
             "\"unit\":\"commands/s\",\"group\":%" PRIu64 ",\"baseline_raw_commits_per_s\":%.0f,"
             "\"ratio_vs_raw\":%.3f,\"by_group\":{",
          eng, o->groups[h], raw, eng / raw);
  for (size_t g = 0; g < o->n_groups; g++)
    fprintf(f, "%s\"%" PRIu64 "\":%.0f", g ? "," : "", o->groups[g], (double)o->commands / b->best_eng[g]);
  fprintf(f, "},\"commands\":%" PRIu64 ",\"runs\":%" PRIu64 ",\"row_bytes\":%zu,\"synchronous\":\"FULL\"}\n",
          o->commands, o->runs, b->row_len);
  fclose(f);
}

/* ---- main ---------------------------------------------------------------------------- */

static int make_dir(bench *b, node_err *err) {
  const char *tmp = getenv("TMPDIR");
  if (b->o->dir) {
    snprintf(b->dir, sizeof b->dir, "%s", b->o->dir);
    return NODE_OK;
  }
  snprintf(b->dir, sizeof b->dir, "%s/bench_commit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(b->dir)) return node_err_set(err, NODE_EIO, "mkdtemp %s: %s", b->dir, strerror(errno));
  b->made_dir = true;
  return NODE_OK;
}

int main(int argc, char **argv) {
  options o;
  bench b = {.o = &o};
  node_err err;
  node_err_clear(&err);
  if (parse_options(argc, argv, &o) != 0) return 2;
  int rc = make_dir(&b, &err);
  if (rc == NODE_OK) {
    printf("bench_commit: %" PRIu64 " stock.receive commands per run, best of %" PRIu64
           ", WAL + synchronous=FULL, in %s\n",
           o.commands, o.runs, b.dir);
    rc = run_all(&b, &err);
  }
  if (rc == NODE_OK) report(&b);
  else fprintf(stderr, "bench_commit: FAILED: %s: %s\n", node_err_wire(rc), err.msg);
  if (b.made_dir) rmdir(b.dir);
  free(b.row);
  return rc == NODE_OK ? 0 : 1;
}
