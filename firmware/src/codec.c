/* codec.c - the firmware JSON codec: manifest, offer, report.  The only
 * file of firmware/ that uses cJSON (the house rule: cJSON only at a
 * component's JSON edge); everything else sees the typed structs of
 * fw/bundle.h and fw/msg.h.
 *
 * (and the /healthz answer the update agent reads from storenode).
 *
 * Decoding is strict: UTF-8 and depth are checked before cJSON sees the
 * bytes (proto_json_precheck), a member may appear once, integers must be
 * integral and within 0..2^53, strings within their buffers.  Unknown
 * members are ignored (a newer HQ may add some), except that the manifest's
 * "format" and the messages' "v" must be ones this code knows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fw/msg.h"
#include "fw_int.h"
#include "proto/codec.h"

#define JSON_INT_MAX 9007199254740992.0 /* 2^53: exact in a double */

/* ---- decoding helpers: each names the member on failure ---- */

typedef struct dec {
  int code;       /* FW_EMANIFEST or FW_EOFFER */
  const char *what;
  fw_err *err;
} dec;

static int bad(const dec *d, const char *member, const char *why) {
  return fw_err_set(d->err, d->code, "%s: %s: %s", d->what, member, why);
}

static cJSON *parse(const dec *d, const char *json, size_t len, size_t max, int depth) {
  proto_err perr = {0};
  const char *end = NULL;
  cJSON *root;
  if (len > max) {
    fw_err_set(d->err, d->code, "%s: larger than %zu bytes", d->what, max);
    return NULL;
  }
  if (proto_json_precheck(json, len, depth, &perr) != PROTO_OK) {
    fw_err_set(d->err, d->code, "%s: %s", d->what, perr.msg);
    return NULL;
  }
  root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    fw_err_set(d->err, d->code, "%s: not a JSON object", d->what);
    return NULL;
  }
  for (; end && end < json + len; end++) {
    if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
      cJSON_Delete(root);
      fw_err_set(d->err, d->code, "%s: text after the object", d->what);
      return NULL;
    }
  }
  return root;
}

/* Refuse an object whose members repeat: two parsers must never read two
 * different values out of one signed text. */
static int unique(const dec *d, const cJSON *obj, const char *path) {
  for (const cJSON *a = obj->child; a; a = a->next)
    for (const cJSON *b = a->next; b; b = b->next)
      if (a->string && b->string && strcmp(a->string, b->string) == 0)
        return fw_err_set(d->err, d->code, "%s: %s%s: member repeated", d->what, path, a->string);
  return FW_OK;
}

static int get_str(const dec *d, const cJSON *o, const char *name, char *dst, size_t cap,
                   bool required) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!v || (!required && cJSON_IsNull(v))) {
    dst[0] = '\0';
    return required ? bad(d, name, "required member missing") : FW_OK;
  }
  if (!cJSON_IsString(v)) return bad(d, name, "must be a string");
  if (strlen(v->valuestring) >= cap) return bad(d, name, "too long");
  memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
  return FW_OK;
}

static int get_u64(const dec *d, const cJSON *o, const char *name, uint64_t max, uint64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  double x;
  if (!v) return bad(d, name, "required member missing");
  if (!cJSON_IsNumber(v)) return bad(d, name, "must be a number");
  x = v->valuedouble;
  if (x < 0 || x > JSON_INT_MAX || x != floor(x) || x > (double)max)
    return bad(d, name, "out of range");
  *out = (uint64_t)x;
  return FW_OK;
}

static int get_v1(const dec *d, const cJSON *o, const char *name) {
  uint64_t v = 0;
  int rc = get_u64(d, o, name, 1000, &v);
  return rc != FW_OK ? rc : v == 1 ? FW_OK : bad(d, name, "unsupported version (this box knows 1)");
}

static int get_hash(const dec *d, const cJSON *o, const char *name, unsigned char out[32]) {
  char hex[80];
  int rc = get_str(d, o, name, hex, sizeof hex, true);
  if (rc == FW_OK && !fw__unhex(hex, out, 32)) rc = bad(d, name, "must be 64 lowercase hex digits");
  return rc;
}

/* ---- manifest ---- */

