/* test_agent.c - storenode-provision end to end: the real agent program,
 * a real mosquitto with the locked-down config, and HQ played by this test
 * (an hq-identity client that answers requests with prov_handle_request,
 * as hq will).
 *
 *   prov_agent <path of storenode-provision> [<path of storenode>]
 *
 * With storenode, the first box also runs it on the config the agent wrote,
 * until HQ hears the store on its own topics.
 *
 * Each wait is bounded and waits for the event itself (a message, the
 * agent's exit), never a fixed sleep. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"
#include "exec_wrap.h"
#include "fixture.h"
#include "prov/file.h"
#include "prov/x509.h"
#include "tclient.h"

#define AGENT_WAIT_MS 60000

static const char *agent_bin;
static const char *storenode_bin; /* optional: the box then really runs storenode */

typedef struct world {
  fx f;
  test_broker b;
  test_broker future;         /* test_box_clock_behind_broker_certificate's */
  tclient hq;                 /* HQ: subscribed to the request topics */
  int served;                 /* hq.msgs handled so far */
  pid_t agent;                /* the agent running now, 0 if none */
} world;

static world *W;

/* ---- a box ---------------------------------------------------------------------- */

typedef struct box {
  char dir[400], conf[FX_PATH], log[FX_PATH], state[440], node_conf[FX_PATH];
  char serial[32];
  pid_t pid;
} box;

static void box_init(box *x, const char *serial, const char *token) {
  char p[FX_PATH * 2];
  memset(x, 0, sizeof *x);
  snprintf(x->serial, sizeof x->serial, "%s", serial);
  snprintf(x->dir, sizeof x->dir, "%s/%s", W->f.dir, serial);
  assert_int_equal(mkdir(x->dir, 0755), 0);
  snprintf(x->conf, sizeof x->conf, "%s/agent.conf", x->dir);
  snprintf(x->log, sizeof x->log, "%s/agent.log", x->dir);
  snprintf(x->state, sizeof x->state, "%s/identity", x->dir);
  snprintf(x->node_conf, sizeof x->node_conf, "%s/storenode.conf", x->dir);
  snprintf(p, sizeof p, "%s/claim-token", x->dir);
  assert_int_equal(prov_file_write(p, token, strlen(token), 0600, NULL), PROV_OK);
  snprintf(p, sizeof p, "%s/base.conf", x->dir);
  char base[FX_PATH * 2 + 128];
  snprintf(base, sizeof base, "# local settings\ndb_path = %s/store.db\nhttp_addr = 127.0.0.1\n"
           "http_port = 0\nheartbeat_s = 15\n", x->dir);
  assert_int_equal(prov_file_write(p, base, strlen(base), 0644, NULL), PROV_OK);
}

/* Write the agent's config (port 0 = the test broker's). */
static void box_config(box *x, int port, int max_wait_s, const char *time_check) {
  FILE *f = fopen(x->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "serial = %s\nclaim_token_file = %s/claim-token\nca_file = %s\nclaim_certfile = %s\n"
          "claim_keyfile = %s\nbroker_host = 127.0.0.1\nbroker_port = %d\nstate_dir = %s\n"
          "node_config = %s\nnode_config_base = %s/base.conf\nresponse_wait_s = 5\n"
          "retry_min_s = 1\nretry_max_s = 2\nmax_wait_s = %d\ntime_check = %s\nlog_level = debug\n",
          x->serial, x->dir, W->f.ca_crt, W->f.claim_crt, W->f.claim_key, port ? port : W->b.port,
          x->state, x->node_conf, x->dir, max_wait_s, time_check);
  fclose(f);
}

static void box_start(box *x) {
  x->pid = fork();
  assert_true(x->pid >= 0);
  W->agent = x->pid;
  if (x->pid == 0) {
    int fd = open(x->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 2), dup2(fd, 1);
    test_execv((const char *const[]){agent_bin, "--config", x->conf, NULL}); /* via an emulator, if any */
    _exit(127);
  }
}

static void box_dump(const box *x) {
  char line[1024];
  FILE *f = fopen(x->log, "r");
  fprintf(stderr, "---- %s ----\n", x->log);
  while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
  if (f) fclose(f);
}

static void box_file(const box *x, const char *name, char *out) {
  snprintf(out, FX_PATH, "%s/%s", x->state, name);
}

