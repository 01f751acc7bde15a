// orders.js - what staff can do to an order, and the order detail dialog.
//
// ORDER_ACTIONS is the one table of order actions: which command it sends,
// when it applies (status, kind, rider), what it must ask first (a code, a
// reason, a courier) and whether only a manager may do it.  The board's big
// button is the first applicable non-secondary action of the list.

import { t } from './i18n.js';
import { h, icon, replace, modal, numberDialog, chooseDialog, formDialog, confirmDialog, toast, yuan, timeOfDay } from './ui.js';
import { isEnded, shortId } from './state.js';
import { commandFailed } from './feedback.js';

const riderArrived = (o) => Boolean(o.milestones && o.milestones.rider_arrived);
const before = (statuses) => (o) => statuses.includes(o.status);
const HANDED_OFF = ['shipped', 'picked_up', 'completed', 'delivered'];

const askCode = (titleKey) => async (o) => {
  const r = await numberDialog({
    title: t(titleKey, { id: shortId(o.order_id) }),
    subtitle: t('order.code_hint'),
    min: 3, max: 12, enterLabel: t('keypad.verify'),
  });
  return r && { code: r.value };
};

const askReject = async (o) => {
  const reason = await chooseDialog({
    title: t('order.reject_title', { id: shortId(o.order_id) }),
    message: t('order.reject_hint'),
    options: ['busy', 'sold_out', 'closed', 'other'].map((v) => ({ value: v, label: t(`reject.${v}`) })),
  });
  return reason && { reason };
};

const askShip = async (o) => {
  const r = await formDialog({
    title: t('order.ship_title', { id: shortId(o.order_id) }),
    ok: t('act.ship'),
    fields: [
      { name: 'courier', label: t('order.courier'), required: true, maxlength: 90 },
      { name: 'tracking', label: t('order.tracking'), required: true, maxlength: 63, pattern: /^[A-Za-z0-9_.:-]{1,63}$/ },
    ],
  });
  return r && { courier: r.courier, tracking: r.tracking };
};

const askCancel = async (o) => {
  const r = await formDialog({
    title: t('order.cancel_title', { id: shortId(o.order_id) }),
    ok: t('act.cancel'),
    fields: [{ name: 'reason', label: t('order.cancel_reason'), required: true, maxlength: 200 }],
  });
  return r && { reason: r.reason };
};

export const ORDER_ACTIONS = [
  { name: 'accept', cmd: 'order.accept', kind: 'primary', when: before(['dispatched']) },
  { name: 'prepare', cmd: 'order.prepare', kind: 'primary', when: before(['accepted']) },
  { name: 'ready', cmd: 'order.ready', kind: 'primary', when: before(['preparing']) },
  { name: 'complete', cmd: 'order.complete', kind: 'primary', ask: askCode('order.pickup_title'),
    when: (o) => o.kind === 'pickup' && o.status === 'ready' },
  { name: 'ship', cmd: 'order.ship', kind: 'primary', ask: askShip,
    when: (o) => o.kind === 'express' && o.status === 'ready' },
  { name: 'handoff', cmd: 'order.handoff', kind: 'primary', ask: askCode('order.handoff_title'),
    when: (o) => o.kind === 'delivery' && o.status === 'ready' && riderArrived(o) },
  { name: 'rider_arrived', cmd: 'order.rider_arrived', kind: 'primary',
    when: (o) => o.kind === 'delivery' && before(['accepted', 'preparing', 'ready'])(o) && !riderArrived(o) },
  { name: 'reject', cmd: 'order.reject', kind: 'danger', secondary: true, ask: askReject,
    when: before(['dispatched']) },
  { name: 'cancel', cmd: 'order.cancel', kind: 'danger', secondary: true, manager: true, ask: askCancel,
    when: (o) => !isEnded(o) && !HANDED_OFF.includes(o.status) },
];

export function actionsFor(app, o) {
  return ORDER_ACTIONS.filter((a) => a.when(o) && (!a.manager || app.isManager()));
}

export function primaryAction(app, o) {
  return actionsFor(app, o).find((a) => !a.secondary) || null;
}

export function orderPending(app, orderId) {
  return app.conn.pendingFor((m) => m.order_id === orderId).length > 0;
}

// Ask what the action needs, send the command; errors become toasts.
export async function runAction(app, action, o) {
  const extra = action.ask ? await action.ask(o) : {};
  if (!extra) return;
  const { done } = app.conn.command(action.cmd, { order_id: o.order_id, ...extra },
    { order_id: o.order_id, action: action.name });
  try {
    await done;
    if (action.ask) toast(t(`done.${action.name}`, { id: shortId(o.order_id) }), { kind: 'ok', ms: 2500 });
  } catch (e) {
    commandFailed(e, t(`act.${action.name}`));
  }
}

export async function markUnavailable(app, o, item) {
  const ok = await confirmDialog({
    title: t('order.unavailable_title'),
    message: t('order.unavailable_confirm', { name: item.name, id: shortId(o.order_id) }),
    ok: t('order.mark_unavailable'),
    danger: true,
  });
  if (!ok) return;
  const { done } = app.conn.command('order.item_unavailable', { order_id: o.order_id, sku: item.sku },
    { order_id: o.order_id, action: 'item_unavailable' });
  done.catch((e) => commandFailed(e, t('order.mark_unavailable')));
}

export function actionButton(app, action, o, pending, extraClass = '') {
  return h('button', {
    class: `btn ${action.kind} ${extraClass}`, 'data-action': action.name, disabled: pending,
    onclick: (e) => { e.stopPropagation(); runAction(app, action, o); },
  }, t(`act.${action.name}`));
}

// ---- parts shared by the card and the detail -------------------------------------

