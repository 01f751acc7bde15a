// stock.js - the stock list (search, receive, waste, adjust, sold-out) and
// the blind stocktake.
//
// Stocktake modes:  list ──start (manager)──▶ count ──submit──▶ result ──done──▶ list
// While counting, the system figures are not on screen at all (blind count)
// and incoming stock pushes do not redraw the form; the ack of
// stock.stocktake carries the per-SKU variance, shown afterwards.

import { t } from './i18n.js';
import { h, replace, numberDialog, confirmDialog, toast } from './ui.js';
import { commandFailed } from './feedback.js';

const STOCKTAKE_BATCH = 200;   // protocol limit per stock.stocktake command

const FILTERS = {
  all: () => true,
  low: (s) => s.low,
  sold_out: (s) => s.sold_out,
};

// Stock actions: command, what to ask, who may, what the toast says.
const STOCK_ACTIONS = [
  { name: 'receive', cmd: 'stock.receive', manager: false,
    ask: (app, s) => askQty(app, s, 'stock.receive_title'),
    fields: (r) => ({ qty: Number(r.value), ...(r.note ? { note: r.note } : {}) }) },
  { name: 'waste', cmd: 'stock.waste', manager: false,
    ask: (app, s) => askQty(app, s, 'stock.waste_title', { label: t('stock.note_optional'), required: false }),
    fields: (r) => ({ qty: Number(r.value), ...(r.note ? { note: r.note } : {}) }) },
  { name: 'correct', cmd: 'stock.correct', manager: true,
    ask: (app, s) => numberDialog({
      title: t('stock.correct_title', { name: app.skuName(s) }), subtitle: t('stock.correct_hint'),
      min: 1, max: 6, signed: true, note: { label: t('stock.note_required'), required: true },
    }),
    fields: (r) => ({ delta: Number(r.value), note: r.note }) },
];

function askQty(app, s, titleKey, note = null) {
  return numberDialog({ title: t(titleKey, { name: app.skuName(s) }), subtitle: t('stock.qty_hint'), min: 1, max: 6, note });
}

export class StockView {
  constructor(app) {
    this.app = app;
    this.mode = 'list';
    this.filter = 'all';
    this.query = '';
    this.counts = new Map();      // sku -> string typed while counting
    this.results = null;          // variances from the stocktake ack
    this.root = null;
  }

  render(root) {
    this.root = root;
    const modes = { list: () => this.renderList(), count: () => this.renderCount(), result: () => this.renderResult() };
    replace(root, h('div', { class: 'stock' }, modes[this.mode]()));
  }

  // A stock push arrived: redraw, except while counting (blind, and typing).
  onStockChange() {
    if (this.mode === 'list' && this.root && this.root.isConnected) this.renderRows();
  }

  visible() {
    const q = this.query.trim().toLowerCase();
    const match = (s) => !q || [s.sku, s.name, s.name_en].some((v) => v && String(v).toLowerCase().includes(q));
    return this.active()
      .filter((s) => FILTERS[this.filter](s) && match(s))
      .sort((a, b) => (b.low - a.low) || this.app.skuName(a).localeCompare(this.app.skuName(b)));
  }

  // SKUs the catalog still sells (inactive ones are off the list and the count).
  active() {
    return [...this.app.state.stock.values()].filter((s) => s.active !== false);
  }

  toolbar(countMode) {
    const search = h('input', {
      class: 'search', type: 'search', placeholder: t('stock.search'), value: this.query, 'aria-label': t('stock.search'),
      oninput: (e) => { this.query = e.target.value; countMode ? this.renderCountRows() : this.renderRows(); },
    });
    const chips = countMode ? null : h('div', { class: 'chips' }, Object.keys(FILTERS).map((f) => h('button', {
      class: `chip${this.filter === f ? ' on' : ''}`, 'data-filter': f,
      onclick: () => { this.filter = f; this.render(this.root); },
    }, t(`stock.filter_${f}`))));
    const start = !countMode && this.app.isManager()
      ? h('button', { class: 'btn primary', 'data-action': 'stocktake', onclick: () => this.startCount() }, t('stock.stocktake'))
      : null;
    return h('div', { class: 'toolbar' }, search, chips, start);
  }

  // ---- list ----------------------------------------------------------------------

