/* codec_fast.c - proto_event_decode: one pass over the bytes for the inputs
 * replicas actually send, the reference decoder for everything else.
 *
 *   bytes ──fast path: json_reader + the field tables──────────────▶ event
 *     │        (refuses on any doubt, never says why)
 *     └─────▶ reference decoder (codec_read.c): precheck, cJSON,
 *             tree walk ──────────────────────────────▶ event, or the error
 *
 * Invariant F: the fast path answers true only for input the reference
 * decoder accepts, and then leaves *ev byte for byte as the reference would
 * (zeroed, then the same members written).  So the decoder's behaviour, every
 * code and every message, is the reference decoder's; the fast path only
 * changes how long the common case takes (docs/performance.md, "Codec").
 * F holds because:
 *   - the reader accepts a subset of what precheck + cJSON accept, with the
 *     same values (json_reader.c, invariant R), integers only when exact;
 *   - each field rule of codec_read.c has its counterpart here (same table,
 *     same limits via proto__check_*), and anything the reference would
 *     refuse makes the fast path give up: a failed check, a key given twice
 *     (bitmask of the table's field indexes), a required field absent;
 *   - what the reference accepts but the fast path does not (escaped keys,
 *     "1.0", a BOM, ...) merely takes the slow road.
 * tests/proto_codec_fast checks F against the reference on every corpus
 * and on mutated inputs.
 *
 * Nothing here allocates or formats a string.  "body" before "type" (legal,
 * but not what our encoder writes) is read after the envelope.
 * proto__event_read_fast reads an event embedded in a larger text from the
 * caller's reader: batches (repl.c) walk their "events" array with it.
 */
#include <string.h>

#include "codec_int.h"
#include "json_reader.h"

/* ---- values ------------------------------------------------------------------ */

static bool fast_fields(proto__jr *r, const proto__body *b, void *base);

static bool is_optional(const proto__field *f) {
  return f->kind == PROTO__F_ID_OPT || f->kind == PROTO__F_TEXT_OPT;
}

/* Does key k spell `key` (klen bytes)?  Length and first byte first: most
 * keys differ there, and a memcmp call costs more than the whole test. */
static bool key_is(const proto__jr_key *k, const char *key, size_t klen) {
  return k->len == klen && k->s[0] == key[0] && memcmp(k->s, key, klen) == 0;
}

/* Index of the field of f[0..n) whose key is k, or -1. */
static int find_field(const proto__field *f, size_t n, const proto__jr_key *k) {
  for (size_t i = 0; i < n; i++)
    if (key_is(k, f[i].key, f[i].klen)) return (int)i;
  return -1;
}

static bool fast_string(proto__jr *r, const proto__field *f, char *dst) {
  size_t len;
  /* The reader settles length and UTF-8; emptiness and identifiers remain. */
  return proto__jr_string(r, dst, f->size, &len) && proto__string_ok(f, dst, len);
}

static bool fast_int(proto__jr *r, const proto__field *f, int64_t *v) {
  return proto__jr_int(r, v) && proto__check_int(f, *v, "", false, NULL) == PROTO_OK;
}

static bool fast_enum(proto__jr *r, const proto__field *f, char *dst) {
  char name[32]; /* longer than any wire name */
  size_t len;
  if (!proto__jr_string(r, name, sizeof name, &len)) return false;
  for (int i = 0; i < f->en->count; i++) {
    if (strcmp(f->en->name(i), name) == 0) {
      memcpy(dst, &i, sizeof i); /* int-sized enum, see codec.c */
      return true;
    }
  }
  return false;
}

static bool fast_items(proto__jr *r, const proto__field *f, void *base) {
  proto_item *items = (proto_item *)((char *)base + f->off);
  int64_t n = 0;
  int more;
  if (!proto__jr_array(r)) return false;
  while ((more = proto__jr_element(r)) == 1) {
    if (n == f->max || !fast_fields(r, &proto__body_order_line, &items[n])) return false;
    n++;
  }
  if (more != 0 || n < f->min) return false;
  *(uint32_t *)((char *)base + f->count_off) = (uint32_t)n;
  return true;
}

/* {"<origin>": seq, ...}: each key an identifier, given once. */
static bool fast_seen(proto__jr *r, const proto__field *f, void *base) {
  proto_seen *seen = (proto_seen *)((char *)base + f->off);
  proto__jr_key k;
  int64_t n = 0, v;
  int more;
  if (!proto__jr_object(r)) return false;
  while ((more = proto__jr_member(r, &k)) == 1) {
    if (n == f->max || k.len >= sizeof seen[n].origin) return false;
    memcpy(seen[n].origin, k.s, k.len); /* zeroed by the caller: NUL-terminated */
    if (!proto__string_ok(&proto__origin_key, seen[n].origin, k.len)) return false;
    for (int64_t j = 0; j < n; j++)
      if (strcmp(seen[j].origin, seen[n].origin) == 0) return false;
    if (!fast_int(r, &proto__seen_seq, &v)) return false;
    seen[n++].seq = (uint64_t)v;
  }
  if (more != 0) return false;
  *(uint32_t *)((char *)base + f->count_off) = (uint32_t)n;
  return true;
}

