/* prov_int.h - private helpers of the provisioning library (prov__*). */
#ifndef PROV_INT_H
#define PROV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>

#include "proto/buf.h"
#include "prov/error.h"

/* A CTR-DRBG seeded from the system entropy; one per object that signs or
 * generates (no global state). */
typedef struct prov__rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool ready;
} prov__rng;

/* Seed; PROV_ECRYPTO on failure (then prov__rng_free is still safe). */
int prov__rng_init(prov__rng *r, const char *personal, prov_err *err);
void prov__rng_free(prov__rng *r);
/* mbedTLS-style RNG callback over a prov__rng. */
int prov__rng_fn(void *ctx, unsigned char *out, size_t n);
int prov__random(prov__rng *r, void *out, size_t n, prov_err *err);

/* Record an mbedTLS failure: "<what>: <mbedTLS message> (-0x....)". */
int prov__mbed_err(prov_err *err, int code, int mbed_rc, const char *what);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void prov__hex(const unsigned char *p, size_t n, char *out);
/* SHA-256 of p as 64 hex chars + NUL. */
int prov__sha256_hex(const void *p, size_t n, char out[65]);

/* DER SubjectPublicKeyInfo of pk into buf (cap bytes); *der points into buf.
 * PROV_ECRYPTO if it does not fit. */
int prov__spki(mbedtls_pk_context *pk, unsigned char *buf, size_t cap, const unsigned char **der,
               size_t *len, prov_err *err);
/* The provisioning key policy: ECDSA (EC key) on P-256.  PROV_ECSR else. */
int prov__key_policy(const mbedtls_pk_context *pk, const char *what, prov_err *err);

/* Seconds since the epoch <-> "YYYYMMDDhhmmss" (UTC, mbedTLS writer syntax). */
int prov__time_str(int64_t s, char out[15]);
/* Wall clock in ms. */
int64_t prov__now_ms(void);

/* PEM text of one DER object with the given label ("X509 CRL"). */
int prov__pem(const char *label, const unsigned char *der, size_t len, proto_buf *out,
              prov_err *err);

/* Is s an identity the fleet may use (proto id syntax)? */
bool prov__id_ok(const char *s);

/* Value of the first attribute `oid` (MBEDTLS_OID_AT_*) of a parsed name
 * into out; "" if absent.  PROV_EINVAL if it does not fit or is not an id. */
int prov__name_get(const mbedtls_x509_name *n, const char *oid, size_t oid_len, char *out,
                   size_t cap);
/* An X.509 time (UTC) as seconds since the epoch. */
int64_t prov__x509_time_s(const mbedtls_x509_time *t);
/* NUL-terminated copy of n bytes (mbedTLS PEM parsers need the NUL); NULL
 * if out of memory.  free() it. */
unsigned char *prov__dupz(const char *p, size_t n);

#endif
