/* main.c - storenode-provision: command line.
 *
 *   storenode-provision --config FILE [--renew]   provision / renew this box
 *   storenode-provision --config FILE --print-config
 *   storenode-provision --help | --version
 *
 * Exit status: 0 provisioned (now or already), 1 failed, 2 bad usage or
 * configuration, 3 gave up after max_wait_s, 4 HQ revoked this box's key
 * (it needs a new key and claim: wipe state_dir, new token).
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "rt/config.h"

#ifndef PROV_AGENT_VERSION
#define PROV_AGENT_VERSION "0.0.0"
#endif

static void usage(FILE *out) {
  fprintf(out,
          "usage: storenode-provision --config FILE [--renew]   provision (or renew) this box\n"
          "       storenode-provision --help | --version\n"
          "\n"
          "Zero-touch provisioning of a store box: generates the box's key (never leaves it),\n"
          "asks HQ for a certificate over MQTT with the factory claim credential, writes the\n"
          "certificate and the storenode config.  Resumable after a power cut; renews before\n"
          "expiry.  Exit: 0 ok, 1 failed, 2 usage/config, 3 gave up (max_wait_s), 4 revoked.\n"
          "\n"
          "Config file: `key = value` lines, `#` comments.  Keys:\n\n");
  agent_config_print_keys(out);
}

int main(int argc, char **argv) {
  const char *path = NULL;
  agent_run_opts o = {false};
  agent_config c;
  prov_err err = {0};
  rt_log lg;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return usage(stdout), 0;
    if (strcmp(argv[i], "--version") == 0)
      return printf("storenode-provision %s\n", PROV_AGENT_VERSION), 0;
    if (strcmp(argv[i], "--renew") == 0) o.renew = true;
    else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) path = argv[++i];
    else return usage(stderr), 2;
  }
  if (!path) return usage(stderr), 2;
  if (agent_config_defaults(&c, &err) != PROV_OK || agent_config_load(&c, path, &err) != PROV_OK) {
    fprintf(stderr, "storenode-provision: %s\n", err.msg);
    return 2;
  }
  rt_log_init(&lg, c.log_level, stderr);
  int rc = agent_run(&c, &o, &lg, &err);
  if (rc == PROV_OK) return 0;
  char esc[300];
  rt_logf(&lg, RT_LOG_ERROR, "provisioning failed", "err=%s why=\"%s\"", prov_err_wire(rc),
          rt_log_esc(esc, sizeof esc, err.msg));
  return rc == PROV_ETIMEOUT ? 3 : rc == PROV_EREVOKED ? 4 : rc == PROV_ECONFIG ? 2 : 1;
}
