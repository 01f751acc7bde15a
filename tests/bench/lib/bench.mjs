// lib/bench.mjs - what the storenode *.bench.mjs share: options, a lean
// tablet client, percentiles, /metrics and /proc readers, the JSON line.
//
// The benchmarks start storenode through tests/integration/lib/storenode.mjs
// (temp dir, config, staff, "listening" log line) and talk to it with
// FastTablet, which unlike the integration tests' Tablet keeps no message
// log and parses only what it needs, so the client measures storenode and
// not itself.  Timestamps are performance.now() (monotonic, ms, sub-us).
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import WebSocket from '../../integration/node_modules/ws/wrapper.mjs';

export { performance };

// --storenode BIN --mkdb BIN [--json FILE] plus the bench's own numeric
// options (spec: {name: default}; integers >= 1, or >= 0 where the default
// is 0); unknown options are an error (exit 2).
export function parseArgs(name, spec, usage) {
  const o = { storenode: null, mkdb: null, json: null, ...spec };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const k = a[i].replace(/^--/, '');
    const v = a[i + 1];
    const known = ['storenode', 'mkdb', 'json'].includes(k) || k in spec;
    if (!a[i].startsWith('--') || !known || v === undefined) {
      process.stderr.write(`${name}: bad argument ${a[i]}${v === undefined ? '' : ` ${v}`}\n${usage}`);
      process.exit(2);
    }
    if (k in spec) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < (spec[k] === 0 ? 0 : 1)) {
        process.stderr.write(`${name}: --${k} wants an integer >= ${spec[k] === 0 ? 0 : 1}, got ${v}\n${usage}`);
        process.exit(2);
      }
      o[k] = n;
    } else {
      o[k] = v;
    }
  }
  if (!o.storenode) {
    process.stderr.write(`${name}: --storenode BIN is required\n${usage}`);
    process.exit(2);
  }
  process.env.STORENODE_BIN = o.storenode;
  return o;
}

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length} CPUs, ${cpus[0] ? cpus[0].model : 'unknown'}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
}

// Append one JSON line to --json FILE (if given).
export function writeJson(o, obj) {
  if (o.json) fs.appendFileSync(o.json, `${JSON.stringify(obj)}\n`);
}

export function round(x, digits = 3) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// Percentiles (nearest rank) of an array of numbers.
export function stats(xs) {
  const s = Float64Array.from(xs).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  let sum = 0;
  for (const x of s) sum += x;
  return { n: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1], mean: sum / s.length };
}

export function fmtStats(st, unit = 'ms') {
  return `p50 ${st.p50.toFixed(3)}  p90 ${st.p90.toFixed(3)}  p99 ${st.p99.toFixed(3)}  max ${st.max.toFixed(3)} ${unit}  (n=${st.n})`;
}

export function withTimeout(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// One tablet WebSocket.  cmd() resolves with {msg, t} (the ack or error and
// when it arrived); onMessage(fn) sees every other frame as (text, t).
export class FastTablet {
  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.n = 0;
    this.pending = new Map();
    this.listeners = [];
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (data) => {
      const t = performance.now();
      const text = data.toString();
      if (text.startsWith('{"type":"ack"') || text.startsWith('{"type":"error"')) {
        const msg = JSON.parse(text);
        const p = this.pending.get(msg.id);
        if (p) {
          this.pending.delete(msg.id);
          p({ msg, t });
          return;
        }
      }
      for (const fn of this.listeners) fn(text, t);
    });
  }

  static connect(url, name) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    return withTimeout(new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FastTablet(ws, name)));
      ws.once('error', reject);
    }), 10000, `websocket open ${url}`);
  }

  onMessage(fn) {
    this.listeners.push(fn);
  }

  // Send a command; resolve with its answer and the time it arrived.
  cmd(type, fields = {}) {
    const id = `${this.name}-${++this.n}`;
    const p = new Promise((resolve) => this.pending.set(id, resolve));
    this.ws.send(JSON.stringify({ type, id, ...fields }));
    return p;
  }

  async ok(type, fields = {}) {
    const { msg } = await withTimeout(this.cmd(type, fields), 30000, `answer to ${type} on ${this.name}`);
    if (msg.type !== 'ack') throw new Error(`${type} on ${this.name} failed: ${JSON.stringify(msg)}`);
    return msg.result;
  }

  // Log in as staff member s and sync from scratch; resolves with the
  // snapshot frame's size in bytes and the sync's round trip in ms.
  async loginSync(s) {
    let bytes = 0;
    this.onMessage((text) => {
      if (text.startsWith('{"type":"snapshot"')) bytes = Buffer.byteLength(text);
    });
    await this.ok('login', { tablet: this.name, pin: s.pin });
    const t0 = performance.now();
    await this.ok('sync', { since: 0 });
    return { bytes, ms: performance.now() - t0 };
  }

  close() {
    this.ws.close();
    return withTimeout(this.closed, 10000, `close of ${this.name}`);
  }
}

// /metrics as {name or name{labels}: value}.
export async function metrics(node) {
  const r = await fetch(`${node.base}/metrics`);
  const text = await r.text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

// kB figures of /proc/<pid>/status: VmRSS, VmHWM, RssAnon, RssFile, ...
export function procStatus(pid) {
  const out = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(Vm\w+|Rss\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// Resident kB by mapping of /proc/<pid>/smaps: [heap], [stack], anonymous
// mappings, and each file (shared libraries) by its base name.
export function smapsByMapping(pid) {
  const out = new Map();
  let name = null;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const p = head[1].trim();
      name = p === '' ? '[anon]' : p.startsWith('[') ? p : p.split('/').pop();
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && name) out.set(name, (out.get(name) || 0) + Number(m[1]));
  }
  return [...out.entries()].sort((a, b) => b[1] - a[1]);
}
