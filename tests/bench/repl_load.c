/* repl_load.c - load tool of the replication benchmarks (not a benchmark
 * itself: built with retail_benches, not listed in the manifest; the
 * tests/bench/repl_*.bench.mjs drive it and read its one JSON line).
 *
 *   repl_load pub    --port P (--stores N --batches B --events E | --db F --store S [--events E])
 *                    [--conns K] [--timeout-s T]
 *       publish the corpus through the broker as stores would (QoS 1,
 *       K connections), wait until HQ's down/ack covers every store's last
 *       seq: {"mode":"pub","events","messages","secs","events_per_s",...}
 *   repl_load raw    --dir D --txn-events T (--stores N --batches B --events E | --db F --store S)
 *                    [--settings hq|defaults]
 *       the baseline: the same event rows, in the same order, into a fresh
 *       SQLite file in D laid out as hq's log (events table, UNIQUE(origin,
 *       seq), INSERT OR IGNORE, WAL, synchronous=FULL), COMMIT every T
 *       events; with hq's connection settings (hq/core.c server_pragmas:
 *       page cache, checkpoint interval; the default) or SQLite's defaults:
 *       {"mode":"raw","events","secs","events_per_s","commits","settings"}
 *   repl_load steady --port P --stores N [--rate R] --secs S [--conns K]
 *       N stores each sending one event per 1/R s; latency to HQ's ack:
 *       {"mode":"steady","sent","acked","p50_ms","p99_ms",...}
 *
 * Exit status: 0 ok, 1 failure (the reason on stderr), 2 usage.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "proto/codec.h"
#include "proto/hlc.h"
#include "repl_load.h"

#define N_SKUS 16

double rl_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the corpus -------------------------------------------------------------------- */

void rl_corpus_free(rl_corpus *c) {
  free(c->stores);
  free(c->topics);
  free(c->store_last);
  free(c->rows);
  free(c->msgs);
  proto_buf_close(&c->json);
  proto_buf_close(&c->payloads);
  memset(c, 0, sizeof *c);
}

static int cmp_store(const void *a, const void *b) { return strcmp(a, b); }

int rl_corpus_store(const rl_corpus *c, const char *store) {
  const char(*hit)[PROTO_ID_MAX] = bsearch(store, c->stores, c->n_stores, sizeof *c->stores, cmp_store);
  return hit ? (int)(hit - c->stores) : -1;
}

static int stores_init(rl_corpus *c, uint32_t n, char *why, size_t cap) {
  c->stores = calloc(n, sizeof *c->stores);
  c->topics = calloc(n, sizeof *c->topics);
  c->store_last = calloc(n, sizeof *c->store_last);
  c->n_stores = n;
  if (!c->stores || !c->topics || !c->store_last) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  return 0;
}

static int topics_make(rl_corpus *c, char *why, size_t cap) {
  proto_err perr = {0};
  for (uint32_t i = 0; i < c->n_stores; i++) {
    if (proto_topic_make(c->topics[i], sizeof c->topics[i], c->stores[i], PROTO_DIR_UP,
                         PROTO_REPL_EVENTS, &perr) != PROTO_OK) {
      snprintf(why, cap, "topic of %s: %s", c->stores[i], perr.msg);
      return -1;
    }
  }
  return 0;
}

static int row_add(rl_corpus *c, uint32_t store, const proto_event *ev, const char *json, size_t len) {
  if (c->n_rows == c->cap_rows) {
    size_t ncap = c->cap_rows ? c->cap_rows * 2 : 4096;
    rl_row *p = realloc(c->rows, ncap * sizeof *p);
    if (!p) return -1;
    c->rows = p;
    c->cap_rows = ncap;
  }
  rl_row *r = &c->rows[c->n_rows++];
  r->store = store;
  r->seq = ev->seq;
  r->hlc = ev->hlc;
  r->type = ev->type;
  snprintf(r->key, sizeof r->key, "%s", proto_event_key(ev));
  r->off = c->json.len;
  r->len = len;
  return proto_buf_append(&c->json, json, len) == PROTO_OK ? 0 : -1;
}

