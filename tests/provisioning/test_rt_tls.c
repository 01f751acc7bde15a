/* test_rt_tls.c - storenode's MQTT bridge (rt/mqtt.h) on a box without a
 * real-time clock (issue 5): a real TLS mosquitto whose certificate is not
 * valid yet (notBefore next year, as a 1970 box sees every certificate).
 * tls_time_check never, or auto with the clock unsynchronised: connects;
 * always, or auto with the clock synchronised: refused.  The chain is still
 * checked: a broker certificate from another CA is refused with never, and so
 * is a host name the certificate does not carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "broker.h"
#include "fixture.h"
#include "rt/mqtt.h"

#define WAIT_MS 10000
/* What the broker logs when our verification refuses its certificate:
 * OpenSSL sends bad_certificate for dates and host name, unknown_ca for the
 * chain.  The same host connects with the dates unchecked, so in the date
 * tests the dates are what was refused. */
#define ALERT_BAD_CERT "alert bad certificate"
#define ALERT_CHAIN "alert unknown ca"

typedef struct world {
  fx f, other;                /* other: a second fleet CA */
  test_broker future;
} world;

static bool synced_no(void) { return false; }
static bool synced_yes(void) { return true; }

static rt_mqtt *open_client(world *w, const char *host, const char *ca, rt_tls_time_check tc,
                           bool (*synced)(void)) {
  char why[256];
  rt_mqtt *m = NULL;
  rt_mqtt_opts o = {.host = host,
                    .port = w->future.port,
                    .client_id = "hq",
                    .cafile = ca,
                    .certfile = w->f.hq_crt,
                    .keyfile = w->f.hq_key,
                    .reconnect_min_s = 1,
                    .reconnect_max_s = 1,
                    .tls_time_check = tc,
                    .clock_synced = synced};
  if (rt_mqtt_open(&m, &o, why, sizeof why) != 0) fail_msg("rt_mqtt_open: %s", why);
  return m;
}

/* Lines of the broker's log that contain what. */
static int log_count(const world *w, const char *what) {
  char path[300], line[512];
  int n = 0;
  snprintf(path, sizeof path, "%s/broker.log", w->future.dir);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  while (fgets(line, sizeof line, f)) n += strstr(line, what) != NULL;
  fclose(f);
  return n;
}

static void poll_pause(void) {
  struct timespec ts = {0, 20 * 1000000}; /* poll interval, not a wait for an outcome */
  nanosleep(&ts, NULL);
}

/* Connected before the deadline?  (polls the bridge; events dropped) */
static bool connects(rt_mqtt *m) {
  long long end = test_now_ms() + WAIT_MS;
  while (test_now_ms() < end) {
    rt_mqtt_drain(m, NULL, NULL);
    if (rt_mqtt_connected(m)) return true;
    poll_pause();
  }
  return false;
}

/* The broker logged one more TLS alert `alert` from us (our verification
 * refused its certificate) before the deadline, and we are not connected. */
static bool refused(const world *w, rt_mqtt *m, const char *alert, int before) {
  long long end = test_now_ms() + WAIT_MS;
  while (test_now_ms() < end && log_count(w, alert) <= before) poll_pause();
  rt_mqtt_drain(m, NULL, NULL);
  return log_count(w, alert) > before && !rt_mqtt_connected(m);
}

/* alert NULL: must connect; else must be refused with that alert. */
static void expect(world *w, const char *host, const char *ca, rt_tls_time_check tc,
                   bool (*synced)(void), const char *alert) {
  int before = alert ? log_count(w, alert) : 0;
  rt_mqtt *m = open_client(w, host, ca, tc, synced);
  bool ok = alert ? refused(w, m, alert, before) : connects(m);
  rt_mqtt_close(m);
  if (!ok) {
    test_broker_dump_log(&w->future);
    fail_msg("time_check %d synced %s: expected %s", (int)tc, synced == synced_yes ? "yes" : "no",
             alert ? alert : "a connection");
  }
}

