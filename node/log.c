/* log.c - structured log lines (format in log.h).
 *
 * Each line is assembled in a stack buffer and written with one fwrite on an
 * unbuffered stream, so concurrent writers (only libwebsockets' logger and
 * ours, same thread) never interleave inside a line.  Overlong lines are cut
 * and end in "...".
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#define LOG_LINE_MAX 2048

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void node_log_init(node_log *lg, node_log_level level, FILE *out) {
  lg->level = level;
  lg->out = out;
}

const char *node_log_level_name(node_log_level l) {
  if ((int)l < 0 || (size_t)l >= sizeof level_names / sizeof level_names[0]) return NULL;
  return level_names[l];
}

const char *node_log_esc(char *dst, size_t cap, const char *s) {
  size_t o = 0;
  if (cap == 0) return dst;
  for (; s && *s && o + 2 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      dst[o++] = '\\';
      dst[o++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      dst[o++] = ' ';
    } else {
      dst[o++] = (char)c;
    }
  }
  dst[o] = '\0';
  return dst;
}

/* "2026-11-21T23:40:01.123Z" into buf. */
static void fmt_ts(char *buf, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
           (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
           tm.tm_sec % 100, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* Append to line at *len; keeps the terminator, never overflows. */
static void put(char *line, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (*len + n >= LOG_LINE_MAX) n = LOG_LINE_MAX - 1 - *len;
  memcpy(line + *len, s, n);
  *len += n;
  line[*len] = '\0';
}

static void emit(FILE *out, const char *level, const char *msg, const char *tail) {
  char line[LOG_LINE_MAX + 8], ts[40], esc[512];
  size_t len = 0;
  line[0] = '\0';
  fmt_ts(ts, sizeof ts);
  put(line, &len, "ts=");
  put(line, &len, ts);
  put(line, &len, " level=");
  put(line, &len, level);
  put(line, &len, " msg=\"");
  put(line, &len, node_log_esc(esc, sizeof esc, msg));
  put(line, &len, "\"");
  if (tail && *tail) {
    put(line, &len, " ");
    put(line, &len, tail);
  }
  if (len >= LOG_LINE_MAX - 1) {
    memcpy(line + LOG_LINE_MAX - 4, "...", 4);
    len = LOG_LINE_MAX - 1;
  }
  line[len++] = '\n';
  fwrite(line, 1, len, out);
  fflush(out);
}

void node_logf(const node_log *lg, node_log_level lvl, const char *msg, const char *kv_fmt, ...) {
  char tail[LOG_LINE_MAX];
  if (lvl < lg->level) return;
  tail[0] = '\0';
  if (kv_fmt && *kv_fmt) {
    va_list ap;
    va_start(ap, kv_fmt);
    vsnprintf(tail, sizeof tail, kv_fmt, ap);
    va_end(ap);
  }
  emit(lg->out ? lg->out : stderr, node_log_level_name(lvl), msg, tail);
}

/* libwebsockets hands us finished lines ending in '\n' and its own stamp. */
static void lws_emit(int level, const char *line) {
  char msg[512];
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  if (n >= sizeof msg) n = sizeof msg - 1;
  memcpy(msg, line, n);
  msg[n] = '\0';
  emit(stderr, (level & LLL_ERR) ? "error" : (level & LLL_WARN) ? "warn" : "info", msg,
       "src=lws");
}

void node_log_route_lws(int lws_level_mask) { lws_set_log_level(lws_level_mask, lws_emit); }
