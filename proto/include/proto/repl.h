/* proto/repl.h - replication messages between a store box and HQ over MQTT.
 *
 * Topics (all under retail/v1/stores/<store>/):
 *   up/hello       box -> HQ   on every (re)connect: the box's version vector
 *   up/events      box -> HQ   batch of the box's outbox events (QoS 1)
 *   up/ack         box -> HQ   per origin, highest gap-free seq the box holds
 *   up/heartbeat   box -> HQ   health figures, every heartbeat_s
 *   up/status      box -> HQ   retained "online"; the MQTT last will is
 *                              retained "offline"
 *   down/hello     HQ -> box   HQ's version vector for this store (answer to
 *                              up/hello, and on HQ start-up for known stores)
 *   down/events    HQ -> box   batch of HQ's events for this store
 *   down/ack       HQ -> box   per origin, highest gap-free seq HQ holds
 *
 * Origins: a box writes as origin "<store>"; HQ writes a store's events as
 * origin "hq:<store>", so each store's down stream is gap-free on its own
 * (one HQ counter shared by all stores would leave gaps at every box).
 *
 * Delivery: at-least-once on the wire, exactly-once in effect.  An event
 * leaves the sender's outbox only when the peer's ack covers its seq; until
 * then it is resent (after hello, and when an ack does not come within the
 * retransmit interval).  The receiver applies a batch in one transaction,
 * dropping duplicates by (origin, seq), and acks after the commit.
 *
 * Codec rules as in codec.h; batches hold at most PROTO_BATCH_MAX_EVENTS
 * events and PROTO_BATCH_MAX_BYTES bytes of JSON.
 */
#ifndef PROTO_REPL_H
#define PROTO_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/error.h"
#include "proto/event.h"
#include "proto/vv.h"

#define PROTO_TOPIC_ROOT "retail/v1"
#define PROTO_BATCH_MAX_EVENTS 256
#define PROTO_BATCH_MAX_BYTES (256 * 1024)
#define PROTO_TOPIC_MAX 160

/* up/status payloads (plain bytes, not JSON), both published retained. */
#define PROTO_STATUS_ONLINE "online"
#define PROTO_STATUS_OFFLINE "offline"

/* Message kinds = the last topic level. */
#define PROTO_REPL_KIND_MAP(X)                    \
  X(HELLO,     "hello")                           \
  X(EVENTS,    "events")                          \
  X(ACK,       "ack")                             \
  X(HEARTBEAT, "heartbeat")                       \
  X(STATUS,    "status")

typedef enum {
#define PROTO__REPL_KIND_ENUM(e, name) PROTO_REPL_##e,
  PROTO_REPL_KIND_MAP(PROTO__REPL_KIND_ENUM)
#undef PROTO__REPL_KIND_ENUM
  PROTO_REPL__COUNT
} proto_repl_kind;

typedef enum { PROTO_DIR_UP, PROTO_DIR_DOWN } proto_dir;

/* "retail/v1/stores/<store>/<up|down>/<kind>" into buf; PROTO_ETOOLONG or
 * PROTO_EINVAL (bad store id). */
int proto_topic_make(char *buf, size_t cap, const char *store, proto_dir dir,
                     proto_repl_kind kind, proto_err *err);
/* Parse a topic of that shape; store must hold PROTO_ID_MAX.  dir and kind
 * may be NULL.  PROTO_EINVAL (not that shape, bad store id), PROTO_ETOOLONG
 * (topic over PROTO_TOPIC_MAX, store over 63 bytes), PROTO_EENUM (unknown
 * direction or kind); on failure store is untouched. */
int proto_topic_parse(const char *topic, char *store, proto_dir *dir, proto_repl_kind *kind,
                      proto_err *err);
/* HQ's origin for a store: "hq:<store>".  PROTO_ETOOLONG when the store id
 * is over 60 bytes (an origin is an id of at most 63). */
int proto_hq_origin(char *buf, size_t cap, const char *store, proto_err *err);

/* ---- events batch: {"v":1,"store":"s","events":[<event>,...]} ---------- */
/* Incremental writer, so a sender can stop at the byte/count limits:
 * begin, then add pre-encoded event JSON (from proto_event_encode or the
 * log) until proto_batch_add returns PROTO_EFULL, then end. */
