/* event.c - the event type table and the small shared helpers.
 *
 * The table is generated from PROTO_EVENT_TYPE_MAP (event.h): one row per
 * type with its wire name, the state it merges into, its body encoder and
 * decoder, and its merge.  Adding a type means one line in that map plus
 * its body codec and merge case; nothing else switches on the type list.
 */
#include <stddef.h>
#include <string.h>

#include "proto_int.h"

/* The merge column, by target. */
#define PROTO__MERGE_ORDER proto__merge_order
#define PROTO__MERGE_STOCK proto__merge_stock
#define PROTO__MERGE_SKU proto__merge_sku
#define PROTO__MERGE_STORE proto__merge_store

static const proto__type_info type_table[PROTO_EV__COUNT] = {
#define PROTO__TYPE_ROW(e, wire, b, tgt)                                             \
  [PROTO_EV_##e] = {PROTO_EV_##e, wire, PROTO_TARGET_##tgt, proto__encode_##b,    \
                    proto__decode_##b, PROTO__MERGE_##tgt,                        \
                    offsetof(proto_event, body) + sizeof(((proto_event *)0)->body.b)},
    PROTO_EVENT_TYPE_MAP(PROTO__TYPE_ROW)
#undef PROTO__TYPE_ROW
};

const proto__type_info *proto__type_info_of(proto_event_type t) {
  if ((int)t < 0 || t >= PROTO_EV__COUNT) return NULL;
  return &type_table[t];
}

const char *proto_event_type_name(proto_event_type t) {
  const proto__type_info *ti = proto__type_info_of(t);
  return ti ? ti->name : NULL;
}

int proto_event_type_from_name(const char *name, proto_event_type *out) {
  for (int i = 0; i < PROTO_EV__COUNT; i++) {
    if (strcmp(type_table[i].name, name) == 0) {
      *out = (proto_event_type)i;
      return PROTO_OK;
    }
  }
  return PROTO_EUNKNOWN_TYPE;
}

size_t proto_event_size(proto_event_type t) {
  const proto__type_info *ti = proto__type_info_of(t);
  return ti ? ti->size : 0;
}

proto_target proto_event_target(proto_event_type t) {
  const proto__type_info *ti = proto__type_info_of(t);
  return ti ? ti->target : PROTO_TARGET_ORDER;
}

const char *proto_event_key(const proto_event *ev) {
  switch (proto_event_target(ev->type)) {
    case PROTO_TARGET_ORDER:
      /* Every order body starts with order_id (checked in the test suite). */
      return ev->body.step.order_id;
    case PROTO_TARGET_STOCK:
      return ev->type == PROTO_EV_STOCK_DELTA ? ev->body.delta.sku : ev->body.stocktake.sku;
    case PROTO_TARGET_SKU:
      return ev->type == PROTO_EV_CATALOG_ENTRY ? ev->body.catalog.sku : ev->body.avail.sku;
    case PROTO_TARGET_STORE:
      return ev->store;
  }
  return ev->store;
}

int proto_event_merge(const proto_event *ev, void *state, bool *recount) {
  bool dummy = false;
  const proto__type_info *ti = proto__type_info_of(ev->type);
  if (!ti || !state) return PROTO_EINVAL;
  return ti->merge(state, ev, recount ? recount : &dummy);
}

void proto_event_init(proto_event *ev, proto_event_type t, const char *origin, uint64_t seq,
                      uint64_t hlc, const char *store) {
  memset(ev, 0, sizeof *ev);
  ev->v = PROTO_VERSION;
  ev->type = t;
  ev->seq = seq;
  ev->hlc = hlc;
  proto__strlcpy(ev->origin, origin ? origin : "", sizeof ev->origin);
  proto__strlcpy(ev->store, store ? store : "", sizeof ev->store);
}

/* ---- enumeration wire names -------------------------------------------- */

static const char *const kind_names[PROTO_KIND__COUNT] = {"pickup", "delivery", "express"};
static const char *const reject_names[PROTO_REJECT__COUNT] = {"busy", "sold_out", "closed",
                                                              "other"};
static const char *const cancel_names[PROTO_CANCEL__COUNT] = {"customer", "hq", "store"};
static const char *const reason_names[PROTO_STOCK__COUNT] = {
    "receive", "sale", "waste", "transfer_out", "transfer_in", "correction"};

static const char *name_of(const char *const *names, int n, int v) {
  return v >= 0 && v < n ? names[v] : NULL;
}

static int from_name(const char *const *names, int n, const char *s, int *out) {
  for (int i = 0; s && i < n; i++) {
    if (strcmp(names[i], s) == 0) {
      *out = i;
      return PROTO_OK;
    }
  }
  return PROTO_EENUM;
}

#define PROTO__ENUM_NAMES(fn, type, names, count)                        \
  const char *proto_##fn##_name(type v) { return name_of(names, count, (int)v); } \
  int proto_##fn##_from_name(const char *s, type *out) {                 \
    int v = 0;                                                           \
    int rc = from_name(names, count, s, &v);                             \
    if (rc == PROTO_OK) *out = (type)v;                                  \
    return rc;                                                           \
  }
PROTO__ENUM_NAMES(order_kind, proto_order_kind, kind_names, PROTO_KIND__COUNT)
PROTO__ENUM_NAMES(reject_reason, proto_reject_reason, reject_names, PROTO_REJECT__COUNT)
PROTO__ENUM_NAMES(cancel_by, proto_cancel_by, cancel_names, PROTO_CANCEL__COUNT)
PROTO__ENUM_NAMES(stock_reason, proto_stock_reason, reason_names, PROTO_STOCK__COUNT)
#undef PROTO__ENUM_NAMES

/* ---- stamps, hashes, strings --------------------------------------------- */

int proto_stamp_cmp(uint64_t hlc_a, const char *origin_a, uint64_t hlc_b, const char *origin_b) {
  if (hlc_a != hlc_b) return hlc_a < hlc_b ? -1 : 1;
  int c = strcmp(origin_a, origin_b);
  return (c > 0) - (c < 0);
}

bool proto__stamp_newer(uint64_t hlc, const char *origin, const proto_stamp *cur) {
  return proto_stamp_cmp(hlc, origin, cur->hlc, cur->origin) > 0;
}

void proto__stamp_set(proto_stamp *s, uint64_t hlc, const char *origin) {
  s->hlc = hlc;
  proto__strlcpy(s->origin, origin, sizeof s->origin);
}

uint64_t proto__fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

uint64_t proto__fnv_str(uint64_t h, const char *s) { return proto__fnv(h, s, strlen(s) + 1); }

uint64_t proto__fnv_u64(uint64_t h, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  return proto__fnv(h, b, sizeof b);
}

bool proto__strlcpy(char *dst, const char *src, size_t cap) {
  size_t n = strlen(src);
  bool fits = n < cap;
  if (!fits) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
  return fits;
}
