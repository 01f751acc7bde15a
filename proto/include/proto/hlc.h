/* proto/hlc.h - hybrid logical clock (Kulkarni et al. 2014).
 *
 * A timestamp is one uint64: 48 bits of wall-clock milliseconds above 16 bits
 * of logical counter, so plain integer comparison orders timestamps.
 *
 * Rules (l = last issued, pt = physical wall clock in ms):
 *   send/local: l' = max(l + 1, pt << 16)            proto_hlc_send()
 *   receive m:  refuse if ms(m) > ref + max_ahead_ms, ref = max(pt, ms(l));
 *               else l' = max(l + 1, m + 1, pt << 16) proto_hlc_recv()
 * l only grows.  The counter overflowing into the ms field is harmless: it is
 * just a timestamp 1 ms later.
 *
 * Restart: the caller persists proto_hlc_last() (the node and HQ take the
 * highest hlc in their event log) and passes it to proto_hlc_init(), so the
 * clock never goes backwards even on a box without a real-time clock whose
 * wall clock restarts at 1970.
 */
#ifndef PROTO_HLC_H
#define PROTO_HLC_H

#include <stdint.h>
#include "proto/error.h"

#define PROTO_HLC_MS(h) ((uint64_t)(h) >> 16)
#define PROTO_HLC_COUNTER(h) ((uint64_t)(h)&0xFFFFu)
#define PROTO_HLC_MAKE(ms, ctr) (((uint64_t)(ms) << 16) | ((uint64_t)(ctr)&0xFFFFu))
/* 48-bit ms field: the largest wall-clock value a timestamp can hold. */
#define PROTO_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)

typedef struct proto_hlc {
  uint64_t last;          /* last timestamp issued or received */
  uint64_t max_ahead_ms;  /* refuse remote clocks further ahead than this */
} proto_hlc;

/* persisted: the highest timestamp this replica ever issued or stored (0 on
 * first boot).  max_ahead_ms: skew bound, e.g. 60000. */
void proto_hlc_init(proto_hlc *c, uint64_t persisted, uint64_t max_ahead_ms);
/* A timestamp for a local event; strictly greater than every earlier one. */
uint64_t proto_hlc_send(proto_hlc *c, uint64_t wall_ms);
/* Merge a remote timestamp.  PROTO_ECLOCK_SKEW (clock unchanged) when the
 * remote is further ahead than the bound allows; err names both values. */
int proto_hlc_recv(proto_hlc *c, uint64_t wall_ms, uint64_t remote, proto_err *err);
/* What to persist. */
uint64_t proto_hlc_last(const proto_hlc *c);
/* Current wall clock in ms (CLOCK_REALTIME); the only impure helper. */
uint64_t proto_wall_ms(void);

#endif
