// http.test.mjs - the program around the loop: command line, config errors,
// signals, static files, /metrics, /healthz and the dev event API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startNode, Node, STAFF, storenodeBin, Tablet, withTimeout } from './lib/storenode.mjs';

let n;
let www;

before(async () => {
  n = new Node({});
  www = path.join(n.dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(www, 'app.js'), 'export const x = 1;\n');
  fs.appendFileSync(n.configPath, `www_dir = "${www}"\n`);
  for (const s of STAFF) n.staffSet(s);
  await n.start();
});

after(async () => {
  await n.cleanup();
});

function cli(args, opts = {}) {
  return spawnSync(storenodeBin(), args, { encoding: 'utf8', timeout: 10000, ...opts });
}

test('--help lists every config key with its range and default; --version', () => {
  const h = cli(['--help']);
  assert.equal(h.status, 0);
  for (const key of ['store_id', 'db_path', 'http_addr', 'http_port', 'www_dir', 'max_skew_ms',
    'group_commit_ms', 'group_commit_max', 'ws_max_message', 'ws_rate', 'ws_burst', 'session_ttl_s',
    'lockout_attempts', 'lockout_s', 'kdf_iterations', 'log_level', 'dev_inject', 'auto_accept_tick_ms']) {
    assert.match(h.stdout, new RegExp(`^  ${key} `, 'm'), key);
  }
  assert.match(h.stdout, /http_port +integer 0\.\.65535, default 8080/);
  assert.match(h.stdout, /dev_inject +bool, default false/);
  const v = cli(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^storenode \d+\.\d+\.\d+/);
  assert.equal(cli(['--bogus']).status, 2);
  assert.equal(cli(['frobnicate']).status, 2);
});

test('config errors name the file, line and key; exit status 2', () => {
  const cases = [
    ['colour = blue', /:2: unknown key 'colour'/],
    ['http_port = 70000', /:2: http_port: 70000 out of range 0\.\.65535/],
    ['http_port = 80x', /:2: http_port: '80x' is not an integer/],
    ['dev_inject = maybe', /:2: dev_inject: 'maybe' is not a boolean/],
    ['log_level = loud', /:2: log_level: 'loud' is not one of/],
    ['store_id = has space', /:2: store_id: 'has space' is not an id/],
    ['ws_rate = 0', /:2: ws_rate: 0 out of range/],
    ['just words', /:2: expected 'key = value'/],
    ['db_path = "unterminated', /:2: db_path: unterminated quote/],
    ['ws_burst = 10\nws_burst = 20', /:3: ws_burst: already set on line 2/],
  ];
  for (const [line, re] of cases) {
    const f = path.join(n.dir, 'bad.conf');
    fs.writeFileSync(f, `# a comment\n${line}\n`);
    const r = cli(['--config', f]);
    assert.equal(r.status, 2, line);
    assert.match(r.stderr, re, line);
    assert.ok(r.stderr.includes('bad.conf'), 'names the file');
  }
  assert.equal(cli(['--config', path.join(n.dir, 'missing.conf')]).status, 2);
});

test('comments, quotes and --print-config round-trip', () => {
  const f = path.join(n.dir, 'ok.conf');
  fs.writeFileSync(f, '# store box\n\nstore_id = store-42   # trailing comment\ndb_path = "/tmp/a #b.db"\nws_rate=20\ndev_inject = yes\n');
  const r = cli(['--config', f, '--print-config']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^store_id = "store-42"$/m);
  assert.match(r.stdout, /^db_path = "\/tmp\/a #b\.db"$/m);
  assert.match(r.stdout, /^ws_rate = 20$/m);
  assert.match(r.stdout, /^dev_inject = true$/m);
  const g = path.join(n.dir, 'printed.conf');
  fs.writeFileSync(g, r.stdout);
  assert.equal(cli(['--config', g, '--print-config']).stdout, r.stdout);
});

test('staff-set validates its arguments', () => {
  assert.equal(cli(['--config', n.configPath, 'staff-set', 's-x', 'X', 'boss', '1234']).status, 2);
  assert.equal(cli(['--config', n.configPath, 'staff-set', 's-x', 'X', 'clerk', '12']).status, 2);
  assert.equal(cli(['--config', n.configPath, 'staff-set', 's x', 'X', 'clerk', '1234']).status, 2);
  assert.equal(cli(['--config', n.configPath, 'staff-set', 's-x']).status, 2);
});

