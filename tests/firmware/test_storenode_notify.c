/* test_storenode_notify.c - the real storenode under a pretend systemd:
 * NOTIFY_SOCKET points at a datagram socket this test binds, WATCHDOG_USEC
 * asks for keep-alives.  storenode must say READY=1 once it listens, send
 * WATCHDOG=1 from its event loop every WATCHDOG_USEC / 2, and STOPPING=1
 * on SIGTERM (then exit 0).  Every wait is a poll with a deadline (times
 * RETAIL_TIME_SCALE under an emulator; storenode starts through
 * RETAIL_EXEC_WRAPPER there: fwt_spawn).  STORENODE_BIN names the binary.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_wrap.h"
#include "fwtest.h"

/* The next datagram within ms (scaled), into buf ("" on timeout). */
static void next_msg(int fd, char *buf, size_t cap, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t n;
  buf[0] = '\0';
  if (poll(&p, 1, test_scaled_ms(ms)) != 1) return;
  n = recv(fd, buf, cap - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
}

/* The storenode under test, so that a failed assertion does not leave it
 * running (it would hold ctest's output pipe open). */
typedef struct child {
  int pid;
} child;

static int child_setup(void **state) {
  *state = calloc(1, sizeof(child));
  return *state ? 0 : -1;
}

static int child_teardown(void **state) {
  child *c = *state;
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
    fwt_wait(c->pid, 10000);
  }
  free(c);
  return 0;
}

static void test_ready_watchdog_stopping(void **state) {
  const char *bin = getenv("STORENODE_BIN");
  char dir[FWT_PATH], conf[FWT_PATH + 32], text[FWT_PATH * 3], name[64], env_sock[96], msg[256];
  struct sockaddr_un sa;
  child *c = *state;
  int fd, watchdogs = 0;
  if (!bin) {
    fprintf(stderr, "SKIPPED: STORENODE_BIN not set\n");
    skip();
  }
  fwt_tmpdir(dir);
  snprintf(conf, sizeof conf, "%s/storenode.conf", dir);
  snprintf(text, sizeof text, "store_id = s1\ndb_path = %s/db.sqlite\nhttp_port = 0\nwww_dir = %s\n", dir, dir);
  fwt_write(conf, text, 0644);
  snprintf(name, sizeof name, "@fw-notify-test-%d", (int)getpid());
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, name, strlen(name));
  sa.sun_path[0] = '\0';
  assert_int_equal(
      bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
  snprintf(env_sock, sizeof env_sock, "NOTIFY_SOCKET=%s", name);
  {
    const char *env[] = {env_sock, "WATCHDOG_USEC=200000", NULL};
    const char *argv[] = {bin, "--config", conf, NULL};
    c->pid = fwt_spawn(argv, env);
  }
  next_msg(fd, msg, sizeof msg, 20000);
  assert_string_equal(msg, "READY=1");
  while (watchdogs < 3) { /* every 100 ms: three within a few seconds */
    next_msg(fd, msg, sizeof msg, 5000);
    assert_string_equal(msg, "WATCHDOG=1");
    watchdogs++;
  }
  kill(c->pid, SIGTERM);
  do next_msg(fd, msg, sizeof msg, 10000);
  while (strcmp(msg, "WATCHDOG=1") == 0);
  assert_string_equal(msg, "STOPPING=1");
  {
    int pid = c->pid;
    c->pid = 0;
    assert_int_equal(fwt_wait(pid, 20000), 0);
  }
  close(fd);
  fwt_rmrf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ready_watchdog_stopping, child_setup, child_teardown)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
