// live.test.mjs - two tablets at once: one acts, the other sees the change
// live; full pickup, delivery and express flows; alerts; stock and settings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, STAFF } from './lib/storenode.mjs';

let n;
let a; // manager s-li
let b; // clerk s-wang

const isOrder = (id, pred = () => true) => (m) => m.type === 'order' && m.order.order_id === id && pred(m.order);
const isStock = (sku, pred = () => true) => (m) => m.type === 'stock' && m.stock.sku === sku && pred(m.stock);
const isAlert = (kind, id) => (m) => m.type === 'alert' && m.alert.kind === kind && (!id || m.alert.order_id === id || m.alert.sku === id);

before(async () => {
  n = await startNode();
  await n.inject([
    n.hq.catalog('latte', '生椰拿铁', 1900, 3, 'Coconut latte'),
    n.hq.catalog('tea', '柠檬茶', 1200, 0, 'Lemon tea'),
    n.hq.catalog('cake', '蛋糕', 2500, 2, 'Cake'),
  ]);
  a = await n.loggedIn(STAFF[0], 'tab-a');
  b = await n.loggedIn(STAFF[1], 'tab-b');
  await a.ok('stock.receive', { sku: 'latte', qty: 50 });
  await a.ok('stock.receive', { sku: 'tea', qty: 50 });
});

after(async () => {
  await n.cleanup();
});

test('a new order rings on every tablet until someone acknowledges it', async () => {
  const fa = a.mark();
  const fb = b.mark();
  await n.inject([n.hq.dispatch('o-alert')]);
  for (const [t, from] of [[a, fa], [b, fb]]) {
    await t.waitFor(isOrder('o-alert', (o) => o.status === 'dispatched' && o.alerting === true), { from });
    await t.waitFor(isAlert('new_order', 'o-alert'), { from });
  }
  const f2 = a.mark();
  await b.ok('alert.ack', { order_id: 'o-alert' });
  const acked = await a.waitFor((m) => m.type === 'alert.acked' && m.order_id === 'o-alert', { from: f2 });
  assert.equal(acked.by, 's-wang');
  // A tablet that connects now sees the order, no longer ringing.
  const c = await n.loggedIn(STAFF[2], 'tab-c');
  const snap = c.messages.find((m) => m.type === 'snapshot');
  assert.equal(snap.orders.find((o) => o.order_id === 'o-alert').alerting, false);
  assert.ok(!snap.alerts.some((x) => x.kind === 'new_order' && x.order_id === 'o-alert'));
  // alert.ack of an order that does not exist
  assert.equal((await b.cmd('alert.ack', { order_id: 'o-nope' })).code, 'not_found');
  await c.close();
});

test('pickup flow: accept, prepare, ready, complete with the code; the other tablet follows', async () => {
  await n.inject([n.hq.dispatch('o-pick', { code: '8888', items: [{ sku: 'latte', name: '生椰拿铁', qty: 2, price: 1900 }] })]);
  await b.waitFor(isOrder('o-pick'));
  let from = b.mark();
  await a.ok('order.accept', { order_id: 'o-pick' });
  await b.waitFor(isOrder('o-pick', (o) => o.status === 'accepted' && o.milestones.accepted > 0), { from });
  // Accepting reserves stock: the other tablet is told.
  await b.waitFor(isStock('latte', (s) => s.reserved === 2 && s.available === s.on_hand - 2), { from });
  from = b.mark();
  await a.ok('order.prepare', { order_id: 'o-pick' });
  await a.ok('order.ready', { order_id: 'o-pick' });
  await b.waitFor(isOrder('o-pick', (o) => o.status === 'ready'), { from });
  const wrong = await a.cmd('order.complete', { order_id: 'o-pick', code: '0000' });
  assert.equal(wrong.type, 'error');
  assert.equal(wrong.code, 'wrong_code');
  from = b.mark();
  await b.ok('order.complete', { order_id: 'o-pick', code: '8888' });
  const done = await b.waitFor(isOrder('o-pick', (o) => o.status === 'completed'), { from });
  for (const m of ['dispatched', 'accepted', 'preparing', 'ready', 'completed']) {
    assert.equal(typeof done.order.milestones[m], 'number', `milestone ${m}`);
  }
  assert.ok(!('pickup_code' in done.order), 'the code is never sent to tablets');
  await a.waitFor(isStock('latte', (s) => s.reserved === 0 && s.on_hand === 48));
  const again = await a.cmd('order.ready', { order_id: 'o-pick' });
  assert.equal(again.code, 'illegal_transition');
});

