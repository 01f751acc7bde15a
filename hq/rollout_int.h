/* hq/rollout_int.h - what rollout.c (registry, payload), rollout_run.c
 * (rollouts, reports, the tick), rollout_db.c (their tables in hq.db) and
 * rollout_url.c (signed payload URLs) share.  Private to those files. */
#ifndef HQ_ROLLOUT_INT_H
#define HQ_ROLLOUT_INT_H

#include "fw/msg.h"
#include "fw/rollout.h"
#include "rollout.h"

#define HQ_FW_DIR_MAX 400
#define HQ_FW_KEY_LEN 32                /* HMAC-SHA256 key of the signed URLs */
#define HQ_FW_STEPS_MAX 10

typedef struct hq_fw_entry {
  char version[FW_VERSION_MAX];
  char dir[HQ_FW_DIR_MAX];
  unsigned char sha256[32];
  uint64_t size;
  uint64_t registered_ms;
} hq_fw_entry;

typedef struct hq_fw_box {
  char store[FW_ID_MAX];
  bool offered;                    /* committed to fw_rollout_boxes before any publish;
                                      ACTIVE until its report says more */
  uint64_t offered_ms;
  int state;                       /* fw_state of the box's newest report for this
                                      rollout, -1 none: a later rollout's reports
                                      do not change what this one saw */
  char error[32];                  /* that report's error code, "" when none */
  int64_t url_exp;                 /* exp of the URL this process last published;
                                      0: not published by this process yet */
} hq_fw_box;

/* The columns of fw_rollouts that change after creation. */
typedef struct hq_fw_row {
  size_t stage;
  bool stopped, finished, halt;
  size_t active, committed, failed;
  char reason[160];
} hq_fw_row;

typedef struct hq_fw_rollout {
  char id[48];                     /* also the offers' offer_id: unique across restarts */
  char version[FW_VERSION_MAX];
  hq_fw_box *box;
  size_t n;
  unsigned steps[HQ_FW_STEPS_MAX];
  size_t n_steps, stage;           /* steps[stage] is the percentage now */
  int max_failures;
  bool stopped;                    /* halted by the operator */
  bool finished;                   /* nothing more will happen */
  uint64_t created_ms;
  fw_offer base;                   /* the offer without its url (per box); manifest
                                      NULL until built from the bundle */
  bool base_failed;                /* building it failed (logged once) */
  fw_rollout_decision d;           /* the last decision */
  hq_fw_row saved;                 /* what fw_rollouts holds */
} hq_fw_rollout;

struct hq_fw {
  bool loaded;                     /* the tables were read (hq__fw) */
  uint64_t load_tried_ms;
  unsigned char key[HQ_FW_KEY_LEN];
  hq_fw_entry *e;                  /* registered bundles */
  size_t n;
  fw_report *rep;                  /* the newest report of each box, by store */
  size_t n_rep;
  hq_fw_rollout *ro;               /* every rollout, oldest first */
  size_t n_ro;
};

/* ---- rollout.c -------------------------------------------------------------------- */
/* The registry, loaded from hq.db on first use; NULL (err set, may be NULL)
 * when out of memory or the tables could not be read (retried later). */
hq_fw *hq__fw(hq_server *s, hq_err *err);
/* The registered bundle of version; NULL if none. */
const hq_fw_entry *hq__fw_find(const hq_fw *fw, const char *version);

/* ---- rollout_run.c ------------------------------------------------------------------ */
void hq__fw_rollouts_free(hq_fw *fw);
/* The row's columns as ro holds them now. */
void hq__fw_row_of(const hq_fw_rollout *ro, hq_fw_row *row);

/* ---- rollout_db.c: the tables (schema.c, v2) ---------------------------------------- */
/* Everything into the empty fw: bundles, rollouts with their boxes,
 * reports, the URL key (created and committed if there is none).  On
 * failure fw is emptied again. */
int hq__fwdb_load(hq_server *s, hq_fw *fw, hq_err *err);
/* Each of these commits before it returns HQ_OK (an open ingest batch is
 * committed first): the caller acts (answers, publishes) only after. */
int hq__fwdb_bundle_put(hq_server *s, const hq_fw_entry *e, hq_err *err);
int hq__fwdb_rollout_put(hq_server *s, const hq_fw_rollout *ro, hq_err *err);
/* The row as *row says, and boxes idx[0..n) offered at now_ms (n may be 0),
 * in one transaction. */
int hq__fwdb_rollout_save(hq_server *s, const hq_fw_rollout *ro, const hq_fw_row *row,
                          const size_t *idx, size_t n, uint64_t now_ms, hq_err *err);
/* A box's newest report: joins the open ingest transaction (opened if
 * none; the drain commits it), since a report is retained and comes again. */
int hq__fwdb_report_put(hq_server *s, const fw_report *r, hq_err *err);

/* ---- rollout_url.c ------------------------------------------------------------------ */
/* The signed payload URL of version for store, valid until exp (unix s). */
int hq__fw_url(const hq_server *s, const hq_fw *fw, const char *version, const char *store,
               int64_t exp, char *out, size_t cap, hq_err *err);
/* May r download version's payload: a signed URL for a store that is a box
 * of a rollout of version and not revoked, or a bearer token with the read
 * or admin scope.  HQ_EUNAUTH / HQ_EFORBIDDEN with the reason (logged
 * without the signature). */
int hq__fw_authorize(hq_server *s, hq_fw *fw, hq_req *r, const char *version, hq_err *err);

#endif
