/* test_hq_rollout.c - HQ's side of a staged rollout, end to end: a real
 * mosquitto, the real `hq` (fw_pubkey set, firmware registered over its
 * API) and four real update agents in `run` mode on directory slots with
 * the fake storenode.  hq decides (fw_rollout_next on its tick), publishes
 * the offers and serves the payload (with Range); the boxes download from
 * hq, install, health-check, commit or roll back, and report.
 *   - the API (an admin bearer token on every call: hq requires tokens): a
 *     bundle signed with another key is refused, Range on the payload
 *     answers 206 with Content-Range and the right bytes, the payload
 *     without any credential is 401, a rollout of an unregistered version
 *     is refused;
 *   - a good bundle rolls out in stages (25, 50, 100 %), never beyond the
 *     stage's share, and every box commits (each agent downloads with the
 *     signed URL of its own offer);
 *   - a bad one (its storenode crashes) fails on the first box, which rolls
 *     back by itself, and hq halts: the other boxes are never offered it.
 * Every wait polls for the event with a deadline.  Skipped (77) without
 * mosquitto or the binaries.
 */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "fwtest.h"
#include "hqtest.h"

#define BOXES 4
#define WAIT_MS 120000
#define ADMIN_TOKEN "fwtest-admin-0123456789abcdef"

typedef struct fix {
  char dir[FWT_PATH];
  const char *agent, *fake, *hq_bin;
  fwt_keys key, other;
  test_broker broker;
  int hq_pid, hq_port;
  fwt_box box[BOXES];
  char ids[BOXES][8];
  int pid[BOXES];
} fix;

/* hq's API as the operator: with the admin token. */
static hqt_resp http(fix *f, const char *method, const char *path, const char *extra, const char *body,
                     bool may_fail) {
  return hqt_http(f->hq_port, ADMIN_TOKEN, method, path, extra, body, may_fail);
}

static void start_hq(fix *f) {
  char conf[FWT_PATH + 16], tokens[FWT_PATH + 16], text[4 * FWT_PATH];
  f->hq_port = fwt_free_port();
  snprintf(conf, sizeof conf, "%s/hq.conf", f->dir);
  snprintf(tokens, sizeof tokens, "%s/tokens", f->dir);
  fwt_write(tokens, ADMIN_TOKEN " admin ops\n", 0600);
  snprintf(text, sizeof text,
           "http_port = %d\ndb_path = %s/hq.db\nmqtt_port = %d\ntick_ms = 20\nfw_pubkey = %s/fw.pub\n"
           "api_tokens_file = %s\nlog_level = warn\n",
           f->hq_port, f->dir, f->broker.port, f->dir, tokens);
  fwt_write(conf, text, 0644);
  f->hq_pid = hqt_spawn(f->hq_bin, conf, NULL);
  if (hqt_wait_up(f->hq_port, ADMIN_TOKEN, test_now_ms() + WAIT_MS, NULL, NULL) != 0)
    fail_msg("hq did not come up");
}

static int setup(void **state) {
  char why[512], p[FWT_PATH + 32];
  fix *f = calloc(1, sizeof *f);
  f->agent = getenv("FW_AGENT_BIN");
  f->fake = getenv("FW_FAKE_BIN");
  f->hq_bin = getenv("HQ_BIN");
  if (!f->agent || !f->fake || !f->hq_bin || !test_broker_find_bin(why, sizeof why)) {
    fprintf(stderr, "SKIPPED: needs FW_AGENT_BIN, FW_FAKE_BIN, HQ_BIN and mosquitto\n");
    free(f);
    exit(77);
  }
  if (test_broker_start(&f->broker, NULL, why, sizeof why) != 0) fail_msg("broker: %s", why);
  fwt_tmpdir(f->dir);
  fwt_keys_make(&f->key);
  fwt_keys_make(&f->other);
  snprintf(p, sizeof p, "%s/fw.pub", f->dir);
  fwt_write(p, f->key.pub, 0644);
  static const char *const b[][3] = {
      {"b100", "1.0.0", "good"}, {"b110", "1.1.0", "good"}, {"b111crash", "1.1.1", "crash"}};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/srv/%s", f->dir, b[i][0]);
    fwt_bundle(p, f->fake, b[i][1], "1.0.0", b[i][2], f->key.priv);
  }
  snprintf(p, sizeof p, "%s/srv/b120other", f->dir);
  fwt_bundle(p, f->fake, "1.2.0", "1.0.0", "good", f->other.priv);
  start_hq(f);
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
  if (f->hq_pid > 0) {
    kill(f->hq_pid, SIGTERM);
    assert_int_equal(fwt_wait(f->hq_pid, WAIT_MS), 0); /* clean exit: no leak under ASan */
  }
  test_broker_stop(&f->broker);
  fwt_keys_free(&f->key);
  fwt_keys_free(&f->other);
  fwt_rmrf(f->dir);
  free(f);
  return 0;
}

