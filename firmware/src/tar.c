/* tar.c - the payload archive: POSIX ustar (IEEE 1003.1-1988 header), the
 * subset a slot needs: regular files and directories, paths split over the
 * name/prefix fields.  Any standard `tar tvf` lists a payload; the reader
 * refuses everything else (links, devices, pax or GNU extension headers),
 * because an unpacker that follows a link out of the slot is how bundles
 * get turned into root exploits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "fw_int.h"

#define BLOCK 512

typedef struct hdr {
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
  char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8];
  char prefix[155], pad[12];
} hdr;
_Static_assert(sizeof(hdr) == BLOCK, "ustar header is one block");

static unsigned checksum(const hdr *h) {
  const unsigned char *p = (const unsigned char *)h;
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++)
    sum += (i >= offsetof(hdr, chksum) && i < offsetof(hdr, chksum) + 8) ? ' ' : p[i];
  return sum;
}

/* Octal number, zero-padded, NUL-terminated, in a field of n bytes. */
static void put_octal(char *field, size_t n, uint64_t v) {
  snprintf(field, n, "%0*llo", (int)n - 1, (unsigned long long)v);
}

/* Split path over prefix (<=155) and name (<=100) at a '/'. */
static bool split_name(hdr *h, const char *path) {
  size_t n = strlen(path);
  if (n <= sizeof h->name) {
    memcpy(h->name, path, n);
    return true;
  }
  for (size_t i = n - 1; i > 0; i--) {
    if (path[i] == '/' && i <= sizeof h->prefix && n - i - 1 <= sizeof h->name && n - i - 1 > 0) {
      memcpy(h->prefix, path, i);
      memcpy(h->name, path + i + 1, n - i - 1);
      return true;
    }
  }
  return false;
}

static int put_header(fw__tar_w *w, const char *path, unsigned mode, uint64_t size, char type,
                      fw_err *err) {
  hdr h;
  memset(&h, 0, sizeof h);
  if (!fw__path_safe(path) || !split_name(&h, path))
    return fw_err_set(err, FW_EINVAL, "%s: path not storable in the payload", path);
  put_octal(h.mode, sizeof h.mode, mode & 0777);
  put_octal(h.uid, sizeof h.uid, 0);
  put_octal(h.gid, sizeof h.gid, 0);
  put_octal(h.size, sizeof h.size, size);
  put_octal(h.mtime, sizeof h.mtime, w->mtime);
  h.typeflag = type;
  memcpy(h.magic, "ustar", 6);
  memcpy(h.version, "00", 2);
  memcpy(h.uname, "root", 4);
  memcpy(h.gname, "root", 4);
  snprintf(h.chksum, sizeof h.chksum, "%06o", checksum(&h));
  h.chksum[7] = ' ';
  if (fw__write_all(w->fd, &h, sizeof h) != 0)
    return fw_err_set(err, FW_EIO, "payload: %s", strerror(errno));
  return FW_OK;
}

int fw__tar_dir(fw__tar_w *w, const char *path, unsigned mode, fw_err *err) {
  return put_header(w, path, mode, 0, '5', err);
}

int fw__tar_file(fw__tar_w *w, const char *path, unsigned mode, const char *src, uint64_t size,
                 unsigned char sha256[32], fw_err *err) {
  mbedtls_sha256_context c;
  char buf[16384];
  uint64_t left = size;
  int rc = put_header(w, path, mode, size, '0', err);
  int fd = rc == FW_OK ? open(src, O_RDONLY | O_CLOEXEC) : -1;
  if (rc == FW_OK && fd < 0) rc = fw_err_set(err, FW_EIO, "%s: %s", src, strerror(errno));
  mbedtls_sha256_init(&c);
  mbedtls_sha256_starts_ret(&c, 0);
  while (rc == FW_OK && left > 0) {
    int n = fw__read_full(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (n <= 0) rc = fw_err_set(err, FW_EIO, "%s: changed or unreadable while packing", src);
    else if (fw__write_all(w->fd, buf, (size_t)n) != 0)
      rc = fw_err_set(err, FW_EIO, "payload: %s", strerror(errno));
    else {
      mbedtls_sha256_update_ret(&c, (const unsigned char *)buf, (size_t)n);
      left -= (uint64_t)n;
    }
  }
  if (rc == FW_OK) mbedtls_sha256_finish_ret(&c, sha256);
  mbedtls_sha256_free(&c);
  if (fd >= 0) close(fd);
  if (rc == FW_OK && size % BLOCK) {
    memset(buf, 0, BLOCK);
    if (fw__write_all(w->fd, buf, BLOCK - size % BLOCK) != 0)
      rc = fw_err_set(err, FW_EIO, "payload: %s", strerror(errno));
  }
  return rc;
}

int fw__tar_end(fw__tar_w *w, fw_err *err) {
  char zero[2 * BLOCK];
  memset(zero, 0, sizeof zero);
  return fw__write_all(w->fd, zero, sizeof zero) == 0
             ? FW_OK
             : fw_err_set(err, FW_EIO, "payload: %s", strerror(errno));
}

/* ---- reading ---- */

/* Strict octal: digits, then NUL/space padding only. */
static bool get_octal(const char *field, size_t n, uint64_t *v) {
  size_t i = 0;
  *v = 0;
  while (i < n && field[i] == ' ') i++;
  if (i == n || field[i] < '0' || field[i] > '7') return false;
  for (; i < n && field[i] >= '0' && field[i] <= '7'; i++) {
    if (*v >> 60) return false;
    *v = *v * 8 + (uint64_t)(field[i] - '0');
  }
  for (; i < n; i++)
    if (field[i] != '\0' && field[i] != ' ') return false;
  return true;
}

static bool all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return false;
  return true;
}

