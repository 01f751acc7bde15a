/* node/engine.h - the store's domain engine.
 *
 * One handle owns the SQLite database, the hybrid logical clock and this
 * store's event counter.  Every change is an event (proto envelope, origin =
 * store id, gap-free seq, HLC) written in the same transaction as the
 * materialised state it produces through proto_event_merge().  Local events
 * stay in the outbox until HQ acknowledges them (node_engine_outbox_ack).
 *
 * Group commit: commands run inside an open batch transaction (opened on
 * demand, one SAVEPOINT per command so a failing command leaves no trace);
 * node_engine_commit() makes the whole batch durable with one fsync
 * (synchronous=FULL).  A caller may tell a person "done" only after the
 * commit that covers their command returned NODE_OK.
 *
 * Threading: single-threaded; call everything from the event loop.
 */
#ifndef NODE_ENGINE_H
#define NODE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proto/proto.h"

typedef struct node_engine node_engine;

/* One applied event, reported after the commit that made it durable.
 * feed: its position in the local feed (monotonic, tablets resume from it). */
typedef struct node_change {
  const proto_event *ev;
  uint64_t feed;
  bool local;                      /* written here (vs merged from HQ) */
} node_change;

typedef struct node_engine_opts {
  const char *db_path;
  const char *store_id;            /* also the origin of local events */
  uint64_t max_skew_ms;            /* HLC bound for remote events */
  int busy_timeout_ms;
  /* Wall clock in ms; NULL = proto_wall_ms.  Tests inject their own. */
  uint64_t (*clock_ms)(void *ctx);
  /* Called once per event after its batch committed; may be NULL. */
  void (*on_change)(void *ctx, const node_change *ch);
  void *ctx;
} node_engine_opts;

/* Opens (creating or migrating) the database, verifies it with
 * PRAGMA quick_check and refuses a corrupt file with NODE_ECORRUPT.
 * On failure *out is NULL and nothing is left open. */
int node_engine_open(node_engine **out, const node_engine_opts *opts, node_err *err);
/* Rolls back an uncommitted batch (those commands were never acknowledged)
 * and closes the database.  NULL is fine. */
void node_engine_close(node_engine *e);

/* ---- group commit ---------------------------------------------------------- */
/* Commit the open batch (no-op if none): one fsync.  On failure the batch is
 * rolled back and every command in it must be answered with the error. */
int node_engine_commit(node_engine *e, node_err *err);
/* Commands in the open batch. */
size_t node_engine_pending(const node_engine *e);

/* ---- idempotent commands ----------------------------------------------------
 * A tablet command id is recorded in the same transaction as its effect.
 * node_engine_cmd_lookup: NODE_OK and the stored result JSON (truncated to cap)
 * if the id was already executed, NODE_ENOTFOUND otherwise. */
int node_engine_cmd_lookup(node_engine *e, const char *cmd_id, char *result, size_t cap);
int node_engine_cmd_record(node_engine *e, const char *cmd_id, const char *result, node_err *err);

/* ---- events from HQ (the replication layer calls this) --------------------- */
/* Merge a remote event: duplicate (origin, seq) is NODE_OK and changes
 * nothing; a clock too far ahead is NODE_ECLOCK; joins the open batch. */
int node_engine_ingest(node_engine *e, const proto_event *ev, node_err *err);

/* ---- local commands (each joins the open batch; SAVEPOINT per call) --------
 * `by` is the staff id doing it ("auto" for the engine's own rules).
 * Illegal transitions: NODE_EILLEGAL, message from proto_order_check. */
int node_order_accept(node_engine *e, const char *order_id, const char *by, node_err *err);
int node_order_reject(node_engine *e, const char *order_id, proto_reject_reason reason,
                      const char *by, node_err *err);
int node_order_prepare(node_engine *e, const char *order_id, const char *by, node_err *err);
int node_order_ready(node_engine *e, const char *order_id, const char *by, node_err *err);
/* Customer pickup: code must equal the order's pickup code (NODE_EWRONGCODE). */
int node_order_complete(node_engine *e, const char *order_id, const char *code, const char *by,
                        node_err *err);
