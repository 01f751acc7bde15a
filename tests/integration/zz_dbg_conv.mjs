// chain_converge.test.mjs - the broker stopped for a while, and one store's
// link cut for longer, while the tablets keep working and the mall keeps
// ordering at HQ; when the links return every replica converges by itself.
//
//   store-a ─────────────┐
//   store-b ─────────────┼── mosquitto ── hq ◀── POST /api/v1/orders (mall)
//   store-c ── proxy ────┘
//        (cut first)    (then killed, restarted on the same port)
//
// Converged (lib/chain.mjs): for every store, HQ holds all the store wrote
// and the store all HQ wrote for it, both outboxes are empty, and the state
// digest of the store (GET /debug/statehash) equals the digest of HQ's copy
// (GET /api/v1/debug/statehash?store=).  hq routes to offline stores here
// (route_online_only = false), so orders are taken for a store that is cut
// off and reach it when it is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STAFF } from '/work/main/tests/integration/lib/storenode.mjs';
import { hqSkipReason } from '/work/main/tests/integration/lib/hq.mjs';
import { startChain, stopChain, allConverged, converged, nodeMetrics, stateHashes } from '/work/main/tests/integration/lib/chain.mjs';

const SKIP = hqSkipReason();
const STORES = {
  'store-a': { name: '人民广场店', lat: 31.2304, lon: 121.4800 },
  'store-b': { name: '静安寺店', lat: 31.2235, lon: 121.4450 },
  'store-c': { name: '徐家汇店', lat: 31.1950, lon: 121.4370, proxied: true },
};
const CUSTOMER_A = { lat: 31.2304, lon: 121.4737 }; // nearest: store-a

let c;
const tabs = {};
const isOrder = (id, pred = () => true) => (m) => m.type === 'order' && m.order.order_id === id && pred(m.order);

before(async () => {
  if (SKIP) return;
  c = await startChain(STORES);
  await c.hq.api('PUT', '/api/v1/catalog/latte', { name: '生椰拿铁', price: 1900 });
  await c.hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2500, low_threshold: 2 });
  for (const id of Object.keys(STORES)) {
    tabs[id] = await c.nodes[id].loggedIn(STAFF[0], `tab-${id}`);
    await tabs[id].ok('stock.receive', { sku: 'cake', qty: 20 });
  }
  await allConverged(c);
});

after(async () => {
  for (const t of Object.values(tabs)) t.terminate();
  console.error('after: stopping');
  await stopChain(c);
  console.error('after: stopped');
  setTimeout(() => { for (const h of process._getActiveHandles()) console.error('HANDLE', h.constructor.name, h.localPort, h.remotePort, h.pid, h.spawnfile, h._idleTimeout); }, 3000).unref();
});

// An order posted at HQ, seen on the store's tablet.
async function orderOnTablet(key, body) {
  const from = tabs[body.store_id || 'store-a'].mark();
  const o = await c.hq.order(key, body);
  await tabs[o.store_id].waitFor(isOrder(o.order_id), { from, what: `${o.order_id} on ${o.store_id}` });
  return o;
}

