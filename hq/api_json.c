/* api_json.c - request bodies into typed requests (api_json.h).
 *
 * Pipeline, as in proto's codec:
 *   bytes --proto_json_precheck--> UTF-8, depth <= 8          (400 bad_json)
 *         --cJSON--> an object                                (400 bad_json)
 *         --members--> typed fields: type, range, length,
 *                      no member twice                         (422 invalid, field named)
 * cJSON stays in this file: everything after it sees the structs.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "proto/codec.h"

#define JSON_INT_MAX 9007199254740991.0 /* 2^53 - 1: exact in a double */

/* ---- parsing and members ------------------------------------------------------------ */

/* *root: the object, or NULL for an empty body (every member absent). */
static int parse(const char *body, size_t len, cJSON **root, hq_err *err) {
  proto_err perr = {0};
  const char *end = NULL;
  *root = NULL;
  if (len == 0) return HQ_OK;
  if (proto_json_precheck(body, len, PROTO_JSON_DEPTH_MAX, &perr) != PROTO_OK)
    return hq_err_set(err, HQ_EJSON, "%s", perr.msg);
  *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  if (!*root) return hq_err_set(err, HQ_EJSON, "malformed JSON near offset %td", end ? end - body : 0);
  if (!cJSON_IsObject(*root)) {
    cJSON_Delete(*root);
    *root = NULL;
    return hq_err_set(err, HQ_EJSON, "the body must be a JSON object");
  }
  return HQ_OK;
}

static void path(char *out, size_t cap, const char *prefix, const char *key) {
  snprintf(out, cap, "%s%s", prefix ? prefix : "", key);
}

/* Refuse an object that names a member twice (parsers disagree on which wins). */
static int no_dups(const cJSON *obj, const char *prefix, hq_err *err) {
  for (const cJSON *a = obj ? obj->child : NULL; a; a = a->next)
    for (const cJSON *b = a->next; b; b = b->next)
      if (a->string && b->string && strcmp(a->string, b->string) == 0) {
        char f[80];
        path(f, sizeof f, prefix, a->string);
        return hq_err_field(err, HQ_EINVAL, f, "given twice");
      }
  return HQ_OK;
}

/* The member, NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *key) {
  const cJSON *j = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  return j && !cJSON_IsNull(j) ? j : NULL;
}

static int get_str(const cJSON *obj, const char *prefix, const char *key, char *dst, size_t cap,
                   bool *has, hq_err *err) {
  const cJSON *j = member(obj, key);
  char f[80];
  if (has) *has = j != NULL;
  if (!j) return HQ_OK;
  path(f, sizeof f, prefix, key);
  if (!cJSON_IsString(j) || !j->valuestring) return hq_err_field(err, HQ_EINVAL, f, "expected a string");
  size_t n = strlen(j->valuestring);
  if (n >= cap) return hq_err_field(err, HQ_EINVAL, f, "longer than %zu bytes", cap - 1);
  memcpy(dst, j->valuestring, n + 1);
  return HQ_OK;
}

static int get_int(const cJSON *obj, const char *prefix, const char *key, int64_t *out, bool *has,
                   hq_err *err) {
  const cJSON *j = member(obj, key);
  char f[80];
  if (has) *has = j != NULL;
  if (!j) return HQ_OK;
  path(f, sizeof f, prefix, key);
  if (!cJSON_IsNumber(j)) return hq_err_field(err, HQ_EINVAL, f, "expected an integer");
  double v = j->valuedouble;
  if (v != floor(v) || fabs(v) > JSON_INT_MAX) return hq_err_field(err, HQ_EINVAL, f, "expected an integer");
  *out = (int64_t)v;
  return HQ_OK;
}

static int get_bool(const cJSON *obj, const char *prefix, const char *key, bool *out, bool *has,
                    hq_err *err) {
  const cJSON *j = member(obj, key);
  char f[80];
  if (has) *has = j != NULL;
  if (!j) return HQ_OK;
  path(f, sizeof f, prefix, key);
  if (!cJSON_IsBool(j)) return hq_err_field(err, HQ_EINVAL, f, "expected true or false");
  *out = cJSON_IsTrue(j);
  return HQ_OK;
}

/* Degrees as micro-degrees. */
static int get_coord(const cJSON *obj, const char *prefix, const char *key, double lim,
                     int64_t *e6, hq_err *err) {
  const cJSON *j = member(obj, key);
  char f[80];
  path(f, sizeof f, prefix, key);
  if (!j) return hq_err_field(err, HQ_EINVAL, f, "required");
  if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || fabs(j->valuedouble) > lim)
    return hq_err_field(err, HQ_EINVAL, f, "expected degrees, -%g..%g", lim, lim);
  *e6 = llround(j->valuedouble * 1e6);
  return HQ_OK;
}

