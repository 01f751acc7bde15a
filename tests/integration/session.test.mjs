// session.test.mjs - login, tokens, roles, staff management, PIN lockout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, STAFF } from './lib/storenode.mjs';

let n;

before(async () => {
  n = await startNode({ config: { lockout_attempts: 3, lockout_s: 60 } });
  await n.inject([n.hq.catalog('latte', '生椰拿铁', 1900), n.hq.dispatch('o-s1')]);
});

after(async () => {
  await n.cleanup();
});

test('login returns a token and the staff member; PINs and tokens never reach the log', async () => {
  const t = await n.tablet('tab-login');
  const r = await t.ok('login', { tablet: 'tab-login', pin: '1234' });
  assert.match(r.token, /^[0-9a-f]{32}$/);
  assert.deepEqual(r.staff, { id: 's-li', name: '李娜', role: 'manager' });
  assert.ok(r.expires_ms > Date.now());
  await n.waitLog(/msg="login" .*tablet=tab-login staff=s-li/);
  assert.ok(!n.log.some((l) => l.includes(r.token)), 'token logged');
  assert.ok(!n.log.some((l) => /\bpin=|"1234"/.test(l)), 'PIN logged');
  await t.close();
});

test('commands need a session; ping and login do not', async () => {
  const t = await n.tablet('tab-anon');
  const p = await t.ok('ping');
  assert.ok(Math.abs(p.now_ms - Date.now()) < 60000);
  const e = await t.cmd('order.accept', { order_id: 'o-s1' });
  assert.equal(e.type, 'error');
  assert.equal(e.code, 'unauthenticated');
  assert.equal((await t.cmd('sync', { since: 0 })).code, 'unauthenticated');
  await t.close();
});

test('a token resumes the session on a new socket; logout ends it', async () => {
  const t1 = await n.tablet('tab-tok');
  const { token } = await t1.ok('login', { tablet: 'tab-tok', pin: '5678' });
  t1.terminate();
  const t2 = await n.tablet('tab-tok');
  const r = await t2.ok('auth', { token });
  assert.equal(r.staff.id, 's-wang');
  assert.equal((await t2.ok('sync', { since: 0 })).mode, 'snapshot');
  await t2.ok('logout');
  assert.equal((await t2.cmd('stock.receive', { sku: 'latte', qty: 1 })).code, 'unauthenticated');
  const t3 = await n.tablet('tab-tok');
  assert.equal((await t3.cmd('auth', { token })).code, 'session_expired');
  assert.equal((await t3.cmd('auth', { token: '0'.repeat(32) })).code, 'session_expired');
  assert.equal((await t3.cmd('auth', { token: 'not-hex' })).code, 'bad_request');
  await t2.close();
  await t3.close();
});

test('roles: clerks cannot do manager commands', async () => {
  const clerk = await n.loggedIn(STAFF[1], 'tab-clerk');
  for (const [type, fields] of [
    ['staff.list', {}],
    ['order.cancel', { order_id: 'o-s1', reason: 'x' }],
    ['stock.correct', { sku: 'latte', delta: 1, note: 'x' }],
    ['stock.stocktake', { counts: [{ sku: 'latte', counted: 1 }] }],
    ['stock.transfer_out', { sku: 'latte', qty: 1, to_store: 'store-2', transfer_id: 'tr-x' }],
    ['settings.set', { paused: true }],
    ['staff.set', { staff_id: 's-x', name: 'X', role: 'clerk' }],
    ['staff.remove', { staff_id: 's-zhao' }],
    ['session.revoke', { staff_id: 's-zhao' }],
  ]) {
    const e = await clerk.cmd(type, fields);
    assert.equal(e.code, 'forbidden', type);
  }
  await clerk.close();
});

test('managers manage staff; revoking or removing ends that person\'s sessions at once', async () => {
  const mgr = await n.loggedIn(STAFF[0], 'tab-mgr');
  await mgr.ok('staff.set', { staff_id: 's-new', name: '新员工', role: 'clerk', pin: '9753' });
  const list = await mgr.ok('staff.list');
  assert.deepEqual(list.staff.find((s) => s.id === 's-new'), { id: 's-new', name: '新员工', role: 'clerk' });
  assert.equal((await mgr.cmd('staff.set', { staff_id: 's-y', name: 'Y', role: 'boss' })).code, 'bad_request');
  assert.equal((await mgr.cmd('staff.set', { staff_id: 's-y', name: 'Y', role: 'clerk', pin: '12' })).code, 'bad_request');

  const newbie = await n.loggedIn({ pin: '9753' }, 'tab-new');
  let from = newbie.mark();
  await mgr.ok('session.revoke', { staff_id: 's-new' });
  await newbie.waitFor((m) => m.type === 'error' && m.code === 'session_expired' && !m.id, { from });
  assert.equal((await newbie.cmd('stock.receive', { sku: 'latte', qty: 1 })).code, 'unauthenticated');

  await newbie.ok('login', { tablet: 'tab-new', pin: '9753' });
  from = newbie.mark();
  await mgr.ok('staff.remove', { staff_id: 's-new' });
  await newbie.waitFor((m) => m.type === 'error' && m.code === 'session_expired', { from });
  assert.equal((await newbie.cmd('login', { tablet: 'tab-new', pin: '9753' })).code, 'wrong_pin');
  assert.equal((await mgr.cmd('session.revoke', { staff_id: 's-nobody' })).code, 'not_found');
  await mgr.close();
  await newbie.close();
});

