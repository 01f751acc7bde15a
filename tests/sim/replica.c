/* replica.c - one in-memory replica: event log, version vector, HLC, state.
 *
 * Receiving event e at replica r (issuing is the same minus the first two):
 *   1. (origin, seq) already in r's version vector -> duplicate, dropped
 *   2. proto_hlc_recv(e.hlc); a clock too far ahead is refused (the event is
 *      not stored, anti-entropy sends it again later)
 *   3. proto_vv_add, append to the log, proto_event_merge into the state of
 *      the event's key; a winning stocktake asks for a recount, which re-adds
 *      every delta held for that key (stock.h)
 *   4. sim_check_step: the invariants of the touched key (check.c)
 *   5. star topology: hq relays the new event to the other stores
 * The state of a key depends only on the set of its events, which is what
 * the final hash comparison proves.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sim_rep_names[SIM_NREP] = {"hq", "store-001", "store-002", "store-003"};
const char *const sim_sku_names[SIM_NSKU] = {"sku-latte", "sku-mocha", "sku-tea",
                                             "sku-bagel", "sku-salad", "sku-juice"};

static int name_index(const char *const *names, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], s) == 0) return i;
  return -1;
}
int sim_rep_index(const char *name) { return name_index(sim_rep_names, SIM_NREP, name); }
int sim_sku_index(const char *sku) { return name_index(sim_sku_names, SIM_NSKU, sku); }

void *sim_grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return p;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(p, c * elem);
  if (!q) {
    fprintf(stderr, "sim: out of memory\n");
    abort();
  }
  *cap = c;
  return q;
}

/* ---- keys ---------------------------------------------------------------- */

static char *put(char *p, const char *s) {
  size_t n = strnlen(s, PROTO_ID_MAX - 1);
  memcpy(p, s, n);
  return p + n;
}

/* Called for every delivery: plain copies, no printf. */
void sim_key_of(const proto_event *ev, char out[SIM_KEY_MAX]) {
  static const char prefix[] = {[PROTO_TARGET_ORDER] = 'O', [PROTO_TARGET_STOCK] = 'S',
                                [PROTO_TARGET_SKU] = 'K', [PROTO_TARGET_STORE] = 'T'};
  proto_target t = proto_event_target(ev->type);
  char *p = out;
  *p++ = prefix[t];
  *p++ = '|';
  if (t == PROTO_TARGET_STOCK || t == PROTO_TARGET_SKU) {
    p = put(p, ev->store);
    *p++ = '|';
  }
  p = put(p, proto_event_key(ev));
  *p = '\0';
}

static uint32_t key_slot_hash(const char *key) {
  uint64_t h = sim_fnv(SIM_FNV_INIT, key, strlen(key));
  return (uint32_t)(h ^ (h >> 32));
}

sim_key *sim_key_find(const sim_replica *r, const char *key) {
  if (!r->n_slots) return NULL;
  size_t mask = r->n_slots - 1;
  for (size_t i = key_slot_hash(key) & mask;; i = (i + 1) & mask) {
    uint32_t s = r->slots[i];
    if (!s) return NULL;
    if (strcmp(r->keys[s - 1]->key, key) == 0) return r->keys[s - 1];
  }
}

static void slots_insert(sim_replica *r, uint32_t index) {
  size_t mask = r->n_slots - 1;
  size_t i = key_slot_hash(r->keys[index]->key) & mask;
  while (r->slots[i]) i = (i + 1) & mask;
  r->slots[i] = index + 1;
}

static void slots_rehash(sim_replica *r) {
  free(r->slots);
  r->n_slots = r->n_slots ? r->n_slots * 2 : 64;
  r->slots = calloc(r->n_slots, sizeof *r->slots);
  if (!r->slots) abort();
  for (size_t i = 0; i < r->n_keys; i++) slots_insert(r, (uint32_t)i);
}

static sim_key *key_alloc(sim_pool *p) {
  if (!p->n_keys) {
    sim_key *k = calloc(1, sizeof *k);
    if (!k) abort();
    return k;
  }
  sim_key *k = p->keys[--p->n_keys];
  uint32_t *evs = k->evs;
  size_t cap = k->cap_evs;
  memset(k, 0, sizeof *k);
  k->evs = evs;
  k->cap_evs = cap;
  return k;
}

