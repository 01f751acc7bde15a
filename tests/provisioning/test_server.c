/* test_server.c - HQ's provisioning policy (prov_handle_request,
 * prov_assign), against a real CA and registry, with an injected clock.
 * No broker: the messages go straight in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <mbedtls/base64.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "fixture.h"
#include "prov/x509.h"

#define REQ(serial) PROV_TOPIC_PREFIX serial "/request"

typedef struct t {
  fx f;
  prov_reply r;
  prov_response p;
  proto_buf json;
  char token[PROV_TOKEN_MAX];
} t;

static int setup(void **state) {
  t *x = calloc(1, sizeof *x);
  fx_open(&x->f);
  prov_reply_init(&x->r);
  prov_response_init(&x->p);
  proto_buf_init(&x->json);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  t *x = *state;
  prov_reply_close(&x->r);
  prov_response_close(&x->p);
  proto_buf_close(&x->json);
  fx_close(&x->f);
  free(x);
  return 0;
}

static void key_path(t *x, const char *name, char *out) { fx_path(&x->f, out, FX_PATH, name); }

static void token(t *x, const char *serial, int64_t ttl_s, char *out) {
  prov_err err = {0};
  if (prov_server_token_create(x->f.srv, serial, ttl_s, out, &err) != PROV_OK)
    fail_msg("%s", err.msg);
}

static void assign(t *x, const char *serial, const char *store) {
  prov_err err = {0};
  if (prov_assign(x->f.srv, serial, store, &x->r, &err) != PROV_OK) fail_msg("%s", err.msg);
}

/* Send a request JSON on serial's topic; decode the reply into x->p. */
static void send_json(t *x, const char *topic, const char *json, size_t len) {
  prov_err err = {0};
  if (prov_handle_request(x->f.srv, topic, json, len, &x->r, &err) != PROV_OK)
    fail_msg("%s", err.msg);
  fx_response(&x->r, &x->p);
}

static void ask(t *x, const char *serial, const char *keyname, const char *tok) {
  char key[FX_PATH], topic[PROTO_TOPIC_MAX];
  key_path(x, keyname, key);
  fx_request_json(serial, key, tok, NULL, &x->json);
  snprintf(topic, sizeof topic, "%s%s/request", PROV_TOPIC_PREFIX, serial);
  send_json(x, topic, x->json.data, x->json.len);
}

static void expect_refused(t *x, int reason) {
  if (x->p.status != PROV_REFUSED || x->p.reason != reason)
    fail_msg("want refused %s, got %s %s (%s)", prov_err_wire(reason),
             prov_status_name(x->p.status), prov_err_wire(x->p.reason), x->p.detail);
}

static void expect_issued(t *x, const char *store, const char *serial, const char *keyname) {
  prov_err err = {0};
  prov_cert_info ci;
  char key[FX_PATH], kh[PROV_HASH_HEX];
  size_t calen;
  const char *ca = prov_ca_cert_pem(prov_server_ca(x->f.srv), &calen);
  if (x->p.status != PROV_ISSUED)
    fail_msg("want issued, got %s %s (%s)", prov_status_name(x->p.status),
             prov_err_wire(x->p.reason), x->p.detail);
  assert_string_equal(x->p.store_id, store);
  bool real_time = x->f.clock.offset_ms == 0; /* mbedTLS checks dates with the real clock */
  assert_int_equal(
      prov_cert_verify(x->p.cert_pem.data, x->p.cert_pem.len, ca, calen, real_time, &err), PROV_OK);
  assert_int_equal(prov_cert_info_get(x->p.cert_pem.data, x->p.cert_pem.len, &ci, &err), PROV_OK);
  assert_string_equal(ci.cn, store);
  assert_string_equal(ci.device_serial, serial);
  key_path(x, keyname, key);
  assert_int_equal(prov_key_hash(key, kh, &err), PROV_OK);
  assert_string_equal(ci.key_hash, kh);
  assert_string_equal(x->p.broker_host, "127.0.0.1");
  assert_int_equal(x->p.broker_port, 8883);
  assert_string_equal(x->p.node_config.data, "heartbeat_s = 5\n");
  assert_true(x->p.ca_pem.len == calen && memcmp(x->p.ca_pem.data, ca, calen) == 0);
  assert_string_equal(x->r.cert_serial, ci.cert_serial);
}

