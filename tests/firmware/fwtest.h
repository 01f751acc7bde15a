/* fwtest.h - helpers of the firmware tests: temp dirs, a tiny HTTP file
 * server that honours Range and can cut a body mid-way, bundles built
 * around the fake storenode, test boxes (A/B roots) driven through the real
 * storenode-update binary, bounded waits for child processes, and a free
 * port on 127.0.0.1.
 *
 * Every wait is bounded and event-driven (poll on a pidfd or a socket);
 * nothing sleeps for a fixed time.  Under an emulator (the arm64 pass) the
 * programs of the build start through $RETAIL_EXEC_WRAPPER, also from the
 * box's restart script, and every bound below, the box's health deadline
 * included, is times $RETAIL_TIME_SCALE (tests/common/exec_wrap.h): callers
 * give the bounds of a native run.
 */
#ifndef FWTEST_H
#define FWTEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/msg.h"

#define FWT_PATH 1024
#define FWT_LOG_MAX 64

/* ---- files ---- */
void fwt_tmpdir(char out[FWT_PATH]);
void fwt_write(const char *path, const char *text, int mode);
/* Read a whole file into a malloc'd NUL-terminated string (NULL if absent). */
char *fwt_read(const char *path, size_t *len);
void fwt_copy(const char *from, const char *to, int mode);
void fwt_rmrf(const char *path);

/* ---- the HTTP server ---- */
typedef struct fwt_http {
  char docroot[FWT_PATH];
  int lfd, wake[2], port;
  pthread_t th;
  pthread_mutex_t mu;
  /* behaviour, set under mu */
  long long cut_after;    /* close after this many body bytes ... */
  int cuts;               /* ... for this many more responses */
  bool ignore_range;      /* answer 200 with the whole file even to Range */
  /* log, read under mu */
  int n_req;
  long long range_start[FWT_LOG_MAX]; /* -1 without Range */
  long long sent[FWT_LOG_MAX];        /* body bytes written */
  int status[FWT_LOG_MAX];
} fwt_http;

int fwt_http_start(fwt_http *h, const char *docroot);
void fwt_http_stop(fwt_http *h);
void fwt_http_cut(fwt_http *h, long long after, int times, bool ignore_range);
int fwt_http_requests(fwt_http *h);

/* ---- ports ---- */
/* A TCP port on 127.0.0.1 that was free just now (bound to port 0, read,
 * closed): the caller's program binds it next.  Fails the test if no
 * socket can be bound. */
int fwt_free_port(void);

/* ---- processes ---- */
/* Run argv with extra environment entries (NULL-terminated, may be NULL),
 * through the emulator when argv[0] is a program of the build; wait at most
 * timeout_ms (scaled).  Returns the exit code, or -signal if it was
 * killed by a signal; fails the test on a timeout. */
int fwt_run(const char *const argv[], const char *const env_extra[], int timeout_ms);
/* Start argv (environment as fwt_run) without waiting; returns its pid. */
int fwt_spawn(const char *const argv[], const char *const env_extra[]);
/* Wait for a spawned process as fwt_run does. */
int fwt_wait(int pid, int timeout_ms);
/* SIGTERM the process in pidfile and wait until it is gone (bounded). */
void fwt_stop_pidfile(const char *pidfile);

/* ---- keys and bundles ---- */
typedef struct fwt_keys {
  char *priv, *pub;          /* PEM, malloc'd */
} fwt_keys;
void fwt_keys_make(fwt_keys *k);
void fwt_keys_free(fwt_keys *k);
/* Build bundle dir out from a staged tree: the fake storenode as
 * bin/storenode, etc/fake.conf with version and mode, a small www/. */
void fwt_bundle(const char *out, const char *fake_bin, const char *version, const char *min_version,
                const char *mode, const char *priv_pem);
/* The offer JSON for a bundle dir, served at url; rollback flag. */
char *fwt_offer(const char *bundle, const char *offer_id, const char *url, bool rollback);

/* ---- a box ---- */
typedef struct fwt_box {
  char root[FWT_PATH];       /* slots/, current, state dir, logs */
  char conf[FWT_PATH];
  char reports[FWT_PATH];    /* JSON lines written by --report */
  const char *agent;         /* storenode-update binary */
  int port;                  /* fake storenode's port */
} fwt_box;

/* Make a box under dir with the public key and health settings for the
 * tests (deadline in seconds), then `init` it from bundle and start its
 * storenode. */
void fwt_box_init(fwt_box *b, const char *dir, const char *agent, const char *pub_pem,
                  const char *bundle, int deadline_s);
/* Run the agent: cmd ("apply", "recover", "check", ...), arg (or NULL),
 * env_extra (test hooks, or NULL).  Returns as fwt_run. */
int fwt_agent(const fwt_box *b, const char *cmd, const char *arg, const char *const env_extra[]);
/* Version /healthz of the box's running storenode reports ("" if none). */
void fwt_running_version(const fwt_box *b, char *out, size_t cap);
/* Reports written so far; returns how many were parsed into r[0..max). */
size_t fwt_reports(const fwt_box *b, fw_report *r, size_t max);
/* The slot `current` names ("a"/"b", "" if none). */
void fwt_current(const fwt_box *b, char out[2]);
/* Stop the box's storenode and remove the box. */
void fwt_box_done(fwt_box *b);

#endif
