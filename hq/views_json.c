/* views_json.c - the views' structs as JSON (the API's answers), and the
 * one-call HTTP edge hq_views_json().
 *
 * Shapes (docs/hq-dashboard.md has examples): every answer is an object
 * with "window" first; times are UTC ms, durations ms, money cents, and
 * enumerations their wire names (proto's tables), so the dashboard needs
 * no second copy of them.  A figure that does not exist (stock a store
 * does not track) is null, never 0.
 */
#include <string.h>

#include "jw.h"
#include "views_int.h"

static void window(jw *w, const hq_view_window *x) {
  jw_obj(w, "window");
  jw_u64(w, "now_ms", x->now_ms);
  jw_u64(w, "day_start_ms", x->day_start_ms);
  jw_int(w, "tz_offset_min", x->tz_offset_min);
  jw_u64(w, "hour", x->hour);
  if (x->store[0]) jw_str(w, "store", x->store);
  else jw_null(w, "store");
  jw_end(w);
}

/* End the top object; on failure cut out back to where it was. */
static int finish(jw *w, proto_buf *out, size_t start) {
  jw_end(w);
  int rc = jw_done(w);
  if (rc != PROTO_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
  }
  return rc;
}

/* ---- summary -------------------------------------------------------------------- */

static void counts(jw *w, const hq_view_counts *c) {
  jw_u64(w, "orders", c->orders);
  jw_u64(w, "handed_off", c->handed_off);
  jw_int(w, "sales", c->sales);
  jw_u64(w, "open", c->open);
  jw_u64(w, "cancelled", c->cancelled);
  jw_u64(w, "rejected", c->rejected);
  jw_u64(w, "conflicts", c->conflicts);
  jw_obj(w, "by_kind");
  for (int k = 0; k < PROTO_KIND__COUNT; k++) jw_u64(w, proto_order_kind_name((proto_order_kind)k), c->by_kind[k]);
  jw_end(w);
  jw_obj(w, "by_status");
  for (int m = 0; m < PROTO_MS__COUNT; m++)
    if (proto_milestone_rank((proto_milestone)m) >= 0)
      jw_u64(w, proto_milestone_name((proto_milestone)m), c->by_status[m]);
  jw_end(w);
}

int hq_view_summary_json(const hq_view_summary *s, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &s->w);
  jw_obj(&w, "chain");
  counts(&w, &s->chain);
  jw_end(&w);
  jw_u64(&w, "stores_total", s->stores_total);
  jw_u64(&w, "stores_online", s->stores_online);
  jw_arr(&w, "stores");
  for (size_t i = 0; i < s->n_stores; i++) {
    const hq_view_store_summary *x = &s->stores[i];
    jw_obj(&w, NULL);
    jw_str(&w, "store", x->store);
    jw_str(&w, "name", x->name);
    jw_bool(&w, "online", x->online);
    jw_bool(&w, "paused", x->paused);
    counts(&w, &x->c);
    jw_end(&w);
  }
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- hourly ---------------------------------------------------------------------- */

static void u64s(jw *w, const char *key, const uint64_t *v) {
  jw_arr(w, key);
  for (int i = 0; i < HQ_VIEW_HOURS; i++) jw_u64(w, NULL, v[i]);
  jw_end_arr(w);
}

int hq_view_hourly_json(const hq_view_hourly *h, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &h->w);
  u64s(&w, "orders", h->orders);
  u64s(&w, "orders_prev", h->orders_prev);
  u64s(&w, "handed_off", h->handed_off);
  jw_arr(&w, "sales");
  for (int i = 0; i < HQ_VIEW_HOURS; i++) jw_int(&w, NULL, h->sales[i]);
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- SLA -------------------------------------------------------------------------- */

static void pct(jw *w, const char *key, const hq_view_pct *p, uint64_t target) {
  jw_obj(w, key);
  jw_u64(w, "n", p->n);
  jw_u64(w, "p50", p->p50);
  jw_u64(w, "p90", p->p90);
  jw_u64(w, "p99", p->p99);
  jw_u64(w, "max", p->max);
  if (target) jw_u64(w, "target", target);
  else jw_null(w, "target");
  jw_end(w);
}

