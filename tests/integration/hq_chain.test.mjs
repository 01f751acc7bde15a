// hq_chain.test.mjs - the whole chain: real mosquitto, real hq, three real
// storenodes at different places in Shanghai, tablets over WebSocket.
//
//   mall --POST /api/v1/orders--> hq --down/events--> storenode --ws--> tablet
//   tablet --command--> storenode --up/events--> hq --GET /api/v1/orders/<id>--> mall
//
// Stores (customer at People's Square, 31.2304 N 121.4737 E):
//   store-a  People's Square, ~0.6 km   stock: cake 1
//   store-b  Jing'an Temple,  ~2.8 km   stock: cake 10
//   store-c  Zhangjiang,      ~19 km    (outside every radius)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, STAFF, sqlite, haveSqlite } from './lib/storenode.mjs';
import { Broker, HqProcess, hqSkipReason, waitUntil } from './lib/hq.mjs';

const SKIP = hqSkipReason();
const CUSTOMER = { lat: 31.2304, lon: 121.4737 };
const PLACES = {
  'store-a': { name: '人民广场店', lat: 31.2304, lon: 121.4800 },
  'store-b': { name: '静安寺店', lat: 31.2235, lon: 121.4450 },
  'store-c': { name: '张江店', lat: 31.2040, lon: 121.6700 },
};

let broker;
let hq;
const nodes = {};
const tabs = {};

const isOrder = (id, pred = () => true) => (m) => m.type === 'order' && m.order.order_id === id && pred(m.order);

async function hqOrder(id, pred, what) {
  return waitUntil(async () => {
    const r = await hq.http('GET', `/api/v1/orders/${id}`);
    return r.status === 200 && pred(r.json) ? r.json : false;
  }, what);
}

before(async () => {
  if (SKIP) return;
  broker = await new Broker().start();
  hq = await new HqProcess({ brokerPort: broker.port }).start();
  await hq.waitLog(/msg="mqtt connected"/);
  for (const id of Object.keys(PLACES)) {
    nodes[id] = await startNode({
      storeId: id,
      config: { mqtt_host: '127.0.0.1', mqtt_port: broker.port, heartbeat_s: 1, retransmit_s: 1, mqtt_reconnect_max_s: 1 },
    });
    await nodes[id].waitLog(/msg="replication ready"/);
  }
  for (const [id, p] of Object.entries(PLACES)) {
    await hq.api('PUT', `/api/v1/stores/${id}`, { name: p.name, location: { lat: p.lat, lon: p.lon }, radius_m: 5000 });
  }
  await hq.api('PUT', '/api/v1/catalog/latte', { name: '生椰拿铁', name_en: 'Coconut latte', price: 1900 });
  await hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2500, low_threshold: 2 });
  for (const id of ['store-a', 'store-b']) tabs[id] = await nodes[id].loggedIn(STAFF[0], `tab-${id}`);
  await tabs['store-a'].ok('stock.receive', { sku: 'cake', qty: 1 });
  await tabs['store-b'].ok('stock.receive', { sku: 'cake', qty: 10 });
  for (const id of Object.keys(PLACES)) {
    const s = await hq.caughtUp(nodes[id]);
    assert.equal(s.online, true, `${id} online at HQ`);
  }
});

after(async () => {
  for (const t of Object.values(tabs)) t.terminate();
  for (const n of Object.values(nodes)) await n.cleanup();
  if (hq) await hq.cleanup();
  if (broker) await broker.cleanup();
});

test('an order posted at HQ rings on the routed store\'s tablet; the tablet\'s work shows at HQ', { skip: SKIP }, async () => {
  const tab = tabs['store-a'];
  const from = tab.mark();
  const o = await hq.order('chain-1', {
    kind: 'delivery', items: [{ sku: 'latte', qty: 2 }], location: CUSTOMER, customer: '王先生', phone_tail: '4321',
  });
  assert.equal(o.store_id, 'store-a');
  assert.equal(o.status, 'dispatched');
  assert.match(o.pickup_code, /^\d{4}$/);
  assert.equal(o.total, 3800);
  const seen = await tab.waitFor(isOrder(o.order_id, (x) => x.status === 'dispatched'), { from, what: 'the order on the tablet' });
  assert.equal(seen.order.items[0].name, '生椰拿铁');
  assert.equal(seen.order.customer, '王先生');
  await tab.waitFor((m) => m.type === 'alert' && m.alert.kind === 'new_order' && m.alert.order_id === o.order_id, { from });

  await tab.ok('order.accept', { order_id: o.order_id });
  await tab.ok('order.prepare', { order_id: o.order_id });
  await tab.ok('order.ready', { order_id: o.order_id });
  let at = await hqOrder(o.order_id, (x) => x.status === 'ready', 'ready at HQ');
  for (const m of ['dispatched', 'accepted', 'preparing', 'ready']) assert.equal(typeof at.milestones[m], 'number', m);
  assert.ok(at.milestones.accepted >= at.milestones.dispatched);

  // The delivery platform: rider assigned (shown on the tablet), arrives.
  const f2 = tab.mark();
  await hq.api('POST', `/api/v1/orders/${o.order_id}/rider`, { event: 'assigned', name: '张师傅', phone_tail: '8899', eta_ms: Date.now() + 600000 });
  await tab.waitFor(isOrder(o.order_id, (x) => x.rider && x.rider.name === '张师傅'), { from: f2, what: 'the rider on the tablet' });
  await hq.api('POST', `/api/v1/orders/${o.order_id}/rider`, { event: 'arrived' });
  await tab.waitFor(isOrder(o.order_id, (x) => typeof x.milestones.rider_arrived === 'number'), { from: f2, what: 'rider arrived on the tablet' });
  // The rider shows the code; the tablet hands the order over.
  await tab.ok('order.handoff', { order_id: o.order_id, code: o.pickup_code });
  at = await hqOrder(o.order_id, (x) => x.status === 'picked_up', 'picked up at HQ');
  assert.equal(at.store_id, 'store-a');
  assert.equal(at.rider.name, '张师傅');
  await hq.api('POST', `/api/v1/orders/${o.order_id}/rider`, { event: 'delivered' });
  at = await hq.api('GET', `/api/v1/orders/${o.order_id}`);
  assert.equal(at.status, 'delivered');
  assert.equal(at.conflict, false);
  await tab.waitFor(isOrder(o.order_id, (x) => x.status === 'delivered'), { from: f2, what: 'delivered on the tablet' });
});