static bool file_has(const char *path, const char *text) {
  proto_buf b;
  proto_buf_init(&b);
  bool yes = prov_file_read(path, 1 << 20, &b, NULL) == PROV_OK && strstr(b.data, text);
  proto_buf_close(&b);
  return yes;
}

/* ---- HQ ------------------------------------------------------------------------- */

typedef enum { ANSWER, SWALLOW } hq_mode;

typedef struct served {
  int requests;
  prov_reply last;            /* the last reply made (sent or swallowed) */
} served;

static void publish_reply(const prov_reply *r) {
  assert_true(r->send);
  assert_int_equal(tc_pub(&W->hq, r->topic, r->json.data), 0);
}

/* Handle the requests that came in since the last call (other messages
 * HQ sees are left for the test to look at). */
static void hq_serve(hq_mode mode, served *s) {
  prov_err err = {0};
  char serial[PROTO_ID_MAX];
  bool is_response;
  tc_pump(&W->hq, 20);
  if (W->hq.lost) fail_msg("HQ's client lost its connection (rc %d)", W->hq.disconnect_rc);
  while (W->served < W->hq.n_msgs) {
    tc_msg *m = &W->hq.msgs[W->served++];
    if (prov_topic_parse(m->topic, serial, &is_response, NULL) != PROV_OK || is_response) continue;
    if (prov_handle_request(W->f.srv, m->topic, m->payload, (size_t)m->len, &s->last, &err) !=
        PROV_OK)
      fail_msg("hq: %s", err.msg);
    s->requests++;
    if (mode == ANSWER) publish_reply(&s->last);
  }
  if (W->hq.n_msgs == TC_MSGS) W->hq.n_msgs = W->served = 0; /* recycle the slots */
}

