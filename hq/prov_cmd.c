/* prov_cmd.c - hq's provisioning subcommands (hq/prov.h):
 *
 *   ca-init [name]                 create the fleet CA in prov_ca_dir
 *   issue-broker <host|ip>...      broker.crt/.key (server, SAN = the names)
 *   issue-identity hq|claim        hq.crt/.key or claim.crt/.key (client)
 *   device-register <serial> <store_id>
 *   device-import <csv>            "serial,store_id" lines
 *   token-create [serial] [--ttl S]  print a one-time claim token (once)
 *   device-list
 *   device-revoke <serial>         revoke, rewrite the CRL, restart broker
 *   broker-config <dir>            mosquitto.conf + acl for the TLS broker
 *
 * A box that was waiting (pending) for a device-register gets its
 * certificate on its next try; the running hq's POST .../assign answers it
 * at once.  Each command opens and closes the registry itself, so it may run
 * next to a serving hq (SQLite locking).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"
#include "prov/broker.h"
#include "prov/file.h"
#include "proto/hlc.h"

#define CA_DAYS 3650
#define TOKEN_TTL_S 86400

typedef struct cmd {
  const char *name;
  int min_args, max_args;          /* after the name; -1 = any */
  const char *usage;
  int (*fn)(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err);
  bool needs_server;               /* open the CA + registry first */
} cmd;

static void path_in(char *buf, size_t cap, const hq_config *c, const char *name, const char *ext) {
  snprintf(buf, cap, "%s/%s.%s", c->prov_ca_dir, name, ext);
}

/* ---- the commands ------------------------------------------------------------------ */

static int ca_init(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  (void)s;
  int rc = prov_ca_create(c->prov_ca_dir, argc > 0 ? argv[0] : "retail fleet CA",
                          (int64_t)(proto_wall_ms() / 1000u) - 3600, CA_DAYS, err);
  if (rc == PROV_OK) printf("CA created in %s (%s: keep it secret, back it up)\n", c->prov_ca_dir,
                            PROV_CA_KEY_FILE);
  return rc;
}

static int issue(const hq_config *c, prov_server *s, prov_cert_req *q, const char *file,
                 prov_err *err) {
  char crt[HQ_CONFIG_PATH_MAX + 16], key[HQ_CONFIG_PATH_MAX + 16];
  prov_cert_info info;
  path_in(crt, sizeof crt, c, file, "crt");
  path_in(key, sizeof key, c, file, "key");
  int rc = prov_server_issue_identity(s, q, 0, crt, key, &info, err);
  if (rc == PROV_OK) printf("issued CN=%s serial=%s\n  %s\n  %s\n", q->cn, info.cert_serial, crt, key);
  return rc;
}

static int issue_broker(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  prov_cert_req q;
  memset(&q, 0, sizeof q);
  if (argc > PROV_SAN_MAX) return prov_err_set(err, PROV_EINVAL, "at most %d host names", PROV_SAN_MAX);
  q.cn = argv[0];
  q.uses = PROV_USE_SERVER;
  for (int i = 0; i < argc; i++) q.san[q.n_san++] = argv[i];
  return issue(c, s, &q, HQ_PROV_BROKER, err);
}

static int issue_identity(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  prov_cert_req q;
  (void)argc;
  if (strcmp(argv[0], PROV_HQ_IDENTITY) != 0 && strcmp(argv[0], PROV_CLAIM_IDENTITY) != 0)
    return prov_err_set(err, PROV_EINVAL, "identity %s: hq or claim", argv[0]);
  memset(&q, 0, sizeof q);
  q.cn = argv[0];
  q.uses = PROV_USE_CLIENT;
  return issue(c, s, &q, argv[0], err);
}

static int device_register(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  prov_reply r;
  (void)c, (void)argc;
  prov_reply_init(&r);
  int rc = prov_assign(s, argv[0], argv[1], &r, err);
  if (rc == PROV_OK)
    printf("%s -> %s%s\n", argv[0], argv[1],
           r.send ? " (a box was waiting: certificate issued, it gets it on its next try)" : "");
  prov_reply_close(&r);
  return rc;
}

