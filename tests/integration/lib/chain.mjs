// lib/chain.mjs - what the chain_*.test.mjs share: a whole chain (real
// mosquitto, real hq, real storenodes with tablets), a TCP proxy that cuts
// one store's link to the broker, and the convergence check.
//
// Convergence (docs/protocol.md, "MQTT replication"): for every store,
//   - HQ holds every event the store wrote (HQ's up_seq = storenode_last_seq)
//     and the store acknowledged every event HQ wrote for it (down_acked =
//     down_seq);
//   - the store's outbox is empty (storenode_outbox_depth 0, last_acked_seq
//     = last_seq);
//   - the digest of the store's state (storenode GET /debug/statehash) equals
//     the digest of HQ's copy of it (hq GET /api/v1/debug/statehash?store=):
//     both are proto/statehash.h over the same rows.
// hq runs with debug_endpoints = true and HqProcess's admin token (its
// http()/api() send it: /metrics and the statehash need one), the nodes with
// dev_inject = true (the test default of lib/storenode.mjs).
import net from 'node:net';
import { startNode, DEFAULT_TIMEOUT, sqlite } from './storenode.mjs';
import { Broker, HqProcess, freePort, waitUntil } from './hq.mjs';

export const CATCH_UP_TIMEOUT = 30000;

// ---- a link that can be cut ------------------------------------------------------

