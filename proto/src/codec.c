#include "proto_int.h"
/* STUB: being written. */
#define STUB(e, name, body, target) \
  int proto__encode_##body(const proto_event *ev, proto_buf *out, proto_err *err) { return PROTO_EINVAL; } \
  int proto__decode_##body(const cJSON *b, proto_event *ev, proto_err *err) { return PROTO_EINVAL; }
STUB(a,b,dispatched,c) STUB(a,b,step,c) STUB(a,b,rejected,c) STUB(a,b,shipped,c) STUB(a,b,cancelled,c)
STUB(a,b,reminded,c) STUB(a,b,item,c) STUB(a,b,resolved,c) STUB(a,b,rider,c) STUB(a,b,delta,c)
STUB(a,b,stocktake,c) STUB(a,b,avail,c) STUB(a,b,catalog,c) STUB(a,b,settings,c)
