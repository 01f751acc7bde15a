/* config.c - the configuration key table and its file parser.
 *
 * The table below is the only list of keys: defaults are applied by parsing
 * each row's default text through the same setter a file line goes through,
 * so a default can never be out of its own range, and --help and the docs
 * are printed from the same rows.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/codec.h"

#ifndef STORENODE_WWW_DIR
#define STORENODE_WWW_DIR "www"
#endif

#define LINE_MAX_LEN 1024

typedef enum { K_ID, K_STR, K_INT, K_BOOL, K_LEVEL } key_kind;

typedef struct key_row {
  const char *name;
  key_kind kind;
  size_t offset, size;             /* member of node_config; size for strings */
  int64_t min, max;                /* K_INT range; K_STR: min length */
  const char *def;
  const char *help;
} key_row;

#define STR(m, lo, d, h) {#m, K_STR, offsetof(node_config, m), sizeof(((node_config *)0)->m), lo, 0, d, h}
#define INT(m, lo, hi, d, h) {#m, K_INT, offsetof(node_config, m), sizeof(int64_t), lo, hi, d, h}

static const key_row keys[] = {
    {"store_id", K_ID, offsetof(node_config, store_id), PROTO_ID_MAX, 1, 0, "store-1",
     "this store's id: the origin of its events ([A-Za-z0-9_.:-], 1-63 chars)"},
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
    INT(session_ttl_s, 60, 2592000, "43200", "tablet session lifetime (s)"),
    INT(lockout_attempts, 1, 100, "5", "wrong PINs in a row that lock a tablet"),
    INT(lockout_s, 1, 86400, "60", "how long a locked tablet must wait (s)"),
    INT(kdf_iterations, 1000, 10000000, "10000", "PBKDF2-HMAC-SHA256 iterations for new PINs"),
    INT(auto_accept_tick_ms, 100, 60000, "1000",
        "how often the auto-accept rule (store setting auto_accept_s) runs (ms)"),
    INT(board_recent_s, 0, 604800, "21600",
        "finished orders younger than this are still sent in a snapshot (s)"),
    {"log_level", K_LEVEL, offsetof(node_config, log_level), sizeof(node_log_level), 0, 0, "info",
     "debug, info, warn or error"},
    {"dev_inject", K_BOOL, offsetof(node_config, dev_inject), sizeof(bool), 0, 0, "false",
     "enable POST /api/dev/events from 127.0.0.1 (tests and demo only, never in production)"},
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
};

#define N_KEYS (sizeof keys / sizeof keys[0])

static const key_row *find_key(const char *name) {
  for (size_t i = 0; i < N_KEYS; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  return NULL;
}

static int parse_int(const key_row *k, const char *v, int64_t *out, node_err *err) {
  char *end;
  long long n;
  errno = 0;
  n = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0')
    return node_err_set(err, NODE_ECONFIG, "%s: '%s' is not an integer", k->name, v);
  if (n < k->min || n > k->max)
    return node_err_set(err, NODE_ECONFIG, "%s: %lld out of range %lld..%lld", k->name, n,
                        (long long)k->min, (long long)k->max);
  *out = n;
  return NODE_OK;
}

static int parse_bool(const key_row *k, const char *v, bool *out, node_err *err) {
  static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
      *out = strcasecmp(v, yes[i]) == 0;
      return NODE_OK;
    }
  }
  return node_err_set(err, NODE_ECONFIG, "%s: '%s' is not a boolean (true/false)", k->name, v);
}

static int parse_level(const key_row *k, const char *v, node_log_level *out, node_err *err) {
  for (int l = NODE_LOG_DEBUG; l <= NODE_LOG_ERROR; l++) {
    if (strcmp(v, node_log_level_name((node_log_level)l)) == 0) {
      *out = (node_log_level)l;
      return NODE_OK;
    }
  }
  return node_err_set(err, NODE_ECONFIG, "%s: '%s' is not one of debug, info, warn, error",
                      k->name, v);
}

static int parse_str(const key_row *k, const char *v, char *dst, node_err *err) {
  size_t n = strlen(v);
  if (n >= k->size)
    return node_err_set(err, NODE_ECONFIG, "%s: longer than %zu bytes", k->name, k->size - 1);
  if ((int64_t)n < k->min) return node_err_set(err, NODE_ECONFIG, "%s: must not be empty", k->name);
  if (k->kind == K_ID && !proto_id_valid(v))
    return node_err_set(err, NODE_ECONFIG, "%s: '%s' is not an id ([A-Za-z0-9_.:-], 1-63)",
                        k->name, v);
  memcpy(dst, v, n + 1);
  return NODE_OK;
}

static int set_row(node_config *c, const key_row *k, const char *v, node_err *err) {
  char *field = (char *)c + k->offset;
  switch (k->kind) {
    case K_ID:
    case K_STR: return parse_str(k, v, field, err);
    case K_INT: return parse_int(k, v, (int64_t *)(void *)field, err);
    case K_BOOL: return parse_bool(k, v, (bool *)(void *)field, err);
    case K_LEVEL: return parse_level(k, v, (node_log_level *)(void *)field, err);
  }
  return node_err_set(err, NODE_ECONFIG, "%s: bad key kind", k->name);
}

