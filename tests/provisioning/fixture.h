/* fixture.h - shared set-up of the provisioning tests: a temp directory,
 * an injectable clock, and a whole fleet PKI (CA, registry, prov_server,
 * certificates for the broker, hq, claim and stores), plus the broker
 * config writer for tests/common/broker.c. */
#ifndef PROV_TEST_FIXTURE_H
#define PROV_TEST_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "prov/server.h"

#define FX_PATH 512

typedef struct fx_clock {
  int64_t ms;                     /* 0 = follow the wall clock */
  int64_t offset_ms;              /* added to the wall clock */
} fx_clock;

typedef struct fx {
  char dir[256];                  /* mkdtemp; removed by fx_close */
  char ca_dir[300];
  fx_clock clock;
  prov_server *srv;
  prov_server_opts opts;
  /* files of the non-box identities (fx_identities) */
  char broker_crt[FX_PATH], broker_key[FX_PATH];
  char hq_crt[FX_PATH], hq_key[FX_PATH];
  char claim_crt[FX_PATH], claim_key[FX_PATH];
  char ca_crt[FX_PATH], crl[FX_PATH], acl[FX_PATH];
} fx;

int64_t fx_clock_fn(void *ctx);

/* Temp dir + CA + prov_server (fake clock, small limits for tests).
 * Fails the test on any error. */
void fx_open(fx *f);
void fx_close(fx *f);
/* Close and open the prov_server again with f->opts (after changing them). */
void fx_reopen(fx *f);
/* "<dir>/<name>" */
void fx_path(const fx *f, char *buf, size_t cap, const char *name);
/* broker cert (CN 127.0.0.1, SAN 127.0.0.1 + localhost), hq, claim; CRL. */
void fx_identities(fx *f);
/* A box identity issued directly: key + cert for store_id / serial, with
 * validity [nb, na] (0, 0 = from now on for a year). */
void fx_store_cert(fx *f, const char *store_id, const char *serial, int64_t nb, int64_t na,
                   char *crt, char *key);
/* test_broker_conf_fn: prov_broker_config for the fx's files. */
int fx_broker_conf(void *ctx, const char *path, int port);

/* A request for serial with key keyfile (generated if missing) and token. */
void fx_request_json(const char *serial, const char *keyfile, const char *token,
                     const char *csr_serial, proto_buf *out);
/* Decode a reply's JSON. */
void fx_response(const prov_reply *r, prov_response *p);
/* Recursive rm -r of a directory tree (tests only). */
void fx_rmtree(const char *path);

#endif
