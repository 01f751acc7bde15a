/* error.c - names and messages of the firmware error codes (table in fw/error.h). */
#include "fw/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct err_row {
  const char *wire;
  const char *msg;
} err_row;

static const err_row rows[FW__ERR_COUNT] = {
    [FW_OK] = {"ok", "success"},
#define FW__ERR_ROW(name, wire, msg) [FW_E##name] = {wire, msg},
    FW_ERRNO_MAP(FW__ERR_ROW)
#undef FW__ERR_ROW
};

const char *fw_strerror(int code) {
  return code >= 0 && code < FW__ERR_COUNT ? rows[code].msg : "unknown error";
}

const char *fw_err_wire(int code) {
  return code >= 0 && code < FW__ERR_COUNT ? rows[code].wire : "internal";
}

int fw_err_from_wire(const char *wire) {
  for (int i = 1; wire && i < FW__ERR_COUNT; i++)
    if (strcmp(rows[i].wire, wire) == 0) return i;
  return -1;
}

void fw_err_clear(fw_err *err) {
  if (!err) return;
  err->code = FW_OK;
  err->msg[0] = '\0';
}

int fw_err_set(fw_err *err, int code, const char *fmt, ...) {
  va_list ap;
  if (!err) return code;
  err->code = code;
  if (!fmt) {
    snprintf(err->msg, sizeof err->msg, "%s", fw_strerror(code));
    return code;
  }
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}
