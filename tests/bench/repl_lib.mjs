// repl_lib.mjs - what the replication benchmarks (repl_*.bench.mjs) share:
// options, repl_load runs, /metrics readers, percentiles, the JSON line.
//
// Each bench is started by the wrapper tests/bench/CMakeLists.txt generates:
//   node repl_X.bench.mjs --storenode BIN --hq BIN --load BIN --mkdb BIN [--json FILE] [--opt N ...]
// It starts a real mosquitto and hq (and storenode) through
// tests/integration/lib (temp dirs, free ports, "listening" log lines).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

// Parse the wrapper's paths plus the bench's numeric options (spec:
// {name: default}); sets STORENODE_BIN/HQ_BIN for tests/integration/lib.
export function parseArgs(name, spec, usage) {
  const o = { storenode: null, hq: null, load: null, mkdb: null, json: null, ...spec };
  const a = process.argv.slice(2);
  const fail = (msg) => {
    process.stderr.write(`${name}: ${msg}\n${usage}`);
    process.exit(2);
  };
  for (let i = 0; i < a.length; i += 2) {
    const k = a[i].replace(/^--/, '');
    const v = a[i + 1];
    if (!a[i].startsWith('--') || v === undefined || !(k in o)) fail(`bad argument ${a[i]}`);
    if (k in spec) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) fail(`--${k} wants a number >= 0, got ${v}`);
      o[k] = n;
    } else {
      o[k] = v;
    }
  }
  for (const k of ['storenode', 'hq', 'load']) if (!o[k]) fail(`--${k} BIN is required`);
  process.env.STORENODE_BIN = o.storenode;
  process.env.HQ_BIN = o.hq;
  return o;
}

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length} CPUs, ${cpus[0] ? cpus[0].model : 'unknown'}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
}

export function writeJson(o, obj) {
  if (o.json) fs.appendFileSync(o.json, `${JSON.stringify(obj)}\n`);
}

export function round(x, digits = 3) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// Nearest-rank percentiles.
export function stats(xs) {
  const s = Float64Array.from(xs).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  let sum = 0;
  for (const x of s) sum += x;
  return { n: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1], mean: sum / s.length };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Run repl_load with args; resolves with its JSON line.  A long-running
// mode (steady) can be stopped with the returned child's kill('SIGTERM').
export function runLoad(o, args, { timeoutMs = 600000 } = {}) {
  const child = spawn(o.load, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      if (code !== 0) return reject(new Error(`repl_load ${args.join(' ')}: exit ${code ?? signal}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`repl_load ${args[0]}: no JSON in ${JSON.stringify(out)}: ${e.message}`));
      }
    });
  });
  return { child, done };
}

// A Prometheus text page as {name or name{labels}: value}.
export function parseMetrics(text) {
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return m;
}

export async function hqMetrics(hq) {
  return parseMetrics((await hq.http('GET', '/metrics')).text);
}

export async function nodeMetrics(node) {
  return parseMetrics((await node.http('GET', '/metrics')).text);
}

// The fixed-delay poll the benches use where there is no event to wait on
// (a counter in /metrics): short against the seconds being measured.
export const POLL_MS = 10;
export function pause(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
