/* test_cache.c - the views' answer cache (views_cache.c) and reader thread
 * (views_worker.c) against a real hq database, with the test's clock:
 *
 *   fresh    within ttl an answer is reused: a new order does not show
 *            (and no second computation runs: hits/misses)
 *   expiry   at ttl it is computed again and the order shows
 *   keyed    another query (store, limit) is another entry; normalised
 *            keys share one (limit 0 = 100, sku ignored but for stock)
 *   off      ttl 0: every request computes, nothing is kept
 *   bounded  max_bytes and HQ_VIEWS_CACHE_ENTRIES hold, least recently
 *            used out first; an answer bigger than the bound is not kept
 *   errors   are not kept
 *   worker   a job runs on the thread, wakes the caller, and gives the
 *            same JSON as a direct run; stop with jobs queued frees them
 *   busy     the worker holds HQ_VIEWS_QUEUE_MAX jobs until they are taken
 *            (done or not): one more is HQ_EBUSY (503, "views busy: N
 *            computations queued"); taking one makes room for one
 *
 * No sleeps: the worker test waits on its wake callback (condition
 * variable, bounded wait that fails the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "views_test.h"

/* 2025-11-21 00:00 UTC; the views' day is UTC here */
#define D0 INT64_C(1763683200000)
#define NOW (D0 + 12 * VT_HOUR)

typedef struct fixture {
  vt t;
  uint64_t cache_now;              /* the cache's clock */
  hq_views_cache *c;
} fixture;

static uint64_t cache_clock(void *ctx) { return ((fixture *)ctx)->cache_now; }

static void open_cache(fixture *f, uint64_t ttl, size_t max_bytes) {
  hq_err err = {0};
  hq_views_cache_opts o = {.ttl_ms = ttl, .max_bytes = max_bytes, .clock_ms = cache_clock, .ctx = f};
  assert_int_equal(hq_views_cache_open(&f->c, &o, &err), HQ_OK);
}

static fixture *setup_with(uint64_t ttl, size_t max_bytes) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  vt_open(&f->t, NOW, 0);
  vt_dispatch(&f->t, "s1", "a", PROTO_KIND_PICKUP, NOW - VT_HOUR, "tea", 1, 100);
  vt_dispatch(&f->t, "s2", "b", PROTO_KIND_PICKUP, NOW - VT_HOUR, "tea", 1, 100);
  f->cache_now = 5000;
  open_cache(f, ttl, max_bytes);
  return f;
}

static void teardown_f(fixture *f) {
  hq_views_cache_close(f->c);
  vt_close(&f->t);
  free(f);
}

/* The chain's order count in the summary answered through the cache. */
static long orders_via_cache(fixture *f, const char *qs) {
  hq_view_query q;
  hq_err err = {0};
  proto_buf b;
  proto_buf_init(&b);
  assert_int_equal(hq_view_query_parse(qs, &q, &err), HQ_OK);
  assert_int_equal(hq_views_cached_json(f->c, f->t.views, "summary", &q, &b, &err), HQ_OK);
  const char *p = strstr(b.data, "\"chain\":{\"orders\":");
  assert_non_null(p);
  long n = strtol(p + strlen("\"chain\":{\"orders\":"), NULL, 10);
  proto_buf_close(&b);
  return n;
}

static hq_views_cache_stats stats(const fixture *f) {
  hq_views_cache_stats s;
  hq_views_cache_stats_get(f->c, &s);
  return s;
}

static void test_fresh_then_expired(void **state) {
  (void)state;
  fixture *f = setup_with(1000, 0);
  assert_int_equal(orders_via_cache(f, ""), 2);
  vt_dispatch(&f->t, "s1", "c", PROTO_KIND_PICKUP, NOW - VT_MIN, "tea", 1, 100);
  f->cache_now += 999; /* still fresh: the old answer, no computation */
  assert_int_equal(orders_via_cache(f, ""), 2);
  assert_int_equal(stats(f).hits, 1);
  assert_int_equal(stats(f).misses, 1);
  f->cache_now += 1; /* ttl reached: computed again */
  assert_int_equal(orders_via_cache(f, ""), 3);
  assert_int_equal(stats(f).misses, 2);
  assert_int_equal(stats(f).entries, 1);
  teardown_f(f);
}

