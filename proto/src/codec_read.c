/* codec_read.c - the reference JSON decoders (events, version vectors), the
 * byte-level precheck, and the identifier and value checks shared with the
 * encoder.
 *
 * proto_event_decode (codec_fast.c) first tries a single-pass reader and
 * comes here for anything it is not sure of; so this pipeline defines the
 * decoder's behaviour, and it alone words every error.  Version vectors
 * come here directly (proto_vv_decode, or proto__vv_from_json for the tree
 * of a hello/ack message).  Decoding pipeline (proto__event_decode_tree,
 * proto_vv_decode):
 *
 *   bytes --size--> precheck --cJSON--> tree --tables--> typed struct
 *          ETOOLONG  EUTF8      EJSON         EMISSING ETYPE ERANGE
 *          EJSON     EDEPTH                   ETOOLONG EINVAL EENUM
 *                    EJSON                    EVERSION EUNKNOWN_TYPE
 *
 * The precheck exists because cJSON 1.7.15 checks neither UTF-8 nor (below
 * its own limit of 1000) depth.  It also refuses what cJSON would accept
 * but we must not: raw control characters (JSON forbids them; cJSON skips
 * any byte <= 0x20 as whitespace) and \u0000 inside strings, which cJSON
 * decodes into a NUL that would silently cut a C string short (refused as
 * PROTO_EINVAL).  The same goes for a \u escape without four hex digits,
 * which cJSON also decodes into a NUL (PROTO_EJSON); a lone surrogate
 * escape, which cJSON refuses without saying why, is PROTO_EUTF8 here, as
 * its raw bytes would be.  After parsing, anything but whitespace after the
 * value is refused too (cJSON_ParseWithLength would ignore it).
 *
 * proto__event_from_json() trusts its tree to come from input that passed
 * the precheck; it still checks the UTF-8 of every string it keeps.
 *
 * A key given twice in an object we read is refused (PROTO_EINVAL): cJSON
 * keeps the first, other parsers the last, and peers must not disagree on
 * what an event says.  Unknown keys are ignored.
 *
 * Numbers are judged by their double value, which is exact for every range
 * we accept (all within 2^53).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec_int.h"

#define SEQ_MAX ((int64_t)PROTO_SEQ_MAX)

/* ---- bytes and identifiers ------------------------------------------------ */

size_t proto__utf8_bad(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t k = proto__utf8_seq(p + i, n - i);
    if (!k) return i;
    i += k;
  }
  return n;
}

/* [A-Za-z0-9_.:-] by byte value (a table: strspn rebuilds one per call). */
static const unsigned char id_char[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, /* 20  - . */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 30  0-9 : */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40  A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 50  P-Z _ */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60  a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 70  p-z */
};

int proto_id_valid(const char *s) {
  size_t n = 0;
  if (!s) return 0;
  while (n < PROTO_ID_MAX && id_char[(unsigned char)s[n]]) n++;
  return n >= 1 && n < PROTO_ID_MAX && s[n] == '\0';
}

void proto__path_join(char *dst, size_t cap, const char *path, const char *key) {
  if (*path)
    snprintf(dst, cap, "%s.%s", path, key);
  else
    snprintf(dst, cap, "%s", key);
}

