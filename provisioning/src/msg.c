/* msg.c - provisioning message codec and topics (prov/msg.h): the one
 * cJSON user of the provisioning library.
 *
 * Both messages are flat objects, so each is a table of fields (name, kind,
 * where in the struct, whether required, how it is checked): the encoder
 * and the decoder walk the same table and cannot disagree.  Encoding writes
 * the table order with proto_buf (stable output for the docs); decoding
 * prechecks UTF-8 and depth, then reads with cJSON.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proto/codec.h"
#include "prov/msg.h"
#include "prov/x509.h"
#include "prov_int.h"

#define MSG_VERSION 1

/* ---- topics ------------------------------------------------------------------ */

int prov_topic_make(char *buf, size_t cap, const char *serial, bool response, prov_err *err) {
  if (!prov__id_ok(serial)) return prov_err_set(err, PROV_EINVAL, "serial: not an id");
  int n =
      snprintf(buf, cap, "%s%s/%s", PROV_TOPIC_PREFIX, serial, response ? "response" : "request");
  if (n < 0 || (size_t)n >= cap) return prov_err_set(err, PROV_EINVAL, "topic does not fit");
  return PROV_OK;
}

int prov_topic_parse(const char *topic, char serial[PROTO_ID_MAX], bool *is_response,
                     prov_err *err) {
  size_t plen = strlen(PROV_TOPIC_PREFIX);
  if (strncmp(topic, PROV_TOPIC_PREFIX, plen) != 0)
    return prov_err_set(err, PROV_EINVAL, "topic: not under %s", PROV_TOPIC_PREFIX);
  const char *s = topic + plen, *slash = strchr(s, '/');
  if (!slash || slash == s || (size_t)(slash - s) >= PROTO_ID_MAX)
    return prov_err_set(err, PROV_EINVAL, "topic: no serial");
  bool resp = strcmp(slash + 1, "response") == 0;
  if (!resp && strcmp(slash + 1, "request") != 0)
    return prov_err_set(err, PROV_EINVAL, "topic: last level is not request/response");
  char tmp[PROTO_ID_MAX];
  memcpy(tmp, s, (size_t)(slash - s));
  tmp[slash - s] = '\0';
  if (!prov__id_ok(tmp)) return prov_err_set(err, PROV_EINVAL, "topic: serial is not an id");
  memcpy(serial, tmp, sizeof tmp);
  if (is_response) *is_response = resp;
  return PROV_OK;
}

/* ---- field checks ------------------------------------------------------------- */

typedef bool (*check_fn)(const char *s);

