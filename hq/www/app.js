// app.js - the HQ dashboard: state, the live loop, rendering and the few
// actions (store filter, SLA metric, language, resolving a conflict,
// halting a firmware rollout, API token).
//
//   startPolling ──(every 2 s: six views + firmware)──▶ state.views ──▶ render()
//        ▲                                                                │
//        └── now() after a filter change, a resolve or a halt ◀───────────┘
//
// window.__hq exposes the state to the browser test (polls, the last
// views, missing i18n keys); nothing else reads it.

import { LANGS, getLang, missing, setLang, t } from './i18n.js';
import { AuthError, getToken, haltRollout, resolveOrder, setToken, startPolling } from './api.js';
import { ago, money, tzLabel } from './format.js';
import * as P from './panels.js';
import { bundleList, rolloutList } from './rollout.js';
import { COLORS, hourlyChart, lagChart, slaChart } from './charts.js';

const $ = (sel) => document.querySelector(sel);
const STORE_KEY = 'hq.store';

const state = {
  store: '',
  metric: 'total',
  views: null,
  polls: 0,
  lastOk: 0,
  error: null,
  retryAt: 0,
  names: new Map(),                 // every store id seen -> name
  authAsked: false,
  rollout: undefined,               // the rollout whose boxes are open ('' none, undefined the newest)
};

let poll = null;
let charts = null;

// ---- static text and header ----------------------------------------------------------------

function applyStatic() {
  document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('#lang').textContent = t('lang.switch');
  $('#logout').hidden = !getToken();
}

function renderFilter() {
  const sel = $('#store-filter');
  const ids = [...state.names.keys()].sort();
  const opts = [`<option value="">${P.esc(t('filter.all'))}</option>`]
    .concat(ids.map((id) => `<option value="${P.esc(id)}">${P.esc(P.label(id, state.names.get(id)))}</option>`));
  const html = opts.join('');
  if (sel.dataset.html !== html) {
    sel.innerHTML = html;
    sel.dataset.html = html;
  }
  sel.value = state.store;
}

function renderLive() {
  const el = $('#live');
  const text = el.querySelector('.text');
  if (state.error && !(state.error instanceof AuthError)) {
    el.dataset.state = 'lost';
    text.textContent = t('live.lost', { s: Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000)) });
  } else if (!state.lastOk) {
    el.dataset.state = 'connecting';
    text.textContent = t('live.connecting');
  } else if (document.visibilityState === 'hidden') {
    el.dataset.state = 'paused';
    text.textContent = t('live.paused');
  } else {
    el.dataset.state = 'ok';
    text.textContent = t('live.ok', { ago: ago(state.lastOk, Date.now()) });
  }
}

// ---- panels --------------------------------------------------------------------------------

