/* error.c - strerror and the error handle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/error.h"

static const char *const messages[PROTO__ERR_COUNT] = {
    [PROTO_OK] = "ok",
#define PROTO__ERR_MSG(name, msg) [PROTO_E##name] = msg,
    PROTO_ERRNO_MAP(PROTO__ERR_MSG)
#undef PROTO__ERR_MSG
};

static const char *const names[PROTO__ERR_COUNT] = {
    [PROTO_OK] = "PROTO_OK",
#define PROTO__ERR_NAME(name, msg) [PROTO_E##name] = "PROTO_E" #name,
    PROTO_ERRNO_MAP(PROTO__ERR_NAME)
#undef PROTO__ERR_NAME
};

const char *proto_strerror(int code) {
  if (code < 0 || code >= PROTO__ERR_COUNT) return "unknown error";
  return messages[code];
}

const char *proto_err_name(int code) {
  if (code < 0 || code >= PROTO__ERR_COUNT) return "PROTO_E?";
  return names[code];
}

void proto_err_clear(proto_err *err) {
  if (!err) return;
  err->code = PROTO_OK;
  err->msg[0] = '\0';
}

int proto_err_set(proto_err *err, int code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  if (n < 0) err->msg[0] = '\0';
  return code;
}
