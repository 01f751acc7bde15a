/* state.c - names of the update agent's states (table in fw/msg.h). */
#include <string.h>

#include "fw/msg.h"

static const char *const names[FW_ST__COUNT] = {
#define FW__ST_NAME(name, wire) [FW_ST_##name] = wire,
    FW_STATE_MAP(FW__ST_NAME)
#undef FW__ST_NAME
};

const char *fw_state_name(fw_state s) {
  return (int)s >= 0 && s < FW_ST__COUNT ? names[s] : NULL;
}

int fw_state_from_name(const char *name) {
  for (int i = 0; name && i < FW_ST__COUNT; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

bool fw_state_at_rest(fw_state s) {
  return s == FW_ST_IDLE || s == FW_ST_COMMITTED || s == FW_ST_FAILED;
}
