/* util.c - small helpers of the firmware library: hex, base64, path
 * checks, full reads and writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "fw_int.h"

void fw__hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1; /* uppercase refused: one spelling per hash */
}

bool fw__unhex(const char *hex, unsigned char *out, size_t n) {
  if (strlen(hex) != 2 * n) return false;
  for (size_t i = 0; i < n; i++) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return true;
}

int fw__b64_encode(const unsigned char *in, size_t n, proto_buf *out) {
  size_t need = 0, olen = 0;
  char *tmp;
  int rc;
  mbedtls_base64_encode(NULL, 0, &need, in, n); /* need includes the NUL */
  tmp = malloc(need + 1);
  if (!tmp) return FW_ENOMEM;
  rc = mbedtls_base64_encode((unsigned char *)tmp, need + 1, &olen, in, n) == 0 &&
               proto_buf_append(out, tmp, olen) == PROTO_OK
           ? FW_OK
           : FW_ENOMEM;
  free(tmp);
  return rc;
}

int fw__b64_decode(const char *in, size_t n, unsigned char **out, size_t *len) {
  size_t need = 0;
  unsigned char *buf;
  int r = mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)in, n);
  *out = NULL;
  *len = 0;
  if (r == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) return FW_EINVAL;
  buf = malloc(need + 1);
  if (!buf) return FW_ENOMEM;
  if (mbedtls_base64_decode(buf, need + 1, len, (const unsigned char *)in, n) != 0) {
    free(buf);
    return FW_EINVAL;
  }
  buf[*len] = '\0';
  *out = buf;
  return FW_OK;
}

bool fw__join(char *dst, size_t cap, const char *a, const char *b) {
  int n = snprintf(dst, cap, "%s%s%s", a, *a ? "/" : "", b);
  return n >= 0 && (size_t)n < cap;
}

static bool path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("._+@-", c) != NULL;
}

bool fw__path_safe(const char *p) {
  size_t n = strlen(p);
  const char *part = p;
  if (n == 0 || n >= FW_PATH_MAX) return false;
  for (const char *q = p;; q++) {
    if (*q == '/' || *q == '\0') {
      size_t len = (size_t)(q - part);
      if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
        return false;
      if (*q == '\0') return true;
      part = q + 1;
    } else if (!path_char(*q)) {
      return false;
    }
  }
}

int fw__write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int fw__read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (int)got;
}
