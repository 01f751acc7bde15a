/* test_pki.c - the fleet CA, keys, CSRs, the hand-built CRL, the broker
 * config text, the message codec and the examples of docs/protocol.md.
 *
 *   prov_pki [DOCS.md]      with the docs path, its Provisioning examples
 *                           must decode */
#define _DEFAULT_SOURCE /* timegm */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "fixture.h"
#include "prov/broker.h"
#include "prov/file.h"
#include "prov/msg.h"
#include "prov/x509.h"

static const char *docs_path;

static int64_t xtime(const mbedtls_x509_time *t) {
  struct tm tm = {.tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
                  .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec};
  return (int64_t)timegm(&tm);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  fx_open(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_close(*state);
  free(*state);
  return 0;
}

static void ca_pem(fx *f, const char **pem, size_t *len) {
  *pem = prov_ca_cert_pem(prov_server_ca(f->srv), len);
}

/* A key + cert issued straight from the CA, validity [nb, na]. */
static void issue(fx *f, const char *name, int64_t nb, int64_t na, proto_buf *pem,
                  prov_cert_info *ci) {
  char key[FX_PATH];
  proto_buf csr;
  prov_csr_info info;
  prov_err err = {0};
  proto_buf_init(&csr);
  fx_path(f, key, sizeof key, name);
  assert_int_equal(prov_key_generate(key, &err), PROV_OK);
  assert_int_equal(prov_csr_make(key, "SN1", &csr, &err), PROV_OK);
  assert_int_equal(prov_csr_check(csr.data, csr.len, &info, &err), PROV_OK);
  prov_cert_req r = {.cn = "store-001", .device_serial = "SN1", .uses = PROV_USE_CLIENT,
                     .not_before_s = nb, .not_after_s = na};
  if (prov_ca_issue(prov_server_ca(f->srv), &r, info.spki, info.spki_len, pem, ci, &err) != PROV_OK)
    fail_msg("%s", err.msg);
  proto_buf_close(&csr);
}

static void test_ca_files(void **state) {
  fx *f = *state;
  struct stat st;
  char key[FX_PATH];
  prov_err err = {0};
  prov_ca *ca = NULL;
  snprintf(key, sizeof key, "%s/%s", f->ca_dir, PROV_CA_KEY_FILE);
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(f->ca_dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* never replaced by accident */
  assert_int_equal(prov_ca_create(f->ca_dir, "Another CA", 0, 10, &err), PROV_EEXISTS);
  /* a key others can read is refused */
  chmod(key, 0640);
  assert_int_equal(prov_ca_open(&ca, f->ca_dir, &err), PROV_ECONFIG);
  assert_non_null(strstr(err.msg, "0600"));
  chmod(key, 0600);
  assert_int_equal(prov_ca_open(&ca, f->ca_dir, &err), PROV_OK);
  prov_ca_close(ca);
  assert_int_equal(prov_ca_create(f->ca_dir, "bad,name", 0, 10, &err), PROV_EINVAL);
  /* the CA certificate: CA:TRUE, keyCertSign + cRLSign */
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse_file(&crt, f->ca_crt), 0);
  assert_int_equal(crt.ca_istrue, 1);
  assert_int_equal(mbedtls_x509_crt_check_key_usage(
                       &crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN),
                   0);
  mbedtls_x509_crt_free(&crt);
}

static void test_issue_and_verify(void **state) {
  fx *f = *state;
  proto_buf pem;
  prov_cert_info ci;
  const char *ca;
  size_t calen;
  int64_t now = fx_clock_fn(&f->clock) / 1000;
  proto_buf_init(&pem);
  ca_pem(f, &ca, &calen);
  issue(f, "a.key", now - 60, now + 86400, &pem, &ci);
  assert_int_equal(prov_cert_verify(pem.data, pem.len, ca, calen, true, NULL), PROV_OK);
  assert_string_equal(ci.cn, "store-001");
  assert_string_equal(ci.device_serial, "SN1");
  assert_int_equal(ci.not_after_s, now + 86400);
  /* the extensions mosquitto/OpenSSL rely on */
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse(&crt, (const unsigned char *)pem.data, pem.len + 1), 0);
  assert_int_equal(crt.ca_istrue, 0);
  assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                       &crt, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
                   0);
  assert_int_not_equal(
      mbedtls_x509_crt_check_extended_key_usage(&crt, MBEDTLS_OID_SERVER_AUTH,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
      0);
  mbedtls_x509_crt_free(&crt);
  /* not yet valid: only a check without dates accepts it */
  issue(f, "b.key", now + 86400, now + 2 * 86400, &pem, &ci);
  assert_int_equal(prov_cert_verify(pem.data, pem.len, ca, calen, true, NULL), PROV_ECERT);
  assert_int_equal(prov_cert_verify(pem.data, pem.len, ca, calen, false, NULL), PROV_OK);
  /* another CA with the very same name does not verify */
  char dir[FX_PATH];
  proto_buf other;
  proto_buf_init(&other);
  fx_path(f, dir, sizeof dir, "other");
  assert_int_equal(prov_ca_create(dir, "Test Fleet CA", now - 60, 10, NULL), PROV_OK);
  strcat(dir, "/" PROV_CA_CERT_FILE);
  assert_int_equal(prov_file_read(dir, PROV_PEM_MAX, &other, NULL), PROV_OK);
  issue(f, "c.key", now - 60, now + 60, &pem, &ci);
  assert_int_equal(prov_cert_verify(pem.data, pem.len, other.data, other.len, false, NULL),
                   PROV_ECERT);
  proto_buf_close(&other);
  proto_buf_close(&pem);
}

