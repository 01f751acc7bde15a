/* intake.c - POST /api/v1/orders: validate, deduplicate, route, dispatch.
 *
 *   request --hq_order_validate--> 422 naming the field
 *           --intake[client/idem_key]--> seen: same request -> the stored answer
 *                                       other request -> 422 idempotency_mismatch
 *           --route--> pickup: the customer's store (exists, open, stock)
 *                      delivery: nearest open store within its radius with
 *                      stock (routing.h); express: store_id, else as delivery
 *           --no store--> 409 {"error":"no_store","reason":...}   (stored)
 *           --order.dispatched (origin hq:<store>, random pickup code)-->
 *             201 {order_id, store_id, pickup_code, status}       (stored)
 *   all in one transaction: the answer is stored with the order, so a crash
 *   either made both or neither, and a retry can never make a second order.
 *
 * Stock as HQ knows it, per SKU at a store (SKU_ROUTE in db.h):
 *   no catalog entry, inactive, or sold out           -> cannot serve
 *   no stock rows (made to order, e.g. a latte)       -> can serve
 *   else on_hand - units on open orders >= wanted     -> can serve
 * Open orders include those dispatched and not yet accepted, so a burst of
 * orders does not all land on the one store with the last cups.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "commands.h"
#include "core_int.h"
#include "jw.h"
#include "routing.h"

/* ---- validation ------------------------------------------------------------------ */

static int check_key(const char *k, hq_err *err) {
  size_t n = strlen(k);
  if (n == 0)
    return hq_err_field(err, HQ_EINVAL, "idempotency_key",
                        "required: an Idempotency-Key header or an \"idempotency_key\" field");
  if (n >= HQ_IDEM_MAX)
    return hq_err_field(err, HQ_EINVAL, "idempotency_key", "longer than %d bytes", HQ_IDEM_MAX - 1);
  for (const char *p = k; *p; p++)
    if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
      return hq_err_field(err, HQ_EINVAL, "idempotency_key", "visible ASCII characters only");
  return HQ_OK;
}

static int check_line(const hq_line *l, uint32_t i, hq_err *err) {
  char f[32];
  if (!proto_id_valid(l->sku)) {
    snprintf(f, sizeof f, "items[%" PRIu32 "].sku", i);
    return hq_err_field(err, HQ_EINVAL, f, "required, 1-63 characters of [A-Za-z0-9_.:-]");
  }
  if (l->qty < 1 || l->qty > PROTO_QTY_MAX) {
    snprintf(f, sizeof f, "items[%" PRIu32 "].qty", i);
    return hq_err_field(err, HQ_EINVAL, f, "%" PRId64 " is out of range 1..%d", l->qty, PROTO_QTY_MAX);
  }
  if (l->has_price && (l->price < 0 || l->price > PROTO_MONEY_MAX)) {
    snprintf(f, sizeof f, "items[%" PRIu32 "].price", i);
    return hq_err_field(err, HQ_EINVAL, f, "cents, 0..%" PRId64, PROTO_MONEY_MAX);
  }
  return HQ_OK;
}

static int check_place(const hq_order_req *r, hq_err *err) {
  bool pickup = r->kind == PROTO_KIND_PICKUP, delivery = r->kind == PROTO_KIND_DELIVERY;
  if (r->store_id[0] && !proto_id_valid(r->store_id))
    return hq_err_field(err, HQ_EINVAL, "store_id", "not a store id");
  if (pickup && !r->store_id[0])
    return hq_err_field(err, HQ_EINVAL, "store_id", "required for pickup orders");
  if (delivery && !r->has_location)
    return hq_err_field(err, HQ_EINVAL, "location", "required for delivery orders: {\"lat\":..,\"lon\":..}");
  if (!pickup && !delivery && !r->store_id[0] && !r->has_location)
    return hq_err_field(err, HQ_EINVAL, "location", "express orders need store_id or location");
  if (r->has_location && (r->lat_e6 < -90000000 || r->lat_e6 > 90000000))
    return hq_err_field(err, HQ_EINVAL, "location.lat", "out of range -90..90");
  if (r->has_location && (r->lon_e6 < -180000000 || r->lon_e6 > 180000000))
    return hq_err_field(err, HQ_EINVAL, "location.lon", "out of range -180..180");
  return HQ_OK;
}

