// scripts/sim/staff.mjs - a store's simulated staff: one tablet logged in
// with the store's clerk PIN (docs/protocol.md, "Tablet WebSocket").  It sees
// every order of the store live, and hands each change to the simulator
// (onOrder); the simulator decides which orders the staff work and calls
// act() for each step.  It also restocks tracked SKUs that run low (a
// delivery from the warehouse: stock.receive) and books the waste of
// prepared orders that were cancelled.
//
// The socket comes back by itself if it drops (the store node restarted);
// when the store node is gone for good, scripts/demo stops everything.

import { Tablet, SKU } from './lib.mjs';

export class StoreStaff {
  // store: an entry of demo.json's stores; sim: {log, rand, pace, onOrder}
  constructor(store, sim) {
    this.store = store;
    this.sim = sim;
    this.clerk = store.staff.find((s) => s.role === 'clerk');
    this.stock = new Map(); // sku -> the tablet's stock object
    this.restocking = new Set();
    this.tab = null;
    this.stopped = false;
  }

  async start() {
    this.tab = new Tablet(this.store.ws_url, `sim-${this.store.id}`, (m) => this.onMessage(m));
    this.tab.onClose = (code) => this.reconnect(code);
    await this.tab.open();
    await this.tab.ok('login', { tablet: `sim-${this.store.id}`, pin: this.clerk.pin });
    await this.tab.ok('sync', { since: 0 });
    return this;
  }

  reconnect(code) {
    if (this.stopped) return;
    this.sim.log.info(`staff  ${this.store.name}: tablet socket closed (${code}), reconnecting`);
    setTimeout(() => {
      if (!this.stopped) this.start().catch(() => this.reconnect('retry'));
    }, 2000).unref();
  }

  stop() {
    this.stopped = true;
    if (this.tab) this.tab.close();
  }

  onMessage(m) {
    switch (m.type) {
      case 'snapshot':
        for (const s of m.stock || []) this.onStock(s);
        for (const o of m.orders || []) this.sim.onOrder(this, o);
        break;
      case 'order': this.sim.onOrder(this, m.order); break;
      case 'stock': this.onStock(m.stock); break;
      case 'alert': if (m.alert.kind === 'waste') this.sim.onWaste(this, m.alert.order_id); break;
      case 'error':
        // A session ended on the server (no id): log in again.
        if (m.code === 'session_expired' && !this.stopped) {
          this.tab.ok('login', { tablet: `sim-${this.store.id}`, pin: this.clerk.pin })
            .then(() => this.tab.ok('sync', { since: 0 }))
            .catch((e) => this.sim.log.info(`staff  ${this.store.name}: ${e.message}`));
        }
        break;
      default: break;
    }
  }

  // One tablet command as the clerk; resolves with the ack or error message.
  act(type, fields) {
    return this.tab.cmd(type, fields);
  }

  // A tracked SKU at or below its low threshold: the warehouse delivers
  // after a while, back up to the count of the setup.  A SKU a person marked
  // sold out by hand is left alone.
  onStock(s) {
    this.stock.set(s.sku, s);
    const c = SKU[s.sku];
    if (!c || !c.stock || this.restocking.has(s.sku) || this.stopped) return;
    if (s.sold_out && !s.sold_out_auto) return;
    if (!(s.sold_out || (s.low_threshold > 0 && s.available <= s.low_threshold))) return;
    this.restocking.add(s.sku);
    this.sim.later(this.sim.pace.restock, async () => {
      const now = this.stock.get(s.sku);
      const qty = Math.max(1, c.stock - (now ? now.available : 0));
      const r = await this.act('stock.receive', { sku: s.sku, qty, note: '仓库补货 restock' });
      this.restocking.delete(s.sku);
      if (r.type === 'ack') {
        this.sim.log.info(`stock  ${this.store.name} received ${qty} × ${c.name} from the warehouse (had ${now ? now.available : '?'} left)`);
      } else {
        this.sim.log.info(`stock  ${this.store.name}: restock of ${c.name} failed: ${r.code} ${r.message}`);
      }
    });
  }
}
