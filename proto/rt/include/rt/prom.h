/* rt/prom.h - the Prometheus text exposition format (0.0.4), shared by the
 * /metrics pages of storenode and hq.
 *
 * A program lists its metrics as one table of rows (name, type, help, emit);
 * rt_prom_render() writes each row's # HELP / # TYPE lines and calls its
 * emit function for the samples, so help text and values cannot drift apart.
 * An emit function that has nothing to report (a figure that could not be
 * read) writes no sample: figures are skipped, never invented.
 */
#ifndef RT_PROM_H
#define RT_PROM_H

#include <stdint.h>

#include "proto/buf.h"

/* Write the samples of metric `name`; ctx is the program's source of
 * figures.  PROTO_OK or PROTO_ENOMEM. */
typedef int (*rt_prom_emit_fn)(proto_buf *out, const char *name, const void *ctx);

typedef struct rt_prom_metric {
  const char *name, *type, *help;  /* type: counter, gauge, summary, ... */
  rt_prom_emit_fn emit;
} rt_prom_metric;

/* Every row in order.  PROTO_ENOMEM if out could not grow. */
int rt_prom_render(proto_buf *out, const rt_prom_metric *rows, size_t n, const void *ctx);

/* `name value` */
int rt_prom_u64(proto_buf *out, const char *name, uint64_t v);
/* `name{label="lv"} value`; lv is escaped. */
int rt_prom_labeled(proto_buf *out, const char *name, const char *label, const char *lv,
                    uint64_t v);
/* A summary from a sum of nanoseconds and a count: `name_sum S` `name_count N`. */
int rt_prom_seconds_summary(proto_buf *out, const char *name, uint64_t ns_total, uint64_t count);
/* `name seconds` from nanoseconds. */
int rt_prom_seconds(proto_buf *out, const char *name, uint64_t ns);
/* process_resident_memory_bytes from /proc/self/statm; nothing if unreadable. */
int rt_prom_rss(proto_buf *out, const char *name);
/* Resident memory in kB (0 if unreadable), for heartbeats. */
uint64_t rt_rss_kb(void);

#endif