test('the web app is served from www_dir at /', async () => {
  const r = await n.http('GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.equal(r.text, '<!doctype html><title>t</title>');
  const js = await n.http('GET', '/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await n.http('GET', '/nope.js')).status, 404);
});

test('only /ws upgrades to a WebSocket', async () => {
  await assert.rejects(Tablet.connect(`ws://127.0.0.1:${n.port}/other`));
  const t = await Tablet.connect(n.wsUrl);
  await t.ok('ping');
  await t.close();
});

test('/healthz and /metrics', async () => {
  const h = await n.http('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.json.ok, true);
  assert.equal(h.json.store, n.storeId);
  const t = await n.loggedIn(STAFF[0], 'tab-m');
  await n.inject([n.hq.catalog('latte', 'L', 100), n.hq.dispatch('o-m1'), n.hq.dispatch('o-m2')]);
  await t.ok('order.accept', { order_id: 'o-m1' });
  const m = await n.http('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const expect = [
    /^# TYPE storenode_orders gauge$/m,
    /^storenode_orders\{status="dispatched"\} 1$/m,
    /^storenode_orders\{status="accepted"\} 1$/m,
    /^storenode_outbox_depth [1-9]\d*$/m,
    /^storenode_tablets_connected 1$/m,
    /^# TYPE storenode_commit_seconds summary$/m,
    /^storenode_commit_seconds_count [1-9]\d*$/m,
    /^storenode_commit_seconds_sum \d+\.\d+$/m,
    /^storenode_events_total\{source="local"\} [1-9]\d*$/m,
    /^storenode_events_total\{source="remote"\} 3$/m,
    /^process_resident_memory_bytes [1-9]\d*$/m,
    /^storenode_build_info\{version="\d+\.\d+\.\d+",store="store-it"\} 1$/m,
  ];
  for (const re of expect) assert.match(m.text, re);
  // Replication figures (node_repl_stats_get) are there even with replication
  // off (no mqtt_host here): enabled 0 tells "off" from "disconnected".
  const repl = {
    storenode_repl_enabled: 'gauge', storenode_repl_connected: 'gauge', storenode_repl_hq_ready: 'gauge',
    storenode_repl_batches_sent_total: 'counter', storenode_repl_events_sent_total: 'counter',
    storenode_repl_retransmits_total: 'counter', storenode_repl_batches_received_total: 'counter',
    storenode_repl_events_received_total: 'counter', storenode_repl_batches_rejected_total: 'counter',
    storenode_repl_acks_received_total: 'counter', storenode_repl_mqtt_dropped_total: 'counter',
  };
  for (const [name, type] of Object.entries(repl)) {
    assert.match(m.text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    assert.match(m.text, new RegExp(`^${name} 0$`, 'm'), name);
  }
  // Every sample line is `name{labels} value` of a declared metric.
  const declared = new Set([...m.text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]));
  for (const line of m.text.split('\n').filter((l) => l && !l.startsWith('#'))) {
    const name = line.split(/[ {]/)[0].replace(/_(sum|count)$/, '');
    assert.ok(declared.has(name), line);
    assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?\d+(\.\d+)?$/, line);
  }
  await t.close();
});

test('dev API: event envelopes in, 200 after commit; errors are 4xx with a code', async () => {
  const t = await n.loggedIn(STAFF[1], 'tab-dev');
  const from = t.mark();
  const ev = n.hq.dispatch('o-dev1');
  const r = await n.http('POST', '/api/dev/events', ev);
  assert.equal(r.status, 200);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.events, 1);
  const live = await t.waitFor((m) => m.type === 'order' && m.order.order_id === 'o-dev1', { from });
  assert.equal(live.feed, r.json.feed, 'the answer comes after the commit that the tablets see');
  // The same event again: a duplicate changes nothing.
  const dup = await n.http('POST', '/api/dev/events', [ev]);
  assert.equal(dup.status, 200);
  assert.equal(dup.json.feed, r.json.feed);
  const bad = await n.http('POST', '/api/dev/events', '{"v":1,');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'bad_json');
  const missing = n.hq.dispatch('o-dev2');
  delete missing.body.items;
  const mr = await n.http('POST', '/api/dev/events', [n.hq.dispatch('o-dev3'), missing]);
  assert.equal(mr.status, 400);
  assert.equal(mr.json.error, 'bad_request');
  assert.match(mr.json.message, /^\[1\]: .*items/);
  const skew = n.hq.dispatch('o-dev4');
  skew.hlc = ((BigInt(Date.now()) + 3600000n) << 16n).toString();
  const sr = await n.http('POST', '/api/dev/events', skew);
  assert.equal(sr.status, 409);
  assert.equal(sr.json.error, 'clock_skew');
  const other = n.hq.dispatch('o-dev5');
  other.store = 'store-elsewhere';
  assert.equal((await n.http('POST', '/api/dev/events', other)).status, 400);
  assert.equal((await n.http('GET', '/api/dev/events')).status, 405);
  assert.equal((await n.http('POST', '/api/v1/other', {})).status, 404);
  await t.close();
});

test('dev API is off unless dev_inject = true', async () => {
  const m = await startNode({ config: { dev_inject: false } });
  try {
    const r = await m.http('POST', '/api/dev/events', m.hq.dispatch('o-x'));
    assert.equal(r.status, 404);
  } finally {
    await m.cleanup();
  }
});

test('SIGINT and SIGTERM: commit, close, exit 0', async () => {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    const m = await startNode();
    try {
      await m.inject([m.hq.catalog('latte', 'L', 100)]);
      const t = await m.loggedIn(STAFF[0], 'tab-sig');
      await t.ok('stock.receive', { sku: 'latte', qty: 3 });
      const exit = await m.stop(sig);
      assert.deepEqual(exit, { code: 0, signal: null }, sig);
      await m.waitLog(/msg="stopped"/);
      await withTimeout(t.closed, 10000, 'socket closed by the shutdown');
      await m.start();
      const t2 = await m.loggedIn(STAFF[0], 'tab-sig2');
      assert.equal(t2.messages.find((x) => x.type === 'snapshot').stock[0].on_hand, 3);
      await t2.close();
    } finally {
      await m.cleanup();
    }
  }
});

// Under a sanitizer build the exit status also depends on LeakSanitizer,
// which runs at exit: a leak makes it exit 1 (ASan's exitcode, the same as
// ours) or, with abort_on_error=1 as scripts/test sets, abort (status null,
// SIGABRT).  So the status alone does not say which happened: say it.
test('a second storenode on the same port fails to start with a clear error', () => {
  const f = path.join(n.dir, 'clash.conf');
  fs.writeFileSync(f, `db_path = "${path.join(n.dir, 'clash.db')}"\nhttp_port = ${n.port}\n`);
  const r = cli(['--config', f], { timeout: 10000 });
  const why = `status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''}; stderr:\n${r.stderr}`;
  assert.doesNotMatch(r.stderr, /Sanitizer/, why);
  assert.equal(r.status, 1, why);
  assert.match(r.stderr, /msg="cannot start".*cannot listen/);
});
