/* agent.h - private to storenode-update (firmware/agent/): the update
 * agent's configuration, persisted state and steps.  machine.c draws the
 * state machine; this header only declares the pieces (fwa_ prefix: the
 * agent's files share them, nothing outside the agent and its tests does).
 *
 * Layout on the box (root = /opt/storenode):
 *   <root>/slots/a/, <root>/slots/b/   the two slots: the payload's tree plus
 *                                      manifest.json and, written last,
 *                                      manifest.sig (a slot is complete iff
 *                                      its manifest.sig verifies)
 *   <root>/current -> slots/a          what runs; swapped by rename(2)
 *   <state_dir>/state                  the persisted state (fsync'd)
 *   <state_dir>/payload.part           the download, resumable
 */
#ifndef FWA_AGENT_H
#define FWA_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/bundle.h"
#include "fw/error.h"
#include "fw/msg.h"
#include "proto/error.h"
#include "rt/config.h"
#include "rt/log.h"

/* Paths built from the configured directories (each at most 255 bytes). */
#define FWA_PATH 1024

/* ---- configuration (config.c's key table) ---- */

typedef struct fwa_cfg {
  char store_id[64];
  char root[256];
  char state_dir[256];
  char pubkey[256];
  char restart_cmd[512];
  int64_t restart_timeout_s;
  char health_url[256];
  int64_t health_deadline_s;
  int64_t health_interval_ms;
  int64_t health_passes;
  bool health_require_version;
  char health_repl_metric[128];
  int64_t health_max_attempts;
  char db_path[256];
  int64_t download_retries;
  int64_t download_retry_ms;
  int64_t http_timeout_s;
  char mqtt_host[256];
  int64_t mqtt_port;
  char mqtt_client_id[128];
  char mqtt_cafile[256];
  char mqtt_certfile[256];
  char mqtt_keyfile[256];
  char node_config[256];
  char spool_dir[256];
  rt_log_level log_level;
} fwa_cfg;

const rt_cfg_table *fwa_cfg_table(void);
/* Take store_id and the mqtt_* keys from storenode's config file (the box
 * has one identity, written there by provisioning), and its
 * update_spool_dir as spool_dir: then storenode relays and mqtt_host is
 * cleared (one MQTT session per box); other keys of that file are skipped.
 * A missing file is fine.  -1 with msg on a bad value. */
int fwa_cfg_import_node(fwa_cfg *c, const char *path, char *msg, size_t cap);

/* ---- persisted state (state.c) ---- */

typedef struct fwa_state {
  fw_state state;
  char active[2];                   /* slot `current` holds at rest: "a"/"b" */
  char installed[FW_VERSION_MAX];   /* version in the active slot */
  char floor[FW_VERSION_MAX];       /* highest committed min_version */
  fw_offer offer;                   /* the update in flight, or the last one */
  char from_slot[2], to_slot[2];    /* set in OFFERED: active and the other */
  int64_t health_attempts;          /* HEALTH_CHECK entries for this offer */
  char error[32];                   /* fw_err_wire code of the failure, "" */
  char detail[256];
  uint64_t seq;                     /* transitions written, for the log */
} fwa_state;

/* Read <state_dir>/state.  FW_EIO with errno ENOENT in *missing=true when
 * there is none yet; FW_ESTATE naming the line if it is corrupt. */
int fwa_state_load(const char *dir, fwa_state *st, bool *missing, fw_err *err);
/* Write it atomically and durably (fw_file_write_atomic). */
int fwa_state_save(const char *dir, const fwa_state *st, fw_err *err);
void fwa_state_free(fwa_state *st);

/* ---- slots (slots.c) ---- */

/* The slot `current` points at ("a"/"b"), FW_EIO/FW_ESTATE if none. */
int fwa_slot_current(const char *root, char slot[2], fw_err *err);
/* Point `current` at slot, atomically (symlink + rename + fsync). */
int fwa_slot_point(const char *root, const char *slot, fw_err *err);
/* Wipe the slot, unpack the payload into it, then write its manifest.json
 * and (last) manifest.sig.  On failure the slot is incomplete. */
int fwa_slot_install(const char *root, const char *slot, const char *payload, const fw_manifest *m,
                     const fw_offer *o, fw_err *err);
/* Is the slot complete: its signature verifies with pub_pem and every file
 * of its manifest is there with its size and hash?  m (may be NULL)
 * receives the manifest. */
int fwa_slot_check(const char *root, const char *slot, const char *pub_pem, fw_manifest *m,
                   fw_err *err);

/* ---- HTTP (http.c): a minimal HTTP/1.1 client ---- */

typedef int (*fwa_http_sink)(void *ctx, const void *data, size_t n, fw_err *err);
struct fwa_http_resp;
/* Called once the headers are in, before any body byte (may be NULL);
 * an error ends the exchange. */
