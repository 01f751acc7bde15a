// scripts/sim/simulate.mjs <data>/demo.json [--smoke] [--seed N]
//
// The demo's outside world, against a running chain (scripts/demo starts it
// after setup.mjs):
//
//   mall      POST /api/v1/orders every 2-5 s: pickup orders at a store,
//             delivery orders to customers around the stores (HQ routes
//             each to the nearest open store with stock) and a few far away
//             (409 out_of_range, shown in the log); now and then the same
//             POST again (same idempotency key: the same order), a reminder
//             (催单) or a cancellation;
//   platform  the delivery platform's rider events through HQ's rider
//             endpoint, once the store accepted: assigned (name, ETA),
//             arrived, delivered after the handoff;
//   staff     one simulated clerk per store on a tablet WebSocket
//             (staff.mjs) works about two orders in three: accept, prepare,
//             ready, then complete with the customer's pickup code or hand
//             over to the rider with the order's code.  The other orders
//             ring on the tablets for a person; their codes are printed
//             when the customer or rider shows up.  Orders nobody accepts
//             get a reminder; after 90 s the simulated clerk takes them
//             over (or the customer gives up and cancels).
//
// Times are compressed (a latte is ready in 10-40 s, not 5 min).  Every
// order's life is driven by what the store's tablet reports, so the
// simulator works with whatever a person does on the real tablets.
//
// --smoke: the self-test of scripts/demo --smoke: fast pace, staff work
// everything; checks one out-of-range order (409), one delivery routed to a
// store and delivered, one pickup completed, HQ's summary view and the
// store's /metrics counting them; prints OK and exits 0 (1 with the reason,
// at most 40 s).
//
// Log: stdout and demo.json's simulator.log (with more detail there).
// SIGTERM/SIGINT: stop, exit 0.

import {
  Api, CATALOG, Log, Rand, distanceM, km, loadDemo, metric, offset, waitUntil,
} from './lib.mjs';
import { StoreStaff } from './staff.mjs';

const ENDED = new Set(['completed', 'delivered', 'shipped', 'cancelled', 'rejected']);
const OPEN = new Set(['dispatched', 'accepted', 'preparing', 'ready']);
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭'];
const RIDERS = ['张师傅', '李师傅', '王师傅', '刘师傅', '陈师傅', '赵师傅', '孙师傅', '周师傅'];
const NOTES = ['少冰', '不要吸管', '多加一份糖', '放门口就好', '请尽快', '去冰'];
const CANCEL_REASONS = ['不想要了', '地址填错了', '点错了'];
// Customers outside every store's 5 km radius.
const FAR = [
  { name: '虹桥火车站', lat: 31.1945, lon: 121.3220 },
  { name: '张江', lat: 31.2040, lon: 121.5900 },
  { name: '五角场', lat: 31.2990, lon: 121.5140 },
  { name: '莘庄', lat: 31.1110, lon: 121.3850 },
];

// Seconds as [lo, hi] ranges; probabilities.  Smoke: everything at once.
const PACE = {
  orderEvery: [2, 5], accept: [3, 12], prepare: [1, 4], prep: [8, 30], customer: [4, 20],
  riderAssign: [3, 10], riderArrive: [15, 50], handoff: [2, 6], delivered: [15, 45], restock: [20, 60],
  remind: [8, 25], cancel: [4, 20], humanRemind: 45, humanTakeOver: 90, humanLate: 300, status: 60,
  pPickup: 0.4, pFar: 0.08, pBot: 2 / 3, pRetry: 0.03, pRemind: 0.08, pCancel: 0.04, pReject: 0.02, pWrongCode: 0.05,
  pGiveUp: 0.3,
};
const FAST = [0.05, 0.2];
const SMOKE_PACE = {
  ...PACE,
  accept: FAST, prepare: FAST, prep: FAST, customer: FAST, riderAssign: FAST, riderArrive: FAST,
  handoff: FAST, delivered: FAST, restock: FAST,
  pBot: 1, pRetry: 0, pRemind: 0, pCancel: 0, pReject: 0, pWrongCode: 0,
};