/* Serve until the box exits; its exit status. */
static int box_wait(box *x, hq_mode mode, served *s) {
  long long end = test_now_ms() + AGENT_WAIT_MS;
  int status;
  while (test_now_ms() < end) {
    hq_serve(mode, s);
    if (waitpid(x->pid, &status, WNOHANG) == x->pid) {
      x->pid = W->agent = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  box_dump(x);
  kill(x->pid, SIGKILL);
  waitpid(x->pid, NULL, 0);
  W->agent = 0;
  fail_msg("the agent did not finish within %d ms", AGENT_WAIT_MS);
  return -1;
}

static void expect_exit(box *x, served *s, int want) {
  int got = box_wait(x, ANSWER, s);
  if (got != want) {
    box_dump(x);
    fail_msg("agent exit %d, want %d", got, want);
  }
}

/* ---- set-up ------------------------------------------------------------------------ */

static int group_setup(void **state) {
  char why[1024], bin[256];
  if (!test_broker_find_bin(bin, sizeof bin)) {
    fprintf(stderr, "skipped: mosquitto not found\n");
    exit(77);
  }
  world *w = calloc(1, sizeof *w);
  W = w;
  fx_open(&w->f);
  fx_identities(&w->f);
  if (test_broker_start_conf(&w->b, fx_broker_conf, &w->f, why, sizeof why) != 0)
    fail_msg("%s", why);
  /* boxes must be told the test broker's port; pending boxes wait on the
   * line for 30 s before asking again (prov_assign answers them at once) */
  w->f.opts.broker_port = w->b.port;
  w->f.opts.pending_retry_s = 30;
  fx_reopen(&w->f);
  tc_opts o = {.port = w->b.port,
               .client_id = "hq",
               .cafile = w->f.ca_crt,
               .certfile = w->f.hq_crt,
               .keyfile = w->f.hq_key,
               .username = NULL,
               .clean_start = true,
               .session_expiry_s = 0};
  assert_int_equal(tc_connect(&w->hq, &o), 0);
  assert_int_equal(tc_sub(&w->hq, PROV_REQUEST_FILTER), 1);
  *state = w;
  return 0;
}

static int group_teardown(void **state) {
  world *w = *state;
  if (getenv("PROV_TEST_BROKER_LOG")) test_broker_dump_log(&w->b);
  if (w->agent > 0) { /* a test failed while its agent ran: ours, by pid */
    kill(w->agent, SIGKILL);
    waitpid(w->agent, NULL, 0);
  }
  tc_close(&w->hq);
  test_broker_stop(&w->future); /* a no-op unless a failure left it running */
  test_broker_stop(&w->b);
  fx_close(&w->f);
  free(w);
  return 0;
}

static void token(const char *serial, char *out) {
  prov_err err = {0};
  if (prov_server_token_create(W->f.srv, serial, 3600, out, &err) != PROV_OK)
    fail_msg("%s", err.msg);
}

static void assign(const char *serial, const char *store, prov_reply *r) {
  prov_err err = {0};
  if (prov_assign(W->f.srv, serial, store, r, &err) != PROV_OK) fail_msg("%s", err.msg);
}

/* The box's files are what it claims: key 0600 in a 0700 dir, the
 * certificate chains to the CA and carries that key, CN = store. */
static void expect_provisioned(const box *x, const char *store, prov_cert_info *ci) {
  char key[FX_PATH], crt[FX_PATH], kh[PROV_HASH_HEX];
  struct stat st;
  proto_buf pem, ca;
  proto_buf_init(&pem);
  proto_buf_init(&ca);
  box_file(x, "key.pem", key);
  box_file(x, "cert.pem", crt);
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(x->state, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(prov_file_read(crt, PROV_PEM_MAX, &pem, NULL), PROV_OK);
  assert_int_equal(prov_file_read(W->f.ca_crt, PROV_PEM_MAX, &ca, NULL), PROV_OK);
  assert_int_equal(prov_cert_verify(pem.data, pem.len, ca.data, ca.len, true, NULL), PROV_OK);
  assert_int_equal(prov_cert_info_get(pem.data, pem.len, ci, NULL), PROV_OK);
  assert_int_equal(prov_key_hash(key, kh, NULL), PROV_OK);
  assert_string_equal(ci->key_hash, kh);
  assert_string_equal(ci->cn, store);
  assert_string_equal(ci->device_serial, x->serial);
  char state_file[FX_PATH];
  box_file(x, "state", state_file);
  assert_true(file_has(state_file, "phase=done"));
  proto_buf_close(&pem);
  proto_buf_close(&ca);
}

/* With the storenode program: start it on the config the agent wrote and
 * wait until HQ hears it on the store's own topics (its hello). */
static void run_storenode(const box *x, const char *store) {
  char topic[PROTO_TOPIC_MAX], log[FX_PATH + 16];
  int status;
  if (!storenode_bin) return;
  snprintf(topic, sizeof topic, "retail/v1/stores/%s/up/hello", store);
  snprintf(log, sizeof log, "%s/storenode.log", x->dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 2), dup2(fd, 1);
    test_execv((const char *const[]){storenode_bin, "--config", x->node_conf, NULL});
    _exit(127);
  }
  long long end = test_now_ms() + AGENT_WAIT_MS;
  int got = -1, from = W->hq.n_msgs; /* only what arrives from now on */
  while (got < 0 && test_now_ms() < end && waitpid(pid, &status, WNOHANG) == 0) {
    tc_pump(&W->hq, 20);
    for (int i = from; i < W->hq.n_msgs; i++)
      if (strcmp(W->hq.msgs[i].topic, topic) == 0) got = i;
  }
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);
  if (got < 0) {
    char line[1024];
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
    if (f) fclose(f);
    fail_msg("storenode did not reach HQ as %s with the provisioned identity", store);
  }
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_box_provisions_end_to_end(void **state) {
  box x;
  served s = {0};
  char tok[PROV_TOKEN_MAX], line[FX_PATH + 32], key[FX_PATH], crt[FX_PATH];
  prov_cert_info ci;
  prov_reply_init(&s.last);
  assign("SN-A1", "store-101", &s.last);
  token("SN-A1", tok);
  box_init(&x, "SN-A1", tok);
  box_config(&x, 0, 30, "auto");
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 1);
  expect_provisioned(&x, "store-101", &ci);
  /* the storenode config: our keys, the local base, HQ's snippet; no key twice */
  assert_true(file_has(x.node_conf, "store_id = store-101\n"));
  assert_true(file_has(x.node_conf, "mqtt_host = 127.0.0.1\n"));
  snprintf(line, sizeof line, "mqtt_port = %d\n", W->b.port);
  assert_true(file_has(x.node_conf, line));
  box_file(&x, "cert.pem", crt);
  box_file(&x, "key.pem", key);
  snprintf(line, sizeof line, "mqtt_certfile = %s\n", crt);
  assert_true(file_has(x.node_conf, line));
  snprintf(line, sizeof line, "mqtt_keyfile = %s\n", key);
  assert_true(file_has(x.node_conf, line));
  snprintf(line, sizeof line, "db_path = %s/store.db\n", x.dir);
  assert_true(file_has(x.node_conf, line));
  assert_true(file_has(x.node_conf, "heartbeat_s = 15\n")); /* local wins over HQ's 5 */
  assert_false(file_has(x.node_conf, "heartbeat_s = 5"));
  /* the secret stays out of the log */
  assert_false(file_has(x.log, tok));
  /* the box now talks as store-101, with its own key, and only as that
   * (HQ's one client: a second "hq" would take the first one's session) */
  tclient box_client;
  assert_int_equal(tc_sub(&W->hq, "retail/v1/stores/+/up/#"), 1);
  tc_opts o = {.port = W->b.port,
               .client_id = "storenode",
               .cafile = W->f.ca_crt,
               .certfile = crt,
               .keyfile = key,
               .username = NULL,
               .clean_start = true,
               .session_expiry_s = 0};
  assert_int_equal(tc_connect(&box_client, &o), 0);
  assert_int_equal(tc_pub(&box_client, "retail/v1/stores/store-102/up/events", "x"), 0x87);
  assert_int_equal(tc_pub(&box_client, "retail/v1/stores/store-101/up/events", "{}"), 0);
  assert_true(tc_wait_msg(&W->hq, "retail/v1/stores/store-101/up/events", TC_WAIT_MS) >= 0);
  assert_false(tc_got(&W->hq, "retail/v1/stores/store-102/up/events"));
  tc_close(&box_client);
  run_storenode(&x, "store-101");
  /* run again: already provisioned, no network needed (port 1 is closed) */
  box_config(&x, 1, 5, "auto");
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 1);
  assert_true(file_has(x.log, "\"provisioned\""));
  prov_reply_close(&s.last);
}

