/* net.c - the simulated network between the replicas.
 *
 * Links: star (each store <-> hq, hq relays) or full mesh, chosen per seed.
 * Every message gets its own random delay (70% 1-20 ms, 25% up to 300 ms, 5%
 * up to 3 s), so messages overtake each other; 10% are sent twice; 1% are
 * lost.  Links go down at random for 0.2-6 s, and now and then a whole
 * replica is cut off for 1-8 s; whatever is sent or due on a down link is
 * lost.  Like the real system, nothing relies on the transport: every link
 * runs anti-entropy when it heals and every 0.5-2.5 s while up (each side
 * sends what proto_vv_missing says the other lacks), and the final exchange
 * does the same between every pair until nobody lacks anything.
 *
 * Messages wait in one min-heap ordered by (due, tie); tie is a counter, so
 * the delivery order is a pure function of the seed.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static bool msg_before(const sim_msg *a, const sim_msg *b) {
  return a->due != b->due ? a->due < b->due : a->tie < b->tie;
}

static void heap_push(sim_net *n, sim_msg m) {
  n->heap = sim_grow(n->heap, &n->cap, n->n + 1, sizeof *n->heap);
  size_t i = n->n++;
  while (i > 0 && msg_before(&m, &n->heap[(i - 1) / 2])) {
    n->heap[i] = n->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  n->heap[i] = m;
}

static sim_msg heap_pop(sim_net *n) {
  sim_msg top = n->heap[0], last = n->heap[--n->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n->n) break;
    if (c + 1 < n->n && msg_before(&n->heap[c + 1], &n->heap[c])) c++;
    if (!msg_before(&n->heap[c], &last)) break;
    n->heap[i] = n->heap[c];
    i = c;
  }
  if (n->n) n->heap[i] = last;
  return top;
}

static uint64_t delay(sim_world *w) {
  uint32_t p = sim_below(&w->rng, 100);
  if (p < 70) return (uint64_t)sim_range(&w->rng, 1, 20);
  if (p < 95) return (uint64_t)sim_range(&w->rng, 20, 300);
  return (uint64_t)sim_range(&w->rng, 300, 3000);
}

static void enqueue(sim_world *w, int src, int dst, uint32_t idx) {
  sim_msg m = {w->now + delay(w), w->net.tie++, idx, (uint8_t)src, (uint8_t)dst};
  heap_push(&w->net, m);
}

int sim_net_init(sim_world *w) {
  memset(&w->net, 0, sizeof w->net);
  for (int a = 0; a < SIM_NREP; a++) {
    for (int b = 0; b < SIM_NREP; b++) {
      sim_link *l = &w->net.link[a][b];
      l->exists = a != b && (!w->star || (a == SIM_HQ) != (b == SIM_HQ));
      l->up = l->exists;
      l->sync_at = w->now + (uint64_t)sim_range(&w->rng, 500, 2500);
    }
  }
  return 0;
}

void sim_net_close(sim_world *w) {
  free(w->net.heap);
  memset(&w->net, 0, sizeof w->net);
}

int sim_net_send(sim_world *w, int src, int dst, uint32_t idx) {
  w->st.sent++;
  if (!w->net.link[src][dst].up) {
    w->st.cut++;
    return 0;
  }
  if (!w->net.final && sim_permille(&w->rng, 10)) {
    w->st.lost++;
    return 0;
  }
  enqueue(w, src, dst, idx);
  if (sim_permille(&w->rng, 100)) {
    w->st.dup_sent++;
    enqueue(w, src, dst, idx);
  }
  return 0;
}

/* ---- anti-entropy -------------------------------------------------------- */

typedef struct range_ctx {
  sim_world *w;
  int src, dst;
  bool direct;          /* final exchange: collect instead of sending */
  uint32_t *out;
  size_t n, cap;
} range_ctx;

static int send_range(void *vctx, const char *origin, uint64_t first, uint64_t last) {
  range_ctx *c = vctx;
  int o = sim_rep_index(origin);
  if (o < 0 || first == 0 || last > c->w->rep[o].seq)
    return sim_fail(c->w, "proto_vv_missing(%s -> %s) gave %s %llu..%llu, which was never issued",
                    c->w->rep[c->src].name, c->w->rep[c->dst].name, origin,
                    (unsigned long long)first, (unsigned long long)last);
  for (uint64_t s = first; s <= last; s++) {
    uint32_t idx = c->w->by_origin[o][s - 1];
    c->w->st.resync_sent++;
    if (!c->direct) {
      int rc = sim_net_send(c->w, c->src, c->dst, idx);
      if (rc) return rc;
      continue;
    }
    c->out = sim_grow(c->out, &c->cap, c->n + 1, sizeof *c->out);
    c->out[c->n++] = idx;
  }
  return 0;
}

/* src sends dst what dst lacks, per their version vectors. */
static int resync(sim_world *w, int src, int dst) {
  range_ctx c = {w, src, dst, false, NULL, 0, 0};
  return proto_vv_missing(&w->rep[src].vv, &w->rep[dst].vv, send_range, &c);
}

