/* stores.c - stores, catalog and stock transfers as HQ sets them.
 *
 *   GET  /api/v1/stores, /api/v1/stores/<id>   the stores rows + settings
 *   PUT  /api/v1/stores/<id>   store.settings (origin hq:<id>): each field is
 *        its own LWW register, so HQ changing the location and a manager
 *        pausing the store at the same time both stick
 *   PUT  /api/v1/catalog/<sku> catalog.entry for every known store, or the
 *        stores listed
 *   POST /api/v1/transfers     stock moving from one store to another.
 *
 * Transfers (decision, docs/hq.md): HQ writes only the sender's side, a
 * stock.delta transfer_out (-qty, ref = transfer id, peer = receiver) with
 * origin hq:<from>, at once: the goods are promised and must not be sold
 * or routed to again.  The receiver's transfer_in is written by the
 * receiving store when the goods arrive (tablet command stock.transfer_in
 * with the same transfer id); HQ sees that delta and marks the transfer
 * received.  Writing the receiver's side at HQ would make HQ route orders
 * to stock that is still on the truck.  The sender's staff must not record
 * the transfer_out again on their tablet.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core_int.h"
#include "jw.h"
#include "routing.h"

/* ---- reading ---------------------------------------------------------------------------- */

static void location(jw *w, sqlite3_stmt *st, int col) {
  if (!sqlite3_column_int(st, col + 2)) {
    jw_null(w, "location");
    return;
  }
  jw_obj(w, "location");
  jw_fixed6(w, "lat", sqlite3_column_int64(st, col));
  jw_fixed6(w, "lon", sqlite3_column_int64(st, col + 1));
  jw_end(w);
}

/* Columns 0..12 of STORE_GET / STORES_LIST. */
static void store_head(hq_core *c, jw *w, sqlite3_stmt *st) {
  const char *id = (const char *)sqlite3_column_text(st, 0);
  int64_t open = sqlite3_column_int64(st, 5), close = sqlite3_column_int64(st, 6);
  bool paused = sqlite3_column_int(st, 7) != 0;
  jw_str(w, "store_id", id);
  jw_str(w, "name", (const char *)sqlite3_column_text(st, 1));
  location(w, st, 2);
  jw_int(w, "open_min", open);
  jw_int(w, "close_min", close);
  jw_bool(w, "paused", paused);
  jw_int(w, "radius_m", sqlite3_column_int64(st, 8));
  jw_bool(w, "open_now", !paused && hq_hours_open(open, close, hq_minute_of_day(hq__now(c), c->o.tz_offset_min)));
  jw_bool(w, "online", sqlite3_column_int(st, 11) != 0);
  jw_int(w, "last_seen_ms", sqlite3_column_int64(st, 10));
  jw_int(w, "status_ms", sqlite3_column_int64(st, 12));
}

static void store_tail(jw *w, sqlite3_stmt *st, const proto_settings *set) {
  static const char *const hb[] = {"version", "uptime_s", "outbox_depth", "last_acked_seq",
                                   "last_seq", "rss_kb", "tablets", "orders_open", "ts_ms"};
  for (int f = PROTO_SET_AUTO_ACCEPT_S; f <= PROTO_SET_TARGET_WAIT_S; f++) {
    const proto_settings_field_info *fi = &proto_settings_fields()[f];
    jw_int(w, fi->key, *(const int64_t *)(const void *)((const char *)&set->v + fi->offset));
  }
  if (sqlite3_column_int64(st, 13) == 0) {
    jw_null(w, "heartbeat");
  } else {
    jw_obj(w, "heartbeat");
    jw_int(w, "at_ms", sqlite3_column_int64(st, 13));
    jw_str(w, hb[0], (const char *)sqlite3_column_text(st, 14));
    for (int i = 1; i < 9; i++) jw_int(w, hb[i], sqlite3_column_int64(st, 14 + i));
    jw_end(w);
  }
  jw_obj(w, "replication");
  jw_int(w, "up_seq", sqlite3_column_int64(st, 23));
  jw_int(w, "down_seq", sqlite3_column_int64(st, 24));
  jw_int(w, "down_acked", sqlite3_column_int64(st, 25));
  jw_end(w);
}

