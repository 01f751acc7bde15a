// hq_bench_ingest.mjs - how fast hq merges store batches durably through a
// real broker, and what batching several MQTT messages per transaction buys.
// Not a test (no assertions): a measurement, run by hand.
//
//   node tests/integration/hq_bench_ingest.mjs [stores=20] [batches=50] [events=100] [max_msgs=256,1]
//
// For each value of ingest_max_msgs: a fresh broker and hq; `stores` fake
// stores, each a `mosquitto_pub -l` process sending `batches` batches of
// `events` stock.delta events (QoS 1) as fast as the broker takes them; the
// clock stops when /metrics shows every event applied.  Prints events/s,
// MQTT messages per commit and the mean commit time.
import { spawn } from 'node:child_process';
import { Broker, HqProcess, MOSQUITTO_PUB, waitUntil } from './lib/hq.mjs';

const [stores = 20, batches = 50, events = 100] = process.argv.slice(2, 5).map(Number);
const maxMsgs = (process.argv[5] || '256,1').split(',').map(Number);

function lines(store) {
  const out = [];
  let seq = 0;
  for (let b = 0; b < batches; b++) {
    const evs = [];
    for (let e = 0; e < events; e++) {
      seq += 1;
      const hlc = ((BigInt(Date.now()) << 16n) + BigInt(seq)).toString();
      evs.push({ v: 1, origin: store, seq, hlc, store, type: 'stock.delta', body: { sku: `sku-${e % 20}`, delta: 1, reason: 'receive' } });
    }
    out.push(JSON.stringify({ v: 1, store, events: evs }));
  }
  return out.join('\n') + '\n';
}

function metric(text, re) {
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function run(max) {
  const broker = await new Broker().start();
  const hq = new HqProcess({ brokerPort: broker.port, config: { ingest_max_msgs: max, mqtt_max_queue: 1000000 } });
  try {
    await hq.start();
    await measure(hq, broker, max);
    await hq.stop('SIGTERM');
  } finally {
    await hq.cleanup();
    await broker.cleanup();
  }
}

async function measure(hq, broker, max) {
  await waitUntil(async () => (await hq.api('GET', '/healthz')).mqtt_connected, 'hq connected');
  const payloads = Array.from({ length: stores }, (_, i) => lines(`bench-${i}`));
  const total = stores * batches * events;
  const t0 = process.hrtime.bigint();
  const pubs = payloads.map((p, i) => new Promise((resolve, reject) => {
    const c = spawn(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', `retail/v1/stores/bench-${i}/up/events`, '-l'], { stdio: ['pipe', 'ignore', 'inherit'] });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exit ${code}`))));
    c.stdin.end(p);
  }));
  await Promise.all(pubs);
  let m = '';
  await waitUntil(async () => {
    m = (await hq.http('GET', '/metrics')).text;
    return metric(m, /^hq_events_total\{result="applied"\} (\d+)/m) >= total;
  }, `${total} events applied`, 600000);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const commits = metric(m, /^hq_commit_seconds_count (\d+)/m);
  const msgs = metric(m, /^hq_commit_messages_total (\d+)/m);
  const commitSum = metric(m, /^hq_commit_seconds_sum ([\d.]+)/m);
  console.log(`ingest_max_msgs=${max}: ${total} events in ${secs.toFixed(2)} s = ${Math.round(total / secs)} events/s; ` +
    `${commits} commits, ${(msgs / Math.max(commits, 1)).toFixed(1)} messages/commit, mean commit ${(1000 * commitSum / Math.max(commits, 1)).toFixed(2)} ms`);
}

for (const max of maxMsgs) await run(max);
