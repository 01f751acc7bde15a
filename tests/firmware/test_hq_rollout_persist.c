/* test_hq_rollout_persist.c - HQ's rollouts survive hq restarts, and the
 * payload is served only to signed URLs and tokens: a real mosquitto, the
 * real `hq`, and this test playing the boxes over MQTT (it reads each
 * offer on the box's down/update and publishes the box's reports on
 * up/update), so it decides exactly when a box progresses.
 *   - restart (SIGTERM, then again with SIGKILL): hq stopped with one box
 *     downloading in stage 25 % comes back with the rollout (same id,
 *     stage, box states) and the registered bundle; stopped again with a
 *     box offered in stage 50 % that never reported, it publishes that
 *     offer again (same offer_id, a URL that works); the rollout then
 *     finishes with every box committed, never beyond a stage's share;
 *   - signed URLs: the offer's own URL answers 200 and 206; a tampered
 *     signature, another store's signature, another version, an expired
 *     URL (signed here with the key read from hq.db), a store outside the
 *     rollout, a malformed one: 403; none at all: 401; read and admin
 *     tokens: 200, an orders token: 403; hq's log names refusals and never
 *     holds a signature;
 *   - an hq.db of the previous schema (v1 DDL below) opens, migrates, and
 *     keeps its rows.
 * Every wait polls for the event with a deadline.  Skipped (77) without
 * mosquitto or the binaries.
 */
#define _GNU_SOURCE /* strcasestr */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <mbedtls/md.h>
#include <sqlite3.h>

#include "broker.h"
#include "fw/msg.h"
#include "fwtest.h"
#include "hqtest.h"
#include "rt/mqtt.h"

#define BOXES 4
#define STORES_MAX 16
#define WAIT_MS 60000
#define ADMIN_TOKEN "persist-admin-0123456789abcdef"
#define READ_TOKEN "persist-read-0123456789abcdef"
#define ORDERS_TOKEN "persist-orders-0123456789abcdef"

typedef struct seen {
  char store[FW_ID_MAX];
  int offers;                      /* offers received on its down/update */
  char offer_id[FW_ID_MAX];
  char url[FW_URL_MAX];            /* of the newest offer */
} seen;

typedef struct fix {
  char dir[FWT_PATH], log[FWT_PATH + 16];
  const char *fake, *hq_bin;
  fwt_keys key;
  test_broker broker;
  rt_mqtt *mq;                     /* the boxes' side */
  bool connected;
  int hq_pid, hq_port;
  seen st[STORES_MAX];
  size_t n_st;
  char rollout[64];
  char *tar;                       /* b110's payload.tar */
  size_t tar_len;
} fix;

/* ---- helpers ---------------------------------------------------------------------------- */

/* hq's API as the operator: with the admin token. */
static hqt_resp http(fix *f, const char *method, const char *path, const char *body) {
  return hqt_http(f->hq_port, ADMIN_TOKEN, method, path, NULL, body, false);
}

static seen *seen_of(fix *f, const char *store) {
  for (size_t i = 0; i < f->n_st; i++)
    if (strcmp(f->st[i].store, store) == 0) return &f->st[i];
  assert_true(f->n_st < STORES_MAX);
  snprintf(f->st[f->n_st].store, sizeof f->st[0].store, "%s", store);
  return &f->st[f->n_st++];
}

static void on_msg(void *ctx, const rt_mqtt_event *ev) {
  fix *f = ctx;
  char store[FW_ID_MAX];
  fw_offer o;
  if (ev->kind == RT_MQTT_CONNECTED) f->connected = true;
  if (ev->kind != RT_MQTT_MESSAGE || sscanf(ev->topic, "retail/v1/stores/%63[^/]/down/update", store) != 1) return;
  if (fw_offer_decode(ev->payload, ev->len, &o, NULL) != FW_OK) fail_msg("bad offer on %s", ev->topic);
  seen *s = seen_of(f, store);
  s->offers++;
  snprintf(s->offer_id, sizeof s->offer_id, "%s", o.offer_id);
  snprintf(s->url, sizeof s->url, "%s", o.url);
  fw_offer_free(&o);
}

