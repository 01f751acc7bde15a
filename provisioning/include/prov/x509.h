/* prov/x509.h - keys, CSRs and certificate checks: the parts of the fleet
 * PKI that both the box and HQ use.
 *
 * Policy (the whole fleet): ECDSA on P-256, signatures ECDSA-SHA256.  A box's
 * identity is in the subject CN (mbedTLS 2.28 has no SAN writer, and
 * mosquitto's use_identity_as_username reads the CN): a CSR says
 * CN=<device serial>; the certificate HQ issues says CN=<store id>,
 * serialNumber=<device serial>.  "key hash" = lower-case hex SHA-256 of the
 * DER SubjectPublicKeyInfo: how HQ recognises the same key again.
 */
#ifndef PROV_X509_H
#define PROV_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/event.h"
#include "prov/error.h"

#define PROV_HASH_HEX 65         /* SHA-256 as hex + NUL */
#define PROV_CERT_SERIAL_MAX 41  /* certificate serial (<= 20 bytes) as hex + NUL */
#define PROV_SPKI_MAX 160        /* DER SubjectPublicKeyInfo of a P-256 key is 91 bytes */
#define PROV_PEM_MAX 16384       /* largest certificate / CSR / key PEM accepted */

/* Generate a P-256 key here and write it (PEM, mode 0600, atomically) to
 * path.  Never overwrites: PROV_EEXISTS if path exists.  The key never
 * leaves the machine that called this. */
int prov_key_generate(const char *path, prov_err *err);
/* Key hash of the public half of a private key file (PEM).  PROV_ENOTFOUND,
 * PROV_ECRYPTO (unreadable key), PROV_ECSR (not P-256). */
int prov_key_hash(const char *keyfile, char out[PROV_HASH_HEX], prov_err *err);

/* CSR (PEM, into pem after a reset) for keyfile with subject
 * CN=<serial>,serialNumber=<serial>, signed ECDSA-SHA256 by that key. */
int prov_csr_make(const char *keyfile, const char *serial, proto_buf *pem, prov_err *err);

typedef struct prov_csr_info {
  char cn[PROTO_ID_MAX];                 /* subject CN */
  char key_hash[PROV_HASH_HEX];
  unsigned char spki[PROV_SPKI_MAX];     /* the public key, DER SubjectPublicKeyInfo */
  size_t spki_len;
} prov_csr_info;
/* Parse a CSR (PEM) and VERIFY ITS SIGNATURE over the CertificationRequest-
 * Info with the key it carries (mbedtls_x509_csr_parse does not), so the
 * sender is proven to hold the private key.  Requires ECDSA-SHA256 and a
 * P-256 key, and a CN that is an id.  PROV_ECSR (malformed, wrong algorithm
 * or key, bad CN), PROV_ESIGNATURE (does not verify); out is then zeroed. */
int prov_csr_check(const char *pem, size_t len, prov_csr_info *out, prov_err *err);

typedef struct prov_cert_info {
  char cn[PROTO_ID_MAX];
  char device_serial[PROTO_ID_MAX];      /* subject serialNumber; "" if none */
  char cert_serial[PROV_CERT_SERIAL_MAX];
  char key_hash[PROV_HASH_HEX];
  int64_t not_before_s, not_after_s;     /* seconds since the epoch */
} prov_cert_info;
/* Read the facts of a certificate (PEM).  PROV_ECERT if it does not parse or
 * its CN/serialNumber are not ids. */
int prov_cert_info_get(const char *pem, size_t len, prov_cert_info *out, prov_err *err);
/* Does cert (PEM) chain to ca (PEM): signature and CA constraints; validity
 * dates only if check_time (a box without a real-time clock must not: its
 * clock may say 1970).  No revocation check (the broker does that).
 * PROV_ECERT naming what failed. */
int prov_cert_verify(const char *cert_pem, size_t cert_len, const char *ca_pem, size_t ca_len,
                     bool check_time, prov_err *err);

#endif