int node_order_rider_arrived(node_engine *e, const char *order_id, const char *by, node_err *err);
/* Rider handoff of a delivery order: code verified like a pickup. */
int node_order_handoff(node_engine *e, const char *order_id, const char *code, const char *by,
                       node_err *err);
int node_order_ship(node_engine *e, const char *order_id, const char *courier,
                    const char *tracking, const char *by, node_err *err);
int node_order_cancel(node_engine *e, const char *order_id, const char *reason, const char *by,
                      node_err *err);
int node_order_item_unavailable(node_engine *e, const char *order_id, const char *sku,
                                const char *by, node_err *err);
/* Accept every order dispatched at least auto_accept_s ago (store setting;
 * 0 = off).  *n (may be NULL) = how many were accepted. */
int node_engine_auto_accept(node_engine *e, size_t *n, node_err *err);

/* Stock delta with a reason (receive, waste, correction, transfer_out/in).
 * ref: transfer id for transfers; peer: the other store. */
int node_stock_adjust(node_engine *e, const char *sku, int64_t delta, proto_stock_reason reason,
                      const char *ref, const char *peer, const char *note, const char *by,
                      node_err *err);
/* Blind stocktake of one SKU: records the count with this store's seen
 * vector; *system_before (may be NULL) = on hand before, for the variance. */
int node_stocktake(node_engine *e, const char *sku, int64_t counted, const char *by,
                   int64_t *system_before, node_err *err);
int node_sku_set_sold_out(node_engine *e, const char *sku, bool sold_out, const char *by,
                          node_err *err);
int node_settings_set(node_engine *e, const proto_ev_settings *s, const char *by, node_err *err);

/* ---- reading ---------------------------------------------------------------- */
typedef struct node_stock_view {
  proto_sku sku;                   /* catalog + availability registers */
  int64_t on_hand, reserved, available;
  bool low;                        /* available <= catalog.low_threshold (> 0) */
} node_stock_view;

int node_order_get(node_engine *e, const char *order_id, proto_order *out, node_err *err);
/* Visit orders: all non-terminal ones plus those that ended in the last
 * `recent_ms` (for the board); cb returning non-zero stops the walk. */
int node_orders_each(node_engine *e, uint64_t recent_ms,
                     int (*cb)(void *ctx, const proto_order *o), void *ctx, node_err *err);
int node_stock_get(node_engine *e, const char *sku, node_stock_view *out, node_err *err);
int node_stock_each(node_engine *e, int (*cb)(void *ctx, const node_stock_view *v), void *ctx,
                    node_err *err);
int node_settings_get(node_engine *e, proto_settings *out, node_err *err);

/* Last committed feed position. */
uint64_t node_engine_feed(const node_engine *e);
/* Oldest feed position a tablet can resume from (older: full snapshot). */
uint64_t node_engine_feed_floor(const node_engine *e);
/* Visit the distinct (target, key) touched by events after `since`. */
int node_engine_changes_since(node_engine *e, uint64_t since,
                              int (*cb)(void *ctx, proto_target target, const char *key),
                              void *ctx, node_err *err);

/* ---- outbox (replication) ---------------------------------------------------- */
/* Local events not yet acknowledged by HQ, ascending seq, stopping before
 * max_events or max_bytes of JSON would be exceeded (at least one event). */
int node_engine_outbox_each(node_engine *e, size_t max_events, size_t max_bytes,
                            int (*cb)(void *ctx, const proto_event *ev, const char *json,
                                      size_t len),
                            void *ctx, node_err *err);
/* HQ holds every local event up to seq: they leave the outbox. */
int node_engine_outbox_ack(node_engine *e, uint64_t seq, node_err *err);
/* Version vector of everything this store holds (own + HQ's events). */
int node_engine_vv(node_engine *e, proto_vv *out, node_err *err);

/* ---- figures for /metrics and the heartbeat ------------------------------- */
typedef struct node_engine_stats {
  uint64_t orders_by_status[PROTO_MS__COUNT];
  uint64_t outbox_depth;
  uint64_t last_acked_seq, last_seq;
  uint64_t commits, commit_ns_total, commit_ns_max;
  uint64_t events_local, events_remote, events_duplicate;
} node_engine_stats;
int node_engine_stats_get(node_engine *e, node_engine_stats *out, node_err *err);

#endif
