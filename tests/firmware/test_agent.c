/* test_agent.c - the update agent end to end: the real storenode-update
 * binary on test boxes (slots are directories, the "reboot" restarts a fake
 * storenode process), bundles signed with test keys, payloads served by a
 * tiny HTTP server in this process.
 *
 *   - a good update commits; bad ones (dead daemon, replication down) roll
 *     back by themselves;
 *   - tampered payload, tampered manifest, wrong key, downgrade, same
 *     version, below the floor: each refused with its reason, nothing
 *     changes on the box;
 *   - SIGKILL in every state of the machine (table), then `recover`: the box
 *     is always on a complete slot, and ends where the update should;
 *   - interrupted downloads resume with Range (cut by the server, the agent
 *     killed mid-download, a server that ignores Range);
 *   - a health check cut short too often rolls back.
 * Binaries come from the environment: FW_AGENT_BIN, FW_FAKE_BIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fw/file.h"
#include "fwtest.h"

typedef struct fix {
  char dir[FWT_PATH];
  const char *agent, *fake;
  fwt_keys key, other;
  fwt_http http;
  int boxes;
} fix;

static void srv_path(const fix *f, char *out, size_t cap, const char *name) {
  int n = snprintf(out, cap, "%s/srv/%s", f->dir, name);
  if (n < 0 || (size_t)n >= cap) fail_msg("path too long: %s/srv/%s", f->dir, name);
}

/* Copy a bundle dir (the three files). */
static void copy_bundle(const fix *f, const char *from, const char *to) {
  static const char *const files[] = {"manifest.json", "manifest.sig", "payload.tar"};
  char a[FWT_PATH + 32], b[FWT_PATH + 32], d[FWT_PATH];
  srv_path(f, d, sizeof d, to);
  fwt_rmrf(d);
  assert_int_equal(fw_mkdirs(d, 0755, NULL), FW_OK);
  for (int i = 0; i < 3; i++) {
    snprintf(a, sizeof a, "%s/srv/%s/%s", f->dir, from, files[i]);
    snprintf(b, sizeof b, "%s/srv/%s/%s", f->dir, to, files[i]);
    fwt_copy(a, b, 0644);
  }
}

/* Replace the first `old` in a served file by `new` (same length). */
static void patch(const fix *f, const char *bundle, const char *file, size_t at, const char *old,
                  const char *new) {
  char p[FWT_PATH + 64];
  size_t n = 0;
  char *d;
  snprintf(p, sizeof p, "%s/srv/%s/%s", f->dir, bundle, file);
  d = fwt_read(p, &n);
  assert_non_null(d);
  if (old) {
    char *hit = strstr(d, old);
    assert_non_null(hit);
    memcpy(hit, new, strlen(new));
  } else {
    d[at] ^= 1;
  }
  assert_int_equal(fw_file_write_atomic(p, d, n, 0644, NULL), FW_OK);
  free(d);
}