/* ---- time passing -------------------------------------------------------- */

static void link_down(sim_world *w, int a, int b, uint64_t until) {
  sim_link *l = &w->net.link[a][b], *m = &w->net.link[b][a];
  if (l->up || until > l->heal_at) l->heal_at = m->heal_at = until;
  l->up = m->up = false;
}

static void faults(sim_world *w) {
  uint64_t *g = &w->rng;
  if (sim_below(g, 2000) == 0) {  /* one link down */
    int a = sim_below(g, SIM_NREP), b = sim_below(g, SIM_NREP);
    if (w->net.link[a][b].exists && w->net.link[a][b].up) {
      link_down(w, a, b, w->now + (uint64_t)sim_range(g, 200, 6000));
      w->st.partitions++;
    }
  }
  if (sim_below(g, 8000) == 0) {  /* one replica cut off */
    int a = sim_below(g, SIM_NREP);
    uint64_t until = w->now + (uint64_t)sim_range(g, 1000, 8000);
    for (int b = 0; b < SIM_NREP; b++)
      if (w->net.link[a][b].exists) link_down(w, a, b, until);
    w->st.isolations++;
  }
  if (sim_below(g, 6000) == 0) sim_restart(w, &w->rep[sim_below(g, SIM_NREP)]);
  if (sim_below(g, 5000) == 0) {  /* NTP steps a clock, forwards or back */
    sim_replica *rep = &w->rep[sim_below(g, SIM_NREP)]; /* one draw per statement */
    rep->clock_offset_ms = sim_range(g, -15000, 15000);
    w->st.clock_steps++;
  }
}

static int heal_and_sync(sim_world *w) {
  int rc = 0;
  for (int a = 0; a < SIM_NREP && rc == 0; a++) {
    for (int b = a + 1; b < SIM_NREP && rc == 0; b++) {
      sim_link *l = &w->net.link[a][b];
      if (!l->exists) continue;
      if (!l->up && w->now >= l->heal_at) {
        l->up = w->net.link[b][a].up = true;
        l->sync_at = w->now;
      }
      if (!l->up || w->now < l->sync_at) continue;
      l->sync_at = w->net.link[b][a].sync_at = w->now + (uint64_t)sim_range(&w->rng, 500, 2500);
      rc = resync(w, a, b);
      if (rc == 0) rc = resync(w, b, a);
    }
  }
  return rc;
}

static int deliver_due(sim_world *w) {
  while (w->net.n && w->net.heap[0].due <= w->now) {
    sim_msg m = heap_pop(&w->net);
    if (!w->net.link[m.src][m.dst].up) {
      w->st.cut++;
      continue;
    }
    int rc = sim_receive(w, &w->rep[m.dst], m.ev, m.src);
    if (rc) return rc;
  }
  return 0;
}

int sim_net_tick(sim_world *w) {
  faults(w);
  int rc = heal_and_sync(w);
  return rc ? rc : deliver_due(w);
}

/* ---- final exchange ------------------------------------------------------ */

static int drain(sim_world *w) {
  int rc = 0;
  while (rc == 0 && w->net.n) {
    if (w->net.heap[0].due > w->now) w->now = w->net.heap[0].due;
    rc = deliver_due(w);
  }
  return rc;
}

/* Everyone receives, directly and shuffled, every event it lacks from every
 * other replica; returns the number of events that were missing in *moved. */
static int exchange_round(sim_world *w, size_t *moved) {
  *moved = 0;
  for (int b = 0; b < SIM_NREP; b++) {
    for (int a = 0; a < SIM_NREP; a++) {
      if (a == b) continue;
      range_ctx c = {w, a, b, true, NULL, 0, 0};
      int rc = proto_vv_missing(&w->rep[a].vv, &w->rep[b].vv, send_range, &c);
      for (size_t i = c.n; rc == 0 && i > 1; i--) {
        size_t j = sim_below(&w->rng, (uint32_t)i);
        uint32_t t = c.out[i - 1];
        c.out[i - 1] = c.out[j];
        c.out[j] = t;
      }
      for (size_t i = 0; rc == 0 && i < c.n; i++) rc = sim_receive(w, &w->rep[b], c.out[i], a);
      *moved += c.n;
      free(c.out);
      if (rc) return rc;
    }
  }
  return 0;
}

int sim_net_final(sim_world *w) {
  w->net.final = true;
  for (int a = 0; a < SIM_NREP; a++) {
    w->rep[a].no_rtc = false;
    for (int b = 0; b < SIM_NREP; b++)
      if (w->net.link[a][b].exists) w->net.link[a][b].up = true;
  }
  for (int round = 0; round < 4; round++) {
    size_t moved = 0;
    int rc = drain(w);
    if (rc == 0) rc = exchange_round(w, &moved);
    if (rc == 0) rc = drain(w);
    if (rc || moved == 0) return rc;
  }
  return sim_fail(w, "final exchange still moving events after 4 rounds");
}
