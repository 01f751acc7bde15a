// chain_crash.test.mjs - kill -9 of a store node, and separately of hq, in
// the middle of a burst of tablet commands and HQ order intake.
//
// The contract: nothing acknowledged is lost, nothing is applied twice.
//   - every tablet command that was acked (stock.receive, its id also in
//     the event's note) is, after the restart and the catch-up, in the
//     store's log and in HQ's log exactly once; re-sending every command
//     (acked or not, as a tablet does after a reconnect) applies each
//     exactly once in the end;
//   - every order answered 201 exists at HQ and at its store, dispatched
//     once; a POST whose answer was lost is retried with the same
//     idempotency key and never makes a second order;
//   - per origin, both logs hold exactly the seqs 1..max, once each, and the
//     state digests of the store and of HQ's copy are equal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STAFF, sqlite, haveSqlite, withTimeout } from './lib/storenode.mjs';
import { hqSkipReason } from './lib/hq.mjs';
import { startChain, stopChain, allConverged, converged, originCounts } from './lib/chain.mjs';

const SKIP = hqSkipReason() || (haveSqlite() ? false : 'the sqlite3 CLI is needed to read the logs');
const STORES = {
  'store-a': { lat: 31.2304, lon: 121.4800 },
  'store-b': { lat: 31.2235, lon: 121.4450 },
};
const N = 1500;        // tablet commands per burst
const WINDOW = 32;     // tablet commands in flight
const ORDERS = 40;     // orders posted per burst
const ORDER_WINDOW = 3;

let c;

before(async () => {
  if (SKIP) return;
  c = await startChain(STORES, { nodeConfig: { ws_rate: 10000, ws_burst: 100000 } });
  await c.hq.api('PUT', '/api/v1/catalog/latte', { name: '生椰拿铁', price: 1900 });
  await c.hq.api('PUT', '/api/v1/catalog/cup', { name: '纸杯', price: 10 });
  await allConverged(c);
});

after(async () => {
  await stopChain(c);
});

// N stock.receive commands (qty 1, note = id) with WINDOW in flight; ids
// acked are collected; onAck(count) after each.  stop() stops sending.
function tabletBurst(t, prefix, onAck = () => {}) {
  const ids = Array.from({ length: N }, (_, i) => `${prefix}-${i}`);
  const acked = new Set();
  let next = 0;
  let stopped = false;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  const sendOne = () => {
    if (stopped || next >= N) return;
    const id = ids[next++];
    t.send({ type: 'stock.receive', id, sku: 'cup', qty: 1, note: id });
  };
  t.ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type !== 'ack' || !m.id || !m.id.startsWith(prefix)) return;
    acked.add(m.id);
    onAck(acked.size);
    if (acked.size === N) resolveDone();
    sendOne();
  });
  t.ws.on('close', () => resolveDone());
  for (let i = 0; i < WINDOW; i++) sendOne();
  return { ids, acked, done, stop: () => { stopped = true; resolveDone(); } };
}

// Up to `count` pickup orders at `store`, ORDER_WINDOW at a time, against
// whatever hq.base is at the moment, until stopWhen(lost) holds; answers by
// key; keys whose answer never came.
function orderBurst(hq, prefix, store, count, onAnswer = () => {}, stopWhen = () => false) {
  const answered = new Map();
  const lost = new Set();
  const body = (i) => ({ kind: 'pickup', store_id: store, items: [{ sku: 'latte', qty: 1 + (i % 3) }], note: `${prefix}-${i}` });
  let next = 0;
  const worker = async () => {
    while (next < count && !stopWhen(lost)) {
      const i = next++;
      const key = `${prefix}-${i}`;
      try {
        const r = await hq.http('POST', '/api/v1/orders', body(i), { 'idempotency-key': key });
        if (r.status === 201) answered.set(key, r.json);
        else lost.add(key);
      } catch {
        lost.add(key); // connection refused or reset: the answer is lost
      }
      onAnswer(answered.size + lost.size);
    }
  };
  const done = Promise.all(Array.from({ length: ORDER_WINDOW }, worker));
  return { body, answered, lost, done, attempted: () => next };
}

