/* machine.c - the update agent's state machine.
 *
 *   IDLE | COMMITTED | FAILED      at rest: `current` -> the active slot
 *      |
 *      | fwa_take_offer: an offer (version, url, manifest, sig) arrived
 *      v
 *   OFFERED -------- fwa_offer_check fails: bad signature, versions -------+
 *      |  fwa_offer_check: signature by the trusted key, offer and          |
 *      |  manifest agree, fw_version_admit (no downgrade below the          |
 *      |  installed version or the floor); drops a stale payload.part       |
 *      v                                                                    |
 *   DOWNLOADING ---- fwa_download fails: retries exhausted ----------------+
 *      |  fwa_download: GET url into payload.part; after an interruption   |
 *      |  Range: bytes=<part size>-; never more than the signed size        |
 *      v                                                                    |
 *   VERIFYING ------ fwa_verify fails: signature, size or sha256 ----------+
 *      |  fwa_verify: signature again, payload size + SHA-256 (mbedTLS)     |
 *      v                                                                    |
 *   INSTALLING ----- fwa_install fails: archive, disk --------------------+
 *      |  fwa_install: wipe the inactive slot, unpack (fsync'd),            |
 *      |  manifest.json, manifest.sig last                                  v
 *   SWITCHING ------ fwa_switch fails: swap or restart ------+           FAILED
 *      |  fwa_switch: current -> to slot (rename), restart   |              ^
 *      v                                                     v              |
 *   HEALTH_CHECK --- fwa_health fails: deadline --------> ROLLBACK ---------+
 *      |  fwa_health: /healthz + version,              fwa_rollback: current
 *      |  database opens, replication connected,       -> from slot, restart,
 *      |  health_passes in a row before the deadline   health of the old one
 *      v                                               (either way: FAILED)
 *   COMMITTED        active = to slot, installed = version, floor raised
 *
 * Invariants:
 *   - the state is persisted (fsync'd, atomic rename) at every arrow, before
 *     the next step starts; a step's changes to the state's fields become
 *     durable with its transition;
 *   - every step is idempotent: after a crash (SIGKILL, power cut) the agent
 *     runs the step of the persisted state again and it finishes the job
 *     (the download resumes, the inactive slot is unpacked again, the swap
 *     is redone, the health check restarts: health_max_attempts of them,
 *     then ROLLBACK, so a new version that takes the box down with it is
 *     still rolled back);
 *   - `current` always names a complete slot: only INSTALLING writes, and
 *     only into the slot `current` does not name; only SWITCHING and
 *     ROLLBACK move `current`, by rename(2);
 *   - at rest, `current` is the active slot.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "fw/file.h"

typedef int (*step_fn)(fwa *a, fw_err *err);

/* The table of the diagram: a state's step, where it goes on success and
 * on failure.  At-rest states have no step. */
typedef struct row {
  step_fn step;
  fw_state ok, fail;
} row;

static const row table[FW_ST__COUNT] = {
    [FW_ST_OFFERED] = {fwa_offer_check, FW_ST_DOWNLOADING, FW_ST_FAILED},
    [FW_ST_DOWNLOADING] = {fwa_download, FW_ST_VERIFYING, FW_ST_FAILED},
    [FW_ST_VERIFYING] = {fwa_verify, FW_ST_INSTALLING, FW_ST_FAILED},
    [FW_ST_INSTALLING] = {fwa_install, FW_ST_SWITCHING, FW_ST_FAILED},
    [FW_ST_SWITCHING] = {fwa_switch, FW_ST_HEALTH_CHECK, FW_ST_ROLLBACK},
    [FW_ST_HEALTH_CHECK] = {fwa_health, FW_ST_COMMITTED, FW_ST_ROLLBACK},
    [FW_ST_ROLLBACK] = {fwa_rollback, FW_ST_FAILED, FW_ST_FAILED},
};

void fwa_path(const fwa *a, char *dst, size_t cap, const char *name) {
  snprintf(dst, cap, "%s/%s", a->cfg->state_dir, name);
}

