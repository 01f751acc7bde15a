/* config.c - the configuration file parser over a key table (rt/config.h).
 *
 * Defaults are applied by parsing each row's default text through the same
 * setter a file line goes through, so a default can never be out of its own
 * range, and --help and the docs are printed from the same rows.
 */
#include "rt/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/codec.h"
#include "rt/log.h"

#define LINE_MAX_LEN 1024

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
  if (err && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static const rt_cfg_key *find_key(const rt_cfg_table *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->keys[i].name, name) == 0) return &t->keys[i];
  return NULL;
}

static int parse_int(const rt_cfg_key *k, const char *v, int64_t *out, char *err, size_t cap) {
  char *end;
  long long n;
  errno = 0;
  n = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0')
    return fail(err, cap, "%s: '%s' is not an integer", k->name, v);
  if (n < k->min || n > k->max)
    return fail(err, cap, "%s: %lld out of range %lld..%lld", k->name, n, (long long)k->min,
                (long long)k->max);
  *out = n;
  return 0;
}

static int parse_bool(const rt_cfg_key *k, const char *v, bool *out, char *err, size_t cap) {
  static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
      *out = strcasecmp(v, yes[i]) == 0;
      return 0;
    }
  }
  return fail(err, cap, "%s: '%s' is not a boolean (true/false)", k->name, v);
}

static int parse_level(const rt_cfg_key *k, const char *v, rt_log_level *out, char *err,
                       size_t cap) {
  int l = rt_log_level_from_name(v);
  if (l < 0) return fail(err, cap, "%s: '%s' is not one of debug, info, warn, error", k->name, v);
  *out = (rt_log_level)l;
  return 0;
}

static int parse_str(const rt_cfg_key *k, const char *v, char *dst, char *err, size_t cap) {
  size_t n = strlen(v);
  if (n >= k->size) return fail(err, cap, "%s: longer than %zu bytes", k->name, k->size - 1);
  if ((int64_t)n < k->min) return fail(err, cap, "%s: must not be empty", k->name);
  if (k->kind == RT_CFG_ID && !proto_id_valid(v))
    return fail(err, cap, "%s: '%s' is not an id ([A-Za-z0-9_.:-], 1-63)", k->name, v);
  memcpy(dst, v, n + 1);
  return 0;
}

static int set_row(void *obj, const rt_cfg_key *k, const char *v, char *err, size_t cap) {
  char *field = (char *)obj + k->offset;
  switch (k->kind) {
    case RT_CFG_ID:
    case RT_CFG_STR: return parse_str(k, v, field, err, cap);
    case RT_CFG_INT: return parse_int(k, v, (int64_t *)(void *)field, err, cap);
    case RT_CFG_BOOL: return parse_bool(k, v, (bool *)(void *)field, err, cap);
    case RT_CFG_LEVEL: return parse_level(k, v, (rt_log_level *)(void *)field, err, cap);
  }
  return fail(err, cap, "%s: bad key kind", k->name);
}

int rt_cfg_set(const rt_cfg_table *t, void *obj, const char *key, const char *value, char *err,
               size_t cap) {
  const rt_cfg_key *k = find_key(t, key);
  if (!k) return fail(err, cap, "unknown key '%s'", key);
  return set_row(obj, k, value, err, cap);
}

int rt_cfg_defaults(const rt_cfg_table *t, void *obj, char *err, size_t cap) {
  int rc = 0;
  for (size_t i = 0; i < t->n && rc == 0; i++) rc = set_row(obj, &t->keys[i], t->keys[i].def, err, cap);
  return rc;
}

