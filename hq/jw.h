/* hq/jw.h - a small JSON writer over proto_buf for the API's answers.
 *
 * Sticky errors: every call after a failure does nothing, and jw_done()
 * returns the first failure (PROTO_ENOMEM) or PROTO_OK, so a writer reads
 * as a straight list of fields.  Commas are tracked per nesting level; key
 * is NULL for array elements and the top level.  Strings are escaped by
 * proto_buf_json_string (UTF-8 passes through).
 */
#ifndef HQ_JW_H
#define HQ_JW_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/error.h"

#define HQ_JW_DEPTH 12

typedef struct jw {
  proto_buf *b;
  int rc;
  int depth;
  bool more[HQ_JW_DEPTH];          /* a value was written at this level */
} jw;

void jw_init(jw *w, proto_buf *b);
void jw_obj(jw *w, const char *key);
void jw_end(jw *w);                /* closes the innermost object */
void jw_arr(jw *w, const char *key);
void jw_end_arr(jw *w);
void jw_str(jw *w, const char *key, const char *v);
/* A string member only when v is non-empty. */
void jw_str_opt(jw *w, const char *key, const char *v);
void jw_int(jw *w, const char *key, int64_t v);
void jw_u64(jw *w, const char *key, uint64_t v);
void jw_bool(jw *w, const char *key, bool v);
void jw_null(jw *w, const char *key);
/* A number with up to 6 decimals (coordinates). */
void jw_fixed6(jw *w, const char *key, int64_t e6);
/* Raw JSON text as the value (already valid JSON). */
void jw_raw(jw *w, const char *key, const char *json);
int jw_done(const jw *w);

#endif
