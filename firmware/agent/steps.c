/* steps.c - the work of each in-flight state (machine.c draws how they
 * connect).  Each step is idempotent: run again after a crash, it finishes
 * the job from whatever the previous attempt left on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "fw/file.h"

#define PART "payload.part"
#define RETRY_MAX_MS 60000
#define SYNC_EVERY (1024 * 1024)   /* fsync the part file this often */

/* The offer's manifest: signature by the trusted key, then decoded. */
static int trusted_manifest(fwa *a, fw_manifest *m, fw_err *err) {
  const fw_offer *o = &a->st.offer;
  int rc = fw_manifest_verify(o->manifest, o->manifest_len, o->sig, o->sig_len, a->pub_pem, err);
  if (rc == FW_OK) rc = fw_manifest_decode(o->manifest, o->manifest_len, m, err);
  return rc;
}

int fwa_offer_check(fwa *a, fw_err *err) {
  fw_manifest m;
  char part[512];
  int rc = trusted_manifest(a, &m, err);
  if (rc != FW_OK) return rc;
  if (strcmp(m.version, a->st.offer.version) != 0)
    rc = fw_err_set(err, FW_EOFFER, "offer says version %s, its signed manifest %s", a->st.offer.version, m.version);
  else if (strcmp(m.product, "storenode") != 0)
    rc = fw_err_set(err, FW_EOFFER, "bundle is for product \"%s\", this box runs storenode", m.product);
  else
    rc = fw_version_admit(m.version, m.min_version, a->st.installed, a->st.floor, a->st.offer.rollback, err);
  a->progress_bytes = 0;
  a->progress_total = m.payload_size; /* the DOWNLOADING report says how much is coming */
  fw_manifest_free(&m);
  fwa_path(a, part, sizeof part, PART);
  if (rc == FW_OK && unlink(part) != 0 && errno != ENOENT)
    rc = fw_err_set(err, FW_EIO, "%s: %s", part, strerror(errno));
  return rc;
}

/* ---- download ---- */

typedef struct dl {
  fwa *a;
  int fd;
  uint64_t have, synced, total, next_report;
} dl;

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int restart_part(dl *d, fw_err *err) {
  if (ftruncate(d->fd, 0) != 0) return fw_err_set(err, FW_EIO, "%s: %s", PART, strerror(errno));
  d->have = d->synced = 0;
  return FW_OK;
}

/* Line the part file up with the answer before any body byte: a 206 must
 * resume exactly where the file ends; a 200 (the server ignored Range)
 * starts over; a 416 or a 206 elsewhere means the file is not a prefix of
 * this payload: start over on the next attempt. */
static int dl_head(void *ctx, const fwa_http_resp *resp, fw_err *err) {
  dl *d = ctx;
  if (resp->status == 200) return d->have ? restart_part(d, err) : FW_OK;
  if (resp->status == 206 && resp->range_start == (int64_t)d->have) return FW_OK;
  if (resp->status == 206 || resp->status == 416) {
    int rc = restart_part(d, err);
    return rc != FW_OK ? rc : fw_err_set(err, FW_EDOWNLOAD, "server cannot resume at byte %llu; starting over",
                                         (unsigned long long)d->have);
  }
  return FW_OK; /* other statuses: fetch_once reports them */
}

static int dl_sink(void *ctx, const void *data, size_t n, fw_err *err) {
  dl *d = ctx;
  if (d->have + n > d->total)
    return fw_err_set(err, FW_EDOWNLOAD, "server sends more than the signed %llu bytes",
                      (unsigned long long)d->total);
  if (write_all(d->fd, data, n) != 0) return fw_err_set(err, FW_EIO, "%s: %s", PART, strerror(errno));
  d->have += n;
  if (d->have - d->synced >= SYNC_EVERY) {
    if (fsync(d->fd) != 0) return fw_err_set(err, FW_EIO, "fsync %s: %s", PART, strerror(errno));
    d->synced = d->have;
  }
  if (d->a->kill_after_bytes && d->have >= d->a->kill_after_bytes) {
    fsync(d->fd);
    raise(SIGKILL); /* test hook: "the agent dies mid-download" */
  }
  if (d->have >= d->next_report) { /* progress: every 10 % */
    d->a->progress_bytes = d->have;
    fwa_emit(d->a);
    d->next_report = d->have + d->total / 10 + 1;
  }
  return FW_OK;
}

/* One GET from d->have on.  FW_OK when the part file holds total bytes. */
static int fetch_once(dl *d, fw_err *err) {
  fwa *a = d->a;
  fwa_http_req req = {a->st.offer.url, d->have, d->total, (int)a->cfg->http_timeout_s * 1000, dl_head, dl_sink, d};
  fwa_http_resp resp;
  int rc = fwa_http_get(&req, &resp, err);
  if (rc == FW_OK && resp.status != 200 && resp.status != 206)
    rc = fw_err_set(err, FW_EDOWNLOAD, "%s: HTTP %d", a->st.offer.url, resp.status);
  if (fsync(d->fd) == 0) d->synced = d->have;
  if (rc == FW_OK && d->have != d->total)
    rc = fw_err_set(err, FW_EDOWNLOAD, "%s: got %llu of %llu bytes", a->st.offer.url,
                    (unsigned long long)d->have, (unsigned long long)d->total);
  return rc;
}

