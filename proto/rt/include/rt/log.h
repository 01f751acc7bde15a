/* rt/log.h - structured log lines on stderr, shared by storenode and hq.
 *
 * One line per call, written with a single write so lines from libwebsockets
 * and from us never interleave mid-line:
 *
 *   ts=2026-11-21T23:40:01.123Z level=info msg="listening" addr=127.0.0.1 port=8080
 *
 * `msg` is quoted and escaped by the logger; the key=value tail is a printf
 * format chosen by the caller.  Values that may hold spaces or quotes go
 * through rt_log_esc() and are written as key="%s".  Secrets (PINs, session
 * and API tokens) are never passed to the logger.
 */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { RT_LOG_DEBUG, RT_LOG_INFO, RT_LOG_WARN, RT_LOG_ERROR } rt_log_level;

typedef struct rt_log {
  rt_log_level level;              /* lines below this level are dropped */
  FILE *out;                       /* stderr in the programs */
} rt_log;

void rt_log_init(rt_log *lg, rt_log_level level, FILE *out);
/* Wire name of a level ("info"); NULL if out of range. */
const char *rt_log_level_name(rt_log_level l);
/* Level from its name; -1 if unknown. */
int rt_log_level_from_name(const char *name);

/* kv_fmt may be NULL or "" for no tail. */
void rt_logf(const rt_log *lg, rt_log_level lvl, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Escape s for use inside a quoted value (", \, control bytes); always
 * NUL-terminates dst, truncating if needed.  Returns dst. */
const char *rt_log_esc(char *dst, size_t cap, const char *s);

/* Route libwebsockets' own warnings and errors through the same format.
 * lws_level_mask: LLL_* bits to keep. */
void rt_log_route_lws(int lws_level_mask);

#endif
