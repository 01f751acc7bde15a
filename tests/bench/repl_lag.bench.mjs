// repl_lag.bench.mjs - replication lag: from a tablet command at a real
// store until HQ has it durably, while 1,000 simulated stores each send one
// event per second (docs/performance.md, "replication").
//
// One real storenode with a tablet (the measured one), a real hq, a real
// mosquitto.  A command is `stock.receive` (one event); the clock starts
// just before the tablet sends it and stops when HQ's down/ack for the
// store covers the event's seq (HQ acks only after its commit), seen by a
// mosquitto_sub on the store's down/ack (poll-free).  Also timed: the
// tablet's own ack (durable at the store).  One command at a time, the next
// 20-80 ms after the previous one reached HQ (pacing of the load, not a
// wait for an event).
//   baseline: --samples commands with no other traffic (idle HQ);
//   measured: the same while repl_load steady runs --stores simulated
//             stores at --rate events/s each (batches of one event, QoS 1,
//             evenly staggered; it also reports its own stores' lag).
// Target (issue 4): report p50/p99; no number given.  Checked: the store's
// last seq = commands sent (each command exactly one event), every command
// acked.
import { spawn } from 'node:child_process';
import { startNode, STAFF } from '../integration/lib/storenode.mjs';
import { Broker, HqProcess, MOSQUITTO_SUB, waitUntil } from '../integration/lib/hq.mjs';
import { parseArgs, machine, writeJson, round, stats, runLoad, nodeMetrics, hqMetrics, pause } from './repl_lib.mjs';

const USAGE = 'usage: repl_lag.bench.mjs --storenode BIN --hq BIN --load BIN [--json FILE] ' +
  '[--stores 1000] [--rate 1] [--samples 300] [--conns 8]\n';
const o = parseArgs('bench_repl_lag', { stores: 1000, rate: 1, samples: 300, conns: 8 }, USAGE);
const STORE = 'store-lag';

// mosquitto_sub on the store's down/ack: each ack's contiguous seq of the
// store's origin, with the monotonic time it arrived.
class AckWatch {
  constructor(port) {
    this.acks = [];
    this.waiters = new Set();
    this.proc = spawn(MOSQUITTO_SUB, ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', `retail/v1/stores/${STORE}/down/ack`],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      const t = process.hrtime.bigint();
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const c = JSON.parse(line).vv?.[STORE]?.c ?? 0;
          this.acks.push({ c, t });
          for (const w of this.waiters) w();
        } catch { /* not an ack */ }
      }
    });
  }

  // Resolves with the arrival time of the first ack covering seq.
  covering(seq, ms = 30000) {
    const hit = () => this.acks.find((a) => a.c >= seq);
    const now = hit();
    if (now) return Promise.resolve(now.t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiters.delete(w); reject(new Error(`no ack covering seq ${seq} within ${ms} ms`)); }, ms);
      const w = () => {
        const a = hit();
        if (!a) return;
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(a.t);
      };
      this.waiters.add(w);
    });
  }

  stop() {
    this.proc.kill('SIGTERM');
  }
}

// n commands, one at a time; latencies in ms (tablet ack, HQ ack).
async function sample(node, tab, watch, n, label) {
  const base = (await nodeMetrics(node)).storenode_last_seq;
  const toStore = [];
  const toHq = [];
  for (let k = 1; k <= n; k++) {
    const t0 = process.hrtime.bigint();
    const ack = tab.ok('stock.receive', { sku: 'cup', qty: 1 }, `${label}-${k}-${process.pid}`);
    const atHq = watch.covering(base + k);
    await ack;
    toStore.push(Number(process.hrtime.bigint() - t0) / 1e6);
    toHq.push(Number((await atHq) - t0) / 1e6);
    await pause(20 + Math.floor(Math.random() * 60));
  }
  const last = (await nodeMetrics(node)).storenode_last_seq;
  if (last !== base + n) throw new Error(`${label}: ${last - base} events for ${n} commands`);
  return { store: stats(toStore), hq: stats(toHq) };
}

