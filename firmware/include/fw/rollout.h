/* fw/rollout.h - HQ's staged-rollout decision as a pure function.
 *
 * HQ keeps, per store of the group, the last update report for the rollout
 * (fw/msg.h) and calls fw_rollout_next() whenever a report arrives or the
 * operator changes the percentage.  The function says which stores to offer
 * next and whether to halt; HQ publishes the offers and records them as
 * ACTIVE.  It holds no state: the fleet's reports are the state.
 *
 * Order: stores are taken by ascending FNV-1a(seed, store_id), so the boxes
 * of a 10 % stage stay the first ones of the 50 % stage (raising the
 * percentage only adds boxes), and the sample is spread over the ids
 * instead of following their alphabetical order (regions, franchisees).
 *
 * Halt: as soon as the failures pass either threshold no new box is offered
 * (boxes already ACTIVE finish: each one rolls back by itself if it fails).
 * Failures never go away within a rollout, so a halt stays a halt until the
 * operator starts a new rollout.
 */
#ifndef FW_ROLLOUT_H
#define FW_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/error.h"
#include "fw/msg.h"

typedef enum {
  FW_FLEET_PENDING,   /* not offered yet */
  FW_FLEET_ACTIVE,    /* offered, not finished */
  FW_FLEET_COMMITTED, /* runs the rollout's version */
  FW_FLEET_FAILED     /* refused it, or rolled back */
} fw_fleet_status;

/* Status of a box whose last report for this rollout is in state s. */
fw_fleet_status fw_fleet_status_of(fw_state s);

typedef struct fw_fleet_box {
  const char *store_id;
  fw_fleet_status status;
} fw_fleet_box;

typedef struct fw_rollout_policy {
  unsigned percent;       /* 0..100: share of the group offered by now */
  int max_failures;       /* halt when failed > this; -1: no count limit */
  int max_failure_pct;    /* halt when failed * 100 > this * (committed +
                             failed); 0..100, -1: no rate limit */
  unsigned max_in_flight; /* at most this many ACTIVE at once; 0: no limit */
  uint64_t seed;          /* per rollout, e.g. a hash of its id */
} fw_rollout_policy;

typedef struct fw_rollout_decision {
  bool halt;
  char reason[160];       /* why halted, or "" */
  size_t n_offer;         /* indices written to offer[] */
  size_t target;          /* boxes the percentage asks to have offered */
  size_t offered;         /* ACTIVE + COMMITTED + FAILED before this call */
  size_t active, committed, failed;
  bool done;              /* every box COMMITTED or FAILED, and target = all */
} fw_rollout_decision;

/* Decide.  offer[] (capacity cap, which must be >= n) receives indices
 * into boxes[] in the order to offer them.  FW_EINVAL (naming the field)
 * for a bad policy, a NULL or duplicate store id, or cap < n; FW_ENOMEM.
 * On failure *d is zeroed and offer[] untouched. */
int fw_rollout_next(const fw_fleet_box *boxes, size_t n, const fw_rollout_policy *p,
                    size_t *offer, size_t cap, fw_rollout_decision *d, fw_err *err);

#endif
