/* proto_int.h - private to the proto library: the event type table and the
 * helpers the codec and merge files share.  Not installed, not included by
 * node/ or hq/. */
#ifndef PROTO_INT_H
#define PROTO_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "proto/proto.h"

/* Body codec of one event type.  The decoder reads ev->type's body from the
 * "body" object; path prefixes messages ("body"). */
typedef int (*proto__encode_fn)(const proto_event *ev, proto_buf *out, proto_err *err);
typedef int (*proto__decode_fn)(const cJSON *body, proto_event *ev, proto_err *err);
/* Merge of one event into the state of its target (see proto_event_merge). */
typedef int (*proto__merge_fn)(void *state, const proto_event *ev, bool *recount);

typedef struct proto__type_info {
  proto_event_type type;
  const char *name;
  proto_target target;
  proto__encode_fn encode;
  proto__decode_fn decode;
  proto__merge_fn merge;
  size_t size;                     /* proto_event_size() */
} proto__type_info;

/* NULL if t is out of range. */
const proto__type_info *proto__type_info_of(proto_event_type t);

/* Body codecs, one pair per body member of proto_event (codec.c / codec_read.c). */
#define PROTO__BODY_CODEC_DECL(e, name, body, target)                                  \
  int proto__encode_##body(const proto_event *ev, proto_buf *out, proto_err *err); \
  int proto__decode_##body(const cJSON *b, proto_event *ev, proto_err *err);
PROTO_EVENT_TYPE_MAP(PROTO__BODY_CODEC_DECL)
#undef PROTO__BODY_CODEC_DECL

/* Merge adapters (order.c, stock.c, sku.c, settings.c). */
int proto__merge_order(void *state, const proto_event *ev, bool *recount);
int proto__merge_stock(void *state, const proto_event *ev, bool *recount);
int proto__merge_sku(void *state, const proto_event *ev, bool *recount);
int proto__merge_store(void *state, const proto_event *ev, bool *recount);

/* Decode an event from an already parsed object (batches embed events). */
int proto__event_from_json(const cJSON *obj, proto_event *ev, proto_err *err);

/* Stamp helpers: a > b in (hlc, origin) order. */
bool proto__stamp_newer(uint64_t hlc, const char *origin, const proto_stamp *cur);
void proto__stamp_set(proto_stamp *s, uint64_t hlc, const char *origin);

/* FNV-1a, for canonical state hashes. */
#define PROTO__FNV_INIT UINT64_C(0xcbf29ce484222325)
uint64_t proto__fnv(uint64_t h, const void *p, size_t n);
uint64_t proto__fnv_str(uint64_t h, const char *s);
uint64_t proto__fnv_u64(uint64_t h, uint64_t v);

/* Bounded copy that always NUL-terminates; returns false if truncated. */
bool proto__strlcpy(char *dst, const char *src, size_t cap);

#endif
