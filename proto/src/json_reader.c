/* json_reader.c - a strict, allocation-free pull reader for JSON, for the
 * decoders' fast paths: events (codec_fast.c) and batches of them (repl.c).
 *
 * Why not cJSON here.  Decoding an event with cJSON 1.7.15 costs a malloc
 * and a free per node and per string, and strtod per number: measured on
 * this machine (Release, one core) cJSON_Parse + cJSON_Delete alone take
 * ~0.85 us for a 178-byte event and ~1.7 us for a 418-byte one, which is
 * the whole decode budget of the issue (500,000 decode + merge per second,
 * merge ~0.1-0.3 us).  Walking its tree more cleverly cannot win that back,
 * so the fast path reads the bytes directly: one pass, no allocation,
 * values unescaped straight into the event struct (docs/performance.md,
 * "Codec").  cJSON stays where it helps: the reference decoder, which words
 * every error message, and version vectors.
 *
 * What it accepts, exactly (the "strict subset"):
 *   - RFC 8259 JSON; whitespace is space, tab, LF, CR;
 *   - strings of well-formed UTF-8 (proto__utf8_seq) without raw control
 *     characters; escapes \" \\ \/ \b \f \n \r \t \uXXXX with 4 hex digits,
 *     surrogates only in valid pairs, never U+0000;
 *   - numbers per the JSON grammar, at most 63 bytes long;
 *   - at most max_depth nested containers.
 * Invariant R: every text in the strict subset is accepted by
 * proto_json_precheck and parsed to the same values by cJSON 1.7.15 (whose
 * number buffer holds 63 bytes).  The converse does not hold, on purpose:
 * a UTF-8 BOM, 01, 1., escaped object keys (see proto__jr_member) and the
 * like are refused here, and the reference decoder then decides.
 *
 * Failure says nothing about where or why: a caller that needs a reason
 * asks the reference decoder.  No function reads outside [p, end).
 */
#include "json_reader.h"

#include <string.h>

/* Bytes that stand for themselves inside a string: printable ASCII and DEL,
 * not '"' or '\\'.  0x80 and up are checked as UTF-8 sequences. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 70 */
};

/* The one-character escapes: what \c stands for, 0 if \c is not one. */
static const unsigned char unescape[128] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
    ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

#define MAX_NUMBER_BYTES 63 /* cJSON copies a number into char[64] */

/* Inlined into the string loops below; proto__utf8_seq is the same check
 * for the rest of the codec. */
static inline size_t utf8_seq(const unsigned char *p, size_t avail) {
  unsigned c = p[0];
  unsigned lo = 0x80, hi = 0xBF;
  size_t n;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (avail < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

size_t proto__utf8_seq(const unsigned char *p, size_t avail) { return utf8_seq(p, avail); }

static bool is_digit(unsigned c) { return c - '0' < 10u; }

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

void proto__jr_init(proto__jr *r, const char *json, size_t len, int max_depth) {
  r->p = (const unsigned char *)json;
  r->end = r->p + len;
  r->depth = 0;
  r->max_depth = max_depth;
  r->fresh = false;
}

/* ---- strings ------------------------------------------------------------- */

/* Four hex digits at p as a number, or -1. */
static long hex4(const unsigned char *p) {
  long v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (is_digit(c))
      d = c - '0';
    else if ((c | 0x20) - 'a' < 6u) /* a-f, A-F */
      d = (c | 0x20) - 'a' + 10;
    else
      return -1;
    v = v * 16 + (long)d;
  }
  return v;
}

/* Code point cp as UTF-8 into out; returns its length. */
static size_t utf8_put(long cp, unsigned char out[4]) {
  static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
  size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  for (size_t i = n - 1; i > 0; i--, cp >>= 6) out[i] = (unsigned char)(0x80 | (cp & 0x3F));
  out[0] = (unsigned char)(lead[n] | cp);
  return n;
}

/* The escape at p (a backslash) as UTF-8 into out, *n bytes.  Returns the
 * byte after the escape, or NULL. */
static const unsigned char *escape(const unsigned char *p, const unsigned char *end,
                                   unsigned char out[4], size_t *n) {
  if (end - p < 2 || p[1] >= 0x80) return NULL;
  if (p[1] != 'u') {
    out[0] = unescape[p[1]];
    *n = 1;
    return out[0] ? p + 2 : NULL;
  }
  long cp = end - p >= 6 ? hex4(p + 2) : -1;
  if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return NULL; /* U+0000, a lone low half */
  p += 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high half: its low half must follow */
    long lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return NULL;
    cp = 0x10000 + ((cp & 0x3FF) << 10) + (lo & 0x3FF);
    p += 6;
  }
  *n = utf8_put(cp, out);
  return p;
}

