/* node/log.h - structured log lines on stderr.
 *
 * One line per call, written with a single write so lines from libwebsockets
 * and from us never interleave mid-line:
 *
 *   ts=2026-11-21T23:40:01.123Z level=info msg="listening" addr=127.0.0.1 port=8080
 *
 * `msg` is quoted and escaped by the logger; the key=value tail is a printf
 * format chosen by the caller.  Values that may hold spaces or quotes go
 * through node_log_esc() and are written as key="%s".  PINs and session
 * tokens are never passed to the logger.
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { NODE_LOG_DEBUG, NODE_LOG_INFO, NODE_LOG_WARN, NODE_LOG_ERROR } node_log_level;

typedef struct node_log {
  node_log_level level;            /* lines below this level are dropped */
  FILE *out;                       /* stderr in the program */
} node_log;

void node_log_init(node_log *lg, node_log_level level, FILE *out);
/* Wire name of a level ("info"); NULL if out of range. */
const char *node_log_level_name(node_log_level l);

/* kv_fmt may be NULL or "" for no tail. */
void node_logf(const node_log *lg, node_log_level lvl, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Escape s for use inside a quoted value (", \, control bytes); always
 * NUL-terminates dst, truncating if needed.  Returns dst. */
const char *node_log_esc(char *dst, size_t cap, const char *s);

/* Route libwebsockets' own warnings and errors through the same format.
 * lws_level_mask: LLL_* bits to keep. */
void node_log_route_lws(int lws_level_mask);

#endif