test('a cancel at HQ reaches the tablet', { skip: SKIP }, async () => {
  const tab = tabs['store-b'];
  const from = tab.mark();
  const o = await hq.order('chain-cancel', { kind: 'pickup', store_id: 'store-b', items: [{ sku: 'latte', qty: 1 }] });
  assert.equal(o.store_id, 'store-b');
  await tab.waitFor(isOrder(o.order_id), { from, what: 'the pickup order on store-b' });
  await tab.ok('order.accept', { order_id: o.order_id });
  const c = await hq.api('POST', `/api/v1/orders/${o.order_id}/cancel`, { by: 'customer', reason: '不要了' });
  assert.equal(c.status, 'cancelled');
  await tab.waitFor(isOrder(o.order_id, (x) => x.status === 'cancelled'), { from, what: 'the cancel on the tablet' });
  await tab.waitFor((m) => m.type === 'alert' && m.alert.kind === 'cancelled' && m.alert.order_id === o.order_id, { from });
  // The store cannot go on with it; HQ says the same after a retry.
  assert.equal((await tab.cmd('order.ready', { order_id: o.order_id })).code, 'illegal_transition');
  assert.equal((await hq.api('POST', `/api/v1/orders/${o.order_id}/cancel`)).status, 'cancelled');
  assert.equal((await hq.http('POST', `/api/v1/orders/${o.order_id}/remind`, {})).status, 409);
});

test('routing: nearest store with stock wins; out of range, out of stock and closed are 409', { skip: SKIP }, async () => {
  // store-a has 1 cake: 2 cakes go to store-b, 1 cake to store-a.
  let o = await hq.order('route-2cakes', { kind: 'delivery', items: [{ sku: 'cake', qty: 2 }], location: CUSTOMER });
  assert.equal(o.store_id, 'store-b');
  assert.ok(o.distance_m > 2500 && o.distance_m < 3200, `distance ${o.distance_m}`);
  o = await hq.order('route-1cake', { kind: 'delivery', items: [{ sku: 'cake', qty: 1 }], location: CUSTOMER });
  assert.equal(o.store_id, 'store-a');
  // store-a's one cake is now committed to that open order: the next goes to store-b.
  o = await hq.order('route-1cake-again', { kind: 'delivery', items: [{ sku: 'cake', qty: 1 }], location: CUSTOMER });
  assert.equal(o.store_id, 'store-b');
  let r = await hq.order('route-far', { kind: 'delivery', items: [{ sku: 'latte', qty: 1 }], location: { lat: 31.35, lon: 121.30 } }, 409);
  assert.deepEqual([r.error, r.reason], ['no_store', 'out_of_range']);
  r = await hq.order('route-many', { kind: 'delivery', items: [{ sku: 'cake', qty: 500 }], location: CUSTOMER }, 409);
  assert.deepEqual([r.error, r.reason], ['no_store', 'out_of_stock']);
  // Busy mode at both stores in range: closed; the tablets see the switch.
  const fb = tabs['store-b'].mark();
  for (const id of ['store-a', 'store-b']) await hq.api('PUT', `/api/v1/stores/${id}`, { paused: true });
  await tabs['store-b'].waitFor((m) => m.type === 'settings' && m.settings.paused === true, { from: fb, what: 'paused on the tablet' });
  r = await hq.order('route-paused', { kind: 'delivery', items: [{ sku: 'latte', qty: 1 }], location: CUSTOMER }, 409);
  assert.equal(r.reason, 'closed');
  // store-a back: it serves again.
  await hq.api('PUT', '/api/v1/stores/store-a', { paused: false });
  o = await hq.order('route-unpaused', { kind: 'delivery', items: [{ sku: 'latte', qty: 1 }], location: CUSTOMER });
  assert.equal(o.store_id, 'store-a');
  await hq.api('PUT', '/api/v1/stores/store-b', { paused: false });
});

