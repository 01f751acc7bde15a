// repl_catchup.bench.mjs - catch-up: a store that was offline with a
// 100,000-event backlog comes back; how long until HQ has acknowledged all
// of it (docs/performance.md, "replication").
//
// The backlog: bench_mkdb builds a store database through node_core (--orders
// orders of a busy store over 20 days, HQ's dispatches merged, the store's
// own commands: accept ... complete, sales, receipts, stocktakes), never
// acknowledged, so every own event (~5 per order: 20,000 orders = ~100,000
// events) is in the outbox.  Built once, copied for each run.
//
//   (a) measured: a fresh mosquitto + hq; storenode starts on a copy of the
//       database with replication on (defaults: window 4 batches of up to
//       256 events, retransmit 10 s); the clock runs from its "replication
//       ready" (HQ's hello arrived: from here on it sends) until its
//       storenode_outbox_depth is 0 (HQ's ack covers the last seq; polled
//       every 10 ms).  Also reported: from the process start.
//   (b) baseline: the same events (the store's origin, in seq order, in
//       batches of 256 as the box forms them) published by repl_load as fast
//       as the broker takes them into another fresh hq, until HQ's ack
//       covers the last seq: HQ's ingest capacity for exactly this backlog.
// Runs interleave a, b; best of --runs.  Target (issue 4): (a) >= 20,000
// events/s.  Checked: HQ's up_seq = the store's last seq, and HQ applied
// exactly that many events of the store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startNode } from '../integration/lib/storenode.mjs';
import { Broker, HqProcess, waitUntil } from '../integration/lib/hq.mjs';
import { parseArgs, machine, writeJson, round, runLoad, hqMetrics, nodeMetrics, pause, POLL_MS } from './repl_lib.mjs';

const USAGE = 'usage: repl_catchup.bench.mjs --storenode BIN --hq BIN --load BIN --mkdb BIN [--json FILE] ' +
  '[--orders 20000] [--runs 2]\n';
const o = parseArgs('bench_repl_catchup', { orders: 20000, runs: 2 }, USAGE);
if (!o.mkdb) {
  process.stderr.write(`bench_repl_catchup: --mkdb BIN is required\n${USAGE}`);
  process.exit(2);
}
const STORE = 'store-cu';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'repl-catchup-'));
const template = path.join(work, 'backlog.db');

function copyDb(to) {
  for (const sfx of ['', '-wal', '-shm']) {
    if (fs.existsSync(template + sfx)) fs.copyFileSync(template + sfx, to + sfx);
  }
}

async function startHq(broker) {
  const hq = new HqProcess({ brokerPort: broker.port, config: { mqtt_max_queue: 1000000, tick_ms: 1000 } });
  await hq.start();
  await waitUntil(async () => (await hq.api('GET', '/healthz')).mqtt_connected, 'hq connected');
  return hq;
}

async function measured() {
  const broker = await new Broker().start();
  const hq = await startHq(broker);
  let node = null;
  try {
    const db = path.join(hq.dir, 'store.db');
    copyDb(db);
    const t0 = process.hrtime.bigint();
    node = await startNode({ storeId: STORE, config: { db_path: db, mqtt_host: '127.0.0.1', mqtt_port: broker.port, heartbeat_s: 15 } });
    await node.waitLog(/msg="replication ready"/, 30000);
    const tReady = process.hrtime.bigint();
    let m;
    for (;;) {
      m = await nodeMetrics(node);
      if (m.storenode_outbox_depth === 0) break;
      if (Number(process.hrtime.bigint() - tReady) / 1e9 > 600) throw new Error('catch-up took over 600 s');
      await pause(POLL_MS);
    }
    const tDone = process.hrtime.bigint();
    const last = m.storenode_last_seq;
    const s = await hq.api('GET', `/api/v1/stores/${STORE}`);
    if (s.replication.up_seq !== last) throw new Error(`hq up_seq ${s.replication.up_seq}, store last_seq ${last}`);
    const hm = await hqMetrics(hq);
    const secs = Number(tDone - tReady) / 1e9;
    return {
      events: last, secs, eps: last / secs, fromStart: Number(tDone - t0) / 1e9,
      batches: m.storenode_repl_batches_sent_total, retransmits: m.storenode_repl_retransmits_total,
      commits: hm.hq_commit_seconds_count, applied: hm['hq_events_total{result="applied"}'],
    };
  } finally {
    await node?.cleanup();
    await hq.cleanup();
    await broker.cleanup();
  }
}

async function baseline() {
  const broker = await new Broker().start();
  const hq = await startHq(broker);
  try {
    const db = path.join(hq.dir, 'store.db');
    copyDb(db);
    const r = await runLoad(o, ['pub', '--port', String(broker.port), '--db', db, '--store', STORE, '--events', '256', '--conns', '1']).done;
    const hm = await hqMetrics(hq);
    return { events: r.events, secs: r.secs, eps: r.events_per_s, commits: hm.hq_commit_seconds_count, messages: r.messages };
  } finally {
    await hq.cleanup();
    await broker.cleanup();
  }
}

try {
  const mk = execFileSync(o.mkdb, ['--db', template, '--orders', String(o.orders), '--store', STORE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const mb = (fs.statSync(template).size / 1e6).toFixed(0);
  console.log(`bench_repl_catchup: backlog ${mk.split('\n')[0].replace(/^bench_mkdb: [^:]+: /, '')} (${mb} MB); ${machine()}`);
  const runs = [];
  for (let i = 0; i < o.runs; i++) {
    const a = await measured();
    const b = await baseline();
    if (a.events !== b.events) throw new Error(`the store sent ${a.events} events, the baseline ${b.events}`);
    if (a.applied !== a.events) throw new Error(`hq applied ${a.applied} of ${a.events}`);
    runs.push({ a, b });
    console.log(`  run ${i + 1}: (a) catch-up ${a.events} events in ${a.secs.toFixed(2)} s = ${Math.round(a.eps)} events/s ` +
      `(${a.fromStart.toFixed(2)} s from the process start; ${a.batches} batches, ${a.retransmits} retransmits, ${a.commits} hq commits)  ` +
      `(b) hq ingest of the same events ${Math.round(b.eps)} events/s (${b.messages} batches, ${b.commits} commits)  ratio ${(a.eps / b.eps).toFixed(3)}`);
  }
  const best = runs.reduce((x, r) => (r.a.eps > x.a.eps ? r : x));
  const bestB = Math.max(...runs.map((r) => r.b.eps));
  console.log(`  best: ${Math.round(best.a.eps)} events/s (${best.a.secs.toFixed(2)} s for ${best.a.events}), ` +
    `baseline ${Math.round(bestB)} events/s, ratio ${(best.a.eps / bestB).toFixed(3)}  (target >= 20000 events/s)`);
  writeJson(o, {
    bench: 'repl_catchup', metric: 'catchup_events_per_s', value: Math.round(best.a.eps), unit: 'events/s',
    secs: round(best.a.secs), secs_from_start: round(best.a.fromStart), events: best.a.events,
    baseline_events_per_s: Math.round(bestB), ratio: round(best.a.eps / bestB), runs: o.runs,
    target_events_per_s: 20000,
  });
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
