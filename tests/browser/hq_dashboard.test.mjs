// tests/browser/hq_dashboard.test.mjs - HQ's dashboard (hq/www, served by
// the real hq) in Debian's chromium (playwright-core), against the whole
// system: a real mosquitto, a real hq with API tokens, three real
// storenodes replicating over MQTT with their staff working orders on
// tablets (WebSocket clients), and two more stores whose day is replayed
// through the broker exactly as a box sends its outbox (hq_history.mjs), so
// the hourly and SLA charts have a day of data.  A cancellation that meets a
// handoff across a broker outage makes a real conflict, resolved from the
// page.
//
// The numbers on the page are checked against the JSON views
// (/api/v1/views/*), formatted with the page's own format.js.  Every wait is
// for a condition with a bound; nothing sleeps a fixed time.  Screenshots go
// to $ARTIFACTS_DIR/hq-*.png.
//
//   HQ_BIN, STORENODE_BIN   the binaries (ctest sets them)
//   ARTIFACTS_DIR           where the screenshots go (default <repo>/build/artifacts)
//   CHROMIUM                browser (default /usr/bin/chromium)
//   HQ_TEST_SEED            seed of the replayed history (printed)
//
// HQ's time zone is chosen so that it is 20:xx there now: the replayed
// day (from 07:00) always has the same shape, whenever the test runs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { ARTIFACTS, chromiumMissing, openPage as openBrowserPage } from './lib/browser.mjs';
import { Broker, HqProcess, hqSkipReason, mqttPub, waitUntil } from '../integration/lib/hq.mjs';
import { startNode, STAFF } from '../integration/lib/storenode.mjs';
import { TABLE, LANGS } from '../../hq/www/i18n.js';
import * as F from '../../hq/www/format.js';
import { ReplayStore, dayOfOrders, stockDay } from './hq_history.mjs';

const SEED = Number(process.env.HQ_TEST_SEED || 20261121);
const WAIT = 20000;

const TOKENS = [
  { token: 'tok-ops-7f3a-5d21c8e0', scopes: 'orders,rider,admin,read', name: 'ops' },
  { token: 'tok-view-51c9-a0b4e7d2', scopes: 'read', name: 'viewer' },
];

const ITEMS = [
  { sku: 'latte', name: '生椰拿铁', name_en: 'Coconut latte', price: 1900, low: 8, receive: 40 },
  { sku: 'americano', name: '美式咖啡', name_en: 'Americano', price: 1500, low: 8, receive: 30 },
  { sku: 'mocha', name: '摩卡', name_en: 'Mocha', price: 2100, low: 6, receive: 7 },
  { sku: 'croissant', name: '可颂', name_en: 'Croissant', price: 1200, low: 5, receive: 12 },
];

// Three live stores (storenode processes) and two replayed ones.
const LIVE = [
  { id: 's-jingan', name: '静安寺店', lat: 31.2235, lon: 121.4453 },
  { id: 's-xujiahui', name: '徐家汇店', lat: 31.1955, lon: 121.4371 },
  { id: 's-lujiazui', name: '陆家嘴店', lat: 31.2397, lon: 121.4998 },
];
const REPLAYED = [
  { id: 's-hongqiao', name: '虹桥店', profile: { scale: 2.2, accept: [15, 75], prep: [150, 420], wait: [30, 150] } },
  { id: 's-wujiaochang', name: '五角场店', profile: { scale: 1.6, accept: [40, 260], prep: [300, 840], wait: [90, 420] }, offline: true },
];

const skip = (() => {
  const why = hqSkipReason();
  if (why) return why;
  return chromiumMissing();
})();

// It is 20:xx in HQ's zone now (whole hours, -12..+11).
function tzFor(now) {
  const utcHour = new Date(now).getUTCHours();
  let off = (20 - utcHour) % 24;
  if (off > 11) off -= 24;
  if (off < -12) off += 24;
  return off * 60;
}

