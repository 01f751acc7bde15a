/* test_rollout_mqtt.c - a staged rollout over MQTT, end to end: a real
 * mosquitto (tests/common/broker.c), update agents in `run` mode on four
 * test boxes, and this test playing HQ's part with fw_rollout_next(): it
 * publishes offers on retail/v1/stores/<id>/down/update and reads the
 * boxes' reports on up/update.
 *   - a good bundle rolls out in stages (25 %, 50 %, 100 %) to every box;
 *   - a bad one fails on the first box, which rolls back by itself, and the
 *     rollout halts: the other boxes are never offered it.
 * Every wait polls for the event with a deadline (times RETAIL_TIME_SCALE
 * under an emulator).  Skipped (77) without a mosquitto binary.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker.h"
#include "exec_wrap.h"
#include "fw/rollout.h"
#include "fwtest.h"
#include "rt/mqtt.h"

#define BOXES 4
#define WAIT_MS 60000

typedef struct fix {
  char dir[FWT_PATH];
  const char *agent, *fake;
  fwt_keys key;
  fwt_http http;
  test_broker broker;
  rt_mqtt *hq;
  fwt_box box[BOXES];
  char ids[BOXES][8];
  int pid[BOXES];
  fw_report last[BOXES];   /* newest report per box */
  bool heard[BOXES];
} fix;

static int setup(void **state) {
  char why[512], p[FWT_PATH + 32];
  static const char *const subs[] = {"retail/v1/stores/+/up/update"};
  rt_mqtt_opts o;
  fix *f = calloc(1, sizeof *f);
  f->agent = getenv("FW_AGENT_BIN");
  f->fake = getenv("FW_FAKE_BIN");
  if (!f->agent || !f->fake || !test_broker_find_bin(why, sizeof why)) {
    fprintf(stderr, "SKIPPED: needs FW_AGENT_BIN, FW_FAKE_BIN and mosquitto\n");
    free(f);
    exit(77);
  }
  if (test_broker_start(&f->broker, NULL, why, sizeof why) != 0) fail_msg("broker: %s", why);
  fwt_tmpdir(f->dir);
  fwt_keys_make(&f->key);
  static const char *const b[][3] = {
      {"b100", "1.0.0", "good"}, {"b110", "1.1.0", "good"}, {"b110crash", "1.1.0", "crash"}};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/srv/%s", f->dir, b[i][0]);
    fwt_bundle(p, f->fake, b[i][1], "1.0.0", b[i][2], f->key.priv);
  }
  snprintf(p, sizeof p, "%s/srv", f->dir);
  assert_int_equal(fwt_http_start(&f->http, p), 0);
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = f->broker.port;
  o.client_id = "test-hq";
  o.subs = subs;
  o.n_subs = 1;
  if (rt_mqtt_open(&f->hq, &o, why, sizeof why) != 0) fail_msg("mqtt: %s", why);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fix *f = *state;
  for (int i = 0; i < BOXES; i++) { /* what a failed test left running */
    char pidfile[FWT_PATH + 48];
    if (f->pid[i] > 0) {
      kill(f->pid[i], SIGKILL);
      fwt_wait(f->pid[i], 10000);
    }
    snprintf(pidfile, sizeof pidfile, "%s/storenode.pid", f->box[i].root);
    if (f->box[i].root[0]) fwt_stop_pidfile(pidfile);
  }
  rt_mqtt_close(f->hq);
  fwt_http_stop(&f->http);
  test_broker_stop(&f->broker);
  fwt_keys_free(&f->key);
  fwt_rmrf(f->dir);
  free(f);
  return 0;
}

static void on_msg(void *ctx, const rt_mqtt_event *ev) {
  fix *f = ctx;
  fw_report r;
  if (ev->kind != RT_MQTT_MESSAGE || fw_report_decode(ev->payload, ev->len, &r, NULL) != FW_OK) return;
  for (int i = 0; i < BOXES; i++) {
    if (strcmp(r.store, f->ids[i]) == 0) {
      f->last[i] = r;
      f->heard[i] = true;
    }
  }
}

/* Drain HQ's queue, polling every 5 ms (a poll interval, not a wait for an event). */
static void pump(fix *f) {
  struct timespec ts = {0, 5 * 1000 * 1000};
  rt_mqtt_drain(f->hq, on_msg, f);
  nanosleep(&ts, NULL);
}

static long long now_ms(void) { return test_now_ms(); }

/* Four boxes on 1.0.0, their agents running and heard from. */
static void start_boxes(fix *f, const char *tag) {
  char dir[FWT_PATH + 32], bundle[FWT_PATH + 16], port[32], sets[BOXES][48];
  long long deadline;
  snprintf(bundle, sizeof bundle, "%s/srv/b100", f->dir);
  snprintf(port, sizeof port, "mqtt_port=%d", f->broker.port);
  memset(f->last, 0, sizeof f->last);
  memset(f->heard, 0, sizeof f->heard);
  for (int i = 0; i < BOXES; i++) {
    snprintf(f->ids[i], sizeof f->ids[i], "%s%d", tag, i);
    snprintf(dir, sizeof dir, "%s/%s", f->dir, f->ids[i]);
    fwt_box_init(&f->box[i], dir, f->agent, f->key.pub, bundle, 2);
    snprintf(sets[i], sizeof sets[i], "store_id=%s", f->ids[i]);
    const char *argv[] = {f->agent, "--config", f->box[i].conf, "--set", sets[i], "--set", "mqtt_host=127.0.0.1",
                          "--set", port, "run", NULL};
    f->pid[i] = fwt_spawn(argv, NULL);
  }
  deadline = now_ms() + test_scaled_ms(WAIT_MS);
  for (int i = 0; i < BOXES; i++)
    while (!f->heard[i]) {
      if (now_ms() > deadline) fail_msg("box %s never reported", f->ids[i]);
      pump(f);
    }
}

