/* main.c - storenode: command line, signals, and the run.
 *
 *   storenode [--config FILE]                        serve (see docs/storenode.md)
 *   storenode [--config FILE] staff-set ID NAME ROLE PIN
 *   storenode [--config FILE] --print-config
 *   storenode --help | --version
 *
 * Exit status: 0 clean (also after SIGTERM/SIGINT), 1 runtime failure,
 * 2 bad usage or configuration.
 *
 * The two file-scope variables below are the program's only global state:
 * a signal handler cannot be given a context.  It sets the flag and wakes
 * the loop with lws_cancel_service(), which only writes to lws's event pipe.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "auth.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "proto/codec.h"
#include "server.h"

#ifndef STORENODE_VERSION
#define STORENODE_VERSION "0.0.0"
#endif

static volatile sig_atomic_t g_stop;
static struct lws_context *volatile g_lws;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
  if (g_lws) lws_cancel_service(g_lws);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: storenode [--config FILE]                   run the store node\n"
          "       storenode [--config FILE] staff-set ID NAME clerk|manager PIN\n"
          "                                                   create or update a staff member\n"
          "       storenode [--config FILE] --print-config    show the effective configuration\n"
          "       storenode --help | --version\n"
          "\n"
          "Serves the tablet web app at /, the tablet WebSocket at /ws, /metrics and\n"
          "/healthz on http_addr:http_port.  SIGTERM/SIGINT commit and exit 0.\n"
          "\n"
          "Config file: `key = value` lines, `#` comments.  Keys:\n\n");
  node_config_print_keys(out);
}

static int staff_set(const node_config *cfg, char **argv, const node_log *lg) {
  node_engine_opts eo;
  node_auth_opts ao = {(int)cfg->lockout_attempts,      (int)cfg->lockout_s,
                       (int)cfg->session_ttl_s,         (int)cfg->kdf_iterations,
                       (int)cfg->lockout_peer_attempts, (int)cfg->lockout_peer_window_s,
                       (int)cfg->lockout_peer_s};
  node_engine *e = NULL;
  node_staff st;
  node_err err;
  size_t pin_len = strlen(argv[3]);
  int rc = NODE_OK;
  memset(&st, 0, sizeof st);
  memset(&eo, 0, sizeof eo);
  node_err_clear(&err);
  if (!proto_id_valid(argv[0])) rc = node_err_set(&err, NODE_EINVAL, "ID: '%s' is not an id", argv[0]);
  else if (!*argv[1] || strlen(argv[1]) >= sizeof st.name) rc = node_err_set(&err, NODE_EINVAL, "NAME: 1-95 bytes");
  else if (node_role_from_name(argv[2], &st.role) != NODE_OK) rc = node_err_set(&err, NODE_EINVAL, "ROLE: clerk or manager");
  else if (pin_len < 4 || pin_len > 8 || argv[3][strspn(argv[3], "0123456789")])
    rc = node_err_set(&err, NODE_EINVAL, "PIN: 4-8 digits");
  if (rc != NODE_OK) {
    fprintf(stderr, "storenode staff-set: %s\n", err.msg);
    return 2;
  }
  snprintf(st.id, sizeof st.id, "%s", argv[0]);
  snprintf(st.name, sizeof st.name, "%s", argv[1]);
  eo.db_path = cfg->db_path;
  eo.store_id = cfg->store_id;
  eo.max_skew_ms = (uint64_t)cfg->max_skew_ms;
  eo.busy_timeout_ms = (int)cfg->busy_timeout_ms;
  rc = node_engine_open(&e, &eo, &err);
  if (rc == NODE_OK) {
    node_auth_configure(e, &ao);
    rc = node_staff_set(e, &st, argv[3], &err);
  }
  if (rc == NODE_OK) rc = node_engine_commit(e, &err);
  node_engine_close(e);
  if (rc != NODE_OK) {
    char esc[256];
    node_logf(lg, NODE_LOG_ERROR, "staff-set failed", "code=%s err=\"%s\"", node_err_wire(rc),
              node_log_esc(esc, sizeof esc, err.msg));
    return 1;
  }
  node_logf(lg, NODE_LOG_INFO, "staff member set", "staff=%s role=%s db=%s", st.id,
            node_role_name(st.role), cfg->db_path);
  return 0;
}

static int serve(const node_config *cfg, const node_log *lg) {
  node_server *srv = NULL;
  node_err err;
  struct sigaction sa;
  char esc[256];
  node_err_clear(&err);
  if (node_server_create(&srv, cfg, lg, &err) != NODE_OK) {
    node_logf(lg, NODE_LOG_ERROR, "cannot start", "code=%s err=\"%s\"", node_err_wire(err.code),
              node_log_esc(esc, sizeof esc, err.msg));
    return 1;
  }
  g_lws = node_server_lws(srv);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  node_server_run(srv, &g_stop);
  node_logf(lg, NODE_LOG_INFO, "shutting down", NULL);
  g_lws = NULL;
  node_server_destroy(srv);
  node_logf(lg, NODE_LOG_INFO, "stopped", NULL);
  return 0;
}

int main(int argc, char **argv) {
  node_config cfg;
  node_log lg;
  node_err err;
  const char *config_path = NULL;
  bool print = false;
  int i = 1;
  node_config_defaults(&cfg);
  node_err_clear(&err);
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
      printf("storenode %s (libwebsockets %s)\n", STORENODE_VERSION, lws_get_library_version());
      return 0;
    } else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
      config_path = argv[++i];
    } else if (strcmp(argv[i], "--print-config") == 0) {
      print = true;
    } else {
      fprintf(stderr, "storenode: unknown option '%s'\n\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (config_path && node_config_load(&cfg, config_path, &err) != NODE_OK) {
    fprintf(stderr, "storenode: config %s\n", err.msg);
    return 2;
  }
  node_log_init(&lg, cfg.log_level, stderr);
  node_log_route_lws(cfg.log_level <= NODE_LOG_DEBUG ? (LLL_ERR | LLL_WARN | LLL_NOTICE)
                                                      : (LLL_ERR | LLL_WARN));
  if (print) {
    node_config_print(&cfg, stdout);
    return 0;
  }
  if (i < argc && strcmp(argv[i], "staff-set") == 0) {
    if (argc - i != 5) {
      fprintf(stderr, "usage: storenode [--config FILE] staff-set ID NAME clerk|manager PIN\n");
      return 2;
    }
    return staff_set(&cfg, argv + i + 1, &lg);
  }
  if (i < argc) {
    fprintf(stderr, "storenode: unknown command '%s'\n\n", argv[i]);
    usage(stderr);
    return 2;
  }
  return serve(&cfg, &lg);
}