/* From p, past bytes that stand for themselves: plain ASCII and whole UTF-8
 * sequences.  Returns where that stops (end, or a quote, backslash or
 * control byte), or NULL at bytes that are not UTF-8. */
static const unsigned char *scan_run(const unsigned char *p, const unsigned char *end) {
  for (;;) {
    while (p < end && plain[*p]) p++;
    if (p >= end || *p < 0x80) return p;
    size_t k = utf8_seq(p, (size_t)(end - p));
    if (!k) return NULL;
    p += k;
  }
}

/* The string whose opening quote is just before p: unescaped into dst
 * (when dst is not NULL: at most cap - 1 bytes, then a NUL), *len bytes.
 * Returns the byte after the closing quote, or NULL.  cap >= 1. */
static const unsigned char *string_body(const unsigned char *p, const unsigned char *end,
                                        char *dst, size_t cap, size_t *len) {
  size_t n = 0, room = cap - 1;
  for (;;) {
    const unsigned char *run = p;
    unsigned char esc[4];
    size_t k;
    if (!(p = scan_run(p, end))) return NULL;
    k = (size_t)(p - run);
    if (k > room - n) return NULL;
    if (dst) memcpy(dst + n, run, k);
    n += k;
    if (p >= end || *p != '\\') break;
    if (!(p = escape(p, end, esc, &k)) || k > room - n) return NULL;
    if (dst) memcpy(dst + n, esc, k);
    n += k;
  }
  if (p >= end || *p != '"') return NULL; /* a control byte, or no closing quote */
  if (dst) dst[n] = '\0';
  *len = n;
  return p + 1;
}

bool proto__jr_string(proto__jr *r, char *dst, size_t cap, size_t *len) {
  const unsigned char *p = skip_ws(r->p, r->end);
  if (p >= r->end || *p != '"' || !(p = string_body(p + 1, r->end, dst, cap, len))) return false;
  r->p = p;
  return true;
}

/* ---- containers ------------------------------------------------------------ */

static bool enter(proto__jr *r, unsigned char bracket) {
  const unsigned char *p = skip_ws(r->p, r->end);
  if (p >= r->end || *p != bracket || r->depth >= r->max_depth) return false;
  r->p = p + 1;
  r->depth++;
  r->fresh = true;
  return true;
}

bool proto__jr_object(proto__jr *r) { return enter(r, '{'); }
bool proto__jr_array(proto__jr *r) { return enter(r, '['); }

/* Between members or elements: 1 if one follows (r->p at it), 0 after the
 * closing bracket, -1 if neither. */
static int next(proto__jr *r, unsigned char close) {
  const unsigned char *p = skip_ws(r->p, r->end);
  bool fresh = r->fresh;
  r->fresh = false;
  if (p < r->end && *p == close) {
    r->p = p + 1;
    r->depth--;
    return 0;
  }
  if (!fresh) {
    if (p >= r->end || *p != ',') return -1;
    p = skip_ws(p + 1, r->end);
  }
  if (p >= r->end) return -1;
  r->p = p;
  return 1;
}

/* The next member's key and colon; with `escapes` a key may hold escapes
 * (then key->s is not set: skipping only checks it). */