static sim_key *key_create(sim_world *w, sim_replica *r, const proto_event *ev, const char *key) {
  sim_key *k = key_alloc(w->pool);
  snprintf(k->key, sizeof k->key, "%s", key);
  k->target = proto_event_target(ev->type);
  k->store = sim_rep_index(ev->store) - 1;
  k->last_rank = -1;
  switch (k->target) {
    case PROTO_TARGET_ORDER: proto_order_init(&k->st.order, proto_event_key(ev), ev->store); break;
    case PROTO_TARGET_STOCK: proto_stock_init(&k->st.stock, proto_event_key(ev)); break;
    case PROTO_TARGET_SKU: proto_sku_init(&k->st.sku, proto_event_key(ev)); break;
    case PROTO_TARGET_STORE: proto_settings_init(&k->st.settings, ev->store); break;
  }
  r->keys = sim_grow(r->keys, &r->cap_keys, r->n_keys + 1, sizeof *r->keys);
  r->keys[r->n_keys++] = k;
  if (r->n_keys * 2 > r->n_slots)
    slots_rehash(r);
  else
    slots_insert(r, (uint32_t)(r->n_keys - 1));
  return k;
}

/* ---- replica life -------------------------------------------------------- */

int sim_replica_init(sim_world *w, int id) {
  sim_replica *r = &w->rep[id];
  memset(r, 0, sizeof *r);
  r->id = id;
  snprintf(r->name, sizeof r->name, "%s", sim_rep_names[id]);
  r->is_hq = id == SIM_HQ;
  r->store = id - 1;
  /* Skewed wall clocks: up to 15 s either way, well inside the HLC bound. */
  r->clock_offset_ms = sim_range(&w->rng, -15000, 15000);
  proto_hlc_init(&r->hlc, 0, SIM_MAX_AHEAD_MS);
  proto_vv_init(&r->vv);
  return 0;
}

void sim_replica_close(sim_world *w, sim_replica *r) {
  sim_pool *p = w->pool;
  p->keys = sim_grow(p->keys, &p->cap_keys, p->n_keys + r->n_keys, sizeof *p->keys);
  for (size_t i = 0; i < r->n_keys; i++) p->keys[p->n_keys++] = r->keys[i];
  free(r->keys);
  free(r->slots);
  free(r->log);
  free(r->orders);
  free(r->conflicts);
  proto_vv_close(&r->vv);
  memset(r, 0, sizeof *r);
}

void sim_pool_close(sim_pool *p) {
  for (size_t i = 0; i < p->n_keys; i++) {
    free(p->keys[i]->evs);
    free(p->keys[i]);
  }
  for (size_t i = 0; i < p->n_chunks; i++) free(p->chunks[i]);
  free(p->keys);
  free(p->chunks);
  memset(p, 0, sizeof *p);
}

uint64_t sim_wall(const sim_world *w, const sim_replica *r) {
  if (r->no_rtc && w->now < r->ntp_at) return 1000 + (w->now - r->boot_at);
  int64_t t = (int64_t)w->now + r->clock_offset_ms;
  return t > 0 ? (uint64_t)t : 0;
}

/* A box reboots: state and log are durable, the clock restarts from the
 * highest hlc in the log, and the wall clock reads 1970 until NTP syncs. */
void sim_restart(sim_world *w, sim_replica *r) {
  proto_hlc_init(&r->hlc, r->max_hlc, SIM_MAX_AHEAD_MS);
  r->no_rtc = !r->is_hq;
  r->boot_at = w->now;
  r->ntp_at = w->now + (uint64_t)sim_range(&w->rng, 200, 3000);
  w->st.restarts++;
}

/* ---- apply --------------------------------------------------------------- */

static void trace_push(sim_world *w, const sim_replica *r, uint32_t idx, int from) {
  sim_trace_ent *t = &w->trace[w->n_trace++ % SIM_TRACE];
  t->now = w->now;
  t->ev = idx;
  t->rep = (int8_t)r->id;
  t->from = (int8_t)from;
}

/* Keep the lists the generators pick from: orders in scope whose dispatch is
 * known, and (hq) conflicts still to resolve. */
