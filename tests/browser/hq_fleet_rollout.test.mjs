// tests/browser/hq_fleet_rollout.test.mjs - the rollout panel of HQ's
// dashboard (hq/www/rollout.js) in Debian's chromium (playwright-core),
// against a real mosquitto, a real hq with API tokens and fw_pubkey, and
// four real storenodes (their heartbeats carry the versions they run).
//
// Bundles are made and signed with the build's `fw-bundle` (keygen,
// create) and registered over hq's API.  The boxes' update agents are
// played by the test: it publishes their reports on
// retail/v1/stores/<id>/up/update exactly as storenode-update does
// (docs/protocol.md, "Firmware updates"), so every state of a box is
// reached on cue; hq runs the real rollout (fw_rollout_next on its tick)
// and decides which box is offered when.
//
//   rollout A, 1.1.0 to the four stores, stages 25/50/100 %, max_failures 1:
//     box 1 offered -> downloading -> committed; stage 50 %: box 2 offered
//     -> rollback -> failed (one failure: still running); stage 100 %: boxes
//     3 and 4 offered -> halt from the page (a read token first: 403, the
//     page asks for another token) -> halting -> both commit -> halted;
//   rollout B, 1.2.0 to one store: committed -> finished.
// After every step the panel's figures (data-* next to the text) must equal
// both the expected counts and the API's.  Every wait is for a condition
// with a bound; nothing sleeps a fixed time.  Screenshots go to
// $ARTIFACTS_DIR/hq-rollout-*.png.
//
//   HQ_BIN, STORENODE_BIN, FW_BUNDLE_BIN   the binaries (ctest sets them)
//   ARTIFACTS_DIR                         screenshots (default <repo>/build/artifacts)
//   CHROMIUM                              browser (default /usr/bin/chromium)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ARTIFACTS, chromiumMissing, openPage as openBrowserPage } from './lib/browser.mjs';
import { Broker, HqProcess, hqBin, hqSkipReason, mqttPub, waitUntil } from '../integration/lib/hq.mjs';
import { startNode } from '../integration/lib/storenode.mjs';
import * as F from '../../hq/www/format.js';

const WAIT = 20000;

const TOKENS = [
  { token: 'tok-fw-admin-3b9e-77c1d2', scopes: 'admin,read', name: 'release' },
  { token: 'tok-fw-view-8a20-4f6e91', scopes: 'read', name: 'viewer' },
];
const STORES = [
  { id: 's-anfu', name: '安福路店' },
  { id: 's-wukang', name: '武康路店' },
  { id: 's-yuyuan', name: '豫园店' },
  { id: 's-qiantan', name: '前滩店' },
];

// fw-bundle: $FW_BUNDLE_BIN, else next to the hq binary (<build>/hq/hq ->
// <build>/firmware/fw-bundle).
function fwBundleBin() {
  if (process.env.FW_BUNDLE_BIN) return process.env.FW_BUNDLE_BIN;
  try {
    const p = path.join(path.dirname(path.dirname(hqBin())), 'firmware', 'fw-bundle');
    return fs.existsSync(p) ? p : null;
  } catch { return null; }
}

const skip = (() => {
  const why = hqSkipReason();
  if (why) return why;
  if (chromiumMissing()) return chromiumMissing();
  if (!fwBundleBin()) return 'fw-bundle not found: set FW_BUNDLE_BIN';
  return false;
})();

const ctx = { installed: {} };

// ---- bundles and reports -----------------------------------------------------------