test('broker down and a store cut off: tablets keep working, HQ keeps ordering, everything converges', { skip: SKIP }, async () => {
  const hq = c.hq;
  // Orders every store already has, to be worked on while offline.
  const early = {};
  for (const id of Object.keys(STORES)) {
    early[id] = await orderOnTablet(`early-${id}`, { kind: 'pickup', store_id: id, items: [{ sku: 'cake', qty: 1 }] });
  }
  const before = {};
  for (const [id, n] of Object.entries(c.nodes)) before[id] = await nodeMetrics(n);

  // 1. store-c's WAN goes down first.
  const cNode = c.nodes['store-c'];
  const cLog = cNode.log.length;
  await c.proxies['store-c'].cut();
  await cNode.waitLog(/msg="mqtt disconnected"/, 15000);
  assert.ok(cNode.log.length > cLog);
  await hq.waitLog(/msg="store offline" store=store-c/, 15000);
  // HQ still takes orders for it (they wait in HQ's outbox) ...
  const forC = await hq.order('for-c-1', { kind: 'pickup', store_id: 'store-c', items: [{ sku: 'cake', qty: 2 }] });
  assert.equal(forC.store_id, 'store-c');
  // ... and its tablets keep working on what they have.
  await tabs['store-c'].ok('order.accept', { order_id: early['store-c'].order_id });
  await tabs['store-c'].ok('stock.receive', { sku: 'cake', qty: 5, note: 'while cut off' });

  // 2. The broker dies: nobody can replicate now.
  const hqLog = hq.log.length;
  await c.broker.stop('SIGKILL');
  await hq.waitLog(/msg="mqtt disconnected"/, 15000, false, hqLog);
  for (const id of ['store-a', 'store-b']) await c.nodes[id].waitLog(/msg="mqtt disconnected"/, 15000);

  // Every tablet keeps working: commands are acked after their commit.
  for (const id of Object.keys(STORES)) {
    const t = tabs[id];
    const oid = early[id].order_id;
    if (id !== 'store-c') await t.ok('order.accept', { order_id: oid });
    await t.ok('order.prepare', { order_id: oid });
    await t.ok('order.ready', { order_id: oid });
    await t.ok('stock.waste', { sku: 'cake', qty: 1, note: 'dropped' });
    await t.ok('sku.sold_out', { sku: 'latte', sold_out: id === 'store-b' });
  }
  await tabs['store-a'].ok('settings.set', { auto_accept_s: 30 });
  for (const [id, n] of Object.entries(c.nodes)) {
    const m = await nodeMetrics(n);
    assert.ok(m.depth >= 4, `${id}: outbox holds the offline work (${m.depth})`);
    assert.equal(m.acked, before[id].acked, `${id}: nothing acknowledged while offline`);
  }
  // The mall keeps ordering: HQ answers 201 from its own database.
  const during = [];
  during.push(await hq.order('during-1', { kind: 'delivery', items: [{ sku: 'cake', qty: 1 }], location: CUSTOMER_A }));
  during.push(await hq.order('during-2', { kind: 'pickup', store_id: 'store-b', items: [{ sku: 'latte', qty: 1 }] }));
  during.push(await hq.order('during-3', { kind: 'pickup', store_id: 'store-c', items: [{ sku: 'cake', qty: 1 }] }));
  const cancelled = await hq.order('during-4', { kind: 'pickup', store_id: 'store-a', items: [{ sku: 'latte', qty: 2 }] });
  assert.equal((await hq.api('POST', `/api/v1/orders/${cancelled.order_id}/cancel`, { reason: '不要了' })).status, 'cancelled');
  await hq.api('POST', `/api/v1/orders/${during[0].order_id}/rider`, { event: 'assigned', name: '张师傅', eta_ms: Date.now() + 600000 });
  await hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2600, low_threshold: 2 });
  await hq.api('PUT', '/api/v1/stores/store-b', { paused: true });
  assert.equal(during[0].store_id, 'store-a');

  // 3. The broker returns (empty: persistence off); store-c stays cut a bit longer.
  const marks = Object.fromEntries(Object.entries(tabs).map(([id, t]) => [id, t.mark()]));
  await c.broker.start(c.broker.port);
  await hq.waitLog(/msg="mqtt connected"/, 15000, false, hqLog);
  await allConverged({ hq, nodes: { 'store-a': c.nodes['store-a'], 'store-b': c.nodes['store-b'] } });
  const cm = await nodeMetrics(cNode);
  assert.ok(cm.depth > 0, 'store-c still holds its work while cut off');
  // The digests tell the difference: store-c and HQ's copy of it differ now.
  const apart = await stateHashes(hq, cNode);
  assert.notEqual(apart.node.orders_hash, apart.hq.orders_hash, 'work not replicated yet shows in the digests');
  assert.notEqual(apart.node.skus_hash, apart.hq.skus_hash);

  // 4. store-c's link returns: it catches up by itself.
  await c.proxies['store-c'].restore();
  const done = await allConverged(c);

  // What converged is the work done offline, on both sides.
  for (const id of Object.keys(STORES)) {
    const at = await hq.api('GET', `/api/v1/orders/${early[id].order_id}`);
    assert.equal(at.status, 'ready', `${id}: offline work reached HQ`);
    assert.ok(done[id].hash.orders >= 2, `${id}: orders hashed`);
  }
  const a = tabs['store-a'];
  await a.waitFor(isOrder(during[0].order_id, (o) => o.rider && o.rider.name === '张师傅'), { from: marks['store-a'], what: 'the delivery order and its rider' });
  await a.waitFor(isOrder(cancelled.order_id, (o) => o.status === 'cancelled'), { from: marks['store-a'], what: 'the cancelled order' });
  await tabs['store-c'].waitFor(isOrder(forC.order_id), { from: 0, what: 'the order taken while store-c was cut off' });
  await tabs['store-c'].waitFor(isOrder(during[2].order_id), { from: marks['store-c'], what: 'the order taken while the broker was down' });
  await tabs['store-b'].waitFor((m) => m.type === 'settings' && m.settings.paused === true, { from: marks['store-b'], what: 'paused from HQ' });
  const s = await hq.api('GET', '/api/v1/stores/store-a');
  assert.equal(s.auto_accept_s, 30, 'the store manager\'s setting reached HQ');
  // The three digests differ from each other (they are per store) and each
  // still matches after another round trip.
  const hashes = new Set(Object.values(done).map((d) => d.hash.hash));
  assert.equal(hashes.size, 3);
  for (const n of Object.values(c.nodes)) {
    const h = await stateHashes(hq, n);
    assert.deepEqual(h.node, h.hq);
  }
});