int hq_view_sla_json(const hq_view_sla *s, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &s->w);
  jw_obj(&w, "chain");
  for (int m = 0; m < HQ_SLA__COUNT; m++) pct(&w, hq_sla_metric_name((hq_sla_metric)m), &s->chain[m], 0);
  jw_end(&w);
  jw_u64(&w, "stores_total", s->stores_total);
  jw_arr(&w, "stores");
  for (size_t i = 0; i < s->n_stores; i++) {
    const hq_view_sla_store *x = &s->stores[i];
    jw_obj(&w, NULL);
    jw_str(&w, "store", x->store);
    jw_str(&w, "name", x->name);
    jw_u64(&w, "breaches", x->breaches);
    for (int m = 0; m < HQ_SLA__COUNT; m++)
      pct(&w, hq_sla_metric_name((hq_sla_metric)m), &x->m[m], x->target_ms[m]);
    jw_end(&w);
  }
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- stock ------------------------------------------------------------------------- */

static void tracked_int(jw *w, const char *key, bool tracked, int64_t v) {
  if (tracked) jw_int(w, key, v);
  else jw_null(w, key);
}

static void cell(jw *w, const hq_view_stock_cell *c) {
  jw_obj(w, NULL);
  jw_str(w, "store", c->store);
  jw_bool(w, "tracked", c->tracked);
  jw_bool(w, "active", c->active);
  jw_bool(w, "flagged", c->flagged);
  jw_bool(w, "low", c->low);
  jw_bool(w, "sold_out", c->sold_out);
  tracked_int(w, "on_hand", c->tracked, c->on_hand);
  jw_int(w, "reserved", c->reserved);
  tracked_int(w, "available", c->tracked, c->available);
  jw_int(w, "low_threshold", c->low_threshold);
  jw_end(w);
}

int hq_view_stock_json(const hq_view_stock *s, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &s->w);
  jw_u64(&w, "skus_low", s->skus_low);
  jw_u64(&w, "skus_sold_out", s->skus_sold_out);
  jw_arr(&w, "skus");
  for (size_t i = 0; i < s->n_skus; i++) {
    const hq_view_sku *k = &s->skus[i];
    jw_obj(&w, NULL);
    jw_str(&w, "sku", k->sku);
    jw_str(&w, "name", k->name);
    jw_str(&w, "name_en", k->name_en);
    jw_int(&w, "price", k->price);
    jw_int(&w, "on_hand", k->on_hand);
    jw_int(&w, "reserved", k->reserved);
    jw_int(&w, "available", k->available);
    jw_u64(&w, "stores", k->stores);
    jw_u64(&w, "stores_low", k->stores_low);
    jw_u64(&w, "stores_sold_out", k->stores_sold_out);
    jw_arr(&w, "cells");
    for (size_t j = 0; j < k->n_cells; j++) cell(&w, &k->cells[j]);
    jw_end_arr(&w);
    jw_end(&w);
  }
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- fleet -------------------------------------------------------------------------- */

static void fleet_store(jw *w, const hq_view_fleet_store *s) {
  jw_obj(w, NULL);
  jw_str(w, "store", s->store);
  jw_str(w, "name", s->name);
  jw_str(w, "state", hq_fleet_state_name(s->state));
  jw_bool(w, "online", s->online);
  jw_str(w, "version", s->version);
  jw_u64(w, "last_seen_ms", s->last_seen_ms);
  jw_u64(w, "heartbeat_ms", s->hb_ms);
  jw_u64(w, "last_event_ms", s->last_event_ms);
  jw_u64(w, "lag_ms", s->lag_ms);
  jw_u64(w, "behind", s->behind);
  jw_u64(w, "outbox_depth", s->outbox_depth);
  jw_u64(w, "last_acked_seq", s->last_acked_seq);
  jw_u64(w, "last_seq", s->last_seq);
  jw_u64(w, "up_seq", s->up_seq);
  jw_u64(w, "down_seq", s->down_seq);
  jw_u64(w, "down_acked", s->down_acked);
  jw_u64(w, "down_pending", s->down_pending);
  jw_int(w, "clock_skew_ms", s->clock_skew_ms);
  jw_u64(w, "uptime_s", s->uptime_s);
  jw_u64(w, "rss_kb", s->rss_kb);
  jw_u64(w, "tablets", s->tablets);
  jw_u64(w, "orders_open", s->orders_open);
  jw_end(w);
}

int hq_view_fleet_json(const hq_view_fleet *f, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &f->w);
  jw_u64(&w, "stores_total", f->stores_total);
  jw_obj(&w, "by_state");
  for (int s = 0; s < HQ_FLEET__COUNT; s++) jw_u64(&w, hq_fleet_state_name((hq_fleet_state)s), f->by_state[s]);
  jw_end(&w);
  jw_u64(&w, "lag_max_ms", f->lag_max_ms);
  jw_arr(&w, "versions");
  for (size_t i = 0; i < f->n_versions; i++) {
    jw_obj(&w, NULL);
    jw_str(&w, "version", f->versions[i].version);
    jw_u64(&w, "stores", f->versions[i].stores);
    jw_end(&w);
  }
  jw_end_arr(&w);
  jw_arr(&w, "stores");
  for (size_t i = 0; i < f->n_stores; i++) fleet_store(&w, &f->stores[i]);
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- conflicts ------------------------------------------------------------------------ */