static void test_keyed_by_query(void **state) {
  (void)state;
  char a[HQ_VIEWS_KEY_MAX], b[HQ_VIEWS_KEY_MAX];
  hq_view_query q1 = {0}, q2 = {0};
  fixture *f = setup_with(1000, 0);
  assert_int_equal(orders_via_cache(f, ""), 2);
  assert_int_equal(orders_via_cache(f, "store=s1"), 1); /* not the chain's entry */
  assert_int_equal(orders_via_cache(f, "store=s2"), 1);
  assert_int_equal(orders_via_cache(f, "limit=5"), 2);
  assert_int_equal(stats(f).misses, 4);
  assert_int_equal(stats(f).entries, 4);
  /* equal answers share a key: limit 0 is the default, sku only for stock */
  q2.limit = HQ_VIEW_LIMIT_DEFAULT;
  snprintf(q2.sku, sizeof q2.sku, "latte");
  assert_int_equal(hq_views_cache_key("summary", &q1, a, sizeof a), 0);
  assert_int_equal(hq_views_cache_key("summary", &q2, b, sizeof b), 0);
  assert_string_equal(a, b);
  assert_int_equal(hq_views_cache_key("stock", &q1, a, sizeof a), 0);
  assert_int_equal(hq_views_cache_key("stock", &q2, b, sizeof b), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(orders_via_cache(f, "limit=100&sku=x"), 2); /* = "" */
  assert_int_equal(stats(f).hits, 1);
  teardown_f(f);
}

static void test_off(void **state) {
  (void)state;
  fixture *f = setup_with(0, 0);
  assert_int_equal(orders_via_cache(f, ""), 2);
  vt_dispatch(&f->t, "s1", "c", PROTO_KIND_PICKUP, NOW - VT_MIN, "tea", 1, 100);
  assert_int_equal(orders_via_cache(f, ""), 3); /* same instant, computed again */
  assert_int_equal(stats(f).hits, 0);
  assert_int_equal(stats(f).entries, 0);
  assert_int_equal(stats(f).bytes, 0);
  teardown_f(f);
}

/* Direct puts: the bounds do not depend on the views' sizes. */
static void test_bounded(void **state) {
  (void)state;
  char key[32], big[400];
  proto_buf b;
  fixture *f = setup_with(60000, 1000);
  memset(big, 'x', sizeof big);
  proto_buf_init(&b);
  for (int i = 0; i < 10; i++) {
    snprintf(key, sizeof key, "k%d", i);
    f->cache_now++;
    hq_views_cache_put(f->c, key, big, 300, f->cache_now);
    assert_true(stats(f).bytes <= 1000);
  }
  assert_int_equal(stats(f).entries, 3); /* 3 x 300 <= 1000 */
  assert_int_equal(stats(f).evictions, 7);
  assert_int_equal(hq_views_cache_get(f->c, "k6", &b), 0); /* oldest out */
  assert_int_equal(hq_views_cache_get(f->c, "k7", &b), 1); /* k7 used now */
  hq_views_cache_put(f->c, "k10", big, 300, f->cache_now);
  assert_int_equal(hq_views_cache_get(f->c, "k7", &b), 1);
  assert_int_equal(hq_views_cache_get(f->c, "k8", &b), 0); /* least recently used went */
  hq_views_cache_put(f->c, "huge", big, 1001, f->cache_now); /* over the bound: not kept */
  assert_int_equal(hq_views_cache_get(f->c, "huge", &b), 0);
  assert_int_equal(stats(f).entries, 3);
  /* the entry count is bounded too */
  for (int i = 0; i < HQ_VIEWS_CACHE_ENTRIES + 10; i++) {
    snprintf(key, sizeof key, "n%d", i);
    hq_views_cache_put(f->c, key, "{}", 2, f->cache_now);
  }
  assert_int_equal(stats(f).entries, HQ_VIEWS_CACHE_ENTRIES);
  assert_int_equal(b.len, 2 * 300); /* the two hits on k7 */
  proto_buf_close(&b);
  teardown_f(f);
}

static void test_errors_not_kept(void **state) {
  (void)state;
  hq_view_query q;
  hq_err err = {0};
  proto_buf b;
  fixture *f = setup_with(1000, 0);
  proto_buf_init(&b);
  assert_int_equal(hq_view_query_parse("store=nope", &q, &err), HQ_OK);
  assert_int_equal(hq_views_cached_json(f->c, f->t.views, "summary", &q, &b, &err), HQ_ENOTFOUND);
  assert_int_equal(hq_views_cached_json(f->c, f->t.views, "nope", &q, &b, &err), HQ_ENOTFOUND);
  assert_int_equal(b.len, 0);
  assert_int_equal(stats(f).entries, 0);
  assert_false(hq_views_exists("nope"));
  assert_true(hq_views_exists("conflicts"));
  proto_buf_close(&b);
  teardown_f(f);
}

/* ---- the reader thread --------------------------------------------------------------- */

typedef struct waker {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int wakes;
} waker;

static void wake(void *ctx) {
  waker *w = ctx;
  pthread_mutex_lock(&w->mu);
  w->wakes++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Wait (bounded: 10 s, then fail) until the worker has woken us n times. */
static void wait_wakes(waker *w, int n) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&w->mu);
  while (w->wakes < n)
    if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0) break;
  int got = w->wakes;
  pthread_mutex_unlock(&w->mu);
  assert_true(got >= n);
}

/* The worker's clock: read from its thread, so a constant. */
static uint64_t fixed_clock(void *ctx) {
  (void)ctx;
  return NOW;
}

