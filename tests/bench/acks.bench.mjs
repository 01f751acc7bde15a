// acks.bench.mjs - durable acknowledged commands per second end to end:
// 8 tablets sending stock.receive over /ws at once, counting acks (an ack
// leaves the box only after the group commit covering it: synchronous=FULL).
//
//   baseline  the same 8 tablets and window sending `ping` (answered at once,
//             no database, no commit): round trips/s of the socket path alone
//   measured  stock.receive {sku: one of 40, qty: 1}: acks/s
//
// Each tablet keeps --window commands outstanding (1 = a tablet that waits
// for each ack; larger = what the server can absorb), --commands per tablet.
// Run for window 1 and --big-window, each baseline right before its
// measurement.  Reported: rates, the ratio acks/pings, per-command latency
// (send -> ack) p50/p99, and the mean group size (acks per commit, from
// /metrics).  The rate limit is raised for the run (ws_rate 10000, ws_burst
// 100000): at its default (50/s per tablet) 8 tablets could not pass 400/s.
// Checked: every answer is an ack, and a fresh sync shows on hand = what
// was received.
import { Node, STAFF } from '../integration/lib/storenode.mjs';
import {
  FastTablet, fmtStats, machine, metrics, parseArgs, performance, round, stats, writeJson,
} from './lib/bench.mjs';

const USAGE = 'usage: acks.bench.mjs --storenode BIN [--mkdb BIN] [--tablets N] [--commands N] [--big-window N]\n'
  + '                      [--group-commit-ms N] [--json FILE]\n'
  + '  defaults: 8 tablets, 2000 commands per tablet per run, windows 1 and 32, the server\'s\n'
  + '  group_commit_ms (2) unless given\n';
const o = parseArgs('bench_storenode_acks', { tablets: 8, commands: 2000, 'big-window': 32, 'group-commit-ms': 0 }, USAGE);
const N_SKUS = 40;

// Every tablet sends `per` commands keeping `window` outstanding; resolves
// with {secs, lat[]}; any non-ack answer fails the run.
async function drive(tablets, per, window, make) {
  const lat = [];
  const t0 = performance.now();
  await Promise.all(tablets.map(async (t, k) => {
    let sent = 0;
    const lane = async () => {
      while (sent < per) {
        const i = sent++;
        const [type, fields] = make(k, i);
        const ts = performance.now();
        const { msg, t: ta } = await t.cmd(type, fields);
        if (msg.type !== 'ack') throw new Error(`${type} on ${t.name}: ${JSON.stringify(msg)}`);
        lat.push(ta - ts);
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  }));
  return { secs: (performance.now() - t0) / 1000, lat };
}

async function onHandSum(node) {
  const t = await FastTablet.connect(node.wsUrl, 'tab-check');
  let snap = null;
  t.onMessage((text) => { if (text.startsWith('{"type":"snapshot"')) snap = JSON.parse(text); });
  await t.ok('login', { tablet: 'tab-check', pin: STAFF[0].pin });
  await t.ok('sync', { since: 0 });
  await t.close();
  return snap.stock.reduce((s, x) => s + x.on_hand, 0);
}

async function main() {
  const config = { ws_rate: 10000, ws_burst: 100000 };
  if (process.argv.includes('--group-commit-ms')) config.group_commit_ms = o['group-commit-ms'];
  const node = new Node({ storeId: 'store-bench', config });
  for (const s of STAFF) node.staffSet(s);
  await node.start();
  const tablets = [];
  const results = [];
  let received = 0;
  try {
    const skus = Array.from({ length: N_SKUS }, (_, k) => node.hq.catalog(`sku-${k}`, `商品${k}`, 1000 + k, 0));
    await node.inject(skus);
    for (let i = 0; i < o.tablets; i++) {
      const t = await FastTablet.connect(node.wsUrl, `tab-${i}`);
      await t.loginSync(STAFF[i % STAFF.length]);
      tablets.push(t);
    }
    const ping = () => ['ping', {}];
    const receive = (k, i) => ['stock.receive', { sku: `sku-${(k * 7 + i) % N_SKUS}`, qty: 1 }];
    await drive(tablets, 100, 1, ping); // warm-up
    await drive(tablets, 50, 1, receive);
    received += o.tablets * 50;
    for (const window of [1, o['big-window']]) {
      const base = await drive(tablets, o.commands, window, ping);
      const before = await metrics(node);
      const run = await drive(tablets, o.commands, window, receive);
      const after = await metrics(node);
      received += o.tablets * o.commands;
      const n = o.tablets * o.commands;
      const commits = after.storenode_commit_seconds_count - before.storenode_commit_seconds_count;
      results.push({
        window, pings: n / base.secs, acks: n / run.secs, P: stats(base.lat), L: stats(run.lat),
        group: n / commits, commitMs: (1000 * (after.storenode_commit_seconds_sum - before.storenode_commit_seconds_sum)) / commits,
      });
    }
    const sum = await onHandSum(node);
    if (sum !== received) throw new Error(`on hand sums to ${sum}, ${received} were received`);

    console.log(`bench_storenode_acks: ${o.tablets} tablets x ${o.commands} stock.receive, synchronous=FULL; ${machine()}`);
    for (const r of results) {
      console.log(`  window ${r.window} per tablet (${r.window * o.tablets} in flight):`);
      console.log(`    baseline ping   ${r.pings.toFixed(0).padStart(7)} round trips/s   latency ${fmtStats(r.P)}`);
      console.log(`    stock.receive   ${r.acks.toFixed(0).padStart(7)} durable acks/s   latency ${fmtStats(r.L)}`);
      console.log(`    ratio acks/pings ${(r.acks / r.pings).toFixed(3)}; ${r.group.toFixed(1)} acks per commit, mean commit ${r.commitMs.toFixed(3)} ms`);
    }
    console.log(`  check: on hand of all SKUs = ${sum} = commands acknowledged`);
    const [w1, wb] = results;
    writeJson(o, {
      bench: 'storenode_acks', metric: 'durable_acks_per_s', value: Math.round(w1.acks), unit: 'acks/s',
      window: 1, tablets: o.tablets, commands_per_tablet: o.commands,
      baseline_pings_per_s: Math.round(w1.pings), ratio_vs_ping: round(w1.acks / w1.pings),
      ack_latency_p50_ms: round(w1.L.p50), ack_latency_p99_ms: round(w1.L.p99),
      acks_per_commit: round(w1.group, 2), commit_mean_ms: round(w1.commitMs),
      big_window: wb.window, big_window_acks_per_s: Math.round(wb.acks),
      big_window_baseline_pings_per_s: Math.round(wb.pings), big_window_ratio_vs_ping: round(wb.acks / wb.pings),
      big_window_ack_latency_p50_ms: round(wb.L.p50), big_window_ack_latency_p99_ms: round(wb.L.p99),
      big_window_acks_per_commit: round(wb.group, 2), ws_rate: 10000, ws_burst: 100000,
    });
  } finally {
    for (const t of tablets) t.ws.terminate();
    await node.cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`bench_storenode_acks: FAILED: ${e.stack || e}\n`);
  process.exit(1);
});
