#include "proto_int.h"
int proto__merge_stock(void *state, const proto_event *ev, bool *recount) { return PROTO_EINVAL; }
