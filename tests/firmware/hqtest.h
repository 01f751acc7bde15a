/* hqtest.h - helpers of the tests that talk to a real `hq` process
 * (test_hq_rollout*.c): starting it, a tiny HTTP/1.1 client for its API,
 * a bounded wait until it is up, and the poll interval between two looks
 * at it.
 *
 *   hqt_resp r = hqt_http(port, token, "GET", "/api/v1/firmware", NULL, NULL, false);
 *   assert_int_equal(r.status, 200);  ... r.body ...
 *   free(r.head);                     one block: head and body together
 *
 * Failures of the client (hq not reachable, an answer that is not HTTP)
 * fail the test through cmocka, so callers only check what hq said.  Only
 * 127.0.0.1.  Link with fwtest.c (fwt_spawn; fwt_free_port for hq's port)
 * and tests/common/broker.c (test_now_ms, the clock of the deadlines here).
 */
#ifndef HQTEST_H
#define HQTEST_H

#include <stdbool.h>
#include <stddef.h>

/* Start `hq_bin --config conf` (fwt_spawn, not waiting), its stderr
 * appended to the file log when log is not NULL (through /bin/sh), else
 * inherited.  Returns its pid (the shell's, which execs hq): the caller
 * waits with hqt_wait_up, and stops it with kill + fwt_wait. */
int hqt_spawn(const char *hq_bin, const char *conf, const char *log);

/* One answer of hq. */
typedef struct hqt_resp {
  int status;      /* the HTTP status; 0 when hq was not reachable (may_fail) */
  char *head;      /* one malloc'd block: status line and headers, NUL where the blank line
                    * began, then the body; the caller frees head, never body (NULL with
                    * status 0) */
  char *body;      /* inside head's block: body_len bytes, then a NUL */
  size_t body_len;
} hqt_resp;

/* One request to hq on 127.0.0.1:port with Connection: close, read to
 * the end (30 s receive timeout).  token: sent as `Authorization: Bearer`,
 * NULL for none; extra: more header lines, each ending in \r\n, or NULL;
 * body: sent as application/json with its Content-Length, or NULL for
 * none.  A request longer than 4 KiB is cut short (the tests' are far
 * shorter).  Returns the answer; the caller frees r.head.  When hq does
 * not accept the connection: with may_fail, status 0 and nothing
 * allocated; without, the test fails. */
hqt_resp hqt_http(int port, const char *token, const char *method, const char *path, const char *extra,
                  const char *body, bool may_fail);

/* How many times needle occurs in hay, without overlaps. */
size_t hqt_count(const char *hay, const char *needle);

/* 5 ms: the interval between polls of hq's API or the test's MQTT client
 * (a poll interval, not a wait for an event). */
void hqt_pause_poll(void);

/* Poll GET /healthz (with token, or NULL for none) until hq answers 200
 * with "mqtt_connected":true; after each look that found it not up yet,
 * between(ctx) runs (NULL: hqt_pause_poll).  0 once hq is up, -1 when
 * deadline_ms (test_now_ms()'s clock) passed first: the caller fails the
 * test with its own message.  Leaves nothing allocated. */
int hqt_wait_up(int port, const char *token, long long deadline_ms, void (*between)(void *ctx), void *ctx);

#endif