static void cert_serial_of(t *x, char out[PROV_CERT_SERIAL_MAX]) {
  prov_cert_info ci;
  assert_int_equal(prov_cert_info_get(x->p.cert_pem.data, x->p.cert_pem.len, &ci, NULL), PROV_OK);
  memcpy(out, ci.cert_serial, PROV_CERT_SERIAL_MAX);
}

/* ---- the happy path, retries, renewal ------------------------------------------ */

static void test_issued_when_registered(void **state) {
  t *x = *state;
  assign(x, "SN1", "store-001");
  assert_false(x->r.send); /* nobody was waiting */
  token(x, "SN1", 3600, x->token);
  assert_int_equal(strncmp(x->token, "ct_", 3), 0);
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
  assert_string_equal(x->p.nonce, "0123456789abcdef");
  assert_string_equal(x->r.topic, PROV_TOPIC_PREFIX "SN1/response");
  assert_false(x->r.crl_changed);
  prov_cert_info ci;
  assert_int_equal(prov_cert_info_get(x->p.cert_pem.data, x->p.cert_pem.len, &ci, NULL), PROV_OK);
  int64_t now_s = fx_clock_fn(&x->f.clock) / 1000;
  assert_true(ci.not_after_s - now_s > 364 * 86400 && ci.not_after_s - now_s <= 365 * 86400);
  assert_true(ci.not_before_s <= now_s - 3000);  /* backdated for clock skew */
  assert_int_equal(strlen(ci.cert_serial), 32); /* 16 random bytes */
  prov_device d;
  assert_int_equal(prov_registry_device(prov_server_registry(x->f.srv), "SN1", &d, NULL), PROV_OK);
  assert_string_equal(d.store_id, "store-001");
  assert_string_equal(d.cert_serial, ci.cert_serial);
  assert_false(d.pending);
}

static void test_retry_is_safe(void **state) {
  t *x = *state;
  char first[PROV_CERT_SERIAL_MAX], again[PROV_CERT_SERIAL_MAX];
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
  cert_serial_of(x, first);
  /* the answer was lost: the box asks again, same token, same key */
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
  cert_serial_of(x, again);
  assert_string_equal(first, again);
  /* and without any token: HQ knows the key */
  ask(x, "SN1", "a.key", NULL);
  expect_issued(x, "store-001", "SN1", "a.key");
  cert_serial_of(x, again);
  assert_string_equal(first, again);
}

static void test_renewal_same_key(void **state) {
  t *x = *state;
  char first[PROV_CERT_SERIAL_MAX], renewed[PROV_CERT_SERIAL_MAX];
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  ask(x, "SN1", "a.key", x->token);
  cert_serial_of(x, first);
  x->f.clock.offset_ms = (int64_t)340 * 86400 * 1000; /* 25 days left < renew_before 30 */
  ask(x, "SN1", "a.key", NULL);
  expect_issued(x, "store-001", "SN1", "a.key");
  cert_serial_of(x, renewed);
  assert_string_not_equal(first, renewed);
  assert_false(x->r.crl_changed); /* the old one stays valid until it expires */
}

static void test_pending_then_assigned(void **state) {
  t *x = *state;
  char first[PROV_CERT_SERIAL_MAX], again[PROV_CERT_SERIAL_MAX];
  token(x, NULL, 3600, x->token); /* a token for any serial */
  ask(x, "SN9", "a.key", x->token);
  assert_int_equal(x->p.status, PROV_PENDING);
  assert_int_equal(x->p.reason, PROV_EUNASSIGNED);
  assert_int_equal(x->p.retry_after_s, 30);
  assert_string_equal(x->p.nonce, "0123456789abcdef");
  prov_device d;
  assert_int_equal(prov_registry_device(prov_server_registry(x->f.srv), "SN9", &d, NULL), PROV_OK);
  assert_true(d.pending);
  assert_string_equal(d.store_id, "");
  /* asking again, even without the token, stays pending */
  ask(x, "SN9", "a.key", NULL);
  assert_int_equal(x->p.status, PROV_PENDING);
  /* HQ assigns it: the answer to publish comes out of prov_assign */
  assign(x, "SN9", "store-009");
  assert_true(x->r.send);
  assert_string_equal(x->r.topic, PROV_TOPIC_PREFIX "SN9/response");
  fx_response(&x->r, &x->p);
  expect_issued(x, "store-009", "SN9", "a.key");
  assert_string_equal(x->p.nonce, "0123456789abcdef");
  cert_serial_of(x, first);
  ask(x, "SN9", "a.key", NULL);
  expect_issued(x, "store-009", "SN9", "a.key");
  cert_serial_of(x, again);
  assert_string_equal(first, again);
  assert_int_equal(prov_registry_device(prov_server_registry(x->f.srv), "SN9", &d, NULL), PROV_OK);
  assert_false(d.pending);
}

