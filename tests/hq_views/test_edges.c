/* test_edges.c - the views' edges: the query string, the local day across
 * a time-zone boundary, the read snapshot (only committed data), an empty
 * database, and the JSON edge hq_views_json().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/codec.h"
#include "views_test.h"

/* 2025-11-21 00:00 UTC */
#define D0 INT64_C(1763683200000)

static void test_query_parse(void **state) {
  (void)state;
  hq_view_query q;
  hq_err err = {0};
  assert_int_equal(hq_view_query_parse("store=s%31&limit=20&x=y&&sku=a.b", &q, &err), HQ_OK);
  assert_string_equal(q.store, "s1");
  assert_string_equal(q.sku, "a.b");
  assert_int_equal(q.limit, 20);
  assert_int_equal(hq_view_query_parse(NULL, &q, &err), HQ_OK);
  assert_string_equal(q.store, "");
  assert_int_equal(q.limit, 0);
  assert_int_equal(hq_view_query_parse("store=", &q, &err), HQ_OK); /* empty = chain */
  assert_string_equal(q.store, "");

  static const struct {
    const char *qs, *field;
  } bad[] = {
      {"limit=0", "limit"},       {"limit=1001", "limit"},      {"limit=12x", "limit"},
      {"limit=-1", "limit"},      {"store=a+b", "store"},       {"store=%zz", "store"},
      {"store=%4", "store"},      {"sku=%C3%A9", "sku"},
      {"store=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "store"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hq_err_clear(&err);
    assert_int_equal(hq_view_query_parse(bad[i].qs, &q, &err), HQ_EINVAL);
    assert_string_equal(err.field, bad[i].field);
  }
}

/* Orders at 15:59 and 16:01 UTC: the same UTC day, but 23:59 and 00:01 of
 * two different days at +08:00. */
static void test_local_day(void **state) {
  (void)state;
  vt t;
  hq_view_hourly h;
  hq_err err = {0};
  hq_view_query q = {0};
  vt_open(&t, D0 + 23 * VT_HOUR, 0);
  vt_dispatch(&t, "s1", "a", PROTO_KIND_PICKUP, D0 + 15 * VT_HOUR + 59 * VT_MIN, "tea", 1, 100);
  vt_dispatch(&t, "s1", "b", PROTO_KIND_PICKUP, D0 + 16 * VT_HOUR + 1 * VT_MIN, "tea", 1, 100);

  assert_int_equal(hq_views_hourly(t.views, &q, &h, &err), HQ_OK);
  assert_int_equal(h.w.day_start_ms, D0);
  assert_int_equal(h.w.hour, 23);
  assert_int_equal(h.orders[15], 1);
  assert_int_equal(h.orders[16], 1);

  vt_close(&t);

  /* The same at +08:00: now is 07:00 local on the next day. */

  vt_open(&t, D0 + 23 * VT_HOUR, 480);
  vt_dispatch(&t, "s1", "a", PROTO_KIND_PICKUP, D0 + 15 * VT_HOUR + 59 * VT_MIN, "tea", 1, 100);
  vt_dispatch(&t, "s1", "b", PROTO_KIND_PICKUP, D0 + 16 * VT_HOUR + 1 * VT_MIN, "tea", 1, 100);
  assert_int_equal(hq_views_hourly(t.views, &q, &h, &err), HQ_OK);
  assert_int_equal(h.w.day_start_ms, D0 + 16 * VT_HOUR);
  assert_int_equal(h.w.hour, 7);
  assert_int_equal(h.orders[0], 1);
  assert_int_equal(h.orders_prev[23], 1);
  hq_view_summary s;
  assert_int_equal(hq_views_summary(t.views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.chain.orders, 1);
  assert_int_equal(s.chain.open, 2); /* yesterday's is still open: by status it shows */
  assert_int_equal(s.chain.by_status[PROTO_MS_DISPATCHED], 2);
  hq_view_free_summary(&s);
  vt_close(&t);

  hq_views *cn = NULL;
  hq_views_opts o = {.db_path = "/nonexistent/hq.db", .tz_offset_min = 841};
  assert_int_equal(hq_views_open(&cn, &o, &err), HQ_ECONFIG);
  assert_null(cn);
  o.tz_offset_min = -840;
  assert_int_equal(hq_views_open(&cn, &o, &err), HQ_EIO);
  assert_null(cn);
}

/* A batch the core has applied but not committed is not in any view. */
static void test_snapshot(void **state) {
  (void)state;
  vt t;
  hq_view_summary s;
  hq_err err = {0};
  hq_view_query q = {0};
  vt_open(&t, D0 + 12 * VT_HOUR, 0);
  vt_dispatch(&t, "s1", "a", PROTO_KIND_PICKUP, D0 + 9 * VT_HOUR, "tea", 1, 100);
  t.hold = true;
  vt_dispatch(&t, "s1", "b", PROTO_KIND_PICKUP, D0 + 10 * VT_HOUR, "tea", 1, 100);
  assert_true(hq_core_in_txn(t.core));
  assert_int_equal(hq_views_summary(t.views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.chain.orders, 1);
  hq_view_free_summary(&s);
  assert_int_equal(hq_core_commit(t.core, &err), HQ_OK);
  assert_int_equal(hq_views_summary(t.views, &q, &s, &err), HQ_OK);
  assert_int_equal(s.chain.orders, 2);
  hq_view_free_summary(&s);
  vt_close(&t);
}

static void json_of(vt *t, const char *name, const char *qs, proto_buf *b) {
  hq_err err = {0};
  proto_err perr = {0};
  proto_buf_reset(b);
  if (hq_views_json(t->views, name, qs, b, &err) != HQ_OK) fail_msg("%s: %s", name, err.msg);
  assert_int_equal(proto_json_precheck(b->data, b->len, 8, &perr), PROTO_OK);
  assert_true(b->len > 2 && b->data[0] == '{' && b->data[b->len - 1] == '}');
  assert_non_null(strstr(b->data, "{\"window\":{\"now_ms\":"));
}

/* Every view on an empty database, then on one order, through the JSON edge. */
static void test_json(void **state) {
  (void)state;
  static const char *const names[] = {"summary", "hourly", "sla", "stock", "fleet", "conflicts"};
  vt t;
  proto_buf b;
  hq_err err = {0};
  proto_buf_init(&b);
  vt_open(&t, D0 + 12 * VT_HOUR, 0);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) json_of(&t, names[i], "", &b);

  vt_catalog(&t, "s1", "tea", "\"茶\"\\", 0);
  vt_dispatch(&t, "s1", "a", PROTO_KIND_DELIVERY, D0 + 9 * VT_HOUR, "tea", 1, 1234);
  vt_step(&t, "s1", "a", PROTO_EV_ORDER_ACCEPTED, D0 + 9 * VT_HOUR + 45 * VT_SEC);
  json_of(&t, "summary", "store=s1", &b);
  assert_non_null(strstr(b.data, "\"store\":\"s1\""));
  assert_non_null(strstr(b.data, "\"chain\":{\"orders\":1,"));
  assert_non_null(strstr(b.data, "\"by_kind\":{\"pickup\":0,\"delivery\":1,\"express\":0}"));
  assert_non_null(strstr(b.data, "\"accepted\":1"));
  json_of(&t, "sla", NULL, &b);
  assert_non_null(strstr(b.data, "\"accept\":{\"n\":1,\"p50\":45000,\"p90\":45000,\"p99\":45000,\"max\":45000,\"target\":120000}"));
  json_of(&t, "stock", NULL, &b);
  assert_non_null(strstr(b.data, "\"name\":\"\\\"茶\\\"\\\\\""));
  assert_non_null(strstr(b.data, "\"on_hand\":null"));
  json_of(&t, "hourly", "", &b);
  assert_non_null(strstr(b.data, "\"orders\":[0,0,0,0,0,0,0,0,0,1,0,"));

  size_t len = b.len;
  assert_int_equal(hq_views_json(t.views, "nope", "", &b, &err), HQ_ENOTFOUND);
  assert_int_equal(hq_views_json(t.views, "summary", "limit=0", &b, &err), HQ_EINVAL);
  assert_int_equal(hq_views_json(t.views, "fleet", "store=s9", &b, &err), HQ_ENOTFOUND);
  assert_int_equal(b.len, len);
  proto_buf_close(&b);
  vt_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_parse),
      cmocka_unit_test(test_local_day),
      cmocka_unit_test(test_snapshot),
      cmocka_unit_test(test_json),
  };
  return cmocka_run_group_tests_name("hq_views_edges", tests, NULL, NULL);
}
