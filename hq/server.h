/* hq/server.h - the hq program: one libwebsockets loop serving the HTTP
 * API (route tables), /metrics and /healthz, with MQTT handed over from the
 * rt_mqtt client thread (proto_rt) and the core's timers.
 *
 *   lws_service ─┬─ HTTP: every path -> http.c -> the route tables
 *                │        (method, pattern, handler, scope) -> handlers
 *                │        (api.c, and views when built) -> core commands
 *                ├─ EVENT_WAIT_CANCELLED: rt_mqtt_drain -> hq_ingest per
 *                │        message, one transaction for the whole drain
 *                │        (commit every ingest_max_msgs), then acks
 *                ├─ sul_tick (tick_ms): hq_core_tick (retransmits, offline)
 *                └─ between two lws_service() calls, after SIGHUP:
 *                         hq_server_reload_tokens (swap in a clean file)
 *
 * Everything runs on this one thread; the MQTT thread only queues and wakes
 * the loop with lws_cancel_service().
 *
 * Adding endpoints (the dashboard's views): write handlers with the hq_route_fn
 * signature, list them in a const hq_route_table, and add the table to
 * `tables` in http.c.  A route's pattern is literal segments and `{}`, which
 * matches one path segment of 1..63 id characters, captured in r->seg[] in
 * order.  scope: the token scopes the route accepts; 0 only for the public
 * routes (/healthz, the dashboard's static files, and the firmware payload,
 * whose handler checks a signed URL instead): tests/hq_unit/test_auth.c
 * fails for any other route without a scope.
 */
#ifndef HQ_SERVER_H
#define HQ_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "commands.h"
#include "config.h"
#include "core.h"
#include "prov.h"
#include "rt/log.h"
#include "rt/mqtt.h"

/* ---- API tokens (auth.c) ------------------------------------------------------ */
#define HQ_SCOPE_MAP(X)                                      \
  X(ORDERS, "orders", "order intake, status, cancel, remind") \
  X(RIDER,  "rider",  "delivery platform rider events")       \
  X(ADMIN,  "admin",  "stores, catalog, transfers, conflicts") \
  X(READ,   "read",   "read stores and views")

enum {
#define HQ__SCOPE_BIT(e, name, help) HQ_SCOPE_BIT_##e,
  HQ_SCOPE_MAP(HQ__SCOPE_BIT)
#undef HQ__SCOPE_BIT
  HQ_SCOPE__COUNT
};
#define HQ_SCOPE(e) (1u << HQ_SCOPE_BIT_##e)
#define HQ_SCOPE_ALL ((1u << HQ_SCOPE__COUNT) - 1)

#define HQ_TOKEN_NAME_MAX 64

typedef struct hq_token {
  char token[128];
  char name[HQ_TOKEN_NAME_MAX];
  unsigned scopes;
} hq_token;

/* Loaded from api_tokens_file: at least one token (there is no open mode). */
typedef struct hq_tokens {
  hq_token *t;
  size_t n;
} hq_tokens;

/* Read `token scope[,scope] [name]` lines; HQ_ECONFIG naming the key
 * api_tokens_file (unset, unreadable, file:line of a bad line, no tokens),
 * with t empty. */
int hq_tokens_load(hq_tokens *t, const char *path, hq_err *err);
void hq_tokens_free(hq_tokens *t);
/* HQ_OK if the Authorization header's bearer token has any of the scope bits;
 * HQ_EUNAUTH (none or unknown) / HQ_EFORBIDDEN.  *who: the token's name. */
int hq_tokens_check(const hq_tokens *t, const char *authorization, unsigned scope,
                    const char **who, hq_err *err);
/* A fresh line of the tokens file into line: 256 random bits as 64 hex
 * digits, the scopes (as parsed by the loader, written canonically) and
 * name, "\n"-terminated.  HQ_EINVAL naming --scopes/--name, HQ_EIO without
 * randomness; line is "" on failure. */
int hq_token_make(char *line, size_t cap, const char *scopes, const char *name, hq_err *err);
/* `hq api-token --scopes S --name N` (main.c's subcommand table): print
 * hq_token_make's line on stdout; exit status 0, 1 failed, 2 usage. */
bool hq_tokens_is_command(const char *name);
int hq_tokens_command(const hq_config *c, int argc, char **argv);
void hq_tokens_usage(FILE *out);

/* ---- one HTTP request ------------------------------------------------------------ */
#define HQ_ROUTE_SEGS 2

typedef struct hq_server hq_server;

