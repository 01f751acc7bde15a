/* codec_gen.c - see codec_gen.h. */
#include "codec_gen.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- randomness (splitmix64) -------------------------------------------- */

uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

int64_t rng_range(rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* ---- strings ------------------------------------------------------------- */

/* Pieces of text: ASCII, Chinese (3 bytes), emoji (4), Latin-1 (2), and
 * characters the encoder must escape. */
static const char *const pieces[] = {
    "a", "b", "K", "7", " ", "-", "生", "椰", "拿", "铁", "王", "先", "少", "冰", "张", "师",
    "傅", "沽", "清", "店", "😀", "é", "ß", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "'",
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

static const char id_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";

/* Text of at most cap-1 bytes; GEN_MAX fills it exactly, GEN_MIN gives
 * "" for optional fields and one character for required ones. */
static void gen_text(rng *r, char *dst, size_t cap, gen_mode mode, bool required) {
  size_t limit = cap - 1, len = 0;
  if (mode == GEN_MIN) {
    strcpy(dst, required ? "x" : "");
    return;
  }
  size_t want = mode == GEN_MAX ? limit : (size_t)rng_range(r, required ? 1 : 0, (int64_t)limit);
  if (mode == GEN_RANDOM && rng_below(r, 4) == 0) want = want > 12 ? 12 : want; /* short ones */
  while (len < want) {
    const char *p = pieces[rng_below(r, N_PIECES)];
    size_t n = strlen(p);
    if (len + n > want) p = "z", n = 1; /* pad to the exact length */
    memcpy(dst + len, p, n);
    len += n;
  }
  dst[len] = '\0';
}

/* realistic: a prefix ("o-", "sku-") for a realistic id with a number. */
static void gen_id(rng *r, char *dst, gen_mode mode, const char *realistic) {
  size_t len;
  if (mode == GEN_MIN) len = 1;
  else if (mode == GEN_MAX) len = PROTO_ID_MAX - 1;
  else if (rng_below(r, 2) == 0) {
    snprintf(dst, PROTO_ID_MAX, "%s%u", realistic, (unsigned)rng_below(r, 1000));
    return;
  } else len = (size_t)rng_range(r, 1, PROTO_ID_MAX - 1);
  for (size_t i = 0; i < len; i++) dst[i] = id_chars[rng_below(r, sizeof id_chars - 1)];
  dst[len] = '\0';
}

/* Optional identifier: empty half the time in random mode. */
static void gen_id_opt(rng *r, char *dst, gen_mode mode, const char *realistic) {
  if (mode == GEN_MIN || (mode == GEN_RANDOM && rng_below(r, 2) == 0)) dst[0] = '\0';
  else gen_id(r, dst, mode, realistic);
}

static int64_t gen_int(rng *r, gen_mode mode, int64_t lo, int64_t hi, int64_t typical) {
  if (mode == GEN_MIN) return lo;
  if (mode == GEN_MAX) return hi;
  switch (rng_below(r, 4)) {
    case 0: return lo;
    case 1: return hi;
    case 2: return rng_range(r, lo, hi);
    default: return typical < lo ? lo : typical > hi ? hi : typical;
  }
}

static int gen_enum(rng *r, gen_mode mode, int count) {
  return mode == GEN_MIN ? 0 : mode == GEN_MAX ? count - 1 : (int)rng_below(r, (uint64_t)count);
}

#define MS_MAX ((INT64_C(1) << 53) - 1)
#define SEQ_MAX ((int64_t)PROTO_SEQ_MAX)

/* ---- bodies ---------------------------------------------------------------- */

static void gen_item(rng *r, gen_mode mode, proto_item *it) {
  gen_id(r, it->sku, mode, "sku-");
  gen_text(r, it->name, sizeof it->name, mode, false);
  it->qty = (int32_t)gen_int(r, mode, 1, PROTO_QTY_MAX, 2);
  it->price = gen_int(r, mode, 0, PROTO_MONEY_MAX, 1900);
}

static void gen_dispatched(rng *r, gen_mode mode, proto_ev_dispatched *d) {
  gen_id(r, d->order_id, mode, "o-20261121-");
  d->kind = (proto_order_kind)gen_enum(r, mode, PROTO_KIND__COUNT);
  d->n_items = mode == GEN_MAX ? PROTO_ITEMS_MAX
               : mode == GEN_MIN ? 1
                                 : (uint32_t)rng_range(r, 1, PROTO_ITEMS_MAX);
  for (uint32_t i = 0; i < d->n_items; i++) gen_item(r, mode, &d->items[i]);
  gen_text(r, d->pickup_code, sizeof d->pickup_code, mode, true);
  gen_text(r, d->customer, sizeof d->customer, mode, false);
  gen_text(r, d->phone_tail, sizeof d->phone_tail, mode, false);
  gen_text(r, d->note, sizeof d->note, mode, false);
  d->total = gen_int(r, mode, 0, PROTO_MONEY_MAX, 3800);
  d->placed_ms = (uint64_t)gen_int(r, mode, 0, MS_MAX, INT64_C(1795400000000));
}

static void gen_stocktake(rng *r, gen_mode mode, proto_ev_stocktake *s) {
  gen_id(r, s->sku, mode, "sku-");
  s->counted = gen_int(r, mode, 0, PROTO_STOCK_MAX, 37);
  s->n_seen = mode == GEN_MAX ? PROTO_SEEN_MAX
              : mode == GEN_MIN ? 0
                                : (uint32_t)rng_range(r, 0, PROTO_SEEN_MAX);
  for (uint32_t i = 0; i < s->n_seen; i++) {
    /* Distinct origins: an index suffix keeps them apart at any length. */
    char base[PROTO_ID_MAX];
    if (mode == GEN_MAX) {
      memset(base, 'S', PROTO_ID_MAX - 4); /* 60 + ".NN" = 63 bytes */
      base[PROTO_ID_MAX - 4] = '\0';
    } else {
      gen_id(r, base, GEN_RANDOM, "store-");
      base[PROTO_ID_MAX - 5] = '\0';
    }
    char suffix[8];
    snprintf(suffix, sizeof suffix, ".%02u", (unsigned)i % 100);
    strcat(strcpy(s->seen[i].origin, base), suffix);
    s->seen[i].seq = (uint64_t)gen_int(r, mode, 1, SEQ_MAX, 41);
  }
}

static void gen_settings(rng *r, gen_mode mode, proto_ev_settings *s) {
  const proto_settings_field_info *tbl = proto_settings_fields();
  uint32_t all = (UINT32_C(1) << PROTO_SET__COUNT) - 1;
  s->present = mode == GEN_MAX   ? all
               : mode == GEN_MIN ? UINT32_C(1) << rng_below(r, PROTO_SET__COUNT)
                                 : (uint32_t)rng_range(r, 1, all);
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    if (!(s->present & (UINT32_C(1) << i))) continue;
    char *p = (char *)&s->v + tbl[i].offset;
    if (tbl[i].type == PROTO_FIELD_STRING) gen_text(r, p, PROTO_NAME_MAX, mode, true);
    if (tbl[i].type == PROTO_FIELD_BOOL) *(bool *)p = mode == GEN_MAX || rng_below(r, 2);
    if (tbl[i].type == PROTO_FIELD_INT)
      *(int64_t *)p = gen_int(r, mode, tbl[i].min, tbl[i].max, (tbl[i].min + tbl[i].max) / 2);
  }
}

static void gen_body(rng *r, gen_mode mode, proto_event *ev) {
  switch (ev->type) {
    case PROTO_EV_ORDER_DISPATCHED: gen_dispatched(r, mode, &ev->body.dispatched); break;
    case PROTO_EV_ORDER_REJECTED:
      gen_id(r, ev->body.rejected.order_id, mode, "o-");
      ev->body.rejected.reason = (proto_reject_reason)gen_enum(r, mode, PROTO_REJECT__COUNT);
      gen_id_opt(r, ev->body.rejected.by, mode, "staff-");
      break;
    case PROTO_EV_ORDER_SHIPPED:
      gen_id(r, ev->body.shipped.order_id, mode, "o-");
      gen_text(r, ev->body.shipped.courier, PROTO_NAME_MAX, mode, true);
      gen_id(r, ev->body.shipped.tracking, mode, "SF");
      break;
    case PROTO_EV_ORDER_CANCELLED:
      gen_id(r, ev->body.cancelled.order_id, mode, "o-");
      ev->body.cancelled.by = (proto_cancel_by)gen_enum(r, mode, PROTO_CANCEL__COUNT);
      gen_text(r, ev->body.cancelled.reason, PROTO_NOTE_MAX, mode, false);
      break;
    case PROTO_EV_ORDER_REMINDED:
      gen_id(r, ev->body.reminded.order_id, mode, "o-");
      ev->body.reminded.n = (uint32_t)gen_int(r, mode, 1, UINT32_MAX, 2);
      gen_text(r, ev->body.reminded.note, PROTO_NOTE_MAX, mode, false);
      break;
    case PROTO_EV_ORDER_ITEM_UNAVAILABLE:
      gen_id(r, ev->body.item.order_id, mode, "o-");
      gen_id(r, ev->body.item.sku, mode, "sku-");
      break;
    case PROTO_EV_ORDER_RESOLVED:
      gen_id(r, ev->body.resolved.order_id, mode, "o-");
      gen_id(r, ev->body.resolved.resolution, mode, "refund");
      gen_text(r, ev->body.resolved.note, PROTO_NOTE_MAX, mode, false);
      break;
    case PROTO_EV_RIDER_ASSIGNED:
      gen_id(r, ev->body.rider.order_id, mode, "o-");
      gen_text(r, ev->body.rider.name, PROTO_NAME_MAX, mode, true);
      gen_text(r, ev->body.rider.phone_tail, PROTO_CODE_MAX, mode, false);
      ev->body.rider.eta_ms = (uint64_t)gen_int(r, mode, 0, MS_MAX, INT64_C(1795400400000));
      break;
    case PROTO_EV_STOCK_DELTA: {
      proto_ev_delta *d = &ev->body.delta;
      gen_id(r, d->sku, mode, "sku-");
      d->delta = mode == GEN_MIN ? -PROTO_STOCK_MAX : gen_int(r, mode, 1, PROTO_STOCK_MAX, 3);
      if (mode == GEN_RANDOM && rng_below(r, 2)) d->delta = -d->delta;
      d->reason = (proto_stock_reason)gen_enum(r, mode, PROTO_STOCK__COUNT);
      gen_id_opt(r, d->ref, mode, "o-");
      gen_id_opt(r, d->peer, mode, "store-");
      gen_text(r, d->note, PROTO_NOTE_MAX, mode, false);
      break;
    }
    case PROTO_EV_STOCK_STOCKTAKE: gen_stocktake(r, mode, &ev->body.stocktake); break;
    case PROTO_EV_SKU_AVAILABILITY:
      gen_id(r, ev->body.avail.sku, mode, "sku-");
      ev->body.avail.sold_out = mode == GEN_MAX || (mode == GEN_RANDOM && rng_below(r, 2));
      ev->body.avail.automatic = mode == GEN_MAX || (mode == GEN_RANDOM && rng_below(r, 2));
      break;
    case PROTO_EV_CATALOG_ENTRY: {
      proto_ev_catalog *c = &ev->body.catalog;
      gen_id(r, c->sku, mode, "sku-");
      gen_text(r, c->name, PROTO_NAME_MAX, mode, true);
      gen_text(r, c->name_en, PROTO_NAME_MAX, mode, false);
      c->price = gen_int(r, mode, 0, PROTO_MONEY_MAX, 1900);
      c->low_threshold = gen_int(r, mode, 0, PROTO_STOCK_MAX, 10);
      c->active = mode == GEN_MAX || (mode == GEN_RANDOM && rng_below(r, 2));
      break;
    }
    case PROTO_EV_STORE_SETTINGS: gen_settings(r, mode, &ev->body.settings); break;
    default: /* the step types: accepted, preparing, ready, ... */
      gen_id(r, ev->body.step.order_id, mode, "o-");
      gen_id_opt(r, ev->body.step.by, mode, "staff-");
      break;
  }
}

void gen_event(rng *r, proto_event_type t, gen_mode mode, proto_event *ev) {
  char origin[PROTO_ID_MAX], store[PROTO_ID_MAX];
  gen_id(r, origin, mode, "store-");
  gen_id(r, store, mode, "store-");
  uint64_t seq = (uint64_t)gen_int(r, mode, 1, SEQ_MAX, (int64_t)rng_range(r, 1, 100000));
  uint64_t hlc = mode == GEN_MAX ? UINT64_MAX
                 : mode == GEN_MIN ? 1
                 : rng_below(r, 2) ? PROTO_HLC_MAKE(INT64_C(1795400000000) + rng_below(r, 1u << 30),
                                                    rng_below(r, 16))
                                   : rng_next(r) | 1;
  proto_event_init(ev, t, origin, seq, hlc, store);
  gen_body(r, mode, ev);
}

/* ---- equality ---------------------------------------------------------------- */

#define EQ_STR(f)                                                                  \
  if (strcmp(a->f, b->f) != 0) {                                                   \
    snprintf(why, cap, #f ": \"%s\" != \"%s\"", a->f, b->f);                       \
    return false;                                                                  \
  }
#define EQ_NUM(f)                                                                  \
  if (a->f != b->f) {                                                              \
    snprintf(why, cap, #f ": %lld != %lld", (long long)a->f, (long long)b->f);     \
    return false;                                                                  \
  }

static bool item_equal(const proto_item *a, const proto_item *b, char *why, size_t cap) {
  EQ_STR(sku) EQ_STR(name) EQ_NUM(qty) EQ_NUM(price)
  return true;
}

static bool dispatched_equal(const proto_ev_dispatched *a, const proto_ev_dispatched *b, char *why,
                             size_t cap) {
  EQ_STR(order_id) EQ_NUM(kind) EQ_NUM(n_items) EQ_STR(pickup_code) EQ_STR(customer)
  EQ_STR(phone_tail) EQ_STR(note) EQ_NUM(total) EQ_NUM(placed_ms)
  for (uint32_t i = 0; i < a->n_items; i++)
    if (!item_equal(&a->items[i], &b->items[i], why, cap)) return false;
  return true;
}

static bool stocktake_equal(const proto_ev_stocktake *a, const proto_ev_stocktake *b, char *why,
                            size_t cap) {
  EQ_STR(sku) EQ_NUM(counted) EQ_NUM(n_seen)
  for (uint32_t i = 0; i < a->n_seen; i++) {
    EQ_STR(seen[i].origin) EQ_NUM(seen[i].seq)
  }
  return true;
}

static bool settings_equal(const proto_ev_settings *a, const proto_ev_settings *b, char *why,
                           size_t cap) {
  const proto_settings_field_info *tbl = proto_settings_fields();
  EQ_NUM(present)
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    if (!(a->present & (UINT32_C(1) << i))) continue;
    const char *pa = (const char *)&a->v + tbl[i].offset, *pb = (const char *)&b->v + tbl[i].offset;
    bool same = tbl[i].type == PROTO_FIELD_STRING ? strcmp(pa, pb) == 0
                : tbl[i].type == PROTO_FIELD_BOOL ? *(const bool *)pa == *(const bool *)pb
                                                  : *(const int64_t *)pa == *(const int64_t *)pb;
    if (!same) {
      snprintf(why, cap, "settings.%s differs", tbl[i].key);
      return false;
    }
  }
  return true;
}

static bool body_equal(const proto_event *ea, const proto_event *eb, char *why, size_t cap) {
  switch (ea->type) {
    case PROTO_EV_ORDER_DISPATCHED:
      return dispatched_equal(&ea->body.dispatched, &eb->body.dispatched, why, cap);
    case PROTO_EV_ORDER_REJECTED: {
      const proto_ev_rejected *a = &ea->body.rejected, *b = &eb->body.rejected;
      EQ_STR(order_id) EQ_NUM(reason) EQ_STR(by) return true;
    }
    case PROTO_EV_ORDER_SHIPPED: {
      const proto_ev_shipped *a = &ea->body.shipped, *b = &eb->body.shipped;
      EQ_STR(order_id) EQ_STR(courier) EQ_STR(tracking) return true;
    }
    case PROTO_EV_ORDER_CANCELLED: {
      const proto_ev_cancelled *a = &ea->body.cancelled, *b = &eb->body.cancelled;
      EQ_STR(order_id) EQ_NUM(by) EQ_STR(reason) return true;
    }
    case PROTO_EV_ORDER_REMINDED: {
      const proto_ev_reminded *a = &ea->body.reminded, *b = &eb->body.reminded;
      EQ_STR(order_id) EQ_NUM(n) EQ_STR(note) return true;
    }
    case PROTO_EV_ORDER_ITEM_UNAVAILABLE: {
      const proto_ev_item *a = &ea->body.item, *b = &eb->body.item;
      EQ_STR(order_id) EQ_STR(sku) return true;
    }
    case PROTO_EV_ORDER_RESOLVED: {
      const proto_ev_resolved *a = &ea->body.resolved, *b = &eb->body.resolved;
      EQ_STR(order_id) EQ_STR(resolution) EQ_STR(note) return true;
    }
    case PROTO_EV_RIDER_ASSIGNED: {
      const proto_ev_rider *a = &ea->body.rider, *b = &eb->body.rider;
      EQ_STR(order_id) EQ_STR(name) EQ_STR(phone_tail) EQ_NUM(eta_ms) return true;
    }
    case PROTO_EV_STOCK_DELTA: {
      const proto_ev_delta *a = &ea->body.delta, *b = &eb->body.delta;
      EQ_STR(sku) EQ_NUM(delta) EQ_NUM(reason) EQ_STR(ref) EQ_STR(peer) EQ_STR(note) return true;
    }
    case PROTO_EV_STOCK_STOCKTAKE:
      return stocktake_equal(&ea->body.stocktake, &eb->body.stocktake, why, cap);
    case PROTO_EV_SKU_AVAILABILITY: {
      const proto_ev_avail *a = &ea->body.avail, *b = &eb->body.avail;
      EQ_STR(sku) EQ_NUM(sold_out) EQ_NUM(automatic) return true;
    }
    case PROTO_EV_CATALOG_ENTRY: {
      const proto_ev_catalog *a = &ea->body.catalog, *b = &eb->body.catalog;
      EQ_STR(sku) EQ_STR(name) EQ_STR(name_en) EQ_NUM(price) EQ_NUM(low_threshold)
      EQ_NUM(active) return true;
    }
    case PROTO_EV_STORE_SETTINGS:
      return settings_equal(&ea->body.settings, &eb->body.settings, why, cap);
    default: {
      const proto_ev_step *a = &ea->body.step, *b = &eb->body.step;
      EQ_STR(order_id) EQ_STR(by) return true;
    }
  }
}

bool event_equal(const proto_event *a, const proto_event *b, char *why, size_t cap) {
  EQ_NUM(v) EQ_STR(origin) EQ_NUM(seq) EQ_NUM(hlc) EQ_STR(store) EQ_NUM(type)
  return body_equal(a, b, why, cap);
}

/* ---- editing and encoding ---------------------------------------------------- */

/* End of the JSON value starting at p (p points at its first byte). */
static const char *value_end(const char *p) {
  int depth = 0;
  bool in_str = false;
  for (; *p; p++) {
    if (in_str) {
      if (*p == '\\' && p[1]) p++;
      else if (*p == '"') {
        in_str = false;
        if (depth == 0) return p + 1;
      }
    } else if (*p == '"') {
      in_str = true;
    } else if (*p == '{' || *p == '[') {
      depth++;
    } else if (*p == '}' || *p == ']') {
      if (depth == 0) return p;
      if (--depth == 0) return p + 1;
    } else if (*p == ',' && depth == 0) {
      return p;
    }
  }
  return p;
}

bool json_edit(const char *src, const char *key, const char *val, char *dst, size_t cap) {
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *k = strstr(src, pat);
  if (!k) return false;
  const char *v = k + strlen(pat), *end = value_end(v);
  const char *cut_from = val ? v : k, *cut_to = end;
  if (!val) { /* remove one neighbouring comma too */
    if (*end == ',') cut_to = end + 1;
    else if (k > src && k[-1] == ',') cut_from = k - 1;
  }
  int n = snprintf(dst, cap, "%.*s%s%s", (int)(cut_from - src), src, val ? val : "", cut_to);
  return n >= 0 && (size_t)n < cap;
}

char *encode_str(const proto_event *ev) {
  proto_buf b;
  proto_err err = {0};
  proto_buf_init(&b);
  int rc = proto_event_encode(ev, &b, &err);
  if (rc != PROTO_OK) {
    print_error("encode failed: %s: %s\n", proto_err_name(rc), err.msg);
    proto_buf_close(&b);
    fail();
    return NULL;
  }
  return b.data; /* ownership passes to the caller */
}
