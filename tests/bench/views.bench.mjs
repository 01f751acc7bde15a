// views.bench.mjs - HQ's dashboard views at chain scale: what a view costs
// cold and cached, and how long hq's loop stalls for a concurrent request
// while dashboards poll (docs/performance.md, "HQ views").
//
//   database  hq_mkdb: --stores stores, --orders orders (half yesterday,
//             half today), 20 SKUs per store, built once through hq_core's
//             ingest (tests/bench/hq_mkdb.c); hq runs on it with the zone
//             hq_mkdb chose (20:xx local), a real mosquitto beside it
//   cold      views_cache_ms = 0: each of the six views --reps times in a
//             row, median HTTP time (all of it is the view's computation)
//   cached    views_cache_ms = 1000: a view, then at once the same view
//             again (a cache hit): median of the second
//   stall     GET /healthz every --ping-ms (it runs on the loop, like MQTT
//             ingest and acks) for --secs: idle first (the baseline), then
//             while --dashboards clients poll the six views in parallel
//             every --poll-ms (the page's 2 s), with the cache off and on;
//             p50 / p99 / max of the pings and their ratio to idle
//
// Ratios are against the baseline of the same run (the machine is shared);
// absolute figures move with the load.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Broker, HqProcess } from '../integration/lib/hq.mjs';
import { writeJson, round, stats, median, pause, machine } from './repl_lib.mjs';

const VIEWS = ['summary', 'hourly', 'sla', 'stock', 'fleet', 'conflicts'];
const USAGE = 'usage: views.bench.mjs --hq BIN --mkdb BIN [--json FILE] [--stores 1000] [--orders 200000] ' +
  '[--reps 5] [--dashboards 4] [--poll-ms 2000] [--ping-ms 20] [--secs 10] [--legacy 0]\n' +
  '  --legacy 1: an hq without views_cache_ms (before the cache): the cache-off run only\n';

function parse() {
  const o = { hq: null, mkdb: null, json: null, stores: 1000, orders: 200000, reps: 5, dashboards: 4,
    'poll-ms': 2000, 'ping-ms': 20, secs: 10, legacy: 0 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const k = a[i].replace(/^--/, '');
    if (!a[i].startsWith('--') || a[i + 1] === undefined || !(k in o)) {
      process.stderr.write(`bench_hq_views: bad argument ${a[i]}\n${USAGE}`);
      process.exit(2);
    }
    o[k] = ['hq', 'mkdb', 'json'].includes(k) ? a[i + 1] : Number(a[i + 1]);
  }
  if (!o.hq || !o.mkdb) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  process.env.HQ_BIN = o.hq;
  return o;
}

function mkdb(o, db) {
  return new Promise((resolve, reject) => {
    const p = spawn(o.mkdb, ['--db', db, '--stores', String(o.stores), '--orders', String(o.orders)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`hq_mkdb: exit ${code}`))));
  });
}

async function timed(hq, p) {
  const t0 = performance.now();
  let r;
  try {
    r = await hq.http('GET', p);
  } catch (e) {
    throw new Error(`GET ${p} failed after ${(performance.now() - t0).toFixed(0)} ms: ${e.cause?.message || e.message}`);
  }
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`GET ${p} -> ${r.status}: ${r.text.slice(0, 200)}`);
  return { ms, bytes: r.text.length };
}

// Pings /healthz every pingMs for secs; resolves with their times.
async function pings(hq, o) {
  const out = [];
  const end = performance.now() + o.secs * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    out.push((await timed(hq, '/healthz')).ms);
    const left = o['ping-ms'] - (performance.now() - t0);
    if (left > 0) await pause(left); // the ping rate, not a wait for an event
  }
  return out;
}

// dashboards clients, each fetching the six views in parallel every pollMs
// (rounds never overlap, as in hq/www); returns a stop function.
function dashboards(hq, o) {
  let on = true;
  const rounds = [];
  const one = async (k) => {
    await pause((k * o['poll-ms']) / o.dashboards); // spread the clients over the period
    while (on) {
      const t0 = performance.now();
      await Promise.all(VIEWS.map((v) => timed(hq, `/api/v1/views/${v}`)));
      rounds.push(performance.now() - t0);
      const left = o['poll-ms'] - (performance.now() - t0);
      if (left > 0 && on) await pause(left);
    }
  };
  const all = Array.from({ length: o.dashboards }, (_, k) => one(k));
  return async () => {
    on = false;
    await Promise.all(all);
    return rounds;
  };
}

