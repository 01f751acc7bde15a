/* test_hq_rollout_revoke.c - a revoked store loses its firmware download:
 * a real mosquitto, the real `hq` with provisioning on (its own CA, made
 * with `hq ca-init`), and this test playing the boxes: it reads their
 * offers on down/update and provisions them as storenode-provision does (a
 * P-256 key, a CSR, a claim token from `hq token-create`, the request on
 * retail/v1/provision/<serial>/request, hq's answer on .../response).
 *   - a store whose box holds a valid certificate downloads with its
 *     offer's signed URL (200, and 206 to a Range);
 *   - a store whose box is registered (`hq device-register`) but has no
 *     certificate yet downloads too: nothing of it was revoked;
 *   - after `hq device-revoke` of the certified box (a separate process,
 *     next to the serving hq), the same URL is 403 naming the revocation,
 *     logged as `firmware download refused` without the signature; the
 *     other store still downloads;
 *   - registering a replacement box does not lift the refusal; once it is
 *     certified, the store downloads again.
 * Every wait polls for the event with a deadline.  Skipped (77) without
 * mosquitto or the binaries.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "fw/msg.h"
#include "fwtest.h"
#include "hqtest.h"
#include "prov/msg.h"
#include "prov/x509.h"
#include "rt/mqtt.h"

#define WAIT_MS 60000
#define CMD_MS 30000
#define MAX_SEEN 8
#define ADMIN_TOKEN "revoke-admin-0123456789abcdef"

/* What hq published for one store (offers) or one serial (answers). */
typedef struct seen {
  char id[FW_ID_MAX];
  int n;
  char url[FW_URL_MAX];            /* offers: the newest offer's */
  prov_status status;              /* answers: the newest answer's */
  char store[PROTO_ID_MAX];
} seen;

typedef struct fix {
  char dir[FWT_PATH], log[FWT_PATH + 16], conf[FWT_PATH + 16];
  const char *hq_bin;
  fwt_keys key;
  test_broker broker;
  rt_mqtt *mq;
  bool connected;
  int hq_pid, hq_port;
  seen offers[MAX_SEEN], answers[MAX_SEEN];
  char *tar;                       /* 1.1.0's payload.tar */
  size_t tar_len;
} fix;

/* ---- helpers -------------------------------------------------------------------------- */

static seen *seen_of(seen *list, const char *id) {
  for (size_t i = 0; i < MAX_SEEN; i++) {
    if (!list[i].id[0]) snprintf(list[i].id, sizeof list[i].id, "%s", id);
    if (strcmp(list[i].id, id) == 0) return &list[i];
  }
  fail_msg("more than %d ids seen", MAX_SEEN);
  return NULL;
}

static void on_offer(fix *f, const char *store, const rt_mqtt_event *ev) {
  fw_offer o;
  if (fw_offer_decode(ev->payload, ev->len, &o, NULL) != FW_OK) fail_msg("bad offer on %s", ev->topic);
  seen *s = seen_of(f->offers, store);
  s->n++;
  snprintf(s->url, sizeof s->url, "%s", o.url);
  fw_offer_free(&o);
}

static void on_answer(fix *f, const char *serial, const rt_mqtt_event *ev) {
  prov_response p;
  prov_err err = {0};
  prov_response_init(&p);
  if (prov_response_decode(ev->payload, ev->len, &p, &err) != PROV_OK) fail_msg("bad answer: %s", err.msg);
  seen *s = seen_of(f->answers, serial);
  s->n++;
  s->status = p.status;
  snprintf(s->store, sizeof s->store, "%s", p.store_id);
  prov_response_close(&p);
}

static void on_msg(void *ctx, const rt_mqtt_event *ev) {
  fix *f = ctx;
  char id[PROTO_ID_MAX];
  bool response = false;
  if (ev->kind == RT_MQTT_CONNECTED) f->connected = true;
  if (ev->kind != RT_MQTT_MESSAGE) return;
  if (sscanf(ev->topic, "retail/v1/stores/%63[^/]/down/update", id) == 1) on_offer(f, id, ev);
  else if (prov_topic_parse(ev->topic, id, &response, NULL) == PROV_OK && response) on_answer(f, id, ev);
}

