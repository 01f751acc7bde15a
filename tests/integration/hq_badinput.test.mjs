// hq_badinput.test.mjs - hq against hostile or broken input, with a fake
// store played by the mosquitto CLI clients (no storenode needed):
//
//   - a well-formed batch from the fake store is applied once and acked on
//     .../down/ack; its hello is answered on .../down/hello;
//   - malformed, oversized, binary, wrong-store and wrong-origin payloads on
//     the store topics are refused with a logged reason, nothing of them is
//     stored, and hq keeps serving;
//   - the HTTP API answers bad bodies with 400/413/422 naming the field,
//     unknown paths 404, wrong methods 405; API tokens 401/403
//     (hq_auth.test.mjs has the rest: no open mode, /metrics, api-token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sqlite, haveSqlite } from './lib/storenode.mjs';
import { Broker, HqProcess, MqttSub, hqSkipReason, mqttPub } from './lib/hq.mjs';

const SKIP = hqSkipReason();
const STORE = 'fake-1';
const UP = `retail/v1/stores/${STORE}/up`;

let broker;
let hq;
let sub;
let seq = 0;

function event(type, body, over = {}) {
  seq += 1;
  const hlc = (BigInt(Date.now()) << 16n) + BigInt(seq);
  return { v: 1, origin: STORE, seq, hlc: hlc.toString(), store: STORE, type, body, ...over };
}

const batch = (events, store = STORE) => JSON.stringify({ v: 1, store, events });
const receive = (sku, delta) => event('stock.delta', { sku, delta, reason: 'receive' });

function hqEvents() {
  return [hq.dbPath, hq.eventsDbPath].reduce((n, db) => n + Number(sqlite(db, 'SELECT COUNT(*) FROM events')), 0);
}

before(async () => {
  if (SKIP) return;
  broker = await new Broker().start();
  hq = await new HqProcess({ brokerPort: broker.port, config: { http_body_max: 4096 } }).start();
  await hq.waitLog(/msg="mqtt connected"/);
  sub = new MqttSub(broker.port, `retail/v1/stores/${STORE}/down/#`);
});

after(async () => {
  if (sub) sub.stop();
  if (hq) await hq.cleanup();
  if (broker) await broker.cleanup();
});

test('a fake store: its batch is applied once and acked, its hello answered', { skip: SKIP }, async () => {
  const evs = [receive('cup', 10), receive('cup', 5)];
  await mqttPub(broker.port, `${UP}/events`, batch(evs));
  const ack = await sub.waitFor((m) => m.topic.endsWith('/down/ack') && m.json?.vv?.[STORE]?.c === 2, 'the ack of seq 2');
  assert.equal(ack.json.store, STORE);
  // The same batch again (QoS 1 redelivery): acked again, stored once.
  const n = sub.messages.length;
  await mqttPub(broker.port, `${UP}/events`, batch(evs));
  await sub.waitFor((m) => m.topic.endsWith('/down/ack'), 'the second ack', undefined, n);
  if (haveSqlite()) assert.equal(sqlite(hq.eventsDbPath, `SELECT COUNT(*) FROM events WHERE origin='${STORE}'`), '2');
  await mqttPub(broker.port, `${UP}/hello`, JSON.stringify({ v: 1, store: STORE, vv: {} }));
  const hello = await sub.waitFor((m) => m.topic.endsWith('/down/hello'), 'HQ\'s hello');
  assert.equal(hello.json.vv[STORE].c, 2);
  const s = await hq.api('GET', `/api/v1/stores/${STORE}`);
  assert.equal(s.replication.up_seq, 2);
  assert.equal(s.online, true);
});

