// panels.js - the dashboard's panels as HTML, from the views' JSON
// (hq/views.h has the definitions of every figure).  Pure: each function
// takes the views and returns markup, so app.js decides when to render.
//
// Test hooks: every figure the browser test compares with the API carries
// data-* attributes with the raw value next to the formatted text.

import { t, getLang } from './i18n.js';
import { ago, clock, dur, int, money, moneyShort, pct, secs } from './format.js';

export const METRICS = ['accept', 'prep', 'rider_wait', 'total'];
const STATUS_ORDER = ['dispatched', 'accepted', 'preparing', 'ready', 'shipped', 'picked_up',
  'delivered', 'completed', 'cancelled', 'rejected'];
const STATUS_TONE = {
  dispatched: 'new', accepted: 'open', preparing: 'open', ready: 'open', shipped: 'done',
  picked_up: 'done', delivered: 'done', completed: 'done', cancelled: 'bad', rejected: 'bad',
};
const STOCK_COLUMNS_MAX = 12;

export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function label(id, name) {
  return name || id;
}

export function storeCell(id, name, extra = '') {
  const main = label(id, name);
  return `<span class="store-name">${extra}${esc(main)}</span>${name ? `<span class="store-id">${esc(id)}</span>` : ''}`;
}

export function none() {
  return `<span class="none">${esc(t('common.none'))}</span>`;
}

function more(total, shown) {
  return total > shown ? `<p class="more">${esc(t('common.more', { n: total - shown }))}</p>` : '';
}

// ---- KPIs and banners ---------------------------------------------------------------------

function kpi(key, text, value, sub, tone = '') {
  const long = text.length > 10 ? ' long' : '';
  return `<div class="kpi ${tone}${long}" data-kpi="${key}" data-value="${esc(value)}">
    <div class="label">${esc(t(`kpi.${key}`))}</div>
    <div class="value">${esc(text)}</div>
    <div class="kpi-sub">${esc(sub)}</div>
  </div>`;
}

// "自提 186 · 外卖 83": the kinds that had orders today.
function kinds(byKind) {
  const parts = Object.entries(byKind).filter(([, n]) => n > 0).map(([k, n]) => `${t(`kind.${k}`)} ${int(n)}`);
  return parts.length ? parts.join(' · ') : t('common.none');
}

export function kpis(v) {
  const c = v.summary.chain;
  const f = v.fleet;
  const online = f.stores_total - f.by_state.offline;
  const lagging = f.by_state.lagging + f.by_state.stale;
  return [
    kpi('sales', money(c.sales), c.sales, t('kpi.sales_sub', { n: int(c.handed_off) }), 'brand'),
    kpi('orders', int(c.orders), c.orders, kinds(c.by_kind)),
    kpi('open', int(c.open), c.open, t('kpi.open_sub', { n: c.by_status.dispatched })),
    kpi('ended', `${int(c.cancelled)} / ${int(c.rejected)}`, `${c.cancelled}/${c.rejected}`,
      t('kpi.ended_sub', { p: pct(c.cancelled + c.rejected, c.orders) })),
    kpi('conflicts', int(v.conflicts.total), v.conflicts.total,
      v.conflicts.total ? t('kpi.conflicts_sub', { amount: money(v.conflicts.amount) }) : t('kpi.conflicts_sub_none'),
      v.conflicts.total ? 'danger' : ''),
    kpi('online', `${online} / ${f.stores_total}`, `${online}/${f.stores_total}`,
      t('kpi.online_sub', { off: f.by_state.offline, lag: lagging }),
      f.by_state.offline ? 'warn' : ''),
  ].join('');
}

export function banners(v) {
  const out = [];
  if (v.conflicts.total) {
    out.push(`<div class="banner danger" data-banner="conflicts"><span>${esc(t('banner.conflicts', { n: v.conflicts.total }))}</span>
      <a href="#p-conflicts">${esc(t('banner.goto'))}</a></div>`);
  }
  if (v.fleet.by_state.offline) {
    out.push(`<div class="banner warn" data-banner="offline"><span>${esc(t('banner.offline', { n: v.fleet.by_state.offline }))}</span>
      <a href="#p-fleet">${esc(t('banner.goto'))}</a></div>`);
  }
  return out.join('');
}

// ---- orders by status ------------------------------------------------------------------------

export function statusBars(v) {
  const by = v.summary.chain.by_status;
  const max = Math.max(1, ...STATUS_ORDER.map((s) => by[s] || 0));
  return `<ul class="bars">${STATUS_ORDER.map((s) => {
    const n = by[s] || 0;
    return `<li data-status="${s}" data-value="${n}" class="${n ? '' : 'zero'}">
      <span class="name">${esc(t(`status.${s}`))}</span>
      <span class="track"><span class="fill tone-${STATUS_TONE[s]}" style="width:${(100 * n) / max}%"></span></span>
      <span class="num">${int(n)}</span></li>`;
  }).join('')}</ul>`;
}

// ---- SLA -----------------------------------------------------------------------------------------

