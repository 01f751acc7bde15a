// replication.test.mjs - storenode <-> HQ over a real mosquitto broker.
//
// The test starts mosquitto on a free loopback port and plays HQ itself with
// the stock CLI clients: `mosquitto_sub` reads everything the box publishes
// under retail/v1/stores/+/up/#, `mosquitto_pub` sends down/hello,
// down/events and down/ack.  It checks the delivery rules of
// docs/protocol.md ("MQTT replication"): HQ's orders reach the tablets, the
// box's events go up and stay in the outbox until HQ's application-level ack
// (resent meanwhile), a replayed batch changes nothing, a batch for another
// store is refused and logged, and a box cut off from the broker keeps
// serving its tablets and sends its backlog by itself when the link returns.
//
// Without mosquitto / mosquitto-clients every test is skipped with the reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startNode, withTimeout, Hq, DEFAULT_TIMEOUT } from './lib/storenode.mjs';
import { Broker, MOSQUITTO, MOSQUITTO_PUB, MOSQUITTO_SUB, waitUntil } from './lib/hq.mjs';
import { spawnTied } from './lib/proc.mjs';

// ---- the broker: lib/hq.mjs's, shared with the hq and chain tests ------------

const PUB = MOSQUITTO_PUB;
const SUB = MOSQUITTO_SUB;
const SKIP = !MOSQUITTO || !PUB || !SUB ? 'mosquitto and mosquitto-clients are needed for this test' : false;

// ---- HQ played by the CLI clients --------------------------------------------

class FakeHq {
  constructor(port) {
    this.port = port;
    this.messages = []; // {topic, payload, json}
    this.waiters = new Set();
  }

  async start() {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-V', 'mqttv5', '-q', '1', '-v',
      '-t', 'retail/v1/stores/+/up/#', '-t', 'it/probe'];
    const proc = spawnTied(SUB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', resolve));
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const sp = line.indexOf(' ');
        const msg = { topic: sp < 0 ? line : line.slice(0, sp), payload: sp < 0 ? '' : line.slice(sp + 1) };
        try { msg.json = JSON.parse(msg.payload); } catch { msg.json = null; }
        this.messages.push(msg);
        for (const w of this.waiters) w();
      }
    });
    // Subscribed once our own probe comes back (publish until it does).
    const from = this.mark();
    await waitUntil(async () => {
      await this.publish('it/probe', 'probe');
      return this.messages.slice(from).some((m) => m.topic === 'it/probe');
    }, 'the fake HQ subscription');
    return this;
  }

  mark() {
    return this.messages.length;
  }

  waitFor(pred, { from = 0, ms = DEFAULT_TIMEOUT, what = 'a message' } = {}) {
    let i = from;
    const scan = () => {
      for (; i < this.messages.length; i++) if (pred(this.messages[i])) return { msg: this.messages[i], index: i };
      return undefined;
    };
    const hit = scan();
    if (hit) return Promise.resolve(hit);
    let w;
    const p = new Promise((resolve) => {
      w = () => {
        const m = scan();
        if (m) resolve(m);
      };
      this.waiters.add(w);
    });
    const seen = () => this.messages.slice(from).map((m) => `${m.topic} ${m.payload}`.slice(0, 300)).join('\n');
    return withTimeout(p, ms, `${what} (HQ saw:\n${seen()})`).finally(() => this.waiters.delete(w));
  }

  publish(topic, payload, retain = false) {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-V', 'mqttv5', '-q', '1', '-t', topic,
      '-m', typeof payload === 'string' ? payload : JSON.stringify(payload)];
    if (retain) args.push('-r');
    return new Promise((resolve, reject) => {
      execFile(PUB, args, { timeout: DEFAULT_TIMEOUT }, (err, stdout, stderr) => (err ? reject(new Error(`mosquitto_pub: ${err.message} ${stderr}`)) : resolve()));
    });
  }

  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    if (p.exitCode === null) p.kill('SIGTERM');
    await withTimeout(this.exited, DEFAULT_TIMEOUT, 'mosquitto_sub to exit');
  }
}

// HQ's events for one store: origin "hq:<store>" (proto/repl.h).
class HqStore extends Hq {
  event(type, body) {
    return { ...super.event(type, body), origin: `hq:${this.store}` };
  }
}

// ---- the run -------------------------------------------------------------------

let broker;
let hq;
let n;
let tab;
let STORE;
let T; // topics
let hqEv;
const dispatchBatch = {};

const isOrder = (id, pred = () => true) => (m) => m.type === 'order' && m.order.order_id === id && pred(m.order);
const kindIs = (kind) => (m) => m.topic === T.up(kind);
const batch = (store, events) => ({ v: 1, store, events });

