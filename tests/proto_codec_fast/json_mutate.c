/* json_mutate.c - see json_mutate.h. */
#include "json_mutate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t literal_len(const char *s) {
  size_t i = 1;
  while (s[i] != '"') i += s[i] == '\\' ? 2 : 1;
  return i + 1;
}

static bool is_key(const char *after) {
  while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r') after++;
  return *after == ':';
}

char *respace(rng *r, const char *s) {
  static const char ws[] = " \t\n\r";
  char *out = malloc(strlen(s) * 5 + 16), *o = out;
  for (int k = (int)rng_below(r, 3); k > 0; k--) *o++ = ws[rng_below(r, 4)];
  while (*s) {
    size_t n = *s == '"' ? literal_len(s) : 1;
    memcpy(o, s, n);
    o += n;
    if (strchr("{}[],:", *s))
      for (int k = (int)rng_below(r, 3); k > 0; k--) *o++ = ws[rng_below(r, 4)];
    s += n;
  }
  *o = '\0';
  return out;
}

char *escape_values(rng *r, const char *s) {
  char *out = malloc(strlen(s) * 6 + 1), *o = out;
  while (*s) {
    if (*s != '"') {
      *o++ = *s++;
      continue;
    }
    size_t n = literal_len(s);
    bool key = is_key(s + n);
    for (size_t i = 0; i < n; i++) {
      char c = s[i];
      bool inner = i > 0 && i + 1 < n;
      if (inner && c == '\\') { /* an existing escape: copy it whole */
        size_t k = s[i + 1] == 'u' ? 6 : 2;
        memcpy(o, s + i, k);
        o += k;
        i += k - 1;
      } else if (!key && inner && c == '/' && rng_below(r, 2)) {
        o += sprintf(o, "\\/");
      } else if (!key && inner && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) &&
                 rng_below(r, 3) == 0) {
        o += sprintf(o, rng_below(r, 2) ? "\\u%04x" : "\\u%04X", (unsigned)c);
      } else {
        *o++ = c;
      }
    }
    s += n;
  }
  *o = '\0';
  return out;
}

static const char *const tokens[] = {
    "{", "}", "[", "]", "\"", "\\", ",", ":", " ", "0", "-0", "01", "1.5", "1e400", "null",
    "true", "\"\":", "\\u0000", "\\ud800", "\\udc00", "\\u751f", "\\uzzzz", "\\u00", "\xC0\xAF",
    "\xE4\xB8", "😀", "\x01", "9007199254740993", "\"v\":1,", "\"seq\":1,",
    "\"type\":\"order.ready\",", "\"body\":{},", "[[[[[[[[[", "\"store\":\"x\",",
    "\"events\":[],",
};

void mutate(rng *r, char *buf, size_t *len, size_t cap) {
  for (int e = rng_below(r, 2) ? 1 : 1 + (int)rng_below(r, 4); e > 0; e--) {
    size_t n = *len, at = n ? (size_t)rng_below(r, n) : 0, k;
    const char *t;
    switch (rng_below(r, 6)) {
      case 0: if (n) buf[at] ^= (char)(1u << rng_below(r, 8)); break;
      case 1: if (n) buf[at] = (char)rng_below(r, 128); break;
      case 2: *len = (size_t)rng_below(r, n + 1); break;
      case 3: /* delete a range */
        k = n ? 1 + (size_t)rng_below(r, n - at < 16 ? n - at : 16) : 0;
        memmove(buf + at, buf + at + k, n - at - k);
        *len = n - k;
        break;
      default: /* insert a token */
        t = tokens[rng_below(r, sizeof tokens / sizeof *tokens)];
        k = strlen(t);
        if (n + k > cap) break;
        memmove(buf + at + k, buf + at, n - at);
        memcpy(buf + at, t, k);
        *len = n + k;
        break;
    }
  }
}
