/* statehash.c - the digest of a store's state (proto/statehash.h).
 *
 * Each row's canonical FNV-1a hash (proto_*_hash) is tagged with its part,
 * passed through a 64-bit finaliser (so that the wrapping sum of related
 * FNV values does not cancel structure), and added to its part's sum.  The
 * whole digest hashes the parts' sums and counts.
 */
#include "proto/statehash.h"

#include <string.h>

#include "proto_int.h"

/* splitmix64's finaliser: a bijection with full avalanche. */
static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static void add(proto_state_hash *h, proto_sh_part part, uint64_t row) {
  h->sum[part] += mix(proto__fnv_u64(row, (uint64_t)part + 1));
  h->n[part]++;
}

void proto_state_hash_init(proto_state_hash *h) { memset(h, 0, sizeof *h); }

bool proto_state_hash_order(proto_state_hash *h, const proto_order *o) {
  if (o->ms_hlc[PROTO_MS_DISPATCHED] == 0) return false;
  add(h, PROTO_SH_ORDERS, proto_order_hash(o));
  return true;
}

void proto_state_hash_sku(proto_state_hash *h, const proto_sku *s, int64_t on_hand) {
  add(h, PROTO_SH_SKUS, proto__fnv_u64(proto_sku_hash(s), (uint64_t)on_hand));
}

void proto_state_hash_settings(proto_state_hash *h, const proto_settings *s) {
  add(h, PROTO_SH_SETTINGS, proto_settings_hash(s));
}

uint64_t proto_state_hash_value(const proto_state_hash *h, proto_sh_part part) {
  uint64_t d = PROTO__FNV_INIT;
  for (int p = 0; p < PROTO_SH__COUNT; p++) {
    if (part != PROTO_SH__COUNT && part != (proto_sh_part)p) continue;
    d = proto__fnv_u64(proto__fnv_u64(d, h->sum[p]), h->n[p]);
  }
  return d;
}
