// state.js - what the tablet knows: orders, stock, settings, alerts.
//
// Filled only from server messages (snapshot, order, stock, settings, alert,
// alert.acked); the UI never edits it optimistically: a command shows as
// pending until its ack, and the server's push carries the new state.
// Emits 'change' {what} after each message and 'alert' {alert} for live
// alerts (toasts); alerts inside a snapshot go to the panel silently.
//
// A resume (sync since N) carries the newest state of what changed while the
// tablet was away, but not the alerts raised meanwhile.  While `resuming`,
// an order that turned cancelled or got a new reminder raises the alert
// here, so a Wi-Fi drop never swallows a 催单 or a cancellation.

// Board column of an order, or null once the store is done with it.
const COLUMN_BY_STATUS = {
  dispatched: 'new',
  accepted: 'preparing',
  preparing: 'preparing',
  ready: 'ready',
};
export const COLUMNS = ['new', 'preparing', 'ready', 'rider'];

export function columnOf(o) {
  const col = COLUMN_BY_STATUS[o.status] || null;
  if (col === 'ready' && o.kind === 'delivery') return 'rider';
  return col;
}

// Default targets (seconds) when the store has not set its own (proto/settings.h).
export const DEFAULT_TARGETS = { target_accept_s: 120, target_prep_s: 600, target_wait_s: 300 };

// Which clock runs for an order, and against which target.
const PHASES = {
  dispatched: { from: ['dispatched'], target: 'target_accept_s' },
  accepted: { from: ['accepted'], target: 'target_prep_s' },
  preparing: { from: ['accepted', 'preparing'], target: 'target_prep_s' },
  ready: { from: ['ready'], target: 'target_wait_s' },
};

export function phaseOf(o, settings) {
  const ph = PHASES[o.status];
  if (!ph) return null;
  const m = o.milestones || {};
  const since = ph.from.map((k) => m[k]).find((v) => typeof v === 'number') ?? o.placed_ms;
  const target = (settings && settings[ph.target]) || DEFAULT_TARGETS[ph.target];
  return { since, target_s: target, key: ph.target };
}

// Amber from 75% of the target, red past it.
export const WARN_FRACTION = 0.75;
export function timerLevel(elapsedMs, targetS) {
  if (elapsedMs >= targetS * 1000) return 'late';
  if (elapsedMs >= targetS * 1000 * WARN_FRACTION) return 'warn';
  return 'ok';
}

export function isEnded(o) {
  return columnOf(o) === null;
}

// The short number staff call out: the last 4 characters of the order id.
export function shortId(orderId) {
  return String(orderId).slice(-4);
}

// Latest milestone time: sorts the history list.
export function lastChange(o) {
  const times = Object.values(o.milestones || {}).filter((v) => typeof v === 'number');
  return Math.max(o.placed_ms || 0, ...times);
}

const MAX_ALERTS = 100;

export class State extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  reset() {
    this.orders = new Map();
    this.stock = new Map();
    this.settings = {};
    this.alerts = [];          // newest first: {key, kind, order_id, sku, message, at, read}
    this.ringing = new Set();  // order ids whose new-order alert is not acknowledged
    this.alertSeq = 0;
    this.resuming = false;
    this.changed('all');
  }

  changed(what) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what } }));
  }

  apply(msg) {
    const handler = HANDLERS[msg.type];
    if (handler) handler(this, msg);
  }

  upsertOrder(o) {
    if (!o || !o.order_id) return;
    this.orders.set(o.order_id, o);
    if (o.alerting === true) this.ringing.add(o.order_id);
    else if (o.alerting === false) this.ringing.delete(o.order_id);
  }

  // Orders that should be ringing now: unacknowledged and still new.
  ringingOrders() {
    return [...this.ringing]
      .map((id) => this.orders.get(id))
      .filter((o) => o && o.status === 'dispatched');
  }

  live(a) {
    const alert = this.addAlert(a, false);
    this.dispatchEvent(new CustomEvent('alert', { detail: { alert } }));
  }

  // Alerts a resumed order implies (see the top of this file).
  missedAlerts(before, after) {
    if (!before || !after) return;
    if (after.status === 'cancelled' && before.status !== 'cancelled') {
      this.live({ kind: 'cancelled', order_id: after.order_id });
    }
    if ((after.reminders || 0) > (before.reminders || 0)) {
      this.live({ kind: 'reminder', order_id: after.order_id, message: after.remind_note || '' });
    }
    if (after.conflict && !before.conflict) this.live({ kind: 'conflict', order_id: after.order_id });
  }

  addAlert(a, silent) {
    const alert = { ...a, key: ++this.alertSeq, at: Date.now(), read: silent };
    this.alerts.unshift(alert);
    this.alerts.length = Math.min(this.alerts.length, MAX_ALERTS);
    if (a.kind === 'new_order' && a.order_id) this.ringing.add(a.order_id);
    return alert;
  }

  unread() {
    return this.alerts.filter((a) => !a.read).length;
  }

  markAllRead() {
    for (const a of this.alerts) a.read = true;
    this.changed('alerts');
  }
}

const HANDLERS = {
  snapshot(st, m) {
    const before = st.orders;
    st.orders = new Map();
    for (const o of m.orders || []) {
      st.upsertOrder(o);
      if (st.resuming) st.missedAlerts(before.get(o.order_id), o);
    }
    st.stock = new Map((m.stock || []).map((s) => [s.sku, s]));
    st.settings = m.settings || {};
    // Alerts still open on the box: list them, unread, but no toast storm.
    const known = new Set(st.alerts.map((a) => `${a.kind}|${a.order_id || ''}|${a.sku || ''}`));
    for (const a of m.alerts || []) {
      const k = `${a.kind}|${a.order_id || ''}|${a.sku || ''}`;
      if (!known.has(k)) st.addAlert(a, false);
    }
    st.changed('all');
  },
  order(st, m) {
    const before = m.order && st.orders.get(m.order.order_id);
    st.upsertOrder(m.order);
    if (st.resuming) st.missedAlerts(before, m.order);
    st.changed('orders');
  },
  stock(st, m) {
    if (m.stock && m.stock.sku) st.stock.set(m.stock.sku, m.stock);
    st.changed('stock');
  },
  settings(st, m) {
    st.settings = { ...st.settings, ...(m.settings || {}) };
    st.changed('settings');
  },
  alert(st, m) {
    if (!m.alert || !m.alert.kind) return;
    st.live(m.alert);
    st.changed('alerts');
  },
  'alert.acked'(st, m) {
    st.ringing.delete(m.order_id);
    const o = st.orders.get(m.order_id);
    if (o) o.alerting = false;
    for (const a of st.alerts) if (a.kind === 'new_order' && a.order_id === m.order_id) a.read = true;
    st.changed('alerts');
    st.changed('orders');
  },
};
