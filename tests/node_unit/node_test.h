/* node_test.h - fixtures for the engine's unit tests: a temp directory per
 * test, an engine with an injected clock, a recorder of on_change calls and
 * helpers that play HQ (remote events). */
#ifndef NODE_TEST_H
#define NODE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "engine.h"

#define T_STORE "s-001"
#define T_MAX_CHANGES 512

typedef struct tctx {
  char dir[64];
  char path[128];
  uint64_t now;                 /* the injected wall clock, ms */
  node_engine *e;
  node_err err;
  uint64_t hq_seq;              /* HQ's seq counter for remote events */
  uint16_t hq_ctr;
  /* on_change recorder */
  size_t n_changes;
  proto_event_type types[T_MAX_CHANGES];
  uint64_t feeds[T_MAX_CHANGES];
  uint64_t seqs[T_MAX_CHANGES];
  bool local[T_MAX_CHANGES];
  proto_event last_avail;       /* the last sku.availability reported */
  size_t n_avail;
} tctx;

/* cmocka setup/teardown: state is a tctx* with an open engine. */
int t_setup(void **state);
int t_teardown(void **state);
void t_open(tctx *t);
void t_close(tctx *t);
void t_reopen(tctx *t);

/* Fail with the engine's message unless rc == want. */
#define T_RC(t, want, expr)                                                          \
  do {                                                                               \
    int rc_ = (expr);                                                                \
    if (rc_ != (want))                                                               \
      fail_msg("%s:%d: %s -> %s (%d), want %s: %s", __FILE__, __LINE__, #expr,       \
               node_err_wire(rc_), rc_, node_err_wire(want), (t)->err.msg);          \
  } while (0)
#define T_OK(t, expr) T_RC(t, NODE_OK, expr)
#define T_COMMIT(t) T_OK(t, node_engine_commit((t)->e, &(t)->err))

/* A remote event from HQ: origin "hq", the next HQ seq, hlc from t->now. */
void t_hq_init(tctx *t, proto_event *ev, proto_event_type type);
/* Ingest an HQ dispatch: items as (const char *sku, int qty) pairs, NULL-terminated. */
void t_dispatch(tctx *t, const char *order_id, proto_order_kind kind, const char *code, ...);
proto_order t_order(tctx *t, const char *order_id);
proto_milestone t_status(tctx *t, const char *order_id);
node_stock_view t_stock(tctx *t, const char *sku);
/* Rows of a table (white-box, through the engine's connection). */
int64_t t_count(tctx *t, const char *sql);
/* Does the file contain this byte string? */
bool t_file_has(const char *path, const char *needle);

#endif