static void register_bundle(fix *f, const char *name, int expect) {
  char body[FWT_PATH + 64];
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/%s\"}", f->dir, name);
  hqt_resp r = http(f, "POST", "/api/v1/firmware", NULL, body, false);
  if (r.status != expect) fail_msg("register %s: %d %s", name, r.status, r.body);
  free(r.head);
}

/* Four boxes on 1.0.0, their agents running (they report at start). */
static void start_boxes(fix *f, const char *tag) {
  char dir[FWT_PATH + 32], bundle[FWT_PATH + 16], port[32], sets[BOXES][48];
  snprintf(bundle, sizeof bundle, "%s/srv/b100", f->dir);
  snprintf(port, sizeof port, "mqtt_port=%d", f->broker.port);
  for (int i = 0; i < BOXES; i++) {
    snprintf(f->ids[i], sizeof f->ids[i], "%s%d", tag, i);
    snprintf(dir, sizeof dir, "%s/%s", f->dir, f->ids[i]);
    fwt_box_init(&f->box[i], dir, f->agent, f->key.pub, bundle, 2);
    snprintf(sets[i], sizeof sets[i], "store_id=%s", f->ids[i]);
    const char *argv[] = {f->agent, "--config", f->box[i].conf, "--set", sets[i], "--set", "mqtt_host=127.0.0.1",
                          "--set", port, "run", NULL};
    f->pid[i] = fwt_spawn(argv, NULL);
  }
}

static void stop_boxes(fix *f, bool term) {
  for (int i = 0; i < BOXES; i++) {
    int pid = f->pid[i];
    if (term) kill(pid, SIGTERM);
    f->pid[i] = 0;
    assert_int_equal(fwt_wait(pid, WAIT_MS), 0);
    fwt_box_done(&f->box[i]);
    f->box[i].root[0] = '\0';
  }
}

/* Start a rollout of version to the boxes; its id into id. */
static void start_rollout(fix *f, const char *version, char id[64]) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"version\":\"%s\",\"stores\":[\"%s\",\"%s\",\"%s\",\"%s\"],\"percent_steps\":[25,50,100],"
           "\"max_failures\":0}",
           version, f->ids[0], f->ids[1], f->ids[2], f->ids[3]);
  hqt_resp r = http(f, "POST", "/api/v1/rollouts", NULL, body, false);
  if (r.status != 201 || sscanf(r.body, "{\"id\":\"%63[^\"]\"", id) != 1)
    fail_msg("rollout: %d %s", r.status, r.body);
  free(r.head);
}

/* Poll the rollout until it is finished (done or halted); checks on every
 * answer that no more boxes were offered than the stage allows.  Returns
 * the final JSON (malloc'd block in *blk). */
static char *wait_rollout(fix *f, const char *id, char **blk) {
  char path[128];
  long long deadline = test_now_ms() + WAIT_MS;
  int last_pct = 0;
  snprintf(path, sizeof path, "/api/v1/rollouts/%s", id);
  for (;;) {
    hqt_resp r = http(f, "GET", path, NULL, NULL, false);
    int pct = 0;
    const char *p = strstr(r.body, "\"percent\":");
    assert_int_equal(r.status, 200);
    assert_non_null(p);
    pct = atoi(p + 10);
    assert_true(pct >= last_pct); /* stages only go up */
    last_pct = pct;
    size_t touched = BOXES - hqt_count(r.body, "\"status\":\"pending\"");
    if (touched > (size_t)(pct * BOXES + 99) / 100) fail_msg("more boxes offered than %d %%: %s", pct, r.body);
    if (strstr(r.body, "\"status\":\"done\"") || strstr(r.body, "\"status\":\"halted\"")) {
      *blk = r.head;
      return r.body;
    }
    free(r.head);
    if (test_now_ms() > deadline) fail_msg("rollout %s: no end after %d ms", id, WAIT_MS);
    hqt_pause_poll();
  }
}

