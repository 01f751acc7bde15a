/* wsconn.c - one tablet WebSocket: receive, send queue, rate limit.
 *
 * Receive: lws hands a message in pieces of at most rx_buffer_size
 * (= ws_max_message).  Pieces are added up in c->rx until the final piece of
 * the final fragment; the moment the total (plus what the current frame
 * still announces) would pass ws_max_message the message is dropped and the
 * socket closed with 1009 (the rest is read and thrown away, see below).
 *
 * Send: every message to a tablet goes through its queue, and exactly one
 * lws_write happens per LWS_CALLBACK_SERVER_WRITEABLE (the lws 4.1 rule).  A
 * queue that would grow past ws_max_queue means the tablet is not reading:
 * the queue is freed and the socket killed (LWS_TO_KILL_ASYNC, so the
 * connection is freed later in LWS_CALLBACK_CLOSED, never under our feet).
 *
 * Rate limit: token bucket per connection, refilled at ws_rate per second up
 * to ws_burst.  A frame without a token is answered rate_limited; once more
 * than ws_burst frames were refused since the bucket was last full, the
 * tablet is flooding: its further frames are read and ignored, its queue
 * (the answers, rate_limited errors included) drains, and once it has been
 * quiet for CLOSE_QUIET_US it is closed with 1008; one that never stops or
 * never reads is dropped after CLOSE_GIVE_UP_S.  Why so careful (lws 4.1.6):
 *   - returning -1 from SERVER_WRITEABLE counts as a failed write: lws drops
 *     the socket without a close frame, so the close comes from the TIMER
 *     callback;
 *   - lws shuts the socket right after sending its close frame, without
 *     waiting for the peer's; input still unread then makes the kernel send
 *     RST, and the peer loses our answers and the close frame.  Hence the
 *     quiet period: everything the tablet sent has been read.
 */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

#define CLOSE_QUIET_US (50 * LWS_US_PER_MS)
#define CLOSE_GIVE_UP_S 3

int node_ws_open(node_server *s, struct lws *wsi, node_pss *pss) {
  node_wsconn *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->srv = s;
  c->wsi = wsi;
  c->serial = ++s->next_serial;
  lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
  c->tokens = (double)s->cfg->ws_burst;
  c->bucket_ns = node_srv_now_ns();
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->counters.tablets_connected++;
  pss->conn = c;
  node_logf(s->log, NODE_LOG_INFO, "tablet connected", "conn=%llu peer=%s",
            (unsigned long long)c->serial, c->peer);
  return 0;
}

static void free_queue(node_wsconn *c) {
  while (c->q_head) {
    node_outmsg *m = c->q_head;
    c->q_head = m->next;
    free(m);
  }
  c->q_tail = NULL;
  c->q_bytes = 0;
}

void node_ws_closed(node_wsconn *c) {
  node_server *s = c->srv;
  for (size_t i = 0; i < s->n_held; i++)
    if (s->held[i].conn == c) s->held[i].conn = NULL;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->counters.tablets_connected--;
  node_logf(s->log, NODE_LOG_INFO, "tablet disconnected", "conn=%llu staff=%s tablet=%s",
            (unsigned long long)c->serial, c->authed ? c->sess.staff.id : "-",
            c->authed ? c->sess.tablet : "-");
  free_queue(c);
  free(c->rx);
  free(c);
}

/* Close with a WebSocket status from inside this connection's callback. */
static int close_with(node_wsconn *c, enum lws_close_status status, const char *why) {
  lws_close_reason(c->wsi, status, (unsigned char *)(uintptr_t)why, strlen(why));
  return -1;
}