static int member(proto__jr *r, proto__jr_key *key, bool escapes) {
  int more = next(r, '}');
  const unsigned char *p = r->p, *end = r->end, *k;
  size_t len;
  if (more != 1) return more;
  if (*p != '"') return -1;
  k = ++p;
  p = scan_run(p, end);
  if (p && p < end && *p == '\\' && escapes) { /* checked, not matched: back to its quote */
    const unsigned char *after = string_body(k, end, NULL, SIZE_MAX, &len);
    p = after ? after - 1 : NULL;
  }
  if (!p || p >= end || *p != '"') return -1;
  key->s = (const char *)k;
  key->len = (size_t)(p - k);
  p = skip_ws(p + 1, end);
  if (p >= end || *p != ':') return -1;
  r->p = p + 1;
  return 1;
}

int proto__jr_member(proto__jr *r, proto__jr_key *key) { return member(r, key, false); }
int proto__jr_element(proto__jr *r) { return next(r, ']'); }

/* ---- numbers, literals, skipping ------------------------------------------------ */

bool proto__jr_int(proto__jr *r, int64_t *v) {
  const unsigned char *p = skip_ws(r->p, r->end), *end = r->end, *digits;
  bool neg = p < end && *p == '-';
  uint64_t u = 0;
  p += neg;
  digits = p;
  while (p < end && is_digit(*p) && p - digits < 17) u = u * 10 + (uint64_t)(*p++ - '0');
  size_t n = (size_t)(p - digits);
  if (n == 0 || n > 16 || (digits[0] == '0' && n > 1) || u > (uint64_t)PROTO__JR_INT_MAX)
    return false;
  if (p < end && (*p == '.' || (*p | 0x20) == 'e')) return false; /* not written as an integer */
  *v = neg ? -(int64_t)u : (int64_t)u;
  r->p = p;
  return true;
}

bool proto__jr_bool(proto__jr *r, bool *v) {
  const unsigned char *p = skip_ws(r->p, r->end);
  size_t avail = (size_t)(r->end - p);
  if (avail >= 4 && memcmp(p, "true", 4) == 0) {
    *v = true;
    r->p = p + 4;
    return true;
  }
  if (avail >= 5 && memcmp(p, "false", 5) == 0) {
    *v = false;
    r->p = p + 5;
    return true;
  }
  return false;
}

/* The JSON number at p (grammar of RFC 8259 section 6): the byte after it,
 * or NULL. */
static const unsigned char *number_end(const unsigned char *p, const unsigned char *end) {
  const unsigned char *start = p;
  if (p < end && *p == '-') p++;
  if (p >= end || !is_digit(*p)) return NULL;
  if (*p++ != '0')
    while (p < end && is_digit(*p)) p++;
  if (p < end && *p == '.') {
    if (++p >= end || !is_digit(*p)) return NULL;
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p | 0x20) == 'e') {
    if (++p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p)) return NULL;
    while (p < end && is_digit(*p)) p++;
  }
  return p - start <= MAX_NUMBER_BYTES ? p : NULL;
}

static const unsigned char *literal(const unsigned char *p, const unsigned char *end,
                                    const char *word) {
  size_t n = strlen(word);
  return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

static bool skip_container(proto__jr *r, bool object) {
  proto__jr_key key;
  int more;
  if (!(object ? proto__jr_object(r) : proto__jr_array(r))) return false;
  while ((more = object ? member(r, &key, true) : next(r, ']')) == 1)
    if (!proto__jr_skip(r)) return false;
  return more == 0;
}

bool proto__jr_skip(proto__jr *r) {
  const unsigned char *p = skip_ws(r->p, r->end), *end = r->end;
  size_t len;
  if (p >= end) return false;
  switch (*p) {
    case '{': return skip_container(r, true);
    case '[': return skip_container(r, false);
    case '"': p = string_body(p + 1, end, NULL, SIZE_MAX, &len); break;
    case 't': p = literal(p, end, "true"); break;
    case 'f': p = literal(p, end, "false"); break;
    case 'n': p = literal(p, end, "null"); break;
    default: p = number_end(p, end); break;
  }
  if (!p) return false;
  r->p = p;
  return true;
}

bool proto__jr_end(proto__jr *r) { return r->depth == 0 && skip_ws(r->p, r->end) == r->end; }
