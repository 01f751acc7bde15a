/* test_api_json.c - request bodies into typed requests: types, ranges,
 * lengths, duplicates, and the error class (400 bad_json vs 422 invalid
 * naming the field). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "hq_test.h"

static int order(const char *json, const char *hdr, hq_order_req *r, hq_err *err) {
  hq_err_clear(err);
  return hq_json_order(json, strlen(json), hdr, r, err);
}

static void test_order_body(void **state) {
  (void)state;
  hq_order_req r;
  hq_err err;
  const char *ok =
      "{\"idempotency_key\":\"mall-1\",\"kind\":\"delivery\",\"items\":[{\"sku\":\"latte\",\"qty\":2,"
      "\"price\":1900,\"name\":\"生椰拿铁\"},{\"sku\":\"cake\",\"qty\":1}],\"location\":{\"lat\":31.2304,"
      "\"lon\":121.4737},\"customer\":\"王先生\",\"phone_tail\":\"4321\",\"note\":\"少冰\",\"unknown\":1}";
  assert_int_equal(order(ok, "", &r, &err), HQ_OK);
  assert_string_equal(r.idem_key, "mall-1");
  assert_true(r.has_kind);
  assert_int_equal(r.kind, PROTO_KIND_DELIVERY);
  assert_int_equal(r.n_items, 2);
  assert_int_equal(r.items[0].qty, 2);
  assert_true(r.items[0].has_price);
  assert_false(r.items[1].has_price);
  assert_string_equal(r.items[0].name, "生椰拿铁");
  assert_true(r.has_location);
  assert_int_equal(r.lat_e6, 31230400);
  assert_int_equal(r.lon_e6, 121473700);
  assert_string_equal(r.customer, "王先生");
  assert_int_equal(hq_order_validate(&r, &err), HQ_OK);
  /* The header supplies the key; both must agree. */
  assert_int_equal(order("{\"kind\":\"pickup\",\"store_id\":\"s-1\",\"items\":[{\"sku\":\"a\",\"qty\":1}]}",
                         "hdr-7", &r, &err), HQ_OK);
  assert_string_equal(r.idem_key, "hdr-7");
  assert_int_equal(order("{\"idempotency_key\":\"a\"}", "b", &r, &err), HQ_EINVAL);
  assert_string_equal(err.field, "idempotency_key");
}

static const struct {
  const char *json;
  int code;
  const char *field; /* for HQ_EINVAL */
} bad[] = {
    {"", HQ_EJSON, ""},
    {"[]", HQ_EJSON, ""},
    {"{\"kind\":", HQ_EJSON, ""},
    {"{\"a\":\"\xc0\xaf\"}", HQ_EJSON, ""},
    {"{\"a\":[[[[[[[[[[1]]]]]]]]]]}", HQ_EJSON, ""},
    {"{\"kind\":\"drone\"}", HQ_EINVAL, "kind"},
    {"{\"kind\":7}", HQ_EINVAL, "kind"},
    {"{\"items\":{}}", HQ_EINVAL, "items"},
    {"{\"items\":[1]}", HQ_EINVAL, "items[0]"},
    {"{\"items\":[{\"sku\":\"a\",\"qty\":1.5}]}", HQ_EINVAL, "items[0].qty"},
    {"{\"items\":[{\"sku\":\"a\",\"qty\":\"2\"}]}", HQ_EINVAL, "items[0].qty"},
    {"{\"items\":[{\"sku\":\"a\",\"qty\":1,\"qty\":2}]}", HQ_EINVAL, "items[0].qty"},
    {"{\"kind\":\"pickup\",\"kind\":\"delivery\"}", HQ_EINVAL, "kind"},
    {"{\"location\":{\"lat\":91,\"lon\":0}}", HQ_EINVAL, "location.lat"},
    {"{\"location\":{\"lat\":1}}", HQ_EINVAL, "location.lon"},
    {"{\"location\":[1,2]}", HQ_EINVAL, "location"},
    {"{\"customer\":5}", HQ_EINVAL, "customer"},
    {"{\"phone_tail\":\"12345678901234567890\"}", HQ_EINVAL, "phone_tail"},
    {"{\"placed_ms\":-1}", HQ_EINVAL, "placed_ms"},
    {"{\"items\":[{\"sku\":\"a\",\"qty\":1e300}]}", HQ_EINVAL, "items[0].qty"},
};

