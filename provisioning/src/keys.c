/* keys.c - P-256 key generation (on the machine that will use the key),
 * key hashes, and CSRs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_csr.h>

#include "prov/file.h"
#include "prov/x509.h"
#include "prov_int.h"

#define KEY_PEM_CAP 1024
#define CSR_PEM_CAP 2048

int prov_key_generate(const char *path, prov_err *err) {
  mbedtls_pk_context pk;
  prov__rng rng = {0};
  unsigned char pem[KEY_PEM_CAP];
  struct stat st;
  int rc, mrc;
  if (stat(path, &st) == 0)
    return prov_err_set(err, PROV_EEXISTS, "%s: key exists; not replaced", path);
  mbedtls_pk_init(&pk);
  if ((rc = prov__rng_init(&rng, "prov-key", err)) != PROV_OK) goto done;
  if ((mrc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
      (mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), prov__rng_fn,
                                 &rng)) != 0 ||
      (mrc = mbedtls_pk_write_key_pem(&pk, pem, sizeof pem)) != 0) {
    rc = prov__mbed_err(err, PROV_ECRYPTO, mrc, "generating a P-256 key");
    goto done;
  }
  rc = prov_file_write(path, pem, strlen((char *)pem), 0600, err);
done:
  mbedtls_platform_zeroize(pem, sizeof pem);
  mbedtls_pk_free(&pk);
  prov__rng_free(&rng);
  return rc;
}

/* Parse a private key file and apply the key policy. */
static int load_key(mbedtls_pk_context *pk, const char *keyfile, prov_err *err) {
  if (access(keyfile, R_OK) != 0)
    return prov_err_set(err, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s: %s", keyfile,
                        strerror(errno));
  int mrc = mbedtls_pk_parse_keyfile(pk, keyfile, NULL);
  if (mrc) {
    char what[300];
    snprintf(what, sizeof what, "private key %s", keyfile);
    return prov__mbed_err(err, PROV_ECRYPTO, mrc, what);
  }
  return prov__key_policy(pk, keyfile, err);
}

int prov_key_hash(const char *keyfile, char out[PROV_HASH_HEX], prov_err *err) {
  mbedtls_pk_context pk;
  unsigned char buf[PROV_SPKI_MAX];
  const unsigned char *der;
  size_t len;
  mbedtls_pk_init(&pk);
  int rc = load_key(&pk, keyfile, err);
  if (rc == PROV_OK) rc = prov__spki(&pk, buf, sizeof buf, &der, &len, err);
  if (rc == PROV_OK) rc = prov__sha256_hex(der, len, out);
  mbedtls_pk_free(&pk);
  return rc;
}

int prov_csr_make(const char *keyfile, const char *serial, proto_buf *pem, prov_err *err) {
  mbedtls_pk_context pk;
  mbedtls_x509write_csr w;
  prov__rng rng = {0};
  unsigned char buf[CSR_PEM_CAP];
  char subject[2 * PROTO_ID_MAX + 32];
  int rc, mrc;
  proto_buf_reset(pem);
  if (!prov__id_ok(serial)) return prov_err_set(err, PROV_EINVAL, "serial: not an id");
  mbedtls_pk_init(&pk);
  mbedtls_x509write_csr_init(&w);
  if ((rc = load_key(&pk, keyfile, err)) != PROV_OK) goto done;
  if ((rc = prov__rng_init(&rng, "prov-csr", err)) != PROV_OK) goto done;
  snprintf(subject, sizeof subject, "CN=%s,serialNumber=%s", serial, serial);
  mbedtls_x509write_csr_set_key(&w, &pk);
  mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
  if ((mrc = mbedtls_x509write_csr_set_subject_name(&w, subject)) != 0 ||
      (mrc = mbedtls_x509write_csr_pem(&w, buf, sizeof buf, prov__rng_fn, &rng)) != 0) {
    rc = prov__mbed_err(err, PROV_ECRYPTO, mrc, "writing the CSR");
    goto done;
  }
  if (proto_buf_puts(pem, (const char *)buf) != 0) rc = prov_err_set(err, PROV_ENOMEM, "CSR");
done:
  mbedtls_x509write_csr_free(&w);
  mbedtls_pk_free(&pk);
  prov__rng_free(&rng);
  return rc;
}
