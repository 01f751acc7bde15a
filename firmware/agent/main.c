/* main.c - storenode-update: the box's firmware update agent.
 *
 *   storenode-update [OPTIONS] run             recover, then take offers from MQTT
 *   storenode-update [OPTIONS] apply OFFER.json  recover, then run this offer
 *   storenode-update [OPTIONS] recover         finish what the state file says
 *   storenode-update [OPTIONS] init BUNDLE_DIR   install a first slot (fresh box)
 *   storenode-update [OPTIONS] status | check  print the state / check the slots
 *   storenode-update [OPTIONS] --print-config ; --print-keys-md ; --help ; --version
 * OPTIONS: --config FILE, --set KEY=VALUE (repeatable, after the file),
 *          --report FILE (append every report as a JSON line; "-" = stdout)
 *
 * Exit status: 0 done (apply/recover: at rest in COMMITTED or IDLE, or a
 * duplicate offer ignored; run: stopped by SIGTERM or after a commit),
 * 1 apply/recover ended FAILED or check found an inconsistency, 2 usage or
 * configuration, 3 could not run (key, state, I/O).
 *
 * Test hooks (environment): STORENODE_UPDATE_TEST_KILL_AT=<state> makes the
 * agent SIGKILL itself right after persisting that state (health_check: also
 * inside every health check, after counting the attempt);
 * STORENODE_UPDATE_TEST_KILL_AFTER_BYTES=N after N payload bytes are on disk.
 * File-scope g_stop is the one global: a signal handler has no context.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "fw/file.h"
#include "rt/mqtt.h"

#ifndef FWA_VERSION
#define FWA_VERSION "0.0.0"
#endif

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

typedef struct sink {
  FILE *file;                       /* --report, or NULL */
  rt_mqtt *mqtt;                    /* run: up/update, or NULL */
  char topic[160];
  char spool_report[FWA_PATH];      /* run with spool_dir: report.json, or "" */
  const rt_log *log;
} sink;

/* Every report: a JSON line to the file, a retained QoS 1 publish, the
 * spool's report.json replaced. */
static void report(void *ctx, const fw_report *r) {
  sink *s = ctx;
  proto_buf b;
  proto_buf_init(&b);
  if (fw_report_encode(r, &b, NULL) == FW_OK) {
    if (s->file) {
      fprintf(s->file, "%s\n", b.data);
      fflush(s->file);
    }
    if (s->mqtt && rt_mqtt_publish(s->mqtt, s->topic, b.data, b.len, 1, true) != 0)
      rt_logf(s->log, RT_LOG_DEBUG, "report not published (offline)", "state=%s", fw_state_name(r->state));
    if (s->spool_report[0] && fw_file_write_atomic(s->spool_report, b.data, b.len, 0644, NULL) != FW_OK)
      rt_logf(s->log, RT_LOG_WARN, "cannot write the spool report", "path=%s", s->spool_report);
  }
  proto_buf_close(&b);
}

static void usage(FILE *out) {
  fputs("usage: storenode-update [--config FILE] [--set KEY=VALUE]... [--report FILE] COMMAND\n"
        "  run                 recover, then wait for offers on retail/v1/stores/<id>/down/update\n"
        "  apply OFFER.json    recover, then take this offer and run it to the end\n"
        "  recover             finish the update the state file describes\n"
        "  init BUNDLE_DIR     install a verified bundle as slot a of a fresh box\n"
        "  status              print the state as a report (JSON)\n"
        "  check               check that `current` is a complete slot the state agrees with\n"
        "  --print-config | --print-keys-md | --help | --version\n\nKeys:\n\n",
        out);
  rt_cfg_print_keys(fwa_cfg_table(), out);
}

typedef struct cli {
  const char *config, *report, *cmd, *arg;
  const char *sets[32];
  int nsets;
} cli;

