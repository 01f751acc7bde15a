/* crypto.c - keys, manifest signatures and payload hashes, with mbedTLS
 * 2.28 (ECDSA P-256 through the pk layer, SHA-256).
 *
 * Only P-256 keys are accepted, on both sides: a key of another curve or
 * type is FW_EKEY, never "verified with whatever the PEM held".  Signing
 * uses deterministic ECDSA (RFC 6979; Debian builds mbedTLS with
 * MBEDTLS_ECDSA_DETERMINISTIC), the DRBG only blinds.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "fw_int.h"

typedef struct rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} rng;

static int rng_open(rng *r, fw_err *err) {
  static const char pers[] = "storenode-fw";
  mbedtls_entropy_init(&r->entropy);
  mbedtls_ctr_drbg_init(&r->drbg);
  if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                            (const unsigned char *)pers, sizeof pers - 1) != 0)
    return fw_err_set(err, FW_ECRYPTO, "cannot seed the random generator");
  return FW_OK;
}

static void rng_close(rng *r) {
  mbedtls_ctr_drbg_free(&r->drbg);
  mbedtls_entropy_free(&r->entropy);
}

static bool is_p256(mbedtls_pk_context *pk) {
  return mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY &&
         mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

/* Parse a PEM key: private if want_private, else public (or, for the
 * fingerprint, either).  On failure pk is freed. */
static int load_key(mbedtls_pk_context *pk, const char *pem, int want_private, fw_err *err) {
  size_t n = pem ? strlen(pem) + 1 : 0; /* mbedTLS wants the NUL of a PEM */
  int r = -1;
  mbedtls_pk_init(pk);
  if (n > 1 && want_private != 0) r = mbedtls_pk_parse_key(pk, (const unsigned char *)pem, n, NULL, 0);
  if (r != 0 && n > 1 && want_private != 1) {
    mbedtls_pk_free(pk);
    mbedtls_pk_init(pk);
    r = mbedtls_pk_parse_public_key(pk, (const unsigned char *)pem, n);
  }
  if (r != 0) {
    mbedtls_pk_free(pk);
    return fw_err_set(err, FW_EKEY, "not a PEM %s key (mbedTLS -0x%04x)",
                      want_private == 1 ? "private" : "public", (unsigned)-r);
  }
  if (!is_p256(pk)) {
    mbedtls_pk_free(pk);
    return fw_err_set(err, FW_EKEY, "not an ECDSA P-256 key");
  }
  return FW_OK;
}

static int fingerprint(mbedtls_pk_context *pk, char out[17], fw_err *err) {
  unsigned char der[256], h[32];
  int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
  if (n <= 0) return fw_err_set(err, FW_EKEY, "cannot encode the public key");
  mbedtls_sha256_ret(der + sizeof der - n, (size_t)n, h, 0);
  fw__hex(h, 8, out);
  return FW_OK;
}

int fw_key_fingerprint(const char *pem, char out[17], fw_err *err) {
  mbedtls_pk_context pk;
  int rc = load_key(&pk, pem, -1, err);
  if (rc != FW_OK) return rc;
  rc = fingerprint(&pk, out, err);
  mbedtls_pk_free(&pk);
  return rc;
}

int fw_key_generate(proto_buf *priv_pem, proto_buf *pub_pem, fw_err *err) {
  mbedtls_pk_context pk;
  rng r;
  unsigned char buf[1024];
  int rc = rng_open(&r, err);
  mbedtls_pk_init(&pk);
  if (rc == FW_OK && (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
                      mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                                          mbedtls_ctr_drbg_random, &r.drbg) != 0))
    rc = fw_err_set(err, FW_ECRYPTO, "key generation failed");
  if (rc == FW_OK && (mbedtls_pk_write_key_pem(&pk, buf, sizeof buf) != 0 ||
                      proto_buf_puts(priv_pem, (const char *)buf) != PROTO_OK))
    rc = fw_err_set(err, FW_ENOMEM, "cannot write the private key");
  if (rc == FW_OK && (mbedtls_pk_write_pubkey_pem(&pk, buf, sizeof buf) != 0 ||
                      proto_buf_puts(pub_pem, (const char *)buf) != PROTO_OK))
    rc = fw_err_set(err, FW_ENOMEM, "cannot write the public key");
  mbedtls_platform_zeroize(buf, sizeof buf);
  mbedtls_pk_free(&pk);
  rng_close(&r);
  return rc;
}

