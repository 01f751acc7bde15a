// fanout.bench.mjs - dispatch fan-out: from HQ's event reaching the box to
// the order being on every tablet.
//
//   8 tablets logged in and synced over /ws.  For each of --orders orders,
//   one after another: POST /api/dev/events [order.dispatched] (the box
//   ingests it, commits with one fsync, pushes it); latency = from just
//   before the POST is written to the moment the LAST of the 8 tablets has
//   received the `order` message for that order.  The next order is sent
//   once every tablet has it and the POST has been answered.
//
//   baseline  the round trip of a WS `ping` on one tablet (answered at once,
//             no database), --pings of them sequentially, half before and
//             half after the fan-out, so the ratio shows what the fan-out
//             (HTTP, ingest, fsync, push to 8) costs over a bare round trip.
//
// Reported: p50/p90/p99/max of both, the ratios p50/p50 and p99/p99, the
// mean group commit (fsync) time from /metrics, the first tablet's latency
// and the spread first -> last tablet (the fan-out proper).
// Every order must reach every tablet exactly in feed order, else it fails.
import http from 'node:http';
import { Node, STAFF } from '../integration/lib/storenode.mjs';
import {
  FastTablet, fmtStats, machine, metrics, parseArgs, performance, round, stats, withTimeout, writeJson,
} from './lib/bench.mjs';

const USAGE = 'usage: fanout.bench.mjs --storenode BIN [--mkdb BIN] [--orders N] [--tablets N] [--pings N] [--json FILE]\n'
  + '  defaults: 10000 orders, 8 tablets, 2000 pings\n';
const o = parseArgs('bench_storenode_fanout', { orders: 10000, tablets: 8, pings: 2000 }, USAGE);

const SKUS = [
  ['latte', '生椰拿铁', 1900], ['americano', '美式咖啡', 1500], ['tea', '柠檬茶', 1200],
  ['bagel', '芝士贝果', 1200], ['cake', '巧克力蛋糕', 2500], ['water', '矿泉水', 300],
];

