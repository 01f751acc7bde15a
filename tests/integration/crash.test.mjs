// crash.test.mjs - kill -9 storenode during a burst of commands, restart it:
// every command that had been acknowledged is still there, and re-sending
// every command (acked or not) applies each exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, STAFF, sqlite, haveSqlite, withTimeout } from './lib/storenode.mjs';

const N = 2000;
const WINDOW = 64; // commands in flight at any time

// Send N stock.receive (qty 1) commands, keeping WINDOW of them unanswered,
// so that the stop lands in the middle of a steady burst; onAck(count)
// after each ack.
function burst(t, prefix, onAck) {
  const acked = new Set();
  const ids = Array.from({ length: N }, (_, i) => `${prefix}${i}`);
  let next = 0;
  const sendOne = () => {
    if (next < N) t.send({ type: 'stock.receive', id: ids[next++], sku: 'cup', qty: 1 });
  };
  t.ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type !== 'ack' || !m.id.startsWith(prefix)) return;
    acked.add(m.id);
    onAck(acked.size);
    sendOne();
  });
  for (let i = 0; i < WINDOW; i++) sendOne();
  return { ids, acked };
}

// Re-send every id after the restart; check the exactly-once contract.
async function verify(n, ids, acked, label) {
  if (haveSqlite()) assert.equal(sqlite(n.dbPath, 'PRAGMA integrity_check;'), 'ok');
  await n.start();
  const t = await n.loggedIn(STAFF[0], 'tab-verify');
  const before = t.messages.find((m) => m.type === 'snapshot').stock.find((s) => s.sku === 'cup');
  const onHand = before ? before.on_hand : 0;
  assert.ok(onHand >= acked.size, `${label}: on hand ${onHand} < ${acked.size} acked`);
  const answers = await Promise.all(ids.map((id) => t.cmd('stock.receive', { sku: 'cup', qty: 1 }, id)));
  const replayed = new Set(answers.filter((m) => m.type === 'ack' && m.replayed).map((m) => m.id));
  assert.ok(answers.every((m) => m.type === 'ack'), 'every retry acked');
  for (const id of acked) assert.ok(replayed.has(id), `${label}: acked ${id} was lost`);
  // Each recorded command is in the stock exactly once, and the retries of
  // the others were applied now: exactly N in the end.
  assert.equal(replayed.size, onHand, `${label}: recorded commands vs stock`);
  const t2 = await n.loggedIn(STAFF[0], 'tab-verify2');
  assert.equal(t2.messages.find((m) => m.type === 'snapshot').stock.find((s) => s.sku === 'cup').on_hand, N);
  console.log(`${label}: ${acked.size} acked before the stop, ${onHand} durable, ${N - onHand} re-applied`);
  await Promise.all([t.close(), t2.close()]);
}

async function run(signal, killAt) {
  const n = await startNode({ config: { ws_rate: 10000, ws_burst: 100000 } });
  try {
    await n.inject([n.hq.catalog('cup', '纸杯', 10)]);
    const t = await n.loggedIn(STAFF[0], 'tab-burst');
    const t0 = Date.now();
    let stopping = null;
    let resolveKill;
    const killed = new Promise((r) => { resolveKill = r; });
    const { ids, acked } = burst(t, `b-${signal}-`, (count) => {
      if (count >= killAt && !stopping) {
        stopping = n.stop(signal).then(resolveKill);
      }
    });
    const exit = await withTimeout(killed, 20000, `${signal} after ${killAt} acks`);
    const secs = (Date.now() - t0) / 1000;
    const ackedAtKill = new Set(acked); // acks that raced the kill count too
    t.terminate();
    if (signal === 'SIGKILL') assert.equal(exit.signal, 'SIGKILL');
    else assert.deepEqual(exit, { code: 0, signal: null }, 'clean exit on SIGTERM');
    console.log(`${signal}: ${ackedAtKill.size} acks in ${secs.toFixed(2)} s (${Math.round(ackedAtKill.size / secs)} acked commands/s)`);
    await verify(n, ids, ackedAtKill, signal);
  } finally {
    await n.cleanup();
  }
}

test('kill -9 during a burst: every acknowledged command survives the restart', async () => {
  await run('SIGKILL', 500);
});

test('SIGTERM during a burst: clean exit 0, the open batch is committed', async () => {
  await run('SIGTERM', 500);
});