static void track_order(sim_world *w, sim_replica *r, sim_key *k) {
  const proto_order *o = &k->st.order;
  if (!k->listed && o->info_stamp.hlc != 0 && (r->is_hq || k->store == r->store)) {
    k->listed = true;
    r->orders = sim_grow(r->orders, &r->cap_orders, r->n_orders + 1, sizeof *r->orders);
    r->orders[r->n_orders++] = k;
  }
  if (r->is_hq && !k->conflict_queued && proto_order_conflict(o) && o->resolve_stamp.hlc == 0) {
    k->conflict_queued = true;
    w->st.conflicts++;
    r->conflicts = sim_grow(r->conflicts, &r->cap_conflicts, r->n_conflicts + 1,
                            sizeof *r->conflicts);
    r->conflicts[r->n_conflicts++] = k;
  }
}

static int apply(sim_world *w, sim_replica *r, uint32_t idx) {
  const proto_event *ev = sim_ev(w, idx);
  char key[SIM_KEY_MAX], desc[200];
  sim_key_of(ev, key);
  sim_key *k = sim_key_find(r, key);
  if (!k) k = key_create(w, r, ev, key);
  SIM_CHECK(w, k->store >= 0, "%s: event for unknown store: %s", r->name,
            sim_ev_str(w, idx, desc, sizeof desc));
  k->evs = sim_grow(k->evs, &k->cap_evs, k->n_evs + 1, sizeof *k->evs);
  k->evs[k->n_evs++] = idx;

  bool recount = false;
  int rc = proto_event_merge(ev, &k->st, &recount);
  SIM_CHECK(w, rc == PROTO_OK, "%s: proto_event_merge returned %s for %s", r->name,
            proto_err_name(rc), sim_ev_str(w, idx, desc, sizeof desc));
  SIM_CHECK(w, !recount || ev->type == PROTO_EV_STOCK_STOCKTAKE,
            "%s: recount requested by %s", r->name, sim_ev_str(w, idx, desc, sizeof desc));
  if (recount) {
    w->st.recounts++;
    for (size_t i = 0; i < k->n_evs; i++) {
      const sim_fact *d = &w->facts[k->evs[i]];
      if (d->type == PROTO_EV_STOCK_DELTA)
        proto_stock_add_delta(&k->st.stock, sim_rep_names[d->rep], d->seq, d->delta);
    }
  }
  if (k->target == PROTO_TARGET_ORDER) track_order(w, r, k);
  return sim_check_step(w, r, k);
}

static int accept(sim_world *w, sim_replica *r, uint32_t idx, int from) {
  const proto_event *ev = sim_ev(w, idx);
  bool added = false;
  char desc[200];
  int rc = proto_vv_add(&r->vv, ev->origin, ev->seq, &added);
  SIM_CHECK(w, rc == PROTO_OK && added, "%s: proto_vv_add(%s, %" PRIu64 ") rc %s added %d",
            r->name, ev->origin, ev->seq, proto_err_name(rc), added);
  SIM_CHECK(w, proto_vv_has(&r->vv, ev->origin, ev->seq), "%s: vv lost %s",
            r->name, sim_ev_str(w, idx, desc, sizeof desc));
  r->log = sim_grow(r->log, &r->cap_log, r->n_log + 1, sizeof *r->log);
  r->log[r->n_log++] = idx;
  if (ev->hlc > r->max_hlc) r->max_hlc = ev->hlc;
  trace_push(w, r, idx, from);
  return apply(w, r, idx);
}

/* ---- issue and receive --------------------------------------------------- */

proto_event *sim_slot(sim_world *w, sim_replica *r, proto_event_type t, const char *store) {
  if (w->n_ev / SIM_CHUNK >= w->n_chunks) {
    w->chunks = sim_grow(w->chunks, &w->cap_chunks, w->n_chunks + 1, sizeof *w->chunks);
    sim_pool *p = w->pool;
    w->chunks[w->n_chunks] = p->n_chunks ? p->chunks[--p->n_chunks] : malloc(SIM_CHUNK * sizeof(proto_event));
    if (!w->chunks[w->n_chunks]) abort();
    w->n_chunks++;
  }
  proto_event *ev = sim_ev(w, (uint32_t)w->n_ev);
  proto_event_init(ev, t, r->name, 0, 0, store);
  return ev;
}

