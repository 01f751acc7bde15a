/* test_broker.c - the locked-down broker: a real mosquitto 2.0 with the
 * config prov_broker_config writes (TLS, require_certificate,
 * use_identity_as_username, use_username_as_clientid, CRL, ACL file), and
 * real TLS clients with certificates from the fleet CA.
 *
 * "Not delivered" is shown without waiting for nothing: after the message
 * that must not arrive, the same publisher sends a fence message the
 * receiver may see; MQTT keeps one publisher's order, so once the fence is
 * in, the forbidden message would have been too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "fixture.h"
#include "prov/ca.h"
#include "prov/file.h"
#include "tclient.h"

#define T(store, rest) "retail/v1/stores/" store "/" rest
#define NOT_AUTHORIZED 0x87

typedef struct certs {
  char crt[FX_PATH], key[FX_PATH];
} certs;

typedef struct world {
  fx f;
  test_broker b;
  certs s1, s2, s3_revoked, s4_expired, other_ca;
} world;

static world *W;

static void other_ca_cert(world *w) {
  char dir[FX_PATH], csr_key[FX_PATH];
  prov_ca *ca = NULL;
  prov_err err = {0};
  proto_buf csr, pem;
  prov_csr_info ci;
  proto_buf_init(&csr);
  proto_buf_init(&pem);
  fx_path(&w->f, dir, sizeof dir, "otherca");
  int64_t now = fx_clock_fn(&w->f.clock) / 1000;
  assert_int_equal(prov_ca_create(dir, "Test Fleet CA", now - 3600, 30, &err),
                   PROV_OK); /* same name! */
  assert_int_equal(prov_ca_open(&ca, dir, &err), PROV_OK);
  fx_path(&w->f, w->other_ca.key, FX_PATH, "other.key");
  fx_path(&w->f, w->other_ca.crt, FX_PATH, "other.crt");
  snprintf(csr_key, sizeof csr_key, "%s", w->other_ca.key);
  assert_int_equal(prov_key_generate(csr_key, &err), PROV_OK);
  assert_int_equal(prov_csr_make(csr_key, "SN1", &csr, &err), PROV_OK);
  assert_int_equal(prov_csr_check(csr.data, csr.len, &ci, &err), PROV_OK);
  prov_cert_req r = {.cn = "store-001", .device_serial = "SN1", .uses = PROV_USE_CLIENT,
                     .not_before_s = now - 3600, .not_after_s = now + 86400};
  assert_int_equal(prov_ca_issue(ca, &r, ci.spki, ci.spki_len, &pem, NULL, &err), PROV_OK);
  assert_int_equal(prov_file_write(w->other_ca.crt, pem.data, pem.len, 0644, &err), PROV_OK);
  prov_ca_close(ca);
  proto_buf_close(&csr);
  proto_buf_close(&pem);
}

static int group_setup(void **state) {
  char why[1024], bin[256];
  if (!test_broker_find_bin(bin, sizeof bin)) {
    fprintf(stderr, "skipped: mosquitto not found\n");
    exit(77);
  }
  world *w = calloc(1, sizeof *w);
  fx_open(&w->f);
  fx_identities(&w->f);
  int64_t now = fx_clock_fn(&w->f.clock) / 1000;
  fx_store_cert(&w->f, "store-001", "SN1", 0, 0, w->s1.crt, w->s1.key);
  fx_store_cert(&w->f, "store-002", "SN2", 0, 0, w->s2.crt, w->s2.key);
  fx_store_cert(&w->f, "store-003", "SN3", 0, 0, w->s3_revoked.crt, w->s3_revoked.key);
  fx_store_cert(&w->f, "store-004", "SN4", now - 10 * 86400, now - 86400, w->s4_expired.crt,
                w->s4_expired.key);
  other_ca_cert(w);
  if (test_broker_start_conf(&w->b, fx_broker_conf, &w->f, why, sizeof why) != 0)
    fail_msg("%s", why);
  W = w;
  *state = w;
  return 0;
}

static int group_teardown(void **state) {
  world *w = *state;
  if (getenv("PROV_TEST_BROKER_LOG")) test_broker_dump_log(&w->b); /* to see each refusal's cause */
  test_broker_stop(&w->b);
  fx_close(&w->f);
  free(w);
  return 0;
}