// Re-send every command id on a fresh tablet: the acked ones must come back
// replayed (durable), and all N are applied exactly once in the end.
async function resendAll(node, ids, acked, label) {
  const t = await node.loggedIn(STAFF[0], `tab-resend-${label}`);
  const answers = await Promise.all(ids.map((id) => t.cmd('stock.receive', { sku: 'cup', qty: 1, note: id }, id)));
  assert.ok(answers.every((m) => m.type === 'ack'), `${label}: every re-send acked`);
  const replayed = new Set(answers.filter((m) => m.replayed).map((m) => m.id));
  for (const id of acked) assert.ok(replayed.has(id), `${label}: acked command ${id} was lost`);
  await t.close();
  return replayed.size;
}

// Every note of `prefix` in the store's stock.delta events, once, at both ends.
function assertOncePerCommand(node, ids, label) {
  const q = `SELECT json_extract(json,'$.body.note'), COUNT(*) FROM events WHERE origin='${node.storeId}' ` +
    `AND type='stock.delta' AND json_extract(json,'$.body.note') LIKE '${label}-%' GROUP BY 1`;
  for (const [where, db] of [['store', node.dbPath], ['hq', c.hq.eventsDbPath]]) {
    const rows = sqlite(db, q).split('\n').filter(Boolean).map((l) => l.split('|'));
    const seen = new Map(rows.map(([note, n]) => [note, Number(n)]));
    assert.equal(seen.size, ids.length, `${label}: ${where} holds ${seen.size} of ${ids.length} commands`);
    for (const [note, n] of seen) assert.equal(n, 1, `${label}: ${note} applied ${n} times at ${where}`);
  }
}

// Per origin: seqs 1..max, each once, the same at both ends.
function assertGapFree(node, label) {
  for (const origin of [node.storeId, `hq:${node.storeId}`]) {
    const at = { store: originCounts(node.dbPath, origin), hq: originCounts(c.hq.eventsDbFor(origin), origin) };
    for (const [where, x] of Object.entries(at)) {
      assert.deepEqual([x.count, x.distinct, x.min > 0 ? x.min : 1], [x.max, x.max, 1], `${label}: ${origin} at ${where} ${JSON.stringify(x)}`);
    }
    assert.equal(at.store.max, at.hq.max, `${label}: ${origin} same at both ends`);
  }
}

// Every 201 order at HQ and at its store, dispatched once at each.
async function assertOrders(node, answered, label) {
  for (const [key, o] of answered) {
    const at = await c.hq.api('GET', `/api/v1/orders/${o.order_id}`);
    assert.equal(at.store_id, node.storeId, `${label}: ${key}`);
    for (const db of [node.dbPath, c.hq.dbPath]) {
      const n = sqlite(db, `SELECT COUNT(*) FROM events WHERE type='order.dispatched' AND json_extract(json,'$.body.order_id')='${o.order_id}'`);
      assert.equal(n, '1', `${label}: ${o.order_id} dispatched once in ${db}`);
    }
  }
}

// Orders whose note starts with prefix, at HQ: one per key.
function assertOneOrderPerKey(prefix, keys, label) {
  const rows = sqlite(c.hq.dbPath, `SELECT json_extract(json,'$.body.note'), COUNT(*) FROM events WHERE type='order.dispatched' ` +
    `AND json_extract(json,'$.body.note') LIKE '${prefix}-%' GROUP BY 1`).split('\n').filter(Boolean).map((l) => l.split('|'));
  assert.equal(rows.length, keys, `${label}: ${rows.length} distinct orders for ${keys} keys`);
  for (const [note, n] of rows) assert.equal(n, '1', `${label}: key ${note} made ${n} orders`);
}