static int too_big(node_wsconn *c, size_t n) {
  c->srv->counters.ws_closed_too_big++;
  node_logf(c->srv->log, NODE_LOG_WARN, "tablet frame too large, closing", "conn=%llu bytes=%zu max=%lld",
            (unsigned long long)c->serial, n, (long long)c->srv->cfg->ws_max_message);
  c->rx_len = 0;
  node_ws_close_after_queue(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
  return 0;
}

int node_ws_receive(node_wsconn *c, const void *in, size_t len) {
  size_t max = (size_t)c->srv->cfg->ws_max_message;
  size_t remaining = lws_remaining_packet_payload(c->wsi);
  bool done = lws_is_final_fragment(c->wsi) && remaining == 0;
  int rc;
  if (c->close_status) { /* closing: frames still in flight are ignored */
    lws_set_timer_usecs(c->wsi, CLOSE_QUIET_US);
    return 0;
  }
  if (c->rx_len + len + remaining > max) return too_big(c, c->rx_len + len + remaining);
  if (done && c->rx_len == 0) return node_ws_dispatch(c, in, len); /* the common case: no copy */
  if (!c->rx) {
    c->rx = malloc(max);
    if (!c->rx) return -1;
    c->rx_cap = max;
  }
  memcpy(c->rx + c->rx_len, in, len);
  c->rx_len += len;
  if (!done) return 0;
  rc = node_ws_dispatch(c, c->rx, c->rx_len);
  c->rx_len = 0;
  return rc;
}

bool node_ws_take_token(node_wsconn *c) {
  const node_config *cfg = c->srv->cfg;
  uint64_t now = node_srv_now_ns();
  double burst = (double)cfg->ws_burst;
  c->tokens += (double)(now - c->bucket_ns) * (double)cfg->ws_rate / 1e9;
  c->bucket_ns = now;
  if (c->tokens >= burst) {
    c->tokens = burst;
    c->refused = 0;
  }
  if (c->tokens >= 1.0) {
    c->tokens -= 1.0;
    return true;
  }
  c->refused++;
  c->srv->counters.ws_rate_limited++;
  return false;
}

static void drop_slow(node_wsconn *c, size_t want) {
  node_server *s = c->srv;
  s->counters.ws_dropped_slow++;
  node_logf(s->log, NODE_LOG_WARN, "tablet not reading, disconnecting", "conn=%llu queued=%zu next=%zu",
            (unsigned long long)c->serial, c->q_bytes, want);
  free_queue(c);
  c->dropping = true;
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

bool node_ws_send(node_wsconn *c, const char *json, size_t len) {
  node_outmsg *m;
  size_t behind = c->q_head ? c->q_bytes - c->q_head->len : 0;
  if (c->dropping) return false;
  /* The message at the head is the one being written and does not count,
   * so a snapshot bigger than the limit still goes out to a reading tablet. */
  if (c->q_head && behind + len > (size_t)c->srv->cfg->ws_max_queue) {
    drop_slow(c, len);
    return false;
  }
  m = malloc(sizeof *m + LWS_PRE + len);
  if (!m) {
    drop_slow(c, len);
    return false;
  }
  m->next = NULL;
  m->len = len;
  memcpy(m->buf + LWS_PRE, json, len);
  if (c->q_tail) c->q_tail->next = m;
  else c->q_head = m;
  c->q_tail = m;
  c->q_bytes += len;
  lws_callback_on_writable(c->wsi);
  return true;
}

int node_ws_writeable(node_wsconn *c) {
  node_outmsg *m = c->q_head;
  int n;
  if (c->dropping) return -1;
  if (!m) return 0;
  c->q_head = m->next;
  if (!c->q_head) c->q_tail = NULL;
  c->q_bytes -= m->len;
  n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
  free(m);
  if (n < 0) return -1;
  if (c->q_head) lws_callback_on_writable(c->wsi);
  else if (c->close_status) lws_set_timer_usecs(c->wsi, CLOSE_QUIET_US); /* -> node_ws_timer */
  return 0;
}

int node_ws_timer(node_wsconn *c) {
  if (c->close_status && !c->q_head) return close_with(c, c->close_status, c->close_why);
  return 0;
}

void node_ws_close_after_queue(node_wsconn *c, enum lws_close_status status, const char *why) {
  if (c->close_status) return;
  c->close_status = status;
  c->close_why = why;
  if (c->q_head) lws_callback_on_writable(c->wsi);
  else lws_set_timer_usecs(c->wsi, CLOSE_QUIET_US);
  /* One that never goes quiet, or never reads, is dropped without ceremony. */
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GIVE_UP_S);
}

void node_ws_broadcast(node_server *s, const char *json, size_t len) {
  for (node_wsconn *c = s->conns; c; c = c->next)
    if (c->authed && c->synced) node_ws_send(c, json, len);
}

void node_ws_send_error(node_wsconn *c, const char *id, int code, const char *message) {
  proto_buf b;
  proto_buf_init(&b);
  c->srv->counters.ws_errors++;
  if (node_wsenc_error(&b, id, code, message) == PROTO_OK) node_ws_send(c, b.data, b.len);
  proto_buf_close(&b);
}

void node_ws_expire_sessions(node_server *s, uint64_t now_ms) {
  for (node_wsconn *c = s->conns; c; c = c->next) {
    if (!c->authed || c->sess.expires_ms > now_ms) continue;
    c->authed = c->synced = false;
    memset(c->token, 0, sizeof c->token);
    node_ws_send_error(c, NULL, NODE_EEXPIRED, "session expired");
  }
}

void node_ws_end_sessions(node_server *s, const char *staff_id, const char *why) {
  for (node_wsconn *c = s->conns; c; c = c->next) {
    if (!c->authed || strcmp(c->sess.staff.id, staff_id) != 0) continue;
    c->authed = c->synced = false;
    memset(c->token, 0, sizeof c->token);
    node_ws_send_error(c, NULL, NODE_EEXPIRED, why);
  }
}