test('delivery flow: rider assigned by HQ, arrives, handoff with the code, delivered by HQ', async () => {
  await n.inject([n.hq.dispatch('o-del', { kind: 'delivery', code: '5150', items: [{ sku: 'tea', name: '柠檬茶', qty: 1, price: 1200 }] })]);
  for (const t of ['order.accept', 'order.prepare', 'order.ready']) await a.ok(t, { order_id: 'o-del' });
  let from = b.mark();
  const eta = Date.now() + 600000;
  await n.inject([n.hq.event('rider.assigned', { order_id: 'o-del', name: '张师傅', phone_tail: '8899', eta_ms: eta })]);
  const withRider = await b.waitFor(isOrder('o-del', (o) => o.rider && o.rider.name === '张师傅'), { from });
  assert.equal(withRider.order.rider.eta_ms, eta);
  assert.equal(withRider.order.kind, 'delivery');
  await b.ok('order.rider_arrived', { order_id: 'o-del' });
  assert.equal((await b.cmd('order.handoff', { order_id: 'o-del', code: '1111' })).code, 'wrong_code');
  from = b.mark();
  await b.ok('order.handoff', { order_id: 'o-del', code: '5150' });
  const picked = await b.waitFor(isOrder('o-del', (o) => o.status === 'picked_up'), { from });
  assert.equal(typeof picked.order.milestones.rider_arrived, 'number');
  from = a.mark();
  await n.inject([n.hq.event('order.delivered', { order_id: 'o-del', by: 'rider' })]);
  await a.waitFor(isOrder('o-del', (o) => o.status === 'delivered'), { from });
});

test('express flow: shipped with courier and tracking number', async () => {
  await n.inject([n.hq.dispatch('o-exp', { kind: 'express', items: [{ sku: 'tea', name: '柠檬茶', qty: 3, price: 1200 }] })]);
  for (const t of ['order.accept', 'order.prepare', 'order.ready']) await a.ok(t, { order_id: 'o-exp' });
  const from = b.mark();
  await a.ok('order.ship', { order_id: 'o-exp', courier: '顺丰', tracking: 'SF1234567890' });
  const shipped = await b.waitFor(isOrder('o-exp', (o) => o.status === 'shipped'), { from });
  assert.deepEqual(shipped.order.shipment, { courier: '顺丰', tracking: 'SF1234567890' });
});

test('reject needs a known reason; item unavailable is shown on the order', async () => {
  await n.inject([n.hq.dispatch('o-rej'), n.hq.dispatch('o-item', { items: [
    { sku: 'latte', name: '生椰拿铁', qty: 1, price: 1900 }, { sku: 'cake', name: '蛋糕', qty: 1, price: 2500 }] })]);
  const bad = await b.cmd('order.reject', { order_id: 'o-rej', reason: 'tired' });
  assert.equal(bad.code, 'bad_request');
  assert.match(bad.message, /reason/);
  let from = a.mark();
  await b.ok('order.reject', { order_id: 'o-rej', reason: 'busy' });
  const rej = await a.waitFor(isOrder('o-rej', (o) => o.status === 'rejected'), { from });
  assert.equal(rej.order.reject_reason, 'busy');
  await b.ok('order.accept', { order_id: 'o-item' });
  from = a.mark();
  await b.ok('order.item_unavailable', { order_id: 'o-item', sku: 'cake' });
  const o = await a.waitFor(isOrder('o-item', (x) => x.items.some((i) => i.sku === 'cake' && i.unavailable)), { from });
  assert.equal(o.order.items.find((i) => i.sku === 'latte').unavailable, false);
});

test('cancel is for managers; a cancel after preparing raises a waste alert', async () => {
  await n.inject([n.hq.dispatch('o-can')]);
  await b.ok('order.accept', { order_id: 'o-can' });
  await b.ok('order.prepare', { order_id: 'o-can' });
  const forbidden = await b.cmd('order.cancel', { order_id: 'o-can', reason: 'customer called' });
  assert.equal(forbidden.code, 'forbidden');
  const from = b.mark();
  await a.ok('order.cancel', { order_id: 'o-can', reason: 'customer called' });
  const al = await b.waitFor(isAlert('cancelled', 'o-can'), { from });
  assert.equal(al.alert.waste, true);
  await b.waitFor(isAlert('waste', 'o-can'), { from });
  const o = await b.waitFor(isOrder('o-can', (x) => x.status === 'cancelled'), { from });
  assert.equal(o.order.waste, true);
  assert.equal(o.order.cancel.reason, 'customer called');
});