const ctx = {};

async function view(name, store) {
  return ctx.hq.api('GET', `/api/v1/views/${name}${store ? `?store=${store}` : ''}`);
}

// ---- the system ---------------------------------------------------------------------

async function startSystem() {
  const now = Date.now();
  ctx.tz = tzFor(now);
  ctx.broker = await new Broker().start();
  ctx.hq = await new HqProcess({
    brokerPort: ctx.broker.port,
    tokens: TOKENS,
    config: { tz_offset_min: ctx.tz, offline_after_s: 120 },
  }).start();
  ctx.nodes = {};
  for (const s of LIVE) {
    ctx.nodes[s.id] = await startNode({
      storeId: s.id,
      config: {
        mqtt_host: '127.0.0.1', mqtt_port: ctx.broker.port, heartbeat_s: 2, mqtt_reconnect_max_s: 1,
        dev_inject: false,
      },
    });
  }
  await waitUntil(async () => {
    const r = await ctx.hq.http('GET', '/api/v1/stores');
    const ids = new Set((r.json?.stores || []).map((s) => s.store_id));
    return LIVE.every((s) => ids.has(s.id));
  }, 'the live stores to say hello to HQ', WAIT);
}

async function replayHistory() {
  const now = Date.now();
  const off = ctx.tz * 60000;
  const dayStart = Math.floor((now + off) / 86400000) * 86400000 - off;
  ctx.replayed = {};
  for (const [i, r] of REPLAYED.entries()) {
    const st = new ReplayStore(r.id);
    stockDay(st, { dayStart, items: ITEMS, soldOut: r.offline ? 'mocha' : null });
    dayOfOrders(st, { seed: SEED + i, now, dayStart, profile: { ...r.profile, items: ITEMS } });
    for (const b of st.batches()) await mqttPub(ctx.broker.port, `retail/v1/stores/${r.id}/up/events`, b);
    ctx.replayed[r.id] = st;
  }
  await waitUntil(async () => {
    const f = await view('fleet');
    return REPLAYED.every((r) => f.stores.some((s) => s.store === r.id && s.up_seq === ctx.replayed[r.id].seq));
  }, 'HQ to apply the replayed days', WAIT);
}

async function replayedHeartbeats() {
  for (const r of REPLAYED) {
    const st = ctx.replayed[r.id];
    const base = `retail/v1/stores/${r.id}/up`;
    await mqttPub(ctx.broker.port, `${base}/heartbeat`, st.heartbeat(Date.now(), { outbox: r.offline ? 14 : 0, version: r.offline ? '0.0.9' : '0.1.0' }));
    await mqttPub(ctx.broker.port, `${base}/status`, r.offline ? 'offline' : 'online', { retain: true });
  }
}

async function setupStores() {
  for (const s of LIVE) {
    await ctx.hq.api('PUT', `/api/v1/stores/${s.id}`, { name: s.name, location: { lat: s.lat, lon: s.lon }, target_accept_s: 90 });
  }
  for (const r of REPLAYED) await ctx.hq.api('PUT', `/api/v1/stores/${r.id}`, { name: r.name, target_accept_s: 90 });
  for (const it of ITEMS) {
    await ctx.hq.api('PUT', `/api/v1/catalog/${it.sku}`, {
      name: it.name, name_en: it.name_en, price: it.price, low_threshold: it.low, active: true,
    });
  }
  ctx.tabs = {};
  for (const s of LIVE) {
    const tab = await ctx.nodes[s.id].loggedIn(STAFF[0], `hq-test-${s.id}`);
    ctx.tabs[s.id] = tab;
    for (const it of ITEMS) {
      const qty = s.id === 's-xujiahui' && it.sku === 'mocha' ? 3 : it.receive;
      await tab.ok('stock.receive', { sku: it.sku, qty });
    }
  }
}

