/* rollout_run.c - staged firmware rollouts (hq/rollout.h).
 *
 *   POST /api/v1/rollouts ──▶ hq_fw_rollout (boxes PENDING, stage 0),
 *            committed to fw_rollouts + fw_rollout_boxes, then a first step
 *   tick ──▶ per unfinished rollout: boxes' status from their last report
 *            (offer_id = rollout id: fw_fleet_status_of(state); offered
 *            but not reported yet: ACTIVE; else PENDING)
 *        ──▶ fw_rollout_next(percent = steps[stage]) says whom to offer
 *        ──▶ commit: those boxes offered, the stage, halt, finished (R1)
 *        ──▶ publish each offer (retained, QoS 1, docs/protocol.md) with
 *            the box's own signed URL (rollout_url.c)
 *        ──▶ stage finished (none active, none to offer): next step
 *        ──▶ done, or halted (failures past max_failures, or the
 *            operator) with none active: finished
 *   up/update ──▶ fw_report per store (the newest wins), into fw_reports
 *
 * Publishing: a box marked offered whose report does not show the offer yet
 * is published when this process has not published it (url_exp 0: its
 * first publish failed, or hq restarted: R1 in rollout_db.c), and again
 * with a fresh URL once half of fw_url_ttl_s has passed while the rollout
 * runs (a box offline for days still gets a URL that works).  A box keeps
 * an offer_id it has seen, so a publish again is harmless.
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

_Static_assert(HQ_FW_STEPS_MAX == HQ_ROLLOUT_STEPS_MAX, "a rollout's steps as the API reads them");
#define UP_SUFFIX "/up/update"

/* ---- reports ----------------------------------------------------------------------- */

static fw_report *report_of(hq_fw *fw, const char *store) {
  for (size_t i = 0; fw && i < fw->n_rep; i++)
    if (strcmp(fw->rep[i].store, store) == 0) return &fw->rep[i];
  return NULL;
}

/* The agent names the URL in download errors: keep its signature out of
 * hq's tables, log and API ("sig=<hex>" becomes "sig=-"). */
static void redact(char *t) {
  for (char *p = strstr(t, "sig="); p; p = strstr(p, "sig=")) {
    size_t n = strspn(p + 4, "0123456789abcdefABCDEF");
    p += 4;
    if (n == 0) continue;
    *p = '-';
    memmove(p + 1, p + n, strlen(p + n) + 1);
  }
}

/* A report for an offer: remember it on that rollout's box (if any). */
static void note_report(hq_fw *fw, const fw_report *r) {
  for (size_t i = 0; r->offer_id[0] && i < fw->n_ro; i++) {
    hq_fw_rollout *ro = &fw->ro[i];
    if (strcmp(ro->id, r->offer_id) != 0) continue;
    for (size_t k = 0; k < ro->n; k++)
      if (strcmp(ro->box[k].store, r->store) == 0) {
        ro->box[k].state = (int)r->state;
        snprintf(ro->box[k].error, sizeof ro->box[k].error, "%s", r->error);
      }
    return;
  }
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
  if (!(fw = hq__fw(s, NULL))) return true;
  redact(r.detail);
  if (!(slot = report_of(fw, store))) {
    if (!(n = realloc(fw->rep, (fw->n_rep + 1) * sizeof *n))) return true;
    fw->rep = n;
    slot = &fw->rep[fw->n_rep++];
  }
  *slot = r;
  note_report(fw, &r);
  hq_err err;
  hq_err_clear(&err);
  if (hq__fwdb_report_put(s, &r, &err) != HQ_OK) /* kept in memory; the box reports again */
    rt_logf(s->log, RT_LOG_WARN, "update report not stored", "store=%s err=\"%s\"", store, err.msg);
  return true;
}

/* ---- the loop ------------------------------------------------------------------------ */

/* The box has reported on this rollout's offer. */
static bool taken(const hq_fw_box *b) { return b->state >= 0; }

/* From the box's newest report on this rollout's offer, never from a later
 * rollout's: a finished rollout keeps showing what it did. */
static fw_fleet_status box_status(const hq_fw_box *b) {
  if (taken(b)) {
    fw_fleet_status st = fw_fleet_status_of((fw_state)b->state);
    return st == FW_FLEET_PENDING && b->offered ? FW_FLEET_ACTIVE : st;
  }
  return b->offered ? FW_FLEET_ACTIVE : FW_FLEET_PENDING;
}


