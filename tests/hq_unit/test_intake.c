/* test_intake.c - order intake: the validation rules, idempotency, and
 * routing against HQ's database (stores, catalog, stock from the boxes'
 * events, open orders). */
#include <stdio.h>
#include <string.h>

#include "hq_test.h"

/* ---- validation ---------------------------------------------------------------------- */

typedef void (*mutate_fn)(hq_order_req *r);
static void m_no_key(hq_order_req *r) { r->idem_key[0] = '\0'; }
static void m_key_space(hq_order_req *r) { snprintf(r->idem_key, sizeof r->idem_key, "a b"); }
static void m_no_kind(hq_order_req *r) { r->has_kind = false; }
static void m_no_items(hq_order_req *r) { r->n_items = 0; }
static void m_qty0(hq_order_req *r) { r->items[0].qty = 0; }
static void m_qty_big(hq_order_req *r) { r->items[0].qty = 10000; }
static void m_bad_sku(hq_order_req *r) { snprintf(r->items[0].sku, sizeof r->items[0].sku, "a sku"); }
static void m_no_sku(hq_order_req *r) { r->items[0].sku[0] = '\0'; }
static void m_neg_price(hq_order_req *r) { r->items[0].has_price = true; r->items[0].price = -1; }
static void m_pickup_no_store(hq_order_req *r) { r->kind = PROTO_KIND_PICKUP; r->store_id[0] = '\0'; }
static void m_delivery_no_loc(hq_order_req *r) { r->has_location = false; }
static void m_lat(hq_order_req *r) { r->lat_e6 = 90000001; }
static void m_lon(hq_order_req *r) { r->lon_e6 = -180000001; }
static void m_express_nothing(hq_order_req *r) { r->kind = PROTO_KIND_EXPRESS; r->has_location = false; }
static void m_bad_store(hq_order_req *r) { snprintf(r->store_id, sizeof r->store_id, "s/1"); }
static void m_second_line(hq_order_req *r) {
  r->n_items = 2;
  snprintf(r->items[1].sku, sizeof r->items[1].sku, "tea");
  r->items[1].qty = -3;
}

static const struct {
  mutate_fn fn;
  const char *field;
} bad[] = {
    {m_no_key, "idempotency_key"}, {m_key_space, "idempotency_key"}, {m_no_kind, "kind"},
    {m_no_items, "items"},         {m_qty0, "items[0].qty"},        {m_qty_big, "items[0].qty"},
    {m_bad_sku, "items[0].sku"},   {m_no_sku, "items[0].sku"},      {m_neg_price, "items[0].price"},
    {m_pickup_no_store, "store_id"}, {m_delivery_no_loc, "location"}, {m_lat, "location.lat"},
    {m_lon, "location.lon"},       {m_express_nothing, "location"}, {m_bad_store, "store_id"},
    {m_second_line, "items[1].qty"},
};

static void good(hq_order_req *r) {
  t_order_req(r, "key-1", PROTO_KIND_DELIVERY, "latte", 2);
  r->has_location = true;
  r->lat_e6 = 31230400;
  r->lon_e6 = 121473700;
}

static void test_validation_names_the_field(void **state) {
  (void)state;
  hq_order_req r;
  hq_err err;
  good(&r);
  hq_err_clear(&err);
  assert_int_equal(hq_order_validate(&r, &err), HQ_OK);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    good(&r);
    bad[i].fn(&r);
    hq_err_clear(&err);
    int rc = hq_order_validate(&r, &err);
    if (rc != HQ_EINVAL || strcmp(err.field, bad[i].field) != 0)
      fail_msg("case %zu: rc %s field '%s' (%s), want invalid '%s'", i, hq_err_wire(rc), err.field,
               err.msg, bad[i].field);
    assert_int_equal(hq_err_status(rc), 422);
  }
  /* Express with a store and no location is fine; pickup with a store too. */
  good(&r);
  r.kind = PROTO_KIND_EXPRESS;
  r.has_location = false;
  snprintf(r.store_id, sizeof r.store_id, "s-1");
  assert_int_equal(hq_order_validate(&r, &err), HQ_OK);
  r.kind = PROTO_KIND_PICKUP;
  assert_int_equal(hq_order_validate(&r, &err), HQ_OK);
}