static void test_api_refuses_and_serves_ranges(void **state) {
  fix *f = *state;
  char path[FWT_PATH + 32], body[256];
  size_t len = 0;
  register_bundle(f, "b110", 201);
  register_bundle(f, "b110", 200);                  /* again: the same bundle, fine */
  register_bundle(f, "b120other", 422);             /* signed with another key */
  hqt_resp r = http(f, "POST", "/api/v1/firmware", NULL, "{\"path\":\"/nonexistent\"}", false);
  assert_int_equal(r.status, 422);
  free(r.head);
  snprintf(path, sizeof path, "%s/srv/b110/payload.tar", f->dir);
  char *tar = fwt_read(path, &len);
  assert_non_null(tar);
  r = http(f, "GET", "/api/v1/firmware/1.1.0/payload", NULL, NULL, false);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, len);
  assert_memory_equal(r.body, tar, len);
  free(r.head);
  r = http(f, "GET", "/api/v1/firmware/1.1.0/payload", "Range: bytes=1000-\r\n", NULL, false);
  assert_int_equal(r.status, 206);
  snprintf(body, sizeof body, "content-range: bytes 1000-%zu/%zu", len - 1, len);
  if (!strcasestr(r.head, body)) fail_msg("no '%s' in %s", body, r.head);
  assert_int_equal(r.body_len, len - 1000);
  assert_memory_equal(r.body, tar + 1000, len - 1000);
  free(r.head);
  r = http(f, "GET", "/api/v1/firmware/1.1.0/payload", "Range: bytes=99999999-\r\n", NULL, false);
  assert_int_equal(r.status, 416);
  free(r.head);
  r = http(f, "GET", "/api/v1/firmware/9.9.9/payload", NULL, NULL, false);
  assert_int_equal(r.status, 404);
  free(r.head);
  r = hqt_http(f->hq_port, NULL, "GET", "/api/v1/firmware/1.1.0/payload", NULL, NULL, false); /* no credential */
  assert_int_equal(r.status, 401);
  assert_non_null(strstr(r.body, "signed URL"));
  free(r.head);
  r = http(f, "POST", "/api/v1/rollouts", NULL, "{\"version\":\"9.9.9\",\"stores\":[\"x\"],\"percent\":10}", false);
  assert_int_equal(r.status, 422);
  assert_non_null(strstr(r.body, "\"field\":\"version\""));
  free(r.head);
  free(tar);
}

static void test_staged_rollout_reaches_everyone(void **state) {
  fix *f = *state;
  char id[64], *blk;
  register_bundle(f, "b110", 200);
  start_boxes(f, "ok");
  start_rollout(f, "1.1.0", id);
  const char *json = wait_rollout(f, id, &blk);
  if (!strstr(json, "\"status\":\"done\"") || !strstr(json, "\"committed\":4")) fail_msg("%s", json);
  assert_int_equal(hqt_count(json, "\"status\":\"committed\""), BOXES);
  assert_int_equal(hqt_count(json, "\"installed\":\"1.1.0\""), BOXES);
  free(blk);
  for (int i = 0; i < BOXES; i++) {
    char v[32];
    fwt_running_version(&f->box[i], v, sizeof v);
    assert_string_equal(v, "1.1.0");
  }
  stop_boxes(f, false); /* each agent exits after its commit (systemd starts the new slot's) */
}

static void test_staged_rollout_halts_on_failure(void **state) {
  fix *f = *state;
  char id[64], *blk, path[128];
  register_bundle(f, "b111crash", 201);
  start_boxes(f, "bad");
  start_rollout(f, "1.1.1", id);
  const char *json = wait_rollout(f, id, &blk);
  if (!strstr(json, "\"status\":\"halted\"") || !strstr(json, "\"failed\":1")) fail_msg("%s", json);
  assert_int_equal(hqt_count(json, "\"status\":\"failed\""), 1);
  assert_int_equal(hqt_count(json, "\"status\":\"pending\""), BOXES - 1); /* never offered */
  assert_int_equal(hqt_count(json, "\"installed\":\"1.0.0\""), BOXES);
  free(blk);
  for (int i = 0; i < BOXES; i++) {
    char v[32];
    fwt_running_version(&f->box[i], v, sizeof v);
    assert_string_equal(v, "1.0.0"); /* the failed box rolled back by itself */
  }
  snprintf(path, sizeof path, "/api/v1/rollouts/%s/halt", id); /* halting a halted rollout: no-op */
  hqt_resp r = http(f, "POST", path, NULL, NULL, false);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"status\":\"halted\""));
  free(r.head);
  stop_boxes(f, true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_api_refuses_and_serves_ranges),
      cmocka_unit_test(test_staged_rollout_reaches_everyone),
      cmocka_unit_test(test_staged_rollout_halts_on_failure),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
