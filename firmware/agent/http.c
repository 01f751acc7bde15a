/* http.c - a minimal HTTP/1.1 client: GET, optionally with Range, over a
 * plain TCP socket, every wait bounded by poll().
 *
 * Why not libwebsockets' client: the agent is a sequential program (one
 * step after another, each persisted), and lws would bring an event loop,
 * callbacks, a context per fetch and a Range header added from inside
 * LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER, to read one body.  What is
 * needed here fits in this file: one request, a status line, three headers
 * (Content-Length, Content-Range, Transfer-Encoding), a body streamed to a
 * sink.  Integrity does not come from the transport: the payload is checked
 * against the signed manifest's SHA-256 and size, and never more than the
 * signed size is accepted, so plain HTTP on the store's WAN is enough (a
 * TLS variant would wrap the same read/write in mbedtls_ssl_*).
 * The URL's query string (HQ's signed payload URLs: ?store=&exp=&sig=)
 * travels in the request line as it is, with or without Range.
 * Not supported, on purpose: redirects, chunked bodies (refused: HQ serves
 * files with a Content-Length), keep-alive (Connection: close).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

#define HDR_MAX 16384

typedef struct url {
  char host[256], port[8], path[FW_URL_MAX];
} url;

static int parse_url(const char *s, url *u, fw_err *err) {
  const char *p, *h, *slash;
  size_t hn;
  if (strncmp(s, "http://", 7) != 0) return fw_err_set(err, FW_EINVAL, "url %s: only http:// is supported", s);
  h = s + 7;
  slash = strpbrk(h, "/?"); /* "http://host?q" has the path "/?q" */
  hn = slash ? (size_t)(slash - h) : strlen(h);
  snprintf(u->path, sizeof u->path, "%s%s", slash && *slash == '?' ? "/" : "", slash ? slash : "/");
  snprintf(u->port, sizeof u->port, "80");
  if (*h == '[') { /* [v6]:port */
    const char *rb = memchr(h, ']', hn);
    if (!rb) return fw_err_set(err, FW_EINVAL, "url %s: bad IPv6 host", s);
    snprintf(u->host, sizeof u->host, "%.*s", (int)(rb - h - 1), h + 1);
    p = rb + 1;
  } else {
    const char *colon = memchr(h, ':', hn);
    size_t n = colon ? (size_t)(colon - h) : hn;
    if (n == 0 || n >= sizeof u->host) return fw_err_set(err, FW_EINVAL, "url %s: bad host", s);
    snprintf(u->host, sizeof u->host, "%.*s", (int)n, h);
    p = h + n;
  }
  if (p < h + hn && *p == ':') {
    size_t n = (size_t)(h + hn - p - 1);
    if (n == 0 || n >= sizeof u->port) return fw_err_set(err, FW_EINVAL, "url %s: bad port", s);
    snprintf(u->port, sizeof u->port, "%.*s", (int)n, p + 1);
  } else if (p != h + hn) {
    return fw_err_set(err, FW_EINVAL, "url %s: bad host", s);
  }
  return FW_OK;
}

/* Wait for fd to be ready for ev; 0 ready, -1 timeout or error (errno). */
static int wait_fd(int fd, short ev, int timeout_ms) {
  struct pollfd p = {fd, ev, 0};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0) errno = ETIMEDOUT;
  return r > 0 ? 0 : -1;
}

static int dial(const url *u, int timeout_ms, fw_err *err) {
  struct addrinfo hints, *res = NULL;
  int fd = -1, e = 0, gai;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((gai = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
    fw_err_set(err, FW_EDOWNLOAD, "%s: %s", u->host, gai_strerror(gai));
    return -1;
  }
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
         (errno == EINPROGRESS && wait_fd(fd, POLLOUT, timeout_ms) == 0 &&
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && (errno = soerr) == 0)))
      break;
    e = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) fw_err_set(err, FW_EDOWNLOAD, "connect %s:%s: %s", u->host, u->port, strerror(e ? e : ECONNREFUSED));
  return fd;
}

static int send_all(int fd, const char *p, size_t n, int timeout_ms) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_fd(fd, POLLOUT, timeout_ms) != 0) return -1;
      continue;
    }
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Read some bytes: >0 count, 0 EOF, -1 error or timeout (errno). */
static ssize_t recv_some(int fd, char *buf, size_t cap, int timeout_ms) {
  for (;;) {
    ssize_t r = recv(fd, buf, cap, 0);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (wait_fd(fd, POLLIN, timeout_ms) != 0) return -1;
  }
}