function slaCell(p, metric, id) {
  if (!p.n) return `<td class="sla none-cell" data-store="${esc(id)}" data-metric="${metric}" data-n="0">${none()}</td>`;
  const over = p.target && p.p90 > p.target;
  const title = over ? ` title="${esc(t('sla.breach', { target: dur(p.target) }))}"` : '';
  return `<td class="sla${over ? ' over' : ''}" data-store="${esc(id)}" data-metric="${metric}" data-n="${p.n}" data-p50="${p.p50}" data-p90="${p.p90}" data-p99="${p.p99}"${title}>
    <span class="p90">${dur(p.p90)}</span><span class="p-rest">P50 ${dur(p.p50)} · P99 ${dur(p.p99)}</span></td>`;
}

export function slaTable(v, metric) {
  const s = v.sla;
  const head = METRICS.map((m) => `<th class="num${m === metric ? ' sel' : ''}">${esc(t(`metric.${m}`))} <small>P90</small></th>`).join('');
  const n = (x) => x.accept.n;
  const chain = `<tr class="chain" data-store=""><td>${esc(t('sla.chain'))}</td><td class="num">${int(n(s.chain))}</td>
    ${METRICS.map((m) => slaCell(s.chain[m], m, '')).join('')}</tr>`;
  const rows = s.stores.map((x) => `<tr data-store="${esc(x.store)}"><td>${storeCell(x.store, x.name)}</td><td class="num">${int(n(x))}</td>
    ${METRICS.map((m) => slaCell(x[m], m, x.store)).join('')}</tr>`).join('');
  if (!s.stores.length) return `<p class="empty">${esc(t('sla.none'))}</p>`;
  return `<table class="table sla-table"><thead><tr><th>${esc(t('col.store'))}</th><th class="num">${esc(t('col.n'))}</th>${head}</tr></thead>
    <tbody>${s.stores.length > 1 || v.summary.window.store === null ? chain : ''}${rows}</tbody></table>${more(s.stores_total, s.stores.length)}`;
}

export function slaTabs(metric) {
  return METRICS.map((m) => `<button type="button" role="tab" class="tab${m === metric ? ' sel' : ''}" data-metric="${m}" aria-selected="${m === metric}">${esc(t(`metric.${m}`))}</button>`).join('');
}

// ---- stores ------------------------------------------------------------------------------------------

export function storesTable(v) {
  const s = v.summary;
  if (!s.stores.length) return `<p class="empty">${esc(t('fleet.none'))}</p>`;
  const top = Math.max(1, ...s.stores.map((x) => x.sales));
  const rows = s.stores.map((x) => {
    const c = x;
    const share = `<span class="share"><i style="width:${Math.round((100 * Math.max(0, c.sales)) / top)}%"></i></span>`;
    const avg = c.handed_off ? moneyShort(c.sales / c.handed_off) : t('common.none');
    const dot = `<i class="dot ${x.online ? 'on' : 'off'}"></i>`;
    return `<tr data-store="${esc(x.store)}" data-sales="${c.sales}" data-orders="${c.orders}">
      <td>${storeCell(x.store, x.name, dot)}</td>
      <td class="num strong">${money(c.sales)}${share}</td><td class="num">${int(c.orders)}</td>
      <td class="num">${int(c.handed_off)}</td><td class="num">${int(c.open)}</td>
      <td class="num">${int(c.cancelled)}</td><td class="num muted">${esc(avg)}</td></tr>`;
  }).join('');
  const cols = ['sales', 'orders', 'handed_off', 'open', 'cancelled', 'avg'];
  return `<table class="table"><thead><tr><th>${esc(t('col.store'))}</th>${cols.map((c) => `<th class="num">${esc(t(`col.${c}`))}</th>`).join('')}</tr></thead>
    <tbody>${rows}</tbody></table>${more(s.stores_total, s.stores.length)}`;
}

// ---- fleet ----------------------------------------------------------------------------------------------

export function lagText(ms) {
  return ms < 60000 ? t('unit.s', { n: secs(ms) }) : dur(ms);
}

export function fleetTable(v) {
  const f = v.fleet;
  const now = f.window.now_ms;
  if (!f.stores.length) return `<p class="empty">${esc(t('fleet.none'))}</p>`;
  const rows = f.stores.map((x) => {
    const behind = x.behind ? `<span class="sub warn-text">${esc(t('fleet.behind', { n: x.behind }))}</span>` : '';
    const skew = Math.abs(x.clock_skew_ms) >= 2000 ? ` title="${esc(t('fleet.skew', { s: secs(x.clock_skew_ms) }))}"` : '';
    return `<tr data-store="${esc(x.store)}" data-state="${x.state}" data-lag="${x.lag_ms}">
      <td>${storeCell(x.store, x.name)}</td>
      <td><span class="pill st-${x.state}">${esc(t(`fleet.${x.state}`))}</span></td>
      <td class="num muted"${skew}>${esc(ago(x.last_seen_ms, now))}</td>
      <td class="num">${esc(lagText(x.lag_ms))}${behind}</td>
      <td class="num">${int(x.outbox_depth)}</td><td class="num">${int(x.down_pending)}</td>
      <td>${x.version ? `<code>${esc(x.version)}</code>` : none()}</td></tr>`;
  }).join('');
  const cols = ['lag', 'outbox', 'down'];
  return `<table class="table"><thead><tr><th>${esc(t('col.store'))}</th><th>${esc(t('col.state'))}</th><th class="num">${esc(t('col.last_seen'))}</th>
    ${cols.map((c) => `<th class="num">${esc(t(`col.${c}`))}</th>`).join('')}<th>${esc(t('col.version'))}</th></tr></thead>
    <tbody>${rows}</tbody></table>${more(f.stores_total, f.stores.length)}`;
}