static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void hq__fw_row_of(const hq_fw_rollout *ro, hq_fw_row *row) {
  memset(row, 0, sizeof *row);
  row->stage = ro->stage;
  row->stopped = ro->stopped;
  row->finished = ro->finished;
  row->halt = ro->d.halt;
  row->active = ro->d.active;
  row->committed = ro->d.committed;
  row->failed = ro->d.failed;
  snprintf(row->reason, sizeof row->reason, "%s", ro->d.reason);
}

static bool row_same(const hq_fw_row *a, const hq_fw_row *b) {
  return a->stage == b->stage && a->stopped == b->stopped && a->finished == b->finished && a->halt == b->halt &&
         a->active == b->active && a->committed == b->committed && a->failed == b->failed &&
         strcmp(a->reason, b->reason) == 0;
}

static int make_base(hq_server *s, const hq_fw_entry *e, const char *id, fw_offer *o, hq_err *err);

/* Publish the offer to box i with a URL good until exp; false (retried
 * next tick) if the offer cannot be built or MQTT refused it. */
static bool offer(hq_server *s, hq_fw *fw, hq_fw_rollout *ro, size_t i, int64_t exp) {
  char topic[160];
  hq_fw_box *b = &ro->box[i];
  const hq_fw_entry *e = hq__fw_find(fw, ro->version);
  fw_offer o;
  proto_buf json;
  fw_err fe;
  hq_err err;
  bool ok = false;
  hq_err_clear(&err);
  fw_err_clear(&fe);
  if (!ro->base.manifest && (!e || make_base(s, e, ro->id, &ro->base, &err) != HQ_OK)) {
    if (!ro->base_failed)
      rt_logf(s->log, RT_LOG_ERROR, "firmware offer cannot be built", "rollout=%s version=%s err=\"%s\"", ro->id,
              ro->version, e ? err.msg : "the bundle is not registered");
    ro->base_failed = true;
    return false;
  }
  o = ro->base; /* shallow: the manifest stays the base's */
  if (hq__fw_url(s, fw, ro->version, b->store, exp, o.url, sizeof o.url, &err) != HQ_OK) {
    rt_logf(s->log, RT_LOG_ERROR, "firmware offer not sent", "rollout=%s store=%s err=\"%s\"", ro->id, b->store,
            err.msg);
    return false;
  }
  proto_buf_init(&json);
  snprintf(topic, sizeof topic, TOPIC_PREFIX "%s/down/update", b->store);
  if (fw_offer_encode(&o, &json, &fe) == FW_OK && s->mqtt &&
      rt_mqtt_publish(s->mqtt, topic, json.data, json.len, 1, true) == 0) {
    rt_logf(s->log, b->url_exp ? RT_LOG_DEBUG : RT_LOG_INFO, b->url_exp ? "firmware offer refreshed" : "firmware offered",
            "rollout=%s store=%s version=%s", ro->id, b->store, ro->version);
    b->url_exp = exp;
    ok = true;
  }
  proto_buf_close(&json);
  return ok;
}

/* Publish what R1 and the URLs' expiry ask for (top of the file). */
static void publish_due(hq_server *s, hq_fw *fw, hq_fw_rollout *ro) {
  int64_t now = (int64_t)(proto_wall_ms() / 1000u), ttl = s->cfg->fw_url_ttl_s;
  bool running = !ro->stopped && !ro->d.halt;
  for (size_t i = 0; i < ro->n; i++) {
    hq_fw_box *b = &ro->box[i];
    if (!b->offered || taken(b)) continue;
    if ((b->url_exp == 0 || (running && b->url_exp - now < ttl / 2)) && !offer(s, fw, ro, i, now + ttl)) break;
  }
}

/* One step of one rollout: decide, commit, then publish.  Leaves ro as it
 * was if out of memory or the commit failed (logged; the next tick tries
 * again). */