static int group_setup(void **state) {
  fix *f = calloc(1, sizeof *f);
  char p[FWT_PATH];
  assert_non_null(f);
  f->agent = getenv("FW_AGENT_BIN");
  f->fake = getenv("FW_FAKE_BIN");
  if (!f->agent || !f->fake) {
    fprintf(stderr, "FW_AGENT_BIN and FW_FAKE_BIN must name the binaries\n");
    free(f);
    return -1;
  }
  fwt_tmpdir(f->dir);
  fwt_keys_make(&f->key);
  fwt_keys_make(&f->other);
  static const struct {
    const char *name, *version, *min, *mode;
    int other_key;
  } bundles[] = {
      {"b100", "1.0.0", "1.0.0", "good", 0},      {"b110", "1.1.0", "1.0.0", "good", 0},
      {"b110crash", "1.1.0", "1.0.0", "crash", 0}, {"b110norepl", "1.1.0", "1.0.0", "norepl", 0},
      {"b090", "0.9.0", "0.9.0", "good", 0},      {"b120", "1.2.0", "1.2.0", "good", 0},
      {"b110other", "1.1.0", "1.0.0", "good", 1},
  };
  for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++) {
    srv_path(f, p, sizeof p, bundles[i].name);
    fwt_bundle(p, f->fake, bundles[i].version, bundles[i].min, bundles[i].mode,
               bundles[i].other_key ? f->other.priv : f->key.priv);
  }
  copy_bundle(f, "b110", "b110payload");
  patch(f, "b110payload", "payload.tar", 100000, NULL, NULL); /* one bit of the filler */
  copy_bundle(f, "b110", "b110manifest");
  patch(f, "b110manifest", "manifest.json", 0, "\"min_version\":\"1.0.0\"", "\"min_version\":\"0.0.1\"");
  srv_path(f, p, sizeof p, "");
  assert_int_equal(fwt_http_start(&f->http, p), 0);
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  fix *f = *state;
  for (int i = 1; i <= f->boxes; i++) { /* boxes a failed test left running */
    char pidfile[FWT_PATH + 48];
    snprintf(pidfile, sizeof pidfile, "%s/box%d/storenode.pid", f->dir, i);
    fwt_stop_pidfile(pidfile);
  }
  fwt_http_stop(&f->http);
  fwt_keys_free(&f->key);
  fwt_keys_free(&f->other);
  fwt_rmrf(f->dir);
  free(f);
  return 0;
}

/* A fresh box running 1.0.0 from slot a. */
static void box_up(fix *f, fwt_box *b, int deadline_s) {
  char dir[FWT_PATH + 32], bundle[FWT_PATH];
  snprintf(dir, sizeof dir, "%s/box%d", f->dir, ++f->boxes);
  srv_path(f, bundle, sizeof bundle, "b100");
  fwt_box_init(b, dir, f->agent, f->key.pub, bundle, deadline_s);
}

/* Offer a served bundle to the box with `apply`; returns the exit status. */
static int offer(fix *f, fwt_box *b, const char *bundle, bool rollback, const char *const env[]) {
  char dir[FWT_PATH], url[256], file[FWT_PATH + 32], id[64];
  char *json;
  int rc;
  srv_path(f, dir, sizeof dir, bundle);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/%s/payload.tar", f->http.port, bundle);
  snprintf(id, sizeof id, "rollout-%s-%d", bundle, f->boxes);
  json = fwt_offer(dir, id, url, rollback);
  snprintf(file, sizeof file, "%s/offer.json", b->root);
  fwt_write(file, json, 0644);
  free(json);
  rc = fwt_agent(b, "apply", file, env);
  return rc;
}

static fw_report last_report(const fwt_box *b) {
  fw_report r[128];
  size_t n = fwt_reports(b, r, 128);
  assert_true(n > 0);
  return r[n - 1];
}

/* The box is at rest in state st, running `version` from `slot`, and its
 * slots and state agree (`check`). */
static void expect_box(const fwt_box *b, fw_state st, const char *version, const char *slot) {
  fw_report r = last_report(b);
  char cur[2], running[64];
  fwt_current(b, cur);
  fwt_running_version(b, running, sizeof running);
  assert_string_equal(fw_state_name(r.state), fw_state_name(st));
  assert_string_equal(r.installed, version);
  assert_string_equal(cur, slot);
  assert_string_equal(running, version);
  assert_int_equal(fwt_agent(b, "check", NULL, NULL), 0);
}

/* ---- updates that work, and ones that do not ---- */

static void test_update_commits(void **state) {
  fix *f = *state;
  fwt_box b;
  fw_report r[128];
  static const fw_state path[] = {FW_ST_OFFERED, FW_ST_DOWNLOADING, FW_ST_VERIFYING, FW_ST_INSTALLING,
                                  FW_ST_SWITCHING, FW_ST_HEALTH_CHECK, FW_ST_COMMITTED};
  size_t n, k = 0;
  box_up(f, &b, 10);
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  n = fwt_reports(&b, r, 128);
  for (size_t i = 0; i < n && k < 7; i++) /* every step reported, in order (progress repeats DOWNLOADING) */
    if (r[i].state == path[k]) k++;
  assert_int_equal(k, 7);
  /* the same offer again (a retained message after a reconnect) changes nothing */
  k = (size_t)fwt_http_requests(&f->http);
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  assert_int_equal(fwt_http_requests(&f->http), (int)k);
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  fwt_box_done(&b);
}

