// app.js - start-up and the frame around the screens: header (navigation,
// connection indicator, pending count, alerts bell, language, staff), the
// offline bar, the new-order banner, and which view is showing.
//
// Data flow:  Connection ──message──▶ State ──change──▶ render (next frame)
//             UI action ──command──▶ Connection (pending until ack)
// Screens:    login  ──login ack──▶  main (board | history | stock | settings)
//             main   ──logout / session expired──▶ login

import { t, getLang, setLang, LANGS } from './i18n.js';
import { Connection } from './ws.js';
import { State } from './state.js';
import { Alarm } from './sound.js';
import { h, icon, replace, toast, timeOfDay } from './ui.js';
import { LoginView } from './login.js';
import { renderBoard, renderHistory, tick } from './board.js';
import { StockView } from './stock.js';
import { SettingsView } from './settings.js';
import { renderBanner, onAlert, openAlertsPanel } from './alerts.js';

const TABLET_KEY = 'storenode.tablet';

function tabletId() {
  let id = localStorage.getItem(TABLET_KEY);
  if (!id || !/^[A-Za-z0-9_.:-]{1,24}$/.test(id)) {
    const a = new Uint8Array(4);
    crypto.getRandomValues(a);
    id = `tab-${Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(TABLET_KEY, id);
  }
  return id;
}

const wsUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

const app = {
  conn: new Connection({ url: wsUrl(), tabletId: tabletId() }),
  state: new State(),
  alarm: new Alarm(),
  view: 'board',
  isManager() {
    return Boolean(this.conn.staff && this.conn.staff.role === 'manager');
  },
  skuName(s) {
    return (getLang() === 'en' && s.name_en) || s.name || s.sku;
  },
  // An order line's name: the catalog's English name when showing English.
  itemName(it) {
    const s = getLang() === 'en' ? this.state.stock.get(it.sku) : null;
    return (s && s.name_en) || it.name || it.sku;
  },
  render() {
    scheduleRender();
  },
};

const login = new LoginView(app);
const stockView = new StockView(app);
const settingsView = new SettingsView(app);

// view name -> how to draw it into #view.  manager: only managers see it.
const VIEWS = {
  board: { render: (root) => renderBoard(app, root), live: true },
  history: { render: (root) => renderHistory(app, root), live: true },
  stock: { render: (root) => stockView.render(root) },
  settings: { render: (root) => settingsView.open(root), manager: true },
};

const $ = (id) => document.getElementById(id);

// ---- frame ---------------------------------------------------------------------

function showLogin() {
  document.body.dataset.screen = 'login';
  replace($('app'),
    h('div', { class: 'login-top' }, connIndicator(), langButton()),
    h('div', { id: 'login-root' }));
  login.render($('login-root'));
}

function showMain() {
  document.body.dataset.screen = 'main';
  if (VIEWS[app.view].manager && !app.isManager()) app.view = 'board';
  replace($('app'),
    header(),
    h('div', { id: 'offline-bar', hidden: true }),
    h('div', { id: 'alert-banner', class: 'banner', role: 'alert', hidden: true }),
    h('main', { id: 'view', 'data-view': app.view }));
  VIEWS[app.view].render($('view'));
  renderLive();
}

function header() {
  const staff = app.conn.staff || {};
  const tabs = Object.entries(VIEWS).filter(([, v]) => !v.manager || app.isManager()).map(([name]) =>
    h('button', { class: `tab${app.view === name ? ' on' : ''}`, 'data-view': name, onclick: () => go(name) }, t(`nav.${name}`)));
  return h('header', { id: 'top' },
    h('div', { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'),
      h('span', { id: 'store-name' }, app.state.settings.name || t('app.title')),
      h('span', { id: 'clock', class: 'muted' })),
    h('nav', { class: 'tabs' }, tabs),
    h('div', { class: 'top-right' },
      h('span', { id: 'pending-count', class: 'pending-pill', hidden: true }),
      connIndicator(),
      h('button', { class: 'icon-btn bell-btn', id: 'bell', 'aria-label': t('alerts.title'), onclick: () => openAlertsPanel(app) },
        icon('bell'), h('span', { class: 'bell-count', id: 'bell-count', hidden: true })),
      langButton(),
      h('span', { class: 'staff-chip' }, h('strong', {}, staff.name || ''), h('small', {}, staff.role ? t(`role.${staff.role}`) : '')),
      h('button', { class: 'btn small ghost', 'data-action': 'logout', onclick: () => app.conn.logout() }, t('nav.logout'))));
}

function connIndicator() {
  return h('span', { id: 'conn', class: 'conn', 'data-state': app.conn.state, role: 'status' },
    h('span', { class: 'conn-dot' }), h('span', { class: 'conn-text' }, t(`conn.${app.conn.state}`)));
}

function langButton() {
  const other = LANGS.find((l) => l !== getLang());
  return h('button', { class: 'btn small ghost lang', 'data-action': 'lang', onclick: () => switchLang(other) }, t(`lang.${other}`));
}

function switchLang(lang) {
  setLang(lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  $('dialogs').replaceChildren();
  if (app.conn.staff) showMain();
  else showLogin();
}

function go(view) {
  app.view = view;
  showMain();
}

// ---- live parts ------------------------------------------------------------------

function updateConn() {
  const el = $('conn');
  if (el) {
    el.dataset.state = app.conn.state;
    el.querySelector('.conn-text').textContent = t(`conn.${app.conn.state}`);
  }
  const bar = $('offline-bar');
  if (!bar) return;
  const down = app.conn.state !== 'connected';
  bar.hidden = !down;
  document.body.dataset.conn = app.conn.state;
  if (down) {
    replace(bar, h('span', {}, t(`conn.bar_${app.conn.state}`)), ' ',
      h('span', { class: 'muted' }, t('conn.bar_queued')),
      h('button', { class: 'btn small', 'data-action': 'retry', onclick: () => app.conn.retryNow() }, t('conn.retry')));
  }
}

function updatePending() {
  const el = $('pending-count');
  if (!el) return;
  const n = app.conn.pending.size;
  el.hidden = n === 0;
  el.textContent = t('pending.count', { n });
}

function updateBell() {
  const el = $('bell-count');
  if (!el) return;
  const n = app.state.unread();
  el.hidden = n === 0;
  el.textContent = String(n);
}

function renderLive() {
  updateConn();
  updatePending();
  updateBell();
  const banner = $('alert-banner');
  if (banner) renderBanner(app, banner);
  const name = $('store-name');
  if (name) name.textContent = app.state.settings.name || t('app.title');
}

let frame = 0;
let dirtyView = false;
function scheduleRender(viewToo = true) {
  dirtyView = dirtyView || viewToo;
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (document.body.dataset.screen !== 'main') return;
    renderLive();
    if (dirtyView && VIEWS[app.view].live) VIEWS[app.view].render($('view'));
    dirtyView = false;
  });
}

function everySecond() {
  const c = $('clock');
  if (c) c.textContent = timeOfDay(app.conn.now());
  const v = $('view');
  if (v) tick(app, v);
  for (const d of $('dialogs').querySelectorAll('[data-dialog="order"]')) tick(app, d);
  if (app.conn.state !== 'connected') updateConn();
}

// ---- wiring ----------------------------------------------------------------------

app.conn.addEventListener('message', (e) => app.state.apply(e.detail));
app.conn.addEventListener('syncing', () => { app.state.resuming = true; });
app.conn.addEventListener('synced', () => { app.state.resuming = false; });
app.conn.addEventListener('state', () => {
  updateConn();
  if (document.body.dataset.screen === 'login') {
    const el = $('conn');
    if (el) el.replaceWith(connIndicator());
  }
});
app.conn.addEventListener('pending', () => {
  scheduleRender();
  if (app.view === 'stock') stockView.onStockChange();
});
app.conn.addEventListener('session', (e) => {
  if (e.detail.staff) {
    app.view = 'board';
    showMain();
    return;
  }
  app.state.reset();
  app.alarm.ring(false);
  $('dialogs').replaceChildren();
  showLogin();
  if (e.detail.reason && e.detail.reason !== 'logout') toast(t('login.session_ended'), { kind: 'warn', sticky: true });
});
app.state.addEventListener('change', (e) => {
  const what = e.detail.what;
  if ((what === 'stock' || what === 'all') && app.view === 'stock') stockView.onStockChange();
  if ((what === 'settings' || what === 'all') && app.view === 'settings') settingsView.onSettingsChange();
  scheduleRender(what !== 'alerts');
});
app.state.addEventListener('alert', (e) => onAlert(app, e.detail.alert));
app.alarm.addEventListener('change', () => scheduleRender(false));

// Tests and support staff can look inside; nothing depends on it.
window.__tablet = app;

document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
document.title = t('app.title');
showLogin();
app.conn.start();
setInterval(everySecond, 1000);
