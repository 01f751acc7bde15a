// scripts/sim/lib.mjs - what setup.mjs and simulate.mjs share: demo.json,
// the chain's catalog, an HQ API client, a tablet WebSocket client, the log,
// a seeded random source.
//
// The npm package `ws` comes from tests/integration/node_modules (installed
// by scripts/lib/deps.sh, retail_npm_install), resolved from that folder so
// scripts/sim needs no node_modules of its own.  fetch is Node's own (>= 18).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
const requireIt = createRequire(path.join(REPO, 'tests', 'integration', 'package.json'));
export const WebSocket = requireIt('ws');

export const TIMEOUT = 10000;

// The chain's menu.  `stock`: tracked SKUs, counted into every store at
// setup (and restocked by the simulated staff); SKUs without it are made to
// order (no stock rows: always available).  `weight`: how often it is bought.
export const CATALOG = [
  { sku: 'latte', name: '生椰拿铁', name_en: 'Coconut latte', price: 1900, weight: 6 },
  { sku: 'americano', name: '美式咖啡', name_en: 'Americano', price: 1500, weight: 5 },
  { sku: 'mocha', name: '摩卡', name_en: 'Mocha', price: 2100, weight: 2 },
  { sku: 'matcha', name: '抹茶拿铁', name_en: 'Matcha latte', price: 2200, weight: 2 },
  { sku: 'croissant', name: '可颂', name_en: 'Croissant', price: 1200, weight: 3, stock: 30, low: 6 },
  { sku: 'bagel', name: '芝士贝果', name_en: 'Cheese bagel', price: 1200, weight: 2, stock: 24, low: 5 },
  { sku: 'sandwich', name: '火腿三明治', name_en: 'Ham sandwich', price: 1800, weight: 2, stock: 16, low: 4 },
  { sku: 'tiramisu', name: '提拉米苏', name_en: 'Tiramisu', price: 2800, weight: 1, stock: 6, low: 2 },
];
export const SKU = Object.fromEntries(CATALOG.map((c) => [c.sku, c]));

