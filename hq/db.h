/* hq/db.h - hq's statements (one table, prepared once on first use) and the
 * mapping of SQLite codes to hq codes.  The schema and what every table
 * means: top of schema.c.  Open/verify/migrate, binding and state BLOBs are
 * the shared conventions of rt/db.h.  Private to hq_core.
 */
#ifndef HQ_DB_H
#define HQ_DB_H

#include "error.h"
#include "rt/db.h"

/* X(ID, SQL) */
#define HQ_SQL_MAP(X)                                                                          \
  X(META_GET, "SELECT value FROM meta WHERE key=?1")                                          \
  /* one savepoint per message or command (core.c), prepared once */                          \
  X(SP_BEGIN, "SAVEPOINT m")                                                                   \
  X(SP_RELEASE, "RELEASE m")                                                                   \
  X(META_SET, "INSERT INTO meta(key,value) VALUES(?1,?2) "                                    \
              "ON CONFLICT(key) DO UPDATE SET value=excluded.value")                          \
  /* the event log */                                                                          \
  X(EV_INSERT, "INSERT OR IGNORE INTO events(origin,seq,hlc,store,type,target,key,json,"      \
               "received_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")                             \
  X(EV_COUNT, "SELECT COUNT(*),COALESCE(MAX(seq),0) FROM events WHERE origin=?1")             \
  X(EV_SEQS, "SELECT seq FROM events WHERE origin=?1 ORDER BY seq")                           \
  X(EV_RANGE, "SELECT seq,json FROM events WHERE origin=?1 AND seq>?2 AND seq<=?3 "           \
              "ORDER BY seq")                                                                  \
  X(EV_ALL, "SELECT json FROM events ORDER BY id")                                            \
  /* the boxes' events from before the store log (hq/log.h): moved out once */                  \
  X(EV_BOX_COUNT, "SELECT COUNT(*) FROM events WHERE origin NOT LIKE 'hq:%'")                   \
  X(EV_BOX_DEL, "DELETE FROM events WHERE origin NOT LIKE 'hq:%'")                              \
  /* orders */                                                                                 \
  X(ORDER_LOAD, "SELECT state FROM orders WHERE store=?1 AND order_id=?2")                    \
  X(ORDER_SAVE, "INSERT INTO orders(store,order_id,status,kind,open,reserving,conflict,"      \
                "resolved,waste,total,dispatched_ms,accepted_ms,ready_ms,rider_arrived_ms,"   \
                "handoff_ms,delivered_ms,cancelled_ms,ended_ms,updated_ms,state) VALUES(?1,"  \
                "?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20) "       \
                "ON CONFLICT(store,order_id) DO UPDATE SET status=excluded.status,"           \
                "kind=excluded.kind,open=excluded.open,reserving=excluded.reserving,"         \
                "conflict=excluded.conflict,resolved=excluded.resolved,waste=excluded.waste," \
                "total=excluded.total,dispatched_ms=excluded.dispatched_ms,"                  \
                "accepted_ms=excluded.accepted_ms,ready_ms=excluded.ready_ms,"                \
                "rider_arrived_ms=excluded.rider_arrived_ms,handoff_ms=excluded.handoff_ms,"  \
                "delivered_ms=excluded.delivered_ms,cancelled_ms=excluded.cancelled_ms,"      \
                "ended_ms=excluded.ended_ms,updated_ms=excluded.updated_ms,"                  \
                "state=excluded.state")                                                        \
  X(ITEMS_DEL, "DELETE FROM order_items WHERE store=?1 AND order_id=?2")                      \
  X(ITEM_INS, "INSERT INTO order_items(store,order_id,line,sku,qty,price,unavailable,open,"   \
              "reserving) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")                                \
  X(ORDER_FIND, "SELECT store,state FROM orders WHERE order_id=?1 "                           \
                "ORDER BY dispatched_ms=0,dispatched_ms DESC LIMIT 1")                        \
  X(ORDERS_OPEN, "SELECT COUNT(*) FROM orders WHERE store=?1 AND open=1")                     \
  X(ORDERS_OPEN_BY_STATUS, "SELECT status,COUNT(*) FROM orders WHERE open=1 GROUP BY status") \
  X(CONFLICTS_COUNT, "SELECT COUNT(*) FROM conflicts")                                        \
  /* stock and SKUs */                                                                         \
  X(STOCK_LOAD, "SELECT state FROM stock WHERE store=?1 AND sku=?2")                          \
  X(STOCK_SAVE, "INSERT INTO stock(store,sku,on_hand,state) VALUES(?1,?2,?3,?4) "             \
                "ON CONFLICT(store,sku) DO UPDATE SET on_hand=excluded.on_hand,"              \
                "state=excluded.state")                                                        \
  X(DELTA_INS, "INSERT OR IGNORE INTO deltas(store,sku,origin,seq,delta,reason,ref) "         \
               "VALUES(?1,?2,?3,?4,?5,?6,?7)")                                                \
  X(DELTAS_OF, "SELECT origin,seq,delta FROM deltas WHERE store=?1 AND sku=?2")               \
  X(SKU_LOAD, "SELECT state FROM sku WHERE store=?1 AND sku=?2")                              \
  X(SKU_SAVE, "INSERT INTO sku(store,sku,sold_out,active,price,low_threshold,name,state) "    \
              "VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(store,sku) DO UPDATE SET "         \
              "sold_out=excluded.sold_out,active=excluded.active,price=excluded.price,"       \
              "low_threshold=excluded.low_threshold,name=excluded.name,state=excluded.state") \
  /* routing: one SKU at one store: catalog flags, stock (NULL = not tracked),   */           \
  /* units committed to open orders                                              */           \
  X(SKU_ROUTE, "SELECT s.sold_out,s.active,s.price,s.name,"                                   \
               "(SELECT on_hand FROM stock t WHERE t.store=?1 AND t.sku=?2),"                 \
               "(SELECT COALESCE(SUM(qty),0) FROM order_items i WHERE i.store=?1 AND "        \
               "i.sku=?2 AND i.open=1 AND i.unavailable=0) FROM sku s "                      \
               "WHERE s.store=?1 AND s.sku=?2")                                               \
  X(SET_LOAD, "SELECT state FROM settings WHERE store=?1")                                    \
  X(SET_SAVE, "INSERT INTO settings(store,state) VALUES(?1,?2) "                              \
              "ON CONFLICT(store) DO UPDATE SET state=excluded.state")                        \
  /* stores */                                                                                 \
  X(STORE_ENSURE, "INSERT OR IGNORE INTO stores(id,created_ms) VALUES(?1,?2)")                \
  X(STORE_SETTINGS, "UPDATE stores SET name=?2,lat_e6=?3,lon_e6=?4,located=?5,open_min=?6,"   \
                    "close_min=?7,paused=?8,radius_m=?9 WHERE id=?1")                         \
  /* status_ms: when online last changed (the RHS sees the old online) */                      \
  X(STORE_SEEN, "UPDATE stores SET last_seen_ms=MAX(last_seen_ms,?2),online=?3,"              \
                "status_ms=CASE WHEN online=?3 THEN status_ms ELSE ?4 END WHERE id=?1")        \
  X(STORE_HB, "UPDATE stores SET hb_ms=?2,version=?3,uptime_s=?4,outbox_depth=?5,"            \
              "last_acked_seq=?6,last_seq=?7,rss_kb=?8,tablets=?9,orders_open=?10,"           \
              "hb_ts_ms=?11,hb_hlc=?12 WHERE id=?1")                                          \
  X(STORE_REPL, "UPDATE stores SET up_seq=?2,down_seq=?3,down_acked=?4 WHERE id=?1")          \
  X(STORES_ALL, "SELECT id,down_acked,online,last_seen_ms,status_ms FROM stores ORDER BY id") \
  X(STORES_IDS, "SELECT id FROM stores ORDER BY id")                                          \
  X(STORE_GET, "SELECT id,name,lat_e6,lon_e6,located,open_min,close_min,paused,radius_m,"     \
               "created_ms,last_seen_ms,online,status_ms,hb_ms,version,uptime_s,"             \
               "outbox_depth,last_acked_seq,last_seq,rss_kb,tablets,orders_open,hb_ts_ms,"    \
               "up_seq,down_seq,down_acked FROM stores WHERE id=?1")                          \
  X(STORES_LIST, "SELECT id,name,lat_e6,lon_e6,located,open_min,close_min,paused,radius_m,"   \
                 "created_ms,last_seen_ms,online,status_ms FROM stores ORDER BY id")          \
  X(STORES_NEAR, "SELECT id,lat_e6,lon_e6,radius_m,open_min,close_min,paused FROM stores "    \
                 "WHERE located=1 AND lat_e6 BETWEEN ?1 AND ?2 AND lon_e6 BETWEEN ?3 AND ?4") \
  X(STORES_MAX_RADIUS, "SELECT COALESCE(MAX(radius_m),0) FROM stores WHERE located=1")        \
  X(STORES_COUNT, "SELECT COUNT(*),COALESCE(SUM(online),0) FROM stores")                      \
  /* intake idempotency */                                                                     \
  X(INTAKE_GET, "SELECT req_hash,status,response FROM intake WHERE idem_key=?1")              \
  X(INTAKE_PUT, "INSERT INTO intake(idem_key,req_hash,status,response,order_id,created_ms) "  \
                "VALUES(?1,?2,?3,?4,?5,?6)")                                                  \
  X(INTAKE_PRUNE, "DELETE FROM intake WHERE created_ms<?1")                                   \
  /* transfers */                                                                              \
  X(XFER_PUT, "INSERT INTO transfers(id,from_store,to_store,sku,qty,created_ms,out_seq) "     \
              "VALUES(?1,?2,?3,?4,?5,?6,?7)")                                                 \
  X(XFER_GET, "SELECT from_store,to_store,sku,qty,created_ms,out_seq,received_ms,"            \
              "received_qty FROM transfers WHERE id=?1")                                      \
  X(XFER_RECEIVED, "UPDATE transfers SET received_ms=CASE WHEN received_ms=0 THEN ?3 "        \
                   "ELSE received_ms END,received_qty=received_qty+?4 "                       \
                   "WHERE id=?1 AND to_store=?2 AND sku=?5")

typedef enum {
#define HQ__Q_ENUM(id, sql) HQ_Q_##id,
  HQ_SQL_MAP(HQ__Q_ENUM)
#undef HQ__Q_ENUM
  HQ_Q__COUNT
} hq_q;

/* The schema: migrations and the statement texts (schema.c). */
const rt_db_schema *hq__schema(void);

/* SQLite result code -> hq code on err (NULL fine); `what` names the
 * operation.  Returns the hq code (HQ_OK for SQLITE_OK/ROW/DONE). */
int hq__db_err(const rt_db *db, int rc, const char *what, hq_err *err);

#endif