// kind is null while only later events of an order have arrived (not yet its dispatch).
export function kindBadge(o) {
  return o.kind ? h('span', { class: `badge kind-${o.kind}` }, t(`kind.${o.kind}`)) : null;
}

export function statusBadge(o) {
  return h('span', { class: `badge status-${o.status}` }, t(`status.${o.status}`));
}

export function riderLine(app, o) {
  if (o.kind !== 'delivery') return null;
  const r = o.rider;
  if (riderArrived(o)) {
    return h('p', { class: 'rider arrived' }, icon('rider'), t('rider.arrived', { name: r && r.name ? r.name : t('rider.rider') }));
  }
  if (!r || !r.name) return h('p', { class: 'rider muted' }, icon('rider'), t('rider.unassigned'));
  const eta = r.eta_ms ? Math.round((r.eta_ms - app.conn.now()) / 60000) : null;
  const etaText = eta === null ? t('rider.eta_unknown')
    : eta <= 0 ? t('rider.eta_due', { time: timeOfDay(r.eta_ms) })
      : t('rider.eta', { time: timeOfDay(r.eta_ms), min: eta });
  return h('p', { class: 'rider' }, icon('rider'), `${r.name}${r.phone_tail ? ` · ${r.phone_tail}` : ''} · `, etaText);
}

// ---- detail dialog -------------------------------------------------------------------

const MILESTONE_ORDER = ['dispatched', 'accepted', 'preparing', 'ready', 'rider_assigned', 'rider_arrived',
  'shipped', 'picked_up', 'completed', 'delivered', 'rejected', 'cancelled'];

function itemRows(app, o) {
  const canMark = !isEnded(o);
  const unavailable = new Set((o.items || []).filter((i) => i.unavailable).map((i) => i.sku));
  return h('table', { class: 'items' },
    h('tbody', {}, (o.items || []).map((it) => h('tr', { class: unavailable.has(it.sku) ? 'unavailable' : '', 'data-sku': it.sku },
      h('td', { class: 'qty' }, `×${it.qty}`),
      h('td', { class: 'name' }, app.itemName(it),
        unavailable.has(it.sku) ? h('span', { class: 'badge danger' }, t('order.unavailable')) : null),
      h('td', { class: 'price' }, yuan(it.price * it.qty)),
      h('td', { class: 'item-act' }, canMark && !unavailable.has(it.sku)
        ? h('button', { class: 'btn small ghost', 'data-action': 'item-unavailable', onclick: () => markUnavailable(app, o, it) },
          t('order.mark_unavailable'))
        : null)))),
    h('tfoot', {}, h('tr', {}, h('td', {}), h('td', {}, t('order.total')), h('td', { class: 'price' }, yuan(o.total)), h('td', {}))));
}

function infoList(app, o) {
  const row = (label, value, cls) => (value ? [h('dt', {}, label), h('dd', { class: cls || '' }, value)] : []);
  return h('dl', { class: 'info' },
    row(t('order.customer'), [o.customer, o.phone_tail ? ` (${t('order.phone_tail')} ${o.phone_tail})` : ''].join('')),
    row(t('order.note'), o.note, 'note'),
    row(t('order.reminders'), o.reminders ? t('order.reminded_n', { n: o.reminders }) : '', 'alert-text'),
    row(t('order.remind_note'), o.remind_note, 'alert-text'),
    row(t('order.rider'), o.kind === 'delivery' ? riderLine(app, o) : null),
    row(t('order.shipment'), o.shipment ? `${o.shipment.courier} · ${o.shipment.tracking}` : ''),
    row(t('order.reject_reason'), o.reject_reason ? t(`reject.${o.reject_reason}`) : ''),
    row(t('order.cancel_info'), o.cancel ? [t(`cancelby.${o.cancel.by}`), o.cancel.reason].filter(Boolean).join(' · ') : '', 'alert-text'),
    row(t('order.conflict'), o.conflict ? t('order.conflict_text') : '', 'alert-text'),
    row(t('order.waste'), o.waste ? t('order.waste_text') : '', 'alert-text'));
}

function timeline(o) {
  const m = o.milestones || {};
  return h('ol', { class: 'timeline' }, MILESTONE_ORDER.filter((k) => typeof m[k] === 'number')
    .map((k) => h('li', {}, h('span', { class: 'tl-time' }, timeOfDay(m[k])), t(`milestone.${k}`))));
}

export function openOrder(app, orderId) {
  const body = h('div', { class: 'order-detail' });
  const render = () => {
    const o = app.state.orders.get(orderId);
    if (!o) return replace(body, h('p', {}, t('order.gone')));
    const pending = orderPending(app, orderId);
    m.el.querySelector('.dialog-head h2').textContent =
      [`#${shortId(o.order_id)}`, o.kind ? t(`kind.${o.kind}`) : null, t(`status.${o.status}`)].filter(Boolean).join(' · ');
    replace(body,
      h('div', { class: 'detail-grid' },
        h('div', {}, itemRows(app, o)),
        h('div', {}, infoList(app, o), timeline(o))),
      h('div', { class: 'detail-actions' },
        pending ? h('span', { class: 'pending-note' }, h('span', { class: 'spinner' }), t('order.pending')) : null,
        actionsFor(app, o).map((a) => actionButton(app, a, o, pending, 'big'))));
  };
  const off = () => {
    app.state.removeEventListener('change', render);
    app.conn.removeEventListener('pending', render);
  };
  const m = modal({ title: '', body, wide: true, testid: 'order', onClose: off });
  m.el.dataset.order = orderId;
  app.state.addEventListener('change', render);
  app.conn.addEventListener('pending', render);
  render();
  return m;
}
