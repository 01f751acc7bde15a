/* schema.c - hq's SQLite schema: every table, what writes it, and the
 * forward migrations (PRAGMA user_version = steps applied; rt/db.h).
 *
 * The event logs are the truth: HQ's own events here (`events`), the boxes'
 * in the store log, a file of its own (events_db_path; hq/log.c).  Every
 * other table except the fleet columns of `stores`, `intake` and `transfers`
 * is derived from them and can be rebuilt by replaying both (apply.c, when
 * meta 'layout' changes).
 *
 *   meta(key, value)              'hlc'    highest HLC HQ issued or merged (E2)
 *                                 'layout' state BLOB layout (apply.c)
 *                                 'log_applied' the last store log row id
 *                                          merged here; written in the commit
 *                                          that merged it (log.c, L1)
 *                                 'log_split' set once the boxes' events this
 *                                          file held before the store log
 *                                          moved there (core.c, log_split)
 *   events(id, origin, seq, hlc, store, type, target, key, json, received_ms)
 *       HQ's own events, origin "hq:<store>" (gap-free per store: the down
 *       outbox), UNIQUE(origin, seq): INSERT OR IGNORE is the dedup.  id =
 *       arrival order.  The boxes' events (origin "<store>", accepted only on
 *       that store's topic) are in the store log's table of the same layout;
 *       until 'log_split' they were here too.
 *
 *   Materialised state, per store, via proto_event_merge (state = packed
 *   proto struct; the other columns are derived from it on every save, for
 *   SQL: routing, views, metrics):
 *   orders(store, order_id, status, kind, open, reserving, conflict, resolved,
 *          waste, total, dispatched_ms, accepted_ms, ready_ms, rider_arrived_ms,
 *          handoff_ms, delivered_ms, cancelled_ms, ended_ms, updated_ms, state)
 *       status = proto_milestone of proto_order_status(); *_ms = wall-clock ms
 *       of the first HLC that reached the milestone (0 = not reached);
 *       handoff = first of picked_up/completed/shipped; ended = first of
 *       rejected/cancelled/handoff; open = not ended.  PK(store, order_id);
 *       order ids are HQ's, so one order normally has one row.
 *   order_items(store, order_id, line, sku, qty, price, unavailable, open,
 *          reserving)           one row per line; `open`/`reserving` copy the
 *       order's, so the partial index holds only lines still committed.
 *   stock(store, sku, on_hand, state)       proto_stock (recount protocol)
 *   deltas(store, sku, origin, seq, delta, reason, ref)  every stock.delta,
 *       replayed when a stocktake wins (proto/stock.h)
 *   sku(store, sku, sold_out, active, price, low_threshold, name, state)
 *       proto_sku: catalog entry + availability registers
 *   settings(store, state)                  proto_settings (LWW per field)
 *
 *   Fleet and HQ bookkeeping:
 *   stores(id, name, lat_e6, lon_e6, located, open_min, close_min, paused,
 *          radius_m,                    <- copied from settings on every save
 *          created_ms, last_seen_ms, online, status_ms,       <- MQTT traffic
 *          hb_ms, version, uptime_s, outbox_depth, last_acked_seq, last_seq,
 *          rss_kb, tablets, orders_open, hb_ts_ms, hb_hlc,     <- up/heartbeat
 *          up_seq,       highest gap-free seq of origin <store> HQ holds
 *          down_seq,     highest seq of origin hq:<store> HQ wrote
 *          down_acked)   highest seq of hq:<store> the store acknowledged
 *   intake(idem_key, req_hash, status, response, order_id, created_ms)
 *       order intake idempotency: the first answer (201 or 409) of a key is
 *       replayed to every retry with the same request; pruned after
 *       idempotency_keep_s.
 *   transfers(id, from_store, to_store, sku, qty, created_ms, out_seq,
 *          received_ms, received_qty)   stock transfers ordered at HQ; the
 *       receiving store's transfer_in delta with ref = id marks receipt.
 *   VIEW conflicts      orders cancelled AND handed off, not yet resolved.
 *
 *   Firmware (v2; written by the hq program, hq/rollout_db.c, never derived
 *   from the log):
 *   fw_bundles(version, dir, sha256, size, registered_ms)   bundles verified
 *       at registration (POST /api/v1/firmware)
 *   fw_rollouts(seq, id, version, steps, stage, max_failures, created_ms,
 *          stopped, finished, halted, reason, active, committed, failed)
 *       one row per rollout, oldest first by seq; steps = "25,50,100";
 *       stage indexes it; halted/reason/counts = the last decision
 *   fw_rollout_boxes(rollout, pos, store, offered, offered_ms)  the boxes of
 *       a rollout in request order; offered=1 is committed BEFORE the offer
 *       is published (a restart publishes it again: same offer_id)
 *   fw_reports(store, offer_id, state, installed, json, received_ms)  each
 *       box's newest up/update report (json = the report as received)
 *   fw_secret(id=1, key, created_ms)   the 32-byte HMAC key of the signed
 *       payload URLs; created once, never served nor logged
 *
 * Views for the dashboard read these tables (new handlers, no new writers),
 * and the store log attached read-only as `log` (the fleet's newest event
 * per box: views.c).
 */
