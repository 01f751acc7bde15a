// hq_provision.test.mjs - issue 5 wired into hq, end to end with real
// processes: the `hq` provisioning subcommands create the fleet CA, the
// broker's, hq's and the claim certificates and the locked-down broker
// config; a real mosquitto runs that config (TLS, client certificates,
// ACL); hq connects to it over TLS with its own certificate and answers
// provisioning requests; the real box agent (storenode-provision) gets its
// certificate and storenode config, once for a registered serial and once
// for a serial that waits (pending) until POST /api/v1/devices/<serial>/assign;
// then storenode runs on the agent's config and HQ sees the store online.
// The CA key is never served over HTTP.  Every wait is bounded; no sleeps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Broker, HqProcess, MOSQUITTO, freePort, hqBin, hqSkipReason, waitUntil } from './lib/hq.mjs';
import { DEFAULT_TIMEOUT, storenodeBin, withTimeout } from './lib/storenode.mjs';

const AGENT_TIMEOUT = 30000;

function agentBin() {
  if (process.env.PROV_AGENT_BIN) return process.env.PROV_AGENT_BIN;
  return path.join(path.dirname(path.dirname(hqBin())), 'provisioning', 'storenode-provision');
}

function skipReason() {
  const r = hqSkipReason();
  if (r) return r;
  if (!fs.existsSync(agentBin())) return `storenode-provision not built (${agentBin()})`;
  return false;
}

// `hq --config conf <args>`: {code, out, err}.
function hqCmd(conf, ...args) {
  return new Promise((resolve) => {
    execFile(hqBin(), ['--config', conf, ...args], { timeout: DEFAULT_TIMEOUT }, (e, out, err) =>
      resolve({ code: e ? (e.code ?? -1) : 0, out, err }));
  });
}

async function hqOk(conf, ...args) {
  const r = await hqCmd(conf, ...args);
  assert.equal(r.code, 0, `hq ${args.join(' ')} -> ${r.code}\n${r.out}${r.err}`);
  return r.out;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// A spawned process with its stderr kept, and a bounded wait for its exit.
function run(bin, args) {
  const p = { log: '', proc: spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }) };
  p.exited = new Promise((resolve) => p.proc.on('exit', (code, signal) => resolve({ code, signal })));
  p.proc.stderr.setEncoding('utf8');
  p.proc.stderr.on('data', (d) => { p.log += d; });
  return p;
}

