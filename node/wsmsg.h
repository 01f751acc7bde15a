/* node/wsmsg.h - the tablet protocol's JSON codec (docs/protocol.md).
 *
 * The node's JSON edge: wsmsg.c is the only file of node/ that uses cJSON
 * (decoding); wsmsg_enc.c writes the server's messages with proto_buf.
 * Everything else sees node_wsargs and typed engine structs.
 *
 * Decoding a frame:
 *   node_wsmsg_parse()  bytes -> parsed message (NODE_EJSON if not a JSON object)
 *   node_wsmsg_head()   its "type" and "id"
 *   node_wsmsg_args()   the fields one command declares (bit masks of
 *                       NODE_WSF_*) into node_wsargs, each checked for type
 *                       and range; NODE_EINVAL names the field:
 *                       "qty: must be an integer 1..1000000000".
 * Unknown extra fields are ignored.
 */
#ifndef NODE_WSMSG_H
#define NODE_WSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "engine.h"
#include "error.h"
#include "proto/proto.h"

#define NODE_WS_TYPE_MAX 32
#define NODE_WS_COUNTS_MAX 200
#define NODE_WS_PIN_MAX 9            /* 4-8 digits */
#define NODE_WS_TOKEN_MAX 65

/* Fields a command may carry (one bit each in the route table). */
typedef enum {
  NODE_WSF_TABLET,        /* "tablet"      id */
  NODE_WSF_PIN,           /* "pin"         4-8 digits */
  NODE_WSF_TOKEN,         /* "token"       32 hex digits */
  NODE_WSF_SINCE,         /* "since"       feed position >= 0 */
  NODE_WSF_ORDER_ID,      /* "order_id"    id */
  NODE_WSF_REJECT_REASON, /* "reason"      busy|sold_out|closed|other */
  NODE_WSF_CANCEL_REASON, /* "reason"      text 1..255 */
  NODE_WSF_CODE,          /* "code"        pickup/handoff code */
  NODE_WSF_COURIER,       /* "courier"     text */
  NODE_WSF_TRACKING,      /* "tracking"    id (courier tracking number) */
  NODE_WSF_SKU,           /* "sku"         id */
  NODE_WSF_QTY,           /* "qty"         1..PROTO_STOCK_MAX */
  NODE_WSF_DELTA,         /* "delta"       non-zero, |delta| <= PROTO_STOCK_MAX */
  NODE_WSF_NOTE,          /* "note"        text 0..255 */
  NODE_WSF_COUNTS,        /* "counts"      [{sku, counted}] 1..200, distinct skus */
  NODE_WSF_TO_STORE,      /* "to_store"    id */
  NODE_WSF_FROM_STORE,    /* "from_store"  id */
  NODE_WSF_TRANSFER_ID,   /* "transfer_id" id */
  NODE_WSF_SOLD_OUT,      /* "sold_out"    bool */
  NODE_WSF_SETTINGS,      /* the store settings keys, at top level, >= 1 */
  NODE_WSF_STAFF_ID,      /* "staff_id"    id */
  NODE_WSF_NAME,          /* "name"        text 1..95 */
  NODE_WSF_ROLE,          /* "role"        clerk|manager */
  NODE_WSF__COUNT
} node_wsf;

#define NODE_WSF_BIT(f) (UINT32_C(1) << NODE_WSF_##f)

typedef struct node_wscount {
  char sku[PROTO_ID_MAX];
  int64_t counted;
} node_wscount;

/* Decoded fields; `present` has bit NODE_WSF_BIT(x) for each one given. */
typedef struct node_wsargs {
  uint32_t present;
  char tablet[PROTO_ID_MAX];
  char pin[NODE_WS_PIN_MAX];
  char token[NODE_WS_TOKEN_MAX];
  int64_t since;
  char order_id[PROTO_ID_MAX];
  proto_reject_reason reject_reason;
  char cancel_reason[PROTO_NOTE_MAX];
  char code[PROTO_CODE_MAX];
  char courier[PROTO_NAME_MAX];
  char tracking[PROTO_ID_MAX];
  char sku[PROTO_ID_MAX];
  int64_t qty;
  int64_t delta;
  char note[PROTO_NOTE_MAX];
  uint32_t n_counts;
  node_wscount counts[NODE_WS_COUNTS_MAX];
  char to_store[PROTO_ID_MAX];
  char from_store[PROTO_ID_MAX];
  char transfer_id[PROTO_ID_MAX];
  bool sold_out;
  proto_ev_settings settings;
  char staff_id[PROTO_ID_MAX];
  char name[PROTO_NAME_MAX];
  node_role role;
} node_wsargs;

typedef struct node_wsmsg node_wsmsg;

/* Parse one frame.  NODE_EJSON (not UTF-8, too deep, not JSON, not an
 * object) or NODE_ENOMEM; *out is NULL then. */
int node_wsmsg_parse(const char *data, size_t len, node_wsmsg **out, node_err *err);
void node_wsmsg_free(node_wsmsg *m);
/* "type" (required string) and "id" (required id).  On NODE_EINVAL the one
 * that could be read is still filled ("" otherwise). */
int node_wsmsg_head(const node_wsmsg *m, char type[NODE_WS_TYPE_MAX], char id[PROTO_ID_MAX],
                    node_err *err);
/* Decode the fields in required|optional into a (zeroed first).  A field in
 * `required` that is absent is NODE_EINVAL "<field>: required". */
int node_wsmsg_args(const node_wsmsg *m, uint32_t required, uint32_t optional, node_wsargs *a,
                    node_err *err);
/* JSON name of a field (for messages). */
const char *node_wsf_name(node_wsf f);

/* Dev API body (POST /api/dev/events): one event envelope or an array of
 * them (at most max), each decoded by proto_event_decode.  On success *evs
 * is a malloc'd array of *n events; on error *evs is NULL and err names the
 * element ("[3]: body.items[0].qty: ...") with NODE_EJSON or NODE_EINVAL. */
int node_wsmsg_events(const char *data, size_t len, size_t max, proto_event **evs, size_t *n,
                      node_err *err);

/* ---- encoding (wsmsg_enc.c); each appends to out, PROTO_ENOMEM on failure -- */
/* {"type":"ack","id":..,"result":{<result_members>}[,"replayed":true]} */
int node_wsenc_ack(proto_buf *out, const char *id, const char *result_obj, bool replayed);
/* {"type":"error"[,"id":..],"code":"<wire>","message":..}; id NULL/"" = none */
int node_wsenc_error(proto_buf *out, const char *id, int code, const char *message);
/* Objects (no envelope). */
int node_wsenc_order(proto_buf *out, const proto_order *o, bool alerting);
int node_wsenc_stock(proto_buf *out, const node_stock_view *v);
int node_wsenc_settings(proto_buf *out, const proto_settings *s);
int node_wsenc_staff(proto_buf *out, const node_staff *s);
/* {"kind":..,"order_id"?,"sku"?,"message"?[, extra members]} */
int node_wsenc_alert(proto_buf *out, const char *kind, const char *order_id, const char *sku,
                     const char *message, const char *extra_members);

#endif
