// settings.js - the manager's view: store settings and staff PINs.
//
// Settings are last-writer-wins registers per field on the box, so the form
// sends only the fields this manager changed (settings.set) and another
// manager's change to a different field is never overwritten.  Targets are
// edited in minutes and sent in seconds.

import { t } from './i18n.js';
import { h, replace, formDialog, confirmDialog, toast } from './ui.js';
import { DEFAULT_TARGETS } from './state.js';
import { commandFailed } from './feedback.js';

// key: wire key; unit: what the field shows (min -> seconds x60).
const FIELDS = [
  { key: 'target_accept_s', unit: 'min', min: 1 / 60, max: 1440 },
  { key: 'target_prep_s', unit: 'min', min: 1 / 60, max: 1440 },
  { key: 'target_wait_s', unit: 'min', min: 1 / 60, max: 1440 },
  { key: 'auto_accept_s', unit: 's', min: 0, max: 3600 },
  { key: 'paused', unit: 'bool' },
];

const UNITS = {
  min: { toShow: (s) => String(Math.round((s / 60) * 100) / 100), toWire: (v) => Math.round(Number(v) * 60) },
  s: { toShow: (s) => String(s), toWire: (v) => Math.round(Number(v)) },
};

const ROLES = ['clerk', 'manager'];

export class SettingsView {
  constructor(app) {
    this.app = app;
    this.staff = null;          // from staff.list; null = not loaded
    this.staffError = null;
    this.root = null;
    this.dirty = new Map();     // key -> wire value edited, not yet saved
  }

  open(root) {
    this.root = root;
    this.dirty.clear();
    this.render();
    this.loadStaff();
  }

  // A settings push: redraw unless the manager is editing.
  onSettingsChange() {
    if (this.root && this.root.isConnected && this.dirty.size === 0) this.render();
  }

  value(key) {
    const v = this.app.state.settings[key];
    return v === undefined ? (DEFAULT_TARGETS[key] ?? (key === 'paused' ? false : 0)) : v;
  }

  render() {
    if (!this.root) return;
    replace(this.root, h('div', { class: 'settings' },
      h('section', { class: 'panel-card' },
        h('h2', {}, t('set.title'), this.app.state.settings.name ? h('small', {}, ` · ${this.app.state.settings.name}`) : null),
        h('div', { class: 'settings-grid' }, FIELDS.map((f) => this.field(f))),
        h('div', { class: 'form-actions' },
          h('button', { class: 'btn primary', 'data-action': 'save-settings', onclick: () => this.save() }, t('set.save')))),
      h('section', { class: 'panel-card' },
        h('h2', {}, t('staff.title'),
          h('button', { class: 'btn small primary', 'data-action': 'add-staff', onclick: () => this.editStaff(null) }, t('staff.add'))),
        this.staffTable())));
  }

  field(f) {
    const label = h('span', { class: 'field-label' }, t(`set.${f.key}`), h('small', {}, t(`set.${f.key}_hint`)));
    if (f.unit === 'bool') {
      const on = this.dirty.has(f.key) ? this.dirty.get(f.key) : Boolean(this.value(f.key));
      return h('div', { class: 'form-row' }, label, h('button', {
        class: `switch big${on ? ' on danger' : ''}`, role: 'switch', 'aria-checked': String(on), 'data-setting': f.key,
        onclick: () => { this.dirty.set(f.key, !on); this.render(); },
      }, h('span', { class: 'knob' }), h('span', { class: 'switch-label' }, on ? t('set.paused_on') : t('set.paused_off'))));
    }
    const unit = UNITS[f.unit];
    const shown = this.dirty.has(f.key) ? unit.toShow(this.dirty.get(f.key)) : unit.toShow(this.value(f.key));
    return h('label', { class: 'form-row' }, label,
      h('span', { class: 'with-unit' },
        h('input', {
          class: 'text-input num', type: 'text', inputmode: 'decimal', value: shown, 'data-setting': f.key,
          onchange: (e) => {
            const v = Number(e.target.value);
            if (!Number.isFinite(v) || v < f.min || v > f.max) {
              e.target.classList.add('invalid');
              return;
            }
            e.target.classList.remove('invalid');
            this.dirty.set(f.key, unit.toWire(v));
          },
        }),
        h('span', { class: 'unit' }, t(`unit.${f.unit}`))));
  }

