/* main.c - hq: command line, signals, and the run.
 *
 *   hq --config FILE                     serve (docs/hq.md)
 *   hq [--config FILE] --print-config    show the effective configuration
 *   hq --config-markdown                 the key table for the docs
 *   hq --help | --version
 *   hq api-token --scopes S --name N     a fresh line for api_tokens_file
 *                                        (auth.c)
 *   hq --config FILE <subcommand> [args]  provisioning: CA, certificates,
 *                                        devices, claim tokens, broker config
 *                                        (prov_cmd.c, docs/hq.md)
 *
 * hq does not serve without api_tokens_file (every endpoint but /healthz
 * and the dashboard's files needs a token): that is a configuration error.
 *
 * Exit status: 0 clean (also after SIGTERM/SIGINT), 1 runtime failure,
 * 2 bad usage or configuration.  SIGHUP reloads api_tokens_file (the loop
 * does it, hq_server_run; a bad file keeps the old tokens).
 *
 * The three file-scope variables below are the program's only global
 * state: a signal handler cannot be given a context.  It sets a flag and
 * wakes the loop with lws_cancel_service(), which only writes to lws's
 * event pipe.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "config.h"
#include "prov.h"
#include "server.h"

#ifndef HQ_VERSION
#define HQ_VERSION "0.0.0"
#endif

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload_tokens;
static struct lws_context *volatile g_lws;

static void on_signal(int sig) {
  if (sig == SIGHUP) g_reload_tokens = 1;
  else g_stop = 1;
  if (g_lws) lws_cancel_service(g_lws);
}

/* The subcommands, one row per module that has some. */
typedef struct subcommands {
  bool (*is)(const char *name);
  int (*run)(const hq_config *c, int argc, char **argv);
  void (*usage)(FILE *out);
} subcommands;

static const subcommands subs[] = {
    {hq_tokens_is_command, hq_tokens_command, hq_tokens_usage},
    {hq_prov_is_command, hq_prov_command, hq_prov_usage},
};
#define N_SUBS (sizeof subs / sizeof subs[0])

static const subcommands *find_sub(const char *name) {
  for (size_t i = 0; i < N_SUBS; i++)
    if (subs[i].is(name)) return &subs[i];
  return NULL;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: hq --config FILE                     run HQ (api_tokens_file is required)\n"
          "       hq [--config FILE] --print-config    show the effective configuration\n"
          "       hq --help | --version\n");
  for (size_t i = 0; i < N_SUBS; i++) subs[i].usage(out);
  fprintf(out,
          "\n"
          "HQ's aggregator and order intake: merges every store's events from the MQTT\n"
          "broker (retail/v1/stores/+/up/#) into its SQLite database, routes and\n"
          "dispatches orders (POST /api/v1/orders), and serves the HTTP API, /metrics and\n"
          "/healthz on http_addr:http_port.  SIGTERM/SIGINT commit and exit 0.\n"
          "Every endpoint but /healthz and the dashboard's files needs a bearer token\n"
          "from api_tokens_file (`hq api-token` makes one); hq does not start without it.\n"
          "SIGHUP reloads api_tokens_file (add or revoke tokens without a restart); a\n"
          "bad or empty file is logged with its line and the old tokens stay.\n"
          "\n"
          "Config file: `key = value` lines, `#` comments.  Keys:\n\n");
  hq_config_print_keys(out);
}

static int serve(const hq_config *cfg, const rt_log *lg) {
  hq_server *srv = NULL;
  hq_err err;
  struct sigaction sa;
  char esc[300];
  hq_err_clear(&err);
  if (hq_server_create(&srv, cfg, lg, &err) != HQ_OK) {
    rt_logf(lg, RT_LOG_ERROR, "cannot start", "code=%s err=\"%s\"", hq_err_wire(err.code),
            rt_log_esc(esc, sizeof esc, err.msg));
    return err.code == HQ_ECONFIG ? 2 : 1;
  }
  g_lws = hq_server_lws(srv);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  hq_server_run(srv, &g_stop, &g_reload_tokens);
  rt_logf(lg, RT_LOG_INFO, "shutting down", NULL);
  g_lws = NULL;
  hq_server_destroy(srv);
  rt_logf(lg, RT_LOG_INFO, "stopped", NULL);
  return 0;
}

int main(int argc, char **argv) {
  hq_config cfg;
  rt_log lg;
  hq_err err;
  const char *config_path = NULL;
  bool print = false;
  const subcommands *sub = NULL;
  int sub_at = 0; /* argv index of the subcommand */
  /* No global memory statistics: their mutex is taken on every SQLite
   * allocation, and hq's threads (loop, store log, views, checkpoints)
   * allocate at once (docs/performance.md, "Two writers").  Before any
   * other SQLite call. */
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  hq_config_defaults(&cfg);
  hq_err_clear(&err);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
      printf("hq %s (libwebsockets %s)\n", HQ_VERSION, lws_get_library_version());
      return 0;
    } else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
      config_path = argv[++i];
    } else if (strcmp(argv[i], "--print-config") == 0) {
      print = true;
    } else if (strcmp(argv[i], "--config-markdown") == 0) {
      hq_config_print_markdown(stdout);
      return 0;
    } else if ((sub = find_sub(argv[i])) != NULL) {
      sub_at = i;
      break; /* the rest are its arguments */
    } else {
      fprintf(stderr, "hq: unknown option '%s'\n\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (config_path && hq_config_load(&cfg, config_path, &err) != HQ_OK) {
    fprintf(stderr, "hq: config %s\n", err.msg);
    return 2;
  }
  if (sub) return sub->run(&cfg, argc - sub_at, argv + sub_at);
  rt_log_init(&lg, cfg.log_level, stderr);
  rt_log_route_lws(cfg.log_level <= RT_LOG_DEBUG ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : (LLL_ERR | LLL_WARN));
  if (print) {
    hq_config_print(&cfg, stdout);
    return 0;
  }
  return serve(&cfg, &lg);
}
