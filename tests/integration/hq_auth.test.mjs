// hq_auth.test.mjs - the HTTP API's bearer tokens against a real hq and
// mosquitto (docs/hq.md, docs/security.md "HQ API tokens"):
//
//   - hq has no open mode: without api_tokens_file, with a missing file or
//     one without tokens it refuses to start (exit 2) and says how to make
//     one;
//   - /metrics needs the read scope (401 without a token, 403 with another
//     scope, 200 with read), /healthz is open and tells nothing but
//     liveness; every API path is 401 without a token; the dashboard's
//     files load without one and no other file is served;
//   - `hq api-token` prints a line that hq loads, with the scopes asked for;
//   - SIGHUP reloads the file: a token added works, one removed is 401, a
//     request whose headers came before the reload still runs, and a bad
//     file is logged with its line while the old tokens stay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Broker, HqProcess, hqBin, hqSkipReason, makeToken, tokenLine, waitUntil } from './lib/hq.mjs';
import { DEFAULT_TIMEOUT, withTimeout } from './lib/storenode.mjs';

const SKIP = hqSkipReason();
const TOKENS = [
  makeToken('ops', 'all'),
  makeToken('prom', 'read'),
  makeToken('mall', 'orders'),
  makeToken('meituan', 'rider'),
  makeToken('release', 'admin'),
];
const [OPS, PROM, MALL, RIDER, ADMIN] = TOKENS;

let broker;
let hq;

const as = (t) => ({ authorization: t ? `Bearer ${t.token}` : null });

function run(args) {
  return new Promise((resolve) => {
    execFile(hqBin(), args, { timeout: DEFAULT_TIMEOUT }, (e, stdout, stderr) =>
      resolve({ code: e ? e.code : 0, stdout, stderr }));
  });
}

before(async () => {
  if (SKIP) return;
  broker = await new Broker().start();
  hq = await new HqProcess({ brokerPort: broker.port, tokens: TOKENS }).start();
  await hq.waitLog(/msg="mqtt connected"/);
  await hq.api('PUT', '/api/v1/stores/store-secret-17', { name: 'Secret St', location: { lat: 31.2, lon: 121.4 } });
});

after(async () => {
  if (hq) await hq.cleanup();
  if (broker) await broker.cleanup();
});

// Starting hq with this api_tokens_file (undefined: key absent) fails: exit 2
// and the log line names the key; returns the log.
async function refused(tokensFile, want) {
  const h = new HqProcess({ brokerPort: broker.port, config: { api_tokens_file: tokensFile } });
  try {
    assert.equal(fs.readFileSync(h.configPath, 'utf8').includes('api_tokens_file'), tokensFile !== undefined);
    await assert.rejects(h.start(), /exited/);
    assert.deepEqual(await withTimeout(h.exited, DEFAULT_TIMEOUT, 'hq to exit'), { code: 2, signal: null });
    const line = h.log.find((l) => l.includes('msg="cannot start"'));
    assert.ok(line, h.log.join('\n'));
    assert.match(line, /code=config/);
    assert.match(line, want);
    assert.ok(!h.log.some((l) => l.includes('msg="listening"')), 'nothing was served');
    return line;
  } finally {
    await h.cleanup();
  }
}

test('no tokens file, a missing one or one without tokens: hq refuses to start', { skip: SKIP }, async () => {
  let line = await refused(undefined, /api_tokens_file is not set/);
  assert.match(line, /hq api-token --scopes all --name ops/);
  line = await refused('', /api_tokens_file is not set/);
  const dir = fs.mkdtempSync(path.join(hq.dir, 'files-'));
  await refused(path.join(dir, 'nope'), /api_tokens_file \S+nope: cannot open/);
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '# no tokens yet\n\n');
  line = await refused(empty, /api_tokens_file \S+empty: no tokens/);
  assert.match(line, /hq api-token/);
  const bad = path.join(dir, 'bad');
  fs.writeFileSync(bad, `${OPS.token} all ops\n${OPS.token} read again\n`);
  await refused(bad, /api_tokens_file \S+bad:2: the same token as 'ops'/);
});

test('/metrics needs the read scope: 401 without a token, 403 with another, 200 with read', { skip: SKIP }, async () => {
  let r = await hq.http('GET', '/metrics', undefined, as(null));
  assert.deepEqual([r.status, r.json.error], [401, 'unauthenticated']);
  assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  assert.doesNotMatch(r.text, /hq_/);
  r = await hq.http('GET', '/metrics', undefined, { authorization: 'Bearer not-a-token-0123456789' });
  assert.equal(r.status, 401);
  for (const t of [MALL, RIDER, ADMIN]) {
    r = await hq.http('GET', '/metrics', undefined, as(t));
    assert.deepEqual([r.status, r.json.error, r.json.message], [403, 'forbidden', `token '${t.name}' needs the scope read`]);
  }
  for (const t of [PROM, OPS]) {
    r = await hq.http('GET', '/metrics', undefined, as(t)); // as Prometheus sends it
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^hq_stores 1$/m);
  }
  const unauth = Number(/^hq_http_unauthorized_total (\d+)$/m.exec(r.text)?.[1]);
  assert.ok(unauth >= 2, `hq_http_unauthorized_total ${unauth}`);
  assert.ok(!hq.log.some((l) => TOKENS.some((t) => l.includes(t.token))), 'tokens never reach the log');
});

