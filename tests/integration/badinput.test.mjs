// badinput.test.mjs - hostile and broken input: malformed JSON, unknown
// types, wrong field types, oversized frames (1009), a flooding tablet
// (rate_limited, then 1008), a tablet that stops reading; the other tablets
// keep being served and the database stays consistent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startNode, STAFF, sqlite, haveSqlite, withTimeout } from './lib/storenode.mjs';

let n;

before(async () => {
  n = await startNode();
  await n.inject([n.hq.catalog('latte', '生椰拿铁', 1900), n.hq.dispatch('o-b1')]);
});

after(async () => {
  await n.cleanup();
});

test('malformed frames are answered with bad_json and the connection stays open', async () => {
  const t = await n.loggedIn(STAFF[1], 'tab-bad');
  for (const frame of ['{nope', '[1,2]', '42', '"str"', '', '{"type":"ping","id":"a"', '['.repeat(50) + ']'.repeat(50)]) {
    const from = t.mark();
    t.send(frame);
    const e = await t.waitFor((m) => m.type === 'error', { from, what: `error for ${JSON.stringify(frame)}` });
    assert.equal(e.code, 'bad_json', frame);
    assert.ok(!('id' in e));
  }
  // Invalid UTF-8 in a binary frame (text frames are checked by lws itself).
  const from = t.mark();
  t.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: true });
  assert.equal((await t.waitFor((m) => m.type === 'error', { from })).code, 'bad_json');
  await t.ok('ping');
  await t.close();
});

test('unknown types name the type; wrong field types name the field', async () => {
  const t = await n.loggedIn(STAFF[0], 'tab-types');
  const u = await t.cmd('order.eat', { order_id: 'o-b1' });
  assert.equal(u.code, 'unknown_type');
  assert.match(u.message, /order\.eat/);
  const cases = [
    ['order.accept', { order_id: 42 }, /^order_id: /],
    ['order.accept', {}, /^order_id: required/],
    ['order.accept', { order_id: 'has space' }, /^order_id: /],
    ['stock.receive', { sku: 'latte', qty: '5' }, /^qty: /],
    ['stock.receive', { sku: 'latte', qty: 1.5 }, /^qty: /],
    ['stock.receive', { sku: 'latte', qty: 0 }, /^qty: /],
    ['stock.receive', { sku: 'latte', qty: 1e12 }, /^qty: /],
    ['stock.receive', { qty: 5 }, /^sku: required/],
    ['stock.receive', { sku: 'latte', qty: 5, note: 7 }, /^note: /],
    ['stock.correct', { sku: 'latte', delta: 2, note: 'x'.repeat(300) }, /^note: /],
    ['sku.sold_out', { sku: 'latte', sold_out: 'yes' }, /^sold_out: /],
    ['stock.stocktake', { counts: {} }, /^counts: /],
    ['stock.stocktake', { counts: [] }, /^counts: /],
    ['stock.stocktake', { counts: [{ sku: 'latte', counted: -1 }] }, /^counts\[0\]\.counted: /],
    ['stock.stocktake', { counts: [{ sku: 'latte', counted: 1 }, { sku: 'latte', counted: 2 }] }, /^counts\[1\]\.sku: /],
    ['stock.stocktake', { counts: [{ counted: 2 }] }, /^counts\[0\]\.sku: /],
    ['settings.set', {}, /^settings: /],
    ['settings.set', { paused: 1 }, /^paused: /],
    ['settings.set', { radius_m: -5 }, /^radius_m: /],
    ['order.ship', { order_id: 'o-b1', courier: 'SF', tracking: 'has space' }, /^tracking: /],
    ['order.reject', { order_id: 'o-b1', reason: 3 }, /^reason: /],
    ['sync', { since: '0' }, /^since: /],
    ['login', { tablet: 'tab-types', pin: 1234 }, /^pin: /],
    ['login', { tablet: 'tab-types', pin: '12ab' }, /^pin: /],
    ['login', { tablet: 'tab-types' }, /^pin: required/],
    ['staff.set', { staff_id: 's-q', name: '', role: 'clerk' }, /^name: /],
  ];
  for (const [type, fields, re] of cases) {
    const e = await t.cmd(type, fields);
    assert.equal(e.type, 'error', `${type} ${JSON.stringify(fields)}`);
    assert.equal(e.code, 'bad_request', `${type} ${JSON.stringify(fields)}: ${e.message}`);
    assert.match(e.message, re, `${type} ${JSON.stringify(fields)}`);
  }
  const from = t.mark();
  t.send({ type: 5, id: 'x1' });
  const e = await t.waitFor((m) => m.type === 'error' && m.id === 'x1', { from });
  assert.match(e.message, /^type: /);
  // None of that changed anything.
  const s = await n.loggedIn(STAFF[0], 'tab-types2');
  const snap = s.messages.find((m) => m.type === 'snapshot');
  assert.equal(snap.orders.find((o) => o.order_id === 'o-b1').status, 'dispatched');
  await Promise.all([t.close(), s.close()]);
});

