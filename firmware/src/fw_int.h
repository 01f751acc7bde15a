/* fw_int.h - private to the firmware library: helpers shared by its files
 * (fw__ prefix).  Nothing here is part of the contract in include/fw/. */
#ifndef FW_INT_H
#define FW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/bundle.h"
#include "fw/error.h"
#include "proto/buf.h"
#include "proto/error.h"

/* 64 lowercase hex digits + NUL. */
void fw__hex(const unsigned char *in, size_t n, char *out);
/* Exactly 2n hex digits into n bytes; false otherwise. */
bool fw__unhex(const char *hex, unsigned char *out, size_t n);
/* Base64 (mbedTLS) appended to out / decoded into a fresh malloc'd buffer
 * (NUL-terminated, *len without the NUL). */
int fw__b64_encode(const unsigned char *in, size_t n, proto_buf *out);
int fw__b64_decode(const char *in, size_t n, unsigned char **out, size_t *len);

/* dst = "a/b" ("b" when a is ""); false if it does not fit in cap. */
bool fw__join(char *dst, size_t cap, const char *a, const char *b);

/* Is p a safe relative payload path: 1..FW_PATH_MAX-1 bytes of
 * [A-Za-z0-9._+@-] and '/', no empty, "." or ".." component, no leading or
 * trailing '/'? */
bool fw__path_safe(const char *p);

/* ---- ustar (tar.c) ---- */

/* A writer appends entries to an open file descriptor. */
typedef struct fw__tar_w {
  int fd;
  uint64_t mtime;
} fw__tar_w;
int fw__tar_dir(fw__tar_w *w, const char *path, unsigned mode, fw_err *err);
/* Copy the file at src (size bytes) as path; sha256 receives the hash of
 * exactly the bytes packed. */
int fw__tar_file(fw__tar_w *w, const char *path, unsigned mode, const char *src, uint64_t size,
                 unsigned char sha256[32], fw_err *err);
/* The two zero blocks that end an archive. */
int fw__tar_end(fw__tar_w *w, fw_err *err);

typedef enum { FW__TAR_FILE, FW__TAR_DIR } fw__tar_kind;
typedef struct fw__tar_entry {
  fw__tar_kind kind;
  char path[FW_PATH_MAX];  /* without a trailing '/' */
  unsigned mode;
  uint64_t size;
} fw__tar_entry;
/* Walk an archive: on_entry is called per entry with fd positioned at its
 * data; it must consume exactly e->size bytes (or return an error).  Any
 * entry kind other than a file or directory, a bad checksum, an unsafe path
 * or a truncated archive is FW_EARCHIVE. */
typedef int (*fw__tar_fn)(void *ctx, const fw__tar_entry *e, int fd, fw_err *err);
int fw__tar_read(int fd, fw__tar_fn on_entry, void *ctx, fw_err *err);

/* Write all n bytes / read exactly n bytes, retrying on EINTR. */
int fw__write_all(int fd, const void *buf, size_t n);
int fw__read_full(int fd, void *buf, size_t n);  /* bytes read (< n at EOF), -1 error */

#endif
