/* error.c - names and messages of the node error codes (table in error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct err_row {
  const char *wire;
  const char *msg;
} err_row;

static const err_row rows[NODE__ERR_COUNT] = {
    [NODE_OK] = {"ok", "success"},
#define NODE__ERR_ROW(name, wire, msg) [NODE_E##name] = {wire, msg},
    NODE_ERRNO_MAP(NODE__ERR_ROW)
#undef NODE__ERR_ROW
};

const char *node_strerror(int code) {
  return code >= 0 && code < NODE__ERR_COUNT ? rows[code].msg : "unknown error";
}

const char *node_err_wire(int code) {
  return code >= 0 && code < NODE__ERR_COUNT ? rows[code].wire : "internal";
}

void node_err_clear(node_err *err) {
  if (!err) return;
  err->code = NODE_OK;
  err->msg[0] = '\0';
}

int node_err_set(node_err *err, int code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  if (!fmt) {
    snprintf(err->msg, sizeof err->msg, "%s", node_strerror(code));
    return code;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}
