/* fwtest.c - helpers of the firmware tests (fwtest.h).  Programs of the
 * build start through $RETAIL_EXEC_WRAPPER and every bound is times
 * $RETAIL_TIME_SCALE (tests/common/exec_wrap.h): the arm64 pass runs these
 * tests under qemu-aarch64. */
#define _GNU_SOURCE
#include "fwtest.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "exec_wrap.h"
#include "fw/bundle.h"
#include "fw/file.h"

extern char **environ;

/* ---- files ---- */

void fwt_tmpdir(char out[FWT_PATH]) {
  const char *t = getenv("TMPDIR");
  snprintf(out, FWT_PATH, "%s/fwtest-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(out)) fail_msg("mkdtemp: %s", strerror(errno));
}

void fwt_write(const char *path, const char *text, int mode) {
  fw_err err;
  if (fw_file_write_atomic(path, text, strlen(text), mode, &err) != FW_OK) fail_msg("%s", err.msg);
}

char *fwt_read(const char *path, size_t *len) {
  proto_buf b;
  proto_buf_init(&b);
  if (fw_file_read(path, 64u << 20, &b, NULL) != FW_OK) {
    proto_buf_close(&b);
    return NULL;
  }
  if (len) *len = b.len;
  if (!b.data) return calloc(1, 1);
  return b.data;
}

void fwt_copy(const char *from, const char *to, int mode) {
  size_t n = 0;
  char *d = fwt_read(from, &n);
  fw_err err;
  if (!d) fail_msg("cannot read %s", from);
  if (fw_file_write_atomic(to, d, n, mode, &err) != FW_OK) fail_msg("%s", err.msg);
  free(d);
}

void fwt_rmrf(const char *path) { fw_rmtree(path, NULL); }

/* ---- the HTTP server: one connection at a time, on its own thread ---- */

static void serve(fwt_http *h, int c) {
  char req[4096], path[FWT_PATH * 2], hdr[512], *rg;
  char target[FWT_PATH];
  size_t got = 0, len = 0;
  long long start = -1, cut, body_len, sent = 0;
  int idx, status;
  bool ign;
  char *data;
  req[0] = '\0';
  while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
    ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
    if (r <= 0) return;
    got += (size_t)r;
    req[got] = '\0';
  }
  if (sscanf(req, "GET %1000s ", target) != 1) return;
  if ((rg = strcasestr(req, "\r\nRange: bytes="))) start = atoll(rg + 15);
  snprintf(path, sizeof path, "%s%s", h->docroot, target);
  data = fwt_read(path, &len);
  pthread_mutex_lock(&h->mu);
  idx = h->n_req < FWT_LOG_MAX ? h->n_req : FWT_LOG_MAX - 1;
  h->n_req++;
  h->range_start[idx] = start;
  cut = h->cuts > 0 ? h->cut_after : -1;
  if (h->cuts > 0) h->cuts--;
  ign = h->ignore_range;
  pthread_mutex_unlock(&h->mu);
  if (!data) {
    status = 404;
    body_len = 0;
    snprintf(hdr, sizeof hdr, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  } else if (start >= 0 && !ign && start >= (long long)len) {
    status = 416;
    body_len = 0;
    snprintf(hdr, sizeof hdr, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%zu\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n", len);
  } else if (start >= 0 && !ign) {
    status = 206;
    body_len = (long long)len - start;
    snprintf(hdr, sizeof hdr, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %lld-%zu/%zu\r\n"
             "Content-Length: %lld\r\nConnection: close\r\n\r\n", start, len - 1, len, body_len);
  } else {
    status = 200;
    start = 0;
    body_len = (long long)len;
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
  }
  if (send(c, hdr, strlen(hdr), MSG_NOSIGNAL) > 0 && data) {
    long long n = cut >= 0 && cut < body_len ? cut : body_len;
    while (sent < n) {
      ssize_t w = send(c, data + start + sent, (size_t)(n - sent), MSG_NOSIGNAL);
      if (w <= 0) break;
      sent += w;
    }
  }
  pthread_mutex_lock(&h->mu);
  h->sent[idx] = sent;
  h->status[idx] = status;
  pthread_mutex_unlock(&h->mu);
  free(data);
}

static void *http_main(void *arg) {
  fwt_http *h = arg;
  for (;;) {
    struct pollfd p[2] = {{h->lfd, POLLIN, 0}, {h->wake[0], POLLIN, 0}};
    int c;
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN) || (c = accept(h->lfd, NULL, NULL)) < 0) continue;
    serve(h, c);
    close(c);
  }
  return NULL;
}

