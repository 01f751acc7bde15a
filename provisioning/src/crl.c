/* crl.c - the certificate revocation list, built by hand: mbedTLS 2.28 can
 * parse CRLs but not write them.
 *
 *   CertificateList ::= SEQUENCE {
 *     tbsCertList          TBSCertList,
 *     signatureAlgorithm   AlgorithmIdentifier,   ecdsa-with-SHA256, no parameters
 *     signatureValue       BIT STRING }           DER ECDSA-Sig-Value
 *   TBSCertList ::= SEQUENCE {
 *     version              INTEGER 1 (v2: we carry an extension),
 *     signature            AlgorithmIdentifier,
 *     issuer               Name                   the CA certificate's subject, byte for byte
 *     thisUpdate           Time,
 *     nextUpdate           Time,
 *     revokedCertificates  SEQUENCE OF SEQUENCE { serial INTEGER, revocationDate Time }
 *                                                 (left out when empty, as RFC 5280 asks)
 *     crlExtensions    [0] EXPLICIT Extensions    cRLNumber }
 *   Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
 *
 * mbedtls_asn1_write_* write backwards from the end of a buffer, so each
 * SEQUENCE is written contents-last-to-first, then its length and tag.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>

#include "ca_int.h"

#define ENTRY_MAX 64  /* bytes of one revoked entry, generously */
#define FIXED_MAX 768 /* everything but the entries and the issuer */

/* MBEDTLS_ASN1_CHK_ADD needs a variable named ret in scope. */
#define SEQ(len, p, start)                                                                \
  do {                                                                                    \
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, (size_t)(len)));           \
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | \
                                                                   MBEDTLS_ASN1_SEQUENCE)); \
  } while (0)

static int write_time(unsigned char **p, unsigned char *start, int64_t s) {
  char t[16];
  if (prov__time_str(s, t) != PROV_OK) return MBEDTLS_ERR_ASN1_INVALID_DATA;
  strcat(t, "Z");
  if (strncmp(t, "2050", 4) < 0 && strncmp(t, "1950", 4) >= 0)
    return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_UTC_TIME, t + 2, 13);
  return mbedtls_asn1_write_tagged_string(p, start, MBEDTLS_ASN1_GENERALIZED_TIME, t, 15);
}

/* AlgorithmIdentifier ecdsa-with-SHA256: the parameters are absent, not NULL
 * (RFC 5758 3.2). */
static int write_sig_alg(unsigned char **p, unsigned char *start) {
  int len = 0, ret;
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_ECDSA_SHA256,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256)));
  SEQ(len, p, start);
  return len;
}

static int write_hex_int(unsigned char **p, unsigned char *start, const char *hex) {
  mbedtls_mpi x;
  mbedtls_mpi_init(&x);
  int ret = mbedtls_mpi_read_string(&x, 16, hex);
  if (ret == 0) ret = mbedtls_asn1_write_mpi(p, start, &x);
  mbedtls_mpi_free(&x);
  return ret;
}

static int write_u64(unsigned char **p, unsigned char *start, uint64_t v) {
  mbedtls_mpi x;
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (56 - 8 * i));
  mbedtls_mpi_init(&x);
  int ret = mbedtls_mpi_read_binary(&x, b, sizeof b);
  if (ret == 0) ret = mbedtls_asn1_write_mpi(p, start, &x);
  mbedtls_mpi_free(&x);
  return ret;
}

/* [0] EXPLICIT Extensions { Extension { cRLNumber, OCTET STRING { INTEGER } } } */
static int write_extensions(unsigned char **p, unsigned char *start, uint64_t number) {
  int len = 0, ret, inner = 0;
  MBEDTLS_ASN1_CHK_ADD(inner, write_u64(p, start, number));
  MBEDTLS_ASN1_CHK_ADD(inner, mbedtls_asn1_write_len(p, start, (size_t)inner));
  MBEDTLS_ASN1_CHK_ADD(inner, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_OCTET_STRING));
  MBEDTLS_ASN1_CHK_ADD(inner, mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_CRL_NUMBER,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER)));
  SEQ(inner, p, start);
  len = inner;
  SEQ(len, p, start);
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, (size_t)len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                                                 MBEDTLS_ASN1_CONSTRUCTED | 0));
  return len;
}

