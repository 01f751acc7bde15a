/* push.c - what tablets are told: live changes, alerts, snapshot, resume.
 *
 * Live: the engine reports each committed event (on_change, inside
 * node_engine_commit); we only note (target, key, highest feed, event types).
 * After the commit returns, node_push_flush sends each changed object ONCE,
 * in its newest state, ordered by feed, each message carrying the highest
 * feed of its key.  Hence, over one ordered socket: once a tablet has seen a
 * message with feed f, it has seen every key whose last change is <= f, and
 * `sync since=f` later returns exactly the keys changed after f.
 *
 * Orders reserve stock without stock events (reserved is derived), so an
 * order change also re-sends the stock of the order's SKUs.
 *
 * Alerts follow the state message they belong to:
 *   order.dispatched and still unaccepted, not acknowledged  -> new_order
 *   order.reminded                                             -> reminder
 *   order.cancelled                                            -> cancelled {waste}
 *   ... after it was prepared (proto_order_waste)              -> waste
 *   cancelled and handed off (proto_order_conflict)            -> conflict
 *   stock becomes low / SKU becomes sold out                   -> low_stock / sold_out
 * A new-order alert rings until alert.ack (broadcast as alert.acked) or until
 * the order leaves `dispatched`.  The acknowledged set lives in memory: after
 * a restart, unaccepted orders ring again, which errs on the loud side.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

#define ACKED_MAX 512
#define TBIT(t) (UINT32_C(1) << PROTO_EV_##t)
#define RESERVE_TYPES                                                                     \
  (TBIT(ORDER_DISPATCHED) | TBIT(ORDER_ACCEPTED) | TBIT(ORDER_REJECTED) |                 \
   TBIT(ORDER_CANCELLED) | TBIT(ORDER_PICKED_UP) | TBIT(ORDER_COMPLETED) |               \
   TBIT(ORDER_SHIPPED) | TBIT(ORDER_DELIVERED) | TBIT(ORDER_ITEM_UNAVAILABLE))
#define CONFLICT_TYPES                                                                    \
  (TBIT(ORDER_CANCELLED) | TBIT(ORDER_PICKED_UP) | TBIT(ORDER_COMPLETED) |                \
   TBIT(ORDER_SHIPPED) | TBIT(ORDER_DELIVERED))

/* ---- small sets ---------------------------------------------------------------- */

static bool is_acked(const node_push *p, const char *order_id) {
  for (size_t i = 0; i < p->n_acked; i++)
    if (strcmp(p->acked[i], order_id) == 0) return true;
  return false;
}

static void set_acked(node_push *p, const char *order_id, bool acked) {
  for (size_t i = 0; i < p->n_acked; i++) {
    if (strcmp(p->acked[i], order_id) != 0) continue;
    if (!acked) memmove(p->acked[i], p->acked[i + 1], (p->n_acked-- - i - 1) * sizeof p->acked[0]);
    return;
  }
  if (!acked) return;
  if (p->n_acked == ACKED_MAX) /* forget the oldest: at worst it rings again */
    memmove(p->acked[0], p->acked[1], (--p->n_acked) * sizeof p->acked[0]);
  snprintf(p->acked[p->n_acked++], PROTO_ID_MAX, "%s", order_id);
}

static node_push_flags *flags_of(node_push *p, const char *sku) {
  for (size_t i = 0; i < p->n_flags; i++)
    if (strcmp(p->flags[i].sku, sku) == 0) return &p->flags[i];
  if (p->n_flags == p->cap_flags) {
    size_t cap = p->cap_flags ? p->cap_flags * 2 : 64;
    node_push_flags *n = realloc(p->flags, cap * sizeof *n);
    if (!n) return NULL;
    p->flags = n;
    p->cap_flags = cap;
  }
  memset(&p->flags[p->n_flags], 0, sizeof p->flags[0]);
  snprintf(p->flags[p->n_flags].sku, PROTO_ID_MAX, "%s", sku);
  return &p->flags[p->n_flags++];
}

