/* hq/api_json.h - the JSON edge of the HTTP API: request bodies into the
 * typed requests of commands.h.  The only cJSON user in hq.
 *
 * Every decoder: a body that is not UTF-8, nested deeper than 8, not JSON or
 * not an object is HQ_EJSON (400); a member of the wrong JSON type, out of
 * range, too long, or given twice is HQ_EINVAL (422) with err->field naming
 * it ("items[2].qty").  Presence and cross-field rules are the commands'.
 * An empty body reads as {} where every member is optional.
 */
#ifndef HQ_API_JSON_H
#define HQ_API_JSON_H

#include <stddef.h>

#include "commands.h"

/* idem_header: the Idempotency-Key header ("" if absent); it must agree
 * with an "idempotency_key" member when both are given. */
int hq_json_order(const char *body, size_t len, const char *idem_header, hq_order_req *r,
                  hq_err *err);
int hq_json_cancel(const char *body, size_t len, hq_cancel_req *r, hq_err *err);
int hq_json_rider(const char *body, size_t len, hq_rider_req *r, hq_err *err);
/* remind: {note?}; resolve: {resolution, note?} */
int hq_json_note(const char *body, size_t len, hq_note_req *r, hq_err *err);
/* Store settings: the keys of PROTO_SETTINGS_FIELD_MAP, plus "location":
 * {"lat","lon"} in degrees; unknown members are refused (a typo must not
 * be silently ignored). */
int hq_json_store(const char *body, size_t len, hq_store_req *r, hq_err *err);
/* r->stores is allocated (free with hq_json_catalog_free). */
int hq_json_catalog(const char *body, size_t len, hq_catalog_req *r, hq_err *err);
void hq_json_catalog_free(hq_catalog_req *r);
int hq_json_transfer(const char *body, size_t len, hq_transfer_req *r, hq_err *err);
/* Device assignment: {"store_id"} (required). */
int hq_json_assign(const char *body, size_t len, char store_id[PROTO_ID_MAX], hq_err *err);
/* Firmware registration: {"path"} (required), the bundle directory. */
#define HQ_ROLLOUT_STORES_MAX 10000
#define HQ_ROLLOUT_STEPS_MAX 10
typedef struct hq_rollout_req {
  char version[48];                /* FW_VERSION_MAX (hq_core does not link firmware) */
  bool all;                        /* "stores":"all" */
  char (*stores)[PROTO_ID_MAX];    /* malloc'd unless all */
  size_t n_stores;
  unsigned steps[HQ_ROLLOUT_STEPS_MAX]; /* ascending percentages */
  size_t n_steps;
  int64_t max_failures;            /* -1: no limit; default 0 */
} hq_rollout_req;
/* Rollout: {version, stores: [ids] | "all", percent_steps: [..] | percent,
 * max_failures?}.  On failure nothing is left to free. */
int hq_json_rollout(const char *body, size_t len, hq_rollout_req *r, hq_err *err);
void hq_json_rollout_free(hq_rollout_req *r);
int hq_json_firmware(const char *body, size_t len, char *dir, size_t cap, hq_err *err);

#endif