/* Connect with an identity's files; fails the test if refused. */
static void connect_as(tclient *c, const char *crt, const char *key, const char *id, bool clean,
                       int expiry) {
  tc_opts o = {.port = W->b.port,
               .client_id = id,
               .cafile = W->f.ca_crt,
               .certfile = crt,
               .keyfile = key,
               .username = NULL,
               .clean_start = clean,
               .session_expiry_s = expiry};
  if (tc_connect(c, &o) != 0) {
    test_broker_dump_log(&W->b);
    fail_msg("%s could not connect (connack %d, rc %d)", crt, c->connack, c->disconnect_rc);
  }
}

static void connect_hq(tclient *c) { connect_as(c, W->f.hq_crt, W->f.hq_key, "hq-test", true, 0); }

static void test_store_publishes_only_its_own_topics(void **state) {
  tclient hq, a;
  connect_hq(&hq);
  assert_int_equal(tc_sub(&hq, "retail/v1/stores/+/up/#"), 1);
  connect_as(&a, W->s1.crt, W->s1.key, "a", true, 0);
  assert_int_equal(tc_pub(&a, T("store-002", "up/events"), "forged by store-001"), NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&a, T("store-001", "down/events"), "forged HQ message"), NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&a, "retail/v1/provision/SN1/response", "forged answer"), NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&a, T("store-001", "up/events"), "fence"), 0);
  assert_true(tc_wait_msg(&hq, T("store-001", "up/events"), TC_WAIT_MS) >= 0);
  assert_false(tc_got(&hq, T("store-002", "up/events")));
  tc_close(&a);
  tc_close(&hq);
}

static void test_store_reads_only_its_own_topics(void **state) {
  tclient hq, a, b;
  connect_hq(&hq);
  connect_as(&a, W->s1.crt, W->s1.key, "a", true, 0);
  connect_as(&b, W->s2.crt, W->s2.key, "b", true, 0);
  tc_sub(&a, T("store-002", "down/#")); /* granted or not: nothing may come */
  tc_sub(&a, "retail/v1/#");
  assert_int_equal(tc_sub(&a, T("store-001", "down/#")), 1);
  assert_int_equal(tc_sub(&b, T("store-002", "down/#")), 1);
  assert_int_equal(tc_pub(&hq, T("store-002", "down/events"), "store-002 only"), 0);
  assert_int_equal(tc_pub(&hq, T("store-002", "up/events"), "store-002 upstream"), 0);
  assert_int_equal(tc_pub(&hq, T("store-001", "down/events"), "fence"), 0);
  assert_true(tc_wait_msg(&b, T("store-002", "down/events"), TC_WAIT_MS) >= 0); /* it was sent */
  assert_true(tc_wait_msg(&a, T("store-001", "down/events"), TC_WAIT_MS) >= 0);
  assert_false(tc_got(&a, T("store-002", "down/events")));
  assert_false(tc_got(&a, T("store-002", "up/events")));
  tc_close(&a);
  tc_close(&b);
  tc_close(&hq);
}

static void test_username_in_connect_is_ignored(void **state) {
  tclient hq, a;
  tc_opts o = {.port = W->b.port,
               .client_id = "hq",
               .cafile = W->f.ca_crt,
               .certfile = W->s1.crt,
               .keyfile = W->s1.key,
               .username = PROV_HQ_IDENTITY,
               .clean_start = true,
               .session_expiry_s = 0};
  connect_hq(&hq);
  assert_int_equal(tc_sub(&hq, "retail/v1/stores/+/up/#"), 1);
  assert_int_equal(tc_connect(&a, &o), 0); /* claims to be hq; the certificate says store-001 */
  tc_sub(&a, "retail/v1/#");
  assert_int_equal(tc_pub(&a, T("store-002", "up/events"), "forged"), NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&hq, T("store-002", "down/events"), "store-002 only"), 0);
  assert_int_equal(tc_pub(&hq, T("store-001", "down/events"), "fence"), 0);
  assert_true(tc_wait_msg(&a, T("store-001", "down/events"), TC_WAIT_MS) >= 0);
  assert_false(tc_got(&a, T("store-002", "down/events")));
  /* and hq's own session (client id "hq") was not taken over */
  assert_false(hq.lost);
  assert_int_equal(tc_pub(&a, T("store-001", "up/events"), "fence"), 0);
  assert_true(tc_wait_msg(&hq, T("store-001", "up/events"), TC_WAIT_MS) >= 0);
  assert_false(tc_got(&hq, T("store-002", "up/events")));
  tc_close(&a);
  tc_close(&hq);
}