static int parse_cli(int argc, char **argv, cli *c) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool val = i + 1 < argc;
    if (strcmp(a, "--config") == 0 && val) c->config = argv[++i];
    else if (strcmp(a, "--report") == 0 && val) c->report = argv[++i];
    else if (strcmp(a, "--set") == 0 && val && c->nsets < 32) c->sets[c->nsets++] = argv[++i];
    else if (!c->cmd) c->cmd = a;
    else if (!c->arg && a[0] != '-') c->arg = a;
    else return -1;
  }
  return c->cmd ? 0 : -1;
}

static int apply_sets(const cli *c, fwa_cfg *cfg, char *msg, size_t cap) {
  const rt_cfg_table *t = fwa_cfg_table();
  for (int i = 0; i < c->nsets; i++) {
    char kv[1024], *eq;
    snprintf(kv, sizeof kv, "%s", c->sets[i]);
    if (!(eq = strchr(kv, '='))) {
      snprintf(msg, cap, "--set %s: expected KEY=VALUE", c->sets[i]);
      return -1;
    }
    *eq = '\0';
    if (rt_cfg_set(t, cfg, kv, eq + 1, msg, cap) != 0) return -1;
  }
  return 0;
}

static int load_config(const cli *c, fwa_cfg *cfg) {
  char msg[512], node_config[sizeof cfg->node_config];
  const rt_cfg_table *t = fwa_cfg_table();
  /* pass 1 only learns where storenode's config is; pass 2: defaults, that
   * file's identity keys, then our file and --set over them */
  for (int pass = 0; pass < 2; pass++) {
    memset(cfg, 0, sizeof *cfg);
    if (rt_cfg_defaults(t, cfg, msg, sizeof msg) != 0) goto bad;
    if (pass == 1 && fwa_cfg_import_node(cfg, node_config, msg, sizeof msg) != 0) goto bad;
    if (c->config && rt_cfg_load(t, cfg, c->config, msg, sizeof msg) != 0) goto bad;
    if (apply_sets(c, cfg, msg, sizeof msg) != 0) goto bad;
    memcpy(node_config, cfg->node_config, sizeof node_config);
  }
  if (!cfg->mqtt_client_id[0])
    snprintf(cfg->mqtt_client_id, sizeof cfg->mqtt_client_id, "storenode-update-%s", cfg->store_id);
  return 0;
bad:
  fprintf(stderr, "storenode-update: %s\n", msg);
  return -1;
}

static void test_hooks(fwa *a) {
  const char *at = getenv("STORENODE_UPDATE_TEST_KILL_AT");
  const char *bytes = getenv("STORENODE_UPDATE_TEST_KILL_AFTER_BYTES");
  if (at && *at) a->kill_at = fw_state_from_name(at);
  if (bytes && *bytes) a->kill_after_bytes = strtoull(bytes, NULL, 10);
}

/* Exit status of a finished run. */
static int outcome(const fwa *a) {
  return a->st.state == FW_ST_FAILED ? 1 : fw_state_at_rest(a->st.state) ? 0 : 3;
}

static int print_status(fwa *a) {
  fw_report r;
  proto_buf b;
  fwa_report_now(a, &r);
  proto_buf_init(&b);
  if (fw_report_encode(&r, &b, NULL) == FW_OK) printf("%s\n", b.data);
  proto_buf_close(&b);
  return 0;
}

static int cmd_apply(fwa *a, const char *file, fw_err *err) {
  proto_buf b;
  fw_offer o;
  bool taken = false;
  int rc;
  proto_buf_init(&b);
  rc = fw_file_read(file, FW_MSG_MAX, &b, err);
  if (rc == FW_OK) rc = fw_offer_decode(b.data, b.len, &o, err);
  proto_buf_close(&b);
  if (rc != FW_OK) return rc;
  rc = fwa_run(a); /* an update left in flight finishes first */
  if (rc == FW_OK) rc = fwa_take_offer(a, &o, &taken, err);
  fw_offer_free(&o);
  if (rc == FW_OK && !taken)
    rt_logf(a->log, RT_LOG_INFO, "offer already handled", "state=%s", fw_state_name(a->st.state));
  if (rc == FW_OK && taken) rc = fwa_run(a);
  return rc;
}

/* ---- run: offers from MQTT ---- */

typedef struct runner {
  fwa *a;
  sink *s;
  fw_offer pending;
  bool have;
} runner;

