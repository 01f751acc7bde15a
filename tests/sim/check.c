/* check.c - the invariants, each against an oracle that does not trust the
 * incremental state.
 *
 * After every step (sim_check_step, on the key the step touched):
 *   order    status rank never decreases; cancelled && handed off <=>
 *            proto_order_conflict(); proto_order_reserved() is the line qty
 *            exactly while reserving and the line is available, else 0; the
 *            store's reserved sum per SKU is never negative
 *   stock    on_hand == winning stocktake's counted + every delta it had not
 *            seen, recomputed from the key's events
 *   sku      each register holds the (hlc, origin)-greatest write
 *   settings each field holds its (hlc, origin)-greatest write
 * At checkpoints (sim_check_full, from the raw log): the log matches the
 * version vector, every stock recomputed in two passes over the whole log,
 * reserved sums recomputed over all orders.  sim_check_joins: the state join
 * (proto_*_merge) of two replicas equals applying the union of their events,
 * in a shuffled order, to a fresh state; and joins commute and are idempotent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---- per step ------------------------------------------------------------ */

static int check_order(sim_world *w, sim_replica *r, sim_key *k) {
  const proto_order *o = &k->st.order;
  proto_milestone st = proto_order_status(o);
  int rank = proto_milestone_rank(st);
  SIM_CHECK(w, rank >= 0, "%s %s: status %s has no rank", r->name, k->key, proto_milestone_name(st));
  SIM_CHECK(w, rank >= k->last_rank, "%s %s: status rank went down %d -> %d (now %s)", r->name,
            k->key, k->last_rank, rank, proto_milestone_name(st));
  k->last_rank = rank;
  bool both = proto_order_reached(o, PROTO_MS_CANCELLED) && proto_order_handed_off(o);
  SIM_CHECK(w, both == proto_order_conflict(o),
            "%s %s: cancelled+handed off is %d but proto_order_conflict() is %d", r->name, k->key,
            both, proto_order_conflict(o));
  for (uint32_t i = 0; i < o->info.n_items && i < PROTO_ITEMS_MAX; i++) {
    const proto_item *it = &o->info.items[i];
    int s = sim_sku_index(it->sku);
    SIM_CHECK(w, s >= 0, "%s %s: unknown sku %s", r->name, k->key, it->sku);
    int64_t res = proto_order_reserved(o, it->sku);
    int64_t want = proto_order_reserving(o) && !proto_order_item_unavailable(o, it->sku) ? it->qty : 0;
    SIM_CHECK(w, res == want, "%s %s: reserved(%s) = %" PRId64 ", want %" PRId64 " (status %s)",
              r->name, k->key, it->sku, res, want, proto_milestone_name(st));
    int64_t *sum = &r->reserved_sum[k->store][s];
    *sum += res - k->reserved[i];
    k->reserved[i] = res;
    SIM_CHECK(w, *sum >= 0, "%s: reserved %s at %s went negative: %" PRId64, r->name, it->sku,
              sim_rep_names[k->store + 1], *sum);
  }
  return 0;
}

/* What a stocktake had seen, per replica index (0 = nothing). */
static void seen_of(const proto_event *take, uint64_t seen[SIM_NREP]) {
  memset(seen, 0, SIM_NREP * sizeof *seen);
  if (!take) return;
  const proto_ev_stocktake *t = &take->body.stocktake;
  for (uint32_t i = 0; i < t->n_seen && i < PROTO_SEEN_MAX; i++) {
    int o = sim_rep_index(t->seen[i].origin);
    if (o >= 0) seen[o] = t->seen[i].seq;
  }
}

static bool covered(const sim_world *w, const uint64_t seen[SIM_NREP], uint32_t idx) {
  return w->facts[idx].seq <= seen[w->facts[idx].rep];
}

static bool newer(const proto_event *a, const proto_event *b) {
  return !b || proto_stamp_cmp(a->hlc, a->origin, b->hlc, b->origin) > 0;
}

