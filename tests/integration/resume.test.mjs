// resume.test.mjs - reconnect and resume from a feed position without a full
// snapshot; idempotent retries by command id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, STAFF } from './lib/storenode.mjs';

let n;

before(async () => {
  n = await startNode();
  const evs = [n.hq.catalog('latte', '生椰拿铁', 1900), n.hq.catalog('tea', '柠檬茶', 1200)];
  for (let i = 1; i <= 20; i++) evs.push(n.hq.dispatch(`o-r${i}`, { items: [{ sku: 'tea', name: '柠檬茶', qty: 1, price: 1200 }] }));
  await n.inject(evs);
});

after(async () => {
  await n.cleanup();
});

const stockOf = (msgs, sku) => msgs.filter((m) => m.type === 'stock' && m.stock.sku === sku).at(-1)?.stock;

test('a tablet that reconnects gets only what changed since its feed position', async () => {
  const t = await n.tablet('tab-res');
  const { token } = await t.ok('login', { tablet: 'tab-res', pin: '5678' });
  const first = await t.ok('sync', { since: 0 });
  assert.equal(first.mode, 'snapshot');
  const snap = t.messages.find((m) => m.type === 'snapshot');
  assert.equal(snap.feed, first.feed);
  assert.equal(snap.orders.length, 20);
  const seen = first.feed;
  t.terminate();

  // While it is away another tablet works.
  const other = await n.loggedIn(STAFF[0], 'tab-other');
  await other.ok('order.accept', { order_id: 'o-r3' });
  await other.ok('stock.receive', { sku: 'latte', qty: 7 });
  await other.ok('settings.set', { paused: true });

  const back = await n.tablet('tab-res');
  await back.ok('auth', { token });
  const r = await back.ok('sync', { since: seen });
  assert.equal(r.mode, 'resume');
  assert.ok(r.feed > seen);
  assert.ok(!back.messages.some((m) => m.type === 'snapshot'), 'no snapshot on resume');
  const orders = back.messages.filter((m) => m.type === 'order').map((m) => m.order.order_id);
  assert.deepEqual(orders, ['o-r3'], 'only the changed order: ' + JSON.stringify(back.messages).slice(0, 3000));
  assert.equal(back.messages.find((m) => m.type === 'order').order.status, 'accepted');
  assert.equal(stockOf(back.messages, 'latte').on_hand, 7);
  assert.equal(stockOf(back.messages, 'tea').reserved, 1, 'reservation of the accepted order');
  assert.ok(back.messages.some((m) => m.type === 'settings' && m.settings.paused === true));
  // No message claims a feed beyond what the ack says.
  for (const m of back.messages) if (typeof m.feed === 'number') assert.ok(m.feed <= r.feed);

  // After the resume, changes arrive live.
  const from = back.mark();
  await other.ok('order.accept', { order_id: 'o-r4' });
  const live = await back.waitFor((m) => m.type === 'order' && m.order.order_id === 'o-r4', { from });
  assert.ok(live.feed > r.feed);

  // Resuming from the current position sends nothing but the ack.
  const quiet = await n.tablet('tab-res');
  await quiet.ok('auth', { token });
  const q = await quiet.ok('sync', { since: live.feed });
  assert.equal(q.mode, 'resume');
  assert.equal(quiet.messages.filter((m) => m.type !== 'ack').length, 0);
  await Promise.all([back.close(), quiet.close(), other.close()]);
});

test('a feed position the server cannot resume from gets a full snapshot', async () => {
  const t = await n.loggedIn(STAFF[1], 'tab-snap');
  const { feed } = t.messages.find((m) => m.type === 'snapshot');
  const r = await t.ok('sync', { since: feed + 1000 }); // from another database
  assert.equal(r.mode, 'snapshot');
  assert.equal((await t.cmd('sync', { since: -1 })).code, 'bad_request');
  await t.close();
});

test('a retried command id is answered with the stored result, not applied twice', async () => {
  const t = await n.loggedIn(STAFF[0], 'tab-idem');
  const before = stockOf(t.messages.find((m) => m.type === 'snapshot').stock.map((s) => ({ type: 'stock', stock: s })), 'latte').on_hand;
  const first = await t.cmd('stock.receive', { sku: 'latte', qty: 5 }, 'tab-idem-recv-1');
  assert.equal(first.type, 'ack');
  assert.ok(!first.replayed);
  // Same id again, on the same socket and after a reconnect.
  const again = await t.cmd('stock.receive', { sku: 'latte', qty: 5 }, 'tab-idem-recv-1');
  assert.equal(again.type, 'ack');
  assert.equal(again.replayed, true);
  assert.deepEqual(again.result, first.result);
  const t2 = await n.loggedIn(STAFF[0], 'tab-idem');
  const third = await t2.cmd('stock.receive', { sku: 'latte', qty: 5 }, 'tab-idem-recv-1');
  assert.equal(third.replayed, true);
  const snap = t2.messages.find((m) => m.type === 'snapshot');
  assert.equal(snap.stock.find((s) => s.sku === 'latte').on_hand, before + 5);

  // A transition retried after it succeeded is replayed, not illegal.
  await t.ok('order.accept', { order_id: 'o-r10' }, 'tab-idem-acc-10');
  const acc = await t.cmd('order.accept', { order_id: 'o-r10' }, 'tab-idem-acc-10');
  assert.equal(acc.type, 'ack');
  assert.equal(acc.replayed, true);

  // A stocktake retried gets the same variances back.
  const st1 = await t.ok('stock.stocktake', { counts: [{ sku: 'tea', counted: 30 }] }, 'tab-idem-st-1');
  const st2 = await t.cmd('stock.stocktake', { counts: [{ sku: 'tea', counted: 30 }] }, 'tab-idem-st-1');
  assert.deepEqual(st2.result, st1);
  assert.equal(st2.replayed, true);

  // Two sends of one id back to back (inside one group commit): one effect.
  const from = t.mark();
  t.send({ type: 'stock.receive', id: 'tab-idem-dup', sku: 'latte', qty: 100 });
  t.send({ type: 'stock.receive', id: 'tab-idem-dup', sku: 'latte', qty: 100 });
  await t.waitFor((m) => m.type === 'ack' && m.id === 'tab-idem-dup' && m.replayed, { from });
  const acks = t.messages.slice(from).filter((m) => m.id === 'tab-idem-dup');
  assert.equal(acks.length, 2);
  assert.equal(acks.filter((m) => !m.replayed).length, 1);
  const t3 = await n.loggedIn(STAFF[0], 'tab-idem3');
  assert.equal(t3.messages.find((m) => m.type === 'snapshot').stock.find((s) => s.sku === 'latte').on_hand, before + 105);

  // A failed command is not recorded: retrying it runs it again.
  const bad = await t.cmd('order.ready', { order_id: 'o-r11' }, 'tab-idem-rdy');
  assert.equal(bad.code, 'illegal_transition');
  await t.ok('order.accept', { order_id: 'o-r11' });
  await t.ok('order.prepare', { order_id: 'o-r11' });
  const retry = await t.cmd('order.ready', { order_id: 'o-r11' }, 'tab-idem-rdy');
  assert.equal(retry.type, 'ack');
  assert.ok(!retry.replayed);
  await Promise.all([t.close(), t2.close(), t3.close()]);
});