static int decode_file(const dec *d, const cJSON *o, size_t i, fw_file *f) {
  char mode[8], where[48], *end = NULL;
  dec sub = *d;
  int rc;
  snprintf(where, sizeof where, "manifest: files[%zu]", i);
  sub.what = where;
  if (!cJSON_IsObject(o)) return fw_err_set(d->err, d->code, "%s: must be an object", where);
  rc = unique(&sub, o, "");
  if (rc == FW_OK) rc = get_str(&sub, o, "path", f->path, sizeof f->path, true);
  if (rc == FW_OK && !fw__path_safe(f->path)) rc = bad(&sub, "path", "unsafe or malformed path");
  if (rc == FW_OK) rc = get_u64(&sub, o, "size", FW_PAYLOAD_MAX, &f->size);
  if (rc == FW_OK) rc = get_str(&sub, o, "mode", mode, sizeof mode, true);
  if (rc == FW_OK) {
    unsigned long m = strtoul(mode, &end, 8);
    if (strlen(mode) != 4 || mode[0] != '0' || *end || m > 0777) rc = bad(&sub, "mode", "must be \"0NNN\" octal");
    f->mode = (unsigned)m;
  }
  if (rc == FW_OK) rc = get_hash(&sub, o, "sha256", f->sha256);
  return rc;
}

static int decode_files(const dec *d, const cJSON *arr, fw_manifest *m) {
  int n, rc = FW_OK;
  if (!cJSON_IsArray(arr)) return bad(d, "files", "must be an array");
  n = cJSON_GetArraySize(arr);
  if (n < 1 || n > FW_FILES_MAX) return bad(d, "files", "must list 1..8192 files");
  m->files = calloc((size_t)n, sizeof *m->files);
  if (!m->files) return fw_err_set(d->err, FW_ENOMEM, "manifest: out of memory");
  m->n_files = (size_t)n;
  for (int i = 0; rc == FW_OK && i < n; i++) {
    rc = decode_file(d, cJSON_GetArrayItem(arr, i), (size_t)i, &m->files[i]);
    if (rc == FW_OK && i > 0 && strcmp(m->files[i - 1].path, m->files[i].path) >= 0)
      rc = fw_err_set(d->err, d->code, "manifest: files[%d]: paths must be sorted and unique", i);
  }
  return rc;
}

static int decode_manifest(const dec *d, const cJSON *root, fw_manifest *m) {
  const cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "payload");
  uint64_t format = 0;
  fw_err verr;
  int rc = unique(d, root, "");
  if (rc == FW_OK) rc = get_u64(d, root, "format", 1000, &format);
  if (rc == FW_OK && format != FW_MANIFEST_FORMAT) rc = bad(d, "format", "unsupported format (this box knows 1)");
  m->format = (int)format;
  if (rc == FW_OK) rc = get_str(d, root, "product", m->product, sizeof m->product, true);
  if (rc == FW_OK) rc = get_str(d, root, "version", m->version, sizeof m->version, true);
  if (rc == FW_OK) rc = get_str(d, root, "min_version", m->min_version, sizeof m->min_version, true);
  if (rc == FW_OK) rc = get_str(d, root, "created", m->created, sizeof m->created, true);
  if (rc == FW_OK && !cJSON_IsObject(pl)) rc = bad(d, "payload", "required object missing");
  if (rc == FW_OK) rc = unique(d, pl, "payload.");
  if (rc == FW_OK) rc = get_u64(d, pl, "size", FW_PAYLOAD_MAX, &m->payload_size);
  if (rc == FW_OK) rc = get_hash(d, pl, "sha256", m->payload_sha256);
  if (rc == FW_OK) rc = decode_files(d, cJSON_GetObjectItemCaseSensitive(root, "files"), m);
  if (rc == FW_OK && fw_version_admit(m->version, m->min_version, NULL, NULL, false, &verr) != FW_OK)
    rc = fw_err_set(d->err, verr.code, "manifest: %s", verr.msg);
  return rc;
}

void fw_manifest_free(fw_manifest *m) {
  free(m->files);
  memset(m, 0, sizeof *m);
}

