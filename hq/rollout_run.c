/* rollout_run.c - staged firmware rollouts (hq/rollout.h).
 *
 *   POST /api/v1/rollouts ──▶ hq_fw_rollout (boxes PENDING, stage 0)
 *   tick ──▶ per unfinished rollout: boxes' status from their last report
 *            (offer_id = rollout id: fw_fleet_status_of(state); offered
 *            but not reported yet: ACTIVE; else PENDING)
 *        ──▶ fw_rollout_next(percent = steps[stage]) ──▶ publish offers
 *            (retained, docs/protocol.md) ──▶ mark them offered
 *        ──▶ stage finished (none active, none to offer): next step
 *        ──▶ done, or halted (failures past max_failures, or the
 *            operator) with none active: finished
 *   up/update ──▶ fw_report per store (the newest wins)
 *
 * Only one rollout runs at a time: a box keeps only the newest offer, so two
 * running rollouts would steal boxes from each other.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "fw/file.h"
#include "jw.h"
#include "proto/repl.h"
#include "rollout_int.h"

#define TOPIC_PREFIX PROTO_TOPIC_ROOT "/stores/"
#define UP_SUFFIX "/up/update"

/* ---- reports ----------------------------------------------------------------------- */

static fw_report *report_of(hq_fw *fw, const char *store) {
  for (size_t i = 0; fw && i < fw->n_rep; i++)
    if (strcmp(fw->rep[i].store, store) == 0) return &fw->rep[i];
  return NULL;
}

bool hq_fw_message(hq_server *s, const rt_mqtt_event *ev) {
  size_t tl = strlen(ev->topic), pl = strlen(TOPIC_PREFIX), sl = strlen(UP_SUFFIX);
  char store[FW_ID_MAX];
  fw_report r, *slot, *n;
  fw_err fe;
  hq_fw *fw;
  if (tl <= pl + sl || strncmp(ev->topic, TOPIC_PREFIX, pl) != 0 || strcmp(ev->topic + tl - sl, UP_SUFFIX) != 0)
    return false;
  snprintf(store, sizeof store, "%.*s", (int)(tl - pl - sl), ev->topic + pl);
  fw_err_clear(&fe);
  if (fw_report_decode(ev->payload, ev->len, &r, &fe) != FW_OK || strcmp(r.store, store) != 0) {
    rt_logf(s->log, RT_LOG_WARN, "update report refused", "store=%s err=\"%s\"", store,
            fe.msg[0] ? fe.msg : "store differs from the topic's");
    return true;
  }
  if (!(fw = hq__fw(s))) return true;
  if (!(slot = report_of(fw, store))) {
    if (!(n = realloc(fw->rep, (fw->n_rep + 1) * sizeof *n))) return true;
    fw->rep = n;
    slot = &fw->rep[fw->n_rep++];
  }
  *slot = r;
  return true;
}

/* ---- the loop ------------------------------------------------------------------------ */

