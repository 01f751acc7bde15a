// chain_replay.test.mjs - duplicated and reordered MQTT deliveries change
// nothing.
//
// Everything a store and HQ said to each other during a busy spell is
// captured on the wire (mosquitto_sub on the store's up/# and down/#), then
// published again: every message twice, all in a random order (seeded; the
// seed is printed on failure, CHAIN_SEED=<n> replays the same order).  Both
// ends must take it as the at-least-once duplicates it is: the state digests
// of the store and of HQ's copy are what they were, the logs hold the same
// events, the replication positions are the same, the duplicates are counted
// as such, nothing is refused, and no tablet is told anything.
//
// up/status is not replayed: it is the retained online flag, not a batch
// (an old "offline" would rightly mark the store offline until it speaks).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { STAFF, withTimeout } from './lib/storenode.mjs';
import { hqSkipReason, mqttPub, MOSQUITTO_SUB } from './lib/hq.mjs';
import { startChain, stopChain, allConverged, converged, nodeMetrics, hqMetrics, stateHashes, waitUntil, originCounts } from './lib/chain.mjs';
import { haveSqlite } from './lib/storenode.mjs';

const SKIP = hqSkipReason() || (haveSqlite() ? false : 'the sqlite3 CLI is needed to read the logs');
const STORES = { 'store-a': { lat: 31.2304, lon: 121.4800, proxied: true }, 'store-b': { lat: 31.2235, lon: 121.4450 } };
const SEED = Number(process.env.CHAIN_SEED || (Date.now() % 1000000007));

let c;
let tab;

// mosquitto_sub on the given filters; subscribed once a probe comes back.
class Capture {
  constructor(port, filters) {
    this.port = port;
    this.messages = [];
    const args = ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-q', '1', '-v', '-t', 'chain-it/probe'];
    for (const f of filters) args.push('-t', f);
    this.proc = spawn(MOSQUITTO_SUB, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.exited = new Promise((r) => this.proc.on('exit', r));
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const sp = line.indexOf(' ');
        this.messages.push({ topic: line.slice(0, sp), payload: line.slice(sp + 1) });
      }
    });
  }

  async ready() {
    await waitUntil(async () => {
      await mqttPub(this.port, 'chain-it/probe', 'probe');
      return this.messages.some((m) => m.topic === 'chain-it/probe');
    }, 'the capture subscription');
  }

  async stop() {
    this.proc.kill('SIGTERM');
    await withTimeout(this.exited, 10000, 'mosquitto_sub to exit');
    return this.messages.filter((m) => m.topic !== 'chain-it/probe');
  }
}

// xorshift32, seeded: the replay order.
function shuffle(xs, seed) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

before(async () => {
  if (SKIP) return;
  c = await startChain(STORES);
  await c.hq.api('PUT', '/api/v1/catalog/latte', { name: '生椰拿铁', price: 1900 });
  await c.hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2500, low_threshold: 2 });
  tab = await c.nodes['store-a'].loggedIn(STAFF[0], 'tab-a');
  await allConverged(c);
});

after(async () => {
  tab?.terminate();
  await stopChain(c);
});

const isOrder = (id, pred = () => true) => (m) => m.type === 'order' && m.order.order_id === id && pred(m.order);

// A busy spell at store-a: every kind of event and message, both directions.
async function busySpell() {
  const hq = c.hq;
  const from = tab.mark();
  const o1 = await hq.order('r-1', { kind: 'pickup', store_id: 'store-a', items: [{ sku: 'cake', qty: 1 }] });
  const o2 = await hq.order('r-2', { kind: 'delivery', items: [{ sku: 'latte', qty: 2 }], location: { lat: 31.2304, lon: 121.4737 } });
  const o3 = await hq.order('r-3', { kind: 'pickup', store_id: 'store-a', items: [{ sku: 'latte', qty: 1 }] });
  assert.equal(o2.store_id, 'store-a');
  for (const o of [o1, o2, o3]) await tab.waitFor(isOrder(o.order_id), { from, what: o.order_id });
  await tab.ok('stock.receive', { sku: 'cake', qty: 12 });
  await tab.ok('order.accept', { order_id: o1.order_id });
  await tab.ok('order.prepare', { order_id: o1.order_id });
  await tab.ok('order.ready', { order_id: o1.order_id });
  await tab.ok('order.complete', { order_id: o1.order_id, code: o1.pickup_code });
  await tab.ok('order.accept', { order_id: o2.order_id });
  await hq.api('POST', `/api/v1/orders/${o2.order_id}/rider`, { event: 'assigned', name: '张师傅', eta_ms: Date.now() + 600000 });
  await hq.api('POST', `/api/v1/orders/${o3.order_id}/remind`, { note: '顾客催单' });
  // The link drops and returns: hellos both ways, a resend of what was in flight.
  await c.proxies['store-a'].cut();
  await c.nodes['store-a'].waitLog(/msg="mqtt disconnected"/);
  await tab.ok('stock.stocktake', { counts: [{ sku: 'cake', counted: 10 }] });
  await hq.api('POST', `/api/v1/orders/${o3.order_id}/remind`, { note: '再催' });
  await c.proxies['store-a'].restore();
  await converged(hq, c.nodes['store-a']);
  await tab.ok('stock.waste', { sku: 'cake', qty: 1 });
  await tab.ok('sku.sold_out', { sku: 'latte', sold_out: true });
  await tab.ok('settings.set', { target_prep_s: 480 });
  await hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2600, low_threshold: 3 });
  await hq.api('PUT', '/api/v1/stores/store-a', { radius_m: 4000 });
  await tab.ok('order.prepare', { order_id: o2.order_id });
  await tab.ok('order.ready', { order_id: o2.order_id });
  await hq.api('POST', `/api/v1/orders/${o3.order_id}/cancel`, { reason: '不要了' });
  await tab.ok('order.rider_arrived', { order_id: o2.order_id });
  await tab.ok('order.handoff', { order_id: o2.order_id, code: o2.pickup_code });
  await hq.api('POST', `/api/v1/orders/${o2.order_id}/rider`, { event: 'delivered' });
}

