/* sdnotify.c - sd_notify(3) without libsystemd (rt/sdnotify.h): one
 * datagram to $NOTIFY_SOCKET.  Keeps storenode free of a libsystemd
 * dependency (and of its arm64 sysroot) for four short messages. */
#include "rt/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int rt_sd_notify(const char *state) {
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  size_t n = path ? strlen(path) : 0;
  socklen_t len;
  ssize_t w;
  int fd, e;
  if (n == 0) return 0;
  if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path || !state) {
    errno = EINVAL;
    return -1;
  }
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  if (path[0] == '@') sa.sun_path[0] = '\0'; /* abstract namespace: no NUL at the end */
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  do w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
  while (w < 0 && errno == EINTR);
  e = errno;
  close(fd);
  errno = e;
  return w == (ssize_t)strlen(state) ? 1 : -1;
}

uint64_t rt_sd_watchdog_usec(void) {
  const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
  char *end = NULL;
  unsigned long long v;
  if (!us || !*us) return 0;
  if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid()) return 0;
  errno = 0;
  v = strtoull(us, &end, 10);
  return errno || *end || v == 0 ? 0 : (uint64_t)v;
}