int node_config_set(node_config *c, const char *key, const char *value, node_err *err) {
  const key_row *k = find_key(key);
  if (!k) return node_err_set(err, NODE_ECONFIG, "unknown key '%s'", key);
  return set_row(c, k, value, err);
}

void node_config_defaults(node_config *c) {
  node_err err;
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < N_KEYS; i++) {
    /* The table is static: a default that does not parse is a bug caught by
     * the first test that starts the program. */
    if (set_row(c, &keys[i], keys[i].def, &err) != NODE_OK) abort();
  }
}

static char *trim(char *s) {
  char *e;
  while (isspace((unsigned char)*s)) s++;
  e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* Split one line into key and value in place.  Returns 0 for a blank or
 * comment line (*key NULL), NODE_OK with both set, or NODE_ECONFIG. */
static int split_line(char *line, char **key, char **value, node_err *err) {
  char *eq, *v, *hash;
  *key = NULL;
  line = trim(line);
  if (*line == '\0' || *line == '#') return NODE_OK;
  eq = strchr(line, '=');
  if (!eq) return node_err_set(err, NODE_ECONFIG, "expected 'key = value'");
  *eq = '\0';
  *key = trim(line);
  v = trim(eq + 1);
  if (*v == '"') {
    char *close = strchr(v + 1, '"');
    if (!close) return node_err_set(err, NODE_ECONFIG, "%s: unterminated quote", *key);
    *close = '\0';
    if (*trim(close + 1) != '\0' && *trim(close + 1) != '#')
      return node_err_set(err, NODE_ECONFIG, "%s: text after the closing quote", *key);
    *value = v + 1;
    return NODE_OK;
  }
  for (hash = v; (hash = strchr(hash, '#')) != NULL; hash++) {
    if (hash > v && isspace((unsigned char)hash[-1])) {
      *hash = '\0';
      break;
    }
  }
  *value = trim(v);
  return NODE_OK;
}

int node_config_load(node_config *c, const char *path, node_err *err) {
  int rc = NODE_OK, lineno = 0;
  int seen[N_KEYS] = {0};
  char line[LINE_MAX_LEN + 2];
  FILE *f = fopen(path, "r");
  if (!f) return node_err_set(err, NODE_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
  while (rc == NODE_OK && fgets(line, sizeof line, f)) {
    char *key = NULL, *value = NULL;
    const key_row *k;
    node_err e;
    lineno++;
    if (strlen(line) > LINE_MAX_LEN) {
      rc = node_err_set(err, NODE_ECONFIG, "%s:%d: line longer than %d bytes", path, lineno,
                        LINE_MAX_LEN);
      break;
    }
    node_err_clear(&e);
    if (split_line(line, &key, &value, &e) == NODE_OK && key == NULL) continue;
    if (e.code == NODE_OK) {
      k = find_key(key);
      if (!k) node_err_set(&e, NODE_ECONFIG, "unknown key '%s'", key);
      else if (seen[k - keys])
        node_err_set(&e, NODE_ECONFIG, "%s: already set on line %d", key, seen[k - keys]);
      else if (set_row(c, k, value, &e) == NODE_OK)
        seen[k - keys] = lineno;
    }
    if (e.code != NODE_OK) rc = node_err_set(err, NODE_ECONFIG, "%s:%d: %s", path, lineno, e.msg);
  }
  if (rc == NODE_OK && ferror(f))
    rc = node_err_set(err, NODE_ECONFIG, "%s: read error: %s", path, strerror(errno));
  fclose(f);
  return rc;
}

static const char *kind_name(const key_row *k) {
  static const char *const names[] = {"id", "string", "integer", "bool", "level"};
  return names[k->kind];
}

void node_config_print_keys(FILE *out) {
  for (size_t i = 0; i < N_KEYS; i++) {
    const key_row *k = &keys[i];
    char range[64] = "";
    if (k->kind == K_INT)
      snprintf(range, sizeof range, " %lld..%lld", (long long)k->min, (long long)k->max);
    fprintf(out, "  %-20s %s%s, default %s\n  %-20s   %s\n", k->name, kind_name(k), range,
            *k->def ? k->def : "\"\"", "", k->help);
  }
}

void node_config_print(const node_config *c, FILE *out) {
  for (size_t i = 0; i < N_KEYS; i++) {
    const key_row *k = &keys[i];
    const char *field = (const char *)c + k->offset;
    switch (k->kind) {
      case K_ID:
      case K_STR: fprintf(out, "%s = \"%s\"\n", k->name, field); break;
      case K_INT: fprintf(out, "%s = %lld\n", k->name, (long long)*(const int64_t *)(const void *)field); break;
      case K_BOOL: fprintf(out, "%s = %s\n", k->name, *(const bool *)(const void *)field ? "true" : "false"); break;
      case K_LEVEL:
        fprintf(out, "%s = %s\n", k->name,
                node_log_level_name(*(const node_log_level *)(const void *)field));
        break;
    }
  }
}