async function metrics() {
  const r = await n.http('GET', '/metrics');
  assert.equal(r.status, 200);
  const get = (re) => {
    const m = re.exec(r.text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    depth: get(/^storenode_outbox_depth (\d+)$/m),
    lastSeq: get(/^storenode_last_seq (\d+)$/m),
    acked: get(/^storenode_last_acked_seq (\d+)$/m),
    remote: get(/^storenode_events_total\{source="remote"\} (\d+)$/m),
    duplicate: get(/^storenode_events_duplicate_total (\d+)$/m),
  };
}

// Own events (origin = the store) in up/events batches after `from`.
function ownSeqs(from) {
  const seqs = [];
  for (const m of hq.messages.slice(from)) {
    if (m.topic !== T.up('events') || !m.json) continue;
    for (const e of m.json.events) if (e.origin === STORE) seqs.push(e.seq);
  }
  return seqs;
}

async function helloAndAnswer(fakeHq, from, vv) {
  await fakeHq.waitFor(kindIs('hello'), { from, what: 'up/hello' });
  await fakeHq.publish(T.down('hello'), { v: 1, store: STORE, vv });
}

before(async () => {
  if (SKIP) return;
  broker = await new Broker().start();
  hq = await new FakeHq(broker.port).start();
  n = await startNode({
    config: {
      mqtt_host: '127.0.0.1', mqtt_port: broker.port, heartbeat_s: 1, retransmit_s: 2, mqtt_reconnect_max_s: 1,
    },
  });
  STORE = n.storeId;
  T = {
    up: (k) => `retail/v1/stores/${STORE}/up/${k}`,
    down: (k) => `retail/v1/stores/${STORE}/down/${k}`,
  };
  hqEv = new HqStore(STORE);
  await helloAndAnswer(hq, 0, {});
  await n.waitLog(/msg="replication ready"/);
  tab = await n.loggedIn();
});

after(async () => {
  if (SKIP) return;
  await n?.cleanup();
  await hq?.stop();
  await broker?.cleanup();
});

test('the box says it is online (retained) and sends heartbeats', { skip: SKIP }, async () => {
  const { msg: st } = await hq.waitFor(kindIs('status'), { what: 'up/status' });
  assert.equal(st.payload, 'online');
  const { msg: hb } = await hq.waitFor(kindIs('heartbeat'), { what: 'up/heartbeat' });
  assert.equal(hb.json.store, STORE);
  for (const k of ['version', 'ts_ms', 'hlc', 'uptime_s', 'outbox_depth', 'last_acked_seq', 'last_seq', 'rss_kb', 'tablets', 'orders_open']) {
    assert.ok(k in hb.json, `heartbeat has ${k}`);
  }
  assert.ok(hb.json.rss_kb > 0);
});

test('an order dispatched via down/events reaches the tablet and is acked', { skip: SKIP }, async () => {
  const from = hq.mark();
  const t0 = tab.mark();
  dispatchBatch.json = JSON.stringify(batch(STORE, [
    hqEv.catalog('latte', '生椰拿铁', 1900, 3, 'Coconut latte'),
    hqEv.dispatch('o-r1', { code: '2468' }),
  ]));
  await hq.publish(T.down('events'), dispatchBatch.json);
  await tab.waitFor(isOrder('o-r1', (o) => o.status === 'dispatched'), { from: t0 });
  const { msg: ack } = await hq.waitFor((m) => kindIs('ack')(m) && m.json?.vv?.[`hq:${STORE}`]?.c === 2,
    { from, what: 'up/ack covering hq seq 2' });
  assert.equal(ack.json.store, STORE);
  assert.ok(!('h' in ack.json.vv[`hq:${STORE}`]), 'acks carry contiguous seqs only');
});

test('the accept goes up on up/events and stays in the outbox until down/ack', { skip: SKIP }, async () => {
  const from = hq.mark();
  await tab.ok('order.accept', { order_id: 'o-r1' });
  const isAccept = (m) => kindIs('events')(m) && m.json?.events?.some((e) => e.type === 'order.accepted' && e.body.order_id === 'o-r1');
  const first = await hq.waitFor(isAccept, { from, what: 'the accept on up/events' });
  const ev = first.msg.json.events.find((e) => e.type === 'order.accepted');
  assert.equal(ev.origin, STORE);
  assert.equal(first.msg.json.store, STORE);
  let m = await metrics();
  assert.ok(m.depth >= 1, `outbox depth ${m.depth}`);
  assert.equal(m.depth, m.lastSeq - m.acked);
  assert.ok(ev.seq <= m.lastSeq && ev.seq > m.acked);
  // No ack: resent after retransmit_s, and still in the outbox.
  await hq.waitFor(isAccept, { from: first.index + 1, what: 'the accept sent again (retransmit)' });
  assert.equal((await metrics()).depth, m.depth);
  // PUBACKs alone never emptied it; HQ's ack does.
  await hq.publish(T.down('ack'), { v: 1, store: STORE, vv: { [STORE]: { c: m.lastSeq } } });
  m = await waitUntil(async () => { const x = await metrics(); return x.depth === 0 ? x : null; }, 'outbox depth 0');
  assert.equal(m.acked, m.lastSeq);
});

test('a replayed batch from HQ changes nothing', { skip: SKIP }, async () => {
  const before = await metrics();
  const from = hq.mark();
  const t0 = tab.mark();
  await hq.publish(T.down('events'), dispatchBatch.json);
  await hq.publish(T.down('events'), dispatchBatch.json);
  await hq.waitFor(kindIs('ack'), { from, what: 'up/ack after the replay' });
  const after = await waitUntil(async () => {
    const x = await metrics();
    return x.duplicate === before.duplicate + 4 ? x : null;
  }, 'both replays counted as duplicates');
  assert.equal(after.remote, before.remote);
  assert.equal(after.lastSeq, before.lastSeq, 'no local event came of it');
  // Anything pushed would precede this answer on the same socket.
  assert.equal((await tab.cmd('alert.ack', { order_id: 'o-nope' })).code, 'not_found');
  assert.ok(!tab.messages.slice(t0).some(isOrder('o-r1')), 'the tablet was told nothing new');
});

test('a batch for another store is refused and logged; the node keeps running', { skip: SKIP }, async () => {
  const other = new HqStore('other-store');
  await hq.publish(T.down('events'), batch('other-store', [other.dispatch('o-evil')]));
  await n.waitLog(/msg="replication batch rejected" reason=wrong_store/);
  // the batch claims our store but an event inside does not
  await hq.publish(T.down('events'), batch(STORE, [other.dispatch('o-evil2')]));
  const line = await n.waitLog(/msg="replication batch rejected" reason=malformed/);
  assert.match(line, /events\[0\]\.store/);
  const t0 = tab.mark();
  await hq.publish(T.down('events'), batch(STORE, [hqEv.dispatch('o-r2')]));
  await tab.waitFor(isOrder('o-r2'), { from: t0 });
  assert.ok(!tab.messages.some(isOrder('o-evil')) && !tab.messages.some(isOrder('o-evil2')));
  assert.equal((await n.http('GET', '/healthz')).status, 200);
});

test('broker down: tablets still work; broker back: the backlog goes up by itself', { skip: SKIP }, async () => {
  const start = await metrics();
  assert.equal(start.depth, 0);
  await hq.stop();
  await broker.stop();
  await n.waitLog(/msg="mqtt disconnected"/);
  // The store keeps working: commands are acknowledged after their commit.
  await tab.ok('order.prepare', { order_id: 'o-r1' });
  await tab.ok('order.ready', { order_id: 'o-r1' });
  await tab.ok('order.accept', { order_id: 'o-r2' });
  const offline = await metrics();
  assert.equal(offline.depth, offline.lastSeq - start.acked);
  assert.ok(offline.depth >= 3);
  // Broker back on the same port (it lost everything: persistence off).
  await broker.start(broker.port);
  hq = await new FakeHq(broker.port).start();
  const from = hq.mark();
  await helloAndAnswer(hq, from, { [STORE]: { c: start.acked }, [`hq:${STORE}`]: { c: hqEv.seq } });
  const want = [];
  for (let s = start.acked + 1; s <= offline.lastSeq; s++) want.push(s);
  await waitUntil(async () => want.every((s) => ownSeqs(from).includes(s)), `own seqs ${want} on up/events`);
  const seqs = ownSeqs(from);
  assert.deepEqual([...new Set(seqs)].sort((a, b) => a - b), want);
  // HQ answers the hello with nothing missing: its ack follows the box's.
  await hq.waitFor(kindIs('ack'), { from, what: 'up/ack after the hello' });
  await hq.publish(T.down('ack'), { v: 1, store: STORE, vv: { [STORE]: { c: offline.lastSeq } } });
  const done = await waitUntil(async () => { const x = await metrics(); return x.depth === 0 ? x : null; }, 'outbox empty');
  assert.equal(done.acked, offline.lastSeq);
  const { msg: st } = await hq.waitFor(kindIs('status'), { from, what: 'up/status after the reconnect' });
  assert.equal(st.payload, 'online');
});

test('replication needs no setup on a box without a broker configured', { skip: SKIP }, async () => {
  const alone = await startNode({ storeId: 'store-alone' });
  try {
    assert.ok(!alone.log.some((l) => /replication started/.test(l)));
    const t = await alone.loggedIn();
    await alone.inject([alone.hq.catalog('tea', '柠檬茶', 1200)]);
    await t.ok('stock.receive', { sku: 'tea', qty: 5 });
    const r = await alone.http('GET', '/metrics');
    const depth = Number(/^storenode_outbox_depth (\d+)$/m.exec(r.text)[1]);
    const last = Number(/^storenode_last_seq (\d+)$/m.exec(r.text)[1]);
    assert.ok(depth >= 1 && depth === last, 'everything stays in the outbox');
    await t.close();
  } finally {
    await alone.cleanup();
  }
});
