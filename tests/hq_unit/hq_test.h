/* hq_test.h - fixtures for hq's unit tests: a temp directory per test, a
 * core with an injected clock, a recorder of what the core publishes, and
 * helpers that play a store box (batches of its own events). */
#ifndef HQ_TEST_H
#define HQ_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "commands.h"
#include "core.h"
#include "proto/repl.h"

#define T_MAX_PUB 256
#define T_T0 UINT64_C(1795400000000) /* 2026-11-23, 02:13 UTC */

typedef struct t_pub {
  char topic[PROTO_TOPIC_MAX];
  char *payload;
  size_t len;
} t_pub;

typedef struct tctx {
  char dir[64];
  char path[128];
  uint64_t now;                    /* the injected wall clock, ms */
  hq_core *c;
  hq_core_opts o;
  hq_err err;
  bool offline;                    /* publish fails (not connected) */
  size_t n_pub;
  t_pub pub[T_MAX_PUB];
  uint64_t box_seq;                /* the fake box's own seq counter */
  proto_buf body;
} tctx;

int t_setup(void **state);
int t_teardown(void **state);
void t_open(tctx *t);
void t_close(tctx *t);
void t_reopen(tctx *t);
void t_pub_clear(tctx *t);
/* Index of the first publish (from `from`) whose topic ends with suffix, -1 if none. */
int t_pub_find(const tctx *t, size_t from, const char *store, const char *suffix);

#define T_RC(t, want, expr)                                                              \
  do {                                                                                   \
    int rc_ = (expr);                                                                    \
    if (rc_ != (want))                                                                   \
      fail_msg("%s:%d: %s -> %s (%d), want %s: %s [%s]", __FILE__, __LINE__, #expr,      \
               hq_err_wire(rc_), rc_, hq_err_wire(want), (t)->err.msg, (t)->err.field);  \
  } while (0)
#define T_OK(t, expr) T_RC(t, HQ_OK, expr)

/* An event of the box `store` (origin = store, next box seq, hlc from now). */
void t_box_event(tctx *t, proto_event *ev, const char *store, proto_event_type type);
/* Encode events as one up/events batch into out (reset first). */
void t_batch(const char *store, const proto_event *evs, size_t n, proto_buf *out);
/* Ingest a payload on retail/v1/stores/<store>/up/<kind>, then commit. */
int t_ingest(tctx *t, const char *store, const char *kind, const char *payload, size_t len);
/* A store at (lat, lon) with the catalog entry sku at price (admin API). */
void t_store(tctx *t, const char *store, double lat, double lon, int64_t radius_m);
void t_catalog(tctx *t, const char *sku, int64_t price);
/* The box receives stock: a stock.delta receive from the box itself. */
void t_receive(tctx *t, const char *store, const char *sku, int64_t qty);
/* Mark a store online (up/status "online"). */
void t_online(tctx *t, const char *store);
/* One integer from SQL on a second connection to the file (committed data);
 * the store log is attached as `log` (the boxes' events: log.events). */
int64_t t_sql_i64(tctx *t, const char *sql);
/* The contiguous seq of the store's own origin in the last down/ack
 * published to it since the recorder was cleared; -1 if none was. */
int64_t t_acked(tctx *t, const char *store);
/* A digest of HQ's materialised state in hq.db (every row of the merged
 * tables, the stores' replication columns): equal digests, equal state. */
uint64_t t_state_digest(tctx *t);
/* A delivery/pickup order request with one line. */
void t_order_req(hq_order_req *r, const char *key, proto_order_kind kind, const char *sku, int64_t qty);

#endif