static void test_never_connects(void **state) {
  world *w = *state;
  expect(w, "127.0.0.1", w->f.ca_crt, RT_TLS_TIME_NEVER, synced_yes, NULL);
}

static void test_auto_unsynced_connects(void **state) {
  world *w = *state;
  expect(w, "127.0.0.1", w->f.ca_crt, RT_TLS_TIME_AUTO, synced_no, NULL);
}

static void test_always_refused(void **state) {
  world *w = *state;
  expect(w, "127.0.0.1", w->f.ca_crt, RT_TLS_TIME_ALWAYS, synced_no, ALERT_BAD_CERT);
}

static void test_auto_synced_refused(void **state) {
  world *w = *state;
  expect(w, "127.0.0.1", w->f.ca_crt, RT_TLS_TIME_AUTO, synced_yes, ALERT_BAD_CERT);
}

/* Dates skipped, chain not: another CA's trust does not accept our broker. */
static void test_never_still_checks_chain(void **state) {
  world *w = *state;
  expect(w, "127.0.0.1", w->other.ca_crt, RT_TLS_TIME_NEVER, synced_no, ALERT_CHAIN);
}

/* ... nor the host name: the certificate names 127.0.0.1 only. */
static void test_never_still_checks_host(void **state) {
  world *w = *state;
  expect(w, "localhost", w->f.ca_crt, RT_TLS_TIME_NEVER, synced_no, ALERT_BAD_CERT);
}

static void test_bad_time_check_refused_at_open(void **state) {
  world *w = *state;
  char why[256] = "";
  rt_mqtt *m = NULL;
  rt_mqtt_opts o = {.host = "127.0.0.1", .port = w->future.port, .client_id = "hq",
                    .cafile = w->f.ca_crt, .tls_time_check = (rt_tls_time_check)7};
  assert_int_equal(rt_mqtt_open(&m, &o, why, sizeof why), -1);
  assert_null(m);
  assert_non_null(strstr(why, "tls_time_check"));
}

static int group_setup(void **state) {
  char why[1024], bin[256];
  if (!test_broker_find_bin(bin, sizeof bin)) {
    fprintf(stderr, "skipped: mosquitto not found\n");
    exit(77);
  }
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  fx_open(&w->f);
  fx_identities(&w->f);
  fx_open(&w->other);
  fx_identities(&w->other);
  /* the broker's certificate starts next year (test_agent.c's future broker) */
  prov_err err = {0};
  int64_t now = (int64_t)time(NULL);
  prov_cert_req r = {.cn = "127.0.0.1", .uses = PROV_USE_SERVER, .san = {"127.0.0.1"}, .n_san = 1,
                     .not_before_s = now + 365 * 86400, .not_after_s = now + 730 * 86400};
  fx_path(&w->f, w->f.broker_crt, FX_PATH, "future-broker.crt");
  fx_path(&w->f, w->f.broker_key, FX_PATH, "future-broker.key");
  if (prov_server_issue_identity(w->f.srv, &r, 0, w->f.broker_crt, w->f.broker_key, NULL, &err) !=
      PROV_OK)
    fail_msg("%s", err.msg);
  if (test_broker_start_conf(&w->future, fx_broker_conf, &w->f, why, sizeof why) != 0)
    fail_msg("%s", why);
  *state = w;
  return 0;
}

static int group_teardown(void **state) {
  world *w = *state;
  test_broker_stop(&w->future);
  fx_close(&w->other);
  fx_close(&w->f);
  free(w);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_never_connects),
      cmocka_unit_test(test_auto_unsynced_connects),
      cmocka_unit_test(test_always_refused),
      cmocka_unit_test(test_auto_synced_refused),
      cmocka_unit_test(test_never_still_checks_chain),
      cmocka_unit_test(test_never_still_checks_host),
      cmocka_unit_test(test_bad_time_check_refused_at_open),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
