// tests/browser/tablet.test.mjs - the staff tablet app against the real
// storenode binary in Debian's chromium (playwright-core).
//
// One storenode (temp dir, dev_inject = true, a manager bootstrapped with
// `storenode staff-set`), two tablets (two browsers, each with a fresh
// user-data-dir).  Orders are dispatched through POST /api/dev/events as HQ
// would.  Every wait is on a DOM (or app state) condition with a bounded
// timeout; nothing sleeps for a fixed time.  Screenshots go to
// $ARTIFACTS_DIR (default <repo>/build/artifacts).
//
//   STORENODE_BIN   storenode to run (default <repo>/build/node/storenode)
//   ARTIFACTS_DIR   where the screenshots go
//   CHROMIUM        browser (default /usr/bin/chromium)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { spawnTied } from '../integration/lib/proc.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ARTIFACTS, REPO, openPage } from './lib/browser.mjs';
import { TABLE, LANGS } from '../../node/www/i18n.js';

const BIN = process.env.STORENODE_BIN || path.join(REPO, 'build', 'node', 'storenode');
const WWW = process.env.STORENODE_WWW || path.join(REPO, 'node', 'www');
const STORE = 'store-bt';
const PIN = '1234';
const CLERK_PIN = '5678';
const WAIT = 15000;             // longest wait for any one condition (ms)
const START_WAIT = 20000;       // storenode start-up (creates its database)

// ---- storenode -----------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tablet-test-'));
const cfgPath = path.join(tmp, 'storenode.conf');

function writeConfig(port) {
  fs.writeFileSync(cfgPath, [
    `store_id = ${STORE}`,
    `db_path = ${path.join(tmp, 'node.db')}`,
    'http_addr = 127.0.0.1',
    `http_port = ${port}`,
    `www_dir = ${WWW}`,
    'dev_inject = true',
    'kdf_iterations = 1000',
    'log_level = info',
    '',
  ].join('\n'));
}

// Start storenode and resolve with its port once it logs "listening ... port=N".
function startNode() {
  return new Promise((resolve, reject) => {
    const proc = spawnTied(BIN, ['--config', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`storenode did not start within ${START_WAIT} ms:\n${log}`));
    }, START_WAIT);
    const onData = (d) => {
      log += d;
      fs.appendFileSync(path.join(tmp, 'storenode.log'), d);
      const m = /listening.*\bport=(\d+)/.exec(log);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]) });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`storenode exited (${code ?? sig}) before listening:\n${log}`));
    });
    proc.on('error', reject);
  });
}

function stopNode(proc, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', () => { clearTimeout(kill); resolve(); });
    proc.kill(signal);
  });
}

// ---- events as HQ sends them (docs/protocol.md, "Event envelope") ------------------

let hqSeq = 0;
let lastHlc = 0n;
function hlcNow() {
  // 48 bits of wall-clock ms, 16 bits of counter; strictly increasing here.
  let h = BigInt(Date.now()) << 16n;
  if (h <= lastHlc) h = lastHlc + 1n;
  lastHlc = h;
  return h.toString();
}

function envelope(type, body) {
  return { v: 1, origin: 'hq', seq: ++hqSeq, hlc: hlcNow(), store: STORE, type, body };
}