static void test_new_key_supersedes(void **state) {
  t *x = *state;
  char old[PROV_CERT_SERIAL_MAX], tok2[PROV_TOKEN_MAX];
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  ask(x, "SN1", "a.key", x->token);
  cert_serial_of(x, old);
  /* the box was re-flashed: new key, new token */
  token(x, "SN1", 3600, tok2);
  ask(x, "SN1", "b.key", tok2);
  expect_issued(x, "store-001", "SN1", "b.key");
  assert_true(x->r.crl_changed);
  /* the CRL on disk lists the old certificate and parses with mbedTLS */
  mbedtls_x509_crl crl;
  mbedtls_x509_crl_init(&crl);
  assert_int_equal(mbedtls_x509_crl_parse_file(&crl, x->f.crl), 0);
  bool listed = false;
  for (const mbedtls_x509_crl_entry *e = &crl.entry; e && e->serial.len; e = e->next) {
    char hex[PROV_CERT_SERIAL_MAX] = "";
    for (size_t i = 0; i < e->serial.len && i < 20; i++)
      snprintf(hex + 2 * i, 3, "%02x", e->serial.p[i]);
    if (strcmp(hex, old) == 0) listed = true;
  }
  mbedtls_x509_crl_free(&crl);
  assert_true(listed);
  /* and the old key is now refused */
  ask(x, "SN1", "a.key", NULL);
  expect_refused(x, PROV_EREVOKED);
}