test('wrong PINs lock that tablet only; even the right PIN is refused while locked', async () => {
  const t = await n.tablet('tab-lock');
  const e1 = await t.cmd('login', { tablet: 'tab-lock', pin: '0000' });
  assert.equal(e1.code, 'wrong_pin');
  assert.equal((await t.cmd('login', { tablet: 'tab-lock', pin: '0001' })).code, 'wrong_pin');
  assert.equal((await t.cmd('login', { tablet: 'tab-lock', pin: '0002' })).code, 'wrong_pin');
  const locked = await t.cmd('login', { tablet: 'tab-lock', pin: '1234' });
  assert.equal(locked.code, 'locked_out');
  assert.match(locked.message, /\d+/);
  // Another tablet is not affected.
  const other = await n.tablet('tab-other');
  await other.ok('login', { tablet: 'tab-other', pin: '1234' });
  // The lock survives a reconnect (it is per tablet id, in the database).
  t.terminate();
  const t2 = await n.tablet('tab-lock');
  assert.equal((await t2.cmd('login', { tablet: 'tab-lock', pin: '1234' })).code, 'locked_out');
  await t2.close();
  await other.close();
});

test('a client rotating tablet ids is locked out by its address', async () => {
  // its own storenode: the lock would otherwise hold 127.0.0.1 for the other tests
  const m = await startNode({
    config: { lockout_attempts: 3, lockout_peer_attempts: 4, lockout_peer_window_s: 300, lockout_peer_s: 300 },
  });
  try {
    const t = await m.tablet('rogue');
    for (let i = 1; i <= 3; i++) {
      const e = await t.cmd('login', { tablet: `rogue-${i}`, pin: '0000' });
      assert.equal(e.code, 'wrong_pin');
      assert.doesNotMatch(e.message, /locked/); // a new id each time: no tablet lock
    }
    const fourth = await t.cmd('login', { tablet: 'rogue-4', pin: '0000' });
    assert.equal(fourth.code, 'wrong_pin');
    assert.match(fourth.message, /address 127\.0\.0\.1 is locked for 300 s/);
    // a fresh tablet id with the right PIN, on a new socket: still refused
    t.terminate();
    const t2 = await m.tablet('rogue-again');
    const locked = await t2.cmd('login', { tablet: 'rogue-5', pin: '1234' });
    assert.equal(locked.code, 'locked_out');
    assert.match(locked.message, /\b(29\d|300) more s/);
    await m.waitLog(/msg="login refused" .*tablet=rogue-5 peer=127\.0\.0\.1 code=locked_out/);
    await t2.close();
  } finally {
    await m.cleanup();
  }
});

test('every command needs an id; answers carry it', async () => {
  const t = await n.tablet('tab-id');
  t.send({ type: 'ping' });
  const e = await t.waitFor((m) => m.type === 'error');
  assert.equal(e.code, 'bad_request');
  assert.match(e.message, /id/);
  t.send({ type: 'ping', id: 'has space' });
  const e2 = await t.waitFor((m) => m.type === 'error' && /1-63/.test(m.message));
  assert.equal(e2.code, 'bad_request');
  const ok = await t.cmd('ping', {}, 'my-id.1:x_y');
  assert.equal(ok.id, 'my-id.1:x_y');
  await t.close();
});

test('a session that expires while the tablet is connected ends on that socket at once', async () => {
  // its own storenode with the shortest session the config allows
  const m = await startNode({ config: { session_ttl_s: 5 } });
  try {
    const t = await m.tablet('tab-short');
    const { token, expires_ms: expires } = await t.ok('login', { tablet: 'tab-short', pin: '1234' });
    assert.ok(expires - Date.now() <= 5000 && expires - Date.now() > 0, `expires_ms ${expires}`);
    await t.ok('sync', { since: 0 });
    const from = t.mark();
    // the server's once-a-second sweep tells the socket, unasked
    const e = await t.waitFor((x) => x.type === 'error' && x.code === 'session_expired' && !x.id,
      { from, ms: 15000, what: 'the session_expired push' });
    assert.match(e.message, /expired/);
    assert.ok(Date.now() >= expires, 'told before the session ended');
    // nothing more is pushed to it, and commands are refused
    assert.equal((await t.cmd('stock.receive', { sku: 'latte', qty: 1 })).code, 'unauthenticated');
    // the token is dead on any socket
    const t2 = await m.tablet('tab-short');
    assert.equal((await t2.cmd('auth', { token })).code, 'session_expired');
    await t.close();
    await t2.close();
  } finally {
    await m.cleanup();
  }
});