/* Find or add (target, key); keeps the highest feed and ORs the types. */
static int note_change(node_push *p, proto_target t, const char *key, uint64_t feed, uint32_t types) {
  node_push_change *c;
  if (t == PROTO_TARGET_SKU) t = PROTO_TARGET_STOCK;
  for (size_t i = 0; i < p->n_ch; i++) {
    c = &p->ch[i];
    if (c->target != t || strcmp(c->key, key) != 0) continue;
    if (feed > c->feed) c->feed = feed;
    c->types |= types;
    return NODE_OK;
  }
  if (p->n_ch == p->cap_ch) {
    size_t cap = p->cap_ch ? p->cap_ch * 2 : 64;
    node_push_change *n = realloc(p->ch, cap * sizeof *n);
    if (!n) return NODE_ENOMEM;
    p->ch = n;
    p->cap_ch = cap;
  }
  c = &p->ch[p->n_ch++];
  c->target = t;
  snprintf(c->key, sizeof c->key, "%s", key);
  c->feed = feed;
  c->types = types;
  return NODE_OK;
}

static int seed_flags(void *ctx, const node_stock_view *v) {
  node_push_flags *f = flags_of(ctx, v->sku.sku);
  if (!f) return 1;
  f->low = v->low;
  f->sold_out = proto_sku_sold_out(&v->sku);
  return 0;
}

int node_push_init(node_push *p, node_engine *e, node_err *err) {
  memset(p, 0, sizeof *p);
  p->acked = calloc(ACKED_MAX, sizeof p->acked[0]);
  if (!p->acked) return node_err_set(err, NODE_ENOMEM, "out of memory");
  return node_stock_each(e, seed_flags, p, err);
}

void node_push_free(node_push *p) {
  free(p->ch);
  free(p->acked);
  free(p->flags);
  memset(p, 0, sizeof *p);
}

void node_push_collect(node_server *s, const node_change *ch) {
  proto_event_type t = ch->ev->type;
  if (note_change(&s->push, proto_event_target(t), proto_event_key(ch->ev), ch->feed,
                  UINT32_C(1) << t) != NODE_OK)
    node_logf(s->log, NODE_LOG_ERROR, "out of memory noting a change", "feed=%" PRIu64, ch->feed);
}

void node_push_discard(node_server *s) { s->push.n_ch = 0; }

/* ---- building messages ------------------------------------------------------------ */

typedef void (*sink_fn)(node_server *s, node_wsconn *c, const proto_buf *b);

static void to_all(node_server *s, node_wsconn *c, const proto_buf *b) { node_ws_broadcast(s, b->data, b->len); }
static void to_one(node_server *s, node_wsconn *c, const proto_buf *b) { node_ws_send(c, b->data, b->len); }

static void alert(node_server *s, const char *kind, const char *order_id, const char *sku,
                  const char *message, const char *extra) {
  proto_buf b;
  proto_buf_init(&b);
  if (proto_buf_puts(&b, "{\"type\":\"alert\",\"alert\":") == PROTO_OK &&
      node_wsenc_alert(&b, kind, order_id, sku, message, extra) == PROTO_OK &&
      proto_buf_puts(&b, "}") == PROTO_OK)
    node_ws_broadcast(s, b.data, b.len);
  proto_buf_close(&b);
}

