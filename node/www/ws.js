// ws.js - the tablet's one connection to the store box (docs/protocol.md).
//
// Connection states (shown by the indicator in the header):
//
//   connecting ──open+auth──▶ connected ──socket lost──▶ reconnecting ──3 failures──▶ offline
//        ▲                        ▲                         │   ▲                      │
//        └────────────────────────┴──────open+auth──────────┘   └──── retry (backoff) ─┘
//
// Every command gets an id "<tablet>-<boot>-<n>": <boot> is random per page
// load, so a reloaded page never reuses an id the server has stored.  A user
// command stays in `pending` (shown as pending in the UI) until its ack or
// error arrives.  After a reconnect the session is restored (`auth` with the
// token), the feed is resumed (`sync` with the last feed position seen), and
// every pending command is sent again with the SAME id: the server answers a
// repeated id with the stored result of the first execution, so nothing is
// applied twice.  An ack means the change is on the store's disk.
//
// Session commands (login, auth, sync, ping) are never queued: they fail at
// once when there is no socket, and the reconnect flow re-issues auth/sync.
//
// A ping every HEARTBEAT_MS measures the clock offset to the box (timers are
// computed on the box's clock) and detects a dead socket that never closed.

const CONNECT_TIMEOUT_MS = 8000;   // a blackholed network never says "refused"
const HEARTBEAT_MS = 10000;
const PING_TIMEOUT_MS = 6000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const OFFLINE_AFTER_FAILURES = 3;
const RATE_LIMIT_RETRY_MS = 1000;

// Errors after which a command is dropped and its caller told; the session
// ones also end the session.  Anything else not listed is also final.
const SESSION_ERRORS = new Set(['unauthenticated', 'session_expired']);
const RETRY_ERRORS = new Set(['rate_limited']);

function randomId(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => (b % 36).toString(36)).join('');
}

export class Connection extends EventTarget {
  // opts: url, tabletId, WebSocketImpl (tests), storage for nothing: state is
  // memory only; a reload asks for the PIN again.
  constructor({ url, tabletId, WebSocketImpl = WebSocket }) {
    super();
    this.url = url;
    this.tabletId = tabletId;
    this.WS = WebSocketImpl;
    this.boot = randomId(6);
    this.seq = 0;
    this.state = 'connecting';
    this.everConnected = false;
    this.failures = 0;
    this.generation = 0;        // increments per socket
    this.socket = null;
    this.ready = false;         // socket open and session restored
    this.token = null;
    this.staff = null;
    this.feed = 0;
    this.clockOffset = 0;       // box clock - our clock, ms
    this.pending = new Map();   // user commands: id -> entry
    this.session = new Map();   // in-flight session commands: id -> {resolve,reject}
    this.lostGen = 0;           // last generation already handled by lost()
    this.timers = { retry: 0, heartbeat: 0, pingTimeout: 0, connect: 0 };
  }

  start() {
    addEventListener('online', () => this.retryNow());
    this.open();
  }

  // Box's wall clock now (milestones are box times).
  now() {
    return Date.now() + this.clockOffset;
  }

  // ---- socket life ---------------------------------------------------------

  open() {
    clearTimeout(this.timers.retry);
    const gen = ++this.generation;
    let s;
    try {
      s = new this.WS(this.url);
    } catch (e) {
      this.lost(gen);
      return;
    }
    this.socket = s;
    this.timers.connect = setTimeout(() => gen === this.generation && this.drop(), CONNECT_TIMEOUT_MS);
    s.onopen = () => gen === this.generation && this.opened();
    s.onmessage = (ev) => gen === this.generation && this.receive(ev.data);
    s.onclose = () => this.lost(gen);
    s.onerror = () => { /* onclose follows */ };
  }

  opened() {
    clearTimeout(this.timers.connect);
    this.failures = 0;
    this.everConnected = true;
    this.heartbeat();
    if (this.token) this.restoreSession();
    else this.setState('connected');
  }

