/* util.c - small crypto helpers shared by the library: the DRBG, error text,
 * hex, SHA-256, SPKI, the key policy, time strings, PEM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>

#include "proto/codec.h"
#include "prov_int.h"

int prov__rng_init(prov__rng *r, const char *personal, prov_err *err) {
  mbedtls_entropy_init(&r->entropy);
  mbedtls_ctr_drbg_init(&r->drbg);
  r->ready = true;
  int rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                 (const unsigned char *)personal, strlen(personal));
  return rc ? prov__mbed_err(err, PROV_ECRYPTO, rc, "seeding the random generator") : PROV_OK;
}

void prov__rng_free(prov__rng *r) {
  if (!r->ready) return;
  mbedtls_ctr_drbg_free(&r->drbg);
  mbedtls_entropy_free(&r->entropy);
  r->ready = false;
}

int prov__rng_fn(void *ctx, unsigned char *out, size_t n) {
  return mbedtls_ctr_drbg_random(&((prov__rng *)ctx)->drbg, out, n);
}

int prov__random(prov__rng *r, void *out, size_t n, prov_err *err) {
  int rc = mbedtls_ctr_drbg_random(&r->drbg, out, n);
  return rc ? prov__mbed_err(err, PROV_ECRYPTO, rc, "random bytes") : PROV_OK;
}

int prov__mbed_err(prov_err *err, int code, int mbed_rc, const char *what) {
  char text[128];
  mbedtls_strerror(mbed_rc, text, sizeof text);
  return prov_err_set(err, code, "%s: %s (-0x%04x)", what, text, (unsigned)-mbed_rc);
}

void prov__hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

int prov__sha256_hex(const void *p, size_t n, char out[65]) {
  unsigned char h[32];
  if (mbedtls_sha256_ret(p, n, h, 0) != 0) return PROV_ECRYPTO;
  prov__hex(h, sizeof h, out);
  return PROV_OK;
}

int prov__spki(mbedtls_pk_context *pk, unsigned char *buf, size_t cap, const unsigned char **der,
               size_t *len, prov_err *err) {
  int n = mbedtls_pk_write_pubkey_der(pk, buf, cap);
  if (n <= 0) return prov__mbed_err(err, PROV_ECRYPTO, n ? n : -1, "public key DER");
  /* the writer fills the buffer from its end */
  *der = buf + cap - (size_t)n;
  *len = (size_t)n;
  return PROV_OK;
}

int prov__key_policy(const mbedtls_pk_context *pk, const char *what, prov_err *err) {
  if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
    return prov_err_set(err, PROV_ECSR, "%s: key is not an EC key (ECDSA P-256 required)", what);
  if (mbedtls_pk_ec(*pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
    return prov_err_set(err, PROV_ECSR, "%s: EC key is not on P-256", what);
  return PROV_OK;
}

int prov__time_str(int64_t s, char out[15]) {
  struct tm tm;
  time_t t = (time_t)s;
  if (s < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1000)
    return PROV_EINVAL;
  return strftime(out, 15, "%Y%m%d%H%M%S", &tm) == 14 ? PROV_OK : PROV_EINVAL;
}

int64_t prov__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int prov__pem(const char *label, const unsigned char *der, size_t len, proto_buf *out,
              prov_err *err) {
  char head[64], foot[64];
  size_t cap = len * 4 / 3 + len / 48 + 128, olen = 0;
  int rc = PROV_OK;
  snprintf(head, sizeof head, "-----BEGIN %s-----\n", label);
  snprintf(foot, sizeof foot, "-----END %s-----\n", label);
  proto_buf_reset(out);
  unsigned char *tmp = malloc(cap);
  if (!tmp) return prov_err_set(err, PROV_ENOMEM, "PEM %s", label);
  int mrc = mbedtls_pem_write_buffer(head, foot, der, len, tmp, cap, &olen);
  if (mrc) rc = prov__mbed_err(err, PROV_ECRYPTO, mrc, "PEM writer");
  /* olen counts the NUL */
  else if (proto_buf_append(out, (const char *)tmp, olen ? olen - 1 : 0) != 0)
    rc = prov_err_set(err, PROV_ENOMEM, "PEM %s", label);
  free(tmp);
  return rc;
}

bool prov__id_ok(const char *s) { return s && proto_id_valid(s); }

int prov__name_get(const mbedtls_x509_name *n, const char *oid, size_t oid_len, char *out,
                   size_t cap) {
  out[0] = '\0';
  for (; n; n = n->next) {
    if (n->oid.len != oid_len || memcmp(n->oid.p, oid, oid_len) != 0) continue;
    if (n->val.len >= cap || memchr(n->val.p, 0, n->val.len)) return PROV_EINVAL;
    memcpy(out, n->val.p, n->val.len);
    out[n->val.len] = '\0';
    return prov__id_ok(out) ? PROV_OK : PROV_EINVAL;
  }
  return PROV_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): timegm() is not POSIX. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t prov__x509_time_s(const mbedtls_x509_time *t) {
  return days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

unsigned char *prov__dupz(const char *p, size_t n) {
  unsigned char *c = malloc(n + 1);
  if (!c) return NULL;
  memcpy(c, p, n);
  c[n] = '\0';
  return c;
}
