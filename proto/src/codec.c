/* codec.c - the body field tables and the JSON encoders (events, version
 * vectors).
 *
 * Output is written by hand into a proto_buf (no cJSON on this side): keys in
 * table order, no whitespace, optional strings omitted when empty, integers
 * as plain JSON integers, hlc as a decimal string:
 *
 *   {"v":1,"origin":"store-001","seq":42,"hlc":"115292150460684697",
 *    "store":"store-001","type":"order.accepted","body":{...}}
 *
 * The encoder validates every value with the same checks the decoder uses
 * (codec_read.c), so anything it writes decodes back to the same struct;
 * on any violation it fails with PROTO_EINVAL naming the field and the
 * output buffer is rolled back to where it was.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec_int.h"

/* ---- tables ---------------------------------------------------------------- */

#define MEMBER_SIZE(st, m) sizeof(((st *)0)->m)
#define KEY(m) .key = #m, .klen = sizeof #m - 1
#define STR(st, m, k) \
  {KEY(m), .kind = PROTO__F_##k, .off = offsetof(st, m), .size = MEMBER_SIZE(st, m)}
#define INT(st, m, k, lo, hi) \
  {KEY(m), .kind = PROTO__F_##k, .off = offsetof(st, m), .min = (lo), .max = (hi)}
#define BOOLF(st, m) {KEY(m), .kind = PROTO__F_BOOL, .off = offsetof(st, m)}
#define ENUMF(st, m, e) {KEY(m), .kind = PROTO__F_ENUM, .off = offsetof(st, m), .en = &(e)}
#define LIST(st, m, k, cnt, lo, hi)                                                 \
  {KEY(m), .kind = PROTO__F_##k, .off = offsetof(st, m), .count_off = offsetof(st, cnt), \
   .min = (lo), .max = (hi)}
#define BODY(name, tbl) const proto__body proto__body_##name = {tbl, sizeof tbl / sizeof tbl[0]}

/* The enum members are read and written as int (see codec_read.c). */
_Static_assert(sizeof(proto_order_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(proto_reject_reason) == sizeof(int), "enum size");
_Static_assert(sizeof(proto_cancel_by) == sizeof(int), "enum size");
_Static_assert(sizeof(proto_stock_reason) == sizeof(int), "enum size");

static const char *kind_name(int v) { return proto_order_kind_name((proto_order_kind)v); }
static const char *reject_name(int v) { return proto_reject_reason_name((proto_reject_reason)v); }
static const char *cancel_name(int v) { return proto_cancel_by_name((proto_cancel_by)v); }
static const char *reason_name(int v) { return proto_stock_reason_name((proto_stock_reason)v); }

static const proto__enum_desc kind_enum = {PROTO_KIND__COUNT, kind_name};
static const proto__enum_desc reject_enum = {PROTO_REJECT__COUNT, reject_name};
static const proto__enum_desc cancel_enum = {PROTO_CANCEL__COUNT, cancel_name};
static const proto__enum_desc reason_enum = {PROTO_STOCK__COUNT, reason_name};

#define MS_MAX PROTO__JSON_INT_MAX /* wall-clock ms: exact in a JSON double */
#define SEQ_MAX ((int64_t)PROTO_SEQ_MAX)

const proto__field proto__origin_key = {KEY(origin), .kind = PROTO__F_ID, .size = PROTO_ID_MAX};
const proto__field proto__seen_seq = {KEY(seq), .kind = PROTO__F_U64, .min = 1, .max = SEQ_MAX};

static const proto__field line_fields[] = {
    STR(proto_item, sku, ID),
    STR(proto_item, name, TEXT_OPT),
    INT(proto_item, qty, I32, 1, PROTO_QTY_MAX),
    INT(proto_item, price, I64, 0, PROTO_MONEY_MAX),
};
BODY(order_line, line_fields);

static const proto__field dispatched_fields[] = {
    STR(proto_ev_dispatched, order_id, ID),
    ENUMF(proto_ev_dispatched, kind, kind_enum),
    LIST(proto_ev_dispatched, items, ITEMS, n_items, 1, PROTO_ITEMS_MAX),
    STR(proto_ev_dispatched, pickup_code, TEXT),
    STR(proto_ev_dispatched, customer, TEXT_OPT),
    STR(proto_ev_dispatched, phone_tail, TEXT_OPT),
    STR(proto_ev_dispatched, note, TEXT_OPT),
    INT(proto_ev_dispatched, total, I64, 0, PROTO_MONEY_MAX),
    INT(proto_ev_dispatched, placed_ms, U64, 0, MS_MAX),
};
BODY(dispatched, dispatched_fields);

static const proto__field step_fields[] = {
    STR(proto_ev_step, order_id, ID),
    STR(proto_ev_step, by, ID_OPT),
};
BODY(step, step_fields);

static const proto__field rejected_fields[] = {
    STR(proto_ev_rejected, order_id, ID),
    ENUMF(proto_ev_rejected, reason, reject_enum),
    STR(proto_ev_rejected, by, ID_OPT),
};
BODY(rejected, rejected_fields);

static const proto__field shipped_fields[] = {
    STR(proto_ev_shipped, order_id, ID),
    STR(proto_ev_shipped, courier, TEXT),
    STR(proto_ev_shipped, tracking, ID),
};
BODY(shipped, shipped_fields);

static const proto__field cancelled_fields[] = {
    STR(proto_ev_cancelled, order_id, ID),
    ENUMF(proto_ev_cancelled, by, cancel_enum),
    STR(proto_ev_cancelled, reason, TEXT_OPT),
};
BODY(cancelled, cancelled_fields);

static const proto__field reminded_fields[] = {
    STR(proto_ev_reminded, order_id, ID),
    INT(proto_ev_reminded, n, U32, 1, UINT32_MAX),
    STR(proto_ev_reminded, note, TEXT_OPT),
};
BODY(reminded, reminded_fields);

static const proto__field item_fields[] = {
    STR(proto_ev_item, order_id, ID),
    STR(proto_ev_item, sku, ID),
};
BODY(item, item_fields);

static const proto__field resolved_fields[] = {
    STR(proto_ev_resolved, order_id, ID),
    STR(proto_ev_resolved, resolution, ID),
    STR(proto_ev_resolved, note, TEXT_OPT),
};
BODY(resolved, resolved_fields);

static const proto__field rider_fields[] = {
    STR(proto_ev_rider, order_id, ID),
    STR(proto_ev_rider, name, TEXT),
    STR(proto_ev_rider, phone_tail, TEXT_OPT),
    INT(proto_ev_rider, eta_ms, U64, 0, MS_MAX),
};
BODY(rider, rider_fields);

static const proto__field delta_fields[] = {
    STR(proto_ev_delta, sku, ID),
    {KEY(delta), .kind = PROTO__F_I64, .off = offsetof(proto_ev_delta, delta),
     .min = -PROTO_STOCK_MAX, .max = PROTO_STOCK_MAX, .nonzero = true},
    ENUMF(proto_ev_delta, reason, reason_enum),
    STR(proto_ev_delta, ref, ID_OPT),
    STR(proto_ev_delta, peer, ID_OPT),
    STR(proto_ev_delta, note, TEXT_OPT),
};
BODY(delta, delta_fields);

static const proto__field stocktake_fields[] = {
    STR(proto_ev_stocktake, sku, ID),
    INT(proto_ev_stocktake, counted, I64, 0, PROTO_STOCK_MAX),
    LIST(proto_ev_stocktake, seen, SEEN, n_seen, 0, PROTO_SEEN_MAX),
};
BODY(stocktake, stocktake_fields);

static const proto__field avail_fields[] = {
    STR(proto_ev_avail, sku, ID),
    BOOLF(proto_ev_avail, sold_out),
    BOOLF(proto_ev_avail, automatic),
};
BODY(avail, avail_fields);

static const proto__field catalog_fields[] = {
    STR(proto_ev_catalog, sku, ID),
    STR(proto_ev_catalog, name, TEXT),
    STR(proto_ev_catalog, name_en, TEXT_OPT),
    INT(proto_ev_catalog, price, I64, 0, PROTO_MONEY_MAX),
    INT(proto_ev_catalog, low_threshold, I64, 0, PROTO_STOCK_MAX),
    BOOLF(proto_ev_catalog, active),
};
BODY(catalog, catalog_fields);

proto__field proto__settings_field(const proto_settings_field_info *fi) {
  static const proto__fkind kinds[] = {
      [PROTO_FIELD_STRING] = PROTO__F_TEXT,
      [PROTO_FIELD_INT] = PROTO__F_I64,
      [PROTO_FIELD_BOOL] = PROTO__F_BOOL,
  };
  proto__field f = {.key = fi->key, .klen = strlen(fi->key), .kind = kinds[fi->type],
                    .off = fi->offset, .size = PROTO_NAME_MAX, .min = fi->min, .max = fi->max};
  return f;
}

/* ---- writing ----------------------------------------------------------------- */

static int put_u64(proto_buf *out, uint64_t v) {
  char b[24];
  char *p = b + sizeof b;
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return proto_buf_append(out, p, (size_t)(b + sizeof b - p));
}

static int put_i64(proto_buf *out, int64_t v) {
  if (v >= 0) return put_u64(out, (uint64_t)v);
  int rc = proto_buf_append(out, "-", 1);
  return rc ? rc : put_u64(out, UINT64_C(0) - (uint64_t)v);
}

/* ,"key": (no comma before the first member of an object). */
static int put_key(proto_buf *out, const char *key, bool *first) {
  int rc = *first ? PROTO_OK : proto_buf_append(out, ",", 1);
  *first = false;
  if (rc == PROTO_OK) rc = proto_buf_append(out, "\"", 1);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, key);
  return rc ? rc : proto_buf_append(out, "\":", 2);
}

/* Integer member as int64 (every range in the tables fits one). */
static int64_t read_int(const proto__field *f, const void *p) {
  switch (f->kind) {
    case PROTO__F_I32: return *(const int32_t *)p;
    case PROTO__F_U32: return *(const uint32_t *)p;
    case PROTO__F_I64: return *(const int64_t *)p;
    default: {
      uint64_t u = *(const uint64_t *)p;
      return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
  }
}

static int encode_fields(const proto__body *b, const void *base, const char *path,
                         proto_buf *out, proto_err *err);

static int encode_items(const proto__field *f, const void *base, const char *path,
                        proto_buf *out, proto_err *err) {
  uint32_t n = *(const uint32_t *)((const char *)base + f->count_off);
  const proto_item *items = (const proto_item *)((const char *)base + f->off);
  if (n < f->min || n > f->max)
    return proto_err_set(err, PROTO_EINVAL, "%s: %" PRIu32 " entries, need %" PRId64 "..%" PRId64,
                         path, n, f->min, f->max);
  int rc = proto_buf_append(out, "[", 1);
  for (uint32_t i = 0; rc == PROTO_OK && i < n; i++) {
    char sub[PROTO__PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s[%" PRIu32 "]", path, i);
    if (i) rc = proto_buf_append(out, ",", 1);
    if (rc == PROTO_OK) rc = encode_fields(&proto__body_order_line, &items[i], sub, out, err);
  }
  return rc ? rc : proto_buf_append(out, "]", 1);
}

static int encode_seen(const proto__field *f, const void *base, const char *path,
                       proto_buf *out, proto_err *err) {
  uint32_t n = *(const uint32_t *)((const char *)base + f->count_off);
  const proto_seen *seen = (const proto_seen *)((const char *)base + f->off);
  if (n > f->max)
    return proto_err_set(err, PROTO_EINVAL, "%s: %" PRIu32 " entries, limit %" PRId64, path, n,
                         f->max);
  int rc = proto_buf_append(out, "{", 1);
  bool first = true;
  for (uint32_t i = 0; rc == PROTO_OK && i < n; i++) {
    char sub[PROTO__PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s[%" PRIu32 "]", path, i);
    if (!memchr(seen[i].origin, '\0', sizeof seen[i].origin))
      return proto_err_set(err, PROTO_EINVAL, "%s: origin not terminated", sub);
    rc = proto__check_string(&proto__origin_key, seen[i].origin, sub, true, err);
    for (uint32_t j = 0; rc == PROTO_OK && j < i; j++)
      if (strcmp(seen[j].origin, seen[i].origin) == 0)
        rc = proto_err_set(err, PROTO_EINVAL, "%s: duplicate origin \"%s\"", sub, seen[i].origin);
    int64_t seq = read_int(&proto__seen_seq, &seen[i].seq);
    if (rc == PROTO_OK) rc = proto__check_int(&proto__seen_seq, seq, sub, true, err);
    if (rc == PROTO_OK) rc = put_key(out, seen[i].origin, &first);
    if (rc == PROTO_OK) rc = put_u64(out, seen[i].seq);
  }
  return rc ? rc : proto_buf_append(out, "}", 1);
}

/* One member; optional empty strings write nothing. */
static int encode_field(const proto__field *f, const void *base, const char *path, bool *first,
                        proto_buf *out, proto_err *err) {
  const char *p = (const char *)base + f->off;
  char fp[PROTO__PATH_MAX];
  proto__path_join(fp, sizeof fp, path, f->key);
  int rc = PROTO_OK;
  switch (f->kind) {
    case PROTO__F_ID:
    case PROTO__F_ID_OPT:
    case PROTO__F_TEXT:
    case PROTO__F_TEXT_OPT:
      if (!memchr(p, '\0', f->size))
        return proto_err_set(err, PROTO_EINVAL, "%s: not NUL-terminated within %zu bytes", fp,
                             f->size);
      rc = proto__check_string(f, p, fp, true, err);
      if (rc || !*p) return rc; /* empty here means optional: omitted */
      rc = put_key(out, f->key, first);
      return rc ? rc : proto_buf_json_string(out, p);
    case PROTO__F_I32:
    case PROTO__F_U32:
    case PROTO__F_I64:
    case PROTO__F_U64: {
      int64_t v = read_int(f, p);
      rc = proto__check_int(f, v, fp, true, err);
      if (rc == PROTO_OK) rc = put_key(out, f->key, first);
      return rc ? rc : put_i64(out, v);
    }
    case PROTO__F_BOOL: {
      unsigned char c; /* read as a byte: a stray 2 would not decode back */
      memcpy(&c, p, 1);
      if (c > 1) return proto_err_set(err, PROTO_EINVAL, "%s: %u is not a bool", fp, c);
      rc = put_key(out, f->key, first);
      return rc ? rc : proto_buf_puts(out, c ? "true" : "false");
    }
    case PROTO__F_ENUM: {
      int v;
      memcpy(&v, p, sizeof v);
      const char *name = f->en->name(v);
      if (!name) return proto_err_set(err, PROTO_EINVAL, "%s: %d is not a known value", fp, v);
      rc = put_key(out, f->key, first);
      return rc ? rc : proto_buf_json_string(out, name);
    }
    case PROTO__F_ITEMS:
      rc = put_key(out, f->key, first);
      return rc ? rc : encode_items(f, base, fp, out, err);
    case PROTO__F_SEEN:
      rc = put_key(out, f->key, first);
      return rc ? rc : encode_seen(f, base, fp, out, err);
  }
  return proto_err_set(err, PROTO_EINVAL, "%s: bad field kind", fp);
}

/* One object from a table.  On failure out holds a partial object; the
 * public entry points roll back. */
static int encode_fields(const proto__body *b, const void *base, const char *path,
                         proto_buf *out, proto_err *err) {
  bool first = true;
  int rc = proto_buf_append(out, "{", 1);
  for (size_t i = 0; rc == PROTO_OK && i < b->n; i++)
    rc = encode_field(&b->f[i], base, path, &first, out, err);
  return rc ? rc : proto_buf_append(out, "}", 1);
}

/* The body encoders of the type table: each walks its table. */
#define PROTO__BODY_ENCODER(name)                                                 \
  int proto__encode_##name(const proto_event *ev, proto_buf *out, proto_err *err) { \
    return encode_fields(&proto__body_##name, &ev->body.name, "body", out, err);    \
  }
PROTO__BODY_ENCODER(dispatched)
PROTO__BODY_ENCODER(step)
PROTO__BODY_ENCODER(rejected)
PROTO__BODY_ENCODER(shipped)
PROTO__BODY_ENCODER(cancelled)
PROTO__BODY_ENCODER(reminded)
PROTO__BODY_ENCODER(item)
PROTO__BODY_ENCODER(resolved)
PROTO__BODY_ENCODER(rider)
PROTO__BODY_ENCODER(delta)
PROTO__BODY_ENCODER(stocktake)
PROTO__BODY_ENCODER(avail)
PROTO__BODY_ENCODER(catalog)
#undef PROTO__BODY_ENCODER

/* Settings: only the fields whose `present` bit is set, in table order. */
int proto__encode_settings(const proto_event *ev, proto_buf *out, proto_err *err) {
  const proto_ev_settings *s = &ev->body.settings;
  const uint32_t known = (UINT32_C(1) << PROTO_SET__COUNT) - 1;
  if (s->present == 0) return proto_err_set(err, PROTO_EINVAL, "body: no settings field present");
  if (s->present & ~known)
    return proto_err_set(err, PROTO_EINVAL, "body: unknown settings bits 0x%" PRIx32,
                         s->present & ~known);
  const proto_settings_field_info *tbl = proto_settings_fields();
  bool first = true;
  int rc = proto_buf_append(out, "{", 1);
  for (int i = 0; rc == PROTO_OK && i < PROTO_SET__COUNT; i++) {
    if (!(s->present & (UINT32_C(1) << i))) continue;
    proto__field f = proto__settings_field(&tbl[i]);
    rc = encode_field(&f, &s->v, "body", &first, out, err);
  }
  return rc ? rc : proto_buf_append(out, "}", 1);
}

/* ---- envelope ---------------------------------------------------------------- */

/* The envelope's table-driven members; v, hlc, type and body are by hand. */
static const proto__field envelope_fields[] = {
    STR(proto_event, origin, ID),
    INT(proto_event, seq, U64, 1, SEQ_MAX),
    STR(proto_event, store, ID),
};
BODY(envelope, envelope_fields);

static int encode_envelope(const proto_event *ev, proto_buf *out, proto_err *err) {
  const proto__type_info *ti = proto__type_info_of(ev->type);
  if (!ti) return proto_err_set(err, PROTO_EINVAL, "type: %d is not an event type", (int)ev->type);
  if (ev->v < 1 || ev->v > PROTO_VERSION)
    return proto_err_set(err, PROTO_EINVAL, "v: %" PRIu32 " is out of range 1..%d", ev->v,
                         PROTO_VERSION);
  if (ev->hlc == 0)
    return proto_err_set(err, PROTO_EINVAL, "hlc: 0 is out of range 1..%" PRIu64, UINT64_MAX);
  bool first = false; /* "v" is written first by hand */
  int rc = proto_buf_puts(out, "{\"v\":");
  if (rc == PROTO_OK) rc = put_u64(out, ev->v);
  if (rc == PROTO_OK) rc = encode_field(&envelope_fields[0], ev, "", &first, out, err);
  if (rc == PROTO_OK) rc = encode_field(&envelope_fields[1], ev, "", &first, out, err);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, ",\"hlc\":\"");
  if (rc == PROTO_OK) rc = put_u64(out, ev->hlc);
  if (rc == PROTO_OK) rc = proto_buf_append(out, "\"", 1);
  if (rc == PROTO_OK) rc = encode_field(&envelope_fields[2], ev, "", &first, out, err);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, ",\"type\":\"");
  if (rc == PROTO_OK) rc = proto_buf_puts(out, ti->name); /* wire names need no escaping */
  if (rc == PROTO_OK) rc = proto_buf_puts(out, "\",\"body\":");
  if (rc == PROTO_OK) rc = ti->encode(ev, out, err);
  return rc ? rc : proto_buf_append(out, "}", 1);
}

/* On failure out is as it was before the call. */
int proto_event_encode(const proto_event *ev, proto_buf *out, proto_err *err) {
  size_t start = out->len;
  int rc = encode_envelope(ev, out, err);
  /* Escaping can inflate text up to six-fold: refuse what no peer would read. */
  if (rc == PROTO_OK && out->len - start > PROTO_EVENT_JSON_MAX)
    rc = proto_err_set(err, PROTO_EINVAL, "event: encodes to %zu bytes, limit %d",
                       out->len - start, PROTO_EVENT_JSON_MAX);
  if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "out of memory encoding an event");
  if (rc != PROTO_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
  }
  return rc;
}

/* ---- version vectors -------------------------------------------------------- */

/* Entries with an empty set carry nothing and are skipped (vv.c may hand
 * one over from a decoder, see its invariant V4). */
static int encode_vv_entry(const proto_vv_entry *e, const char *prev, proto_buf *out,
                           proto_err *err) {
  char fp[PROTO__PATH_MAX], q[40];
  if (!memchr(e->origin, '\0', sizeof e->origin))
    return proto_err_set(err, PROTO_EINVAL, "vv: origin not terminated");
  proto__quote(q, sizeof q, e->origin);
  proto__path_join(fp, sizeof fp, "vv", q);
  int rc = proto__check_string(&proto__origin_key, e->origin, fp, true, err);
  if (rc != PROTO_OK) return rc;
  if (prev && strcmp(prev, e->origin) >= 0)
    return proto_err_set(err, PROTO_EINVAL, "%s: entries not sorted by origin", fp);
  if (e->contiguous > PROTO_SEQ_MAX)
    return proto_err_set(err, PROTO_EINVAL, "%s.c: %" PRIu64 " is out of range 0..%" PRIu64, fp,
                         e->contiguous, PROTO_SEQ_MAX);
  rc = proto_buf_append(out, "\"", 1);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, e->origin);
  if (rc == PROTO_OK) rc = proto_buf_puts(out, "\":{\"c\":");
  if (rc == PROTO_OK) rc = put_u64(out, e->contiguous);
  if (rc == PROTO_OK && e->n_held) rc = proto_buf_puts(out, ",\"h\":[");
  uint64_t floor = e->contiguous + 1; /* held seqs ascend strictly above c + 1 */
  for (size_t i = 0; rc == PROTO_OK && i < e->n_held; i++) {
    uint64_t s = e->held[i];
    if (s <= floor || s > PROTO_SEQ_MAX)
      return proto_err_set(err, PROTO_EINVAL,
                           "%s.h[%zu]: %" PRIu64 " is not in %" PRIu64 "..%" PRIu64, fp, i, s,
                           floor + 1, PROTO_SEQ_MAX);
    floor = s;
    if (i) rc = proto_buf_append(out, ",", 1);
    if (rc == PROTO_OK) rc = put_u64(out, s);
  }
  if (rc == PROTO_OK && e->n_held) rc = proto_buf_append(out, "]", 1);
  return rc ? rc : proto_buf_append(out, "}", 1);
}

/* On failure out is as it was before the call. */
int proto_vv_encode(const proto_vv *vv, proto_buf *out, proto_err *err) {
  size_t start = out->len;
  const char *prev = NULL;
  int rc = proto_buf_append(out, "{", 1);
  for (size_t i = 0; rc == PROTO_OK && i < vv->n; i++) {
    const proto_vv_entry *e = &vv->e[i];
    if (e->contiguous == 0 && e->n_held == 0) continue;
    if (prev) rc = proto_buf_append(out, ",", 1);
    if (rc == PROTO_OK) rc = encode_vv_entry(e, prev, out, err);
    prev = e->origin;
  }
  if (rc == PROTO_OK) rc = proto_buf_append(out, "}", 1);
  if (rc == PROTO_OK && out->len - start > PROTO_VV_JSON_MAX)
    rc = proto_err_set(err, PROTO_EINVAL, "vv: encodes to %zu bytes, limit %d", out->len - start,
                       PROTO_VV_JSON_MAX);
  if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "out of memory encoding a version vector");
  if (rc != PROTO_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
  }
  return rc;
}