int hq_order_validate(const hq_order_req *r, hq_err *err) {
  int rc = check_key(r->idem_key, err);
  if (rc != HQ_OK) return rc;
  if (!r->has_kind || (unsigned)r->kind >= PROTO_KIND__COUNT)
    return hq_err_field(err, HQ_EINVAL, "kind", "required: pickup, delivery or express");
  if (r->n_items < 1 || r->n_items > PROTO_ITEMS_MAX)
    return hq_err_field(err, HQ_EINVAL, "items", "required: 1..%d lines of {sku, qty}", PROTO_ITEMS_MAX);
  for (uint32_t i = 0; i < r->n_items && rc == HQ_OK; i++) rc = check_line(&r->items[i], i, err);
  if (rc == HQ_OK) rc = check_place(r, err);
  if (rc == HQ_OK && r->placed_ms > PROTO_SEQ_MAX)
    rc = hq_err_field(err, HQ_EINVAL, "placed_ms", "out of range");
  return rc;
}

/* ---- request hash ---------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}
static uint64_t fnv_str(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }
static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }

uint64_t hq_order_req_hash(const hq_order_req *r) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  h = fnv_i64(h, r->kind);
  h = fnv_str(h, r->store_id);
  h = fnv_i64(h, r->has_location ? r->lat_e6 : INT64_MIN);
  h = fnv_i64(h, r->has_location ? r->lon_e6 : INT64_MIN);
  h = fnv_i64(h, r->n_items);
  for (uint32_t i = 0; i < r->n_items && i < PROTO_ITEMS_MAX; i++) {
    h = fnv_str(h, r->items[i].sku);
    h = fnv_i64(h, r->items[i].qty);
    h = fnv_i64(h, r->items[i].has_price ? r->items[i].price : -1);
    h = fnv_str(h, r->items[i].name);
  }
  h = fnv_str(h, r->customer);
  h = fnv_str(h, r->phone_tail);
  h = fnv_str(h, r->note);
  return fnv_i64(h, (int64_t)r->placed_ms) >> 1; /* fits SQLite's signed integer */
}

/* ---- stock and opening -------------------------------------------------------------------- */

/* Catalog price and name of one SKU at the chosen store. */
typedef struct sku_info {
  int64_t price;
  char name[PROTO_NAME_MAX];
} sku_info;

/* Can store serve `want` units of sku?  *info (may be NULL) gets the catalog. */
static int sku_covers(hq_core *c, const char *store, const char *sku, int64_t want, bool *ok,
                      sku_info *info, hq_err *err) {
  sqlite3_stmt *st = NULL;
  int src = rt_db_bind(&c->db, HQ_Q_SKU_ROUTE, &st, "tt", store, sku);
  *ok = false;
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    bool sold_out = sqlite3_column_int(st, 0) != 0, active = sqlite3_column_int(st, 1) != 0;
    bool tracked = sqlite3_column_type(st, 4) != SQLITE_NULL;
    int64_t avail = sqlite3_column_int64(st, 4) - sqlite3_column_int64(st, 5);
    *ok = active && !sold_out && (!tracked || avail >= want);
    if (info) {
      const char *name = (const char *)sqlite3_column_text(st, 3);
      info->price = sqlite3_column_int64(st, 2);
      snprintf(info->name, sizeof info->name, "%s", name ? name : "");
    }
  }
  src = rt_db_end(st, src);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "stock", err);
}

/* Every line, with the lines of one SKU added up. */
static int covers(hq_core *c, const char *store, const hq_order_req *r, bool *ok, hq_err *err) {
  int rc = HQ_OK;
  *ok = true;
  for (uint32_t i = 0; rc == HQ_OK && *ok && i < r->n_items; i++) {
    int64_t want = 0;
    bool first = true;
    for (uint32_t j = 0; j < r->n_items; j++) {
      if (strcmp(r->items[j].sku, r->items[i].sku) != 0) continue;
      if (j < i) first = false;
      want += r->items[j].qty;
    }
    if (first) rc = sku_covers(c, store, r->items[i].sku, want, ok, NULL, err);
  }
  return rc;
}

static bool online(hq_core *c, const char *store) {
  hq__store *s = hq__store_get(c, store, false, NULL);
  return !c->o.route_online_only || (s && s->online);
}

