/* test_engine.c - the event log and group commit: idempotent ingest,
 * savepoint isolation, durability across reopen (seq and HLC continue),
 * corrupt files refused, full disk, outbox and acks, command ids, feed,
 * version vector, state rebuild. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "node_test.h"

static int receive(tctx *t, const char *sku, int64_t q, const char *note) {
  return node_stock_adjust(t->e, sku, q, PROTO_STOCK_RECEIVE, NULL, NULL, note, "s-li", &t->err);
}

static void idempotent_ingest(void **state) {
  tctx *t = *state;
  proto_event ev;
  t_hq_init(&*t, &ev, PROTO_EV_ORDER_DISPATCHED);
  proto_ev_dispatched *d = &ev.body.dispatched;
  snprintf(d->order_id, PROTO_ID_MAX, "o-1");
  snprintf(d->pickup_code, PROTO_CODE_MAX, "1234");
  d->n_items = 1;
  snprintf(d->items[0].sku, PROTO_ID_MAX, "latte");
  snprintf(d->items[0].name, PROTO_NAME_MAX, "latte");
  d->items[0].qty = 1;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  proto_order a = t_order(t, "o-1");
  size_t changes = t->n_changes;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err)); /* same batch or later: nothing */
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  t_reopen(t);
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  proto_order b = t_order(t, "o-1");
  assert_int_equal(proto_order_hash(&a), proto_order_hash(&b));
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events"), 1);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM order_items"), 1);
  assert_int_equal(t->n_changes, changes); /* no on_change for duplicates */
  node_engine_stats s;
  T_OK(t, node_engine_stats_get(t->e, &s, &t->err));
  assert_int_equal(s.events_duplicate, 1); /* since this open */
  assert_int_equal(s.orders_by_status[PROTO_MS_DISPATCHED], 1);
}

static void savepoint_isolation(void **state) {
  tctx *t = *state;
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_COMMIT(t);
  size_t base = t->n_changes;
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_RC(t, NODE_ENOTFOUND, node_order_accept(t->e, "o-missing", "s-li", &t->err));
  T_RC(t, NODE_EILLEGAL, node_order_complete(t->e, "o-2", "1234", "s-li", &t->err));
  T_OK(t, node_order_prepare(t->e, "o-1", "s-li", &t->err));
  T_RC(t, NODE_ENOTFOUND, node_order_item_unavailable(t->e, "o-2", "nope", "s-li", &t->err));
  /* a command that wrote an event and then failed leaves no trace either */
  node__txn tx;
  proto_event ev;
  T_OK(t, node__begin(t->e, &tx, &t->err));
  proto_event_init(&ev, PROTO_EV_ORDER_READY, T_STORE, 0, 0, T_STORE);
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-1");
  T_OK(t, node__emit(t->e, &ev, &t->err));
  assert_int_equal(ev.seq, 3);
  assert_int_equal(node__end(t->e, &tx, NODE_EINVAL, &t->err), NODE_EINVAL);
  T_OK(t, node_order_accept(t->e, "o-2", "s-li", &t->err));
  assert_int_equal(node_engine_pending(t->e), 3);
  assert_int_equal(t->n_changes, base); /* nothing reported before the commit */
  T_COMMIT(t);
  assert_int_equal(node_engine_pending(t->e), 0);
  assert_int_equal(t->n_changes, base + 3);
  for (size_t i = 0; i < 3; i++) {
    assert_true(t->local[base + i]);
    assert_int_equal(t->seqs[base + i], i + 1); /* gap-free */
    assert_true(t->feeds[base + i] > t->feeds[base + i - 1]);
  }
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_PREPARING);
  assert_int_equal(t_status(t, "o-2"), PROTO_MS_ACCEPTED);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events"), 5);
}

static void reopen_continues(void **state) {
  tctx *t = *state;
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, receive(t, "latte", 5, NULL));
  T_COMMIT(t);
  int64_t hlc = t_count(t, "SELECT MAX(hlc) FROM events");
  uint64_t feed = node_engine_feed(t->e);
  /* uncommitted work is lost at close: it was never acknowledged */
  T_OK(t, node_order_prepare(t->e, "o-1", "s-li", &t->err));
  t_close(t);
  t->now -= 86400 * 1000; /* a box without RTC: the wall clock went back */
  t_open(t);
  assert_int_equal(node_engine_feed(t->e), feed);
  assert_int_equal(t_status(t, "o-1"), PROTO_MS_ACCEPTED);
  assert_int_equal(t_stock(t, "latte").on_hand, 5);
  T_OK(t, node_order_prepare(t->e, "o-1", "s-li", &t->err));
  T_COMMIT(t);
  assert_int_equal(t->seqs[t->n_changes - 1], 3); /* continues after the last committed */
  assert_true(t_count(t, "SELECT MAX(hlc) FROM events") > hlc);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events WHERE origin='" T_STORE "'"), 3);
  assert_int_equal(t_count(t, "SELECT MAX(seq) FROM events WHERE origin='" T_STORE "'"), 3);
}

