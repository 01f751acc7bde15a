/* fixture.c - see fixture.h. */
#include "fixture.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "prov/broker.h"
#include "prov/x509.h"

int64_t fx_clock_fn(void *ctx) {
  fx_clock *c = ctx;
  if (c->ms) return c->ms;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + c->offset_ms;
}

void fx_path(const fx *f, char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", f->dir, name);
}

void fx_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      char p[FX_PATH * 2];
      struct stat st;
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) fx_rmtree(p);
      else unlink(p);
    }
    closedir(d);
  }
  rmdir(path);
}

void fx_open(fx *f) {
  prov_err err = {0};
  const char *tmp = getenv("TMPDIR");
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "%s/prov-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(f->dir));
  chmod(f->dir, 0755);
  snprintf(f->ca_dir, sizeof f->ca_dir, "%s/ca", f->dir);
  int64_t now_s = fx_clock_fn(&f->clock) / 1000;
  if (prov_ca_create(f->ca_dir, "Test Fleet CA", now_s - 86400, 3650, &err) != PROV_OK)
    fail_msg("%s", err.msg);
  snprintf(f->ca_crt, sizeof f->ca_crt, "%s/%s", f->ca_dir, PROV_CA_CERT_FILE);
  snprintf(f->crl, sizeof f->crl, "%s/%s", f->ca_dir, PROV_CRL_FILE);
  fx_path(f, f->acl, sizeof f->acl, "acl");
  f->opts = (prov_server_opts){.ca_dir = f->ca_dir,
                               .broker_host = "127.0.0.1",
                               .broker_port = 8883,
                               .node_config = "heartbeat_s = 5\n",
                               .rate_max = 20,
                               .rate_window_s = 60,
                               .clock_ms = fx_clock_fn,
                               .clock_ctx = &f->clock};
  if (prov_server_open(&f->srv, &f->opts, &err) != PROV_OK) fail_msg("%s", err.msg);
  if (prov_server_write_crl(f->srv, &err) != PROV_OK) fail_msg("%s", err.msg);
}

void fx_reopen(fx *f) {
  prov_err err = {0};
  prov_server_close(f->srv);
  f->srv = NULL;
  if (prov_server_open(&f->srv, &f->opts, &err) != PROV_OK) fail_msg("%s", err.msg);
}

void fx_close(fx *f) {
  prov_server_close(f->srv);
  f->srv = NULL;
  if (f->dir[0]) fx_rmtree(f->dir);
}

static void identity(fx *f, const char *cn, unsigned uses, char *crt, char *key) {
  prov_err err = {0};
  char name[64];
  prov_cert_req r = {.cn = cn, .uses = uses};
  if (uses & PROV_USE_SERVER) {
    r.san[0] = "127.0.0.1", r.san[1] = "localhost", r.n_san = 2;
  }
  snprintf(name, sizeof name, "%s.crt", cn);
  fx_path(f, crt, FX_PATH, name);
  snprintf(name, sizeof name, "%s.key", cn);
  fx_path(f, key, FX_PATH, name);
  if (prov_server_issue_identity(f->srv, &r, 30, crt, key, NULL, &err) != PROV_OK)
    fail_msg("%s: %s", cn, err.msg);
}

void fx_identities(fx *f) {
  identity(f, "127.0.0.1", PROV_USE_SERVER, f->broker_crt, f->broker_key);
  identity(f, PROV_HQ_IDENTITY, PROV_USE_CLIENT, f->hq_crt, f->hq_key);
  identity(f, PROV_CLAIM_IDENTITY, PROV_USE_CLIENT, f->claim_crt, f->claim_key);
}

void fx_store_cert(fx *f, const char *store_id, const char *serial, int64_t nb, int64_t na,
                   char *crt, char *key) {
  prov_err err = {0};
  char name[128];
  int64_t now_s = fx_clock_fn(&f->clock) / 1000;
  prov_cert_req r = {.cn = store_id,
                     .device_serial = serial,
                     .uses = PROV_USE_CLIENT,
                     .not_before_s = nb ? nb : now_s - 3600,
                     .not_after_s = na ? na : now_s + 86400 * 365};
  snprintf(name, sizeof name, "%s-%s.crt", store_id, serial);
  fx_path(f, crt, FX_PATH, name);
  snprintf(name, sizeof name, "%s-%s.key", store_id, serial);
  fx_path(f, key, FX_PATH, name);
  if (prov_server_issue_identity(f->srv, &r, 0, crt, key, NULL, &err) != PROV_OK)
    fail_msg("%s: %s", store_id, err.msg);
}

int fx_broker_conf(void *ctx, const char *path, int port) {
  fx *f = ctx;
  prov_err err = {0};
  prov_broker_opts o = {.conf_path = path, .acl_path = f->acl, .bind = "127.0.0.1", .port = port,
                        .cafile = f->ca_crt, .certfile = f->broker_crt, .keyfile = f->broker_key,
                        .crlfile = f->crl};
  if (prov_broker_config(&o, &err) != PROV_OK) {
    fprintf(stderr, "broker config: %s\n", err.msg);
    return -1;
  }
  return 0;
}

void fx_request_json(const char *serial, const char *keyfile, const char *token,
                     const char *csr_serial, proto_buf *out) {
  prov_err err = {0};
  prov_request q;
  struct stat st;
  if (stat(keyfile, &st) != 0 && prov_key_generate(keyfile, &err) != PROV_OK)
    fail_msg("%s", err.msg);
  prov_request_init(&q);
  snprintf(q.serial, sizeof q.serial, "%s", serial);
  snprintf(q.nonce, sizeof q.nonce, "0123456789abcdef");
  snprintf(q.claim_token, sizeof q.claim_token, "%s", token ? token : "");
  snprintf(q.agent_version, sizeof q.agent_version, "test");
  if (prov_csr_make(keyfile, csr_serial ? csr_serial : serial, &q.csr_pem, &err) != PROV_OK)
    fail_msg("%s", err.msg);
  proto_buf_reset(out);
  if (prov_request_encode(&q, out, &err) != PROV_OK) fail_msg("%s", err.msg);
  prov_request_close(&q);
}

void fx_response(const prov_reply *r, prov_response *p) {
  prov_err err = {0};
  assert_true(r->send);
  if (prov_response_decode(r->json.data, r->json.len, p, &err) != PROV_OK)
    fail_msg("%s in %s", err.msg, r->json.data);
}
