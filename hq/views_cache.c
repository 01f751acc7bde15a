/* views_cache.c - the views' answer cache: the JSON of (view, normalised
 * query), kept for ttl_ms, so N dashboards polling the same view cost one
 * computation per ttl instead of N.
 *
 *   key      "<view>?store=<id>&sku=<id>&limit=<n>": limit resolved
 *            (0 -> the default), sku kept only for stock (the others
 *            ignore it), so equal answers share one entry
 *   fresh    now - at_ms < ttl_ms, at_ms = when the computation was asked
 *            for (its snapshot is that recent or newer): an answer is never
 *            older than ttl_ms when it leaves the cache
 *   bounded  at most HQ_VIEWS_CACHE_ENTRIES entries and max_bytes of JSON;
 *            a put first drops expired entries, then the least recently
 *            used until the new one fits; an answer bigger than max_bytes
 *            is not kept
 *   ttl 0    off: nothing is kept, every get misses
 *
 * Only successful answers are kept (an error is recomputed next time).  Not
 * thread-safe: hq uses it from its loop only.  Entries are a small array
 * scanned linearly (tens of keys: a view per panel, per selected store).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "views_int.h"

typedef struct entry {
  char key[HQ_VIEWS_KEY_MAX];
  char *json;                      /* NULL: free slot */
  size_t len;
  uint64_t at_ms;                  /* freshness origin */
  uint64_t used;                   /* LRU tick */
} entry;

struct hq_views_cache {
  hq_views_cache_opts o;
  entry e[HQ_VIEWS_CACHE_ENTRIES];
  uint64_t tick;
  hq_views_cache_stats st;
};

static uint64_t mono_ms(void *ctx) {
  struct timespec ts;
  (void)ctx;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int hq_views_cache_open(hq_views_cache **out, const hq_views_cache_opts *opts, hq_err *err) {
  hq_views_cache *c = calloc(1, sizeof *c);
  *out = NULL;
  if (!c) return hq_err_set(err, HQ_ENOMEM, "views cache: out of memory");
  if (opts) c->o = *opts;
  if (!c->o.max_bytes) c->o.max_bytes = HQ_VIEWS_CACHE_BYTES;
  if (!c->o.clock_ms) c->o.clock_ms = mono_ms;
  *out = c;
  return HQ_OK;
}

static void drop(hq_views_cache *c, entry *e) {
  c->st.bytes -= e->len;
  c->st.entries--;
  free(e->json);
  memset(e, 0, sizeof *e);
}

void hq_views_cache_close(hq_views_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < HQ_VIEWS_CACHE_ENTRIES; i++) free(c->e[i].json);
  free(c);
}

uint64_t hq_views_cache_now(const hq_views_cache *c) { return c->o.clock_ms(c->o.ctx); }

int hq_views_cache_key(const char *name, const hq_view_query *q, char *key, size_t cap) {
  bool stock = strcmp(name, "stock") == 0;
  int n = snprintf(key, cap, "%s?store=%s&sku=%s&limit=%zu", name, q->store, stock ? q->sku : "",
                   hq__v_limit(q));
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

static entry *find(hq_views_cache *c, const char *key) {
  for (size_t i = 0; i < HQ_VIEWS_CACHE_ENTRIES; i++)
    if (c->e[i].json && strcmp(c->e[i].key, key) == 0) return &c->e[i];
  return NULL;
}

static bool fresh(const hq_views_cache *c, const entry *e, uint64_t now) {
  return now >= e->at_ms ? now - e->at_ms < c->o.ttl_ms : true; /* clock went back: still young */
}

int hq_views_cache_get(hq_views_cache *c, const char *key, proto_buf *out) {
  entry *e = c->o.ttl_ms ? find(c, key) : NULL;
  if (e && !fresh(c, e, hq_views_cache_now(c))) {
    drop(c, e);
    e = NULL;
  }
  if (!e) {
    c->st.misses++;
    return 0;
  }
  if (proto_buf_append(out, e->json, e->len) != PROTO_OK) return -1;
  e->used = ++c->tick;
  c->st.hits++;
  return 1;
}

/* Room for len more bytes and one entry: expired ones first, then LRU. */
static entry *make_room(hq_views_cache *c, size_t len) {
  uint64_t now = hq_views_cache_now(c);
  for (size_t i = 0; i < HQ_VIEWS_CACHE_ENTRIES; i++)
    if (c->e[i].json && !fresh(c, &c->e[i], now)) drop(c, &c->e[i]);
  for (;;) {
    entry *lru = NULL, *slot = NULL;
    for (size_t i = 0; i < HQ_VIEWS_CACHE_ENTRIES; i++) {
      entry *e = &c->e[i];
      if (!e->json) slot = slot ? slot : e;
      else if (!lru || e->used < lru->used) lru = e;
    }
    if (slot && c->st.bytes + len <= c->o.max_bytes) return slot;
    if (!lru) return NULL;
    drop(c, lru);
    c->st.evictions++;
  }
}

void hq_views_cache_put(hq_views_cache *c, const char *key, const char *json, size_t len,
                        uint64_t at_ms) {
  entry *e;
  if (!c->o.ttl_ms || len > c->o.max_bytes || strlen(key) >= HQ_VIEWS_KEY_MAX) return;
  if ((e = find(c, key)) != NULL) {
    if (e->at_ms > at_ms) return; /* a newer answer is there already */
    drop(c, e);
  }
  char *copy = malloc(len + 1);
  if (!copy) return; /* not kept: the next request computes again */
  e = make_room(c, len);
  if (!e) {
    free(copy);
    return;
  }
  memcpy(copy, json, len);
  copy[len] = '\0';
  snprintf(e->key, sizeof e->key, "%s", key);
  e->json = copy;
  e->len = len;
  e->at_ms = at_ms;
  e->used = ++c->tick;
  c->st.bytes += len;
  c->st.entries++;
  c->st.stores++;
}

void hq_views_cache_stats_get(const hq_views_cache *c, hq_views_cache_stats *out) { *out = c->st; }

int hq_views_cached_json(hq_views_cache *c, hq_views *v, const char *name, const hq_view_query *q,
                         proto_buf *out, hq_err *err) {
  char key[HQ_VIEWS_KEY_MAX];
  bool keyed = hq_views_cache_key(name, q, key, sizeof key) == 0;
  int hit = keyed ? hq_views_cache_get(c, key, out) : 0;
  if (hit < 0) return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  if (hit) return HQ_OK;
  uint64_t at = hq_views_cache_now(c);
  size_t start = out->len;
  int rc = hq_views_run_json(v, name, q, out, err);
  if (rc == HQ_OK && keyed) hq_views_cache_put(c, key, out->data + start, out->len - start, at);
  return rc;
}