/* Wire name -> enum through a proto *_from_name function. */
static int get_enum(const cJSON *obj, const char *key, int (*from)(const char *, void *), void *out,
                    bool *has, const char *choices, hq_err *err) {
  char s[PROTO_ID_MAX] = "";
  int rc = get_str(obj, "", key, s, sizeof s, has, err);
  if (rc == HQ_OK && *has && from(s, out) != PROTO_OK)
    rc = hq_err_field(err, HQ_EINVAL, key, "'%s' is not one of %s", s, choices);
  return rc;
}

static int kind_from(const char *s, void *out) { return proto_order_kind_from_name(s, out); }
static int cancel_from(const char *s, void *out) { return proto_cancel_by_from_name(s, out); }

/* ---- orders --------------------------------------------------------------------------- */

static int line(const cJSON *j, uint32_t i, hq_line *l, hq_err *err) {
  char prefix[24];
  bool has = false;
  snprintf(prefix, sizeof prefix, "items[%u].", i);
  if (!cJSON_IsObject(j)) {
    snprintf(prefix, sizeof prefix, "items[%u]", i);
    return hq_err_field(err, HQ_EINVAL, prefix, "expected an object {sku, qty}");
  }
  int rc = no_dups(j, prefix, err);
  if (rc == HQ_OK) rc = get_str(j, prefix, "sku", l->sku, sizeof l->sku, NULL, err);
  if (rc == HQ_OK) rc = get_int(j, prefix, "qty", &l->qty, &has, err);
  if (rc == HQ_OK && !has) l->qty = 0; /* the rules say "required" */
  if (rc == HQ_OK) rc = get_int(j, prefix, "price", &l->price, &l->has_price, err);
  if (rc == HQ_OK) rc = get_str(j, prefix, "name", l->name, sizeof l->name, NULL, err);
  return rc;
}

static int items(const cJSON *root, hq_order_req *r, hq_err *err) {
  const cJSON *a = member(root, "items");
  int rc = HQ_OK;
  uint32_t i = 0;
  if (!a) return HQ_OK;
  if (!cJSON_IsArray(a)) return hq_err_field(err, HQ_EINVAL, "items", "expected an array");
  if (cJSON_GetArraySize(a) > PROTO_ITEMS_MAX)
    return hq_err_field(err, HQ_EINVAL, "items", "more than %d lines", PROTO_ITEMS_MAX);
  for (const cJSON *j = a->child; j && rc == HQ_OK; j = j->next, i++) rc = line(j, i, &r->items[i], err);
  r->n_items = i;
  return rc;
}

static int location(const cJSON *root, bool *has, int64_t *lat, int64_t *lon, hq_err *err) {
  const cJSON *loc = member(root, "location");
  *has = loc != NULL;
  if (!loc) return HQ_OK;
  if (!cJSON_IsObject(loc)) return hq_err_field(err, HQ_EINVAL, "location", "expected {\"lat\":..,\"lon\":..}");
  int rc = get_coord(loc, "location.", "lat", 90, lat, err);
  return rc == HQ_OK ? get_coord(loc, "location.", "lon", 180, lon, err) : rc;
}

static int order_members(const cJSON *root, const char *idem_header, hq_order_req *r, hq_err *err) {
  int64_t placed = 0;
  bool has = false;
  int rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "idempotency_key", r->idem_key, sizeof r->idem_key, &has, err);
  if (rc == HQ_OK && has && *idem_header && strcmp(idem_header, r->idem_key) != 0)
    rc = hq_err_field(err, HQ_EINVAL, "idempotency_key", "differs from the Idempotency-Key header");
  if (rc == HQ_OK && !has) snprintf(r->idem_key, sizeof r->idem_key, "%s", idem_header);
  if (rc == HQ_OK)
    rc = get_enum(root, "kind", kind_from, &r->kind, &r->has_kind, "pickup, delivery, express", err);
  if (rc == HQ_OK) rc = get_str(root, "", "store_id", r->store_id, sizeof r->store_id, NULL, err);
  if (rc == HQ_OK) rc = location(root, &r->has_location, &r->lat_e6, &r->lon_e6, err);
  if (rc == HQ_OK) rc = items(root, r, err);
  if (rc == HQ_OK) rc = get_str(root, "", "customer", r->customer, sizeof r->customer, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "phone_tail", r->phone_tail, sizeof r->phone_tail, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "note", r->note, sizeof r->note, NULL, err);
  if (rc == HQ_OK) rc = get_int(root, "", "placed_ms", &placed, &has, err);
  if (rc == HQ_OK && has && placed <= 0) rc = hq_err_field(err, HQ_EINVAL, "placed_ms", "must be positive");
  r->placed_ms = (uint64_t)placed;
  return rc;
}

