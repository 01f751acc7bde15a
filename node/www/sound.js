// sound.js - the new-order chime, synthesised here (no audio files).
//
// makeChimeWav() builds a 16-bit mono PCM WAV in memory: a two-note
// "ding-dong" (E6 then C6 with a fifth above, exponential decay), about
// 0.9 s.  Alarm repeats it every REPEAT_MS while ring(true) is in force;
// a reminder or a cancellation plays it once.
//
// Browsers only play sound after the page has had a user gesture; the PIN
// keypad provides one.  If play() is refused anyway, `blocked` turns true
// and the app shows a "tap to enable sound" button (the banner is visible
// regardless, so an order is never only audible).

const RATE = 22050;
const REPEAT_MS = 2500;

// [frequency Hz, start s, length s, gain]
const NOTES = [
  [1318.5, 0.0, 0.45, 0.55],
  [1975.5, 0.0, 0.30, 0.15],
  [1046.5, 0.42, 0.50, 0.55],
  [1568.0, 0.42, 0.35, 0.15],
];

export function makeChimeWav() {
  const seconds = 0.95;
  const n = Math.floor(RATE * seconds);
  const pcm = new Float32Array(n);
  for (const [f, start, len, gain] of NOTES) {
    const s0 = Math.floor(start * RATE);
    const s1 = Math.min(n, s0 + Math.floor(len * RATE));
    for (let i = s0; i < s1; i++) {
      const t = (i - s0) / RATE;
      const attack = Math.min(1, t / 0.005);           // no click at the start
      const decay = Math.exp(-t * 7);
      pcm[i] += gain * attack * decay * Math.sin(2 * Math.PI * f * t);
    }
  }
  const bytes = new Uint8Array(44 + n * 2);
  const v = new DataView(bytes.buffer);
  const ascii = (off, s) => [...s].forEach((c, i) => v.setUint8(off + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);        // fmt chunk size
  v.setUint16(20, 1, true);         // PCM
  v.setUint16(22, 1, true);         // mono
  v.setUint32(24, RATE, true);
  v.setUint32(28, RATE * 2, true);  // byte rate
  v.setUint16(32, 2, true);         // block align
  v.setUint16(34, 16, true);        // bits per sample
  ascii(36, 'data');
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    const x = Math.max(-1, Math.min(1, pcm[i]));
    v.setInt16(44 + i * 2, Math.round(x * 32767), true);
  }
  return bytes;
}

export class Alarm extends EventTarget {
  constructor() {
    super();
    this.url = URL.createObjectURL(new Blob([makeChimeWav()], { type: 'audio/wav' }));
    this.audio = new Audio(this.url);
    this.audio.preload = 'auto';
    this.ringing = false;
    this.blocked = false;
    this.timer = 0;
    this.plays = 0;                 // how many times the chime started (tests read it)
  }

  // Start or stop the repeating chime.
  ring(on) {
    if (on === this.ringing) return;
    this.ringing = on;
    clearInterval(this.timer);
    if (on) {
      this.once();
      this.timer = setInterval(() => this.once(), REPEAT_MS);
    }
    this.dispatchEvent(new CustomEvent('change'));
  }

  once() {
    this.audio.currentTime = 0;
    this.plays++;
    const p = this.audio.play();
    if (p && p.then) {
      p.then(() => this.setBlocked(false), () => this.setBlocked(true));
    }
  }

  // Called from a tap: allowed to start audio now.
  unlock() {
    if (this.ringing) return;
    this.audio.muted = true;
    const p = this.audio.play();
    const done = () => {
      this.audio.pause();
      this.audio.muted = false;
      this.audio.currentTime = 0;
    };
    if (p && p.then) p.then(() => { done(); this.setBlocked(false); }, done);
  }

  setBlocked(b) {
    if (b === this.blocked) return;
    this.blocked = b;
    this.dispatchEvent(new CustomEvent('change'));
  }
}
