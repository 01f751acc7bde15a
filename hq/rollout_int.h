/* hq/rollout_int.h - what rollout.c (registry, payload) and rollout_run.c
 * (rollouts, reports, the tick) share.  Private to those two files. */
#ifndef HQ_ROLLOUT_INT_H
#define HQ_ROLLOUT_INT_H

#include "fw/msg.h"
#include "fw/rollout.h"
#include "rollout.h"

#define HQ_FW_DIR_MAX 400

typedef struct hq_fw_entry {
  char version[FW_VERSION_MAX];
  char dir[HQ_FW_DIR_MAX];
  unsigned char sha256[32];
  uint64_t size;
  uint64_t registered_ms;
} hq_fw_entry;

typedef struct hq_fw_box {
  char store[FW_ID_MAX];
  bool offered;                    /* published; ACTIVE until its report says more */
} hq_fw_box;

typedef struct hq_fw_rollout {
  char id[48];                     /* also the offers' offer_id: unique across restarts */
  char version[FW_VERSION_MAX];
  hq_fw_box *box;
  size_t n;
  unsigned steps[10];
  size_t n_steps, stage;           /* steps[stage] is the percentage now */
  int max_failures;
  bool stopped;                    /* halted by the operator */
  bool finished;                   /* nothing more will happen */
  uint64_t created_ms;
  char *offer;                     /* the offer's JSON, the same for every box */
  fw_rollout_decision d;           /* the last decision */
} hq_fw_rollout;

struct hq_fw {
  hq_fw_entry *e;                  /* registered bundles */
  size_t n;
  fw_report *rep;                  /* the newest report of each box, by store */
  size_t n_rep;
  hq_fw_rollout *ro;               /* every rollout since start, oldest first */
  size_t n_ro;
};

/* The registry, created on first use; NULL when out of memory. */
hq_fw *hq__fw(hq_server *s);
/* The registered bundle of version; NULL if none. */
const hq_fw_entry *hq__fw_find(const hq_fw *fw, const char *version);
void hq__fw_rollouts_free(hq_fw *fw);

#endif