function setHtml(sel, html) {
  const el = $(sel);
  if (el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
}

function chartLabels() {
  return {
    today: t('legend.today'),
    yesterday: t('legend.yesterday'),
    target: t('legend.target'),
    lag: t('legend.lag'),
    store: (s) => P.label(s.store, s.name),
  };
}

function renderCharts(v) {
  const lang = getLang();
  const L = chartLabels();
  charts.hourly.update(v.hourly, { ...L, yAxis: t('axis.orders') }, lang);
  charts.sla.update(v.sla.stores, state.metric, { ...L, yAxis: t('axis.minutes') }, lang);
  charts.lag.update(v.fleet.stores, { ...L, yAxis: t('axis.seconds') }, lang);
  setHtml('#l-hourly', P.legend([[L.today, COLORS.today], [L.yesterday, COLORS.yesterday]]));
  setHtml('#l-sla', `<span class="metric-name">${P.esc(t(`metric.${state.metric}_long`))}</span>${P.legend([
    ['P50', COLORS.p50], ['P90', COLORS.p90], ['P99', COLORS.p99], [L.target, COLORS.target, 'ring']])}`);
}

function render() {
  const v = state.views;
  renderLive();
  if (!v) return;
  $('#tz').textContent = tzLabel(v.summary.window.tz_offset_min);
  renderFilter();
  setHtml('#banners', P.banners(v));
  setHtml('#kpis', P.kpis(v));
  setHtml('#b-status', P.statusBars(v));
  setHtml('#sla-tabs', P.slaTabs(state.metric));
  setHtml('#b-sla', P.slaTable(v, state.metric));
  setHtml('#b-stores', P.storesTable(v));
  setHtml('#b-fleet', P.fleetTable(v));
  setHtml('#b-stock', P.stockTable(v, state.names));
  setHtml('#b-conflicts', P.conflictList(v));
  setHtml('#b-rollouts', rolloutList(v, { open: state.rollout, store: state.store }));
  setHtml('#b-bundles', bundleList(v));
  renderCharts(v);
  document.body.dataset.ready = '1';
}

function learnNames(v) {
  for (const s of v.summary.stores) state.names.set(s.store, s.name);
  for (const s of v.fleet.stores) if (!state.names.has(s.store) || s.name) state.names.set(s.store, s.name);
}

// ---- dialogs and toasts ----------------------------------------------------------------------------

function toast(text, tone = '') {
  const el = document.createElement('div');
  el.className = `toast ${tone}`;
  el.textContent = text;
  $('#toasts').append(el);
  setTimeout(() => el.remove(), 5000);
}

function dialog(html, onSubmit) {
  const root = $('#dialogs');
  root.innerHTML = `<div class="scrim"><form class="dialog" method="dialog">${html}</form></div>`;
  const form = root.querySelector('form');
  const close = () => { root.innerHTML = ''; };
  form.addEventListener('click', (e) => { if (e.target.closest('[data-action="close"]')) close(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('[type="submit"]');
    btn.disabled = true;
    try {
      // onSubmit may have replaced this dialog with another (the token prompt).
      if (await onSubmit(new FormData(form), form) && root.contains(form)) close();
    } finally {
      btn.disabled = false;
    }
  });
  const first = form.querySelector('input:not([type="radio"]), input:checked, textarea');
  if (first) first.focus();
  return form;
}

const RESOLUTIONS = ['refund', 'redeliver', 'keep'];

function askResolve(orderId) {
  const item = state.views.conflicts.items.find((x) => x.order_id === orderId);
  if (!item) return;
  const options = RESOLUTIONS.map((r, i) => `<label class="option"><input type="radio" name="resolution" value="${r}"${i ? '' : ' checked'}>
    <span>${P.esc(t(`resolve.${r}`))}</span></label>`).join('');
  dialog(`<h3>${P.esc(t('resolve.title', { order: orderId }))}</h3>
    <p>${P.esc(t('resolve.explain', { store: P.label(item.store, item.name), amount: money(item.total) }))}</p>
    <div class="options" data-dialog="resolve">${options}</div>
    <label class="field"><span>${P.esc(t('resolve.note'))}</span><textarea name="note" rows="2" maxlength="200"></textarea></label>
    <div class="actions"><button type="button" class="btn ghost" data-action="close">${P.esc(t('resolve.cancel'))}</button>
    <button type="submit" class="btn danger" data-action="confirm-resolve">${P.esc(t('resolve.ok'))}</button></div>`,
  async (data) => {
    const resolution = data.get('resolution');
    try {
      await resolveOrder(orderId, resolution, (data.get('note') || '').trim());
    } catch (err) {
      toast(t('resolve.failed', { msg: err.message }), 'error');
      if (err instanceof AuthError) askToken(true);
      return false;
    }
    toast(t('resolve.done', { order: orderId, resolution: t(`resolve.${resolution}`) }), 'ok');
    poll.now();
    return true;
  });
}

function rolloutOf(id) {
  const fw = state.views && state.views.firmware;
  return fw && fw.rollouts ? fw.rollouts.find((r) => r.id === id) : null;
}

// The same flow as resolving: a confirmation, then the command; a token
// without the admin scope (403) shows the error and asks for another.
function askHalt(id) {
  const ro = rolloutOf(id);
  if (!ro) return;
  const form = dialog(`<h3>${P.esc(t('halt.title', { version: ro.version }))}</h3>
    <p>${P.esc(t('halt.explain'))}</p>
    <div class="actions"><button type="button" class="btn ghost" data-action="close">${P.esc(t('halt.cancel'))}</button>
    <button type="submit" class="btn danger" data-action="confirm-halt">${P.esc(t('halt.ok'))}</button></div>`,
  async () => {
    try {
      await haltRollout(id);
    } catch (err) {
      toast(t('halt.failed', { msg: err.message }), 'error');
      if (err instanceof AuthError) askToken(true);
      return false;
    }
    toast(t('halt.done', { version: ro.version }), 'ok');
    poll.now();
    return true;
  });
  form.dataset.dialog = 'halt';
}

function askToken(wrong = false) {
  if ($('#dialogs .dialog[data-dialog="login"]')) return;
  const form = dialog(`<h3>${P.esc(t('login.title'))}</h3><p>${P.esc(t('login.explain'))}</p>
    <label class="field"><input name="token" type="password" autocomplete="current-password" placeholder="${P.esc(t('login.placeholder'))}" required></label>
    ${wrong ? `<p class="error" data-testid="login-error">${P.esc(t('login.wrong'))}</p>` : ''}
    <div class="actions"><button type="submit" class="btn primary">${P.esc(t('login.ok'))}</button></div>`,
  async (data) => {
    setToken(String(data.get('token') || '').trim());
    state.authAsked = false;
    applyStatic();
    poll.now();
    return true;
  });
  form.dataset.dialog = 'login';
}

// ---- wiring ------------------------------------------------------------------------------------------

function onData(views) {
  state.views = views;
  state.polls += 1;
  state.lastOk = Date.now();
  state.error = null;
  learnNames(views);
  render();
}

function onError(err, retryMs) {
  if (err.status === 404 && state.store) { // the filtered store is gone: back to the chain
    state.store = '';
    poll.now();
    return;
  }
  state.error = err;
  state.retryAt = Date.now() + retryMs;
  if (err instanceof AuthError && !state.authAsked) {
    state.authAsked = true;
    askToken(Boolean(getToken()));
  }
  renderLive();
}

function bind() {
  $('#store-filter').addEventListener('change', (e) => {
    state.store = e.target.value;
    try { localStorage.setItem(STORE_KEY, state.store); } catch (err) { /* this page only */ }
    poll.now();
  });
  $('#sla-tabs').addEventListener('click', (e) => {
    const tab = e.target.closest('[data-metric]');
    if (!tab || tab.dataset.metric === state.metric) return;
    state.metric = tab.dataset.metric;
    render();
  });
  $('#lang').addEventListener('click', () => {
    setLang(LANGS[(LANGS.indexOf(getLang()) + 1) % LANGS.length]);
    applyStatic();
    for (const el of document.querySelectorAll('[data-html]')) delete el.dataset.html;
    render();
  });
  $('#logout').addEventListener('click', () => {
    setToken('');
    applyStatic();
    poll.now();
  });
  $('#b-conflicts').addEventListener('click', (e) => {
    const btn = e.target.closest('[data-action="resolve"]');
    if (btn) askResolve(btn.dataset.order);
  });
  $('#b-rollouts').addEventListener('click', (e) => {
    const btn = e.target.closest('[data-action]');
    if (!btn) return;
    if (btn.dataset.action === 'halt') askHalt(btn.dataset.rollout);
    if (btn.dataset.action === 'boxes') {
      state.rollout = btn.getAttribute('aria-expanded') === 'true' ? '' : btn.dataset.rollout;
      render();
    }
  });
}

function main() {
  try { state.store = localStorage.getItem(STORE_KEY) || ''; } catch (err) { state.store = ''; }
  charts = { hourly: hourlyChart($('#c-hourly')), sla: slaChart($('#c-sla')), lag: lagChart($('#c-fleet')) };
  applyStatic();
  bind();
  poll = startPolling({ store: () => state.store, onData, onError });
  setInterval(renderLive, 1000);
  window.__hq = { state, missing, poll };
}

main();