// Everything both ends know of store-a, to compare before and after.
async function snapshot() {
  const node = c.nodes['store-a'];
  const done = await converged(c.hq, node);
  const logs = {};
  for (const origin of ['store-a', 'hq:store-a']) {
    logs[origin] = { store: originCounts(node.dbPath, origin), hq: originCounts(c.hq.eventsDbFor(origin), origin) };
  }
  return { hash: done.hash, repl: done.store.replication, lastSeq: done.metrics.lastSeq, logs };
}

test('every captured message twice, in a random order: nothing changes', { skip: SKIP }, async () => {
  const node = c.nodes['store-a'];
  const capture = new Capture(c.broker.port, ['retail/v1/stores/store-a/up/#', 'retail/v1/stores/store-a/down/#']);
  await capture.ready();
  await busySpell();
  await waitUntil(async () => capture.messages.some((m) => m.topic.endsWith('/up/heartbeat')), 'a heartbeat on the wire');
  const before = await snapshot();
  const wire = (await capture.stop()).filter((m) => !m.topic.endsWith('/up/status'));
  const kinds = (dir, k) => wire.filter((m) => m.topic.endsWith(`/${dir}/${k}`));
  const upEvents = kinds('up', 'events').reduce((n, m) => n + JSON.parse(m.payload).events.length, 0);
  const downEvents = kinds('down', 'events').reduce((n, m) => n + JSON.parse(m.payload).events.length, 0);
  assert.ok(upEvents >= 12 && downEvents >= 8, `captured ${upEvents} up and ${downEvents} down events`);
  for (const k of ['hello', 'ack', 'heartbeat']) assert.ok(kinds('up', k).length + kinds('down', k).length > 0, `captured ${k}`);
  const order = shuffle([...wire, ...wire], SEED);
  const m0 = { node: await nodeMetrics(node), hq: await hqMetrics(c.hq) };
  const t0 = tab.mark();
  const hqUp0 = await upMessagesAtHq();
  try {
    for (const m of order) await mqttPub(c.broker.port, m.topic, m.payload);
    // Both ends have handled every replayed message: each handles its topic
    // in the broker's order, so a sentinel sent last (a deliberately
    // malformed ack, refused and logged) comes out last.
    const hqFrom = c.hq.log.length;
    const nodeFrom = node.log.length;
    await mqttPub(c.broker.port, 'retail/v1/stores/store-a/up/ack', 'sentinel');
    await mqttPub(c.broker.port, 'retail/v1/stores/store-a/down/ack', 'sentinel');
    await waitUntil(async () => c.hq.log.slice(hqFrom).some((l) => /msg="mqtt message refused" topic="[^"]*up\/ack"/.test(l)), 'hq to reach the sentinel');
    await waitUntil(async () => node.log.slice(nodeFrom).some((l) => /msg="replication message rejected" kind=ack/.test(l)), 'store-a to reach the sentinel');
    assert.ok((await upMessagesAtHq()) >= hqUp0 + order.filter((m) => m.topic.includes('/up/')).length + 1);
    assert.ok((await nodeMetrics(node)).duplicate >= m0.node.duplicate + 2 * downEvents, 'every replayed down event a duplicate');
    const after = await snapshot();
    assert.deepEqual(after.hash, before.hash, 'the state digests');
    assert.deepEqual(after.logs, before.logs, 'the logs');
    assert.deepEqual([after.repl, after.lastSeq], [before.repl, before.lastSeq], 'the replication positions');
    const m1 = { node: await nodeMetrics(node), hq: await hqMetrics(c.hq) };
    assert.equal(m1.hq.applied, m0.hq.applied, 'hq applied nothing new');
    assert.ok(m1.hq.duplicate >= m0.hq.duplicate + 2 * upEvents, `hq counted ${m1.hq.duplicate - m0.hq.duplicate} duplicates`);
    assert.equal(m1.node.remote, m0.node.remote, 'the store merged nothing new');
    assert.equal(m1.hq.rejected, m0.hq.rejected + 1, 'hq refused nothing but the sentinel');
    assert.equal(m1.node.rejected, m0.node.rejected, 'the store refused nothing');
    // Anything pushed to the tablet would precede this answer on its socket.
    assert.equal((await tab.cmd('alert.ack', { order_id: 'o-none' })).code, 'not_found');
    const told = tab.messages.slice(t0).filter((m) => ['order', 'stock', 'settings', 'alert'].includes(m.type));
    assert.deepEqual(told, [], 'the tablet was told nothing');
    // The other store saw none of it.
    const b = await converged(c.hq, c.nodes['store-b']);
    assert.equal(b.metrics.duplicate, 0);
    console.log(`replayed ${order.length} messages (${upEvents} up and ${downEvents} down events, twice each), seed ${SEED}`);
  } catch (e) {
    e.message = `${e.message} (replay seed ${SEED}: CHAIN_SEED=${SEED} reproduces the order)`;
    throw e;
  }
});

// Up messages hq has handled, all kinds (hq_mqtt_messages_total{kind}).
async function upMessagesAtHq() {
  const r = await c.hq.http('GET', '/metrics');
  let n = 0;
  for (const m of r.text.matchAll(/^hq_mqtt_messages_total\{kind="\w+"\} (\d+)$/gm)) n += Number(m[1]);
  const rej = /^hq_mqtt_rejected_total (\d+)$/m.exec(r.text);
  return n + (rej ? Number(rej[1]) : 0);
}
