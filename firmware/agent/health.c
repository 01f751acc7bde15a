/* health.c - is the storenode that just started a good one?  And the
 * "reboot": the configured restart command.
 *
 * One probe = all of:
 *   1. GET <health_url>/healthz answers 200 with "ok":true, and (with
 *      health_require_version) the version of the slot just switched to:
 *      the new binary runs, not the old process still alive;
 *   2. the database opens (SQLite, read-only) and its schema reads;
 *   3. replication is connected: <health_url>/metrics has
 *      `<health_repl_metric> 1` (skipped when the metric name is empty).
 * Healthy = health_passes probes in a row pass; unhealthy = the deadline
 * (health_deadline_s) passes first.  A single lucky answer from a daemon
 * that crashes a second later is not health.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent.h"

extern char **environ;

uint64_t fwa_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fwa_sleep_ms(int64_t ms, volatile sig_atomic_t *stop) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  if (ms <= 0 || (stop && *stop)) return;
  nanosleep(&ts, NULL); /* a signal cuts it short: fine, the caller re-checks */
}

static int probe_healthz(fwa *a, const char *want, fw_err *err) {
  char url[512];
  proto_buf b;
  bool ok = false;
  char version[FW_VERSION_MAX] = "";
  int rc;
  snprintf(url, sizeof url, "%s/healthz", a->cfg->health_url);
  proto_buf_init(&b);
  rc = fwa_http_fetch(url, (int)a->cfg->http_timeout_s * 1000, 65536, &b, err);
  if (rc == FW_OK) rc = fw_healthz_decode(b.data, b.len, &ok, version, sizeof version, err);
  if (rc == FW_OK && !ok) rc = fw_err_set(err, FW_EHEALTH, "/healthz says not ok");
  if (rc == FW_OK && want && *want && strcmp(version, want) != 0)
    rc = fw_err_set(err, FW_EHEALTH, "/healthz reports version %s, expected %s", version, want);
  proto_buf_close(&b);
  return rc == FW_OK ? FW_OK : FW_EHEALTH;
}

static int probe_db(fwa *a, fw_err *err) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int r;
  if (!a->cfg->db_path[0]) return FW_OK;
  r = sqlite3_open_v2(a->cfg->db_path, &db, SQLITE_OPEN_READONLY, NULL);
  if (r == SQLITE_OK) r = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
  if (r == SQLITE_OK) r = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
  if (r != SQLITE_OK)
    fw_err_set(err, FW_EHEALTH, "database %s does not open: %s", a->cfg->db_path,
               db ? sqlite3_errmsg(db) : sqlite3_errstr(r));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return r == SQLITE_OK ? FW_OK : FW_EHEALTH;
}

/* Is there a line "<name> 1" (or "<name>{...} 1")? */
static bool metric_is_one(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    const char *v;
    if (strncmp(l, name, n) != 0 || (l[n] != ' ' && l[n] != '{')) continue;
    v = l[n] == '{' ? strchr(l + n, '}') : l + n;
    if (!v) continue;
    v += *v == '}';
    while (*v == ' ') v++;
    return strtod(v, NULL) == 1.0;
  }
  return false;
}

static int probe_repl(fwa *a, fw_err *err) {
  char url[512];
  proto_buf b;
  int rc;
  if (!a->cfg->health_repl_metric[0]) return FW_OK;
  snprintf(url, sizeof url, "%s/metrics", a->cfg->health_url);
  proto_buf_init(&b);
  rc = fwa_http_fetch(url, (int)a->cfg->http_timeout_s * 1000, 4 * 1024 * 1024, &b, err);
  if (rc == FW_OK && !metric_is_one(b.data ? b.data : "", a->cfg->health_repl_metric))
    rc = fw_err_set(err, FW_EHEALTH, "replication not connected (%s is not 1)", a->cfg->health_repl_metric);
  proto_buf_close(&b);
  return rc == FW_OK ? FW_OK : FW_EHEALTH;
}

int fwa_health_wait(fwa *a, const char *want_version, fw_err *err) {
  uint64_t deadline = fwa_now_ms() + (uint64_t)a->cfg->health_deadline_s * 1000u;
  int64_t passes = 0;
  fw_err last;
  fw_err_clear(&last);
  fw_err_set(&last, FW_EHEALTH, "no probe ran");
  for (;;) {
    int rc = probe_healthz(a, want_version, &last);
    if (rc == FW_OK) rc = probe_db(a, &last);
    if (rc == FW_OK) rc = probe_repl(a, &last);
    passes = rc == FW_OK ? passes + 1 : 0;
    if (passes >= a->cfg->health_passes) return FW_OK;
    if (fwa_now_ms() >= deadline || (a->stop && *a->stop)) break;
    fwa_sleep_ms(a->cfg->health_interval_ms, a->stop);
  }
  return fw_err_set(err, FW_EHEALTH, "not healthy within %llds: %s", (long long)a->cfg->health_deadline_s,
                    last.msg);
}

int fwa_restart(fwa *a, fw_err *err) {
  char sh[] = "sh", dash_c[] = "-c", cmd[sizeof a->cfg->restart_cmd];
  char *argv[] = {sh, dash_c, cmd, NULL};
  uint64_t deadline = fwa_now_ms() + (uint64_t)a->cfg->restart_timeout_s * 1000u;
  pid_t pid;
  int status = 0, r;
  if (!a->cfg->restart_cmd[0]) return FW_OK;
  memcpy(cmd, a->cfg->restart_cmd, sizeof cmd);
  if ((r = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ)) != 0)
    return fw_err_set(err, FW_EHEALTH, "restart: cannot run /bin/sh: %s", strerror(r));
  while ((r = waitpid(pid, &status, WNOHANG)) == 0 && fwa_now_ms() < deadline) fwa_sleep_ms(20, NULL);
  if (r == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return fw_err_set(err, FW_EHEALTH, "restart: \"%s\" took longer than %llds", a->cfg->restart_cmd,
                      (long long)a->cfg->restart_timeout_s);
  }
  if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fw_err_set(err, FW_EHEALTH, "restart: \"%s\" failed (status %d)", a->cfg->restart_cmd,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return FW_OK;
}