void proto__quote(char *dst, size_t cap, const char *s) {
  size_t i = 0;
  for (; s[i] && i < 32 && i + 4 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    dst[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
  }
  if (s[i] && i + 4 <= cap) {
    memcpy(dst + i, "...", 3);
    i += 3;
  }
  dst[i] = '\0';
}

/* ---- value checks shared with the encoder --------------------------------- */

int proto__check_string(const proto__field *f, const char *s, const char *path, bool enc,
                        proto_err *err) {
  bool id = f->kind == PROTO__F_ID || f->kind == PROTO__F_ID_OPT;
  bool opt = f->kind == PROTO__F_ID_OPT || f->kind == PROTO__F_TEXT_OPT;
  size_t len = strlen(s), limit = f->size - 1;
  char q[40];
  if (len > limit)
    return proto_err_set(err, enc ? PROTO_EINVAL : PROTO_ETOOLONG, "%s: %zu bytes, limit %zu",
                         path, len, limit);
  if (len == 0) return opt ? PROTO_OK : proto_err_set(err, PROTO_EINVAL, "%s: empty", path);
  if (id && !proto_id_valid(s)) {
    proto__quote(q, sizeof q, s);
    return proto_err_set(err, PROTO_EINVAL, "%s: \"%s\" is not an identifier [A-Za-z0-9_.:-]",
                         path, q);
  }
  size_t bad = proto__utf8_bad(s, len);
  if (bad < len)
    return proto_err_set(err, enc ? PROTO_EINVAL : PROTO_EUTF8, "%s: invalid UTF-8 at byte %zu",
                         path, bad);
  return PROTO_OK;
}

bool proto__string_ok(const proto__field *f, const char *s, size_t len) {
  bool id = f->kind == PROTO__F_ID || f->kind == PROTO__F_ID_OPT;
  bool opt = f->kind == PROTO__F_ID_OPT || f->kind == PROTO__F_TEXT_OPT;
  if (len == 0) return opt;
  return !id || proto_id_valid(s);
}

int proto__check_int(const proto__field *f, int64_t v, const char *path, bool enc,
                     proto_err *err) {
  int code = enc ? PROTO_EINVAL : PROTO_ERANGE;
  if (v < f->min || v > f->max)
    return proto_err_set(err, code, "%s: %" PRId64 " is out of range %" PRId64 "..%" PRId64, path,
                         v, f->min, f->max);
  if (f->nonzero && v == 0)
    return proto_err_set(err, code, "%s: 0 is not allowed (non-zero, |x| <= %" PRId64 ")", path,
                         f->max);
  return PROTO_OK;
}

/* ---- precheck ---------------------------------------------------------------- */

/* The four hex digits at p (avail bytes there) as a number, or -1. */
static long hex4(const unsigned char *p, size_t avail) {
  long v = 0;
  for (size_t k = 0; k < 4; k++) {
    unsigned c = k < avail ? p[k] : 0, lower = c | 0x20u; /* A-F as a-f */
    if (c - '0' < 10u)
      v = v * 16 + (long)(c - '0');
    else if (lower - 'a' < 6u)
      v = v * 16 + (long)(lower - 'a' + 10);
    else
      return -1;
  }
  return v;
}

/* The \u escape at i (a backslash, then 'u', inside a string): *n = the
 * bytes it spans (6, or 12 for a surrogate pair).  cJSON 1.7.15 turns a
 * non-hex escape into a NUL ("ab\uzzzzcd" would read as "ab") and \u0000
 * into a real one (see top); a lone surrogate is no character, just as the
 * raw bytes ED A0 80 are not UTF-8. */
static int u_escape(const unsigned char *p, size_t len, size_t i, size_t *n, proto_err *err) {
  static const char no_hex[] = "offset %zu: \\u escape without 4 hex digits";
  long cp = hex4(p + i + 2, len - i - 2), lo = -1;
  *n = 6;
  if (cp < 0) return proto_err_set(err, PROTO_EJSON, no_hex, i);
  if (cp == 0) return proto_err_set(err, PROTO_EINVAL, "offset %zu: \\u0000 in a string", i);
  if (cp < 0xD800 || cp > 0xDFFF) return PROTO_OK;
  if (cp <= 0xDBFF && i + 8 <= len && p[i + 6] == '\\' && p[i + 7] == 'u') {
    lo = hex4(p + i + 8, len - i - 8);
    if (lo < 0) return proto_err_set(err, PROTO_EJSON, no_hex, i + 6);
  }
  if (lo < 0xDC00 || lo > 0xDFFF)
    return proto_err_set(err, PROTO_EUTF8, "offset %zu: lone surrogate \\u%04lX", i,
                         (unsigned long)cp);
  *n = 12;
  return PROTO_OK;
}

int proto_json_precheck(const char *json, size_t len, int max_depth, proto_err *err) {
  const unsigned char *p = (const unsigned char *)json;
  bool in_str = false;
  int depth = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i];
    if (c >= 0x80) {
      size_t n = proto__utf8_seq(p + i, len - i);
      if (!n) return proto_err_set(err, PROTO_EUTF8, "offset %zu: invalid UTF-8 byte 0x%02X", i, c);
      i += n;
      continue;
    }
    if (c < 0x20 && (in_str || (c != ' ' && c != '\t' && c != '\n' && c != '\r')))
      return proto_err_set(err, PROTO_EJSON, "offset %zu: control character 0x%02X", i, c);
    if (in_str) {
      if (c == '\\' && i + 1 < len && p[i + 1] == 'u') {
        size_t n;
        int rc = u_escape(p, len, i, &n, err);
        if (rc != PROTO_OK) return rc;
        i += n;
        continue;
      }
      if (c == '\\' && i + 1 < len && p[i + 1] < 0x80) i++; /* skip the escaped byte */
      if (c == '"') in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return proto_err_set(err, PROTO_EDEPTH, "offset %zu: nesting deeper than %d", i,
                             max_depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
    i++;
  }
  return PROTO_OK;
}

/* Size limit, precheck, parse, and nothing but whitespace after the value.
 * On success *out is the tree (caller deletes); on failure NULL. */
static int parse(const char *json, size_t len, size_t max, const char *what, cJSON **out,
                 proto_err *err) {
  *out = NULL;
  if (!json || len == 0) return proto_err_set(err, PROTO_EJSON, "%s: empty input", what);
  if (len > max)
    return proto_err_set(err, PROTO_ETOOLONG, "%s: %zu bytes, limit %zu", what, len, max);
  int rc = proto_json_precheck(json, len, PROTO_JSON_DEPTH_MAX, err);
  if (rc != PROTO_OK) return rc;
  const char *end = NULL;
  /* cJSON reports neither cause nor place of failure other than through
   * end; an allocation failure inside it also lands here as EJSON. */
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
  if (!root) return proto_err_set(err, PROTO_EJSON, "%s: malformed JSON at offset %zu", what, at);
  while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r'))
    at++;
  if (at < len) {
    cJSON_Delete(root);
    return proto_err_set(err, PROTO_EJSON, "%s: unexpected data after the JSON value at offset %zu",
                         what, at);
  }
  *out = root;
  return PROTO_OK;
}

/* ---- tree access --------------------------------------------------------------- */

static const char *jtype(const cJSON *j) {
  if (cJSON_IsString(j)) return "string";
  if (cJSON_IsNumber(j)) return "number";
  if (cJSON_IsBool(j)) return "bool";
  if (cJSON_IsNull(j)) return "null";
  if (cJSON_IsArray(j)) return "array";
  return "object";
}

static int wrong_type(const char *fp, const char *want, const cJSON *j, proto_err *err) {
  return proto_err_set(err, PROTO_ETYPE, "%s: expected %s, got %s", fp, want, jtype(j));
}

/* The member `key` of obj, or *out NULL if absent. */
static int member(const cJSON *obj, const char *key, const char *fp, const cJSON **out,
                  proto_err *err) {
  *out = NULL;
  for (const cJSON *c = obj->child; c; c = c->next) {
    if (!c->string || strcmp(c->string, key) != 0) continue;
    if (*out) return proto_err_set(err, PROTO_EINVAL, "%s: key given twice", fp);
    *out = c;
  }
  return PROTO_OK;
}

/* An integer JSON value within f's range (ETYPE / ERANGE). */
static int json_int(const proto__field *f, const cJSON *j, const char *fp, int64_t *out,
                    proto_err *err) {
  if (!cJSON_IsNumber(j)) return wrong_type(fp, "an integer", j, err);
  double d = j->valuedouble;
  if (!(d >= (double)f->min && d <= (double)f->max))
    return proto_err_set(err, PROTO_ERANGE, "%s: %.17g is out of range %" PRId64 "..%" PRId64, fp,
                         d, f->min, f->max);
  int64_t v = (int64_t)d;
  if ((double)v != d) return proto_err_set(err, PROTO_ERANGE, "%s: %.17g is not an integer", fp, d);
  *out = v;
  return proto__check_int(f, v, fp, false, err);
}

void proto__store_int(const proto__field *f, void *p, int64_t v) {
  switch (f->kind) {
    case PROTO__F_I32: *(int32_t *)p = (int32_t)v; break;
    case PROTO__F_U32: *(uint32_t *)p = (uint32_t)v; break;
    case PROTO__F_I64: *(int64_t *)p = v; break;
    default: *(uint64_t *)p = (uint64_t)v; break;
  }
}

static int decode_fields(const proto__body *b, const cJSON *obj, const char *path, void *base,
                         proto_err *err);

static int decode_items(const proto__field *f, const cJSON *arr, const char *fp, void *base,
                        proto_err *err) {
  proto_item *items = (proto_item *)((char *)base + f->off);
  int64_t n = 0;
  for (const cJSON *e = arr->child; e; e = e->next) n++;
  if (n > f->max)
    return proto_err_set(err, PROTO_ETOOLONG, "%s: %" PRId64 " entries, limit %" PRId64, fp, n,
                         f->max);
  if (n < f->min)
    return proto_err_set(err, PROTO_EINVAL, "%s: %" PRId64 " entries, need %" PRId64 "..%" PRId64,
                         fp, n, f->min, f->max);
  int rc = PROTO_OK;
  uint32_t i = 0;
  for (const cJSON *e = arr->child; rc == PROTO_OK && e; e = e->next, i++) {
    char sub[PROTO__PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s[%" PRIu32 "]", fp, i);
    rc = decode_fields(&proto__body_order_line, e, sub, &items[i], err);
  }
  *(uint32_t *)((char *)base + f->count_off) = i;
  return rc;
}

/* {"<origin>": seq, ...}: each key an identifier, given once. */
static int decode_seen(const proto__field *f, const cJSON *obj, const char *fp, void *base,
                       proto_err *err) {
  proto_seen *seen = (proto_seen *)((char *)base + f->off);
  int64_t n = 0;
  for (const cJSON *e = obj->child; e; e = e->next) n++;
  if (n > f->max)
    return proto_err_set(err, PROTO_ETOOLONG, "%s: %" PRId64 " entries, limit %" PRId64, fp, n,
                         f->max);
  int rc = PROTO_OK;
  uint32_t i = 0;
  for (const cJSON *e = obj->child; rc == PROTO_OK && e; e = e->next, i++) {
    char sub[PROTO__PATH_MAX], q[40];
    int64_t v = 0;
    proto__quote(q, sizeof q, e->string ? e->string : "");
    proto__path_join(sub, sizeof sub, fp, q);
    rc = proto__check_string(&proto__origin_key, e->string ? e->string : "", sub, false, err);
    for (uint32_t j = 0; rc == PROTO_OK && j < i; j++)
      if (strcmp(seen[j].origin, e->string) == 0)
        rc = proto_err_set(err, PROTO_EINVAL, "%s: origin given twice", sub);
    if (rc == PROTO_OK) rc = json_int(&proto__seen_seq, e, sub, &v, err);
    if (rc == PROTO_OK) {
      memcpy(seen[i].origin, e->string, strlen(e->string) + 1);
      seen[i].seq = (uint64_t)v;
    }
  }
  *(uint32_t *)((char *)base + f->count_off) = i;
  return rc;
}

/* The value j of field f (present) into its member. */
static int decode_value(const proto__field *f, const cJSON *j, const char *fp, void *base,
                        proto_err *err) {
  char *p = (char *)base + f->off;
  int64_t v = 0;
  int rc;
  switch (f->kind) {
    case PROTO__F_ID:
    case PROTO__F_ID_OPT:
    case PROTO__F_TEXT:
    case PROTO__F_TEXT_OPT:
      if (!cJSON_IsString(j) || !j->valuestring) return wrong_type(fp, "a string", j, err);
      rc = proto__check_string(f, j->valuestring, fp, false, err);
      if (rc == PROTO_OK) memcpy(p, j->valuestring, strlen(j->valuestring) + 1);
      return rc;
    case PROTO__F_I32:
    case PROTO__F_U32:
    case PROTO__F_I64:
    case PROTO__F_U64:
      rc = json_int(f, j, fp, &v, err);
      if (rc == PROTO_OK) proto__store_int(f, p, v);
      return rc;
    case PROTO__F_BOOL:
      if (!cJSON_IsBool(j)) return wrong_type(fp, "true or false", j, err);
      *(bool *)p = cJSON_IsTrue(j);
      return PROTO_OK;
    case PROTO__F_ENUM: {
      char q[40];
      if (!cJSON_IsString(j) || !j->valuestring) return wrong_type(fp, "a string", j, err);
      for (int i = 0; i < f->en->count; i++) {
        if (strcmp(f->en->name(i), j->valuestring) == 0) {
          memcpy(p, &i, sizeof i); /* int-sized enum, see codec.c */
          return PROTO_OK;
        }
      }
      proto__quote(q, sizeof q, j->valuestring);
      return proto_err_set(err, PROTO_EENUM, "%s: unknown value \"%s\"", fp, q);
    }
    case PROTO__F_ITEMS:
      if (!cJSON_IsArray(j)) return wrong_type(fp, "an array", j, err);
      return decode_items(f, j, fp, base, err);
    case PROTO__F_SEEN:
      if (!cJSON_IsObject(j)) return wrong_type(fp, "an object", j, err);
      return decode_seen(f, j, fp, base, err);
  }
  return proto_err_set(err, PROTO_EINVAL, "%s: bad field kind", fp);
}

static bool optional(const proto__field *f) {
  return f->kind == PROTO__F_ID_OPT || f->kind == PROTO__F_TEXT_OPT;
}

/* Look up f in obj and decode it; absent optional strings stay "". */
static int decode_field(const proto__field *f, const cJSON *obj, const char *path, void *base,
                        proto_err *err) {
  char fp[PROTO__PATH_MAX];
  const cJSON *j;
  proto__path_join(fp, sizeof fp, path, f->key);
  int rc = member(obj, f->key, fp, &j, err);
  if (rc != PROTO_OK) return rc;
  if (!j) return optional(f) ? PROTO_OK : proto_err_set(err, PROTO_EMISSING, "%s: missing", fp);
  return decode_value(f, j, fp, base, err);
}

/* Every field of table b from obj into base, which the caller zeroed. */
static int decode_fields(const proto__body *b, const cJSON *obj, const char *path, void *base,
                         proto_err *err) {
  if (!cJSON_IsObject(obj)) return wrong_type(path, "an object", obj, err);
  int rc = PROTO_OK;
  for (size_t i = 0; rc == PROTO_OK && i < b->n; i++)
    rc = decode_field(&b->f[i], obj, path, base, err);
  return rc;
}

/* The body decoders of the type table (the envelope zeroed ev). */
#define PROTO__BODY_DECODER(name)                                               \
  int proto__decode_##name(const cJSON *b, proto_event *ev, proto_err *err) {   \
    return decode_fields(&proto__body_##name, b, "body", &ev->body.name, err);  \
  }
PROTO__BODY_DECODER(dispatched)
PROTO__BODY_DECODER(step)
PROTO__BODY_DECODER(rejected)
PROTO__BODY_DECODER(shipped)
PROTO__BODY_DECODER(cancelled)
PROTO__BODY_DECODER(reminded)
PROTO__BODY_DECODER(item)
PROTO__BODY_DECODER(resolved)
PROTO__BODY_DECODER(rider)
PROTO__BODY_DECODER(delta)
PROTO__BODY_DECODER(stocktake)
PROTO__BODY_DECODER(avail)
PROTO__BODY_DECODER(catalog)
#undef PROTO__BODY_DECODER

/* Any subset, at least one, of the settings table's keys. */
int proto__decode_settings(const cJSON *b, proto_event *ev, proto_err *err) {
  proto_ev_settings *s = &ev->body.settings;
  const proto_settings_field_info *tbl = proto_settings_fields();
  if (!cJSON_IsObject(b)) return wrong_type("body", "an object", b, err);
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    proto__field f = proto__settings_field(&tbl[i]);
    char fp[PROTO__PATH_MAX];
    const cJSON *j;
    proto__path_join(fp, sizeof fp, "body", f.key);
    int rc = member(b, f.key, fp, &j, err);
    if (rc == PROTO_OK && j) rc = decode_value(&f, j, fp, &s->v, err);
    if (rc != PROTO_OK) return rc;
    if (j) s->present |= UINT32_C(1) << i;
  }
  if (!s->present) return proto_err_set(err, PROTO_EMISSING, "body: no settings field present");
  return PROTO_OK;
}

/* ---- envelope ------------------------------------------------------------------ */

/* "v" first: a newer major may change anything else. */
static int decode_version(const cJSON *obj, proto_event *ev, proto_err *err) {
  static const proto__field vf = {.key = "v", .klen = 1, .kind = PROTO__F_U32, .min = 1,
                                  .max = INT32_MAX};
  const cJSON *j;
  int64_t v = 0;
  int rc = member(obj, "v", "v", &j, err);
  if (rc == PROTO_OK && !j) rc = proto_err_set(err, PROTO_EMISSING, "v: missing");
  if (rc == PROTO_OK) rc = json_int(&vf, j, "v", &v, err);
  if (rc == PROTO_OK && v > PROTO_VERSION)
    rc = proto_err_set(err, PROTO_EVERSION, "v: %" PRId64 " is newer than supported %d", v,
                       PROTO_VERSION);
  if (rc == PROTO_OK) ev->v = (uint32_t)v;
  return rc;
}

static int decode_type(const cJSON *obj, proto_event *ev, const proto__type_info **ti,
                       proto_err *err) {
  const cJSON *j;
  char q[40];
  int rc = member(obj, "type", "type", &j, err);
  if (rc != PROTO_OK) return rc;
  if (!j) return proto_err_set(err, PROTO_EMISSING, "type: missing");
  if (!cJSON_IsString(j) || !j->valuestring) return wrong_type("type", "a string", j, err);
  if (proto_event_type_from_name(j->valuestring, &ev->type) != PROTO_OK) {
    proto__quote(q, sizeof q, j->valuestring);
    return proto_err_set(err, PROTO_EUNKNOWN_TYPE, "type: unknown event type \"%s\"", q);
  }
  *ti = proto__type_info_of(ev->type);
  return PROTO_OK;
}

/* Canonical decimal: digits only, no sign, no leading zero, 1..UINT64_MAX. */
static int decode_hlc(const cJSON *obj, proto_event *ev, proto_err *err) {
  const cJSON *j;
  char q[40];
  int rc = member(obj, "hlc", "hlc", &j, err);
  if (rc != PROTO_OK) return rc;
  if (!j) return proto_err_set(err, PROTO_EMISSING, "hlc: missing");
  if (!cJSON_IsString(j) || !j->valuestring) return wrong_type("hlc", "a decimal string", j, err);
  const char *s = j->valuestring;
  size_t n = strlen(s);
  proto__quote(q, sizeof q, s);
  if (n == 0 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
    return proto_err_set(err, PROTO_EINVAL, "hlc: \"%s\" is not a decimal integer", q);
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return proto_err_set(err, PROTO_ERANGE, "hlc: %s is out of range 1..%" PRIu64, q, UINT64_MAX);
    v = v * 10 + d;
  }
  if (v == 0)
    return proto_err_set(err, PROTO_ERANGE, "hlc: 0 is out of range 1..%" PRIu64, UINT64_MAX);
  ev->hlc = v;
  return PROTO_OK;
}

/* Checks in order v, type, origin, seq, store, hlc, body. */
int proto__event_from_json(const cJSON *obj, proto_event *ev, proto_err *err) {
  const proto__type_info *ti = NULL;
  const cJSON *body = NULL;
  memset(ev, 0, sizeof *ev);
  if (!cJSON_IsObject(obj)) return wrong_type("event", "an object", obj, err);
  int rc = decode_version(obj, ev, err);
  if (rc == PROTO_OK) rc = decode_type(obj, ev, &ti, err);
  if (rc == PROTO_OK) rc = decode_fields(&proto__body_envelope, obj, "", ev, err);
  if (rc == PROTO_OK) rc = decode_hlc(obj, ev, err);
  if (rc == PROTO_OK) rc = member(obj, "body", "body", &body, err);
  if (rc == PROTO_OK && !body) rc = proto_err_set(err, PROTO_EMISSING, "body: missing");
  if (rc == PROTO_OK && !cJSON_IsObject(body)) rc = wrong_type("body", "an object", body, err);
  if (rc == PROTO_OK) rc = ti->decode(body, ev, err);
  return rc;
}

int proto__event_decode_tree(const char *json, size_t len, proto_event *ev, proto_err *err) {
  cJSON *root = NULL;
  int rc = parse(json, len, PROTO_EVENT_JSON_MAX, "event", &root, err);
  if (rc == PROTO_OK) rc = proto__event_from_json(root, ev, err);
  cJSON_Delete(root);
  return rc;
}

/* ---- version vectors -------------------------------------------------------- */

/* One "<origin>": {"c": n, "h": [...]} member into tmp. */
static int decode_vv_entry(const cJSON *e, proto_vv *tmp, proto_err *err) {
  static const proto__field cf = {.key = "c", .klen = 1, .kind = PROTO__F_U64, .min = 0,
                                  .max = SEQ_MAX};
  const char *o = e->string ? e->string : "";
  char fp[PROTO__PATH_MAX], sub[PROTO__PATH_MAX + 32], q[40];
  const cJSON *h = NULL;
  uint64_t c = 0;
  proto__quote(q, sizeof q, o);
  proto__path_join(fp, sizeof fp, "vv", q);
  int rc = proto__check_string(&proto__origin_key, o, fp, false, err);
  if (rc == PROTO_OK && !cJSON_IsObject(e)) rc = wrong_type(fp, "an object", e, err);
  if (rc == PROTO_OK && proto_vv_find(tmp, o))
    rc = proto_err_set(err, PROTO_EINVAL, "%s: origin given twice", fp);
  if (rc == PROTO_OK) rc = decode_field(&cf, e, fp, &c, err);
  if (rc == PROTO_OK) rc = member(e, "h", fp, &h, err);
  if (rc == PROTO_OK && h && !cJSON_IsArray(h)) rc = wrong_type(fp, "an array for h", h, err);
  if (rc == PROTO_OK && c > 0) rc = proto_vv_advance(tmp, o, c);
  proto__field hf = {.key = "h", .klen = 1, .kind = PROTO__F_U64, .min = (int64_t)c + 2,
                     .max = SEQ_MAX};
  size_t i = 0;
  for (const cJSON *s = h ? h->child : NULL; rc == PROTO_OK && s; s = s->next, i++) {
    int64_t v = 0;
    snprintf(sub, sizeof sub, "%s.h[%zu]", fp, i);
    if (hf.min > SEQ_MAX) /* c is the largest seq: nothing can be held above it */
      return proto_err_set(err, PROTO_ERANGE, "%s: nothing can follow c = %" PRIu64, sub, c);
    rc = json_int(&hf, s, sub, &v, err);
    if (rc == PROTO_OK) rc = proto_vv_add(tmp, o, (uint64_t)v, NULL);
    hf.min = v + 1; /* strictly ascending */
  }
  if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "%s: out of memory", fp);
  return rc;
}

/* Decoded into a fresh vector, swapped in only on success. */
int proto__vv_from_json(const cJSON *obj, proto_vv *vv, proto_err *err) {
  proto_vv tmp;
  int rc = cJSON_IsObject(obj) ? PROTO_OK : wrong_type("vv", "an object", obj, err);
  proto_vv_init(&tmp);
  for (const cJSON *e = rc == PROTO_OK ? obj->child : NULL; rc == PROTO_OK && e; e = e->next)
    rc = decode_vv_entry(e, &tmp, err);
  if (rc != PROTO_OK) {
    proto_vv_close(&tmp);
    return rc;
  }
  proto_vv_close(vv);
  *vv = tmp;
  return PROTO_OK;
}

int proto_vv_decode(const char *json, size_t len, proto_vv *vv, proto_err *err) {
  cJSON *root = NULL;
  int rc = parse(json, len, PROTO_VV_JSON_MAX, "vv", &root, err);
  if (rc == PROTO_OK) rc = proto__vv_from_json(root, vv, err);
  cJSON_Delete(root);
  return rc;
}