static void test_revoked_key_refused(void **state) {
  t *x = *state;
  int n = 0;
  prov_err err = {0};
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  ask(x, "SN1", "a.key", x->token);
  assert_int_equal(prov_server_revoke_device(x->f.srv, "SN1", "stolen", &n, &err), PROV_OK);
  assert_int_equal(n, 1);
  ask(x, "SN1", "a.key", x->token);
  expect_refused(x, PROV_EREVOKED);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void test_reused_token(void **state) {
  t *x = *state;
  assign(x, "SN1", "store-001");
  assign(x, "SN2", "store-002");
  token(x, NULL, 3600, x->token);
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
  ask(x, "SN2", "b.key", x->token);
  expect_refused(x, PROV_ETOKEN_USED);
  assert_true(x->p.retry_after_s > 0);
  ask(x, "SN1", "c.key", x->token); /* same serial, another key */
  expect_refused(x, PROV_ETOKEN_USED);
}

static void test_expired_token(void **state) {
  t *x = *state;
  assign(x, "SN1", "store-001");
  token(x, "SN1", 60, x->token);
  x->f.clock.offset_ms = 61 * 1000;
  ask(x, "SN1", "a.key", x->token);
  expect_refused(x, PROV_ETOKEN_EXPIRED);
}

static void test_token_of_another_serial(void **state) {
  t *x = *state;
  assign(x, "SN2", "store-002");
  token(x, "SN1", 3600, x->token);
  ask(x, "SN2", "a.key", x->token);
  expect_refused(x, PROV_ESERIAL);
}

static void test_unknown_or_missing_token(void **state) {
  t *x = *state;
  assign(x, "SN1", "store-001");
  ask(x, "SN1", "a.key", "ct_not-a-token-hq-ever-made");
  expect_refused(x, PROV_ETOKEN);
  ask(x, "SN1", "a.key", NULL);
  expect_refused(x, PROV_ETOKEN);
}

static void test_csr_for_another_serial(void **state) {
  t *x = *state;
  char key[FX_PATH];
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  key_path(x, "a.key", key);
  fx_request_json("SN1", key, x->token, "SN2", &x->json); /* CSR says CN=SN2 */
  send_json(x, REQ("SN1"), x->json.data, x->json.len);
  expect_refused(x, PROV_ESERIAL);
  /* the message itself naming another serial than its topic */
  fx_request_json("SN2", key, x->token, "SN2", &x->json);
  send_json(x, REQ("SN1"), x->json.data, x->json.len);
  expect_refused(x, PROV_ESERIAL);
  /* neither spent the token */
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
}

/* Replace the CSR in a request JSON by a modified one: decode PEM -> DER,
 * apply edit, encode again. */
typedef void (*der_edit)(unsigned char *der, size_t len, void *ctx);

static void edit_csr(t *x, der_edit edit, void *ctx) {
  prov_request q;
  prov_err err = {0};
  unsigned char der[2048], b64[4096];
  size_t dlen = 0, blen = 0;
  prov_request_init(&q);
  assert_int_equal(prov_request_decode(x->json.data, x->json.len, &q, &err), PROV_OK);
  /* strip the PEM armour and line breaks */
  char body[4096] = "";
  const char *p = strchr(q.csr_pem.data, '\n') + 1, *end = strstr(p, "-----END");
  for (size_t n = 0; p < end; p++)
    if (*p != '\n' && *p != '\r') body[n++] = *p, body[n] = '\0';
  assert_int_equal(
      mbedtls_base64_decode(der, sizeof der, &dlen, (unsigned char *)body, strlen(body)), 0);
  edit(der, dlen, ctx);
  assert_int_equal(mbedtls_base64_encode(b64, sizeof b64, &blen, der, dlen), 0);
  proto_buf_reset(&q.csr_pem);
  proto_buf_printf(&q.csr_pem,
                   "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n",
                   b64);
  proto_buf_reset(&x->json);
  assert_int_equal(prov_request_encode(&q, &x->json, &err), PROV_OK);
  prov_request_close(&q);
}

/* Change the CN "SN1" into "SN7" inside the signed part. */
static void flip_cn(unsigned char *der, size_t len, void *ctx) {
  for (size_t i = 0; i + 3 <= len; i++)
    if (memcmp(der + i, "SN1", 3) == 0) {
      der[i + 2] = '7';
      return;
    }
  fail_msg("CN not found in the CSR");
}

/* Put another public key (ctx: its SPKI DER) where the CSR's is: the
 * attack the signature check exists for. */
typedef struct spki_swap {
  unsigned char from[PROV_SPKI_MAX], to[PROV_SPKI_MAX];
  size_t len;
} spki_swap;

static void swap_key(unsigned char *der, size_t len, void *ctx) {
  spki_swap *s = ctx;
  for (size_t i = 0; i + s->len <= len; i++)
    if (memcmp(der + i, s->from, s->len) == 0) {
      memcpy(der + i, s->to, s->len);
      return;
    }
  fail_msg("public key not found in the CSR");
}

static void spki_of(t *x, const char *keyname, unsigned char *out, size_t *len) {
  char key[FX_PATH];
  proto_buf csr;
  prov_csr_info ci;
  proto_buf_init(&csr);
  key_path(x, keyname, key);
  prov_key_generate(key, NULL);
  assert_int_equal(prov_csr_make(key, "SN1", &csr, NULL), PROV_OK);
  assert_int_equal(prov_csr_check(csr.data, csr.len, &ci, NULL), PROV_OK);
  memcpy(out, ci.spki, ci.spki_len);
  *len = ci.spki_len;
  proto_buf_close(&csr);
}

static void test_tampered_csr(void **state) {
  t *x = *state;
  char key[FX_PATH];
  spki_swap s;
  assign(x, "SN1", "store-001");
  token(x, "SN1", 3600, x->token);
  key_path(x, "a.key", key);
  fx_request_json("SN1", key, x->token, NULL, &x->json);
  edit_csr(x, flip_cn, NULL);
  send_json(x, REQ("SN1"), x->json.data, x->json.len);
  expect_refused(x, PROV_ESIGNATURE);
  /* a CSR carrying somebody else's public key (copied from their cert) */
  spki_of(x, "a.key", s.from, &s.len);
  size_t n;
  spki_of(x, "victim.key", s.to, &n);
  assert_int_equal(n, s.len);
  fx_request_json("SN1", key, x->token, NULL, &x->json);
  edit_csr(x, swap_key, &s);
  send_json(x, REQ("SN1"), x->json.data, x->json.len);
  expect_refused(x, PROV_ESIGNATURE);
  /* garbage in the CSR field */
  const char *junk =
      "{\"v\":1,\"serial\":\"SN1\",\"nonce\":\"0123456789abcdef\",\"agent_version\":\"t\","
      "\"csr_pem\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE "
      "REQUEST-----\\n\"}";
  send_json(x, REQ("SN1"), junk, strlen(junk));
  expect_refused(x, PROV_ECSR);
  /* none of these spent the token */
  ask(x, "SN1", "a.key", x->token);
  expect_issued(x, "store-001", "SN1", "a.key");
}

static void test_bad_messages(void **state) {
  t *x = *state;
  prov_err err = {0};
  send_json(x, REQ("SN1"), "not json", 8);
  expect_refused(x, PROV_EMSG);
  assert_string_equal(x->p.serial, "SN1");
  assert_string_equal(x->p.nonce, "");
  const char *missing =
      "{\"v\":1,\"serial\":\"SN1\",\"nonce\":\"0123456789abcdef\",\"agent_version\":\"t\"}";
  send_json(x, REQ("SN1"), missing, strlen(missing));
  expect_refused(x, PROV_EMSG);
  assert_non_null(strstr(x->p.detail, "csr_pem"));
  assert_string_equal(x->p.nonce, "0123456789abcdef");
  /* not a request topic: nothing to answer */
  assert_int_equal(
      prov_handle_request(x->f.srv, PROV_TOPIC_PREFIX "SN1/response", "{}", 2, &x->r, &err),
      PROV_EINVAL);
  assert_false(x->r.send);
  assert_int_equal(
      prov_handle_request(x->f.srv, "retail/v1/stores/s/up/events", "{}", 2, &x->r, &err),
      PROV_EINVAL);
}

static void test_rate_limit(void **state) {
  t *x = *state;
  for (int i = 0; i < 20; i++) {
    send_json(x, REQ("SN1"), "{}", 2);
    expect_refused(x, PROV_EMSG);
  }
  send_json(x, REQ("SN1"), "{}", 2);
  expect_refused(x, PROV_ERATE);
  assert_int_equal(x->p.retry_after_s, 60);
  /* another serial is not affected; the window passes */
  send_json(x, REQ("SN2"), "{}", 2);
  expect_refused(x, PROV_EMSG);
  x->f.clock.offset_ms = 61 * 1000;
  send_json(x, REQ("SN1"), "{}", 2);
  expect_refused(x, PROV_EMSG);
}

static void test_reserved_store_ids(void **state) {
  t *x = *state;
  prov_err err = {0};
  assert_int_equal(prov_assign(x->f.srv, "SN1", PROV_HQ_IDENTITY, &x->r, &err), PROV_EINVAL);
  assert_int_equal(prov_assign(x->f.srv, "SN1", PROV_CLAIM_IDENTITY, &x->r, &err), PROV_EINVAL);
  assert_int_equal(prov_assign(x->f.srv, "SN1", "store/1", &x->r, &err), PROV_EINVAL);
  assert_int_equal(prov_assign(x->f.srv, "SN 1", "store-1", &x->r, &err), PROV_EINVAL);
}

static int count_devices(void *ctx, const prov_device *d) {
  ++*(int *)ctx;
  return 0;
}

static void test_register_csv(void **state) {
  t *x = *state;
  char path[FX_PATH];
  int n = 0, listed = 0;
  prov_err err = {0};
  fx_path(&x->f, path, sizeof path, "devices.csv");
  FILE *f = fopen(path, "w");
  fputs(
      "serial,store_id\n# the first three stores\nSN1, "
      "store-001\n\nSN2,store-002\r\nSN3,store-003\n",
      f);
  fclose(f);
  assert_int_equal(prov_server_register_csv(x->f.srv, path, NULL, NULL, &n, &err), PROV_OK);
  assert_int_equal(n, 3);
  assert_int_equal(
      prov_registry_devices(prov_server_registry(x->f.srv), count_devices, &listed, &err), 0);
  assert_int_equal(listed, 3);
  prov_device d;
  assert_int_equal(prov_registry_device(prov_server_registry(x->f.srv), "SN2", &d, &err), PROV_OK);
  assert_string_equal(d.store_id, "store-002");
  f = fopen(path, "w");
  fputs("SN4,store-004\nSN5 store-005\n", f);
  fclose(f);
  assert_int_equal(prov_server_register_csv(x->f.srv, path, NULL, NULL, &n, &err), PROV_EINVAL);
  assert_int_equal(n, 1);
  assert_non_null(strstr(err.msg, ":2:"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_issued_when_registered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_is_safe, setup, teardown),
      cmocka_unit_test_setup_teardown(test_renewal_same_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_then_assigned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_new_key_supersedes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revoked_key_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reused_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expired_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_token_of_another_serial, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_or_missing_token, setup, teardown),
      cmocka_unit_test_setup_teardown(test_csr_for_another_serial, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered_csr, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserved_store_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_register_csv, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