static void test_hash_is_the_meaning(void **state) {
  (void)state;
  hq_order_req a, b;
  good(&a);
  good(&b);
  snprintf(b.idem_key, sizeof b.idem_key, "another-key"); /* the key is not the request */
  assert_true(hq_order_req_hash(&a) == hq_order_req_hash(&b));
  b.items[0].qty = 3;
  assert_true(hq_order_req_hash(&a) != hq_order_req_hash(&b));
  good(&b);
  b.lon_e6++;
  assert_true(hq_order_req_hash(&a) != hq_order_req_hash(&b));
}

/* ---- against the database ------------------------------------------------------------- */

/* Three stores around People's Square; latte in the catalog of all. */
static void world(tctx *t) {
  t_store(t, "s-near", 31.2304, 121.4800, 5000); /* ~0.6 km */
  t_store(t, "s-mid", 31.2304, 121.4950, 5000);  /* ~2 km */
  t_store(t, "s-far", 31.2304, 121.5300, 5000);  /* ~5.4 km: out of its radius */
  t_catalog(t, "latte", 1900);
  t_catalog(t, "cake", 2500);
  t_receive(t, "s-near", "cake", 1);
  t_receive(t, "s-mid", "cake", 10);
  t_receive(t, "s-far", "cake", 10);
}

static int create(tctx *t, const hq_order_req *r, unsigned *status) {
  hq_err_clear(&t->err);
  return hq_order_create(t->c, r, status, &t->body, &t->err);
}

static void delivery(hq_order_req *r, const char *key, const char *sku, int64_t qty) {
  t_order_req(r, key, PROTO_KIND_DELIVERY, sku, qty);
  r->has_location = true;
  r->lat_e6 = 31230400;
  r->lon_e6 = 121473700;
}

static bool body_has(tctx *t, const char *needle) { return strstr(t->body.data, needle) != NULL; }

static void test_routes_nearest_with_stock(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  world(t);
  /* Made to order (no stock rows): the nearest store. */
  delivery(&r, "k-latte", "latte", 3);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
  assert_true(body_has(t, "\"store_id\":\"s-near\""));
  assert_true(body_has(t, "\"status\":\"dispatched\""));
  assert_true(body_has(t, "\"total\":5700")); /* catalog price filled in */
  /* Tracked stock: s-near has 1 cake, 2 wanted: the next nearest. */
  delivery(&r, "k-cake", "cake", 2);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
  assert_true(body_has(t, "\"store_id\":\"s-mid\""));
  /* One cake at s-near: it wins; after that its cake is committed to the
   * open order, so the next cake order goes to s-mid again. */
  delivery(&r, "k-cake-1", "cake", 1);
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"store_id\":\"s-near\""));
  delivery(&r, "k-cake-2", "cake", 1);
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"store_id\":\"s-mid\""));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE type='order.dispatched'"), 4);
  /* Each order went down with origin hq:<store>, gap-free per store. */
  assert_int_equal(t_sql_i64(t, "SELECT MAX(seq) FROM events WHERE origin='hq:s-near'"),
                   t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE origin='hq:s-near'"));
}

static void test_no_store_reasons(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  hq_store_req pause;
  world(t);
  delivery(&r, "k-stock", "cake", 50);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  assert_true(body_has(t, "\"error\":\"no_store\""));
  assert_true(body_has(t, "\"reason\":\"out_of_stock\""));
  delivery(&r, "k-unknown-sku", "bagel", 1); /* no store sells it */
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"reason\":\"out_of_stock\""));
  delivery(&r, "k-range", "latte", 1);
  r.lat_e6 = 39904200; /* Beijing */
  r.lon_e6 = 116407400;
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  assert_true(body_has(t, "\"reason\":\"out_of_range\""));
  /* Pause both stores in range: closed. */
  memset(&pause, 0, sizeof pause);
  pause.set.present = 1u << PROTO_SET_PAUSED;
  pause.set.v.paused = true;
  T_OK(t, hq_store_put(t->c, "s-near", &pause, &t->body, &t->err));
  T_OK(t, hq_store_put(t->c, "s-mid", &pause, &t->body, &t->err));
  delivery(&r, "k-closed", "latte", 1);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  assert_true(body_has(t, "\"reason\":\"closed\""));
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE type='order.dispatched'"), 0);
}