// ---- stock ------------------------------------------------------------------------------------------------

function skuName(k) {
  return getLang() === 'en' && k.name_en ? k.name_en : k.name || k.sku;
}

function stockCell(c) {
  if (!c) return `<td class="cell-none">${none()}</td>`;
  const cls = !c.active ? 'inactive' : c.sold_out ? 'sold-out' : c.low ? 'low' : c.tracked ? 'fine' : 'untracked';
  const tag = !c.active ? t('stock.inactive') : c.sold_out ? t('stock.sold_out') : c.low ? t('stock.low') : '';
  const title = c.tracked ? `${t('stock.on_hand', { n: c.on_hand })} · ${t('stock.reserved', { n: c.reserved })}` : t('stock.untracked');
  const value = c.tracked ? int(c.available) : '—';
  return `<td class="stock-cell ${cls}" data-store="${esc(c.store)}" data-available="${c.tracked ? c.available : ''}" title="${esc(title)}">
    <span class="avail">${value}</span>${tag ? `<span class="tag">${esc(tag)}</span>` : ''}</td>`;
}

export function stockTable(v, storeNames) {
  const s = v.stock;
  if (!s.skus.length) return `<p class="empty">${esc(t('stock.none'))}</p>`;
  const ids = [...new Set(s.skus.flatMap((k) => k.cells.map((c) => c.store)))].sort().slice(0, STOCK_COLUMNS_MAX);
  const head = ids.map((id) => `<th class="num">${esc(label(id, storeNames.get(id)))}</th>`).join('');
  const rows = s.skus.map((k) => {
    const byStore = new Map(k.cells.map((c) => [c.store, c]));
    const flags = [
      k.stores_sold_out ? `<span class="tag sold-out">${esc(t('stock.sold_out'))} ${k.stores_sold_out}</span>` : '',
      k.stores_low ? `<span class="tag low">${esc(t('stock.low'))} ${k.stores_low}</span>` : '',
    ].join('');
    return `<tr data-sku="${esc(k.sku)}" data-available="${k.available}" data-on-hand="${k.on_hand}" data-reserved="${k.reserved}">
      <td><span class="store-name">${esc(skuName(k))}</span><span class="store-id">${esc(k.sku)}</span></td>
      <td class="num total"><span class="avail">${int(k.available)}</span><span class="sub">${esc(t('stock.on_hand', { n: int(k.on_hand) }))} · ${esc(t('stock.reserved', { n: int(k.reserved) }))}</span>${flags}</td>
      ${ids.map((id) => stockCell(byStore.get(id))).join('')}</tr>`;
  }).join('');
  return `<p class="summary-line">${esc(t('stock.summary', { low: s.skus_low, out: s.skus_sold_out }))}</p>
    <table class="table stock-table"><thead><tr><th>${esc(t('col.sku'))}</th><th class="num">${esc(t('col.total_stock'))} <small>${esc(t('stock.available'))}</small></th>${head}</tr></thead>
    <tbody>${rows}</tbody></table>`;
}

// ---- conflicts ----------------------------------------------------------------------------------------------

export function conflictList(v) {
  const c = v.conflicts;
  const off = c.window.tz_offset_min;
  if (!c.items.length) return `<p class="empty ok">${esc(t('conflict.none'))}</p>`;
  return `<ul class="conflicts">${c.items.map((x) => `<li data-order="${esc(x.order_id)}" data-total="${x.total}">
      <div class="c-head"><strong>#${esc(x.order_id)}</strong><span class="amount">${money(x.total)}</span></div>
      <div class="c-meta">${esc(label(x.store, x.name))} · ${esc(t(`kind.${x.kind}`))} · ${esc(t('conflict.by', { who: t(`cancel_by.${x.cancel_by}`) }))}</div>
      <div class="c-times"><span>${esc(t('col.cancelled_at'))} ${clock(x.cancelled_ms, off)}</span><span>${esc(t('col.handoff_at'))} ${clock(x.handoff_ms, off)}</span></div>
      ${x.cancel_reason ? `<div class="c-reason">“${esc(x.cancel_reason)}”</div>` : ''}
      <button type="button" class="btn danger" data-action="resolve" data-order="${esc(x.order_id)}">${esc(t('conflict.resolve'))}</button>
    </li>`).join('')}</ul>${more(c.total, c.items.length)}`;
}

// ---- legends ---------------------------------------------------------------------------------------------------

export function legend(items) {
  return items.map(([text, color, shape = 'box']) => `<span class="key"><i class="${shape}" style="--c:${color}"></i>${esc(text)}</span>`).join('');
}
