/* codec_int.h - private to proto's codec: codec.c (encoders), codec_read.c
 * (reference decoders), codec_fast.c (fast event decoder) and repl.c
 * (batches and version-vector messages).
 *
 * Every event body is described by a table of fields; the encoder and the
 * decoder both walk the same table, so a wire rule (key, required or not,
 * range, buffer size) is written once and both directions agree on it:
 * whatever the encoder accepts, the decoder gives back field for field.
 *
 *   kind        JSON        C member             absent / empty
 *   ID          string      char[size], [A-Za-z0-9_.:-]{1,63}  required
 *   ID_OPT      string      same                 absent or "" -> ""
 *   TEXT        string      char[size], UTF-8    required, not empty
 *   TEXT_OPT    string      same                 absent or "" -> ""
 *   I32..U64    integer     int32_t..uint64_t    required, min..max
 *   BOOL        true/false  bool                 required
 *   ENUM        string      enum (int-sized)     required, wire name
 *   ITEMS       array       proto_item[count]    required, 1..PROTO_ITEMS_MAX
 *   SEEN        object      proto_seen[count]    required, 0..PROTO_SEEN_MAX
 * Optional strings are omitted by the encoder when empty.
 */
#ifndef PROTO_CODEC_INT_H
#define PROTO_CODEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_reader.h"
#include "proto/repl.h"
#include "proto_int.h"

typedef enum {
  PROTO__F_ID,
  PROTO__F_ID_OPT,
  PROTO__F_TEXT,
  PROTO__F_TEXT_OPT,
  PROTO__F_I32,
  PROTO__F_U32,
  PROTO__F_I64,
  PROTO__F_U64,
  PROTO__F_BOOL,
  PROTO__F_ENUM,
  PROTO__F_ITEMS,
  PROTO__F_SEEN
} proto__fkind;

/* An enumeration carried as its wire name: values 0..count-1. */
typedef struct proto__enum_desc {
  int count;
  const char *(*name)(int v);
} proto__enum_desc;

typedef struct proto__field {
  const char *key;
  size_t klen;                 /* strlen(key): the fast path matches raw keys */
  proto__fkind kind;
  size_t off;                  /* member offset in the body struct */
  size_t size;                 /* strings: buffer size including the NUL */
  int64_t min, max;            /* integers, inclusive */
  bool nonzero;                /* integers: 0 is excluded (stock delta) */
  const proto__enum_desc *en;  /* ENUM */
  size_t count_off;            /* ITEMS / SEEN: offset of the uint32_t count */
} proto__field;

typedef struct proto__body {
  const proto__field *f;
  size_t n;
} proto__body;

/* The tables (codec.c).  Settings have none: their fields come from the
 * settings field table (proto_settings_fields) and are all optional. */
extern const proto__body proto__body_dispatched, proto__body_step, proto__body_rejected,
    proto__body_shipped, proto__body_cancelled, proto__body_reminded, proto__body_item,
    proto__body_resolved, proto__body_rider, proto__body_delta, proto__body_stocktake,
    proto__body_avail, proto__body_catalog;
extern const proto__body proto__body_order_line; /* one element of "items" */
/* origin, seq, store of proto_event; v, hlc, type, body are coded by hand. */
extern const proto__body proto__body_envelope;
/* An origin used as a JSON key (stocktake "seen", version vectors), and the
 * seq it maps to in "seen". */
extern const proto__field proto__origin_key, proto__seen_seq;

/* Wall-clock milliseconds travel as JSON integers: exact up to 2^53 - 1. */
#define PROTO__JSON_INT_MAX ((INT64_C(1) << 53) - 1)

/* Settings field f as a codec field (STRING -> TEXT of PROTO_NAME_MAX,
 * INT -> I64 with the table's range, BOOL -> BOOL), relative to
 * proto_settings_values (codec.c). */
proto__field proto__settings_field(const proto_settings_field_info *fi);

/* proto__utf8_seq (one UTF-8 sequence) is in json_reader.h.
 * Offset of the first byte of s[0..n) that breaks UTF-8, or n if none. */