let orderN = 0;
async function order(body) {
  const key = `dash-${process.pid}-${++orderN}`;
  return ctx.hq.order(key, { items: [{ sku: 'latte', qty: 1 }], customer: '陈女士', phone_tail: '0921', ...body });
}

// Wait until the store's tablet has the order (it came down from HQ).
async function reachesTablet(storeId, orderId) {
  const tab = ctx.tabs[storeId];
  await tab.waitFor((m) => JSON.stringify(m).includes(orderId), { what: `order ${orderId} on ${storeId}`, ms: WAIT });
}

async function work(storeId, o, steps) {
  const tab = ctx.tabs[storeId];
  await reachesTablet(storeId, o.order_id);
  for (const s of steps) {
    const fields = { order_id: o.order_id };
    if (s === 'order.complete' || s === 'order.handoff') fields.code = o.pickup_code;
    await tab.ok(s, fields);
  }
}

const FULL = ['order.accept', 'order.prepare', 'order.ready'];

async function liveOrders() {
  const made = [];
  // Pickup at each store, worked to the end; one left preparing; deliveries routed by location.
  for (const s of LIVE) {
    const a = await order({ kind: 'pickup', store_id: s.id, items: [{ sku: 'latte', qty: 2 }, { sku: 'croissant', qty: 1 }] });
    await work(s.id, a, [...FULL, 'order.complete']);
    const b = await order({ kind: 'pickup', store_id: s.id, items: [{ sku: 'americano', qty: 1 }] });
    await work(s.id, b, ['order.accept', 'order.prepare']);
    made.push(a, b);
  }
  const d = await order({ kind: 'delivery', location: { lat: 31.2230, lon: 121.4460 }, items: [{ sku: 'mocha', qty: 2 }] });
  assert.equal(d.store_id, 's-jingan', 'the nearest store with stock gets the delivery');
  await ctx.hq.api('POST', `/api/v1/orders/${d.order_id}/rider`, { event: 'assigned', name: '刘师傅', phone_tail: '5521', eta_ms: Date.now() + 6 * 60000 });
  await work(d.store_id, d, FULL);
  await ctx.hq.api('POST', `/api/v1/orders/${d.order_id}/rider`, { event: 'arrived' });
  await ctx.tabs[d.store_id].ok('order.handoff', { order_id: d.order_id, code: d.pickup_code });
  made.push(d);
  ctx.waiting = await order({ kind: 'pickup', store_id: 's-lujiazui', items: [{ sku: 'mocha', qty: 1 }] });
  await reachesTablet('s-lujiazui', ctx.waiting.order_id);
  return made;
}

// The customer cancels at HQ while the store, cut off by a broker outage,
// hands the order over: both are facts, and HQ keeps the conflict.
async function conflict() {
  const c = await order({ kind: 'pickup', store_id: 's-xujiahui', items: [{ sku: 'latte', qty: 1 }, { sku: 'mocha', qty: 1 }] });
  await work('s-xujiahui', c, FULL);
  await waitUntil(async () => (await ctx.hq.api('GET', `/api/v1/orders/${c.order_id}`)).status === 'ready',
    'HQ to see the order ready', WAIT);
  await ctx.broker.stop();
  await ctx.tabs['s-xujiahui'].ok('order.complete', { order_id: c.order_id, code: c.pickup_code });
  await ctx.hq.api('POST', `/api/v1/orders/${c.order_id}/cancel`, { by: 'customer', reason: '顾客改约，要求取消' });
  await ctx.broker.start(ctx.broker.port);
  await waitUntil(async () => (await view('conflicts')).items.some((x) => x.order_id === c.order_id),
    'HQ to record the conflict after the broker is back', 40000);
  ctx.conflict = c;
}