void fwa_report_now(const fwa *a, fw_report *r) {
  struct timespec ts;
  memset(r, 0, sizeof *r);
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(r->store, sizeof r->store, "%s", a->cfg->store_id);
  snprintf(r->offer_id, sizeof r->offer_id, "%s", a->st.offer.offer_id);
  r->state = a->st.state;
  snprintf(r->version, sizeof r->version, "%s", a->st.offer.version);
  snprintf(r->installed, sizeof r->installed, "%s", a->st.installed);
  snprintf(r->error, sizeof r->error, "%s", a->st.error);
  snprintf(r->detail, sizeof r->detail, "%s", a->st.detail);
  if (a->st.state == FW_ST_DOWNLOADING) {
    r->bytes = a->progress_bytes;
    r->total = a->progress_total;
  }
  r->ts_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fwa_emit(fwa *a) {
  fw_report r;
  if (!a->report) return;
  fwa_report_now(a, &r);
  a->report(a->report_ctx, &r);
}

/* Record why it failed (kept through ROLLBACK into FAILED). */
static void set_error(fwa *a, const fw_err *err) {
  snprintf(a->st.error, sizeof a->st.error, "%s", fw_err_wire(err->code));
  snprintf(a->st.detail, sizeof a->st.detail, "%s", err->msg);
  for (char *p = a->st.detail; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' '; /* one line in the state file */
}

/* Move to next: persist, report, then (tests) die on request. */
static int transition(fwa *a, fw_state next, fw_err *err) {
  char part[512];
  int rc;
  a->st.state = next;
  a->st.seq++;
  rc = fwa_state_save(a->cfg->state_dir, &a->st, err);
  if (rc != FW_OK) return rc;
  rt_logf(a->log, next == FW_ST_FAILED ? RT_LOG_WARN : RT_LOG_INFO, "update state",
          "state=%s version=%s seq=%llu%s%s",
          fw_state_name(next), a->st.offer.version, (unsigned long long)a->st.seq,
          a->st.error[0] && (next == FW_ST_FAILED || next == FW_ST_ROLLBACK) ? " error=" : "",
          next == FW_ST_FAILED || next == FW_ST_ROLLBACK ? a->st.error : "");
  if (fw_state_at_rest(next)) {
    fwa_path(a, part, sizeof part, "payload.part");
    unlink(part); /* the slot has it now, or it is useless */
  }
  fwa_emit(a);
  if (a->kill_at == (int)next) raise(SIGKILL); /* test hook: "die in state X" */
  return FW_OK;
}

static int settle(fwa *a, fw_err *err);

int fwa_run(fwa *a) {
  fw_err err;
  int rc = settle(a, &err);
  if (rc != FW_OK) {
    rt_logf(a->log, RT_LOG_ERROR, "cannot restore the active slot", "code=%s", fw_err_wire(rc));
    return rc;
  }
  while (!fw_state_at_rest(a->st.state)) {
    const row *r = &table[a->st.state];
    if (a->stop && *a->stop) return FW_OK; /* persisted: the next start resumes */
    fw_err_clear(&err);
    rc = r->step(a, &err);
    if (rc != FW_OK && a->st.state == FW_ST_ROLLBACK) {
      size_t n = strlen(a->st.detail);
      snprintf(a->st.detail + n, sizeof a->st.detail - n, "; rollback: %s", err.msg);
    } else if (rc != FW_OK) {
      set_error(a, &err);
    }
    if (rc != FW_OK)
      rt_logf(a->log, RT_LOG_WARN, "update step failed", "state=%s code=%s", fw_state_name(a->st.state),
              fw_err_wire(rc));
    if ((rc = transition(a, rc == FW_OK ? r->ok : r->fail, &err)) != FW_OK) {
      rt_logf(a->log, RT_LOG_ERROR, "cannot persist the update state", "code=%s", fw_err_wire(rc));
      return rc;
    }
  }
  return FW_OK;
}

int fwa_take_offer(fwa *a, const fw_offer *o, bool *taken, fw_err *err) {
  fw_offer copy;
  int rc;
  *taken = false;
  if (!fw_state_at_rest(a->st.state))
    return fw_err_set(err, FW_EBUSY, "update %s to %s is in state %s", a->st.offer.offer_id,
                      a->st.offer.version, fw_state_name(a->st.state));
  if (a->st.state != FW_ST_IDLE && strcmp(a->st.offer.offer_id, o->offer_id) == 0)
    return FW_OK; /* a retained offer seen again after a reconnect */
  if ((rc = fw_offer_copy(&copy, o, err)) != FW_OK) return rc;
  fw_offer_free(&a->st.offer);
  a->st.offer = copy;
  snprintf(a->st.from_slot, sizeof a->st.from_slot, "%s", a->st.active);
  snprintf(a->st.to_slot, sizeof a->st.to_slot, "%s", strcmp(a->st.active, "a") == 0 ? "b" : "a");
  a->st.health_attempts = 0;
  a->st.error[0] = a->st.detail[0] = '\0';
  a->progress_bytes = 0;
  *taken = true;
  return transition(a, FW_ST_OFFERED, err);
}

/* ---- open, bootstrap, check ---- */

/* First run (or a state file lost): `current` names a complete slot;
 * describe it as IDLE. */
static int bootstrap(fwa *a, fw_err *err) {
  fw_manifest m;
  char slot[2];
  int rc = fwa_slot_current(a->cfg->root, slot, err);
  if (rc == FW_OK) rc = fwa_slot_check(a->cfg->root, slot, a->pub_pem, &m, err);
  if (rc != FW_OK) return rc;
  fwa_state_free(&a->st);
  a->st.state = FW_ST_IDLE;
  snprintf(a->st.active, sizeof a->st.active, "%s", slot);
  snprintf(a->st.installed, sizeof a->st.installed, "%s", m.version);
  snprintf(a->st.floor, sizeof a->st.floor, "%s", m.min_version);
  fw_manifest_free(&m);
  rt_logf(a->log, RT_LOG_INFO, "update state created from the installed slot", "slot=%s version=%s",
          a->st.active, a->st.installed);
  return fwa_state_save(a->cfg->state_dir, &a->st, err);
}

/* At rest `current` must be the active slot; put it back if it is not. */
static int settle(fwa *a, fw_err *err) {
  char cur[2] = "";
  if (!fw_state_at_rest(a->st.state) || !a->st.active[0]) return FW_OK;
  if (fwa_slot_current(a->cfg->root, cur, NULL) == FW_OK && strcmp(cur, a->st.active) == 0) return FW_OK;
  rt_logf(a->log, RT_LOG_WARN, "current slot differs from the state; restoring", "current=%s active=%s",
          cur[0] ? cur : "-", a->st.active);
  return fwa_slot_point(a->cfg->root, a->st.active, err);
}

int fwa_open(fwa *a, const fwa_cfg *cfg, const rt_log *lg, bool load_state, fw_err *err) {
  proto_buf pub;
  bool missing = false;
  char fp[17];
  int rc;
  a->cfg = cfg;
  a->log = lg;
  a->kill_at = -1;
  proto_buf_init(&pub);
  rc = fw_file_read(cfg->pubkey, 65536, &pub, err);
  a->pub_pem = pub.data; /* owned by a now */
  if (rc == FW_OK && !a->pub_pem) rc = fw_err_set(err, FW_EKEY, "%s: empty", cfg->pubkey);
  if (rc == FW_OK) rc = fw_key_fingerprint(a->pub_pem, fp, err);
  if (rc == FW_OK) rc = fw_mkdirs(cfg->state_dir, 0700, err);
  if (rc != FW_OK || !load_state) return rc;
  if (fwa_state_load(cfg->state_dir, &a->st, &missing, err) != FW_OK) {
    if (!missing)
      rt_logf(a->log, RT_LOG_ERROR, "update state unreadable; rebuilding from the current slot", "err=\"%s\"",
              err ? err->msg : "");
    rc = bootstrap(a, err);
  }
  return rc;
}

void fwa_close(fwa *a) {
  fwa_state_free(&a->st);
  free(a->pub_pem);
  a->pub_pem = NULL;
}

int fwa_check(fwa *a, fw_err *err) {
  fw_manifest m;
  char cur[2];
  int rc = fwa_slot_current(a->cfg->root, cur, err);
  if (rc == FW_OK) rc = fwa_slot_check(a->cfg->root, cur, a->pub_pem, &m, err);
  if (rc != FW_OK) return rc;
  if (fw_state_at_rest(a->st.state) && (strcmp(cur, a->st.active) != 0 || strcmp(m.version, a->st.installed) != 0))
    rc = fw_err_set(err, FW_ESTATE, "at rest the state says slot %s version %s, current is slot %s version %s",
                    a->st.active, a->st.installed, cur, m.version);
  else if (!fw_state_at_rest(a->st.state) && strcmp(cur, a->st.from_slot) != 0 && strcmp(cur, a->st.to_slot) != 0)
    rc = fw_err_set(err, FW_ESTATE, "current is slot %s, neither the update's from nor to slot", cur);
  fw_manifest_free(&m);
  return rc;
}

int fwa_init_image(fwa *a, const char *bundle_dir, fw_err *err) {
  char path[512], cur[2];
  fw_manifest m;
  fw_offer o;
  proto_buf man, sig;
  int rc;
  memset(&o, 0, sizeof o);
  if (fwa_slot_current(a->cfg->root, cur, NULL) == FW_OK)
    return fw_err_set(err, FW_EBUSY, "%s/current exists: this box is installed (updates go through offers)",
                      a->cfg->root);
  proto_buf_init(&man);
  proto_buf_init(&sig);
  rc = fw_bundle_verify(bundle_dir, a->pub_pem, &m, err);
  snprintf(path, sizeof path, "%s/%s", bundle_dir, FW_BUNDLE_MANIFEST);
  if (rc == FW_OK) rc = fw_file_read(path, FW_MANIFEST_MAX, &man, err);
  snprintf(path, sizeof path, "%s/%s", bundle_dir, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_read(path, FW_SIG_MAX, &sig, err);
  o.manifest = man.data;
  o.manifest_len = man.len;
  if (rc == FW_OK) {
    memcpy(o.sig, sig.data, sig.len);
    o.sig_len = sig.len;
  }
  snprintf(path, sizeof path, "%s/%s", bundle_dir, FW_BUNDLE_PAYLOAD);
  if (rc == FW_OK) rc = fwa_slot_install(a->cfg->root, "a", path, &m, &o, err);
  if (rc == FW_OK) rc = fwa_slot_point(a->cfg->root, "a", err);
  if (rc == FW_OK) rc = bootstrap(a, err);
  if (m.files) fw_manifest_free(&m);
  proto_buf_close(&man);
  proto_buf_close(&sig);
  return rc;
}
