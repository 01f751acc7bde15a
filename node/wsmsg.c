/* wsmsg.c - decoding tablet frames (see wsmsg.h).
 *
 * The one place in node/ that touches cJSON.  Input is checked with
 * proto_json_precheck (UTF-8, nesting depth) before cJSON sees it.  Each
 * field a command may carry is one row of `fields` (JSON name, kind, where it
 * goes in node_wsargs, range); node_wsmsg_args walks the rows a command asks
 * for, so adding a field is one enum value plus one row.
 */
#include "wsmsg.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_DEPTH_MAX 6

struct node_wsmsg {
  cJSON *root;
};

typedef enum { F_ID, F_TEXT, F_PIN, F_TOKEN, F_INT, F_BOOL, F_REJECT, F_ROLE, F_COUNTS, F_SETTINGS } fkind;

typedef struct field_row {
  const char *name;
  fkind kind;
  size_t offset, size;             /* in node_wsargs */
  int64_t min, max;                /* F_INT range; F_TEXT length range */
} field_row;

#define ROW(f, json, k, m, lo, hi) \
  [NODE_WSF_##f] = {json, k, offsetof(node_wsargs, m), sizeof(((node_wsargs *)0)->m), lo, hi}

static const field_row fields[NODE_WSF__COUNT] = {
    ROW(TABLET, "tablet", F_ID, tablet, 0, 0),
    ROW(PIN, "pin", F_PIN, pin, 4, 8),
    ROW(TOKEN, "token", F_TOKEN, token, 32, 32),
    ROW(SINCE, "since", F_INT, since, 0, (int64_t)PROTO_SEQ_MAX),
    ROW(ORDER_ID, "order_id", F_ID, order_id, 0, 0),
    ROW(REJECT_REASON, "reason", F_REJECT, reject_reason, 0, 0),
    ROW(CANCEL_REASON, "reason", F_TEXT, cancel_reason, 1, PROTO_NOTE_MAX - 1),
    ROW(CODE, "code", F_TEXT, code, 1, PROTO_CODE_MAX - 1),
    ROW(COURIER, "courier", F_TEXT, courier, 1, PROTO_NAME_MAX - 1),
    ROW(TRACKING, "tracking", F_ID, tracking, 0, 0),
    ROW(SKU, "sku", F_ID, sku, 0, 0),
    ROW(QTY, "qty", F_INT, qty, 1, PROTO_STOCK_MAX),
    ROW(DELTA, "delta", F_INT, delta, -PROTO_STOCK_MAX, PROTO_STOCK_MAX),
    ROW(NOTE, "note", F_TEXT, note, 0, PROTO_NOTE_MAX - 1),
    ROW(COUNTS, "counts", F_COUNTS, counts, 1, NODE_WS_COUNTS_MAX),
    ROW(TO_STORE, "to_store", F_ID, to_store, 0, 0),
    ROW(FROM_STORE, "from_store", F_ID, from_store, 0, 0),
    ROW(TRANSFER_ID, "transfer_id", F_ID, transfer_id, 0, 0),
    ROW(SOLD_OUT, "sold_out", F_BOOL, sold_out, 0, 0),
    ROW(SETTINGS, "settings", F_SETTINGS, settings, 0, 0),
    ROW(STAFF_ID, "staff_id", F_ID, staff_id, 0, 0),
    ROW(NAME, "name", F_TEXT, name, 1, PROTO_NAME_MAX - 1),
    ROW(ROLE, "role", F_ROLE, role, 0, 0),
};

const char *node_wsf_name(node_wsf f) {
  return (int)f >= 0 && f < NODE_WSF__COUNT ? fields[f].name : "?";
}

int node_wsmsg_parse(const char *data, size_t len, node_wsmsg **out, node_err *err) {
  proto_err perr;
  node_wsmsg *m;
  cJSON *root;
  *out = NULL;
  proto_err_clear(&perr);
  if (proto_json_precheck(data, len, WS_DEPTH_MAX, &perr) != PROTO_OK)
    return node_err_set(err, NODE_EJSON, "%s", perr.msg);
  root = cJSON_ParseWithLength(data, len);
  if (!root) return node_err_set(err, NODE_EJSON, "not valid JSON");
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return node_err_set(err, NODE_EJSON, "the frame is not a JSON object");
  }
  m = malloc(sizeof *m);
  if (!m) {
    cJSON_Delete(root);
    return node_err_set(err, NODE_ENOMEM, "out of memory");
  }
  m->root = root;
  *out = m;
  return NODE_OK;
}

