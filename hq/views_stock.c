/* views_stock.c - stock per SKU across the stores, and the conflicts to
 * resolve.
 *
 * Stock: one pass over every (store, sku) that has a catalog entry or a
 * stock row (views_int.h, STOCK), ordered by sku then store, folded into
 * one hq_view_sku per SKU with a cell per store.  A cell is in exactly one
 * of three states, worst first:
 *
 *   sold out   the SKU is active there and flagged sold out (by staff or
 *              the box's stock rule), or tracked with available <= 0
 *   low        otherwise, tracked, threshold > 0 and available <= threshold
 *   fine       the rest (an untracked SKU is never low: nobody counts it)
 *
 * reserved mirrors the box (node/stock.c): units on lines of reserving
 * orders that are not marked unavailable, so HQ and the tablet agree once
 * they hold the same events.
 *
 * Conflicts: the VIEW conflicts of schema.c (cancelled AND handed off, not
 * resolved), with who cancelled and why from the order's state BLOB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sku.h"
#include "rt/db.h"
#include "views_int.h"

typedef struct stock_run {
  hq_views *v;
  hq_view_stock *out;
  size_t cap_skus, cap_cells;
  size_t limit;
} stock_run;

static int worst_cell(const void *a, const void *b) {
  const hq_view_stock_cell *x = a, *y = b;
  if (x->sold_out != y->sold_out) return x->sold_out ? -1 : 1;
  if (x->low != y->low) return x->low ? -1 : 1;
  if (x->tracked != y->tracked) return x->tracked ? -1 : 1;
  if (x->available != y->available) return x->available < y->available ? -1 : 1;
  return strcmp(x->store, y->store);
}

/* The SKU being filled is done: counts, cells ordered and cut. */
static void close_sku(stock_run *r) {
  hq_view_stock *o = r->out;
  if (!o->n_skus) return;
  hq_view_sku *k = &o->skus[o->n_skus - 1];
  o->skus_low += k->stores_low > 0;
  o->skus_sold_out += k->stores_sold_out > 0;
  if (k->n_cells) qsort(k->cells, k->n_cells, sizeof *k->cells, worst_cell);
  if (k->n_cells > r->limit) k->n_cells = r->limit;
  r->cap_cells = 0;
}

/* The SKU entry for id: the last one, or a new one. */
static hq_view_sku *sku_for(stock_run *r, const char *id) {
  hq_view_stock *o = r->out;
  if (o->n_skus && strcmp(o->skus[o->n_skus - 1].sku, id) == 0) return &o->skus[o->n_skus - 1];
  close_sku(r);
  if (hq__v_grow((void **)&o->skus, &r->cap_skus, o->n_skus + 1, sizeof *o->skus) != 0) return NULL;
  hq_view_sku *k = &o->skus[o->n_skus++];
  memset(k, 0, sizeof *k);
  snprintf(k->sku, sizeof k->sku, "%s", id);
  return k;
}

/* Catalog facts of the row's sku BLOB into the cell (and the SKU's name). */
static void catalog(sqlite3_stmt *st, hq_view_sku *k, hq_view_stock_cell *c) {
  proto_sku s;
  c->active = true;
  if (sqlite3_column_type(st, 2) == SQLITE_NULL ||
      rt_db_unpack(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &s, sizeof s) != 0)
    return;
  c->flagged = proto_sku_sold_out(&s);
  if (!s.catalog_stamp.hlc) return;
  c->active = s.catalog.active;
  c->low_threshold = s.catalog.low_threshold;
  if (!k->name[0] && s.catalog.name[0]) {
    memcpy(k->name, s.catalog.name, sizeof k->name);
    memcpy(k->name_en, s.catalog.name_en, sizeof k->name_en);
    k->price = s.catalog.price;
  }
}

