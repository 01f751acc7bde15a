// tests/demo/rollout.mjs - ctest demo_rollout: signed updates in the demo,
// driven the way a person does (docs/demo.md, "Firmware and updates").
//
//   1. `scripts/demo --no-sim --all-day` in a new temporary folder, run in the
//      background until its banner is out (every box on the build's version
//      from slot a);
//   2. `scripts/demo rollout`: exit 0; every box committed the new version,
//      runs it from slot b (/healthz `version`, `build` the compiled one) and
//      says so in its report; hq's rollout is done with all boxes committed;
//   3. `scripts/demo rollout --bad` (its storenode exits at once): exit 3;
//      hq halted the rollout; exactly one box was offered it, failed its
//      health check and rolled back by itself (running the previous version
//      from slot b again); the others were never offered it;
//   4. SIGTERM to the demo: every process stops with status 0.
// The binaries come from the environment ctest sets (HQ_BIN, STORENODE_BIN,
// PROV_AGENT_BIN, UPDATE_AGENT_BIN, FW_BUNDLE_BIN); the agents' health
// deadline is 5 s (RETAIL_DEMO_HEALTH_DEADLINE_S).  Every wait is bounded.
// Exit 0 passed, 1 failed (the folder is kept and named), 77 skipped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from '../integration/lib/proc.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = path.join(REPO, 'scripts', 'demo');

function which(name, extra = []) {
  for (const d of [...(process.env.PATH || '').split(':'), ...extra]) {
    const p = path.join(d, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

function skipReason() {
  if (!process.env.HQ_BIN || !process.env.STORENODE_BIN) return 'HQ_BIN and STORENODE_BIN are not set';
  if (!(process.env.MOSQUITTO_BIN || which('mosquitto', ['/usr/sbin']))) return 'mosquitto not found';
  if (!fs.existsSync(path.join(REPO, 'tests/integration/node_modules/ws/package.json'))) return 'the ws package is missing';
  return null;
}

const say = (m) => process.stdout.write(`[demo_rollout] ${m}\n`);

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); })])
    .finally(() => clearTimeout(t));
}

