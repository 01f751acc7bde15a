/* node/server.h - storenode's event loop: HTTP (tablet web app, /metrics,
 * /healthz, dev API), the tablet WebSocket /ws, and timers, all in one
 * libwebsockets loop on one thread (docs/storenode.md, "Event loop").
 *
 * The engine is called only from this loop.  Commands' acks are held until
 * the group commit that makes them durable.
 */
#ifndef NODE_SERVER_H
#define NODE_SERVER_H

#include <signal.h>

#include "config.h"
#include "error.h"
#include "log.h"

typedef struct node_server node_server;
struct lws_context;

/* Open the engine and start listening.  cfg and lg must outlive the server.
 * On failure *out is NULL and nothing is left open. */
int node_server_create(node_server **out, const node_config *cfg, const node_log *lg,
                       node_err *err);
/* The lws context, for a signal handler's lws_cancel_service(). */
struct lws_context *node_server_lws(node_server *s);
/* The port actually listened on (http_port 0 picks one). */
int node_server_port(const node_server *s);
/* Serve until *stop becomes non-zero. */
void node_server_run(node_server *s, volatile sig_atomic_t *stop);
/* Commit the open batch, close every connection and the database. */
void node_server_destroy(node_server *s);

#endif