int fwt_http_start(fwt_http *h, const char *docroot) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  memset(h, 0, sizeof *h);
  snprintf(h->docroot, sizeof h->docroot, "%s", docroot);
  pthread_mutex_init(&h->mu, NULL);
  h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (h->lfd < 0 || bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(h->lfd, 16) != 0 ||
      getsockname(h->lfd, (struct sockaddr *)&sa, &sl) != 0 || pipe2(h->wake, O_CLOEXEC) != 0)
    return -1;
  h->port = ntohs(sa.sin_port);
  return pthread_create(&h->th, NULL, http_main, h);
}

void fwt_http_stop(fwt_http *h) {
  if (write(h->wake[1], "x", 1) != 1) fail_msg("wake");
  pthread_join(h->th, NULL);
  close(h->lfd);
  close(h->wake[0]);
  close(h->wake[1]);
  pthread_mutex_destroy(&h->mu);
}

void fwt_http_cut(fwt_http *h, long long after, int times, bool ignore_range) {
  pthread_mutex_lock(&h->mu);
  h->cut_after = after;
  h->cuts = times;
  h->ignore_range = ignore_range;
  pthread_mutex_unlock(&h->mu);
}

int fwt_http_requests(fwt_http *h) {
  int n;
  pthread_mutex_lock(&h->mu);
  n = h->n_req;
  pthread_mutex_unlock(&h->mu);
  return n;
}

/* ---- processes ---- */

/* timeout_ms is scaled here: callers give the bound of a native run. */
static int wait_pid(pid_t pid, int timeout_ms) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
  timeout_ms = test_scaled_ms(timeout_ms);
  if (fd >= 0) {
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    do r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail_msg("process %d did not finish within %d ms", (int)pid, timeout_ms);
    }
  }
  if (waitpid(pid, &status, 0) != pid) fail_msg("waitpid: %s", strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
}

int fwt_wait(int pid, int timeout_ms) { return wait_pid((pid_t)pid, timeout_ms); }

int fwt_spawn(const char *const argv[], const char *const env_extra[]) {
  const char *envp[512];
  size_t n = 0;
  pid_t pid;
  test_exec x;
  for (char **e = environ; *e && n < 480; e++)
    if (strncmp(*e, "STORENODE_UPDATE_TEST_", 22) != 0) envp[n++] = *e;
  for (size_t i = 0; env_extra && env_extra[i] && n < 510; i++) envp[n++] = env_extra[i];
  envp[n] = NULL;
  if (test_exec_prepare(&x, argv) != 0 ||
      posix_spawnp(&pid, x.argv[0], NULL, NULL, (char *const *)x.argv, (char *const *)envp) != 0)
    fail_msg("cannot run %s", argv[0]);
  return (int)pid;
}

int fwt_run(const char *const argv[], const char *const env_extra[], int timeout_ms) {
  return wait_pid((pid_t)fwt_spawn(argv, env_extra), timeout_ms);
}

void fwt_stop_pidfile(const char *pidfile) {
  char *s = fwt_read(pidfile, NULL);
  int pid = s ? atoi(s) : 0, fd;
  free(s);
  if (pid <= 1) return;
  fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return;
  if (kill(pid, SIGTERM) == 0) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, test_scaled_ms(10000)) == 0) kill(pid, SIGKILL);
  }
  close(fd);
}

/* ---- keys and bundles ---- */

void fwt_keys_make(fwt_keys *k) {
  proto_buf a, b;
  fw_err err;
  proto_buf_init(&a);
  proto_buf_init(&b);
  if (fw_key_generate(&a, &b, &err) != FW_OK) fail_msg("%s", err.msg);
  k->priv = a.data;
  k->pub = b.data;
}

void fwt_keys_free(fwt_keys *k) {
  free(k->priv);
  free(k->pub);
}