static void order_alerts(node_server *s, const proto_order *o, uint32_t types, bool alerting) {
  char extra[48];
  if ((types & TBIT(ORDER_DISPATCHED)) && alerting) alert(s, "new_order", o->order_id, NULL, NULL, NULL);
  if (types & TBIT(ORDER_REMINDED)) {
    snprintf(extra, sizeof extra, "\"n\":%" PRIu32, o->reminders);
    alert(s, "reminder", o->order_id, NULL, o->remind_note, extra);
  }
  if (types & TBIT(ORDER_CANCELLED)) {
    snprintf(extra, sizeof extra, "\"waste\":%s", proto_order_waste(o) ? "true" : "false");
    alert(s, "cancelled", o->order_id, NULL, o->cancel_reason, extra);
    if (proto_order_waste(o)) alert(s, "waste", o->order_id, NULL, NULL, NULL);
  }
  if ((types & CONFLICT_TYPES) && proto_order_conflict(o))
    alert(s, "conflict", o->order_id, NULL, "cancelled after handoff: HQ must resolve", NULL);
}

static bool alerting_of(const node_push *p, const proto_order *o) {
  return proto_order_status(o) == PROTO_MS_DISPATCHED && !is_acked(p, o->order_id);
}

/* One "order"/"stock"/"settings" message for a key, to `sink`.  live: also
 * raise the alerts its change types call for. */
static int send_key(node_server *s, node_wsconn *c, sink_fn sink, const node_push_change *ch,
                    uint64_t feed, bool live, node_err *err) {
  proto_buf b;
  int rc, enc = PROTO_OK;
  union { proto_order o; node_stock_view v; proto_settings st; } u;
  proto_buf_init(&b);
  if (ch->target == PROTO_TARGET_ORDER) {
    rc = node_order_get(s->eng, ch->key, &u.o, err);
    if (rc == NODE_OK) {
      bool alerting = alerting_of(&s->push, &u.o);
      if (proto_order_status(&u.o) != PROTO_MS_DISPATCHED) set_acked(&s->push, u.o.order_id, false);
      enc = proto_buf_printf(&b, "{\"type\":\"order\",\"feed\":%" PRIu64 ",\"order\":", feed);
      if (enc == PROTO_OK) enc = node_wsenc_order(&b, &u.o, alerting);
      if (enc == PROTO_OK && proto_buf_puts(&b, "}") == PROTO_OK) sink(s, c, &b);
      if (live) order_alerts(s, &u.o, ch->types, alerting);
    }
  } else if (ch->target == PROTO_TARGET_STOCK) {
    rc = node_stock_get(s->eng, ch->key, &u.v, err);
    if (rc == NODE_OK) {
      node_push_flags *f = flags_of(&s->push, ch->key);
      bool sold_out = proto_sku_sold_out(&u.v.sku);
      enc = proto_buf_printf(&b, "{\"type\":\"stock\",\"feed\":%" PRIu64 ",\"stock\":", feed);
      if (enc == PROTO_OK) enc = node_wsenc_stock(&b, &u.v);
      if (enc == PROTO_OK && proto_buf_puts(&b, "}") == PROTO_OK) sink(s, c, &b);
      if (live && f && u.v.low && !f->low) alert(s, "low_stock", NULL, ch->key, u.v.sku.catalog.name, NULL);
      if (live && f && sold_out && !f->sold_out) alert(s, "sold_out", NULL, ch->key, u.v.sku.catalog.name, NULL);
      if (f) {
        f->low = u.v.low;
        f->sold_out = sold_out;
      }
    }
  } else {
    rc = node_settings_get(s->eng, &u.st, err);
    if (rc == NODE_OK) {
      enc = proto_buf_printf(&b, "{\"type\":\"settings\",\"feed\":%" PRIu64 ",\"settings\":", feed);
      if (enc == PROTO_OK) enc = node_wsenc_settings(&b, &u.st);
      if (enc == PROTO_OK && proto_buf_puts(&b, "}") == PROTO_OK) sink(s, c, &b);
    }
  }
  proto_buf_close(&b);
  if (rc == NODE_OK && enc != PROTO_OK) rc = node_err_set(err, NODE_ENOMEM, "out of memory");
  return rc;
}