function post(agent, node, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: node.port, path: '/api/dev/events', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now())
        : reject(new Error(`inject ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function pings(t, n) {
  const rtt = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const { msg, t: t1 } = await t.cmd('ping');
    if (msg.type !== 'ack') throw new Error(`ping failed: ${JSON.stringify(msg)}`);
    rtt.push(t1 - t0);
  }
  return rtt;
}

// Fires when every tablet has the order message of `id`; checks feed order.
function arrivals(tablets) {
  const state = { id: null, left: 0, last: 0, first: 0, done: null, bad: null, feeds: tablets.map(() => 0) };
  tablets.forEach((t, k) => t.onMessage((text, at) => {
    if (!text.startsWith('{"type":"order"')) return;
    const feed = Number(/^\{"type":"order","feed":(\d+)/.exec(text)[1]);
    if (feed <= state.feeds[k]) state.bad = `${t.name}: order message with feed ${feed} after ${state.feeds[k]}`;
    state.feeds[k] = feed;
    if (!state.id || !text.includes(`"order_id":"${state.id}"`)) return;
    if (state.left === tablets.length) state.first = at;
    state.last = at;
    if (--state.left === 0) state.done();
  }));
  return state;
}

async function main() {
  const node = new Node({ storeId: 'store-bench', config: { ws_rate: 10000, ws_burst: 100000 } });
  for (const s of STAFF) node.staffSet(s);
  await node.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const tablets = [];
  try {
    await node.inject(SKUS.map(([sku, name, price]) => node.hq.catalog(sku, name, price, 5)));
    for (let i = 0; i < o.tablets; i++) {
      const t = await FastTablet.connect(node.wsUrl, `tab-${i}`);
      await t.loginSync(STAFF[i % STAFF.length]);
      tablets.push(t);
    }
    await tablets[0].ok('stock.receive', { sku: 'bagel', qty: 100000 });
    await pings(tablets[0], 200); // warm-up
    const rtt = await pings(tablets[0], Math.ceil(o.pings / 2));

    const st = arrivals(tablets);
    const before = await metrics(node);
    const lat = [];
    const first = [];
    const answered = [];
    const spread = [];
    const t_start = performance.now();
    for (let i = 0; i < o.orders; i++) {
      const [sku, name, price] = SKUS[i % SKUS.length];
      const id = `o-fan-${i + 1}`;
      const body = JSON.stringify([node.hq.dispatch(id, { items: [{ sku, name, qty: 1 + (i % 2), price }], code: '4321' })]);
      const all = new Promise((resolve) => { st.done = resolve; });
      st.id = id;
      st.left = tablets.length;
      const t0 = performance.now();
      const resp = post(agent, node, body);
      const [tResp] = await withTimeout(Promise.all([resp, all]), 10000, `order ${id} on every tablet`);
      if (st.bad) throw new Error(st.bad);
      lat.push(st.last - t0);
      first.push(st.first - t0);
      spread.push(st.last - st.first);
      answered.push(tResp - t0);
    }
    const elapsed = (performance.now() - t_start) / 1000;
    const after = await metrics(node);
    rtt.push(...await pings(tablets[0], Math.floor(o.pings / 2)));

    const L = stats(lat);
    const P = stats(rtt);
    const F = stats(first);
    const H = stats(answered);
    const S = stats(spread);
    const commits = after.storenode_commit_seconds_count - before.storenode_commit_seconds_count;
    const commitMs = (1000 * (after.storenode_commit_seconds_sum - before.storenode_commit_seconds_sum)) / commits;
    console.log(`bench_storenode_fanout: ${o.orders} orders, one per POST, to ${o.tablets} tablets; ${machine()}`);
    console.log(`  baseline: ws ping round trip, 1 tablet   ${fmtStats(P)}`);
    console.log(`  POST -> last of ${o.tablets} tablets has it   ${fmtStats(L)}`);
    console.log(`  POST -> first tablet has it             ${fmtStats(F)}`);
    console.log(`  POST -> HTTP 200                        ${fmtStats(H)}`);
    console.log(`  first -> last tablet (fan-out spread)   ${fmtStats(S)}`);
    console.log(`  ratio fan-out / ping: p50 ${(L.p50 / P.p50).toFixed(2)}, p99 ${(L.p99 / P.p99).toFixed(2)}`);
    console.log(`  commits ${commits} (one per order), mean commit (fsync) ${commitMs.toFixed(3)} ms; ${(o.orders / elapsed).toFixed(0)} orders/s sequential`);
    console.log(`  target p99 < 5 ms: ${L.p99 < 5 ? 'met' : 'MISSED'} (${L.p99.toFixed(3)} ms)`);
    writeJson(o, {
      bench: 'storenode_fanout', metric: 'dispatch_to_last_tablet_p99_ms', value: round(L.p99), unit: 'ms',
      p50_ms: round(L.p50), p90_ms: round(L.p90), max_ms: round(L.max), mean_ms: round(L.mean),
      first_tablet_p50_ms: round(F.p50), first_tablet_p99_ms: round(F.p99),
      http_200_p50_ms: round(H.p50), http_200_p99_ms: round(H.p99),
      spread_first_to_last_p50_ms: round(S.p50), spread_first_to_last_p99_ms: round(S.p99),
      commit_max_ms: round(1000 * after.storenode_commit_seconds_max),
      baseline_ping_p50_ms: round(P.p50), baseline_ping_p99_ms: round(P.p99), baseline_ping_max_ms: round(P.max),
      ratio_p50_vs_ping: round(L.p50 / P.p50), ratio_p99_vs_ping: round(L.p99 / P.p99),
      commit_mean_ms: round(commitMs), orders: o.orders, tablets: o.tablets, pings: P.n, target_p99_ms: 5,
    });
  } finally {
    for (const t of tablets) t.ws.terminate();
    agent.destroy();
    await node.cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`bench_storenode_fanout: FAILED: ${e.stack || e}\n`);
  process.exit(1);
});
