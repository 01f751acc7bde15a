// alerts.js - what staff must not miss: the new-order banner and chime,
// toasts for live alerts, and the alerts panel (bell in the header).
//
// The chime rings while any new order is unacknowledged (state.ringingOrders).
// "Acknowledge" sends alert.ack for each; the box then tells every tablet
// (alert.acked) and all of them fall silent.  Accepting an order also stops
// its ringing, since only orders still 'dispatched' ring.

import { t } from './i18n.js';
import { h, icon, replace, toast, timeOfDay } from './ui.js';
import { shortId } from './state.js';
import { openOrder } from './orders.js';
import { commandFailed } from './feedback.js';

// How each alert kind is surfaced.  sticky: stays until tapped; chime: plays once.
const ALERT_KINDS = {
  new_order: { toast: false },
  reminder: { kind: 'error', sticky: true, chime: true },
  cancelled: { kind: 'error', sticky: true, chime: true },
  conflict: { kind: 'error', sticky: true, chime: true },
  waste: { kind: 'warn', sticky: true },
  low_stock: { kind: 'warn', ms: 10000 },
  sold_out: { kind: 'warn', ms: 8000 },
};

export function alertText(app, a) {
  const sku = a.sku ? app.state.stock.get(a.sku) : null;
  const name = sku ? app.skuName(sku) : a.sku || '';
  const base = t(`alert.${a.kind}`, { id: a.order_id ? shortId(a.order_id) : '', sku: name });
  // The box's message often is just the name again; add it only if it says more.
  return a.message && !base.includes(a.message) ? `${base} — ${a.message}` : base;
}

// A live alert arrived (not from a snapshot).
export function onAlert(app, a) {
  const how = ALERT_KINDS[a.kind] || { kind: 'info' };
  if (how.toast === false) return;
  toast(alertText(app, a), {
    kind: how.kind, sticky: how.sticky, ms: how.ms, title: t(`alertkind.${a.kind}`),
    onOpen: a.order_id && app.state.orders.has(a.order_id) ? () => openOrder(app, a.order_id) : null,
  });
  if (how.chime) app.alarm.once();
}

function ackAll(app, orders) {
  for (const o of orders) {
    if (app.conn.pendingFor((m) => m.ack === o.order_id).length) continue;
    const { done } = app.conn.command('alert.ack', { order_id: o.order_id }, { ack: o.order_id });
    done.catch((e) => commandFailed(e, t('banner.ack')));
  }
  app.render();
}

// The banner above the board while new orders ring.  Also keeps the chime
// in step with the state.
export function renderBanner(app, root) {
  const ringing = app.state.ringingOrders();
  app.alarm.ring(ringing.length > 0);
  document.body.dataset.ringing = ringing.length ? '1' : '0';
  if (!ringing.length) {
    replace(root);
    root.hidden = true;
    return;
  }
  const acking = ringing.some((o) => app.conn.pendingFor((m) => m.ack === o.order_id).length);
  root.hidden = false;
  replace(root,
    h('div', { class: 'banner-text' },
      h('span', { class: 'bell' }, icon('bell')),
      h('strong', {}, t('banner.new_orders', { n: ringing.length })),
      ringing.map((o) => h('button', { class: 'chip', onclick: () => openOrder(app, o.order_id) }, `#${shortId(o.order_id)}`))),
    app.alarm.blocked
      ? h('button', { class: 'btn ghost', 'data-action': 'enable-sound', onclick: () => { app.alarm.once(); } }, t('banner.enable_sound'))
      : null,
    h('button', { class: 'btn ack', 'data-action': 'ack-alert', disabled: acking, onclick: () => ackAll(app, ringing) },
      acking ? t('banner.acking') : t('banner.ack')));
}

export function openAlertsPanel(app) {
  const panel = h('aside', { class: 'panel', role: 'dialog', 'aria-label': t('alerts.title'), 'data-dialog': 'alerts' });
  const overlay = h('div', { class: 'overlay right', onclick: (e) => e.target === overlay && close() }, panel);
  const close = () => {
    app.state.removeEventListener('change', render);
    overlay.remove();
  };
  const render = () => {
    const list = app.state.alerts;
    replace(panel,
      h('header', { class: 'dialog-head' },
        h('h2', {}, t('alerts.title')),
        h('button', { class: 'icon-btn', onclick: close, 'aria-label': t('common.close'), 'data-action': 'close' }, '✕')),
      list.length === 0 ? h('p', { class: 'empty' }, t('alerts.empty')) : h('ul', { class: 'alert-list' },
        list.map((a) => h('li', { class: `alert-item kind-${a.kind}${a.read ? '' : ' unread'}`, 'data-kind': a.kind },
          h('span', { class: 'alert-time' }, timeOfDay(a.at)),
          h('div', {},
            h('strong', {}, t(`alertkind.${a.kind}`)),
            h('p', {}, alertText(app, a))),
          a.order_id && app.state.orders.has(a.order_id)
            ? h('button', { class: 'btn small ghost', onclick: () => { close(); openOrder(app, a.order_id); } }, t('alerts.open'))
            : null))));
  };
  document.getElementById('dialogs').append(overlay);
  app.state.addEventListener('change', render);
  render();
  app.state.markAllRead();
}
