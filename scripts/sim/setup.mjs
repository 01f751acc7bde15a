// scripts/sim/setup.mjs <data>/demo.json - set the demo chain up once hq and
// the store nodes run (scripts/demo calls it before the simulator):
//
//   1. each store's settings through HQ's API (PUT /api/v1/stores/<id>:
//      name, location, opening hours, 5 km delivery radius, not paused);
//   2. the catalog (PUT /api/v1/catalog/<sku>) for these stores;
//   3. wait until HQ sees every store online (routing only uses those) and
//      each store has HQ's events (the catalog);
//   4. on each store's tablet, as its manager: orders left open by an
//      earlier run are cancelled through HQ (a clean slate; their stock
//      reservations would otherwise stay), and a stocktake counts the
//      tracked SKUs (HQ has no stock endpoint: stock is what the store
//      counts; HQ learns it by replication);
//   5. wait until HQ and every store hold each other's events, so the first
//      simulated order is routed against the real stock.
//
// Exit 0 when done; 1 with the reason (every wait is bounded).

import {
  Api, CATALOG, Tablet, loadDemo, metric, waitUntil, fmtHours,
} from './lib.mjs';

const OPEN = new Set(['dispatched', 'accepted', 'preparing', 'ready']);
const say = (s) => process.stdout.write(`    ${s}\n`);

async function configure(demo, admin) {
  const ids = demo.stores.map((s) => s.id);
  for (const s of demo.stores) {
    await admin.ok('PUT', `/api/v1/stores/${s.id}`, {
      name: s.name, location: { lat: s.lat, lon: s.lon }, open_min: s.open_min, close_min: s.close_min,
      radius_m: s.radius_m, paused: false,
    });
  }
  for (const c of CATALOG) {
    await admin.ok('PUT', `/api/v1/catalog/${c.sku}`, {
      name: c.name, name_en: c.name_en, price: c.price, low_threshold: c.low || 0, active: true, stores: ids,
    });
  }
  say(`stores, hours and a catalog of ${CATALOG.length} items sent to ${ids.length} store(s)`);
}

async function allOnline(demo, admin) {
  return waitUntil(async () => {
    const { stores } = await admin.ok('GET', '/api/v1/stores');
    const byId = Object.fromEntries(stores.map((s) => [s.store_id, s]));
    return demo.stores.every((s) => byId[s.id] && byId[s.id].online) ? byId : false;
  }, 'every store online at HQ', 30000);
}

// Manager's tablet: cancel what an earlier run left open, count the stock.
async function storeDay(demo, admin, s) {
  const mgr = s.staff.find((x) => x.role === 'manager');
  let snapshot = null;
  const tab = await new Tablet(s.ws_url, `setup-${s.id}`, (m) => {
    if (m.type === 'snapshot') snapshot = m;
  }).open();
  try {
    await tab.ok('login', { tablet: `demo-setup-${s.id}`, pin: mgr.pin });
    await tab.ok('sync', { since: 0 });
    const stale = (snapshot ? snapshot.orders : []).filter((o) => OPEN.has(o.status));
    for (const o of stale) {
      const r = await admin.call('POST', `/api/v1/orders/${o.order_id}/cancel`, { by: 'hq', reason: '演示重启 demo restarted' });
      if (r.status !== 200) say(`${s.name}: could not cancel ${o.order_id} left open earlier: ${r.status} ${r.text}`);
    }
    if (stale.length) say(`${s.name}: cancelled ${stale.length} order(s) left open by an earlier run`);
    const counts = CATALOG.filter((c) => c.stock).map((c) => ({ sku: c.sku, counted: c.stock }));
    await tab.ok('stock.stocktake', { counts });
    await tab.ok('logout');
  } finally {
    tab.close();
  }
}

// HQ holds every event the store wrote, and the store acknowledged HQ's.
async function caughtUp(admin, s) {
  return waitUntil(async () => {
    const last = await metric(s.port, 'storenode_last_seq');
    const st = await admin.ok('GET', `/api/v1/stores/${s.id}`);
    const r = st.replication;
    return last !== null && r.up_seq >= last && r.down_acked >= r.down_seq ? st : false;
  }, `HQ and ${s.id} to exchange every event`, 30000);
}

async function main() {
  const demo = loadDemo(process.argv[2]);
  const admin = new Api(demo.hq.url, demo.tokens.admin.token);
  await configure(demo, admin);
  await allOnline(demo, admin);
  // The catalog must have reached a store before it can count those SKUs.
  for (const s of demo.stores) await caughtUp(admin, s);
  for (const s of demo.stores) await storeDay(demo, admin, s);
  const tracked = CATALOG.filter((c) => c.stock).map((c) => `${c.name} ${c.stock}`).join(', ');
  say(`stock counted in every store: ${tracked} (drinks are made to order)`);
  const closed = [];
  for (const s of demo.stores) {
    const st = await caughtUp(admin, s);
    if (!st.open_now) closed.push(`${s.name} (${fmtHours(s.open_min, s.close_min)})`);
  }
  say(`every store online and in step with HQ`);
  if (closed.length) {
    say(`note: closed now, Shanghai time: ${closed.join(', ')}; HQ routes nothing there`);
    say('      (409 closed for its pickup orders) until it opens; scripts/demo --all-day opens every store');
  }
}

main().catch((e) => {
  process.stderr.write(`setup: ${e.message}\n`);
  process.exit(1);
});