static void test_server_identity_san(void **state) {
  fx *f = *state;
  prov_err err = {0};
  prov_cert_info ci;
  fx_identities(f);
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse_file(&crt, f->broker_crt), 0);
  assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                       &crt, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                   0);
  /* mbedTLS 2.28 reads dNSName entries of the SAN we wrote by hand */
  bool localhost = false;
  for (const mbedtls_x509_sequence *s = &crt.subject_alt_names; s && s->buf.p; s = s->next)
    if (s->buf.len == 9 && memcmp(s->buf.p, "localhost", 9) == 0) localhost = true;
  assert_true(localhost);
  mbedtls_x509_crt_free(&crt);
  struct stat st;
  assert_int_equal(stat(f->broker_key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* the key file exists now: issuing again to it is refused, never overwritten */
  prov_cert_req r = {.cn = "hq", .uses = PROV_USE_CLIENT};
  assert_int_equal(prov_server_issue_identity(f->srv, &r, 1, f->hq_crt, f->hq_key, &ci, &err),
                   PROV_EEXISTS);
  assert_int_equal(stat(f->hq_key, &st), 0);
}

static void test_keys_and_csrs(void **state) {
  fx *f = *state;
  char key[FX_PATH], kh[PROV_HASH_HEX];
  proto_buf csr;
  prov_csr_info ci;
  prov_err err = {0};
  struct stat st;
  proto_buf_init(&csr);
  fx_path(f, key, sizeof key, "box.key");
  umask(0);
  assert_int_equal(prov_key_generate(key, &err), PROV_OK);
  umask(022);
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(prov_key_generate(key, &err), PROV_EEXISTS);
  assert_int_equal(prov_key_hash(key, kh, &err), PROV_OK);
  assert_int_equal(prov_csr_make(key, "SN-42", &csr, &err), PROV_OK);
  assert_int_equal(prov_csr_check(csr.data, csr.len, &ci, &err), PROV_OK);
  assert_string_equal(ci.cn, "SN-42");
  assert_string_equal(ci.key_hash, kh);
  assert_int_equal(prov_csr_make(key, "bad serial", &csr, &err), PROV_EINVAL);
  /* a P-384 key is not the fleet's policy */
  mbedtls_pk_context pk;
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  unsigned char pem[2048];
  mbedtls_pk_init(&pk);
  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
  assert_int_equal(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
  assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP384R1, mbedtls_pk_ec(pk),
                                       mbedtls_ctr_drbg_random, &drbg),
                   0);
  mbedtls_x509write_csr w;
  mbedtls_x509write_csr_init(&w);
  mbedtls_x509write_csr_set_key(&w, &pk);
  mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
  assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, "CN=SN-42"), 0);
  assert_int_equal(mbedtls_x509write_csr_pem(&w, pem, sizeof pem, mbedtls_ctr_drbg_random, &drbg),
                   0);
  assert_int_equal(prov_csr_check((char *)pem, strlen((char *)pem), &ci, &err), PROV_ECSR);
  assert_non_null(strstr(err.msg, "P-256"));
  assert_string_equal(ci.cn, ""); /* zeroed on failure */
  mbedtls_x509write_csr_free(&w);
  mbedtls_pk_free(&pk);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
  proto_buf_close(&csr);
}

