/* proto/settings.h - store settings as one LWW register per field.
 *
 * The fields (wire key, type, range) are the table PROTO_SETTINGS_FIELD_MAP in
 * event.h; codec and merge both walk that table.
 */
#ifndef PROTO_SETTINGS_H
#define PROTO_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/event.h"
#include "proto/order.h"

typedef struct proto_settings {
  char store[PROTO_ID_MAX];
  proto_stamp stamp[PROTO_SET__COUNT]; /* hlc 0: field never set */
  proto_settings_values v;
} proto_settings;

typedef enum { PROTO_FIELD_STRING, PROTO_FIELD_INT, PROTO_FIELD_BOOL } proto_field_type;

typedef struct proto_settings_field_info {
  proto_settings_field field;
  const char *key;
  proto_field_type type;
  int64_t min, max;
  size_t offset;                       /* into proto_settings_values */
} proto_settings_field_info;

/* The field table, PROTO_SET__COUNT entries in enum order. */
const proto_settings_field_info *proto_settings_fields(void);

/* Defaults for an unset field: open 0..1440 (all day), not paused, auto
 * accept off (0), targets 120 s / 600 s / 300 s, radius 5000 m. */
void proto_settings_init(proto_settings *s, const char *store);
int proto_settings_apply(proto_settings *s, const proto_event *ev);
void proto_settings_merge(proto_settings *into, const proto_settings *from);
bool proto_settings_is_set(const proto_settings *s, proto_settings_field f);
uint64_t proto_settings_hash(const proto_settings *s);

#endif
