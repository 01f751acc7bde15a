/* proto/codec.h - JSON wire format of events and version vectors.
 *
 * The only place cJSON is used: everything above sees typed structs.
 *
 * Decoding is strict and never crashes on any input:
 *   - input over PROTO_EVENT_JSON_MAX bytes        PROTO_ETOOLONG
 *   - bytes that are not UTF-8                     PROTO_EUTF8
 *   - nesting deeper than PROTO_JSON_DEPTH_MAX     PROTO_EDEPTH
 *   - not JSON / not an object                     PROTO_EJSON / PROTO_ETYPE
 *   - "v" newer than PROTO_VERSION                 PROTO_EVERSION
 *   - unknown "type"                               PROTO_EUNKNOWN_TYPE
 *   - a required field absent                      PROTO_EMISSING
 *   - a field of the wrong JSON type               PROTO_ETYPE
 *   - a number not integral or out of its range    PROTO_ERANGE
 *   - a string or array over its limit, or an id
 *     outside [A-Za-z0-9_.:-]{1,63}                PROTO_ETOOLONG / PROTO_EINVAL
 *   - an unknown enumeration value                 PROTO_EENUM
 * err->msg names the field by path, e.g. "body.items[3].qty: ...".
 * Unknown extra fields are ignored (forward compatibility within a major).
 *
 * 64-bit values that do not fit a JSON double exactly (hlc) travel as
 * decimal strings; seq, money and counts are plain JSON integers.
 */
#ifndef PROTO_CODEC_H
#define PROTO_CODEC_H

#include <stddef.h>

#include "proto/buf.h"
#include "proto/error.h"
#include "proto/event.h"
#include "proto/vv.h"

#define PROTO_EVENT_JSON_MAX 16384
#define PROTO_JSON_DEPTH_MAX 8
/* A version vector's JSON: one entry per origin plus any held seqs. */
#define PROTO_VV_JSON_MAX (1024 * 1024)

/* Decode one event object.  On error *ev is unspecified, err says why. */
int proto_event_decode(const char *json, size_t len, proto_event *ev, proto_err *err);
/* Append ev as one JSON object to out.  Fails with PROTO_EINVAL (naming the
 * field) if ev would not decode again, or PROTO_ENOMEM; out is then as before. */
int proto_event_encode(const proto_event *ev, proto_buf *out, proto_err *err);

/* Validate bytes: UTF-8 well-formed and JSON nesting within max_depth
 * (brackets outside strings).  Used before handing input to cJSON. */
int proto_json_precheck(const char *json, size_t len, int max_depth, proto_err *err);
/* Is s a valid identifier: [A-Za-z0-9_.:-]{1,63}? */
int proto_id_valid(const char *s);

/* Version vector as {"<origin>":{"c":<contiguous>,"h":[held seqs...]},...};
 * "h" is omitted when empty.  Decode replaces the contents of vv.
 * Encode: PROTO_EINVAL if vv breaks its invariants (vv.h) or would exceed
 * PROTO_VV_JSON_MAX, PROTO_ENOMEM; out is then as before.  Decode: the
 * codes above (input limit PROTO_VV_JSON_MAX; held seqs must ascend above
 * c + 1, else PROTO_ERANGE); on failure vv is unchanged. */
int proto_vv_encode(const proto_vv *vv, proto_buf *out, proto_err *err);
int proto_vv_decode(const char *json, size_t len, proto_vv *vv, proto_err *err);

#endif