test('a frame at the size limit is served; one byte more closes with 1009', async () => {
  const t = await n.tablet('tab-big');
  const base = JSON.stringify({ type: 'ping', id: 'big-1', pad: '' });
  const exact = base.replace('"pad":""', `"pad":"${'x'.repeat(16384 - base.length)}"`);
  assert.equal(Buffer.byteLength(exact), 16384);
  t.send(exact);
  assert.equal((await t.waitFor((m) => m.id === 'big-1')).type, 'ack');
  t.send(exact.replace('"pad":"', '"pad":"x'));
  const closed = await withTimeout(t.closed, 10000, 'close after oversized frame');
  assert.equal(closed.code, 1009);
});

test('an oversized message sent as fragments is refused too', async () => {
  const t = await n.tablet('tab-frag');
  const other = await n.loggedIn(STAFF[1], 'tab-frag-other');
  const half = 'x'.repeat(9000);
  t.ws.send(`{"type":"ping","id":"f1","pad":"${half}`, { fin: false });
  t.ws.send(`${half}"}`, { fin: true });
  const closed = await withTimeout(t.closed, 10000, 'close after fragmented oversized message');
  assert.equal(closed.code, 1009);
  await other.ok('ping');
  await other.close();
});

test('a flooding tablet gets rate_limited, then is closed with 1008; others keep being served', async () => {
  const flood = await n.tablet('tab-flood');
  const good = await n.loggedIn(STAFF[0], 'tab-good');
  for (let i = 0; i < 400; i++) flood.send({ type: 'ping', id: `fl-${i}` });
  const busy = good.ok('stock.receive', { sku: 'latte', qty: 1 });
  const closed = await withTimeout(flood.closed, 10000, 'flooder closed');
  assert.equal(closed.code, 1008);
  const limited = flood.messages.filter((m) => m.type === 'error' && m.code === 'rate_limited');
  assert.ok(limited.length > 0, 'rate_limited errors came first');
  assert.ok(limited.every((m) => m.id && m.id.startsWith('fl-')), 'errors carry the id');
  const acked = flood.messages.filter((m) => m.type === 'ack').length;
  assert.ok(acked >= 100 && acked < 400, `the burst was served (${acked} acks)`);
  await busy;
  await good.ok('ping');
  await good.ok('order.accept', { order_id: 'o-b1' });
  await n.waitLog(/msg="tablet flooding, closing"/);
  const m = await n.http('GET', '/metrics');
  assert.match(m.text, /storenode_ws_closed_total\{reason="flood"\} 1/);
  await good.close();
});

test('the database is consistent after all that (integrity_check) and a clean restart keeps it', { skip: !haveSqlite() && 'sqlite3 CLI not installed' }, async () => {
  const exit = await n.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.equal(sqlite(n.dbPath, 'PRAGMA integrity_check;'), 'ok');
  await n.start();
  const t = await n.loggedIn(STAFF[0], 'tab-after');
  const snap = t.messages.find((m) => m.type === 'snapshot');
  assert.equal(snap.orders.find((o) => o.order_id === 'o-b1').status, 'accepted');
  assert.equal(snap.stock.find((s) => s.sku === 'latte').on_hand, 1);
  await t.close();
});

test('a tablet that stops reading is disconnected instead of eating memory', async () => {
  // Small queue limit, no rate limit in the way: the slow tablet asks for
  // ~40 KB snapshots far faster than it reads them.
  const m = await startNode({ config: { ws_max_queue: 65536, ws_rate: 10000, ws_burst: 10000 } });
  try {
    const evs = [];
    for (let i = 0; i < 60; i++) evs.push(m.hq.dispatch(`o-slow-${i}`, { note: 'x'.repeat(100) }));
    await m.inject(evs);
    const slow = await m.loggedIn(STAFF[1], 'tab-slow');
    const good = await m.loggedIn(STAFF[0], 'tab-ok');
    slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then our queue
    for (let i = 0; i < 1000; i++) slow.send({ type: 'sync', id: `s-${i}`, since: 0 });
    await m.waitLog(/msg="tablet not reading, disconnecting"/);
    await good.ok('ping');
    await good.ok('order.accept', { order_id: 'o-slow-1' });
    const met = await m.http('GET', '/metrics');
    assert.match(met.text, /storenode_ws_closed_total\{reason="slow_reader"\} 1/);
    assert.match(met.text, /storenode_tablets_connected 1\n/);
    slow.terminate();
    await good.close();
  } finally {
    await m.cleanup();
  }
});

test('a tablet that never answers pings is dropped (ws_ping_s)', async () => {
  const m = await startNode({ config: { ws_ping_s: 1 } });
  try {
    const good = await m.loggedIn(STAFF[0], 'tab-alive'); // ws answers pings itself
    const s = net.createConnection(m.port, '127.0.0.1');
    s.resume(); // read (and ignore) what comes, so that the end is seen
    s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await withTimeout(new Promise((r) => s.on('close', r)), 10000, 'silent socket dropped');
    await good.ok('ping');
    await good.close();
  } finally {
    await m.cleanup();
  }
});