int sim_issue(sim_world *w, sim_replica *r) {
  uint32_t idx = (uint32_t)w->n_ev;
  proto_event *ev = sim_ev(w, idx);
  ev->seq = ++r->seq;
  ev->hlc = proto_hlc_send(&r->hlc, sim_wall(w, r));
  /* HLC: a local event is later than every event this replica holds, so a
   * causally later write always wins last-writer-wins, whatever the skew. */
  SIM_CHECK(w, ev->hlc > r->max_hlc && ev->hlc > r->last_own_hlc,
            "%s: hlc %" PRIu64 " not above held max %" PRIu64 " / own %" PRIu64, r->name,
            ev->hlc, r->max_hlc, r->last_own_hlc);
  r->last_own_hlc = ev->hlc;
  w->by_origin[r->id] = sim_grow(w->by_origin[r->id], &w->cap_origin[r->id], ev->seq,
                                 sizeof *w->by_origin[r->id]);
  w->by_origin[r->id][ev->seq - 1] = idx;
  w->facts = sim_grow(w->facts, &w->cap_facts, idx + 1, sizeof *w->facts);
  w->facts[idx] = (sim_fact){ev->seq, ev->type == PROTO_EV_STOCK_DELTA ? ev->body.delta.delta : 0,
                             (uint8_t)r->id, (uint8_t)ev->type};
  w->n_ev++;
  w->st.issued++;
  w->st.by_rep[r->id]++;
  w->st.by_type[ev->type]++;
  if (ev->type == PROTO_EV_STOCK_DELTA) w->st.by_reason[ev->body.delta.reason]++;
  int rc = accept(w, r, idx, -1);
  for (int d = 0; rc == 0 && d < SIM_NREP; d++)
    if (d != r->id && w->net.link[r->id][d].exists) rc = sim_net_send(w, r->id, d, idx);
  return rc;
}

int sim_receive(sim_world *w, sim_replica *r, uint32_t idx, int from) {
  const proto_event *ev = sim_ev(w, idx);
  w->st.delivered++;
  if (proto_vv_has(&r->vv, ev->origin, ev->seq)) {
    w->st.dup_dropped++;
    return 0;
  }
  proto_err err;
  proto_err_clear(&err);
  int rc = proto_hlc_recv(&r->hlc, sim_wall(w, r), ev->hlc, &err);
  if (rc == PROTO_ECLOCK_SKEW) {
    w->st.refused++;  /* not stored: anti-entropy brings it again */
    return 0;
  }
  SIM_CHECK(w, rc == PROTO_OK, "%s: proto_hlc_recv: %s", r->name, err.msg);
  rc = accept(w, r, idx, from);
  if (rc || !w->star || !r->is_hq) return rc;
  int origin = sim_rep_index(ev->origin);
  for (int d = 1; rc == 0 && d < SIM_NREP; d++)
    if (d != from && d != origin) rc = sim_net_send(w, r->id, d, idx);
  return rc;
}

/* ---- canonical hash ------------------------------------------------------ */

uint64_t sim_state_hash(proto_target t, const sim_state *st) {
  switch (t) {
    case PROTO_TARGET_ORDER: return proto_order_hash(&st->order);
    case PROTO_TARGET_SKU: return proto_sku_hash(&st->sku);
    case PROTO_TARGET_STORE: return proto_settings_hash(&st->settings);
    case PROTO_TARGET_STOCK: break;
  }
  const proto_stock *s = &st->stock;
  int64_t on_hand = proto_stock_on_hand(s);
  uint64_t h = sim_fnv(SIM_FNV_INIT, &on_hand, sizeof on_hand);
  h = sim_fnv(h, &s->count_stamp.hlc, sizeof s->count_stamp.hlc);
  return sim_fnv(h, s->count_stamp.origin, strlen(s->count_stamp.origin));
}

static int key_cmp(const void *a, const void *b) {
  return strcmp((*(sim_key *const *)a)->key, (*(sim_key *const *)b)->key);
}

/* Every key's hash, in sorted key order: equal iff the states are. */
uint64_t sim_replica_hash(const sim_replica *r) {
  sim_key **sorted = malloc((r->n_keys + 1) * sizeof *sorted);
  if (!sorted) abort();
  memcpy(sorted, r->keys, r->n_keys * sizeof *sorted);
  qsort(sorted, r->n_keys, sizeof *sorted, key_cmp);
  uint64_t h = SIM_FNV_INIT;
  for (size_t i = 0; i < r->n_keys; i++) {
    uint64_t kh = sim_key_hash(sorted[i]);
    h = sim_fnv(h, sorted[i]->key, strlen(sorted[i]->key) + 1);
    h = sim_fnv(h, &kh, sizeof kh);
  }
  free(sorted);
  return h;
}