static bool all_of(const char *s, const char *set) { return s[strspn(s, set)] == '\0'; }
static bool is_id(const char *s) { return prov__id_ok(s); }
static bool is_nonce(const char *s) {
  size_t n = strlen(s);
  return n >= 8 && n < PROV_NONCE_MAX && all_of(s, "0123456789abcdef");
}
static bool is_nonce_or_empty(const char *s) { return !*s || is_nonce(s); }
static bool is_token(const char *s) {
  return all_of(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
}
static bool is_host(const char *s) {
  return *s && all_of(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:");
}
static bool is_csr(const char *s) {
  return strncmp(s, "-----BEGIN CERTIFICATE REQUEST-----", 35) == 0;
}
static bool is_cert(const char *s) { return strncmp(s, "-----BEGIN CERTIFICATE-----", 27) == 0; }
static bool is_text(const char *s) { return true; }

/* ---- field tables ----------------------------------------------------------- */

typedef enum { F_STR, F_BUF, F_INT, F_STATUS, F_REASON } field_kind;

/* when: which statuses carry the field (bit per prov_status); 0 = always */
#define W_ISSUED (1u << PROV_ISSUED)
#define W_NOT_ISSUED ((1u << PROV_PENDING) | (1u << PROV_REFUSED))

typedef struct field {
  const char *name;
  field_kind kind;
  size_t off, cap;       /* STR: char[cap]; BUF: proto_buf, cap = max length; INT: int64/int */
  bool required;         /* decode: must be present (when `when` matches) */
  unsigned when;
  check_fn check;
  int64_t lo, hi;        /* INT range */
} field;

#define STR(T, m, req, w, chk) {#m, F_STR, offsetof(T, m), sizeof(((T *)0)->m), req, w, chk, 0, 0}
#define BUF(T, m, max, req, w, chk) {#m, F_BUF, offsetof(T, m), max, req, w, chk, 0, 0}
#define I64(T, m, req, w, lo, hi) {#m, F_INT, offsetof(T, m), sizeof(int64_t), req, w, NULL, lo, hi}
#define INT(T, m, req, w, lo, hi) {#m, F_INT, offsetof(T, m), sizeof(int), req, w, NULL, lo, hi}

static const field request_fields[] = {
    STR(prov_request, serial, true, 0, is_id),
    STR(prov_request, nonce, true, 0, is_nonce),
    STR(prov_request, claim_token, false, 0, is_token),
    BUF(prov_request, csr_pem, PROV_PEM_MAX, true, 0, is_csr),
    STR(prov_request, agent_version, true, 0, is_id),
};

#define TIME_MAX (INT64_C(1) << 50)
static const field response_fields[] = {
    STR(prov_response, serial, true, 0, is_id),
    STR(prov_response, nonce, true, 0, is_nonce_or_empty),
    {"status", F_STATUS, offsetof(prov_response, status), 0, true, 0, NULL, 0, 0},
    {"reason", F_REASON, offsetof(prov_response, reason), 0, true, W_NOT_ISSUED, NULL, 0, 0},
    STR(prov_response, detail, false, W_NOT_ISSUED, is_text),
    I64(prov_response, hq_time_ms, true, 0, 0, TIME_MAX),
    I64(prov_response, retry_after_s, false, W_NOT_ISSUED, 0, 86400 * 30),
    STR(prov_response, store_id, true, W_ISSUED, is_id),
    BUF(prov_response, cert_pem, PROV_PEM_MAX, true, W_ISSUED, is_cert),
    BUF(prov_response, ca_pem, PROV_PEM_MAX, true, W_ISSUED, is_cert),
    STR(prov_response, broker_host, true, W_ISSUED, is_host),
    INT(prov_response, broker_port, true, W_ISSUED, 1, 65535),
    I64(prov_response, not_after_s, true, W_ISSUED, 0, TIME_MAX),
    BUF(prov_response, node_config, PROV_NODE_CONFIG_MAX, false, W_ISSUED, is_text),
};

static const char *const status_names[] = {"issued", "pending", "refused"};

const char *prov_status_name(prov_status s) {
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "?";
}

static bool applies(const field *f, unsigned status_bit) {
  return !f->when || (f->when & status_bit);
}

/* ---- encode ------------------------------------------------------------------- */

static int enc_field(const field *f, const char *base, proto_buf *out, prov_err *err) {
  const void *p = base + f->off;
  int rc = PROTO_OK;
  if (f->kind == F_STR || f->kind == F_BUF) {
    const char *s = f->kind == F_STR ? (const char *)p : ((const proto_buf *)p)->data;
    s = s ? s : "";
    if (!*s && !f->required) return PROV_OK;
    if (strlen(s) > (f->kind == F_STR ? f->cap - 1 : f->cap) || (*s && !f->check(s)) ||
        (!*s && f->check != is_nonce_or_empty && f->check != is_text))
      return prov_err_set(err, PROV_EINVAL, "%s: not a valid value", f->name);
    rc = proto_buf_printf(out, ",\"%s\":", f->name);
    if (rc == PROTO_OK) rc = proto_buf_json_string(out, s);
  } else if (f->kind == F_INT) {
    int64_t v = f->cap == sizeof(int) ? *(const int *)p : *(const int64_t *)p;
    if (v < f->lo || v > f->hi) return prov_err_set(err, PROV_EINVAL, "%s: out of range", f->name);
    rc = proto_buf_printf(out, ",\"%s\":%lld", f->name, (long long)v);
  } else if (f->kind == F_STATUS) {
    rc = proto_buf_printf(out, ",\"status\":\"%s\"", prov_status_name(*(const prov_status *)p));
  } else {
    rc = proto_buf_printf(out, ",\"reason\":\"%s\"", prov_err_wire(*(const int *)p));
  }
  return rc == PROTO_OK ? PROV_OK : prov_err_set(err, PROV_ENOMEM, "%s", f->name);
}

static int encode(const field *fields, size_t n, const void *msg, unsigned status_bit,
                  proto_buf *out, prov_err *err) {
  size_t start = out->len;
  int rc = proto_buf_printf(out, "{\"v\":%d", MSG_VERSION) == PROTO_OK ? PROV_OK : PROV_ENOMEM;
  for (size_t i = 0; rc == PROV_OK && i < n; i++)
    if (applies(&fields[i], status_bit)) rc = enc_field(&fields[i], msg, out, err);
  if (rc == PROV_OK && proto_buf_puts(out, "}") != PROTO_OK) rc = PROV_ENOMEM;
  if (rc == PROV_ENOMEM) prov_err_set(err, rc, "encoding");
  if (rc != PROV_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
  }
  return rc;
}

int prov_request_encode(const prov_request *q, proto_buf *out, prov_err *err) {
  return encode(request_fields, sizeof request_fields / sizeof request_fields[0], q, 0, out, err);
}

int prov_response_encode(const prov_response *p, proto_buf *out, prov_err *err) {
  if ((unsigned)p->status > PROV_REFUSED) return prov_err_set(err, PROV_EINVAL, "status");
  return encode(response_fields, sizeof response_fields / sizeof response_fields[0], p,
                1u << p->status, out, err);
}

/* ---- decode ------------------------------------------------------------------- */

static int dec_field(const field *f, const cJSON *v, char *base, prov_err *err) {
  void *p = base + f->off;
  if (f->kind == F_INT) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    if (!cJSON_IsNumber(v) || d != (double)(int64_t)d || d < (double)f->lo || d > (double)f->hi)
      return prov_err_set(err, PROV_EMSG, "%s: not an integer in %lld..%lld", f->name,
                          (long long)f->lo, (long long)f->hi);
    if (f->cap == sizeof(int)) *(int *)p = (int)d;
    else *(int64_t *)p = (int64_t)d;
    return PROV_OK;
  }
  if (!cJSON_IsString(v)) return prov_err_set(err, PROV_EMSG, "%s: not a string", f->name);
  const char *s = v->valuestring;
  size_t len = strlen(s);
  if (f->kind == F_STATUS || f->kind == F_REASON) {
    int code = -1;
    for (int i = 0; f->kind == F_STATUS && i <= PROV_REFUSED; i++)
      if (strcmp(s, status_names[i]) == 0) code = i;
    if (f->kind == F_REASON) code = prov_err_from_wire(s);
    if (code < 0) return prov_err_set(err, PROV_EMSG, "%s: unknown value", f->name);
    if (f->kind == F_STATUS) *(prov_status *)p = (prov_status)code;
    else *(int *)p = code;
    return PROV_OK;
  }
  if (len > (f->kind == F_STR ? f->cap - 1 : f->cap) || !f->check(s))
    return prov_err_set(err, PROV_EMSG, "%s: not a valid value", f->name);
  if (f->kind == F_STR) memcpy(p, s, len + 1);
  else if (proto_buf_append(p, s, len) != PROTO_OK)
    return prov_err_set(err, PROV_ENOMEM, "%s", f->name);
  return PROV_OK;
}

/* Decode into msg (already reset by the caller).  Fields are read in table
 * order, so "status" is known before the fields that depend on it. */
static int decode(const field *fields, size_t n, const char *json, size_t len, void *msg,
                  const prov_status *status, prov_err *err) {
  proto_err perr = {0};
  if (len > PROV_MSG_MAX)
    return prov_err_set(err, PROV_EMSG, "message over %d bytes", PROV_MSG_MAX);
  if (proto_json_precheck(json, len, 4, &perr) != PROTO_OK)
    return prov_err_set(err, PROV_EMSG, "%s", perr.msg);
  cJSON *root = cJSON_ParseWithLength(json, len);
  int rc = PROV_OK;
  const cJSON *v = root ? cJSON_GetObjectItemCaseSensitive(root, "v") : NULL;
  if (!cJSON_IsObject(root)) rc = prov_err_set(err, PROV_EMSG, "not a JSON object");
  else if (!cJSON_IsNumber(v) || v->valuedouble != MSG_VERSION)
    rc = prov_err_set(err, PROV_EMSG, "v: unsupported version (want %d)", MSG_VERSION);
  for (size_t i = 0; rc == PROV_OK && i < n; i++) {
    const field *f = &fields[i];
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, f->name);
    if (!applies(f, status ? 1u << *status : 0)) continue;
    if (!item || cJSON_IsNull(item)) {
      if (f->required) rc = prov_err_set(err, PROV_EMSG, "%s: missing", f->name);
      continue;
    }
    rc = dec_field(f, item, msg, err);
  }
  cJSON_Delete(root);
  return rc;
}

