// format.js - numbers, money, durations and times as the dashboard shows
// them.  Pure functions (no DOM, no Intl locale data), so the browser test
// formats the API's figures with this same module and compares text.
//
// Times are shown in HQ's time zone (the views' window.tz_offset_min), not
// the browser's, so "today" on the page is HQ's day.

import { t } from './i18n.js';

export function int(n) {
  const s = String(Math.trunc(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (n < 0 ? '-' : '') + grouped;
}

// Cents as yuan: 123456 -> "¥1,234.56".
export function money(cents) {
  const neg = cents < 0;
  const a = Math.abs(Math.round(cents));
  return `${neg ? '-' : ''}¥${int(Math.floor(a / 100))}.${String(a % 100).padStart(2, '0')}`;
}

// Cents as whole yuan for tight spaces: 123456 -> "¥1,235".
export function moneyShort(cents) {
  return `${cents < 0 ? '-' : ''}¥${int(Math.round(Math.abs(cents) / 100))}`;
}

// A duration in ms as m:ss (or h:mm:ss): 450000 -> "7:30".
export function dur(ms) {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// Seconds, one decimal under 10 s: 2500 -> "2.5", 120000 -> "120".
export function secs(ms) {
  const s = ms / 1000;
  return s < 10 ? s.toFixed(1) : int(Math.round(s));
}

export function pct(part, whole) {
  if (!whole) return '0%';
  return `${Math.round((100 * part) / whole)}%`;
}

// "HH:MM" of a UTC ms instant at HQ's offset (minutes east of UTC).
export function clock(ms, offsetMin) {
  if (!ms) return t('common.none');
  return new Date(ms + offsetMin * 60000).toISOString().slice(11, 16);
}

// "YYYY-MM-DD HH:MM" at HQ's offset.
export function dateTime(ms, offsetMin) {
  const iso = new Date(ms + offsetMin * 60000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

// How long ago, relative to now (both UTC ms).
export function ago(ms, now) {
  if (!ms) return t('ago.never');
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return t('ago.now');
  if (s < 60) return t('ago.s', { n: s });
  if (s < 3600) return t('ago.min', { n: Math.floor(s / 60) });
  if (s < 86400) return t('ago.h', { n: Math.floor(s / 3600) });
  return t('ago.d', { n: Math.floor(s / 86400) });
}

export function tzLabel(offsetMin) {
  const sign = offsetMin < 0 ? '−' : '+';
  const a = Math.abs(offsetMin);
  const h = a % 60 ? `${Math.floor(a / 60)}:${String(a % 60).padStart(2, '0')}` : String(a / 60);
  return t('tz.label', { sign, h });
}

// The store's display name: "name (id)" or the id alone.
export function storeName(id, name) {
  return name ? name : id;
}

// A size in bytes: 512 -> "512 B", 1734656 -> "1.7 MB" (1 KB = 1024 B).
export function bytes(n) {
  if (n < 1024) return t('unit.b', { n: int(n) });
  const kb = n / 1024;
  if (kb < 1024) return t('unit.kb', { n: kb < 10 ? kb.toFixed(1) : int(Math.round(kb)) });
  const mb = kb / 1024;
  return t('unit.mb', { n: mb < 10 ? mb.toFixed(1) : int(Math.round(mb)) });
}
