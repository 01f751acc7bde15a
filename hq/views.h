/* hq/views.h - HQ's aggregated, read-only views over the tables of
 * schema.c: what the dashboard at / and GET /api/v1/views/<name> show.
 *
 * The views own a second SQLite connection, opened read-only on hq's
 * database file.  Each view runs inside one read transaction, so its
 * figures are one consistent snapshot of what the core has COMMITTED (WAL:
 * the core's open write transaction is never seen, and never blocked).
 * Nothing here writes; the one write the dashboard does (resolving a
 * conflict) goes through the core's order commands.
 *
 * Time: "today" is the local calendar day of opts.tz_offset_min (minutes
 * east of UTC; 0 = UTC, 480 = China), from local midnight to now.  The
 * *_ms milestone columns are the wall-clock ms of the HLC that first
 * reached the milestone (schema.c), so a view is as good as the boxes'
 * clocks, which the HLC keeps within max_skew_ms of HQ's.
 *
 * Definitions (docs/hq-dashboard.md has the long form):
 *   orders       orders dispatched today
 *   handed off   orders handed off today (picked up, completed, shipped)
 *                and not cancelled; sales = sum of their totals (cents)
 *   by status    today's orders plus every order still open, by status
 *   SLA          over orders dispatched today, nearest-rank percentiles:
 *                  accept     accepted  - dispatched
 *                  prep       ready     - accepted
 *                  rider wait handoff   - rider_arrived   (delivery only)
 *                  total      handoff   - dispatched
 *   stock        on hand (stock table; a store without a stock row for a
 *                SKU does not track it), reserved = units of accepted,
 *                not yet ended orders (proto_order_reserved), available =
 *                on hand - reserved; low = available <= low threshold;
 *                sold out = flagged sold out or available <= 0
 *   fleet lag    0 when HQ holds every event the store's last heartbeat
 *                said it had written; else now - arrival of the newest
 *                event HQ holds from the store
 *
 * Per-store lists are ordered worst first and cut to query.limit (the
 * chain figures always cover every store), so a chain of 30,000 stores
 * still answers in one page.
 */
#ifndef HQ_VIEWS_H
#define HQ_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proto/buf.h"
#include "proto/event.h"
#include "proto/order.h"

#define HQ_VIEW_HOURS 24
#define HQ_VIEW_LIMIT_DEFAULT 100
#define HQ_VIEW_LIMIT_MAX 1000

typedef struct hq_views hq_views;

typedef struct hq_views_opts {
  const char *db_path;             /* hq's database (created by the core first) */
  const char *events_db_path;      /* the store log; NULL: hq_core_events_path_for's default */
  int32_t tz_offset_min;           /* local time = UTC + this; -840..840 */
  int busy_timeout_ms;             /* 0: 2000 */
  uint64_t stale_after_ms;         /* no heartbeat for this long: stale; 0: 60000 */
  uint64_t lag_warn_ms;            /* lag at or above this: lagging; 0: 30000 */
  /* Wall clock in ms; NULL = proto_wall_ms.  Tests inject their own. */
  uint64_t (*clock_ms)(void *ctx);
  void *ctx;
} hq_views_opts;

/* Opens the read-only connection.  On failure *out is NULL, err says why
 * (HQ_ECONFIG bad options, HQ_EIO/HQ_EDB the file). */
int hq_views_open(hq_views **out, const hq_views_opts *opts, hq_err *err);
void hq_views_close(hq_views *v);  /* NULL is fine */

/* ---- the query: ?store=<id>&sku=<id>&limit=<n> ---------------------------------- */
typedef struct hq_view_query {
  char store[PROTO_ID_MAX];        /* "" = the whole chain */
  char sku[PROTO_ID_MAX];          /* stock only; "" = every SKU */
  uint32_t limit;                  /* per-store rows; 0 = HQ_VIEW_LIMIT_DEFAULT */
} hq_view_query;

/* Parse a query string ("store=s1&limit=20", no leading '?'; NULL = empty;
 * %XX and '+' decoded).  Unknown keys are ignored; a bad id or limit is
 * HQ_EINVAL naming the field.  *q is zeroed first. */
int hq_view_query_parse(const char *qs, hq_view_query *q, hq_err *err);
/* Set one decoded argument ("store", "sku", "limit"; others ignored), as
 * the parser does: for servers that hand over arguments one by one. */
int hq_view_query_set(hq_view_query *q, const char *key, const char *value, hq_err *err);

/* Every view starts with the window it covers. */
typedef struct hq_view_window {
  uint64_t now_ms;
  uint64_t day_start_ms;           /* local midnight, as UTC ms */
  int32_t tz_offset_min;
  uint32_t hour;                   /* local hour of now, 0..23 */
  char store[PROTO_ID_MAX];        /* the filter, "" = chain */
} hq_view_window;