static bool stamp_is(const proto_stamp *s, const proto_event *ev) {
  return ev ? s->hlc == ev->hlc && strcmp(s->origin, ev->origin) == 0 : s->hlc == 0;
}

static int check_stock(sim_world *w, sim_replica *r, sim_key *k) {
  const proto_event *win = NULL;
  for (size_t i = 0; i < k->n_evs; i++) {
    uint32_t idx = k->evs[i];
    if (w->facts[idx].type == PROTO_EV_STOCK_STOCKTAKE && newer(sim_ev(w, idx), win)) win = sim_ev(w, idx);
  }
  uint64_t seen[SIM_NREP];
  seen_of(win, seen);
  int64_t want = win ? win->body.stocktake.counted : 0;
  for (size_t i = 0; i < k->n_evs; i++) {
    uint32_t idx = k->evs[i];
    if (w->facts[idx].type == PROTO_EV_STOCK_DELTA && !covered(w, seen, idx)) want += w->facts[idx].delta;
  }
  int64_t got = proto_stock_on_hand(&k->st.stock);
  SIM_CHECK(w, got == want, "%s %s: on_hand %" PRId64 ", oracle %" PRId64, r->name, k->key, got, want);
  SIM_CHECK(w, stamp_is(&k->st.stock.count_stamp, win), "%s %s: count stamp is not the winner's",
            r->name, k->key);
  return 0;
}

static int check_sku(sim_world *w, sim_replica *r, sim_key *k) {
  const proto_event *cat = NULL, *av = NULL;
  for (size_t i = 0; i < k->n_evs; i++) {
    const proto_event *e = sim_ev(w, k->evs[i]);
    if (e->type == PROTO_EV_CATALOG_ENTRY && newer(e, cat)) cat = e;
    if (e->type == PROTO_EV_SKU_AVAILABILITY && newer(e, av)) av = e;
  }
  const proto_sku *s = &k->st.sku;
  SIM_CHECK(w, stamp_is(&s->catalog_stamp, cat) && (!cat || s->catalog.price == cat->body.catalog.price),
            "%s %s: catalog register is not the last writer's", r->name, k->key);
  SIM_CHECK(w, stamp_is(&s->avail_stamp, av), "%s %s: availability register is not the last writer's",
            r->name, k->key);
  SIM_CHECK(w, proto_sku_sold_out(s) == (av && av->body.avail.sold_out),
            "%s %s: sold_out %d, last write says %d", r->name, k->key, proto_sku_sold_out(s),
            av && av->body.avail.sold_out);
  return 0;
}

static bool field_equal(const proto_settings_field_info *f, const proto_settings_values *a,
                        const proto_settings_values *b) {
  const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
  switch (f->type) {
    case PROTO_FIELD_STRING: return strcmp(pa, pb) == 0;
    case PROTO_FIELD_INT: return *(const int64_t *)(const void *)pa == *(const int64_t *)(const void *)pb;
    case PROTO_FIELD_BOOL: return *(const bool *)pa == *(const bool *)pb;
  }
  return false;
}

static int check_settings(sim_world *w, sim_replica *r, sim_key *k) {
  const proto_settings_field_info *fields = proto_settings_fields();
  const proto_event *wins[PROTO_SET__COUNT] = {NULL};
  for (size_t i = 0; i < k->n_evs; i++) {
    const proto_event *e = sim_ev(w, k->evs[i]);
    for (int f = 0; f < PROTO_SET__COUNT; f++)
      if ((e->body.settings.present & (1u << f)) && newer(e, wins[f])) wins[f] = e;
  }
  for (int f = 0; f < PROTO_SET__COUNT; f++) {
    const proto_event *win = wins[f];
    const proto_settings *s = &k->st.settings;
    SIM_CHECK(w, proto_settings_is_set(s, (proto_settings_field)f) == (win != NULL),
              "%s %s: field %s set %d, writes %d", r->name, k->key, fields[f].key,
              proto_settings_is_set(s, (proto_settings_field)f), win != NULL);
    SIM_CHECK(w, stamp_is(&s->stamp[f], win) && (!win || field_equal(&fields[f], &s->v, &win->body.settings.v)),
              "%s %s: field %s is not the last writer's", r->name, k->key, fields[f].key);
  }
  return 0;
}