static void pump(fix *f) {
  rt_mqtt_drain(f->mq, on_msg, f);
  hqt_pause_poll();
}

/* Wait until store has received at least n offers. */
static seen *wait_offers(fix *f, const char *store, int n) {
  long long deadline = test_now_ms() + WAIT_MS;
  for (;;) {
    pump(f);
    seen *s = seen_of(f, store);
    if (s->offers >= n) return s;
    if (test_now_ms() > deadline) fail_msg("no offer #%d for %s", n, store);
  }
}

/* The box's report, retained like the agent's. */
static void report(fix *f, const char *store, const char *offer_id, fw_state state, const char *installed) {
  char topic[128];
  fw_report r;
  proto_buf b;
  memset(&r, 0, sizeof r);
  snprintf(r.store, sizeof r.store, "%s", store);
  snprintf(r.offer_id, sizeof r.offer_id, "%s", offer_id);
  r.state = state;
  snprintf(r.version, sizeof r.version, "1.1.0");
  snprintf(r.installed, sizeof r.installed, "%s", installed);
  r.ts_ms = (uint64_t)test_now_ms();
  proto_buf_init(&b);
  assert_int_equal(fw_report_encode(&r, &b, NULL), FW_OK);
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/up/update", store);
  assert_int_equal(rt_mqtt_publish(f->mq, topic, b.data, b.len, 1, true), 0);
  proto_buf_close(&b);
}

/* ---- hq -------------------------------------------------------------------------------- */

/* hq on db (in f->dir), its stderr appended to f->log. */
static void start_hq(fix *f, const char *db, const char *client_id) {
  char conf[FWT_PATH + 16], tokens[FWT_PATH + 16], text[4 * FWT_PATH];
  f->hq_port = fwt_free_port();
  snprintf(conf, sizeof conf, "%s/hq.conf", f->dir);
  snprintf(tokens, sizeof tokens, "%s/tokens", f->dir);
  fwt_write(tokens, ADMIN_TOKEN " admin ops\n" READ_TOKEN " read dash\n" ORDERS_TOKEN " orders mall\n", 0600);
  snprintf(text, sizeof text,
           "http_port = %d\ndb_path = %s/%s\nmqtt_port = %d\nmqtt_client_id = %s\ntick_ms = 20\n"
           "fw_pubkey = %s/fw.pub\napi_tokens_file = %s\nlog_level = info\n",
           f->hq_port, f->dir, db, f->broker.port, client_id, f->dir, tokens);
  fwt_write(conf, text, 0644);
  f->hq_pid = hqt_spawn(f->hq_bin, conf, f->log);
  if (hqt_wait_up(f->hq_port, NULL, test_now_ms() + WAIT_MS, NULL, NULL) != 0) fail_msg("hq did not come up");
}

static void stop_hq(fix *f, int sig) {
  int pid = f->hq_pid;
  f->hq_pid = 0;
  assert_int_equal(kill(pid, sig), 0);
  assert_int_equal(fwt_wait(pid, WAIT_MS), sig == SIGKILL ? -SIGKILL : 0);
}