/* Drain MQTT, then hqt_pause_poll.  ctx: the fix (a void * for hqt_wait_up). */
static void pump(void *ctx) {
  fix *f = ctx;
  rt_mqtt_drain(f->mq, on_msg, f);
  hqt_pause_poll();
}

/* `hq --config <conf> <args...>` next to the serving hq: its exit code,
 * its stdout into out (may be NULL), its stderr appended to the log. */
static int hq_cmd(fix *f, char *out, size_t cap, const char *const args[]) {
  char path[FWT_PATH + 16];
  const char *argv[16] = {"/bin/sh", "-c", "out=$1 log=$2; shift 2; exec \"$0\" \"$@\" >\"$out\" 2>>\"$log\"",
                          f->hq_bin, path, f->log, "--config", f->conf};
  size_t n = 8;
  for (size_t i = 0; args[i]; i++) argv[n++] = args[i];
  argv[n] = NULL;
  snprintf(path, sizeof path, "%s/cmd.out", f->dir);
  int rc = fwt_run(argv, NULL, CMD_MS);
  char *text = fwt_read(path, NULL);
  if (out) snprintf(out, cap, "%s", text ? text : "");
  free(text);
  return rc;
}

static void hq_ok(fix *f, char *out, size_t cap, const char *const args[]) {
  int rc = hq_cmd(f, out, cap, args);
  if (rc != 0) fail_msg("hq %s: exit %d (see %s)", args[0], rc, f->log);
}

/* ---- hq --------------------------------------------------------------------------------- */

static void start_hq(fix *f) {
  char tokens[FWT_PATH + 16], text[6 * FWT_PATH];
  long long deadline = test_now_ms() + WAIT_MS;
  f->hq_port = fwt_free_port();
  snprintf(tokens, sizeof tokens, "%s/tokens", f->dir);
  fwt_write(tokens, ADMIN_TOKEN " admin ops\n", 0600);
  snprintf(text, sizeof text,
           "http_port = %d\ndb_path = %s/hq.db\nmqtt_port = %d\nmqtt_client_id = hq\ntick_ms = 20\n"
           "fw_pubkey = %s/fw.pub\napi_tokens_file = %s\nlog_level = info\nprov_ca_dir = %s/ca\n"
           "prov_broker_host = 127.0.0.1\nprov_broker_port = %d\n",
           f->hq_port, f->dir, f->broker.port, f->dir, tokens, f->dir, f->broker.port);
  fwt_write(f->conf, text, 0644);
  hq_ok(f, NULL, 0, (const char *const[]){"ca-init", "test fleet CA", NULL});
  f->hq_pid = hqt_spawn(f->hq_bin, f->conf, f->log);
  if (hqt_wait_up(f->hq_port, NULL, deadline, pump, f) != 0) fail_msg("hq did not come up (log %s)", f->log);
}

/* Register 1.1.0 and roll it out to r0 and r1 at once; wait for both
 * offers.  hq subscribed to the provisioning requests when it connected,
 * before it published these: from now on it hears every request. */
static void start_rollout(fix *f) {
  char body[FWT_PATH + 64];
  long long deadline = test_now_ms() + WAIT_MS;
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/b110\"}", f->dir);
  hqt_resp r = hqt_http(f->hq_port, ADMIN_TOKEN, "POST", "/api/v1/firmware", NULL, body, false);
  if (r.status != 201) fail_msg("register: %d %s", r.status, r.body);
  free(r.head);
  r = hqt_http(f->hq_port, ADMIN_TOKEN, "POST", "/api/v1/rollouts", NULL,
               "{\"version\":\"1.1.0\",\"stores\":[\"r0\",\"r1\"],\"percent_steps\":[100],\"max_failures\":0}", false);
  if (r.status != 201) fail_msg("rollout: %d %s", r.status, r.body);
  free(r.head);
  while (seen_of(f->offers, "r0")->n == 0 || seen_of(f->offers, "r1")->n == 0) {
    if (test_now_ms() > deadline) fail_msg("no offers for r0 and r1");
    pump(f);
  }
}