int sim_check_step(sim_world *w, sim_replica *r, sim_key *k) {
  static int (*const by_target[])(sim_world *, sim_replica *, sim_key *) = {
      [PROTO_TARGET_ORDER] = check_order, [PROTO_TARGET_STOCK] = check_stock,
      [PROTO_TARGET_SKU] = check_sku, [PROTO_TARGET_STORE] = check_settings};
  w->st.step_checks++;
  w->cur_rep = r;
  w->cur_key = k;
  int rc = by_target[k->target](w, r, k);
  if (rc == 0) w->cur_key = NULL;
  return rc;
}

/* ---- from the whole log -------------------------------------------------- */

static int full_stock(sim_world *w, sim_replica *r) {
  char key[SIM_KEY_MAX];
  size_t per_key = 0;
  for (size_t i = 0; i < r->n_keys; i++) {
    r->keys[i]->or_winner = 0;
    r->keys[i]->or_sum = 0;
    per_key += r->keys[i]->n_evs;
  }
  SIM_CHECK(w, per_key == r->n_log, "%s: keys hold %zu events, log %zu", r->name, per_key, r->n_log);
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < r->n_log; i++) {
      uint8_t type = w->facts[r->log[i]].type;
      if (type != PROTO_EV_STOCK_DELTA && type != PROTO_EV_STOCK_STOCKTAKE) continue;
      const proto_event *e = sim_ev(w, r->log[i]);
      sim_key_of(e, key);
      sim_key *k = sim_key_find(r, key);
      SIM_CHECK(w, k != NULL, "%s: no state for logged key %s", r->name, key);
      if (pass == 0 && e->type == PROTO_EV_STOCK_STOCKTAKE &&
          (!k->or_winner || newer(e, sim_ev(w, k->or_winner - 1))))
        k->or_winner = r->log[i] + 1;
      if (pass == 1 && e->type == PROTO_EV_STOCK_DELTA && !covered(w, k->or_seen, r->log[i]))
        k->or_sum += e->body.delta.delta;
    }
    for (size_t i = 0; pass == 0 && i < r->n_keys; i++) {
      sim_key *k = r->keys[i];
      seen_of(k->or_winner ? sim_ev(w, k->or_winner - 1) : NULL, k->or_seen);
    }
  }
  for (size_t i = 0; i < r->n_keys; i++) {
    const sim_key *k = r->keys[i];
    if (k->target != PROTO_TARGET_STOCK) continue;
    int64_t want = k->or_sum + (k->or_winner ? sim_ev(w, k->or_winner - 1)->body.stocktake.counted : 0);
    SIM_CHECK(w, proto_stock_on_hand(&k->st.stock) == want,
              "%s %s: on_hand %" PRId64 ", full-log oracle %" PRId64, r->name, k->key,
              proto_stock_on_hand(&k->st.stock), want);
  }
  return 0;
}

static int full_reserved(sim_world *w, sim_replica *r) {
  int64_t sum[SIM_NSTORE][SIM_NSKU] = {{0}};
  for (size_t i = 0; i < r->n_keys; i++) {
    const sim_key *k = r->keys[i];
    if (k->target != PROTO_TARGET_ORDER) continue;
    const proto_order *o = &k->st.order;
    for (uint32_t j = 0; j < o->info.n_items && j < PROTO_ITEMS_MAX; j++)
      sum[k->store][sim_sku_index(o->info.items[j].sku)] += proto_order_reserved(o, o->info.items[j].sku);
  }
  for (int s = 0; s < SIM_NSTORE; s++)
    for (int j = 0; j < SIM_NSKU; j++)
      SIM_CHECK(w, sum[s][j] == r->reserved_sum[s][j] && sum[s][j] >= 0,
                "%s: reserved %s at %s recomputed %" PRId64 ", running %" PRId64, r->name,
                sim_sku_names[j], sim_rep_names[s + 1], sum[s][j], r->reserved_sum[s][j]);
  return 0;
}