function fwBundle(...args) {
  return execFileSync(fwBundleBin(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A signing key and one small signed bundle per version, in dir.
function makeBundles(dir, versions) {
  const key = path.join(dir, 'fw-signing.pem');
  const pub = path.join(dir, 'fw-signing.pub');
  fwBundle('keygen', key, pub);
  const out = {};
  for (const v of versions) {
    const src = path.join(dir, `src-${v}`);
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(src, 'bin', 'storenode'), `#!/bin/sh\necho storenode ${v}\n`, { mode: 0o755 });
    fs.mkdirSync(path.join(src, 'etc'));
    fs.writeFileSync(path.join(src, 'etc', 'update.conf'), `# ${v}\n${'x'.repeat(3000)}\n`);
    out[v] = path.join(dir, `storenode-${v}`);
    fwBundle('create', '--src', src, '--out', out[v], '--version', v, '--min-version', '0.0.0', '--key', key);
  }
  return { pub, dirs: out };
}

// The box's update agent, played: one report, retained like the agent's.
// A commit installs the offered version.
function report(store, fields) {
  if (fields.state === 'committed') ctx.installed[store] = fields.version;
  const r = {
    v: 1, store, offer_id: '', state: 'idle', version: '', installed: ctx.installed[store],
    error: null, detail: '', bytes: 0, total: 0, ts_ms: Date.now(), ...fields,
  };
  return mqttPub(ctx.broker.port, `retail/v1/stores/${store}/up/update`, JSON.stringify(r), { retain: true });
}

const rollout = (id) => ctx.hq.api('GET', `/api/v1/rollouts/${id}`);
const boxOf = (ro, store) => ro.stores.find((b) => b.store === store);

// Wait until hq's rollout satisfies pred; returns it.
function rolloutUntil(id, pred, what) {
  return waitUntil(async () => { const r = await rollout(id); return pred(r) ? r : false; }, what, WAIT);
}

// The boxes hq offered (active, not reported yet) that are not in seen.
const newlyOffered = (ro, seen) => ro.stores.filter((b) => b.state === 'offered' && !seen.has(b.store)).map((b) => b.store);

// ---- the system -----------------------------------------------------------------------

async function startSystem() {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hq-fw-rollout-'));
  ctx.bundles = makeBundles(ctx.dir, ['1.1.0', '1.2.0']);
  ctx.broker = await new Broker().start();
  ctx.hq = await new HqProcess({
    brokerPort: ctx.broker.port,
    tokens: TOKENS,
    config: { fw_pubkey: ctx.bundles.pub, offline_after_s: 120 },
  }).start();
  ctx.nodes = {};
  for (const s of STORES) {
    ctx.nodes[s.id] = await startNode({
      storeId: s.id,
      config: { mqtt_host: '127.0.0.1', mqtt_port: ctx.broker.port, heartbeat_s: 2, mqtt_reconnect_max_s: 1, dev_inject: false },
    });
  }
  // Every store said hello and sent a heartbeat with its version.
  const fleet = await waitUntil(async () => {
    const f = await ctx.hq.api('GET', '/api/v1/views/fleet');
    const by = new Map(f.stores.map((s) => [s.store, s]));
    return STORES.every((s) => by.get(s.id)?.version) ? by : false;
  }, 'every store to report its version in a heartbeat', WAIT);
  for (const s of STORES) {
    await ctx.hq.api('PUT', `/api/v1/stores/${s.id}`, { name: s.name });
    ctx.installed[s.id] = fleet.get(s.id).version;
    ctx.fleetVersion = fleet.get(s.id).version;
  }
  // The agents start idle and say so (the agent reports at start).
  for (const s of STORES) await report(s.id, {});
  for (const v of ['1.1.0', '1.2.0']) {
    const e = await ctx.hq.api('POST', '/api/v1/firmware', { path: ctx.bundles.dirs[v] }, 201);
    assert.equal(e.version, v);
  }
}

// ---- the page --------------------------------------------------------------------------

async function openPage() {
  // The 403 of a halt with the read token is the flow under test, not an error.
  return openBrowserPage(ctx.dir, { viewport: { width: 1440, height: 900 }, expected: /status of 40[13]/ });
}

const shot = (page, name, opts = {}) => page.screenshot({ path: path.join(ARTIFACTS, `hq-rollout-${name}.png`), ...opts });
const card = (id) => `#b-rollouts li.ro[data-rollout="${id}"]`;

// Wait until the rollout's card carries want (data-* values), then check
// those figures against hq's rollout too.  Names: status, percent,
// committed, failed, rollback, active, pending, boxes.
async function cardShows(page, id, want) {
  try {
    await page.waitForFunction(([sel, w]) => {
      const el = document.querySelector(sel);
      return el && Object.entries(w).every(([k, v]) => el.dataset[k] === String(v));
    }, [card(id), want], { timeout: WAIT });
  } catch (e) {
    const seen = await page.evaluate((sel) => ({ ...(document.querySelector(sel)?.dataset || {}) }), card(id));
    throw new Error(`card ${id}: want ${JSON.stringify(want)}, shows ${JSON.stringify(seen)}; hq: ${JSON.stringify(await rollout(id))}`);
  }
  const api = await rollout(id);
  const n = (st, pred = () => true) => api.stores.filter((b) => b.status === st && pred(b)).length;
  const fromApi = {
    status: api.status,
    percent: api.percent,
    committed: n('committed'),
    failed: n('failed'),
    rollback: n('active', (b) => b.state === 'rollback'),
    active: n('active', (b) => b.state !== 'rollback'),
    pending: n('pending'),
    boxes: api.stores.length,
  };
  for (const k of Object.keys(want)) assert.equal(String(fromApi[k]), String(want[k]), `hq's ${k} of ${id}`);
  // The counts' text says the same numbers.
  for (const k of ['committed', 'failed', 'rollback', 'active', 'pending']) {
    if (!(k in want)) continue;
    const txt = await page.textContent(`${card(id)} .ro-counts [data-count="${k}"] b`);
    assert.equal(txt.trim(), F.int(want[k]), `${k} text`);
  }
  return api;
}

// The box's row in the open box table of the rollout.
async function boxShows(page, id, store, want) {
  const sel = `${card(id)} .ro-boxes tr[data-store="${store}"]`;
  try {
    await page.waitForFunction(([s, w]) => {
      const el = document.querySelector(s);
      return el && Object.entries(w).every(([k, v]) => el.dataset[k] === String(v));
    }, [sel, want], { timeout: WAIT });
  } catch (e) {
    const seen = await page.evaluate((s) => ({ ...(document.querySelector(s)?.dataset || {}) }), sel);
    throw new Error(`box ${store} of ${id}: want ${JSON.stringify(want)}, shows ${JSON.stringify(seen)}`);
  }
  return (await page.textContent(sel)).replace(/\s+/g, ' ').trim();
}

// ---- the tests ------------------------------------------------------------------------------

describe('HQ dashboard: the fleet view\'s rollout panel', { skip, timeout: 300000 }, () => {
  let P;

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await startSystem();
  });

  after(async () => {
    if (P) await P.bctx.close().catch(() => {});
    for (const n of Object.values(ctx.nodes || {})) await n.cleanup();
    if (ctx.hq) await ctx.hq.cleanup();
    if (ctx.broker) await ctx.broker.cleanup();
    if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
    if (P) assert.deepEqual(P.errors, [], 'page errors');
  });

  it('lists the registered bundles and the fleet\'s versions, no rollout yet', async () => {
    P = await openPage();
    const { page } = P;
    // A demo-style link with the read-only token (api.js adopts #token=).
    await page.goto(`${ctx.hq.base}/#token=${TOKENS[1].token}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: WAIT });
    const api = await ctx.hq.api('GET', '/api/v1/firmware');
    assert.equal(api.firmware.length, 2);
    for (const b of api.firmware) {
      const row = `#b-bundles tr[data-version="${b.version}"]`;
      await page.waitForSelector(row, { timeout: WAIT });
      assert.equal(await page.getAttribute(row, 'data-size'), String(b.size));
      const txt = (await page.textContent(row)).replace(/\s+/g, ' ');
      assert.ok(txt.includes(F.bytes(b.size)), `size of ${b.version} in "${txt}"`);
    }
    // Newest first.
    const order = await page.$$eval('#b-bundles tr[data-version]', (els) => els.map((e) => e.dataset.version));
    assert.deepEqual(order, ['1.2.0', '1.1.0']);
    await page.waitForSelector(`#b-bundles .fw-versions li[data-version="${ctx.fleetVersion}"][data-stores="${STORES.length}"]`, { timeout: WAIT });
    assert.match(await page.textContent('#b-rollouts'), /还没有发布/);
  });

  it('follows a staged rollout box by box as the reports arrive', async () => {
    const { page } = P;
    const ids = STORES.map((s) => s.id);
    let ro = await ctx.hq.api('POST', '/api/v1/rollouts', { version: '1.1.0', stores: ids, percent_steps: [25, 50, 100], max_failures: 1 }, 201);
    const id = ro.id;
    ctx.rolloutA = id;
    const seen = new Set();

    // Stage 1 (25 %): one box offered.
    const [b1] = newlyOffered(ro, seen);
    assert.ok(b1, `one box offered: ${JSON.stringify(ro.stores)}`);
    seen.add(b1);
    await cardShows(page, id, { status: 'running', percent: 25, committed: 0, failed: 0, rollback: 0, active: 1, pending: 3, boxes: 4 });
    await boxShows(page, id, b1, { status: 'active', state: 'offered', running: ctx.fleetVersion, installed: ctx.installed[b1] });
    const stageText = await page.textContent(`${card(id)} .ro-stage`);
    assert.match(stageText, /第 1\/3 阶段 · 25%/);
    assert.match(await page.textContent(`${card(id)} .ro-threshold`), /超过 1 台失败即停止/);
    assert.equal(await page.getAttribute(`${card(id)} .ro-steps [aria-current="step"]`, 'aria-current'), 'step');
    assert.equal(await page.textContent(`${card(id)} .ro-steps [aria-current="step"]`), '25%');
    const bar = `${card(id)} [role="progressbar"]`;
    assert.equal(await page.getAttribute(bar, 'aria-valuemax'), '4');

    await report(b1, { offer_id: id, state: 'downloading', version: '1.1.0', bytes: 4096, total: 10240 });
    const row = await boxShows(page, id, b1, { status: 'active', state: 'downloading' });
    assert.ok(row.includes(`40% · ${F.bytes(4096)} / ${F.bytes(10240)}`), row);
    await shot(page, 'downloading');

    // Committed: the stage is over, hq offers the 50 % stage's second box.
    await report(b1, { offer_id: id, state: 'committed', version: '1.1.0' });
    ro = await rolloutUntil(id, (r) => r.percent === 50 && newlyOffered(r, seen).length === 1, 'the 50 % stage to offer a second box');
    const [b2] = newlyOffered(ro, seen);
    seen.add(b2);
    await cardShows(page, id, { status: 'running', percent: 50, committed: 1, active: 1, pending: 2, failed: 0 });
    await boxShows(page, id, b1, { status: 'committed', state: 'committed', installed: '1.1.0' });
    assert.equal(await page.getAttribute(bar, 'aria-valuenow'), '1');

    // The second box fails its health check and rolls back: one failure, under the threshold.
    await report(b2, { offer_id: id, state: 'health_check', version: '1.1.0' });
    await report(b2, { offer_id: id, state: 'rollback', version: '1.1.0', error: 'health', detail: 'storenode did not answer /healthz' });
    await cardShows(page, id, { status: 'running', rollback: 1, active: 0, committed: 1, pending: 2 });
    const failing = await boxShows(page, id, b2, { status: 'active', state: 'rollback' });
    assert.match(failing, /回滚中/);
    assert.match(failing, /health/);
    await report(b2, { offer_id: id, state: 'failed', version: '1.1.0', error: 'health', detail: 'storenode did not answer /healthz' });

    // Stage 3 (100 %): the last two boxes.
    ro = await rolloutUntil(id, (r) => r.percent === 100 && newlyOffered(r, seen).length === 2, 'the 100 % stage to offer the last two boxes');
    const rest = newlyOffered(ro, seen);
    await cardShows(page, id, { status: 'running', percent: 100, committed: 1, failed: 1, rollback: 0, active: 2, pending: 0 });
    assert.match(await page.textContent(`${card(id)} .ro-threshold`), /已失败 1/);
    await boxShows(page, id, b2, { status: 'failed', state: 'failed' });
    await report(rest[0], { offer_id: id, state: 'downloading', version: '1.1.0', bytes: 1024, total: 10240 });
    await boxShows(page, id, rest[0], { state: 'downloading' });
    ctx.rest = rest;
    await shot(page, 'running');
    await page.locator('#p-rollout').screenshot({ path: path.join(ARTIFACTS, 'hq-rollout-panel.png') });
  });

  it('halts from the page, once signed in with the admin scope', async () => {
    const { page } = P;
    const id = ctx.rolloutA;
    const halt = `${card(id)} [data-action="halt"]`;
    assert.match(await page.getAttribute(halt, 'aria-label'), /1\.1\.0/);
    // The viewer's token may read but not halt: 403, the error, and the page asks for another token.
    await page.click(halt);
    await page.waitForSelector('.dialog[data-dialog="halt"]', { timeout: WAIT });
    await page.click('[data-action="confirm-halt"]');
    await page.waitForSelector('.toast.error', { timeout: WAIT });
    assert.match(await page.textContent('.toast.error'), /停止失败/);
    await page.waitForSelector('.dialog[data-dialog="login"] [data-testid="login-error"]', { timeout: WAIT });
    assert.equal((await rollout(id)).status, 'running', 'the read token halted nothing');
    await page.fill('.dialog input[name="token"]', TOKENS[0].token);
    await page.click('.dialog [type="submit"]');
    await page.waitForSelector('.dialog', { state: 'detached', timeout: WAIT });

    await page.click(halt);
    await page.waitForSelector('.dialog[data-dialog="halt"]', { timeout: WAIT });
    await shot(page, 'halt');
    await page.click('[data-action="confirm-halt"]');
    await page.waitForSelector('.toast.ok', { timeout: WAIT });
    // Two boxes are still updating: halting until they are at rest.
    await cardShows(page, id, { status: 'halting', active: 2 });
    await page.waitForSelector(halt, { state: 'detached', timeout: WAIT });
    for (const s of ctx.rest) await report(s, { offer_id: id, state: 'committed', version: '1.1.0' });
    await cardShows(page, id, { status: 'halted', committed: 3, failed: 1, rollback: 0, active: 0, pending: 0 });
    const api = await rollout(id);
    assert.equal(api.status, 'halted');
    assert.match(api.reason, /operator/);
    assert.match(await page.textContent(`${card(id)} [data-testid="rollout-status"]`), /已停止/);
    assert.match(await page.textContent(`${card(id)} .ro-reason`), /由操作员停止/);
  });

  it('shows a finished rollout first, in both languages', async () => {
    const { page } = P;
    const target = STORES[0].id;
    const inA = boxOf(await rollout(ctx.rolloutA), target).status; // committed or failed
    const ro = await ctx.hq.api('POST', '/api/v1/rollouts', { version: '1.2.0', stores: [target], percent: 100, max_failures: 0 }, 201);
    assert.equal(boxOf(ro, target).state, 'offered');
    await cardShows(page, ro.id, { status: 'running', percent: 100, active: 1, boxes: 1 });
    await report(target, { offer_id: ro.id, state: 'committed', version: '1.2.0' });
    await cardShows(page, ro.id, { status: 'done', committed: 1, active: 0, failed: 0 });
    assert.match(await page.textContent(`${card(ro.id)} [data-testid="rollout-status"]`), /已完成/);
    // The older rollout still shows what it did, not the box's newer offer.
    await cardShows(page, ctx.rolloutA, { status: 'halted', committed: 3, failed: 1, active: 0, pending: 0 });
    assert.equal(boxOf(await rollout(ctx.rolloutA), target).status, inA);
    assert.match(await page.textContent(`${card(ro.id)} .ro-threshold`), /首台失败即停止/);
    // Newest first; the newest one's boxes are open, the other's closed until asked.
    const order = await page.$$eval('#b-rollouts li.ro', (els) => els.map((e) => e.dataset.rollout));
    assert.deepEqual(order, [ro.id, ctx.rolloutA]);
    await boxShows(page, ro.id, target, { status: 'committed', installed: '1.2.0', running: ctx.fleetVersion });
    assert.equal(await page.$(`${card(ctx.rolloutA)} .ro-boxes`), null);
    await page.click(`${card(ctx.rolloutA)} [data-action="boxes"]`);
    await page.waitForSelector(`${card(ctx.rolloutA)} [data-action="boxes"][aria-expanded="true"]`, { timeout: WAIT });
    await boxShows(page, ctx.rolloutA, STORES[1].id, { running: ctx.fleetVersion });
    assert.equal(await page.$(`${card(ro.id)} .ro-boxes`), null);
    // The store filter narrows the box list to that store.
    const rows = `${card(ctx.rolloutA)} .ro-boxes tr[data-store]`;
    await page.selectOption('#store-filter', STORES[2].id);
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, rows, { timeout: WAIT });
    assert.equal(await page.getAttribute(rows, 'data-store'), STORES[2].id);
    await page.selectOption('#store-filter', '');
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 4, rows, { timeout: WAIT });
    await page.locator('#p-rollout').scrollIntoViewIfNeeded();
    await shot(page, 'zh');

    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('h1').textContent === 'HQ operations', null, { timeout: WAIT });
    await page.waitForFunction((sel) => /Finished/.test(document.querySelector(sel)?.textContent || ''), `${card(ro.id)} [data-testid="rollout-status"]`, { timeout: WAIT });
    assert.match(await page.textContent(`${card(ctx.rolloutA)} [data-testid="rollout-status"]`), /Halted/);
    assert.match(await page.textContent('#p-rollout h2'), /Firmware rollouts/);
    assert.deepEqual(await page.evaluate(() => [...window.__hq.missing]), [], 'i18n keys missing');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('#p-rollout').scrollIntoViewIfNeeded();
    const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px at 1280`);
    await shot(page, 'en-1280');
    await page.locator('#p-rollout').screenshot({ path: path.join(ARTIFACTS, 'hq-rollout-panel-en.png') });
  });
});