typedef int (*fwa_http_head)(void *ctx, const struct fwa_http_resp *resp, fw_err *err);

typedef struct fwa_http_req {
  const char *url;                  /* http://host[:port]/path */
  uint64_t offset;                  /* > 0: send Range: bytes=offset- */
  uint64_t limit;                   /* refuse a body longer than this */
  int timeout_ms;                   /* connect, and each read or write */
  fwa_http_head head;
  fwa_http_sink sink;               /* body of a 2xx answer */
  void *ctx;
} fwa_http_req;

typedef struct fwa_http_resp {
  int status;
  int64_t length;                   /* Content-Length, -1 if absent */
  int64_t range_start;              /* from Content-Range on 206, else -1 */
  uint64_t received;                /* body bytes handed to the sink */
} fwa_http_resp;

/* GET.  FW_OK when the whole body (per Content-Length, or up to the close)
 * arrived; FW_EDOWNLOAD when the connection failed or was cut (resp says
 * how far it got), or the answer was malformed. */
int fwa_http_get(const fwa_http_req *req, fwa_http_resp *resp, fw_err *err);
/* GET into a buffer (at most max bytes); FW_OK only for status 200. */
int fwa_http_fetch(const char *url, int timeout_ms, size_t max, proto_buf *out, fw_err *err);

/* ---- the agent (machine.c, steps.c, health.c) ---- */

typedef struct fwa fwa;
typedef void (*fwa_report_fn)(void *ctx, const fw_report *r);

struct fwa {
  const fwa_cfg *cfg;
  const rt_log *log;
  char *pub_pem;                    /* the trusted key, NUL-terminated */
  fwa_state st;
  fwa_report_fn report;             /* every transition and progress step */
  void *report_ctx;
  volatile sig_atomic_t *stop;      /* set by SIGTERM: stop between steps */
  uint64_t progress_bytes;          /* DOWNLOADING progress for reports */
  uint64_t progress_total;
  uint64_t kill_after_bytes;        /* test hook, 0 = off */
  int kill_at;                      /* test hook: fw_state to die in, -1 = off */
};

/* Open: read the trusted key, make state_dir; with load_state also load
 * the state (or derive it from `current` on the first run).  FW_OK or
 * an error naming what is missing.  a must be zeroed first; fwa_close
 * either way. */
int fwa_open(fwa *a, const fwa_cfg *cfg, const rt_log *lg, bool load_state, fw_err *err);
void fwa_close(fwa *a);
/* Run from the persisted state until the machine is at rest (or *stop);
 * at rest, first put `current` back on the active slot if someone moved
 * it.  FW_OK, the outcome being a->st.state; an error only if the state
 * could not be persisted or `current` not restored. */
int fwa_run(fwa *a);
/* Take an offer (at rest only): IDLE/COMMITTED/FAILED -> OFFERED.
 * FW_EBUSY if an update is in flight; FW_OK without a transition (and
 * *taken false) if this offer_id was already handled. */
int fwa_take_offer(fwa *a, const fw_offer *o, bool *taken, fw_err *err);
/* The current state as a report. */
void fwa_report_now(const fwa *a, fw_report *r);
/* Install a verified bundle directory as the first slot of a fresh box. */
int fwa_init_image(fwa *a, const char *bundle_dir, fw_err *err);
/* Consistency: `current` points at a complete slot, and at rest the state
 * agrees with it.  FW_OK or FW_ESTATE saying what is wrong. */
int fwa_check(fwa *a, fw_err *err);

/* Steps (steps.c): each does its state's work, idempotently (run again
 * after a crash it finishes the job).  FW_OK -> the table's next state. */
int fwa_offer_check(fwa *a, fw_err *err);
int fwa_download(fwa *a, fw_err *err);
int fwa_verify(fwa *a, fw_err *err);
int fwa_install(fwa *a, fw_err *err);
int fwa_switch(fwa *a, fw_err *err);
int fwa_health(fwa *a, fw_err *err);
int fwa_rollback(fwa *a, fw_err *err);

/* Health (health.c): poll until health_passes consecutive passes or the
 * deadline; want_version "" skips the version check. */
int fwa_health_wait(fwa *a, const char *want_version, fw_err *err);
/* Run restart_cmd (sh -c) within restart_timeout_s. */
int fwa_restart(fwa *a, fw_err *err);

/* Helpers shared by the steps. */
void fwa_path(const fwa *a, char *dst, size_t cap, const char *name); /* <state_dir>/name */
void fwa_emit(fwa *a);              /* report the current state */
uint64_t fwa_now_ms(void);          /* monotonic */
void fwa_sleep_ms(int64_t ms, volatile sig_atomic_t *stop);

#endif