/* The next value, as field f, into its member of base. */
static bool fast_value(proto__jr *r, const proto__field *f, void *base) {
  char *p = (char *)base + f->off;
  int64_t v;
  switch (f->kind) {
    case PROTO__F_ID:
    case PROTO__F_ID_OPT:
    case PROTO__F_TEXT:
    case PROTO__F_TEXT_OPT:
      return fast_string(r, f, p);
    case PROTO__F_I32:
    case PROTO__F_U32:
    case PROTO__F_I64:
    case PROTO__F_U64:
      if (!fast_int(r, f, &v)) return false;
      proto__store_int(f, p, v);
      return true;
    case PROTO__F_BOOL:
      return proto__jr_bool(r, (bool *)p);
    case PROTO__F_ENUM:
      return fast_enum(r, f, p);
    case PROTO__F_ITEMS:
      return fast_items(r, f, base);
    case PROTO__F_SEEN:
      return fast_seen(r, f, base);
  }
  return false;
}

/* The object that comes next, by table b, into base (zeroed).  Fields seen
 * are a bitmask of table indexes: tables have fewer than 32 fields. */
static bool fast_fields(proto__jr *r, const proto__body *b, void *base) {
  proto__jr_key k;
  uint32_t got = 0;
  int more;
  if (!proto__jr_object(r)) return false;
  while ((more = proto__jr_member(r, &k)) == 1) {
    int i = find_field(b->f, b->n, &k);
    if (i < 0 ? !proto__jr_skip(r)
              : (got & (UINT32_C(1) << i)) || !fast_value(r, &b->f[i], base))
      return false;
    if (i >= 0) got |= UINT32_C(1) << i;
  }
  for (size_t i = 0; more == 0 && i < b->n; i++)
    if (!(got & (UINT32_C(1) << i)) && !is_optional(&b->f[i])) return false;
  return more == 0;
}

/* ---- bodies -------------------------------------------------------------------- */

typedef bool (*fast_body_fn)(proto__jr *r, proto_event *ev);

#define FAST_BODY(name)                                              \
  static bool fast_##name(proto__jr *r, proto_event *ev) {           \
    return fast_fields(r, &proto__body_##name, &ev->body.name);      \
  }
FAST_BODY(dispatched)
FAST_BODY(step)
FAST_BODY(rejected)
FAST_BODY(shipped)
FAST_BODY(cancelled)
FAST_BODY(reminded)
FAST_BODY(item)
FAST_BODY(resolved)
FAST_BODY(rider)
FAST_BODY(delta)
FAST_BODY(stocktake)
FAST_BODY(avail)
FAST_BODY(catalog)
#undef FAST_BODY

/* Any subset, at least one, of the settings table's keys. */
_Static_assert(PROTO_SET__COUNT < 32, "settings fields are a bitmask");
static bool fast_settings(proto__jr *r, proto_event *ev) {
  proto_ev_settings *s = &ev->body.settings;
  const proto_settings_field_info *tbl = proto_settings_fields();
  proto__field f[PROTO_SET__COUNT];
  proto__jr_key k;
  int more;
  for (int i = 0; i < PROTO_SET__COUNT; i++) f[i] = proto__settings_field(&tbl[i]);
  if (!proto__jr_object(r)) return false;
  while ((more = proto__jr_member(r, &k)) == 1) {
    int i = find_field(f, PROTO_SET__COUNT, &k);
    if (i < 0 ? !proto__jr_skip(r)
              : (s->present & (UINT32_C(1) << i)) || !fast_value(r, &f[i], &s->v))
      return false;
    if (i >= 0) s->present |= UINT32_C(1) << i;
  }
  return more == 0 && s->present != 0;
}

static const fast_body_fn fast_body[PROTO_EV__COUNT] = {
#define FAST_BODY_ENTRY(e, name, body, target) [PROTO_EV_##e] = fast_##body,
    PROTO_EVENT_TYPE_MAP(FAST_BODY_ENTRY)
#undef FAST_BODY_ENTRY
};

/* ---- envelope ---------------------------------------------------------------------- */

