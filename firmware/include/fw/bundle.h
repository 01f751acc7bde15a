/* fw/bundle.h - the firmware bundle: manifest, payload, signature.
 *
 * A bundle is a directory of three files (docs/firmware.md, "Image"):
 *
 *   manifest.json   what the bundle is (below); the bytes that are signed
 *   manifest.sig    ECDSA P-256 signature (DER) over SHA-256(manifest.json)
 *   payload.tar     POSIX ustar archive of the slot's tree: bin/, www/,
 *                   etc/, systemd/ (regular files and directories only)
 *
 *   {"format":1,"product":"storenode","version":"1.1.0","min_version":"1.0.0",
 *    "created":"2026-11-21T23:40:01Z",
 *    "payload":{"size":1843200,"sha256":"<64 hex>"},
 *    "files":[{"path":"bin/storenode","size":905216,"mode":"0755","sha256":"<64 hex>"},...]}
 *
 * Trust flows one way: the public key verifies the manifest's signature;
 * the manifest's payload size and SHA-256 vouch for the payload; its file
 * list vouches for every file unpacked (nothing unlisted, nothing missing,
 * no path that leaves the slot).  Nothing is read from a payload before its
 * hash matched.
 */
#ifndef FW_BUNDLE_H
#define FW_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/error.h"
#include "fw/version.h"
#include "proto/buf.h"

#define FW_MANIFEST_FORMAT 1
#define FW_MANIFEST_MAX (1024 * 1024)  /* bytes of manifest.json */
#define FW_PATH_MAX 240                /* a payload path, NUL included */
#define FW_FILES_MAX 8192
#define FW_SIG_MAX 80                  /* DER ECDSA P-256 is at most 72 bytes */
#define FW_PAYLOAD_MAX (UINT64_C(1) << 32)

#define FW_BUNDLE_MANIFEST "manifest.json"
#define FW_BUNDLE_SIG "manifest.sig"
#define FW_BUNDLE_PAYLOAD "payload.tar"

typedef struct fw_file {
  char path[FW_PATH_MAX];  /* relative, '/'-separated, no "." or ".." parts */
  uint64_t size;
  unsigned mode;           /* permission bits 0..0777 */
  unsigned char sha256[32];
} fw_file;

typedef struct fw_manifest {
  int format;
  char product[64];
  char version[FW_VERSION_MAX];
  char min_version[FW_VERSION_MAX];
  char created[32];        /* RFC 3339, UTC */
  uint64_t payload_size;
  unsigned char payload_sha256[32];
  fw_file *files;          /* malloc'd; sorted by path, no duplicates */
  size_t n_files;
} fw_manifest;

/* Free the file list; m is then empty. */
void fw_manifest_free(fw_manifest *m);
/* Decode manifest.json strictly (firmware's JSON codec).  FW_EMANIFEST
 * naming the member; versions are checked (FW_EVERSION), min_version must
 * not be above version, paths must be safe and sorted.  On failure *m is
 * empty. */
int fw_manifest_decode(const char *json, size_t len, fw_manifest *m, fw_err *err);
/* Append m as JSON (the exact bytes that get signed).  FW_EMANIFEST if m
 * would not decode again; FW_ENOMEM.  out is then as before. */
int fw_manifest_encode(const fw_manifest *m, proto_buf *out, fw_err *err);

/* ---- keys and signatures (mbedTLS 2.28: mbedtls_pk_sign / mbedtls_pk_verify) ---- */

/* A fresh P-256 key pair as PEM ("EC PRIVATE KEY", "PUBLIC KEY") appended
 * to priv and pub. */
int fw_key_generate(proto_buf *priv_pem, proto_buf *pub_pem, fw_err *err);
/* First 8 bytes of SHA-256 over the public key's DER, as 16 hex digits:
 * names a key in messages ("signed by 3f2a...").  pem may be private or
 * public.  FW_EKEY if it is not a P-256 key. */
int fw_key_fingerprint(const char *pem, char out[17], fw_err *err);
/* Sign SHA-256(manifest) with the private key.  FW_EKEY if the PEM is not a
 * P-256 private key. */
int fw_manifest_sign(const char *manifest, size_t len, const char *priv_pem,
                     unsigned char sig[FW_SIG_MAX], size_t *sig_len, fw_err *err);
/* Check sig over SHA-256(manifest) with the trusted public key.  FW_OK,
 * FW_ESIGNATURE (naming the key's fingerprint), FW_EKEY. */
int fw_manifest_verify(const char *manifest, size_t len, const unsigned char *sig,
                       size_t sig_len, const char *pub_pem, fw_err *err);

/* SHA-256 and size of a file. */
int fw_sha256_file(const char *path, unsigned char out[32], uint64_t *size, fw_err *err);
/* Does the file at path have exactly this size and SHA-256?  FW_OK or
 * FW_EPAYLOAD saying which differs (FW_EIO if unreadable). */
int fw_payload_verify(const char *path, uint64_t size, const unsigned char sha256[32],
                      fw_err *err);

/* ---- bundles ---- */

typedef struct fw_bundle_opts {
  const char *src_dir;      /* the slot tree to pack */
  const char *out_dir;      /* created if missing; the three files are replaced */
  const char *version, *min_version;
  const char *product;      /* NULL: "storenode" */
  const char *created;      /* NULL: now; RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" */
  const char *priv_pem;     /* signing key */
} fw_bundle_opts;

/* fw-bundle create: pack src_dir into payload.tar (entries sorted, owner 0,
 * mtime = created: the same tree gives the same bytes), write the manifest
 * and its signature.  Symbolic links and special files in src_dir are
 * refused (FW_EINVAL naming them).  On failure out_dir may hold a partial
 * payload.tar but never a manifest.sig that vouches for it. */
int fw_bundle_create(const fw_bundle_opts *o, fw_err *err);
/* fw-verify: check dir's manifest signature with pub_pem, decode the
 * manifest into *m, check payload.tar against it.  On failure *m is empty
 * and err says which check failed. */
int fw_bundle_verify(const char *dir, const char *pub_pem, fw_manifest *m, fw_err *err);
/* Unpack a payload (already verified against m) into dest, which must not
 * exist.  Every entry must be in m's file list with the same size, mode and
 * SHA-256, and every listed file must be present: FW_EARCHIVE naming the
 * entry otherwise.  Files are fsync'd.  On failure dest may hold a partial
 * tree (the caller removes it). */
int fw_payload_extract(const char *payload, const fw_manifest *m, const char *dest, fw_err *err);

#endif