int hq_store_get(hq_core *c, const char *store, proto_buf *body, hq_err *err) {
  sqlite3_stmt *st = NULL;
  proto_settings set;
  bool found = false;
  jw w;
  int rc = proto_id_valid(store) ? hq__settings_load(c, store, &set, NULL, err)
                                 : hq_err_field(err, HQ_ENOTFOUND, "store", "not a store id");
  if (rc != HQ_OK) return rc;
  proto_buf_reset(body);
  jw_init(&w, body);
  int src = rt_db_bind(&c->db, HQ_Q_STORE_GET, &st, "t", store);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    found = true;
    jw_obj(&w, NULL);
    store_head(c, &w, st);
    store_tail(&w, st, &set);
    jw_end(&w);
  }
  src = rt_db_end(st, src);
  if (src != SQLITE_OK) return hq__dberr(c, src, "store", err);
  if (!found) return hq_err_field(err, HQ_ENOTFOUND, "store", "no store '%s'", store);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

int hq_stores_list(hq_core *c, proto_buf *body, hq_err *err) {
  sqlite3_stmt *st = NULL;
  jw w;
  proto_buf_reset(body);
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_arr(&w, "stores");
  int src = rt_db_bind(&c->db, HQ_Q_STORES_LIST, &st, "");
  while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    jw_obj(&w, NULL);
    store_head(c, &w, st);
    jw_end(&w);
    src = SQLITE_OK;
  }
  src = rt_db_end(st, src);
  jw_end_arr(&w);
  jw_end(&w);
  if (src != SQLITE_OK) return hq__dberr(c, src, "stores", err);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

/* ---- store settings ------------------------------------------------------------------------ */

static int check_settings(const proto_ev_settings *s, hq_err *err) {
  const proto_settings_field_info *t = proto_settings_fields();
  if (s->present == 0 || (s->present >> PROTO_SET__COUNT) != 0)
    return hq_err_field(err, HQ_EINVAL, "settings", "no setting given");
  for (int f = 0; f < PROTO_SET__COUNT; f++) {
    if (!(s->present & (1u << f)) || t[f].type != PROTO_FIELD_INT) continue;
    int64_t v = *(const int64_t *)(const void *)((const char *)&s->v + t[f].offset);
    if (v < t[f].min || v > t[f].max)
      return hq_err_field(err, HQ_EINVAL, t[f].key, "%" PRId64 " is out of range %" PRId64 "..%" PRId64,
                          v, t[f].min, t[f].max);
  }
  if ((s->present & (1u << PROTO_SET_NAME)) && !s->v.name[0])
    return hq_err_field(err, HQ_EINVAL, "name", "must not be empty");
  return HQ_OK;
}

int hq_store_put(hq_core *c, const char *store, const hq_store_req *r, proto_buf *body,
                 hq_err *err) {
  proto_event ev;
  int rc = check_settings(&r->set, err);
  if (rc == HQ_OK) rc = hq__cmd_begin(c, err);
  if (rc != HQ_OK) return rc;
  hq__store *s = hq__store_get(c, store, true, err);
  rc = s ? HQ_OK : HQ_EINVAL;
  if (rc == HQ_OK) {
    proto_event_init(&ev, PROTO_EV_STORE_SETTINGS, "", 0, 0, "");
    ev.body.settings = r->set;
    rc = hq__emit(c, s, &ev, err);
  }
  rc = hq__cmd_end(c, rc, err);
  return rc == HQ_OK ? hq_store_get(c, store, body, err) : rc;
}

/* ---- catalog ---------------------------------------------------------------------------------- */

static int catalog_one(hq_core *c, const char *store, const proto_ev_catalog *entry,
                       const char *field, hq_err *err) {
  proto_event ev;
  hq__store *s = hq__store_get(c, store, false, err);
  if (!s) return hq_err_field(err, HQ_EINVAL, field, "unknown store '%.63s'", store);
  if (!(s = hq__store_get(c, store, true, err))) return HQ_EINVAL;
  proto_event_init(&ev, PROTO_EV_CATALOG_ENTRY, "", 0, 0, "");
  ev.body.catalog = *entry;
  return hq__emit(c, s, &ev, err);
}

