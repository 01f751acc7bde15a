/* vv.c - version vectors (see proto/vv.h).
 *
 * Invariants, true after every public call returns:
 *   V1  e[0..n) is sorted by origin (strcmp), origins unique and valid
 *       (1..63 chars): look-ups are a binary search              locate()
 *   V2  entry e holds the set S(e) = {1..contiguous} U held[0..n_held)
 *   V3  held is strictly ascending and every held[i] > contiguous + 1: a seq
 *       equal to contiguous + 1 is folded into contiguous at once      fold()
 *   V4  no entry has an empty S(e) (entries are created only to hold a seq)
 *   V5  every seq is 1..PROTO_SEQ_MAX, so contiguous + 1 never overflows
 * V1-V4 make the representation of a set unique: proto_vv_equal() can
 * compare structure.  (A decoder may still hand us an entry with an empty
 * set; equal() and missing() treat it as absent.)
 *
 * Operations:
 *   add      seq == contiguous + 1: contiguous++, fold; else insert in held
 *   advance  contiguous = max(contiguous, seq), fold
 *   merge    per origin: contiguous = max, held = sorted union, fold
 *   missing  per origin, the runs of S(have) minus the runs of S(other);
 *            each run of S(have) is maximal and separated from the next by
 *            a gap, so the pieces reported are maximal too
 *
 * Failure: each mutation allocates before it changes anything, and an entry
 * created for a failed add is removed again, so PROTO_ENOMEM leaves the
 * vector as it was (merge: as it was after the origins already merged).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_int.h"

static bool origin_ok(const char *origin) {
  if (!origin) return false;
  size_t n = strnlen(origin, PROTO_ID_MAX);
  return n >= 1 && n < PROTO_ID_MAX;
}

static int check_seq(uint64_t seq) {
  return seq >= 1 && seq <= PROTO_SEQ_MAX ? PROTO_OK : PROTO_EINVAL;
}

/* Index of origin in vv->e, or where it would be inserted (*found false). */
static size_t locate(const proto_vv *vv, const char *origin, bool *found) {
  size_t lo = 0, hi = vv->n;
  *found = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(vv->e[mid].origin, origin);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* First index of held with held[i] >= seq. */
static size_t held_lower(const proto_vv_entry *en, uint64_t seq) {
  size_t lo = 0, hi = en->n_held;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (en->held[mid] < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool entry_has(const proto_vv_entry *en, uint64_t seq) {
  if (seq == 0) return false;
  if (seq <= en->contiguous) return true;
  size_t i = held_lower(en, seq);
  return i < en->n_held && en->held[i] == seq;
}

static bool entry_empty(const proto_vv_entry *en) {
  return en->contiguous == 0 && en->n_held == 0;
}

static uint64_t entry_max(const proto_vv_entry *en) {
  return en->n_held ? en->held[en->n_held - 1] : en->contiguous;
}

/* Restore V3: drop held seqs now covered, absorb the run at contiguous + 1. */
static void fold(proto_vv_entry *en) {
  size_t k = 0;
  while (k < en->n_held && en->held[k] <= en->contiguous + 1) {
    if (en->held[k] == en->contiguous + 1) en->contiguous++;
    k++;
  }
  if (k == 0) return;
  en->n_held -= k;
  if (en->n_held) memmove(en->held, en->held + k, en->n_held * sizeof *en->held);
}

/* Next capacity >= need, doubling from 4; 0 on overflow. */
static size_t next_cap(size_t cap, size_t need, size_t elem) {
  size_t nc = cap ? cap : 4;
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / elem) return 0;
    nc *= 2;
  }
  return nc;
}

static int grow_held(proto_vv_entry *en, size_t need) {
  if (need <= en->cap_held) return PROTO_OK;
  size_t nc = next_cap(en->cap_held, need, sizeof *en->held);
  uint64_t *p = nc ? realloc(en->held, nc * sizeof *p) : NULL;
  if (!p) return PROTO_ENOMEM;
  en->held = p;
  en->cap_held = nc;
  return PROTO_OK;
}

/* The entry of origin, created empty if absent.  PROTO_ENOMEM: vv unchanged. */
static int get_entry(proto_vv *vv, const char *origin, proto_vv_entry **out) {
  bool found = false;
  size_t i = locate(vv, origin, &found);
  if (!found) {
    if (vv->n == vv->cap) {
      size_t nc = next_cap(vv->cap, vv->n + 1, sizeof *vv->e);
      proto_vv_entry *p = nc ? realloc(vv->e, nc * sizeof *p) : NULL;
      if (!p) return PROTO_ENOMEM;
      vv->e = p;
      vv->cap = nc;
    }
    memmove(vv->e + i + 1, vv->e + i, (vv->n - i) * sizeof *vv->e);
    memset(&vv->e[i], 0, sizeof vv->e[i]);
    proto__strlcpy(vv->e[i].origin, origin, sizeof vv->e[i].origin);
    vv->n++;
  }
  *out = &vv->e[i];
  return PROTO_OK;
}

/* Undo get_entry() after a failure, keeping V4. */
static void drop_if_empty(proto_vv *vv, proto_vv_entry *en) {
  if (!entry_empty(en)) return;
  size_t i = (size_t)(en - vv->e);
  free(en->held);
  vv->n--;
  memmove(vv->e + i, vv->e + i + 1, (vv->n - i) * sizeof *vv->e);
}

/* Insert a seq the entry lacks.  PROTO_ENOMEM: entry unchanged. */
static int entry_insert(proto_vv_entry *en, uint64_t seq) {
  if (seq == en->contiguous + 1) {
    en->contiguous = seq;
    fold(en);
    return PROTO_OK;
  }
  if (grow_held(en, en->n_held + 1) != PROTO_OK) return PROTO_ENOMEM;
  size_t i = held_lower(en, seq);
  memmove(en->held + i + 1, en->held + i, (en->n_held - i) * sizeof *en->held);
  en->held[i] = seq;
  en->n_held++;
  return PROTO_OK;
}

void proto_vv_init(proto_vv *vv) { memset(vv, 0, sizeof *vv); }

void proto_vv_reset(proto_vv *vv) {
  for (size_t i = 0; i < vv->n; i++) free(vv->e[i].held);
  vv->n = 0;
}

void proto_vv_close(proto_vv *vv) {
  proto_vv_reset(vv);
  free(vv->e);
  proto_vv_init(vv);
}

int proto_vv_add(proto_vv *vv, const char *origin, uint64_t seq, bool *added) {
  proto_vv_entry *en = NULL;
  if (added) *added = false;
  if (!origin_ok(origin) || check_seq(seq) != PROTO_OK) return PROTO_EINVAL;
  int rc = get_entry(vv, origin, &en);
  if (rc != PROTO_OK || entry_has(en, seq)) return rc;
  rc = entry_insert(en, seq);
  if (rc != PROTO_OK) {
    drop_if_empty(vv, en);
    return rc;
  }
  if (added) *added = true;
  return PROTO_OK;
}

const proto_vv_entry *proto_vv_find(const proto_vv *vv, const char *origin) {
  bool found = false;
  if (!origin_ok(origin)) return NULL;
  size_t i = locate(vv, origin, &found);
  return found ? &vv->e[i] : NULL;
}

bool proto_vv_has(const proto_vv *vv, const char *origin, uint64_t seq) {
  const proto_vv_entry *en = proto_vv_find(vv, origin);
  return en && entry_has(en, seq);
}

uint64_t proto_vv_contiguous(const proto_vv *vv, const char *origin) {
  const proto_vv_entry *en = proto_vv_find(vv, origin);
  return en ? en->contiguous : 0;
}

uint64_t proto_vv_max(const proto_vv *vv, const char *origin) {
  const proto_vv_entry *en = proto_vv_find(vv, origin);
  return en ? entry_max(en) : 0;
}

int proto_vv_advance(proto_vv *vv, const char *origin, uint64_t seq) {
  proto_vv_entry *en = NULL;
  if (!origin_ok(origin) || seq > PROTO_SEQ_MAX) return PROTO_EINVAL;
  if (seq == 0) return PROTO_OK; /* "at least 0" always holds */
  int rc = get_entry(vv, origin, &en);
  if (rc != PROTO_OK) return rc;
  if (seq > en->contiguous) {
    en->contiguous = seq;
    fold(en);
  }
  return PROTO_OK;
}

/* into := into U from for one origin.  PROTO_ENOMEM: `into` unchanged. */
static int entry_merge(proto_vv_entry *into, const proto_vv_entry *from) {
  uint64_t c = into->contiguous > from->contiguous ? into->contiguous : from->contiguous;
  if (from->n_held == 0) {
    into->contiguous = c;
    fold(into);
    return PROTO_OK;
  }
  size_t cap = into->n_held + from->n_held;
  uint64_t *u = malloc(cap * sizeof *u);
  if (!u) return PROTO_ENOMEM;
  size_t i = 0, j = 0, n = 0;
  while (i < into->n_held || j < from->n_held) {
    uint64_t a = i < into->n_held ? into->held[i] : UINT64_MAX;
    uint64_t b = j < from->n_held ? from->held[j] : UINT64_MAX;
    uint64_t s = a < b ? a : b;
    i += a == s;
    j += b == s;
    if (s > c) u[n++] = s;
  }
  free(into->held);
  into->held = u;
  into->n_held = n;
  into->cap_held = cap;
  into->contiguous = c;
  fold(into);
  return PROTO_OK;
}

int proto_vv_merge(proto_vv *into, const proto_vv *from) {
  if (into == from) return PROTO_OK;
  for (size_t k = 0; k < from->n; k++) {
    const proto_vv_entry *fe = &from->e[k];
    proto_vv_entry *en = NULL;
    if (entry_empty(fe) || !origin_ok(fe->origin)) continue;
    int rc = get_entry(into, fe->origin, &en);
    if (rc == PROTO_OK) rc = entry_merge(en, fe);
    if (rc != PROTO_OK) {
      if (en) drop_if_empty(into, en);
      return rc;
    }
  }
  return PROTO_OK;
}

/* Next non-empty entry at or after *i, or NULL. */
static const proto_vv_entry *next_nonempty(const proto_vv *vv, size_t *i) {
  while (*i < vv->n && entry_empty(&vv->e[*i])) (*i)++;
  return *i < vv->n ? &vv->e[(*i)++] : NULL;
}

bool proto_vv_equal(const proto_vv *a, const proto_vv *b) {
  size_t i = 0, j = 0;
  for (;;) {
    const proto_vv_entry *x = next_nonempty(a, &i);
    const proto_vv_entry *y = next_nonempty(b, &j);
    if (!x || !y) return x == y;
    if (strcmp(x->origin, y->origin) != 0 || x->contiguous != y->contiguous ||
        x->n_held != y->n_held)
      return false;
    if (x->n_held && memcmp(x->held, y->held, x->n_held * sizeof *x->held) != 0) return false;
  }
}

/* Cursor over the maximal runs lo..hi of an entry's set, ascending. */
typedef struct run_cursor {
  const proto_vv_entry *en; /* NULL: empty set */
  size_t i;
  bool started;
} run_cursor;

static bool next_run(run_cursor *r, uint64_t *lo, uint64_t *hi) {
  const proto_vv_entry *en = r->en;
  if (!en) return false;
  if (!r->started) {
    r->started = true;
    if (en->contiguous > 0) {
      *lo = 1;
      *hi = en->contiguous;
      return true;
    }
  }
  if (r->i >= en->n_held) return false;
  *lo = *hi = en->held[r->i++];
  while (r->i < en->n_held && en->held[r->i] == *hi + 1) *hi = en->held[r->i++];
  return true;
}

static int entry_missing(const proto_vv_entry *have, const proto_vv_entry *other,
                         proto_vv_range_fn fn, void *ctx) {
  run_cursor hr = {have, 0, false}, orr = {other, 0, false};
  uint64_t lo = 0, hi = 0, olo = 0, ohi = 0;
  bool ovalid = next_run(&orr, &olo, &ohi);
  while (next_run(&hr, &lo, &hi)) {
    uint64_t cur = lo; /* lowest seq of lo..hi not yet classified */
    for (;;) {
      while (ovalid && ohi < cur) ovalid = next_run(&orr, &olo, &ohi);
      if (!ovalid || olo > hi) {
        int rc = fn(ctx, have->origin, cur, hi);
        if (rc != 0) return rc;
        break;
      }
      if (olo > cur) {
        int rc = fn(ctx, have->origin, cur, olo - 1);
        if (rc != 0) return rc;
      }
      if (ohi >= hi) break;
      cur = ohi + 1;
    }
  }
  return 0;
}

int proto_vv_missing(const proto_vv *have, const proto_vv *other, proto_vv_range_fn fn,
                     void *ctx) {
  for (size_t k = 0; k < have->n; k++) {
    const proto_vv_entry *en = &have->e[k];
    int rc = entry_missing(en, proto_vv_find(other, en->origin), fn, ctx);
    if (rc != 0) return rc;
  }
  return 0;
}
