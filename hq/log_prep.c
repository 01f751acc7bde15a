/* log_prep.c - a store's events batch made ready for the store log
 * (hq/log.h): decoded and checked once, on whichever thread receives it
 * (hq's MQTT client thread, through rt_mqtt's prepare hook; the caller's in
 * hq_core_submit without one), so the log thread only inserts rows and the
 * loop only merges: no event's JSON is decoded twice.
 *
 * What is checked here is what does not depend on time or on the log: the
 * batch is well formed (proto_batch_decode_each, one pass; a late fault
 * starts over with the reference decoder), and every event's store and
 * origin are the topic's store (a box writes only as itself).  A refusal
 * travels in rc/err and nothing of the batch is logged.  The HLC bound is
 * the log thread's (it needs the clock when the row is written).
 */
#include <stdlib.h>
#include <string.h>

#include "core_int.h"
#include "log.h"

enum { STOP_REFUSE = PROTO__ERR_COUNT + 1 };

/* Append n bytes to *buf (grown by doubling from `first`); -1: no memory. */
static int append(char **buf, size_t *len, size_t *cap, size_t first, const void *p, size_t n) {
  if (*len + n > *cap) {
    size_t c = *cap ? *cap : first > n ? first : n;
    while (c < *len + n) c *= 2;
    char *q = realloc(*buf, c);
    if (!q) return -1;
    *buf = q;
    *cap = c;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  return 0;
}

static int keep(hq_prepared *p, const proto_event *ev, const char *json, size_t len) {
  if (p->n == p->cap) {
    size_t c = p->cap ? p->cap * 2 : 128;
    hq__prepev *q = realloc(p->e, c * sizeof *q);
    if (!q) return -1;
    p->e = q;
    p->cap = c;
  }
  hq__prepev *e = &p->e[p->n];
  size_t size = proto_event_size(ev->type);
  e->ev_off = (uint32_t)p->evs_len;
  e->ev_len = (uint32_t)size;
  e->js_off = (uint32_t)p->json_len;
  e->js_len = (uint32_t)len;
  /* A batch's JSON is at most its bytes; decoded, ~2x (most events). */
  if (append(&p->evs, &p->evs_len, &p->evs_cap, 2 * p->bytes, ev, size) != 0 ||
      append(&p->json, &p->json_len, &p->json_cap, p->bytes, json, len) != 0)
    return -1;
  p->n++;
  return 0;
}

static int on_event(void *ctx, const proto_event *ev, const char *json, size_t len) {
  hq_prepared *p = ctx;
  const char *field = strcmp(ev->store, p->store) != 0    ? "store"
                      : strcmp(ev->origin, p->store) != 0 ? "origin"
                                                          : NULL;
  if (field) {
    hq_err_set(&p->err, HQ_EWRONGSTORE, "events[%zu].%s '%.63s' on the topic of store '%s'", p->n,
               field, field[0] == 's' ? ev->store : ev->origin, p->store);
    return STOP_REFUSE;
  }
  if (keep(p, ev, json, len) != 0) {
    hq_err_set(&p->err, HQ_ENOMEM, "store log: out of memory");
    return STOP_REFUSE;
  }
  return 0;
}

/* The reference decoder decides the batch after all: forget what the fast
 * reader handed over. */
static void restart(void *ctx) {
  hq_prepared *p = ctx;
  p->n = p->evs_len = p->json_len = 0;
  hq_err_clear(&p->err);
}

hq_prepared *hq__prep_make(const char *store, const void *payload, size_t len) {
  char batch_store[PROTO_ID_MAX] = "";
  proto_err perr = {0};
  hq_prepared *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  snprintf(p->store, sizeof p->store, "%s", store);
  p->bytes = len;
  hq_err_clear(&p->err);
  int prc = proto_batch_decode_each(payload, len, batch_store, on_event, restart, p, &perr);
  if (prc == STOP_REFUSE) p->rc = p->err.code ? p->err.code : HQ_EINVAL;
  else if (prc != PROTO_OK) p->rc = hq__err_proto(prc, &perr, &p->err);
  else if (strcmp(batch_store, p->store) != 0)
    p->rc = hq_err_set(&p->err, HQ_EWRONGSTORE, "batch store '%.63s' on the topic of store '%s'",
                       batch_store, p->store);
  if (p->rc != HQ_OK) p->n = 0;
  return p;
}

void hq__prep_free(hq_prepared *p) {
  if (!p) return;
  free(p->e);
  free(p->evs);
  free(p->json);
  free(p);
}

/* ---- public (core.h) ----------------------------------------------------------------- */

hq_prepared *hq_core_prepare(const char *topic, const void *payload, size_t len) {
  char store[PROTO_ID_MAX];
  proto_repl_kind kind;
  hq_err err;
  if (hq__ingest_check(topic, len, payload, store, &kind, &err) != HQ_OK || kind != PROTO_REPL_EVENTS)
    return NULL; /* hq_core_submit says why, or handles it at once */
  return hq__prep_make(store, payload ? payload : "", len);
}

void hq_core_prepared_free(hq_prepared *p) { hq__prep_free(p); }
