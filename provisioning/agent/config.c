/* config.c - storenode-provision's configuration: one table of keys (the
 * shared parser of rt/config.h). */
#include <stddef.h>
#include <string.h>

#include "agent.h"
#include "rt/config.h"

#define STR(m, lo, d, h) RT_CFG_ROW_STR(agent_config, m, lo, d, h)
#define INT(m, lo, hi, d, h) RT_CFG_ROW_INT(agent_config, m, lo, hi, d, h)

static const rt_cfg_key keys[] = {
    RT_CFG_ROW_ID(agent_config, serial, "unset",
                  "this box's factory serial (printed on its label)"),
    STR(claim_token_file, 0, "/etc/storenode/claim-token",
        "file holding the one-time claim token (not needed any more once provisioned)"),
    STR(ca_file, 1, "/etc/storenode/fleet-ca.pem", "the fleet CA certificate (factory image)"),
    STR(claim_certfile, 1, "/etc/storenode/claim.pem",
        "the shared claim certificate (factory image)"),
    STR(claim_keyfile, 1, "/etc/storenode/claim.key", "its private key"),
    STR(broker_host, 1, "mqtt.example.com", "the broker to ask"),
    INT(broker_port, 1, 65535, "8883", "its TLS port"),
    STR(state_dir, 1, "/var/lib/storenode/identity",
        "this box's key (0600), certificate, HQ's answer, the phase file"),
    STR(node_config, 1, "/etc/storenode/storenode.conf", "the storenode config to write"),
    STR(node_config_base, 0, "",
        "optional file of local storenode config lines copied into it (db_path, http_addr, ...)"),
    INT(response_wait_s, 1, 3600, "20", "wait this long for HQ's answer to one request (s)"),
    INT(retry_min_s, 1, 3600, "2", "first wait before trying again (s; doubles with jitter)"),
    INT(retry_max_s, 1, 86400, "300", "longest wait between tries (s)"),
    INT(max_wait_s, 0, 31536000, "0", "give up after this long (s); 0 = keep trying"),
    INT(renew_before_days, 0, 3650, "30", "renew when the certificate has less than this left"),
    STR(time_check, 2, "auto",
        "check the broker certificate's dates: auto (only with an NTP-synchronised clock), yes, "
        "no"),
    RT_CFG_ROW_LEVEL(agent_config, log_level, "info", "debug, info, warn or error"),
};

static const rt_cfg_table table = {keys, sizeof keys / sizeof keys[0]};

int agent_config_defaults(agent_config *c, prov_err *err) {
  char msg[256];
  memset(c, 0, sizeof *c);
  if (rt_cfg_defaults(&table, c, msg, sizeof msg) != 0)
    return prov_err_set(err, PROV_ECONFIG, "%s", msg);
  return PROV_OK;
}

int agent_config_load(agent_config *c, const char *path, prov_err *err) {
  char msg[256];
  if (rt_cfg_load(&table, c, path, msg, sizeof msg) != 0)
    return prov_err_set(err, PROV_ECONFIG, "%s", msg);
  if (strcmp(c->serial, "unset") == 0)
    return prov_err_set(err, PROV_ECONFIG, "%s: serial is not set", path);
  if (strcmp(c->time_check, "auto") && strcmp(c->time_check, "yes") && strcmp(c->time_check, "no"))
    return prov_err_set(err, PROV_ECONFIG, "%s: time_check: auto, yes or no", path);
  if (c->retry_max_s < c->retry_min_s)
    return prov_err_set(err, PROV_ECONFIG, "%s: retry_max_s < retry_min_s", path);
  return PROV_OK;
}

void agent_config_print_keys(FILE *out) { rt_cfg_print_keys(&table, out); }

agent_time_check agent_config_time_check(const agent_config *c) {
  return strcmp(c->time_check, "yes") == 0 ? AGENT_TIME_YES
         : strcmp(c->time_check, "no") == 0 ? AGENT_TIME_NO
                                             : AGENT_TIME_AUTO;
}
