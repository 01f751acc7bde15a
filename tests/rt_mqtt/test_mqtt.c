/* test_mqtt.c - rt/mqtt.h against a real broker: connect and subscribe,
 * publish and receive, the will on close, the persistent session (session
 * expiry set on CONNECT), the bounded queue, starting without a broker, and
 * a broker killed and restarted (reconnect + resubscribe by itself).
 * Every wait polls rt_mqtt_drain until a deadline; no fixed sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker.h"
#include "rt/mqtt.h"

#define WAIT_MS 15000

static test_broker g_broker;

/* What a drain saw, in order. */
typedef struct seen {
  int connected, disconnected;
  int last_rc;
  char topics[64][96];
  char payloads[64][128];
  int n_msgs;
} seen;

static void on_event(void *ctx, const rt_mqtt_event *ev) {
  seen *s = ctx;
  if (ev->kind == RT_MQTT_CONNECTED) s->connected++;
  if (ev->kind == RT_MQTT_DISCONNECTED) s->disconnected++;
  s->last_rc = ev->rc;
  if (ev->kind != RT_MQTT_MESSAGE || s->n_msgs == 64) return;
  snprintf(s->topics[s->n_msgs], sizeof s->topics[0], "%s", ev->topic);
  snprintf(s->payloads[s->n_msgs], sizeof s->payloads[0], "%.*s", (int)ev->len, (const char *)ev->payload);
  s->n_msgs++;
}

/* Drain until pred holds or the deadline passes. */
static int wait_for(rt_mqtt *m, seen *s, int (*pred)(const seen *s, int arg), int arg) {
  long long end = test_now_ms() + WAIT_MS;
  while (!pred(s, arg)) {
    if (test_now_ms() > end) {
      test_broker_dump_log(&g_broker);
      return 0;
    }
    if (rt_mqtt_drain(m, on_event, s) == 0) {
      struct timespec ts = {0, 5 * 1000 * 1000}; /* poll interval, not a wait for an event */
      nanosleep(&ts, NULL);
    }
  }
  return 1;
}

static int connects(const seen *s, int n) { return s->connected >= n; }
static int disconnects(const seen *s, int n) { return s->disconnected >= n; }
static int msgs(const seen *s, int n) { return s->n_msgs >= n; }

static rt_mqtt *open_client(const char *id, const char *const *subs, size_t n_subs, const char *will) {
  rt_mqtt *m = NULL;
  char err[256] = "";
  rt_mqtt_opts o;
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = g_broker.port;
  o.client_id = id;
  o.subs = subs;
  o.n_subs = n_subs;
  o.session_expiry_s = 3600;
  o.reconnect_min_s = 1;
  o.reconnect_max_s = 1;
  if (will) {
    o.will_topic = will;
    o.will_payload = "offline";
    o.will_retain = true;
  }
  if (rt_mqtt_open(&m, &o, err, sizeof err) != 0) fail_msg("open: %s", err);
  return m;
}

