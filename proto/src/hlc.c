/* hlc.c - hybrid logical clock; the rules are in proto/hlc.h. */
#include <inttypes.h>
#include <time.h>

#include "proto/hlc.h"

void proto_hlc_init(proto_hlc *c, uint64_t persisted, uint64_t max_ahead_ms) {
  c->last = persisted;
  c->max_ahead_ms = max_ahead_ms;
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t m = a > b ? a : b;
  return m > c ? m : c;
}

static uint64_t wall_stamp(uint64_t wall_ms) {
  if (wall_ms > PROTO_HLC_MS_MAX) wall_ms = PROTO_HLC_MS_MAX;
  return PROTO_HLC_MAKE(wall_ms, 0);
}

uint64_t proto_hlc_send(proto_hlc *c, uint64_t wall_ms) {
  c->last = max3(c->last + 1, wall_stamp(wall_ms), 0);
  return c->last;
}

int proto_hlc_recv(proto_hlc *c, uint64_t wall_ms, uint64_t remote, proto_err *err) {
  /* Reference: the wall clock, or our own last timestamp if the wall clock
   * is behind it (a box without RTC booting at 1970). */
  uint64_t ref = wall_ms > PROTO_HLC_MS(c->last) ? wall_ms : PROTO_HLC_MS(c->last);
  uint64_t rms = PROTO_HLC_MS(remote);
  if (rms > ref && rms - ref > c->max_ahead_ms)
    return proto_err_set(err, PROTO_ECLOCK_SKEW,
                         "hlc: remote %" PRIu64 " ms is %" PRIu64 " ms ahead of %" PRIu64
                         " ms (bound %" PRIu64 " ms)",
                         rms, rms - ref, ref, c->max_ahead_ms);
  c->last = max3(c->last + 1, remote + 1, wall_stamp(wall_ms));
  return PROTO_OK;
}

uint64_t proto_hlc_last(const proto_hlc *c) { return c->last; }

uint64_t proto_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