static void on_mqtt(void *ctx, const rt_mqtt_event *ev) {
  runner *r = ctx;
  fw_err err;
  fw_offer o;
  if (ev->kind == RT_MQTT_CONNECTED) {
    fwa_emit(r->a); /* HQ learns this box's firmware state on every connect */
    return;
  }
  if (ev->kind != RT_MQTT_MESSAGE) return;
  fw_err_clear(&err);
  if (fw_offer_decode(ev->payload, ev->len, &o, &err) != FW_OK) {
    char esc[300];
    rt_logf(r->a->log, RT_LOG_WARN, "offer refused", "err=\"%s\"", rt_log_esc(esc, sizeof esc, err.msg));
    return;
  }
  fw_offer_free(&r->pending); /* the newest offer wins */
  r->pending = o;
  r->have = true;
}

static int open_mqtt(fwa *a, sink *s, fw_err *err) {
  const fwa_cfg *c = a->cfg;
  char sub[160], why[256];
  const char *subs[1] = {sub};
  rt_mqtt_opts o;
  snprintf(sub, sizeof sub, "retail/v1/stores/%s/down/update", c->store_id);
  memset(&o, 0, sizeof o);
  o.host = c->mqtt_host;
  o.port = (int)c->mqtt_port;
  o.client_id = c->mqtt_client_id;
  o.subs = subs;
  o.n_subs = 1;
  o.cafile = c->mqtt_cafile[0] ? c->mqtt_cafile : NULL;
  o.certfile = c->mqtt_certfile[0] ? c->mqtt_certfile : NULL;
  o.keyfile = c->mqtt_keyfile[0] ? c->mqtt_keyfile : NULL;
  if (rt_mqtt_open(&s->mqtt, &o, why, sizeof why) != 0) return fw_err_set(err, FW_EINVAL, "mqtt: %s", why);
  return FW_OK;
}

/* An offer dropped into the spool: taken once (renamed away), then decoded. */
static void poll_spool(runner *r) {
  char path[FWA_PATH], done[FWA_PATH + 8];
  proto_buf b;
  fw_err err;
  fw_offer o;
  snprintf(path, sizeof path, "%s/offer.json", r->a->cfg->spool_dir);
  snprintf(done, sizeof done, "%s.taken", path);
  if (rename(path, done) != 0) return;
  proto_buf_init(&b);
  if (fw_file_read(done, FW_MSG_MAX, &b, &err) == FW_OK && fw_offer_decode(b.data, b.len, &o, &err) == FW_OK) {
    fw_offer_free(&r->pending);
    r->pending = o;
    r->have = true;
  } else {
    char esc[300];
    rt_logf(r->a->log, RT_LOG_WARN, "spooled offer refused", "err=\"%s\"", rt_log_esc(esc, sizeof esc, err.msg));
  }
  proto_buf_close(&b);
}

/* run: offers from MQTT and/or the spool, one update at a time; the newest
 * offer wins.  Ends on SIGTERM, or after a commit so that systemd starts
 * the agent again from the new slot. */
static int cmd_run(fwa *a, sink *s, fw_err *err) {
  const fwa_cfg *c = a->cfg;
  runner r;
  bool committed = false;
  memset(&r, 0, sizeof r);
  r.a = a;
  r.s = s;
  if (!c->mqtt_host[0] && !c->spool_dir[0]) return fw_err_set(err, FW_EINVAL, "run needs mqtt_host or spool_dir");
  if (c->spool_dir[0]) snprintf(s->spool_report, sizeof s->spool_report, "%s/report.json", c->spool_dir);
  if (c->mqtt_host[0] && open_mqtt(a, s, err) != FW_OK) return err->code;
  fwa_run(a); /* finish what a previous run left in flight */
  fwa_emit(a);
  while (!g_stop && !committed) {
    bool taken = false;
    if (s->mqtt) rt_mqtt_drain(s->mqtt, on_mqtt, &r);
    if (c->spool_dir[0]) poll_spool(&r);
    if (r.have) {
      r.have = false;
      if (fwa_take_offer(a, &r.pending, &taken, err) == FW_OK && taken) fwa_run(a);
      fw_offer_free(&r.pending);
      committed = taken && a->st.state == FW_ST_COMMITTED;
    }
    if (!committed) fwa_sleep_ms(200, &g_stop);
  }
  fw_offer_free(&r.pending);
  /* A report still queued may be lost here; the next start reports the
   * state again (at start and on every connect), and it is retained. */
  rt_mqtt_close(s->mqtt);
  s->mqtt = NULL;
  return FW_OK;
}