static int msg_add(rl_corpus *c, uint32_t store, uint64_t last_seq, const proto_buf *batch) {
  if (c->n_msgs == c->cap_msgs) {
    size_t ncap = c->cap_msgs ? c->cap_msgs * 2 : 1024;
    rl_msg *p = realloc(c->msgs, ncap * sizeof *p);
    if (!p) return -1;
    c->msgs = p;
    c->cap_msgs = ncap;
  }
  c->msgs[c->n_msgs++] = (rl_msg){store, last_seq, c->payloads.len, batch->len};
  return proto_buf_append(&c->payloads, batch->data, batch->len) == PROTO_OK ? 0 : -1;
}

/* Event number seq (1-based) of a store: a 5-step cycle per order. */
static void make_event(proto_event *ev, const char *store, uint64_t seq, uint64_t hlc) {
  static const proto_event_type steps[] = {PROTO_EV_ORDER_ACCEPTED, PROTO_EV_ORDER_PREPARING,
                                           PROTO_EV_ORDER_READY, PROTO_EV_ORDER_COMPLETED};
  uint64_t k = (seq - 1) / 5, step = (seq - 1) % 5;
  char order[PROTO_ID_MAX];
  snprintf(order, sizeof order, "o-%s-%llu", store, (unsigned long long)k);
  if (step < 4) {
    proto_event_init(ev, steps[step], store, seq, hlc, store);
    snprintf(ev->body.step.order_id, sizeof ev->body.step.order_id, "%s", order);
    snprintf(ev->body.step.by, sizeof ev->body.step.by, "s-%llu", (unsigned long long)(k % 7));
  } else {
    proto_event_init(ev, PROTO_EV_STOCK_DELTA, store, seq, hlc, store);
    snprintf(ev->body.delta.sku, sizeof ev->body.delta.sku, "sku-%02llu", (unsigned long long)(k % N_SKUS));
    ev->body.delta.delta = -1;
    ev->body.delta.reason = PROTO_STOCK_SALE;
    snprintf(ev->body.delta.ref, sizeof ev->body.delta.ref, "%s", order);
  }
}

int rl_corpus_generate(rl_corpus *c, const char *prefix, uint32_t stores, uint32_t batches,
                       uint32_t events, char *why, size_t cap) {
  proto_buf ev_json, batch;
  proto_err perr = {0};
  proto_event ev;
  int rc = stores_init(c, stores, why, cap);
  uint64_t hlc0 = PROTO_HLC_MAKE(proto_wall_ms(), 0);
  proto_buf_init(&ev_json);
  proto_buf_init(&batch);
  for (uint32_t s = 0; rc == 0 && s < stores; s++) snprintf(c->stores[s], PROTO_ID_MAX, "%s-%04u", prefix, s);
  if (rc == 0) rc = topics_make(c, why, cap);
  for (uint32_t b = 0; rc == 0 && b < batches; b++) {
    for (uint32_t s = 0; rc == 0 && s < stores; s++) {
      proto_batch_writer w;
      proto_buf_reset(&batch);
      rc = proto_batch_begin(&w, &batch, c->stores[s], &perr) == PROTO_OK ? 0 : -1;
      for (uint32_t e = 0; rc == 0 && e < events; e++) {
        uint64_t seq = (uint64_t)b * events + e + 1;
        make_event(&ev, c->stores[s], seq, hlc0 + seq);
        proto_buf_reset(&ev_json);
        if (proto_event_encode(&ev, &ev_json, &perr) != PROTO_OK ||
            proto_batch_add(&w, ev_json.data, ev_json.len, &perr) != PROTO_OK ||
            row_add(c, s, &ev, ev_json.data, ev_json.len) != 0)
          rc = -1;
      }
      if (rc == 0 && proto_batch_end(&w, &perr) != PROTO_OK) rc = -1;
      c->store_last[s] = (uint64_t)(b + 1) * events;
      if (rc == 0) rc = msg_add(c, s, c->store_last[s], &batch);
      if (rc != 0) snprintf(why, cap, "corpus: %s", perr.msg[0] ? perr.msg : "out of memory");
    }
  }
  proto_buf_close(&ev_json);
  proto_buf_close(&batch);
  return rc;
}

