// feedback.js - telling staff that a command failed, in their language.

import { t, has } from './i18n.js';
import { toast } from './ui.js';

// e: {code, message} from Connection.  The server's message names the field
// or the seconds left; it is shown after our own sentence for the code.
// Codes whose server message carries something our sentence lacks (which
// field, how many seconds); for the others it would only repeat it in English.
const DETAIL = new Set(['bad_request', 'locked_out', 'storage', 'storage_full', 'not_found']);

export function commandFailed(e, what) {
  const code = (e && e.code) || 'unknown';
  const known = has(`err.${code}`) ? t(`err.${code}`) : t('err.unknown', { code });
  const detail = e && e.message && (DETAIL.has(code) || !has(`err.${code}`)) ? ` (${e.message})` : '';
  toast(`${known}${detail}`, { kind: 'error', title: what, ms: 8000 });
}
