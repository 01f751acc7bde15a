/* error.c - names, HTTP statuses and messages of the hq error codes. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct err_row {
  const char *wire;
  unsigned status;
  const char *msg;
} err_row;

static const err_row rows[HQ__ERR_COUNT] = {
    [HQ_OK] = {"ok", 200, "success"},
#define HQ__ERR_ROW(name, wire, status, msg) [HQ_E##name] = {wire, status, msg},
    HQ_ERRNO_MAP(HQ__ERR_ROW)
#undef HQ__ERR_ROW
};

static const err_row *row(int code) { return code >= 0 && code < HQ__ERR_COUNT ? &rows[code] : NULL; }

const char *hq_strerror(int code) { return row(code) ? row(code)->msg : "unknown error"; }
const char *hq_err_wire(int code) { return row(code) ? row(code)->wire : "internal"; }
unsigned hq_err_status(int code) { return row(code) ? row(code)->status : 500; }

void hq_err_clear(hq_err *err) {
  if (!err) return;
  err->code = HQ_OK;
  err->field[0] = '\0';
  err->msg[0] = '\0';
}

static void vset(hq_err *err, int code, const char *field, const char *fmt, va_list ap) {
  err->code = code;
  snprintf(err->field, sizeof err->field, "%s", field ? field : "");
  if (fmt)
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  else
    snprintf(err->msg, sizeof err->msg, "%s", hq_strerror(code));
}

int hq_err_set(hq_err *err, int code, const char *fmt, ...) {
  va_list ap;
  if (!err) return code;
  va_start(ap, fmt);
  vset(err, code, NULL, fmt, ap);
  va_end(ap);
  return code;
}

int hq_err_field(hq_err *err, int code, const char *field, const char *fmt, ...) {
  va_list ap;
  if (!err) return code;
  va_start(ap, fmt);
  vset(err, code, field, fmt, ap);
  va_end(ap);
  return code;
}
