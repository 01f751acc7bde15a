// ui.js - small DOM helpers shared by the screens: element builder, dialogs,
// numeric keypad, toasts.  No framework: screens rebuild their part of the
// page from state with h(), which is fast enough for a store's few dozen orders.

import { t } from './i18n.js';

// h('button', {class: 'btn', onclick: fn, 'data-x': 1}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// Line icons drawn here (no icon font, no emoji: a store tablet may lack both).
const ICONS = {
  bell: ['M12 3a5 5 0 0 0-5 5v4l-2 3h14l-2-3V8a5 5 0 0 0-5-5z', 'M10 18a2 2 0 0 0 4 0'],
  rider: ['M6 17l3-7h4l3 7', 'M13 10h3l2 4', 'M4 10h4'],
  note: ['M4 20l4-1L19 8l-3-3L5 16z'],
};
const WHEELS = { rider: [[6, 17], [18, 17]] };

export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('aria-hidden', 'true');
  for (const d of ICONS[name]) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  for (const [cx, cy] of WHEELS[name] || []) {
    const c = document.createElementNS(ns, 'circle');
    c.setAttribute('cx', cx);
    c.setAttribute('cy', cy);
    c.setAttribute('r', 2.6);
    svg.append(c);
  }
  return svg;
}

export const yuan = (cents) => `¥${(Number(cents || 0) / 100).toFixed(2)}`;