void node_wsmsg_free(node_wsmsg *m) {
  if (!m) return;
  cJSON_Delete(m->root);
  free(m);
}

/* A string member into dst (cap bytes); NODE_EINVAL names `path`. */
static int get_string(const cJSON *v, const char *path, char *dst, size_t cap, size_t min,
                      size_t max, node_err *err) {
  size_t n;
  if (!cJSON_IsString(v) || !v->valuestring)
    return node_err_set(err, NODE_EINVAL, "%s: must be a string", path);
  n = strlen(v->valuestring);
  if (n < min || n > max || n >= cap)
    return node_err_set(err, NODE_EINVAL, "%s: length must be %zu..%zu bytes", path, min,
                        max < cap ? max : cap - 1);
  memcpy(dst, v->valuestring, n + 1);
  return NODE_OK;
}

static int get_id(const cJSON *v, const char *path, char *dst, node_err *err) {
  if (!cJSON_IsString(v) || !v->valuestring)
    return node_err_set(err, NODE_EINVAL, "%s: must be a string", path);
  if (!proto_id_valid(v->valuestring))
    return node_err_set(err, NODE_EINVAL, "%s: must be 1-63 characters of [A-Za-z0-9_.:-]", path);
  strcpy(dst, v->valuestring); /* proto_id_valid bounds it below PROTO_ID_MAX */
  return NODE_OK;
}

static int get_int(const cJSON *v, const char *path, int64_t min, int64_t max, int64_t *out,
                   node_err *err) {
  double d;
  if (!cJSON_IsNumber(v)) return node_err_set(err, NODE_EINVAL, "%s: must be a number", path);
  d = v->valuedouble;
  if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
    return node_err_set(err, NODE_EINVAL, "%s: must be an integer %lld..%lld", path,
                        (long long)min, (long long)max);
  *out = (int64_t)d;
  return NODE_OK;
}

static int get_charset(const cJSON *v, const char *path, char *dst, size_t cap, size_t min,
                       size_t max, const char *set, const char *what, node_err *err) {
  int rc = get_string(v, path, dst, cap, min, max, err);
  if (rc != NODE_OK) return rc;
  if (dst[strspn(dst, set)] != '\0') {
    dst[0] = '\0';
    return node_err_set(err, NODE_EINVAL, "%s: must be %zu-%zu %s", path, min, max, what);
  }
  return NODE_OK;
}

static int get_counts(const cJSON *v, node_wsargs *a, node_err *err) {
  const cJSON *it;
  uint32_t n = 0;
  int rc;
  if (!cJSON_IsArray(v)) return node_err_set(err, NODE_EINVAL, "counts: must be an array");
  cJSON_ArrayForEach(it, v) {
    char path[48];
    if (n >= NODE_WS_COUNTS_MAX)
      return node_err_set(err, NODE_EINVAL, "counts: at most %d entries", NODE_WS_COUNTS_MAX);
    snprintf(path, sizeof path, "counts[%u]", n);
    if (!cJSON_IsObject(it)) return node_err_set(err, NODE_EINVAL, "%s: must be an object", path);
    snprintf(path, sizeof path, "counts[%u].sku", n);
    rc = get_id(cJSON_GetObjectItemCaseSensitive(it, "sku"), path, a->counts[n].sku, err);
    if (rc != NODE_OK) return rc;
    for (uint32_t j = 0; j < n; j++)
      if (strcmp(a->counts[j].sku, a->counts[n].sku) == 0)
        return node_err_set(err, NODE_EINVAL, "%s: '%s' is listed twice", path, a->counts[n].sku);
    snprintf(path, sizeof path, "counts[%u].counted", n);
    rc = get_int(cJSON_GetObjectItemCaseSensitive(it, "counted"), path, 0, PROTO_STOCK_MAX,
                 &a->counts[n].counted, err);
    if (rc != NODE_OK) return rc;
    n++;
  }
  if (n == 0) return node_err_set(err, NODE_EINVAL, "counts: must list 1..%d SKUs", NODE_WS_COUNTS_MAX);
  a->n_counts = n;
  return NODE_OK;
}

