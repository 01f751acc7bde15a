/* buf.c - growable output buffer for the encoders. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/error.h"

void proto_buf_init(proto_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void proto_buf_close(proto_buf *b) {
  free(b->data);
  proto_buf_init(b);
}

void proto_buf_reset(proto_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminating NUL. */
static int reserve(proto_buf *b, size_t n) {
  if (b->len + n + 1 <= b->cap) return PROTO_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return PROTO_ENOMEM;
  b->data = p;
  b->cap = cap;
  return PROTO_OK;
}

int proto_buf_append(proto_buf *b, const char *s, size_t n) {
  if (reserve(b, n) != PROTO_OK) return PROTO_ENOMEM;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return PROTO_OK;
}

int proto_buf_puts(proto_buf *b, const char *s) { return proto_buf_append(b, s, strlen(s)); }

int proto_buf_printf(proto_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return PROTO_EINVAL;
  if (reserve(b, (size_t)n) != PROTO_OK) return PROTO_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return PROTO_OK;
}

int proto_buf_json_string(proto_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t start = b->len;
  int rc = proto_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; rc == PROTO_OK && *p; p++) {
    const char *esc = NULL;
    switch (*p) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default: break;
    }
    if (esc) {
      rc = proto_buf_append(b, esc, 2);
    } else if (*p < 0x20) {
      char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
      rc = proto_buf_append(b, u, sizeof u);
    } else {
      /* Copy the run of plain bytes in one go. */
      const unsigned char *q = p;
      while (q[1] && q[1] >= 0x20 && q[1] != '"' && q[1] != '\\') q++;
      rc = proto_buf_append(b, (const char *)p, (size_t)(q - p + 1));
      p = q;
    }
  }
  if (rc == PROTO_OK) rc = proto_buf_append(b, "\"", 1);
  if (rc != PROTO_OK) {
    b->len = start;
    if (b->data) b->data[start] = '\0';
  }
  return rc;
}
