/* rt/config.h - table-driven `key = value` configuration files, shared by
 * storenode and hq.
 *
 * File format: `key = value` per line; blank lines and lines starting with
 * `#` are ignored; an unquoted value ends at ` #` (trailing comment); a value
 * may be written in double quotes to keep `#` or surrounding spaces.  Every
 * key is one row of the program's table (type, range, default, help), which
 * is also what --help and the docs print, so they cannot drift.  Unknown
 * keys, repeated keys and out-of-range values are errors naming the file,
 * line and key.
 *
 * A row points into the program's config struct by offset:
 *   RT_CFG_ID/STR    char[size]     (ID: [A-Za-z0-9_.:-]{1,63}; STR: min = min length)
 *   RT_CFG_INT       int64_t        (min..max)
 *   RT_CFG_BOOL      bool           (true/false/yes/no/on/off/1/0)
 *   RT_CFG_LEVEL     rt_log_level   (debug/info/warn/error)
 */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt/log.h"

typedef enum { RT_CFG_ID, RT_CFG_STR, RT_CFG_INT, RT_CFG_BOOL, RT_CFG_LEVEL } rt_cfg_kind;

typedef struct rt_cfg_key {
  const char *name;
  rt_cfg_kind kind;
  size_t offset, size;             /* member of the config struct; size for strings */
  int64_t min, max;                /* INT range; STR/ID: min length */
  const char *def;                 /* default, in file syntax */
  const char *help;
} rt_cfg_key;

typedef struct rt_cfg_table {
  const rt_cfg_key *keys;
  size_t n;
} rt_cfg_table;

/* Row builders for a struct type T and member m. */
#define RT_CFG_ROW_STR(T, m, lo, d, h) \
  {#m, RT_CFG_STR, offsetof(T, m), sizeof(((T *)0)->m), lo, 0, d, h}
#define RT_CFG_ROW_ID(T, m, d, h) {#m, RT_CFG_ID, offsetof(T, m), sizeof(((T *)0)->m), 1, 0, d, h}
#define RT_CFG_ROW_INT(T, m, lo, hi, d, h) {#m, RT_CFG_INT, offsetof(T, m), sizeof(int64_t), lo, hi, d, h}
#define RT_CFG_ROW_BOOL(T, m, d, h) {#m, RT_CFG_BOOL, offsetof(T, m), sizeof(bool), 0, 0, d, h}
#define RT_CFG_ROW_LEVEL(T, m, d, h) {#m, RT_CFG_LEVEL, offsetof(T, m), sizeof(rt_log_level), 0, 0, d, h}

/* Every key at its default (the caller zeroes obj first).  -1 (err says which key)
 * only if the table's own default is bad: a bug in the table. */
int rt_cfg_defaults(const rt_cfg_table *t, void *obj, char *err, size_t cap);
/* Set one key from its text form.  -1 naming the key on an unknown key or a
 * bad value; obj is unchanged then. */
int rt_cfg_set(const rt_cfg_table *t, void *obj, const char *key, const char *value, char *err,
               size_t cap);
/* Read a file over obj (which should hold the defaults).  On error obj may
 * hold the keys of the lines before the bad one; err says "FILE:LINE: key: why". */
int rt_cfg_load(const rt_cfg_table *t, void *obj, const char *path, char *err, size_t cap);
/* The key table as help text: name, type, range, default, description. */
void rt_cfg_print_keys(const rt_cfg_table *t, FILE *out);
/* The table as a Markdown table (for the docs). */
void rt_cfg_print_markdown(const rt_cfg_table *t, FILE *out);
/* The effective configuration in file format (loads back to the same). */
void rt_cfg_print(const rt_cfg_table *t, const void *obj, FILE *out);

#endif