/* Read the store's own events in seq order; batches as the box forms them. */
int rl_corpus_from_db(rl_corpus *c, const char *db, const char *store, uint32_t events, char *why,
                      size_t cap) {
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  proto_batch_writer w;
  proto_buf batch;
  proto_err perr = {0};
  proto_event ev;
  int rc = stores_init(c, 1, why, cap), src = SQLITE_OK;
  bool open = false;
  proto_buf_init(&batch);
  if (rc == 0) {
    snprintf(c->stores[0], PROTO_ID_MAX, "%s", store);
    rc = topics_make(c, why, cap);
  }
  if (rc == 0 && (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
                  sqlite3_prepare_v2(h, "SELECT json FROM events WHERE origin=?1 ORDER BY seq", -1, &st, NULL) !=
                      SQLITE_OK ||
                  sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC) != SQLITE_OK)) {
    snprintf(why, cap, "%s: %s", db, h ? sqlite3_errmsg(h) : "cannot open");
    rc = -1;
  }
  while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *json = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    int prc = proto_event_decode(json, len, &ev, &perr);
    if (prc == PROTO_OK && open && w.n < events) prc = proto_batch_add(&w, json, len, &perr);
    else if (prc == PROTO_OK) prc = PROTO_EFULL;
    if (prc == PROTO_EFULL) {
      if (open && (proto_batch_end(&w, &perr) != PROTO_OK || msg_add(c, 0, c->store_last[0], &batch) != 0)) rc = -1;
      proto_buf_reset(&batch);
      prc = rc == 0 ? proto_batch_begin(&w, &batch, store, &perr) : prc;
      if (prc == PROTO_OK) prc = proto_batch_add(&w, json, len, &perr);
      open = true;
    }
    if (rc == 0 && (prc != PROTO_OK || row_add(c, 0, &ev, json, len) != 0)) rc = -1;
    c->store_last[0] = ev.seq;
    if (rc != 0) snprintf(why, cap, "%s: event %llu: %s", db, (unsigned long long)ev.seq, perr.msg);
  }
  if (rc == 0 && src != SQLITE_DONE) {
    snprintf(why, cap, "%s: %s", db, sqlite3_errmsg(h));
    rc = -1;
  }
  if (rc == 0 && open && (proto_batch_end(&w, &perr) != PROTO_OK || msg_add(c, 0, c->store_last[0], &batch) != 0)) {
    snprintf(why, cap, "last batch: %s", perr.msg);
    rc = -1;
  }
  if (rc == 0 && c->n_rows == 0) {
    snprintf(why, cap, "%s: no events of origin %s", db, store);
    rc = -1;
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  proto_buf_close(&batch);
  return rc;
}

/* ---- the raw SQLite baseline -------------------------------------------------------- */

/* hq's log table (hq/schema.c, v1) and insert (hq/db.h EV_INSERT). */
static const char *const raw_schema =
    "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  hlc INTEGER NOT NULL, store TEXT NOT NULL, type TEXT NOT NULL, target INTEGER NOT NULL,"
    "  key TEXT NOT NULL, json TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    "  UNIQUE(origin, seq));";
/* hq's own connection settings (hq/core.c, server_pragmas; temp_store
 * there is for its savepoints, which the baseline has none of). */
static const char *const raw_hq_settings = "PRAGMA cache_size=-65536;PRAGMA wal_autocheckpoint=10000;";
static const char *const raw_insert =
    "INSERT OR IGNORE INTO events(origin,seq,hlc,store,type,target,key,json,received_ms) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";

static int raw_row(sqlite3_stmt *st, const rl_corpus *c, const rl_row *r) {
  const char *store = c->stores[r->store];
  sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)r->seq);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)r->hlc);
  sqlite3_bind_text(st, 4, store, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, proto_event_type_name(r->type), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, (int)proto_event_target(r->type));
  sqlite3_bind_text(st, 7, r->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 8, c->json.data + r->off, (int)r->len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 9, (sqlite3_int64)proto_wall_ms());
  int src = sqlite3_step(st);
  sqlite3_reset(st);
  return src == SQLITE_DONE ? SQLITE_OK : src;
}

/* The rows are held in publish order (message by message, as
 * rl_corpus_generate/from_db append them): insert them so, COMMIT every
 * txn rows. */