void fwt_bundle(const char *out, const char *fake_bin, const char *version, const char *min_version,
                const char *mode, const char *priv_pem) {
  char stage[FWT_PATH], p[FWT_PATH + 64], conf[160];
  fw_bundle_opts o = {stage, out, version, min_version, NULL, "2026-11-21T00:00:00Z", priv_pem};
  fw_err err;
  snprintf(stage, sizeof stage, "%s.stage", out);
  snprintf(p, sizeof p, "%s/bin", stage);
  fw_mkdirs(p, 0755, NULL);
  snprintf(p, sizeof p, "%s/etc", stage);
  fw_mkdirs(p, 0755, NULL);
  snprintf(p, sizeof p, "%s/www", stage);
  fw_mkdirs(p, 0755, NULL);
  snprintf(p, sizeof p, "%s/bin/storenode", stage);
  fwt_copy(fake_bin, p, 0755);
  snprintf(p, sizeof p, "%s/etc/fake.conf", stage);
  snprintf(conf, sizeof conf, "version=%s\nmode=%s\n", version, mode);
  fwt_write(p, conf, 0644);
  snprintf(p, sizeof p, "%s/www/index.html", stage);
  fwt_write(p, "<!doctype html><title>storenode</title>\n", 0644);
  { /* 256 KiB of filler, so a download has something to interrupt */
    size_t n = 256 * 1024;
    char *filler = malloc(n + 1);
    uint32_t x = 12345;
    assert_non_null(filler);
    for (size_t i = 0; i < n; i++) {
      x = x * 1103515245u + 12345u;
      filler[i] = (char)('a' + (x >> 16) % 26);
    }
    filler[n] = '\0';
    snprintf(p, sizeof p, "%s/www/filler.txt", stage);
    fwt_write(p, filler, 0644);
    free(filler);
  }
  if (fw_bundle_create(&o, &err) != FW_OK) fail_msg("bundle %s: %s", version, err.msg);
  fwt_rmrf(stage);
}

char *fwt_offer(const char *bundle, const char *offer_id, const char *url, bool rollback) {
  char p[FWT_PATH + 32];
  fw_offer o;
  fw_manifest m;
  proto_buf b;
  size_t n = 0;
  char *sig;
  memset(&o, 0, sizeof o);
  snprintf(p, sizeof p, "%s/manifest.json", bundle);
  o.manifest = fwt_read(p, &o.manifest_len);
  snprintf(p, sizeof p, "%s/manifest.sig", bundle);
  sig = fwt_read(p, &n);
  assert_non_null(o.manifest);
  assert_non_null(sig);
  memcpy(o.sig, sig, n);
  o.sig_len = n;
  free(sig);
  assert_int_equal(fw_manifest_decode(o.manifest, o.manifest_len, &m, NULL), FW_OK);
  snprintf(o.version, sizeof o.version, "%s", m.version);
  fw_manifest_free(&m);
  snprintf(o.offer_id, sizeof o.offer_id, "%s", offer_id);
  snprintf(o.url, sizeof o.url, "%s", url);
  o.rollback = rollback;
  proto_buf_init(&b);
  assert_int_equal(fw_offer_encode(&o, &b, NULL), FW_OK);
  fw_offer_free(&o);
  return b.data;
}

/* ---- ports ---- */

int fwt_free_port(void) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int s = socket(AF_INET, SOCK_STREAM, 0), port;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
  port = ntohs(sa.sin_port);
  close(s);
  return port;
}

/* ---- a box ---- */

/* Start the box's storenode and wait (bounded) for its READY=1 on a
 * notify socket of our own: no polling of the port. */