int fw_manifest_sign(const char *manifest, size_t len, const char *priv_pem,
                     unsigned char sig[FW_SIG_MAX], size_t *sig_len, fw_err *err) {
  mbedtls_pk_context pk;
  rng r;
  unsigned char h[32], out[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t n = 0;
  int rc = load_key(&pk, priv_pem, 1, err);
  if (rc != FW_OK) return rc;
  rc = rng_open(&r, err);
  mbedtls_sha256_ret((const unsigned char *)manifest, len, h, 0);
  if (rc == FW_OK &&
      (mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, h, sizeof h, out, &n, mbedtls_ctr_drbg_random,
                       &r.drbg) != 0 ||
       n > FW_SIG_MAX))
    rc = fw_err_set(err, FW_ECRYPTO, "signing failed");
  if (rc == FW_OK) {
    memcpy(sig, out, n);
    *sig_len = n;
  }
  rng_close(&r);
  mbedtls_pk_free(&pk);
  return rc;
}

int fw_manifest_verify(const char *manifest, size_t len, const unsigned char *sig,
                       size_t sig_len, const char *pub_pem, fw_err *err) {
  mbedtls_pk_context pk;
  unsigned char h[32];
  char fp[17];
  int rc = load_key(&pk, pub_pem, 0, err);
  if (rc != FW_OK) return rc;
  mbedtls_sha256_ret((const unsigned char *)manifest, len, h, 0);
  if (sig_len == 0 || sig_len > FW_SIG_MAX ||
      mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, h, sizeof h, sig, sig_len) != 0) {
    rc = fingerprint(&pk, fp, err);
    if (rc == FW_OK)
      rc = fw_err_set(err, FW_ESIGNATURE,
                      "manifest signature does not verify with the trusted key %s "
                      "(manifest altered, or signed with another key)", fp);
  }
  mbedtls_pk_free(&pk);
  return rc;
}

int fw_sha256_file(const char *path, unsigned char out[32], uint64_t *size, fw_err *err) {
  mbedtls_sha256_context c;
  unsigned char buf[32768];
  uint64_t total = 0;
  int rc = FW_OK, n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  mbedtls_sha256_init(&c);
  mbedtls_sha256_starts_ret(&c, 0);
  while ((n = fw__read_full(fd, buf, sizeof buf)) > 0) {
    mbedtls_sha256_update_ret(&c, buf, (size_t)n);
    total += (uint64_t)n;
  }
  if (n < 0) rc = fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  else mbedtls_sha256_finish_ret(&c, out);
  mbedtls_sha256_free(&c);
  close(fd);
  if (rc == FW_OK && size) *size = total;
  return rc;
}

int fw_payload_verify(const char *path, uint64_t size, const unsigned char sha256[32],
                      fw_err *err) {
  unsigned char h[32];
  char want[65], got[65];
  uint64_t n = 0;
  int rc = fw_sha256_file(path, h, &n, err);
  if (rc != FW_OK) return rc;
  if (n != size)
    return fw_err_set(err, FW_EPAYLOAD, "payload is %llu bytes, the manifest says %llu",
                      (unsigned long long)n, (unsigned long long)size);
  if (memcmp(h, sha256, 32) != 0) {
    fw__hex(sha256, 32, want);
    fw__hex(h, 32, got);
    return fw_err_set(err, FW_EPAYLOAD, "payload sha256 %.16s... differs from the manifest's %.16s...",
                      got, want);
  }
  return FW_OK;
}
