/* merge_util.h - shared helpers of the proto_merge tests: seeded PRNG,
 * event builders and field-by-field state comparison. */
#ifndef MERGE_UTIL_H
#define MERGE_UTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/proto.h"

/* One property-test case: its own PRNG derived from (base seed, index), so a
 * failure is reproduced by RETAIL_SEED=<seed> alone. */
typedef struct tu_case {
  uint64_t seed;  /* base seed of the run */
  int index;      /* case number */
  uint64_t state; /* splitmix64 state */
} tu_case;

/* Base seed: $RETAIL_SEED if set, else a fixed default (deterministic). */
uint64_t tu_base_seed(void);
void tu_case_init(tu_case *c, uint64_t seed, int index);
uint64_t tu_next(tu_case *c);
uint32_t tu_below(tu_case *c, uint32_t n); /* 0..n-1 */
void tu_shuffle(tu_case *c, size_t *idx, size_t n);

/* Fails the test naming the seed and case so the run can be repeated. */
#define TU_CHECK(c, cond)                                                                   \
  do {                                                                                      \
    if (!(cond))                                                                            \
      fail_msg("%s:%d: %s failed (RETAIL_SEED=%" PRIu64 ", case %d)", __FILE__, __LINE__, \
               #cond, (c)->seed, (c)->index);                                               \
  } while (0)

/* Envelope with store "s1"; for order types the body's order_id is set. */
proto_event tu_ev(proto_event_type t, const char *origin, uint64_t seq, uint64_t hlc,
                  const char *order_id);
/* order.dispatched of kind k with lines (sku, qty) given as n pairs. */
proto_event tu_dispatch(const char *origin, uint64_t seq, uint64_t hlc, const char *order_id,
                        proto_order_kind k, int n, ...);
/* Apply and assert PROTO_OK. */
void tu_apply_ok(proto_order *o, const proto_event *ev);

/* Field-by-field equality of every field the merge defines. */
bool tu_order_eq(const proto_order *a, const proto_order *b);
bool tu_sku_eq(const proto_sku *a, const proto_sku *b);
bool tu_settings_eq(const proto_settings *a, const proto_settings *b);

#endif
