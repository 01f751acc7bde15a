/* node/db.h - the engine's statements (one table, prepared once on first
 * use), its schema, and node_err forms of the shared SQLite conventions of
 * rt/db.h (open/verify/migrate, statement cache, binding, state BLOBs): the
 * mapping of SQLite result codes to node error codes.  Private to node_core.
 */
#ifndef NODE_DB_H
#define NODE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proto/buf.h"
#include "rt/db.h"

/* Every statement the engine runs, prepared once (SQLITE_PREPARE_PERSISTENT)
 * on first use.  X(ID, SQL). */
#define NODE_SQL_MAP(X)                                                                        \
  /* meta */                                                                                   \
  X(META_GET, "SELECT value FROM meta WHERE key=?1")                                          \
  X(META_SET, "INSERT INTO meta(key,value) VALUES(?1,?2) "                                    \
              "ON CONFLICT(key) DO UPDATE SET value=excluded.value")                          \
  /* the event log */                                                                          \
  X(EV_INSERT, "INSERT OR IGNORE INTO events(origin,seq,hlc,type,target,key,json) "           \
               "VALUES(?1,?2,?3,?4,?5,?6,?7)")                                                \
  X(EV_HAS, "SELECT 1 FROM events WHERE origin=?1 AND seq=?2")                                \
  X(EV_MAX_SEQ, "SELECT COALESCE(MAX(seq),0) FROM events WHERE origin=?1")                    \
  X(EV_HLC_OF, "SELECT COALESCE(MAX(hlc),0) FROM events WHERE origin=?1 AND seq=?2")          \
  X(EV_MAX_FEED, "SELECT COALESCE(MAX(feed),0) FROM events")                                  \
  X(EV_ALL, "SELECT json FROM events ORDER BY feed")                                          \
  X(EV_IDS, "SELECT origin,seq FROM events")                                                  \
  X(EV_OUTBOX, "SELECT json FROM events WHERE origin=?1 AND seq>?2 AND feed<=?3 "             \
               "ORDER BY seq LIMIT ?4")                                                        \
  X(EV_CHANGES, "SELECT DISTINCT target,key FROM events WHERE feed>?1 AND feed<=?2")          \
  /* materialised state */                                                                     \
  X(ORDER_LOAD, "SELECT state FROM orders WHERE order_id=?1")                                 \
  X(ORDER_SAVE, "INSERT INTO orders(order_id,status,kind,reserving,conflict,waste,"           \
                "dispatched_ms,ended_ms,state) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) "           \
                "ON CONFLICT(order_id) DO UPDATE SET status=excluded.status,"                 \
                "kind=excluded.kind,reserving=excluded.reserving,conflict=excluded.conflict," \
                "waste=excluded.waste,dispatched_ms=excluded.dispatched_ms,"                  \
                "ended_ms=excluded.ended_ms,state=excluded.state")                            \
  X(ITEMS_DEL, "DELETE FROM order_items WHERE order_id=?1")                                   \
  X(ITEM_INS, "INSERT INTO order_items(order_id,line,sku,qty,unavailable,reserving) "         \
              "VALUES(?1,?2,?3,?4,?5,?6)")                                                     \
  X(ORDERS_BOARD, "SELECT state FROM orders WHERE dispatched_ms>0 "                           \
                  "AND (ended_ms=0 OR ended_ms>=?1) "                                         \
                  "ORDER BY dispatched_ms,order_id")                                           \
  X(ORDERS_DUE, "SELECT order_id FROM orders WHERE status=?1 AND dispatched_ms>0 "            \
                "AND dispatched_ms<=?2 ORDER BY dispatched_ms LIMIT ?3")                      \
  X(ORDERS_BY_STATUS, "SELECT status,COUNT(*) FROM orders GROUP BY status")                   \
  X(STOCK_LOAD, "SELECT state FROM stock WHERE sku=?1")                                       \
  X(STOCK_SAVE, "INSERT INTO stock(sku,on_hand,state) VALUES(?1,?2,?3) "                      \
                "ON CONFLICT(sku) DO UPDATE SET on_hand=excluded.on_hand,state=excluded.state") \
  X(DELTA_INS, "INSERT OR IGNORE INTO deltas(sku,origin,seq,delta,reason,ref) "               \
               "VALUES(?1,?2,?3,?4,?5,?6)")                                                   \
  X(DELTAS_OF, "SELECT origin,seq,delta FROM deltas WHERE sku=?1")                            \
  X(DELTA_SEEN, "SELECT origin,MAX(seq) FROM deltas WHERE sku=?1 GROUP BY origin "            \
                "ORDER BY origin")                                                             \
  X(DELTA_REF, "SELECT 1 FROM deltas WHERE sku=?1 AND origin=?2 AND reason=?3 AND ref=?4")    \
  X(RESERVED, "SELECT COALESCE(SUM(qty),0) FROM order_items "                                 \
              "WHERE sku=?1 AND reserving=1 AND unavailable=0")                                \
  X(SKU_LOAD, "SELECT state FROM sku WHERE sku=?1")                                           \
  X(SKU_SAVE, "INSERT INTO sku(sku,state) VALUES(?1,?2) "                                     \
              "ON CONFLICT(sku) DO UPDATE SET state=excluded.state")                          \
  X(SKUS_ALL, "SELECT sku FROM stock UNION SELECT sku FROM sku ORDER BY 1")                   \
  X(SET_LOAD, "SELECT state FROM settings WHERE store=?1")                                    \
  X(SET_SAVE, "INSERT INTO settings(store,state) VALUES(?1,?2) "                              \
              "ON CONFLICT(store) DO UPDATE SET state=excluded.state")                        \
  /* tablet command ids */                                                                     \
  X(CMD_GET, "SELECT result FROM commands WHERE cmd_id=?1")                                   \
  X(CMD_PUT, "INSERT OR REPLACE INTO commands(cmd_id,result,ts) VALUES(?1,?2,?3)")            \
  X(CMD_PRUNE, "DELETE FROM commands WHERE ts<?1")                                            \
  /* staff and sessions */                                                                     \
  X(STAFF_ALL, "SELECT id,name,role,salt,hash,iterations FROM staff ORDER BY id")             \
  X(STAFF_GET, "SELECT id,name,role,salt,hash,iterations FROM staff WHERE id=?1")             \
  X(STAFF_PUT, "INSERT INTO staff(id,name,role,salt,hash,iterations) VALUES(?1,?2,?3,?4,?5,?6) " \
               "ON CONFLICT(id) DO UPDATE SET name=excluded.name,role=excluded.role,"        \
               "salt=excluded.salt,hash=excluded.hash,iterations=excluded.iterations")       \
  X(STAFF_DEL, "DELETE FROM staff WHERE id=?1")                                               \
  X(ATTEMPT_GET, "SELECT failures,locked_until_ms FROM login_attempts WHERE tablet=?1")       \
  X(ATTEMPT_PUT, "INSERT OR REPLACE INTO login_attempts(tablet,failures,locked_until_ms) "    \
                 "VALUES(?1,?2,?3)")                                                          \
  X(ATTEMPT_DEL, "DELETE FROM login_attempts WHERE tablet=?1")                                \
  X(PEER_GET, "SELECT failures,window_start_ms,locked_until_ms FROM login_peers WHERE addr=?1") \
  X(PEER_PUT, "INSERT OR REPLACE INTO login_peers(addr,failures,window_start_ms,"              \
              "locked_until_ms) VALUES(?1,?2,?3,?4)")                                          \
  X(PEER_PRUNE, "DELETE FROM login_peers WHERE locked_until_ms<=?1 AND window_start_ms<=?2")   \
  X(SESSION_PUT, "INSERT INTO sessions(token_hash,staff_id,tablet,created_ms,expires_ms) "    \
                 "VALUES(?1,?2,?3,?4,?5)")                                                    \
  X(SESSION_GET, "SELECT s.staff_id,s.tablet,s.expires_ms,st.name,st.role FROM sessions s "   \
                 "JOIN staff st ON st.id=s.staff_id WHERE s.token_hash=?1")                   \
  X(SESSION_DEL, "DELETE FROM sessions WHERE token_hash=?1")                                  \
  X(SESSION_DEL_STAFF, "DELETE FROM sessions WHERE staff_id=?1")                              \
  X(SESSION_PRUNE, "DELETE FROM sessions WHERE expires_ms<=?1")