static void test_crl(void **state) {
  fx *f = *state;
  char a_crt[FX_PATH], a_key[FX_PATH], b_crt[FX_PATH], b_key[FX_PATH];
  prov_err err = {0};
  int n;
  int64_t now = fx_clock_fn(&f->clock) / 1000;
  fx_store_cert(f, "store-001", "SN1", 0, 0, a_crt, a_key);
  fx_store_cert(f, "store-002", "SN2", now - 3600, now + 3600, b_crt, b_key);
  /* the empty CRL written at start parses: the broker needs one from day one */
  mbedtls_x509_crl crl;
  mbedtls_x509_crl_init(&crl);
  assert_int_equal(mbedtls_x509_crl_parse_file(&crl, f->crl), 0);
  assert_int_equal(crl.version, 2);
  int64_t first_this = xtime(&crl.this_update);
  mbedtls_x509_crl_free(&crl);
  assert_int_equal(prov_server_revoke_device(f->srv, "SN1", "stolen", &n, &err), PROV_OK);
  assert_int_equal(n, 1);
  assert_int_equal(prov_server_revoke_device(f->srv, "SN2", "stolen", &n, &err), PROV_OK);
  assert_int_equal(prov_server_revoke_device(f->srv, "SN2", "again", &n, &err), PROV_OK);
  assert_int_equal(n, 0); /* already revoked */
  mbedtls_x509_crl_init(&crl);
  assert_int_equal(mbedtls_x509_crl_parse_file(&crl, f->crl), 0);
  /* signed by the CA: mbedTLS verifies a chain against it */
  mbedtls_x509_crt ca, a, b;
  uint32_t flags = 0;
  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&a);
  mbedtls_x509_crt_init(&b);
  assert_int_equal(mbedtls_x509_crt_parse_file(&ca, f->ca_crt), 0);
  assert_int_equal(mbedtls_x509_crt_parse_file(&a, a_crt), 0);
  assert_int_equal(mbedtls_x509_crt_parse_file(&b, b_crt), 0);
  assert_int_equal(mbedtls_x509_crt_is_revoked(&a, &crl), 1);
  assert_int_equal(mbedtls_x509_crt_is_revoked(&b, &crl), 1);
  assert_int_not_equal(mbedtls_x509_crt_verify(&a, &ca, &crl, NULL, &flags, NULL, NULL), 0);
  assert_true(flags & MBEDTLS_X509_BADCERT_REVOKED);
  /* thisUpdate moves on even within the same second: the broker keeps the newest */
  assert_true(xtime(&crl.this_update) > first_this);
  assert_true(xtime(&crl.next_update) >= xtime(&crl.this_update) + 30 * 86400);
  mbedtls_x509_crl_free(&crl);
  /* once b has expired it need not be listed any more */
  f->clock.offset_ms = (int64_t)2 * 3600 * 1000;
  assert_int_equal(prov_server_write_crl(f->srv, &err), PROV_OK);
  mbedtls_x509_crl_init(&crl);
  assert_int_equal(mbedtls_x509_crl_parse_file(&crl, f->crl), 0);
  assert_int_equal(mbedtls_x509_crt_is_revoked(&a, &crl), 1);
  assert_int_equal(mbedtls_x509_crt_is_revoked(&b, &crl), 0);
  mbedtls_x509_crl_free(&crl);
  mbedtls_x509_crt_free(&ca);
  mbedtls_x509_crt_free(&a);
  mbedtls_x509_crt_free(&b);
}

