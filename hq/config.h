/* hq/config.h - hq's configuration: one table of keys (config.c), parsed
 * by the shared key-table parser (rt/config.h: `key = value` lines, `#`
 * comments, every key typed, ranged and defaulted; unknown or repeated
 * keys are errors naming the file and line).  `hq --help` prints the table;
 * docs/hq.md documents every key.
 */
#ifndef HQ_CONFIG_H
#define HQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "rt/log.h"

#define HQ_CONFIG_PATH_MAX 512

typedef struct hq_config {
  char http_addr[64];
  int64_t http_port;
  char db_path[HQ_CONFIG_PATH_MAX];
  char events_db_path[HQ_CONFIG_PATH_MAX];
  char mqtt_host[256];
  int64_t mqtt_port;
  char mqtt_client_id[64];
  char mqtt_username[64];
  char mqtt_cafile[HQ_CONFIG_PATH_MAX];
  char mqtt_certfile[HQ_CONFIG_PATH_MAX];
  char mqtt_keyfile[HQ_CONFIG_PATH_MAX];
  int64_t mqtt_keepalive_s;
  int64_t mqtt_session_expiry_s;
  int64_t mqtt_max_queue;
  int64_t max_skew_ms;
  int64_t busy_timeout_ms;
  int64_t ingest_max_msgs;
  int64_t down_window;
  int64_t retransmit_ms;
  int64_t offline_after_s;
  int64_t tick_ms;
  char api_tokens_file[HQ_CONFIG_PATH_MAX];
  int64_t http_body_max;
  int64_t pickup_code_digits;
  int64_t tz_offset_min;
  int64_t views_cache_ms;           /* dashboard view answers reused this long; 0 = off */
  bool route_online_only;
  int64_t idempotency_keep_s;
  rt_log_level log_level;
  bool debug_endpoints;
  /* provisioning (hq/prov.h); prov_ca_dir empty = off */
  char prov_ca_dir[HQ_CONFIG_PATH_MAX];
  char prov_registry[HQ_CONFIG_PATH_MAX];
  char prov_crl_path[HQ_CONFIG_PATH_MAX];
  char prov_broker_host[256];
  int64_t prov_broker_port;
  char prov_node_config[HQ_CONFIG_PATH_MAX];
  int64_t prov_device_days;
  int64_t prov_rate_max;
  int64_t prov_rate_window_s;
  char broker_restart_cmd[HQ_CONFIG_PATH_MAX];
  char fw_pubkey[HQ_CONFIG_PATH_MAX]; /* firmware signing public key (PEM); "" = no firmware */
  char fw_base_url[256];           /* offers' payload URL base; "" = http://http_addr:port */
  int64_t fw_url_ttl_s;            /* signed payload URLs expire after this (s) */
} hq_config;

void hq_config_defaults(hq_config *c);
/* Read a file over c (which should hold the defaults); HQ_ECONFIG with
 * "FILE:LINE: key: why" on err. */
int hq_config_load(hq_config *c, const char *path, hq_err *err);
/* Set one key from text (tests, command line overrides). */
int hq_config_set(hq_config *c, const char *key, const char *value, hq_err *err);
void hq_config_print_keys(FILE *out);
void hq_config_print_markdown(FILE *out);
void hq_config_print(const hq_config *c, FILE *out);

#endif