static fw_fleet_status box_status(hq_fw *fw, const hq_fw_rollout *ro, const hq_fw_box *b) {
  const fw_report *r = report_of(fw, b->store);
  if (r && strcmp(r->offer_id, ro->id) == 0) {
    fw_fleet_status st = fw_fleet_status_of(r->state);
    return st == FW_FLEET_PENDING && b->offered ? FW_FLEET_ACTIVE : st;
  }
  return b->offered ? FW_FLEET_ACTIVE : FW_FLEET_PENDING;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Publish the offer to box i; false (retried next tick) if MQTT refused. */
static bool offer(hq_server *s, hq_fw_rollout *ro, size_t i) {
  char topic[160];
  snprintf(topic, sizeof topic, TOPIC_PREFIX "%s/down/update", ro->box[i].store);
  if (!s->mqtt || rt_mqtt_publish(s->mqtt, topic, ro->offer, strlen(ro->offer), 1, true) != 0) return false;
  ro->box[i].offered = true;
  rt_logf(s->log, RT_LOG_INFO, "firmware offered", "rollout=%s store=%s version=%s", ro->id,
          ro->box[i].store, ro->version);
  return true;
}

/* One step of one rollout.  Leaves ro as it was if out of memory. */
static void step(hq_server *s, hq_fw_rollout *ro) {
  fw_fleet_box *boxes = calloc(ro->n, sizeof *boxes);
  size_t *idx = calloc(ro->n, sizeof *idx);
  fw_rollout_policy p = {ro->steps[ro->stage], ro->max_failures, -1, 0, fnv1a(ro->id)};
  fw_rollout_decision d;
  fw_err fe;
  fw_err_clear(&fe);
  if (!boxes || !idx) goto done;
  for (size_t i = 0; i < ro->n; i++)
    boxes[i] = (fw_fleet_box){ro->box[i].store, box_status(s->fw, ro, &ro->box[i])};
  if (fw_rollout_next(boxes, ro->n, &p, idx, ro->n, &d, &fe) != FW_OK) {
    rt_logf(s->log, RT_LOG_ERROR, "rollout decision failed", "rollout=%s err=\"%s\"", ro->id, fe.msg);
    goto done;
  }
  if (!ro->d.halt && d.halt)
    rt_logf(s->log, RT_LOG_WARN, "rollout halted", "rollout=%s reason=\"%s\"", ro->id, d.reason);
  ro->d = d;
  for (size_t k = 0; k < d.n_offer && !ro->stopped; k++)
    if (!offer(s, ro, idx[k])) break;
  if (d.done || ((d.halt || ro->stopped) && d.active == 0)) ro->finished = true;
  else if (d.active == 0 && d.n_offer == 0 && !d.halt && ro->stage + 1 < ro->n_steps) ro->stage++;
done:
  free(idx);
  free(boxes);
}

void hq_fw_tick(hq_server *s) {
  for (size_t i = 0; s->fw && i < s->fw->n_ro; i++)
    if (!s->fw->ro[i].finished) step(s, &s->fw->ro[i]);
}

/* ---- creating ------------------------------------------------------------------------- */

void hq__fw_rollouts_free(hq_fw *fw) {
  for (size_t i = 0; i < fw->n_ro; i++) {
    free(fw->ro[i].box);
    free(fw->ro[i].offer);
  }
  free(fw->ro);
  fw->ro = NULL;
  fw->n_ro = 0;
}

/* The offer's JSON for bundle e into *json (malloc'd).  Nothing left on failure. */
static int make_offer(hq_server *s, const hq_fw_entry *e, const char *id, char **json, hq_err *err) {
  char path[HQ_FW_DIR_MAX + 32];
  proto_buf man, sig, out;
  fw_offer o;
  fw_err fe;
  int rc = HQ_OK;
  proto_buf_init(&man);
  proto_buf_init(&sig);
  proto_buf_init(&out);
  memset(&o, 0, sizeof o);
  fw_err_clear(&fe);
  snprintf(path, sizeof path, "%s/%s", e->dir, FW_BUNDLE_MANIFEST);
  if (fw_file_read(path, FW_MANIFEST_MAX, &man, &fe) != FW_OK || proto_buf_append(&man, "", 1) != PROTO_OK) {
    rc = hq_err_set(err, HQ_EIO, "%s", fe.msg);
    goto done;
  }
  snprintf(path, sizeof path, "%s/%s", e->dir, FW_BUNDLE_SIG);
  if (fw_file_read(path, FW_SIG_MAX, &sig, &fe) != FW_OK) {
    rc = hq_err_set(err, HQ_EIO, "%s", fe.msg);
    goto done;
  }
  snprintf(o.offer_id, sizeof o.offer_id, "%s", id);
  snprintf(o.version, sizeof o.version, "%s", e->version);
  if (s->cfg->fw_base_url[0])
    snprintf(o.url, sizeof o.url, "%s/api/v1/firmware/%s/payload", s->cfg->fw_base_url, e->version);
  else
    snprintf(o.url, sizeof o.url, "http://%s:%d/api/v1/firmware/%s/payload", s->cfg->http_addr, s->port,
             e->version);
  o.manifest = man.data;
  o.manifest_len = man.len - 1;
  memcpy(o.sig, sig.data, sig.len);
  o.sig_len = sig.len;
  if (fw_offer_encode(&o, &out, &fe) != FW_OK || proto_buf_append(&out, "", 1) != PROTO_OK) {
    rc = hq_err_set(err, HQ_EIO, "offer: %s", fe.msg);
    goto done;
  }
  *json = out.data;
  out.data = NULL;
done:
  proto_buf_close(&out);
  proto_buf_close(&sig);
  proto_buf_close(&man);
  return rc;
}

/* The boxes of the request: its list, or every box that ever reported. */
static int fill_boxes(hq_fw *fw, const hq_rollout_req *q, hq_fw_rollout *ro, hq_err *err) {
  size_t n = q->all ? fw->n_rep : q->n_stores;
  if (n == 0) return hq_err_field(err, HQ_EINVAL, "stores", "no box has reported to HQ yet");
  if (!(ro->box = calloc(n, sizeof *ro->box))) return hq_err_set(err, HQ_ENOMEM, NULL);
  for (size_t i = 0; i < n; i++)
    snprintf(ro->box[i].store, sizeof ro->box[i].store, "%s", q->all ? fw->rep[i].store : q->stores[i]);
  ro->n = n;
  return HQ_OK;
}

/* A new rollout from q into *ro.  Nothing left on failure. */
static int rollout_new(hq_server *s, hq_fw *fw, const hq_rollout_req *q, hq_fw_rollout *ro, hq_err *err) {
  const hq_fw_entry *e = hq__fw_find(fw, q->version);
  int rc = HQ_OK;
  memset(ro, 0, sizeof *ro);
  if (!e) return hq_err_field(err, HQ_EINVAL, "version", "firmware %s is not registered", q->version);
  for (size_t i = 0; i < fw->n_ro; i++)
    if (!fw->ro[i].finished)
      return hq_err_set(err, HQ_EILLEGAL, "rollout %s is still running: halt it first", fw->ro[i].id);
  ro->created_ms = proto_wall_ms();
  snprintf(ro->id, sizeof ro->id, "ro-%" PRIu64 "-%zu", ro->created_ms, fw->n_ro + 1);
  snprintf(ro->version, sizeof ro->version, "%s", e->version);
  memcpy(ro->steps, q->steps, sizeof ro->steps);
  ro->n_steps = q->n_steps;
  ro->max_failures = (int)q->max_failures;
  rc = fill_boxes(fw, q, ro, err);
  if (rc == HQ_OK) rc = make_offer(s, e, ro->id, &ro->offer, err);
  if (rc != HQ_OK) {
    free(ro->box);
    memset(ro, 0, sizeof *ro);
  }
  return rc;
}

/* ---- the API ----------------------------------------------------------------------------- */

static const char *const fleet_names[] = {"pending", "active", "committed", "failed"};

static void box_json(jw *w, hq_fw *fw, const hq_fw_rollout *ro, const hq_fw_box *b) {
  const fw_report *r = report_of(fw, b->store);
  bool ours = r && strcmp(r->offer_id, ro->id) == 0;
  jw_obj(w, NULL);
  jw_str(w, "store", b->store);
  jw_str(w, "status", fleet_names[box_status(fw, ro, b)]);
  jw_str(w, "state", ours ? fw_state_name(r->state) : b->offered ? "offered" : "pending");
  jw_str(w, "installed", r ? r->installed : "");
  if (ours && r->error[0]) jw_str(w, "error", r->error);
  else jw_null(w, "error");
  jw_str(w, "detail", ours ? r->detail : "");
  jw_u64(w, "bytes", ours ? r->bytes : 0);
  jw_u64(w, "total", ours ? r->total : 0);
  jw_end(w);
}

static const char *status_of(const hq_fw_rollout *ro) {
  if (ro->d.halt || ro->stopped) return ro->finished ? "halted" : "halting";
  return ro->finished ? "done" : "running";
}

static int rollout_json(hq_fw *fw, const hq_fw_rollout *ro, proto_buf *out, hq_err *err) {
  jw w;
  jw_init(&w, out);
  jw_obj(&w, NULL);
  jw_str(&w, "id", ro->id);
  jw_str(&w, "version", ro->version);
  jw_str(&w, "status", status_of(ro));
  jw_str(&w, "reason", ro->stopped ? "halted by the operator" : ro->d.reason);
  jw_int(&w, "percent", ro->steps[ro->stage]);
  jw_arr(&w, "percent_steps");
  for (size_t i = 0; i < ro->n_steps; i++) jw_int(&w, NULL, ro->steps[i]);
  jw_end_arr(&w);
  jw_int(&w, "max_failures", ro->max_failures);
  jw_u64(&w, "created_ms", ro->created_ms);
  jw_u64(&w, "active", ro->d.active);
  jw_u64(&w, "committed", ro->d.committed);
  jw_u64(&w, "failed", ro->d.failed);
  jw_arr(&w, "stores");
  for (size_t i = 0; i < ro->n; i++) box_json(&w, fw, ro, &ro->box[i]);
  jw_end_arr(&w);
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

static hq_fw_rollout *find_rollout(hq_fw *fw, const char *id) {
  for (size_t i = 0; fw && i < fw->n_ro; i++)
    if (strcmp(fw->ro[i].id, id) == 0) return &fw->ro[i];
  return NULL;
}

static int rollout_create(hq_server *s, hq_req *r, hq_err *err) {
  hq_rollout_req q;
  hq_fw_rollout ro, *n;
  hq_fw *fw = hq__fw(s);
  if (!fw) return hq_err_set(err, HQ_ENOMEM, NULL);
  int rc = hq_json_rollout(r->body, r->body_len, &q, err);
  if (rc != HQ_OK) return rc;
  rc = rollout_new(s, fw, &q, &ro, err);
  hq_json_rollout_free(&q);
  if (rc != HQ_OK) return rc;
  if (!(n = realloc(fw->ro, (fw->n_ro + 1) * sizeof *n))) {
    free(ro.box);
    free(ro.offer);
    return hq_err_set(err, HQ_ENOMEM, NULL);
  }
  fw->ro = n;
  fw->ro[fw->n_ro++] = ro;
  rt_logf(s->log, RT_LOG_INFO, "rollout started", "rollout=%s version=%s boxes=%zu by=%s", ro.id,
          ro.version, ro.n, r->who[0] ? r->who : "-");
  step(s, &fw->ro[fw->n_ro - 1]); /* the first stage now, not at the next tick */
  r->status = 201;
  return rollout_json(fw, &fw->ro[fw->n_ro - 1], &r->out, err);
}

static int rollout_get(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw_rollout *ro = find_rollout(s->fw, r->seg[0]);
  if (!ro) return hq_err_field(err, HQ_ENOTFOUND, "id", "no rollout %s", r->seg[0]);
  return rollout_json(s->fw, ro, &r->out, err);
}

static int rollout_halt(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw_rollout *ro = find_rollout(s->fw, r->seg[0]);
  if (!ro) return hq_err_field(err, HQ_ENOTFOUND, "id", "no rollout %s", r->seg[0]);
  if (!ro->stopped && !ro->finished)
    rt_logf(s->log, RT_LOG_WARN, "rollout halted", "rollout=%s by=%s", ro->id, r->who[0] ? r->who : "-");
  ro->stopped = ro->stopped || !ro->finished;
  if (!ro->finished && ro->d.active == 0) ro->finished = true;
  return rollout_json(s->fw, ro, &r->out, err);
}

static int rollout_list(hq_server *s, hq_req *r, hq_err *err) {
  jw w;
  jw_init(&w, &r->out);
  jw_obj(&w, NULL);
  jw_arr(&w, "rollouts");
  for (size_t i = 0; s->fw && i < s->fw->n_ro; i++) {
    const hq_fw_rollout *ro = &s->fw->ro[i];
    jw_obj(&w, NULL);
    jw_str(&w, "id", ro->id);
    jw_str(&w, "version", ro->version);
    jw_str(&w, "status", status_of(ro));
    jw_u64(&w, "boxes", ro->n);
    jw_u64(&w, "committed", ro->d.committed);
    jw_u64(&w, "failed", ro->d.failed);
    jw_end(&w);
  }
  jw_end_arr(&w);
  jw_end(&w);
  return jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
}

#define ADMIN HQ_SCOPE(ADMIN)
#define READ HQ_SCOPE(READ)

static const hq_route routes[] = {
    {LWSHUMETH_POST, "/api/v1/rollouts", rollout_create, ADMIN},
    {LWSHUMETH_GET, "/api/v1/rollouts", rollout_list, ADMIN | READ},
    {LWSHUMETH_GET, "/api/v1/rollouts/{}", rollout_get, ADMIN | READ},
    {LWSHUMETH_POST, "/api/v1/rollouts/{}/halt", rollout_halt, ADMIN},
};

const hq_route_table hq_rollout_routes = {routes, sizeof routes / sizeof routes[0]};
