/* state.c - the agent's phase file and the storenode config it writes.
 *
 * state_dir/state holds one line "phase=<name>".  It is written (atomically)
 * only after the files its phase stands for, so reading it back never
 * claims more than is on the disk (agent.h has the phases).
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "prov/file.h"

#define STATE_FILE "state"
#define BASE_MAX 16384

static const char *const phase_names[] = {"new", "keyed", "issued", "done"};

const char *agent_phase_name(agent_phase p) {
  return (unsigned)p <= AGENT_DONE ? phase_names[p] : "?";
}

void agent_path(char *buf, size_t cap, const agent_config *c, const char *name) {
  snprintf(buf, cap, "%s/%s", c->state_dir, name);
}

int agent_state_load(const char *state_dir, agent_phase *phase, prov_err *err) {
  char path[AGENT_PATH_MAX + 16];
  proto_buf b;
  proto_buf_init(&b);
  snprintf(path, sizeof path, "%s/%s", state_dir, STATE_FILE);
  *phase = AGENT_NEW;
  int rc = prov_file_read(path, 256, &b, err);
  if (rc == PROV_ENOTFOUND) rc = PROV_OK;
  else if (rc == PROV_OK) {
    rc = prov_err_set(err, PROV_ESTATE, "%s: not phase=<new|keyed|issued|done>", path);
    for (int i = 0; i <= AGENT_DONE; i++) {
      char want[32];
      snprintf(want, sizeof want, "phase=%s\n", phase_names[i]);
      if (strcmp(b.data, want) == 0) *phase = (agent_phase)i, rc = PROV_OK;
    }
  }
  proto_buf_close(&b);
  return rc;
}

int agent_state_save(const char *state_dir, agent_phase phase, prov_err *err) {
  char path[AGENT_PATH_MAX + 16], line[32];
  snprintf(path, sizeof path, "%s/%s", state_dir, STATE_FILE);
  int n = snprintf(line, sizeof line, "phase=%s\n", agent_phase_name(phase));
  return prov_file_write(path, line, (size_t)n, 0600, err);
}

/* ---- storenode config --------------------------------------------------------- */

/* The key of a "key = value" line into key (""): blank and # lines have
 * none; -1 if the line is neither. */
static int line_key(const char *line, size_t len, char *key, size_t cap) {
  size_t i = 0, k;
  key[0] = '\0';
  while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
  if (i == len || line[i] == '#') return 0;
  for (k = i; k < len && ((line[k] >= 'a' && line[k] <= 'z') ||
                          (line[k] >= '0' && line[k] <= '9') || line[k] == '_');
       k++) {
  }
  size_t e = k;
  while (e < len && (line[e] == ' ' || line[e] == '\t')) e++;
  if (k == i || k - i >= cap || e == len || line[e] != '=') return -1;
  memcpy(key, line + i, k - i);
  key[k - i] = '\0';
  return 0;
}

/* Is key already set in what we wrote so far?  (keys start a line) */
static bool has_key(const proto_buf *out, const char *key) {
  size_t n = strlen(key);
  for (const char *p = out->data; p && *p;) {
    if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == '=')) return true;
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return false;
}

/* Append text's lines, minus comments and keys already set. */
static int append_lines(proto_buf *out, const char *text, const char *from, const rt_log *lg) {
  char key[64];
  for (const char *p = text; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (line_key(p, len, key, sizeof key) != 0)
      rt_logf(lg, RT_LOG_WARN, "config line skipped", "from=%s why=\"not key = value\"", from);
    else if (key[0] && has_key(out, key))
      rt_logf(lg, RT_LOG_INFO, "config line skipped", "from=%s key=%s why=\"already set\"", from,
              key);
    else if (key[0] && (proto_buf_append(out, p, len) != 0 || proto_buf_puts(out, "\n") != 0))
      return PROV_ENOMEM;
    p = nl ? nl + 1 : NULL;
  }
  return PROV_OK;
}

int agent_write_node_config(const agent_config *c, const prov_response *p, const rt_log *lg,
                            prov_err *err) {
  char ca[AGENT_PATH_MAX + 16], cert[AGENT_PATH_MAX + 16], key[AGENT_PATH_MAX + 16];
  proto_buf out, base;
  int rc = PROV_OK;
  agent_path(ca, sizeof ca, c, "ca.pem");
  agent_path(cert, sizeof cert, c, "cert.pem");
  agent_path(key, sizeof key, c, "key.pem");
  proto_buf_init(&out);
  proto_buf_init(&base);
  if (proto_buf_printf(&out,
                       "# written by storenode-provision: re-provisioning rewrites this file\n"
                       "store_id = %s\nmqtt_host = %s\nmqtt_port = %d\n"
                       "mqtt_cafile = %s\nmqtt_certfile = %s\nmqtt_keyfile = %s\n",
                       p->store_id, p->broker_host, p->broker_port, ca, cert, key) != 0)
    rc = prov_err_set(err, PROV_ENOMEM, "storenode config");
  if (rc == PROV_OK && c->node_config_base[0]) {
    rc = prov_file_read(c->node_config_base, BASE_MAX, &base, err);
    if (rc == PROV_OK && append_lines(&out, base.data, "base", lg) != PROV_OK)
      rc = prov_err_set(err, PROV_ENOMEM, "storenode config");
  }
  if (rc == PROV_OK && p->node_config.len &&
      append_lines(&out, p->node_config.data, "hq", lg) != PROV_OK)
    rc = prov_err_set(err, PROV_ENOMEM, "storenode config");
  if (rc == PROV_OK) rc = prov_file_write(c->node_config, out.data, out.len, 0644, err);
  proto_buf_close(&out);
  proto_buf_close(&base);
  return rc;
}
