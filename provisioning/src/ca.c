/* ca.c - the fleet CA: create, open, issue (see prov/ca.h).
 *
 * Everything a certificate carries is written by one function, write_cert(),
 * for the CA's own self-signed certificate and for every issued one, so the
 * two cannot disagree on the issuer name, the algorithms or the extensions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "ca_int.h"
#include "prov/file.h"

#define CERT_PEM_CAP 4096
#define EXT_CAP 512
#define SERIAL_BYTES 16

typedef struct cert_spec {
  const char *subject, *issuer;
  mbedtls_pk_context *subject_key, *issuer_key;
  bool is_ca;
  unsigned uses;
  const char *const *san;
  size_t n_san;
  int64_t not_before_s, not_after_s;
} cert_spec;

/* extendedKeyUsage value: SEQUENCE OF KeyPurposeId. */
static int eku_der(unsigned uses, unsigned char *buf, size_t cap, unsigned char **p) {
  int len = 0, ret; /* ret: MBEDTLS_ASN1_CHK_ADD's */
  *p = buf + cap;
  if (uses & PROV_USE_CLIENT)
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, buf, MBEDTLS_OID_CLIENT_AUTH,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
  if (uses & PROV_USE_SERVER)
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, buf, MBEDTLS_OID_SERVER_AUTH,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, (size_t)len));
  MBEDTLS_ASN1_CHK_ADD(
      len, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
  return len;
}

/* subjectAltName value: SEQUENCE OF GeneralName, each an iPAddress [7]
 * (4 or 16 bytes) when the text is an IP literal, else a dNSName [2]. */
static int san_der(const char *const *san, size_t n, unsigned char *buf, size_t cap,
                   unsigned char **p) {
  int len = 0, ret;
  *p = buf + cap;
  for (size_t i = n; i-- > 0;) {
    unsigned char ip[16];
    int tag, k = 0;
    const unsigned char *v = (const unsigned char *)san[i];
    size_t vlen = strlen(san[i]);
    if (inet_pton(AF_INET, san[i], ip) == 1) v = ip, vlen = 4, tag = 7;
    else if (inet_pton(AF_INET6, san[i], ip) == 1) v = ip, vlen = 16, tag = 7;
    else tag = 2;
    MBEDTLS_ASN1_CHK_ADD(k, mbedtls_asn1_write_raw_buffer(p, buf, v, vlen));
    MBEDTLS_ASN1_CHK_ADD(k, mbedtls_asn1_write_len(p, buf, vlen));
    MBEDTLS_ASN1_CHK_ADD(
        k, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | (unsigned char)tag));
    len += k;
  }
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, (size_t)len));
  MBEDTLS_ASN1_CHK_ADD(
      len, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
  return len;
}

static int extensions(mbedtls_x509write_cert *w, const cert_spec *s) {
  unsigned char buf[EXT_CAP], *p;
  int rc, n;
  unsigned ku = s->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                         : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  if ((rc = mbedtls_x509write_crt_set_basic_constraints(w, s->is_ca, s->is_ca ? 0 : -1)) != 0 ||
      (rc = mbedtls_x509write_crt_set_key_usage(w, ku)) != 0 ||
      (rc = mbedtls_x509write_crt_set_subject_key_identifier(w)) != 0 ||
      (rc = mbedtls_x509write_crt_set_authority_key_identifier(w)) != 0)
    return rc;
  if (s->uses) {
    if ((n = eku_der(s->uses, buf, sizeof buf, &p)) < 0) return n;
    rc = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, p,
                                             (size_t)n);
    if (rc) return rc;
  }
  if (s->n_san) {
    if ((n = san_der(s->san, s->n_san, buf, sizeof buf, &p)) < 0) return n;
    rc = mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p,
                                             (size_t)n);
  }
  return rc;
}