static char *trim(char *s) {
  char *e;
  while (isspace((unsigned char)*s)) s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* Split one line into key and value in place.  0 with *key NULL for a blank
 * or comment line, 0 with both set, or -1. */
static int split_line(char *line, char **key, char **value, char *err, size_t cap) {
  char *eq, *v, *hash;
  *key = NULL;
  line = trim(line);
  if (*line == '\0' || *line == '#') return 0;
  eq = strchr(line, '=');
  if (!eq) return fail(err, cap, "expected 'key = value'");
  *eq = '\0';
  *key = trim(line);
  v = trim(eq + 1);
  if (*v == '"') {
    char *close = strchr(v + 1, '"');
    if (!close) return fail(err, cap, "%s: unterminated quote", *key);
    *close = '\0';
    if (*trim(close + 1) != '\0' && *trim(close + 1) != '#')
      return fail(err, cap, "%s: text after the closing quote", *key);
    *value = v + 1;
    return 0;
  }
  for (hash = v; (hash = strchr(hash, '#')) != NULL; hash++) {
    if (hash > v && isspace((unsigned char)hash[-1])) {
      *hash = '\0';
      break;
    }
  }
  *value = trim(v);
  return 0;
}

/* One line: -1 with e set on a bad line; seen[] remembers each key's line. */
static int load_line(const rt_cfg_table *t, void *obj, char *line, int lineno, int *seen, char *e,
                     size_t ecap) {
  char *key = NULL, *value = NULL;
  const rt_cfg_key *k;
  if (split_line(line, &key, &value, e, ecap) != 0) return -1;
  if (!key) return 0;
  k = find_key(t, key);
  if (!k) return fail(e, ecap, "unknown key '%s'", key);
  if (seen[k - t->keys]) return fail(e, ecap, "%s: already set on line %d", key, seen[k - t->keys]);
  if (set_row(obj, k, value, e, ecap) != 0) return -1;
  seen[k - t->keys] = lineno;
  return 0;
}

int rt_cfg_load(const rt_cfg_table *t, void *obj, const char *path, char *err, size_t cap) {
  int rc = 0, lineno = 0;
  int *seen = calloc(t->n ? t->n : 1, sizeof *seen);
  char line[LINE_MAX_LEN + 2], e[256];
  FILE *f = seen ? fopen(path, "r") : NULL;
  if (!seen) return fail(err, cap, "%s: out of memory", path);
  if (!f) {
    free(seen);
    return fail(err, cap, "%s: cannot open: %s", path, strerror(errno));
  }
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    if (strlen(line) > LINE_MAX_LEN) {
      rc = fail(err, cap, "%s:%d: line longer than %d bytes", path, lineno, LINE_MAX_LEN);
    } else if (load_line(t, obj, line, lineno, seen, e, sizeof e) != 0) {
      rc = fail(err, cap, "%s:%d: %s", path, lineno, e);
    }
  }
  if (rc == 0 && ferror(f)) rc = fail(err, cap, "%s: read error: %s", path, strerror(errno));
  fclose(f);
  free(seen);
  return rc;
}

static const char *kind_name(const rt_cfg_key *k) {
  static const char *const names[] = {"id", "string", "integer", "bool", "level"};
  return names[k->kind];
}

void rt_cfg_print_keys(const rt_cfg_table *t, FILE *out) {
  for (size_t i = 0; i < t->n; i++) {
    const rt_cfg_key *k = &t->keys[i];
    char range[64] = "";
    if (k->kind == RT_CFG_INT)
      snprintf(range, sizeof range, " %lld..%lld", (long long)k->min, (long long)k->max);
    fprintf(out, "  %-20s %s%s, default %s\n  %-20s   %s\n", k->name, kind_name(k), range,
            *k->def ? k->def : "\"\"", "", k->help);
  }
}

void rt_cfg_print_markdown(const rt_cfg_table *t, FILE *out) {
  fprintf(out, "| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
  for (size_t i = 0; i < t->n; i++) {
    const rt_cfg_key *k = &t->keys[i];
    char range[64] = "";
    if (k->kind == RT_CFG_INT)
      snprintf(range, sizeof range, " %lld..%lld", (long long)k->min, (long long)k->max);
    fprintf(out, "| `%s` | %s%s | `%s` | %s |\n", k->name, kind_name(k), range,
            *k->def ? k->def : "\"\"", k->help);
  }
}

void rt_cfg_print(const rt_cfg_table *t, const void *obj, FILE *out) {
  for (size_t i = 0; i < t->n; i++) {
    const rt_cfg_key *k = &t->keys[i];
    const char *field = (const char *)obj + k->offset;
    switch (k->kind) {
      case RT_CFG_ID:
      case RT_CFG_STR: fprintf(out, "%s = \"%s\"\n", k->name, field); break;
      case RT_CFG_INT:
        fprintf(out, "%s = %lld\n", k->name, (long long)*(const int64_t *)(const void *)field);
        break;
      case RT_CFG_BOOL:
        fprintf(out, "%s = %s\n", k->name, *(const bool *)(const void *)field ? "true" : "false");
        break;
      case RT_CFG_LEVEL:
        fprintf(out, "%s = %s\n", k->name,
                rt_log_level_name(*(const rt_log_level *)(const void *)field));
        break;
    }
  }
}