static int catalog_all(hq_core *c, const proto_ev_catalog *entry, size_t *n, hq_err *err) {
  /* The registry holds every store of the stores table (loaded at open). */
  int rc = HQ_OK;
  for (size_t i = 0; rc == HQ_OK && i < c->n_stores; i++, (*n)++)
    rc = catalog_one(c, c->stores[i]->id, entry, "store", err);
  return rc;
}

int hq_catalog_put(hq_core *c, const char *sku, const hq_catalog_req *r, proto_buf *body,
                   hq_err *err) {
  proto_ev_catalog entry = r->entry;
  size_t n = 0;
  jw w;
  if (!proto_id_valid(sku)) return hq_err_field(err, HQ_EINVAL, "sku", "not an id [A-Za-z0-9_.:-]{1,63}");
  if (!r->has_name || !entry.name[0]) return hq_err_field(err, HQ_EINVAL, "name", "required");
  if (!r->has_price || entry.price < 0 || entry.price > PROTO_MONEY_MAX)
    return hq_err_field(err, HQ_EINVAL, "price", "required, cents 0..%" PRId64, PROTO_MONEY_MAX);
  if (entry.low_threshold < 0 || entry.low_threshold > PROTO_STOCK_MAX)
    return hq_err_field(err, HQ_EINVAL, "low_threshold", "0..%" PRId64, PROTO_STOCK_MAX);
  snprintf(entry.sku, sizeof entry.sku, "%s", sku);
  int rc = hq__cmd_begin(c, err);
  if (rc != HQ_OK) return rc;
  if (r->n_stores == 0) rc = catalog_all(c, &entry, &n, err);
  for (size_t i = 0; rc == HQ_OK && i < r->n_stores; i++, n++) {
    char field[32];
    snprintf(field, sizeof field, "stores[%zu]", i);
    rc = catalog_one(c, r->stores[i], &entry, field, err);
  }
  rc = hq__cmd_end(c, rc, err);
  if (rc != HQ_OK) return rc;
  proto_buf_reset(body);
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_str(&w, "sku", sku);
  jw_u64(&w, "stores", n);
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

/* ---- transfers ------------------------------------------------------------------------------ */

static int transfer_json(proto_buf *body, const char *id, const hq_transfer_req *r, int64_t created,
                         int64_t out_seq, int64_t received_ms, int64_t received_qty) {
  jw w;
  proto_buf_reset(body);
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_str(&w, "transfer_id", id);
  jw_str(&w, "from_store", r->from_store);
  jw_str(&w, "to_store", r->to_store);
  jw_str(&w, "sku", r->sku);
  jw_int(&w, "qty", r->qty);
  jw_str(&w, "status", received_qty >= r->qty ? "received" : received_qty > 0 ? "partial" : "sent");
  jw_int(&w, "created_ms", created);
  jw_int(&w, "out_seq", out_seq);
  jw_int(&w, "received_ms", received_ms);
  jw_int(&w, "received_qty", received_qty);
  jw_end(&w);
  return jw_done(&w);
}

/* The stored transfer id into *t (found false if none). */
static int transfer_load(hq_core *c, const char *id, hq_transfer_req *t, int64_t f[4], bool *found,
                         hq_err *err) {
  sqlite3_stmt *st = NULL;
  int src = rt_db_bind(&c->db, HQ_Q_XFER_GET, &st, "t", id);
  *found = false;
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    *found = true;
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->from_store, sizeof t->from_store, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(t->to_store, sizeof t->to_store, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(t->sku, sizeof t->sku, "%s", (const char *)sqlite3_column_text(st, 2));
    t->qty = sqlite3_column_int64(st, 3);
    for (int i = 0; i < 4; i++) f[i] = sqlite3_column_int64(st, 4 + i);
  }
  src = rt_db_end(st, src);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "transfer", err);
}

int hq_transfer_get(hq_core *c, const char *id, proto_buf *body, hq_err *err) {
  hq_transfer_req t;
  int64_t f[4];
  bool found = false;
  int rc = proto_id_valid(id) ? transfer_load(c, id, &t, f, &found, err) : HQ_OK;
  if (rc == HQ_OK && !found) rc = hq_err_field(err, HQ_ENOTFOUND, "transfer_id", "no transfer '%.63s'", id);
  if (rc == HQ_OK && transfer_json(body, id, &t, f[0], f[1], f[2], f[3]) != PROTO_OK)
    rc = hq_err_set(err, HQ_ENOMEM, NULL);
  return rc;
}