static int setup(void **state) {
  char why[512], p[FWT_PATH + 32];
  static const char *const subs[] = {"retail/v1/stores/+/down/update", PROV_RESPONSE_FILTER};
  rt_mqtt_opts o;
  fix *f = calloc(1, sizeof *f);
  const char *fake = getenv("FW_FAKE_BIN");
  long long deadline;
  f->hq_bin = getenv("HQ_BIN");
  if (!fake || !f->hq_bin || !test_broker_find_bin(why, sizeof why)) {
    fprintf(stderr, "SKIPPED: needs FW_FAKE_BIN, HQ_BIN and mosquitto\n");
    free(f);
    exit(77);
  }
  if (test_broker_start(&f->broker, NULL, why, sizeof why) != 0) fail_msg("broker: %s", why);
  fwt_tmpdir(f->dir);
  snprintf(f->log, sizeof f->log, "%s/hq.log", f->dir);
  snprintf(f->conf, sizeof f->conf, "%s/hq.conf", f->dir);
  fwt_keys_make(&f->key);
  snprintf(p, sizeof p, "%s/fw.pub", f->dir);
  fwt_write(p, f->key.pub, 0644);
  snprintf(p, sizeof p, "%s/srv/b110", f->dir);
  fwt_bundle(p, fake, "1.1.0", "1.0.0", "good", f->key.priv);
  snprintf(p, sizeof p, "%s/srv/b110/payload.tar", f->dir);
  assert_non_null(f->tar = fwt_read(p, &f->tar_len));
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = f->broker.port;
  o.client_id = "test-boxes";
  o.subs = subs;
  o.n_subs = 2;
  if (rt_mqtt_open(&f->mq, &o, why, sizeof why) != 0) fail_msg("mqtt: %s", why);
  for (deadline = test_now_ms() + WAIT_MS; !f->connected; pump(f))
    if (test_now_ms() > deadline) fail_msg("test client not connected");
  start_hq(f);
  start_rollout(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fix *f = *state;
  if (f->hq_pid > 0) {
    kill(f->hq_pid, SIGTERM);
    assert_int_equal(fwt_wait(f->hq_pid, WAIT_MS), 0); /* clean exit: no leak under ASan */
  }
  rt_mqtt_close(f->mq);
  test_broker_stop(&f->broker);
  fwt_keys_free(&f->key);
  free(f->tar);
  fwt_rmrf(f->dir);
  free(f);
  return 0;
}

/* ---- the boxes ---------------------------------------------------------------------------- */

/* Box serial's first boot, as storenode-provision does it: a new key, its
 * CSR and a claim token made for serial; hq's answer must be a certificate
 * for store. */
static void provision(fix *f, const char *serial, const char *store) {
  char key[FWT_PATH + 64], topic[PROTO_TOPIC_MAX];
  prov_request q;
  prov_err err = {0};
  proto_buf msg;
  seen *a = seen_of(f->answers, serial);
  int before = a->n;
  long long deadline = test_now_ms() + WAIT_MS;
  prov_request_init(&q);
  proto_buf_init(&msg);
  hq_ok(f, q.claim_token, sizeof q.claim_token, (const char *const[]){"token-create", serial, "--ttl", "600", NULL});
  q.claim_token[strcspn(q.claim_token, "\r\n")] = '\0';
  snprintf(q.serial, sizeof q.serial, "%s", serial);
  snprintf(q.nonce, sizeof q.nonce, "%08x%08x", (unsigned)before, (unsigned)test_now_ms());
  snprintf(q.agent_version, sizeof q.agent_version, "0.1.0");
  snprintf(key, sizeof key, "%s/%s.key", f->dir, serial);
  if (prov_key_generate(key, &err) != PROV_OK || prov_csr_make(key, serial, &q.csr_pem, &err) != PROV_OK ||
      prov_request_encode(&q, &msg, &err) != PROV_OK ||
      prov_topic_make(topic, sizeof topic, serial, false, &err) != PROV_OK)
    fail_msg("request of %s: %s", serial, err.msg);
  assert_int_equal(rt_mqtt_publish(f->mq, topic, msg.data, msg.len, 1, false), 0);
  proto_buf_close(&msg);
  prov_request_close(&q);
  while (a->n == before) {
    if (test_now_ms() > deadline) fail_msg("no answer to %s's request (log %s)", serial, f->log);
    pump(f);
  }
  if (a->status != PROV_ISSUED || strcmp(a->store, store) != 0)
    fail_msg("%s: %s for '%s', expected a certificate for %s", serial, prov_status_name(a->status), a->store, store);
}

/* GET store's offer URL without a token: expect status, and with 200 the
 * whole payload, with 403 the error naming says. */
static void download(fix *f, const char *store, int status, const char *says) {
  const char *path = strstr(seen_of(f->offers, store)->url, "/api/v1/");
  assert_non_null(path);
  hqt_resp r = hqt_http(f->hq_port, NULL, "GET", path, NULL, NULL, false);
  if (r.status != status || (says && !strstr(r.body, says)))
    fail_msg("%s: %d %s, expected %d with '%s'", store, r.status, r.status >= 300 ? r.body : "", status,
             says ? says : "");
  if (status == 200) {
    assert_int_equal(r.body_len, f->tar_len);
    assert_memory_equal(r.body, f->tar, f->tar_len);
  }
  free(r.head);
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void test_revoked_box_loses_download(void **state) {
  fix *f = *state;
  char out[512], sig[65];
  hq_ok(f, NULL, 0, (const char *const[]){"device-register", "BOX-R", "r0", NULL});
  hq_ok(f, NULL, 0, (const char *const[]){"device-register", "BOX-P", "r1", NULL}); /* never claims */
  provision(f, "BOX-R", "r0");

  download(f, "r0", 200, NULL); /* certified */
  hqt_resp r = hqt_http(f->hq_port, NULL, "GET", strstr(seen_of(f->offers, "r0")->url, "/api/v1/"),
                        "Range: bytes=100-\r\n", NULL, false);
  assert_int_equal(r.status, 206);
  assert_int_equal(r.body_len, f->tar_len - 100);
  assert_memory_equal(r.body, f->tar + 100, f->tar_len - 100);
  free(r.head);
  download(f, "r1", 200, NULL); /* registered, no certificate: not revoked */

  hq_ok(f, out, sizeof out, (const char *const[]){"device-revoke", "BOX-R", NULL});
  if (!strstr(out, "1 certificate(s) of BOX-R revoked")) fail_msg("device-revoke said: %s", out);
  download(f, "r0", 403, "store r0 is revoked");
  download(f, "r0", 403, "\"error\":\"forbidden\"");
  download(f, "r1", 200, NULL);

  size_t len = 0; /* the refusal logged, the signature never */
  char *log = fwt_read(f->log, &len);
  const char *q = strstr(seen_of(f->offers, "r0")->url, "sig=");
  assert_non_null(log);
  assert_non_null(q);
  snprintf(sig, sizeof sig, "%.64s", q + 4);
  const char *line = strstr(log, "firmware download refused");
  if (!line || !strstr(line, "store=\"r0\"") || !strstr(line, "is revoked")) fail_msg("no refusal logged:\n%s", log);
  if (strstr(log, sig)) fail_msg("hq's log holds a URL signature");
  assert_null(strstr(log, "sig="));
  free(log);
}

/* Runs after the test above: r0's only box is revoked. */
static void test_replacement_box_restores_download(void **state) {
  fix *f = *state;
  hq_ok(f, NULL, 0, (const char *const[]){"device-register", "BOX-N", "r0", NULL});
  download(f, "r0", 403, "is revoked"); /* registered only: the revoked box still decides */
  provision(f, "BOX-N", "r0");
  download(f, "r0", 200, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_revoked_box_loses_download),
      cmocka_unit_test(test_replacement_box_restores_download),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
