/* proto/buf.h - a growable byte buffer that encoders append to. */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>

typedef struct proto_buf {
  char *data;   /* NUL-terminated while len < cap; NULL until first append */
  size_t len;
  size_t cap;
} proto_buf;

void proto_buf_init(proto_buf *b);
/* Frees the storage; the buffer is then as after proto_buf_init(). */
void proto_buf_close(proto_buf *b);
/* Forget the contents, keep the storage. */
void proto_buf_reset(proto_buf *b);
/* Append n bytes.  PROTO_ENOMEM leaves the buffer as it was. */
int proto_buf_append(proto_buf *b, const char *s, size_t n);
int proto_buf_puts(proto_buf *b, const char *s);
int proto_buf_printf(proto_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included, escaped. */
int proto_buf_json_string(proto_buf *b, const char *s);

#endif
