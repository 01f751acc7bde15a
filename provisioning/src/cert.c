/* cert.c - reading certificate facts and verifying a chain, optionally
 * without the validity dates (a box without a real-time clock). */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "prov/x509.h"
#include "prov_int.h"

/* Parse one PEM certificate (or several: a chain). */
static int parse(mbedtls_x509_crt *crt, const char *pem, size_t len, const char *what,
                 prov_err *err) {
  if (len > PROV_PEM_MAX * 4) return prov_err_set(err, PROV_ECERT, "%s: too large", what);
  unsigned char *z = prov__dupz(pem, len);
  if (!z) return prov_err_set(err, PROV_ENOMEM, "%s", what);
  int mrc = mbedtls_x509_crt_parse(crt, z, len + 1);
  free(z);
  return mrc ? prov__mbed_err(err, PROV_ECERT, mrc, what) : PROV_OK;
}

static void serial_hex(const mbedtls_x509_buf *s, char out[PROV_CERT_SERIAL_MAX]) {
  const unsigned char *p = s->p;
  size_t n = s->len;
  while (n > 1 && *p == 0) p++, n--; /* sign padding */
  if (n > (PROV_CERT_SERIAL_MAX - 1) / 2) n = (PROV_CERT_SERIAL_MAX - 1) / 2;
  prov__hex(p, n, out);
}

int prov_cert_info_get(const char *pem, size_t len, prov_cert_info *out, prov_err *err) {
  mbedtls_x509_crt crt;
  unsigned char buf[PROV_SPKI_MAX];
  const unsigned char *der;
  size_t dlen;
  memset(out, 0, sizeof *out);
  mbedtls_x509_crt_init(&crt);
  int rc = parse(&crt, pem, len, "certificate", err);
  if (rc != PROV_OK) goto done;
  if (prov__name_get(&crt.subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), out->cn,
                     sizeof out->cn) != PROV_OK ||
      prov__name_get(&crt.subject, MBEDTLS_OID_AT_SERIAL_NUMBER,
                     MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_SERIAL_NUMBER), out->device_serial,
                     sizeof out->device_serial) != PROV_OK) {
    rc = prov_err_set(err, PROV_ECERT, "certificate: CN or serialNumber is not an id");
    goto done;
  }
  serial_hex(&crt.serial, out->cert_serial);
  out->not_before_s = prov__x509_time_s(&crt.valid_from);
  out->not_after_s = prov__x509_time_s(&crt.valid_to);
  if ((rc = prov__spki(&crt.pk, buf, sizeof buf, &der, &dlen, err)) == PROV_OK)
    rc = prov__sha256_hex(der, dlen, out->key_hash);
done:
  if (rc != PROV_OK) memset(out, 0, sizeof *out);
  mbedtls_x509_crt_free(&crt);
  return rc;
}

int prov_cert_verify(const char *cert_pem, size_t cert_len, const char *ca_pem, size_t ca_len,
                     bool check_time, prov_err *err) {
  mbedtls_x509_crt crt, ca;
  uint32_t flags = 0;
  const uint32_t time_flags = MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE;
  mbedtls_x509_crt_init(&crt);
  mbedtls_x509_crt_init(&ca);
  int rc = parse(&crt, cert_pem, cert_len, "certificate", err);
  if (rc == PROV_OK) rc = parse(&ca, ca_pem, ca_len, "CA certificate", err);
  if (rc != PROV_OK) goto done;
  int mrc = mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL);
  if (!check_time) flags &= ~time_flags;
  if (flags != 0 || (mrc != 0 && mrc != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)) {
    char why[160] = "";
    if (flags) mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
    why[strcspn(why, "\n")] = '\0';
    rc = prov_err_set(err, PROV_ECERT, "certificate does not chain to the CA: %s",
                      why[0] ? why : "verify error");
  }
done:
  mbedtls_x509_crt_free(&crt);
  mbedtls_x509_crt_free(&ca);
  return rc;
}