static bool is_open(hq_core *c, const char *store, int64_t open_min, int64_t close_min, bool paused) {
  int now = hq_minute_of_day(hq__now(c), c->o.tz_offset_min);
  return !paused && hq_hours_open(open_min, close_min, now) && online(c, store);
}

/* ---- routing --------------------------------------------------------------------------- */

typedef struct route {
  char store[PROTO_ID_MAX];
  bool found;
  hq_nostore why;
  double distance_m;               /* < 0: not routed by distance */
} route;

static int route_fixed(hq_core *c, const hq_order_req *r, route *out, hq_err *err) {
  sqlite3_stmt *st = NULL;
  bool exists = false, open = false, ok = false;
  int src = rt_db_bind(&c->db, HQ_Q_STORE_GET, &st, "t", r->store_id);
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    exists = true;
    open = is_open(c, r->store_id, sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6),
                   sqlite3_column_int(st, 7) != 0);
  }
  src = rt_db_end(st, src);
  if (src != SQLITE_OK) return hq__dberr(c, src, "store", err);
  if (!exists) return hq_err_field(err, HQ_EINVAL, "store_id", "unknown store '%s'", r->store_id);
  snprintf(out->store, sizeof out->store, "%s", r->store_id);
  out->distance_m = -1;
  int rc = open ? covers(c, r->store_id, r, &ok, err) : HQ_OK;
  out->found = open && ok;
  out->why = !open ? HQ_NOSTORE_CLOSED : HQ_NOSTORE_OUT_OF_STOCK;
  return rc;
}

/* Stores in the bounding box of the largest radius, as candidates. */
static int near(hq_core *c, const hq_order_req *r, hq_candidate **out, size_t *n, hq_err *err) {
  int64_t maxr = 0, box[4];
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  int src = rt_db_get_i64(&c->db, HQ_Q_STORES_MAX_RADIUS, &maxr, NULL, "");
  hq_route_box(r->lat_e6, r->lon_e6, maxr, box);
  if (src == SQLITE_OK) src = rt_db_bind(&c->db, HQ_Q_STORES_NEAR, &st, "iiii", box[0], box[1], box[2], box[3]);
  while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      void *p = realloc(*out, (cap = cap ? cap * 2 : 32) * sizeof **out);
      if (!p) {
        src = SQLITE_NOMEM;
        break;
      }
      *out = p;
    }
    hq_candidate *k = &(*out)[(*n)++];
    memset(k, 0, sizeof *k);
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(k->store, sizeof k->store, "%s", id ? id : "");
    k->lat_e6 = sqlite3_column_int64(st, 1);
    k->lon_e6 = sqlite3_column_int64(st, 2);
    k->radius_m = sqlite3_column_int64(st, 3);
    k->open = is_open(c, k->store, sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
                      sqlite3_column_int(st, 6) != 0);
    src = SQLITE_OK;
  }
  src = rt_db_end(st, src);
  return src == SQLITE_OK ? HQ_OK : hq__dberr(c, src, "stores near", err);
}

static int route_near(hq_core *c, const hq_order_req *r, route *out, hq_err *err) {
  hq_candidate *k = NULL;
  size_t n = 0;
  int rc = near(c, r, &k, &n, err);
  /* Stock and load only where they can matter: in range and open. */
  for (size_t i = 0; rc == HQ_OK && i < n; i++) {
    double d = hq_haversine_m(r->lat_e6, r->lon_e6, k[i].lat_e6, k[i].lon_e6);
    if (!k[i].open || k[i].radius_m <= 0 || d > (double)k[i].radius_m) continue;
    rc = covers(c, k[i].store, r, &k[i].has_stock, err);
    int64_t load = 0;
    if (rc == HQ_OK && k[i].has_stock) {
      int src = rt_db_get_i64(&c->db, HQ_Q_ORDERS_OPEN, &load, NULL, "t", k[i].store);
      if (src != SQLITE_OK) rc = hq__dberr(c, src, "open orders", err);
    }
    k[i].open_orders = (uint64_t)load;
  }
  int best = rc == HQ_OK ? hq_route_pick(k, n, r->lat_e6, r->lon_e6, &out->why) : -1;
  out->found = best >= 0;
  if (best >= 0) {
    snprintf(out->store, sizeof out->store, "%s", k[best].store);
    out->distance_m = k[best].distance_m;
  }
  free(k);
  return rc;
}

