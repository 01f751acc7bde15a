// scripts/lib/demo-rollout.mjs - `scripts/demo rollout [VERSION] [--bad]`
// against a running demo (docs/demo.md, "Firmware and updates"):
//
//   1. the version: VERSION, or the next patch after every version the boxes
//      run, hq has registered and the demo has bundled ("-bad" appended with
//      --bad);
//   2. the bundle: firmware/make-bundle.sh over the demo's fw/bin (this
//      build's programs; with --bad a storenode that exits at once), signed
//      with the demo's key, in fw/bundles/<version>/;
//   3. POST /api/v1/firmware (hq checks the signature with fw_pubkey), then
//      POST /api/v1/rollouts to every store in two stages, one box first
//      (floor(100 / boxes) %: hq offers ceil(percent x boxes / 100)), then
//      100 %, max_failures 0, both with the demo's admin token;
//   4. GET /api/v1/rollouts/<id> every half second, printing each box's
//      change, until the rollout is done (exit 0) or halted (exit 3); 1 on
//      an error or when it takes longer than --timeout S.
//
// Usage: node demo-rollout.mjs DEMO_JSON [VERSION] [--bad] [--timeout S]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';


function die(msg, code = 1) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(code);
}

function say(msg) {
  const t = new Date().toTimeString().slice(0, 8);
  process.stdout.write(`${t} ${msg}\n`);
}

function parseArgs(argv) {
  const o = { file: argv[0], version: null, bad: false, timeoutS: null };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bad') o.bad = true;
    else if (a === '--timeout' && /^\d+$/.test(argv[i + 1] || '')) o.timeoutS = Number(argv[++i]);
    else if (!o.version && /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(a)) o.version = a;
    else die(`rollout: unexpected '${a}' (usage: scripts/demo rollout [VERSION] [--bad]; VERSION like 0.1.1)`, 2);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const demo = JSON.parse(fs.readFileSync(opt.file, 'utf8'));
const fw = demo.firmware;
if (!fw) die(`${opt.file}: no firmware section (a demo started before firmware updates: restart it)`);
try {
  process.kill(demo.hq.pid, 0);
} catch {
  die(`the demo in ${demo.data_dir} is not running (hq pid ${demo.hq.pid}): start scripts/demo first`);
}

async function call(method, p, body) {
  const headers = { authorization: `Bearer ${demo.tokens.admin.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(demo.hq.api + p, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function boxVersion(store) {
  try {
    const res = await fetch(`http://127.0.0.1:${store.port}/healthz`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()).version;
  } catch {
    return null;
  }
}

const core = (v) => {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v || '');
  return m ? m.slice(1).map(Number) : null;
};
const cmpCore = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

async function nextVersion() {
  const seen = [fw.base_version];
  for (const s of demo.stores) seen.push(await boxVersion(s));
  const r = await call('GET', 'firmware');
  if (r.status === 200) seen.push(...r.json.firmware.map((f) => f.version));
  seen.push(...fs.readdirSync(fw.bundles));
  let max = [0, 0, 0];
  for (const v of seen) {
    const c = core(v);
    if (c && cmpCore(c, max) > 0) max = c;
  }
  return `${max[0]}.${max[1]}.${max[2] + 1}${opt.bad ? '-bad' : ''}`;
}

// --bad: the same programs, but a storenode that exits at once, so the new
// slot never passes the agent's health check.
function badBin(version) {
  const dir = path.join(fw.bundles, `.bin-${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const p of ['storenode-update', 'storenode-provision'])
    fs.symlinkSync(fs.realpathSync(path.join(fw.bin, p)), path.join(dir, p));
  fs.writeFileSync(path.join(dir, 'storenode'),
    `#!/bin/sh\necho "storenode ${version}: a broken build (scripts/demo rollout --bad): exits at once" >&2\nexit 1\n`,
    { mode: 0o755 });
  return dir;
}

function makeBundle(version) {
  const out = path.join(fw.bundles, version);
  if (fs.existsSync(path.join(out, 'manifest.sig'))) {
    say(`bundle ${version}: ${out} (made before)`);
    return out;
  }
  const bin = opt.bad ? badBin(version) : fw.bin;
  try {
    execFileSync(fw.make_bundle, ['--fw-bundle', fw.fw_bundle, '--bin', bin, '--key', fw.key, '--out', out,
      '--version', version], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  } catch (e) {
    die(`make-bundle ${version}: ${(e.stderr || '').toString().trim() || e.message}`);
  }
  say(`bundle ${version}: ${out} (signed with ${fw.key}${opt.bad ? '; its storenode exits at once' : ''})`);
  return out;
}

function boxLine(b) {
  let what = b.state;
  if (b.state === 'downloading' && b.total) what += ` ${Math.floor((100 * b.bytes) / b.total)}%`;
  const err = b.error ? `  ${b.error}: ${b.detail}` : '';
  return `${b.store.padEnd(14)} ${b.status.padEnd(9)} ${what.padEnd(16)} runs ${b.installed || '?'}${err}`;
}

async function follow(id) {
  const limitS = opt.timeoutS || 120 + 4 * (fw.health_deadline_s || 20);
  const end = Date.now() + limitS * 1000;
  const last = new Map();
  let lastHead = '';
  for (;;) {
    const r = await call('GET', `rollouts/${encodeURIComponent(id)}`);
    if (r.status !== 200) die(`GET rollouts/${id}: ${r.status} ${r.text}`);
    const ro = r.json;
    const head = `rollout ${ro.id} ${ro.version}: ${ro.status}, stage ${ro.percent} %` +
      ` (committed ${ro.committed}, active ${ro.active}, failed ${ro.failed})${ro.reason ? `: ${ro.reason}` : ''}`;
    if (head !== lastHead) say(head);
    lastHead = head;
    for (const b of ro.stores) {
      const line = boxLine(b);
      if (last.get(b.store) !== line) say(`  ${line}`);
      last.set(b.store, line);
    }
    if (ro.status === 'done' || ro.status === 'halted') return ro;
    if (Date.now() > end) die(`rollout ${id} still ${ro.status} after ${limitS} s`);
    await new Promise((res) => setTimeout(res, 500)); // polling HQ's view, not waiting for an event
  }
}

async function main() {
  const version = opt.version || await nextVersion();
  const dir = makeBundle(version);
  let r = await call('POST', 'firmware', { path: dir });
  if (r.status !== 200 && r.status !== 201) die(`POST /api/v1/firmware ${dir}: ${r.status} ${r.text}`);
  say(`registered ${version} with hq (${r.status === 201 ? 'new' : 'known'}; signature checked with fw_pubkey)`);
  const stores = demo.stores.map((s) => s.id);
  const steps = stores.length > 1 ? [Math.floor(100 / stores.length), 100] : [100];
  r = await call('POST', 'rollouts', { version, stores, percent_steps: steps, max_failures: 0 });
  if (r.status !== 201) die(`POST /api/v1/rollouts: ${r.status} ${r.text}`);
  say(`rollout ${r.json.id}: ${version} to ${stores.join(', ')} in stages of ${steps.join(' and ')} %, halt at the first failure`);
  const ro = await follow(r.json.id);
  if (ro.status === 'done') {
    say(`done: ${ro.committed} of ${ro.stores.length} boxes run ${version}`);
    process.exit(0);
  }
  say(`halted: ${ro.reason || 'failures'}; the failed box rolled back by itself, the others were not offered ${version}`);
  process.exit(3);
}

main().catch((e) => die(e.stack || String(e)));