typedef enum {
#define NODE__Q_ENUM(id, sql) NODE_Q_##id,
  NODE_SQL_MAP(NODE__Q_ENUM)
#undef NODE__Q_ENUM
  NODE_Q__COUNT
} node_q;

/* The engine's handle: rt/db.h's, with the statements above. */
typedef rt_db node_db;

/* Open path (created if missing), run PRAGMA quick_check (NODE_ECORRUPT on a
 * damaged file), set WAL + synchronous=FULL + foreign_keys + busy_timeout,
 * and apply the forward migrations up to the current schema version.
 * On failure nothing is left open and db is zeroed. */
int node__db_open(node_db *db, const char *path, int busy_timeout_ms, node_err *err);
/* Finalise the statements and close; NULL handle is fine. */
void node__db_close(node_db *db);

/* Map SQLite's rc (and the handle's message) to a node code on err;
 * `what` names the operation.  Returns the node code. */
int node__db_err(const node_db *db, int rc, const char *what, node_err *err);
/* Run SQL text without results (BEGIN, SAVEPOINT, migrations). */
int node__db_exec(node_db *db, const char *sql, node_err *err);

/* rt_db_bind/run/get_i64/get_blob (format letters: rt/db.h) with the result
 * mapped to a node code on err; bind letters that do not fit the statement
 * are NODE_EINVAL. */
int node__db_bind(node_db *db, node_q q, sqlite3_stmt **out, node_err *err, const char *fmt,
                  ...);
/* Bind and step a statement that returns no rows. */
int node__db_run(node_db *db, node_q q, node_err *err, const char *fmt, ...);
/* Bind, step once: *found says whether a row came; its first column is read
 * as an integer into *out (unchanged if no row).  The statement is reset. */
int node__db_get_i64(node_db *db, node_q q, int64_t *out, bool *found, node_err *err,
                     const char *fmt, ...);
/* Same, reading a state BLOB (rt_db_pack format) that must unpack to
 * exactly `size` bytes (NODE_ECORRUPT otherwise). */
int node__db_get_blob(node_db *db, node_q q, void *out, size_t size, bool *found,
                      node_err *err, const char *fmt, ...);

/* rt_db_unpack: NODE_ECORRUPT unless the blob decodes to exactly n bytes. */
int node__unpack(const void *blob, size_t bn, void *out, size_t n, node_err *err);
/* After a caller's own sqlite3_step loop: reset st and map the final rc
 * (SQLITE_DONE and SQLITE_ROW are success). */
int node__db_end(node_db *db, sqlite3_stmt *st, int rc, const char *what, node_err *err);

#endif