static void test_client_id_cannot_take_over_a_session(void **state) {
  tclient hq, a, b;
  connect_hq(&hq);
  connect_as(&a, W->s1.crt, W->s1.key, "anything", false, 300);
  assert_int_equal(tc_sub(&a, T("store-001", "down/#")), 1);
  /* store-002 asks for store-001's client id */
  connect_as(&b, W->s2.crt, W->s2.key, "store-001", false, 300);
  assert_int_equal(tc_pub(&hq, T("store-001", "down/f1"), "fence"), 0);
  assert_true(tc_wait_msg(&a, T("store-001", "down/f1"), TC_WAIT_MS) >= 0);
  assert_false(a.lost); /* not kicked off */
  tc_close(&b);
  /* store-001 goes away; its session keeps a message for it */
  tc_close(&a);
  assert_int_equal(tc_pub(&hq, T("store-001", "down/queued"), "for store-001"), 0);
  connect_as(&b, W->s2.crt, W->s2.key, "store-001", false, 300);
  assert_int_equal(tc_sub(&b, T("store-002", "down/#")), 1);
  assert_int_equal(tc_pub(&hq, T("store-002", "down/f2"), "fence"), 0);
  assert_true(tc_wait_msg(&b, T("store-002", "down/f2"), TC_WAIT_MS) >= 0);
  assert_false(tc_got(&b, T("store-001", "down/queued")));
  tc_close(&b);
  connect_as(&a, W->s1.crt, W->s1.key, "anything", false, 300);
  assert_true(tc_wait_msg(&a, T("store-001", "down/queued"), TC_WAIT_MS) >= 0);
  tc_close(&a);
  tc_close(&hq);
  /* end both sessions: the reload test below wants no offline sessions
   * (mosquitto 2.0.11 mishandles them on SIGHUP, docs/security.md) */
  connect_as(&a, W->s1.crt, W->s1.key, "x", true, 0);
  connect_as(&b, W->s2.crt, W->s2.key, "x", true, 0);
  tc_close(&a);
  tc_close(&b);
}

static void expect_refused(const char *what, const char *crt, const char *key) {
  tclient c;
  tc_opts o = {.port = W->b.port,
               .client_id = "x",
               .cafile = W->f.ca_crt,
               .certfile = crt,
               .keyfile = key,
               .username = NULL,
               .clean_start = true,
               .session_expiry_s = 0};
  if (tc_connect(&c, &o) == 0) {
    tc_close(&c);
    fail_msg("%s: the broker accepted the connection", what);
  }
  tc_close(&c);
}

static void test_broker_refuses_bad_certificates(void **state) {
  tclient ok;
  connect_as(&ok, W->s1.crt, W->s1.key, "control", true, 0); /* the control: a good one works */
  tc_close(&ok);
  expect_refused("certificate of another CA (same CA name)", W->other_ca.crt, W->other_ca.key);
  expect_refused("no certificate", NULL, NULL);
  expect_refused("expired certificate", W->s4_expired.crt, W->s4_expired.key);
}

/* Revocation through SIGHUP (mosquitto 2.0 rebuilds the listener's TLS
 * context with the new CRL): new connections of the revoked box are
 * refused, everybody else still gets in.  A box that is connected at that
 * moment stays connected: the reload re-reads its CN, not its revocation. */
static void test_revoked_after_reload(void **state) {
  tclient c, live;
  int n = 0;
  prov_err err = {0};
  connect_as(&c, W->s3_revoked.crt, W->s3_revoked.key, "s3", true, 0);
  tc_close(&c);
  connect_as(&live, W->s3_revoked.crt, W->s3_revoked.key, "s3-live", true, 0);
  assert_int_equal(prov_server_revoke_device(W->f.srv, "SN3", "stolen", &n, &err), PROV_OK);
  assert_int_equal(n, 1);
  assert_int_equal(test_broker_reload(&W->b), 0);
  expect_refused("revoked certificate", W->s3_revoked.crt, W->s3_revoked.key);
  connect_as(&c, W->s1.crt, W->s1.key, "after-reload", true, 0);
  tc_close(&c);
  assert_false(tc_wait_lost(&live, 200)); /* the limitation documented in docs/security.md */
  tc_close(&live);
}

