// login.js - the PIN screen: a big keypad, dots for the digits typed.
// PINs are 4-8 digits; the box locks a tablet out after five wrong ones.

import { t } from './i18n.js';
import { h, replace, keypad, keyFromEvent } from './ui.js';

const PIN_MIN = 4;
const PIN_MAX = 8;

// The box's message says how many seconds a locked tablet must wait (also on
// the wrong PIN that locks it); our sentence carries the number.
function loginError(e) {
  const secs = /(\d+)\s*s\b/.exec(e.message || '');
  if (e.code === 'locked_out' || (e.code === 'wrong_pin' && secs && /lock/i.test(e.message))) {
    return secs ? t('login.locked_out', { s: secs[1] }) : t('login.locked');
  }
  const known = { wrong_pin: 'login.wrong_pin', offline: 'login.offline' }[e.code];
  return known ? t(known) : t('err.unknown', { code: e.code });
}

export class LoginView {
  constructor(app) {
    this.app = app;
    this.pin = '';
    this.busy = false;
    this.error = '';
    this.root = null;
    this.onKeyDown = (e) => {
      if (!this.root || !this.root.isConnected || document.getElementById('dialogs').children.length) return;
      const k = keyFromEvent(e);
      if (k) { e.preventDefault(); this.key(k); }
    };
    addEventListener('keydown', this.onKeyDown);
  }

  render(root) {
    this.root = root;
    this.dots = h('div', { class: 'pin-dots', 'aria-live': 'polite', 'data-testid': 'pin-dots' });
    this.errorEl = h('p', { class: 'entry-error', role: 'alert', 'data-testid': 'login-error' }, this.error);
    replace(root, h('div', { class: 'login' },
      h('div', { class: 'login-card' },
        h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), t('app.title')),
        h('p', { class: 'login-hint' }, t('login.hint')),
        this.dots,
        this.errorEl,
        keypad({ onKey: (k) => this.key(k), enterLabel: t('login.enter') }))));
    this.renderDots();
  }

  renderDots() {
    replace(this.dots, Array.from({ length: Math.max(PIN_MIN, this.pin.length) }, (_, i) =>
      h('span', { class: `dot${i < this.pin.length ? ' on' : ''}` })));
  }

  key(k) {
    if (this.busy) return;
    this.setError('');
    if (/^\d$/.test(k) && this.pin.length < PIN_MAX) this.pin += k;
    else if (k === 'back') this.pin = this.pin.slice(0, -1);
    else if (k === 'clear') this.pin = '';
    else if (k === 'enter') return this.submit();
    this.renderDots();
  }

  setError(msg) {
    this.error = msg;
    if (this.errorEl) this.errorEl.textContent = msg;
  }

  async submit() {
    if (this.pin.length < PIN_MIN) return this.setError(t('login.too_short', { n: PIN_MIN }));
    this.busy = true;
    this.app.alarm.unlock();          // this tap lets the page play sound later
    this.root.querySelector('.login-card').classList.add('busy');
    try {
      await this.app.conn.login(this.pin);
      this.pin = '';
    } catch (e) {
      this.pin = '';
      this.setError(loginError(e));
      this.root.querySelector('.login-card').classList.add('shake');
      setTimeout(() => this.root.querySelector('.login-card')?.classList.remove('shake'), 400);
    } finally {
      this.busy = false;
      this.root.querySelector('.login-card')?.classList.remove('busy');
      this.renderDots();
    }
  }
}
