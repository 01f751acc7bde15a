/* node/engine_int.h - private to node_core: the engine handle and the
 * helpers the engine's files share (node__* names).  Unit tests include it
 * for white-box checks; storenode does not. */
#ifndef NODE_ENGINE_INT_H
#define NODE_ENGINE_INT_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "auth.h"
#include "db.h"
#include "engine.h"

#define NODE_DEFAULT_SKEW_MS 60000u
#define NODE_DEFAULT_BUSY_MS 5000
/* Tablets further behind than this many feed positions get a snapshot. */
#define NODE_FEED_WINDOW 5000u
/* Command ids are remembered this long (a tablet retries within minutes). */
#define NODE_CMD_KEEP_MS (7u * 24u * 3600u * 1000u)

/* One event of the open batch, reported by on_change after the commit. */
typedef struct node__change {
  proto_event ev;
  uint64_t feed;
  bool local;
} node__change;

/* In-memory values a rolled-back savepoint or batch must restore. */
typedef struct node__mark {
  uint64_t next_seq, hlc, feed, acked;
  size_t n_changes, n_touched;
} node__mark;

/* One savepoint (command); lives on the caller's stack. */
typedef struct node__txn {
  node__mark mark;
} node__txn;

struct node_engine {
  node_db db;
  char store[PROTO_ID_MAX];
  proto_hlc hlc;
  uint64_t (*clock_ms)(void *ctx);
  void (*on_change)(void *ctx, const node_change *ch);
  void *ctx;

  uint64_t next_seq;          /* seq of the next local event */
  uint64_t feed;              /* last feed position written (maybe uncommitted) */
  uint64_t acked;             /* HQ holds every local seq <= acked */
  uint64_t committed_feed, committed_seq;
  proto_vv vv;                /* (origin, seq) of every committed event */
  bool vv_stale;              /* vv could not be updated: reload from the log */

  /* Group commit. */
  bool in_batch;
  int depth;                  /* nested savepoints open */
  size_t pending;             /* top-level commands in the batch */
  node__mark batch_mark;      /* values when the batch began */
  int lost_rc;                /* SQLite rolled the whole batch back */
  char lost_msg[sizeof(((node_err *)0)->msg) + 32];
  node__change *changes;
  size_t n_changes, cap_changes;
  char (*touched)[PROTO_ID_MAX]; /* SKUs whose availability may have moved */
  size_t n_touched, cap_touched;
  bool rebuilding;            /* replaying the log: no derived events */

  proto_buf json;             /* scratch for encoding events */
  proto_buf pack;             /* scratch for packing state BLOBs */
  node_engine_stats stats;

  /* Staff auth (auth.c). */
  node_auth_opts auth;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool drbg_ready;
};

/* ---- engine.c ----------------------------------------------------------------- */
uint64_t node__now(node_engine *e);
/* Open a savepoint (and the batch transaction if none is open). */
int node__begin(node_engine *e, node__txn *t, node_err *err);
/* Close the savepoint opened by node__begin: on rc == NODE_OK run the
 * derived stock rules and release it; otherwise roll back to it and restore
 * the in-memory counters, leaving no trace.  Returns the final code. */
int node__end(node_engine *e, node__txn *t, int rc, node_err *err);
/* Copy src into dst[cap]; NODE_EINVAL naming `field` if it does not fit or
 * (required) is empty.  src NULL counts as empty. */
int node__copy(char *dst, size_t cap, const char *src, const char *field, bool required,
               node_err *err);
/* proto code + message -> node code on err. */
int node__proto_err(int prc, const proto_err *perr, node_err *err);

/* ---- apply.c ------------------------------------------------------------------ */
/* Write a local event: fills the envelope (origin/store = this store, the
 * next seq, an HLC from the injected clock), stores it and its state. */
int node__emit(node_engine *e, proto_event *ev, node_err *err);
/* Store an event in the log and merge it into its state; *dup (may be
 * NULL) is true if (origin, seq) was already held (then nothing changes). */
int node__apply(node_engine *e, const proto_event *ev, bool local, bool *dup, node_err *err);
/* Drop every materialised row and replay the log (state layout changed). */
int node__rebuild(node_engine *e, node_err *err);
/* The layout version of the state BLOBs this binary writes. */
int64_t node__state_layout(void);
int node__order_load(node_engine *e, const char *order_id, proto_order *o, bool *found,
                     node_err *err);
int node__stock_load(node_engine *e, const char *sku, proto_stock *s, bool *found,
                     node_err *err);
int node__sku_load(node_engine *e, const char *sku, proto_sku *s, bool *found, node_err *err);
int node__settings_load(node_engine *e, proto_settings *s, node_err *err);
/* Pack a state struct into e->pack (rt_db_pack). */
int node__pack_state(node_engine *e, const void *p, size_t n, node_err *err);
/* Note that sku's available stock may have changed in this command. */
int node__touch(node_engine *e, const char *sku, node_err *err);

/* ---- stock.c ------------------------------------------------------------------ */
/* The sold-out rule for SKUs touched since index `from`. */
int node__stock_rules(node_engine *e, size_t from, node_err *err);
/* Does the store track stock of sku (any delta or stocktake seen)? */
int node__stock_tracked(node_engine *e, const char *sku, bool *tracked, node_err *err);

/* ---- auth.c ------------------------------------------------------------------- */
int node__auth_init(node_engine *e, node_err *err);
void node__auth_free(node_engine *e);

#endif
