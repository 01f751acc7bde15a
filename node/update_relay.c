/* update_relay.c - the update agent's offers and reports on storenode's MQTT
 * session (node/update_relay.h; the agent's side: firmware/agent/main.c,
 * spool mode).
 *
 *   broker ── down/update ──▶ node_update_relay_offer ──▶ offer.json.tmp
 *                                                          fsync, rename
 *                                                          ──▶ offer.json ──▶ agent
 *   agent ──▶ report.json ──▶ node_update_relay_publish ── up/update ──▶ broker
 *             (atomic rename)   (each tick; every connect: again)
 *
 * Invariants:
 *   U1 offer.json is always a whole offer: it appears by rename(2) only, after
 *      the temporary file's data was fsync'd (the directory is fsync'd after).
 *      The agent takes it by renaming it away, so every delivery (a retained
 *      offer comes again on each reconnect) is one file; the agent ignores
 *      an offer_id it has handled.
 *   U2 `published` is the identity (device, inode, size, mtime) of the
 *      report.json the broker accepted last; a report is pending while the
 *      file differs from it.  The agent replaces the file by rename, so a new
 *      report is a new inode: a stat per tick finds it without reading.
 *   U3 nothing is marked published unless rt_mqtt_publish accepted it: a
 *      report written while the link is down goes out after the reconnect
 *      (and every connect publishes the current one again, retained).
 */
#include "update_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/repl.h"
#include "rt/mqtt.h"

#define OFFER_MAX (2u * 1024u * 1024u) /* the agent's own limit (FW_MSG_MAX) */
#define REPORT_MAX (64u * 1024u)       /* a report is a few hundred bytes */
#define PATH_CAP 1024

typedef struct file_id {
  bool set;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} file_id;

struct node_update_relay {
  const node_log *log;
  char down[PROTO_TOPIC_MAX], up[PROTO_TOPIC_MAX];
  char dir[PATH_CAP], offer[PATH_CAP], offer_tmp[PATH_CAP], report[PATH_CAP];
  file_id published;             /* U2 */
  file_id refused;               /* a report.json that cannot be sent (logged once) */
};

static file_id id_of(const struct stat *st) {
  file_id f = {true, st->st_dev, st->st_ino, st->st_size, st->st_mtim};
  return f;
}