/* Fill e from h, or say which field of the entry at byte offset off is bad. */
static int parse_header(const hdr *h, uint64_t off, fw__tar_entry *e, fw_err *err) {
  uint64_t sum, mode, size;
  size_t np = strnlen(h->prefix, sizeof h->prefix), nn = strnlen(h->name, sizeof h->name);
  if (memcmp(h->magic, "ustar", 6) != 0 || memcmp(h->version, "00", 2) != 0)
    return fw_err_set(err, FW_EARCHIVE, "payload at byte %llu: not a ustar header",
                      (unsigned long long)off);
  if (!get_octal(h->chksum, sizeof h->chksum, &sum) || sum != checksum(h))
    return fw_err_set(err, FW_EARCHIVE, "payload at byte %llu: header checksum mismatch",
                      (unsigned long long)off);
  if (h->typeflag != '0' && h->typeflag != '\0' && h->typeflag != '5')
    return fw_err_set(err, FW_EARCHIVE, "payload at byte %llu: entry type '%c' refused "
                      "(only files and directories)", (unsigned long long)off, h->typeflag);
  if (!get_octal(h->mode, sizeof h->mode, &mode) || mode > 07777 ||
      !get_octal(h->size, sizeof h->size, &size))
    return fw_err_set(err, FW_EARCHIVE, "payload at byte %llu: bad mode or size",
                      (unsigned long long)off);
  snprintf(e->path, sizeof e->path, "%.*s%s%.*s", (int)np, h->prefix, np ? "/" : "", (int)nn, h->name);
  nn = strlen(e->path);
  e->kind = h->typeflag == '5' ? FW__TAR_DIR : FW__TAR_FILE;
  if (e->kind == FW__TAR_DIR && nn && e->path[nn - 1] == '/') e->path[nn - 1] = '\0';
  if (!fw__path_safe(e->path))
    return fw_err_set(err, FW_EARCHIVE, "payload at byte %llu: unsafe path \"%s\"",
                      (unsigned long long)off, e->path);
  if (e->kind == FW__TAR_DIR && size != 0)
    return fw_err_set(err, FW_EARCHIVE, "payload: directory %s has a size", e->path);
  e->mode = (unsigned)mode & 0777;
  e->size = size;
  return FW_OK;
}

int fw__tar_read(int fd, fw__tar_fn on_entry, void *ctx, fw_err *err) {
  uint64_t off = 0;
  hdr h;
  for (;;) {
    fw__tar_entry e;
    char pad[BLOCK];
    int rc, n = fw__read_full(fd, &h, sizeof h);
    if (n != (int)sizeof h)
      return fw_err_set(err, FW_EARCHIVE, "payload: truncated at byte %llu", (unsigned long long)off);
    if (all_zero(&h, sizeof h)) {
      n = fw__read_full(fd, &h, sizeof h);
      return n == (int)sizeof h && all_zero(&h, sizeof h)
                 ? FW_OK
                 : fw_err_set(err, FW_EARCHIVE, "payload: bad end-of-archive marker");
    }
    memset(&e, 0, sizeof e);
    if ((rc = parse_header(&h, off, &e, err)) != FW_OK) return rc;
    if ((rc = on_entry(ctx, &e, fd, err)) != FW_OK) return rc;
    off += BLOCK + e.size;
    if (e.size % BLOCK) {
      size_t padn = BLOCK - e.size % BLOCK;
      if (fw__read_full(fd, pad, padn) != (int)padn)
        return fw_err_set(err, FW_EARCHIVE, "payload: truncated in %s", e.path);
      off += padn;
    }
  }
}
