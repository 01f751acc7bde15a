/* server_int.h - the prov_server object, shared by server.c (requests,
 * assignment) and server_admin.c (open, tokens, revocation, CRL,
 * identities, CSV). */
#ifndef PROV_SERVER_INT_H
#define PROV_SERVER_INT_H

#include "prov/server.h"
#include "prov_int.h"

#define BACKDATE_S 3600   /* notBefore / thisUpdate this far back: HQ vs broker clock skew */

struct prov_server {
  prov_server_opts o;      /* strings point into the copies below */
  char *ca_dir, *registry_path, *crl_path, *broker_host, *node_config;
  prov_ca *ca;
  prov_registry *reg;
  prov__rng rng;           /* tokens */
};

int64_t prov__server_now_ms(prov_server *s);
/* Inside the caller's transaction: the next CRL's PEM from the registry. */
int prov__crl_build(prov_server *s, proto_buf *pem, prov_err *err);
/* After the commit: write it where the broker reads it. */
int prov__crl_store(prov_server *s, const proto_buf *pem, prov_err *err);
/* Is id reserved for a non-store identity? */
bool prov__reserved_id(const char *id);

#endif
