// api.js - talking to hq: the six views, the firmware registry and
// rollouts, the resolve and halt commands, the token, and the live loop.
//
// Live updates are plain polling: every INTERVAL ms all six views are
// fetched in parallel (one consistent snapshot each, see hq/views.h),
// together with the firmware registry and the newest rollouts (each with
// its boxes), and handed to the page together.  The firmware part fails on
// its own: the rollout panel says so and the other panels stay live.  Polling survives proxies, restarts of hq
// and sleeping laptops with no reconnect logic; the views are small.  A
// failed round backs off (2, 4, 8, 10 s) and says so on the page; a hidden
// tab polls every HIDDEN_INTERVAL ms.  Rounds never overlap.

export const VIEWS = ['summary', 'hourly', 'sla', 'stock', 'fleet', 'conflicts'];
export const INTERVAL = 2000;
export const ROLLOUTS_SHOWN = 5;    // the newest rollouts fetched with their boxes
const HIDDEN_INTERVAL = 15000;
const BACKOFF_MAX = 10000;
const TIMEOUT = 8000;
const TOKEN_KEY = 'hq.token';

export class AuthError extends Error {}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch (e) {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch (e) {
    // private mode: asked again next time
  }
}

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT);
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: ctl.signal, cache: 'no-store' });
  } finally {
    clearTimeout(timer);
  }
  let json = null;
  try {
    json = await res.json();
  } catch (e) {
    json = null;
  }
  if (res.status === 401 || res.status === 403) throw new AuthError((json && json.message) || res.statusText);
  if (!res.ok) {
    const err = new Error((json && json.message) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return json;
}

export function viewPath(name, store) {
  return `/api/v1/views/${name}${store ? `?store=${encodeURIComponent(store)}` : ''}`;
}

// The registered bundles and the newest rollouts with their boxes (docs/hq.md,
// "Firmware and rollouts"): {bundles, rollouts (newest first), total}.  The
// list is oldest first; every rollout still moving is fetched even when it
// is older than the newest ROLLOUTS_SHOWN.  A rollout gone between the two
// requests is left out.
export async function fetchFirmware() {
  const [fw, ro] = await Promise.all([call('GET', '/api/v1/firmware'), call('GET', '/api/v1/rollouts')]);
  const list = (ro && ro.rollouts) || [];
  const newest = new Set(list.slice(-ROLLOUTS_SHOWN).map((r) => r.id));
  const wanted = list.filter((r) => newest.has(r.id) || r.status === 'running' || r.status === 'halting');
  const details = await Promise.all(wanted.map((r) => call('GET', `/api/v1/rollouts/${encodeURIComponent(r.id)}`)
    .catch((err) => { if (err.status === 404) return null; throw err; })));
  const rollouts = details.filter(Boolean).sort((a, b) => (b.created_ms || 0) - (a.created_ms || 0));
  return { bundles: (fw && fw.firmware) || [], rollouts, total: list.length };
}

// All six views for the store filter ('' = chain): {summary, hourly, ...},
// plus firmware: fetchFirmware()'s answer or {error} when that part failed.
export async function fetchViews(store) {
  const fwPart = fetchFirmware().catch((err) => ({ error: err.message || String(err), auth: err instanceof AuthError }));
  const [all, firmware] = await Promise.all([Promise.all(VIEWS.map((v) => call('GET', viewPath(v, store)))), fwPart]);
  const out = {};
  VIEWS.forEach((v, i) => { out[v] = all[i]; });
  out.firmware = firmware;
  return out;
}

export function resolveOrder(orderId, resolution, note) {
  const body = { resolution };
  if (note) body.note = note;
  return call('POST', `/api/v1/orders/${encodeURIComponent(orderId)}/resolve`, body);
}

// Stop offering a rollout to more boxes (admin scope).
export function haltRollout(id) {
  return call('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/halt`);
}

// The live loop.  onData(views) after each good round, onError(err, retryMs)
// after a failed one; now() runs a round at once (after a filter change or
// a command).
export function startPolling({ store, onData, onError }) {
  let timer = null;
  let running = false;
  let again = false;
  let failures = 0;
  const hidden = () => typeof document !== 'undefined' && document.visibilityState === 'hidden';

  async function round() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    let wait = hidden() ? HIDDEN_INTERVAL : INTERVAL;
    try {
      onData(await fetchViews(store()));
      failures = 0;
    } catch (err) {
      failures += 1;
      wait = Math.min(BACKOFF_MAX, INTERVAL * 2 ** (failures - 1));
      onError(err, wait);
    }
    running = false;
    if (again) {
      again = false;
      wait = 0;
    }
    timer = setTimeout(round, wait);
  }

  if (typeof document !== 'undefined') {
    document.addEventListener('visibilitychange', () => { if (!hidden()) round(); });
  }
  round();
  return { now: round };
}

// A link printed by scripts/demo may carry the token as #token=...: adopt it
// like a typed one and drop it from the address bar (and the history).
(function adoptHashToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
})();