static int device_import(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  int n = 0;
  (void)c, (void)argc;
  int rc = prov_server_register_csv(s, argv[0], NULL, NULL, &n, err);
  printf("%d device(s) registered\n", n);
  return rc;
}

static int token_create(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  char token[PROV_TOKEN_MAX];
  const char *serial = NULL;
  int64_t ttl = TOKEN_TTL_S;
  (void)c;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
      char *end;
      ttl = strtoll(argv[++i], &end, 10);
      if (*end || ttl <= 0) return prov_err_set(err, PROV_EINVAL, "--ttl %s: seconds > 0", argv[i]);
    } else if (!serial && argv[i][0] != '-') {
      serial = argv[i];
    } else {
      return prov_err_set(err, PROV_EINVAL, "token-create: unexpected '%s'", argv[i]);
    }
  }
  int rc = prov_server_token_create(s, serial, ttl, token, err);
  if (rc == PROV_OK) printf("%s\n", token); /* the only copy: only its hash is stored */
  return rc;
}

static int print_device(void *ctx, const prov_device *d) {
  (void)ctx;
  printf("%-24s %-16s %-8s %-34s %lld%s\n", d->serial, d->store_id[0] ? d->store_id : "-",
         d->pending ? "pending" : "-", d->cert_serial[0] ? d->cert_serial : "-",
         (long long)d->cert_not_after_s, d->cert_revoked ? " revoked" : "");
  return 0;
}

static int device_list(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  (void)c, (void)argc, (void)argv;
  printf("%-24s %-16s %-8s %-34s %s\n", "serial", "store", "claim", "certificate", "not_after_s");
  return prov_registry_devices(prov_server_registry(s), print_device, NULL, err);
}

static int device_revoke(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  int n = 0;
  (void)argc;
  int rc = prov_server_revoke_device(s, argv[0], "revoked by operator", &n, err);
  if (rc != PROV_OK) return rc;
  printf("%d certificate(s) of %s revoked; CRL rewritten\n", n, argv[0]);
  if (hq_prov_restart_broker(c, NULL, "revocation") != 0)
    return prov_err_set(err, PROV_EIO, "broker_restart_cmd failed: restart the broker by hand");
  return PROV_OK;
}

static int broker_config(const hq_config *c, prov_server *s, int argc, char **argv, prov_err *err) {
  char conf[HQ_CONFIG_PATH_MAX + 32], acl[HQ_CONFIG_PATH_MAX + 32], ca[HQ_CONFIG_PATH_MAX + 16];
  char crt[HQ_CONFIG_PATH_MAX + 16], key[HQ_CONFIG_PATH_MAX + 16], crl[HQ_CONFIG_PATH_MAX + 16];
  prov_broker_opts o;
  (void)argc;
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", argv[0]);
  snprintf(acl, sizeof acl, "%s/acl", argv[0]);
  path_in(ca, sizeof ca, c, "ca", "crt");
  path_in(crt, sizeof crt, c, HQ_PROV_BROKER, "crt");
  path_in(key, sizeof key, c, HQ_PROV_BROKER, "key");
  if (c->prov_crl_path[0]) snprintf(crl, sizeof crl, "%s", c->prov_crl_path);
  else path_in(crl, sizeof crl, c, "crl", "pem");
  memset(&o, 0, sizeof o);
  o.conf_path = conf;
  o.acl_path = acl;
  o.port = (int)c->prov_broker_port;
  o.cafile = ca;
  o.certfile = crt;
  o.keyfile = key;
  o.crlfile = crl;
  o.persistence_dir = argv[0];
  int rc = prov_dir_ensure(argv[0], 0755, err);
  if (rc == PROV_OK) rc = prov_server_write_crl(s, err); /* the crlfile must exist */
  if (rc == PROV_OK) rc = prov_broker_config(&o, err);
  if (rc == PROV_OK) printf("wrote %s and %s\n", conf, acl);
  return rc;
}

