// rollout.js - the fleet view's firmware part: the rollouts (stage, state,
// progress, failure threshold, every box with its update state and
// version) and the registered bundles, as HTML from views.firmware
// (api.js fetchFirmware: GET /api/v1/firmware, /api/v1/rollouts and
// /api/v1/rollouts/{id}; docs/hq.md "Firmware and rollouts") and the
// fleet view's versions (heartbeats).  Pure, like panels.js.
//
// A box is counted once, from its row in the rollout:
//   status committed -> committed     status failed -> failed
//   status active, state rollback -> rolling back
//   status active otherwise -> active (offered, downloading, ... health_check)
//   status pending -> pending (not offered yet)
// so the five counts add up to the rollout's boxes.
//
// Test hooks: data-* attributes carry the raw figures (counts, status,
// state, versions) next to the text.

import { TABLE, t } from './i18n.js';
import { bytes, dateTime, int, pct } from './format.js';
import { esc, none, storeCell } from './panels.js';

export const COUNTS = ['committed', 'failed', 'rollback', 'active', 'pending'];

// The five counts of rollout r (the table above) and boxes, their sum.
export function counts(r) {
  const c = { boxes: 0, committed: 0, failed: 0, rollback: 0, active: 0, pending: 0 };
  for (const b of r.stores || []) {
    c.boxes += 1;
    if (b.status === 'committed' || b.status === 'failed' || b.status === 'pending') c[b.status] += 1;
    else if (b.state === 'rollback') c.rollback += 1;
    else c.active += 1;
  }
  return c;
}

// A key's text, or the raw value when hq sends one this page does not know
// yet (a newer hq): shown as is rather than as a missing key.
function known(prefix, value) {
  return `${prefix}.${value}` in TABLE ? t(`${prefix}.${value}`) : String(value ?? '');
}

function boxTone(b) {
  if (b.status === 'active' && b.state === 'rollback') return 'rollback';
  return b.status;
}

function stage(r) {
  const steps = r.percent_steps && r.percent_steps.length ? r.percent_steps : [r.percent];
  const at = Math.max(0, steps.indexOf(r.percent));
  const items = steps.map((p, i) => {
    const cls = i < at ? 'done' : i === at ? 'now' : 'next';
    return `<li class="${cls}"${i === at ? ' aria-current="step"' : ''}>${int(p)}%</li>`;
  }).join('');
  return `<span class="ro-stage">${esc(t('rollout.stage', { i: at + 1, n: steps.length, p: r.percent }))}</span>
    <ol class="ro-steps" aria-label="${esc(t('rollout.stages'))}">${items}</ol>`;
}

function threshold(r, failed) {
  const m = r.max_failures;
  const key = m < 0 ? 'rollout.threshold_off' : m === 0 ? 'rollout.threshold_0' : 'rollout.threshold_n';
  const over = m >= 0 && failed > m;
  return `<span class="ro-threshold${over ? ' over' : ''}" data-max-failures="${m}"><span class="k">${esc(t('rollout.threshold'))}</span>
    ${esc(t(key, { n: m, failed }))}</span>`;
}

function progress(r, c) {
  const text = t('rollout.progress_text', { n: c.boxes, ...c });
  const segs = COUNTS.filter((k) => c[k]).map((k) => `<i class="seg fw-${k}" style="width:${(100 * c[k]) / c.boxes}%"></i>`).join('');
  const keys = COUNTS.map((k) => `<li data-count="${k}" data-value="${c[k]}"${c[k] ? '' : ' class="zero"'}><i class="box fw-${k}"></i>${esc(t(`rollout.count.${k}`))} <b>${int(c[k])}</b></li>`).join('');
  return `<div class="ro-bar" role="progressbar" aria-label="${esc(t('rollout.progress', { version: r.version }))}"
      aria-valuemin="0" aria-valuemax="${c.boxes}" aria-valuenow="${c.committed + c.failed}" aria-valuetext="${esc(text)}">${segs}</div>
    <ul class="ro-counts">${keys}<li class="total" data-count="boxes" data-value="${c.boxes}">${esc(t('rollout.count.boxes', { n: int(c.boxes) }))}</li></ul>`;
}

function boxDetail(b) {
  if (b.error) return `<span class="err" title="${esc(b.detail)}">${esc(b.error)}</span>${b.detail ? `<span class="sub">${esc(b.detail)}</span>` : ''}`;
  if (b.state === 'downloading' && b.total) {
    return esc(t('fw.download', { p: pct(b.bytes, b.total), done: bytes(b.bytes), total: bytes(b.total) }));
  }
  return none();
}

function version(v) {
  return v ? `<code>${esc(v)}</code>` : none();
}