function kill(p) {
  if (p && p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
}

// One box: its factory files (CA cert, claim cert + key, token) and the agent config.
function makeBox(dir, serial, token, ca, brokerPort) {
  const bdir = path.join(dir, `box-${serial}`);
  fs.mkdirSync(bdir, { mode: 0o700 });
  fs.writeFileSync(path.join(bdir, 'claim-token'), `${token}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(bdir, 'base.conf'),
    `db_path = ${bdir}/store.db\nhttp_addr = 127.0.0.1\nhttp_port = 0\nkdf_iterations = 1000\n` +
    'heartbeat_s = 1\nmqtt_reconnect_max_s = 1\n');
  const conf = path.join(bdir, 'agent.conf');
  fs.writeFileSync(conf,
    `serial = ${serial}\nclaim_token_file = ${bdir}/claim-token\nca_file = ${ca}/ca.crt\n` +
    `claim_certfile = ${ca}/claim.crt\nclaim_keyfile = ${ca}/claim.key\nbroker_host = 127.0.0.1\n` +
    `broker_port = ${brokerPort}\nstate_dir = ${bdir}/identity\nnode_config = ${bdir}/storenode.conf\n` +
    `node_config_base = ${bdir}/base.conf\nresponse_wait_s = 5\nretry_min_s = 1\nretry_max_s = 2\n` +
    `max_wait_s = 25\nlog_level = debug\n`);
  return { dir: bdir, conf, nodeConf: path.join(bdir, 'storenode.conf') };
}

async function agentDone(a) {
  const e = await withTimeout(a.exited, AGENT_TIMEOUT, `storenode-provision to finish:\n${a.log}`);
  assert.equal(e.code, 0, `storenode-provision exit ${JSON.stringify(e)}:\n${a.log}`);
}

test('hq provisions boxes through its own CA and a TLS broker', { skip: skipReason() }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hq-prov-'));
  const ca = path.join(dir, 'ca');
  const bdir = path.join(dir, 'broker');
  const port = await freePort();
  const admin = path.join(dir, 'admin.conf');
  fs.writeFileSync(admin, `prov_ca_dir = ${ca}\nprov_broker_host = 127.0.0.1\nprov_broker_port = ${port}\n`);
  let broker = null;
  let hq = null;
  const procs = [];
  try {
    // ---- the operator's commands ----
    await hqOk(admin, 'ca-init', 'test fleet CA');
    assert.equal(fs.statSync(path.join(ca, 'ca.key')).mode & 0o777, 0o600);
    assert.notEqual((await hqCmd(admin, 'ca-init')).code, 0, 'a CA is never replaced');
    await hqOk(admin, 'issue-broker', 'localhost', '127.0.0.1');
    await hqOk(admin, 'issue-identity', 'hq');
    await hqOk(admin, 'issue-identity', 'claim');
    assert.equal((await hqCmd(admin, 'issue-identity', 'store-x')).code, 1);
    await hqOk(admin, 'broker-config', bdir);
    await hqOk(admin, 'device-register', 'BOX-1', 'store-p1');
    const tok1 = (await hqOk(admin, 'token-create', 'BOX-1', '--ttl', '600')).trim();
    const tok2 = (await hqOk(admin, 'token-create', '--ttl', '600')).trim();
    assert.match(tok1, /^\S{20,}$/);
    assert.notEqual(tok1, tok2);
    assert.match(await hqOk(admin, 'device-list'), /BOX-1\s+store-p1/);

    // ---- the broker on hq's config (run as us: it must read the broker key) ----
    const conf = path.join(bdir, 'mosquitto.conf');
    assert.match(fs.readFileSync(conf, 'utf8'), /require_certificate true/);
    fs.appendFileSync(conf, `user ${os.userInfo().username}\nlog_dest stderr\nlog_type error\nlog_type warning\n`);
    broker = run(MOSQUITTO, ['-c', conf]);
    await waitUntil(async () => {
      if (broker.proc.exitCode !== null) throw new Error(`mosquitto exited:\n${broker.log}`);
      return canConnect(port);
    }, `mosquitto on ${port}`);

    // ---- hq over TLS with its own certificate, provisioning on ----
    hq = new HqProcess({
      brokerPort: port,
      tokens: [{ token: 'admin-token-0123456789', scopes: 'admin', name: 'ops' }, { token: 'read-token-0123456789', scopes: 'read', name: 'dash' }],
      config: {
        mqtt_cafile: `${ca}/ca.crt`, mqtt_certfile: `${ca}/hq.crt`, mqtt_keyfile: `${ca}/hq.key`,
        mqtt_client_id: 'hq', prov_ca_dir: ca, prov_broker_host: '127.0.0.1', prov_broker_port: port,
        offline_after_s: 5,
      },
    });
    await hq.start();
    await hq.waitLog(/msg="provisioning on"/);
    await hq.waitLog(/msg="mqtt connected"/);

    // ---- the CA key is never served ----
    for (const p of ['/ca.key', '/ca/ca.key', `${ca}/ca.key`, '/www/ca.key', '/api/v1/ca.key', '/ca.key?x=1']) {
      const r = await hq.http('GET', p);
      assert.equal(r.status, 404, `GET ${p} -> ${r.status}`);
      assert.ok(!r.text.includes('PRIVATE KEY'), `GET ${p} served a key`);
    }

    // ---- a registered box provisions ----
    const box1 = makeBox(dir, 'BOX-1', tok1, ca, port);
    const a1 = run(agentBin(), ['--config', box1.conf]);
    procs.push(a1);
    await agentDone(a1);
    const nc = fs.readFileSync(box1.nodeConf, 'utf8');
    assert.match(nc, /store_id = store-p1\n/);
    assert.match(nc, /mqtt_certfile = /);
    assert.match(nc, new RegExp(`mqtt_port = ${port}\\n`));
    await hq.waitLog(/msg="provisioning request" serial=BOX-1 status=issued/);
    assert.match(await hqOk(admin, 'device-list'), /BOX-1\s+store-p1\s+-\s+[0-9a-f]{32}/);

    // ---- the assign endpoint: scope, validation ----
    assert.equal((await hq.http('POST', '/api/v1/devices/BOX-2/assign', { store_id: 'store-p2' },
      { authorization: 'Bearer read-token-0123456789' })).status, 403);
    assert.equal((await hq.http('POST', '/api/v1/devices/BOX-2/assign', { store_id: 'store-p2' },
      { authorization: null })).status, 401);
    assert.equal((await hq.http('POST', '/api/v1/devices/BOX-2/assign', { store_id: 'hq' })).status, 422);
    assert.equal((await hq.http('POST', '/api/v1/devices/BOX-2/assign', {})).status, 422);

    // ---- an unregistered box waits (pending) until HQ assigns it ----
    const box2 = makeBox(dir, 'BOX-2', tok2, ca, port);
    const a2 = run(agentBin(), ['--config', box2.conf]);
    procs.push(a2);
    await hq.waitLog(/msg="provisioning request" serial=BOX-2 status=pending/, AGENT_TIMEOUT);
    const as = await hq.api('POST', '/api/v1/devices/BOX-2/assign', { store_id: 'store-p2' });
    assert.equal(as.serial, 'BOX-2');
    assert.equal(as.store_id, 'store-p2');
    await agentDone(a2);
    assert.match(fs.readFileSync(box2.nodeConf, 'utf8'), /store_id = store-p2\n/);

    // ---- storenode on the agent's config: HQ sees the store online ----
    const node = run(storenodeBin(), ['--config', box1.nodeConf]);
    procs.push(node);
    await waitUntil(async () => {
      if (node.proc.exitCode !== null) throw new Error(`storenode exited:\n${node.log}`);
      const r = await hq.http('GET', '/api/v1/stores/store-p1');
      return r.status === 200 && r.json.online === true;
    }, `store-p1 online at HQ (storenode log:\n${node.log})`, AGENT_TIMEOUT);

    // ---- revocation: the CRL is rewritten, the operator told to restart the broker ----
    const rv = await hqOk(admin, 'device-revoke', 'BOX-2');
    assert.match(rv, /1 certificate\(s\) of BOX-2 revoked/);
    assert.match(rv, /restart the broker/);
    assert.match(await hqOk(admin, 'device-list'), /BOX-2\s+store-p2.* revoked/);

    // a clean stop (under ASan this also checks hq for leaks)
    const e = await hq.stop();
    assert.deepEqual(e, { code: 0, signal: null }, hq.log.join('\n'));
  } finally {
    for (const p of procs) kill(p);
    if (hq) await hq.cleanup();
    if (broker) {
      kill(broker);
      await withTimeout(broker.exited, DEFAULT_TIMEOUT, 'mosquitto to exit').catch(() => {});
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