static void test_box_waits_pending_until_assigned(void **state) {
  box x;
  served s = {0};
  prov_reply assigned;
  char tok[PROV_TOKEN_MAX];
  prov_cert_info ci;
  prov_reply_init(&s.last);
  prov_reply_init(&assigned);
  token(NULL, tok); /* a factory batch token: any serial */
  box_init(&x, "SN-A2", tok);
  box_config(&x, 0, 45, "auto");
  box_start(&x);
  long long end = test_now_ms() + AGENT_WAIT_MS;
  while (s.requests == 0 && test_now_ms() < end) hq_serve(ANSWER, &s);
  assert_int_equal(s.requests, 1);
  assert_int_equal(s.last.status, PROV_PENDING);
  /* an operator assigns it: the answer goes out at once, the box finishes
   * by itself well before it would ask again (30 s) */
  long long t0 = test_now_ms();
  assign("SN-A2", "store-102", &assigned);
  publish_reply(&assigned);
  expect_exit(&x, &s, 0);
  assert_true(test_now_ms() - t0 < 20000);
  assert_int_equal(s.requests, 1);
  expect_provisioned(&x, "store-102", &ci);
  assert_string_equal(ci.cert_serial, assigned.cert_serial);
  assert_true(file_has(x.log, "pending"));
  prov_reply_close(&assigned);
  prov_reply_close(&s.last);
}