/* ---- summary ------------------------------------------------------------------- */
typedef struct hq_view_counts {
  uint64_t orders;                 /* dispatched today */
  uint64_t handed_off;             /* handed off today, not cancelled */
  int64_t sales;                   /* cents, totals of those */
  uint64_t open;                   /* open now (any day) */
  uint64_t cancelled, rejected;    /* of today's orders */
  uint64_t conflicts;              /* unresolved, any day */
  uint64_t by_kind[PROTO_KIND__COUNT];          /* today's orders by kind */
  uint64_t by_status[PROTO_MS__COUNT];          /* today's + open, by status */
} hq_view_counts;

typedef struct hq_view_store_summary {
  char store[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  bool online, paused;
  hq_view_counts c;
} hq_view_store_summary;

typedef struct hq_view_summary {
  hq_view_window w;
  hq_view_counts chain;            /* every store (or the filtered one) */
  uint32_t stores_total, stores_online;
  size_t n_stores;                 /* by sales, highest first, cut to limit */
  hq_view_store_summary *stores;
} hq_view_summary;

/* ---- hourly -------------------------------------------------------------------- */
typedef struct hq_view_hourly {
  hq_view_window w;
  uint64_t orders[HQ_VIEW_HOURS];        /* by local hour of dispatch, today */
  uint64_t orders_prev[HQ_VIEW_HOURS];   /* the same, yesterday (for comparison) */
  uint64_t handed_off[HQ_VIEW_HOURS];    /* by local hour of handoff */
  int64_t sales[HQ_VIEW_HOURS];          /* cents, by local hour of handoff */
} hq_view_hourly;

/* ---- SLA ----------------------------------------------------------------------- */
#define HQ_SLA_METRIC_MAP(X)                    \
  X(ACCEPT,     "accept")                       \
  X(PREP,       "prep")                         \
  X(RIDER_WAIT, "rider_wait")                   \
  X(TOTAL,      "total")

typedef enum {
#define HQ__SLA_ENUM(e, name) HQ_SLA_##e,
  HQ_SLA_METRIC_MAP(HQ__SLA_ENUM)
#undef HQ__SLA_ENUM
  HQ_SLA__COUNT
} hq_sla_metric;

const char *hq_sla_metric_name(hq_sla_metric m);

typedef struct hq_view_pct {
  uint32_t n;                      /* samples; the figures are 0 when n == 0 */
  uint64_t p50, p90, p99, max;     /* ms */
} hq_view_pct;

typedef struct hq_view_sla_store {
  char store[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  hq_view_pct m[HQ_SLA__COUNT];
  /* The store's targets (store settings) for accept, prep, rider wait, in
   * ms; total has none (0). */
  uint64_t target_ms[HQ_SLA__COUNT];
  uint32_t breaches;               /* metrics whose p90 is over target */
} hq_view_sla_store;

typedef struct hq_view_sla {
  hq_view_window w;
  hq_view_pct chain[HQ_SLA__COUNT];
  uint32_t stores_total;           /* stores with at least one order today */
  size_t n_stores;                 /* worst p90 total first, cut to limit */
  hq_view_sla_store *stores;
} hq_view_sla;

/* ---- stock --------------------------------------------------------------------- */
typedef struct hq_view_stock_cell {
  char store[PROTO_ID_MAX];
  bool tracked;                    /* the store has a stock row for the SKU */
  bool active;                     /* catalog entry active (or no entry) */
  bool flagged;                    /* sold out by a person or the stock rule */
  bool low, sold_out;
  int64_t on_hand, reserved, available, low_threshold;
} hq_view_stock_cell;

typedef struct hq_view_sku {
  char sku[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  char name_en[PROTO_NAME_MAX];
  int64_t price;                   /* cents, of the first store with an entry */
  int64_t on_hand, reserved, available;  /* over the tracking stores */
  uint32_t stores, stores_low, stores_sold_out;
  size_t n_cells;                  /* lowest available first, cut to limit */
  hq_view_stock_cell *cells;
} hq_view_sku;

typedef struct hq_view_stock {
  hq_view_window w;
  uint32_t skus_low, skus_sold_out;      /* SKUs low / sold out somewhere */
  size_t n_skus;                         /* by SKU id */
  hq_view_sku *skus;
} hq_view_stock;

/* ---- fleet --------------------------------------------------------------------- */
#define HQ_FLEET_STATE_MAP(X)                                              \
  X(OFFLINE,  "offline")   /* last will / no traffic                    */  \
  X(STALE,    "stale")     /* online, but no heartbeat for a while      */  \
  X(LAGGING,  "lagging")   /* HQ is behind by lag_warn_ms or more       */  \
  X(OK,       "ok")

typedef enum {
#define HQ__FLEET_ENUM(e, name) HQ_FLEET_##e,
  HQ_FLEET_STATE_MAP(HQ__FLEET_ENUM)
#undef HQ__FLEET_ENUM
  HQ_FLEET__COUNT
} hq_fleet_state;

const char *hq_fleet_state_name(hq_fleet_state s);

typedef struct hq_view_fleet_store {
  char store[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  char version[PROTO_ID_MAX];
  hq_fleet_state state;
  bool online;
  uint64_t last_seen_ms, hb_ms, last_event_ms;   /* 0 = never */
  uint64_t lag_ms;
  uint64_t behind;                 /* events the box wrote that HQ lacks */
  uint64_t outbox_depth, last_acked_seq, last_seq, up_seq;
  uint64_t down_seq, down_acked, down_pending;
  int64_t clock_skew_ms;           /* box clock - HQ clock at the heartbeat */
  uint64_t uptime_s, rss_kb, orders_open;
  uint32_t tablets;
} hq_view_fleet_store;

typedef struct hq_view_version {
  char version[PROTO_ID_MAX];
  uint32_t stores;
} hq_view_version;

typedef struct hq_view_fleet {
  hq_view_window w;
  uint32_t stores_total;
  uint32_t by_state[HQ_FLEET__COUNT];
  uint64_t lag_max_ms;
  size_t n_versions;               /* most stores first */
  hq_view_version *versions;
  size_t n_stores;                 /* offline, stale, lagging, ok; then lag */
  hq_view_fleet_store *stores;
} hq_view_fleet;

/* ---- conflicts ----------------------------------------------------------------- */
typedef struct hq_view_conflict {
  char store[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  char order_id[PROTO_ID_MAX];
  proto_order_kind kind;
  proto_milestone status;
  proto_cancel_by cancel_by;
  char cancel_reason[PROTO_NOTE_MAX];
  int64_t total;
  uint64_t dispatched_ms, cancelled_ms, handoff_ms;
} hq_view_conflict;

typedef struct hq_view_conflicts {
  hq_view_window w;
  uint32_t total;                  /* unresolved conflicts (all, not cut) */
  int64_t amount;                  /* cents, their totals */
  size_t n;                        /* oldest first, cut to limit */
  hq_view_conflict *items;
} hq_view_conflicts;

/* ---- running a view ------------------------------------------------------------ */
/* Each fills *out (zeroed first) from one read snapshot.  HQ_ENOTFOUND for
 * an unknown query.store; on any failure *out holds nothing to free.  Free
 * a filled result with hq_view_free_*() (hourly holds no memory); NULL and
 * zeroed results are fine. */
int hq_views_summary(hq_views *v, const hq_view_query *q, hq_view_summary *out, hq_err *err);
int hq_views_hourly(hq_views *v, const hq_view_query *q, hq_view_hourly *out, hq_err *err);
int hq_views_sla(hq_views *v, const hq_view_query *q, hq_view_sla *out, hq_err *err);
int hq_views_stock(hq_views *v, const hq_view_query *q, hq_view_stock *out, hq_err *err);
int hq_views_fleet(hq_views *v, const hq_view_query *q, hq_view_fleet *out, hq_err *err);
int hq_views_conflicts(hq_views *v, const hq_view_query *q, hq_view_conflicts *out, hq_err *err);

void hq_view_free_summary(hq_view_summary *s);
void hq_view_free_sla(hq_view_sla *s);
void hq_view_free_stock(hq_view_stock *s);
void hq_view_free_fleet(hq_view_fleet *f);
void hq_view_free_conflicts(hq_view_conflicts *c);

/* ---- JSON (views_json.c) --------------------------------------------------------- */
/* Append one result as a JSON object; PROTO_ENOMEM leaves out as it was. */
int hq_view_summary_json(const hq_view_summary *s, proto_buf *out);
int hq_view_hourly_json(const hq_view_hourly *h, proto_buf *out);
int hq_view_sla_json(const hq_view_sla *s, proto_buf *out);
int hq_view_stock_json(const hq_view_stock *s, proto_buf *out);
int hq_view_fleet_json(const hq_view_fleet *f, proto_buf *out);
int hq_view_conflicts_json(const hq_view_conflicts *c, proto_buf *out);

/* The HTTP edge in one call: run view `name` ("summary", "hourly", "sla",
 * "stock", "fleet", "conflicts") for query string qs and append its JSON to
 * out.  HQ_ENOTFOUND for an unknown name or store, HQ_EINVAL for a bad
 * query (err->field names it); out is then as before. */
int hq_views_json(hq_views *v, const char *name, const char *qs, proto_buf *out, hq_err *err);
/* The same with the query already parsed. */
int hq_views_run_json(hq_views *v, const char *name, const hq_view_query *q, proto_buf *out,
                      hq_err *err);

/* ---- scale: the answer cache and the reader thread ------------------------------------- */
/* At chain scale a view costs tens to hundreds of ms (docs/hq-dashboard.md,
 * "Scale"); hq keeps the answers for views_cache_ms (views_cache.c) and
 * computes them on a reader thread (views_worker.c), never on its loop. */
#define HQ_VIEWS_KEY_MAX 256
#define HQ_VIEWS_CACHE_ENTRIES 64
#define HQ_VIEWS_CACHE_BYTES (32u << 20)
/* Computations a worker holds at once: submitted and not yet taken. */
#define HQ_VIEWS_QUEUE_MAX 64

/* True for a view name hq_views_run_json knows. */
bool hq_views_exists(const char *name);

typedef struct hq_views_cache hq_views_cache;

typedef struct hq_views_cache_opts {
  uint64_t ttl_ms;                 /* an answer is reused this long; 0 = off */
  size_t max_bytes;                /* JSON kept at most; 0 = HQ_VIEWS_CACHE_BYTES */
  /* Monotonic ms; NULL = CLOCK_MONOTONIC.  Tests inject their own. */
  uint64_t (*clock_ms)(void *ctx);
  void *ctx;
} hq_views_cache_opts;

typedef struct hq_views_cache_stats {
  uint64_t hits, misses, stores, evictions;
  size_t entries, bytes;           /* now */
} hq_views_cache_stats;

/* opts NULL = every default (ttl 0: off).  HQ_ENOMEM. */
int hq_views_cache_open(hq_views_cache **out, const hq_views_cache_opts *opts, hq_err *err);
void hq_views_cache_close(hq_views_cache *c);  /* NULL is fine */
uint64_t hq_views_cache_now(const hq_views_cache *c);
/* The normalised key of (view, query) into key; -1 if it does not fit. */
int hq_views_cache_key(const char *name, const hq_view_query *q, char *key, size_t cap);
/* 1: a fresh answer for key appended to out; 0: none (expired ones are
 * dropped); -1: out of memory (out as before). */
int hq_views_cache_get(hq_views_cache *c, const char *key, proto_buf *out);
/* Keep a copy of json for key, computed from a snapshot taken at or after
 * at_ms (hq_views_cache_now() when it was asked for).  Silently not kept
 * when off, too big or out of memory. */
void hq_views_cache_put(hq_views_cache *c, const char *key, const char *json, size_t len,
                        uint64_t at_ms);
void hq_views_cache_stats_get(const hq_views_cache *c, hq_views_cache_stats *out);
/* hq_views_run_json through the cache (same results and errors). */
int hq_views_cached_json(hq_views_cache *c, hq_views *v, const char *name, const hq_view_query *q,
                         proto_buf *out, hq_err *err);

/* The reader thread: one job at a time, each on the worker's own
 * connection (opened from opts by start). */
typedef struct hq_views_worker hq_views_worker;

typedef struct hq_views_done {
  uint64_t tag;                    /* the submitter's */
  char name[16];
  hq_view_query q;
  int rc;                          /* hq_views_run_json's */
  hq_err err;
  proto_buf json;                  /* the answer; the taker closes it */
} hq_views_done;

/* Open the connection and start the thread; wake(ctx) is called from the
 * thread after each finished job (hq: lws_cancel_service).  On failure
 * *out is NULL and nothing runs. */
int hq_views_worker_start(hq_views_worker **out, const hq_views_opts *opts, void (*wake)(void *ctx),
                          void *ctx, hq_err *err);
/* Interrupt the running view, join, free unfinished jobs.  After it returns
 * wake is not called any more.  NULL is fine. */
void hq_views_worker_stop(hq_views_worker *w);
/* Queue view name for q (copied); HQ_ENOMEM, or HQ_EBUSY ("views busy: N
 * computations queued") while HQ_VIEWS_QUEUE_MAX jobs are held: queued,
 * running, or done and not taken yet. */
int hq_views_worker_submit(hq_views_worker *w, const char *name, const hq_view_query *q, uint64_t tag,
                           hq_err *err);
/* A finished job into *out: false when none. */
bool hq_views_worker_take(hq_views_worker *w, hq_views_done *out);
/* Jobs waiting for the thread. */
size_t hq_views_worker_queued(hq_views_worker *w);

#endif
