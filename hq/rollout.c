/* rollout.c - the firmware registry (hq/rollout.h): bundles HQ verified,
 * and their payloads served with Range to a signed URL or a token
 * (rollout_url.c).
 *
 * Invariant: an entry exists only for a bundle whose signature verified
 * with fw_pubkey and whose payload.tar matched the manifest's size and
 * SHA-256 at registration (it is in fw_bundles, committed, before the API
 * answers); the payload is served only while its size is still the
 * registered one (the box checks the hash again anyway).
 */
#include "rollout_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "fw/bundle.h"
#include "fw/file.h"
#include "jw.h"

#define DIR_MAX HQ_FW_DIR_MAX
#define PEM_MAX (64 * 1024)
#define LOAD_RETRY_MS 5000u

typedef hq_fw_entry fw_entry;

hq_fw *hq__fw(hq_server *s, hq_err *err) {
  hq_err mine;
  uint64_t now = proto_wall_ms();
  if (!s->fw && !(s->fw = calloc(1, sizeof *s->fw))) {
    if (err) hq_err_set(err, HQ_ENOMEM, NULL);
    return NULL;
  }
  if (s->fw->loaded) return s->fw;
  hq_err_clear(&mine);
  if (s->fw->load_tried_ms && now - s->fw->load_tried_ms < LOAD_RETRY_MS) {
    hq_err_set(&mine, HQ_EDB, "the firmware tables could not be read (retried every %u ms; see the log)",
               LOAD_RETRY_MS);
  } else {
    s->fw->load_tried_ms = now;
    if (hq__fwdb_load(s, s->fw, &mine) == HQ_OK) {
      s->fw->loaded = true;
      rt_logf(s->log, RT_LOG_INFO, "firmware state loaded", "bundles=%zu rollouts=%zu reports=%zu", s->fw->n,
              s->fw->n_ro, s->fw->n_rep);
      return s->fw;
    }
    rt_logf(s->log, RT_LOG_ERROR, "firmware state not loaded", "code=%s err=\"%s\"", hq_err_wire(mine.code),
            mine.msg);
  }
  if (err) *err = mine;
  return NULL;
}

void hq_fw_free(hq_fw *fw) {
  if (!fw) return;
  hq__fw_rollouts_free(fw);
  free(fw->rep);
  free(fw->e);
  memset(fw->key, 0, sizeof fw->key); /* no secret left in freed memory */
  free(fw);
}

const hq_fw_entry *hq__fw_find(const hq_fw *fw, const char *version) {
  for (size_t i = 0; fw && i < fw->n; i++)
    if (strcmp(fw->e[i].version, version) == 0) return &fw->e[i];
  return NULL;
}