int fw_manifest_decode(const char *json, size_t len, fw_manifest *m, fw_err *err) {
  dec d = {FW_EMANIFEST, "manifest", err};
  cJSON *root = parse(&d, json, len, FW_MANIFEST_MAX, 4);
  int rc;
  memset(m, 0, sizeof *m);
  if (!root) return FW_EMANIFEST;
  rc = decode_manifest(&d, root, m);
  cJSON_Delete(root);
  if (rc != FW_OK) fw_manifest_free(m);
  return rc;
}

static int put_file(proto_buf *b, const fw_file *f, bool last) {
  char hex[65];
  fw__hex(f->sha256, 32, hex);
  if (proto_buf_puts(b, "{\"path\":") != PROTO_OK || proto_buf_json_string(b, f->path) != PROTO_OK)
    return FW_ENOMEM;
  return proto_buf_printf(b, ",\"size\":%llu,\"mode\":\"%04o\",\"sha256\":\"%s\"}%s\n",
                          (unsigned long long)f->size, f->mode & 0777, hex, last ? "" : ",") == PROTO_OK
             ? FW_OK
             : FW_ENOMEM;
}

int fw_manifest_encode(const fw_manifest *m, proto_buf *out, fw_err *err) {
  size_t before = out->len;
  char hex[65];
  fw_manifest back;
  int rc = FW_OK;
  fw__hex(m->payload_sha256, 32, hex);
  if (proto_buf_printf(out, "{\"format\":%d,\"product\":", m->format) != PROTO_OK ||
      proto_buf_json_string(out, m->product) != PROTO_OK ||
      proto_buf_puts(out, ",\"version\":") != PROTO_OK || proto_buf_json_string(out, m->version) != PROTO_OK ||
      proto_buf_puts(out, ",\"min_version\":") != PROTO_OK ||
      proto_buf_json_string(out, m->min_version) != PROTO_OK ||
      proto_buf_puts(out, ",\"created\":") != PROTO_OK || proto_buf_json_string(out, m->created) != PROTO_OK ||
      proto_buf_printf(out, ",\n\"payload\":{\"size\":%llu,\"sha256\":\"%s\"},\n\"files\":[\n",
                       (unsigned long long)m->payload_size, hex) != PROTO_OK)
    rc = FW_ENOMEM;
  for (size_t i = 0; rc == FW_OK && i < m->n_files; i++) rc = put_file(out, &m->files[i], i + 1 == m->n_files);
  if (rc == FW_OK && proto_buf_puts(out, "]}\n") != PROTO_OK) rc = FW_ENOMEM;
  if (rc != FW_OK) fw_err_set(err, rc, "manifest: out of memory");
  /* What we sign must be what every box can read back. */
  if (rc == FW_OK && (rc = fw_manifest_decode(out->data + before, out->len - before, &back, err)) == FW_OK)
    fw_manifest_free(&back);
  if (rc != FW_OK) {
    out->len = before;
    if (out->data) out->data[before] = '\0';
  }
  return rc;
}

/* ---- offer ---- */

static bool url_ok(const char *u) {
  if (strncmp(u, "http://", 7) != 0 || !u[7]) return false;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\') return false;
  return true;
}

static int get_b64(const dec *d, const cJSON *o, const char *name, size_t max, unsigned char **out,
                   size_t *len) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  int rc;
  if (!v) return bad(d, name, "required member missing");
  if (!cJSON_IsString(v)) return bad(d, name, "must be a base64 string");
  rc = fw__b64_decode(v->valuestring, strlen(v->valuestring), out, len);
  if (rc == FW_ENOMEM) return fw_err_set(d->err, FW_ENOMEM, "%s: out of memory", d->what);
  if (rc != FW_OK) return bad(d, name, "not base64");
  if (*len == 0 || *len > max) return bad(d, name, "empty or too long");
  return FW_OK;
}