/* Write the certificate of spec into pem (reset first). */
static int write_cert(const cert_spec *s, prov__rng *rng, proto_buf *pem, prov_err *err) {
  mbedtls_x509write_cert w;
  mbedtls_mpi serial;
  unsigned char sb[SERIAL_BYTES], *out = NULL;
  char nb[15], na[15];
  int rc = PROV_OK, mrc = 0;
  proto_buf_reset(pem);
  if (prov__time_str(s->not_before_s, nb) != PROV_OK ||
      prov__time_str(s->not_after_s, na) != PROV_OK || s->not_after_s <= s->not_before_s)
    return prov_err_set(err, PROV_EINVAL, "validity: not_before %lld / not_after %lld",
                        (long long)s->not_before_s, (long long)s->not_after_s);
  mbedtls_x509write_crt_init(&w);
  mbedtls_mpi_init(&serial);
  if ((rc = prov__random(rng, sb, sizeof sb, err)) != PROV_OK) goto done;
  sb[0] &= 0x7f; /* positive, and never a leading zero byte: always 16 bytes */
  if (sb[0] == 0) sb[0] = 1;
  if (!(out = malloc(CERT_PEM_CAP))) {
    rc = prov_err_set(err, PROV_ENOMEM, "certificate");
    goto done;
  }
  mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w, s->subject_key);
  mbedtls_x509write_crt_set_issuer_key(&w, s->issuer_key);
  if ((mrc = mbedtls_mpi_read_binary(&serial, sb, sizeof sb)) != 0 ||
      (mrc = mbedtls_x509write_crt_set_serial(&w, &serial)) != 0 ||
      (mrc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0 ||
      (mrc = mbedtls_x509write_crt_set_subject_name(&w, s->subject)) != 0 ||
      (mrc = mbedtls_x509write_crt_set_issuer_name(&w, s->issuer)) != 0 ||
      (mrc = extensions(&w, s)) != 0 ||
      (mrc = mbedtls_x509write_crt_pem(&w, out, CERT_PEM_CAP, prov__rng_fn, rng)) != 0) {
    rc = prov__mbed_err(err, PROV_ECRYPTO, mrc, "writing the certificate");
    goto done;
  }
  if (proto_buf_puts(pem, (const char *)out) != 0)
    rc = prov_err_set(err, PROV_ENOMEM, "certificate");
done:
  free(out);
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&w);
  return rc;
}

static bool ca_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= PROV_CA_NAME_MAX) return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          strchr(" _.:-", *c)))
      return false;
  return name[0] != ' ' && name[n - 1] != ' ';
}

static void ca_path(char *buf, size_t cap, const char *dir, const char *file) {
  snprintf(buf, cap, "%s/%s", dir, file);
}

int prov_ca_create(const char *dir, const char *name, int64_t not_before_s, int64_t days,
                   prov_err *err) {
  char keyp[4096], crtp[4096], subject[PROV_CA_NAME_MAX + 8];
  mbedtls_pk_context key;
  prov__rng rng = {0};
  proto_buf pem;
  struct stat st;
  int rc;
  if (!ca_name_ok(name)) return prov_err_set(err, PROV_EINVAL, "CA name: [A-Za-z0-9 _.:-]{1,63}");
  if (days < 1 || days > 36500) return prov_err_set(err, PROV_EINVAL, "CA days: 1..36500");
  ca_path(keyp, sizeof keyp, dir, PROV_CA_KEY_FILE);
  ca_path(crtp, sizeof crtp, dir, PROV_CA_CERT_FILE);
  if (stat(keyp, &st) == 0)
    return prov_err_set(err, PROV_EEXISTS, "%s exists: a CA is never replaced", keyp);
  if ((rc = prov_dir_ensure(dir, 0700, err)) != PROV_OK) return rc;
  if ((rc = prov_key_generate(keyp, err)) != PROV_OK) return rc;
  mbedtls_pk_init(&key);
  proto_buf_init(&pem);
  snprintf(subject, sizeof subject, "CN=%s", name);
  int mrc = mbedtls_pk_parse_keyfile(&key, keyp, NULL);
  if (mrc) rc = prov__mbed_err(err, PROV_ECRYPTO, mrc, keyp);
  if (rc == PROV_OK) rc = prov__rng_init(&rng, "prov-ca", err);
  if (rc == PROV_OK) {
    cert_spec s = {subject, subject, &key, &key, true, 0, NULL, 0, not_before_s,
                   not_before_s + days * 86400};
    rc = write_cert(&s, &rng, &pem, err);
  }
  if (rc == PROV_OK) rc = prov_file_write(crtp, pem.data, pem.len, 0644, err);
  /* no half CA: without its certificate the key is useless and would block a retry */
  if (rc != PROV_OK) unlink(keyp);
  proto_buf_close(&pem);
  mbedtls_pk_free(&key);
  prov__rng_free(&rng);
  return rc;
}

void prov_ca_close(prov_ca *ca) {
  if (!ca) return;
  mbedtls_pk_free(&ca->key);
  mbedtls_x509_crt_free(&ca->crt);
  proto_buf_close(&ca->pem);
  prov__rng_free(&ca->rng);
  free(ca);
}

static int load_cert(prov_ca *ca, const char *crtp, prov_err *err) {
  int rc = prov_file_read(crtp, PROV_PEM_MAX, &ca->pem, err);
  if (rc != PROV_OK) return rc;
  int mrc = mbedtls_x509_crt_parse(&ca->crt, (const unsigned char *)ca->pem.data, ca->pem.len + 1);
  if (mrc) return prov__mbed_err(err, PROV_ECONFIG, mrc, crtp);
  char dn[sizeof ca->subject];
  if (mbedtls_x509_dn_gets(dn, sizeof dn, &ca->crt.subject) < 0 || strncmp(dn, "CN=", 3) != 0 ||
      !ca_name_ok(dn + 3))
    return prov_err_set(err, PROV_ECONFIG, "%s: subject is not CN=<name>", crtp);
  memcpy(ca->subject, dn, sizeof dn);
  return PROV_OK;
}