/* Value of header `name` in the header block (case-insensitive), or NULL. */
static const char *header(const char *hdrs, const char *name, char *val, size_t cap) {
  size_t n = strlen(name);
  for (const char *l = strstr(hdrs, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
    const char *k = l + 2, *e;
    if (strncasecmp(k, name, n) != 0 || k[n] != ':') continue;
    k += n + 1;
    while (*k == ' ' || *k == '\t') k++;
    e = strstr(k, "\r\n");
    snprintf(val, cap, "%.*s", (int)(e ? e - k : (ptrdiff_t)strlen(k)), k);
    return val;
  }
  return NULL;
}

static int parse_head(char *hdrs, fwa_http_resp *resp, fw_err *err) {
  char v[128];
  int major, minor;
  if (sscanf(hdrs, "HTTP/%d.%d %d", &major, &minor, &resp->status) != 3 || major != 1 ||
      resp->status < 100 || resp->status > 599)
    return fw_err_set(err, FW_EDOWNLOAD, "not an HTTP/1.x answer");
  if (header(hdrs, "transfer-encoding", v, sizeof v) && strcasecmp(v, "identity") != 0)
    return fw_err_set(err, FW_EDOWNLOAD, "transfer-encoding %s not supported", v);
  if (header(hdrs, "content-length", v, sizeof v)) {
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 0) return fw_err_set(err, FW_EDOWNLOAD, "bad content-length \"%s\"", v);
    resp->length = n;
  }
  if (resp->status == 206) {
    long long a = -1, b = -1;
    if (!header(hdrs, "content-range", v, sizeof v) || sscanf(v, "bytes %lld-%lld/", &a, &b) != 2 || a < 0 || b < a)
      return fw_err_set(err, FW_EDOWNLOAD, "206 without a usable content-range");
    resp->range_start = a;
  }
  return FW_OK;
}

/* Hand body bytes to the sink, enforcing the limit. */
static int body(const fwa_http_req *req, fwa_http_resp *resp, const char *p, size_t n, fw_err *err) {
  if (n == 0) return FW_OK;
  if (resp->received + n > req->limit)
    return fw_err_set(err, FW_EDOWNLOAD, "body longer than the %llu bytes expected",
                      (unsigned long long)req->limit);
  resp->received += n;
  return req->sink(req->ctx, p, n, err);
}

static int exchange(int fd, const fwa_http_req *req, const url *u, fwa_http_resp *resp, fw_err *err) {
  char *buf = malloc(HDR_MAX + 1), *end = NULL;
  size_t have = 0;
  ssize_t r = 0;
  bool stream;
  int rc = FW_OK;
  if (!buf) return fw_err_set(err, FW_ENOMEM, "out of memory");
  if (req->offset > 0)
    snprintf(buf, HDR_MAX, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: storenode-update\r\n"
             "Accept-Encoding: identity\r\nConnection: close\r\nRange: bytes=%llu-\r\n\r\n",
             u->path, u->host, u->port, (unsigned long long)req->offset);
  else
    snprintf(buf, HDR_MAX, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: storenode-update\r\n"
             "Accept-Encoding: identity\r\nConnection: close\r\n\r\n", u->path, u->host, u->port);
  if (send_all(fd, buf, strlen(buf), req->timeout_ms) != 0)
    rc = fw_err_set(err, FW_EDOWNLOAD, "send: %s", strerror(errno));
  while (rc == FW_OK && !end) { /* the header block */
    if (have == HDR_MAX) rc = fw_err_set(err, FW_EDOWNLOAD, "headers longer than %d bytes", HDR_MAX);
    else if ((r = recv_some(fd, buf + have, HDR_MAX - have, req->timeout_ms)) <= 0)
      rc = fw_err_set(err, FW_EDOWNLOAD, "no answer: %s", r == 0 ? "connection closed" : strerror(errno));
    else {
      have += (size_t)r;
      buf[have] = '\0';
      end = strstr(buf, "\r\n\r\n");
    }
  }
  if (rc == FW_OK) {
    end[2] = '\0';
    rc = parse_head(buf, resp, err);
  }
  if (rc == FW_OK && req->head) rc = req->head(req->ctx, resp, err);
  stream = rc == FW_OK && resp->status >= 200 && resp->status < 300 && req->sink;
  if (stream) rc = body(req, resp, end + 4, have - (size_t)(end + 4 - buf), err);
  while (stream && rc == FW_OK && (resp->length < 0 || (int64_t)resp->received < resp->length)) {
    if ((r = recv_some(fd, buf, HDR_MAX, req->timeout_ms)) < 0)
      rc = fw_err_set(err, FW_EDOWNLOAD, "receive: %s", strerror(errno));
    else if (r == 0 && resp->length >= 0)
      rc = fw_err_set(err, FW_EDOWNLOAD, "connection closed after %llu of %lld bytes",
                      (unsigned long long)resp->received, (long long)resp->length);
    else if (r == 0) break;
    else rc = body(req, resp, buf, (size_t)r, err);
  }
  free(buf);
  return rc;
}

int fwa_http_get(const fwa_http_req *req, fwa_http_resp *resp, fw_err *err) {
  url u;
  int fd, rc;
  memset(resp, 0, sizeof *resp);
  resp->length = -1;
  resp->range_start = -1;
  if ((rc = parse_url(req->url, &u, err)) != FW_OK) return rc;
  if ((fd = dial(&u, req->timeout_ms, err)) < 0) return FW_EDOWNLOAD;
  rc = exchange(fd, req, &u, resp, err);
  close(fd);
  return rc;
}

static int to_buf(void *ctx, const void *data, size_t n, fw_err *err) {
  return proto_buf_append(ctx, data, n) == PROTO_OK ? FW_OK : fw_err_set(err, FW_ENOMEM, "out of memory");
}

int fwa_http_fetch(const char *url_s, int timeout_ms, size_t max, proto_buf *out, fw_err *err) {
  fwa_http_req req = {url_s, 0, max, timeout_ms, NULL, to_buf, out};
  fwa_http_resp resp;
  int rc = fwa_http_get(&req, &resp, err);
  if (rc == FW_OK && resp.status != 200) rc = fw_err_set(err, FW_EDOWNLOAD, "%s: HTTP %d", url_s, resp.status);
  return rc;
}
