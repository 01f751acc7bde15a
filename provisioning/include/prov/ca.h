/* prov/ca.h - the fleet CA at HQ (mbedTLS, ECDSA P-256, SHA-256).
 *
 * A CA is a directory:
 *   ca.key   the CA's private key, PEM, mode 0600 (refused if group- or
 *            world-accessible); it never leaves this directory and is never
 *            served
 *   ca.crt   the self-signed CA certificate, PEM: what every box, HQ and
 *            the broker trust (the broker's cafile)
 * The certificate revocation list is written where the caller says (the
 * broker's crlfile), see prov_ca_crl and prov/server.h.
 *
 * Certificates issued here: version 3, a random 127-bit serial (the top bit
 * clear so the DER INTEGER is always 16 bytes), basicConstraints CA:FALSE,
 * keyUsage digitalSignature, extendedKeyUsage clientAuth and/or serverAuth,
 * subject/authority key identifiers, and for servers a subjectAltName with
 * the DNS names / IP addresses given (written as a raw extension: mbedTLS
 * 2.28 has no SAN writer).  The identity is the subject CN.
 */
#ifndef PROV_CA_H
#define PROV_CA_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "prov/error.h"
#include "prov/x509.h"

#define PROV_CA_KEY_FILE "ca.key"
#define PROV_CA_CERT_FILE "ca.crt"
#define PROV_CA_NAME_MAX 64
#define PROV_SAN_MAX 8

typedef struct prov_ca prov_ca;

/* Create a CA in dir (made 0700 if missing): key + self-signed certificate
 * with subject "CN=<name>" (name: [A-Za-z0-9 _.:-], 1..63), valid from
 * not_before_s for days days, keyUsage keyCertSign + cRLSign, pathlen 0.
 * PROV_EEXISTS if dir already holds a CA key: a CA is never replaced by
 * accident (every box trusts it). */
int prov_ca_create(const char *dir, const char *name, int64_t not_before_s, int64_t days,
                   prov_err *err);
/* Load dir's CA.  PROV_ECONFIG if ca.key is accessible by group/others or
 * does not match ca.crt; PROV_ENOTFOUND if there is no CA. */
int prov_ca_open(prov_ca **out, const char *dir, prov_err *err);
void prov_ca_close(prov_ca *ca);
/* The CA certificate (PEM, NUL-terminated). */
const char *prov_ca_cert_pem(const prov_ca *ca, size_t *len);

enum { PROV_USE_CLIENT = 1, PROV_USE_SERVER = 2 };

typedef struct prov_cert_req {
  const char *cn;                 /* the identity: store id, "hq", "claim", broker host */
  const char *device_serial;      /* subject serialNumber; NULL for none */
  unsigned uses;                  /* PROV_USE_* bits: extendedKeyUsage */
  const char *san[PROV_SAN_MAX];  /* DNS names or IP literals (server certs) */
  size_t n_san;
  int64_t not_before_s, not_after_s;
} prov_cert_req;

/* Issue a certificate for the public key spki (DER SubjectPublicKeyInfo,
 * P-256).  pem is reset and receives the certificate; info (may be NULL) its
 * facts.  PROV_EINVAL naming the bad field, PROV_ECSR (key policy),
 * PROV_ECRYPTO. */
int prov_ca_issue(prov_ca *ca, const prov_cert_req *req, const unsigned char *spki,
                  size_t spki_len, proto_buf *pem, prov_cert_info *info, prov_err *err);

typedef struct prov_crl_entry {
  char cert_serial[PROV_CERT_SERIAL_MAX];   /* hex, as in prov_cert_info */
  int64_t revoked_s;
} prov_crl_entry;

/* A version 2 CRL (PEM "X509 CRL", as mosquitto's crlfile wants) listing
 * the entries, issuer = the CA's subject, thisUpdate/nextUpdate as given,
 * the cRLNumber extension, signed ECDSA-SHA256 by the CA.  (mbedTLS 2.28
 * has no CRL writer: crl.c builds the DER with mbedtls_asn1_write_*.)
 * OpenSSL picks the newest of several CRLs by thisUpdate, so each new CRL
 * must have a later thisUpdate than the last (prov/server.h takes care). */
int prov_ca_crl(prov_ca *ca, const prov_crl_entry *list, size_t n, int64_t this_update_s,
                int64_t next_update_s, uint64_t number, proto_buf *pem, prov_err *err);

#endif