// An order id as the tablets show it too (#last4), so a person can find it.
const tag = (id) => `${id} #${id.slice(-4)}`;
const money = (cents) => `¥${(cents / 100).toFixed(2)}`;
const secs = (ms) => (ms >= 60000 ? `${Math.floor(ms / 60000)}m${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}s` : `${Math.round(ms / 1000)} s`);

class Simulator {
  constructor(demo, { smoke = false, seed }) {
    this.demo = demo;
    this.smoke = smoke;
    this.pace = smoke ? SMOKE_PACE : PACE;
    this.rand = new Rand(seed);
    this.run = Date.now().toString(36); // idempotency keys unique across runs
    this.log = new Log(demo.simulator.log);
    this.mall = new Api(demo.hq.url, demo.tokens.mall.token);
    this.platform = new Api(demo.hq.url, demo.tokens.platform.token);
    this.viewer = new Api(demo.hq.url, demo.tokens.dashboard.token);
    this.staff = new Map(); // store id -> StoreStaff
    this.orders = new Map(); // order id -> our record (orders this run placed)
    this.tablet = new Map(); // order id -> the latest order object a tablet showed
    this.timers = new Set();
    this.stopped = false;
    this.n = 0;
    this.stats = { placed: 0, refused: 0, done: 0, cancelled: 0, errors: 0 };
    this.log.info(`sim    seed ${seed} (scripts/sim/simulate.mjs --seed ${seed} repeats the same customers)`);
  }