int sim_check_full(sim_world *w, sim_replica *r) {
  size_t held = 0;
  for (size_t i = 0; i < r->vv.n; i++) held += r->vv.e[i].contiguous + r->vv.e[i].n_held;
  SIM_CHECK(w, held == r->n_log, "%s: version vector counts %zu events, log has %zu", r->name, held,
            r->n_log);
  for (size_t i = 0; i < r->n_log; i++) {
    const proto_event *e = sim_ev(w, r->log[i]);
    SIM_CHECK(w, proto_vv_has(&r->vv, e->origin, e->seq), "%s: logged %s#%" PRIu64 " not in vv",
              r->name, e->origin, e->seq);
  }
  w->st.full_checks++;
  int rc = full_stock(w, r);
  return rc ? rc : full_reserved(w, r);
}

/* ---- state join versus op-based apply ------------------------------------ */

static void join(proto_target t, sim_state *into, const sim_state *from) {
  if (t == PROTO_TARGET_ORDER) proto_order_merge(&into->order, &from->order);
  if (t == PROTO_TARGET_SKU) proto_sku_merge(&into->sku, &from->sku);
  if (t == PROTO_TARGET_STORE) proto_settings_merge(&into->settings, &from->settings);
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Fresh state of k's target with the union of ka's and kb's events applied
 * in a random order. */
static int apply_union(sim_world *w, const sim_key *ka, const sim_key *kb, sim_state *u) {
  size_t n = ka->n_evs + kb->n_evs, m = 0;
  uint32_t *all = malloc(n * sizeof *all);
  if (!all) abort();
  memcpy(all, ka->evs, ka->n_evs * sizeof *all);
  memcpy(all + ka->n_evs, kb->evs, kb->n_evs * sizeof *all);
  qsort(all, n, sizeof *all, u32_cmp);
  for (size_t i = 0; i < n; i++)
    if (m == 0 || all[m - 1] != all[i]) all[m++] = all[i];
  for (size_t i = m; i > 1; i--) {
    size_t j = sim_below(&w->rng, (uint32_t)i);
    uint32_t t = all[i - 1];
    all[i - 1] = all[j];
    all[j] = t;
  }
  const proto_event *first = sim_ev(w, all[0]);
  memset(u, 0, sizeof *u);
  if (ka->target == PROTO_TARGET_ORDER) proto_order_init(&u->order, proto_event_key(first), first->store);
  if (ka->target == PROTO_TARGET_SKU) proto_sku_init(&u->sku, proto_event_key(first));
  if (ka->target == PROTO_TARGET_STORE) proto_settings_init(&u->settings, first->store);
  int rc = 0;
  for (size_t i = 0; i < m && rc == 0; i++) rc = proto_event_merge(sim_ev(w, all[i]), u, NULL);
  free(all);
  return rc;
}

static int check_join(sim_world *w, const sim_replica *a, const sim_replica *b, const sim_key *ka,
                      const sim_key *kb) {
  sim_state j = ka->st, jb, u;
  join(ka->target, &j, &kb->st);
  uint64_t hj = sim_state_hash(ka->target, &j);
  jb = kb->st;
  join(ka->target, &jb, &ka->st);
  SIM_CHECK(w, sim_state_hash(ka->target, &jb) == hj, "%s: join of %s's and %s's states does not commute",
            ka->key, a->name, b->name);
  jb = j;
  join(ka->target, &jb, &j);
  SIM_CHECK(w, sim_state_hash(ka->target, &jb) == hj, "%s: join of %s's and %s's states is not idempotent",
            ka->key, a->name, b->name);
  int rc = apply_union(w, ka, kb, &u);
  SIM_CHECK(w, rc == PROTO_OK, "%s: merge of union failed: %s", ka->key, proto_err_name(rc));
  SIM_CHECK(w, sim_state_hash(ka->target, &u) == hj,
            "%s: join of %s's and %s's states differs from applying the union of their events",
            ka->key, a->name, b->name);
  w->st.joins++;
  return 0;
}

int sim_check_joins(sim_world *w, sim_replica *a, sim_replica *b, unsigned max_keys) {
  if (!a->n_keys) return 0;
  size_t start = sim_below(&w->rng, (uint32_t)a->n_keys);
  unsigned done = 0;
  for (size_t i = 0; i < a->n_keys && done < max_keys; i++) {
    const sim_key *ka = a->keys[(start + i) % a->n_keys];
    if (ka->target == PROTO_TARGET_STOCK) continue;  /* stock has no state join */
    const sim_key *kb = sim_key_find(b, ka->key);
    if (!kb) continue;
    w->cur_rep = a;
    w->cur_key = ka;
    int rc = check_join(w, a, b, ka, kb);
    if (rc) return rc;
    w->cur_key = NULL;
    done++;
  }
  return 0;
}

/* ---- the end state ------------------------------------------------------- */

static int check_vv(sim_world *w, const sim_replica *r) {
  for (int o = 0; o < SIM_NREP; o++) {
    uint64_t n = w->rep[o].seq;
    SIM_CHECK(w, proto_vv_contiguous(&r->vv, sim_rep_names[o]) == n && proto_vv_max(&r->vv, sim_rep_names[o]) == n,
              "%s: holds %" PRIu64 " (max %" PRIu64 ") of %s's %" PRIu64 " events", r->name,
              proto_vv_contiguous(&r->vv, sim_rep_names[o]), proto_vv_max(&r->vv, sim_rep_names[o]),
              sim_rep_names[o], n);
  }
  SIM_CHECK(w, proto_vv_equal(&r->vv, &w->rep[0].vv), "%s: version vector differs from %s's",
            r->name, w->rep[0].name);
  return 0;
}

/* First key whose state differs between a and b, for the report. */
static int report_diff(sim_world *w, const sim_replica *a, const sim_replica *b) {
  for (size_t i = 0; i < a->n_keys; i++) {
    const sim_key *ka = a->keys[i], *kb = sim_key_find(b, ka->key);
    if (kb && sim_key_hash(ka) == sim_key_hash(kb)) continue;
    char da[2048], db[2048];
    sim_describe_key(w, ka, da, sizeof da);
    if (kb) sim_describe_key(w, kb, db, sizeof db);
    w->cur_key = NULL;
    return sim_fail(w, "state differs at %s:\n  %s: %s\n  %s: %s", ka->key, a->name, da, b->name,
                    kb ? db : "(missing)");
  }
  return sim_fail(w, "%s has %zu keys, %s %zu", a->name, a->n_keys, b->name, b->n_keys);
}

int sim_check_converged(sim_world *w) {
  uint64_t h0 = 0;
  for (int i = 0; i < SIM_NREP; i++) {
    sim_replica *r = &w->rep[i];
    int rc = check_vv(w, r);
    if (!rc) rc = sim_check_full(w, r);
    if (rc) return rc;
    SIM_CHECK(w, r->n_log == w->n_ev, "%s: log has %zu of %zu events", r->name, r->n_log, w->n_ev);
    uint64_t h = sim_replica_hash(r);
    if (i == 0) h0 = h;
    if (h != h0 || r->n_keys != w->rep[0].n_keys) return report_diff(w, &w->rep[0], r);
  }
  return 0;
}
