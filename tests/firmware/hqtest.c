/* hqtest.c - helpers of the tests that talk to a real `hq` (hqtest.h). */
#include "hqtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"
#include "fwtest.h"

int hqt_spawn(const char *hq_bin, const char *conf, const char *log) {
  const char *direct[] = {hq_bin, "--config", conf, NULL};
  const char *logged[] = {"/bin/sh", "-c", "exec \"$0\" --config \"$1\" 2>>\"$2\"", hq_bin, conf, log, NULL};
  return fwt_spawn(log ? logged : direct, NULL);
}

hqt_resp hqt_http(int port, const char *token, const char *method, const char *path, const char *extra,
                  const char *body, bool may_fail) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  struct timeval tv = {30, 0};
  hqt_resp r = {0, NULL, NULL, 0};
  char req[4096], auth[160] = "";
  size_t len = 0, cap = 65536;
  ssize_t n;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    if (may_fail) return r;
    fail_msg("hq not reachable on port %d", port);
  }
  if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  snprintf(req, sizeof req,
           "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%sContent-Type: application/json\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           method, path, auth, extra ? extra : "", body ? strlen(body) : 0, body ? body : "");
  assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
  r.head = malloc(cap + 1);
  while ((n = read(fd, r.head + len, cap - len)) > 0)
    if ((len += (size_t)n) == cap) assert_non_null(r.head = realloc(r.head, (cap *= 2) + 1));
  close(fd);
  r.head[len] = '\0';
  char *sep = strstr(r.head, "\r\n\r\n");
  if (!sep || sscanf(r.head, "HTTP/1.1 %d", &r.status) != 1) fail_msg("bad HTTP answer: %s", r.head);
  *sep = '\0';
  r.body = sep + 4;
  r.body_len = len - (size_t)(r.body - r.head);
  return r;
}

size_t hqt_count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

void hqt_pause_poll(void) {
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

int hqt_wait_up(int port, const char *token, long long deadline_ms, void (*between)(void *ctx), void *ctx) {
  for (;;) {
    hqt_resp r = hqt_http(port, token, "GET", "/healthz", NULL, NULL, true);
    bool up = r.status == 200 && strstr(r.body, "\"mqtt_connected\":true");
    free(r.head);
    if (up) return 0;
    if (test_now_ms() > deadline_ms) return -1;
    if (between) between(ctx);
    else hqt_pause_poll();
  }
}