/* ---- the order ------------------------------------------------------------------------- */

static void pickup_code(char *out, int digits) {
  unsigned char rnd[8] = {0};
  if (digits < 4 || digits > 6) digits = 4;
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    struct timespec ts; /* no entropy yet (early boot): still unpredictable enough for a code */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    memcpy(rnd, &ts.tv_nsec, sizeof ts.tv_nsec < sizeof rnd ? sizeof ts.tv_nsec : sizeof rnd);
  }
  for (int i = 0; i < digits; i++) out[i] = (char)('0' + rnd[i] % 10);
  out[digits] = '\0';
}

/* "o-20261121-<hlc base36>": unique because the HLC only grows. */
static void order_id(hq_core *c, char *out, size_t cap) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char b36[16];
  size_t n = 0;
  uint64_t h = proto_hlc_send(&c->hlc, hq__now(c));
  time_t t = (time_t)((int64_t)(PROTO_HLC_MS(h) / 1000u) + c->o.tz_offset_min * 60);
  struct tm tm;
  gmtime_r(&t, &tm);
  do b36[n++] = digits[h % 36]; while ((h /= 36) && n < sizeof b36);
  int len = snprintf(out, cap, "o-%04d%02d%02d-", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  for (size_t i = 0; len > 0 && (size_t)len + 1 < cap && i < n; i++) out[len++] = b36[n - 1 - i];
  out[len > 0 ? len : 0] = '\0';
}

static int dispatch(hq_core *c, const hq_order_req *r, const route *rt, proto_event *ev,
                    hq_err *err) {
  proto_ev_dispatched *d = &ev->body.dispatched;
  hq__store *s = hq__store_get(c, rt->store, true, err);
  int rc = s ? HQ_OK : HQ_EINVAL;
  proto_event_init(ev, PROTO_EV_ORDER_DISPATCHED, "", 0, 0, "");
  order_id(c, d->order_id, sizeof d->order_id);
  d->kind = r->kind;
  d->n_items = r->n_items;
  for (uint32_t i = 0; rc == HQ_OK && i < r->n_items; i++) {
    const hq_line *l = &r->items[i];
    sku_info info = {0, ""};
    bool ok = false;
    rc = sku_covers(c, rt->store, l->sku, 0, &ok, &info, err);
    snprintf(d->items[i].sku, sizeof d->items[i].sku, "%s", l->sku);
    snprintf(d->items[i].name, sizeof d->items[i].name, "%s", l->name[0] ? l->name : info.name);
    d->items[i].qty = (int32_t)l->qty;
    d->items[i].price = l->has_price ? l->price : info.price;
    d->total += d->items[i].price * l->qty;
  }
  if (rc == HQ_OK && d->total > PROTO_MONEY_MAX)
    rc = hq_err_field(err, HQ_EINVAL, "items", "order total over %" PRId64 " cents", PROTO_MONEY_MAX);
  pickup_code(d->pickup_code, c->o.pickup_digits);
  snprintf(d->customer, sizeof d->customer, "%s", r->customer);
  snprintf(d->phone_tail, sizeof d->phone_tail, "%s", r->phone_tail);
  snprintf(d->note, sizeof d->note, "%s", r->note);
  d->placed_ms = r->placed_ms ? r->placed_ms : hq__now(c);
  return rc == HQ_OK ? hq__emit(c, s, ev, err) : rc;
}

static int answer_created(proto_buf *body, const proto_event *ev, const route *rt) {
  const proto_ev_dispatched *d = &ev->body.dispatched;
  jw w;
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_str(&w, "order_id", d->order_id);
  jw_str(&w, "store_id", rt->store);
  jw_str(&w, "pickup_code", d->pickup_code);
  jw_str(&w, "status", "dispatched");
  jw_str(&w, "kind", proto_order_kind_name(d->kind));
  jw_int(&w, "total", d->total);
  if (rt->distance_m >= 0) jw_int(&w, "distance_m", (int64_t)(rt->distance_m + 0.5));
  jw_end(&w);
  return jw_done(&w);
}