  // The socket `gen` is gone: fail session commands, keep user commands.
  // Runs once per socket (drop() and the close event both report it).
  lost(gen) {
    if (gen !== this.generation || gen === this.lostGen) return;
    this.lostGen = gen;
    this.socket = null;
    this.ready = false;
    clearTimeout(this.timers.connect);
    clearTimeout(this.timers.heartbeat);
    clearTimeout(this.timers.pingTimeout);
    for (const w of this.session.values()) w.reject({ code: 'offline', message: '' });
    this.session.clear();
    this.failures++;
    const offline = this.failures > OFFLINE_AFTER_FAILURES || navigator.onLine === false;
    this.setState(offline ? 'offline' : (this.everConnected ? 'reconnecting' : 'connecting'));
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 10));
    const delay = base * (0.8 + 0.4 * Math.random());
    this.nextRetryAt = Date.now() + delay;
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  retryNow() {
    if (!this.socket) this.open();
  }

  // Close the current socket on purpose (dead heartbeat, connect timeout):
  // reconnect follows.
  drop() {
    const s = this.socket;
    if (!s) return;
    this.lost(this.generation);
    try { s.close(); } catch (e) { /* already closing */ }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', { state });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- heartbeat -----------------------------------------------------------

  heartbeat() {
    clearTimeout(this.timers.heartbeat);
    this.ping();
    this.timers.heartbeat = setTimeout(() => this.heartbeat(), HEARTBEAT_MS);
  }

  ping() {
    const t0 = Date.now();
    clearTimeout(this.timers.pingTimeout);
    this.timers.pingTimeout = setTimeout(() => this.drop(), PING_TIMEOUT_MS);
    this.sessionCommand('ping', {}).then((r) => {
      clearTimeout(this.timers.pingTimeout);
      const t1 = Date.now();
      if (typeof r.now_ms === 'number') this.clockOffset = r.now_ms - (t0 + t1) / 2;
    }, () => clearTimeout(this.timers.pingTimeout));
  }

  // ---- session ---------------------------------------------------------------

  async login(pin) {
    const r = await this.sessionCommand('login', { tablet: this.tabletId, pin });
    this.token = r.token;
    this.staff = r.staff;
    this.emit('session', { staff: r.staff });
    await this.afterAuth();
    return r;
  }

  async restoreSession() {
    try {
      const r = await this.sessionCommand('auth', { token: this.token });
      this.staff = r.staff || this.staff;
      await this.afterAuth();
    } catch (e) {
      if (SESSION_ERRORS.has(e.code)) this.endSession(e.code);
      else if (e.code !== 'offline') this.drop();
    }
  }

  // Authenticated on this socket: resume the feed, then resend what is pending.
  async afterAuth() {
    const gen = this.generation;
    this.emit('syncing', { since: this.feed });
    const sync = this.sessionCommand('sync', { since: this.feed });
    this.ready = true;
    this.setState('connected');
    this.flush();
    try {
      const r = await sync;
      if (gen === this.generation && typeof r.feed === 'number') this.seen(r.feed);
      this.emit('synced', { mode: r.mode });
    } catch (e) {
      this.emit('synced', { mode: null });
      // A lost socket resyncs on reconnect; anything else is a broken session.
      if (SESSION_ERRORS.has(e.code)) this.endSession(e.code);
      else if (e.code !== 'offline') this.drop();
    }
  }

  logout() {
    if (this.ready) this.sessionCommand('logout', {}).catch(() => {});
    this.endSession('logout');
  }

  // The session is over (logout, expired, revoked): pending commands cannot
  // be sent by anyone else's session, so their callers are told.
  endSession(reason) {
    this.token = null;
    this.staff = null;
    this.ready = false;
    this.feed = 0;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject({ code: reason, message: '' });
    }
    this.emit('pending', { count: 0 });
    this.emit('session', { staff: null, reason });
    if (this.socket) this.setState('connected');
  }

  seen(feed) {
    if (feed > this.feed) this.feed = feed;
  }

  // ---- commands ----------------------------------------------------------------

  nextId() {
    return `${this.tabletId}-${this.boot}-${++this.seq}`;
  }

  sessionCommand(type, fields) {
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== 1) {
        reject({ code: 'offline', message: '' });
        return;
      }
      const id = this.nextId();
      this.session.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  // A user command: kept until acked, resent with the same id after a
  // reconnect.  meta is the caller's note for the pending list (e.g. the
  // order id it concerns).  Returns { id, done: Promise<result> }.
  command(type, fields = {}, meta = {}) {
    const id = this.nextId();
    let entry;
    const done = new Promise((resolve, reject) => {
      entry = { id, type, fields, meta, resolve, reject, sentOn: 0, at: Date.now() };
    });
    this.pending.set(id, entry);
    this.emit('pending', { count: this.pending.size });
    if (this.ready) this.send(entry);
    return { id, done };
  }

  send(entry) {
    entry.sentOn = this.generation;
    this.socket.send(JSON.stringify({ type: entry.type, id: entry.id, ...entry.fields }));
  }

  flush() {
    for (const e of this.pending.values()) if (e.sentOn !== this.generation) this.send(e);
  }

  pendingFor(pred) {
    return [...this.pending.values()].filter((e) => pred(e.meta, e));
  }

  // ---- incoming --------------------------------------------------------------------

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'ack' || msg.type === 'error') {
      this.answer(msg);
      return;
    }
    // A snapshot restarts the position (the box may have been restored from
    // an older disk); other messages only move it forward.
    if (msg.type === 'snapshot' && typeof msg.feed === 'number') this.feed = msg.feed;
    else if (typeof msg.feed === 'number') this.seen(msg.feed);
    this.emit('message', msg);
  }

  answer(msg) {
    const w = this.session.get(msg.id);
    if (w) {
      this.session.delete(msg.id);
      if (msg.type === 'ack') w.resolve(msg.result || {});
      else w.reject({ code: msg.code, message: msg.message || '' });
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      if (msg.type === 'error' && SESSION_ERRORS.has(msg.code)) this.endSession(msg.code);
      return;
    }
    if (msg.type === 'error' && RETRY_ERRORS.has(msg.code)) {
      setTimeout(() => this.ready && this.pending.has(p.id) && this.send(p), RATE_LIMIT_RETRY_MS);
      return;
    }
    this.pending.delete(p.id);
    this.emit('pending', { count: this.pending.size });
    if (msg.type === 'ack') {
      p.resolve(msg.result || {});
    } else {
      p.reject({ code: msg.code, message: msg.message || '' });
      if (SESSION_ERRORS.has(msg.code)) this.endSession(msg.code);
    }
  }
}
