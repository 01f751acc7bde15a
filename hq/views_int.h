/* hq/views_int.h - private to the views (views*.c): the handle, the
 * statements, and the helpers the view files share (hq__v* names).
 */
#ifndef HQ_VIEWS_INT_H
#define HQ_VIEWS_INT_H

#include <sqlite3.h>

#include "views.h"

#define HQ__DAY_MS INT64_C(86400000)
#define HQ__HOUR_MS INT64_C(3600000)

#define HQ__SUM_COLS                                                                     \
  "store,kind,status,dispatched_ms,open,cancelled_ms,handoff_ms,total,conflict,resolved"

/* X(ID, SQL).  ?-parameters are documented next to each use. */
#define HQ_VIEW_SQL_MAP(X)                                                                      \
  X(STORES, "SELECT id,name,online,paused FROM stores WHERE ?1='' OR id=?1 ORDER BY id")        \
  X(STORE_NAME, "SELECT name FROM stores WHERE id=?1")                                          \
  /* summary: ?1 today start, ?2 yesterday start, ?3 store filter.  The rows are three      */ \
  /* disjoint, indexed sets: recent dispatches (covering index orders_day, which holds    */ \
  /* dispatched_ms>0 only, so every query on it says so; yesterday's                       */ \
  /* only if they still count today), older open orders, older conflicts.  One row per     */ \
  /* order, its 0/1 flags added up in C: cheaper than GROUP BY's sort at chain scale.       */ \
  X(SUMMARY, "SELECT store,kind,status,"                                                        \
             "dispatched_ms>=?1,dispatched_ms>=?1 OR open=1,open,"                              \
             "dispatched_ms>=?1 AND cancelled_ms>0,"                                            \
             "handoff_ms>=?1 AND cancelled_ms=0,"                                               \
             "CASE WHEN handoff_ms>=?1 AND cancelled_ms=0 THEN total ELSE 0 END,"               \
             "conflict=1 AND resolved=0 FROM ("                                                 \
             "SELECT " HQ__SUM_COLS " FROM orders WHERE dispatched_ms>0 AND dispatched_ms>=?2 "   \
             "AND (dispatched_ms>=?1"                                                           \
             " OR handoff_ms>=?1 OR open=1 OR conflict=1) UNION ALL "                           \
             "SELECT " HQ__SUM_COLS " FROM orders WHERE open=1 AND +dispatched_ms<?2 UNION ALL " \
             "SELECT " HQ__SUM_COLS " FROM orders WHERE conflict=1 AND open=0 AND +dispatched_ms<?2"\
             ") WHERE ?3='' OR store=?3")                                                       \
  /* hourly: ?1 bucket origin (yesterday's local midnight), ?2 store filter */                  \
  X(HOURLY_IN, "SELECT (dispatched_ms-?1)/3600000,COUNT(*) FROM orders "                        \
               "WHERE dispatched_ms>0 AND dispatched_ms>=?1 AND (?2='' OR store=?2) GROUP BY 1") \
  X(HOURLY_OUT, "SELECT (handoff_ms-?1)/3600000,COUNT(*),SUM(total) FROM orders "               \
                "WHERE dispatched_ms>0 AND dispatched_ms>=?1 AND handoff_ms>=?1 "               \
                "AND cancelled_ms=0 "                                                           \
                "AND (?2='' OR store=?2) GROUP BY 1")                                           \
  /* SLA: orders dispatched since ?1, grouped by store in C */                                  \
  X(SLA, "SELECT store,kind,dispatched_ms,accepted_ms,ready_ms,rider_arrived_ms,handoff_ms "    \
         "FROM orders WHERE dispatched_ms>0 AND dispatched_ms>=?1 AND (?2='' OR store=?2) "       \
         "ORDER BY +store")                                                                     \
  X(SETTINGS, "SELECT state FROM settings WHERE store=?1")                                      \
  /* stock: every (store, sku) with a catalog entry or a stock row */                           \
  X(STOCK, "WITH k AS (SELECT store,sku FROM sku UNION SELECT store,sku FROM stock),"           \
           "r AS (SELECT store,sku,SUM(qty) q FROM order_items "                                \
           "WHERE open=1 AND unavailable=0 AND reserving=1 GROUP BY store,sku) "                \
           "SELECT k.sku,k.store,s.state,t.on_hand,COALESCE(r.q,0) FROM k "                     \
           "LEFT JOIN sku s ON s.store=k.store AND s.sku=k.sku "                                \
           "LEFT JOIN stock t ON t.store=k.store AND t.sku=k.sku "                              \
           "LEFT JOIN r ON r.store=k.store AND r.sku=k.sku "                                    \
           "WHERE (?1='' OR k.store=?1) AND (?2='' OR k.sku=?2) ORDER BY k.sku,k.store")        \
  /* fleet */                                                                                   \
  X(FLEET, "SELECT id,name,online,last_seen_ms,hb_ms,version,uptime_s,outbox_depth,"            \
           "last_acked_seq,last_seq,rss_kb,tablets,orders_open,hb_ts_ms,up_seq,down_seq,"       \
           "down_acked,(SELECT received_ms FROM log.events e WHERE e.origin=stores.id "             \
           "ORDER BY seq DESC LIMIT 1) FROM stores WHERE ?1='' OR id=?1")                       \
  /* conflicts: oldest cancellation first */                                                    \
  X(CONFLICTS, "SELECT c.store,c.order_id,c.kind,c.status,c.total,c.dispatched_ms,"             \
               "c.cancelled_ms,c.handoff_ms,o.state,COALESCE(s.name,'') FROM conflicts c "      \
               "JOIN orders o ON o.store=c.store AND o.order_id=c.order_id "                    \
               "LEFT JOIN stores s ON s.id=c.store WHERE ?1='' OR c.store=?1 "                  \
               "ORDER BY c.cancelled_ms,c.store,c.order_id")

