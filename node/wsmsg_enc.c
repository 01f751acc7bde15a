/* wsmsg_enc.c - the server's JSON objects for tablets (docs/protocol.md).
 *
 * Written straight into a proto_buf with a tiny writer that tracks the first
 * error and puts the commas itself (a member after '{' or '[' gets none), so
 * encoders read like the JSON they produce.  No cJSON here: output only.
 */
#include "wsmsg.h"

#include <inttypes.h>
#include <string.h>

typedef struct jw {
  proto_buf *b;
  int rc;
} jw;

static void raw(jw *w, const char *s) {
  if (w->rc == PROTO_OK) w->rc = proto_buf_puts(w->b, s);
}

static void key(jw *w, const char *k) {
  char last = w->b->len ? w->b->data[w->b->len - 1] : '{';
  if (last != '{' && last != '[') raw(w, ",");
  if (!k) return;
  if (w->rc == PROTO_OK) w->rc = proto_buf_json_string(w->b, k);
  raw(w, ":");
}

static void str(jw *w, const char *k, const char *v) {
  key(w, k);
  if (w->rc == PROTO_OK) w->rc = proto_buf_json_string(w->b, v ? v : "");
}

static void i64(jw *w, const char *k, int64_t v) {
  key(w, k);
  if (w->rc == PROTO_OK) w->rc = proto_buf_printf(w->b, "%" PRId64, v);
}

static void boolean(jw *w, const char *k, bool v) {
  key(w, k);
  raw(w, v ? "true" : "false");
}

static void open_(jw *w, const char *k, const char *bracket) {
  key(w, k);
  raw(w, bracket);
}

/* Milestones reached, as {"name": wall ms of the first HLC}. */
static void milestones(jw *w, const proto_order *o) {
  open_(w, "milestones", "{");
  for (int m = 0; m < PROTO_MS__COUNT; m++)
    if (o->ms_hlc[m]) i64(w, proto_milestone_name((proto_milestone)m), (int64_t)PROTO_HLC_MS(o->ms_hlc[m]));
  raw(w, "}");
}

static void items(jw *w, const proto_order *o) {
  open_(w, "items", "[");
  for (uint32_t i = 0; i < o->info.n_items && i < PROTO_ITEMS_MAX; i++) {
    const proto_item *it = &o->info.items[i];
    open_(w, NULL, "{");
    str(w, "sku", it->sku);
    str(w, "name", it->name);
    i64(w, "qty", it->qty);
    i64(w, "price", it->price);
    boolean(w, "unavailable", proto_order_item_unavailable(o, it->sku));
    raw(w, "}");
  }
  raw(w, "]");
}

/* Registers that only exist once written. */
static void registers(jw *w, const proto_order *o) {
  if (o->rider_stamp.hlc) {
    open_(w, "rider", "{");
    str(w, "name", o->rider.name);
    str(w, "phone_tail", o->rider.phone_tail);
    i64(w, "eta_ms", (int64_t)o->rider.eta_ms);
    raw(w, "}");
  } else {
    key(w, "rider");
    raw(w, "null");
  }
  if (o->ship_stamp.hlc) {
    open_(w, "shipment", "{");
    str(w, "courier", o->shipped.courier);
    str(w, "tracking", o->shipped.tracking);
    raw(w, "}");
  }
  if (o->reject_stamp.hlc) str(w, "reject_reason", proto_reject_reason_name(o->reject_reason));
  if (o->cancel_stamp.hlc) {
    open_(w, "cancel", "{");
    str(w, "by", proto_cancel_by_name(o->cancel_by));
    str(w, "reason", o->cancel_reason);
    raw(w, "}");
  }
  if (o->remind_stamp.hlc) str(w, "remind_note", o->remind_note);
  if (o->resolve_stamp.hlc) str(w, "resolution", o->resolved.resolution);
}