  renderList() {
    this.rows = h('div', { class: 'stock-rows' });
    this.renderRows();
    return [this.toolbar(false), this.rows];
  }

  renderRows() {
    if (!this.rows) return;
    const list = this.visible();
    replace(this.rows,
      h('div', { class: 'stock-row head' },
        ['stock.item', 'stock.on_hand', 'stock.reserved', 'stock.available', 'stock.sold_out', ''].map((k) => h('span', {}, k ? t(k) : ''))),
      list.length ? list.map((s) => this.row(s)) : h('p', { class: 'empty' }, t('stock.empty')));
  }

  row(s) {
    const app = this.app;
    const pending = app.conn.pendingFor((m) => m.sku === s.sku).length > 0;
    return h('div', { class: `stock-row${s.low ? ' low' : ''}${s.sold_out ? ' sold-out' : ''}`, 'data-sku': s.sku },
      h('span', { class: 'stock-name' },
        h('strong', {}, app.skuName(s)),
        h('small', {}, s.sku),
        s.low ? h('span', { class: 'badge warn', 'data-testid': 'low' }, t('stock.low')) : null),
      h('span', { class: 'num' }, String(s.on_hand)),
      h('span', { class: 'num muted' }, String(s.reserved)),
      h('span', { class: 'num big' }, String(s.available)),
      h('span', {}, this.soldOutSwitch(s, pending)),
      h('span', { class: 'row-actions' },
        pending ? h('span', { class: 'pending-note' }, h('span', { class: 'spinner' }), t('order.pending')) : null,
        STOCK_ACTIONS.filter((a) => !a.manager || app.isManager()).map((a) => h('button', {
          class: 'btn small', 'data-action': a.name, disabled: pending, onclick: () => this.run(a, s),
        }, t(`stock.${a.name}`)))));
  }

  soldOutSwitch(s, pending) {
    return h('button', {
      class: `switch${s.sold_out ? ' on' : ''}`, role: 'switch', 'aria-checked': String(Boolean(s.sold_out)),
      'data-action': 'sold-out', disabled: pending,
      title: s.sold_out_auto ? t('stock.sold_out_auto') : '',
      onclick: () => this.toggleSoldOut(s),
    }, h('span', { class: 'knob' }), h('span', { class: 'switch-label' }, s.sold_out ? t('stock.sold_out_on') : t('stock.sold_out_off')));
  }

  async toggleSoldOut(s) {
    const next = !s.sold_out;
    if (next) {
      const ok = await confirmDialog({ title: t('stock.sold_out_title'), message: t('stock.sold_out_confirm', { name: this.app.skuName(s) }), ok: t('stock.sold_out_on'), danger: true });
      if (!ok) return;
    }
    this.send('sku.sold_out', { sku: s.sku, sold_out: next }, s, t('stock.sold_out'));
  }

  async run(action, s) {
    const r = await action.ask(this.app, s);
    if (!r) return;
    const fields = action.fields(r);
    if ((fields.qty !== undefined && !(fields.qty > 0)) || fields.delta === 0) return;
    this.send(action.cmd, { sku: s.sku, ...fields }, s, t(`stock.${action.name}`),
      t(`stock.done_${action.name}`, { name: this.app.skuName(s), n: fields.qty ?? fields.delta }));
  }

  send(cmd, fields, s, what, okText) {
    const { done } = this.app.conn.command(cmd, fields, { sku: s.sku });
    this.renderRows();
    done.then(() => okText && toast(okText, { kind: 'ok', ms: 2500 }), (e) => commandFailed(e, what));
  }

  // ---- blind stocktake ----------------------------------------------------------

  startCount() {
    this.counts = new Map();
    this.query = '';
    this.mode = 'count';
    this.render(this.root);
  }

  renderCount() {
    this.countRows = h('div', { class: 'count-rows' });
    this.progress = h('span', { class: 'progress' });
    this.renderCountRows();
    return [
      h('div', { class: 'notice' }, h('strong', {}, t('stock.blind_title')), ' ', t('stock.blind_hint')),
      this.toolbar(true),
      this.countRows,
      h('div', { class: 'sticky-foot' },
        this.progress,
        h('button', { class: 'btn ghost', 'data-action': 'count-cancel', onclick: () => this.cancelCount() }, t('common.cancel')),
        h('button', { class: 'btn primary', 'data-action': 'count-submit', onclick: () => this.submitCount() }, t('stock.count_submit'))),
    ];
  }