async function caughtUp() {
  for (const s of LIVE) await ctx.hq.caughtUp(ctx.nodes[s.id]);
  await replayedHeartbeats();
  await waitUntil(async () => {
    const f = await view('fleet');
    const st = Object.fromEntries(f.stores.map((s) => [s.store, s.state]));
    return LIVE.every((s) => st[s.id] === 'ok') && st['s-hongqiao'] === 'ok' && st['s-wujiaochang'] === 'offline';
  }, 'every store in its expected fleet state', WAIT);
}

// ---- the page ---------------------------------------------------------------------------

async function openPage(viewport) {
  // 401/403 answers before the token is entered are the login flow, not errors.
  return openBrowserPage(ctx.hq.dir, { viewport, expected: /status of 40[13]/ });
}

const shot = (page, name, fullPage = false) => page.screenshot({ path: path.join(ARTIFACTS, `hq-${name}.png`), fullPage });

// Wait for a poll that started after now (so the page shows fresh data).
async function freshPoll(page) {
  const n = await page.evaluate(() => window.__hq.state.polls);
  await page.waitForFunction((k) => window.__hq.state.polls >= k + 2, n, { timeout: WAIT });
}

async function text(page, sel) {
  return (await page.textContent(sel)).replace(/\s+/g, ' ').trim();
}

// Every figure on the page equals the API's, formatted by format.js.
async function assertMatchesApi(page, store = '') {
  await freshPoll(page);
  const shown = await page.evaluate(() => window.__hq.state.views);
  const api = {};
  for (const v of ['summary', 'hourly', 'sla', 'stock', 'fleet', 'conflicts']) api[v] = await view(v, store);
  // Stable figures are identical (fleet ages and lags move with the clock).
  assert.deepEqual(shown.summary.chain, api.summary.chain);
  assert.deepEqual(shown.hourly.orders, api.hourly.orders);
  assert.deepEqual(shown.hourly.sales, api.hourly.sales);
  assert.deepEqual(shown.sla.stores, api.sla.stores);
  assert.deepEqual(shown.stock.skus, api.stock.skus);
  assert.deepEqual(shown.conflicts.items, api.conflicts.items);
  const c = api.summary.chain;
  assert.equal(await text(page, '[data-kpi="sales"] .value'), F.money(c.sales));
  assert.equal(await text(page, '[data-kpi="orders"] .value'), F.int(c.orders));
  assert.equal(await text(page, '[data-kpi="open"] .value'), F.int(c.open));
  assert.equal(await text(page, '[data-kpi="conflicts"] .value'), F.int(api.conflicts.total));
  const online = api.fleet.stores_total - api.fleet.by_state.offline;
  assert.equal(await text(page, '[data-kpi="online"] .value'), `${online} / ${api.fleet.stores_total}`);
  for (const [s, n] of Object.entries(c.by_status)) {
    assert.equal(await page.getAttribute(`#b-status [data-status="${s}"]`, 'data-value'), String(n), `status ${s}`);
  }
  for (const s of api.summary.stores) {
    const row = `#b-stores tr[data-store="${s.store}"]`;
    assert.match(await text(page, row), new RegExp(F.money(s.sales).replace(/[.$]/g, '\\$&')), `sales of ${s.store}`);
    assert.equal(await page.getAttribute(row, 'data-orders'), String(s.orders));
  }
  for (const s of api.sla.stores) {
    for (const m of ['accept', 'prep', 'rider_wait', 'total']) {
      const cell = `#b-sla td[data-store="${s.store}"][data-metric="${m}"]`;
      if (!s[m].n) continue;
      assert.equal(await text(page, `${cell} .p90`), F.dur(s[m].p90), `${s.store} ${m} p90`);
      assert.equal(await page.getAttribute(cell, 'data-p99'), String(s[m].p99));
    }
  }
  for (const k of api.stock.skus) {
    assert.equal(await page.getAttribute(`#b-stock tr[data-sku="${k.sku}"]`, 'data-available'), String(k.available));
    for (const cell of k.cells.filter((x) => x.tracked)) {
      const sel = `#b-stock tr[data-sku="${k.sku}"] td[data-store="${cell.store}"]`;
      assert.equal(await text(page, `${sel} .avail`), F.int(cell.available), `${k.sku}@${cell.store}`);
    }
  }
  for (const s of api.fleet.stores) {
    assert.equal(await page.getAttribute(`#b-fleet tr[data-store="${s.store}"]`, 'data-state'), s.state);
  }
  for (const x of api.conflicts.items) {
    assert.match(await text(page, `#b-conflicts li[data-order="${x.order_id}"]`), new RegExp(F.money(x.total).replace(/[.$]/g, '\\$&')));
  }
  return api;
}