static void hex(const unsigned char *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void entry_json(jw *w, const char *key, const fw_entry *e) {
  char h[65];
  hex(e->sha256, 32, h);
  jw_obj(w, key);
  jw_str(w, "version", e->version);
  jw_str(w, "path", e->dir);
  jw_str(w, "sha256", h);
  jw_u64(w, "size", e->size);
  jw_u64(w, "registered_ms", e->registered_ms);
  jw_end(w);
}

/* Verify the bundle in dir into *e.  Nothing is left on failure. */
static int verify(const hq_server *s, const char *dir, fw_entry *e, hq_err *err) {
  proto_buf pem;
  fw_manifest m;
  fw_err fe;
  int rc = HQ_OK;
  proto_buf_init(&pem);
  memset(&m, 0, sizeof m);
  fw_err_clear(&fe);
  if (!s->cfg->fw_pubkey[0]) {
    rc = hq_err_set(err, HQ_ECONFIG, "fw_pubkey is not set: hq cannot verify bundles");
    goto done;
  }
  if (fw_file_read(s->cfg->fw_pubkey, PEM_MAX, &pem, &fe) != FW_OK ||
      proto_buf_append(&pem, "", 1) != PROTO_OK) {
    rc = hq_err_set(err, HQ_ECONFIG, "fw_pubkey: %s", fe.msg);
    goto done;
  }
  if (fw_bundle_verify(dir, pem.data, &m, &fe) != FW_OK) {
    rc = hq_err_field(err, HQ_EINVAL, "path", "bundle refused (%s): %s", fw_err_wire(fe.code), fe.msg);
    goto done;
  }
  memset(e, 0, sizeof *e);
  snprintf(e->version, sizeof e->version, "%s", m.version);
  snprintf(e->dir, sizeof e->dir, "%s", dir);
  memcpy(e->sha256, m.payload_sha256, 32);
  e->size = m.payload_size;
  e->registered_ms = proto_wall_ms();
done:
  fw_manifest_free(&m);
  proto_buf_close(&pem);
  return rc;
}

/* POST /api/v1/firmware: 201 (new) or 200 (same version, same payload). */
static int fw_register(hq_server *s, hq_req *r, hq_err *err) {
  char dir[DIR_MAX];
  fw_entry e, *n;
  const fw_entry *old;
  hq_fw *fw;
  jw w;
  int rc = hq_json_firmware(r->body, r->body_len, dir, sizeof dir, err);
  if (rc == HQ_OK) rc = verify(s, dir, &e, err);
  if (rc != HQ_OK) return rc;
  if (!(fw = hq__fw(s, err))) return err->code;
  old = hq__fw_find(fw, e.version);
  if (old && (old->size != e.size || memcmp(old->sha256, e.sha256, 32) != 0))
    return hq_err_field(err, HQ_EILLEGAL, "path", "version %s is registered with another payload",
                        e.version);
  if (!old) {
    if (!(n = realloc(fw->e, (fw->n + 1) * sizeof *n))) return hq_err_set(err, HQ_ENOMEM, NULL);
    fw->e = n;
    if ((rc = hq__fwdb_bundle_put(s, &e, err)) != HQ_OK) return rc;
    fw->e[fw->n++] = e;
    rt_logf(s->log, RT_LOG_INFO, "firmware registered", "version=%s size=%" PRIu64 " by=%s",
            e.version, e.size, r->who[0] ? r->who : "-");
  }
  r->status = old ? 200 : 201;
  jw_init(&w, &r->out);
  entry_json(&w, NULL, old ? old : &e);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

static int fw_list(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw *fw = hq__fw(s, err);
  jw w;
  if (!fw) return err->code;
  jw_init(&w, &r->out);
  jw_obj(&w, NULL);
  jw_arr(&w, "firmware");
  for (size_t i = 0; i < fw->n; i++) entry_json(&w, NULL, &fw->e[i]);
  jw_end_arr(&w);
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

/* "bytes=A-" or "bytes=A-B" into [*a, *b] within size; false if not
 * satisfiable (416).  Several ranges are not supported (416 too). */
static bool parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b) {
  unsigned long long x, y;
  int used = 0;
  if (sscanf(h, "bytes=%llu-%n", &x, &used) != 1 || used == 0) return false;
  if (h[used] == '\0') y = size ? size - 1 : 0;
  else if (sscanf(h + used, "%llu", &y) != 1 || strspn(h + used, "0123456789") != strlen(h + used))
    return false;
  if (x >= size || y < x) return false;
  *a = x;
  *b = y >= size ? size - 1 : y;
  return true;
}

/* Copy [a, b] of the open file into out. */
static int read_slice(FILE *f, uint64_t a, uint64_t b, proto_buf *out, hq_err *err) {
  char chunk[16384];
  uint64_t left = b - a + 1;
  if (fseeko(f, (off_t)a, SEEK_SET) != 0) return hq_err_set(err, HQ_EIO, "seek: %s", strerror(errno));
  while (left > 0) {
    size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
    if (fread(chunk, 1, want, f) != want) return hq_err_set(err, HQ_EIO, "payload shorter than registered");
    if (proto_buf_append(out, chunk, want) != PROTO_OK) return hq_err_set(err, HQ_ENOMEM, NULL);
    left -= want;
  }
  return HQ_OK;
}

/* GET /api/v1/firmware/{version}/payload: 200 whole, 206 a range, 416;
 * 401/403 without a valid signed URL or token (rollout_url.c). */
static int fw_payload(hq_server *s, hq_req *r, hq_err *err) {
  char path[DIR_MAX + 32], range[96] = "";
  hq_fw *fw = hq__fw(s, err);
  const fw_entry *e;
  uint64_t a = 0, b;
  FILE *f = NULL;
  int rc = fw ? hq__fw_authorize(s, fw, r, r->seg[0], err) : err->code;
  if (rc != HQ_OK) return rc;
  if (!(e = hq__fw_find(fw, r->seg[0])))
    return hq_err_field(err, HQ_ENOTFOUND, "version", "no firmware %s registered", r->seg[0]);
  b = e->size ? e->size - 1 : 0;
  r->ctype = "application/x-tar";
  if (r->wsi && lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_RANGE) > 0 &&
      lws_hdr_copy(r->wsi, range, sizeof range, WSI_TOKEN_HTTP_RANGE) < 0)
    range[0] = '\0';
  if (range[0] && !parse_range(range, e->size, &a, &b)) {
    r->status = 416;
    snprintf(r->content_range, sizeof r->content_range, "bytes */%" PRIu64, e->size);
    return HQ_OK;
  }
  snprintf(path, sizeof path, "%s/%s", e->dir, FW_BUNDLE_PAYLOAD);
  if (!(f = fopen(path, "rb"))) {
    rc = hq_err_set(err, HQ_EIO, "%s: %s", path, strerror(errno));
    goto done;
  }
  if (e->size) rc = read_slice(f, a, b, &r->out, err);
  if (rc == HQ_OK && range[0]) {
    r->status = 206;
    snprintf(r->content_range, sizeof r->content_range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a,
             b, e->size);
  }
done:
  if (f) fclose(f);
  return rc;
}

#define ADMIN HQ_SCOPE(ADMIN)
#define READ HQ_SCOPE(READ)

/* The payload's route has no scope: its handler takes a box's signed URL
 * (the box has no API token) or a read/admin token itself. */
static const hq_route routes[] = {
    {LWSHUMETH_POST, "/api/v1/firmware", fw_register, ADMIN},
    {LWSHUMETH_GET, "/api/v1/firmware", fw_list, ADMIN | READ},
    {LWSHUMETH_GET, "/api/v1/firmware/{}/payload", fw_payload, 0},
};

const hq_route_table hq_fw_routes = {routes, sizeof routes / sizeof routes[0]};