static void corrupt_write(const char *path, off_t from, size_t n) {
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  char junk[4096];
  memset(junk, 0x5a, sizeof junk);
  for (size_t done = 0; done < n; done += sizeof junk)
    assert_int_equal(pwrite(fd, junk, sizeof junk, from + (off_t)done), (ssize_t)sizeof junk);
  close(fd);
}

static void corrupt_refused(void **state) {
  tctx *t = *state;
  node_engine *e = NULL;
  node_err err = {0};
  node_engine_opts o = {.db_path = t->path, .store_id = T_STORE};
  for (int i = 0; i < 20; i++) T_OK(t, receive(t, "latte", 1, NULL));
  T_COMMIT(t);
  t_close(t);
  corrupt_write(t->path, 4096, 4 * 4096); /* pages 2..5: b-tree pages */
  assert_int_equal(node_engine_open(&e, &o, &err), NODE_ECORRUPT);
  assert_null(e);
  assert_non_null(strstr(err.msg, "corrupt"));
  assert_non_null(strstr(err.msg, t->path));
  corrupt_write(t->path, 0, 4096); /* and the header: not a database at all */
  assert_int_equal(node_engine_open(&e, &o, &err), NODE_ECORRUPT);
  assert_null(e);
  /* a file that is not SQLite at all */
  FILE *f = fopen(t->path, "wb");
  assert_non_null(f);
  fputs("this is not a database, just some text a careless script wrote\n", f);
  fclose(f);
  assert_int_equal(node_engine_open(&e, &o, &err), NODE_ECORRUPT);
  assert_null(e);
}

typedef struct ob {
  int n;
  uint64_t seqs[16];
  size_t bytes;
} ob;

static int ob_cb(void *ctx, const proto_event *ev, const char *json, size_t len) {
  ob *o = ctx;
  if (o->n < 16) o->seqs[o->n] = ev->seq;
  o->n++;
  o->bytes += len;
  assert_string_equal(ev->origin, T_STORE);
  assert_int_equal(strlen(json), len);
  return 0;
}

static ob outbox(tctx *t, size_t max_events, size_t max_bytes) {
  ob o = {0};
  T_OK(t, node_engine_outbox_each(t->e, max_events, max_bytes, ob_cb, &o, &t->err));
  return o;
}

static void outbox_ack(void **state) {
  tctx *t = *state;
  for (int i = 0; i < 5; i++) T_OK(t, receive(t, "latte", 1, NULL));
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL); /* remote: not ours */
  T_COMMIT(t);
  ob o = outbox(t, 100, 1 << 20);
  assert_int_equal(o.n, 5);
  assert_int_equal(o.seqs[0], 1);
  assert_int_equal(o.seqs[4], 5);
  assert_int_equal(outbox(t, 2, 1 << 20).n, 2);
  assert_int_equal(outbox(t, 100, 1).n, 1); /* at least one */
  assert_int_equal(outbox(t, 100, o.bytes / 5 * 2 + 1).n, 2);
  T_OK(t, receive(t, "latte", 1, NULL));
  assert_int_equal(outbox(t, 100, 1 << 20).n, 5); /* not committed: not sent */
  T_COMMIT(t);
  assert_int_equal(outbox(t, 100, 1 << 20).n, 6);
  T_OK(t, node_engine_outbox_ack(t->e, 3, &t->err));
  T_COMMIT(t);
  o = outbox(t, 100, 1 << 20);
  assert_int_equal(o.n, 3);
  assert_int_equal(o.seqs[0], 4);
  node_engine_stats s;
  T_OK(t, node_engine_stats_get(t->e, &s, &t->err));
  assert_int_equal(s.outbox_depth, 3);
  assert_int_equal(s.last_acked_seq, 3);
  assert_int_equal(s.last_seq, 6);
  assert_true(s.commits >= 3);
  assert_true(s.commit_ns_max > 0);
  t_reopen(t);
  assert_int_equal(outbox(t, 100, 1 << 20).n, 3);
  T_OK(t, node_engine_outbox_ack(t->e, 2, &t->err)); /* older ack: no-op */
  T_OK(t, node_engine_outbox_ack(t->e, 1000, &t->err)); /* clamps to what exists */
  T_COMMIT(t);
  assert_int_equal(outbox(t, 100, 1 << 20).n, 0);
  T_OK(t, node_engine_stats_get(t->e, &s, &t->err));
  assert_int_equal(s.last_acked_seq, 6);
}