static void test_opening_hours_and_online(void **state) {
  tctx *t = *state;
  hq_order_req r;
  hq_store_req hours;
  unsigned status = 0;
  world(t);
  /* T0 is 02:13 UTC (tz 0 in these tests): s-near opens at 07:00. */
  memset(&hours, 0, sizeof hours);
  hours.set.present = (1u << PROTO_SET_OPEN_MIN) | (1u << PROTO_SET_CLOSE_MIN);
  hours.set.v.open_min = 420;
  hours.set.v.close_min = 1320;
  T_OK(t, hq_store_put(t->c, "s-near", &hours, &t->body, &t->err));
  delivery(&r, "k-early", "latte", 1);
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"store_id\":\"s-mid\""));
  t->now += 5 * 3600 * 1000; /* 07:13 */
  delivery(&r, "k-later", "latte", 1);
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"store_id\":\"s-near\""));
  /* route_online_only: only s-mid has said it is online. */
  t->o.route_online_only = true;
  t_reopen(t);
  T_OK(t, t_ingest(t, "s-near", "status", "offline", 7)); /* its last will */
  t_online(t, "s-mid");
  delivery(&r, "k-online", "latte", 1);
  T_OK(t, create(t, &r, &status));
  assert_true(body_has(t, "\"store_id\":\"s-mid\""));
}

static void test_pickup_goes_to_its_store(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  world(t);
  t_order_req(&r, "k-pick", PROTO_KIND_PICKUP, "cake", 5);
  snprintf(r.store_id, sizeof r.store_id, "s-far"); /* far from anyone: pickup ignores distance */
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
  assert_true(body_has(t, "\"store_id\":\"s-far\""));
  assert_false(body_has(t, "distance_m"));
  /* The pickup code: pickup_digits digits. */
  const char *code = strstr(t->body.data, "\"pickup_code\":\"");
  assert_non_null(code);
  code += 15;
  assert_int_equal(strspn(code, "0123456789"), 4);
  assert_int_equal(code[4], '"');
  t_order_req(&r, "k-pick-nostock", PROTO_KIND_PICKUP, "cake", 6); /* 5 of 10 committed */
  snprintf(r.store_id, sizeof r.store_id, "s-far");
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  assert_true(body_has(t, "out_of_stock"));
  t_order_req(&r, "k-pick-unknown", PROTO_KIND_PICKUP, "cake", 1);
  snprintf(r.store_id, sizeof r.store_id, "s-nowhere");
  T_RC(t, HQ_EINVAL, create(t, &r, &status));
  assert_string_equal(t->err.field, "store_id");
}

static void test_idempotent_retry(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  char first[512];
  world(t);
  delivery(&r, "retry-me", "latte", 1);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
  snprintf(first, sizeof first, "%s", t->body.data);
  t->now += 1000;
  for (int i = 0; i < 3; i++) {
    status = 0;
    T_OK(t, create(t, &r, &status));
    assert_int_equal(status, 201);
    assert_string_equal(t->body.data, first); /* same order, same pickup code */
  }
  t_reopen(t); /* and across a restart */
  T_OK(t, create(t, &r, &status));
  assert_string_equal(t->body.data, first);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE type='order.dispatched'"), 1);
  /* The same key for another order: refused, nothing written. */
  r.items[0].qty = 2;
  T_RC(t, HQ_EIDEMPOTENT, create(t, &r, &status));
  assert_string_equal(t->err.field, "idempotency_key");
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE type='order.dispatched'"), 1);
  /* Another client (another API token) may use the same key: its own order. */
  delivery(&r, "retry-me", "latte", 1);
  snprintf(r.client, sizeof r.client, "other-mall");
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
  assert_string_not_equal(t->body.data, first);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM events WHERE type='order.dispatched'"), 2);
  /* A 409 is an answer too: its retry gets the same 409 even once stock arrived. */
  delivery(&r, "retry-409", "cake", 30);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  t_receive(t, "s-near", "cake", 100);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 409);
  delivery(&r, "retry-409-new-key", "cake", 30);
  T_OK(t, create(t, &r, &status));
  assert_int_equal(status, 201);
}

static void test_order_ids_unique(void **state) {
  tctx *t = *state;
  hq_order_req r;
  unsigned status = 0;
  char key[32];
  world(t);
  for (int i = 0; i < 50; i++) {
    snprintf(key, sizeof key, "u-%d", i);
    delivery(&r, key, "latte", 1);
    T_OK(t, create(t, &r, &status));
    assert_int_equal(status, 201);
  }
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(DISTINCT order_id) FROM orders"), 50);
  assert_int_equal(t_sql_i64(t, "SELECT COUNT(*) FROM orders WHERE open=1"), 50);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validation_names_the_field),
      cmocka_unit_test(test_hash_is_the_meaning),
      cmocka_unit_test_setup_teardown(test_routes_nearest_with_stock, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_no_store_reasons, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_opening_hours_and_online, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_pickup_goes_to_its_store, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_idempotent_retry, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_order_ids_unique, t_setup, t_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
