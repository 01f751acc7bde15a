/* prov/broker.h - the locked-down mosquitto 2.0 configuration that hq
 * generates: one TLS listener where every client shows a certificate of the
 * fleet CA, whose CN becomes its username and its client id, and an ACL
 * file that confines each identity:
 *
 *   hq         readwrite retail/v1/#
 *   claim      write retail/v1/provision/+/request,
 *              read  retail/v1/provision/+/response        (nothing else)
 *   any other  (a store box, username = CN = store id):
 *              write retail/v1/stores/<own id>/up/#,
 *              read  retail/v1/stores/<own id>/down/#       (pattern %u)
 *
 * mosquitto.conf gets: per_listener_settings false, allow_anonymous false,
 * acl_file, persistence, and on the listener cafile / certfile / keyfile /
 * crlfile, require_certificate true, use_identity_as_username true,
 * use_username_as_clientid true (so no client can pick another's client id
 * and take its session over), tls_version tlsv1.2 (and up).
 * docs/security.md explains each line.  The broker re-reads the ACL file,
 * its certificate and the CRL on SIGHUP.
 */
#ifndef PROV_BROKER_H
#define PROV_BROKER_H

#include "prov/error.h"

typedef struct prov_broker_opts {
  const char *conf_path;       /* mosquitto.conf to write */
  const char *acl_path;        /* ACL file to write (and name in the conf) */
  const char *bind;            /* listener address; NULL: all interfaces */
  int port;                    /* 0: 8883 */
  const char *cafile;          /* the fleet CA certificate */
  const char *certfile;        /* the broker's certificate and key (prov_server_issue_identity) */
  const char *keyfile;
  const char *crlfile;         /* the CRL hq keeps current (prov_server_write_crl) */
  const char *persistence_dir; /* NULL: persistence false */
  const char *extra;           /* lines appended verbatim (logging, user, limits), or NULL */
} prov_broker_opts;

/* Write both files atomically (conf 0644, ACL 0644).  PROV_EINVAL naming a
 * missing or unsafe option (a path with a newline), PROV_EIO. */
int prov_broker_config(const prov_broker_opts *o, prov_err *err);

#endif