// The boxes of r, narrowed to the store filter; fleet: store -> fleet row.
function boxTable(r, domId, fleet, store) {
  const rows = (r.stores || []).filter((b) => !store || b.store === store).map((b) => {
    const f = fleet.get(b.store);
    const running = f ? f.version : '';
    return `<tr data-store="${esc(b.store)}" data-status="${esc(b.status)}" data-state="${esc(b.state)}" data-running="${esc(running)}" data-installed="${esc(b.installed)}">
      <td>${storeCell(b.store, f && f.name)}</td>
      <td><span class="pill fw-${esc(boxTone(b))}">${esc(known('fwstate', b.state))}</span></td>
      <td class="muted">${boxDetail(b)}</td>
      <td>${version(running)}</td><td>${version(b.installed)}</td></tr>`;
  }).join('');
  const head = ['store', 'update_state', 'progress', 'running', 'installed'].map((k) => `<th scope="col">${esc(t(`col.${k}`))}</th>`).join('');
  return `<div class="ro-boxes" id="${domId}">${store ? `<p class="more">${esc(t('rollout.filtered'))}</p>` : ''}
    <table class="table" aria-label="${esc(t('rollout.boxes_label', { version: r.version }))}"><thead><tr>${head}</tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

function card(r, i, ctx) {
  const c = counts(r);
  const open = r.id === ctx.open;
  const domId = `ro-boxes-${i}`;
  const halt = r.status === 'running'
    ? `<button type="button" class="btn danger small" data-action="halt" data-rollout="${esc(r.id)}" aria-label="${esc(t('rollout.halt_label', { version: r.version }))}">${esc(t('rollout.halt'))}</button>`
    : '';
  // hq's reasons are English; the operator's halt is the one it always words the same.
  const why = r.reason === 'halted by the operator' ? t('rollout.reason_operator') : r.reason;
  const reason = r.reason && r.status !== 'running' ? `<span class="ro-reason">${esc(t('rollout.reason', { reason: why }))}</span>` : '';
  return `<li class="ro" data-rollout="${esc(r.id)}" data-status="${esc(r.status)}" data-version="${esc(r.version)}" data-percent="${r.percent}"
      ${COUNTS.map((k) => `data-${k}="${c[k]}"`).join(' ')} data-boxes="${c.boxes}">
    <div class="ro-head">
      <code class="ro-version">${esc(r.version)}</code>
      <span class="pill ro-${esc(r.status)}" data-testid="rollout-status">${esc(known('rollout.status', r.status))}</span>
      <span class="ro-created">${esc(t('rollout.created', { at: dateTime(r.created_ms, ctx.tz) }))}</span>
      <span class="ro-id">${esc(r.id)}</span>
      ${halt}
    </div>
    <div class="ro-line">${stage(r)}${threshold(r, c.failed)}${reason}</div>
    ${progress(r, c)}
    <button type="button" class="btn ghost small ro-toggle" data-action="boxes" data-rollout="${esc(r.id)}" aria-expanded="${open}" aria-controls="${domId}">${esc(t('rollout.boxes'))}</button>
    ${open ? boxTable(r, domId, ctx.fleet, ctx.store) : ''}
  </li>`;
}

// The rollouts, newest first.  open: the id whose boxes are shown
// (undefined: the newest; '' none); store: the store filter.
export function rolloutList(v, { open, store = '' } = {}) {
  const fw = v.firmware;
  if (!fw) return '';
  if (fw.error) return `<p class="empty error" role="alert">${esc(t('rollout.unavailable', { msg: fw.error }))}</p>`;
  if (!fw.rollouts.length) return `<p class="empty">${esc(t('rollout.none'))}</p>`;
  const ctx = {
    open: open === undefined ? fw.rollouts[0].id : open,
    fleet: new Map(v.fleet.stores.map((s) => [s.store, s])),
    tz: v.summary.window.tz_offset_min,
    store,
  };
  const older = fw.total - fw.rollouts.length;
  return `<ul class="rollouts">${fw.rollouts.map((r, i) => card(r, i, ctx)).join('')}</ul>
    ${older > 0 ? `<p class="more">${esc(t('rollout.older', { n: older }))}</p>` : ''}`;
}

// The versions the fleet runs (heartbeats) and the registered bundles, newest first.
export function bundleList(v) {
  const fw = v.firmware;
  const tz = v.summary.window.tz_offset_min;
  const versions = (v.fleet.versions || []).map((x) => `<li data-version="${esc(x.version)}" data-stores="${x.stores}">${version(x.version)} <span class="muted">${esc(t('fw.versions_n', { n: int(x.stores) }))}</span></li>`).join('');
  const fleet = `<h3 class="sub-head">${esc(t('fw.versions'))}</h3><ul class="fw-versions">${versions || `<li>${none()}</li>`}</ul>`;
  if (!fw || fw.error) return fleet;
  const head = ['version', 'size', 'registered'].map((k) => `<th scope="col"${k === 'size' ? ' class="num"' : ''}>${esc(t(`col.${k}`))}</th>`).join('');
  const rows = [...fw.bundles].reverse().map((b) => `<tr data-version="${esc(b.version)}" data-size="${b.size}" data-registered="${b.registered_ms}">
      <td><code title="SHA-256 ${esc(b.sha256)}">${esc(b.version)}</code></td><td class="num">${esc(bytes(b.size))}</td>
      <td class="muted">${esc(dateTime(b.registered_ms, tz))}</td></tr>`).join('');
  const list = fw.bundles.length
    ? `<table class="table" aria-label="${esc(t('fw.bundles'))}"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="empty">${esc(t('fw.none'))}</p>`;
  return `${fleet}<h3 class="sub-head">${esc(t('fw.bundles'))}</h3>${list}`;
}