  // Run fn after a random delay in range ([lo, hi] s or a number); errors
  // are logged, never thrown (a failed call is part of the show).
  later(range, fn) {
    if (this.stopped) return;
    const s = Array.isArray(range) ? this.rand.range(range[0], range[1]) : range;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      Promise.resolve().then(fn).catch((e) => {
        this.stats.errors++;
        if (!this.stopped) this.log.info(`error  ${e.message}`);
      });
    }, s * 1000);
    this.timers.add(t);
  }

  async start() {
    for (const s of this.demo.stores) {
      this.staff.set(s.id, await new StoreStaff(s, this).start());
    }
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const st of this.staff.values()) st.stop();
  }

  // ---- the mall ------------------------------------------------------------------

  orderBody() {
    const r = this.rand;
    const lines = new Map();
    for (let i = r.int(1, 3); i > 0; i--) {
      const c = r.weighted(CATALOG);
      lines.set(c.sku, (lines.get(c.sku) || 0) + (r.chance(0.8) ? 1 : 2));
    }
    const body = {
      items: [...lines].map(([sku, qty]) => ({ sku, qty })),
      customer: `${r.pick(SURNAMES)}${r.chance(0.5) ? '先生' : '女士'}`,
      phone_tail: String(r.int(0, 9999)).padStart(4, '0'),
    };
    if (r.chance(0.3)) body.note = r.pick(NOTES);
    return body;
  }

  // A customer's order: {body, where}.  kind: 'pickup' | 'delivery' | 'far'.
  newOrder(kind) {
    const r = this.rand;
    const body = this.orderBody();
    if (kind === 'pickup') {
      const s = r.pick(this.demo.stores);
      return { body: { kind: 'pickup', store_id: s.id, ...body }, where: `at ${s.name}` };
    }
    if (kind === 'far') {
      const f = r.pick(FAR);
      const loc = offset(f, r.range(0, 500), r.range(0, 2 * Math.PI));
      const near = Math.min(...this.demo.stores.map((s) => distanceM(s, loc)));
      return { body: { kind: 'delivery', location: loc, ...body }, where: `to ${f.name}, ${km(near)} from the nearest store` };
    }
    // Around a store, evenly over a disc of 3.5 km: inside its radius, often
    // inside a neighbour's too (HQ picks the nearest open one with stock).
    const s = r.pick(this.demo.stores);
    const loc = offset(s, 3500 * Math.sqrt(r.next()), r.range(0, 2 * Math.PI));
    return { body: { kind: 'delivery', location: loc, ...body }, where: `to ${loc.lat.toFixed(4)},${loc.lon.toFixed(4)}` };
  }

  async place(kind, { bot } = {}) {
    const n = ++this.n;
    const { body, where } = this.newOrder(kind);
    const key = `sim-${this.run}-${n}`;
    const res = await this.mall.call('POST', '/api/v1/orders', body, { 'idempotency-key': key });
    const what = body.items.map((i) => `${i.qty}×${CATALOG.find((c) => c.sku === i.sku).name}`).join(' ');
    if (res.status === 409) {
      this.stats.refused++;
      this.log.info(`409    #${n} ${body.kind} ${what} ${where}: ${res.json.reason} (${res.json.message})`);
      return { status: 409, json: res.json };
    }
    if (res.status !== 201) {
      this.stats.errors++;
      this.log.info(`error  #${n} POST /api/v1/orders: ${res.status} ${res.text.slice(0, 200)}`);
      return { status: res.status };
    }
    this.stats.placed++;
    const o = res.json;
    const store = this.demo.stores.find((s) => s.id === o.store_id);
    const rec = {
      id: o.order_id, n, kind: o.kind, store, code: o.pickup_code, customer: body.customer, total: o.total,
      bot: bot ?? this.rand.chance(this.pace.pBot), placedMs: Date.now(), steps: new Set(),
      reject: this.rand.chance(this.pace.pReject), wrongCode: this.rand.chance(this.pace.pWrongCode),
    };
    this.orders.set(rec.id, rec);
    const dist = o.distance_m !== undefined ? ` (${km(o.distance_m)})` : '';
    const who = rec.bot ? 'sim staff' : `for you: ${store.tablet_url}`;
    this.log.info(`order  #${n} ${o.kind} ${what} ${money(o.total)} → ${store ? store.name : o.store_id}${dist} ${tag(o.order_id)} code ${o.pickup_code} [${who}]`);
    if (this.rand.chance(this.pace.pRetry)) await this.retry(rec, body, key);
    this.plan(rec);
    this.drive(rec);
    return { status: 201, rec };
  }

  // The mall's network hiccup: the same POST again must be the same order.
  async retry(rec, body, key) {
    const again = await this.mall.call('POST', '/api/v1/orders', body, { 'idempotency-key': key });
    const same = again.status === 201 && again.json.order_id === rec.id && again.json.pickup_code === rec.code;
    this.log.info(`retry  #${rec.n} same idempotency key → ${same ? `the same order ${rec.id}, not a second one` : `UNEXPECTED ${again.status} ${again.text}`}`);
  }

  // What happens to an order besides the store's work: reminders,
  // cancellations, a person's orders taken over.
  plan(rec) {
    const p = this.pace;
    if (rec.bot) {
      if (this.rand.chance(p.pRemind)) this.later(p.remind, () => this.remind(rec, '顾客催单'));
      if (this.rand.chance(p.pCancel)) this.later(p.cancel, () => this.cancel(rec, this.rand.pick(CANCEL_REASONS)));
      return;
    }
    // Left for a person: nobody accepting it makes the customer remind;
    // later the simulated clerk takes it over (or the customer gives up),
    // and an order a person started but left is finished for them, so no
    // order (and its stock reservation) hangs when nobody is at a tablet.
    this.later(p.humanRemind, () => this.status(rec) === 'dispatched' && this.remind(rec, '等了很久了，请尽快接单'));
    this.later(p.humanTakeOver, () => this.status(rec) === 'dispatched' && this.takeOver(rec));
    this.later(p.humanLate, () => this.takeOver(rec));
  }

  async takeOver(rec) {
    const st = this.status(rec);
    if (rec.bot || !OPEN.has(st)) return;
    if (st === 'dispatched' && this.rand.chance(this.pace.pGiveUp)) {
      await this.cancel(rec, '等太久了，不要了');
      return;
    }
    rec.bot = true;
    const clerk = rec.store.staff.find((x) => x.role === 'clerk');
    this.log.info(`staff  ${clerk.name} at ${rec.store.name} takes over ${tag(rec.id)}, ${st} for ${secs(Date.now() - rec.placedMs)}`);
    this.drive(rec);
  }

  status(rec) {
    const o = this.tablet.get(rec.id);
    return o ? o.status : 'dispatched';
  }

  async remind(rec, note) {
    if (!OPEN.has(this.status(rec))) return;
    const r = await this.mall.call('POST', `/api/v1/orders/${rec.id}/remind`, { note });
    this.log.info(`催单   ${tag(rec.id)} at ${rec.store.name}: "${note}" → ${r.status === 200 ? `reminder ${r.json.reminders}` : `${r.status} ${r.json && r.json.error}`}`);
  }

  async cancel(rec, reason) {
    if (ENDED.has(this.status(rec))) return;
    const r = await this.mall.call('POST', `/api/v1/orders/${rec.id}/cancel`, { by: 'customer', reason });
    rec.cancelLogged = true;
    if (r.status === 200) this.stats.cancelled++;
    this.log.info(`cancel ${tag(rec.id)} at ${rec.store.name} by the customer ("${reason}") → ${r.status === 200 ? 'cancelled' : `${r.status} ${r.json && r.json.error}: ${r.json && r.json.message}`}`);
  }

  // ---- the delivery platform ---------------------------------------------------------

  async riderAssigned(rec) {
    if (ENDED.has(this.status(rec))) return;
    const r = this.rand;
    rec.rider = { name: r.pick(RIDERS), phone_tail: String(r.int(0, 9999)).padStart(4, '0') };
    const eta = Date.now() + r.int(3, 12) * 60000;
    const res = await this.platform.call('POST', `/api/v1/orders/${rec.id}/rider`,
      { event: 'assigned', name: rec.rider.name, phone_tail: rec.rider.phone_tail, eta_ms: eta });
    if (res.status !== 200) return this.log.info(`rider  ${rec.id}: assigned → ${res.status} ${res.text.slice(0, 160)}`);
    this.log.debug(`rider  ${rec.rider.name} takes ${rec.id} from ${rec.store.name}, ETA ${new Date(eta).toTimeString().slice(0, 5)}`);
    this.later(this.pace.riderArrive, () => this.riderArrived(rec));
    return null;
  }

  async riderArrived(rec) {
    if (ENDED.has(this.status(rec))) return;
    const res = await this.platform.call('POST', `/api/v1/orders/${rec.id}/rider`, { event: 'arrived' });
    if (res.status !== 200) {
      this.log.info(`rider  ${rec.id}: arrived → ${res.status} ${res.text.slice(0, 160)}`);
    } else if (!rec.bot) {
      this.log.info(`rider  ${rec.rider.name} is at ${rec.store.name} for ${tag(rec.id)}: handoff code ${rec.code} ← hand it over on the tablet`);
    } else {
      this.log.debug(`rider  ${rec.rider.name} is at ${rec.store.name} for ${rec.id}`);
    }
  }

  async delivered(rec) {
    const res = await this.platform.call('POST', `/api/v1/orders/${rec.id}/rider`, { event: 'delivered' });
    if (res.status !== 200) this.log.info(`rider  ${rec.id}: delivered → ${res.status} ${res.text.slice(0, 160)}`);
  }

  // ---- the stores' side: driven by what the tablets show ------------------------------

  onOrder(staff, o) {
    this.tablet.set(o.order_id, o);
    const rec = this.orders.get(o.order_id);
    if (rec) this.drive(rec);
  }

  // Schedule `step` once per order.
  step(rec, name, range, fn) {
    if (rec.steps.has(name)) return;
    rec.steps.add(name);
    this.later(range, fn);
  }

  // The next move for rec, from the order as its store's tablet shows it.
  drive(rec) {
    const o = this.tablet.get(rec.id);
    if (!o || rec.finished) return;
    const p = this.pace;
    if (rec.kind === 'delivery') {
      // The platform sends a rider once the store accepted the order.
      if (OPEN.has(o.status) && o.status !== 'dispatched') this.step(rec, 'rider', p.riderAssign, () => this.riderAssigned(rec));
      if (o.status === 'picked_up') this.step(rec, 'delivered', p.delivered, () => this.delivered(rec));
    }
    if (ENDED.has(o.status)) return this.finish(rec, o);
    if (!rec.bot) return this.human(rec, o);
    switch (o.status) {
      case 'dispatched':
        if (rec.reject) this.step(rec, 'accept', p.accept, this.act(rec, 'accept', 'order.reject', { reason: 'busy' }));
        else this.step(rec, 'accept', p.accept, this.act(rec, 'accept', 'order.accept'));
        break;
      case 'accepted': this.step(rec, 'prepare', p.prepare, this.act(rec, 'prepare', 'order.prepare')); break;
      case 'preparing': this.step(rec, 'ready', p.prep, this.act(rec, 'ready', 'order.ready')); break;
      case 'ready':
        if (rec.kind === 'pickup') this.step(rec, 'complete', p.customer, () => this.pickup(rec));
        else if (o.milestones && o.milestones.rider_arrived) this.step(rec, 'handoff', p.handoff, this.act(rec, 'handoff', 'order.handoff', { code: rec.code }));
        break;
      default: break;
    }
    return null;
  }

  // A tablet command for step `name` of rec, as a function for step().  A
  // failure other than "already past that" (someone else was quicker) is
  // logged and the step tried again a little later.
  act(rec, name, type, extra = {}) {
    return async () => {
      const r = await this.staff.get(rec.store.id).act(type, { order_id: rec.id, ...extra });
      if (r.type !== 'ack' && r.code !== 'illegal_transition') {
        this.log.info(`staff  ${rec.store.name} ${type} ${rec.id}: ${r.code} ${r.message}`);
        rec.steps.delete(name);
        this.later(2, () => this.drive(rec));
      }
      return r;
    };
  }

  // The customer shows the code; now and then a wrong one first.
  async pickup(rec) {
    if (rec.wrongCode) {
      const bad = String((Number(rec.code) + 1) % 10 ** rec.code.length).padStart(rec.code.length, '0');
      const r = await this.staff.get(rec.store.id).act('order.complete', { order_id: rec.id, code: bad });
      this.log.info(`code   ${rec.customer} at ${rec.store.name} says ${bad} for ${rec.id} → ${r.code || r.type}; then shows ${rec.code}`);
    }
    await this.act(rec, 'complete', 'order.complete', { code: rec.code })();
  }

  // An order left for a person: say when the customer turns up with the code.
  human(rec, o) {
    if (o.status === 'ready' && rec.kind === 'pickup') {
      this.step(rec, 'customer', this.pace.customer, () => {
        if (this.status(rec) !== 'ready') return;
        this.log.info(`pickup ${rec.customer} is at ${rec.store.name} for ${tag(rec.id)}: pickup code ${rec.code} ← complete it on the tablet`);
      });
    }
    return null;
  }

  finish(rec, o) {
    rec.finished = true;
    const m = o.milestones || {};
    const d = (a, b) => (m[a] && m[b] ? secs(Math.max(0, m[b] - m[a])) : '-');
    if (o.status === 'completed' || o.status === 'delivered') {
      this.stats.done++;
      const end = m.completed || m.picked_up || Date.now();
      const wait = rec.kind === 'delivery' ? `, rider waited ${d('rider_arrived', 'picked_up')}` : '';
      this.log.info(`done   ${rec.id} ${rec.store.name} ${rec.kind} ${money(rec.total)} in ${secs(end - m.dispatched)} (accept ${d('dispatched', 'accepted')}, prep ${d('accepted', 'ready')}${wait})${rec.bot ? '' : ' by you'}`);
    } else if (o.status === 'rejected') {
      this.log.info(`reject ${rec.id} ${rec.store.name}: ${o.reject_reason || (o.reject && o.reject.reason) || 'rejected'}`);
    } else if (o.status === 'cancelled' && !rec.cancelLogged) {
      this.log.info(`cancel ${rec.id} ${rec.store.name}: cancelled by ${o.cancel ? o.cancel.by : '?'}${o.cancel && o.cancel.reason ? ` ("${o.cancel.reason}")` : ''}`);
    }
    return null;
  }

  // A prepared order was cancelled: the staff book the tracked items as waste.
  async onWaste(staff, orderId) {
    const rec = this.orders.get(orderId);
    const o = this.tablet.get(orderId);
    if (!rec || !rec.bot || !o) return;
    for (const it of o.items || []) {
      const c = CATALOG.find((x) => x.sku === it.sku);
      if (!c || !c.stock) continue;
      const r = await staff.act('stock.waste', { sku: it.sku, qty: it.qty, note: `取消报废 ${orderId}` });
      if (r.type === 'ack') this.log.info(`waste  ${staff.store.name}: ${it.qty} × ${c.name} of cancelled ${orderId}`);
    }
  }

  // ---- the loop ---------------------------------------------------------------------------

  kind() {
    const r = this.rand;
    if (r.chance(this.pace.pFar)) return 'far';
    return r.chance(this.pace.pPickup) ? 'pickup' : 'delivery';
  }

  loop() {
    this.later(this.pace.orderEvery, async () => {
      this.loop();
      await this.place(this.kind());
    });
  }

  statusLoop() {
    this.later(this.pace.status, async () => {
      this.statusLoop();
      const v = await this.viewer.ok('GET', '/api/v1/views/summary');
      const per = v.stores.map((s) => `${s.name || s.store} ${s.orders}`).join(', ');
      this.log.info(`HQ     today: ${v.chain.orders} orders, ${v.chain.handed_off} handed off, ${money(v.chain.sales)}, ${v.chain.open} open, ${v.chain.cancelled} cancelled | ${per} | this run: ${this.stats.placed} placed, ${this.stats.refused} refused (409)`);
    });
  }

  // ---- the self-test ------------------------------------------------------------------------

  async smokeTest() {
    const t0 = Date.now();
    const far = await this.place('far');
    if (far.status !== 409 || far.json.reason !== 'out_of_range') throw new Error(`a customer far away: want 409 out_of_range, got ${JSON.stringify(far)}`);
    const placed = [];
    for (const kind of ['delivery', 'pickup']) {
      const r = await waitUntil(async () => {
        const x = await this.place(kind, { bot: true });
        return x.status === 201 ? x : false;
      }, `HQ to route a ${kind} order to a store`, 15000);
      placed.push(r.rec);
    }
    const final = { delivery: 'delivered', pickup: 'completed' };
    for (const rec of placed) {
      await waitUntil(async () => {
        const o = await this.mall.ok('GET', `/api/v1/orders/${rec.id}`);
        return o.status === final[rec.kind];
      }, `${rec.kind} order ${rec.id} to be ${final[rec.kind]} at HQ`, 20000);
    }
    const view = await waitUntil(async () => {
      const v = await this.viewer.ok('GET', '/api/v1/views/summary');
      return v.chain.orders >= 2 && v.chain.handed_off >= 2 ? v : false;
    }, 'HQ\'s summary view to count both orders', 10000);
    for (const rec of placed) {
      const status = rec.kind === 'delivery' ? 'delivered' : 'completed';
      await waitUntil(async () => (await metric(rec.store.port, 'storenode_orders', `status="${status}"`)) >= 1,
        `${rec.store.id}'s /metrics to count a ${status} order`, 10000);
    }
    const [d, p] = placed;
    this.log.info(`OK: delivery ${d.id} routed to ${d.store.name} and delivered, pickup ${p.id} at ${p.store.name} completed, a far customer refused (409 out_of_range); HQ counts ${view.chain.orders} orders today; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

function parseArgs(argv) {
  const a = { file: null, smoke: false, seed: (Date.now() % 1e9) >>> 0 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--smoke') a.smoke = true;
    else if (argv[i] === '--seed') a.seed = Number(argv[++i]) >>> 0;
    else if (!a.file) a.file = argv[i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const sim = new Simulator(loadDemo(args.file), args);
  const quit = (code) => {
    sim.stop();
    const s = sim.stats;
    sim.log.info(`sim    stopped: ${s.placed} orders placed, ${s.refused} refused (409), ${s.done} done, ${s.cancelled} cancelled by customers`);
    sim.log.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => quit(0));
  process.on('SIGINT', () => quit(0));
  await sim.start();
  if (args.smoke) {
    const bound = setTimeout(() => {
      sim.log.info('FAIL: the smoke test took more than 40 s');
      quit(1);
    }, 40000);
    try {
      await sim.smokeTest();
    } catch (e) {
      sim.log.info(`FAIL: ${e.message}`);
      quit(1);
    }
    clearTimeout(bound);
    quit(0);
    return;
  }
  sim.log.info(`sim    ${sim.demo.stores.length} stores; an order every ${PACE.orderEvery.join('-')} s; sim staff work about ${Math.round(PACE.pBot * 100)}% of them`);
  sim.loop();
  sim.statusLoop();
}

main().catch((e) => {
  process.stderr.write(`simulator: ${e.stack || e.message}\n`);
  process.exit(1);
});