static void test_broker_config(void **state) {
  fx *f = *state;
  char conf[FX_PATH], acl[FX_PATH];
  prov_err err = {0};
  proto_buf b;
  proto_buf_init(&b);
  fx_path(f, conf, sizeof conf, "mosquitto.conf");
  fx_path(f, acl, sizeof acl, "acl");
  prov_broker_opts o = {.conf_path = conf,
                        .acl_path = acl,
                        .port = 8883,
                        .cafile = "/etc/fleet/ca.crt",
                        .certfile = "/etc/fleet/broker.crt",
                        .keyfile = "/etc/fleet/broker.key",
                        .crlfile = "/etc/fleet/crl.pem",
                        .persistence_dir = "/var/lib/mosquitto"};
  assert_int_equal(prov_broker_config(&o, &err), PROV_OK);
  assert_int_equal(prov_file_read(conf, 1 << 16, &b, &err), PROV_OK);
  static const char *const want[] = {"allow_anonymous false\n",
                                     "acl_file ",
                                     "listener 8883\n",
                                     "cafile /etc/fleet/ca.crt\n",
                                     "certfile /etc/fleet/broker.crt\n",
                                     "keyfile /etc/fleet/broker.key\n",
                                     "crlfile /etc/fleet/crl.pem\n",
                                     "require_certificate true\n",
                                     "use_identity_as_username true\n",
                                     "use_username_as_clientid true\n",
                                     "persistence true\n",
                                     "tls_version tlsv1.2\n"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(b.data, want[i])) fail_msg("mosquitto.conf lacks \"%s\":\n%s", want[i], b.data);
  assert_int_equal(prov_file_read(acl, 1 << 16, &b, &err), PROV_OK);
  static const char *const acl_want[] = {
      "user hq\ntopic readwrite retail/v1/#\n",
      "user claim\ntopic write retail/v1/provision/+/request\ntopic read "
      "retail/v1/provision/+/response\n",
      "pattern write retail/v1/stores/%u/up/#\n", "pattern read retail/v1/stores/%u/down/#\n"};
  for (size_t i = 0; i < sizeof acl_want / sizeof acl_want[0]; i++)
    if (!strstr(b.data, acl_want[i])) fail_msg("acl lacks \"%s\":\n%s", acl_want[i], b.data);
  o.crlfile = "/etc/fleet/crl.pem\nallow_anonymous true";
  assert_int_equal(prov_broker_config(&o, &err), PROV_EINVAL);
  o.crlfile = NULL;
  assert_int_equal(prov_broker_config(&o, &err), PROV_EINVAL);
  proto_buf_close(&b);
}