test('a retried POST never makes a second order', { skip: SKIP }, async () => {
  const body = { kind: 'pickup', store_id: 'store-a', items: [{ sku: 'latte', qty: 3 }], note: '少冰' };
  const first = await hq.order('retry-1', body);
  const again = await hq.order('retry-1', body);
  assert.deepEqual(again, first);
  const third = await hq.api('POST', '/api/v1/orders', { ...body, idempotency_key: 'retry-1' }, 201);
  assert.deepEqual(third, first);
  const other = await hq.http('POST', '/api/v1/orders', { ...body, note: '多冰' }, { 'idempotency-key': 'retry-1' });
  assert.equal(other.status, 422);
  assert.equal(other.json.error, 'idempotency_mismatch');
  // The store got exactly one order from all of that.
  await hq.caughtUp(nodes['store-a']);
  if (haveSqlite()) {
    assert.equal(sqlite(nodes['store-a'].dbPath, `SELECT COUNT(*) FROM orders WHERE order_id='${first.order_id}'`), '1');
    assert.equal(sqlite(nodes['store-a'].dbPath, "SELECT COUNT(*) FROM events WHERE type='order.dispatched' AND json LIKE '%少冰%'"), '1');
  }
});

test('catalog and settings from HQ land at every store; HQ\'s view of a store', { skip: SKIP }, async () => {
  const from = tabs['store-a'].mark();
  await hq.api('PUT', '/api/v1/catalog/latte', { name: '生椰拿铁', price: 2100 });
  await tabs['store-a'].waitFor((m) => m.type === 'stock' && m.stock.sku === 'latte' && m.stock.price === 2100, { from, what: 'the new price' });
  await hq.caughtUp(nodes['store-c']);
  const s = await waitUntil(async () => {
    const x = await hq.api('GET', '/api/v1/stores/store-c');
    return x.heartbeat ? x : false;
  }, 'a heartbeat from store-c');
  assert.equal(s.name, '张江店');
  assert.deepEqual(s.location, { lat: 31.204, lon: 121.67 });
  assert.equal(s.online, true);
  assert.equal(typeof s.heartbeat.uptime_s, 'number');
  const list = await hq.api('GET', '/api/v1/stores');
  assert.deepEqual(list.stores.map((x) => x.store_id), ['store-a', 'store-b', 'store-c']);
});

test('a stock transfer: HQ books it out at the sender, the receiver books it in', { skip: SKIP }, async () => {
  const t = await hq.api('POST', '/api/v1/transfers', { transfer_id: 'tr-chain-1', from_store: 'store-b', to_store: 'store-a', sku: 'cake', qty: 3 }, 201);
  assert.equal(t.status, 'sent');
  const fb = tabs['store-b'].mark();
  await tabs['store-b'].waitFor((m) => m.type === 'stock' && m.stock.sku === 'cake', { from: fb, what: 'the transfer out at store-b' });
  await tabs['store-a'].ok('stock.transfer_in', { sku: 'cake', qty: 3, from_store: 'store-b', transfer_id: 'tr-chain-1' });
  const done = await waitUntil(async () => {
    const g = await hq.api('GET', '/api/v1/transfers/tr-chain-1');
    return g.status === 'received' ? g : false;
  }, 'the transfer received at HQ');
  assert.equal(done.received_qty, 3);
  // The retry of the same transfer is the same transfer.
  const again = await hq.api('POST', '/api/v1/transfers', { transfer_id: 'tr-chain-1', from_store: 'store-b', to_store: 'store-a', sku: 'cake', qty: 3 }, 200);
  assert.equal(again.transfer_id, 'tr-chain-1');
});

test('hq restarts on its database and carries on; stops cleanly', { skip: SKIP }, async () => {
  const e = await hq.stop('SIGTERM');
  assert.deepEqual(e, { code: 0, signal: null }, hq.log.slice(-5).join('\n'));
  await hq.start();
  await hq.waitLog(/msg="mqtt connected"/);
  const tab = tabs['store-a'];
  const from = tab.mark();
  const o = await hq.order('after-restart', { kind: 'delivery', items: [{ sku: 'latte', qty: 1 }], location: CUSTOMER });
  assert.equal(o.store_id, 'store-a');
  await tab.waitFor(isOrder(o.order_id), { from, what: 'an order after HQ restarted' });
  await tab.ok('order.accept', { order_id: o.order_id });
  await hqOrder(o.order_id, (x) => x.status === 'accepted', 'accepted at HQ after the restart');
  assert.equal((await hq.api('GET', '/api/v1/orders/' + o.order_id)).pickup_code, o.pickup_code);
});