typedef enum {
#define HQ__VQ_ENUM(id, sql) HQ_VQ_##id,
  HQ_VIEW_SQL_MAP(HQ__VQ_ENUM)
#undef HQ__VQ_ENUM
  HQ_VQ__COUNT
} hq__vq;

struct hq_views {
  sqlite3 *db;
  hq_views_opts o;
  sqlite3_stmt *st[HQ_VQ__COUNT];  /* prepared on first use */
};

/* ---- views.c ------------------------------------------------------------------ */
/* Start a view: the window for q, BEGIN (the read snapshot), and the store
 * filter checked (HQ_ENOTFOUND).  On failure no transaction is left open. */
int hq__v_begin(hq_views *v, const hq_view_query *q, hq_view_window *w, hq_err *err);
/* End the read transaction; returns rc (or the COMMIT's error if rc was OK). */
int hq__v_end(hq_views *v, int rc, hq_err *err);
/* The cached statement q, reset, with parameters bound by fmt as in
 * rt/db.h ("t" text, "i" int64_t).  NULL with err set on failure. */
sqlite3_stmt *hq__v_stmt(hq_views *v, hq__vq q, hq_err *err, const char *fmt, ...);
/* SQLite code -> hq code on err; returns the hq code. */
int hq__v_dberr(hq_views *v, int rc, const char *what, hq_err *err);
/* Step loop helper: SQLITE_ROW -> true; DONE or error -> false, *rc set
 * (HQ_OK on DONE).  Resets the statement when done. */
bool hq__v_row(hq_views *v, sqlite3_stmt *st, int *rc, const char *what, hq_err *err);
/* Column text copied into dst (cap bytes, NUL-terminated, "" for NULL). */
void hq__v_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
uint64_t hq__v_u64(sqlite3_stmt *st, int col);  /* negative/NULL -> 0 */
/* The query's limit resolved (default, cap). */
size_t hq__v_limit(const hq_view_query *q);
/* Grow an array of elem-sized items to hold need; -1 when out of memory. */
int hq__v_grow(void **p, size_t *cap, size_t need, size_t elem);
/* Store name of id into dst ("" when unknown). */
int hq__v_store_name(hq_views *v, const char *id, char *dst, size_t cap, hq_err *err);

#endif