static int write_revoked(unsigned char **p, unsigned char *start, const prov_crl_entry *list,
                         size_t n) {
  int len = 0, ret;
  if (n == 0) return 0;
  for (size_t i = n; i-- > 0;) {
    int e = 0;
    MBEDTLS_ASN1_CHK_ADD(e, write_time(p, start, list[i].revoked_s));
    MBEDTLS_ASN1_CHK_ADD(e, write_hex_int(p, start, list[i].cert_serial));
    SEQ(e, p, start);
    len += e;
  }
  SEQ(len, p, start);
  return len;
}

static int write_tbs(const prov_ca *ca, unsigned char **p, unsigned char *start,
                     const prov_crl_entry *list, size_t n, int64_t this_s, int64_t next_s,
                     uint64_t number) {
  int len = 0, ret;
  MBEDTLS_ASN1_CHK_ADD(len, write_extensions(p, start, number));
  MBEDTLS_ASN1_CHK_ADD(len, write_revoked(p, start, list, n));
  MBEDTLS_ASN1_CHK_ADD(len, write_time(p, start, next_s));
  MBEDTLS_ASN1_CHK_ADD(len, write_time(p, start, this_s));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, ca->crt.subject_raw.p,
                                                          ca->crt.subject_raw.len));
  MBEDTLS_ASN1_CHK_ADD(len, write_sig_alg(p, start));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 1));
  SEQ(len, p, start);
  return len;
}

/* CertificateList around a written tbs: sign it, then write (backwards)
 * signatureValue, signatureAlgorithm, the tbs and the outer SEQUENCE. */
static int write_signed(prov_ca *ca, const unsigned char *tbs, size_t tbs_len, unsigned char **p,
                        unsigned char *start) {
  unsigned char hash[32], sig[MBEDTLS_ECDSA_MAX_LEN];
  size_t sig_len = 0;
  int len = 0, ret;
  if ((ret = mbedtls_sha256_ret(tbs, tbs_len, hash, 0)) != 0) return ret;
  if ((ret = mbedtls_pk_sign(&ca->key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len,
                             prov__rng_fn, &ca->rng)) != 0)
    return ret;
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bitstring(p, start, sig, sig_len * 8));
  MBEDTLS_ASN1_CHK_ADD(len, write_sig_alg(p, start));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, tbs, tbs_len));
  SEQ(len, p, start);
  return len;
}

int prov_ca_crl(prov_ca *ca, const prov_crl_entry *list, size_t n, int64_t this_update_s,
                int64_t next_update_s, uint64_t number, proto_buf *pem, prov_err *err) {
  size_t cap = FIXED_MAX + ca->crt.subject_raw.len + n * ENTRY_MAX;
  unsigned char *tbs_buf = NULL, *out_buf = NULL, *p;
  int rc = PROV_OK, len;
  proto_buf_reset(pem);
  if (next_update_s <= this_update_s)
    return prov_err_set(err, PROV_EINVAL, "CRL: nextUpdate must be after thisUpdate");
  for (size_t i = 0; i < n; i++)
    if (!list[i].cert_serial[0] || strspn(list[i].cert_serial, "0123456789abcdefABCDEF") !=
                                       strlen(list[i].cert_serial))
      return prov_err_set(err, PROV_EINVAL, "CRL entry %zu: serial is not hex", i);
  if (!(tbs_buf = malloc(cap)) || !(out_buf = malloc(cap + 256))) {
    rc = prov_err_set(err, PROV_ENOMEM, "CRL of %zu entries", n);
    goto done;
  }
  p = tbs_buf + cap;
  len = write_tbs(ca, &p, tbs_buf, list, n, this_update_s, next_update_s, number);
  if (len < 0) {
    rc = prov__mbed_err(err, PROV_ECRYPTO, len, "CRL: writing the list");
    goto done;
  }
  const unsigned char *tbs = p;
  p = out_buf + cap + 256;
  len = write_signed(ca, tbs, (size_t)len, &p, out_buf);
  if (len < 0) {
    rc = prov__mbed_err(err, PROV_ECRYPTO, len, "CRL: signing");
    goto done;
  }
  rc = prov__pem("X509 CRL", p, (size_t)len, pem, err);
done:
  free(tbs_buf);
  free(out_buf);
  return rc;
}