export function loadDemo(file) {
  if (!file) throw new Error('usage: node scripts/sim/<script>.mjs <data>/demo.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// ---- log -----------------------------------------------------------------------

// One line per event, "HH:MM:SS what ...", to stdout and appended to the
// simulator's log file; `debug` lines go to the file only.
export class Log {
  constructor(file, { prefix = '' } = {}) {
    this.fd = file ? fs.openSync(file, 'a') : null;
    this.prefix = prefix;
  }

  line(text, { quiet = false } = {}) {
    const ts = new Date().toTimeString().slice(0, 8);
    const s = `${ts} ${this.prefix}${text}\n`;
    if (!quiet) process.stdout.write(s);
    if (this.fd !== null) fs.writeSync(this.fd, s);
  }

  info(text) { this.line(text); }

  debug(text) { this.line(text, { quiet: true }); }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

// ---- random --------------------------------------------------------------------

// mulberry32: small, seeded, good enough to pick customers and delays.
export class Rand {
  constructor(seed) {
    this.seed = seed >>> 0;
    this.s = this.seed;
  }

  next() {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  range(lo, hi) { return lo + (hi - lo) * this.next(); }

  int(lo, hi) { return Math.floor(this.range(lo, hi + 1)); }

  chance(p) { return this.next() < p; }

  pick(list) { return list[Math.floor(this.next() * list.length)]; }

  weighted(list, w = (x) => x.weight) {
    let r = this.next() * list.reduce((s, x) => s + w(x), 0);
    for (const x of list) {
      r -= w(x);
      if (r < 0) return x;
    }
    return list[list.length - 1];
  }
}

// ---- geography -----------------------------------------------------------------

const EARTH_M = 6371008.8; // HQ's mean Earth radius (docs/hq.md)
const rad = (d) => (d * Math.PI) / 180;

export function distanceM(a, b) {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.sqrt(h));
}

// A point `m` metres from `p` in direction `bearing` (radians), flat-earth
// (fine over a few km).
export function offset(p, m, bearing) {
  const dLat = (m * Math.cos(bearing)) / 111320;
  const dLon = (m * Math.sin(bearing)) / (111320 * Math.cos(rad(p.lat)));
  return { lat: +(p.lat + dLat).toFixed(6), lon: +(p.lon + dLon).toFixed(6) };
}

export const km = (m) => `${(m / 1000).toFixed(1)} km`;

// ---- HQ's HTTP API -------------------------------------------------------------

export class Api {
  constructor(base, token) {
    this.base = base.replace(/\/$/, '');
    this.token = token;
  }

  // {status, json, text}; never throws for an HTTP status, only for a
  // network failure or a timeout.
  async call(method, p, body, headers = {}) {
    const h = { accept: 'application/json', authorization: `Bearer ${this.token}`, ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(this.base + p, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text };
  }

  // The JSON of an answer with status `want`, else an Error with the answer.
  async ok(method, p, body, want = 200, headers = {}) {
    const r = await this.call(method, p, body, headers);
    if (r.status !== want) throw new Error(`${method} ${p}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  }
}

// Poll `cond` (async, truthy = done) every 100 ms for at most `ms`.
export async function waitUntil(cond, what, ms = 30000) {
  const end = Date.now() + ms;
  let lastErr = null;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      lastErr = null;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// storenode's Prometheus text: the value of `name` (with `labels`, e.g.
// 'status="completed"'), or null.
export async function metric(port, name, labels = '') {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(TIMEOUT) });
  const text = await res.text();
  const want = labels ? `${name}{` : `${name} `;
  for (const line of text.split('\n')) {
    if (!line.startsWith(want)) continue;
    if (labels && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

// ---- the tablet WebSocket --------------------------------------------------------

// One staff tablet (docs/protocol.md, "Tablet WebSocket"): cmd() sends a
// command and resolves with its ack or error (matched by id); every other
// message goes to onMessage.
export class Tablet {
  constructor(url, name, onMessage = () => {}) {
    this.url = url;
    this.name = name;
    this.onMessage = onMessage;
    this.n = 0;
    this.boot = Math.floor(Math.random() * 2 ** 32).toString(36); // ids unique across runs
    this.answers = new Map();
    this.ws = null;
    this.onClose = () => {};
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.on('message', (data) => {
      let msg;
      try { msg = JSON.parse(data.toString()); } catch { return; }
      if ((msg.type === 'ack' || msg.type === 'error') && msg.id && this.answers.has(msg.id)) {
        const resolve = this.answers.get(msg.id);
        this.answers.delete(msg.id);
        resolve(msg);
        return;
      }
      this.onMessage(msg);
    });
    ws.on('close', (code) => {
      for (const resolve of this.answers.values()) resolve({ type: 'error', code: 'closed', message: `socket closed (${code})` });
      this.answers.clear();
      if (!this.closing) this.onClose(code);
    });
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.url}: no WebSocket after ${TIMEOUT} ms`)), TIMEOUT);
      ws.once('open', () => { clearTimeout(t); resolve(this); });
      ws.once('error', (e) => { clearTimeout(t); reject(new Error(`${this.url}: ${e.message}`)); });
    });
  }

  cmd(type, fields = {}) {
    const id = `${this.name}-${this.boot}-${++this.n}`;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.answers.delete(id);
        resolve({ type: 'error', id, code: 'timeout', message: `no answer to ${type} in ${TIMEOUT} ms` });
      }, TIMEOUT);
      this.answers.set(id, (m) => { clearTimeout(t); resolve(m); });
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  async ok(type, fields = {}) {
    const m = await this.cmd(type, fields);
    if (m.type !== 'ack') throw new Error(`${this.name}: ${type} failed: ${m.code}: ${m.message}`);
    return m.result;
  }

  close() {
    this.closing = true;
    if (this.ws) this.ws.close();
  }
}

export function fmtHours(open, close) {
  if (open === 0 && close === 1440) return '24 h';
  const hm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${hm(open)}-${hm(close)}`;
}