static void test_bad_firmware_rolls_back(void **state) {
  static const struct {
    const char *bundle, *why;
  } rows[] = {{"b110crash", "not healthy"}, {"b110norepl", "replication not connected"}};
  fix *f = *state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fwt_box b;
    fw_report r[128];
    size_t n;
    bool rolled = false;
    box_up(f, &b, 2);
    assert_int_equal(offer(f, &b, rows[i].bundle, false, NULL), 1);
    expect_box(&b, FW_ST_FAILED, "1.0.0", "a");
    n = fwt_reports(&b, r, 128);
    for (size_t j = 0; j < n; j++) rolled = rolled || r[j].state == FW_ST_ROLLBACK;
    assert_true(rolled);
    assert_string_equal(r[n - 1].error, "health");
    if (!strstr(r[n - 1].detail, rows[i].why) || !strstr(r[n - 1].detail, "rolled back to 1.0.0"))
      fail_msg("%s: detail \"%s\"", rows[i].bundle, r[n - 1].detail);
    fwt_box_done(&b);
  }
}

/* Each refused with a clear reason; nothing installed, nothing restarted. */
static void test_refusals(void **state) {
  static const struct {
    const char *name, *bundle;
    bool rollback, downloads;
    const char *error, *says;
  } rows[] = {
      {"tampered payload", "b110payload", false, true, "bad_payload", "sha256"},
      {"tampered manifest", "b110manifest", false, false, "bad_signature", "does not verify"},
      {"wrong signing key", "b110other", false, false, "bad_signature", "trusted key"},
      {"downgrade", "b090", false, false, "downgrade", "below the installed 1.0.0"},
      {"downgrade below the floor even as a rollback", "b090", true, false, "downgrade", "minimum version"},
      {"same version", "b100", false, false, "installed", "already installed"},
  };
  fix *f = *state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fwt_box b;
    fw_report r;
    int before;
    box_up(f, &b, 10);
    before = fwt_http_requests(&f->http);
    assert_int_equal(offer(f, &b, rows[i].bundle, rows[i].rollback, NULL), 1);
    r = last_report(&b);
    if (strcmp(r.error, rows[i].error) != 0 || !strstr(r.detail, rows[i].says))
      fail_msg("%s: got %s \"%s\"", rows[i].name, r.error, r.detail);
    assert_int_equal(fwt_http_requests(&f->http) > before, rows[i].downloads);
    expect_box(&b, FW_ST_FAILED, "1.0.0", "a");
    fwt_box_done(&b);
  }
}

/* The floor: after 1.2.0 (min_version 1.2.0) no rollback to 1.1.0; an
 * explicit rollback above the floor is fine. */
static void test_floor_and_explicit_rollback(void **state) {
  fix *f = *state;
  fwt_box b;
  box_up(f, &b, 10);
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  assert_int_equal(offer(f, &b, "b100", true, NULL), 0); /* explicit rollback 1.1.0 -> 1.0.0 */
  expect_box(&b, FW_ST_COMMITTED, "1.0.0", "a");
  assert_int_equal(offer(f, &b, "b120", false, NULL), 0);
  expect_box(&b, FW_ST_COMMITTED, "1.2.0", "b");
  assert_int_equal(offer(f, &b, "b110", true, NULL), 1);
  assert_string_equal(last_report(&b).error, "downgrade");
  expect_box(&b, FW_ST_FAILED, "1.2.0", "b");
  fwt_box_done(&b);
}

/* At rest `current` is the active slot: `check` notices when someone moved
 * it, the next run of the agent puts it back. */
