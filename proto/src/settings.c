/* settings.c - store settings: one LWW register per field (STUB, being written). */
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
int proto__merge_store(void *state, const proto_event *ev, bool *recount) { return PROTO_EINVAL; }