static const char *const why_text[HQ_NOSTORE__COUNT] = {
    [HQ_NOSTORE_OUT_OF_RANGE] = "no store delivers to this location",
    [HQ_NOSTORE_OUT_OF_STOCK] = "no open store in range has every item in stock",
    [HQ_NOSTORE_CLOSED] = "the stores that could serve the order are closed or paused",
};

static int answer_no_store(proto_buf *body, hq_nostore why) {
  jw w;
  jw_init(&w, body);
  jw_obj(&w, NULL);
  jw_str(&w, "error", "no_store");
  jw_str(&w, "reason", hq_nostore_name(why));
  jw_str(&w, "message", why_text[why]);
  jw_end(&w);
  return jw_done(&w);
}

/* The row key of an idempotency key: "<client>/<key>", so two clients (two
 * malls) can never collide on the same key; just the key on an open API. */
static void row_key(const hq_order_req *r, char *out, size_t cap) {
  snprintf(out, cap, "%s%s%s", r->client, r->client[0] ? "/" : "", r->idem_key);
}

/* The stored answer of an earlier request with this key, if any. */
static int replay(hq_core *c, const hq_order_req *r, uint64_t hash, bool *found, unsigned *status,
                  proto_buf *body, hq_err *err) {
  sqlite3_stmt *st = NULL;
  char key[PROTO_ID_MAX + HQ_IDEM_MAX + 1];
  row_key(r, key, sizeof key);
  int src = rt_db_bind(&c->db, HQ_Q_INTAKE_GET, &st, "t", key), rc = HQ_OK;
  *found = false;
  if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    *found = true;
    if ((uint64_t)sqlite3_column_int64(st, 0) != hash) {
      rc = hq_err_field(err, HQ_EIDEMPOTENT, "idempotency_key",
                        "already used for a different order request");
    } else {
      const char *resp = (const char *)sqlite3_column_text(st, 2);
      *status = (unsigned)sqlite3_column_int(st, 1);
      proto_buf_reset(body);
      if (proto_buf_puts(body, resp ? resp : "{}") != PROTO_OK) rc = hq_err_set(err, HQ_ENOMEM, NULL);
    }
  }
  src = rt_db_end(st, src);
  return rc == HQ_OK && src != SQLITE_OK ? hq__dberr(c, src, "idempotency key", err) : rc;
}

static int create(hq_core *c, const hq_order_req *r, unsigned *status, proto_buf *body,
                  hq_err *err) {
  uint64_t hash = hq_order_req_hash(r);
  bool found = false;
  route rt = {"", false, HQ_NOSTORE_OUT_OF_RANGE, -1};
  proto_event ev;
  int rc = replay(c, r, hash, &found, status, body, err);
  if (rc != HQ_OK || found) {
    if (found && rc == HQ_OK) c->stats.orders_replayed++;
    return rc;
  }
  rc = r->store_id[0] ? route_fixed(c, r, &rt, err) : route_near(c, r, &rt, err);
  if (rc == HQ_OK && rt.found) rc = dispatch(c, r, &rt, &ev, err);
  proto_buf_reset(body);
  if (rc == HQ_OK && (rt.found ? answer_created(body, &ev, &rt) : answer_no_store(body, rt.why)) != PROTO_OK)
    rc = hq_err_set(err, HQ_ENOMEM, NULL);
  *status = rt.found ? 201 : 409;
  if (rc == HQ_OK) {
    char key[PROTO_ID_MAX + HQ_IDEM_MAX + 1];
    row_key(r, key, sizeof key);
    int src = rt_db_run(&c->db, HQ_Q_INTAKE_PUT, "tiitti", key, (int64_t)hash,
                        (int64_t)*status, body->data, rt.found ? ev.body.dispatched.order_id : "",
                        (int64_t)hq__now(c));
    if (src != SQLITE_OK) rc = hq__dberr(c, src, "idempotency key", err);
  }
  if (rc == HQ_OK && rt.found) c->stats.orders_created++;
  if (rc == HQ_OK && !rt.found) c->stats.no_store[rt.why]++;
  return rc;
}

int hq_order_create(hq_core *c, const hq_order_req *r, unsigned *status, proto_buf *body,
                    hq_err *err) {
  int rc = hq_order_validate(r, err);
  if (rc != HQ_OK) return rc;
  rc = hq__cmd_begin(c, err);
  if (rc != HQ_OK) return rc;
  return hq__cmd_end(c, create(c, r, status, body, err), err);
}