static void offer_box(fix *f, int i, const char *bundle, const char *rollout) {
  char dir[FWT_PATH + 16], url[256], topic[128];
  char *json;
  snprintf(dir, sizeof dir, "%s/srv/%s", f->dir, bundle);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/%s/payload.tar", f->http.port, bundle);
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/down/update", f->ids[i]);
  json = fwt_offer(dir, rollout, url, false);
  assert_int_equal(rt_mqtt_publish(f->hq, topic, json, strlen(json), 1, true), 0);
  free(json);
}

/* HQ's loop: fleet state from the reports -> fw_rollout_next -> offers,
 * raising the percentage by stages once a stage has finished. */
static fw_rollout_decision roll(fix *f, const char *bundle, const char *rollout, fw_rollout_policy p) {
  static const unsigned stages[] = {25, 50, 100};
  fw_fleet_box boxes[BOXES];
  size_t offer[BOXES], stage = 0;
  fw_rollout_decision d;
  long long deadline = now_ms() + test_scaled_ms(WAIT_MS);
  for (;;) {
    for (int i = 0; i < BOXES; i++) {
      bool ours = strcmp(f->last[i].offer_id, rollout) == 0;
      boxes[i] = (fw_fleet_box){f->ids[i], ours ? fw_fleet_status_of(f->last[i].state) : FW_FLEET_PENDING};
    }
    p.percent = stages[stage];
    assert_int_equal(fw_rollout_next(boxes, BOXES, &p, offer, BOXES, &d, NULL), FW_OK);
    for (size_t k = 0; k < d.n_offer; k++) {
      offer_box(f, (int)offer[k], bundle, rollout);
      f->last[offer[k]].state = FW_ST_OFFERED; /* ACTIVE until its first report */
      snprintf(f->last[offer[k]].offer_id, sizeof f->last[offer[k]].offer_id, "%s", rollout);
    }
    if (d.done || (d.halt && d.active == 0)) return d;
    if (d.active == 0 && d.n_offer == 0 && stage + 1 < sizeof stages / sizeof stages[0]) stage++;
    if (now_ms() > deadline) fail_msg("rollout %s: no end after %d ms", rollout, test_scaled_ms(WAIT_MS));
    pump(f);
  }
}

static void stop_boxes(fix *f, int expect_exit) {
  for (int i = 0; i < BOXES; i++) {
    int pid = f->pid[i];
    if (expect_exit < 0) kill(pid, SIGTERM);
    f->pid[i] = 0;
    assert_int_equal(fwt_wait(pid, WAIT_MS), 0);
    fwt_box_done(&f->box[i]);
    f->box[i].root[0] = '\0';
  }
}

static void test_staged_rollout_reaches_everyone(void **state) {
  fix *f = *state;
  fw_rollout_policy p = {0, 0, -1, 1, 99};
  fw_rollout_decision d;
  start_boxes(f, "ok");
  d = roll(f, "b110", "rollout-good", p);
  assert_false(d.halt);
  assert_int_equal(d.committed, BOXES);
  for (int i = 0; i < BOXES; i++) {
    char v[32];
    assert_string_equal(f->last[i].installed, "1.1.0");
    fwt_running_version(&f->box[i], v, sizeof v);
    assert_string_equal(v, "1.1.0");
  }
  stop_boxes(f, 0); /* each agent exits after its commit (systemd starts the new slot's) */
}

static void test_staged_rollout_halts_on_failure(void **state) {
  fix *f = *state;
  fw_rollout_policy p = {0, 0, -1, 1, 99}; /* zero failures tolerated, one box at a time */
  fw_rollout_decision d;
  int failed = 0, untouched = 0;
  start_boxes(f, "bad");
  d = roll(f, "b110crash", "rollout-bad", p);
  assert_true(d.halt);
  assert_int_equal(d.failed, 1);
  for (int i = 0; i < BOXES; i++) {
    char v[32];
    fwt_running_version(&f->box[i], v, sizeof v);
    assert_string_equal(v, "1.0.0"); /* the failed box rolled back by itself */
    assert_string_equal(f->last[i].installed, "1.0.0");
    failed += f->last[i].state == FW_ST_FAILED;
    untouched += f->last[i].state == FW_ST_IDLE;
  }
  assert_int_equal(failed, 1);
  assert_int_equal(untouched, BOXES - 1);
  stop_boxes(f, -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_staged_rollout_reaches_everyone),
      cmocka_unit_test(test_staged_rollout_halts_on_failure),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
