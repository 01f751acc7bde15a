/* debug.c - read-only endpoints for tests, served only with the config key
 * `debug_endpoints = true` (404 otherwise, as if they did not exist).
 *
 *   GET /api/v1/debug/statehash?store=<id>
 *       {"store","hash","orders","skus","orders_hash","skus_hash",
 *        "settings_hash"}: the digest of HQ's copy of the store's state
 *       (proto/statehash.h), the same one the store's `GET /debug/statehash`
 *       computes over its own rows; equal digests = converged replicas.
 *
 * Reads go through a read-only SQLite connection of their own, opened per
 * request: they see committed state only (what HQ has acknowledged) and
 * never touch the core's connection or its open ingest transaction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "jw.h"
#include "proto/statehash.h"
#include "rt/db.h"
#include "server.h"

static const char *const sql_orders = "SELECT state FROM orders WHERE store=?1";
/* Every SKU with a register row or a stock row, each with both (NULL: none). */
static const char *const sql_skus =
    "SELECT k.sku,(SELECT state FROM sku WHERE store=?1 AND sku=k.sku),"
    "(SELECT state FROM stock WHERE store=?1 AND sku=k.sku) "
    "FROM (SELECT sku FROM stock WHERE store=?1 UNION SELECT sku FROM sku WHERE store=?1) k";
static const char *const sql_settings = "SELECT state FROM settings WHERE store=?1";
static const char *const sql_known = "SELECT 1 FROM stores WHERE id=?1";

typedef struct sh_ctx {
  proto_state_hash h;
  const char *store;
  int rows;                        /* sql_known: rows seen */
} sh_ctx;

/* Unpack column col into out (size n); false if NULL or not a state of that size. */
static bool unpack(sqlite3_stmt *st, int col, void *out, size_t n) {
  const void *b = sqlite3_column_blob(st, col);
  return b && rt_db_unpack(b, (size_t)sqlite3_column_bytes(st, col), out, n) == 0;
}

typedef int (*row_fn)(sh_ctx *c, sqlite3_stmt *st, hq_err *err);

static int row_order(sh_ctx *c, sqlite3_stmt *st, hq_err *err) {
  proto_order o;
  if (!unpack(st, 0, &o, sizeof o)) return hq_err_set(err, HQ_ECORRUPT, "orders: bad state blob");
  proto_state_hash_order(&c->h, &o);
  return HQ_OK;
}

static int row_sku(sh_ctx *c, sqlite3_stmt *st, hq_err *err) {
  proto_sku s;
  proto_stock k;
  const char *sku = (const char *)sqlite3_column_text(st, 0);
  bool has_sku = sqlite3_column_type(st, 1) != SQLITE_NULL;
  bool has_stock = sqlite3_column_type(st, 2) != SQLITE_NULL;
  if (!sku || (has_sku && !unpack(st, 1, &s, sizeof s)) ||
      (has_stock && !unpack(st, 2, &k, sizeof k)))
    return hq_err_set(err, HQ_ECORRUPT, "sku/stock: bad state blob");
  if (!has_sku) proto_sku_init(&s, sku);
  proto_state_hash_sku(&c->h, &s, has_stock ? proto_stock_on_hand(&k) : 0);
  return HQ_OK;
}

static int row_settings(sh_ctx *c, sqlite3_stmt *st, hq_err *err) {
  proto_settings s;
  if (!unpack(st, 0, &s, sizeof s)) return hq_err_set(err, HQ_ECORRUPT, "settings: bad state blob");
  proto_state_hash_settings(&c->h, &s);
  c->rows++;
  return HQ_OK;
}

static int row_count(sh_ctx *c, sqlite3_stmt *st, hq_err *err) {
  (void)st;
  (void)err;
  c->rows++;
  return HQ_OK;
}

/* Run sql with ?1 = the store, fn per row. */
static int each(sqlite3 *db, const char *sql, sh_ctx *c, row_fn fn, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  int rc = HQ_OK;
  if (src == SQLITE_OK) src = sqlite3_bind_text(st, 1, c->store, -1, SQLITE_STATIC);
  while (src == SQLITE_OK && rc == HQ_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    rc = fn(c, st, err);
    src = SQLITE_OK;
  }
  if (rc == HQ_OK && src != SQLITE_OK && src != SQLITE_DONE)
    rc = hq_err_set(err, HQ_EDB, "statehash: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

static int hash_store(const hq_config *cfg, sh_ctx *c, hq_err *err) {
  sqlite3 *db = NULL;
  int rc = HQ_OK;
  if (sqlite3_open_v2(cfg->db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    rc = hq_err_set(err, HQ_EDB, "statehash: cannot open %s: %s", cfg->db_path,
                    db ? sqlite3_errmsg(db) : "out of memory");
  if (rc == HQ_OK) sqlite3_busy_timeout(db, (int)cfg->busy_timeout_ms);
  if (rc == HQ_OK) rc = each(db, sql_known, c, row_count, err);
  if (rc == HQ_OK && c->rows == 0) rc = hq_err_set(err, HQ_ENOTFOUND, "no store '%s'", c->store);
  if (rc == HQ_OK) rc = each(db, sql_orders, c, row_order, err);
  if (rc == HQ_OK) rc = each(db, sql_skus, c, row_sku, err);
  c->rows = 0;
  if (rc == HQ_OK) rc = each(db, sql_settings, c, row_settings, err);
  if (rc == HQ_OK && c->rows == 0) { /* never written: the defaults, as at the box */
    proto_settings s;
    proto_settings_init(&s, c->store);
    proto_state_hash_settings(&c->h, &s);
  }
  sqlite3_close(db);
  return rc;
}

static void hex(jw *w, const char *key, uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  jw_str(w, key, buf);
}

static int statehash(hq_server *s, hq_req *r, hq_err *err) {
  char store[PROTO_ID_MAX];
  sh_ctx c;
  jw w;
  if (!s->cfg->debug_endpoints) return hq_err_set(err, HQ_ENOTFOUND, "no such endpoint");
  if (!hq_req_arg(r, "store", store, sizeof store) || !proto_id_valid(store))
    return hq_err_field(err, HQ_EINVAL, "store", "store: an id [A-Za-z0-9_.:-]{1,63} is required");
  memset(&c, 0, sizeof c);
  proto_state_hash_init(&c.h);
  c.store = store;
  int rc = hash_store(s->cfg, &c, err);
  if (rc != HQ_OK) return rc;
  jw_init(&w, &r->out);
  jw_obj(&w, NULL);
  jw_str(&w, "store", store);
  hex(&w, "hash", proto_state_hash_value(&c.h, PROTO_SH__COUNT));
  jw_u64(&w, "orders", c.h.n[PROTO_SH_ORDERS]);
  jw_u64(&w, "skus", c.h.n[PROTO_SH_SKUS]);
  hex(&w, "orders_hash", proto_state_hash_value(&c.h, PROTO_SH_ORDERS));
  hex(&w, "skus_hash", proto_state_hash_value(&c.h, PROTO_SH_SKUS));
  hex(&w, "settings_hash", proto_state_hash_value(&c.h, PROTO_SH_SETTINGS));
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, "out of memory");
}

static const hq_route routes[] = {
    {LWSHUMETH_GET, "/api/v1/debug/statehash", statehash, HQ_SCOPE(READ) | HQ_SCOPE(ADMIN)},
};

const hq_route_table hq_debug_routes = {routes, sizeof routes / sizeof routes[0]};