static void test_codec(void **state) {
  prov_request q, q2;
  prov_response p, p2;
  proto_buf out;
  prov_err err = {0};
  prov_request_init(&q);
  prov_request_init(&q2);
  prov_response_init(&p);
  prov_response_init(&p2);
  proto_buf_init(&out);
  strcpy(q.serial, "SN1");
  strcpy(q.nonce, "00112233aabbccdd");
  strcpy(q.agent_version, "0.1.0");
  proto_buf_puts(&q.csr_pem,
                 "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  assert_int_equal(prov_request_encode(&q, &out, &err), PROV_OK);
  assert_null(strstr(out.data, "claim_token")); /* left out when empty */
  assert_int_equal(prov_request_decode(out.data, out.len, &q2, &err), PROV_OK);
  assert_string_equal(q2.serial, "SN1");
  assert_string_equal(q2.csr_pem.data, q.csr_pem.data);
  strcpy(q.nonce, "ABC"); /* not lower-case hex, too short */
  assert_int_equal(prov_request_encode(&q, &out, &err), PROV_EINVAL);
  p.status = PROV_PENDING;
  p.reason = PROV_EUNASSIGNED;
  strcpy(p.serial, "SN1");
  strcpy(p.nonce, "00112233aabbccdd");
  p.hq_time_ms = 1795400000000;
  p.retry_after_s = 30;
  proto_buf_reset(&out);
  assert_int_equal(prov_response_encode(&p, &out, &err), PROV_OK);
  assert_null(strstr(out.data, "cert_pem"));
  assert_int_equal(prov_response_decode(out.data, out.len, &p2, &err), PROV_OK);
  assert_int_equal(p2.status, PROV_PENDING);
  assert_int_equal(p2.reason, PROV_EUNASSIGNED);
  assert_int_equal(p2.hq_time_ms, 1795400000000);
  /* issued without the certificate: refused, naming the member */
  const char *bad =
      "{\"v\":1,\"serial\":\"SN1\",\"nonce\":\"\",\"status\":\"issued\",\"hq_time_ms\":1}";
  assert_int_equal(prov_response_decode(bad, strlen(bad), &p2, &err), PROV_EMSG);
  assert_non_null(strstr(err.msg, "store_id"));
  const char *v2 = "{\"v\":2,\"serial\":\"SN1\"}";
  assert_int_equal(prov_request_decode(v2, strlen(v2), &q2, &err), PROV_EMSG);
  assert_non_null(strstr(err.msg, "version"));
  char serial[PROTO_ID_MAX];
  bool resp;
  assert_int_equal(prov_topic_parse("retail/v1/provision/SN-9/response", serial, &resp, &err),
                   PROV_OK);
  assert_string_equal(serial, "SN-9");
  assert_true(resp);
  assert_int_equal(prov_topic_parse("retail/v1/provision/SN+9/request", serial, &resp, &err),
                   PROV_EINVAL);
  assert_int_equal(prov_topic_parse("retail/v1/provision/SN9/request/x", serial, &resp, &err),
                   PROV_EINVAL);
  assert_int_equal(prov_topic_parse("retail/v1/stores/s/up/events", serial, &resp, &err),
                   PROV_EINVAL);
  prov_request_close(&q);
  prov_request_close(&q2);
  prov_response_close(&p);
  prov_response_close(&p2);
  proto_buf_close(&out);
}

/* Every JSON line of the "## Provisioning" section decodes as a request or
 * a response. */
static void test_docs_examples(void **state) {
  proto_buf doc;
  prov_request q;
  prov_response p;
  int examples = 0;
  if (!docs_path) skip();
  proto_buf_init(&doc);
  prov_request_init(&q);
  prov_response_init(&p);
  assert_int_equal(prov_file_read(docs_path, 1 << 22, &doc, NULL), PROV_OK);
  char *sec = strstr(doc.data, "\n## Provisioning");
  assert_non_null(sec);
  char *end = strstr(sec + 1, "\n## ");
  if (end) *end = '\0';
  for (char *line = strtok(sec, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "{\"v\":1", 6) != 0) continue;
    prov_err e1 = {0}, e2 = {0};
    if (prov_request_decode(line, strlen(line), &q, &e1) != PROV_OK &&
        prov_response_decode(line, strlen(line), &p, &e2) != PROV_OK)
      fail_msg("docs example does not decode (%s / %s):\n%s", e1.msg, e2.msg, line);
    examples++;
  }
  assert_true(examples >= 4); /* request, issued, pending, refused */
  prov_request_close(&q);
  prov_response_close(&p);
  proto_buf_close(&doc);
}

int main(int argc, char **argv) {
  docs_path = argc > 1 ? argv[1] : NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ca_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_and_verify, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_identity_san, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keys_and_csrs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_config, setup, teardown),
      cmocka_unit_test(test_codec),
      cmocka_unit_test(test_docs_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