int hq_json_order(const char *body, size_t len, const char *idem_header, hq_order_req *r,
                  hq_err *err) {
  cJSON *root = NULL;
  memset(r, 0, sizeof *r);
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK && !root) rc = hq_err_set(err, HQ_EJSON, "the body must be a JSON object");
  if (rc == HQ_OK) rc = order_members(root, idem_header ? idem_header : "", r, err);
  cJSON_Delete(root);
  return rc;
}

int hq_json_cancel(const char *body, size_t len, hq_cancel_req *r, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  memset(r, 0, sizeof *r);
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_enum(root, "by", cancel_from, &r->by, &has, "customer, hq", err);
  if (rc == HQ_OK && !has) r->by = PROTO_CANCEL_CUSTOMER;
  if (rc == HQ_OK) rc = get_str(root, "", "reason", r->reason, sizeof r->reason, NULL, err);
  cJSON_Delete(root);
  return rc;
}

int hq_json_rider(const char *body, size_t len, hq_rider_req *r, hq_err *err) {
  static const char *const events[HQ_RIDER__COUNT] = {"assigned", "arrived", "delivered"};
  cJSON *root = NULL;
  char ev[16] = "";
  int64_t eta = 0;
  bool has = false;
  memset(r, 0, sizeof *r);
  r->event = HQ_RIDER__COUNT;
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "event", ev, sizeof ev, &has, err);
  for (int i = 0; rc == HQ_OK && i < HQ_RIDER__COUNT; i++)
    if (strcmp(ev, events[i]) == 0) r->event = (hq_rider_event)i;
  if (rc == HQ_OK && r->event == HQ_RIDER__COUNT)
    rc = hq_err_field(err, HQ_EINVAL, "event", "required: assigned, arrived or delivered");
  if (rc == HQ_OK) rc = get_str(root, "", "name", r->name, sizeof r->name, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "phone_tail", r->phone_tail, sizeof r->phone_tail, NULL, err);
  if (rc == HQ_OK) rc = get_int(root, "", "eta_ms", &eta, &has, err);
  if (rc == HQ_OK && eta < 0) rc = hq_err_field(err, HQ_EINVAL, "eta_ms", "must not be negative");
  r->eta_ms = (uint64_t)eta;
  cJSON_Delete(root);
  return rc;
}

int hq_json_note(const char *body, size_t len, hq_note_req *r, hq_err *err) {
  cJSON *root = NULL;
  memset(r, 0, sizeof *r);
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "resolution", r->resolution, sizeof r->resolution, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "note", r->note, sizeof r->note, NULL, err);
  cJSON_Delete(root);
  return rc;
}

/* ---- stores, catalog, transfers -------------------------------------------------------- */

static int setting(const cJSON *root, const proto_settings_field_info *f, proto_ev_settings *s,
                   hq_err *err) {
  char *dst = (char *)&s->v + f->offset;
  bool has = false;
  int rc = f->type == PROTO_FIELD_STRING ? get_str(root, "", f->key, dst, PROTO_NAME_MAX, &has, err)
           : f->type == PROTO_FIELD_INT  ? get_int(root, "", f->key, (int64_t *)(void *)dst, &has, err)
                                         : get_bool(root, "", f->key, (bool *)(void *)dst, &has, err);
  if (rc == HQ_OK && has) s->present |= 1u << f->field;
  return rc;
}

static int known_store_key(const char *k) {
  if (strcmp(k, "location") == 0) return 1;
  for (int f = 0; f < PROTO_SET__COUNT; f++)
    if (strcmp(k, proto_settings_fields()[f].key) == 0) return 1;
  return 0;
}

