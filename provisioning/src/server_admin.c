/* server_admin.c - the prov_server handle and the operator's side: open,
 * claim tokens, revocation and the CRL, identities for the broker / hq /
 * claim, CSV registration (prov/server.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "prov/file.h"
#include "server_int.h"

#define TOKEN_BYTES 32
#define TOKEN_PREFIX "ct_"
#define CSV_LINE_MAX 512

static const char *const reserved[] = {PROV_HQ_IDENTITY, PROV_CLAIM_IDENTITY};

bool prov__reserved_id(const char *id) {
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(id, reserved[i]) == 0) return true;
  return false;
}

int64_t prov__server_now_ms(prov_server *s) {
  return s->o.clock_ms ? s->o.clock_ms(s->o.clock_ctx) : prov__now_ms();
}

prov_registry *prov_server_registry(prov_server *s) { return s->reg; }
prov_ca *prov_server_ca(prov_server *s) { return s->ca; }

void prov_server_close(prov_server *s) {
  if (!s) return;
  prov_registry_close(s->reg);
  prov_ca_close(s->ca);
  prov__rng_free(&s->rng);
  free(s->ca_dir);
  free(s->registry_path);
  free(s->crl_path);
  free(s->broker_host);
  free(s->node_config);
  free(s);
}

/* Copy the strings, apply the defaults.  NULL for no memory. */
static char *dup_or(const char *v, const char *dir, const char *file) {
  if (v) return strdup(v);
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, file);
  return p;
}

static int copy_opts(prov_server *s, const prov_server_opts *o, prov_err *err) {
  s->o = *o;
  if (!o->ca_dir || !o->broker_host || !*o->broker_host)
    return prov_err_set(err, PROV_ECONFIG, "provisioning: ca_dir and broker_host are required");
  if (!(s->ca_dir = strdup(o->ca_dir)) || !(s->broker_host = strdup(o->broker_host)) ||
      !(s->registry_path = dup_or(o->registry_path, o->ca_dir, PROV_REGISTRY_FILE)) ||
      !(s->crl_path = dup_or(o->crl_path, o->ca_dir, PROV_CRL_FILE)) ||
      !(s->node_config = strdup(o->node_config ? o->node_config : "")))
    return prov_err_set(err, PROV_ENOMEM, "provisioning options");
  if (strlen(s->node_config) > PROV_NODE_CONFIG_MAX)
    return prov_err_set(err, PROV_ECONFIG, "node_config: over %d bytes", PROV_NODE_CONFIG_MAX);
  s->o.ca_dir = s->ca_dir, s->o.broker_host = s->broker_host;
  s->o.registry_path = s->registry_path, s->o.crl_path = s->crl_path;
  s->o.node_config = s->node_config;
  if (!s->o.broker_port) s->o.broker_port = 8883;
  if (!s->o.device_days) s->o.device_days = 365;
  if (!s->o.renew_before_days) s->o.renew_before_days = 30;
  if (!s->o.crl_days) s->o.crl_days = 30;
  if (!s->o.rate_max) s->o.rate_max = 10;
  if (!s->o.rate_window_s) s->o.rate_window_s = 60;
  if (!s->o.pending_retry_s) s->o.pending_retry_s = 30;
  if (s->o.broker_port < 1 || s->o.broker_port > 65535 || s->o.device_days < 1 ||
      s->o.renew_before_days < 0 || s->o.renew_before_days >= s->o.device_days ||
      s->o.crl_days < 1 || s->o.rate_max < 1 || s->o.rate_window_s < 1 || s->o.pending_retry_s < 1)
    return prov_err_set(err, PROV_ECONFIG, "provisioning: an option is out of range");
  return PROV_OK;
}

int prov_server_open(prov_server **out, const prov_server_opts *o, prov_err *err) {
  *out = NULL;
  prov_server *s = calloc(1, sizeof *s);
  if (!s) return prov_err_set(err, PROV_ENOMEM, "provisioning");
  int rc = copy_opts(s, o, err);
  if (rc == PROV_OK) rc = prov_ca_open(&s->ca, s->ca_dir, err);
  if (rc == PROV_OK) rc = prov_registry_open(&s->reg, s->registry_path, err);
  if (rc == PROV_OK) rc = prov__rng_init(&s->rng, "prov-server", err);
  if (rc != PROV_OK) prov_server_close(s);
  else *out = s;
  return rc;
}