// ---- the tests ----------------------------------------------------------------------------

describe('HQ dashboard i18n', () => {
  it('has both languages for every key, with the same placeholders', () => {
    for (const [k, row] of Object.entries(TABLE)) {
      assert.equal(row.length, LANGS.length, k);
      for (const s of row) assert.ok(typeof s === 'string' && s.length > 0, k);
      const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
      assert.equal(ph(row[0]), ph(row[1]), `placeholders of ${k}`);
    }
  });
});

describe('HQ dashboard against the running system', { skip, timeout: 300000 }, () => {
  let pageA;

  before(async () => {
    console.log(`# history seed ${SEED} (HQ_TEST_SEED to repeat)`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await startSystem();
    await replayHistory();
    await setupStores();
    await liveOrders();
    await conflict();
    await caughtUp();
  });

  after(async () => {
    if (pageA) await pageA.bctx.close().catch(() => {});
    for (const t of Object.values(ctx.tabs || {})) t.terminate();
    for (const n of Object.values(ctx.nodes || {})) await n.cleanup();
    if (ctx.hq) await ctx.hq.cleanup();
    if (ctx.broker) await ctx.broker.cleanup();
    if (pageA) assert.deepEqual(pageA.errors, [], 'page errors');
  });

  it('asks for a token, refuses a wrong one, then shows the chain', async () => {
    pageA = await openPage({ width: 1440, height: 900 });
    const { page } = pageA;
    await page.goto(`${ctx.hq.base}/`);
    await page.waitForSelector('.dialog[data-dialog="login"]', { timeout: WAIT });
    assert.equal(await page.getAttribute('body', 'data-ready'), '0', 'no figures before the login');
    await page.fill('.dialog input[name="token"]', 'not-a-token');
    await page.click('.dialog [type="submit"]');
    await page.waitForSelector('[data-testid="login-error"]', { timeout: WAIT });
    await shot(page, 'login');
    await page.fill('.dialog input[name="token"]', TOKENS[1].token); // read only
    await page.click('.dialog [type="submit"]');
    await page.waitForSelector('body[data-ready="1"]', { timeout: WAIT });
    assert.equal(await text(page, 'h1'), '总部运营看板', 'Chinese first');
    assert.match(await text(page, '#live'), /实时/);
  });

  it('shows the same figures as the API, live', async () => {
    const { page } = pageA;
    const api = await assertMatchesApi(page);
    fs.writeFileSync(path.join(ARTIFACTS, 'hq-views.json'), `${JSON.stringify(api, null, 1)}\n`);
    assert.equal(api.fleet.stores_total, LIVE.length + REPLAYED.length);
    assert.ok(api.summary.chain.orders > 60, `a day of orders (${api.summary.chain.orders})`);
    assert.ok(api.sla.stores.length >= 4);
    assert.equal(api.conflicts.total, 1);
    await page.waitForSelector('[data-banner="conflicts"]');
    // Charts drew: one canvas each, sized to their panels.
    for (const id of ['#c-hourly', '#c-sla', '#c-fleet']) {
      const w = await page.$eval(`${id} canvas`, (c) => c.getBoundingClientRect().width);
      assert.ok(w > 200, `${id} canvas width ${w}`);
    }
    // A new order appears within a couple of polls, without a reload.
    const before = api.summary.chain.orders;
    const o = await order({ kind: 'pickup', store_id: 's-jingan' });
    await page.waitForFunction((n) => document.querySelector('[data-kpi="orders"]').dataset.value === String(n), before + 1, { timeout: WAIT });
    await reachesTablet('s-jingan', o.order_id);
    await shot(page, 'overview');
    await shot(page, 'full', true);
  });

  it('narrows every view to one store', async () => {
    const { page } = pageA;
    await page.selectOption('#store-filter', 's-hongqiao');
    await page.waitForFunction(() => window.__hq.state.views.summary.window.store === 's-hongqiao', null, { timeout: WAIT });
    const api = await assertMatchesApi(page, 's-hongqiao');
    assert.equal(api.summary.stores.length, 1);
    await shot(page, 'store');
    await page.selectOption('#store-filter', '');
    await page.waitForFunction(() => window.__hq.state.views.summary.window.store === null, null, { timeout: WAIT });
  });

  it('switches the SLA chart between the four measures', async () => {
    const { page } = pageA;
    for (const m of ['accept', 'prep', 'rider_wait', 'total']) {
      await page.click(`#sla-tabs [data-metric="${m}"]`);
      await page.waitForSelector(`#sla-tabs .tab.sel[data-metric="${m}"]`, { timeout: WAIT });
    }
    // Worst first: the first row has the highest p90 total.
    const p90s = await page.$$eval('#b-sla tbody tr:not(.chain) td[data-metric="total"]', (els) => els.map((e) => Number(e.dataset.p90 || 0)));
    assert.deepEqual(p90s, [...p90s].sort((a, b) => b - a));
  });

  it('resolves the conflict with a refund, once signed in with the admin scope', async () => {
    const { page } = pageA;
    const id = ctx.conflict.order_id;
    const resolve = async () => {
      await page.click(`#b-conflicts li[data-order="${id}"] [data-action="resolve"]`);
      await page.waitForSelector('[data-dialog="resolve"]', { timeout: WAIT });
      await page.fill('.dialog textarea[name="note"]', '已电话联系顾客，全额退款');
    };
    // The viewer's token may read but not resolve: the page asks for another.
    await resolve();
    await page.click('[data-action="confirm-resolve"]');
    await page.waitForSelector('.dialog[data-dialog="login"] [data-testid="login-error"]', { timeout: WAIT });
    await page.fill('.dialog input[name="token"]', TOKENS[0].token);
    await page.click('.dialog [type="submit"]');
    await page.waitForSelector('.dialog', { state: 'detached', timeout: WAIT });
    assert.equal((await view('conflicts')).total, 1, 'nothing was resolved with the read token');
    await resolve();
    await shot(page, 'resolve');
    await page.click('[data-action="confirm-resolve"]');
    await page.waitForSelector('.toast.ok', { timeout: WAIT });
    await page.waitForSelector(`#b-conflicts li[data-order="${id}"]`, { state: 'detached', timeout: WAIT });
    await page.waitForSelector('[data-kpi="conflicts"][data-value="0"]', { timeout: WAIT });
    const o = await ctx.hq.api('GET', `/api/v1/orders/${id}`);
    assert.equal(o.resolution.resolution, 'refund');
    assert.equal((await view('conflicts')).total, 0);
  });

  it('speaks English on request and fits 1280x800', async () => {
    const { page } = pageA;
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'HQ operations', null, { timeout: WAIT });
    await freshPoll(page);
    assert.deepEqual(await page.evaluate(() => [...window.__hq.missing]), [], 'i18n keys missing');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await freshPoll(page);
    const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px at 1280`);
    await shot(page, 'en-1280');
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('h1').textContent === '总部运营看板', null, { timeout: WAIT });
    await freshPoll(page);
    await shot(page, 'zh-1280');
  });
});
