// update_relay.test.mjs - storenode relays the update agent's spool on its
// own MQTT session (node/update_relay.c; docs/firmware.md, "Reports and
// offers: MQTT, or through storenode").
//
// A real mosquitto on a free loopback port and the real storenode with
// update_spool_dir set; the test plays HQ with the stock CLI clients and the
// update agent with files in the spool:
//   - an offer published retained on down/update lands whole in
//     <spool>/offer.json, again after the agent took it (a reconnect delivers
//     the retained offer again), and a newer offer replaces it;
//   - report.json, written before storenode starts, is published retained on
//     up/update once connected; each new one is published as it appears;
//     one written while the broker is down goes out after the reconnect;
//   - /healthz reports <exe dir>/../VERSION as `version` (a firmware slot)
//     and the compiled version as `build`; a file that is not a version is
//     ignored;
//   - an update_spool_dir that is not a directory stops storenode at start
//     with a message naming the key.
// Without mosquitto / mosquitto-clients the tests are skipped with the reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Node, startNode, storenodeBin, DEFAULT_TIMEOUT } from './lib/storenode.mjs';
import { Broker, MqttSub, mqttPub, waitUntil, MOSQUITTO, MOSQUITTO_PUB, MOSQUITTO_SUB } from './lib/hq.mjs';
import { waitLogged } from './lib/proc.mjs';

const SKIP = !MOSQUITTO || !MOSQUITTO_PUB || !MOSQUITTO_SUB ? 'mosquitto and mosquitto-clients are needed' : false;
const STORE = 'relay-1';
const DOWN = `retail/v1/stores/${STORE}/down/update`;
const UP = `retail/v1/stores/${STORE}/up/update`;

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

function tmpDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(async () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

// As the agent writes its report: a temporary file renamed over report.json.
function writeReport(spool, obj) {
  const tmp = path.join(spool, 'report.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(obj));
  fs.renameSync(tmp, path.join(spool, 'report.json'));
}

function report(n, state = 'idle') {
  return { v: 1, store: STORE, offer_id: `ro-${n}`, state, version: '', installed: '0.1.0', n };
}

function offer(id) {
  // storenode does not parse offers (the agent does): any payload shows the relay.
  return JSON.stringify({ v: 1, offer_id: id, version: '9.9.9', url: 'http://127.0.0.1:1/x', pad: 'x'.repeat(5000) });
}

async function relayNode(broker, spool) {
  const n = await startNode({
    storeId: STORE,
    config: {
      mqtt_host: '127.0.0.1', mqtt_port: broker.port, mqtt_reconnect_max_s: 1, update_spool_dir: spool,
    },
  });
  cleanups.push(() => n.cleanup());
  return n;
}

test('offers on down/update land in the spool whole, on every delivery', { skip: SKIP }, async () => {
  const broker = await new Broker().start();
  cleanups.push(() => broker.cleanup());
  const spool = path.join(tmpDir('relay-spool-'), 'spool'); // storenode makes it
  const offerFile = path.join(spool, 'offer.json');

  // Retained before the box connects: it arrives with the subscription.
  await mqttPub(broker.port, DOWN, offer('ro-a'), { retain: true });
  const n = await relayNode(broker, spool);
  await n.waitLog(/msg="update offer spooled"/);
  assert.equal(fs.readFileSync(offerFile, 'utf8'), offer('ro-a'));
  assert.equal(fs.statSync(spool).mode & 0o777, 0o700);

  // The agent takes it (rename), as storenode-update's poll_spool does; a
  // reconnect (the broker restarted with the offer retained again) brings it back.
  fs.renameSync(offerFile, `${offerFile}.taken`);
  const mark = n.log.length;
  await broker.stop();
  await n.waitLog(/msg="mqtt disconnected"/);
  await broker.start(broker.port);
  await mqttPub(broker.port, DOWN, offer('ro-a'), { retain: true });
  await waitLogged(n, 'storenode', /msg="update offer spooled"/, DEFAULT_TIMEOUT, false, mark);
  assert.equal(fs.readFileSync(offerFile, 'utf8'), offer('ro-a'));

  // A newer offer replaces the one not taken yet; no temporary file is left.
  const mark2 = n.log.length;
  await mqttPub(broker.port, DOWN, offer('ro-b'), { retain: true });
  await waitLogged(n, 'storenode', /msg="update offer spooled"/, DEFAULT_TIMEOUT, false, mark2);
  assert.equal(fs.readFileSync(offerFile, 'utf8'), offer('ro-b'));
  assert.deepEqual(fs.readdirSync(spool).sort(), ['offer.json', 'offer.json.taken']);

  // The replication topics still work beside it: nothing else was logged as ignored.
  assert.ok(!n.log.some((l) => /mqtt message ignored/.test(l)), n.log.join('\n'));
});

test('report.json is published retained on up/update: at start, on change, after an outage', { skip: SKIP }, async () => {
  const broker = await new Broker().start();
  cleanups.push(() => broker.cleanup());
  const spool = tmpDir('relay-spool-');
  const isN = (k) => (m) => m.topic === UP && m.json && m.json.n === k;

  writeReport(spool, report(1)); // written while storenode was not running
  let sub = new MqttSub(broker.port, UP);
  cleanups.push(async () => sub.stop());
  const n = await relayNode(broker, spool);
  await sub.waitFor(isN(1), 'the report written before the start');

  writeReport(spool, report(2, 'downloading'));
  await sub.waitFor(isN(2), 'the new report');
  writeReport(spool, report(3, 'committed'));
  await sub.waitFor(isN(3), 'the next report');
  // Retained: a subscriber arriving now gets the last one.
  const late = new MqttSub(broker.port, UP);
  cleanups.push(async () => late.stop());
  await late.waitFor(isN(3), 'the retained report');
  late.stop();

  // The broker goes away; the agent reports meanwhile; the broker comes back
  // empty (no persistence): the report written during the outage goes out.
  sub.stop();
  await broker.stop();
  await n.waitLog(/msg="mqtt disconnected"/);
  writeReport(spool, report(4, 'failed'));
  const mark = n.log.length;
  await broker.start(broker.port);
  sub = new MqttSub(broker.port, UP);
  await waitLogged(n, 'storenode', /msg="mqtt connected"/, DEFAULT_TIMEOUT, false, mark);
  const m = await sub.waitFor(isN(4), 'the report written while the broker was down');
  assert.equal(m.json.state, 'failed');
  assert.equal((await n.http('GET', '/metrics')).status, 200); // still serving
  assert.deepEqual(await n.stop(), { code: 0, signal: null }); // clean (and leak-free under ASan)
});

test('/healthz: the slot VERSION file as version, the compiled one as build', async () => {
  const slot = tmpDir('relay-slot-');
  fs.mkdirSync(path.join(slot, 'bin'));
  const exe = path.join(slot, 'bin', 'storenode');
  fs.copyFileSync(storenodeBin(), exe);
  fs.chmodSync(exe, 0o755);
  const build = execFileSync(storenodeBin(), ['--version'], { encoding: 'utf8' }).split(' ')[1];
  const n = new Node({ storeId: STORE });
  cleanups.push(() => n.cleanup());
  // storenode reads VERSION once at start (a running slot is never rewritten)
  const startFromSlot = async () => {
    const saved = process.env.STORENODE_BIN;
    process.env.STORENODE_BIN = exe;
    try {
      await n.start();
    } finally {
      if (saved === undefined) delete process.env.STORENODE_BIN;
      else process.env.STORENODE_BIN = saved;
    }
    const h = (await n.http('GET', '/healthz')).json;
    const m = (await n.http('GET', '/metrics')).text;
    assert.deepEqual(await n.stop(), { code: 0, signal: null });
    return { h, m };
  };
  fs.writeFileSync(path.join(slot, 'VERSION'), '7.7.7-relay\n');
  let { h, m } = await startFromSlot();
  assert.deepEqual([h.version, h.build], ['7.7.7-relay', build]);
  assert.match(m, /version="7\.7\.7-relay"/, 'the metrics (and heartbeat) carry the firmware version');
  fs.writeFileSync(path.join(slot, 'VERSION'), '1.0"; rm -rf /\n'); // not a version: ignored
  ({ h } = await startFromSlot());
  assert.deepEqual([h.version, h.build], [build, build]);
  fs.rmSync(path.join(slot, 'VERSION'));
  ({ h } = await startFromSlot());
  assert.deepEqual([h.version, h.build], [build, build]);
});

test('an update_spool_dir that is not a directory is refused at start', { skip: SKIP }, async () => {
  const file = path.join(tmpDir('relay-bad-'), 'plain-file');
  fs.writeFileSync(file, 'x');
  const n = new Node({ storeId: STORE, config: { mqtt_host: '127.0.0.1', mqtt_port: 1, update_spool_dir: file } });
  cleanups.push(() => n.cleanup());
  await assert.rejects(n.start(), /exited/);
  assert.equal((await n.exited).code, 1);
  assert.ok(n.log.some((l) => /update_spool_dir/.test(l)), n.log.join('\n'));
});