int hq_json_store(const char *body, size_t len, hq_store_req *r, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  memset(r, 0, sizeof *r);
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  for (const cJSON *j = root ? root->child : NULL; rc == HQ_OK && j; j = j->next)
    if (!known_store_key(j->string)) rc = hq_err_field(err, HQ_EINVAL, j->string, "unknown setting");
  for (int f = 0; rc == HQ_OK && f < PROTO_SET__COUNT; f++)
    rc = setting(root, &proto_settings_fields()[f], &r->set, err);
  if (rc == HQ_OK) rc = location(root, &has, &r->set.v.lat_e6, &r->set.v.lon_e6, err);
  if (rc == HQ_OK && has) r->set.present |= (1u << PROTO_SET_LAT_E6) | (1u << PROTO_SET_LON_E6);
  cJSON_Delete(root);
  return rc;
}

static int store_list(const cJSON *root, hq_catalog_req *r, hq_err *err) {
  const cJSON *a = member(root, "stores");
  size_t i = 0;
  if (!a) return HQ_OK;
  if (!cJSON_IsArray(a)) return hq_err_field(err, HQ_EINVAL, "stores", "expected an array of store ids");
  int n = cJSON_GetArraySize(a);
  if (n < 1 || n > HQ_CATALOG_STORES_MAX)
    return hq_err_field(err, HQ_EINVAL, "stores", "1..%d store ids", HQ_CATALOG_STORES_MAX);
  if (!(r->stores = calloc((size_t)n, sizeof *r->stores))) return hq_err_set(err, HQ_ENOMEM, NULL);
  for (const cJSON *j = a->child; j; j = j->next, i++) {
    if (!cJSON_IsString(j) || !proto_id_valid(j->valuestring)) {
      char f[24];
      snprintf(f, sizeof f, "stores[%zu]", i);
      return hq_err_field(err, HQ_EINVAL, f, "expected a store id");
    }
    snprintf(r->stores[i], PROTO_ID_MAX, "%s", j->valuestring);
    r->n_stores = i + 1;
  }
  return HQ_OK;
}

int hq_json_catalog(const char *body, size_t len, hq_catalog_req *r, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  proto_ev_catalog *e = &r->entry;
  memset(r, 0, sizeof *r);
  e->active = true;
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "name", e->name, sizeof e->name, &r->has_name, err);
  if (rc == HQ_OK) rc = get_str(root, "", "name_en", e->name_en, sizeof e->name_en, NULL, err);
  if (rc == HQ_OK) rc = get_int(root, "", "price", &e->price, &r->has_price, err);
  if (rc == HQ_OK) rc = get_int(root, "", "low_threshold", &e->low_threshold, &has, err);
  if (rc == HQ_OK) rc = get_bool(root, "", "active", &e->active, &has, err);
  if (rc == HQ_OK) rc = store_list(root, r, err);
  cJSON_Delete(root);
  return rc;
}

void hq_json_catalog_free(hq_catalog_req *r) {
  free(r->stores);
  r->stores = NULL;
  r->n_stores = 0;
}

int hq_json_transfer(const char *body, size_t len, hq_transfer_req *r, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  memset(r, 0, sizeof *r);
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK && !root) rc = hq_err_set(err, HQ_EJSON, "the body must be a JSON object");
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "transfer_id", r->id, sizeof r->id, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "from_store", r->from_store, sizeof r->from_store, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "to_store", r->to_store, sizeof r->to_store, NULL, err);
  if (rc == HQ_OK) rc = get_str(root, "", "sku", r->sku, sizeof r->sku, NULL, err);
  if (rc == HQ_OK) rc = get_int(root, "", "qty", &r->qty, &has, err);
  if (rc == HQ_OK) rc = get_str(root, "", "note", r->note, sizeof r->note, NULL, err);
  cJSON_Delete(root);
  return rc;
}

int hq_json_assign(const char *body, size_t len, char store_id[PROTO_ID_MAX], hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  store_id[0] = '\0';
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "store_id", store_id, PROTO_ID_MAX, &has, err);
  if (rc == HQ_OK && !has) rc = hq_err_field(err, HQ_EINVAL, "store_id", "store_id: required");
  cJSON_Delete(root);
  return rc;
}

int hq_json_firmware(const char *body, size_t len, char *dir, size_t cap, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  dir[0] = '\0';
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "path", dir, cap, &has, err);
  if (rc == HQ_OK && !has) rc = hq_err_field(err, HQ_EINVAL, "path", "path: required");
  cJSON_Delete(root);
  return rc;
}