const fmt = (s) => `p50 ${s.p50.toFixed(2)} p90 ${s.p90.toFixed(2)} p99 ${s.p99.toFixed(2)} max ${s.max.toFixed(2)} ms`;

const broker = await new Broker().start();
const hq = new HqProcess({ brokerPort: broker.port, config: { mqtt_max_queue: 1000000, tick_ms: 1000 } });
let node = null;
let watch = null;
let tab = null;
try {
  await hq.start();
  await waitUntil(async () => (await hq.api('GET', '/healthz')).mqtt_connected, 'hq connected');
  node = await startNode({
    storeId: STORE,
    config: { mqtt_host: '127.0.0.1', mqtt_port: broker.port, ws_rate: 10000, ws_burst: 100000 },
  });
  await node.waitLog(/msg="replication ready"/);
  await hq.api('PUT', '/api/v1/catalog/cup', { name: '纸杯', price: 10 });
  watch = new AckWatch(broker.port);
  tab = await node.loggedIn(STAFF[0], 'tab-lag');
  await hq.caughtUp(node);
  await sample(node, tab, watch, 20, 'warm');
  console.log(`bench_repl_lag: ${o.samples} tablet commands, idle and with ${o.stores} simulated stores x ${o.rate} event/s; ${machine()}`);
  const idle = await sample(node, tab, watch, o.samples, 'idle');
  console.log(`  baseline (idle hq):    tablet -> store ack ${fmt(idle.store)};  tablet -> hq ack ${fmt(idle.hq)}`);
  const secs = Math.ceil(o.samples * 0.1) + 60;
  const load = runLoad(o, ['steady', '--port', String(broker.port), '--stores', String(o.stores), '--rate', String(o.rate),
    '--secs', String(secs), '--conns', String(o.conns), '--prefix', 'sim']);
  // Every simulated store has spoken at least once before measuring.
  await waitUntil(async () => (await hqMetrics(hq)).hq_stores >= o.stores + 1, `${o.stores} stores at hq`, 30000);
  const loaded = await sample(node, tab, watch, o.samples, 'loaded');
  load.child.kill('SIGTERM');
  const sim = await load.done;
  console.log(`  with ${o.stores} stores:   tablet -> store ack ${fmt(loaded.store)};  tablet -> hq ack ${fmt(loaded.hq)}`);
  console.log(`  simulated stores: ${sim.sent} events in ${sim.secs.toFixed(1)} s (${(sim.sent / sim.secs).toFixed(0)}/s), ` +
    `their publish -> hq ack p50 ${sim.p50_ms.toFixed(2)} p99 ${sim.p99_ms.toFixed(2)} max ${sim.max_ms.toFixed(2)} ms (${sim.acked} timed), ` +
    `worst schedule slip ${sim.late_max_ms.toFixed(1)} ms`);
  console.log(`  ratio loaded/idle, tablet -> hq: p50 ${(loaded.hq.p50 / idle.hq.p50).toFixed(2)}, p99 ${(loaded.hq.p99 / idle.hq.p99).toFixed(2)}`);
  writeJson(o, {
    bench: 'repl_lag', metric: 'tablet_to_hq_p99_ms', value: round(loaded.hq.p99), unit: 'ms',
    p50_ms: round(loaded.hq.p50), p90_ms: round(loaded.hq.p90), max_ms: round(loaded.hq.max),
    idle_p50_ms: round(idle.hq.p50), idle_p99_ms: round(idle.hq.p99),
    ratio_p50: round(loaded.hq.p50 / idle.hq.p50), ratio_p99: round(loaded.hq.p99 / idle.hq.p99),
    store_ack_p50_ms: round(loaded.store.p50), store_ack_p99_ms: round(loaded.store.p99),
    sim_stores: o.stores, sim_rate: o.rate, sim_events_per_s: round(sim.sent / sim.secs, 1),
    sim_p50_ms: round(sim.p50_ms), sim_p99_ms: round(sim.p99_ms), samples: o.samples,
  });
} finally {
  tab?.terminate();
  watch?.stop();
  await node?.cleanup();
  await hq.cleanup();
  await broker.cleanup();
}
