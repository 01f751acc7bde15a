/* sku.c - per-store SKU registers: catalog entry and availability.
 *
 * Two independent LWW registers ordered by (hlc, origin), so a price change
 * never undoes a sold-out toggle and vice versa.  Each is a join (keep the
 * higher stamp), so apply order and merge order do not matter.
 */
#include <string.h>

#include "proto_int.h"

void proto_sku_init(proto_sku *s, const char *sku) {
  memset(s, 0, sizeof *s);
  proto__strlcpy(s->sku, sku ? sku : "", sizeof s->sku);
}

static bool newer(const proto_stamp *cand, const proto_stamp *cur) {
  return cand->hlc != 0 && proto__stamp_newer(cand->hlc, cand->origin, cur);
}

/* PROTO_EINVAL (state unchanged) for another type or SKU, or hlc 0. */
int proto_sku_apply(proto_sku *s, const proto_event *ev) {
  proto_stamp st;
  proto__stamp_set(&st, ev->hlc, ev->origin);
  if (ev->hlc == 0) return PROTO_EINVAL;
  if (ev->type == PROTO_EV_CATALOG_ENTRY) {
    if (strncmp(ev->body.catalog.sku, s->sku, PROTO_ID_MAX) != 0) return PROTO_EINVAL;
    if (newer(&st, &s->catalog_stamp)) {
      s->catalog_stamp = st;
      s->catalog = ev->body.catalog;
    }
    return PROTO_OK;
  }
  if (ev->type == PROTO_EV_SKU_AVAILABILITY) {
    if (strncmp(ev->body.avail.sku, s->sku, PROTO_ID_MAX) != 0) return PROTO_EINVAL;
    if (newer(&st, &s->avail_stamp)) {
      s->avail_stamp = st;
      s->avail = ev->body.avail;
    }
    return PROTO_OK;
  }
  return PROTO_EINVAL;
}

int proto__merge_sku(void *state, const proto_event *ev, bool *recount) {
  *recount = false;
  return proto_sku_apply(state, ev);
}

/* SKUs with different ids are left alone. */
void proto_sku_merge(proto_sku *into, const proto_sku *from) {
  if (into == from || strncmp(into->sku, from->sku, PROTO_ID_MAX) != 0) return;
  if (newer(&from->catalog_stamp, &into->catalog_stamp)) {
    into->catalog_stamp = from->catalog_stamp;
    into->catalog = from->catalog;
  }
  if (newer(&from->avail_stamp, &into->avail_stamp)) {
    into->avail_stamp = from->avail_stamp;
    into->avail = from->avail;
  }
}

bool proto_sku_sold_out(const proto_sku *s) { return s->avail_stamp.hlc != 0 && s->avail.sold_out; }

#define H_STR(h, s) proto__fnv_str(h, s)

static uint64_t h_stamp(uint64_t h, const proto_stamp *s) {
  h = proto__fnv_u64(h, s->hlc);
  return s->hlc ? H_STR(h, s->origin) : h;
}

/* Register contents count only once written (stamp != 0). */
uint64_t proto_sku_hash(const proto_sku *s) {
  uint64_t h = H_STR(PROTO__FNV_INIT, s->sku);
  h = h_stamp(h, &s->catalog_stamp);
  if (s->catalog_stamp.hlc) {
    const proto_ev_catalog *c = &s->catalog;
    h = H_STR(H_STR(H_STR(h, c->sku), c->name), c->name_en);
    h = proto__fnv_u64(proto__fnv_u64(h, (uint64_t)c->price), (uint64_t)c->low_threshold);
    h = proto__fnv_u64(h, c->active ? 1 : 0);
  }
  h = h_stamp(h, &s->avail_stamp);
  if (s->avail_stamp.hlc) {
    h = H_STR(h, s->avail.sku);
    h = proto__fnv_u64(h, (s->avail.sold_out ? 1u : 0u) | (s->avail.automatic ? 2u : 0u));
  }
  return h;
}
