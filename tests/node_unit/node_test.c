/* node_test.c - fixtures shared by the engine's unit tests. */
#include "node_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "tmpdir.h"

static uint64_t t_clock(void *ctx) { return ((tctx *)ctx)->now; }

static void t_on_change(void *ctx, const node_change *ch) {
  tctx *t = ctx;
  if (ch->ev->type == PROTO_EV_SKU_AVAILABILITY) {
    t->last_avail = *ch->ev;
    t->n_avail++;
  }
  if (t->n_changes == T_MAX_CHANGES) return;
  t->types[t->n_changes] = ch->ev->type;
  t->feeds[t->n_changes] = ch->feed;
  t->seqs[t->n_changes] = ch->ev->seq;
  t->local[t->n_changes] = ch->local;
  t->n_changes++;
}

void t_open(tctx *t) {
  node_engine_opts o = {.db_path = t->path, .store_id = T_STORE, .max_skew_ms = 60000,
                        .clock_ms = t_clock, .on_change = t_on_change, .ctx = t};
  node_auth_opts a = {.kdf_iterations = 1000};
  T_OK(t, node_engine_open(&t->e, &o, &t->err));
  node_auth_configure(t->e, &a);
}

void t_close(tctx *t) {
  node_engine_close(t->e);
  t->e = NULL;
}

void t_reopen(tctx *t) {
  t_close(t);
  t_open(t);
}

int t_setup(void **state) {
  tctx *t = calloc(1, sizeof *t);
  if (!t || test_tmpdir_make(t->dir, sizeof t->dir, "node_unit") != 0) return -1;
  snprintf(t->path, sizeof t->path, "%s/store.db", t->dir);
  t->now = UINT64_C(1795400000000);
  t_open(t);
  *state = t;
  return 0;
}

int t_teardown(void **state) {
  tctx *t = *state;
  t_close(t);
  test_tmpdir_remove(t->dir);
  free(t);
  return 0;
}

void t_hq_init(tctx *t, proto_event *ev, proto_event_type type) {
  proto_event_init(ev, type, "hq", ++t->hq_seq, PROTO_HLC_MAKE(t->now, t->hq_ctr++), T_STORE);
}

void t_dispatch(tctx *t, const char *order_id, proto_order_kind kind, const char *code, ...) {
  proto_event ev;
  t_hq_init(t, &ev, PROTO_EV_ORDER_DISPATCHED);
  proto_ev_dispatched *d = &ev.body.dispatched;
  snprintf(d->order_id, sizeof d->order_id, "%s", order_id);
  snprintf(d->pickup_code, sizeof d->pickup_code, "%s", code);
  snprintf(d->customer, sizeof d->customer, "王先生");
  d->kind = kind;
  d->placed_ms = t->now - 1000;
  va_list ap;
  va_start(ap, code);
  const char *sku;
  while ((sku = va_arg(ap, const char *)) != NULL) {
    proto_item *it = &d->items[d->n_items++];
    snprintf(it->sku, sizeof it->sku, "%s", sku);
    snprintf(it->name, sizeof it->name, "item %s", sku);
    it->qty = va_arg(ap, int);
    it->price = 1900;
    d->total += it->price * it->qty;
  }
  va_end(ap);
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
}

proto_order t_order(tctx *t, const char *order_id) {
  proto_order o;
  T_OK(t, node_order_get(t->e, order_id, &o, &t->err));
  return o;
}

proto_milestone t_status(tctx *t, const char *order_id) {
  proto_order o = t_order(t, order_id);
  return proto_order_status(&o);
}

node_stock_view t_stock(tctx *t, const char *sku) {
  node_stock_view v;
  T_OK(t, node_stock_get(t->e, sku, &v, &t->err));
  return v;
}

int64_t t_count(tctx *t, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(t->e->db.h, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

bool t_file_has(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(n > 0 ? (size_t)n : 1);
  size_t got = buf ? fread(buf, 1, (size_t)(n > 0 ? n : 0), f) : 0;
  fclose(f);
  bool found = false;
  size_t k = strlen(needle);
  for (size_t i = 0; buf && k && i + k <= got && !found; i++) found = memcmp(buf + i, needle, k) == 0;
  free(buf);
  return found;
}