static void start_and_wait_ready(const fwt_box *b) {
  char script[FWT_PATH + 16], name[96], env[128], msg[64] = "";
  const char *argv[] = {"/bin/sh", script, NULL}, *envp[] = {env, NULL};
  struct sockaddr_un sa;
  struct pollfd p;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ssize_t n;
  snprintf(script, sizeof script, "%s/restart.sh", b->root);
  snprintf(name, sizeof name, "@fwtest-%d-%d", (int)getpid(), b->port);
  snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", name);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, name, strlen(name));
  sa.sun_path[0] = '\0';
  assert_int_equal(
      bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
  assert_int_equal(fwt_run(argv, envp, 10000), 0);
  p = (struct pollfd){fd, POLLIN, 0};
  if (poll(&p, 1, test_scaled_ms(20000)) != 1) fail_msg("the box's storenode did not get ready");
  n = recv(fd, msg, sizeof msg - 1, 0);
  msg[n > 0 ? n : 0] = '\0';
  assert_string_equal(msg, "READY=1");
  close(fd);
}

void fwt_box_init(fwt_box *b, const char *dir, const char *agent, const char *pub_pem,
                  const char *bundle, int deadline_s) {
  char p[FWT_PATH + 64], text[4096], wrap[1024];
  int scale = test_time_scale();
  memset(b, 0, sizeof *b);
  snprintf(b->root, sizeof b->root, "%s", dir);
  fw_mkdirs(dir, 0755, NULL);
  b->agent = agent;
  b->port = fwt_free_port();
  snprintf(p, sizeof p, "%s/port", dir);
  snprintf(text, sizeof text, "%d\n", b->port);
  fwt_write(p, text, 0644);
  snprintf(p, sizeof p, "%s/signing.pub", dir);
  fwt_write(p, pub_pem, 0644);
  snprintf(p, sizeof p, "%s/restart.sh", dir);
  if (test_exec_sh_prefix(wrap, sizeof wrap) != 0) fail_msg("RETAIL_EXEC_WRAPPER: too long, or a quote in it");
  snprintf(text, sizeof text,
           "#!/bin/sh\n# the test box's \"reboot\": start current/, which takes over from the old one\n"
           "%s\"%s/current/bin/storenode\" --root \"%s\" </dev/null >>\"%s/storenode.log\" 2>&1 &\n",
           wrap, dir, dir, dir);
  fwt_write(p, text, 0755);
  snprintf(b->conf, sizeof b->conf, "%s/update.conf", dir);
  snprintf(b->reports, sizeof b->reports, "%s/reports.jsonl", dir);
  snprintf(text, sizeof text,
           "store_id = s1\nroot = %s\nstate_dir = %s/update\npubkey = %s/signing.pub\n"
           "restart_cmd = \"%s/restart.sh\"\nrestart_timeout_s = %d\nhealth_url = http://127.0.0.1:%d\n"
           "health_deadline_s = %d\nhealth_interval_ms = 20\nhealth_passes = 2\n"
           "db_path = %s/storenode.db\ndownload_retries = 5\ndownload_retry_ms = 0\nhttp_timeout_s = %d\n"
           "node_config =\nlog_level = debug\n",
           dir, dir, dir, dir, 20 * scale, b->port, deadline_s * scale, dir, 10 * scale);
  fwt_write(b->conf, text, 0644);
  assert_int_equal(fwt_agent(b, "init", bundle, NULL), 0);
  start_and_wait_ready(b);
}

int fwt_agent(const fwt_box *b, const char *cmd, const char *arg, const char *const env_extra[]) {
  const char *argv[] = {b->agent, "--config", b->conf, "--report", b->reports, cmd, arg, NULL};
  return fwt_run(argv, env_extra, 60000);
}

void fwt_running_version(const fwt_box *b, char *out, size_t cap) {
  char url[128];
  proto_buf body;
  bool ok = false;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", b->port);
  proto_buf_init(&body);
  out[0] = '\0';
  if (fwa_http_fetch(url, test_scaled_ms(5000), 4096, &body, NULL) == FW_OK)
    fw_healthz_decode(body.data, body.len, &ok, out, cap, NULL);
  proto_buf_close(&body);
}

size_t fwt_reports(const fwt_box *b, fw_report *r, size_t max) {
  char *text = fwt_read(b->reports, NULL), *line, *nl;
  size_t n = 0;
  for (line = text; line && *line && n < max; line = nl + 1) {
    if (!(nl = strchr(line, '\n'))) break;
    *nl = '\0';
    if (fw_report_decode(line, strlen(line), &r[n], NULL) == FW_OK) n++;
  }
  free(text);
  return n;
}

void fwt_current(const fwt_box *b, char out[2]) {
  if (fwa_slot_current(b->root, out, NULL) != FW_OK) out[0] = '\0';
}

void fwt_box_done(fwt_box *b) {
  char p[FWT_PATH + 32];
  snprintf(p, sizeof p, "%s/storenode.pid", b->root);
  fwt_stop_pidfile(p);
  fwt_rmrf(b->root);
}