test('/healthz is open and tells nothing but liveness', { skip: SKIP }, async () => {
  const r = await hq.http('GET', '/healthz', undefined, as(null));
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ['mqtt_connected', 'ok', 'uptime_s']);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.mqtt_connected, true);
  for (const secret of ['store-secret-17', 'Secret', hq.dir, 'hq.db', ...TOKENS.map((t) => t.token)])
    assert.ok(!r.text.includes(secret), `healthz shows ${secret}`);
});

test('every API path is 401 without a token; the dashboard files load, nothing else', { skip: SKIP }, async () => {
  const paths = [
    ['POST', '/api/v1/orders', {}],
    ['GET', '/api/v1/orders/o-1'],
    ['POST', '/api/v1/orders/o-1/cancel', {}],
    ['POST', '/api/v1/orders/o-1/rider', {}],
    ['POST', '/api/v1/orders/o-1/remind', {}],
    ['POST', '/api/v1/orders/o-1/resolve', {}],
    ['GET', '/api/v1/stores'],
    ['GET', '/api/v1/stores/store-secret-17'],
    ['PUT', '/api/v1/stores/store-secret-17', { paused: true }],
    ['PUT', '/api/v1/catalog/cup', { name: 'x', price: 1 }],
    ['POST', '/api/v1/transfers', {}],
    ['GET', '/api/v1/transfers/t-1'],
    ['GET', '/api/v1/views/summary'],
    ['GET', '/api/v1/views/fleet'],
    ['GET', '/api/v1/debug/statehash?store=store-secret-17'],
    ['POST', '/api/v1/devices/BOX-1/assign', {}],
    ['GET', '/api/v1/firmware'],
    ['POST', '/api/v1/firmware', {}],
    ['GET', '/api/v1/rollouts'],
    ['POST', '/api/v1/rollouts', {}],
    ['GET', '/api/v1/rollouts/r-1'],
    ['POST', '/api/v1/rollouts/r-1/halt', {}],
    ['GET', '/metrics'],
  ];
  for (const [method, p, body] of paths) {
    const r = await hq.http(method, p, body, as(null));
    assert.equal(r.status, 401, `${method} ${p}: ${r.status} ${r.text}`);
    assert.ok(!r.text.includes('store-secret-17') && !r.text.includes('Secret'), `${method} ${p} leaks`);
  }
  // The page and its code load without a token (it asks for one) ...
  for (const p of ['/', '/index.html', '/app.js', '/api.js', '/app.css', '/vendor/uPlot.min.css']) {
    const r = await hq.http('GET', p, undefined, as(null));
    assert.equal(r.status, 200, p);
    assert.doesNotMatch(r.headers.get('content-type'), /json/, p);
    assert.ok(!r.text.includes('store-secret-17'), `${p} holds data`);
  }
  // ... and no other file, whatever the name.
  for (const p of ['/hq.db', '/hq.db-wal', '/hq.conf', '/tokens', '/healthz.json', '/metrics.txt', '/stores',
    '/vendor/hq.db', '/vendor/tokens', '/..%2Fhq.conf', '/%2e%2e/tokens', '/www/index.html']) {
    const r = await hq.http('GET', p, undefined, as(null));
    assert.equal(r.status, 404, `${p}: ${r.status}`);
  }
});

