/* node/server_int.h - private to the storenode program (server.c, http.c,
 * wsconn.c, ws*.c, push.c): the server state and the calls between those
 * files.  node_core and tests of the engine never include it.
 *
 * Ownership:
 *   node_server owns the engine, the lws context, every node_wsconn (freed in
 *   LWS_CALLBACK_CLOSED only, never synchronously from our own code: a tablet
 *   to be dropped is killed with LWS_TO_KILL_ASYNC), the held acks and the
 *   push state.
 *   A held ack points at its connection; closing a connection clears those
 *   pointers, so acks for a tablet that went away are dropped after commit.
 */
#ifndef NODE_SERVER_INT_H
#define NODE_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "auth.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "repl.h"
#include "server.h"
#include "wsmsg.h"

/* ---- one tablet WebSocket ------------------------------------------------ */
typedef struct node_outmsg {
  struct node_outmsg *next;
  size_t len;
  unsigned char buf[];             /* LWS_PRE bytes of headroom, then len bytes */
} node_outmsg;

typedef struct node_wsconn {
  node_server *srv;
  struct lws *wsi;
  struct node_wsconn *prev, *next; /* in srv->conns */
  uint64_t serial;                 /* for log lines */
  char peer[64];
  /* receive: fragments of the current message */
  char *rx;
  size_t rx_len, rx_cap;
  /* send queue: one lws_write per SERVER_WRITEABLE */
  node_outmsg *q_head, *q_tail;
  size_t q_bytes;
  bool dropping;                   /* queue overflow: being killed */
  enum lws_close_status close_status; /* non-zero: close with it once the queue is sent */
  const char *close_why;
  /* session */
  bool authed, synced;
  node_session sess;               /* staff, tablet, expiry */
  char token[NODE_WS_TOKEN_MAX];
  /* token bucket */
  double tokens;
  uint64_t bucket_ns;
  uint32_t refused;                /* refused since the bucket was last full */
} node_wsconn;

/* Per-wsi user data of the one protocol, for HTTP and WS alike. */
typedef struct node_pss {
  node_wsconn *conn;               /* WS only */
  /* HTTP: request body and prepared response */
  char *body;
  size_t body_len;
  bool body_too_big;
  int route;
  char *resp;
  size_t resp_len;
} node_pss;

/* ---- push state (push.c) ------------------------------------------------- */
typedef struct node_push_change {
  proto_target target;             /* SKU folded into STOCK */
  char key[PROTO_ID_MAX];
  uint64_t feed;                   /* highest feed of this key in the batch */
  uint32_t types;                  /* bit per proto_event_type seen */
} node_push_change;

typedef struct node_push_flags {
  char sku[PROTO_ID_MAX];
  bool low, sold_out;
} node_push_flags;

typedef struct node_push {
  node_push_change *ch;
  size_t n_ch, cap_ch;
  char (*acked)[PROTO_ID_MAX];     /* orders whose new-order alert was acknowledged */
  size_t n_acked;
  node_push_flags *flags;          /* last low/sold-out per SKU: alert on rise */
  size_t n_flags, cap_flags;
} node_push;

/* ---- a command's ack waiting for the group commit ------------------------- */
typedef struct node_held {
  node_wsconn *conn;               /* NULL: the tablet has gone */
  char id[PROTO_ID_MAX];
  char *json;                      /* the ack */
  size_t len;
} node_held;

#define NODE_MOUNTS 5
#define NODE_RESULT_MAX 65536        /* largest ack result kept for replay */

struct node_server {
  const node_config *cfg;
  const node_log *log;
  node_engine *eng;
  struct lws_context *ctx;
  struct lws_vhost *vh;
  int port;
  lws_sorted_usec_list_t sul_commit, sul_tick;
  lws_sorted_usec_list_t sul_watchdog; /* systemd watchdog keep-alive (server.c) */
  lws_usec_t watchdog_us;          /* its period: WatchdogSec / 2; 0 = off */
  bool commit_scheduled;
  node_wsconn *conns;
  uint64_t next_serial;
  node_held *held;
  size_t n_held, cap_held;
  node_push push;
  node_wsargs args;                /* scratch for the message being handled */
  char replay[NODE_RESULT_MAX];    /* scratch for a stored command result */
  node_server_counters counters;
  node_repl *repl;                 /* NULL: replication off (mqtt_host "") */
  char version[64];                /* the firmware's: the slot's VERSION, else the build's
                                      (read once: a running slot is never rewritten) */
  struct lws_protocols protocols[2];
  struct lws_http_mount mounts[NODE_MOUNTS];
  struct lws_protocol_vhost_options mime[6];
  lws_retry_bo_t retry;
};