test('HQ reminder and a cancel that meets a handoff (conflict) reach the tablets', async () => {
  await n.inject([n.hq.dispatch('o-conf', { code: '2222' })]);
  for (const t of ['order.accept', 'order.prepare', 'order.ready']) await a.ok(t, { order_id: 'o-conf' });
  let from = b.mark();
  await n.inject([n.hq.event('order.reminded', { order_id: 'o-conf', n: 1, note: '顾客催单' })]);
  const rem = await b.waitFor(isAlert('reminder', 'o-conf'), { from });
  assert.equal(rem.alert.message, '顾客催单');
  await b.ok('order.complete', { order_id: 'o-conf', code: '2222' });
  from = b.mark();
  await n.inject([n.hq.event('order.cancelled', { order_id: 'o-conf', by: 'customer', reason: 'refund' })]);
  await b.waitFor(isAlert('conflict', 'o-conf'), { from });
  const o = await b.waitFor(isOrder('o-conf', (x) => x.conflict === true), { from });
  assert.equal(o.order.reminders, 1);
});

test('stock commands: receive, waste, correct, blind stocktake with variance, transfers, sold out', async () => {
  let from = b.mark();
  await a.ok('stock.receive', { sku: 'cake', qty: 10, note: 'delivery' });
  await b.waitFor(isStock('cake', (s) => s.on_hand === 10 && s.low === false), { from });
  await b.ok('stock.waste', { sku: 'cake', qty: 1 });
  assert.equal((await b.cmd('stock.correct', { sku: 'cake', delta: -1, note: 'miscount' })).code, 'forbidden');
  assert.equal((await a.cmd('stock.correct', { sku: 'cake', delta: 0, note: 'x' })).code, 'bad_request');
  await a.ok('stock.correct', { sku: 'cake', delta: -1, note: 'miscount' });
  await b.waitFor(isStock('cake', (s) => s.on_hand === 8));
  const r = await a.ok('stock.stocktake', { counts: [{ sku: 'cake', counted: 6 }, { sku: 'tea', counted: 40 }] });
  const cake = r.variances.find((v) => v.sku === 'cake');
  assert.deepEqual(cake, { sku: 'cake', system: 8, counted: 6, variance: -2 });
  await b.waitFor(isStock('cake', (s) => s.on_hand === 6));
  from = b.mark();
  await a.ok('stock.transfer_out', { sku: 'cake', qty: 4, to_store: 'store-2', transfer_id: 'tr-1' });
  await b.waitFor(isAlert('low_stock', 'cake'), { from });
  await b.waitFor(isStock('cake', (s) => s.on_hand === 2 && s.low === true), { from });
  await b.ok('stock.transfer_in', { sku: 'cake', qty: 3, from_store: 'store-3', transfer_id: 'tr-2' });
  await a.waitFor(isStock('cake', (s) => s.on_hand === 5));
  from = a.mark();
  await b.ok('sku.sold_out', { sku: 'tea', sold_out: true });
  await a.waitFor(isAlert('sold_out', 'tea'), { from });
  await a.waitFor(isStock('tea', (s) => s.sold_out === true && s.sold_out_auto === false), { from });
  await b.ok('sku.sold_out', { sku: 'tea', sold_out: false });
  await a.waitFor(isStock('tea', (s) => s.sold_out === false), { from });
});

test('settings: managers change them, every tablet gets the new values', async () => {
  assert.equal((await b.cmd('settings.set', { paused: true })).code, 'forbidden');
  const bad = await a.cmd('settings.set', { auto_accept_s: 99999 });
  assert.equal(bad.code, 'bad_request');
  assert.match(bad.message, /auto_accept_s/);
  const from = b.mark();
  await a.ok('settings.set', { paused: true, name: '国贸店', target_prep_s: 420 });
  const m = await b.waitFor((x) => x.type === 'settings' && x.settings.paused === true, { from });
  assert.equal(m.settings.name, '国贸店');
  assert.equal(m.settings.target_prep_s, 420);
  assert.equal(typeof m.feed, 'number');
});

test('auto-accept: with auto_accept_s set the box accepts new orders itself', async () => {
  await a.ok('settings.set', { auto_accept_s: 1, paused: false });
  const from = b.mark();
  await n.inject([n.hq.dispatch('o-auto')]);
  await b.waitFor(isAlert('new_order', 'o-auto'), { from });
  const o = await b.waitFor(isOrder('o-auto', (x) => x.status === 'accepted'), { from });
  assert.ok(o.order.milestones.accepted - o.order.milestones.dispatched >= 1000);
  assert.equal(o.order.alerting, false);
  await a.ok('settings.set', { auto_accept_s: 0 });
});
