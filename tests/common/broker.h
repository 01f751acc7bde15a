/* broker.h - test helper: a real mosquitto broker on a free loopback port.
 *
 *   test_broker b;
 *   if (test_broker_start(&b, why, sizeof why) != 0) skip or fail with why;
 *   ... connect to 127.0.0.1:b.port ...
 *   test_broker_kill(&b);            SIGKILL: the link drops without a goodbye
 *   test_broker_restart(&b, ...);    same port, fresh state (persistence off)
 *   test_broker_stop(&b);            SIGTERM, waits, removes the temp dir
 *
 * The generated config is `listener <port> 127.0.0.1`, `allow_anonymous
 * true`, `persistence false` (plus `extra` lines if given), in a mkdtemp
 * directory under $TMPDIR or /tmp; the broker's log goes to <dir>/broker.log
 * (printed by test_broker_dump_log when a test fails).  Every wait is bounded
 * (TEST_BROKER_WAIT_MS) and polls for the event itself (the port accepting
 * connections, the process exiting), never a fixed sleep.
 * The binary: $MOSQUITTO_BIN, else `mosquitto` on PATH, /usr/sbin, /usr/local/sbin.
 * Link with nothing but libc; include from C tests via tests/common.
 *
 * A test that needs its own listener (TLS, ACLs) uses test_broker_start_conf:
 * its callback writes the config for the port picked, and the helper appends
 * its own `user` and logging lines (global options, valid anywhere).
 * test_broker_reload sends SIGHUP and waits until the broker logged that it
 * reloaded (mosquitto 2.0 then re-reads the ACL file, certificates and CRL).
 */
#ifndef TEST_BROKER_H
#define TEST_BROKER_H

#include <stddef.h>
#include <sys/types.h>

#define TEST_BROKER_WAIT_MS 10000

/* Writes the whole broker config for port into path (listener included);
 * 0 on success.  ctx is the caller's. */
typedef int (*test_broker_conf_fn)(void *ctx, const char *path, int port);

typedef struct test_broker {
  pid_t pid;              /* 0 when not running */
  int port;
  char bin[256];
  char dir[256];          /* temp dir with mosquitto.conf and broker.log */
  char extra[512];        /* extra config lines, kept for restarts */
  test_broker_conf_fn conf_fn;  /* test_broker_start_conf: writes the config */
  void *conf_ctx;
} test_broker;

/* Path of the mosquitto binary, or NULL if there is none (tests skip). */
const char *test_broker_find_bin(char *buf, size_t cap);
/* Start on a free port (retries another port if the one picked was taken
 * meanwhile).  extra: config lines to add, or NULL.  0 when the port
 * accepts connections; -1 with why (the broker's log tail included). */
int test_broker_start(test_broker *b, const char *extra, char *why, size_t cap);
/* As test_broker_start, with the config written by fn(ctx, path, port)
 * (kept for restarts). */
int test_broker_start_conf(test_broker *b, test_broker_conf_fn fn, void *ctx, char *why, size_t cap);
/* SIGHUP, then wait until the broker logged "Reloading config" once more
 * and its loop has handled an event after that (so the reload is over, and
 * another SIGHUP would not be lost): the next connection sees the new ACL,
 * certificates and CRL.  0, or -1 (not running, or not within the wait). */
int test_broker_reload(test_broker *b);
/* SIGKILL and reap: for "the broker died" tests.  The dir is kept. */
void test_broker_kill(test_broker *b);
/* Start again on the same port (after kill); 0 when it accepts again. */
int test_broker_restart(test_broker *b, char *why, size_t cap);
/* SIGTERM (SIGKILL after the wait), reap, remove the temp dir. */
void test_broker_stop(test_broker *b);
/* The broker's log to stderr, for failure reports. */
void test_broker_dump_log(const test_broker *b);
/* Monotonic milliseconds, for the tests' own deadlines. */
long long test_now_ms(void);

#endif