// "mm:ss", or "h:mm:ss" past an hour; negative clamps to 0.
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function timeOfDay(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// ---- dialogs ------------------------------------------------------------------

const layer = () => document.getElementById('dialogs');

// A modal dialog.  actions: [{label, kind, onclick, testid}]; returns {el, close}.
export function modal({ title, body, actions = [], wide = false, onClose, testid }) {
  let keyHandler = null;
  const close = () => {
    if (keyHandler) removeEventListener('keydown', keyHandler);
    overlay.remove();
    if (onClose) onClose();
  };
  const footer = actions.length
    ? h('footer', { class: 'dialog-actions' },
        actions.map((a) => h('button', {
          class: `btn ${a.kind || ''}`, onclick: a.onclick, 'data-action': a.testid,
          disabled: a.disabled,
        }, a.label)))
    : null;
  const dialog = h('section', { class: `dialog${wide ? ' wide' : ''}`, role: 'dialog', 'aria-modal': 'true', 'data-dialog': testid },
    h('header', { class: 'dialog-head' },
      h('h2', {}, title),
      h('button', { class: 'icon-btn', 'aria-label': t('common.close'), onclick: close, 'data-action': 'close' }, '✕')),
    h('div', { class: 'dialog-body' }, body),
    footer);
  const overlay = h('div', { class: 'overlay', onclick: (e) => e.target === overlay && close() }, dialog);
  layer().append(overlay);
  return {
    el: dialog,
    close,
    onKey(fn) {
      keyHandler = fn;
      addEventListener('keydown', fn);
    },
  };
}

export function confirmDialog({ title, message, ok, danger = false }) {
  return new Promise((resolve) => {
    let answered = false;
    const m = modal({
      title,
      body: h('p', { class: 'dialog-text' }, message),
      onClose: () => !answered && resolve(false),
      testid: 'confirm',
      actions: [
        { label: t('common.cancel'), kind: 'ghost', onclick: () => m.close(), testid: 'cancel' },
        { label: ok, kind: danger ? 'danger' : 'primary', testid: 'ok',
          onclick: () => { answered = true; m.close(); resolve(true); } },
      ],
    });
  });
}

// Pick one of a few options with big buttons.  options: [{value, label}].
export function chooseDialog({ title, message, options }) {
  return new Promise((resolve) => {
    let answered = false;
    const m = modal({
      title,
      testid: 'choose',
      onClose: () => !answered && resolve(null),
      body: h('div', {},
        message ? h('p', { class: 'dialog-text' }, message) : null,
        h('div', { class: 'choice-grid' }, options.map((o) => h('button', {
          class: 'btn choice', 'data-value': o.value,
          onclick: () => { answered = true; m.close(); resolve(o.value); },
        }, o.label)))),
    });
  });
}

// ---- keypad ---------------------------------------------------------------------

// A 3x4 numeric keypad.  `left` is 'clear' or 'sign'; onKey gets '0'..'9',
// 'back', 'clear', 'sign' or 'enter'.
export function keypad({ onKey, left = 'clear', enterLabel }) {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', left, '0', 'back'];
  const label = { clear: t('keypad.clear'), sign: '±', back: '⌫' };
  return h('div', { class: 'keypad' },
    keys.map((k) => h('button', {
      class: `key${/\d/.test(k) ? '' : ' fn'}`, 'data-key': k, type: 'button',
      onclick: () => onKey(k),
    }, label[k] || k)),
    h('button', { class: 'key enter', 'data-key': 'enter', type: 'button', onclick: () => onKey('enter') },
      enterLabel || t('keypad.enter')));
}

const KEY_FROM_KEYBOARD = { Backspace: 'back', Enter: 'enter', Escape: 'clear', '-': 'sign' };

// Map a physical keyboard event to a keypad key (desktop use, tests).
export function keyFromEvent(e) {
  if (/^\d$/.test(e.key)) return e.key;
  return KEY_FROM_KEYBOARD[e.key] || null;
}

// Enter a number or code on the keypad.  Resolves {value, note} or null.
// opts: title, subtitle, min/max digits, mask (show dots), signed (± key),
// note: {label, required} adds a text field.
export function numberDialog(opts) {
  const { title, subtitle, min = 1, max = 8, mask = false, signed = false, note = null, enterLabel } = opts;
  return new Promise((resolve) => {
    let digits = '';
    let negative = false;
    let answered = false;
    const display = h('div', { class: 'entry-display', 'data-testid': 'entry' });
    const error = h('p', { class: 'entry-error', role: 'alert' });
    const noteInput = note
      ? h('input', { class: 'text-input', type: 'text', maxlength: 200, placeholder: note.label, 'aria-label': note.label })
      : null;
    const render = () => {
      const shown = mask ? '●'.repeat(digits.length) : digits;
      display.textContent = (negative && digits ? '−' : '') + (shown || '—');
      display.classList.toggle('empty', !digits);
    };
    const submit = () => {
      if (digits.length < min) return showError(t('keypad.too_short', { n: min }));
      if (note && note.required && !noteInput.value.trim()) return showError(t('keypad.note_required'));
      answered = true;
      m.close();
      resolve({ value: (negative ? '-' : '') + digits, note: noteInput ? noteInput.value.trim() : '' });
    };
    const showError = (msg) => { error.textContent = msg; };
    const onKey = (k) => {
      error.textContent = '';
      if (/^\d$/.test(k) && digits.length < max) digits += k;
      else if (k === 'back') digits = digits.slice(0, -1);
      else if (k === 'clear') digits = '';
      else if (k === 'sign' && signed) negative = !negative;
      else if (k === 'enter') return submit();
      render();
    };
    const m = modal({
      title,
      testid: 'number',
      onClose: () => !answered && resolve(null),
      body: h('div', { class: 'entry' },
        subtitle ? h('p', { class: 'dialog-text' }, subtitle) : null,
        display, error, noteInput,
        keypad({ onKey, left: signed ? 'sign' : 'clear', enterLabel })),
    });
    m.onKey((e) => {
      if (document.activeElement === noteInput) return;
      const k = keyFromEvent(e);
      if (k) { e.preventDefault(); onKey(k); }
    });
    render();
  });
}

// A small form: fields [{name, label, type, options, value, required}].
export function formDialog({ title, fields, ok }) {
  return new Promise((resolve) => {
    let answered = false;
    const inputs = {};
    const error = h('p', { class: 'entry-error', role: 'alert' });
    const rows = fields.map((f) => {
      let input;
      if (f.options) {
        input = h('select', { class: 'text-input', name: f.name },
          f.options.map((o) => h('option', { value: o.value, selected: o.value === f.value }, o.label)));
      } else {
        input = h('input', {
          class: 'text-input', name: f.name, type: f.type || 'text', value: f.value ?? '',
          inputmode: f.inputmode, maxlength: f.maxlength || 96, autocomplete: 'off',
        });
      }
      inputs[f.name] = input;
      return h('label', { class: 'form-row' }, h('span', {}, f.label), input);
    });
    const submit = () => {
      const out = {};
      for (const f of fields) {
        out[f.name] = inputs[f.name].value.trim();
        if (f.required && !out[f.name]) return (error.textContent = t('form.required', { field: f.label }));
        if (f.pattern && out[f.name] && !f.pattern.test(out[f.name])) {
          return (error.textContent = t('form.invalid', { field: f.label }));
        }
      }
      answered = true;
      m.close();
      resolve(out);
    };
    const m = modal({
      title,
      testid: 'form',
      onClose: () => !answered && resolve(null),
      body: h('form', { class: 'form', onsubmit: (e) => { e.preventDefault(); submit(); } },
        rows, error, h('button', { type: 'submit', hidden: true })),
      actions: [
        { label: t('common.cancel'), kind: 'ghost', onclick: () => m.close(), testid: 'cancel' },
        { label: ok, kind: 'primary', onclick: submit, testid: 'ok' },
      ],
    });
    const first = Object.values(inputs)[0];
    if (first) first.focus();
  });
}

// ---- toasts ---------------------------------------------------------------------

// kind: info | ok | warn | error.  Sticky toasts stay until tapped: used for
// what staff must not miss (reminders, cancellations, conflicts).
export function toast(text, { kind = 'info', sticky = false, ms = 5000, title, onOpen } = {}) {
  const box = document.getElementById('toasts');
  const close = () => el.remove();
  const el = h('div', { class: `toast ${kind}${sticky ? ' sticky' : ''}`, role: kind === 'error' || sticky ? 'alert' : 'status' },
    h('div', { class: 'toast-text', onclick: () => { if (onOpen) { close(); onOpen(); } } },
      title ? h('strong', {}, title) : null,
      h('span', {}, text)),
    h('button', { class: 'btn small', onclick: close, 'data-action': 'dismiss' }, sticky ? t('common.got_it') : '✕'));
  box.prepend(el);
  // Keep the pile short: drop the oldest passing toast first, a sticky one last.
  while (box.children.length > 3) {
    const old = [...box.children].reverse();
    (old.find((c) => !c.classList.contains('sticky')) || old[0]).remove();
  }
  if (!sticky) setTimeout(close, ms);
  return el;
}