test('kill -9 of a store node mid-burst: nothing acknowledged lost, nothing applied twice', { skip: SKIP }, async () => {
  const node = c.nodes['store-a'];
  const t = await node.loggedIn(STAFF[0], 'tab-burst-a');
  let resolveKill;
  const killed = new Promise((r) => { resolveKill = r; });
  let killing = null;
  const burst = tabletBurst(t, 'ka', (n) => {
    if (n >= 400 && !killing) killing = node.kill9().then(resolveKill);
  });
  const orders = orderBurst(c.hq, 'ka-order', 'store-a', ORDERS);
  const exit = await withTimeout(killed, 30000, 'the kill after 400 acks');
  assert.equal(exit.signal, 'SIGKILL');
  burst.stop();
  const ackedAtKill = new Set(burst.acked);
  t.terminate();
  // HQ keeps taking orders for the dead store.
  const dead = orderBurst(c.hq, 'ka-dead', 'store-a', ORDERS);
  await Promise.all([orders.done, dead.done]);
  assert.equal(orders.lost.size + dead.lost.size, 0, 'hq answered every order');
  assert.equal(sqlite(node.dbPath, 'PRAGMA integrity_check'), 'ok');

  await node.start();
  const applied = await resendAll(node, burst.ids, ackedAtKill, 'ka');
  assert.ok(applied >= ackedAtKill.size);
  await converged(c.hq, node);
  assertOncePerCommand(node, burst.ids, 'ka');
  assertGapFree(node, 'store kill');
  await assertOrders(node, orders.answered, 'store kill');
  await assertOrders(node, dead.answered, 'store kill (orders while dead)');
  assertOneOrderPerKey('ka-order', ORDERS, 'store kill');
  assertOneOrderPerKey('ka-dead', ORDERS, 'store kill');
  console.log(`store kill: ${ackedAtKill.size} commands acked before the kill, ${applied} durable; ` +
    `${orders.answered.size} orders during the burst, ${dead.answered.size} while the store was dead`);
});

test('kill -9 of hq mid-burst: nothing acknowledged lost, nothing applied twice', { skip: SKIP }, async () => {
  const hq = c.hq;
  const tabs = {};
  const bursts = {};
  let resolveKill;
  const killed = new Promise((r) => { resolveKill = r; });
  let killing = null;
  let answers = 0;
  let ackedAtKill = 0;
  // The kill lands once HQ has answered 10 orders and a third of store-a's
  // commands are acked: events are streaming up and orders coming in.
  const maybeKill = () => {
    if (killing || answers < 10 || bursts['store-a'].acked.size < N / 3) return;
    ackedAtKill = bursts['store-a'].acked.size;
    killing = hq.stop('SIGKILL').then(resolveKill);
  };
  for (const id of Object.keys(STORES)) tabs[id] = await c.nodes[id].loggedIn(STAFF[0], `tab-burst-hq-${id}`);
  for (const id of Object.keys(STORES)) bursts[id] = tabletBurst(tabs[id], `kh-${id}`, maybeKill);
  // Orders keep coming until 10 of them found hq dead.
  const orders = orderBurst(hq, 'kh-order', 'store-b', 100000, (n) => { answers = n; maybeKill(); },
    (lost) => lost.size >= 10);
  const exit = await withTimeout(killed, 30000, 'the hq kill');
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(ackedAtKill < N, 'the kill landed in the middle of the tablet burst');
  await orders.done; // the rest are refused: their answers are lost
  assert.ok(orders.lost.size > 0, 'some orders were posted while hq was dead');
  assert.equal(sqlite(hq.dbPath, 'PRAGMA integrity_check'), 'ok');
  assert.equal(sqlite(hq.eventsDbPath, 'PRAGMA integrity_check'), 'ok');
  // The stores never noticed: the tablets' bursts complete.
  for (const id of Object.keys(STORES)) await withTimeout(bursts[id].done, 30000, `${id}'s burst`);

  await hq.start();
  await hq.waitLog(/msg="mqtt connected"/);
  // The mall retries every order it has no answer for, with the same key.
  for (const key of orders.lost) {
    const i = Number(key.split('-').pop());
    const again = await hq.order(key, orders.body(i));
    orders.answered.set(key, again);
  }
  // And a retry of an answered one gets the very same order.
  const [k0, o0] = orders.answered.entries().next().value;
  assert.deepEqual(await hq.order(k0, orders.body(Number(k0.split('-').pop()))), o0);

  for (const id of Object.keys(STORES)) {
    const node = c.nodes[id];
    await converged(hq, node);
    assert.equal(bursts[id].acked.size, N, `${id}: every command acked`);
    assertOncePerCommand(node, bursts[id].ids, `kh-${id}`);
    assertGapFree(node, `hq kill ${id}`);
    tabs[id].terminate();
  }
  await assertOrders(c.nodes['store-b'], orders.answered, 'hq kill');
  assertOneOrderPerKey('kh-order', orders.attempted(), 'hq kill');
  console.log(`hq kill: ${ackedAtKill} of store-a's commands acked at the kill; ` +
    `${orders.attempted() - orders.lost.size} orders answered, ${orders.lost.size} retried after the restart`);
});