size_t proto__utf8_bad(const char *s, size_t n);

/* "path.key" (or "key" when path is empty) into dst, truncated to cap. */
void proto__path_join(char *dst, size_t cap, const char *path, const char *key);
/* Bounded printable copy of an untrusted string for error messages:
 * at most 32 bytes, anything outside printable ASCII shown as '?'. */
void proto__quote(char *dst, size_t cap, const char *s);

/* Validate a string value (s, NUL-terminated) or an integer value against
 * field f; path names the field in err.  The decoder passes enc=false and
 * gets the codes of codec.h (ETOOLONG, EINVAL, EUTF8, ERANGE); the encoder
 * passes enc=true and gets PROTO_EINVAL for every violation, as
 * proto_event_encode promises. */
int proto__check_string(const proto__field *f, const char *s, const char *path, bool enc,
                        proto_err *err);
int proto__check_int(const proto__field *f, int64_t v, const char *path, bool enc,
                     proto_err *err);
/* What proto__check_string checks beyond length and UTF-8, for a decoder
 * that has settled those already (codec_fast.c): s, len bytes, passes. */
bool proto__string_ok(const proto__field *f, const char *s, size_t len);
/* Store v (in f's range) into the integer member p of kind f->kind. */
void proto__store_int(const proto__field *f, void *p, int64_t v);

/* The reference event decoder: size limit, precheck, cJSON, tree walk
 * (codec_read.c).  proto_event_decode (codec_fast.c) answers the common
 * case faster and hands everything else to it, so its codes and messages
 * are the decoder's. */
int proto__event_decode_tree(const char *json, size_t len, proto_event *ev, proto_err *err);
/* The fast path (codec_fast.c): true with *ev exactly as the reference
 * decoder leaves it, or false (*ev unspecified) when it cannot be sure. */
bool proto__event_decode_fast(const char *json, size_t len, proto_event *ev);
/* The same for the value that comes next in r (an event embedded in a
 * larger text: batches, repl.c): true with *ev as the reference decoder
 * leaves it for those bytes and r just past the object; false (*ev and r
 * unspecified) when it cannot be sure.  The event's nesting is bounded by
 * r's max_depth counted from r's depth, so a batch reader allows an event
 * what PROTO_JSON_DEPTH_MAX allows it alone when its max_depth is
 * PROTO_JSON_DEPTH_MAX plus the depth the event sits at. */
bool proto__event_read_fast(proto__jr *r, proto_event *ev);

/* A version vector from an already parsed object (codec_read.c): the rules
 * and messages of proto_vv_decode, which is parse + this.  Replaces the
 * contents of vv on success; on failure vv is unchanged. */
int proto__vv_from_json(const cJSON *obj, proto_vv *vv, proto_err *err);

/* Events batches (repl.c).  proto_batch_decode is the fast path, else the
 * reference, which alone words every error (as for single events above):
 *   - tree: size limit, precheck, cJSON, every event checked, then fn for
 *     each.  Defines the behaviour.
 *   - fast: one json_reader pass over the batch with proto__event_read_fast
 *     for each event, then a second read of each event for fn.  Returns
 *     false, having called nothing and written nothing, when it cannot be
 *     sure (any fault, and legal oddities); true when it decided, with *rc
 *     what the reference would return: PROTO_OK, or fn's non-zero value
 *     after the same calls. */
/* What to call for each event: fn, or each with the event's bytes. */
typedef struct proto__batch_cb {
  proto_batch_fn fn;
  proto_batch_each_fn each;
  void *ctx;
} proto__batch_cb;
int proto__batch_decode_tree(const char *json, size_t len, char store[PROTO_ID_MAX],
                             const proto__batch_cb *cb, proto_err *err);
bool proto__batch_decode_fast(const char *json, size_t len, char store[PROTO_ID_MAX],
                              const proto__batch_cb *cb, int *rc, proto_err *err);

#define PROTO__PATH_MAX 128

#endif