  renderCountRows() {
    const list = this.active()
      .filter((s) => !this.query || [s.sku, s.name, s.name_en].some((v) => v && v.toLowerCase().includes(this.query.toLowerCase())))
      .sort((a, b) => this.app.skuName(a).localeCompare(this.app.skuName(b)));
    replace(this.countRows, list.map((s) => h('label', { class: 'count-row', 'data-sku': s.sku },
      h('span', { class: 'stock-name' }, h('strong', {}, this.app.skuName(s)), h('small', {}, s.sku)),
      h('input', {
        class: 'count-input', type: 'text', inputmode: 'numeric', pattern: '[0-9]*', maxlength: 7,
        placeholder: t('stock.count_placeholder'), value: this.counts.get(s.sku) || '', autocomplete: 'off',
        oninput: (e) => {
          e.target.value = e.target.value.replace(/\D/g, '');
          if (e.target.value) this.counts.set(s.sku, e.target.value);
          else this.counts.delete(s.sku);
          this.updateProgress();
        },
      }))));
    this.updateProgress();
  }

  updateProgress() {
    this.progress.textContent = t('stock.count_progress', { n: this.counts.size, total: this.active().length });
  }

  async cancelCount() {
    if (this.counts.size && !(await confirmDialog({ title: t('stock.count_cancel_title'), message: t('stock.count_cancel_confirm'), ok: t('stock.count_discard'), danger: true }))) return;
    this.mode = 'list';
    this.render(this.root);
  }

  async submitCount() {
    const counts = [...this.counts].map(([sku, v]) => ({ sku, counted: Number(v) }));
    if (!counts.length) return toast(t('stock.count_none'), { kind: 'warn' });
    const missing = this.active().length - counts.length;
    const ok = await confirmDialog({
      title: t('stock.count_submit'),
      message: t('stock.count_confirm', { n: counts.length }) + (missing > 0 ? ` ${t('stock.count_missing', { n: missing })}` : ''),
      ok: t('stock.count_submit'),
    });
    if (!ok) return;
    const submit = this.root.querySelector('[data-action="count-submit"]');
    submit.disabled = true;
    submit.textContent = t('order.pending');
    try {
      const variances = [];
      for (let i = 0; i < counts.length; i += STOCKTAKE_BATCH) {
        const r = await this.app.conn.command('stock.stocktake', { counts: counts.slice(i, i + STOCKTAKE_BATCH) }, { stocktake: true }).done;
        variances.push(...(r.variances || []));
      }
      this.results = variances;
      this.mode = 'result';
      this.render(this.root);
    } catch (e) {
      commandFailed(e, t('stock.stocktake'));
      submit.disabled = false;
      submit.textContent = t('stock.count_submit');
    }
  }

  renderResult() {
    const rows = [...this.results].sort((a, b) => Math.abs(b.variance) - Math.abs(a.variance));
    const net = rows.reduce((n, r) => n + r.variance, 0);
    const name = (sku) => { const s = this.app.state.stock.get(sku); return s ? this.app.skuName(s) : sku; };
    const sign = (n) => (n > 0 ? `+${n}` : String(n));
    return [
      h('h2', { class: 'view-title' }, t('stock.result_title')),
      h('p', { class: 'muted' }, t('stock.result_summary', { n: rows.length, off: rows.filter((r) => r.variance).length, net: sign(net) })),
      h('table', { class: 'table narrow', 'data-testid': 'variances' },
        h('thead', {}, h('tr', {}, ['stock.item', 'stock.system', 'stock.counted', 'stock.variance'].map((k, i) => h('th', { class: i ? 'num' : '' }, t(k))))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-sku': r.sku },
          h('td', {}, name(r.sku)),
          h('td', { class: 'num' }, String(r.system)),
          h('td', { class: 'num' }, String(r.counted)),
          h('td', { class: `num variance ${r.variance < 0 ? 'neg' : r.variance > 0 ? 'pos' : ''}` }, sign(r.variance)))))),
      h('div', { class: 'sticky-foot' },
        h('button', { class: 'btn primary', 'data-action': 'count-done', onclick: () => { this.mode = 'list'; this.render(this.root); } }, t('stock.result_done'))),
    ];
  }
}