/* Open the part file where the last attempt (or the last agent) left it. */
static int open_part(dl *d, fw_err *err) {
  char part[512];
  struct stat st;
  fwa_path(d->a, part, sizeof part, PART);
  d->fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (d->fd < 0 || fstat(d->fd, &st) != 0) return fw_err_set(err, FW_EIO, "%s: %s", part, strerror(errno));
  d->have = d->synced = (uint64_t)st.st_size;
  if (d->have > d->total && ftruncate(d->fd, 0) == 0) d->have = d->synced = 0;
  return FW_OK;
}

int fwa_download(fwa *a, fw_err *err) {
  fw_manifest m;
  dl d = {a, -1, 0, 0, 0, 0};
  int64_t delay = a->cfg->download_retry_ms;
  int rc = trusted_manifest(a, &m, err);
  if (rc != FW_OK) return rc;
  d.total = m.payload_size;
  fw_manifest_free(&m);
  a->progress_total = d.total;
  rc = open_part(&d, err);
  for (int64_t attempt = 0; rc == FW_OK && d.have < d.total; attempt++) {
    fw_err why;
    fw_err_clear(&why);
    if (fetch_once(&d, &why) == FW_OK) break;
    rt_logf(a->log, RT_LOG_WARN, "download interrupted", "have=%llu total=%llu attempt=%lld err=\"%s\"",
            (unsigned long long)d.have, (unsigned long long)d.total, (long long)attempt + 1, why.msg);
    if (attempt + 1 >= a->cfg->download_retries || (a->stop && *a->stop)) {
      rc = fw_err_set(err, why.code ? why.code : FW_EDOWNLOAD, "%s (after %lld attempts)", why.msg,
                      (long long)attempt + 1);
      break;
    }
    fwa_sleep_ms(delay, a->stop);
    delay = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
  }
  a->progress_bytes = d.have;
  if (d.fd >= 0) close(d.fd);
  return rc;
}

int fwa_verify(fwa *a, fw_err *err) {
  fw_manifest m;
  char part[512];
  int rc = trusted_manifest(a, &m, err);
  fwa_path(a, part, sizeof part, PART);
  if (rc == FW_OK) {
    rc = fw_payload_verify(part, m.payload_size, m.payload_sha256, err);
    fw_manifest_free(&m);
  }
  return rc;
}

int fwa_install(fwa *a, fw_err *err) {
  fw_manifest m;
  char part[512];
  int rc = trusted_manifest(a, &m, err);
  fwa_path(a, part, sizeof part, PART);
  if (rc == FW_OK) {
    rc = fwa_slot_install(a->cfg->root, a->st.to_slot, part, &m, &a->st.offer, err);
    fw_manifest_free(&m);
  }
  return rc;
}

int fwa_switch(fwa *a, fw_err *err) {
  int rc = fwa_slot_point(a->cfg->root, a->st.to_slot, err);
  if (rc == FW_OK) rc = fwa_restart(a, err);
  a->st.health_attempts = 0;
  return rc;
}

int fwa_health(fwa *a, fw_err *err) {
  fw_manifest m;
  int rc;
  a->st.health_attempts++; /* durable before the check: a check that kills the box counts */
  rc = fwa_state_save(a->cfg->state_dir, &a->st, err);
  if (rc == FW_OK && a->kill_at == FW_ST_HEALTH_CHECK) raise(SIGKILL); /* test hook: dies mid-check */
  if (rc == FW_OK && a->st.health_attempts > a->cfg->health_max_attempts)
    rc = fw_err_set(err, FW_EHEALTH, "health check interrupted %lld times; giving up",
                    (long long)a->st.health_attempts - 1);
  if (rc == FW_OK) rc = fwa_health_wait(a, a->cfg->health_require_version ? a->st.offer.version : "", err);
  if (rc == FW_OK && (rc = trusted_manifest(a, &m, err)) == FW_OK) {
    int c = -1;
    snprintf(a->st.active, sizeof a->st.active, "%s", a->st.to_slot);
    snprintf(a->st.installed, sizeof a->st.installed, "%s", m.version);
    if (!a->st.floor[0] || (fw_version_cmp_str(m.min_version, a->st.floor, &c, NULL) == FW_OK && c > 0))
      snprintf(a->st.floor, sizeof a->st.floor, "%s", m.min_version);
    fw_manifest_free(&m);
  }
  return rc;
}

int fwa_rollback(fwa *a, fw_err *err) {
  int rc = fwa_slot_point(a->cfg->root, a->st.from_slot, err);
  if (rc == FW_OK) rc = fwa_restart(a, err);
  if (rc == FW_OK) rc = fwa_health_wait(a, a->cfg->health_require_version ? a->st.installed : "", err);
  if (rc == FW_OK) {
    size_t n = strlen(a->st.detail);
    snprintf(a->st.detail + n, sizeof a->st.detail - n, "; rolled back to %s", a->st.installed);
  }
  return rc;
}
