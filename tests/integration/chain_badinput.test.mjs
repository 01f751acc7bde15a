// chain_badinput.test.mjs - malformed, oversized and wrong-store payloads on
// the MQTT topics (both directions) and the HTTP API, against a real chain.
//
// Fills the gaps left by hq_badinput.test.mjs (HQ's up topics with a fake
// store: garbage, binary, depth, a 300 KB payload, wrong store/origin in a
// batch, bad hello/heartbeat/status) and replication.test.mjs (a fake HQ:
// a batch for another store, an event of another store in ours):
//   - down topics at a real store: malformed, truncated, too deep, a newer
//     `v`, over 256 KiB, over 256 events, a batch or an event of another
//     store, bad and wrong-store acks and hellos, an oversized hello, an
//     unknown kind;
//   - up topics at a real hq: over 256 events (under the byte limit), a
//     hello, ack or heartbeat claiming another store, an oversized hello, a
//     batch of another (real) store on this store's topic;
//   - HTTP: limits and shapes hq_badinput does not try, and the debug
//     endpoints' own errors.
// Each is a clear error or a logged rejection; the processes keep running;
// nothing is corrupted: PRAGMA integrity_check, the logs gap-free, the state
// digests of every store and of HQ's copies exactly as before, and the
// chain still converges on real traffic afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STAFF, sqlite, haveSqlite, startNode } from './lib/storenode.mjs';
import { hqSkipReason, mqttPub } from './lib/hq.mjs';
import { startChain, stopChain, allConverged, converged, nodeMetrics, hqMetrics, stateHashes, waitUntil, originCounts } from './lib/chain.mjs';

const SKIP = hqSkipReason() || (haveSqlite() ? false : 'the sqlite3 CLI is needed to check the databases');
const STORES = { 'store-a': { lat: 31.2304, lon: 121.4800 }, 'store-b': { lat: 31.2235, lon: 121.4450 } };
const DOWN = 'retail/v1/stores/store-a/down';
const UP = 'retail/v1/stores/store-a/up';

let c;
let tab;
let baseline; // {store-a: digest, store-b: digest}

function hlcNow(i = 0) {
  return ((BigInt(Date.now()) << 16n) + BigInt(i)).toString();
}

// An event far beyond any seq the chain uses: if it were ever stored, the
// logs' gap-free check below would see the hole.
function event(origin, seq, store = 'store-a', body = { sku: 'cake', delta: 1, reason: 'receive', note: 'forged' }) {
  return { v: 1, origin, seq, hlc: hlcNow(seq % 1000), store, type: 'stock.delta', body };
}
const batch = (events, store = 'store-a', extra = {}) => JSON.stringify({ v: 1, store, events, ...extra });
const vvmsg = (vv, store = 'store-a') => JSON.stringify({ v: 1, store, vv });

// The first log line matching re at or after index `from`.
async function logLine(proc, re, from, ms) {
  return waitUntil(async () => proc.log.slice(from).find((l) => re.test(l)), `log ${re} (after line ${from}:\n${proc.log.slice(from).join('\n')})`, ms);
}

// Nothing corrupted: integrity, gap-free logs, digests as at the start.
async function assertIntact(label) {
  for (const db of [c.hq.dbPath, c.hq.eventsDbPath, ...Object.values(c.nodes).map((n) => n.dbPath)]) {
    assert.equal(sqlite(db, 'PRAGMA integrity_check'), 'ok', `${label}: ${db}`);
  }
  for (const n of Object.values(c.nodes)) {
    for (const origin of [n.storeId, `hq:${n.storeId}`]) {
      for (const db of [n.dbPath, c.hq.eventsDbFor(origin)]) {
        const x = originCounts(db, origin);
        assert.deepEqual([x.count, x.distinct], [x.max, x.max], `${label}: ${origin} in ${db} ${JSON.stringify(x)}`);
      }
    }
    const h = await stateHashes(c.hq, n);
    assert.deepEqual(h.node, baseline[n.storeId], `${label}: ${n.storeId}'s state`);
    assert.deepEqual(h.hq, baseline[n.storeId], `${label}: HQ's copy of ${n.storeId}`);
  }
  assert.equal(sqlite(c.hq.dbPath, "SELECT COUNT(*) FROM stores WHERE id NOT IN ('store-a','store-b')"), '0', `${label}: no store registered`);
  assert.equal((await c.hq.http('GET', '/healthz')).status, 200);
  for (const n of Object.values(c.nodes)) assert.equal((await n.http('GET', '/healthz')).status, 200);
}