static void test_current_moved_is_restored(void **state) {
  fix *f = *state;
  fwt_box b;
  char link[FWT_PATH + 16], tmp[FWT_PATH + 16], cur[2];
  box_up(f, &b, 10);
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  snprintf(link, sizeof link, "%s/current", b.root);
  snprintf(tmp, sizeof tmp, "%s/current.x", b.root);
  assert_int_equal(symlink("slots/a", tmp), 0);
  assert_int_equal(rename(tmp, link), 0);
  assert_int_equal(fwt_agent(&b, "check", NULL, NULL), 1);
  fwt_current(&b, cur);
  assert_string_equal(cur, "a"); /* check only looks */
  assert_int_equal(fwt_agent(&b, "recover", NULL, NULL), 0);
  fwt_current(&b, cur);
  assert_string_equal(cur, "b");
  assert_int_equal(fwt_agent(&b, "check", NULL, NULL), 0);
  fwt_box_done(&b);
}

/* ---- SIGKILL in every state ---- */

static void test_killed_in_every_state(void **state) {
  static const struct {
    fw_state at;
    const char *bundle;
    int exit_after;           /* of `recover` */
    fw_state end;
    const char *version, *slot;
  } rows[] = {
      {FW_ST_OFFERED, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_DOWNLOADING, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_VERIFYING, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_INSTALLING, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_SWITCHING, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_HEALTH_CHECK, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_COMMITTED, "b110", 0, FW_ST_COMMITTED, "1.1.0", "b"},
      {FW_ST_HEALTH_CHECK, "b110crash", 1, FW_ST_FAILED, "1.0.0", "a"},
      {FW_ST_ROLLBACK, "b110crash", 1, FW_ST_FAILED, "1.0.0", "a"},
      {FW_ST_FAILED, "b110crash", 1, FW_ST_FAILED, "1.0.0", "a"},
      {FW_ST_FAILED, "b090", 1, FW_ST_FAILED, "1.0.0", "a"},
  };
  fix *f = *state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char hook[96];
    const char *env[] = {hook, NULL};
    fwt_box b;
    snprintf(hook, sizeof hook, "STORENODE_UPDATE_TEST_KILL_AT=%s", fw_state_name(rows[i].at));
    box_up(f, &b, 2);
    if (offer(f, &b, rows[i].bundle, false, env) != -9) fail_msg("row %zu: the agent was not killed in %s", i, hook);
    /* right after the kill: `current` names a complete slot of this update */
    if (fwt_agent(&b, "check", NULL, NULL) != 0) fail_msg("row %zu (%s): inconsistent after the kill", i, hook);
    if (fwt_agent(&b, "recover", NULL, NULL) != rows[i].exit_after) fail_msg("row %zu (%s): recover", i, hook);
    expect_box(&b, rows[i].end, rows[i].version, rows[i].slot);
    fwt_box_done(&b);
  }
}

/* A daemon that takes the box down mid-check: health_max_attempts checks
 * cut short, then the agent rolls back without finishing one. */
static void test_interrupted_health_checks_roll_back(void **state) {
  const char *env[] = {"STORENODE_UPDATE_TEST_KILL_AT=health_check", NULL};
  fix *f = *state;
  fwt_box b;
  box_up(f, &b, 10);
  assert_int_equal(offer(f, &b, "b110", false, env), -9);
  for (int i = 0; i < 3; i++) assert_int_equal(fwt_agent(&b, "recover", NULL, env), -9);
  assert_int_equal(fwt_agent(&b, "recover", NULL, NULL), 1);
  assert_non_null(strstr(last_report(&b).detail, "interrupted 3 times"));
  expect_box(&b, FW_ST_FAILED, "1.0.0", "a");
  fwt_box_done(&b);
}

/* ---- downloads ---- */

