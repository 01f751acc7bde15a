/* node/config.h - storenode's configuration: one table of keys.
 *
 * File format: `key = value` per line; blank lines and lines starting with
 * `#` are ignored; an unquoted value ends at ` #` (trailing comment); a value
 * may be written in double quotes to keep `#` or surrounding spaces.  Every
 * key has a type, a range and a default in the table in config.c (printed by
 * `storenode --help` and documented in docs/storenode.md).  Unknown keys,
 * repeated keys and out-of-range values are errors naming the file, line and
 * key.
 */
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "log.h"
#include "proto/event.h"

#define NODE_CONFIG_PATH_MAX 512

typedef struct node_config {
  char store_id[PROTO_ID_MAX];
  char db_path[NODE_CONFIG_PATH_MAX];
  char http_addr[64];
  int64_t http_port;
  char www_dir[NODE_CONFIG_PATH_MAX];
  int64_t max_skew_ms;
  int64_t busy_timeout_ms;
  int64_t group_commit_ms;
  int64_t group_commit_max;
  int64_t ws_max_message;
  int64_t ws_max_queue;
  int64_t ws_rate;
  int64_t ws_burst;
  int64_t ws_ping_s;
  int64_t session_ttl_s;
  int64_t lockout_attempts;
  int64_t lockout_s;
  int64_t lockout_peer_attempts;
  int64_t lockout_peer_window_s;
  int64_t lockout_peer_s;
  int64_t kdf_iterations;
  int64_t auto_accept_tick_ms;
  int64_t board_recent_s;
  node_log_level log_level;
  bool dev_inject;
  /* replication (node/repl.h); mqtt_host "" = off */
  char mqtt_host[256];
  int64_t mqtt_port;
  int64_t mqtt_keepalive_s;
  int64_t mqtt_session_expiry_s;
  int64_t mqtt_reconnect_max_s;
  int64_t heartbeat_s;
  int64_t retransmit_s;
  char mqtt_cafile[NODE_CONFIG_PATH_MAX];
  char mqtt_certfile[NODE_CONFIG_PATH_MAX];
  char mqtt_keyfile[NODE_CONFIG_PATH_MAX];
  char update_spool_dir[NODE_CONFIG_PATH_MAX]; /* node/update_relay.h; "" = off */
} node_config;

/* Every key at its default. */
void node_config_defaults(node_config *c);
/* Set one key from its text form.  NODE_ECONFIG naming the key on an unknown
 * key or a bad value; c is unchanged then. */
int node_config_set(node_config *c, const char *key, const char *value, node_err *err);
/* Read a file over c (which should hold the defaults).  On error c may hold
 * the keys of the lines before the bad one; err says "FILE:LINE: key: why". */
int node_config_load(node_config *c, const char *path, node_err *err);
/* The key table as help text: name, type, range, default, description. */
void node_config_print_keys(FILE *out);
/* The effective configuration in file format (loads back to the same). */
void node_config_print(const node_config *c, FILE *out);

#endif