static void clock_skew(void **state) {
  tctx *t = *state;
  proto_event ev;
  uint64_t now = t->now;
  t->now += 120000; /* HQ's clock 2 minutes ahead, bound 1 minute */
  t_hq_init(t, &ev, PROTO_EV_RIDER_ARRIVED);
  t->now = now;
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-1");
  T_RC(t, NODE_ECLOCK, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events"), 0);
  assert_int_equal(t->e->hlc.last, 0);
  /* a foreign store's event is refused too */
  t_hq_init(t, &ev, PROTO_EV_RIDER_ARRIVED);
  snprintf(ev.store, PROTO_ID_MAX, "s-999");
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-1");
  T_RC(t, NODE_EINVAL, node_engine_ingest(t->e, &ev, &t->err));
}

static void disk_full(void **state) {
  tctx *t = *state;
  char note[250], pragma[64];
  memset(note, 'n', sizeof note - 1);
  note[sizeof note - 1] = '\0';
  T_OK(t, receive(t, "latte", 1, note));
  T_COMMIT(t);
  int64_t pages = t_count(t, "PRAGMA page_count");
  snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%lld", (long long)pages + 8);
  T_OK(t, node__db_exec(&t->e->db, pragma, &t->err));
  int64_t durable = 1, batch = 0;
  int rc = NODE_OK, i;
  for (i = 0; i < 5000 && rc == NODE_OK; i++) {
    rc = receive(t, "latte", 1, note);
    if (rc == NODE_OK) batch++;
    if (rc == NODE_OK && i % 5 == 4) {
      rc = node_engine_commit(t->e, &t->err);
      durable += rc == NODE_OK ? batch : 0;
      batch = 0;
    }
  }
  assert_int_equal(rc, NODE_EFULL);
  assert_non_null(strstr(node_err_wire(rc), "storage_full"));
  /* The rest of the batch: either still good or lost as a whole; the
   * caller is told which by the commit. */
  rc = node_engine_commit(t->e, &t->err);
  assert_true(rc == NODE_OK || rc == NODE_EFULL);
  durable += rc == NODE_OK ? batch : 0;
  T_OK(t, node__db_exec(&t->e->db, "PRAGMA max_page_count=1073741823", &t->err));
  T_OK(t, receive(t, "latte", 1, note));
  T_COMMIT(t);
  durable++;
  assert_int_equal(t_stock(t, "latte").on_hand, durable);
  t_reopen(t); /* quick_check passes, everything acknowledged is there */
  assert_int_equal(t_stock(t, "latte").on_hand, durable);
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events"), durable);
  assert_int_equal(t_count(t, "SELECT MAX(seq) FROM events"), durable); /* gap-free */
}

static void command_ids(void **state) {
  tctx *t = *state;
  char buf[64];
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_engine_cmd_record(t->e, "tab1-000042", "{\"ok\":true}", &t->err));
  T_COMMIT(t);
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000042", buf, sizeof buf), NODE_OK);
  assert_string_equal(buf, "{\"ok\":true}");
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000043", buf, sizeof buf), NODE_ENOTFOUND);
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000042", buf, 4), NODE_OK);
  assert_string_equal(buf, "{\"o");
  T_RC(t, NODE_EINVAL, node_engine_cmd_record(t->e, "bad id", "{}", &t->err));
  /* a command id recorded in a batch that never committed is forgotten */
  T_OK(t, node_engine_cmd_record(t->e, "tab1-000044", "{}", &t->err));
  t_reopen(t);
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000042", buf, sizeof buf), NODE_OK);
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000044", buf, sizeof buf), NODE_ENOTFOUND);
  /* old ids are forgotten after a week */
  t->now += NODE_CMD_KEEP_MS + 1;
  t_reopen(t);
  assert_int_equal(node_engine_cmd_lookup(t->e, "tab1-000042", buf, sizeof buf), NODE_ENOTFOUND);
}