typedef struct envelope {
  proto_event *ev;
  bool typed;          /* "type" read: ev->type is set */
  bool body_pending;   /* "body" came first: read it from body_at at the end */
  proto__jr body_at;
} envelope;

static bool env_v(proto__jr *r, envelope *e) {
  int64_t v;
  if (!proto__jr_int(r, &v) || v < 1 || v > PROTO_VERSION) return false;
  e->ev->v = (uint32_t)v;
  return true;
}

static bool env_type(proto__jr *r, envelope *e) {
  static const struct {
    const char *name;
    size_t len;
  } names[PROTO_EV__COUNT] = {
#define TYPE_NAME(e, name, body, target) [PROTO_EV_##e] = {name, sizeof name - 1},
      PROTO_EVENT_TYPE_MAP(TYPE_NAME)
#undef TYPE_NAME
  };
  char s[32]; /* longer than any type name */
  size_t len;
  if (!proto__jr_string(r, s, sizeof s, &len)) return false;
  for (int t = 0; t < PROTO_EV__COUNT; t++) {
    if (names[t].len == len && memcmp(names[t].name, s, len) == 0) { /* few share a length */
      e->ev->type = (proto_event_type)t;
      e->typed = true;
      return true;
    }
  }
  return false;
}

/* Canonical decimal: digits only, no leading zero, 1..UINT64_MAX. */
static bool env_hlc(proto__jr *r, envelope *e) {
  static const char max[] = "18446744073709551615"; /* UINT64_MAX: 20 digits */
  char s[sizeof max];
  size_t len;
  uint64_t v = 0;
  if (!proto__jr_string(r, s, sizeof s, &len) || len == 0 || (s[0] == '0' && len > 1)) return false;
  if (len == sizeof max - 1 && strcmp(s, max) > 0) return false; /* (non-digits fail below) */
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  e->ev->hlc = v;
  return v != 0;
}

static bool env_body(proto__jr *r, envelope *e) {
  if (e->typed) return fast_body[e->ev->type](r, e->ev);
  e->body_at = *r;
  e->body_pending = true;
  return proto__jr_skip(r);
}

/* The envelope members not in proto__body_envelope, by hand. */
static const struct env_member {
  const char *key;
  size_t klen;
  bool (*read)(proto__jr *r, envelope *e);
} env_members[] = {
    {"v", 1, env_v}, {"type", 4, env_type}, {"hlc", 3, env_hlc}, {"body", 4, env_body},
};
#define N_ENV_MEMBERS (sizeof env_members / sizeof env_members[0])

/* One envelope member; bit i of *got is set for each known key read. */
static bool env_member(proto__jr *r, const proto__jr_key *k, envelope *e, uint32_t *got) {
  const proto__body *tb = &proto__body_envelope;
  int i = find_field(tb->f, tb->n, k);
  bool ok;
  if (i >= 0) {
    ok = !(*got & (UINT32_C(1) << i)) && fast_value(r, &tb->f[i], e->ev);
  } else {
    for (size_t m = 0; i < 0 && m < N_ENV_MEMBERS; m++)
      if (key_is(k, env_members[m].key, env_members[m].klen))
        i = (int)(tb->n + m);
    if (i < 0) return proto__jr_skip(r);
    ok = !(*got & (UINT32_C(1) << i)) && env_members[i - (int)tb->n].read(r, e);
  }
  *got |= UINT32_C(1) << i;
  return ok;
}

/* Zeroes *ev first, as the reference does: F includes the bytes no member
 * covers. */
bool proto__event_read_fast(proto__jr *r, proto_event *ev) {
  const uint32_t all = (UINT32_C(1) << (proto__body_envelope.n + N_ENV_MEMBERS)) - 1;
  envelope e = {.ev = ev};
  proto__jr_key k;
  uint32_t got = 0;
  int more;
  memset(ev, 0, sizeof *ev);
  if (!proto__jr_object(r)) return false;
  while ((more = proto__jr_member(r, &k)) == 1)
    if (!env_member(r, &k, &e, &got)) return false;
  if (more != 0 || got != all) return false;
  return !e.body_pending || fast_body[ev->type](&e.body_at, ev);
}

bool proto__event_decode_fast(const char *json, size_t len, proto_event *ev) {
  proto__jr r;
  if (!json || len > PROTO_EVENT_JSON_MAX) return false;
  proto__jr_init(&r, json, len, PROTO_JSON_DEPTH_MAX);
  return proto__event_read_fast(&r, ev) && proto__jr_end(&r);
}

int proto_event_decode(const char *json, size_t len, proto_event *ev, proto_err *err) {
  if (proto__event_decode_fast(json, len, ev)) return PROTO_OK;
  return proto__event_decode_tree(json, len, ev, err);
}