int node_wsenc_order(proto_buf *out, const proto_order *o, bool alerting) {
  jw w = {out, PROTO_OK};
  bool known = o->info_stamp.hlc != 0;
  raw(&w, "{");
  str(&w, "order_id", o->order_id);
  if (known) {
    str(&w, "kind", proto_order_kind_name(o->info.kind));
  } else {
    key(&w, "kind");
    raw(&w, "null");
  }
  str(&w, "status", proto_milestone_name(proto_order_status(o)));
  items(&w, o);
  str(&w, "customer", o->info.customer);
  str(&w, "phone_tail", o->info.phone_tail);
  str(&w, "note", o->info.note);
  i64(&w, "total", o->info.total);
  i64(&w, "placed_ms", (int64_t)o->info.placed_ms);
  milestones(&w, o);
  registers(&w, o);
  i64(&w, "reminders", o->reminders);
  boolean(&w, "conflict", proto_order_conflict(o));
  boolean(&w, "waste", proto_order_waste(o));
  boolean(&w, "alerting", alerting);
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_stock(proto_buf *out, const node_stock_view *v) {
  jw w = {out, PROTO_OK};
  bool sold_out = proto_sku_sold_out(&v->sku);
  raw(&w, "{");
  str(&w, "sku", v->sku.sku);
  str(&w, "name", v->sku.catalog.name);
  str(&w, "name_en", v->sku.catalog.name_en);
  i64(&w, "price", v->sku.catalog.price);
  i64(&w, "on_hand", v->on_hand);
  i64(&w, "reserved", v->reserved);
  i64(&w, "available", v->available);
  i64(&w, "low_threshold", v->sku.catalog.low_threshold);
  boolean(&w, "low", v->low);
  boolean(&w, "sold_out", sold_out);
  boolean(&w, "sold_out_auto", sold_out && v->sku.avail.automatic);
  boolean(&w, "active", v->sku.catalog_stamp.hlc == 0 || v->sku.catalog.active);
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_settings(proto_buf *out, const proto_settings *s) {
  jw w = {out, PROTO_OK};
  const proto_settings_field_info *fi = proto_settings_fields();
  raw(&w, "{");
  str(&w, "store", s->store);
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    const char *p = (const char *)&s->v + fi[i].offset;
    switch (fi[i].type) {
      case PROTO_FIELD_STRING: str(&w, fi[i].key, p); break;
      case PROTO_FIELD_INT: {
        int64_t n;
        memcpy(&n, p, sizeof n);
        i64(&w, fi[i].key, n);
        break;
      }
      case PROTO_FIELD_BOOL: boolean(&w, fi[i].key, *(const bool *)(const void *)p); break;
    }
  }
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_staff(proto_buf *out, const node_staff *s) {
  jw w = {out, PROTO_OK};
  raw(&w, "{");
  str(&w, "id", s->id);
  str(&w, "name", s->name);
  str(&w, "role", node_role_name(s->role));
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_alert(proto_buf *out, const char *kind, const char *order_id, const char *sku,
                     const char *message, const char *extra_members) {
  jw w = {out, PROTO_OK};
  raw(&w, "{");
  str(&w, "kind", kind);
  if (order_id && *order_id) str(&w, "order_id", order_id);
  if (sku && *sku) str(&w, "sku", sku);
  if (message && *message) str(&w, "message", message);
  if (extra_members && *extra_members) {
    key(&w, NULL);
    raw(&w, extra_members);
  }
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_ack(proto_buf *out, const char *id, const char *result_obj, bool replayed) {
  jw w = {out, PROTO_OK};
  raw(&w, "{");
  str(&w, "type", "ack");
  str(&w, "id", id);
  key(&w, "result");
  raw(&w, result_obj && *result_obj ? result_obj : "{}");
  if (replayed) boolean(&w, "replayed", true);
  raw(&w, "}");
  return w.rc;
}

int node_wsenc_error(proto_buf *out, const char *id, int code, const char *message) {
  jw w = {out, PROTO_OK};
  raw(&w, "{");
  str(&w, "type", "error");
  if (id && *id) str(&w, "id", id);
  str(&w, "code", node_err_wire(code));
  str(&w, "message", message && *message ? message : node_strerror(code));
  raw(&w, "}");
  return w.rc;
}