static int setup(void **state) {
  char why[512], p[FWT_PATH + 32];
  static const char *const subs[] = {"retail/v1/stores/+/down/update"};
  rt_mqtt_opts o;
  fix *f = calloc(1, sizeof *f);
  long long deadline;
  f->fake = getenv("FW_FAKE_BIN");
  f->hq_bin = getenv("HQ_BIN");
  if (!f->fake || !f->hq_bin || !test_broker_find_bin(why, sizeof why)) {
    fprintf(stderr, "SKIPPED: needs FW_FAKE_BIN, HQ_BIN and mosquitto\n");
    free(f);
    exit(77);
  }
  if (test_broker_start(&f->broker, NULL, why, sizeof why) != 0) fail_msg("broker: %s", why);
  fwt_tmpdir(f->dir);
  snprintf(f->log, sizeof f->log, "%s/hq.log", f->dir);
  fwt_keys_make(&f->key);
  snprintf(p, sizeof p, "%s/fw.pub", f->dir);
  fwt_write(p, f->key.pub, 0644);
  snprintf(p, sizeof p, "%s/srv/b100", f->dir);
  fwt_bundle(p, f->fake, "1.0.0", "1.0.0", "good", f->key.priv);
  snprintf(p, sizeof p, "%s/srv/b110", f->dir);
  fwt_bundle(p, f->fake, "1.1.0", "1.0.0", "good", f->key.priv);
  snprintf(p, sizeof p, "%s/srv/b110/payload.tar", f->dir);
  assert_non_null(f->tar = fwt_read(p, &f->tar_len));
  memset(&o, 0, sizeof o);
  o.host = "127.0.0.1";
  o.port = f->broker.port;
  o.client_id = "test-boxes";
  o.subs = subs;
  o.n_subs = 1;
  if (rt_mqtt_open(&f->mq, &o, why, sizeof why) != 0) fail_msg("mqtt: %s", why);
  for (deadline = test_now_ms() + WAIT_MS; !f->connected; pump(f))
    if (test_now_ms() > deadline) fail_msg("test client not connected");
  start_hq(f, "hq.db", "hq");
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

/* ---- the rollout across restarts ---------------------------------------------------------- */

/* GET the rollout; checks no more boxes were touched than its stage allows. */
static hqt_resp get_rollout(fix *f) {
  char path[128];
  snprintf(path, sizeof path, "/api/v1/rollouts/%s", f->rollout);
  hqt_resp r = http(f, "GET", path, NULL);
  const char *p = strstr(r.body, "\"percent\":");
  assert_int_equal(r.status, 200);
  assert_non_null(p);
  int pct = atoi(p + 10);
  size_t touched = BOXES - hqt_count(r.body, "\"status\":\"pending\"");
  if (touched > (size_t)(pct * BOXES + 99) / 100) fail_msg("more boxes offered than %d %%: %s", pct, r.body);
  return r;
}

/* Poll the rollout until its JSON holds every needle. */
static void wait_rollout(fix *f, const char *const *needles, size_t n) {
  long long deadline = test_now_ms() + WAIT_MS;
  for (;;) {
    hqt_resp r = get_rollout(f);
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += strstr(r.body, needles[i]) != NULL;
    if (hit == n) {
      free(r.head);
      return;
    }
    if (test_now_ms() > deadline) fail_msg("rollout never showed what was expected: %s", r.body);
    free(r.head);
    pump(f);
  }
}

/* Boxes (of ids) offered the rollout so far, in the order first seen. */
static size_t offered(fix *f, char ids[BOXES][8], int *which) {
  size_t n = 0;
  pump(f);
  for (int i = 0; i < BOXES; i++)
    if (seen_of(f, ids[i])->offers > 0 && strcmp(seen_of(f, ids[i])->offer_id, f->rollout) == 0) which[n++] = i;
  return n;
}

static void restart_rollout(fix *f, int sig, const char *tag) {
  char ids[BOXES][8], body[FWT_PATH + 512], needle[160];
  int which[BOXES];
  size_t n;
  long long deadline;
  for (int i = 0; i < BOXES; i++) snprintf(ids[i], sizeof ids[i], "%s%d", tag, i);
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/b110\"}", f->dir);
  hqt_resp r = http(f, "POST", "/api/v1/firmware", body);
  assert_true(r.status == 201 || r.status == 200);
  free(r.head);
  snprintf(body, sizeof body,
           "{\"version\":\"1.1.0\",\"stores\":[\"%s\",\"%s\",\"%s\",\"%s\"],\"percent_steps\":[25,50,100],"
           "\"max_failures\":0}",
           ids[0], ids[1], ids[2], ids[3]);
  r = http(f, "POST", "/api/v1/rollouts", body);
  if (r.status != 201 || sscanf(r.body, "{\"id\":\"%63[^\"]\"", f->rollout) != 1)
    fail_msg("rollout: %d %s", r.status, r.body);
  free(r.head);

  /* stage 25 %: one box offered; it starts downloading, then hq goes */
  for (deadline = test_now_ms() + WAIT_MS; (n = offered(f, ids, which)) < 1;)
    if (test_now_ms() > deadline) fail_msg("no first offer");
  assert_int_equal(n, 1);
  const char *first = ids[which[0]];
  report(f, first, f->rollout, FW_ST_DOWNLOADING, "1.0.0");
  wait_rollout(f, (const char *const[]){"\"state\":\"downloading\""}, 1);
  stop_hq(f, sig);
  start_hq(f, "hq.db", "hq");
  r = http(f, "GET", "/api/v1/firmware", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"version\":\"1.1.0\"")); /* the bundle survived */
  free(r.head);
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/b110\"}", f->dir);
  r = http(f, "POST", "/api/v1/firmware", body);
  assert_int_equal(r.status, 200); /* known already: not registered anew */
  free(r.head);
  r = get_rollout(f);
  snprintf(needle, sizeof needle, "{\"store\":\"%s\",\"status\":\"active\",\"state\":\"downloading\"", first);
  if (!strstr(r.body, "\"status\":\"running\"") || !strstr(r.body, "\"percent\":25") || !strstr(r.body, needle))
    fail_msg("rollout not resumed: %s", r.body);
  assert_int_equal(hqt_count(r.body, "\"status\":\"pending\""), BOXES - 1);
  free(r.head);

  /* the box commits: stage 50 % offers a second box, which never reports */
  report(f, first, f->rollout, FW_ST_COMMITTED, "1.1.0");
  for (deadline = test_now_ms() + WAIT_MS; (n = offered(f, ids, which)) < 2;)
    if (test_now_ms() > deadline) fail_msg("no second offer");
  assert_int_equal(n, 2);
  const char *second = strcmp(ids[which[0]], first) == 0 ? ids[which[1]] : ids[which[0]];
  int before = seen_of(f, second)->offers;
  stop_hq(f, sig);
  start_hq(f, "hq.db", "hq");
  seen *s = wait_offers(f, second, before + 1); /* published again at start */
  assert_string_equal(s->offer_id, f->rollout);
  assert_int_equal(seen_of(f, first)->offers, 1); /* a box that took it: not again */
  char *path = strstr(s->url, "/api/v1/");
  assert_non_null(path);
  r = hqt_http(f->hq_port, NULL, "GET", path, NULL, NULL, false); /* the fresh URL works */
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, f->tar_len);
  assert_memory_equal(r.body, f->tar, f->tar_len);
  free(r.head);

  /* every box offered commits, until the rollout is done */
  deadline = test_now_ms() + WAIT_MS;
  bool committed[BOXES] = {false};
  for (;;) {
    n = offered(f, ids, which);
    for (size_t k = 0; k < n; k++)
      if (!committed[which[k]]) {
        report(f, ids[which[k]], f->rollout, FW_ST_COMMITTED, "1.1.0");
        committed[which[k]] = true;
      }
    r = get_rollout(f);
    bool end = strstr(r.body, "\"status\":\"done\"") != NULL;
    if (end) {
      if (!strstr(r.body, "\"committed\":4") || hqt_count(r.body, "\"status\":\"committed\"") != BOXES)
        fail_msg("%s", r.body);
      free(r.head);
      break;
    }
    free(r.head);
    if (test_now_ms() > deadline) fail_msg("rollout %s never done", f->rollout);
  }
  stop_hq(f, sig); /* and a finished rollout stays finished */
  start_hq(f, "hq.db", "hq");
  r = http(f, "GET", "/api/v1/rollouts", NULL);
  snprintf(needle, sizeof needle, "{\"id\":\"%s\",\"version\":\"1.1.0\",\"status\":\"done\",\"boxes\":4,\"committed\":4",
           f->rollout);
  if (!strstr(r.body, needle)) fail_msg("no '%s' in %s", needle, r.body);
  free(r.head);
}