before(async () => {
  if (SKIP) return;
  c = await startChain(STORES);
  await c.hq.api('PUT', '/api/v1/catalog/cake', { name: '蛋糕', price: 2500 });
  tab = await c.nodes['store-a'].loggedIn(STAFF[0], 'tab-a');
  await tab.ok('stock.receive', { sku: 'cake', qty: 7 });
  const o = await c.hq.order('bad-base', { kind: 'pickup', store_id: 'store-a', items: [{ sku: 'cake', qty: 1 }] });
  await tab.waitFor((m) => m.type === 'order' && m.order.order_id === o.order_id);
  await tab.ok('order.accept', { order_id: o.order_id });
  const done = await allConverged(c);
  baseline = Object.fromEntries(Object.entries(done).map(([id, d]) => [id, d.hash]));
});

after(async () => {
  tab?.terminate();
  await stopChain(c);
});

test('down topics at a real store: each bad message refused and logged, nothing changes', { skip: SKIP }, async () => {
  const node = c.nodes['store-a'];
  const m0 = await nodeMetrics(node);
  const many = Array.from({ length: 257 }, (_, i) => event('hq:store-a', 900001 + i));
  const valid = batch([event('hq:store-a', 900001)]);
  const cases = [
    ['events', 'not json at all', /msg="replication batch rejected" reason=malformed/],
    ['events', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80]), /reason=malformed code=\S+ err="[^"]*UTF-8/],
    ['events', valid.slice(0, valid.length >> 1), /reason=malformed/],
    ['events', `{"v":1,"store":"store-a","events":[${'['.repeat(40)}${']'.repeat(40)}]}`, /reason=malformed code=\S+ err="[^"]*(deeper|depth)/],
    ['events', batch([event('hq:store-a', 900001)]).replace('{"v":1', '{"v":2'), /reason=malformed code=\S+ err="[^"]*v: 2/],
    ['events', batch([event('hq:store-a', 900001)], 'store-a', { pad: 'x'.repeat(300 * 1024) }), /reason=malformed code=\S+ err="[^"]*(262144|byte|long|large)/i],
    ['events', batch(many), /reason=malformed code=\S+ err="[^"]*(256|events)/],
    ['events', batch([event('hq:store-b', 900001, 'store-b')], 'store-b'), /reason=wrong_store/],
    ['events', batch([event('hq:store-b', 900001, 'store-b')]), /reason=malformed code=\S+ err="events\[0\]\.store/],
    ['events', batch([event('hq:store-a', 900001, 'store-a', { sku: 'cake', delta: 0, reason: 'receive' })]), /reason=malformed code=\S+ err="events\[0\]\.body\.delta/],
    ['ack', 'garbage', /msg="replication message rejected" kind=ack/],
    ['ack', vvmsg({ 'store-b': { c: 3 } }, 'store-b'), /msg="replication message rejected" kind=ack code=wrong_store/],
    ['hello', vvmsg({ 'store-a': { c: -4 } }), /msg="replication message rejected" kind=hello/],
    ['hello', vvmsg({ 'store-a': { c: 1, h: Array.from({ length: 150000 }, (_, i) => 1000000 + i) } }), /msg="replication message rejected" kind=hello/],
    ['nonsense', '{}', /msg="mqtt message ignored"/],
  ];
  for (const [kind, payload, re] of cases) {
    const from = node.log.length;
    await mqttPub(c.broker.port, `${DOWN}/${kind}`, payload);
    await logLine(node, re, from);
  }
  if (process.env.CHAIN_VERBOSE) console.log(node.log.filter((l) => /rejected|ignored/.test(l)).join('\n'));
  const m1 = await nodeMetrics(node);
  assert.equal(m1.rejected - m0.rejected, cases.filter(([k]) => k === 'events').length, 'every bad batch counted');
  assert.equal(m1.remote, m0.remote, 'nothing merged');
  assert.equal(m1.acked, m0.acked, 'no forged ack moved the outbox');
  // The tablet was told nothing, and the store works on.
  const from = tab.mark();
  await tab.ok('stock.receive', { sku: 'cake', qty: 1 });
  assert.ok(!tab.messages.slice(from).some((m) => m.type === 'alert' || (m.type === 'order')));
  baseline['store-a'] = (await converged(c.hq, node)).hash;
  await assertIntact('after the down topics');
});