test('hq api-token prints a line that hq loads with its scopes', { skip: SKIP }, async () => {
  const made = await run(['api-token', '--scopes', 'READ,orders', '--name', 'mall.web']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^[0-9a-f]{64} orders,read mall\.web\n$/);
  assert.match(made.stderr, /append the line above to api_tokens_file/);
  const again = await run(['api-token', '--scopes', 'all', '--name', 'ops']);
  assert.notEqual(again.stdout.slice(0, 64), made.stdout.slice(0, 64));
  for (const [args, want] of [
    [['api-token', '--scopes', 'orders,fly', '--name', 'x'], /--scopes 'orders,fly'/],
    [['api-token', '--scopes', 'read', '--name', 'two words'], /--name 'two words'/],
    [['api-token', '--scopes', 'read'], /--name missing/],
    [['api-token', '--name', 'x'], /--scopes missing/],
    [['api-token', '--scopes', 'read', '--name', 'x', '--bogus'], /unexpected '--bogus'/],
  ]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, want);
    assert.equal(r.stdout, '');
  }
  // The printed line is the whole tokens file of a new hq.
  const h = new HqProcess({ brokerPort: broker.port, tokens: [] });
  try {
    fs.writeFileSync(h.tokensPath, `# hq api-token\n${made.stdout}`);
    await h.start();
    const tok = { token: made.stdout.slice(0, 64), name: 'mall.web' };
    assert.equal((await h.http('GET', '/metrics', undefined, as(tok))).status, 200);
    assert.equal((await h.http('GET', '/api/v1/stores/none', undefined, as(tok))).status, 404);
    assert.equal((await h.http('PUT', '/api/v1/stores/s-1', { paused: true }, as(tok))).status, 403);
    assert.equal((await h.http('GET', '/metrics', undefined, as(null))).status, 401);
    assert.ok(h.log.some((l) => /msg="listening".* tokens=1/.test(l)));
  } finally {
    await h.cleanup();
  }
});

// hq_http_requests_total: every request counts when its headers are in.
async function requestsSeen(h, tok) {
  const r = await h.http('GET', '/metrics', undefined, as(tok));
  assert.equal(r.status, 200, r.text);
  return Number(/^hq_http_requests_total (\d+)$/m.exec(r.text)[1]);
}

// A POST on a raw socket: headers now, the body when send() is called;
// .answer resolves to the status line's code once hq closes.
function slowPost(port, p, tok, body) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  let text = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => { text += d; });
  const answer = new Promise((resolve, reject) => {
    sock.on('error', reject);
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), text }));
  });
  sock.write(`POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tok.token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
  return { answer, send: () => sock.write(body) };
}

test('SIGHUP reloads the tokens file: add and revoke without a restart, a bad file keeps the old tokens', { skip: SKIP }, async () => {
  const A = makeToken('alpha', 'orders,read');
  const B = makeToken('beta', 'read');
  const h = await new HqProcess({ brokerPort: broker.port, tokens: [A] }).start();
  // Write the file, SIGHUP, and wait for the line saying how it went.
  const reload = async (text, want) => {
    const from = h.log.length;
    fs.writeFileSync(h.tokensPath, text);
    h.proc.kill('SIGHUP');
    return h.waitLog(want, DEFAULT_TIMEOUT, true, from);
  };
  const status = async (t) => (await h.http('GET', '/metrics', undefined, as(t))).status;
  try {
    assert.equal(await status(B), 401);
    let line = await reload(`${tokenLine(A)}\n${tokenLine(B)}\n`, /msg="api tokens reloaded"/);
    assert.match(line, /tokens=2 was=1/);
    assert.deepEqual([await status(B), await status(A)], [200, 200]);

    // An order whose headers (token A) are in when A is revoked: it was
    // authorised, so it runs: {} is refused for its content (422), not 401.
    const before = await requestsSeen(h, A);
    const post = slowPost(h.port, '/api/v1/orders', A, '{}');
    await waitUntil(async () => (await requestsSeen(h, B)) >= before + 2, 'the slow POST\'s headers at hq');
    line = await reload(`# alpha revoked\n${tokenLine(B)}\n`, /msg="api tokens reloaded"/);
    assert.match(line, /tokens=1 was=2/);
    post.send();
    const late = await withTimeout(post.answer, DEFAULT_TIMEOUT, 'the slow POST\'s answer');
    assert.equal(late.status, 422, late.text);
    assert.match(late.text, /"field":"idempotency_key"/);
    assert.deepEqual([await status(A), await status(B)], [401, 200]);

    // A bad line, then a file without tokens: logged with file:line, old tokens kept.
    line = await reload(`${tokenLine(B)}\n${A.token} fly alpha\n`, /msg="api tokens not reloaded/);
    assert.match(line, /level=error/);
    assert.ok(line.includes(`${h.tokensPath}:2: scopes`), line);
    assert.match(line, /tokens=1 /);
    assert.deepEqual([await status(B), await status(A)], [200, 401]);
    line = await reload('# nothing here\n', /msg="api tokens not reloaded/);
    assert.ok(line.includes(`${h.tokensPath}: no tokens`), line);
    assert.equal(await status(B), 200);
    fs.rmSync(h.tokensPath);
    const from = h.log.length;
    h.proc.kill('SIGHUP');
    line = await h.waitLog(/msg="api tokens not reloaded.*cannot open/, DEFAULT_TIMEOUT, true, from);
    assert.equal(await status(B), 200);

    assert.equal(h.proc.exitCode, null, 'hq keeps running');
    assert.ok(!h.log.some((l) => l.includes(A.token) || l.includes(B.token)), 'tokens never reach the log');
    assert.deepEqual(await h.stop(), { code: 0, signal: null });
  } finally {
    await h.cleanup();
  }
});