static void test_download_resumes_after_cut(void **state) {
  fix *f = *state;
  fwt_box b;
  int first;
  box_up(f, &b, 10);
  first = fwt_http_requests(&f->http);
  fwt_http_cut(&f->http, 40000, 2, false); /* two cuts in a row, then a full answer */
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  assert_int_equal(fwt_http_requests(&f->http) - first, 3);
  assert_int_equal(f->http.range_start[first], -1);
  assert_int_equal(f->http.sent[first], 40000);
  assert_int_equal(f->http.range_start[first + 1], 40000);
  assert_int_equal(f->http.status[first + 1], 206);
  assert_int_equal(f->http.range_start[first + 2], 80000);
  fwt_box_done(&b);
}

static void test_download_resumes_after_agent_killed(void **state) {
  const char *env[] = {"STORENODE_UPDATE_TEST_KILL_AFTER_BYTES=100000", NULL};
  fix *f = *state;
  fwt_box b;
  int n;
  box_up(f, &b, 10);
  assert_int_equal(offer(f, &b, "b110", false, env), -9);
  assert_int_equal(fwt_agent(&b, "recover", NULL, NULL), 0);
  n = fwt_http_requests(&f->http);
  assert_true(f->http.range_start[n - 1] >= 100000);
  assert_int_equal(f->http.status[n - 1], 206);
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  fwt_box_done(&b);
}

static void test_download_server_ignores_range(void **state) {
  fix *f = *state;
  fwt_box b;
  int n;
  box_up(f, &b, 10);
  fwt_http_cut(&f->http, 40000, 1, true);
  assert_int_equal(offer(f, &b, "b110", false, NULL), 0);
  fwt_http_cut(&f->http, 0, 0, false);
  n = fwt_http_requests(&f->http);
  assert_int_equal(f->http.range_start[n - 1], 40000);
  assert_int_equal(f->http.status[n - 1], 200); /* started over, and still right */
  expect_box(&b, FW_ST_COMMITTED, "1.1.0", "b");
  fwt_box_done(&b);
}

/* `run` with a spool directory (a storenode relaying offers and reports on
 * its own MQTT session): an offer dropped there is taken, the report
 * written back, and the agent exits after the commit. */
static void test_run_with_spool(void **state) {
  fix *f = *state;
  fwt_box b;
  char spool[FWT_PATH + 32], set[FWT_PATH + 64], file[FWT_PATH + 64], dir[FWT_PATH], url[256];
  char *json;
  fw_report r;
  int pid;
  box_up(f, &b, 10);
  snprintf(spool, sizeof spool, "%s/spool", b.root);
  assert_int_equal(fw_mkdirs(spool, 0755, NULL), FW_OK);
  snprintf(set, sizeof set, "spool_dir=%s", spool);
  {
    const char *argv[] = {b.agent, "--config", b.conf, "--set", set, "run", NULL};
    pid = fwt_spawn(argv, NULL);
  }
  srv_path(f, dir, sizeof dir, "b110");
  snprintf(url, sizeof url, "http://127.0.0.1:%d/b110/payload.tar", f->http.port);
  json = fwt_offer(dir, "spooled-1", url, false);
  snprintf(file, sizeof file, "%s/offer.json", spool);
  fwt_write(file, json, 0644);
  free(json);
  assert_int_equal(fwt_wait(pid, 60000), 0);
  snprintf(file, sizeof file, "%s/report.json", spool);
  json = fwt_read(file, NULL);
  assert_non_null(json);
  assert_int_equal(fw_report_decode(json, strlen(json), &r, NULL), FW_OK);
  free(json);
  assert_int_equal(r.state, FW_ST_COMMITTED);
  assert_string_equal(r.offer_id, "spooled-1");
  assert_string_equal(r.installed, "1.1.0");
  fwt_box_done(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_commits),
      cmocka_unit_test(test_bad_firmware_rolls_back),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_floor_and_explicit_rollback),
      cmocka_unit_test(test_current_moved_is_restored),
      cmocka_unit_test(test_killed_in_every_state),
      cmocka_unit_test(test_interrupted_health_checks_roll_back),
      cmocka_unit_test(test_download_resumes_after_cut),
      cmocka_unit_test(test_download_resumes_after_agent_killed),
      cmocka_unit_test(test_download_server_ignores_range),
      cmocka_unit_test(test_run_with_spool),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