/* Top-level store settings keys (the proto settings field table). */
static int get_settings(const cJSON *root, proto_ev_settings *s, node_err *err) {
  const proto_settings_field_info *fi = proto_settings_fields();
  for (int i = 0; i < PROTO_SET__COUNT; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, fi[i].key);
    char *dst = (char *)&s->v + fi[i].offset;
    int64_t n = 0; /* -O3: gcc cannot see that get_int sets it on NODE_OK */
    int rc = NODE_OK;
    if (!v) continue;
    switch (fi[i].type) {
      case PROTO_FIELD_STRING:
        rc = get_string(v, fi[i].key, dst, PROTO_NAME_MAX, 1, PROTO_NAME_MAX - 1, err);
        break;
      case PROTO_FIELD_INT:
        rc = get_int(v, fi[i].key, fi[i].min, fi[i].max, &n, err);
        if (rc == NODE_OK) memcpy(dst, &n, sizeof n);
        break;
      case PROTO_FIELD_BOOL:
        if (!cJSON_IsBool(v)) rc = node_err_set(err, NODE_EINVAL, "%s: must be true or false", fi[i].key);
        else *(bool *)(void *)dst = cJSON_IsTrue(v);
        break;
    }
    if (rc != NODE_OK) return rc;
    s->present |= 1u << fi[i].field;
  }
  if (s->present == 0)
    return node_err_set(err, NODE_EINVAL, "settings: give at least one settings key (e.g. %s)",
                        fi[0].key);
  return NODE_OK;
}

static int get_enum(const cJSON *v, const field_row *f, void *dst, node_err *err) {
  int rc;
  if (!cJSON_IsString(v) || !v->valuestring)
    return node_err_set(err, NODE_EINVAL, "%s: must be a string", f->name);
  if (f->kind == F_REJECT) {
    rc = proto_reject_reason_from_name(v->valuestring, dst) == PROTO_OK ? NODE_OK : NODE_EINVAL;
    if (rc != NODE_OK)
      return node_err_set(err, rc, "%s: must be busy, sold_out, closed or other", f->name);
    return NODE_OK;
  }
  if (node_role_from_name(v->valuestring, dst) != NODE_OK)
    return node_err_set(err, NODE_EINVAL, "%s: must be clerk or manager", f->name);
  return NODE_OK;
}

static int get_field(const cJSON *root, const cJSON *v, const field_row *f, node_wsargs *a,
                     node_err *err) {
  char *dst = (char *)a + f->offset;
  switch (f->kind) {
    case F_ID: return get_id(v, f->name, dst, err);
    case F_TEXT: return get_string(v, f->name, dst, f->size, (size_t)f->min, (size_t)f->max, err);
    case F_PIN:
      return get_charset(v, f->name, dst, f->size, (size_t)f->min, (size_t)f->max, "0123456789",
                         "digits", err);
    case F_TOKEN:
      return get_charset(v, f->name, dst, f->size, (size_t)f->min, (size_t)f->max,
                         "0123456789abcdef", "lower-case hex digits", err);
    case F_INT: return get_int(v, f->name, f->min, f->max, (int64_t *)(void *)dst, err);
    case F_BOOL:
      if (!cJSON_IsBool(v)) return node_err_set(err, NODE_EINVAL, "%s: must be true or false", f->name);
      *(bool *)(void *)dst = cJSON_IsTrue(v);
      return NODE_OK;
    case F_REJECT:
    case F_ROLE: return get_enum(v, f, dst, err);
    case F_COUNTS: return get_counts(v, a, err);
    case F_SETTINGS: return get_settings(root, &a->settings, err);
  }
  return node_err_set(err, NODE_EINVAL, "%s: unsupported field", f->name);
}

