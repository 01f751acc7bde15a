/* node/update_relay.h - storenode carries the update agent's messages on its
 * own MQTT session (docs/firmware.md, "Reports and offers").
 *
 * The production broker makes a box's certificate its client id, so the box
 * has one MQTT session: storenode's.  The agent (storenode-update run with
 * spool_dir) talks through files instead, and this relay moves them:
 *
 *   down/update (retained offer) ──▶ <spool>/offer.json   (atomic, fsync'd)
 *   <spool>/report.json changed  ──▶ up/update            (retained, QoS 1)
 *
 * Driven by node/repl.c on the loop thread: every message is offered to
 * node_update_relay_offer first; node_update_relay_publish runs on every
 * connect (again = true: the broker may have lost it) and every tick.
 */
#ifndef NODE_UPDATE_RELAY_H
#define NODE_UPDATE_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "log.h"

struct rt_mqtt;
typedef struct node_update_relay node_update_relay;

/* Relay for store_id through spool_dir (made 0700 if missing).  spool_dir
 * NULL or "": off, NODE_OK with *out NULL (every call below accepts NULL).
 * NODE_ECONFIG naming update_spool_dir if it is not a usable directory;
 * *out NULL then. */
int node_update_relay_create(node_update_relay **out, const char *spool_dir, const char *store_id,
                             const node_log *log, node_err *err);
void node_update_relay_destroy(node_update_relay *u);
/* A message from the broker: true if it was our down/update topic (then
 * the offer is in the spool, or the log says why not). */
bool node_update_relay_offer(node_update_relay *u, const char *topic, const void *payload, size_t len);
/* Publish report.json if it changed since it was last published, or with
 * again whatever it holds.  mq NULL (offline): nothing; the report stays
 * pending until a call with a connection. */
void node_update_relay_publish(node_update_relay *u, struct rt_mqtt *mq, bool again);

/* The installed firmware's version: the first line of <dir of exe>/../VERSION
 * (a slot's tree: bin/storenode next to VERSION, written by make-bundle.sh).
 * exe NULL = this process (/proc/self/exe, links resolved: the slot, not the
 * `current` link).  false (out "") when there is no such file or it does
 * not hold a version ([0-9A-Za-z.+-], shorter than cap). */
bool node_update_fw_version(const char *exe, char *out, size_t cap);

#endif