static int decode_offer(const dec *d, const cJSON *root, fw_offer *o) {
  const cJSON *rb = cJSON_GetObjectItemCaseSensitive(root, "rollback");
  unsigned char *sig = NULL, *man = NULL;
  fw_version v;
  int rc = unique(d, root, "");
  if (rc == FW_OK) rc = get_v1(d, root, "v");
  if (rc == FW_OK) rc = get_str(d, root, "offer_id", o->offer_id, sizeof o->offer_id, true);
  if (rc == FW_OK && !proto_id_valid(o->offer_id)) rc = bad(d, "offer_id", "not an identifier");
  if (rc == FW_OK) rc = get_str(d, root, "version", o->version, sizeof o->version, true);
  if (rc == FW_OK && fw_version_parse(o->version, &v, NULL) != FW_OK) rc = bad(d, "version", "not a version");
  if (rc == FW_OK) rc = get_str(d, root, "url", o->url, sizeof o->url, true);
  if (rc == FW_OK && !url_ok(o->url)) rc = bad(d, "url", "must be an http:// URL");
  if (rc == FW_OK) rc = get_b64(d, root, "manifest", FW_MANIFEST_MAX, &man, &o->manifest_len);
  o->manifest = (char *)man;
  if (rc == FW_OK) rc = get_b64(d, root, "sig", FW_SIG_MAX, &sig, &o->sig_len);
  if (rc == FW_OK) memcpy(o->sig, sig, o->sig_len);
  free(sig);
  if (rc == FW_OK && rb && !cJSON_IsBool(rb)) rc = bad(d, "rollback", "must be true or false");
  o->rollback = rc == FW_OK && cJSON_IsTrue(rb);
  return rc;
}

void fw_offer_free(fw_offer *o) {
  free(o->manifest);
  memset(o, 0, sizeof *o);
}

int fw_offer_decode(const char *json, size_t len, fw_offer *o, fw_err *err) {
  dec d = {FW_EOFFER, "offer", err};
  cJSON *root = parse(&d, json, len, FW_MSG_MAX, 2);
  int rc;
  memset(o, 0, sizeof *o);
  if (!root) return FW_EOFFER;
  rc = decode_offer(&d, root, o);
  cJSON_Delete(root);
  if (rc != FW_OK) fw_offer_free(o);
  return rc;
}

int fw_offer_copy(fw_offer *dst, const fw_offer *src, fw_err *err) {
  char *m = malloc(src->manifest_len + 1);
  if (!m) return fw_err_set(err, FW_ENOMEM, "offer: out of memory");
  if (src->manifest_len) memcpy(m, src->manifest, src->manifest_len);
  m[src->manifest_len] = '\0';
  *dst = *src;
  dst->manifest = m;
  return FW_OK;
}

int fw_offer_encode(const fw_offer *o, proto_buf *out, fw_err *err) {
  size_t before = out->len;
  int rc = FW_OK;
  fw_offer back;
  if (proto_buf_puts(out, "{\"v\":1,\"offer_id\":") != PROTO_OK ||
      proto_buf_json_string(out, o->offer_id) != PROTO_OK ||
      proto_buf_puts(out, ",\"version\":") != PROTO_OK || proto_buf_json_string(out, o->version) != PROTO_OK ||
      proto_buf_puts(out, ",\"url\":") != PROTO_OK || proto_buf_json_string(out, o->url) != PROTO_OK ||
      proto_buf_puts(out, ",\"manifest\":\"") != PROTO_OK ||
      fw__b64_encode((const unsigned char *)o->manifest, o->manifest_len, out) != FW_OK ||
      proto_buf_puts(out, "\",\"sig\":\"") != PROTO_OK || fw__b64_encode(o->sig, o->sig_len, out) != FW_OK ||
      proto_buf_printf(out, "\",\"rollback\":%s}", o->rollback ? "true" : "false") != PROTO_OK)
    rc = fw_err_set(err, FW_ENOMEM, "offer: out of memory");
  if (rc == FW_OK && (rc = fw_offer_decode(out->data + before, out->len - before, &back, err)) == FW_OK)
    fw_offer_free(&back);
  if (rc != FW_OK) {
    out->len = before;
    if (out->data) out->data[before] = '\0';
  }
  return rc;
}

/* ---- report ---- */