/* Revocation through a restart (what docs/security.md recommends): every
 * box reconnects through a TLS handshake against the new CRL, so a revoked
 * box that was connected is out too.  Two revocations in the same second:
 * the second CRL still wins. */
static void test_revoked_after_restart(void **state) {
  tclient live1, live2;
  int n = 0;
  char why[1024];
  prov_err err = {0};
  connect_as(&live1, W->s1.crt, W->s1.key, "live1", true, 0);
  connect_as(&live2, W->s2.crt, W->s2.key, "live2", true, 0);
  assert_int_equal(prov_server_revoke_device(W->f.srv, "SN2", "stolen", &n, &err), PROV_OK);
  assert_int_equal(prov_server_revoke_cert(W->f.srv, "00", "test", &n, &err), PROV_ENOTFOUND);
  if (test_broker_restart(&W->b, why, sizeof why) != 0) fail_msg("%s", why);
  assert_true(tc_wait_lost(&live2, TC_WAIT_MS));
  assert_true(tc_wait_lost(&live1, TC_WAIT_MS));
  tc_close(&live1);
  tc_close(&live2);
  expect_refused("revoked certificate, connected before", W->s2.crt, W->s2.key);
  expect_refused("revoked certificate, earlier CRL", W->s3_revoked.crt, W->s3_revoked.key);
  connect_as(&live1, W->s1.crt, W->s1.key, "live1", true, 0);
  tc_close(&live1);
}

static void test_claim_identity_only_provisions(void **state) {
  tclient hq, cl;
  connect_hq(&hq);
  assert_int_equal(tc_sub(&hq, "retail/v1/#"), 1);
  connect_as(&cl, W->f.claim_crt, W->f.claim_key, "SN7", true, 0);
  assert_int_equal(tc_sub(&cl, "retail/v1/provision/SN7/response"), 1);
  tc_sub(&cl, "retail/v1/stores/#");
  tc_sub(&cl, "retail/v1/provision/+/request"); /* other boxes' tokens: no */
  assert_int_equal(tc_pub(&cl, T("store-001", "up/events"), "forged"), NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&cl, "retail/v1/provision/SN7/response", "forged answer"),
                   NOT_AUTHORIZED);
  assert_int_equal(tc_pub(&cl, "retail/v1/provision/SN7/request", "a request"), 0);
  assert_true(tc_wait_msg(&hq, "retail/v1/provision/SN7/request", TC_WAIT_MS) >= 0);
  assert_int_equal(tc_pub(&hq, T("store-001", "down/events"), "not for claim"), 0);
  assert_int_equal(tc_pub(&hq, "retail/v1/provision/SN8/request", "somebody's token"), 0);
  assert_int_equal(tc_pub(&hq, "retail/v1/provision/SN7/response", "fence"), 0);
  assert_true(tc_wait_msg(&cl, "retail/v1/provision/SN7/response", TC_WAIT_MS) >= 0);
  assert_false(tc_got(&cl, T("store-001", "down/events")));
  assert_false(tc_got(&cl, "retail/v1/provision/SN8/request"));
  assert_false(tc_got(&hq, T("store-001", "up/events")));
  assert_false(tc_got(&hq, "retail/v1/provision/SN7/response") &&
               strcmp(hq.msgs[tc_wait_msg(&hq, "retail/v1/provision/SN7/response", 0)].payload,
                      "forged answer") == 0);
  tc_close(&cl);
  tc_close(&hq);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_publishes_only_its_own_topics),
      cmocka_unit_test(test_store_reads_only_its_own_topics),
      cmocka_unit_test(test_username_in_connect_is_ignored),
      cmocka_unit_test(test_client_id_cannot_take_over_a_session),
      cmocka_unit_test(test_broker_refuses_bad_certificates),
      cmocka_unit_test(test_claim_identity_only_provisions),
      cmocka_unit_test(test_revoked_after_reload),
      cmocka_unit_test(test_revoked_after_restart),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
