// board.js - the order board (four columns) and the history list.
//
// Columns: new (dispatched) | preparing (accepted, preparing) | ready
// (pickup/express ready) | rider (delivery ready, waiting for the rider).
// Cards are sorted oldest phase first, so the most urgent is on top.  Each
// card's timer counts from the start of its phase against the store's
// target (state.js phaseOf); tick() updates timers in place every second
// without rebuilding the board.

import { t } from './i18n.js';
import { h, icon, replace, clock, yuan, timeOfDay } from './ui.js';
import { COLUMNS, columnOf, phaseOf, timerLevel, shortId, isEnded, lastChange } from './state.js';
import { primaryAction, orderPending, actionButton, kindBadge, statusBadge, riderLine, openOrder } from './orders.js';

function itemSummary(app, o) {
  return (o.items || []).map((it) => h('span', { class: `line${it.unavailable ? ' unavailable' : ''}` },
    `${app.itemName(it)} ×${it.qty}`));
}

function timerEl(o, settings) {
  const ph = phaseOf(o, settings);
  if (!ph) return null;
  return h('span', { class: 'timer', 'data-since': ph.since, 'data-target': ph.target_s, title: t(`target.${ph.key}`) });
}

function card(app, o) {
  const pending = orderPending(app, o.order_id);
  const action = primaryAction(app, o);
  return h('article', {
    class: `card${pending ? ' pending' : ''}${app.state.ringing.has(o.order_id) && o.status === 'dispatched' ? ' ringing' : ''}`,
    'data-order': o.order_id, 'data-status': o.status, tabindex: 0,
    onclick: () => openOrder(app, o.order_id),
    onkeydown: (e) => e.key === 'Enter' && e.target === e.currentTarget && openOrder(app, o.order_id),
  },
  h('header', { class: 'card-head' },
    h('span', { class: 'order-no' }, `#${shortId(o.order_id)}`),
    kindBadge(o),
    timerEl(o, app.state.settings)),
  o.reminders ? h('p', { class: 'card-remind', 'data-testid': 'reminder' }, icon('bell'), ' ', t('order.reminder_badge', { n: o.reminders })) : null,
  h('div', { class: 'card-items' }, itemSummary(app, o)),
  o.note ? h('p', { class: 'card-note' }, icon('note'), ' ', o.note) : null,
  riderLine(app, o),
  h('footer', { class: 'card-foot' },
    pending
      ? h('span', { class: 'pending-note', 'data-testid': 'pending' }, h('span', { class: 'spinner' }), t('order.pending'))
      : (action ? actionButton(app, action, o, false, 'wide') : null)));
}

const byPhaseStart = (settings) => (a, b) => (phaseOf(a, settings)?.since || 0) - (phaseOf(b, settings)?.since || 0);

export function renderBoard(app, root) {
  const groups = Object.fromEntries(COLUMNS.map((c) => [c, []]));
  for (const o of app.state.orders.values()) {
    const col = columnOf(o);
    if (col) groups[col].push(o);
  }
  const cols = COLUMNS.map((c) => {
    const list = groups[c].sort(byPhaseStart(app.state.settings));
    return h('section', { class: `column col-${c}`, 'data-col': c },
      h('header', { class: 'column-head' },
        h('h2', {}, t(`col.${c}`)),
        h('span', { class: 'count', 'data-testid': 'count' }, String(list.length))),
      h('div', { class: 'column-body' },
        list.length ? list.map((o) => card(app, o)) : h('p', { class: 'empty' }, t('board.empty'))));
  });
  // Keep each column's scroll position across rebuilds.
  const scroll = [...root.querySelectorAll('.column-body')].map((el) => el.scrollTop);
  replace(root, h('div', { class: 'board' }, cols));
  root.querySelectorAll('.column-body').forEach((el, i) => { el.scrollTop = scroll[i] || 0; });
  tick(app, root);
}

// Update every timer under root from the box's clock.
export function tick(app, root) {
  const now = app.conn.now();
  for (const el of root.querySelectorAll('.timer[data-since]')) {
    const elapsed = now - Number(el.dataset.since);
    const level = timerLevel(elapsed, Number(el.dataset.target));
    el.textContent = clock(elapsed);
    if (el.dataset.level !== level) {
      el.dataset.level = level;
      const c = el.closest('.card');
      if (c) c.dataset.level = level;
    }
  }
}

// Orders the store is done with (recent ones the box still sends), newest first.
export function renderHistory(app, root) {
  const list = [...app.state.orders.values()].filter(isEnded).sort((a, b) => lastChange(b) - lastChange(a));
  replace(root, h('div', { class: 'history' },
    h('h2', { class: 'view-title' }, t('history.title')),
    list.length === 0 ? h('p', { class: 'empty' }, t('history.empty')) : h('table', { class: 'table' },
      h('thead', {}, h('tr', {},
        ['history.no', 'history.kind', 'history.status', 'history.time', 'history.items', 'history.total']
          .map((k) => h('th', { class: k === 'history.total' ? 'num' : '' }, t(k))))),
      h('tbody', {}, list.map((o) => h('tr', { 'data-order': o.order_id, 'data-status': o.status, onclick: () => openOrder(app, o.order_id) },
        h('td', { class: 'order-no' }, `#${shortId(o.order_id)}`),
        h('td', {}, kindBadge(o)),
        h('td', {}, statusBadge(o)),
        h('td', {}, timeOfDay(lastChange(o))),
        h('td', { class: 'muted' }, (o.items || []).map((i) => `${app.itemName(i)}×${i.qty}`).join('、')),
        h('td', { class: 'num' }, yuan(o.total))))))));
}
