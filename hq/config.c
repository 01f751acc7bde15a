/* config.c - hq's configuration keys: the one table (help text, ranges and
 * defaults live only here; rt/config.c parses). */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rt/config.h"

#define T hq_config
static const rt_cfg_key keys[] = {
    RT_CFG_ROW_STR(T, http_addr, 1, "127.0.0.1",
                   "address the HTTP API binds to; 0.0.0.0 = every IPv4 interface"),
    RT_CFG_ROW_INT(T, http_port, 0, 65535, "8090", "TCP port of the HTTP API; 0 = any free port (logged)"),
    RT_CFG_ROW_STR(T, db_path, 1, "hq.db", "SQLite database file (created if missing)"),
    RT_CFG_ROW_STR(T, events_db_path, 0, "",
                   "the store log: every event the boxes send, a SQLite file of its own written "
                   "by its own thread; empty = db_path with -events before .db (hq-events.db). "
                   "Back it up and restore it together with db_path"),
    RT_CFG_ROW_STR(T, mqtt_host, 1, "127.0.0.1", "MQTT broker host"),
    RT_CFG_ROW_INT(T, mqtt_port, 1, 65535, "1883", "MQTT broker port"),
    RT_CFG_ROW_ID(T, mqtt_client_id, "hq", "MQTT client id (the persistent session's name)"),
    RT_CFG_ROW_STR(T, mqtt_username, 0, "", "MQTT user name; empty = none"),
    RT_CFG_ROW_STR(T, mqtt_cafile, 0, "", "CA certificate for a TLS broker; empty = plain TCP"),
    RT_CFG_ROW_STR(T, mqtt_certfile, 0, "", "client certificate (TLS)"),
    RT_CFG_ROW_STR(T, mqtt_keyfile, 0, "", "client key (TLS)"),
    RT_CFG_ROW_INT(T, mqtt_keepalive_s, 5, 3600, "30", "MQTT keepalive (s)"),
    RT_CFG_ROW_INT(T, mqtt_session_expiry_s, 0, 4294967295LL, "86400",
                   "MQTT v5 session expiry (s): the broker keeps HQ's subscriptions and queue "
                   "this long while HQ is away"),
    RT_CFG_ROW_INT(T, mqtt_max_queue, 100, 10000000, "10000",
                   "MQTT messages queued between the client thread and the loop; also the "
                   "events batches that may wait for the store log's thread (more are refused "
                   "as busy and resent by the box)"),
    RT_CFG_ROW_INT(T, max_skew_ms, 0, 86400000, "60000",
                   "refuse store events whose clock is further ahead than this (ms); they are "
                   "resent and accepted once HQ's clock catches up"),
    RT_CFG_ROW_INT(T, busy_timeout_ms, 0, 60000, "5000", "SQLite busy timeout (ms)"),
    RT_CFG_ROW_INT(T, ingest_max_msgs, 1, 100000, "256",
                   "MQTT messages applied in one transaction (one fsync) when they queue up"),
    RT_CFG_ROW_INT(T, down_window, 1, 1000000, "1024",
                   "HQ events in flight to one store before its ack"),
    RT_CFG_ROW_INT(T, retransmit_ms, 100, 3600000, "5000",
                   "resend HQ events a store has not acknowledged after this (ms)"),
    RT_CFG_ROW_INT(T, offline_after_s, 1, 86400, "90",
                   "a store silent this long is marked offline (its last will may be lost)"),
    RT_CFG_ROW_INT(T, tick_ms, 10, 60000, "1000", "how often retransmits and offline checks run (ms)"),
    RT_CFG_ROW_STR(T, api_tokens_file, 0, "",
                   "bearer tokens of the HTTP API, one `token scope[,scope...] name` per line "
                   "(`hq api-token` makes one); required: hq does not start without a file "
                   "holding at least one token"),
    RT_CFG_ROW_INT(T, http_body_max, 1024, 16777216, "65536",
                   "largest HTTP request body (bytes); bigger ones get 413"),
    RT_CFG_ROW_INT(T, pickup_code_digits, 4, 6, "4", "digits of the pickup code"),
    RT_CFG_ROW_INT(T, tz_offset_min, -840, 840, "480",
                   "stores' local time = UTC + this (minutes): opening hours, order ids"),
    RT_CFG_ROW_INT(T, views_cache_ms, 0, 60000, "1000",
                   "reuse a dashboard view's answer this long (ms): N dashboards polling cost one "
                   "computation per period; 0 = compute every request"),
    RT_CFG_ROW_BOOL(T, route_online_only, "true",
                    "route orders only to stores that are online (a store without WAN cannot "
                    "receive them)"),
    RT_CFG_ROW_INT(T, idempotency_keep_s, 3600, 31536000, "604800",
                   "how long an order's idempotency key is remembered (s)"),
    RT_CFG_ROW_LEVEL(T, log_level, "info", "debug, info, warn or error"),
    RT_CFG_ROW_BOOL(T, debug_endpoints, "false",
                    "serve GET /api/v1/debug/statehash?store=<id> (tests only, never in "
                    "production)"),
    RT_CFG_ROW_STR(T, prov_ca_dir, 0, "",
                   "fleet CA directory (ca.key 0600, ca.crt; `hq ca-init`); set = answer "
                   "provisioning requests and offer the device commands; empty = off"),
    RT_CFG_ROW_STR(T, prov_registry, 0, "", "provisioning registry (SQLite); empty = registry.db in prov_ca_dir"),
    RT_CFG_ROW_STR(T, prov_crl_path, 0, "",
                   "CRL hq keeps current (the broker's crlfile); empty = crl.pem in prov_ca_dir"),
    RT_CFG_ROW_STR(T, prov_broker_host, 1, "127.0.0.1", "broker host told to provisioned boxes"),
    RT_CFG_ROW_INT(T, prov_broker_port, 1, 65535, "8883",
                   "broker TLS port told to boxes (and the listener of `hq broker-config`)"),
    RT_CFG_ROW_STR(T, prov_node_config, 0, "",
                   "file of storenode config lines sent to every box (no secrets: every claim "
                   "holder can read them); empty = none"),
    RT_CFG_ROW_INT(T, prov_device_days, 1, 3650, "365", "validity of a box's certificate (days)"),
    RT_CFG_ROW_INT(T, prov_rate_max, 1, 1000000, "10", "provisioning requests per serial per window"),
    RT_CFG_ROW_INT(T, prov_rate_window_s, 1, 86400, "60", "the rate limit's window (s)"),
    RT_CFG_ROW_STR(T, broker_restart_cmd, 0, "",
                   "shell command that restarts the broker after the CRL changed (revocation); "
                   "empty = hq only says so (docs/security.md: restart, not SIGHUP)"),
    RT_CFG_ROW_STR(T, fw_pubkey, 0, "",
                   "public key (PEM) that firmware bundles must be signed with "
                   "(POST /api/v1/firmware verifies them); empty = no firmware registration"),
    RT_CFG_ROW_STR(T, fw_base_url, 0, "",
                   "http://host[:port] the boxes reach hq's HTTP API at, for the payload URL "
                   "of firmware offers; empty = http://http_addr:http_port (set it when "
                   "http_addr is 0.0.0.0)"),
    RT_CFG_ROW_INT(T, fw_url_ttl_s, 600, 31536000, "604800",
                   "a firmware offer's signed payload URL is good for this long (s); offers not "
                   "taken yet are published again with a fresh URL after half of it"),
};
#undef T

static const rt_cfg_table table = {keys, sizeof keys / sizeof keys[0]};

void hq_config_defaults(hq_config *c) {
  char msg[256];
  memset(c, 0, sizeof *c);
  /* The table is static: a default that does not parse is a bug caught by
   * the first test that starts the program. */
  if (rt_cfg_defaults(&table, c, msg, sizeof msg) != 0) abort();
}

int hq_config_load(hq_config *c, const char *path, hq_err *err) {
  char msg[256];
  return rt_cfg_load(&table, c, path, msg, sizeof msg) == 0 ? HQ_OK
                                                             : hq_err_set(err, HQ_ECONFIG, "%s", msg);
}

int hq_config_set(hq_config *c, const char *key, const char *value, hq_err *err) {
  char msg[256];
  return rt_cfg_set(&table, c, key, value, msg, sizeof msg) == 0 ? HQ_OK
                                                                  : hq_err_set(err, HQ_ECONFIG, "%s", msg);
}

void hq_config_print_keys(FILE *out) { rt_cfg_print_keys(&table, out); }
void hq_config_print_markdown(FILE *out) { rt_cfg_print_markdown(&table, out); }
void hq_config_print(const hq_config *c, FILE *out) { rt_cfg_print(&table, c, out); }