static void test_bad_order_bodies(void **state) {
  (void)state;
  hq_order_req r;
  hq_err err;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = order(bad[i].json, "", &r, &err);
    if (rc != bad[i].code || (rc == HQ_EINVAL && strcmp(err.field, bad[i].field) != 0))
      fail_msg("case %zu %s: %s field '%s' (%s)", i, bad[i].json, hq_err_wire(rc), err.field, err.msg);
  }
  /* 33 lines: refused before any is read. */
  char big[2048] = "{\"items\":[";
  for (int i = 0; i < 33; i++) strcat(big, i ? ",{\"sku\":\"a\",\"qty\":1}" : "{\"sku\":\"a\",\"qty\":1}");
  strcat(big, "]}");
  assert_int_equal(order(big, "", &r, &err), HQ_EINVAL);
  assert_string_equal(err.field, "items");
}

static void test_other_bodies(void **state) {
  (void)state;
  hq_err err;
  hq_rider_req rider;
  hq_cancel_req cancel;
  hq_store_req store;
  hq_catalog_req cat;
  hq_transfer_req xfer;
  const char *j;
  hq_err_clear(&err);
  j = "{\"event\":\"assigned\",\"name\":\"张师傅\",\"phone_tail\":\"8899\",\"eta_ms\":1795400400000}";
  assert_int_equal(hq_json_rider(j, strlen(j), &rider, &err), HQ_OK);
  assert_int_equal(rider.event, HQ_RIDER_ASSIGNED);
  assert_true(rider.eta_ms == UINT64_C(1795400400000));
  j = "{\"event\":\"teleported\"}";
  assert_int_equal(hq_json_rider(j, strlen(j), &rider, &err), HQ_EINVAL);
  assert_string_equal(err.field, "event");
  assert_int_equal(hq_json_cancel("", 0, &cancel, &err), HQ_OK); /* empty body: the defaults */
  assert_int_equal(cancel.by, PROTO_CANCEL_CUSTOMER);
  j = "{\"by\":\"hq\",\"reason\":\"缺货\"}";
  assert_int_equal(hq_json_cancel(j, strlen(j), &cancel, &err), HQ_OK);
  assert_int_equal(cancel.by, PROTO_CANCEL_HQ);
  j = "{\"name\":\"人民广场店\",\"location\":{\"lat\":31.2304,\"lon\":121.4737},\"paused\":true,"
      "\"open_min\":420,\"close_min\":1320}";
  assert_int_equal(hq_json_store(j, strlen(j), &store, &err), HQ_OK);
  assert_true(store.set.present & (1u << PROTO_SET_LAT_E6));
  assert_true(store.set.present & (1u << PROTO_SET_PAUSED));
  assert_true(store.set.v.paused);
  assert_int_equal(store.set.v.open_min, 420);
  j = "{\"pause\":true}"; /* a typo is refused, not ignored */
  assert_int_equal(hq_json_store(j, strlen(j), &store, &err), HQ_EINVAL);
  assert_string_equal(err.field, "pause");
  j = "{\"paused\":\"yes\"}";
  assert_int_equal(hq_json_store(j, strlen(j), &store, &err), HQ_EINVAL);
  assert_string_equal(err.field, "paused");
  j = "{\"name\":\"生椰拿铁\",\"price\":1900,\"stores\":[\"s-1\",\"s-2\"]}";
  assert_int_equal(hq_json_catalog(j, strlen(j), &cat, &err), HQ_OK);
  assert_int_equal(cat.n_stores, 2);
  assert_string_equal(cat.stores[1], "s-2");
  assert_true(cat.entry.active);
  hq_json_catalog_free(&cat);
  j = "{\"name\":\"x\",\"price\":1,\"stores\":[\"s 1\"]}";
  assert_int_equal(hq_json_catalog(j, strlen(j), &cat, &err), HQ_EINVAL);
  assert_string_equal(err.field, "stores[0]");
  hq_json_catalog_free(&cat);
  j = "{\"from_store\":\"s-1\",\"to_store\":\"s-2\",\"sku\":\"cup\",\"qty\":12}";
  assert_int_equal(hq_json_transfer(j, strlen(j), &xfer, &err), HQ_OK);
  assert_int_equal(xfer.qty, 12);
  assert_int_equal(hq_json_transfer("", 0, &xfer, &err), HQ_EJSON);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_body),
      cmocka_unit_test(test_bad_order_bodies),
      cmocka_unit_test(test_other_bodies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