static void step(hq_server *s, hq_fw *fw, hq_fw_rollout *ro) {
  fw_fleet_box *boxes = calloc(ro->n, sizeof *boxes);
  size_t *idx = calloc(ro->n, sizeof *idx), n_new;
  fw_rollout_policy p = {ro->steps[ro->stage], ro->max_failures, -1, 0, fnv1a(ro->id)};
  fw_rollout_decision d;
  hq_fw_row row;
  uint64_t now = proto_wall_ms();
  fw_err fe;
  hq_err err;
  fw_err_clear(&fe);
  hq_err_clear(&err);
  if (!boxes || !idx) goto done;
  for (size_t i = 0; i < ro->n; i++) boxes[i] = (fw_fleet_box){ro->box[i].store, box_status(&ro->box[i])};
  if (fw_rollout_next(boxes, ro->n, &p, idx, ro->n, &d, &fe) != FW_OK) {
    rt_logf(s->log, RT_LOG_ERROR, "rollout decision failed", "rollout=%s err=\"%s\"", ro->id, fe.msg);
    goto done;
  }
  n_new = ro->stopped ? 0 : d.n_offer;
  hq__fw_row_of(ro, &row);
  row.halt = d.halt;
  row.active = d.active;
  row.committed = d.committed;
  row.failed = d.failed;
  snprintf(row.reason, sizeof row.reason, "%s", d.reason);
  if (d.done || ((d.halt || ro->stopped) && d.active == 0)) row.finished = true;
  else if (d.active == 0 && d.n_offer == 0 && !d.halt && ro->stage + 1 < ro->n_steps) row.stage++;
  if ((n_new || !row_same(&row, &ro->saved)) &&
      hq__fwdb_rollout_save(s, ro, &row, idx, n_new, now, &err) != HQ_OK) {
    rt_logf(s->log, RT_LOG_ERROR, "rollout not saved: retried next tick", "rollout=%s err=\"%s\"", ro->id, err.msg);
    goto done;
  }
  ro->saved = row;
  if (!ro->d.halt && d.halt)
    rt_logf(s->log, RT_LOG_WARN, "rollout halted", "rollout=%s reason=\"%s\"", ro->id, d.reason);
  ro->d = d;
  ro->stage = row.stage;
  ro->finished = row.finished;
  for (size_t k = 0; k < n_new; k++) {
    ro->box[idx[k]].offered = true;
    ro->box[idx[k]].offered_ms = now;
    ro->box[idx[k]].url_exp = 0;
  }
  if (!ro->finished) publish_due(s, fw, ro);
done:
  free(idx);
  free(boxes);
}

void hq_fw_tick(hq_server *s) {
  hq_fw *fw = hq__fw(s, NULL);
  for (size_t i = 0; fw && i < fw->n_ro; i++)
    if (!fw->ro[i].finished) step(s, fw, &fw->ro[i]);
}

/* ---- creating ------------------------------------------------------------------------- */

void hq__fw_rollouts_free(hq_fw *fw) {
  for (size_t i = 0; i < fw->n_ro; i++) {
    free(fw->ro[i].box);
    fw_offer_free(&fw->ro[i].base);
  }
  free(fw->ro);
  fw->ro = NULL;
  fw->n_ro = 0;
}

/* The offer of bundle e without its url (each box gets its own) into *o.
 * Nothing left on failure. */
static int make_base(hq_server *s, const hq_fw_entry *e, const char *id, fw_offer *o, hq_err *err) {
  char path[HQ_FW_DIR_MAX + 32];
  proto_buf man, sig;
  fw_err fe;
  int rc = HQ_OK;
  (void)s;
  proto_buf_init(&man);
  proto_buf_init(&sig);
  memset(o, 0, sizeof *o);
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
  snprintf(o->offer_id, sizeof o->offer_id, "%s", id);
  snprintf(o->version, sizeof o->version, "%s", e->version);
  o->manifest = man.data;
  o->manifest_len = man.len - 1;
  man.data = NULL;
  memcpy(o->sig, sig.data, sig.len);
  o->sig_len = sig.len;
done:
  proto_buf_close(&sig);
  proto_buf_close(&man);
  return rc;
}

/* The boxes of the request: its list, or every box that ever reported. */
static int fill_boxes(hq_fw *fw, const hq_rollout_req *q, hq_fw_rollout *ro, hq_err *err) {
  size_t n = q->all ? fw->n_rep : q->n_stores;
  if (n == 0) return hq_err_field(err, HQ_EINVAL, "stores", "no box has reported to HQ yet");
  if (!(ro->box = calloc(n, sizeof *ro->box))) return hq_err_set(err, HQ_ENOMEM, NULL);
  for (size_t i = 0; i < n; i++) {
    snprintf(ro->box[i].store, sizeof ro->box[i].store, "%s", q->all ? fw->rep[i].store : q->stores[i]);
    ro->box[i].state = -1;
  }
  ro->n = n;
  return HQ_OK;
}

/* A new rollout from q into *ro, committed to the tables.  Nothing left on
 * failure. */
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
  if (rc == HQ_OK) rc = make_base(s, e, ro->id, &ro->base, err);
  if (rc == HQ_OK) rc = hq__fwdb_rollout_put(s, ro, err);
  if (rc != HQ_OK) {
    free(ro->box);
    fw_offer_free(&ro->base);
    memset(ro, 0, sizeof *ro);
  }
  hq__fw_row_of(ro, &ro->saved);
  return rc;
}

