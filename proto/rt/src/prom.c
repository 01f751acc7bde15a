/* prom.c - Prometheus text format helpers (rt/prom.h). */
#include "rt/prom.h"

#include "proto/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

int rt_prom_render(proto_buf *out, const rt_prom_metric *rows, size_t n, const void *ctx) {
  int rc = PROTO_OK;
  for (size_t i = 0; i < n && rc == PROTO_OK; i++) {
    rc = proto_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", rows[i].name, rows[i].help,
                          rows[i].name, rows[i].type);
    if (rc == PROTO_OK) rc = rows[i].emit(out, rows[i].name, ctx);
  }
  return rc;
}

int rt_prom_u64(proto_buf *out, const char *name, uint64_t v) {
  return proto_buf_printf(out, "%s %" PRIu64 "\n", name, v);
}

/* Label values escape \, " and newline (exposition format 0.0.4). */
static int label_value(proto_buf *out, const char *s) {
  int rc = proto_buf_puts(out, "\"");
  for (; rc == PROTO_OK && s && *s; s++) {
    if (*s == '\\' || *s == '"') rc = proto_buf_printf(out, "\\%c", *s);
    else if (*s == '\n') rc = proto_buf_puts(out, "\\n");
    else rc = proto_buf_append(out, s, 1);
  }
  return rc == PROTO_OK ? proto_buf_puts(out, "\"") : rc;
}

int rt_prom_labeled(proto_buf *out, const char *name, const char *label, const char *lv,
                    uint64_t v) {
  int rc = proto_buf_printf(out, "%s{%s=", name, label);
  if (rc == PROTO_OK) rc = label_value(out, lv);
  if (rc == PROTO_OK) rc = proto_buf_printf(out, "} %" PRIu64 "\n", v);
  return rc;
}

int rt_prom_seconds_summary(proto_buf *out, const char *name, uint64_t ns_total, uint64_t count) {
  return proto_buf_printf(out, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name,
                          (double)ns_total / 1e9, name, count);
}

int rt_prom_seconds(proto_buf *out, const char *name, uint64_t ns) {
  return proto_buf_printf(out, "%s %.9f\n", name, (double)ns / 1e9);
}

/* Resident set size: second field of /proc/self/statm, in pages. */
static int rss_bytes(uint64_t *out) {
  unsigned long size = 0, resident = 0;
  long page = sysconf(_SC_PAGESIZE);
  FILE *f = fopen("/proc/self/statm", "r");
  int n = f ? fscanf(f, "%lu %lu", &size, &resident) : 0;
  if (f) fclose(f);
  if (n != 2 || page <= 0) return -1;
  *out = (uint64_t)resident * (uint64_t)page;
  return 0;
}

int rt_prom_rss(proto_buf *out, const char *name) {
  uint64_t b = 0;
  return rss_bytes(&b) == 0 ? rt_prom_u64(out, name, b) : PROTO_OK;
}

uint64_t rt_rss_kb(void) {
  uint64_t b = 0;
  return rss_bytes(&b) == 0 ? b / 1024 : 0;
}