test('up topics at a real hq: each bad message refused and logged, nothing changes', { skip: SKIP }, async () => {
  const hq = c.hq;
  const m0 = await hqMetrics(hq);
  const small = Array.from({ length: 257 }, (_, i) => event('store-a', 900001 + i));
  const cases = [
    ['events', batch(small), /code=too_large|code=invalid/],
    ['events', batch([event('store-b', 900001, 'store-b')], 'store-b'), /code=wrong_store/],
    ['hello', vvmsg({ 'store-b': { c: 1 } }, 'store-b'), /code=wrong_store/],
    ['ack', vvmsg({ 'hq:store-b': { c: 1 } }, 'store-b'), /code=wrong_store/],
    ['heartbeat', JSON.stringify({ v: 1, store: 'store-b', version: '0.1.0', ts_ms: Date.now(), hlc: '1', uptime_s: 1, outbox_depth: 0, last_acked_seq: 0, last_seq: 0, rss_kb: 1, tablets: 0, orders_open: 0 }), /code=wrong_store/],
    ['hello', vvmsg({ 'store-a': { c: 1, h: Array.from({ length: 150000 }, (_, i) => 1000000 + i) } }), /code=too_large|code=invalid|code=bad_json/],
    ['events', `{"v":1,"store":"store-a","events":[${JSON.stringify(event('store-a', 900001))}]`, /code=bad_json|code=invalid/],
  ];
  for (const [kind, payload, re] of cases) {
    const from = hq.log.length;
    await mqttPub(c.broker.port, `${UP}/${kind}`, payload);
    const line = await logLine(hq, /msg="mqtt message refused"/, from);
    assert.match(line, re, `${kind}: ${payload.slice(0, 60)}`);
    assert.match(line, /topic="retail\/v1\/stores\/store-a\/up\/\w+" bytes=\d+ code=\w+ err="[^"]+"/);
  }
  const m1 = await hqMetrics(hq);
  assert.equal(m1.rejected - m0.rejected, cases.length);
  assert.equal(m1.applied, m0.applied);
  const b = await hq.api('GET', '/api/v1/stores/store-b');
  assert.equal(b.online, true, 'a heartbeat claiming store-b on store-a\'s topic did not touch store-b');
  await assertIntact('after the up topics');
});