static int raw_insert_all(sqlite3 *h, const rl_corpus *c, size_t txn, double *secs, size_t *commits) {
  sqlite3_stmt *st = NULL;
  size_t in_txn = 0;
  int src = sqlite3_prepare_v3(h, raw_insert, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  double t0 = rl_now_s();
  for (size_t i = 0; src == SQLITE_OK && i < c->n_rows; i++) {
    if (in_txn == 0) src = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (src == SQLITE_OK) src = raw_row(st, c, &c->rows[i]);
    if (src == SQLITE_OK && ++in_txn == txn) {
      src = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
      in_txn = 0;
      (*commits)++;
    }
  }
  if (src == SQLITE_OK && in_txn > 0) {
    src = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    (*commits)++;
  }
  *secs = rl_now_s() - t0;
  sqlite3_finalize(st);
  return src;
}

static int run_raw(const rl_corpus *c, const char *dir, size_t txn, bool hq_settings) {
  char path[512];
  sqlite3 *h = NULL;
  double secs = 0;
  size_t commits = 0;
  snprintf(path, sizeof path, "%s/raw-baseline.db", dir);
  for (const char *sfx = ""; sfx; sfx = *sfx ? (sfx[1] == 'w' ? "-shm" : NULL) : "-wal") {
    char p[530];
    snprintf(p, sizeof p, "%s%s", path, sfx);
    remove(p);
  }
  int src = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (src == SQLITE_OK && hq_settings) src = sqlite3_exec(h, raw_hq_settings, NULL, NULL, NULL);
  if (src == SQLITE_OK) src = sqlite3_exec(h, raw_schema, NULL, NULL, NULL);
  if (src == SQLITE_OK) src = raw_insert_all(h, c, txn, &secs, &commits);
  if (src != SQLITE_OK) fprintf(stderr, "repl_load raw: %s: %s\n", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(src));
  sqlite3_close(h);
  if (src != SQLITE_OK) return 1;
  printf("{\"mode\":\"raw\",\"events\":%zu,\"secs\":%.6f,\"events_per_s\":%.0f,\"commits\":%zu,\"txn_events\":%zu,"
         "\"settings\":\"%s\"}\n",
         c->n_rows, secs, (double)c->n_rows / secs, commits, txn, hq_settings ? "hq" : "defaults");
  return 0;
}

/* ---- command line ---------------------------------------------------------------------- */

typedef struct options {
  const char *mode, *dir, *db, *store, *prefix, *settings;
  long port, stores, batches, events, conns, txn_events;
  double timeout_s, rate, secs;
} options;

static const char usage[] =
    "usage: repl_load pub --port P (--stores N --batches B --events E | --db F --store S [--events E])\n"
    "                     [--conns K] [--timeout-s T] [--prefix X]\n"
    "       repl_load raw --dir D --txn-events T (--stores N --batches B --events E | --db F --store S)\n"
    "                     [--settings hq|defaults]\n"
    "       repl_load steady --port P --stores N --secs S [--rate R] [--conns K] [--prefix X]\n";

static int parse(options *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->prefix = "bench";
  o->settings = "hq";
  o->conns = 4;
  o->events = 256;
  o->timeout_s = 300;
  o->rate = 1;
  if (argc < 2) return -1;
  o->mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) return -1;
    const char *k = argv[i], *v = argv[i + 1];
    long *num = strcmp(k, "--port") == 0 ? &o->port : strcmp(k, "--stores") == 0 ? &o->stores
              : strcmp(k, "--batches") == 0 ? &o->batches : strcmp(k, "--events") == 0 ? &o->events
              : strcmp(k, "--conns") == 0 ? &o->conns : strcmp(k, "--txn-events") == 0 ? &o->txn_events : NULL;
    double *dbl = strcmp(k, "--timeout-s") == 0 ? &o->timeout_s : strcmp(k, "--rate") == 0 ? &o->rate
                : strcmp(k, "--secs") == 0 ? &o->secs : NULL;
    const char **str = strcmp(k, "--dir") == 0 ? &o->dir : strcmp(k, "--db") == 0 ? &o->db
                     : strcmp(k, "--store") == 0 ? &o->store : strcmp(k, "--prefix") == 0 ? &o->prefix
                     : strcmp(k, "--settings") == 0 ? &o->settings : NULL;
    char *end = NULL;
    if (num) *num = strtol(v, &end, 10);
    else if (dbl) *dbl = strtod(v, &end);
    else if (str) *str = v;
    else return -1;
    if (end && (*end || end == v)) return -1;
  }
  return 0;
}