async function inject(port, events) {
  const res = await fetch(`http://127.0.0.1:${port}/api/dev/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `dev inject failed: ${res.status} ${text}`);
  return JSON.parse(text);
}

const RUN = Date.now().toString(36).slice(-4);
const CATALOG = [
  { sku: 'latte', name: '生椰拿铁', name_en: 'Coconut latte', price: 1900, low_threshold: 5, active: true },
  { sku: 'mocha', name: '摩卡', name_en: 'Mocha', price: 2100, low_threshold: 5, active: true },
];

function order(n, { kind = 'pickup', code = '4821' } = {}) {
  return {
    order_id: `o-${RUN}-${String(n).padStart(4, '0')}`,
    kind,
    items: [
      { sku: 'latte', name: '生椰拿铁', qty: 2, price: 1900 },
      { sku: 'mocha', name: '摩卡', qty: 1, price: 2100 },
    ],
    pickup_code: code,
    customer: '王先生',
    phone_tail: '4321',
    note: '少冰，不要吸管',
    total: 5900,
    placed_ms: Date.now(),
  };
}

// ---- tablets ----------------------------------------------------------------------------

async function openTablet(name, base, viewport = { width: 1280, height: 800 }) {
  // Refused reconnects while the box is down are expected; anything else is a bug.
  const { bctx: ctx, page, errors } = await openPage(tmp, { viewport, prefix: `chromium-${name}-`,
    expected: /WebSocket connection to .* failed/ });
  const tab = { name, ctx, page, errors, sent: [], waiters: [] };
  // Resolve with the first sent frame (from index `from` on) matching pred.
  tab.waitSent = (pred, from = 0) => new Promise((resolve, reject) => {
    const hit = tab.sent.slice(from).find((s) => pred(s.msg));
    if (hit) return resolve(hit);
    const w = { pred, resolve };
    tab.waiters.push(w);
    setTimeout(() => reject(new Error('frame not sent in time')), WAIT).unref();
  });
  // Every command frame the tablet sends, with the socket it went on.
  let sockets = 0;
  page.on('websocket', (ws) => {
    const n = ++sockets;
    ws.on('framesent', (f) => {
      let frame;
      try { frame = { socket: n, msg: JSON.parse(f.payload) }; } catch { return; }
      tab.sent.push(frame);
      for (const w of tab.waiters.splice(0)) {
        if (w.pred(frame.msg)) w.resolve(frame);
        else tab.waiters.push(w);
      }
    });
  });
  await page.goto(base);
  return tab;
}

async function pressKeys(page, scope, keys) {
  for (const k of keys) await page.click(`${scope} [data-key="${k}"]`);
}

async function login(tab, pin = PIN) {
  const { page } = tab;
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: WAIT });
  await pressKeys(page, '.login-card', pin);
  await page.click('.login-card [data-key="enter"]');
}

const shot = (tab, name) => tab.page.screenshot({ path: path.join(ARTIFACTS, `tablet-${name}.png`) });
const card = (id) => `.card[data-order="${id}"]`;
const until = (tab, fn, arg) => tab.page.waitForFunction(fn, arg, { timeout: WAIT });

// ---- the tests -------------------------------------------------------------------------------

describe('i18n table', () => {
  it('has a non-empty string in every language for every key, with the same placeholders', () => {
    const keys = Object.keys(TABLE);
    assert.ok(keys.length > 100);
    for (const k of keys) {
      const row = TABLE[k];
      assert.equal(row.length, LANGS.length, k);
      for (const s of row) assert.ok(typeof s === 'string' && s.length > 0, k);
      const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
      assert.equal(ph(row[0]), ph(row[1]), `placeholders of ${k}`);
    }
  });
});

describe('tablet app against storenode', { timeout: 240000 }, () => {
  let node;
  let base;
  let a;
  let b;
  const first = order(1);
  const second = order(2);

  before(async () => {
    assert.ok(fs.existsSync(BIN), `storenode not found at ${BIN} (set STORENODE_BIN)`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    writeConfig(0);
    execFileSync(BIN, ['--config', cfgPath, 'staff-set', 's1', 'Li', 'manager', PIN], { stdio: 'pipe' });
    execFileSync(BIN, ['--config', cfgPath, 'staff-set', 's2', 'Wang', 'clerk', CLERK_PIN], { stdio: 'pipe' });
    node = await startNode();
    writeConfig(node.port);            // a restart must come back on the same port
    base = `http://127.0.0.1:${node.port}/`;
    await inject(node.port, CATALOG.map((c) => envelope('catalog.entry', c)));
    a = await openTablet('a', base);
    b = await openTablet('b', base);
  });

  after(async () => {
    for (const t of [a, b]) if (t) await t.ctx.close().catch(() => {});
    if (node) await stopNode(node.proc);
    for (const t of [a, b]) if (t) assert.deepEqual(t.errors, [], `tablet ${t.name} had page errors`);
    if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a wrong PIN and logs in with the right one on two tablets', async () => {
    await a.page.waitForSelector('.login-card', { timeout: WAIT });
    await shot(a, 'login');
    await login(a, '9999');
    await a.page.waitForFunction(() => /PIN 码错误/.test(document.querySelector('[data-testid="login-error"]').textContent), null, { timeout: WAIT });
    await login(a);
    await login(b);
    for (const t of [a, b]) {
      await t.page.waitForSelector('body[data-screen="main"] .board', { timeout: WAIT });
      assert.match(await t.page.textContent('.staff-chip'), /Li/);
    }
    assert.equal(await a.page.textContent('.tab[data-view="board"]'), '订单', 'Chinese by default');
  });

  it('rings on every tablet for a new order until one acknowledges it', async () => {
    await inject(node.port, [envelope('order.dispatched', first)]);
    for (const t of [a, b]) {
      await t.page.waitForSelector(`[data-col="new"] ${card(first.order_id)}`, { timeout: WAIT });
      await t.page.waitForSelector('body[data-ringing="1"] #alert-banner:not([hidden])', { timeout: WAIT });
    }
    await until(a, () => window.__tablet.alarm.plays >= 1);
    const text = await a.page.textContent(card(first.order_id));
    assert.match(text, /生椰拿铁 ×2/);
    assert.match(text, /少冰/);
    await shot(a, 'new-order');
    // Every control on the board is a big touch target.
    const small = await a.page.$$eval('button', (els) => els
      .filter((e) => e.offsetParent !== null)
      .map((e) => ({ text: e.textContent.trim(), h: e.getBoundingClientRect().height }))
      .filter((r) => r.h < 48));
    assert.deepEqual(small, [], 'buttons under 48px');

    await a.page.click('[data-action="ack-alert"]');
    for (const t of [a, b]) await t.page.waitForSelector('body[data-ringing="0"] #alert-banner[hidden]', { state: 'attached', timeout: WAIT });
    assert.equal(await b.page.evaluate(() => window.__tablet.alarm.ringing), false);
  });

  it('accepts, prepares and readies the order; the second tablet follows live', async () => {
    const id = first.order_id;
    await a.page.click(`${card(id)} [data-action="accept"]`);
    await b.page.waitForSelector(`[data-col="preparing"] ${card(id)}[data-status="accepted"]`, { timeout: WAIT });
    await a.page.click(`${card(id)}[data-status="accepted"] [data-action="prepare"]`);
    await b.page.waitForSelector(`${card(id)}[data-status="preparing"]`, { timeout: WAIT });
    await a.page.click(`${card(id)}[data-status="preparing"] [data-action="ready"]`);
    for (const t of [a, b]) await t.page.waitForSelector(`[data-col="ready"] ${card(id)}[data-status="ready"]`, { timeout: WAIT });
    await shot(b, 'ready');
  });

  it('completes a pickup with the customer\'s code, refusing a wrong one', async () => {
    const id = first.order_id;
    await a.page.click(`${card(id)} [data-action="complete"]`);
    await pressKeys(a.page, '[data-dialog="number"]', '1111');
    await a.page.click('[data-dialog="number"] [data-key="enter"]');
    await a.page.waitForSelector('.toast.error', { timeout: WAIT });
    assert.match(await a.page.textContent('.toast.error'), /取餐码不正确/);
    await a.page.waitForSelector(`${card(id)}[data-status="ready"] [data-action="complete"]`, { timeout: WAIT });

    await a.page.click(`${card(id)} [data-action="complete"]`);
    await pressKeys(a.page, '[data-dialog="number"]', first.pickup_code);
    await shot(a, 'pickup-code');
    await a.page.click('[data-dialog="number"] [data-key="enter"]');
    for (const t of [a, b]) await t.page.waitForSelector(card(id), { state: 'detached', timeout: WAIT });
    await a.page.click('.tab[data-view="history"]');
    await a.page.waitForSelector(`tr[data-order="${id}"][data-status="completed"]`, { timeout: WAIT });
    await shot(a, 'completed');
  });

  it('hands a delivery order to its rider with the code; reminders cannot be missed', async () => {
    const d = order(3, { kind: 'delivery', code: '7315' });
    const id = d.order_id;
    await a.page.click('.tab[data-view="board"]');
    await inject(node.port, [
      envelope('order.dispatched', d),
      envelope('rider.assigned', { order_id: id, name: '张师傅', phone_tail: '8899', eta_ms: Date.now() + 7 * 60000 }),
    ]);
    await a.page.waitForSelector(`${card(id)} .rider`, { timeout: WAIT });
    assert.match(await a.page.textContent(`${card(id)} .rider`), /张师傅.*8899/);
    for (const [step, status] of [['accept', 'accepted'], ['prepare', 'preparing'], ['ready', 'ready']]) {
      await a.page.click(`${card(id)} [data-action="${step}"]`);
      await a.page.waitForSelector(`${card(id)}[data-status="${status}"]:not(.pending)`, { timeout: WAIT });
    }
    await b.page.waitForSelector(`[data-col="rider"] ${card(id)}`, { timeout: WAIT });

    await inject(node.port, [envelope('order.reminded', { order_id: id, n: 1, note: '顾客说很急' })]);
    for (const t of [a, b]) {
      await t.page.waitForSelector('.toast.sticky.error', { timeout: WAIT });
      await t.page.waitForSelector(`${card(id)} [data-testid="reminder"]`, { timeout: WAIT });
    }
    assert.match(await a.page.textContent('.toast.sticky.error'), new RegExp(`#${id.slice(-4)}`));
    await shot(a, 'rider-reminder');
    await a.page.click('.toast.sticky.error [data-action="dismiss"]');

    await a.page.click(`${card(id)} [data-action="rider_arrived"]`);
    await b.page.waitForSelector(`${card(id)} .rider.arrived`, { timeout: WAIT });
    await a.page.click(`${card(id)} [data-action="handoff"]`);
    await pressKeys(a.page, '[data-dialog="number"]', d.pickup_code);
    await a.page.click('[data-dialog="number"] [data-key="enter"]');
    for (const t of [a, b]) await t.page.waitForSelector(card(id), { state: 'detached', timeout: WAIT });
    assert.equal(await a.page.evaluate((oid) => window.__tablet.state.orders.get(oid).status, id), 'picked_up');
  });

  it('receives stock and toggles sold-out; the other tablet sees it', async () => {
    await a.page.click('.tab[data-view="stock"]');
    const row = '.stock-row[data-sku="latte"]';
    await a.page.waitForSelector(row, { timeout: WAIT });
    const before = await a.page.evaluate(() => window.__tablet.state.stock.get('latte').on_hand);
    await a.page.click(`${row} [data-action="receive"]`);
    await pressKeys(a.page, '[data-dialog="number"]', '20');
    await a.page.click('[data-dialog="number"] [data-key="enter"]');
    await until(a, (n) => window.__tablet.state.stock.get('latte').on_hand === n, before + 20);
    await a.page.waitForSelector(`${row}:not(:has([data-testid="pending"]))`, { timeout: WAIT });

    await a.page.click(`${row} [data-action="sold-out"]`);
    await a.page.click('[data-dialog="confirm"] [data-action="ok"]');
    await a.page.waitForSelector(`${row}.sold-out`, { timeout: WAIT });
    await until(b, () => window.__tablet.state.stock.get('latte').sold_out === true);
    await shot(a, 'stock');
    await a.page.click(`${row} [data-action="sold-out"]`);
    await a.page.waitForSelector(`${row}:not(.sold-out)`, { timeout: WAIT });
  });

  it('runs a blind stocktake and shows the variance afterwards', async () => {
    const system = await a.page.evaluate(() => window.__tablet.state.stock.get('latte').on_hand);
    await a.page.click('[data-action="stocktake"]');
    await a.page.waitForSelector('.count-row[data-sku="latte"]', { timeout: WAIT });
    const shown = await a.page.textContent('.count-rows');
    assert.ok(!new RegExp(`\\b${system}\\b`).test(shown), `system figure ${system} visible while counting: ${shown}`);
    assert.equal(await a.page.$$eval('.count-rows .num', (els) => els.length), 0);
    await a.page.fill('.count-row[data-sku="latte"] input', String(system - 3));
    await shot(a, 'stocktake-count');
    await a.page.click('[data-action="count-submit"]');
    await a.page.click('[data-dialog="confirm"] [data-action="ok"]');
    const cell = '[data-testid="variances"] tr[data-sku="latte"] td:last-child';
    await a.page.waitForSelector(cell, { timeout: WAIT });
    assert.equal(await a.page.textContent(cell), '-3');
    await shot(a, 'stocktake-result');
    await a.page.click('[data-action="count-done"]');
    await until(a, (n) => window.__tablet.state.stock.get('latte').on_hand === n, system - 3);
  });

  it('reconnects by itself and resends a pending command with the same id', async () => {
    const id = second.order_id;
    await inject(node.port, [envelope('order.dispatched', second)]);
    await a.page.click('.tab[data-view="board"]');
    for (const t of [a, b]) await t.page.waitForSelector(card(id), { timeout: WAIT });

    // Freeze the box so the command is sent but never answered, then kill it.
    node.proc.kill('SIGSTOP');
    const sentBefore = a.sent.length;
    await a.page.click(`${card(id)} [data-action="accept"]`);
    await a.page.waitForSelector(`${card(id)} [data-testid="pending"]`, { timeout: WAIT });
    await until(a, () => document.querySelector('#pending-count') && !document.querySelector('#pending-count').hidden);
    const cmd = await a.waitSent((m) => m.type === 'order.accept' && m.order_id === id, sentBefore);
    await stopNode(node.proc, 'SIGKILL');
    // Reconnecting first, then offline after a few refused attempts (backoff).
    for (const t of [a, b]) await t.page.waitForSelector('#conn[data-state="offline"]', { timeout: WAIT });
    await a.page.waitForSelector('#offline-bar:not([hidden])', { timeout: WAIT });
    await shot(a, 'offline-pending');

    // While the tablets wait out their backoff, HQ chases the order: the
    // resume must surface the reminder even though its alert was missed.
    node = await startNode();
    await inject(node.port, [envelope('order.reminded', { order_id: id, n: 1, note: '' })]);
    for (const t of [a, b]) await t.page.click('#offline-bar [data-action="retry"]');
    for (const t of [a, b]) await t.page.waitForSelector('#conn[data-state="connected"]', { timeout: WAIT });
    for (const t of [a, b]) {
      await t.page.waitForSelector(`.toast.sticky.error:has-text("#${id.slice(-4)}")`, { timeout: WAIT });
    }
    for (const t of [a, b]) await t.page.waitForSelector(`${card(id)}[data-status="accepted"]:not(:has([data-testid="pending"]))`, { timeout: WAIT });
    await until(a, () => document.querySelector('#pending-count').hidden);
    const sends = a.sent.filter((s) => s.msg.id === cmd.msg.id);
    assert.ok(sends.length >= 2, 'resent after the reconnect');
    assert.ok(new Set(sends.map((s) => s.socket)).size >= 2, 'on a new socket');
    assert.ok(sends.every((s) => s.msg.type === 'order.accept' && s.msg.order_id === id));
    const syncs = a.sent.filter((s) => s.msg.type === 'sync' && s.socket === sends[sends.length - 1].socket);
    assert.ok(syncs.length === 1 && syncs[0].msg.since > 0, 'resumed with sync since the last feed');
    assert.equal(await a.page.$('body[data-screen="main"]') !== null, true, 'no new login needed');
  });

  it('switches to English, keeps the choice, fits 1024x768, and hides manager views from a clerk', async () => {
    await b.page.click('[data-action="lang"]');
    await b.page.waitForSelector('.tab[data-view="board"]:text("Orders")', { timeout: WAIT });
    await b.page.setViewportSize({ width: 1024, height: 768 });
    await b.page.reload();
    await b.page.waitForSelector('.login-card [data-key="enter"]:text("Sign in")', { timeout: WAIT });
    await login(b, CLERK_PIN);
    await b.page.waitForSelector(`${card(second.order_id)}`, { timeout: WAIT });
    assert.equal(await b.page.$('.tab[data-view="settings"]'), null, 'a clerk has no settings tab');
    assert.match(await b.page.textContent('.staff-chip'), /Wang/);
    const overflow = await b.page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
    assert.equal(overflow, false, 'no horizontal scrolling at 1024x768');
    await shot(b, 'board-en-1024');
    for (const t of [a, b]) {
      assert.deepEqual(await t.page.evaluate(() => import('./i18n.js').then((m) => [...m.missing])), [], 'strings missing from the i18n table');
    }
  });
});