/* Orders re-send the stock of their SKUs (reserved is derived from them). */
static void add_order_skus(node_server *s, size_t n) {
  proto_order *o = malloc(sizeof *o);
  node_err err;
  if (!o) return;
  for (size_t i = 0; i < n; i++) {
    node_push_change ch = s->push.ch[i];
    if (ch.target != PROTO_TARGET_ORDER || !(ch.types & RESERVE_TYPES)) continue;
    if (node_order_get(s->eng, ch.key, o, &err) != NODE_OK) continue;
    for (uint32_t k = 0; k < o->info.n_items && k < PROTO_ITEMS_MAX; k++)
      note_change(&s->push, PROTO_TARGET_STOCK, o->info.items[k].sku, ch.feed, 0);
  }
  free(o);
}

static int by_feed(const void *a, const void *b) {
  const node_push_change *x = a, *y = b;
  if (x->feed != y->feed) return x->feed < y->feed ? -1 : 1;
  return (int)x->target - (int)y->target; /* the order before its stock */
}

void node_push_flush(node_server *s) {
  node_push *p = &s->push;
  node_err err;
  add_order_skus(s, p->n_ch);
  if (p->n_ch > 1) qsort(p->ch, p->n_ch, sizeof p->ch[0], by_feed);
  for (size_t i = 0; i < p->n_ch; i++) {
    node_err_clear(&err);
    if (send_key(s, NULL, to_all, &p->ch[i], p->ch[i].feed, true, &err) != NODE_OK &&
        err.code != NODE_ENOTFOUND)
      node_logf(s->log, NODE_LOG_WARN, "could not push a change", "key=%s code=%s",
                p->ch[i].key, node_err_wire(err.code));
  }
  p->n_ch = 0;
}

void node_push_alert_ack(node_server *s, const char *order_id, const char *by) {
  proto_buf b;
  set_acked(&s->push, order_id, true);
  proto_buf_init(&b);
  if (proto_buf_puts(&b, "{\"type\":\"alert.acked\",\"order_id\":") == PROTO_OK &&
      proto_buf_json_string(&b, order_id) == PROTO_OK && proto_buf_puts(&b, ",\"by\":") == PROTO_OK &&
      proto_buf_json_string(&b, by) == PROTO_OK && proto_buf_puts(&b, "}") == PROTO_OK)
    node_ws_broadcast(s, b.data, b.len);
  proto_buf_close(&b);
}

/* ---- sync: resume -------------------------------------------------------------------- */

static int note_since(void *ctx, proto_target target, const char *key) {
  node_server *s = ctx;
  /* All resume messages carry the feed the tablet asked from (see top). */
  return note_change(&s->push, target, key, 0, target == PROTO_TARGET_ORDER ? RESERVE_TYPES : 0) != NODE_OK;
}

static int resume(node_server *s, node_wsconn *c, uint64_t since, node_err *err) {
  int rc;
  /* push.ch is empty between commits: the sync handler committed first. */
  s->push.n_ch = 0;
  rc = node_engine_changes_since(s->eng, since, note_since, s, err);
  if (rc == NODE_OK) add_order_skus(s, s->push.n_ch);
  for (size_t i = 0; i < s->push.n_ch && rc == NODE_OK; i++) {
    rc = send_key(s, c, to_one, &s->push.ch[i], since, false, err);
    if (rc == NODE_ENOTFOUND) rc = NODE_OK;
  }
  s->push.n_ch = 0;
  return rc;
}

/* ---- sync ---------------------------------------------------------------------------------- */

int node_push_sync(node_server *s, node_wsconn *c, uint64_t since, bool *mode_resume,
                   uint64_t *feed, node_err *err) {
  uint64_t now = node_engine_feed(s->eng);
  *feed = now;
  *mode_resume = since > 0 && since <= now && since >= node_engine_feed_floor(s->eng);
  if (*mode_resume) return resume(s, c, since, err);
  return node_push_snapshot(s, c, now, err);
}

bool node_push_alerting(const node_server *s, const proto_order *o) { return alerting_of(&s->push, o); }