static bool same_id(const file_id *a, const file_id *b) {
  return a->set && b->set && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* snprintf's result n fitted into cap bytes. */
static bool fits(int n, size_t cap) { return n > 0 && (size_t)n < cap; }

int node_update_relay_create(node_update_relay **out, const char *spool_dir, const char *store_id,
                             const node_log *log, node_err *err) {
  node_update_relay *u;
  struct stat st;
  int rc = NODE_OK;
  *out = NULL;
  if (!spool_dir || !*spool_dir) return NODE_OK;
  if (!(u = calloc(1, sizeof *u))) return node_err_set(err, NODE_ENOMEM, "update relay: out of memory");
  u->log = log;
  if (!fits(snprintf(u->down, sizeof u->down, PROTO_TOPIC_ROOT "/stores/%s/down/update", store_id),
            sizeof u->down) ||
      !fits(snprintf(u->up, sizeof u->up, PROTO_TOPIC_ROOT "/stores/%s/up/update", store_id), sizeof u->up) ||
      !fits(snprintf(u->dir, sizeof u->dir, "%s", spool_dir), sizeof u->dir) ||
      !fits(snprintf(u->offer, sizeof u->offer, "%s/offer.json", spool_dir), sizeof u->offer) ||
      !fits(snprintf(u->offer_tmp, sizeof u->offer_tmp, "%s/offer.json.relay-tmp", spool_dir),
            sizeof u->offer_tmp) ||
      !fits(snprintf(u->report, sizeof u->report, "%s/report.json", spool_dir), sizeof u->report)) {
    rc = node_err_set(err, NODE_ECONFIG, "update_spool_dir: path or store id too long");
    goto out;
  }
  if (mkdir(spool_dir, 0700) != 0 && errno != EEXIST) {
    rc = node_err_set(err, NODE_ECONFIG, "update_spool_dir: cannot make %s: %s", spool_dir, strerror(errno));
    goto out;
  }
  if (stat(spool_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(spool_dir, R_OK | W_OK | X_OK) != 0) {
    rc = node_err_set(err, NODE_ECONFIG, "update_spool_dir: %s is not a directory this user may write",
                      spool_dir);
    goto out;
  }
  node_logf(log, NODE_LOG_INFO, "update relay on", "spool=%s topic=%s", spool_dir, u->down);
  *out = u;
  u = NULL;
out:
  free(u);
  return rc;
}

void node_update_relay_destroy(node_update_relay *u) { free(u); }

/* ---- offers: down/update -> offer.json (U1) ---------------------------------------- */

/* data into path through tmp: write, fsync, rename, fsync the directory.
 * On failure tmp is removed and path untouched; errno-based text in why. */
static int write_atomic(const node_update_relay *u, const void *data, size_t len, char *why, size_t cap) {
  const char *p = data;
  int fd = -1, dfd = -1, rc = -1;
  size_t off = 0;
  fd = open(u->offer_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) goto out;
  while (off < len) {
    ssize_t n = write(fd, p + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto out;
    off += (size_t)n;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    fd = -1;
    goto out;
  }
  fd = -1;
  if (rename(u->offer_tmp, u->offer) != 0) goto out;
  dfd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) fsync(dfd); /* the rename is done; durability of the name only */
  rc = 0;
out:
  if (rc != 0) {
    snprintf(why, cap, "%s", strerror(errno));
    unlink(u->offer_tmp);
  }
  if (fd >= 0) close(fd);
  if (dfd >= 0) close(dfd);
  return rc;
}

bool node_update_relay_offer(node_update_relay *u, const char *topic, const void *payload, size_t len) {
  char why[128];
  if (!u || strcmp(topic, u->down) != 0) return false;
  if (len == 0) { /* HQ cleared the retained offer: nothing to take */
    node_logf(u->log, NODE_LOG_INFO, "update offer cleared", "topic=%s", topic);
    return true;
  }
  if (len > OFFER_MAX) {
    node_logf(u->log, NODE_LOG_WARN, "update offer refused", "reason=too_large bytes=%zu max=%u", len, OFFER_MAX);
    return true;
  }
  if (write_atomic(u, payload, len, why, sizeof why) != 0)
    node_logf(u->log, NODE_LOG_ERROR, "update offer not spooled", "path=%s err=\"%s\"", u->offer, why);
  else
    node_logf(u->log, NODE_LOG_INFO, "update offer spooled", "path=%s bytes=%zu", u->offer, len);
  return true;
}

/* ---- reports: report.json -> up/update (U2, U3) ------------------------------------ */

/* The whole of report.json (at most REPORT_MAX bytes) in a malloc'd *data,
 * and the identity of the file read (not of what stat saw a moment ago).
 * 1 read; 0 unusable (empty, too big, short read); -1 not opened (replaced
 * meanwhile: the next tick).  *data NULL unless 1. */
static int read_report(const node_update_relay *u, char **data, size_t *len, file_id *id) {
  struct stat st;
  char *buf = NULL;
  ssize_t n = -1;
  int fd = open(u->report, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  *data = NULL;
  if (fd < 0) return -1;
  if (fstat(fd, &st) == 0) {
    *id = id_of(&st);
    if (st.st_size > 0 && (size_t)st.st_size <= REPORT_MAX && (buf = malloc((size_t)st.st_size)))
      n = read(fd, buf, (size_t)st.st_size);
  }
  close(fd);
  if (n <= 0 || n != st.st_size) {
    free(buf);
    return 0;
  }
  *data = buf;
  *len = (size_t)n;
  return 1;
}

void node_update_relay_publish(node_update_relay *u, struct rt_mqtt *mq, bool again) {
  struct stat st;
  file_id now;
  char *data;
  size_t len = 0;
  if (!u || !mq) return;
  if (stat(u->report, &st) != 0) return; /* the agent has not reported yet */
  now = id_of(&st);
  if ((!again && same_id(&now, &u->published)) || same_id(&now, &u->refused)) return;
  int got = read_report(u, &data, &len, &now);
  if (got < 0) return;
  if (got == 0) {
    u->refused = now;
    node_logf(u->log, NODE_LOG_WARN, "update report not relayed", "path=%s bytes=%lld max=%u", u->report,
              (long long)now.size, REPORT_MAX);
    return;
  }
  if (rt_mqtt_publish(mq, u->up, data, len, 1, true) == 0) {
    u->published = now;
    node_logf(u->log, NODE_LOG_DEBUG, "update report published", "topic=%s bytes=%zu", u->up, len);
  } /* else offline after all: pending until the next connect (U3) */
  free(data);
}

/* ---- the firmware version of this slot ---------------------------------------------- */

bool node_update_fw_version(const char *exe, char *out, size_t cap) {
  char self[PATH_CAP], path[PATH_CAP + 16], line[64];
  char *slash;
  ssize_t n;
  size_t len;
  FILE *f;
  if (cap) out[0] = '\0';
  if (!exe) {
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return false;
    self[n] = '\0';
  } else if (snprintf(self, sizeof self, "%s", exe) >= (int)sizeof self) {
    return false;
  }
  if (!(slash = strrchr(self, '/'))) return false;
  *slash = '\0'; /* <slot>/bin */
  snprintf(path, sizeof path, "%s/../VERSION", self);
  if (!(f = fopen(path, "re"))) return false;
  if (!fgets(line, sizeof line, f)) line[0] = '\0';
  fclose(f);
  len = strcspn(line, "\r\n");
  while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
  line[len] = '\0';
  if (len == 0 || len >= cap ||
      line[strspn(line, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+-")] != '\0')
    return false;
  memcpy(out, line, len + 1);
  return true;
}