/* Rollout: stores is "all" or an array of ids (each valid, none twice). */
static int rollout_stores(const cJSON *root, hq_rollout_req *r, hq_err *err) {
  const cJSON *j = member(root, "stores"), *e;
  size_t i = 0;
  if (!j) return hq_err_field(err, HQ_EINVAL, "stores", "required: an array of store ids or \"all\"");
  if (cJSON_IsString(j) && j->valuestring && strcmp(j->valuestring, "all") == 0) {
    r->all = true;
    return HQ_OK;
  }
  if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1 || cJSON_GetArraySize(j) > HQ_ROLLOUT_STORES_MAX)
    return hq_err_field(err, HQ_EINVAL, "stores", "expected \"all\" or 1..%d store ids", HQ_ROLLOUT_STORES_MAX);
  r->stores = calloc((size_t)cJSON_GetArraySize(j), sizeof *r->stores);
  if (!r->stores) return hq_err_set(err, HQ_ENOMEM, NULL);
  cJSON_ArrayForEach(e, j) {
    char f[32];
    snprintf(f, sizeof f, "stores[%zu]", i);
    if (!cJSON_IsString(e) || !e->valuestring || strlen(e->valuestring) >= PROTO_ID_MAX ||
        !proto_id_valid(e->valuestring))
      return hq_err_field(err, HQ_EINVAL, f, "expected a store id");
    for (size_t k = 0; k < i; k++)
      if (strcmp(r->stores[k], e->valuestring) == 0) return hq_err_field(err, HQ_EINVAL, f, "given twice");
    snprintf(r->stores[i++], PROTO_ID_MAX, "%s", e->valuestring);
  }
  r->n_stores = i;
  return HQ_OK;
}

/* percent_steps: ascending 1..100 ending at 100; or percent: one step. */
static int rollout_steps(const cJSON *root, hq_rollout_req *r, hq_err *err) {
  const cJSON *j = member(root, "percent_steps"), *e;
  int64_t pct = 100;
  bool has = false;
  if (!j) {
    int rc = get_int(root, "", "percent", &pct, &has, err);
    if (rc != HQ_OK) return rc;
    if (pct < 1 || pct > 100) return hq_err_field(err, HQ_EINVAL, "percent", "expected 1..100");
    r->steps[0] = (unsigned)pct;
    r->n_steps = 1;
    return HQ_OK;
  }
  if (member(root, "percent")) return hq_err_field(err, HQ_EINVAL, "percent", "give percent or percent_steps, not both");
  if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1 || cJSON_GetArraySize(j) > HQ_ROLLOUT_STEPS_MAX)
    return hq_err_field(err, HQ_EINVAL, "percent_steps", "expected 1..%d percentages", HQ_ROLLOUT_STEPS_MAX);
  cJSON_ArrayForEach(e, j) {
    double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
    unsigned prev = r->n_steps ? r->steps[r->n_steps - 1] : 0;
    if (v != floor(v) || v < 1 || v > 100 || (unsigned)v <= prev)
      return hq_err_field(err, HQ_EINVAL, "percent_steps", "expected ascending integers 1..100");
    r->steps[r->n_steps++] = (unsigned)v;
  }
  return HQ_OK;
}

int hq_json_rollout(const char *body, size_t len, hq_rollout_req *r, hq_err *err) {
  cJSON *root = NULL;
  bool has = false;
  memset(r, 0, sizeof *r);
  r->max_failures = 0;
  int rc = parse(body, len, &root, err);
  if (rc == HQ_OK) rc = no_dups(root, "", err);
  if (rc == HQ_OK) rc = get_str(root, "", "version", r->version, sizeof r->version, &has, err);
  if (rc == HQ_OK && !has) rc = hq_err_field(err, HQ_EINVAL, "version", "version: required");
  if (rc == HQ_OK) rc = rollout_stores(root, r, err);
  if (rc == HQ_OK) rc = rollout_steps(root, r, err);
  if (rc == HQ_OK) rc = get_int(root, "", "max_failures", &r->max_failures, &has, err);
  if (rc == HQ_OK && (r->max_failures < -1 || r->max_failures > 1000000))
    rc = hq_err_field(err, HQ_EINVAL, "max_failures", "expected -1 (no limit) or 0..1000000");
  if (rc != HQ_OK) hq_json_rollout_free(r);
  cJSON_Delete(root);
  return rc;
}

void hq_json_rollout_free(hq_rollout_req *r) {
  free(r->stores);
  r->stores = NULL;
  r->n_stores = 0;
}
