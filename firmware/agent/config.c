/* config.c - storenode-update's configuration keys (rt/config.h table):
 * one row per key, which is also what --help and docs/firmware.md print. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "fw/file.h"

#define STR(m, lo, d, h) RT_CFG_ROW_STR(fwa_cfg, m, lo, d, h)
#define INT(m, lo, hi, d, h) RT_CFG_ROW_INT(fwa_cfg, m, lo, hi, d, h)

static const rt_cfg_key keys[] = {
    RT_CFG_ROW_ID(fwa_cfg, store_id, "store-1", "this store's id (the MQTT topics and the reports)"),
    STR(root, 1, "/opt/storenode", "firmware root: slots/a, slots/b and the `current` link"),
    STR(state_dir, 1, "/var/lib/storenode-update", "the agent's state file and the resumable download"),
    STR(pubkey, 1, "/etc/storenode/fw-signing.pub", "PEM public key that must have signed every bundle"),
    STR(restart_cmd, 0, "systemctl restart storenode.service",
        "how the switched slot is started (sh -c); empty = nothing to restart"),
    INT(restart_timeout_s, 1, 3600, "120", "longest restart_cmd may take (s)"),
    STR(health_url, 1, "http://127.0.0.1:8080", "storenode's HTTP base: /healthz and /metrics are read there"),
    INT(health_deadline_s, 1, 3600, "120", "the new slot must be healthy within this (s), else rollback"),
    INT(health_interval_ms, 10, 60000, "1000", "between two health probes (ms)"),
    INT(health_passes, 1, 100, "3", "probes in a row that must pass"),
    RT_CFG_ROW_BOOL(fwa_cfg, health_require_version, "true",
                    "/healthz must report the version just installed"),
    STR(health_repl_metric, 0, "storenode_repl_connected",
        "gauge in /metrics that must be 1 (replication connected); empty = not checked"),
    INT(health_max_attempts, 1, 100, "3", "health checks cut short by a crash before the agent rolls back"),
    STR(db_path, 0, "/var/lib/storenode/storenode.db",
        "storenode's database: must open read-only; empty = not checked"),
    INT(download_retries, 1, 1000, "20", "download attempts (each resumes where the last stopped)"),
    INT(download_retry_ms, 0, 600000, "2000", "first wait between attempts (ms; doubles up to 60 s)"),
    INT(http_timeout_s, 1, 600, "30", "connect and idle timeout of one HTTP request (s)"),
    STR(mqtt_host, 0, "", "MQTT broker: `run` takes offers there (`run` needs it or spool_dir)"),
    INT(mqtt_port, 1, 65535, "1883", "MQTT broker port"),
    STR(mqtt_client_id, 0, "", "MQTT client id; empty = storenode-update-<store_id>"),
    STR(mqtt_cafile, 0, "", "CA certificate (PEM) of the broker; set = TLS"),
    STR(mqtt_certfile, 0, "", "this box's certificate (PEM)"),
    STR(mqtt_keyfile, 0, "", "this box's private key (PEM)"),
    STR(node_config, 0, "/etc/storenode/storenode.conf",
        "storenode's config: store_id and mqtt_* are read from it first (this file overrides); "
        "its update_spool_dir, when set, becomes spool_dir and no MQTT session of our own is opened "
        "(storenode relays); empty = no"),
    STR(spool_dir, 0, "",
        "`run` also takes offers from <spool_dir>/offer.json and writes each report to report.json "
        "(for a storenode that relays them on its own MQTT session); empty = off"),
    RT_CFG_ROW_LEVEL(fwa_cfg, log_level, "info", "debug, info, warn or error"),
};

static const rt_cfg_table table = {keys, sizeof keys / sizeof keys[0]};

const rt_cfg_table *fwa_cfg_table(void) { return &table; }

/* `key = value` with optional quotes and a trailing ` #` comment, as
 * rt/config.h reads it; NULL for a blank or comment line. */
static char *split(char *line, char **value) {
  char *eq = strchr(line, '='), *k = line, *v, *end;
  while (*k == ' ' || *k == '\t') k++;
  if (!eq || *k == '#') return NULL;
  for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--) {}
  *end = '\0';
  for (v = eq + 1; *v == ' ' || *v == '\t'; v++) {}
  if (*v == '"' && (end = strchr(v + 1, '"'))) {
    *end = '\0';
    v++;
  } else {
    if ((end = strstr(v, " #"))) *end = '\0';
    for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'); end--) {}
    *end = '\0';
  }
  *value = v;
  return k;
}

/* storenode's key -> ours.  update_spool_dir: storenode relays offers and
 * reports on its own session (node/update_relay.c); the broker gives the
 * box's certificate one client id, so a second session would cut its. */
static const char *const wanted[][2] = {
    {"store_id", "store_id"},       {"mqtt_host", "mqtt_host"},         {"mqtt_port", "mqtt_port"},
    {"mqtt_cafile", "mqtt_cafile"}, {"mqtt_certfile", "mqtt_certfile"}, {"mqtt_keyfile", "mqtt_keyfile"},
    {"update_spool_dir", "spool_dir"}};

int fwa_cfg_import_node(fwa_cfg *c, const char *path, char *msg, size_t cap) {
  proto_buf b;
  char *line, *nl;
  int rc = 0;
  if (!path[0]) return 0;
  proto_buf_init(&b);
  if (fw_file_read(path, 1 << 20, &b, NULL) != FW_OK || !b.data) {
    proto_buf_close(&b);
    return 0;
  }
  for (line = b.data; rc == 0 && line; line = nl ? nl + 1 : NULL) {
    char *v = NULL, *k;
    if ((nl = strchr(line, '\n'))) *nl = '\0';
    if (!(k = split(line, &v))) continue;
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
      if (strcmp(k, wanted[i][0]) == 0 && rt_cfg_set(&table, c, wanted[i][1], v, msg, cap) != 0) {
        size_t n = strlen(msg);
        snprintf(msg + n, cap - n, " (in %s)", path);
        rc = -1;
      }
  }
  proto_buf_close(&b);
  if (rc == 0 && c->spool_dir[0]) c->mqtt_host[0] = '\0'; /* relayed: one session per box */
  return rc;
}