#include "db.h"

/* Never edit a released step: append a new one. */
static const char *const migrations[] = {
    /* v1 */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  hlc INTEGER NOT NULL, store TEXT NOT NULL, type TEXT NOT NULL, target INTEGER NOT NULL,"
    "  key TEXT NOT NULL, json TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    "  UNIQUE(origin, seq));"
    "CREATE TABLE orders(store TEXT NOT NULL, order_id TEXT NOT NULL, status INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, open INTEGER NOT NULL, reserving INTEGER NOT NULL,"
    "  conflict INTEGER NOT NULL, resolved INTEGER NOT NULL, waste INTEGER NOT NULL,"
    "  total INTEGER NOT NULL, dispatched_ms INTEGER NOT NULL, accepted_ms INTEGER NOT NULL,"
    "  ready_ms INTEGER NOT NULL, rider_arrived_ms INTEGER NOT NULL,"
    "  handoff_ms INTEGER NOT NULL, delivered_ms INTEGER NOT NULL,"
    "  cancelled_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  state BLOB NOT NULL, PRIMARY KEY(store, order_id)) WITHOUT ROWID;"
    "CREATE INDEX orders_id ON orders(order_id);"
    "CREATE INDEX orders_open ON orders(store) WHERE open=1;"
    "CREATE INDEX orders_dispatched ON orders(dispatched_ms);"
    "CREATE INDEX orders_conflict ON orders(store) WHERE conflict=1;"
    "CREATE TABLE order_items(store TEXT NOT NULL, order_id TEXT NOT NULL, line INTEGER NOT NULL,"
    "  sku TEXT NOT NULL, qty INTEGER NOT NULL, price INTEGER NOT NULL,"
    "  unavailable INTEGER NOT NULL, open INTEGER NOT NULL, reserving INTEGER NOT NULL,"
    "  PRIMARY KEY(store, order_id, line)) WITHOUT ROWID;"
    "CREATE INDEX order_items_open ON order_items(store, sku) WHERE open=1 AND unavailable=0;"
    "CREATE TABLE stock(store TEXT NOT NULL, sku TEXT NOT NULL, on_hand INTEGER NOT NULL,"
    "  state BLOB NOT NULL, PRIMARY KEY(store, sku)) WITHOUT ROWID;"
    "CREATE TABLE deltas(store TEXT NOT NULL, sku TEXT NOT NULL, origin TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, delta INTEGER NOT NULL, reason INTEGER NOT NULL, ref TEXT NOT NULL,"
    "  PRIMARY KEY(store, sku, origin, seq)) WITHOUT ROWID;"
    "CREATE TABLE sku(store TEXT NOT NULL, sku TEXT NOT NULL, sold_out INTEGER NOT NULL,"
    "  active INTEGER NOT NULL, price INTEGER NOT NULL, low_threshold INTEGER NOT NULL,"
    "  name TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY(store, sku)) WITHOUT ROWID;"
    "CREATE TABLE settings(store TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE stores(id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
    "  lat_e6 INTEGER NOT NULL DEFAULT 0, lon_e6 INTEGER NOT NULL DEFAULT 0,"
    "  located INTEGER NOT NULL DEFAULT 0, open_min INTEGER NOT NULL DEFAULT 0,"
    "  close_min INTEGER NOT NULL DEFAULT 1440, paused INTEGER NOT NULL DEFAULT 0,"
    "  radius_m INTEGER NOT NULL DEFAULT 5000, created_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_seen_ms INTEGER NOT NULL DEFAULT 0, online INTEGER NOT NULL DEFAULT 0,"
    "  status_ms INTEGER NOT NULL DEFAULT 0, hb_ms INTEGER NOT NULL DEFAULT 0,"
    "  version TEXT NOT NULL DEFAULT '', uptime_s INTEGER NOT NULL DEFAULT 0,"
    "  outbox_depth INTEGER NOT NULL DEFAULT 0, last_acked_seq INTEGER NOT NULL DEFAULT 0,"
    "  last_seq INTEGER NOT NULL DEFAULT 0, rss_kb INTEGER NOT NULL DEFAULT 0,"
    "  tablets INTEGER NOT NULL DEFAULT 0, orders_open INTEGER NOT NULL DEFAULT 0,"
    "  hb_ts_ms INTEGER NOT NULL DEFAULT 0, hb_hlc INTEGER NOT NULL DEFAULT 0,"
    "  up_seq INTEGER NOT NULL DEFAULT 0, down_seq INTEGER NOT NULL DEFAULT 0,"
    "  down_acked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX stores_geo ON stores(lat_e6) WHERE located=1;"
    "CREATE TABLE intake(idem_key TEXT PRIMARY KEY, req_hash INTEGER NOT NULL,"
    "  status INTEGER NOT NULL, response TEXT NOT NULL, order_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX intake_created ON intake(created_ms);"
    "CREATE TABLE transfers(id TEXT PRIMARY KEY, from_store TEXT NOT NULL,"
    "  to_store TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, out_seq INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL DEFAULT 0, received_qty INTEGER NOT NULL DEFAULT 0)"
    "  WITHOUT ROWID;"
    "CREATE VIEW conflicts AS SELECT store, order_id, kind, status, total, dispatched_ms,"
    "  cancelled_ms, handoff_ms FROM orders WHERE conflict=1 AND resolved=0;",
    /* v2: the firmware registry, rollouts and the boxes' update reports */
    "CREATE TABLE fw_bundles(version TEXT PRIMARY KEY, dir TEXT NOT NULL, sha256 TEXT NOT NULL,"
    "  size INTEGER NOT NULL, registered_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE fw_rollouts(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  version TEXT NOT NULL, steps TEXT NOT NULL, stage INTEGER NOT NULL,"
    "  max_failures INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  stopped INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0,"
    "  halted INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
    "  active INTEGER NOT NULL DEFAULT 0, committed INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE fw_rollout_boxes(rollout TEXT NOT NULL REFERENCES fw_rollouts(id),"
    "  pos INTEGER NOT NULL, store TEXT NOT NULL, offered INTEGER NOT NULL DEFAULT 0,"
    "  offered_ms INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '', PRIMARY KEY(rollout, pos)) WITHOUT ROWID;"
    "CREATE TABLE fw_reports(store TEXT PRIMARY KEY, offer_id TEXT NOT NULL,"
    "  state TEXT NOT NULL, installed TEXT NOT NULL, json TEXT NOT NULL,"
    "  received_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE fw_secret(id INTEGER PRIMARY KEY CHECK(id = 1), key BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL);",
    /* v3: the dashboard's views read recent orders from this index alone
     * (hq/views_int.h); it leads with dispatched_ms, so it replaces
     * orders_dispatched */
    "CREATE INDEX orders_day ON orders(dispatched_ms, kind, status, open, cancelled_ms,"
    "  handoff_ms, total, conflict, resolved, accepted_ms, ready_ms, rider_arrived_ms);"
    "DROP INDEX orders_dispatched;",
    /* v4: orders_day holds dispatched orders only, the only ones a view can
     * select (every view's range starts at a day > 0); an order known only
     * from a box's steps (no dispatch) costs no entry.  The boxes' events
     * moved to the store log (hq/log.h) in the same release; that move is
     * core.c's (log_split: it needs both files), not a step here. */
    "DROP INDEX orders_day;"
    "CREATE INDEX orders_day ON orders(dispatched_ms, kind, status, open, cancelled_ms,"
    "  handoff_ms, total, conflict, resolved, accepted_ms, ready_ms, rider_arrived_ms)"
    "  WHERE dispatched_ms>0;",
};

static const char *const sql_text[HQ_Q__COUNT] = {
#define HQ__Q_SQL(id, sql) [HQ_Q_##id] = sql,
    HQ_SQL_MAP(HQ__Q_SQL)
#undef HQ__Q_SQL
};

static const rt_db_schema schema = {"hq", migrations, sizeof migrations / sizeof migrations[0],
                                    sql_text, HQ_Q__COUNT};

const rt_db_schema *hq__schema(void) { return &schema; }
