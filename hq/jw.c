/* jw.c - JSON writer (jw.h). */
#include "jw.h"

#include <inttypes.h>
#include <stdlib.h>

void jw_init(jw *w, proto_buf *b) {
  w->b = b;
  w->rc = PROTO_OK;
  w->depth = 0;
  w->more[0] = false;
}

/* Comma and "key": before a value. */
static void prefix(jw *w, const char *key) {
  if (w->rc != PROTO_OK) return;
  if (w->more[w->depth]) w->rc = proto_buf_puts(w->b, ",");
  w->more[w->depth] = true;
  if (key && w->rc == PROTO_OK) w->rc = proto_buf_json_string(w->b, key);
  if (key && w->rc == PROTO_OK) w->rc = proto_buf_puts(w->b, ":");
}

static void nest(jw *w, const char *key, const char *bracket) {
  prefix(w, key);
  if (w->rc == PROTO_OK && w->depth + 1 >= HQ_JW_DEPTH) w->rc = PROTO_EINVAL;
  if (w->rc != PROTO_OK) return;
  w->rc = proto_buf_puts(w->b, bracket);
  w->more[++w->depth] = false;
}

static void unnest(jw *w, const char *bracket) {
  if (w->rc != PROTO_OK) return;
  if (w->depth > 0) w->depth--;
  w->rc = proto_buf_puts(w->b, bracket);
}

void jw_obj(jw *w, const char *key) { nest(w, key, "{"); }
void jw_end(jw *w) { unnest(w, "}"); }
void jw_arr(jw *w, const char *key) { nest(w, key, "["); }
void jw_end_arr(jw *w) { unnest(w, "]"); }

void jw_str(jw *w, const char *key, const char *v) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_json_string(w->b, v ? v : "");
}

void jw_str_opt(jw *w, const char *key, const char *v) {
  if (v && *v) jw_str(w, key, v);
}

void jw_int(jw *w, const char *key, int64_t v) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_printf(w->b, "%" PRId64, v);
}

void jw_u64(jw *w, const char *key, uint64_t v) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_printf(w->b, "%" PRIu64, v);
}

void jw_bool(jw *w, const char *key, bool v) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_puts(w->b, v ? "true" : "false");
}

void jw_null(jw *w, const char *key) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_puts(w->b, "null");
}

void jw_fixed6(jw *w, const char *key, int64_t e6) {
  uint64_t a = e6 < 0 ? (uint64_t)0 - (uint64_t)e6 : (uint64_t)e6;
  prefix(w, key);
  if (w->rc == PROTO_OK)
    w->rc = proto_buf_printf(w->b, "%s%" PRIu64 ".%06" PRIu64, e6 < 0 ? "-" : "", a / 1000000u,
                             a % 1000000u);
}

void jw_raw(jw *w, const char *key, const char *json) {
  prefix(w, key);
  if (w->rc == PROTO_OK) w->rc = proto_buf_puts(w->b, json);
}

int jw_done(const jw *w) { return w->rc; }
