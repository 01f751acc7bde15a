/* config.c - the configuration key table; the file parser is the shared
 * one of proto_rt (rt/config.h).
 *
 * The table below is the only list of keys: defaults are applied by parsing
 * each row's default text through the same setter a file line goes through,
 * so a default can never be out of its own range, and --help and the docs
 * are printed from the same rows.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rt/config.h"

#ifndef STORENODE_WWW_DIR
#define STORENODE_WWW_DIR "www"
#endif

#define STR(m, lo, d, h) RT_CFG_ROW_STR(node_config, m, lo, d, h)
#define INT(m, lo, hi, d, h) RT_CFG_ROW_INT(node_config, m, lo, hi, d, h)

static const rt_cfg_key keys[] = {
    RT_CFG_ROW_ID(node_config, store_id, "store-1",
                  "this store's id: the origin of its events ([A-Za-z0-9_.:-], 1-63 chars)"),
    STR(db_path, 1, "storenode.db", "SQLite database file (created if missing)"),
    STR(http_addr, 1, "127.0.0.1",
        "address the HTTP/WebSocket server binds to; 0.0.0.0 = every IPv4 interface"),
    INT(http_port, 0, 65535, "8080", "TCP port of the tablet server; 0 = any free port (logged)"),
    STR(www_dir, 1, STORENODE_WWW_DIR, "directory of the tablet web app served at /"),
    INT(max_skew_ms, 0, 86400000, "60000",
        "refuse events from HQ whose clock is further ahead than this (ms)"),
    INT(busy_timeout_ms, 0, 60000, "5000", "SQLite busy timeout (ms)"),
    INT(group_commit_ms, 0, 1000, "2",
        "longest a command's ack waits for the group commit (ms); 0 = next loop turn"),
    INT(group_commit_max, 1, 100000, "256", "commit at once when this many acks are waiting"),
    INT(ws_max_message, 1024, 1048576, "16384",
        "largest tablet frame (bytes); bigger ones close the socket with 1009"),
    INT(ws_max_queue, 65536, 268435456, "2097152",
        "bytes queued to one tablet that is not reading before it is disconnected"),
    INT(ws_rate, 1, 10000, "50", "commands per second per tablet (token bucket refill)"),
    INT(ws_burst, 1, 100000, "100",
        "token bucket size; a tablet refused more often than this before its bucket refills is closed (1008)"),
    INT(ws_ping_s, 0, 3600, "30",
        "ping an idle tablet after this many seconds; drop it after 2x+1 s without a sign of life; 0 = off"),
    INT(session_ttl_s, 5, 2592000, "43200",
        "tablet session lifetime (s); a connected tablet is told at once when it ends"),
    INT(lockout_attempts, 1, 100, "5", "wrong PINs in a row that lock a tablet"),
    INT(lockout_s, 1, 86400, "60", "how long a locked tablet must wait (s)"),
    INT(lockout_peer_attempts, 1, 10000, "20",
        "wrong PINs from one address (any tablet id) within lockout_peer_window_s that lock it"),
    INT(lockout_peer_window_s, 1, 86400, "300", "the window of lockout_peer_attempts (s)"),
    INT(lockout_peer_s, 1, 86400, "300", "how long a locked address must wait (s)"),
    INT(kdf_iterations, 1000, 10000000, "10000", "PBKDF2-HMAC-SHA256 iterations for new PINs"),
    INT(auto_accept_tick_ms, 100, 60000, "1000",
        "how often the auto-accept rule (store setting auto_accept_s) runs (ms)"),
    INT(board_recent_s, 0, 604800, "21600",
        "finished orders younger than this are still sent in a snapshot (s)"),
    RT_CFG_ROW_LEVEL(node_config, log_level, "info", "debug, info, warn or error"),
    RT_CFG_ROW_BOOL(node_config, dev_inject, "false",
                    "enable POST /api/dev/events from 127.0.0.1 (tests and demo only, never in production)"),
    /* replication with HQ (node/repl.c, docs/protocol.md "MQTT replication") */
    STR(mqtt_host, 0, "", "MQTT broker host; empty = replication off (the store works alone)"),
    INT(mqtt_port, 1, 65535, "1883", "MQTT broker port"),
    INT(mqtt_keepalive_s, 5, 3600, "30", "MQTT keepalive (s)"),
    INT(mqtt_session_expiry_s, 60, 31536000, "86400",
        "MQTT v5 session expiry: how long the broker keeps our session while we are away (s)"),
    INT(mqtt_reconnect_max_s, 1, 3600, "30", "longest wait between reconnect attempts (s; doubles from 1)"),
    INT(heartbeat_s, 1, 3600, "15", "heartbeat to HQ every this many seconds"),
    INT(retransmit_s, 1, 3600, "10",
        "resend unacknowledged events (and the hello) when HQ has not answered for this long (s)"),
    STR(mqtt_cafile, 0, "", "CA certificate (PEM) of the broker; set = TLS, empty = plain TCP"),
    STR(mqtt_certfile, 0, "", "this box's certificate (PEM) for TLS client authentication"),
    STR(mqtt_keyfile, 0, "", "this box's private key (PEM)"),
    /* the update agent's spool, relayed on this session (node/update_relay.c) */
    STR(update_spool_dir, 0, "",
        "relay the update agent's offers (down/update -> offer.json) and reports (report.json -> "
        "up/update) through this directory, the agent's spool_dir; needs mqtt_host; empty = off"),
};

static const rt_cfg_table table = {keys, sizeof keys / sizeof keys[0]};

int node_config_set(node_config *c, const char *key, const char *value, node_err *err) {
  char msg[sizeof err->msg];
  if (rt_cfg_set(&table, c, key, value, msg, sizeof msg) == 0) return NODE_OK;
  return node_err_set(err, NODE_ECONFIG, "%s", msg);
}

void node_config_defaults(node_config *c) {
  char msg[256];
  memset(c, 0, sizeof *c);
  /* The table is static: a default that does not parse is a bug caught by
   * the first test that starts the program. */
  if (rt_cfg_defaults(&table, c, msg, sizeof msg) != 0) abort();
}

int node_config_load(node_config *c, const char *path, node_err *err) {
  char msg[sizeof err->msg];
  if (rt_cfg_load(&table, c, path, msg, sizeof msg) == 0) return NODE_OK;
  return node_err_set(err, NODE_ECONFIG, "%s", msg);
}

void node_config_print_keys(FILE *out) { rt_cfg_print_keys(&table, out); }

void node_config_print(const node_config *c, FILE *out) { rt_cfg_print(&table, c, out); }
