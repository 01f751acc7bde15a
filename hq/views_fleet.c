/* views_fleet.c - fleet health: who is online, how far behind HQ's copy of
 * each store is, and which versions run where.
 *
 * Sources, all in the stores row (schema.c) except the last:
 *   online, last_seen_ms        MQTT traffic and the retained status / will
 *   hb_* and the box figures    the store's last up/heartbeat
 *   up_seq                      highest gap-free seq of the box HQ holds
 *   down_seq, down_acked        HQ's events for the store: written / acked
 *   last event                  received_ms of the box's highest seq in the
 *                               log (one probe of UNIQUE(origin, seq))
 *
 * Lag: the box's heartbeat says it has written up to last_seq with
 * outbox_depth events not yet acknowledged.  When HQ holds all of that
 * (up_seq >= last_seq and an empty outbox) HQ is current: lag 0.
 * Otherwise HQ has been missing events for at least as long as it has
 * heard none: lag = now - arrival of the newest event (or of the store's
 * last traffic when no event ever came).
 *
 * State, worst first: offline (status/will, or the core's silence timer),
 * stale (online but no heartbeat within stale_after_ms), lagging (lag at
 * or above lag_warn_ms), ok.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views_int.h"

static const char *const state_names[HQ_FLEET__COUNT] = {
#define HQ__FLEET_NAME(e, name) [HQ_FLEET_##e] = name,
    HQ_FLEET_STATE_MAP(HQ__FLEET_NAME)
#undef HQ__FLEET_NAME
};

const char *hq_fleet_state_name(hq_fleet_state s) {
  return (unsigned)s < HQ_FLEET__COUNT ? state_names[s] : NULL;
}

static uint64_t since(uint64_t now, uint64_t t) { return t && now > t ? now - t : 0; }

/* Row: id, name, online, last_seen, hb_ms, version, uptime, outbox, acked,
 * last_seq, rss, tablets, orders_open, hb_ts_ms, up_seq, down_seq,
 * down_acked, last event received_ms. */
static void fleet_row(const hq_views *v, uint64_t now, sqlite3_stmt *st, hq_view_fleet_store *s) {
  memset(s, 0, sizeof *s);
  hq__v_text(st, 0, s->store, sizeof s->store);
  hq__v_text(st, 1, s->name, sizeof s->name);
  s->online = sqlite3_column_int(st, 2) != 0;
  s->last_seen_ms = hq__v_u64(st, 3);
  s->hb_ms = hq__v_u64(st, 4);
  hq__v_text(st, 5, s->version, sizeof s->version);
  s->uptime_s = hq__v_u64(st, 6);
  s->outbox_depth = hq__v_u64(st, 7);
  s->last_acked_seq = hq__v_u64(st, 8);
  s->last_seq = hq__v_u64(st, 9);
  s->rss_kb = hq__v_u64(st, 10);
  s->tablets = (uint32_t)hq__v_u64(st, 11);
  s->orders_open = hq__v_u64(st, 12);
  s->clock_skew_ms = s->hb_ms ? sqlite3_column_int64(st, 13) - (int64_t)s->hb_ms : 0;
  s->up_seq = hq__v_u64(st, 14);
  s->down_seq = hq__v_u64(st, 15);
  s->down_acked = hq__v_u64(st, 16);
  s->last_event_ms = hq__v_u64(st, 17);
  s->behind = s->last_seq > s->up_seq ? s->last_seq - s->up_seq : 0;
  s->down_pending = s->down_seq > s->down_acked ? s->down_seq - s->down_acked : 0;
  if (s->behind || s->outbox_depth)
    s->lag_ms = since(now, s->last_event_ms ? s->last_event_ms : s->last_seen_ms);
  s->state = !s->online                                           ? HQ_FLEET_OFFLINE
             : !s->hb_ms || since(now, s->hb_ms) >= v->o.stale_after_ms ? HQ_FLEET_STALE
             : s->lag_ms >= v->o.lag_warn_ms                        ? HQ_FLEET_LAGGING
                                                                    : HQ_FLEET_OK;
}

static int worst_store(const void *a, const void *b) {
  const hq_view_fleet_store *x = a, *y = b;
  if (x->state != y->state) return x->state < y->state ? -1 : 1;
  if (x->lag_ms != y->lag_ms) return x->lag_ms > y->lag_ms ? -1 : 1;
  return strcmp(x->store, y->store);
}

static int most_stores(const void *a, const void *b) {
  const hq_view_version *x = a, *y = b;
  if (x->stores != y->stores) return x->stores > y->stores ? -1 : 1;
  return strcmp(x->version, y->version);
}

/* Tally s's version (linear: a fleet runs a handful of versions). */
static int count_version(hq_view_fleet *f, size_t *cap, const char *version) {
  for (size_t i = 0; i < f->n_versions; i++) {
    if (strcmp(f->versions[i].version, version) == 0) {
      f->versions[i].stores++;
      return 0;
    }
  }
  if (hq__v_grow((void **)&f->versions, cap, f->n_versions + 1, sizeof *f->versions) != 0) return -1;
  hq_view_version *x = &f->versions[f->n_versions++];
  snprintf(x->version, sizeof x->version, "%s", version);
  x->stores = 1;
  return 0;
}

static int scan(hq_views *v, hq_view_fleet *f, hq_err *err) {
  int rc = HQ_OK;
  size_t cap = 0, cap_v = 0;
  sqlite3_stmt *st = hq__v_stmt(v, HQ_VQ_FLEET, err, "t", f->w.store);
  if (!st) return err->code;
  while (rc == HQ_OK && hq__v_row(v, st, &rc, "fleet", err)) {
    if (hq__v_grow((void **)&f->stores, &cap, f->n_stores + 1, sizeof *f->stores) != 0) {
      rc = hq_err_set(err, HQ_ENOMEM, "views: out of memory");
      break;
    }
    hq_view_fleet_store *s = &f->stores[f->n_stores++];
    fleet_row(v, f->w.now_ms, st, s);
    f->by_state[s->state]++;
    if (s->lag_ms > f->lag_max_ms) f->lag_max_ms = s->lag_ms;
    if (count_version(f, &cap_v, s->version) != 0) rc = hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  }
  sqlite3_reset(st);
  return rc;
}

int hq_views_fleet(hq_views *v, const hq_view_query *q, hq_view_fleet *out, hq_err *err) {
  memset(out, 0, sizeof *out);
  int rc = hq__v_begin(v, q, &out->w, err);
  if (rc != HQ_OK) return rc;
  rc = hq__v_end(v, scan(v, out, err), err);
  if (rc != HQ_OK) {
    hq_view_free_fleet(out);
    return rc;
  }
  out->stores_total = (uint32_t)out->n_stores;
  if (out->n_stores) qsort(out->stores, out->n_stores, sizeof *out->stores, worst_store);
  if (out->n_versions) qsort(out->versions, out->n_versions, sizeof *out->versions, most_stores);
  if (out->n_stores > hq__v_limit(q)) out->n_stores = hq__v_limit(q);
  return HQ_OK;
}

void hq_view_free_fleet(hq_view_fleet *f) {
  if (!f) return;
  free(f->stores);
  free(f->versions);
  f->stores = NULL;
  f->versions = NULL;
  f->n_stores = f->n_versions = 0;
}