typedef struct seen_keys {
  int n;
  char keys[8][PROTO_ID_MAX];
  proto_target targets[8];
} seen_keys;

static int key_cb(void *ctx, proto_target target, const char *key) {
  seen_keys *s = ctx;
  if (s->n < 8) {
    snprintf(s->keys[s->n], PROTO_ID_MAX, "%s", key);
    s->targets[s->n] = target;
  }
  s->n++;
  return 0;
}

static void feed_and_changes(void **state) {
  tctx *t = *state;
  seen_keys s = {0};
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_COMMIT(t);
  uint64_t since = node_engine_feed(t->e);
  assert_int_equal(since, 1);
  T_OK(t, receive(t, "latte", 1, NULL));
  T_OK(t, receive(t, "latte", 1, NULL));
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_prepare(t->e, "o-1", "s-li", &t->err));
  assert_int_equal(node_engine_feed(t->e), 1); /* uncommitted is invisible */
  T_COMMIT(t);
  assert_int_equal(node_engine_feed(t->e), 5);
  assert_int_equal(node_engine_feed_floor(t->e), 0);
  T_OK(t, node_engine_changes_since(t->e, since, key_cb, &s, &t->err));
  assert_int_equal(s.n, 2); /* distinct (target, key) */
  bool order = false, stock = false;
  for (int i = 0; i < 2; i++) {
    order = order || (s.targets[i] == PROTO_TARGET_ORDER && strcmp(s.keys[i], "o-1") == 0);
    stock = stock || (s.targets[i] == PROTO_TARGET_STOCK && strcmp(s.keys[i], "latte") == 0);
  }
  assert_true(order && stock);
}

static void version_vector(void **state) {
  tctx *t = *state;
  proto_vv vv;
  proto_event ev;
  proto_vv_init(&vv);
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL); /* hq:1 */
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL); /* hq:2 */
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_engine_vv(t->e, &vv, &t->err));
  assert_int_equal(proto_vv_contiguous(&vv, "hq"), 0); /* nothing committed yet */
  T_COMMIT(t);
  t->hq_seq = 3; /* hq:3 is lost in transit, hq:4 arrives */
  t_hq_init(t, &ev, PROTO_EV_RIDER_ARRIVED);
  snprintf(ev.body.step.order_id, PROTO_ID_MAX, "o-2");
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_COMMIT(t);
  T_OK(t, node_engine_vv(t->e, &vv, &t->err));
  assert_int_equal(proto_vv_contiguous(&vv, "hq"), 2);
  assert_int_equal(proto_vv_max(&vv, "hq"), 4);
  assert_int_equal(proto_vv_contiguous(&vv, T_STORE), 1);
  t_reopen(t);
  proto_vv again;
  proto_vv_init(&again);
  T_OK(t, node_engine_vv(t->e, &again, &t->err));
  assert_true(proto_vv_equal(&vv, &again));
  proto_vv_close(&vv);
  proto_vv_close(&again);
}

static void own_events_return(void **state) {
  tctx *t = *state;
  proto_event ev;
  /* HQ sends back our own event 10 (the box was restored from an old
   * backup): we never reuse its seq. */
  proto_event_init(&ev, PROTO_EV_STOCK_DELTA, T_STORE, 10, PROTO_HLC_MAKE(t->now, 0), T_STORE);
  snprintf(ev.body.delta.sku, PROTO_ID_MAX, "latte");
  ev.body.delta.delta = 4;
  ev.body.delta.reason = PROTO_STOCK_RECEIVE;
  T_OK(t, node_engine_ingest(t->e, &ev, &t->err));
  T_OK(t, receive(t, "latte", 1, NULL));
  T_COMMIT(t);
  assert_int_equal(t->seqs[t->n_changes - 1], 11);
  assert_int_equal(t_stock(t, "latte").on_hand, 5);
}