static int check_transfer(hq_core *c, const hq_transfer_req *r, hq_err *err) {
  if (r->id[0] && !proto_id_valid(r->id)) return hq_err_field(err, HQ_EINVAL, "transfer_id", "not an id");
  if (!proto_id_valid(r->sku)) return hq_err_field(err, HQ_EINVAL, "sku", "required id");
  if (r->qty < 1 || r->qty > PROTO_STOCK_MAX)
    return hq_err_field(err, HQ_EINVAL, "qty", "1..%" PRId64, PROTO_STOCK_MAX);
  if (!hq__store_get(c, r->from_store, false, NULL))
    return hq_err_field(err, HQ_EINVAL, "from_store", "unknown store '%.63s'", r->from_store);
  if (!hq__store_get(c, r->to_store, false, NULL))
    return hq_err_field(err, HQ_EINVAL, "to_store", "unknown store '%.63s'", r->to_store);
  if (strcmp(r->from_store, r->to_store) == 0)
    return hq_err_field(err, HQ_EINVAL, "to_store", "the same store as from_store");
  return HQ_OK;
}

static bool same_transfer(const hq_transfer_req *a, const hq_transfer_req *b) {
  return strcmp(a->from_store, b->from_store) == 0 && strcmp(a->to_store, b->to_store) == 0 &&
         strcmp(a->sku, b->sku) == 0 && a->qty == b->qty;
}

static int transfer(hq_core *c, const hq_transfer_req *r, const char *id, unsigned *status,
                    proto_buf *body, hq_err *err) {
  hq_transfer_req old;
  int64_t f[4];
  bool found = false;
  proto_event ev;
  int rc = transfer_load(c, id, &old, f, &found, err);
  if (rc == HQ_OK && found) { /* a retry */
    if (!same_transfer(&old, r))
      return hq_err_field(err, HQ_EIDEMPOTENT, "transfer_id", "already used for another transfer");
    *status = 200;
    return transfer_json(body, id, &old, f[0], f[1], f[2], f[3]) == PROTO_OK ? HQ_OK : HQ_ENOMEM;
  }
  hq__store *s = rc == HQ_OK ? hq__store_get(c, r->from_store, true, err) : NULL;
  if (!s) return rc == HQ_OK ? HQ_EINVAL : rc;
  proto_event_init(&ev, PROTO_EV_STOCK_DELTA, "", 0, 0, "");
  proto_ev_delta *d = &ev.body.delta;
  snprintf(d->sku, sizeof d->sku, "%s", r->sku);
  d->delta = -r->qty;
  d->reason = PROTO_STOCK_TRANSFER_OUT;
  snprintf(d->ref, sizeof d->ref, "%s", id);
  snprintf(d->peer, sizeof d->peer, "%s", r->to_store);
  snprintf(d->note, sizeof d->note, "%s", r->note);
  rc = hq__emit(c, s, &ev, err);
  int64_t now = (int64_t)hq__now(c);
  if (rc == HQ_OK) {
    int src = rt_db_run(&c->db, HQ_Q_XFER_PUT, "ttttiii", id, r->from_store, r->to_store, r->sku,
                        r->qty, now, (int64_t)ev.seq);
    if (src != SQLITE_OK) rc = hq__dberr(c, src, "transfer", err);
  }
  *status = 201;
  if (rc == HQ_OK && transfer_json(body, id, r, now, (int64_t)ev.seq, 0, 0) != PROTO_OK)
    rc = hq_err_set(err, HQ_ENOMEM, NULL);
  return rc;
}

int hq_transfer_create(hq_core *c, const hq_transfer_req *r, unsigned *status, proto_buf *body,
                       hq_err *err) {
  char id[PROTO_ID_MAX];
  int rc = check_transfer(c, r, err);
  if (rc == HQ_OK) rc = hq__cmd_begin(c, err);
  if (rc != HQ_OK) return rc;
  if (r->id[0]) {
    snprintf(id, sizeof id, "%s", r->id);
  } else { /* "t-<hlc>": unique, the HLC only grows */
    snprintf(id, sizeof id, "t-%" PRIu64, proto_hlc_send(&c->hlc, hq__now(c)));
  }
  return hq__cmd_end(c, transfer(c, r, id, status, body, err), err);
}
