/* fake_storenode.c - the "storenode" inside the test bundles: just enough
 * of the daemon for the update agent's health check, with a behaviour set
 * per bundle, so a test can ship a good and a bad firmware.
 *
 *   storenode --root ROOT
 *
 * Reads <slot>/etc/fake.conf (the slot it was started from: the directory
 * above bin/ of /proc/self/exe): `version=X` and `mode=good|crash|norepl`.
 * Takes over from the previous instance: SIGTERM to the pid in
 * ROOT/storenode.pid, and waits for it to exit (pidfd, bounded) before it
 * binds 127.0.0.1:<ROOT/port>.  Creates ROOT/storenode.db (SQLite).  Serves
 *   GET /healthz  {"ok":true,"store":"s1","feed":0,"version":"X"}
 *   GET /metrics  storenode_repl_connected 1 (0 in mode norepl)
 * mode crash exits 1 right after the take-over: the new firmware is dead.
 * Once listening it sends READY=1 to $NOTIFY_SOCKET, like storenode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rt/sdnotify.h"

static char g_root[PATH_MAX];

static void slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
}

static void conf_value(const char *conf, const char *key, char *out, size_t cap) {
  const char *p = strstr(conf, key);
  size_t n;
  out[0] = '\0';
  if (!p) return;
  p += strlen(key);
  n = strcspn(p, "\n");
  snprintf(out, cap, "%.*s", (int)n, p);
}

/* Is pid a fake storenode (not a stranger that reused a stale pid)?  One
 * of the words before --root is a file named storenode: the first one
 * natively, a later one under an emulator ("qemu-aarch64 -L <sysroot>
 * .../bin/storenode --root ROOT": the arm64 tests). */
static int is_fake_storenode(int pid) {
  char path[64], cmd[PATH_MAX];
  size_t n;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  f = fopen(path, "r");
  n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
  if (f) fclose(f);
  cmd[n] = '\0';
  for (size_t at = 0; at < n && strcmp(cmd + at, "--root") != 0; at += strlen(cmd + at) + 1) {
    const char *base = strrchr(cmd + at, '/');
    if (strcmp(base ? base + 1 : cmd + at, "storenode") == 0) return 1;
  }
  return 0;
}

/* SIGTERM the previous instance and wait (at most 5 s) until it is gone. */
static void take_over(void) {
  char path[PATH_MAX + 32], buf[32];
  int pid, fd;
  snprintf(path, sizeof path, "%s/storenode.pid", g_root);
  slurp(path, buf, sizeof buf);
  pid = atoi(buf);
  if (pid <= 1 || pid == getpid()) return;
  fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return; /* already gone */
  /* The pidfd pins the process, so the check below cannot race a reuse. */
  if (is_fake_storenode(pid) && syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) == 0) {
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 5000);
  }
  close(fd);
}

static void write_pid(void) {
  char path[PATH_MAX + 32];
  FILE *f;
  snprintf(path, sizeof path, "%s/storenode.pid", g_root);
  if ((f = fopen(path, "w"))) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
}

static void make_db(void) {
  char path[PATH_MAX + 32];
  sqlite3 *db = NULL;
  snprintf(path, sizeof path, "%s/storenode.db", g_root);
  if (sqlite3_open(path, &db) == SQLITE_OK)
    sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY)", NULL, NULL, NULL);
  sqlite3_close(db);
}

static void answer(int c, const char *version, int repl) {
  char req[2048], body[256], out[512];
  ssize_t n = recv(c, req, sizeof req - 1, 0);
  int status = 200;
  if (n <= 0) return;
  req[n] = '\0';
  if (strncmp(req, "GET /healthz ", 13) == 0)
    snprintf(body, sizeof body, "{\"ok\":true,\"store\":\"s1\",\"feed\":0,\"version\":\"%s\"}", version);
  else if (strncmp(req, "GET /metrics ", 13) == 0)
    snprintf(body, sizeof body, "# TYPE storenode_repl_connected gauge\nstorenode_repl_connected %d\n", repl);
  else {
    status = 404;
    snprintf(body, sizeof body, "{}");
  }
  n = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
               strlen(body), body);
  if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0) perror("send");
}

int main(int argc, char **argv) {
  char exe[PATH_MAX], conf[512], version[64], mode[32], path[PATH_MAX + 32], buf[32];
  struct sockaddr_in sa;
  ssize_t n;
  int one = 1, s, port;
  if (argc != 3 || strcmp(argv[1], "--root") != 0) return 2;
  snprintf(g_root, sizeof g_root, "%s", argv[2]);
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 2;
  exe[n] = '\0';
  *strrchr(exe, '/') = '\0'; /* .../bin */
  *strrchr(exe, '/') = '\0'; /* the slot */
  snprintf(path, sizeof path, "%s/etc/fake.conf", exe);
  slurp(path, conf, sizeof conf);
  conf_value(conf, "version=", version, sizeof version);
  conf_value(conf, "mode=", mode, sizeof mode);
  snprintf(path, sizeof path, "%s/port", g_root);
  slurp(path, buf, sizeof buf);
  port = atoi(buf);
  take_over();
  write_pid();
  if (strcmp(mode, "crash") == 0) {
    fprintf(stderr, "fake storenode %s: crashing on purpose\n", version);
    return 1;
  }
  make_db();
  s = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 16) != 0) {
    perror("fake storenode: bind");
    return 1;
  }
  fprintf(stderr, "fake storenode %s (%s) on port %d\n", version, mode, port);
  rt_sd_notify("READY=1"); /* as storenode does: the test waits for it instead of polling */
  for (;;) { /* SIGTERM's default action ends us */
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    answer(c, version, strcmp(mode, "norepl") != 0);
    close(c);
  }
}