/* ---- the API ----------------------------------------------------------------------------- */

static const char *const fleet_names[] = {"pending", "active", "committed", "failed"};

static void box_json(jw *w, hq_fw *fw, const hq_fw_rollout *ro, const hq_fw_box *b) {
  const fw_report *r = report_of(fw, b->store);
  bool ours = r && strcmp(r->offer_id, ro->id) == 0;
  jw_obj(w, NULL);
  jw_str(w, "store", b->store);
  jw_str(w, "status", fleet_names[box_status(b)]);
  jw_str(w, "state", taken(b) ? fw_state_name((fw_state)b->state) : b->offered ? "offered" : "pending");
  jw_str(w, "installed", r ? r->installed : "");
  if (b->error[0]) jw_str(w, "error", b->error);
  else jw_null(w, "error");
  jw_str(w, "detail", ours ? r->detail : "");
  jw_u64(w, "bytes", ours ? r->bytes : 0);
  jw_u64(w, "total", ours ? r->total : 0);
  jw_u64(w, "offered_ms", b->offered_ms);
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
  hq_fw *fw = hq__fw(s, err);
  if (!fw) return err->code;
  int rc = hq_json_rollout(r->body, r->body_len, &q, err);
  if (rc != HQ_OK) return rc;
  /* room first: once committed, the rollout must make it into memory */
  if (!(n = realloc(fw->ro, (fw->n_ro + 1) * sizeof *n))) rc = hq_err_set(err, HQ_ENOMEM, NULL);
  else fw->ro = n;
  if (rc == HQ_OK) rc = rollout_new(s, fw, &q, &ro, err);
  hq_json_rollout_free(&q);
  if (rc != HQ_OK) return rc;
  fw->ro[fw->n_ro++] = ro;
  rt_logf(s->log, RT_LOG_INFO, "rollout started", "rollout=%s version=%s boxes=%zu by=%s", ro.id,
          ro.version, ro.n, r->who[0] ? r->who : "-");
  step(s, fw, &fw->ro[fw->n_ro - 1]); /* the first stage now, not at the next tick */
  r->status = 201;
  return rollout_json(fw, &fw->ro[fw->n_ro - 1], &r->out, err);
}

static int rollout_get(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw *fw = hq__fw(s, err);
  hq_fw_rollout *ro = fw ? find_rollout(fw, r->seg[0]) : NULL;
  if (!fw) return err->code;
  if (!ro) return hq_err_field(err, HQ_ENOTFOUND, "id", "no rollout %s", r->seg[0]);
  return rollout_json(fw, ro, &r->out, err);
}

/* Committed before the answer: a restarted hq keeps the rollout halted. */
static int rollout_halt(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw *fw = hq__fw(s, err);
  hq_fw_rollout *ro = fw ? find_rollout(fw, r->seg[0]) : NULL;
  hq_fw_row row;
  if (!fw) return err->code;
  if (!ro) return hq_err_field(err, HQ_ENOTFOUND, "id", "no rollout %s", r->seg[0]);
  size_t active = 0; /* now: a box offered since the last decision counts too */
  for (size_t i = 0; i < ro->n; i++) active += box_status(&ro->box[i]) == FW_FLEET_ACTIVE;
  hq__fw_row_of(ro, &row);
  row.stopped = ro->stopped || !ro->finished;
  if (!ro->finished && active == 0) row.finished = true;
  if (!row_same(&row, &ro->saved)) {
    int rc = hq__fwdb_rollout_save(s, ro, &row, NULL, 0, 0, err);
    if (rc != HQ_OK) return rc;
    ro->saved = row;
  }
  if (!ro->stopped && !ro->finished)
    rt_logf(s->log, RT_LOG_WARN, "rollout halted", "rollout=%s by=%s", ro->id, r->who[0] ? r->who : "-");
  ro->stopped = row.stopped;
  ro->finished = row.finished;
  return rollout_json(fw, ro, &r->out, err);
}

static int rollout_list(hq_server *s, hq_req *r, hq_err *err) {
  hq_fw *fw = hq__fw(s, err);
  jw w;
  if (!fw) return err->code;
  jw_init(&w, &r->out);
  jw_obj(&w, NULL);
  jw_arr(&w, "rollouts");
  for (size_t i = 0; i < fw->n_ro; i++) {
    const hq_fw_rollout *ro = &fw->ro[i];
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
