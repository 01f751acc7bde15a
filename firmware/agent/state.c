/* state.c - the agent's persisted state: <state_dir>/state.
 *
 * One `key=value` per line, written whole to state.tmp, fsync'd, renamed
 * over state, directory fsync'd (fw_file_write_atomic): after a crash or a
 * power cut the file is the last state written, never a mix.  Lines starting
 * with '#' are comments (the file repeats the machine's diagram so a person
 * reading it on a box knows what the state means).  The manifest and the
 * signature are base64, so the signed bytes survive untouched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "agent.h"
#include "fw/file.h"

#define STATE_FILE "state"
#define STATE_MAX (4 * 1024 * 1024)

static const char header[] =
    "# storenode-update state: written atomically after every transition; do not edit.\n"
    "# IDLE|COMMITTED|FAILED -offer-> OFFERED -> DOWNLOADING -> VERIFYING -> INSTALLING\n"
    "#   -> SWITCHING -> HEALTH_CHECK -> COMMITTED; health fails -> ROLLBACK -> FAILED\n"
    "# (firmware/agent/machine.c has the whole diagram)\n";

static int put_b64(proto_buf *b, const char *key, const unsigned char *p, size_t n) {
  size_t need = 0, olen = 0;
  unsigned char *tmp;
  int rc = PROTO_ENOMEM;
  mbedtls_base64_encode(NULL, 0, &need, p, n);
  if (!(tmp = malloc(need + 1))) return rc;
  if (mbedtls_base64_encode(tmp, need + 1, &olen, p, n) == 0 &&
      proto_buf_printf(b, "%s=%.*s\n", key, (int)olen, (const char *)tmp) == PROTO_OK)
    rc = PROTO_OK;
  free(tmp);
  return rc;
}

int fwa_state_save(const char *dir, const fwa_state *st, fw_err *err) {
  char path[512];
  proto_buf b;
  int rc;
  const fw_offer *o = &st->offer;
  proto_buf_init(&b);
  rc = proto_buf_puts(&b, header) == PROTO_OK &&
               proto_buf_printf(&b,
                                "state=%s\nseq=%" PRIu64 "\nactive=%s\ninstalled=%s\nfloor=%s\n"
                                "offer_id=%s\nversion=%s\nurl=%s\nrollback=%d\nfrom=%s\nto=%s\n"
                                "health_attempts=%" PRId64 "\nerror=%s\ndetail=%s\n",
                                fw_state_name(st->state), st->seq, st->active, st->installed, st->floor,
                                o->offer_id, o->version, o->url, o->rollback ? 1 : 0, st->from_slot,
                                st->to_slot, st->health_attempts, st->error, st->detail) == PROTO_OK &&
               put_b64(&b, "manifest", (const unsigned char *)(o->manifest ? o->manifest : ""),
                       o->manifest_len) == PROTO_OK &&
               put_b64(&b, "sig", o->sig, o->sig_len) == PROTO_OK
           ? FW_OK
           : fw_err_set(err, FW_ENOMEM, "state: out of memory");
  snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE);
  if (rc == FW_OK) rc = fw_file_write_atomic(path, b.data, b.len, 0600, err);
  proto_buf_close(&b);
  return rc;
}

void fwa_state_free(fwa_state *st) {
  fw_offer_free(&st->offer);
  memset(st, 0, sizeof *st);
}

/* ---- loading: one row per key ---- */

typedef enum { K_STR, K_SLOT, K_STATE, K_U64, K_I64, K_BOOL, K_MANIFEST, K_SIG } kind;

typedef struct key_row {
  const char *name;
  kind k;
  size_t off, size;
} key_row;

#define ROW(n, k, m) {n, k, offsetof(fwa_state, m), sizeof(((fwa_state *)0)->m)}
static const key_row rows[] = {
    ROW("state", K_STATE, state),           ROW("seq", K_U64, seq),
    ROW("active", K_SLOT, active),          ROW("installed", K_STR, installed),
    ROW("floor", K_STR, floor),             ROW("offer_id", K_STR, offer.offer_id),
    ROW("version", K_STR, offer.version),   ROW("url", K_STR, offer.url),
    ROW("rollback", K_BOOL, offer.rollback), ROW("from", K_SLOT, from_slot),
    ROW("to", K_SLOT, to_slot),             ROW("health_attempts", K_I64, health_attempts),
    ROW("error", K_STR, error),             ROW("detail", K_STR, detail),
    ROW("manifest", K_MANIFEST, offer),     ROW("sig", K_SIG, offer),
};