int prov_ca_open(prov_ca **out, const char *dir, prov_err *err) {
  char keyp[4096], crtp[4096];
  struct stat st;
  int rc = PROV_OK, mrc;
  *out = NULL;
  ca_path(keyp, sizeof keyp, dir, PROV_CA_KEY_FILE);
  ca_path(crtp, sizeof crtp, dir, PROV_CA_CERT_FILE);
  if (stat(keyp, &st) != 0)
    return prov_err_set(err, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s: %s", keyp,
                        strerror(errno));
  if (st.st_mode & 077)
    return prov_err_set(err, PROV_ECONFIG, "%s: mode %03o; the CA key must be 0600", keyp,
                        (unsigned)(st.st_mode & 0777));
  prov_ca *ca = calloc(1, sizeof *ca);
  if (!ca) return prov_err_set(err, PROV_ENOMEM, "CA");
  mbedtls_pk_init(&ca->key);
  mbedtls_x509_crt_init(&ca->crt);
  proto_buf_init(&ca->pem);
  if ((mrc = mbedtls_pk_parse_keyfile(&ca->key, keyp, NULL)) != 0) {
    rc = prov__mbed_err(err, PROV_ECONFIG, mrc, keyp);
    goto done;
  }
  if ((rc = load_cert(ca, crtp, err)) != PROV_OK) goto done;
  if (mbedtls_pk_check_pair(&ca->crt.pk, &ca->key) != 0) {
    rc = prov_err_set(err, PROV_ECONFIG, "%s does not match %s", keyp, crtp);
    goto done;
  }
  rc = prov__rng_init(&ca->rng, "prov-ca", err);
done:
  if (rc != PROV_OK) prov_ca_close(ca);
  else *out = ca;
  return rc;
}

const char *prov_ca_cert_pem(const prov_ca *ca, size_t *len) {
  if (len) *len = ca->pem.len;
  return ca->pem.data;
}

static int check_req(const prov_cert_req *r, char *subject, size_t cap, prov_err *err) {
  if (!prov__id_ok(r->cn)) return prov_err_set(err, PROV_EINVAL, "cn: not an id");
  if (r->device_serial && !prov__id_ok(r->device_serial))
    return prov_err_set(err, PROV_EINVAL, "device_serial: not an id");
  if (r->n_san > PROV_SAN_MAX)
    return prov_err_set(err, PROV_EINVAL, "san: more than %d", PROV_SAN_MAX);
  for (size_t i = 0; i < r->n_san; i++)
    if (!r->san[i] || !r->san[i][0] || strlen(r->san[i]) > 253 || strpbrk(r->san[i], " ,/\\"))
      return prov_err_set(err, PROV_EINVAL, "san[%zu]: not a host name or address", i);
  if (!(r->uses & (PROV_USE_CLIENT | PROV_USE_SERVER)))
    return prov_err_set(err, PROV_EINVAL, "uses: client and/or server");
  if (r->device_serial) snprintf(subject, cap, "CN=%s,serialNumber=%s", r->cn, r->device_serial);
  else snprintf(subject, cap, "CN=%s", r->cn);
  return PROV_OK;
}

int prov_ca_issue(prov_ca *ca, const prov_cert_req *req, const unsigned char *spki,
                  size_t spki_len, proto_buf *pem, prov_cert_info *info, prov_err *err) {
  char subject[2 * PROTO_ID_MAX + 32];
  mbedtls_pk_context pub;
  proto_buf_reset(pem);
  int rc = check_req(req, subject, sizeof subject, err);
  if (rc != PROV_OK) return rc;
  mbedtls_pk_init(&pub);
  int mrc = mbedtls_pk_parse_public_key(&pub, spki, spki_len);
  if (mrc) rc = prov__mbed_err(err, PROV_ECSR, mrc, "subject public key");
  if (rc == PROV_OK) rc = prov__key_policy(&pub, "subject public key", err);
  if (rc == PROV_OK) {
    cert_spec s = {subject, ca->subject, &pub, &ca->key, false, req->uses, req->san, req->n_san,
                   req->not_before_s, req->not_after_s};
    rc = write_cert(&s, &ca->rng, pem, err);
  }
  if (rc == PROV_OK && info) rc = prov_cert_info_get(pem->data, pem->len, info, err);
  if (rc != PROV_OK) proto_buf_reset(pem);
  mbedtls_pk_free(&pub);
  return rc;
}