/* Row: sku, store, sku state, on_hand (NULL: not tracked), reserved. */
static int add_row(stock_run *r, sqlite3_stmt *st, hq_err *err) {
  char id[PROTO_ID_MAX];
  hq__v_text(st, 0, id, sizeof id);
  hq_view_sku *k = sku_for(r, id);
  if (!k || hq__v_grow((void **)&k->cells, &r->cap_cells, k->n_cells + 1, sizeof *k->cells) != 0)
    return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  hq_view_stock_cell *c = &k->cells[k->n_cells++];
  memset(c, 0, sizeof *c);
  hq__v_text(st, 1, c->store, sizeof c->store);
  catalog(st, k, c);
  c->tracked = sqlite3_column_type(st, 3) != SQLITE_NULL;
  c->on_hand = sqlite3_column_int64(st, 3);
  c->reserved = sqlite3_column_int64(st, 4);
  c->available = c->on_hand - c->reserved;
  c->sold_out = c->active && (c->flagged || (c->tracked && c->available <= 0));
  c->low = c->active && !c->sold_out && c->tracked && c->low_threshold > 0 &&
           c->available <= c->low_threshold;
  k->stores++;
  k->stores_low += c->low;
  k->stores_sold_out += c->sold_out;
  if (c->tracked) {
    k->on_hand += c->on_hand;
    k->reserved += c->reserved;
    k->available += c->available;
  }
  return HQ_OK;
}

int hq_views_stock(hq_views *v, const hq_view_query *q, hq_view_stock *out, hq_err *err) {
  stock_run r = {v, out, 0, 0, hq__v_limit(q)};
  memset(out, 0, sizeof *out);
  int rc = hq__v_begin(v, q, &out->w, err);
  if (rc != HQ_OK) return rc;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_STOCK, err, "tt", out->w.store, q->sku);
  if (!st) rc = err->code;
  while (rc == HQ_OK && hq__v_row(v, st, &rc, "stock", err)) rc = add_row(&r, st, err);
  if (st) sqlite3_reset(st);
  close_sku(&r);
  rc = hq__v_end(v, rc, err);
  if (rc != HQ_OK) hq_view_free_stock(out);
  return rc;
}

void hq_view_free_stock(hq_view_stock *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_skus; i++) free(s->skus[i].cells);
  free(s->skus);
  s->skus = NULL;
  s->n_skus = 0;
}

/* ---- conflicts ----------------------------------------------------------------------- */

/* Row: store, order_id, kind, status, total, dispatched, cancelled, handoff,
 * state, store name. */
static void conflict_row(sqlite3_stmt *st, hq_view_conflict *c, proto_order *o) {
  memset(c, 0, sizeof *c);
  hq__v_text(st, 0, c->store, sizeof c->store);
  hq__v_text(st, 1, c->order_id, sizeof c->order_id);
  c->kind = (proto_order_kind)sqlite3_column_int(st, 2);
  c->status = (proto_milestone)sqlite3_column_int(st, 3);
  c->total = sqlite3_column_int64(st, 4);
  c->dispatched_ms = hq__v_u64(st, 5);
  c->cancelled_ms = hq__v_u64(st, 6);
  c->handoff_ms = hq__v_u64(st, 7);
  hq__v_text(st, 9, c->name, sizeof c->name);
  if (rt_db_unpack(sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8), o, sizeof *o) == 0) {
    c->cancel_by = o->cancel_by;
    memcpy(c->cancel_reason, o->cancel_reason, sizeof c->cancel_reason);
  }
}

int hq_views_conflicts(hq_views *v, const hq_view_query *q, hq_view_conflicts *out, hq_err *err) {
  size_t cap = 0, limit = hq__v_limit(q);
  memset(out, 0, sizeof *out);
  proto_order *o = malloc(sizeof *o);
  if (!o) return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  int rc = hq__v_begin(v, q, &out->w, err);
  sqlite3_stmt *st = rc == HQ_OK ? hq__v_stmt(v, HQ_VQ_CONFLICTS, err, "t", out->w.store) : NULL;
  if (rc == HQ_OK && !st) rc = hq__v_end(v, err->code, err);
  while (st && hq__v_row(v, st, &rc, "conflicts", err)) {
    out->total++;
    out->amount += sqlite3_column_int64(st, 4);
    if (out->n >= limit) continue;
    if (hq__v_grow((void **)&out->items, &cap, out->n + 1, sizeof *out->items) != 0) {
      rc = hq_err_set(err, HQ_ENOMEM, "views: out of memory");
      sqlite3_reset(st);
      break;
    }
    conflict_row(st, &out->items[out->n++], o);
  }
  if (st) rc = hq__v_end(v, rc, err);
  free(o);
  if (rc != HQ_OK) hq_view_free_conflicts(out);
  return rc;
}

void hq_view_free_conflicts(hq_view_conflicts *c) {
  if (!c) return;
  free(c->items);
  c->items = NULL;
  c->n = 0;
}