static void test_worker(void **state) {
  (void)state;
  waker wk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  hq_views_worker *w = NULL;
  hq_views_done d;
  hq_err err = {0};
  proto_buf direct;
  hq_view_query q = {0}, bad = {0};
  fixture *f = setup_with(1000, 0);
  hq_views_opts o = {.db_path = f->t.db, .tz_offset_min = 0, .clock_ms = fixed_clock};
  assert_int_equal(hq_views_worker_start(&w, &o, wake, &wk, &err), HQ_OK);
  snprintf(bad.store, sizeof bad.store, "nope");
  assert_int_equal(hq_views_worker_submit(w, "hourly", &q, 7, &err), HQ_OK);
  assert_int_equal(hq_views_worker_submit(w, "summary", &bad, 8, &err), HQ_OK);
  wait_wakes(&wk, 2);
  assert_true(hq_views_worker_take(w, &d)); /* in submission order */
  assert_int_equal(d.tag, 7);
  assert_int_equal(d.rc, HQ_OK);
  assert_string_equal(d.name, "hourly");
  proto_buf_init(&direct);
  assert_int_equal(hq_views_run_json(f->t.views, "hourly", &q, &direct, &err), HQ_OK);
  assert_string_equal(d.json.data, direct.data);
  proto_buf_close(&direct);
  proto_buf_close(&d.json);
  assert_true(hq_views_worker_take(w, &d));
  assert_int_equal(d.tag, 8);
  assert_int_equal(d.rc, HQ_ENOTFOUND);
  assert_string_equal(d.err.field, "store");
  proto_buf_close(&d.json);
  assert_false(hq_views_worker_take(w, &d));
  /* stopped with work queued or done and not taken: all freed (ASan) */
  for (uint64_t i = 0; i < 5; i++) assert_int_equal(hq_views_worker_submit(w, "stock", &q, 100 + i, &err), HQ_OK);
  hq_views_worker_stop(w);
  hq_views_worker_stop(NULL);
  teardown_f(f);
}

/* Finished jobs still count until taken, so the bound is reached without
 * racing the thread: no stopped worker or hook needed. */
static void test_worker_busy(void **state) {
  (void)state;
  waker wk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  hq_views_worker *w = NULL;
  hq_views_done d;
  hq_err err = {0};
  hq_view_query q = {0};
  char busy[64];
  fixture *f = setup_with(0, 0);
  hq_views_opts o = {.db_path = f->t.db, .tz_offset_min = 0, .clock_ms = fixed_clock};
  snprintf(busy, sizeof busy, "views busy: %d computations queued", HQ_VIEWS_QUEUE_MAX);
  assert_int_equal(hq_views_worker_start(&w, &o, wake, &wk, &err), HQ_OK);
  for (uint64_t i = 1; i <= HQ_VIEWS_QUEUE_MAX; i++)
    assert_int_equal(hq_views_worker_submit(w, "fleet", &q, i, &err), HQ_OK);
  assert_int_equal(hq_views_worker_submit(w, "fleet", &q, 1000, &err), HQ_EBUSY);
  assert_string_equal(err.msg, busy);
  assert_int_equal(hq_err_status(err.code), 503);
  assert_string_equal(hq_err_wire(err.code), "busy");
  wait_wakes(&wk, HQ_VIEWS_QUEUE_MAX); /* every job done, none taken: still full */
  hq_err_clear(&err);
  assert_int_equal(hq_views_worker_submit(w, "fleet", &q, 1001, &err), HQ_EBUSY);
  assert_true(hq_views_worker_take(w, &d));
  assert_int_equal(d.tag, 1);
  assert_int_equal(d.rc, HQ_OK);
  proto_buf_close(&d.json);
  assert_int_equal(hq_views_worker_submit(w, "fleet", &q, 1002, &err), HQ_OK); /* room for one */
  assert_int_equal(hq_views_worker_submit(w, "fleet", &q, 1003, &err), HQ_EBUSY);
  hq_views_worker_stop(w); /* held jobs, done or queued, freed (ASan) */
  teardown_f(f);
}

static void test_worker_bad_db(void **state) {
  (void)state;
  hq_views_worker *w = (hq_views_worker *)1;
  hq_err err = {0};
  hq_views_opts o = {.db_path = "/nonexistent/dir/hq.db"};
  assert_int_not_equal(hq_views_worker_start(&w, &o, wake, NULL, &err), HQ_OK);
  assert_null(w);
  assert_non_null(strstr(err.msg, "/nonexistent/dir/hq.db"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_then_expired), cmocka_unit_test(test_keyed_by_query),
      cmocka_unit_test(test_off),                cmocka_unit_test(test_bounded),
      cmocka_unit_test(test_errors_not_kept),    cmocka_unit_test(test_worker),
      cmocka_unit_test(test_worker_busy),        cmocka_unit_test(test_worker_bad_db),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