// `scripts/demo ARGS` to the end: {code, out}.
function demoCmd(env, args, ms) {
  return new Promise((resolve) => {
    execFile(DEMO, args, { env, timeout: ms, cwd: REPO, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

async function healthz(port) {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
  return res.json();
}

async function api(demo, p) {
  const res = await fetch(demo.hq.api + p, {
    headers: { authorization: `Bearer ${demo.tokens.admin.token}` }, signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, `GET ${p}`);
  return res.json();
}

const slotOf = (store) => fs.readlinkSync(path.join(store.box.fw_root, 'current'));
const reportOf = (store) => JSON.parse(fs.readFileSync(path.join(store.box.spool, 'report.json'), 'utf8'));
const rolloutId = (out) => (/rollout (ro-[0-9-]+):/.exec(out) || [])[1];

async function scenario(env, demoProc) {
  const demo = JSON.parse(fs.readFileSync(path.join(env.RETAIL_DEMO_DIR, 'demo.json'), 'utf8'));
  const base = demo.firmware.base_version;
  for (const s of demo.stores) {
    const h = await healthz(s.port);
    assert.deepEqual([h.version, h.build, slotOf(s)], [base, base, 'slots/a'], `${s.id} at start`);
  }

  // A good update: every box commits it.
  let t0 = Date.now();
  const good = await demoCmd(env, ['rollout'], 120000);
  say(`rollout: exit ${good.code} in ${Date.now() - t0} ms\n${good.out}`);
  assert.equal(good.code, 0, 'scripts/demo rollout');
  const version = (/done: \d+ of \d+ boxes run (\S+)/.exec(good.out) || [])[1];
  assert.ok(version && version !== base, `a new version (${version})`);
  const goodRo = await api(demo, `rollouts/${rolloutId(good.out)}`);
  assert.equal(goodRo.status, 'done');
  for (const s of demo.stores) {
    const h = await healthz(s.port);
    assert.deepEqual([h.version, h.build, slotOf(s)], [version, base, 'slots/b'], `${s.id} after the update`);
    const b = goodRo.stores.find((x) => x.store === s.id);
    assert.deepEqual([b.status, b.state, b.installed], ['committed', 'committed', version], `${s.id} at hq`);
    const r = reportOf(s);
    assert.deepEqual([r.state, r.installed, r.offer_id], ['committed', version, goodRo.id], `${s.id} report`);
  }

  // A bad one: the first box rolls back by itself, the rollout halts.
  t0 = Date.now();
  const bad = await demoCmd(env, ['rollout', '--bad'], 120000);
  say(`rollout --bad: exit ${bad.code} in ${Date.now() - t0} ms\n${bad.out}`);
  assert.equal(bad.code, 3, 'scripts/demo rollout --bad ends halted');
  const badRo = await api(demo, `rollouts/${rolloutId(bad.out)}`);
  assert.equal(badRo.status, 'halted');
  const failed = badRo.stores.filter((b) => b.status === 'failed');
  assert.equal(failed.length, 1, JSON.stringify(badRo.stores));
  for (const b of badRo.stores) {
    const s = demo.stores.find((x) => x.id === b.store);
    const h = await healthz(s.port);
    assert.deepEqual([h.version, slotOf(s)], [version, 'slots/b'], `${s.id} runs the previous version`);
    const r = reportOf(s);
    if (b.status === 'failed') {
      assert.deepEqual([b.state, b.installed], ['failed', version], `${s.id} at hq`);
      assert.deepEqual([r.offer_id, r.state, r.installed, r.error], [badRo.id, 'failed', version, 'health']);
      assert.match(r.detail, new RegExp(`rolled back to ${version.replace(/\./g, '\\.')}`));
    } else {
      assert.deepEqual([b.status, b.state], ['pending', 'pending'], `${s.id} never offered`);
      assert.equal(r.offer_id, goodRo.id, `${s.id}'s agent never saw ${badRo.id}`);
    }
  }

  // A clean stop.
  const stopped = withTimeout(new Promise((res) => demoProc.on('exit', (code, sig) => res({ code, sig }))), 60000, 'the demo to stop');
  demoProc.kill('SIGTERM');
  const e = await stopped;
  assert.deepEqual(e, { code: 0, sig: null }, 'the demo stops with status 0');
}

async function main() {
  const why = skipReason();
  if (why) {
    say(`SKIPPED: ${why}`);
    process.exit(77);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retail-demo-rollout-'));
  const env = { ...process.env, RETAIL_DEMO_DIR: dir, RETAIL_DEMO_HEALTH_DEADLINE_S: '5' };
  const args = ['--no-sim', '--all-day', ...(process.env.PROV_AGENT_BIN ? [] : ['--plain'])];
  const proc = spawnTied(DEMO, args, { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((res) => proc.on('exit', (code) => res(code)));
  const t0 = Date.now();
  try {
    await withTimeout(new Promise((resolve, reject) => {
      const check = () => { if (/demo running/.test(out) && /Firmware/.test(out)) resolve(); };
      proc.stdout.on('data', check);
      exited.then((c) => reject(new Error(`the demo exited (${c}) before its banner`)));
    }), 90000, 'the demo banner');
    say(`demo up in ${Date.now() - t0} ms`);
    await scenario(env, proc);
    assert.match(out, /exit status:( \S+=0)+\n/);
    say(`passed in ${Date.now() - t0} ms`);
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    proc.kill('SIGTERM');
    await withTimeout(exited, 30000, 'the demo to stop').catch(() => proc.kill('SIGKILL'));
    process.stdout.write(`---- demo output ----\n${out}\n---- end ----\n`);
    say(`FAILED: ${err.stack || err}\n  data kept in ${dir}`);
    process.exit(1);
  }
}

main();
