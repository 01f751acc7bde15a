/* error.c - names and messages of the provisioning error codes (table in
 * prov/error.h). */
#include "prov/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct err_row {
  const char *wire;
  const char *msg;
} err_row;

static const err_row rows[PROV__ERR_COUNT] = {
    [PROV_OK] = {"ok", "success"},
#define PROV__ERR_ROW(name, wire, msg) [PROV_E##name] = {wire, msg},
    PROV_ERRNO_MAP(PROV__ERR_ROW)
#undef PROV__ERR_ROW
};

const char *prov_strerror(int code) {
  return code >= 0 && code < PROV__ERR_COUNT ? rows[code].msg : "unknown error";
}

const char *prov_err_wire(int code) {
  return code >= 0 && code < PROV__ERR_COUNT ? rows[code].wire : "internal";
}

int prov_err_from_wire(const char *wire) {
  for (int i = 0; i < PROV__ERR_COUNT; i++)
    if (wire && strcmp(rows[i].wire, wire) == 0) return i;
  return -1;
}

void prov_err_clear(prov_err *err) {
  if (!err) return;
  err->code = PROV_OK;
  err->msg[0] = '\0';
}

int prov_err_set(prov_err *err, int code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  if (!fmt) {
    snprintf(err->msg, sizeof err->msg, "%s", prov_strerror(code));
    return code;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}