/* ---- main ---- */

static int dispatch(fwa *a, sink *s, const cli *c, fw_err *err) {
  bool needs_arg = strcmp(c->cmd, "apply") == 0 || strcmp(c->cmd, "init") == 0;
  int rc;
  if (needs_arg != (c->arg != NULL)) return -2;
  if (strcmp(c->cmd, "init") == 0) {
    rc = fwa_open(a, a->cfg, a->log, false, err);
    return rc == FW_OK ? fwa_init_image(a, c->arg, err) : rc;
  }
  if ((rc = fwa_open(a, a->cfg, a->log, true, err)) != FW_OK) return rc;
  test_hooks(a);
  if (strcmp(c->cmd, "status") == 0) return print_status(a);
  if (strcmp(c->cmd, "check") == 0) return fwa_check(a, err);
  if (strcmp(c->cmd, "recover") == 0) return fwa_run(a);
  if (strcmp(c->cmd, "apply") == 0) return cmd_apply(a, c->arg, err);
  if (strcmp(c->cmd, "run") == 0) return cmd_run(a, s, err);
  return -2;
}

int main(int argc, char **argv) {
  cli c;
  fwa_cfg cfg;
  rt_log lg;
  fwa a;
  sink s;
  fw_err err;
  struct sigaction sa;
  int rc;
  memset(&c, 0, sizeof c);
  memset(&a, 0, sizeof a);
  memset(&s, 0, sizeof s);
  fw_err_clear(&err);
  if (argc == 2 && strcmp(argv[1], "--help") == 0) return usage(stdout), 0;
  if (argc == 2 && strcmp(argv[1], "--version") == 0) return printf("storenode-update %s\n", FWA_VERSION), 0;
  if (parse_cli(argc, argv, &c) != 0) return usage(stderr), 2;
  if (load_config(&c, &cfg) != 0) return 2;
  if (strcmp(c.cmd, "--print-config") == 0) return rt_cfg_print(fwa_cfg_table(), &cfg, stdout), 0;
  if (strcmp(c.cmd, "--print-keys-md") == 0) return rt_cfg_print_markdown(fwa_cfg_table(), stdout), 0;
  rt_log_init(&lg, cfg.log_level, stderr);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  s.log = &lg;
  snprintf(s.topic, sizeof s.topic, "retail/v1/stores/%s/up/update", cfg.store_id);
  if (c.report) s.file = strcmp(c.report, "-") == 0 ? stdout : fopen(c.report, "a");
  a.cfg = &cfg;
  a.log = &lg;
  a.report = report;
  a.report_ctx = &s;
  a.stop = &g_stop;
  rc = dispatch(&a, &s, &c, &err);
  if (rc == -2) {
    usage(stderr);
    rc = 2;
  } else if (rc != FW_OK) {
    fprintf(stderr, "storenode-update %s: %s: %s\n", c.cmd, fw_err_wire(rc), err.msg);
    rc = strcmp(c.cmd, "check") == 0 ? 1 : 3;
  } else {
    /* run: a clean stop is success whatever the last update did (it was reported) */
    rc = strcmp(c.cmd, "apply") == 0 || strcmp(c.cmd, "recover") == 0 ? outcome(&a) : 0;
  }
  if (rc == 1 && strcmp(c.cmd, "check") != 0) fprintf(stderr, "storenode-update: update %s FAILED: %s: %s\n",
                                                      a.st.offer.version, a.st.error, a.st.detail);
  fwa_close(&a);
  if (s.file && s.file != stdout) fclose(s.file);
  return rc;
}