static void test_box_resumes_after_power_cut(void **state) {
  box x;
  served s = {0};
  char tok[PROV_TOKEN_MAX], key[FX_PATH], kh1[PROV_HASH_HEX], kh2[PROV_HASH_HEX],
      first[PROV_CERT_SERIAL_MAX];
  char st[FX_PATH], crt[FX_PATH];
  prov_cert_info ci;
  prov_reply_init(&s.last);
  assign("SN-A3", "store-103", &s.last);
  token("SN-A3", tok);
  box_init(&x, "SN-A3", tok);
  box_config(&x, 0, 30, "auto");
  box_start(&x);
  /* HQ issues (and commits) but the answer never reaches the box: the power
   * goes at that moment */
  long long end = test_now_ms() + AGENT_WAIT_MS;
  while (s.requests == 0 && test_now_ms() < end) hq_serve(SWALLOW, &s);
  assert_int_equal(s.last.status, PROV_ISSUED);
  memcpy(first, s.last.cert_serial, sizeof first);
  kill(x.pid, SIGKILL);
  waitpid(x.pid, NULL, 0);
  W->agent = 0;
  box_file(&x, "key.pem", key);
  box_file(&x, "state", st);
  box_file(&x, "cert.pem", crt);
  assert_int_equal(prov_key_hash(key, kh1, NULL), PROV_OK);
  assert_true(file_has(st, "phase=keyed"));
  assert_int_equal(access(crt, F_OK), -1);
  /* power back: same key, same token, HQ answers with the same certificate */
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 2);
  assert_int_equal(prov_key_hash(key, kh2, NULL), PROV_OK);
  assert_string_equal(kh1, kh2);
  expect_provisioned(&x, "store-103", &ci);
  assert_string_equal(ci.cert_serial, first);
  /* a cut after the answer was saved but before the files were written:
   * finishes from the saved answer, without the network */
  assert_int_equal(prov_file_write(st, "phase=issued\n", 13, 0600, NULL), PROV_OK);
  unlink(crt);
  unlink(x.node_conf);
  box_config(&x, 1, 5, "auto");
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 2);
  expect_provisioned(&x, "store-103", &ci);
  assert_true(file_has(x.node_conf, "store_id = store-103\n"));
  prov_reply_close(&s.last);
}

static void test_box_refused_gives_up(void **state) {
  box x;
  served s = {0};
  prov_reply_init(&s.last);
  assign("SN-A4", "store-104", &s.last);
  box_init(&x, "SN-A4", "ct_this-token-was-never-made");
  box_config(&x, 0, 4, "auto");
  box_start(&x);
  expect_exit(&x, &s, 3); /* HQ says retry in 300 s: past max_wait_s */
  assert_int_equal(s.last.status, PROV_REFUSED);
  assert_int_equal(s.last.reason, PROV_ETOKEN);
  assert_true(file_has(x.log, "reason=bad_token"));
  char crt[FX_PATH];
  box_file(&x, "cert.pem", crt);
  assert_int_equal(access(crt, F_OK), -1);
  prov_reply_close(&s.last);
}

/* What the daily renewal timer (firmware/systemd/storenode-renew.timer)
 * relies on: a provisioned box run again does nothing while its certificate
 * has more than renew_before_days left (HQ hears nothing), and renews it
 * (same key, new certificate) once it is within that window.  The first
 * certificate is issued by HQ 340 days ago (its clock set back), so it has
 * 25 days left.  time_check = yes: the box's clock is declared good, so the
 * days are counted here whatever the test machine's NTP state. */
static void test_box_renews_only_when_due(void **state) {
  box x;
  served s = {0};
  char tok[PROV_TOKEN_MAX];
  prov_cert_info first, again, renewed;
  prov_reply_init(&s.last);
  assign("SN-A6", "store-106", &s.last);
  token("SN-A6", tok);
  box_init(&x, "SN-A6", tok);
  box_config(&x, 0, 30, "yes");
  FILE *f = fopen(x.conf, "a");
  assert_non_null(f);
  fputs("renew_before_days = 10\n", f);
  fclose(f);
  W->f.clock.offset_ms = -(int64_t)340 * 86400 * 1000;
  box_start(&x);
  expect_exit(&x, &s, 0);
  W->f.clock.offset_ms = 0;
  assert_int_equal(s.requests, 1);
  expect_provisioned(&x, "store-106", &first);
  /* 25 days left, renew_before_days 10: nothing to do, HQ not asked */
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 1);
  assert_false(file_has(x.log, "certificate due for renewal"));
  expect_provisioned(&x, "store-106", &again);
  assert_string_equal(again.cert_serial, first.cert_serial);
  /* the default window (30 days): due, renewed with the same key */
  box_config(&x, 0, 30, "yes");
  box_start(&x);
  expect_exit(&x, &s, 0);
  assert_int_equal(s.requests, 2);
  assert_true(file_has(x.log, "certificate due for renewal"));
  expect_provisioned(&x, "store-106", &renewed);
  assert_string_not_equal(renewed.cert_serial, first.cert_serial);
  assert_string_equal(renewed.key_hash, first.key_hash);
  assert_true(renewed.not_after_s > first.not_after_s + 300 * 86400);
  prov_reply_close(&s.last);
}