static void test_restart_sigterm_resumes(void **state) { restart_rollout(*state, SIGTERM, "t"); }
static void test_restart_sigkill_resumes(void **state) { restart_rollout(*state, SIGKILL, "k"); }

/* ---- signed URLs --------------------------------------------------------------------------- */

/* A URL path for version/store/exp signed with hq's key read from hq.db. */
static void sign(fix *f, const char *version, const char *store, long long exp, char *out, size_t cap) {
  char db[FWT_PATH + 16], msg[256], hex[65];
  unsigned char key[32], mac[32];
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  snprintf(db, sizeof db, "%s/hq.db", f->dir);
  assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, "SELECT key FROM fw_secret WHERE id=1", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_bytes(st, 0), 32);
  memcpy(key, sqlite3_column_blob(st, 0), 32);
  sqlite3_finalize(st);
  sqlite3_close(h);
  int len = snprintf(msg, sizeof msg, "fw-payload\n%s\n%s\n%lld", version, store, exp);
  assert_int_equal(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                                   (const unsigned char *)msg, (size_t)len, mac), 0);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  snprintf(out, cap, "/api/v1/firmware/%s/payload?store=%s&exp=%lld&sig=%s", version, store, exp, hex);
}

static void expect(fix *f, const char *token, const char *path, int status, const char *says) {
  hqt_resp r = hqt_http(f->hq_port, token, "GET", path, NULL, NULL, false);
  if (r.status != status || (says && !strstr(r.body, says)))
    fail_msg("GET %s: %d %s, expected %d with '%s'", path, r.status, r.status >= 300 ? r.body : "", status,
             says ? says : "");
  if (status == 200) {
    assert_int_equal(r.body_len, f->tar_len);
    assert_memory_equal(r.body, f->tar, f->tar_len);
  }
  free(r.head);
}