test('HTTP: limits and shapes not tried elsewhere get a clear error; debug endpoints', { skip: SKIP }, async () => {
  const hq = c.hq;
  const key = (k) => ({ 'idempotency-key': k });
  const item = { sku: 'cake', qty: 1 };
  const cases = [
    [{ kind: 'pickup', store_id: 'store-a', items: Array.from({ length: 33 }, () => item) }, key('h1'), 422, 'items'],
    [{ kind: 'pickup', store_id: 'store-a', items: [] }, key('h2'), 422, 'items'],
    [{ kind: 'pickup', store_id: 'store-a', items: [{ sku: 'cake', qty: 10000 }] }, key('h3'), 422, 'items[0].qty'],
    [{ kind: 'pickup', store_id: 'store-a', items: [{ sku: 'cake', qty: 1.5 }] }, key('h4'), 422, 'items[0].qty'],
    [{ kind: 'pickup', store_id: 'store-a', items: [{ sku: 'no such sku!', qty: 1 }] }, key('h5'), 422, 'items[0].sku'],
    [{ kind: 'delivery', items: [item], location: { lat: 91, lon: 121 } }, key('h6'), 422, 'location.lat'],
    [{ kind: 'pickup', store_id: 'store-a', items: [item] }, key('k'.repeat(129)), 422, 'idempotency_key'],
    [{ kind: 'pickup', store_id: 'store-a', items: [item], note: 'x'.repeat(300) }, key('h8'), 422, 'note'],
    ['{"kind":"pickup","kind":"delivery","store_id":"store-a","items":[{"sku":"cake","qty":1}]}', key('h9'), 422, 'kind'],
    [`{"kind":"pickup","store_id":"store-a","items":[{"sku":"cake","qty":1}],"x":${'['.repeat(30)}${']'.repeat(30)}}`, key('h10'), 400, undefined],
    ['{"kind":"pickup","store_id":"store-a","items":[{"sku":"cake","qty":1e400}]}', key('h11'), 422, 'items[0].qty'],
  ];
  for (const [body, headers, status, field] of cases) {
    const r = await hq.http('POST', '/api/v1/orders', body, headers);
    const what = `${JSON.stringify(body).slice(0, 80)} -> ${r.status} ${r.text}`;
    assert.equal(r.status, status, what);
    assert.ok(r.json && typeof r.json.error === 'string' && r.json.message, what);
    if (field) assert.equal(r.json.field, field, what);
  }
  // Paths: too long, odd characters, traversal.
  for (const p of [`/api/v1/orders/${'o'.repeat(2000)}`, '/api/v1/orders/..%2F..%2Fetc', '/api/v1/orders/%00', '/api/v1/stores/a%20b']) {
    const r = await hq.http('GET', p);
    assert.ok([400, 404, 414, 422].includes(r.status), `${p.slice(0, 40)} -> ${r.status}`);
  }
  // The debug endpoint names what is wrong.
  let r = await hq.http('GET', '/api/v1/debug/statehash');
  assert.deepEqual([r.status, r.json.field], [422, 'store']);
  r = await hq.http('GET', '/api/v1/debug/statehash?store=nowhere');
  assert.deepEqual([r.status, r.json.error], [404, 'not_found']);
  r = await hq.http('POST', '/api/v1/debug/statehash?store=store-a', {});
  assert.equal(r.status, 405);
  await assertIntact('after the HTTP cases');
  // Real traffic still flows and converges.
  const o = await hq.order('after-bad', { kind: 'pickup', store_id: 'store-a', items: [item] });
  const from = tab.mark();
  await tab.waitFor((m) => m.type === 'order' && m.order.order_id === o.order_id, { from: 0 });
  await tab.ok('order.accept', { order_id: o.order_id });
  assert.ok(tab.mark() > from);
  const done = await allConverged(c);
  baseline = Object.fromEntries(Object.entries(done).map(([id, d]) => [id, d.hash])); /* the new order */
});

test('debug endpoints are off unless configured', { skip: SKIP }, async () => {
  const n = await startNode({ storeId: 'store-off', config: { dev_inject: false } });
  try {
    assert.equal((await n.http('GET', '/debug/statehash')).status, 404);
  } finally {
    await n.cleanup();
  }
  const { HqProcess } = await import('./lib/hq.mjs');
  const h = await new HqProcess({ brokerPort: c.broker.port }).start();
  try {
    const r = await h.http('GET', '/api/v1/debug/statehash?store=store-a');
    assert.deepEqual([r.status, r.json.error], [404, 'not_found']);
  } finally {
    await h.cleanup();
  }
});

// Last: had the box taken them, they would spoil the digests the other tests
// compare.
test('a down batch with events of an origin other than hq:<store> is refused', {
  skip: SKIP,
}, async () => {
  const node = c.nodes['store-a'];
  const m0 = await nodeMetrics(node);
  for (const origin of ['store-a', 'store-b', 'hq']) {
    const from = node.log.length;
    await mqttPub(c.broker.port, `${DOWN}/events`, batch([event(origin, m0.lastSeq + 1000)]));
    await logLine(node, /msg="replication batch rejected" reason=wrong_origin/, from, 3000);
  }
  await assertIntact('after foreign origins');
});