typedef struct hq_req {
  struct lws *wsi;
  int method;                      /* LWSHUMETH_* */
  char path[256];
  char seg[HQ_ROUTE_SEGS][PROTO_ID_MAX];
  const char *body;                /* NUL-terminated; "" when none */
  size_t body_len;
  char idem_key[HQ_IDEM_MAX];      /* Idempotency-Key header, "" if absent */
  char who[HQ_TOKEN_NAME_MAX];     /* the token's name, "" on a public route; a copy,
                                    * since a reload frees the tokens mid-request */
  /* the answer */
  unsigned status;
  const char *ctype;               /* NULL: application/json */
  char content_range[96];          /* Content-Range header, "" for none (rollout.c) */
  proto_buf out;
  /* A handler that sets deferred (and returns HQ_OK) answers later, from
   * the loop, with hq_http_finish(); if the connection closes first,
   * on_drop (if set) is called and r is gone after it (views_http.c). */
  bool deferred;
  void (*on_drop)(hq_server *s, struct hq_req *r);
} hq_req;

/* A handler: HQ_OK with r->status (0: 200) and r->out, or an hq code with
 * err (the http layer writes {"error","message","field"} and the status of
 * the code). */
typedef int (*hq_route_fn)(hq_server *s, hq_req *r, hq_err *err);

typedef struct hq_route {
  int method;                      /* LWSHUMETH_GET, _POST, _PUT */
  const char *pattern;             /* "/api/v1/orders/{}/cancel" */
  hq_route_fn fn;
  unsigned scope;                  /* any of these HQ_SCOPE bits; 0: no token needed */
} hq_route;

typedef struct hq_route_table {
  const hq_route *routes;
  size_t n;
} hq_route_table;

extern const hq_route_table hq_api_routes; /* api.c */
extern const hq_route_table hq_debug_routes; /* debug.c: only with debug_endpoints */

/* A query argument (?name=value) of the request into buf; false if absent. */
bool hq_req_arg(const hq_req *r, const char *name, char *buf, size_t cap);

/* ---- the server ---------------------------------------------------------------------- */
typedef struct hq_server_counters {
  uint64_t http_requests, http_errors, http_unauth;
  uint64_t mqtt_connects, mqtt_disconnects;
  bool mqtt_connected;
} hq_server_counters;

struct hq_server {
  const hq_config *cfg;
  const rt_log *log;
  hq_core *core;
  rt_mqtt *mqtt;
  struct lws_context *ctx;
  struct lws_vhost *vh;
  int port;
  hq_tokens tokens;
  hq_server_counters counters;
  uint64_t started_ms;
  lws_sorted_usec_list_t sul_tick;
  struct lws_protocols protocols[2];
  void *ext;                       /* views and other add-ons (NULL: none) */
  prov_server *prov;               /* provisioning (prov_run.c); NULL: off */
  uint64_t prov_crl_ms;            /* last CRL rewrite */
  struct hq_fw *fw;                /* registered firmware (rollout.c); NULL: none yet */
};

int hq_server_create(hq_server **out, const hq_config *cfg, const rt_log *lg, hq_err *err);
struct lws_context *hq_server_lws(hq_server *s);
/* Serve until *stop; when *reload_tokens is set (SIGHUP), clear it and
 * hq_server_reload_tokens between two callbacks. */
void hq_server_run(hq_server *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload_tokens);
/* Load api_tokens_file afresh and swap it in only if it loads cleanly:
 * HQ_OK and "api tokens reloaded" with the count, else the error (logged
 * with file:line, never a token) and the old tokens stay. */
int hq_server_reload_tokens(hq_server *s);
/* Commit what is open, stop MQTT, close everything. */
void hq_server_destroy(hq_server *s);

/* ---- http.c ----------------------------------------------------------------------------- */
/* The route tables in match order (tests walk every route). */
const hq_route_table *const *hq_http_tables(size_t *n);
/* The protocol callback's HTTP reasons (HTTP, BODY, BODY_COMPLETION,
 * WRITEABLE, DROP_PROTOCOL, CLOSED_HTTP). */
int hq_http_callback(hq_server *s, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                     void *in, size_t len);
size_t hq_http_pss_size(void);
/* Answer a deferred request (r->deferred): HQ_OK sends r->status and r->out
 * as a handler's return would, another code the error JSON of err. */
void hq_http_finish(hq_server *s, hq_req *r, int rc, const hq_err *err);

/* ---- prov_run.c (hq/prov.h) ---------------------------------------------------------------- */
/* Open provisioning if prov_ca_dir is set and write the CRL; HQ_ECONFIG/HQ_EIO. */
int hq_prov_start(hq_server *s, hq_err *err);
/* Rewrite the CRL once a day. */
void hq_prov_tick(hq_server *s);
/* Answer a provisioning request; false if ev is not one (or provisioning is off). */
bool hq_prov_message(hq_server *s, const rt_mqtt_event *ev);
extern const hq_route_table hq_prov_routes;

/* ---- metrics.c ------------------------------------------------------------------------------ */
int hq_metrics_render(hq_server *s, proto_buf *out, hq_err *err);

#endif