void prov_request_init(prov_request *q) {
  memset(q, 0, sizeof *q);
  proto_buf_init(&q->csr_pem);
}

void prov_request_close(prov_request *q) { proto_buf_close(&q->csr_pem); }

static void request_reset(prov_request *q) {
  proto_buf csr = q->csr_pem;
  memset(q, 0, sizeof *q);
  q->csr_pem = csr;
  proto_buf_reset(&q->csr_pem);
}

int prov_request_decode(const char *json, size_t len, prov_request *q, prov_err *err) {
  request_reset(q);
  /* on failure q keeps the members read before the bad one: a refusal can
   * still echo the nonce */
  return decode(request_fields, sizeof request_fields / sizeof request_fields[0], json, len, q,
                NULL, err);
}

void prov_response_init(prov_response *p) {
  memset(p, 0, sizeof *p);
  proto_buf_init(&p->cert_pem);
  proto_buf_init(&p->ca_pem);
  proto_buf_init(&p->node_config);
}

void prov_response_close(prov_response *p) {
  proto_buf_close(&p->cert_pem);
  proto_buf_close(&p->ca_pem);
  proto_buf_close(&p->node_config);
}

static void response_reset(prov_response *p) {
  proto_buf a = p->cert_pem, b = p->ca_pem, c = p->node_config;
  memset(p, 0, sizeof *p);
  p->cert_pem = a, p->ca_pem = b, p->node_config = c;
  proto_buf_reset(&p->cert_pem);
  proto_buf_reset(&p->ca_pem);
  proto_buf_reset(&p->node_config);
}

int prov_response_decode(const char *json, size_t len, prov_response *p, prov_err *err) {
  response_reset(p);
  int rc = decode(response_fields, sizeof response_fields / sizeof response_fields[0], json, len,
                  p, &p->status, err);
  if (rc != PROV_OK) response_reset(p);
  return rc;
}