/* ---- server.c ------------------------------------------------------------------ */
/* Queue an ack until the next commit (commits at once at group_commit_max).
 * Takes a copy of json. */
void node_srv_hold(node_server *s, node_wsconn *c, const char *id, const char *json, size_t len);
/* Make sure a commit runs within group_commit_ms. */
void node_srv_schedule_commit(node_server *s);
/* Commit the open batch now: broadcast its changes, then release the held
 * acks (or turn them into errors if the commit failed).  Returns the
 * engine's result. */
int node_srv_commit(node_server *s);
uint64_t node_srv_now_ns(void);

/* ---- http.c: dynamic routes (/metrics, /healthz, /api/dev/events) ----------- */
int node_http_request(node_server *s, struct lws *wsi, node_pss *pss, const char *uri);
int node_http_body(node_server *s, struct lws *wsi, node_pss *pss, const void *in, size_t len);
int node_http_body_done(node_server *s, struct lws *wsi, node_pss *pss);
int node_http_writeable(node_server *s, struct lws *wsi, node_pss *pss);
void node_http_free(node_pss *pss);

/* ---- wsconn.c: connection life, receive, send queue ------------------------------ */
int node_ws_open(node_server *s, struct lws *wsi, node_pss *pss);
/* One RECEIVE callback: assembles fragments, enforces ws_max_message, hands
 * complete messages to node_ws_dispatch.  Non-zero: close the socket. */
int node_ws_receive(node_wsconn *c, const void *in, size_t len);
int node_ws_writeable(node_wsconn *c);
/* LWS_CALLBACK_TIMER: a pending close whose queue has drained. */
int node_ws_timer(node_wsconn *c);
void node_ws_closed(node_wsconn *c);
/* Queue a copy of one message; a tablet whose queue would pass ws_max_queue
 * is dropped instead.  Returns false if the message was not queued. */
bool node_ws_send(node_wsconn *c, const char *json, size_t len);
/* Stop reading, send what is queued, then close with status. */
void node_ws_close_after_queue(node_wsconn *c, enum lws_close_status status, const char *why);
/* To every authenticated tablet that has synced. */
void node_ws_broadcast(node_server *s, const char *json, size_t len);
/* {"type":"error",...} to one tablet. */
void node_ws_send_error(node_wsconn *c, const char *id, int code, const char *message);
/* Token bucket: true if this frame may be handled now. */
bool node_ws_take_token(node_wsconn *c);
/* Sessions past their expiry: stop pushing to those tablets, tell them. */
void node_ws_expire_sessions(node_server *s, uint64_t now_ms);
/* Sessions of a staff member ended (revoked, removed): tell their tablets. */
void node_ws_end_sessions(node_server *s, const char *staff_id, const char *why);

/* ---- ws.c: dispatch of one complete message ------------------------------------------- */
/* Non-zero: close the socket (close reason already set). */
int node_ws_dispatch(node_wsconn *c, const char *data, size_t len);

/* ---- push.c: changes to tablets --------------------------------------------------------- */
int node_push_init(node_push *p, node_engine *e, node_err *err);
void node_push_free(node_push *p);
/* engine on_change: remember what changed (called inside node_engine_commit). */
void node_push_collect(node_server *s, const node_change *ch);
/* After a successful commit: state messages + alerts to every synced tablet. */
void node_push_flush(node_server *s);
/* After a failed commit: forget the collected changes. */
void node_push_discard(node_server *s);
/* Answer to sync: a snapshot, or the changes since `since`.  *mode_resume
 * tells which; *feed = the feed position the tablet is now at. */
int node_push_sync(node_server *s, node_wsconn *c, uint64_t since, bool *mode_resume,
                   uint64_t *feed, node_err *err);
/* Is this order's new-order alert ringing (unaccepted, not acknowledged)? */
bool node_push_alerting(const node_server *s, const proto_order *o);
/* snapshot.c: the whole board as one "snapshot" message to c. */
int node_push_snapshot(node_server *s, node_wsconn *c, uint64_t feed, node_err *err);
/* A new-order alert was acknowledged: stop it everywhere. */
void node_push_alert_ack(node_server *s, const char *order_id, const char *by);

#endif