// Forwards 127.0.0.1:<port> to the broker.  cut() closes every open
// connection and refuses new ones (a WAN down: the box sees the link drop
// and keeps retrying); restore() accepts again on the same port.  (Not
// resetAndDestroy(): with Node 20.20 a socket reset that way can leave the
// process spinning in its exit-time handle cleanup.)
export class TcpProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.socks = new Set();
    this.server = null;
  }

  async start(port) {
    this.port = port || this.port || await freePort();
    this.server = net.createServer((client) => {
      const up = net.connect({ port: this.targetPort, host: '127.0.0.1' });
      for (const s of [client, up]) {
        this.socks.add(s);
        s.on('close', () => this.socks.delete(s));
        s.on('error', () => {});
      }
      client.pipe(up);
      up.pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    return this;
  }

  async cut() {
    const srv = this.server;
    this.server = null;
    for (const s of this.socks) s.destroy();
    this.socks.clear();
    if (srv) await new Promise((resolve) => srv.close(resolve));
  }

  restore() {
    return this.start(this.port);
  }
}

// ---- the chain ------------------------------------------------------------------------

export const NODE_REPL = { heartbeat_s: 1, retransmit_s: 1, mqtt_reconnect_max_s: 1, mqtt_keepalive_s: 5 };
export const HQ_CONFIG = { debug_endpoints: true, route_online_only: false, tick_ms: 100, retransmit_ms: 1000 };

// stores: {id: {lat, lon, name, proxied?}}.  Returns {broker, hq, nodes, proxies}.
export async function startChain(stores, { hqConfig = {}, nodeConfig = {} } = {}) {
  const c = { broker: null, hq: null, nodes: {}, proxies: {} };
  c.broker = await new Broker().start();
  c.hq = await new HqProcess({ brokerPort: c.broker.port, config: { ...HQ_CONFIG, ...hqConfig } }).start();
  await c.hq.waitLog(/msg="mqtt connected"/);
  for (const [id, p] of Object.entries(stores)) {
    let port = c.broker.port;
    if (p.proxied) {
      c.proxies[id] = await new TcpProxy(c.broker.port).start();
      port = c.proxies[id].port;
    }
    c.nodes[id] = await startNode({
      storeId: id,
      config: { mqtt_host: '127.0.0.1', mqtt_port: port, ...NODE_REPL, ...nodeConfig },
    });
    await c.nodes[id].waitLog(/msg="replication ready"/);
    await c.hq.api('PUT', `/api/v1/stores/${id}`, { name: p.name || id, location: { lat: p.lat, lon: p.lon }, radius_m: 5000 });
  }
  return c;
}

export async function stopChain(c) {
  if (!c) return;
  for (const n of Object.values(c.nodes)) await n.cleanup();
  for (const p of Object.values(c.proxies)) await p.cut();
  if (c.hq) await c.hq.cleanup();
  if (c.broker) await c.broker.cleanup();
}

// ---- looking at a replica ------------------------------------------------------------

export async function nodeMetrics(node) {
  const r = await node.http('GET', '/metrics');
  const get = (re) => Number(re.exec(r.text)?.[1] ?? NaN);
  return {
    depth: get(/^storenode_outbox_depth (\d+)$/m),
    lastSeq: get(/^storenode_last_seq (\d+)$/m),
    acked: get(/^storenode_last_acked_seq (\d+)$/m),
    remote: get(/^storenode_events_total\{source="remote"\} (\d+)$/m),
    duplicate: get(/^storenode_events_duplicate_total (\d+)$/m),
    rejected: get(/^storenode_repl_batches_rejected_total (\d+)$/m),
  };
}

export async function hqMetrics(hq) {
  const r = await hq.http('GET', '/metrics');
  const get = (re) => Number(re.exec(r.text)?.[1] ?? NaN);
  return {
    applied: get(/^hq_events_total\{result="applied"\} (\d+)$/m),
    duplicate: get(/^hq_events_total\{result="duplicate"\} (\d+)$/m),
    rejected: get(/^hq_mqtt_rejected_total (\d+)$/m),
  };
}

// {node, hq}: the two digests of one store.
export async function stateHashes(hq, node) {
  const n = await node.http('GET', '/debug/statehash');
  if (n.status !== 200) throw new Error(`storenode statehash: ${n.status} ${n.text}`);
  const h = await hq.http('GET', `/api/v1/debug/statehash?store=${node.storeId}`);
  if (h.status !== 200) throw new Error(`hq statehash: ${h.status} ${h.text}`);
  return { node: n.json, hq: h.json };
}

// Everything of one store replicated both ways (the header's definition).
// Resolves with {hash, metrics, store}; times out naming what differs.
export async function converged(hq, node, ms = CATCH_UP_TIMEOUT) {
  let last = 'nothing yet';
  try {
    return await waitUntil(async () => {
      const m = await nodeMetrics(node);
      const s = await hq.http('GET', `/api/v1/stores/${node.storeId}`);
      if (s.status !== 200) { last = `store ${s.status}`; return false; }
      const r = s.json.replication;
      const h = await stateHashes(hq, node);
      last = `outbox ${m.depth}, last_seq ${m.lastSeq}, acked ${m.acked}; HQ up_seq ${r.up_seq}, ` +
        `down ${r.down_acked}/${r.down_seq}; hash node ${JSON.stringify(h.node)} hq ${JSON.stringify(h.hq)}`;
      const ok = m.depth === 0 && m.acked === m.lastSeq && r.up_seq === m.lastSeq &&
        r.down_acked === r.down_seq && h.node.hash === h.hq.hash;
      return ok ? { hash: h.node, metrics: m, store: s.json } : false;
    }, `${node.storeId} and HQ to converge`, ms);
  } catch (e) {
    throw new Error(`${e.message}: ${last}`);
  }
}

export async function allConverged(c, ms = CATCH_UP_TIMEOUT) {
  const out = {};
  for (const [id, n] of Object.entries(c.nodes)) out[id] = await converged(c.hq, n, ms);
  return out;
}

// Events of one origin in a database: {count, distinct, min, max}.
export function originCounts(dbPath, origin) {
  const row = sqlite(dbPath, `SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MIN(seq),0), COALESCE(MAX(seq),0) FROM events WHERE origin='${origin}'`);
  const [count, distinct, min, max] = row.split('|').map(Number);
  return { count, distinct, min, max };
}

export { DEFAULT_TIMEOUT, waitUntil };