int node_wsmsg_args(const node_wsmsg *m, uint32_t required, uint32_t optional, node_wsargs *a,
                    node_err *err) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < NODE_WSF__COUNT; i++) {
    uint32_t bit = UINT32_C(1) << i;
    const field_row *f = &fields[i];
    const cJSON *v;
    int rc;
    if (!((required | optional) & bit)) continue;
    v = f->kind == F_SETTINGS ? m->root : cJSON_GetObjectItemCaseSensitive(m->root, f->name);
    if (!v || cJSON_IsNull(v)) {
      if (required & bit) return node_err_set(err, NODE_EINVAL, "%s: required", f->name);
      continue;
    }
    rc = get_field(m->root, v, f, a, err);
    if (rc != NODE_OK) return rc;
    a->present |= bit;
  }
  return NODE_OK;
}

int node_wsmsg_head(const node_wsmsg *m, char type[NODE_WS_TYPE_MAX], char id[PROTO_ID_MAX],
                    node_err *err) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(m->root, "type");
  const cJSON *i = cJSON_GetObjectItemCaseSensitive(m->root, "id");
  int rc = NODE_OK;
  type[0] = id[0] = '\0';
  if (cJSON_IsString(i) && i->valuestring && proto_id_valid(i->valuestring))
    strcpy(id, i->valuestring);
  else if (!i)
    rc = node_err_set(err, NODE_EINVAL, "id: required");
  else
    rc = node_err_set(err, NODE_EINVAL, "id: must be 1-63 characters of [A-Za-z0-9_.:-]");
  if (!cJSON_IsString(t) || !t->valuestring)
    return node_err_set(err, NODE_EINVAL, "type: required string");
  if (strlen(t->valuestring) >= NODE_WS_TYPE_MAX)
    return node_err_set(err, NODE_EUNKNOWN, "type: no such message type");
  strcpy(type, t->valuestring);
  return rc;
}

/* ---- dev API: events --------------------------------------------------------------- */

static int decode_one(const char *json, size_t len, proto_event *ev, size_t i, bool array,
                      node_err *err) {
  proto_err perr;
  proto_err_clear(&perr);
  if (proto_event_decode(json, len, ev, &perr) == PROTO_OK) return NODE_OK;
  if (array) return node_err_set(err, NODE_EINVAL, "[%zu]: %s", i, perr.msg);
  return node_err_set(err, NODE_EINVAL, "%s", perr.msg);
}

int node_wsmsg_events(const char *data, size_t len, size_t max, proto_event **evs, size_t *n,
                      node_err *err) {
  proto_err perr;
  cJSON *root = NULL;
  const cJSON *it;
  proto_event *out = NULL;
  size_t count = 0;
  int rc = NODE_OK;
  *evs = NULL;
  *n = 0;
  proto_err_clear(&perr);
  if (proto_json_precheck(data, len, PROTO_JSON_DEPTH_MAX + 1, &perr) != PROTO_OK)
    return node_err_set(err, NODE_EJSON, "%s", perr.msg);
  root = cJSON_ParseWithLength(data, len);
  if (!root || !(cJSON_IsArray(root) || cJSON_IsObject(root))) {
    rc = node_err_set(err, NODE_EJSON, "expected an event object or an array of them");
    goto done;
  }
  count = cJSON_IsArray(root) ? (size_t)cJSON_GetArraySize(root) : 1;
  if (count == 0 || count > max) {
    rc = node_err_set(err, NODE_EINVAL, "give 1..%zu events", max);
    goto done;
  }
  out = calloc(count, sizeof *out);
  if (!out) {
    rc = node_err_set(err, NODE_ENOMEM, "out of memory");
    goto done;
  }
  if (!cJSON_IsArray(root)) {
    rc = decode_one(data, len, &out[0], 0, false, err);
    goto done;
  }
  count = 0;
  cJSON_ArrayForEach(it, root) {
    char *one = cJSON_PrintUnformatted(it);
    if (!one) {
      rc = node_err_set(err, NODE_ENOMEM, "out of memory");
      break;
    }
    rc = decode_one(one, strlen(one), &out[count], count, true, err);
    cJSON_free(one);
    if (rc != NODE_OK) break;
    count++;
  }
done:
  cJSON_Delete(root);
  if (rc != NODE_OK) {
    free(out);
    return rc;
  }
  *evs = out;
  *n = count;
  return NODE_OK;
}
