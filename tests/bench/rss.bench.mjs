// rss.bench.mjs - storenode's resident memory with a real-sized database and
// the tablets of a busy store connected.
//
//   baseline  storenode idle: empty database (staff only), no tablet,
//             right after it logged "listening" and answered one /healthz
//   measured  storenode on a database of --orders orders (built by
//             bench_mkdb through node_core: 50 days of a 1,000-order/day
//             store, the last ones still open), then --tablets tablets
//             logged in and synced (each gets a snapshot), then one
//             stock.receive pushed to all of them
//
// Read from /proc/<pid>/status: VmRSS (resident now) and VmHWM (peak
// resident), split into RssAnon (heap, malloc arenas, stacks) and RssFile
// (mapped binaries and libraries, shared with other processes); the stages
// in between (opened the big database; tablets synced) and the largest
// mappings of /proc/<pid>/smaps say where the memory is.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Node, STAFF } from '../integration/lib/storenode.mjs';
import {
  FastTablet, machine, parseArgs, performance, procStatus, round, smapsByMapping, writeJson,
} from './lib/bench.mjs';

const USAGE = 'usage: rss.bench.mjs --storenode BIN --mkdb BIN [--orders N] [--tablets N] [--json FILE]\n'
  + '  defaults: 50000 orders, 8 tablets\n';
const o = parseArgs('bench_storenode_rss', { orders: 50000, tablets: 8 }, USAGE);
if (!o.mkdb) {
  process.stderr.write(`bench_storenode_rss: --mkdb BIN is required\n${USAGE}`);
  process.exit(2);
}
const TARGET_KB = 10 * 1024;

async function healthz(node) {
  const r = await fetch(`${node.base}/healthz`);
  if (r.status !== 200) throw new Error(`/healthz: ${r.status}`);
  return r.json();
}

function kb(x) {
  return `${(x / 1024).toFixed(1)} MB`;
}

function line(label, s) {
  console.log(`  ${label.padEnd(44)} VmRSS ${kb(s.VmRSS).padStart(8)}  VmHWM ${kb(s.VmHWM).padStart(8)}`
    + `  (anon ${kb(s.RssAnon)}, file ${kb(s.RssFile)})`);
}

async function idle() {
  const node = new Node({ storeId: 'store-bench' });
  try {
    for (const s of STAFF) node.staffSet(s);
    await node.start();
    await healthz(node);
    return procStatus(node.proc.pid);
  } finally {
    await node.cleanup();
  }
}

async function loaded() {
  const node = new Node({ storeId: 'store-bench' });
  const tablets = [];
  try {
    let t0 = performance.now();
    const made = execFileSync(o.mkdb, ['--db', node.dbPath, '--store', node.storeId, '--orders', String(o.orders)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const mkdbSecs = (performance.now() - t0) / 1000;
    const dbBytes = fs.statSync(node.dbPath).size;
    for (const s of STAFF) node.staffSet(s);
    t0 = performance.now();
    await node.start();
    const feed = (await healthz(node)).feed;
    const startSecs = (performance.now() - t0) / 1000;
    const pid = node.proc.pid;
    const opened = procStatus(pid);
    let snapBytes = 0;
    const syncMs = [];
    for (let i = 0; i < o.tablets; i++) {
      const t = await FastTablet.connect(node.wsUrl, `tab-${i}`);
      const r = await t.loginSync(STAFF[i % STAFF.length]);
      snapBytes = r.bytes;
      syncMs.push(r.ms);
      tablets.push(t);
    }
    const synced = procStatus(pid);
    let pushed = 0;
    const all = new Promise((resolve) => {
      for (const t of tablets) {
        t.onMessage((text) => {
          if (text.startsWith('{"type":"stock"') && ++pushed === tablets.length) resolve();
        });
      }
    });
    await tablets[0].ok('stock.receive', { sku: 'sku-00', qty: 1 });
    await all;
    const live = procStatus(pid);
    const maps = smapsByMapping(pid);
    return { made, mkdbSecs, dbBytes, startSecs, feed, opened, synced, live, maps, snapBytes, syncMs };
  } finally {
    for (const t of tablets) t.ws.terminate();
    await node.cleanup();
  }
}

async function main() {
  const base = await idle();
  const r = await loaded();
  const s = r.live;
  console.log(`bench_storenode_rss: ${o.orders} orders, ${o.tablets} tablets; ${machine()}`);
  console.log(`  ${r.made.trim().split('\n').join('\n  ')}`);
  console.log(`  database ${(r.dbBytes / 1e6).toFixed(1)} MB, built in ${r.mkdbSecs.toFixed(1)} s; storenode up in ${r.startSecs.toFixed(2)} s (feed ${r.feed})`);
  line('baseline: idle, empty database, no tablets', base);
  line('opened the big database, no tablets', r.opened);
  line(`${o.tablets} tablets logged in and synced`, r.synced);
  line('after one change pushed to all (measured)', s);
  console.log(`  snapshot ${(r.snapBytes / 1024).toFixed(1)} KiB per tablet; sync round trip ${Math.min(...r.syncMs).toFixed(1)} to ${Math.max(...r.syncMs).toFixed(1)} ms`);
  console.log('  largest mappings (resident):');
  for (const [name, k] of r.maps.slice(0, 8)) console.log(`    ${name.padEnd(36)} ${kb(k).padStart(9)}`);
  console.log(`  ratio VmRSS / idle ${(s.VmRSS / base.VmRSS).toFixed(2)}, VmHWM / idle ${(s.VmHWM / base.VmHWM).toFixed(2)}`);
  console.log(`  target < 10 MB: VmRSS ${s.VmRSS < TARGET_KB ? 'met' : 'MISSED'} (${kb(s.VmRSS)}), VmHWM ${s.VmHWM < TARGET_KB ? 'met' : 'MISSED'} (${kb(s.VmHWM)})`);
  writeJson(o, {
    bench: 'storenode_rss', metric: 'vmrss_kb', value: s.VmRSS, unit: 'kB',
    vmhwm_kb: s.VmHWM, rss_anon_kb: s.RssAnon, rss_file_kb: s.RssFile,
    opened_vmrss_kb: r.opened.VmRSS, opened_vmhwm_kb: r.opened.VmHWM,
    synced_vmrss_kb: r.synced.VmRSS, synced_vmhwm_kb: r.synced.VmHWM,
    baseline_idle_vmrss_kb: base.VmRSS, baseline_idle_vmhwm_kb: base.VmHWM,
    baseline_idle_rss_anon_kb: base.RssAnon, baseline_idle_rss_file_kb: base.RssFile,
    ratio_vmrss_vs_idle: round(s.VmRSS / base.VmRSS), ratio_vmhwm_vs_idle: round(s.VmHWM / base.VmHWM),
    orders: o.orders, tablets: o.tablets, db_bytes: r.dbBytes, snapshot_bytes: r.snapBytes,
    sync_ms_max: round(Math.max(...r.syncMs), 1),
    start_s: round(r.startSecs, 2), target_kb: TARGET_KB,
  });
}

main().catch((e) => {
  process.stderr.write(`bench_storenode_rss: FAILED: ${e.stack || e}\n`);
  process.exit(1);
});