static void test_signed_urls(void **state) {
  fix *f = *state;
  char good[FW_URL_MAX], bad[FW_URL_MAX], sig[65], body[FWT_PATH + 64];
  long long now = (long long)time(NULL);
  seen *a = seen_of(f, "k0"), *b = seen_of(f, "k1"); /* boxes of the 1.1.0 rollout above */
  assert_true(a->offers > 0 && b->offers > 0);
  snprintf(good, sizeof good, "%s", strstr(a->url, "/api/v1/"));
  const char *q = strstr(good, "sig=");
  assert_non_null(q);
  snprintf(sig, sizeof sig, "%.64s", q + 4);

  expect(f, NULL, good, 200, NULL); /* the offer's own URL */
  hqt_resp r = hqt_http(f->hq_port, NULL, "GET", good, "Range: bytes=100-\r\n", NULL, false);
  assert_int_equal(r.status, 206);
  assert_int_equal(r.body_len, f->tar_len - 100);
  assert_memory_equal(r.body, f->tar + 100, f->tar_len - 100);
  free(r.head);

  snprintf(bad, sizeof bad, "%s", good); /* tampered signature */
  char *last = bad + strlen(bad) - 1;
  *last = *last == '0' ? '1' : '0';
  expect(f, NULL, bad, 403, "signature does not match");
  snprintf(bad, sizeof bad, "%s", good); /* k0's signature for k1 */
  char *st = strstr(bad, "store=k0");
  assert_non_null(st);
  st[7] = '1';
  expect(f, NULL, bad, 403, "signature does not match");
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/b100\"}", f->dir); /* 1.1.0's URL on 1.0.0 */
  r = http(f, "POST", "/api/v1/firmware", body);
  free(r.head);
  snprintf(bad, sizeof bad, "/api/v1/firmware/1.0.0/payload%s", strchr(good, '?'));
  expect(f, NULL, bad, 403, "signature does not match");
  sign(f, "1.1.0", "k1", now - 60, bad, sizeof bad); /* signed right, expired */
  expect(f, NULL, bad, 403, "expired");
  sign(f, "1.1.0", "k1", now + 3600, bad, sizeof bad); /* signed right, the documented formula */
  expect(f, NULL, bad, 200, NULL);
  sign(f, "1.1.0", "elsewhere", now + 3600, bad, sizeof bad); /* not a box of a 1.1.0 rollout */
  expect(f, NULL, bad, 403, "not a box");
  expect(f, NULL, "/api/v1/firmware/1.1.0/payload?store=k0&exp=1&sig=zz", 403, "malformed");
  expect(f, NULL, "/api/v1/firmware/1.1.0/payload", 401, "signed URL");
  expect(f, NULL, "/api/v1/firmware/1.1.0/payload?store=k0&exp=99999999999", 401, "signed URL");
  expect(f, READ_TOKEN, "/api/v1/firmware/1.1.0/payload", 200, NULL);
  expect(f, ADMIN_TOKEN, "/api/v1/firmware/1.1.0/payload", 200, NULL);
  expect(f, ORDERS_TOKEN, "/api/v1/firmware/1.1.0/payload", 403, "scope");

  size_t len = 0; /* refusals logged, signatures never */
  char *log = fwt_read(f->log, &len);
  assert_non_null(log);
  assert_non_null(strstr(log, "firmware download refused"));
  assert_non_null(strstr(log, "expired"));
  if (strstr(log, sig)) fail_msg("hq's log holds a URL signature");
  assert_null(strstr(log, "sig="));
  free(log);
}