static int setup(void **state) {
  char why[1024];
  if (test_broker_start(&g_broker, NULL, why, sizeof why) != 0) {
    if (strstr(why, "not found")) {
      printf("SKIPPED rt_mqtt: %s\n", why);
      exit(77);
    }
    fprintf(stderr, "%s\n", why);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  test_broker_stop(&g_broker);
  return 0;
}

static void test_bad_options(void **state) {
  rt_mqtt *m = (rt_mqtt *)1;
  char err[128];
  rt_mqtt_opts o;
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = 0;
  o.client_id = "x";
  assert_int_equal(rt_mqtt_open(&m, &o, err, sizeof err), -1);
  assert_null(m);
  assert_non_null(strstr(err, "port"));
  o.port = 1883;
  o.client_id = "";
  assert_int_equal(rt_mqtt_open(&m, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "client_id"));
  o.client_id = "x";
  o.keepalive_s = 2;
  assert_int_equal(rt_mqtt_open(&m, &o, err, sizeof err), -1);
  o.keepalive_s = 0;
  o.cafile = "/nonexistent/ca.pem";
  assert_int_equal(rt_mqtt_open(&m, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "TLS"));
  rt_mqtt_close(NULL);
}

static void test_publish_receive(void **state) {
  const char *subs[] = {"t/#"};
  seen s = {0};
  rt_mqtt *m = open_client("rt-a", subs, 1, NULL);
  assert_true(wait_for(m, &s, connects, 1));
  assert_true(rt_mqtt_connected(m));
  /* the subscription is requested in on_connect; our own QoS 1 publish
   * comes back once it is in place: repeat until one does */
  long long end = test_now_ms() + WAIT_MS;
  while (s.n_msgs == 0 && test_now_ms() < end) {
    assert_int_equal(rt_mqtt_publish(m, "t/hello", "{\"x\":1}", 7, 1, false), 0);
    wait_for(m, &s, msgs, 1);
  }
  assert_true(s.n_msgs >= 1);
  assert_string_equal(s.topics[0], "t/hello");
  assert_string_equal(s.payloads[0], "{\"x\":1}");
  assert_int_equal(rt_mqtt_publish(m, "t/empty", "", 0, 1, false), 0);
  int before = s.n_msgs;
  assert_true(wait_for(m, &s, msgs, before + 1));
  assert_string_equal(s.payloads[before], "");
  rt_mqtt_close(m);
}

/* Closing a client with a will makes the broker publish it, retained. */
static void test_will_on_close(void **state) {
  const char *subs[] = {"st/#"};
  seen s = {0}, w = {0};
  rt_mqtt *watcher = open_client("rt-watch", subs, 1, NULL);
  rt_mqtt *box = open_client("rt-box", NULL, 0, "st/box");
  assert_true(wait_for(box, &w, connects, 1));
  assert_true(wait_for(watcher, &s, connects, 1));
  assert_int_equal(rt_mqtt_publish(box, "st/box", "online", 6, 1, true), 0);
  assert_true(wait_for(watcher, &s, msgs, 1));
  assert_string_equal(s.payloads[0], "online");
  rt_mqtt_close(box);
  assert_true(wait_for(watcher, &s, msgs, 2));
  assert_string_equal(s.topics[1], "st/box");
  assert_string_equal(s.payloads[1], "offline");
  rt_mqtt_close(watcher);
  /* retained: a newcomer sees it */
  seen n = {0};
  rt_mqtt *late = open_client("rt-late", subs, 1, NULL);
  assert_true(wait_for(late, &n, msgs, 1));
  assert_string_equal(n.payloads[0], "offline");
  rt_mqtt_close(late);
}

/* clean_start false + session expiry: QoS 1 messages published while the
 * client was away are delivered when it comes back with the same id. */
static void test_persistent_session(void **state) {
  const char *subs[] = {"ps/#"};
  seen s = {0}, p = {0};
  rt_mqtt *m = open_client("rt-persist", subs, 1, NULL);
  assert_true(wait_for(m, &s, connects, 1));
  /* make sure the subscription is in place before leaving */
  long long end = test_now_ms() + WAIT_MS;
  while (s.n_msgs == 0 && test_now_ms() < end) {
    rt_mqtt_publish(m, "ps/probe", "p", 1, 1, false);
    wait_for(m, &s, msgs, 1);
  }
  assert_true(s.n_msgs >= 1);
  rt_mqtt_close(m);
  rt_mqtt *pub = open_client("rt-pub", NULL, 0, NULL);
  assert_true(wait_for(pub, &p, connects, 1));
  assert_int_equal(rt_mqtt_publish(pub, "ps/while-away", "queued", 6, 1, false), 0);
  rt_mqtt_close(pub); /* DISCONNECT is sent after the queued PUBLISH */
  seen b = {0};
  m = open_client("rt-persist", subs, 1, NULL);
  end = test_now_ms() + WAIT_MS;
  int found = 0;
  while (!found && test_now_ms() < end) {
    wait_for(m, &b, msgs, b.n_msgs + 1);
    for (int i = 0; i < b.n_msgs; i++) found |= strcmp(b.payloads[i], "queued") == 0;
  }
  assert_true(found);
  rt_mqtt_close(m);
}

static void test_bounded_queue(void **state) {
  const char *subs[] = {"q/#"};
  seen s = {0};
  rt_mqtt *m = NULL;
  char err[128], payload[16];
  rt_mqtt_opts o;
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = g_broker.port;
  o.client_id = "rt-queue";
  o.subs = subs;
  o.n_subs = 1;
  o.max_queue = 5;
  assert_int_equal(rt_mqtt_open(&m, &o, err, sizeof err), 0);
  assert_true(wait_for(m, &s, connects, 1));
  long long end = test_now_ms() + WAIT_MS;
  while (s.n_msgs == 0 && test_now_ms() < end) { /* subscription in place */
    rt_mqtt_publish(m, "q/probe", "p", 1, 1, false);
    wait_for(m, &s, msgs, 1);
  }
  rt_mqtt_drain(m, on_event, &s);
  memset(&s, 0, sizeof s);
  uint64_t d0 = rt_mqtt_dropped(m);
  for (int i = 0; i < 20; i++) {
    int n = snprintf(payload, sizeof payload, "m%02d", i);
    assert_int_equal(rt_mqtt_publish(m, "q/x", payload, (size_t)n, 1, false), 0);
  }
  end = test_now_ms() + WAIT_MS;
  while (rt_mqtt_dropped(m) - d0 < 15 && test_now_ms() < end) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(rt_mqtt_dropped(m) - d0, 15);
  assert_int_equal(rt_mqtt_drain(m, on_event, &s), 5);
  for (int i = 0; i < 5; i++) {
    snprintf(payload, sizeof payload, "m%02d", 15 + i);
    assert_string_equal(s.payloads[i], payload); /* the newest were kept */
  }
  rt_mqtt_close(m);
}

/* Open before the broker exists (a box booting with the WAN down), then
 * kill the broker and start it again: the client comes back by itself,
 * subscribed again (persistence is off, so the broker forgot everything). */
static void test_no_broker_then_restart(void **state) {
  const char *subs[] = {"r/#"};
  seen s = {0};
  char why[1024];
  test_broker_kill(&g_broker);
  rt_mqtt *m = open_client("rt-restart", subs, 1, NULL);
  assert_false(rt_mqtt_connected(m));
  assert_int_equal(rt_mqtt_publish(m, "r/x", "1", 1, 1, false), -1);
  if (test_broker_restart(&g_broker, why, sizeof why) != 0) fail_msg("%s", why);
  assert_true(wait_for(m, &s, connects, 1));
  test_broker_kill(&g_broker);
  assert_true(wait_for(m, &s, disconnects, 1));
  assert_false(rt_mqtt_connected(m));
  if (test_broker_restart(&g_broker, why, sizeof why) != 0) fail_msg("%s", why);
  assert_true(wait_for(m, &s, connects, 2));
  long long end = test_now_ms() + WAIT_MS;
  while (s.n_msgs == 0 && test_now_ms() < end) {
    rt_mqtt_publish(m, "r/again", "back", 4, 1, false);
    wait_for(m, &s, msgs, 1);
  }
  assert_true(s.n_msgs >= 1);
  assert_string_equal(s.payloads[0], "back");
  rt_mqtt_close(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_options),        cmocka_unit_test(test_publish_receive),
      cmocka_unit_test(test_will_on_close),      cmocka_unit_test(test_persistent_session),
      cmocka_unit_test(test_bounded_queue),      cmocka_unit_test(test_no_broker_then_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