async function withHq(o, broker, db, tz, cacheMs, fn) {
  const hq = new HqProcess({
    brokerPort: broker.port,
    config: { db_path: db, tz_offset_min: tz, views_cache_ms: cacheMs, offline_after_s: 86400 },
  });
  try {
    await hq.start();
    await timed(hq, '/healthz');
    return await fn(hq);
  } finally {
    await hq.stop('SIGTERM').catch(() => {});
    await hq.cleanup();
  }
}

const fmt = (s) => `p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)} ms`;

const o = parse();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hq-views-bench-'));
const broker = await new Broker().start();
try {
  const db = path.join(dir, 'hq.db');
  const made = await mkdb(o, db);
  console.log(`bench_hq_views: ${made.stores} stores, ${made.orders} orders (${made.orders / 2} today), ` +
    `${made.events} events, built in ${made.secs.toFixed(1)} s; ${machine()}`);
  const res = { cold: {}, cached: {}, bytes: {} };

  const off = await withHq(o, broker, db, made.tz_offset_min, o.legacy ? undefined : 0, async (hq) => {
    for (const v of VIEWS) {
      const t = [];
      for (let i = 0; i < o.reps; i++) {
        const r = await timed(hq, `/api/v1/views/${v}`);
        t.push(r.ms);
        res.bytes[v] = r.bytes;
      }
      res.cold[v] = median(t);
    }
    const idle = stats(await pings(hq, o));
    const stop = dashboards(hq, o);
    const busy = stats(await pings(hq, o));
    const rounds = stats(await stop());
    return { idle, busy, rounds };
  });

  const on = o.legacy ? null : await withHq(o, broker, db, made.tz_offset_min, 1000, async (hq) => {
    for (const v of VIEWS) {
      const t = [];
      for (let i = 0; i < o.reps; i++) {
        await timed(hq, `/api/v1/views/${v}`);
        t.push((await timed(hq, `/api/v1/views/${v}`)).ms);
      }
      res.cached[v] = median(t);
    }
    const idle = stats(await pings(hq, o));
    const stop = dashboards(hq, o);
    const busy = stats(await pings(hq, o));
    const rounds = stats(await stop());
    return { idle, busy, rounds };
  });

  if (o.legacy) {
    for (const v of VIEWS) console.log(`  ${v.padEnd(10)} cold ${res.cold[v].toFixed(1).padStart(7)} ms (${Math.round(res.bytes[v] / 1024)} KB)`);
    console.log(`  /healthz idle: ${fmt(off.idle)}\n  /healthz ${o.dashboards} dashboards: ${fmt(off.busy)}  p99 ratio ` +
      `${(off.busy.p99 / off.idle.p99).toFixed(2)}; dashboard round p50 ${off.rounds.p50.toFixed(0)} ms, max ${off.rounds.max.toFixed(0)} ms`);
  } else {
    report(o, made, res, off, on);
  }
} finally {
  await broker.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
}

function report(o, made, res, off, on) {
  for (const v of VIEWS)
    console.log(`  ${v.padEnd(10)} cold ${res.cold[v].toFixed(1).padStart(7)} ms  cached ${res.cached[v].toFixed(2).padStart(6)} ms` +
      `  ratio ${(res.cached[v] / res.cold[v]).toFixed(3)}  (${Math.round(res.bytes[v] / 1024)} KB)`);
  for (const [name, r] of [['cache off', off], ['cache 1000 ms', on]]) {
    console.log(`  /healthz idle          (${name}): ${fmt(r.idle)}`);
    console.log(`  /healthz ${o.dashboards} dashboards (${name}): ${fmt(r.busy)}  p99 ratio ${(r.busy.p99 / r.idle.p99).toFixed(2)}` +
      `  max ratio ${(r.busy.max / r.idle.max).toFixed(2)}; dashboard round p50 ${r.rounds.p50.toFixed(0)} ms, max ${r.rounds.max.toFixed(0)} ms`);
  }
  const pick = (r) => ({ idle_p50: round(r.idle.p50), idle_p99: round(r.idle.p99), idle_max: round(r.idle.max),
    busy_p50: round(r.busy.p50), busy_p99: round(r.busy.p99), busy_max: round(r.busy.max),
    p99_ratio: round(r.busy.p99 / r.idle.p99), round_p50: round(r.rounds.p50), round_max: round(r.rounds.max) });
  writeJson(o, {
    bench: 'hq_views', metric: 'healthz_p99_ratio_cached', value: round(on.busy.p99 / on.idle.p99), unit: 'ratio',
    stores: made.stores, orders: made.orders, dashboards: o.dashboards,
    cold_ms: Object.fromEntries(VIEWS.map((v) => [v, round(res.cold[v])])),
    cached_ms: Object.fromEntries(VIEWS.map((v) => [v, round(res.cached[v])])),
    stall_cache_off: pick(off), stall_cache_on: pick(on),
  });
}
