/* rollout.c - the staged-rollout decision (fw/rollout.h).  Pure: no I/O,
 * no allocation, no clock; the same fleet and policy give the same answer.
 *
 *   counts  ─▶ halt?  failed > max_failures, or failed/(committed+failed)
 *                     above max_failure_pct        ─▶ offer nothing
 *           ─▶ target = ceil(percent × n / 100)
 *           ─▶ room   = min(target − offered, max_in_flight − active)
 *           ─▶ the `room` PENDING boxes with the smallest FNV-1a(seed, id)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw/rollout.h"

fw_fleet_status fw_fleet_status_of(fw_state s) {
  static const fw_fleet_status map[FW_ST__COUNT] = {
      [FW_ST_IDLE] = FW_FLEET_PENDING,      [FW_ST_OFFERED] = FW_FLEET_ACTIVE,
      [FW_ST_DOWNLOADING] = FW_FLEET_ACTIVE, [FW_ST_VERIFYING] = FW_FLEET_ACTIVE,
      [FW_ST_INSTALLING] = FW_FLEET_ACTIVE, [FW_ST_SWITCHING] = FW_FLEET_ACTIVE,
      [FW_ST_HEALTH_CHECK] = FW_FLEET_ACTIVE, [FW_ST_COMMITTED] = FW_FLEET_COMMITTED,
      [FW_ST_ROLLBACK] = FW_FLEET_ACTIVE,   [FW_ST_FAILED] = FW_FLEET_FAILED,
  };
  return (int)s >= 0 && s < FW_ST__COUNT ? map[s] : FW_FLEET_PENDING;
}

static uint64_t rank(uint64_t seed, const char *id) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 offset basis */
  for (int i = 0; i < 8; i++) {
    h ^= (seed >> (8 * i)) & 0xff;
    h *= 1099511628211ULL;
  }
  for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  return h;
}

/* A box with its rank, so qsort (which has no context argument) can order
 * by rank, then id for a total order. */
typedef struct ranked {
  uint64_t r;
  const char *id;
  size_t i;
} ranked;

static int by_rank(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->r != y->r) return x->r < y->r ? -1 : 1;
  return strcmp(x->id, y->id);
}

static int check_policy(const fw_rollout_policy *p, fw_err *err) {
  if (p->percent > 100) return fw_err_set(err, FW_EINVAL, "percent %u: must be 0..100", p->percent);
  if (p->max_failures < -1) return fw_err_set(err, FW_EINVAL, "max_failures %d: must be >= -1", p->max_failures);
  if (p->max_failure_pct < -1 || p->max_failure_pct > 100)
    return fw_err_set(err, FW_EINVAL, "max_failure_pct %d: must be -1..100", p->max_failure_pct);
  return FW_OK;
}

static void count(const fw_fleet_box *boxes, size_t n, fw_rollout_decision *d) {
  for (size_t i = 0; i < n; i++) {
    d->active += boxes[i].status == FW_FLEET_ACTIVE;
    d->committed += boxes[i].status == FW_FLEET_COMMITTED;
    d->failed += boxes[i].status == FW_FLEET_FAILED;
  }
  d->offered = d->active + d->committed + d->failed;
}

static bool halted(const fw_rollout_policy *p, fw_rollout_decision *d) {
  size_t finished = d->committed + d->failed;
  if (p->max_failures >= 0 && d->failed > (size_t)p->max_failures) {
    snprintf(d->reason, sizeof d->reason, "%zu boxes failed, more than the %d allowed", d->failed,
             p->max_failures);
    return true;
  }
  if (p->max_failure_pct >= 0 && finished > 0 && d->failed * 100 > (size_t)p->max_failure_pct * finished) {
    snprintf(d->reason, sizeof d->reason, "%zu of %zu finished boxes failed, more than %d %%", d->failed,
             finished, p->max_failure_pct);
    return true;
  }
  return false;
}

/* Sort the PENDING boxes by rank into scratch; false on a duplicate id. */
static bool rank_pending(const fw_fleet_box *boxes, size_t n, uint64_t seed, ranked *scratch,
                         size_t *npend, const char **dup) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    scratch[k++] = (ranked){rank(seed, boxes[i].store_id), boxes[i].store_id, i};
  qsort(scratch, k, sizeof *scratch, by_rank);
  for (size_t i = 1; i < k; i++) {
    if (scratch[i].r == scratch[i - 1].r && strcmp(scratch[i].id, scratch[i - 1].id) == 0) {
      *dup = scratch[i].id;
      return false;
    }
  }
  *npend = 0;
  for (size_t i = 0; i < k; i++)
    if (boxes[scratch[i].i].status == FW_FLEET_PENDING) scratch[(*npend)++] = scratch[i];
  return true;
}

int fw_rollout_next(const fw_fleet_box *boxes, size_t n, const fw_rollout_policy *p,
                    size_t *offer, size_t cap, fw_rollout_decision *d, fw_err *err) {
  ranked *scratch = NULL;
  const char *dup = NULL;
  size_t npend = 0, room;
  int rc = check_policy(p, err);
  memset(d, 0, sizeof *d);
  for (size_t i = 0; rc == FW_OK && i < n; i++)
    if (!boxes[i].store_id) rc = fw_err_set(err, FW_EINVAL, "boxes[%zu].store_id: NULL", i);
  if (rc == FW_OK && cap < n) rc = fw_err_set(err, FW_EINVAL, "offer capacity %zu below %zu boxes", cap, n);
  if (rc == FW_OK && n && !(scratch = malloc(n * sizeof *scratch))) rc = fw_err_set(err, FW_ENOMEM, "out of memory");
  if (rc == FW_OK && n && !rank_pending(boxes, n, p->seed, scratch, &npend, &dup))
    rc = fw_err_set(err, FW_EINVAL, "store %s listed twice", dup);
  if (rc == FW_OK) {
    count(boxes, n, d);
    d->target = (p->percent * n + 99) / 100;
    d->halt = halted(p, d);
    d->done = d->target == n && d->active == 0 && d->offered == n;
    room = d->halt || d->target <= d->offered ? 0 : d->target - d->offered;
    if (p->max_in_flight) {
      size_t free_slots = d->active >= p->max_in_flight ? 0 : p->max_in_flight - d->active;
      if (free_slots < room) room = free_slots;
    }
    for (size_t i = 0; i < room && i < npend; i++) offer[d->n_offer++] = scratch[i].i;
  } else {
    memset(d, 0, sizeof *d);
  }
  free(scratch);
  return rc;
}