/* ---- tokens ----------------------------------------------------------------- */

int prov_server_token_create(prov_server *s, const char *serial, int64_t ttl_s,
                             char token[PROV_TOKEN_MAX], prov_err *err) {
  unsigned char raw[TOKEN_BYTES], b64[64];
  size_t n = 0;
  char hash[PROV_HASH_HEX];
  if (ttl_s < 60 || ttl_s > 366 * 86400)
    return prov_err_set(err, PROV_EINVAL, "ttl: 60 s .. 366 days");
  int rc = prov__random(&s->rng, raw, sizeof raw, err);
  if (rc != PROV_OK) return rc;
  mbedtls_base64_encode(b64, sizeof b64, &n, raw, sizeof raw);
  mbedtls_platform_zeroize(raw, sizeof raw);
  /* base64url without padding: the token travels in JSON and shell commands */
  while (n && b64[n - 1] == '=') n--;
  for (size_t i = 0; i < n; i++) b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
  snprintf(token, PROV_TOKEN_MAX, "%s%.*s", TOKEN_PREFIX, (int)n, (const char *)b64);
  mbedtls_platform_zeroize(b64, sizeof b64);
  prov__sha256_hex(token, strlen(token), hash);
  int64_t now = prov__server_now_ms(s);
  rc = prov_registry_token_add(s->reg, hash, serial, now, now + ttl_s * 1000, err);
  if (rc != PROV_OK) mbedtls_platform_zeroize(token, PROV_TOKEN_MAX);
  return rc;
}

/* ---- CRL -------------------------------------------------------------------- */

int prov__crl_build(prov_server *s, proto_buf *pem, prov_err *err) {
  int64_t now_s = prov__server_now_ms(s) / 1000, this_s;
  uint64_t number;
  prov_crl_entry *list = NULL;
  size_t n = 0;
  int rc = prov_registry_revoked(s->reg, now_s, &list, &n, err);
  if (rc == PROV_OK) rc = prov_registry_crl_next(s->reg, now_s, BACKDATE_S, &number, &this_s, err);
  if (rc == PROV_OK)
    rc = prov_ca_crl(s->ca, list, n, this_s, this_s + s->o.crl_days * 86400, number, pem, err);
  free(list);
  return rc;
}

int prov__crl_store(prov_server *s, const proto_buf *pem, prov_err *err) {
  return prov_file_write(s->crl_path, pem->data, pem->len, 0644, err);
}

int prov_server_write_crl(prov_server *s, prov_err *err) {
  proto_buf pem;
  proto_buf_init(&pem);
  int rc = prov_registry_begin(s->reg, err);
  if (rc == PROV_OK) {
    rc = prov__crl_build(s, &pem, err);
    if (rc == PROV_OK) rc = prov_registry_commit(s->reg, err);
    else prov_registry_rollback(s->reg);
  }
  if (rc == PROV_OK) rc = prov__crl_store(s, &pem, err);
  proto_buf_close(&pem);
  return rc;
}

/* ---- revocation ------------------------------------------------------------- */

typedef enum { BY_DEVICE, BY_CERT, BY_CN } revoke_by;

static int revoke(prov_server *s, revoke_by by, const char *what, const char *reason, int *n,
                  prov_err *err) {
  int64_t now = prov__server_now_ms(s);
  int count = 0;
  const char *why = reason && *reason ? reason : "revoked";
  if (n) *n = 0;
  int rc = prov_registry_begin(s->reg, err);
  if (rc != PROV_OK) return rc;
  if (by == BY_DEVICE) rc = prov_registry_revoke_device(s->reg, what, NULL, why, now, &count, err);
  else if (by == BY_CERT) rc = prov_registry_revoke_cert(s->reg, what, why, now, &count, err);
  else rc = prov_registry_revoke_cn(s->reg, what, why, now, &count, err);
  if (rc == PROV_OK) rc = prov_registry_commit(s->reg, err);
  else prov_registry_rollback(s->reg);
  if (rc == PROV_OK) rc = prov_server_write_crl(s, err);
  if (n) *n = count;
  return rc;
}