static volatile int stop_flag;
static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int load_corpus(const options *o, rl_corpus *c) {
  char why[512] = "";
  int rc = o->db && o->store
               ? rl_corpus_from_db(c, o->db, o->store, (uint32_t)o->events, why, sizeof why)
               : o->stores > 0 && o->batches > 0 && o->events > 0 && o->events <= PROTO_BATCH_MAX_EVENTS
                     ? rl_corpus_generate(c, o->prefix, (uint32_t)o->stores, (uint32_t)o->batches,
                                          (uint32_t)o->events, why, sizeof why)
                     : (snprintf(why, sizeof why, "need --stores/--batches/--events (1..256) or --db/--store"), -1);
  if (rc != 0) fprintf(stderr, "repl_load: %s\n", why);
  return rc;
}

static int run_pub(const options *o, const rl_corpus *c) {
  rl_pub_result r;
  char why[512] = "";
  if (rl_pub(c, (int)o->port, (unsigned)o->conns, o->timeout_s, &r, why, sizeof why) != 0) {
    fprintf(stderr, "repl_load pub: %s\n", why);
    return 1;
  }
  printf("{\"mode\":\"pub\",\"stores\":%u,\"events\":%zu,\"messages\":%zu,\"bytes\":%zu,\"secs\":%.6f,"
         "\"events_per_s\":%.0f,\"pub_secs\":%.6f,\"acks\":%llu}\n",
         c->n_stores, c->n_rows, c->n_msgs, c->payloads.len, r.secs, (double)c->n_rows / r.secs, r.pub_secs,
         (unsigned long long)r.acks);
  return 0;
}

static int run_steady(const options *o) {
  rl_steady_result r;
  char why[512] = "";
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (o->stores <= 0 || o->secs <= 0 || o->rate <= 0) {
    fprintf(stderr, "repl_load steady: need --stores, --secs and --rate > 0\n%s", usage);
    return 2;
  }
  if (rl_steady(o->prefix, (uint32_t)o->stores, o->rate, o->secs, (int)o->port, (unsigned)o->conns,
                &stop_flag, &r, why, sizeof why) != 0) {
    fprintf(stderr, "repl_load steady: %s\n", why);
    return 1;
  }
  printf("{\"mode\":\"steady\",\"stores\":%ld,\"rate\":%.3f,\"sent\":%llu,\"acked\":%llu,\"secs\":%.3f,"
         "\"late_max_ms\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
         o->stores, o->rate, (unsigned long long)r.sent, (unsigned long long)r.acked, r.secs, r.late_max_ms,
         r.p50_ms, r.p99_ms, r.max_ms);
  return 0;
}

int main(int argc, char **argv) {
  options o;
  rl_corpus c;
  int rc;
  memset(&c, 0, sizeof c);
  if (parse(&o, argc, argv) != 0 || !o.mode) {
    fputs(usage, stderr);
    return 2;
  }
  if (strcmp(o.mode, "steady") == 0) return run_steady(&o);
  if (strcmp(o.mode, "pub") != 0 && strcmp(o.mode, "raw") != 0) {
    fputs(usage, stderr);
    return 2;
  }
  bool hq_settings = strcmp(o.settings, "hq") == 0;
  if ((strcmp(o.mode, "raw") == 0 && (!o.dir || o.txn_events <= 0 || (!hq_settings && strcmp(o.settings, "defaults") != 0))) ||
      (strcmp(o.mode, "pub") == 0 && o.port <= 0)) {
    fputs(usage, stderr);
    return 2;
  }
  if (load_corpus(&o, &c) != 0) return 1;
  rc = strcmp(o.mode, "raw") == 0 ? run_raw(&c, o.dir, (size_t)o.txn_events, hq_settings) : run_pub(&o, &c);
  rl_corpus_free(&c);
  return rc;
}