test('garbage on the store topics is refused, logged, and changes nothing', { skip: SKIP }, async () => {
  const before = haveSqlite() ? hqEvents() : 0;
  const cases = [
    ['events', 'not json at all'],
    ['events', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80])],
    ['events', `{"v":1,"store":"${STORE}","events":[${'['.repeat(40)}]}`],
    ['events', 'x'.repeat(300 * 1024)],
    ['events', batch([receive('cup', 1)], 'fake-2')],
    ['events', batch([event('stock.delta', { sku: 'cup', delta: 1, reason: 'receive' }, { store: 'fake-2', origin: 'fake-2' })], 'fake-2')],
    ['events', batch([event('order.cancelled', { order_id: 'o-1', by: 'hq' }, { origin: `hq:${STORE}` })])],
    ['events', batch([event('stock.delta', { sku: 'cup', delta: 0, reason: 'receive' })])],
    ['hello', '{"v":1,"store":"fake-1","vv":{"x":{"c":-4}}}'],
    ['heartbeat', '{"v":1}'],
    ['status', 'maybe'],
    ['nonsense', '{}'],
  ];
  for (const [kind, payload] of cases) {
    const from = hq.log.length;
    await mqttPub(broker.port, `${UP}/${kind}`, payload);
    const line = await hq.waitLog(/msg="mqtt message refused"/, undefined, false, from);
    assert.match(line, /code=\S+ err="/, `a reason for ${kind} ${String(payload).slice(0, 40)}`);
  }
  const h = await hq.api('GET', '/healthz');
  assert.equal(h.ok, true);
  assert.equal(h.mqtt_connected, true);
  if (haveSqlite()) {
    assert.equal(hqEvents(), before);
    assert.equal(sqlite(hq.dbPath, 'PRAGMA quick_check'), 'ok');
    assert.equal(sqlite(hq.eventsDbPath, 'PRAGMA quick_check'), 'ok');
    assert.equal(sqlite(hq.dbPath, "SELECT COUNT(*) FROM stores WHERE id='fake-2'"), '0');
  }
  const m = await hq.http('GET', '/metrics');
  assert.match(m.text, /^hq_mqtt_rejected_total (1[2-9]|[2-9]\d)$/m);
});

test('bad HTTP requests get a clear error naming the field', { skip: SKIP }, async () => {
  const post = (body, headers = {}) => hq.http('POST', '/api/v1/orders', body, headers);
  const key = { 'idempotency-key': 'bad-1' };
  let r = await post('{', key);
  assert.deepEqual([r.status, r.json.error], [400, 'bad_json']);
  r = await post('[1,2]', key);
  assert.deepEqual([r.status, r.json.error], [400, 'bad_json']);
  r = await post(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), key);
  assert.deepEqual([r.status, r.json.error], [400, 'bad_json']);
  r = await post({ kind: 'pickup', store_id: 'fake-1', items: [{ sku: 'cup', qty: 1 }] });
  assert.deepEqual([r.status, r.json.error, r.json.field], [422, 'invalid', 'idempotency_key']);
  r = await post({ kind: 'teleport', items: [{ sku: 'cup', qty: 1 }] }, key);
  assert.deepEqual([r.status, r.json.field], [422, 'kind']);
  r = await post({ kind: 'delivery', items: [{ sku: 'cup', qty: '2' }], location: { lat: 31, lon: 121 } }, key);
  assert.deepEqual([r.status, r.json.field], [422, 'items[0].qty']);
  r = await post({ kind: 'delivery', items: [{ sku: 'cup', qty: 2 }] }, key);
  assert.deepEqual([r.status, r.json.field], [422, 'location']);
  r = await post({ kind: 'pickup', items: [{ sku: 'cup', qty: 2 }] }, key);
  assert.deepEqual([r.status, r.json.field], [422, 'store_id']);
  r = await post({ kind: 'pickup', store_id: 'nowhere', items: [{ sku: 'cup', qty: 2 }] }, key);
  assert.deepEqual([r.status, r.json.field], [422, 'store_id']);
  r = await post({ kind: 'pickup', note: 'x'.repeat(5000) }, key);
  assert.deepEqual([r.status, r.json.error], [413, 'too_large']);
  r = await hq.http('GET', '/api/v1/orders/o-none');
  assert.deepEqual([r.status, r.json.error], [404, 'not_found']);
  r = await hq.http('GET', '/api/v1/nothing-here');
  assert.equal(r.status, 404);
  r = await hq.http('DELETE', '/api/v1/orders');
  assert.deepEqual([r.status, r.json.error], [405, 'method_not_allowed']);
  r = await hq.http('PUT', `/api/v1/stores/${STORE}`, { pause: true });
  assert.deepEqual([r.status, r.json.field], [422, 'pause']);
  r = await hq.http('PUT', `/api/v1/stores/${STORE}`, { radius_m: -5 });
  assert.deepEqual([r.status, r.json.field], [422, 'radius_m']);
  r = await hq.http('POST', '/api/v1/orders/o-none/rider', { event: 'arrived' });
  assert.equal(r.status, 404);
  r = await hq.http('POST', '/api/v1/orders/o-none/rider', { event: 'flew' });
  assert.deepEqual([r.status, r.json.field], [422, 'event']);
  r = await hq.http('POST', '/api/v1/transfers', { from_store: STORE, to_store: STORE, sku: 'cup', qty: 1 });
  assert.deepEqual([r.status, r.json.field], [422, 'to_store']);
  // Still serving, and a good request works.
  await hq.api('PUT', `/api/v1/stores/${STORE}`, { name: 'Fake', location: { lat: 31.23, lon: 121.47 } });
  await hq.api('PUT', '/api/v1/catalog/cup', { name: '杯子', price: 100 });
  const o = await hq.order('good-1', { kind: 'pickup', store_id: STORE, items: [{ sku: 'cup', qty: 2 }] });
  assert.equal(o.store_id, STORE);
  // The rider endpoint refuses a pickup order.
  r = await hq.http('POST', `/api/v1/orders/${o.order_id}/rider`, { event: 'arrived' });
  assert.deepEqual([r.status, r.json.error], [409, 'illegal_transition']);
  // ... and the fake store receives the order on down/events.
  await sub.waitFor((m) => m.topic.endsWith('/down/events') && m.json?.events?.some((e) => e.body.order_id === o.order_id), 'the order going down');
});