int prov_server_revoke_device(prov_server *s, const char *serial, const char *reason, int *n,
                              prov_err *err) {
  return revoke(s, BY_DEVICE, serial, reason, n, err);
}

int prov_server_revoke_cert(prov_server *s, const char *cert_serial, const char *reason, int *n,
                            prov_err *err) {
  return revoke(s, BY_CERT, cert_serial, reason, n, err);
}

int prov_server_revoke_identity(prov_server *s, const char *cn, const char *reason, int *n,
                                prov_err *err) {
  return revoke(s, BY_CN, cn, reason, n, err);
}

/* ---- identities -------------------------------------------------------------- */

int prov_server_issue_identity(prov_server *s, const prov_cert_req *req, int64_t days,
                               const char *certfile, const char *keyfile, prov_cert_info *info,
                               prov_err *err) {
  prov_cert_req r = *req;
  int64_t now_ms = prov__server_now_ms(s);
  proto_buf pem, csr;
  prov_csr_info ci;
  prov_cert_info local;
  if (!info) info = &local;
  if (!r.not_after_s) {
    r.not_before_s = now_ms / 1000 - BACKDATE_S;
    r.not_after_s = now_ms / 1000 + (days > 0 ? days : 365) * 86400;
  }
  proto_buf_init(&pem);
  proto_buf_init(&csr);
  /* the key is made here (HQ's machine) and goes through a CSR like a box's */
  int rc = prov_key_generate(keyfile, err);
  if (rc == PROV_OK) rc = prov_csr_make(keyfile, r.cn, &csr, err);
  if (rc == PROV_OK) rc = prov_csr_check(csr.data, csr.len, &ci, err);
  if (rc == PROV_OK) rc = prov_ca_issue(s->ca, &r, ci.spki, ci.spki_len, &pem, info, err);
  if (rc == PROV_OK) rc = prov_registry_cert_add(s->reg, info, pem.data, now_ms, err);
  if (rc == PROV_OK) rc = prov_file_write(certfile, pem.data, pem.len, 0644, err);
  if (rc != PROV_OK && rc != PROV_EEXISTS) remove(keyfile);
  proto_buf_close(&pem);
  proto_buf_close(&csr);
  return rc;
}

/* ---- CSV ---------------------------------------------------------------------- */

/* "serial,store_id" -> the two fields (trimmed); 0 = skip the line, -1 bad. */
static int csv_fields(char *line, char **serial, char **store) {
  line[strcspn(line, "\r\n")] = '\0';
  char *p = line + strspn(line, " \t");
  if (!*p || *p == '#') return 0;
  char *comma = strchr(p, ',');
  if (!comma) return -1;
  *comma = '\0';
  *serial = p;
  *store = comma + 1 + strspn(comma + 1, " \t");
  for (char *e = *serial + strlen(*serial); e > *serial && (e[-1] == ' ' || e[-1] == '\t');)
    *--e = '\0';
  for (char *e = *store + strlen(*store); e > *store && (e[-1] == ' ' || e[-1] == '\t');)
    *--e = '\0';
  if (strcmp(*serial, "serial") == 0 && strcmp(*store, "store_id") == 0) return 0;
  return 1;
}

int prov_server_register_csv(prov_server *s, const char *path, prov_reply_fn fn, void *ctx, int *n,
                             prov_err *err) {
  char line[CSV_LINE_MAX], *serial, *store;
  prov_reply r;
  int rc = PROV_OK, lineno = 0;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return prov_err_set(err, PROV_EIO, "%s: %s", path, strerror(errno));
  prov_reply_init(&r);
  while (rc == PROV_OK && fgets(line, sizeof line, f)) {
    lineno++;
    int k = csv_fields(line, &serial, &store);
    if (k == 0) continue;
    if (k < 0) {
      rc = prov_err_set(err, PROV_EINVAL, "%s:%d: want serial,store_id", path, lineno);
      break;
    }
    rc = prov_assign(s, serial, store, &r, err);
    if (rc == PROV_EINVAL && err) {
      char why[sizeof err->msg];
      memcpy(why, err->msg, sizeof why);
      prov_err_set(err, rc, "%s:%d: %s", path, lineno, why);
    }
    if (rc == PROV_OK) ++*n;
    if (r.send && fn) fn(ctx, &r);
  }
  prov_reply_close(&r);
  fclose(f);
  return rc;
}