int fw_report_encode(const fw_report *r, proto_buf *out, fw_err *err) {
  size_t before = out->len;
  const char *st = fw_state_name(r->state);
  int ok = st && proto_buf_puts(out, "{\"v\":1,\"store\":") == PROTO_OK &&
           proto_buf_json_string(out, r->store) == PROTO_OK &&
           proto_buf_puts(out, ",\"offer_id\":") == PROTO_OK &&
           proto_buf_json_string(out, r->offer_id) == PROTO_OK &&
           proto_buf_printf(out, ",\"state\":\"%s\",\"version\":", st) == PROTO_OK &&
           proto_buf_json_string(out, r->version) == PROTO_OK &&
           proto_buf_puts(out, ",\"installed\":") == PROTO_OK &&
           proto_buf_json_string(out, r->installed) == PROTO_OK &&
           proto_buf_puts(out, ",\"error\":") == PROTO_OK &&
           (r->error[0] ? proto_buf_json_string(out, r->error) : proto_buf_puts(out, "null")) == PROTO_OK &&
           proto_buf_puts(out, ",\"detail\":") == PROTO_OK &&
           proto_buf_json_string(out, r->detail) == PROTO_OK &&
           proto_buf_printf(out, ",\"bytes\":%llu,\"total\":%llu,\"ts_ms\":%llu}",
                            (unsigned long long)r->bytes, (unsigned long long)r->total,
                            (unsigned long long)r->ts_ms) == PROTO_OK;
  if (ok) return FW_OK;
  out->len = before;
  if (out->data) out->data[before] = '\0';
  return st ? fw_err_set(err, FW_ENOMEM, "report: out of memory")
            : fw_err_set(err, FW_EINVAL, "report: state %d out of range", (int)r->state);
}

static int decode_report(const dec *d, const cJSON *root, fw_report *r) {
  char st[32];
  int rc = unique(d, root, ""), s = -1;
  if (rc == FW_OK) rc = get_v1(d, root, "v");
  if (rc == FW_OK) rc = get_str(d, root, "store", r->store, sizeof r->store, true);
  if (rc == FW_OK) rc = get_str(d, root, "offer_id", r->offer_id, sizeof r->offer_id, true);
  if (rc == FW_OK) rc = get_str(d, root, "state", st, sizeof st, true);
  if (rc == FW_OK && (s = fw_state_from_name(st)) < 0) rc = bad(d, "state", "unknown state");
  if (rc == FW_OK) r->state = (fw_state)s;
  if (rc == FW_OK) rc = get_str(d, root, "version", r->version, sizeof r->version, true);
  if (rc == FW_OK) rc = get_str(d, root, "installed", r->installed, sizeof r->installed, true);
  if (rc == FW_OK) rc = get_str(d, root, "error", r->error, sizeof r->error, false);
  if (rc == FW_OK) rc = get_str(d, root, "detail", r->detail, sizeof r->detail, false);
  if (rc == FW_OK) rc = get_u64(d, root, "bytes", UINT64_MAX, &r->bytes);
  if (rc == FW_OK) rc = get_u64(d, root, "total", UINT64_MAX, &r->total);
  if (rc == FW_OK) rc = get_u64(d, root, "ts_ms", UINT64_MAX, &r->ts_ms);
  return rc;
}

int fw_report_decode(const char *json, size_t len, fw_report *r, fw_err *err) {
  dec d = {FW_EOFFER, "report", err};
  cJSON *root = parse(&d, json, len, 16384, 2);
  int rc;
  memset(r, 0, sizeof *r);
  if (!root) return FW_EOFFER;
  rc = decode_report(&d, root, r);
  cJSON_Delete(root);
  return rc;
}

/* ---- storenode's /healthz ---- */

int fw_healthz_decode(const char *json, size_t len, bool *ok, char *version, size_t cap, fw_err *err) {
  dec d = {FW_EHEALTH, "/healthz", err};
  cJSON *root = parse(&d, json ? json : "", json ? len : 0, 65536, 4);
  const cJSON *v;
  *ok = false;
  if (cap) version[0] = '\0';
  if (!root) return FW_EHEALTH;
  *ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok"));
  v = cJSON_GetObjectItemCaseSensitive(root, "version");
  if (cap && cJSON_IsString(v)) snprintf(version, cap, "%s", v->valuestring);
  cJSON_Delete(root);
  return FW_OK;
}
