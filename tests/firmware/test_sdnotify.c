/* test_sdnotify.c - rt_sd_notify / rt_sd_watchdog_usec (proto/rt): the
 * datagrams systemd would receive, on a socket this test binds itself
 * (a path and an abstract name), and the watchdog variables. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "rt/sdnotify.h"

/* Bind a datagram socket at name ("@x" = abstract); returns the fd. */
static int bind_dgram(const char *name) {
  struct sockaddr_un sa;
  size_t n = strlen(name);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, name, n);
  if (name[0] == '@') sa.sun_path[0] = '\0';
  assert_int_equal(bind(fd, (struct sockaddr *)&sa,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'))), 0);
  return fd;
}

/* The next datagram, waiting at most 5 s. */
static void expect_msg(int fd, const char *want) {
  struct pollfd p = {fd, POLLIN, 0};
  char buf[256];
  ssize_t n;
  assert_int_equal(poll(&p, 1, 5000), 1);
  n = recv(fd, buf, sizeof buf - 1, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, want);
}

static void test_path_socket(void **state) {
  char dir[] = "/tmp/sdnotify-XXXXXX", path[64];
  int fd;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/notify", dir);
  fd = bind_dgram(path);
  setenv("NOTIFY_SOCKET", path, 1);
  assert_int_equal(rt_sd_notify("READY=1"), 1);
  expect_msg(fd, "READY=1");
  assert_int_equal(rt_sd_notify("WATCHDOG=1"), 1);
  expect_msg(fd, "WATCHDOG=1");
  assert_int_equal(rt_sd_notify("STOPPING=1\nSTATUS=bye"), 1);
  expect_msg(fd, "STOPPING=1\nSTATUS=bye");
  close(fd);
  unlink(path);
  rmdir(dir);
  assert_int_equal(rt_sd_notify("READY=1"), -1); /* nobody listening any more */
  unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state) {
  char name[64];
  int fd;
  (void)state;
  snprintf(name, sizeof name, "@rt-sdnotify-test-%d", (int)getpid());
  fd = bind_dgram(name);
  setenv("NOTIFY_SOCKET", name, 1);
  assert_int_equal(rt_sd_notify("READY=1"), 1);
  expect_msg(fd, "READY=1");
  close(fd);
  unsetenv("NOTIFY_SOCKET");
}

static void test_not_under_systemd(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(rt_sd_notify("READY=1"), 0);
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  assert_int_equal(rt_sd_notify("READY=1"), -1);
  assert_int_equal(errno, EINVAL);
  unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_usec(void **state) {
  char pid[32];
  (void)state;
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  assert_int_equal(rt_sd_watchdog_usec(), 0);
  setenv("WATCHDOG_USEC", "30000000", 1);
  assert_int_equal(rt_sd_watchdog_usec(), 30000000);
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  setenv("WATCHDOG_PID", pid, 1);
  assert_int_equal(rt_sd_watchdog_usec(), 30000000);
  setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
  assert_int_equal(rt_sd_watchdog_usec(), 0);
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "30s", 1);
  assert_int_equal(rt_sd_watchdog_usec(), 0);
  setenv("WATCHDOG_USEC", "0", 1);
  assert_int_equal(rt_sd_watchdog_usec(), 0);
  unsetenv("WATCHDOG_USEC");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_socket),
      cmocka_unit_test(test_abstract_socket),
      cmocka_unit_test(test_not_under_systemd),
      cmocka_unit_test(test_watchdog_usec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
