/* csr.c - CSR checks on HQ's side.
 *
 * mbedTLS 2.28's mbedtls_x509_csr_parse() reads the signature but never
 * checks it.  Without the check below, anyone could send a CSR carrying a
 * public key whose private key they do not hold (e.g. another box's, copied
 * from its certificate) and get it certified.  So: hash the raw
 * CertificationRequestInfo (csr.cri, DER as received) with the CSR's own
 * digest and verify the signature with the CSR's own public key.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_csr.h>

#include "prov/x509.h"
#include "prov_int.h"

static int verify_signature(mbedtls_x509_csr *csr, prov_err *err) {
  unsigned char hash[MBEDTLS_MD_MAX_SIZE];
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(csr->sig_md);
  if (csr->sig_pk != MBEDTLS_PK_ECDSA || csr->sig_md != MBEDTLS_MD_SHA256 || !md)
    return prov_err_set(err, PROV_ECSR, "CSR: signature algorithm is not ECDSA-SHA256");
  if (mbedtls_md(md, csr->cri.p, csr->cri.len, hash) != 0)
    return prov_err_set(err, PROV_ECRYPTO, "CSR: hashing the request info");
  int mrc = mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk, csr->sig_md, hash,
                                  mbedtls_md_get_size(md), csr->sig.p, csr->sig.len);
  if (mrc) return prov__mbed_err(err, PROV_ESIGNATURE, mrc, "CSR signature does not verify");
  return PROV_OK;
}

int prov_csr_check(const char *pem, size_t len, prov_csr_info *out, prov_err *err) {
  mbedtls_x509_csr csr;
  const unsigned char *der;
  int rc = PROV_OK;
  memset(out, 0, sizeof *out);
  if (len > PROV_PEM_MAX) return prov_err_set(err, PROV_ECSR, "CSR: over %d bytes", PROV_PEM_MAX);
  unsigned char *z = prov__dupz(pem, len);
  if (!z) return prov_err_set(err, PROV_ENOMEM, "CSR");
  mbedtls_x509_csr_init(&csr);
  int mrc = mbedtls_x509_csr_parse(&csr, z, len + 1);
  if (mrc) {
    rc = prov__mbed_err(err, PROV_ECSR, mrc, "CSR does not parse");
    goto done;
  }
  if ((rc = prov__key_policy(&csr.pk, "CSR", err)) != PROV_OK) goto done;
  if ((rc = verify_signature(&csr, err)) != PROV_OK) goto done;
  if (prov__name_get(&csr.subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), out->cn,
                     sizeof out->cn) != PROV_OK ||
      !out->cn[0]) {
    rc = prov_err_set(err, PROV_ECSR, "CSR: subject CN missing or not an id");
    goto done;
  }
  if ((rc = prov__spki(&csr.pk, out->spki, sizeof out->spki, &der, &out->spki_len, err)) != PROV_OK)
    goto done;
  memmove(out->spki, der, out->spki_len);
  rc = prov__sha256_hex(out->spki, out->spki_len, out->key_hash);
done:
  if (rc != PROV_OK) memset(out, 0, sizeof *out);
  mbedtls_x509_csr_free(&csr);
  free(z);
  return rc;
}
