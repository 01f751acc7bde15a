/* settings.c - store settings: one LWW register per field.
 *
 * Invariants:
 *   T1 stamp[f] is the highest (hlc, origin) of every write of field f
 *      (hlc 0: never written, v holds the default of proto_settings_init)
 *   T2 v.<f> is the value written with stamp[f]
 * Each field is its own join (keep the higher stamp), so two people changing
 * different fields at once both win, and apply/merge order does not matter.
 * Both walk field_table (offset and type of each field) instead of
 * switching per field: a new setting is one line in PROTO_SETTINGS_FIELD_MAP.
 */
#include <stddef.h>
#include <string.h>

#include "proto_int.h"

static const proto_settings_field_info field_table[PROTO_SET__COUNT] = {
#define PROTO__SET_ROW(e, k, m, t, lo, hi) \
  [PROTO_SET_##e] = {PROTO_SET_##e, k, PROTO_FIELD_##t, lo, hi, offsetof(proto_settings_values, m)},
    PROTO_SETTINGS_FIELD_MAP(PROTO__SET_ROW)
#undef PROTO__SET_ROW
};

const proto_settings_field_info *proto_settings_fields(void) { return field_table; }
const char *proto_settings_field_key(proto_settings_field f) {
  return (int)f >= 0 && f < PROTO_SET__COUNT ? field_table[f].key : NULL;
}

void proto_settings_init(proto_settings *s, const char *store) {
  memset(s, 0, sizeof *s);
  proto__strlcpy(s->store, store ? store : "", sizeof s->store);
  s->v.open_min = 0;
  s->v.close_min = 1440;
  s->v.paused = false;
  s->v.auto_accept_s = 0;
  s->v.target_accept_s = 120;
  s->v.target_prep_s = 600;
  s->v.target_wait_s = 300;
  s->v.radius_m = 5000;
}

/* Copy field f from src to dst.  Strings are re-terminated; bools are read
 * as bytes and normalised so that a stray byte cannot become an invalid bool. */
static void copy_field(proto_settings_values *dst, const proto_settings_values *src, int f) {
  const proto_settings_field_info *fi = &field_table[f];
  char *d = (char *)dst + fi->offset;
  const char *s = (const char *)src + fi->offset;
  unsigned char byte = 0;
  switch (fi->type) {
    case PROTO_FIELD_STRING:
      memcpy(d, s, PROTO_NAME_MAX);
      d[PROTO_NAME_MAX - 1] = '\0';
      break;
    case PROTO_FIELD_INT:
      memcpy(d, s, sizeof(int64_t));
      break;
    case PROTO_FIELD_BOOL:
      memcpy(&byte, s, 1);
      *(bool *)(void *)d = byte != 0;
      break;
  }
}

static bool newer(const proto_stamp *cand, const proto_stamp *cur) {
  return cand->hlc != 0 && proto__stamp_newer(cand->hlc, cand->origin, cur);
}

/* Write each present field whose register the event's stamp beats.
 * PROTO_EINVAL (state unchanged) for another type or store, or hlc 0. */
int proto_settings_apply(proto_settings *s, const proto_event *ev) {
  if (ev->type != PROTO_EV_STORE_SETTINGS || ev->hlc == 0 ||
      strncmp(ev->store, s->store, PROTO_ID_MAX) != 0)
    return PROTO_EINVAL;
  proto_stamp st;
  proto__stamp_set(&st, ev->hlc, ev->origin);
  for (int f = 0; f < PROTO_SET__COUNT; f++) {
    if (!(ev->body.settings.present & (1u << f)) || !newer(&st, &s->stamp[f])) continue;
    s->stamp[f] = st;
    copy_field(&s->v, &ev->body.settings.v, f);
  }
  return PROTO_OK;
}

int proto__merge_store(void *state, const proto_event *ev, bool *recount) {
  *recount = false;
  return proto_settings_apply(state, ev);
}

/* Settings of different stores are left alone. */
void proto_settings_merge(proto_settings *into, const proto_settings *from) {
  if (into == from || strncmp(into->store, from->store, PROTO_ID_MAX) != 0) return;
  for (int f = 0; f < PROTO_SET__COUNT; f++) {
    if (!newer(&from->stamp[f], &into->stamp[f])) continue;
    into->stamp[f] = from->stamp[f];
    copy_field(&into->v, &from->v, f);
  }
}

bool proto_settings_is_set(const proto_settings *s, proto_settings_field f) {
  return (int)f >= 0 && f < PROTO_SET__COUNT && s->stamp[f].hlc != 0;
}

/* Every field's stamp and value (defaults included: they are defined). */
uint64_t proto_settings_hash(const proto_settings *s) {
  uint64_t h = proto__fnv_str(PROTO__FNV_INIT, s->store);
  for (int f = 0; f < PROTO_SET__COUNT; f++) {
    const proto_settings_field_info *fi = &field_table[f];
    const char *p = (const char *)&s->v + fi->offset;
    int64_t i = 0;
    h = proto__fnv_u64(h, s->stamp[f].hlc);
    if (s->stamp[f].hlc) h = proto__fnv_str(h, s->stamp[f].origin);
    switch (fi->type) {
      case PROTO_FIELD_STRING:
        h = proto__fnv_str(h, p);
        break;
      case PROTO_FIELD_INT:
        memcpy(&i, p, sizeof i);
        h = proto__fnv_u64(h, (uint64_t)i);
        break;
      case PROTO_FIELD_BOOL:
        h = proto__fnv_u64(h, *(const bool *)(const void *)p ? 1 : 0);
        break;
    }
  }
  return h;
}
