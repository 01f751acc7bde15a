/* proto/vv.h - version vectors: per origin, the highest gap-free seq held
 * ("contiguous") plus the set of later seqs already held.
 *
 * Used to make delivery exactly-once over an at-least-once transport:
 * proto_vv_add() says whether an (origin, seq) is new, and comparing two
 * vectors (proto_vv_missing) says exactly what the other side lacks.
 * Entries are kept sorted by origin; held seqs sorted ascending and folded
 * into "contiguous" as soon as the gap closes.
 */
#ifndef PROTO_VV_H
#define PROTO_VV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"
#include "proto/event.h"

typedef struct proto_vv_entry {
  char origin[PROTO_ID_MAX];
  uint64_t contiguous;   /* every seq 1..contiguous is held */
  uint64_t *held;        /* sorted seqs > contiguous + 1 that are held */
  size_t n_held, cap_held;
} proto_vv_entry;

typedef struct proto_vv {
  proto_vv_entry *e;     /* sorted by origin (strcmp) */
  size_t n, cap;
} proto_vv;

void proto_vv_init(proto_vv *vv);
/* Frees everything; vv is then as after proto_vv_init(). */
void proto_vv_close(proto_vv *vv);
void proto_vv_reset(proto_vv *vv);

/* Record (origin, seq).  *added (may be NULL) is true if it was new.
 * PROTO_EINVAL for seq 0 or a bad origin, PROTO_ENOMEM: vv unchanged. */
int proto_vv_add(proto_vv *vv, const char *origin, uint64_t seq, bool *added);
bool proto_vv_has(const proto_vv *vv, const char *origin, uint64_t seq);
/* Highest gap-free seq of origin (0 if none). */
uint64_t proto_vv_contiguous(const proto_vv *vv, const char *origin);
/* Highest seq held of origin, gap or not (0 if none). */
uint64_t proto_vv_max(const proto_vv *vv, const char *origin);
const proto_vv_entry *proto_vv_find(const proto_vv *vv, const char *origin);
/* Set origin's contiguous to at least seq (e.g. from an acknowledgement);
 * held seqs at or below it are dropped. */
int proto_vv_advance(proto_vv *vv, const char *origin, uint64_t seq);
/* into := into U from.  PROTO_ENOMEM leaves into holding a subset of the union. */
int proto_vv_merge(proto_vv *into, const proto_vv *from);
bool proto_vv_equal(const proto_vv *a, const proto_vv *b);
/* Call fn(ctx, origin, first, last) for each maximal run of seqs
 * first..last (inclusive) that `have` holds and `other` lacks, origin by
 * origin, ascending.  Stops early if fn returns non-zero and returns that
 * value; 0 when every run was visited. */
typedef int (*proto_vv_range_fn)(void *ctx, const char *origin, uint64_t first, uint64_t last);
int proto_vv_missing(const proto_vv *have, const proto_vv *other, proto_vv_range_fn fn, void *ctx);

#endif
