/* hq/prov.h - the provisioning library (provisioning/, prov/server.h)
 * wired into hq: operator subcommands (prov_cmd.c) and, when prov_ca_dir
 * is set, the running server's side (prov_run.c):
 *
 *   MQTT retail/v1/provision/+/request -> prov_handle_request -> publish
 *        reply.json on reply.topic (QoS 1, not retained)
 *   POST /api/v1/devices/{serial}/assign {store_id} (admin) -> prov_assign
 *        -> publish the reply of a box that was waiting
 *   start: prov_server_write_crl (and every tick past a day)
 *
 * The CRL changing (a superseded certificate) runs broker_restart_cmd, or
 * logs that the broker must be restarted (docs/security.md: mosquitto
 * 2.0.11's SIGHUP reload is unreliable).  Files of `hq ca-init` and the
 * issue-* commands live in prov_ca_dir (HQ_PROV_* names below); hq never
 * serves any file of that directory over HTTP.
 */
#ifndef HQ_PROV_H
#define HQ_PROV_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "prov/server.h"
#include "rt/log.h"

#define HQ_PROV_BROKER "broker"   /* <ca_dir>/broker.crt, broker.key */

/* Open the CA + registry named by c (prov_ca_dir must be set); prov_node_config
 * is read here.  HQ_ECONFIG naming the file or key; *out NULL on failure. */
int hq_prov_open(prov_server **out, const hq_config *c, hq_err *err);
/* Is name one of the subcommands? */
bool hq_prov_is_command(const char *name);
/* Run subcommand argv[0] with its arguments; the exit status (0 ok, 1
 * failure, 2 usage).  Messages go to stdout (results) and stderr. */
int hq_prov_command(const hq_config *c, int argc, char **argv);
/* The subcommands' usage lines. */
void hq_prov_usage(FILE *out);
/* Run broker_restart_cmd, or say the broker must be restarted.  0 ok. */
int hq_prov_restart_broker(const hq_config *c, const rt_log *lg, const char *why);

#endif