typedef struct proto_batch_writer {
  proto_buf *out;
  size_t n;
  size_t start;
} proto_batch_writer;
int proto_batch_begin(proto_batch_writer *w, proto_buf *out, const char *store, proto_err *err);
/* PROTO_EFULL (nothing appended) when the event would pass either limit;
 * the first event of a batch is always accepted. */
int proto_batch_add(proto_batch_writer *w, const char *event_json, size_t len, proto_err *err);
int proto_batch_end(proto_batch_writer *w, proto_err *err);

/* Decode a batch, calling fn for each event in order; fn returning non-zero
 * stops and is returned.  A malformed event fails the whole batch (nothing
 * was applied by the caller if it uses one transaction); err names the
 * index: "events[3].body.qty: ...".  *store receives the batch's store.
 * The whole batch is checked before fn is called for the first event, so a
 * malformed batch never reaches fn at all.  Every event's "store" must equal
 * the batch's "store" (else PROTO_EINVAL naming the index): a receiver then
 * only compares the batch's store with the topic's.  Input limit
 * PROTO_BATCH_MAX_BYTES; more than PROTO_BATCH_MAX_EVENTS is PROTO_ETOOLONG. */
typedef int (*proto_batch_fn)(void *ctx, const proto_event *ev);
int proto_batch_decode(const char *json, size_t len, char store[PROTO_ID_MAX], proto_batch_fn fn,
                       void *ctx, proto_err *err);
/* proto_batch_decode in one pass, for a caller that can undo (a log
 * inside a savepoint): fn gets each event as soon as it is read, with its
 * JSON: its own bytes in the input when the fast reader decides the batch,
 * else (the reference decoder keeps no positions) its canonical encoding,
 * valid during the call; either decodes to the same event, what a log can
 * store without encoding it again.  When the fast reader cannot decide
 * after fn ran (a fault further on, or a form it leaves to the reference),
 * restart(ctx) is called and the reference decides the batch from scratch:
 * two passes, fn only for a valid batch.  So the result, and the events fn
 * saw since the last restart, are proto_batch_decode's. */
typedef int (*proto_batch_each_fn)(void *ctx, const proto_event *ev, const char *json,
                                   size_t len);
int proto_batch_decode_each(const char *json, size_t len, char store[PROTO_ID_MAX],
                            proto_batch_each_fn fn, void (*restart)(void *ctx), void *ctx,
                            proto_err *err);

/* ---- hello and ack: {"v":1,"store":"s","vv":{...}} -------------------- */
/* Both carry a version vector: hello the sender's whole vector for this
 * store; ack only the contiguous seqs ("h" omitted). */
int proto_vvmsg_encode(const char *store, const proto_vv *vv, proto_buf *out, proto_err *err);
int proto_vvmsg_decode(const char *json, size_t len, char store[PROTO_ID_MAX], proto_vv *vv,
                       proto_err *err);
/* An ack: proto_vvmsg_encode of vv's contiguous seqs only (held seqs and
 * origins at 0 left out). */
int proto_ackmsg_encode(const char *store, const proto_vv *vv, proto_buf *out, proto_err *err);

/* ---- heartbeat ---------------------------------------------------------- */
/* {"v":1,"store":..,"version":..,"ts_ms":..,"hlc":"<decimal>",...}: every
 * member below is required; store and version are ids; the uint64 figures
 * must stay below 2^53 (JSON integers), hlc travels as a decimal string. */
typedef struct proto_heartbeat {
  char store[PROTO_ID_MAX];
  char version[PROTO_ID_MAX];     /* storenode version */
  uint64_t ts_ms;                 /* box wall clock */
  uint64_t hlc;                   /* box HLC */
  uint64_t uptime_s;
  uint64_t outbox_depth;
  uint64_t last_acked_seq;        /* highest own seq HQ acknowledged */
  uint64_t last_seq;              /* highest own seq written */
  uint64_t rss_kb;
  uint32_t tablets;
  uint64_t orders_open;
} proto_heartbeat;
int proto_heartbeat_encode(const proto_heartbeat *hb, proto_buf *out, proto_err *err);
int proto_heartbeat_decode(const char *json, size_t len, proto_heartbeat *hb, proto_err *err);

#endif