test('API tokens: 401 without or with an unknown token, 403 without the scope', { skip: SKIP }, async () => {
  const tokens = [
    { token: 'ops-0123456789abcdef', scopes: 'all', name: 'ops' },
    { token: 'mall-0123456789abcdef', scopes: 'orders', name: 'mall' },
    { token: 'rider-0123456789abcdef', scopes: 'rider', name: 'meituan' },
  ];
  const h = await new HqProcess({ brokerPort: broker.port, tokens }).start();
  try {
    const as = (t) => ({ authorization: t ? `Bearer ${t}` : null });
    let r = await h.http('GET', '/api/v1/stores', undefined, as(null));
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    r = await h.http('GET', '/api/v1/stores', undefined, as('guess-0123456789abcdef'));
    assert.deepEqual([r.status, r.json.error], [401, 'unauthenticated']);
    r = await h.http('PUT', '/api/v1/stores/s-1', { paused: true }, as(tokens[1].token));
    assert.deepEqual([r.status, r.json.error], [403, 'forbidden']);
    r = await h.http('POST', '/api/v1/orders', { kind: 'pickup' }, { ...as(tokens[2].token), 'idempotency-key': 'k' });
    assert.equal(r.status, 403);
    r = await h.http('POST', '/api/v1/orders', { kind: 'delivery', items: [{ sku: 'a', qty: 1 }], location: { lat: 1, lon: 1 } },
      { ...as(tokens[1].token), 'idempotency-key': 'k' });
    assert.deepEqual([r.status, r.json.reason], [409, 'out_of_range']);
    r = await h.http('PUT', '/api/v1/stores/s-1', { paused: true }, as(tokens[0].token));
    assert.equal(r.status, 200);
    assert.equal((await h.http('GET', '/healthz', undefined, as(null))).status, 200);
    assert.equal((await h.http('GET', '/metrics', undefined, as(null))).status, 401);
    assert.equal((await h.http('GET', '/metrics', undefined, as(tokens[1].token))).status, 403);
    assert.equal((await h.http('GET', '/metrics', undefined, as(tokens[0].token))).status, 200);
    assert.ok(!h.log.some((l) => l.includes('0123456789abcdef')), 'tokens never reach the log');
  } finally {
    await h.cleanup();
  }
});

test('hq stops cleanly on SIGTERM (no leak under the sanitizers)', { skip: SKIP }, async () => {
  const e = await hq.stop('SIGTERM');
  assert.deepEqual(e, { code: 0, signal: null }, hq.log.slice(-5).join('\n'));
  assert.ok(hq.log.some((l) => l.includes('msg="stopped"')));
});