// The cake on hand at store-c, as a freshly synced tablet sees it.
async function cakeOnHand(node) {
  const t = await node.loggedIn(STAFF[0], `tab-check-${Date.now()}`);
  const cake = t.messages.find((m) => m.type === 'snapshot').stock.find((x) => x.sku === 'cake');
  await t.close();
  return cake.on_hand;
}

test('a store cut off alone: HQ marks it offline, it converges when back, each receipt counted once', { skip: SKIP }, async () => {
  const hq = c.hq;
  const cNode = c.nodes['store-c'];
  const base = await converged(hq, cNode);
  const onHand = await cakeOnHand(cNode);
  const mark = cNode.log.length;
  const hqMark = hq.log.length;
  await c.proxies['store-c'].cut();
  await hq.waitLog(/msg="store offline" store=store-c/, 15000, false, hqMark);
  // Busy hour while cut: 30 receipts on the tablet, 5 orders at HQ.
  const t = tabs['store-c'];
  const orders = [];
  for (let i = 0; i < 5; i++) {
    orders.push(await hq.order(`cut-${i}`, { kind: 'pickup', store_id: 'store-c', items: [{ sku: 'latte', qty: 1 }] }));
  }
  for (let i = 0; i < 30; i++) await t.ok('stock.receive', { sku: 'cake', qty: 1, note: `cut-${i}` });
  const from = t.mark();
  await c.proxies['store-c'].restore();
  const done = await converged(hq, cNode);
  assert.equal(done.metrics.lastSeq, base.metrics.lastSeq + 30);
  assert.equal(done.store.replication.down_seq, base.store.replication.down_seq + 5);
  for (const o of orders) await t.waitFor(isOrder(o.order_id), { from, what: o.order_id });
  assert.equal((await hq.api('GET', '/api/v1/stores/store-c')).online, true);
  assert.ok(cNode.log.slice(mark).some((l) => /msg="replication ready"/.test(l)));
  // 30 receipts, each once, at both ends (the digests cover HQ's on hand).
  assert.equal(await cakeOnHand(cNode), onHand + 30);
  const h = await stateHashes(hq, cNode);
  assert.deepEqual(h.node, h.hq);
});