  async save() {
    if (this.root.querySelector('.invalid')) return toast(t('set.invalid'), { kind: 'error' });
    if (!this.dirty.size) return toast(t('set.nothing'), { kind: 'info', ms: 2500 });
    const fields = Object.fromEntries(this.dirty);
    const btn = this.root.querySelector('[data-action="save-settings"]');
    btn.disabled = true;
    btn.textContent = t('order.pending');
    try {
      await this.app.conn.command('settings.set', fields, { settings: true }).done;
      this.dirty.clear();
      toast(t('set.saved'), { kind: 'ok', ms: 3000 });
    } catch (e) {
      commandFailed(e, t('set.save'));
    }
    this.render();
  }

  // ---- staff ---------------------------------------------------------------------

  async loadStaff() {
    try {
      const r = await this.app.conn.command('staff.list', {}, { staff: true }).done;
      this.staff = r.staff || [];
      this.staffError = null;
    } catch (e) {
      this.staffError = e.code;
    }
    this.render();
  }

  staffTable() {
    if (this.staffError) return h('p', { class: 'entry-error' }, t('staff.load_failed'));
    if (!this.staff) return h('p', { class: 'muted' }, t('staff.loading'));
    const me = this.app.conn.staff && this.app.conn.staff.id;
    return h('table', { class: 'table', 'data-testid': 'staff' },
      h('thead', {}, h('tr', {}, ['staff.name', 'staff.id', 'staff.role', ''].map((k) => h('th', {}, k ? t(k) : '')))),
      h('tbody', {}, this.staff.map((s) => h('tr', { 'data-staff': s.id },
        h('td', {}, s.name, s.id === me ? h('span', { class: 'badge' }, t('staff.me')) : null),
        h('td', { class: 'muted' }, s.id),
        h('td', {}, t(`role.${s.role}`)),
        h('td', { class: 'row-actions' },
          h('button', { class: 'btn small', 'data-action': 'edit-staff', onclick: () => this.editStaff(s) }, t('staff.edit')),
          h('button', { class: 'btn small', 'data-action': 'revoke-staff', onclick: () => this.revoke(s) }, t('staff.revoke')),
          s.id === me ? null : h('button', { class: 'btn small danger', 'data-action': 'remove-staff', onclick: () => this.remove(s) }, t('staff.remove')))))));
  }

  async editStaff(s) {
    const r = await formDialog({
      title: s ? t('staff.edit_title', { name: s.name }) : t('staff.add_title'),
      ok: t('common.save'),
      fields: [
        s ? null : { name: 'id', label: t('staff.id'), required: true, maxlength: 63, pattern: /^[A-Za-z0-9_.:-]{1,63}$/ },
        { name: 'name', label: t('staff.name'), required: true, value: s ? s.name : '', maxlength: 90 },
        { name: 'role', label: t('staff.role'), value: s ? s.role : 'clerk', options: ROLES.map((v) => ({ value: v, label: t(`role.${v}`) })) },
        { name: 'pin', label: s ? t('staff.pin_keep') : t('staff.pin'), type: 'password', inputmode: 'numeric', required: !s, maxlength: 8, pattern: /^\d{4,8}$/ },
      ].filter(Boolean),
    });
    if (!r) return;
    const fields = { staff_id: s ? s.id : r.id, name: r.name, role: r.role, ...(r.pin ? { pin: r.pin } : {}) };
    this.staffCommand('staff.set', fields, t('staff.saved', { name: r.name }));
  }

  async revoke(s) {
    if (!(await confirmDialog({ title: t('staff.revoke'), message: t('staff.revoke_confirm', { name: s.name }), ok: t('staff.revoke'), danger: true }))) return;
    this.staffCommand('session.revoke', { staff_id: s.id }, t('staff.revoked', { name: s.name }));
  }

  async remove(s) {
    if (!(await confirmDialog({ title: t('staff.remove'), message: t('staff.remove_confirm', { name: s.name }), ok: t('staff.remove'), danger: true }))) return;
    this.staffCommand('staff.remove', { staff_id: s.id }, t('staff.removed', { name: s.name }));
  }

  async staffCommand(type, fields, okText) {
    try {
      await this.app.conn.command(type, fields, { staff: true }).done;
      toast(okText, { kind: 'ok', ms: 3000 });
    } catch (e) {
      commandFailed(e, t(`staff.cmd.${type}`));
    }
    this.loadStaff();
  }
}