/* The box's clock is behind the broker certificate's notBefore (a box
 * without RTC boots in 1970; here the certificate starts next year): with
 * the dates checked it cannot connect, with time_check = no it can. */
static void test_box_clock_behind_broker_certificate(void **state) {
  box x;
  served s = {0};
  char why[1024], tok[PROV_TOKEN_MAX], saved_crt[FX_PATH], saved_key[FX_PATH];
  test_broker *future = &W->future;
  prov_err err = {0};
  prov_cert_info ci;
  prov_reply_init(&s.last);
  int64_t now = fx_clock_fn(&W->f.clock) / 1000;
  prov_cert_req r = {.cn = "127.0.0.1", .uses = PROV_USE_SERVER, .san = {"127.0.0.1"}, .n_san = 1,
                     .not_before_s = now + 365 * 86400, .not_after_s = now + 730 * 86400};
  memcpy(saved_crt, W->f.broker_crt, FX_PATH);
  memcpy(saved_key, W->f.broker_key, FX_PATH);
  fx_path(&W->f, W->f.broker_crt, FX_PATH, "future-broker.crt");
  fx_path(&W->f, W->f.broker_key, FX_PATH, "future-broker.key");
  assert_int_equal(
      prov_server_issue_identity(W->f.srv, &r, 0, W->f.broker_crt, W->f.broker_key, NULL, &err),
      PROV_OK);
  if (test_broker_start_conf(future, fx_broker_conf, &W->f, why, sizeof why) != 0)
    fail_msg("%s", why);
  memcpy(W->f.broker_crt, saved_crt, FX_PATH);
  memcpy(W->f.broker_key, saved_key, FX_PATH);
  /* HQ listens on the future broker too */
  tclient hq2;
  tc_opts o = {.port = future->port,
               .client_id = "hq",
               .cafile = W->f.ca_crt,
               .certfile = W->f.hq_crt,
               .keyfile = W->f.hq_key,
               .username = NULL,
               .clean_start = true,
               .session_expiry_s = 0,
               .no_time_check = true};
  if (tc_connect(&hq2, &o) != 0) {
    test_broker_dump_log(future);
    fail_msg("hq to the future broker: connack %d rc %d", hq2.connack, hq2.disconnect_rc);
  }
  assert_int_equal(tc_sub(&hq2, PROV_REQUEST_FILTER), 1);
  assign("SN-A5", "store-105", &s.last);
  token("SN-A5", tok);
  box_init(&x, "SN-A5", tok);
  box_config(&x, future->port, 4, "yes");
  box_start(&x);
  assert_int_equal(box_wait(&x, ANSWER, &s), 3);
  assert_true(file_has(x.log, "provisioning attempt failed"));
  box_config(&x, future->port, 30, "no");
  box_start(&x);
  long long end = test_now_ms() + AGENT_WAIT_MS;
  int status = -1, handled = 0;
  while (test_now_ms() < end) {
    tc_pump(&hq2, 20);
    while (handled < hq2.n_msgs) {
      tc_msg *m = &hq2.msgs[handled++];
      assert_int_equal(
          prov_handle_request(W->f.srv, m->topic, m->payload, (size_t)m->len, &s.last, &err),
          PROV_OK);
      assert_int_equal(tc_pub(&hq2, s.last.topic, s.last.json.data), 0);
    }
    if (waitpid(x.pid, &status, WNOHANG) == x.pid) break;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    box_dump(&x);
    fail_msg("agent did not succeed with time_check = no");
  }
  expect_provisioned(&x, "store-105", &ci);
  tc_close(&hq2);
  test_broker_stop(future);
  prov_reply_close(&s.last);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <storenode-provision>\n", argv[0]);
    return 2;
  }
  agent_bin = argv[1];
  storenode_bin = argc > 2 && access(argv[2], X_OK) == 0 ? argv[2] : NULL;
  if (getenv("PROV_TEST_FILTER")) cmocka_set_test_filter(getenv("PROV_TEST_FILTER"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_box_provisions_end_to_end),
      cmocka_unit_test(test_box_waits_pending_until_assigned),
      cmocka_unit_test(test_box_resumes_after_power_cut),
      cmocka_unit_test(test_box_refused_gives_up),
      cmocka_unit_test(test_box_renews_only_when_due),
      cmocka_unit_test(test_box_clock_behind_broker_certificate),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
