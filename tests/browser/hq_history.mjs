// hq_history.mjs - a day of a store's work as the box would have sent it,
// for the dashboard test: orders since the morning (and yesterday's, for
// the comparison bars), each with its milestones at realistic intervals,
// stock receipts and a sold-out toggle.  The events are proto envelopes
// (docs/protocol.md) of origin = the store, sent through the broker on the
// store's up/events topic exactly as storenode sends its outbox, so HQ
// merges them through its real ingest path.
//
// Deterministic from a seed (mulberry32); the test prints the seed.

// Orders per hour of the local day, relative: breakfast, lunch, tea, dinner.
const HOUR_WEIGHT = [0, 0, 0, 0, 0, 0, 0, 2, 6, 5, 3, 6, 9, 6, 3, 5, 6, 4, 5, 4, 3, 2, 1, 0];

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIN = 60000;
const SEC = 1000;

// A store replaying its log: gap-free seqs, HLC from each event's wall time.
export class ReplayStore {
  constructor(id) {
    this.id = id;
    this.seq = 0;
    this.pending = [];   // [ms, type, body]
    this.lastHlc = 0n;
  }

  at(ms, type, body) {
    this.pending.push([Math.round(ms), type, body]);
  }

  // Every pending event as envelopes in time order (seq follows time).
  take() {
    const evs = this.pending.sort((a, b) => a[0] - b[0]).map(([ms, type, body]) => {
      let h = BigInt(ms) << 16n;
      if (h <= this.lastHlc) h = this.lastHlc + 1n;
      this.lastHlc = h;
      return { v: 1, origin: this.id, seq: ++this.seq, hlc: h.toString(), store: this.id, type, body };
    });
    this.pending = [];
    return evs;
  }

  // up/events payloads of at most `max` events each.
  batches(max = 200) {
    const evs = this.take();
    const out = [];
    for (let i = 0; i < evs.length; i += max) out.push(JSON.stringify({ v: 1, store: this.id, events: evs.slice(i, i + max) }));
    return out;
  }

  heartbeat(now, { outbox = 0, version = '0.1.0', tablets = 2, openOrders = 0 } = {}) {
    return JSON.stringify({
      v: 1, store: this.id, version, ts_ms: now, hlc: (BigInt(now) << 16n).toString(), uptime_s: 9 * 3600,
      outbox_depth: outbox, last_acked_seq: this.seq, last_seq: this.seq + outbox, rss_kb: 23800, tablets,
      orders_open: openOrders,
    });
  }
}

// A day of orders for `store` from opening (07:00 local) until `now`, and
// yesterday's, for the hourly comparison.  profile: {scale, accept: [lo, hi]
// s, prep: [lo, hi] s, wait: [lo, hi] s, items}.  Orders of the last few
// minutes are left open.
export function dayOfOrders(store, { seed, now, dayStart, profile }) {
  const rnd = mulberry32(seed);
  const between = (lo, hi) => lo + (hi - lo) * rnd();
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  let n = 0;
  const orders = [];
  for (const [from, to] of [[dayStart - 24 * 60 * MIN, dayStart], [dayStart, now - 4 * MIN]]) {
    for (let h = 0; h < 24; h++) {
      const count = Math.round(HOUR_WEIGHT[h] * profile.scale * between(0.7, 1.3));
      for (let i = 0; i < count; i++) {
        const t = from + h * 60 * MIN + rnd() * 60 * MIN;
        if (t >= to) continue;
        orders.push(order(t, ++n));
      }
    }
  }
  return orders;

  function order(t, i) {
    const id = `${store.id}-${String(i).padStart(4, '0')}`;
    const kind = rnd() < 0.35 ? 'delivery' : 'pickup';
    const item = pick(profile.items);
    const qty = rnd() < 0.25 ? 2 : 1;
    store.at(t, 'order.dispatched', {
      order_id: id, kind, items: [{ sku: item.sku, name: item.name, qty, price: item.price }],
      pickup_code: String(1000 + Math.floor(rnd() * 9000)), total: qty * item.price, placed_ms: Math.round(t),
    });
    const fate = rnd();
    if (fate < 0.03) {
      store.at(t + between(20, 90) * SEC, 'order.cancelled', { order_id: id, by: 'customer', reason: '顾客取消' });
      return { id, t, state: 'cancelled' };
    }
    if (fate < 0.05) {
      store.at(t + between(30, 120) * SEC, 'order.rejected', { order_id: id, reason: 'busy', by: 'auto' });
      return { id, t, state: 'rejected' };
    }
    const accepted = t + between(...profile.accept) * SEC;
    if (accepted > now) return { id, t, state: 'dispatched' };
    store.at(accepted, 'order.accepted', { order_id: id, by: 'staff' });
    store.at(accepted + between(5, 30) * SEC, 'order.preparing', { order_id: id, by: 'staff' });
    const ready = accepted + between(...profile.prep) * SEC;
    if (ready > now) return { id, t, state: 'preparing' };
    store.at(ready, 'order.ready', { order_id: id, by: 'staff' });
    if (kind === 'delivery') {
      const arrived = ready + between(-120, 240) * SEC;
      const handoff = Math.max(ready, arrived) + between(...profile.wait) * SEC;
      if (handoff > now) return { id, t, state: 'ready' };
      store.at(arrived, 'rider.arrived', { order_id: id, by: 'rider' });
      store.at(handoff, 'order.picked_up', { order_id: id, by: 'staff' });
    } else {
      const done = ready + between(60, 600) * SEC;
      if (done > now) return { id, t, state: 'ready' };
      store.at(done, 'order.completed', { order_id: id, by: 'staff' });
    }
    return { id, t, state: 'done' };
  }
}

// Morning deliveries of every item, and one item sold out at noon.
export function stockDay(store, { dayStart, items, soldOut }) {
  for (const [i, it] of items.entries()) {
    store.at(dayStart + 6 * 60 * MIN + i * SEC, 'stock.delta', { sku: it.sku, delta: it.receive, reason: 'receive', note: '早班到货' });
  }
  if (soldOut) store.at(dayStart + 12 * 60 * MIN, 'sku.availability', { sku: soldOut, sold_out: true, automatic: false });
}