static const cmd cmds[] = {
    {"ca-init", 0, 1, "ca-init [name]", ca_init, false},
    {"issue-broker", 1, PROV_SAN_MAX, "issue-broker <host|ip>...", issue_broker, true},
    {"issue-identity", 1, 1, "issue-identity hq|claim", issue_identity, true},
    {"device-register", 2, 2, "device-register <serial> <store_id>", device_register, true},
    {"device-import", 1, 1, "device-import <csv>", device_import, true},
    {"token-create", 0, 3, "token-create [serial] [--ttl S]", token_create, true},
    {"device-list", 0, 0, "device-list", device_list, true},
    {"device-revoke", 1, 1, "device-revoke <serial>", device_revoke, true},
    {"broker-config", 1, 1, "broker-config <dir>", broker_config, true},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static const cmd *find(const char *name) {
  for (size_t i = 0; i < N_CMDS; i++)
    if (strcmp(cmds[i].name, name) == 0) return &cmds[i];
  return NULL;
}

bool hq_prov_is_command(const char *name) { return find(name) != NULL; }

void hq_prov_usage(FILE *out) {
  for (size_t i = 0; i < N_CMDS; i++) fprintf(out, "       hq --config FILE %s\n", cmds[i].usage);
}

/* ---- shared ------------------------------------------------------------------------- */

int hq_prov_open(prov_server **out, const hq_config *c, hq_err *err) {
  prov_server_opts o;
  proto_buf node;
  prov_err perr = {0};
  *out = NULL;
  if (!c->prov_ca_dir[0]) return hq_err_set(err, HQ_ECONFIG, "prov_ca_dir is not set");
  proto_buf_init(&node);
  int rc = PROV_OK;
  if (c->prov_node_config[0])
    rc = prov_file_read(c->prov_node_config, PROV_NODE_CONFIG_MAX, &node, &perr);
  memset(&o, 0, sizeof o);
  o.ca_dir = c->prov_ca_dir;
  o.registry_path = c->prov_registry[0] ? c->prov_registry : NULL;
  o.crl_path = c->prov_crl_path[0] ? c->prov_crl_path : NULL;
  o.broker_host = c->prov_broker_host;
  o.broker_port = (int)c->prov_broker_port;
  o.node_config = node.len ? node.data : NULL;
  o.device_days = c->prov_device_days;
  o.rate_max = (int)c->prov_rate_max;
  o.rate_window_s = c->prov_rate_window_s;
  if (rc == PROV_OK) rc = prov_server_open(out, &o, &perr);
  proto_buf_close(&node);
  return rc == PROV_OK ? HQ_OK
                       : hq_err_set(err, HQ_ECONFIG, "provisioning (%s): %s", prov_err_wire(rc), perr.msg);
}

int hq_prov_restart_broker(const hq_config *c, const rt_log *lg, const char *why) {
  if (!c->broker_restart_cmd[0]) {
    if (lg) rt_logf(lg, RT_LOG_WARN, "CRL changed: restart the broker (no broker_restart_cmd)", "why=%s", why);
    else printf("restart the broker now so that it loads the new CRL (SIGHUP is not enough, "
                "see docs/security.md)\n");
    return 0;
  }
  int st = system(c->broker_restart_cmd);
  if (lg) rt_logf(lg, st == 0 ? RT_LOG_INFO : RT_LOG_ERROR, "broker restart", "why=%s status=%d", why, st);
  return st == 0 ? 0 : -1;
}

int hq_prov_command(const hq_config *c, int argc, char **argv) {
  const cmd *k = find(argv[0]);
  prov_server *s = NULL;
  prov_err perr = {0};
  hq_err err;
  int rc = PROV_OK;
  hq_err_clear(&err);
  if (!k || argc - 1 < k->min_args || argc - 1 > k->max_args) {
    fprintf(stderr, "usage: hq --config FILE %s\n", k ? k->usage : argv[0]);
    return 2;
  }
  if (!c->prov_ca_dir[0]) {
    fprintf(stderr, "hq %s: set prov_ca_dir in the config\n", k->name);
    return 2;
  }
  if (k->needs_server && hq_prov_open(&s, c, &err) != HQ_OK) {
    fprintf(stderr, "hq %s: %s\n", k->name, err.msg);
    return 1;
  }
  rc = k->fn(c, s, argc - 1, argv + 1, &perr);
  prov_server_close(s);
  if (rc != PROV_OK) {
    fprintf(stderr, "hq %s: %s: %s\n", k->name, prov_err_wire(rc), perr.msg);
    return 1;
  }
  return 0;
}