/* ---- migration ------------------------------------------------------------------------------- */

/* hq.db as the release before the firmware tables created it (schema.c v1). */
static const char *const v1_ddl =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  hlc INTEGER NOT NULL, store TEXT NOT NULL, type TEXT NOT NULL, target INTEGER NOT NULL,"
    "  key TEXT NOT NULL, json TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    "  UNIQUE(origin, seq));"
    "CREATE TABLE orders(store TEXT NOT NULL, order_id TEXT NOT NULL, status INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, open INTEGER NOT NULL, reserving INTEGER NOT NULL,"
    "  conflict INTEGER NOT NULL, resolved INTEGER NOT NULL, waste INTEGER NOT NULL,"
    "  total INTEGER NOT NULL, dispatched_ms INTEGER NOT NULL, accepted_ms INTEGER NOT NULL,"
    "  ready_ms INTEGER NOT NULL, rider_arrived_ms INTEGER NOT NULL,"
    "  handoff_ms INTEGER NOT NULL, delivered_ms INTEGER NOT NULL,"
    "  cancelled_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  state BLOB NOT NULL, PRIMARY KEY(store, order_id)) WITHOUT ROWID;"
    "CREATE INDEX orders_id ON orders(order_id);"
    "CREATE INDEX orders_open ON orders(store) WHERE open=1;"
    "CREATE INDEX orders_dispatched ON orders(dispatched_ms);"
    "CREATE INDEX orders_conflict ON orders(store) WHERE conflict=1;"
    "CREATE TABLE order_items(store TEXT NOT NULL, order_id TEXT NOT NULL, line INTEGER NOT NULL,"
    "  sku TEXT NOT NULL, qty INTEGER NOT NULL, price INTEGER NOT NULL,"
    "  unavailable INTEGER NOT NULL, open INTEGER NOT NULL, reserving INTEGER NOT NULL,"
    "  PRIMARY KEY(store, order_id, line)) WITHOUT ROWID;"
    "CREATE INDEX order_items_open ON order_items(store, sku) WHERE open=1 AND unavailable=0;"
    "CREATE TABLE stock(store TEXT NOT NULL, sku TEXT NOT NULL, on_hand INTEGER NOT NULL,"
    "  state BLOB NOT NULL, PRIMARY KEY(store, sku)) WITHOUT ROWID;"
    "CREATE TABLE deltas(store TEXT NOT NULL, sku TEXT NOT NULL, origin TEXT NOT NULL,"
    "  seq INTEGER NOT NULL, delta INTEGER NOT NULL, reason INTEGER NOT NULL, ref TEXT NOT NULL,"
    "  PRIMARY KEY(store, sku, origin, seq)) WITHOUT ROWID;"
    "CREATE TABLE sku(store TEXT NOT NULL, sku TEXT NOT NULL, sold_out INTEGER NOT NULL,"
    "  active INTEGER NOT NULL, price INTEGER NOT NULL, low_threshold INTEGER NOT NULL,"
    "  name TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY(store, sku)) WITHOUT ROWID;"
    "CREATE TABLE settings(store TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE stores(id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
    "  lat_e6 INTEGER NOT NULL DEFAULT 0, lon_e6 INTEGER NOT NULL DEFAULT 0,"
    "  located INTEGER NOT NULL DEFAULT 0, open_min INTEGER NOT NULL DEFAULT 0,"
    "  close_min INTEGER NOT NULL DEFAULT 1440, paused INTEGER NOT NULL DEFAULT 0,"
    "  radius_m INTEGER NOT NULL DEFAULT 5000, created_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_seen_ms INTEGER NOT NULL DEFAULT 0, online INTEGER NOT NULL DEFAULT 0,"
    "  status_ms INTEGER NOT NULL DEFAULT 0, hb_ms INTEGER NOT NULL DEFAULT 0,"
    "  version TEXT NOT NULL DEFAULT '', uptime_s INTEGER NOT NULL DEFAULT 0,"
    "  outbox_depth INTEGER NOT NULL DEFAULT 0, last_acked_seq INTEGER NOT NULL DEFAULT 0,"
    "  last_seq INTEGER NOT NULL DEFAULT 0, rss_kb INTEGER NOT NULL DEFAULT 0,"
    "  tablets INTEGER NOT NULL DEFAULT 0, orders_open INTEGER NOT NULL DEFAULT 0,"
    "  hb_ts_ms INTEGER NOT NULL DEFAULT 0, hb_hlc INTEGER NOT NULL DEFAULT 0,"
    "  up_seq INTEGER NOT NULL DEFAULT 0, down_seq INTEGER NOT NULL DEFAULT 0,"
    "  down_acked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE INDEX stores_geo ON stores(lat_e6) WHERE located=1;"
    "CREATE TABLE intake(idem_key TEXT PRIMARY KEY, req_hash INTEGER NOT NULL,"
    "  status INTEGER NOT NULL, response TEXT NOT NULL, order_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX intake_created ON intake(created_ms);"
    "CREATE TABLE transfers(id TEXT PRIMARY KEY, from_store TEXT NOT NULL,"
    "  to_store TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, out_seq INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL DEFAULT 0, received_qty INTEGER NOT NULL DEFAULT 0)"
    "  WITHOUT ROWID;"
    "CREATE VIEW conflicts AS SELECT store, order_id, kind, status, total, dispatched_ms,"
    "  cancelled_ms, handoff_ms FROM orders WHERE conflict=1 AND resolved=0;"
    "INSERT INTO stores(id, name, created_ms) VALUES('old-store', 'Old Store', 1);"
    "PRAGMA user_version=1;";