int hq_view_conflicts_json(const hq_view_conflicts *c, proto_buf *out) {
  jw w;
  size_t start = out->len;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  window(&w, &c->w);
  jw_u64(&w, "total", c->total);
  jw_int(&w, "amount", c->amount);
  jw_arr(&w, "items");
  for (size_t i = 0; i < c->n; i++) {
    const hq_view_conflict *x = &c->items[i];
    jw_obj(&w, NULL);
    jw_str(&w, "order_id", x->order_id);
    jw_str(&w, "store", x->store);
    jw_str(&w, "name", x->name);
    jw_str(&w, "kind", proto_order_kind_name(x->kind));
    jw_str(&w, "status", proto_milestone_name(x->status));
    jw_str(&w, "cancel_by", proto_cancel_by_name(x->cancel_by));
    jw_str(&w, "cancel_reason", x->cancel_reason);
    jw_int(&w, "total", x->total);
    jw_u64(&w, "dispatched_ms", x->dispatched_ms);
    jw_u64(&w, "cancelled_ms", x->cancelled_ms);
    jw_u64(&w, "handoff_ms", x->handoff_ms);
    jw_end(&w);
  }
  jw_end_arr(&w);
  return finish(&w, out, start);
}

/* ---- the HTTP edge ---------------------------------------------------------------------- */

/* Run view + encode + free, for each view's result type. */
#define HQ__VIEW_RUNNER(name, type, run, enc, fr)                                          \
  static int json_##name(hq_views *v, const hq_view_query *q, proto_buf *out, hq_err *err) { \
    type r;                                                                                 \
    int rc = run(v, q, &r, err);                                                            \
    if (rc != HQ_OK) return rc;                                                             \
    if (enc(&r, out) != PROTO_OK) rc = hq_err_set(err, HQ_ENOMEM, "views: out of memory");  \
    fr(&r);                                                                                 \
    return rc;                                                                              \
  }

static void free_hourly(hq_view_hourly *h) { (void)h; }

HQ__VIEW_RUNNER(summary, hq_view_summary, hq_views_summary, hq_view_summary_json, hq_view_free_summary)
HQ__VIEW_RUNNER(hourly, hq_view_hourly, hq_views_hourly, hq_view_hourly_json, free_hourly)
HQ__VIEW_RUNNER(sla, hq_view_sla, hq_views_sla, hq_view_sla_json, hq_view_free_sla)
HQ__VIEW_RUNNER(stock, hq_view_stock, hq_views_stock, hq_view_stock_json, hq_view_free_stock)
HQ__VIEW_RUNNER(fleet, hq_view_fleet, hq_views_fleet, hq_view_fleet_json, hq_view_free_fleet)
HQ__VIEW_RUNNER(conflicts, hq_view_conflicts, hq_views_conflicts, hq_view_conflicts_json,
                hq_view_free_conflicts)

typedef struct view_route {
  const char *name;
  int (*fn)(hq_views *v, const hq_view_query *q, proto_buf *out, hq_err *err);
} view_route;

static const view_route routes[] = {
    {"summary", json_summary}, {"hourly", json_hourly}, {"sla", json_sla},
    {"stock", json_stock},     {"fleet", json_fleet},   {"conflicts", json_conflicts},
};

bool hq_views_exists(const char *name) {
  for (size_t i = 0; name && i < sizeof routes / sizeof routes[0]; i++)
    if (strcmp(routes[i].name, name) == 0) return true;
  return false;
}

int hq_views_run_json(hq_views *v, const char *name, const hq_view_query *q, proto_buf *out,
                      hq_err *err) {
  for (size_t i = 0; name && i < sizeof routes / sizeof routes[0]; i++)
    if (strcmp(routes[i].name, name) == 0) return routes[i].fn(v, q, out, err);
  return hq_err_field(err, HQ_ENOTFOUND, "view", "no view '%.32s'", name ? name : "");
}

int hq_views_json(hq_views *v, const char *name, const char *qs, proto_buf *out, hq_err *err) {
  hq_view_query q;
  int rc = hq_view_query_parse(qs, &q, err);
  return rc == HQ_OK ? hq_views_run_json(v, name, &q, out, err) : rc;
}