static void rebuild_same_state(void **state) {
  tctx *t = *state;
  t_dispatch(t, "o-1", PROTO_KIND_DELIVERY, "1234", "latte", 2, NULL);
  t_dispatch(t, "o-2", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_OK(t, receive(t, "latte", 3, NULL));
  T_OK(t, node_order_accept(t->e, "o-1", "s-li", &t->err));
  T_OK(t, node_order_accept(t->e, "o-2", "s-li", &t->err)); /* sells out */
  T_OK(t, node_order_cancel(t->e, "o-2", NULL, "s-li", &t->err));
  proto_ev_settings s = {.present = 1u << PROTO_SET_NAME};
  snprintf(s.v.name, sizeof s.v.name, "国贸店");
  T_OK(t, node_settings_set(t->e, &s, "s-mgr", &t->err));
  T_COMMIT(t);
  proto_order a1 = t_order(t, "o-1"), a2 = t_order(t, "o-2");
  node_stock_view va = t_stock(t, "latte");
  int64_t events = t_count(t, "SELECT COUNT(*) FROM events");
  T_OK(t, node__db_exec(&t->e->db, "UPDATE meta SET value=1 WHERE key='layout'", &t->err));
  t_reopen(t);
  proto_order b1 = t_order(t, "o-1"), b2 = t_order(t, "o-2");
  node_stock_view vb = t_stock(t, "latte");
  assert_int_equal(proto_order_hash(&a1), proto_order_hash(&b1));
  assert_int_equal(proto_order_hash(&a2), proto_order_hash(&b2));
  assert_int_equal(va.on_hand, vb.on_hand);
  assert_int_equal(va.reserved, vb.reserved);
  assert_int_equal(proto_sku_hash(&va.sku), proto_sku_hash(&vb.sku));
  assert_int_equal(t_count(t, "SELECT COUNT(*) FROM events"), events); /* no new events */
  proto_settings st;
  T_OK(t, node_settings_get(t->e, &st, &t->err));
  assert_string_equal(st.v.name, "国贸店");
  assert_int_equal(st.v.radius_m, 5000); /* default kept */
}

static void schema_versions(void **state) {
  tctx *t = *state;
  node_engine *e = NULL;
  node_err err = {0};
  node_engine_opts o = {.db_path = t->path, .store_id = T_STORE};
  int64_t v = t_count(t, "PRAGMA user_version");
  assert_true(v >= 2);
  T_OK(t, node__db_exec(&t->e->db, "PRAGMA user_version=99", &t->err));
  t_close(t);
  assert_int_equal(node_engine_open(&e, &o, &err), NODE_EDB); /* from a newer storenode */
  assert_non_null(strstr(err.msg, "newer"));
  assert_null(e);
}

static void state_blobs(void **state) {
  tctx *t = *state;
  proto_buf b;
  proto_order o, back;
  proto_buf_init(&b);
  proto_order_init(&o, "o-1", T_STORE);
  o.info.n_items = 1;
  o.info.items[0].qty = 256; /* a zero byte inside a number */
  memset(o.remind_note, 'x', sizeof o.remind_note - 1);
  assert_int_equal(rt_db_pack(&o, sizeof o, &b), PROTO_OK);
  assert_true(b.len < sizeof o / 8);
  T_OK(t, node__unpack(b.data, b.len, &back, sizeof back, &t->err));
  assert_memory_equal(&o, &back, sizeof o);
  /* damaged blobs are refused, never half-read */
  T_RC(t, NODE_ECORRUPT, node__unpack(b.data, b.len - 1, &back, sizeof back, &t->err));
  T_RC(t, NODE_ECORRUPT, node__unpack(b.data, b.len, &back, sizeof back - 1, &t->err));
  T_RC(t, NODE_ECORRUPT, node__unpack("\0\0", 2, &back, sizeof back, &t->err));
  T_RC(t, NODE_ECORRUPT, node__unpack(NULL, 0, &back, sizeof back, &t->err));
  proto_buf_close(&b);
  /* a damaged row is reported, not loaded */
  t_dispatch(t, "o-1", PROTO_KIND_PICKUP, "1234", "latte", 1, NULL);
  T_COMMIT(t);
  T_OK(t, node__db_exec(&t->e->db, "UPDATE orders SET state=x'0102'", &t->err));
  T_RC(t, NODE_ECORRUPT, node_order_get(t->e, "o-1", &o, &t->err));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(idempotent_ingest, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(savepoint_isolation, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(reopen_continues, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(corrupt_refused, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(outbox_ack, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(clock_skew, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(disk_full, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(command_ids, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(feed_and_changes, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(version_vector, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(own_events_return, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(rebuild_same_state, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(state_blobs, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(schema_versions, t_setup, t_teardown),
  };
  return cmocka_run_group_tests_name("node_unit_engine", tests, NULL, NULL);
}