static int64_t db_int(const char *path, const char *sql) {
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

static void test_old_schema_migrates(void **state) {
  fix *f = *state;
  char path[FWT_PATH + 16], body[FWT_PATH + 64];
  sqlite3 *h = NULL;
  int port = f->hq_port, pid = f->hq_pid;
  snprintf(path, sizeof path, "%s/old.db", f->dir);
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, v1_ddl, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  start_hq(f, "old.db", "hq-old"); /* a second hq, on the old file */
  hqt_resp r = http(f, "GET", "/api/v1/stores", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "old-store")); /* the old rows are kept */
  free(r.head);
  snprintf(body, sizeof body, "{\"path\":\"%s/srv/b110\"}", f->dir);
  r = http(f, "POST", "/api/v1/firmware", body);
  assert_int_equal(r.status, 201);
  free(r.head);
  stop_hq(f, SIGTERM);
  f->hq_port = port;
  f->hq_pid = pid;
  assert_true(db_int(path, "PRAGMA user_version") >= 2);
  assert_int_equal(db_int(path, "SELECT COUNT(*) FROM fw_bundles WHERE version='1.1.0'"), 1);
  assert_int_equal(db_int(path, "SELECT COUNT(*) FROM fw_secret"), 1);
  assert_int_equal(db_int(path, "SELECT COUNT(*) FROM stores WHERE id='old-store'"), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_restart_sigterm_resumes),
      cmocka_unit_test(test_restart_sigkill_resumes),
      cmocka_unit_test(test_signed_urls),
      cmocka_unit_test(test_old_schema_migrates),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