static int b64(const char *v, unsigned char **out, size_t *len) {
  size_t need = 0, n = strlen(v);
  mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)v, n);
  if (!(*out = malloc(need + 1))) return -1;
  if (mbedtls_base64_decode(*out, need + 1, len, (const unsigned char *)v, n) != 0) {
    free(*out);
    *out = NULL;
    return -1;
  }
  (*out)[*len] = '\0';
  return 0;
}

static int set_value(fwa_state *st, const key_row *r, const char *v) {
  char *p = (char *)st + r->off, *end = NULL;
  unsigned char *bytes = NULL;
  size_t n = 0;
  int s;
  switch (r->k) {
    case K_STR: return strlen(v) < r->size ? (memcpy(p, v, strlen(v) + 1), 0) : -1;
    case K_SLOT:
      if (strcmp(v, "a") && strcmp(v, "b") && *v) return -1;
      memcpy(p, v, strlen(v) + 1);
      return 0;
    case K_STATE:
      if ((s = fw_state_from_name(v)) < 0) return -1;
      st->state = (fw_state)s;
      return 0;
    case K_U64: *(uint64_t *)(void *)p = strtoull(v, &end, 10); return *v && !*end ? 0 : -1;
    case K_I64: *(int64_t *)(void *)p = strtoll(v, &end, 10); return *v && !*end ? 0 : -1;
    case K_BOOL: *(bool *)(void *)p = strcmp(v, "1") == 0; return strcmp(v, "0") && strcmp(v, "1") ? -1 : 0;
    case K_MANIFEST:
      if (b64(v, &bytes, &n) != 0 || n > FW_MANIFEST_MAX) break;
      free(st->offer.manifest);
      st->offer.manifest = (char *)bytes;
      st->offer.manifest_len = n;
      return 0;
    case K_SIG:
      if (b64(v, &bytes, &n) != 0 || n > FW_SIG_MAX) break;
      memcpy(st->offer.sig, bytes, n);
      st->offer.sig_len = n;
      free(bytes);
      return 0;
  }
  free(bytes);
  return -1;
}

static int parse_line(fwa_state *st, char *line, int lineno, unsigned *seen, fw_err *err) {
  char *eq = strchr(line, '=');
  size_t i = 0;
  if (line[0] == '#' || line[0] == '\0') return FW_OK;
  if (!eq) return fw_err_set(err, FW_ESTATE, "state:%d: not key=value", lineno);
  *eq = '\0';
  while (i < sizeof rows / sizeof rows[0] && strcmp(rows[i].name, line) != 0) i++;
  if (i == sizeof rows / sizeof rows[0]) return fw_err_set(err, FW_ESTATE, "state:%d: unknown key %s", lineno, line);
  if (*seen & (1u << i)) return fw_err_set(err, FW_ESTATE, "state:%d: %s repeated", lineno, line);
  *seen |= 1u << i;
  if (set_value(st, &rows[i], eq + 1) != 0)
    return fw_err_set(err, FW_ESTATE, "state:%d: bad value for %s", lineno, line);
  return FW_OK;
}

int fwa_state_load(const char *dir, fwa_state *st, bool *missing, fw_err *err) {
  char path[512];
  proto_buf b;
  unsigned seen = 0;
  int rc, lineno = 0;
  memset(st, 0, sizeof *st);
  *missing = false;
  snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE);
  if (access(path, F_OK) != 0 && errno == ENOENT) {
    *missing = true;
    return fw_err_set(err, FW_EIO, "%s: no state yet", path);
  }
  proto_buf_init(&b);
  rc = fw_file_read(path, STATE_MAX, &b, err);
  for (char *line = b.data, *nl; rc == FW_OK && line && *line; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    rc = parse_line(st, line, ++lineno, &seen, err);
  }
  if (rc == FW_OK && seen != (1u << (sizeof rows / sizeof rows[0])) - 1)
    rc = fw_err_set(err, FW_ESTATE, "state: keys missing (a truncated or foreign file)");
  proto_buf_close(&b);
  if (rc != FW_OK) fwa_state_free(st);
  return rc;
}
