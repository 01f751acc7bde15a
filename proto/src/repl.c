/* repl.c - the replication messages of proto/repl.h: topics, the events
 * batch, hello/ack (version-vector messages) and the heartbeat.
 *
 * Decoding pipeline, as in codec_read.c (the same codes for the same faults):
 *
 *   bytes --size--> precheck --cJSON--> tree --walk--> callback / struct
 *          ETOOLONG  EUTF8      EJSON         EMISSING ETYPE ERANGE EINVAL
 *                    EDEPTH                   EVERSION ETOOLONG (+ event codes)
 *
 * Batches, the hot path of both HQ and the boxes, first take the fast road,
 * as single events do (codec_fast.c):
 *
 *   bytes ──fast: json_reader over the batch, proto__event_read_fast per
 *     │     event, store compared (gives up on any doubt, says nothing) ─▶ fn
 *     └──▶ reference: the pipeline above for the WHOLE batch ─▶ fn, or the error
 *
 * Invariant B: the fast path decides only batches the reference accepts, and
 * then calls fn with the same events in the same order and leaves the same
 * store; so codes and messages are the reference's.  It holds because the
 * batch reader accepts a subset of precheck + cJSON (json_reader.c, R),
 * each event is read under F (codec_fast.c), and every batch-level rule of
 * the reference (v, store, events an array of at most
 * PROTO_BATCH_MAX_EVENTS, each event's store, keys given once, nothing
 * after the value) has its counterpart; tests/proto_repl/test_batch_fast.c
 * checks B on writer output, variants and mutations.
 *
 * Both paths check the whole batch before the caller sees any event (pass 1
 * decodes every element and checks its store against the batch's; pass 2
 * decodes again and calls fn).  So fn runs only for a batch that is entirely
 * well-formed, and a caller that applies inside its own transaction never has
 * to undo anything because of a bad element.  Decoding twice beats keeping
 * up to 256 decoded events (6 KB each) around: the fast read costs ~0.3 us.
 *
 * Version vectors inside hello/ack are read from the parsed tree by
 * proto__vv_from_json (codec_read.c), the one vv validator, whose numbers
 * are cJSON's doubles: exact for every seq we accept (<= 2^53 - 1).
 *
 * Writer invariant: a batch's JSON is at most PROTO_BATCH_MAX_BYTES; the
 * first event always fits (an event is at most PROTO_EVENT_JSON_MAX, far
 * below), so the decoder's byte limit accepts everything the writer makes.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec_int.h"
#include "proto/repl.h"

#define TOPIC_STORES PROTO_TOPIC_ROOT "/stores/"
#define BATCH_DEPTH_MAX (PROTO_JSON_DEPTH_MAX + 2) /* {events:[ <event> ]} */
#define VVMSG_MAX (PROTO_VV_JSON_MAX + 1024)       /* vv plus the envelope */
#define HEARTBEAT_MAX 4096
#define JSON_INT_MAX ((INT64_C(1) << 53) - 1)       /* exact in a double */
#define HQ_PREFIX "hq:"

/* ---- topics ------------------------------------------------------------------ */

static const char *const kind_names[PROTO_REPL__COUNT] = {
#define PROTO__REPL_KIND_NAME(e, name) [PROTO_REPL_##e] = name,
    PROTO_REPL_KIND_MAP(PROTO__REPL_KIND_NAME)
#undef PROTO__REPL_KIND_NAME
};
static const char *const dir_names[] = {[PROTO_DIR_UP] = "up", [PROTO_DIR_DOWN] = "down"};

/* Bounded printable copy of untrusted text for a message (32 bytes). */
static void quote(char *dst, size_t cap, const char *s, size_t n) {
  size_t i = 0;
  for (; i < n && i + 1 < cap && i < 32; i++)
    dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
  dst[i] = '\0';
}

static int check_store(const char *store, const char *what, proto_err *err) {
  if (!store) return proto_err_set(err, PROTO_EINVAL, "%s: missing", what);
  size_t n = strnlen(store, PROTO_ID_MAX);
  char q[40];
  quote(q, sizeof q, store, n);
  if (n >= PROTO_ID_MAX)
    return proto_err_set(err, PROTO_ETOOLONG, "%s: \"%s...\" is longer than %d bytes", what, q,
                         PROTO_ID_MAX - 1);
  if (!proto_id_valid(store))
    return proto_err_set(err, PROTO_EINVAL, "%s: \"%s\" is not an id [A-Za-z0-9_.:-]{1,63}", what,
                         q);
  return PROTO_OK;
}

int proto_topic_make(char *buf, size_t cap, const char *store, proto_dir dir,
                     proto_repl_kind kind, proto_err *err) {
  int rc = check_store(store, "topic store", err);
  if (rc != PROTO_OK) return rc;
  if ((unsigned)dir > PROTO_DIR_DOWN)
    return proto_err_set(err, PROTO_EINVAL, "topic: direction %d", (int)dir);
  if ((unsigned)kind >= PROTO_REPL__COUNT)
    return proto_err_set(err, PROTO_EINVAL, "topic: kind %d", (int)kind);
  int n = snprintf(buf, cap, TOPIC_STORES "%s/%s/%s", store, dir_names[dir], kind_names[kind]);
  if (n < 0 || (size_t)n >= cap) {
    if (cap) buf[0] = '\0';
    return proto_err_set(err, PROTO_ETOOLONG, "topic: %d bytes do not fit %zu", n, cap);
  }
  return PROTO_OK;
}

/* Index of the n-byte name s in names[count], or -1. */
static int name_index(const char *const *names, int count, const char *s, size_t n) {
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return i;
  return -1;
}

int proto_topic_parse(const char *topic, char *store, proto_dir *dir, proto_repl_kind *kind,
                      proto_err *err) {
  static const size_t plen = sizeof TOPIC_STORES - 1;
  char q[40];
  if (!topic) return proto_err_set(err, PROTO_EINVAL, "topic: missing");
  size_t tlen = strnlen(topic, PROTO_TOPIC_MAX + 1);
  quote(q, sizeof q, topic, tlen);
  if (tlen > PROTO_TOPIC_MAX)
    return proto_err_set(err, PROTO_ETOOLONG, "topic: \"%s...\" is longer than %d bytes", q,
                         PROTO_TOPIC_MAX);
  if (strncmp(topic, TOPIC_STORES, plen) != 0)
    return proto_err_set(err, PROTO_EINVAL, "topic: \"%s\" is not under " TOPIC_STORES, q);
  const char *s = topic + plen, *d = strchr(s, '/'), *k = d ? strchr(d + 1, '/') : NULL;
  if (!k || strchr(k + 1, '/'))
    return proto_err_set(err, PROTO_EINVAL, "topic: \"%s\" is not <store>/<up|down>/<kind>", q);
  char id[PROTO_ID_MAX];
  size_t slen = (size_t)(d - s);
  if (slen >= sizeof id)
    return proto_err_set(err, PROTO_ETOOLONG, "topic: store is longer than %d bytes",
                         PROTO_ID_MAX - 1);
  memcpy(id, s, slen);
  id[slen] = '\0';
  int rc = check_store(id, "topic store", err);
  if (rc != PROTO_OK) return rc;
  int di = name_index(dir_names, 2, d + 1, (size_t)(k - d - 1));
  int ki = name_index(kind_names, PROTO_REPL__COUNT, k + 1, strlen(k + 1));
  if (di < 0) return proto_err_set(err, PROTO_EENUM, "topic: \"%s\": direction not up/down", q);
  if (ki < 0) return proto_err_set(err, PROTO_EENUM, "topic: \"%s\": unknown message kind", q);
  memcpy(store, id, slen + 1);
  if (dir) *dir = (proto_dir)di;
  if (kind) *kind = (proto_repl_kind)ki;
  return PROTO_OK;
}

int proto_hq_origin(char *buf, size_t cap, const char *store, proto_err *err) {
  int rc = check_store(store, "store", err);
  if (rc != PROTO_OK) return rc;
  size_t n = strlen(store) + sizeof HQ_PREFIX - 1;
  if (n >= PROTO_ID_MAX)
    return proto_err_set(err, PROTO_ETOOLONG, "store: \"%s\" leaves no room for \"" HQ_PREFIX
                         "\" in a %d-byte origin", store, PROTO_ID_MAX - 1);
  if (n >= cap) return proto_err_set(err, PROTO_ETOOLONG, "origin: %zu bytes do not fit %zu", n, cap);
  snprintf(buf, cap, HQ_PREFIX "%s", store);
  return PROTO_OK;
}

/* ---- shared tree access ------------------------------------------------------- */

/* Size limit, precheck, parse, nothing but whitespace after the value, and
 * an object at the root.  On success *out is the tree (caller deletes). */
static int parse_object(const char *json, size_t len, size_t max, int depth, const char *what,
                        cJSON **out, proto_err *err) {
  *out = NULL;
  if (!json || len == 0) return proto_err_set(err, PROTO_EJSON, "%s: empty input", what);
  if (len > max)
    return proto_err_set(err, PROTO_ETOOLONG, "%s: %zu bytes, limit %zu", what, len, max);
  int rc = proto_json_precheck(json, len, depth, err);
  if (rc != PROTO_OK) return rc;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
  if (!root) return proto_err_set(err, PROTO_EJSON, "%s: malformed JSON at offset %zu", what, at);
  while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r'))
    at++;
  if (at < len)
    rc = proto_err_set(err, PROTO_EJSON, "%s: unexpected data after the JSON value at offset %zu",
                       what, at);
  else if (!cJSON_IsObject(root))
    rc = proto_err_set(err, PROTO_ETYPE, "%s: expected an object", what);
  if (rc != PROTO_OK) {
    cJSON_Delete(root);
    return rc;
  }
  *out = root;
  return PROTO_OK;
}

/* Member `key` of obj: PROTO_EMISSING if required and absent (else *out
 * NULL), PROTO_EINVAL if given twice (peers must not disagree on which). */
static int member(const cJSON *obj, const char *key, bool required, const cJSON **out,
                  proto_err *err) {
  *out = NULL;
  for (const cJSON *c = obj->child; c; c = c->next) {
    if (!c->string || strcmp(c->string, key) != 0) continue;
    if (*out) return proto_err_set(err, PROTO_EINVAL, "%s: key given twice", key);
    *out = c;
  }
  if (required && !*out) return proto_err_set(err, PROTO_EMISSING, "%s: missing", key);
  return PROTO_OK;
}

/* Required integer member in lo..hi. */
static int get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   proto_err *err) {
  const cJSON *j;
  int rc = member(obj, key, true, &j, err);
  if (rc != PROTO_OK) return rc;
  if (!cJSON_IsNumber(j)) return proto_err_set(err, PROTO_ETYPE, "%s: expected an integer", key);
  double d = j->valuedouble;
  if (!(d >= (double)lo && d <= (double)hi))
    return proto_err_set(err, PROTO_ERANGE, "%s: %.17g is out of range %" PRId64 "..%" PRId64, key,
                         d, lo, hi);
  if ((double)(int64_t)d != d)
    return proto_err_set(err, PROTO_ERANGE, "%s: %.17g is not an integer", key, d);
  *out = (int64_t)d;
  return PROTO_OK;
}

/* Required id string member into dst[PROTO_ID_MAX]. */
static int get_id(const cJSON *obj, const char *key, char *dst, proto_err *err) {
  const cJSON *j;
  int rc = member(obj, key, true, &j, err);
  if (rc != PROTO_OK) return rc;
  if (!cJSON_IsString(j) || !j->valuestring)
    return proto_err_set(err, PROTO_ETYPE, "%s: expected a string", key);
  rc = check_store(j->valuestring, key, err);
  if (rc == PROTO_OK) memcpy(dst, j->valuestring, strlen(j->valuestring) + 1);
  return rc;
}

/* "v" first: a newer major may change everything else. */
static int get_version(const cJSON *obj, proto_err *err) {
  int64_t v = 0;
  int rc = get_int(obj, "v", 1, INT32_MAX, &v, err);
  if (rc == PROTO_OK && v > PROTO_VERSION)
    rc = proto_err_set(err, PROTO_EVERSION, "v: %" PRId64 " is newer than supported %d", v,
                       PROTO_VERSION);
  return rc;
}

/* ---- batch writer ---------------------------------------------------------------- */

int proto_batch_begin(proto_batch_writer *w, proto_buf *out, const char *store, proto_err *err) {
  int rc = check_store(store, "batch store", err);
  if (rc != PROTO_OK) return rc;
  w->out = out;
  w->n = 0;
  w->start = out->len;
  rc = proto_buf_printf(out, "{\"v\":%d,\"store\":\"%s\",\"events\":[", PROTO_VERSION, store);
  /* proto_buf_printf leaves out as it was on failure */
  return rc == PROTO_OK ? PROTO_OK : proto_err_set(err, rc, "batch: out of memory");
}

int proto_batch_add(proto_batch_writer *w, const char *event_json, size_t len, proto_err *err) {
  static const size_t tail = 2; /* "]}" */
  if (!event_json || len == 0 || event_json[0] != '{')
    return proto_err_set(err, PROTO_EINVAL, "batch: event JSON must be an object");
  if (len > PROTO_EVENT_JSON_MAX)
    return proto_err_set(err, PROTO_ETOOLONG, "batch: event of %zu bytes, limit %d", len,
                         PROTO_EVENT_JSON_MAX);
  size_t used = w->out->len - w->start, sep = w->n ? 1 : 0;
  if (w->n > 0 && (w->n >= PROTO_BATCH_MAX_EVENTS || used + sep + len + tail > PROTO_BATCH_MAX_BYTES))
    return proto_err_set(err, PROTO_EFULL, "batch: full at %zu events, %zu bytes", w->n, used);
  size_t at = w->out->len;
  int rc = sep ? proto_buf_append(w->out, ",", 1) : PROTO_OK;
  if (rc == PROTO_OK) rc = proto_buf_append(w->out, event_json, len);
  if (rc != PROTO_OK) {
    w->out->len = at;
    if (w->out->data) w->out->data[at] = '\0';
    return proto_err_set(err, rc, "batch: out of memory");
  }
  w->n++;
  return PROTO_OK;
}

int proto_batch_end(proto_batch_writer *w, proto_err *err) {
  int rc = proto_buf_append(w->out, "]}", 2);
  return rc == PROTO_OK ? PROTO_OK : proto_err_set(err, rc, "batch: out of memory");
}

/* ---- batch decoder: reference ------------------------------------------------------ */

/* Decode element i into ev; messages become "events[i].<inner path>". */
static int batch_event(const cJSON *el, size_t i, const char *store, proto_event *ev,
                       proto_err *err) {
  proto_err inner = {0};
  char q[40];
  if (!cJSON_IsObject(el)) return proto_err_set(err, PROTO_ETYPE, "events[%zu]: expected an object", i);
  int rc = proto__event_from_json(el, ev, &inner);
  if (rc != PROTO_OK) return proto_err_set(err, rc, "events[%zu].%s", i, inner.msg);
  if (strcmp(ev->store, store) != 0) {
    quote(q, sizeof q, ev->store, strlen(ev->store));
    return proto_err_set(err, PROTO_EINVAL, "events[%zu].store: \"%s\" is not the batch's store",
                         i, q);
  }
  return PROTO_OK;
}

/* Pass 1 (fn NULL): check every element.  Pass 2: call fn for each. */
static int batch_walk(const cJSON *events, const char *store, const proto__batch_cb *cb,
                      proto_err *err) {
  proto_event ev;
  proto_buf canon;
  size_t i = 0;
  int rc = PROTO_OK;
  proto_buf_init(&canon);
  for (const cJSON *el = events->child; rc == PROTO_OK && el; el = el->next, i++) {
    rc = batch_event(el, i, store, &ev, err);
    if (rc == PROTO_OK && cb && cb->each) { /* no byte positions here: the canonical form */
      proto_buf_reset(&canon);
      rc = proto_event_encode(&ev, &canon, err);
      if (rc == PROTO_OK) rc = cb->each(cb->ctx, &ev, canon.data, canon.len);
    } else if (rc == PROTO_OK && cb && cb->fn) {
      rc = cb->fn(cb->ctx, &ev);
    }
  }
  proto_buf_close(&canon);
  return rc;
}

int proto__batch_decode_tree(const char *json, size_t len, char store[PROTO_ID_MAX],
                             const proto__batch_cb *cb, proto_err *err) {
  cJSON *root = NULL;
  const cJSON *events = NULL;
  char id[PROTO_ID_MAX] = "";
  int rc = parse_object(json, len, PROTO_BATCH_MAX_BYTES, BATCH_DEPTH_MAX, "batch", &root, err);
  if (rc == PROTO_OK) rc = get_version(root, err);
  if (rc == PROTO_OK) rc = get_id(root, "store", id, err);
  if (rc == PROTO_OK) rc = member(root, "events", true, &events, err);
  if (rc == PROTO_OK && !cJSON_IsArray(events))
    rc = proto_err_set(err, PROTO_ETYPE, "events: expected an array");
  if (rc == PROTO_OK && cJSON_GetArraySize(events) > PROTO_BATCH_MAX_EVENTS)
    rc = proto_err_set(err, PROTO_ETOOLONG, "events: %d events, limit %d",
                       cJSON_GetArraySize(events), PROTO_BATCH_MAX_EVENTS);
  if (rc == PROTO_OK) rc = batch_walk(events, id, NULL, err);
  if (rc == PROTO_OK) {
    memcpy(store, id, sizeof id);
    if (cb) rc = batch_walk(events, id, cb, err);
  }
  cJSON_Delete(root);
  return rc;
}

/* ---- batch decoder: fast path --------------------------------------------------------- */

/* What pass 1 of the fast path found: the store and, per event, the reader
 * just before it, so pass 2 reads exactly the bytes pass 1 checked. */
typedef struct fast_batch {
  char store[PROTO_ID_MAX];
  bool have_store, have_events;
  size_t n;
  proto__jr at[PROTO_BATCH_MAX_EVENTS];
} fast_batch;

/* The "events" array at r: every element an event of the batch's store. */
static bool fast_events(proto__jr *r, fast_batch *b, proto_event *ev) {
  int more;
  if (!proto__jr_array(r)) return false;
  while ((more = proto__jr_element(r)) == 1) {
    if (b->n == PROTO_BATCH_MAX_EVENTS) return false;
    b->at[b->n] = *r;
    if (!proto__event_read_fast(r, ev) || strcmp(ev->store, b->store) != 0) return false;
    b->n++;
  }
  return more == 0;
}

/* A batch's "v" or "store" member at r (read, checked as the reference
 * does): true when k was one of them, with *ok the verdict. */
static bool header_member(proto__jr *r, const proto__jr_key *k, bool *have_v,
                          char store[PROTO_ID_MAX], bool *have_store, bool *ok) {
  int64_t v;
  size_t slen;
  if (k->len == 1 && k->s[0] == 'v') {
    *ok = !*have_v && proto__jr_int(r, &v) && v >= 1 && v <= PROTO_VERSION;
    *have_v = true;
  } else if (k->len == 5 && memcmp(k->s, "store", 5) == 0) {
    *ok = !*have_store && proto__jr_string(r, store, PROTO_ID_MAX, &slen) && proto_id_valid(store);
    *have_store = true;
  } else {
    return false;
  }
  return true;
}

/* Pass 1: the whole batch, as the reference checks it.  "events" before
 * "store" (legal, not what our writer does) is read once the store is known. */
static bool fast_scan(const char *json, size_t len, fast_batch *b, proto_event *ev) {
  proto__jr r, events_at;
  proto__jr_key k;
  bool have_v = false, deferred = false;
  int more;
  if (!json || len > PROTO_BATCH_MAX_BYTES) return false;
  proto__jr_init(&r, json, len, BATCH_DEPTH_MAX);
  events_at = r;
  if (!proto__jr_object(&r)) return false;
  while ((more = proto__jr_member(&r, &k)) == 1) {
    bool ok;
    bool header = header_member(&r, &k, &have_v, b->store, &b->have_store, &ok);
    if (!header && k.len == 6 && memcmp(k.s, "events", 6) == 0) {
      ok = !b->have_events;
      deferred = ok && !b->have_store;
      b->have_events = true;
      if (deferred) events_at = r;
      ok = ok && (deferred ? proto__jr_skip(&r) : fast_events(&r, b, ev));
    } else if (!header) {
      ok = proto__jr_skip(&r);
    }
    if (!ok) return false;
  }
  if (more != 0 || !have_v || !b->have_store || !b->have_events || !proto__jr_end(&r)) return false;
  return !deferred || fast_events(&events_at, b, ev);
}

/* The event's own bytes: from its '{' (after the separator's blanks) to
 * where the reader stopped, just past its '}'. */
static void event_bytes(const proto__jr *before, const proto__jr *after, const char **p, size_t *n) {
  const unsigned char *s = before->p;
  while (s < after->p && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
  *p = (const char *)s;
  *n = (size_t)(after->p - s);
}

bool proto__batch_decode_fast(const char *json, size_t len, char store[PROTO_ID_MAX],
                              const proto__batch_cb *cb, int *rc, proto_err *err) {
  fast_batch b;
  proto_event ev;
  b.have_store = b.have_events = false;
  b.n = 0;
  if (!fast_scan(json, len, &b, &ev)) return false;
  memcpy(store, b.store, sizeof b.store);
  *rc = PROTO_OK;
  for (size_t i = 0; cb && *rc == PROTO_OK && i < b.n; i++) {
    /* The same reader on the same bytes gives the same event, unless fn
     * wrote into the caller's input. */
    proto__jr r = b.at[i];
    const char *p = NULL;
    size_t n = 0;
    if (!proto__event_read_fast(&r, &ev)) {
      *rc = proto_err_set(err, PROTO_EINVAL, "events[%zu]: the input changed while decoding", i);
    } else if (cb->each) {
      event_bytes(&b.at[i], &r, &p, &n);
      *rc = cb->each(cb->ctx, &ev, p, n);
    } else {
      *rc = cb->fn(cb->ctx, &ev);
    }
  }
  return true;
}

static int batch_decode(const char *json, size_t len, char store[PROTO_ID_MAX],
                        const proto__batch_cb *cb, proto_err *err) {
  int rc;
  if (proto__batch_decode_fast(json, len, store, cb, &rc, err)) return rc;
  return proto__batch_decode_tree(json, len, store, cb, err);
}

int proto_batch_decode(const char *json, size_t len, char store[PROTO_ID_MAX], proto_batch_fn fn,
                       void *ctx, proto_err *err) {
  proto__batch_cb cb = {fn, NULL, ctx};
  return batch_decode(json, len, store, fn ? &cb : NULL, err);
}

/* ---- batch decoder: one pass (proto_batch_decode_each) ------------------------------ */

typedef struct each_run {
  const proto__batch_cb *cb;
  char store[PROTO_ID_MAX];
  size_t n;
  int stop;                        /* fn's first non-zero: no more calls */
  bool called;
} each_run;

/* The "events" array at r, fn for each event as it is read; the rest is
 * still checked after fn stopped. */
static bool each_events(proto__jr *r, each_run *e, proto_event *ev) {
  int more;
  if (!proto__jr_array(r)) return false;
  while ((more = proto__jr_element(r)) == 1) {
    proto__jr at = *r;
    if (e->n == PROTO_BATCH_MAX_EVENTS || !proto__event_read_fast(r, ev) ||
        strcmp(ev->store, e->store) != 0)
      return false;
    e->n++;
    if (!e->stop) {
      const char *p;
      size_t n;
      event_bytes(&at, r, &p, &n);
      e->called = true;
      e->stop = e->cb->each(e->cb->ctx, ev, p, n);
    }
  }
  return more == 0;
}

/* fast_scan's checks in one pass; "events" before "store" is left to the
 * two-pass decoders (nothing called yet).  false: undecided. */
static bool each_scan(const char *json, size_t len, each_run *e, proto_event *ev) {
  proto__jr r;
  proto__jr_key k;
  bool have_v = false, have_store = false, have_events = false;
  int more;
  if (!json || len > PROTO_BATCH_MAX_BYTES) return false;
  proto__jr_init(&r, json, len, BATCH_DEPTH_MAX);
  if (!proto__jr_object(&r)) return false;
  while ((more = proto__jr_member(&r, &k)) == 1) {
    bool ok;
    bool header = header_member(&r, &k, &have_v, e->store, &have_store, &ok);
    if (!header && k.len == 6 && memcmp(k.s, "events", 6) == 0) {
      ok = !have_events && have_store && each_events(&r, e, ev);
      have_events = true;
    } else if (!header) {
      ok = proto__jr_skip(&r);
    }
    if (!ok) return false;
  }
  return more == 0 && have_v && have_store && have_events && proto__jr_end(&r);
}

int proto_batch_decode_each(const char *json, size_t len, char store[PROTO_ID_MAX],
                            proto_batch_each_fn fn, void (*restart)(void *ctx), void *ctx,
                            proto_err *err) {
  proto__batch_cb cb = {NULL, fn, ctx};
  each_run e = {&cb, "", 0, 0, false};
  proto_event ev;
  if (!fn) return batch_decode(json, len, store, NULL, err);
  if (each_scan(json, len, &e, &ev)) {
    memcpy(store, e.store, sizeof e.store);
    return e.stop ? e.stop : PROTO_OK;
  }
  if (e.called && restart) restart(ctx);
  return proto__batch_decode_tree(json, len, store, &cb, err);
}

/* ---- hello and ack ------------------------------------------------------------------ */

int proto_vvmsg_encode(const char *store, const proto_vv *vv, proto_buf *out, proto_err *err) {
  size_t start = out->len;
  int rc = check_store(store, "store", err);
  if (rc == PROTO_OK)
    rc = proto_buf_printf(out, "{\"v\":%d,\"store\":\"%s\",\"vv\":", PROTO_VERSION, store);
  if (rc == PROTO_OK) rc = proto_vv_encode(vv, out, err);
  if (rc == PROTO_OK) rc = proto_buf_append(out, "}", 1);
  if (rc != PROTO_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
    if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "vvmsg: out of memory");
  }
  return rc;
}

int proto_ackmsg_encode(const char *store, const proto_vv *vv, proto_buf *out, proto_err *err) {
  proto_vv c;
  int rc = PROTO_OK;
  proto_vv_init(&c);
  for (size_t i = 0; rc == PROTO_OK && vv && i < vv->n; i++)
    if (vv->e[i].contiguous > 0) rc = proto_vv_advance(&c, vv->e[i].origin, vv->e[i].contiguous);
  if (rc != PROTO_OK) rc = proto_err_set(err, rc, "ack: cannot copy the vector");
  if (rc == PROTO_OK) rc = proto_vvmsg_encode(store, &c, out, err);
  proto_vv_close(&c);
  return rc;
}

int proto_vvmsg_decode(const char *json, size_t len, char store[PROTO_ID_MAX], proto_vv *vv,
                       proto_err *err) {
  cJSON *root = NULL;
  const cJSON *j = NULL;
  char id[PROTO_ID_MAX] = "";
  int rc = parse_object(json, len, VVMSG_MAX, PROTO_JSON_DEPTH_MAX, "vvmsg", &root, err);
  if (rc == PROTO_OK) rc = get_version(root, err);
  if (rc == PROTO_OK) rc = get_id(root, "store", id, err);
  if (rc == PROTO_OK) rc = member(root, "vv", true, &j, err);
  if (rc == PROTO_OK && !cJSON_IsObject(j))
    rc = proto_err_set(err, PROTO_ETYPE, "vv: expected an object");
  if (rc == PROTO_OK) rc = proto__vv_from_json(j, vv, err); /* vv unchanged on error */
  if (rc == PROTO_OK) memcpy(store, id, sizeof id);
  cJSON_Delete(root);
  return rc;
}

/* ---- heartbeat ---------------------------------------------------------------------- */

/* One table drives both directions.  ID: char[PROTO_ID_MAX]; U64/U32 JSON
 * integers up to 2^53 - 1 / UINT32_MAX; HLC: 64 bits as a decimal string. */
typedef enum { HB_ID, HB_U64, HB_U32, HB_HLC } hb_kind;
typedef struct hb_field {
  const char *key;
  hb_kind kind;
  size_t off;
} hb_field;

#define HB(key, kind) {#key, kind, offsetof(proto_heartbeat, key)}
static const hb_field hb_fields[] = {
    HB(store, HB_ID),          HB(version, HB_ID),     HB(ts_ms, HB_U64),
    HB(hlc, HB_HLC),           HB(uptime_s, HB_U64),   HB(outbox_depth, HB_U64),
    HB(last_acked_seq, HB_U64), HB(last_seq, HB_U64),  HB(rss_kb, HB_U64),
    HB(tablets, HB_U32),       HB(orders_open, HB_U64),
};
#undef HB
#define HB_N (sizeof hb_fields / sizeof hb_fields[0])

static int hb_put(const hb_field *f, const proto_heartbeat *hb, proto_buf *out, proto_err *err) {
  const char *p = (const char *)hb + f->off;
  uint64_t v = 0;
  int rc = proto_buf_printf(out, ",\"%s\":", f->key);
  if (rc != PROTO_OK) return rc;
  switch (f->kind) {
    case HB_ID:
      if (check_store(p, f->key, err) != PROTO_OK) return PROTO_EINVAL;
      return proto_buf_json_string(out, p);
    case HB_U32: return proto_buf_printf(out, "%" PRIu32, *(const uint32_t *)(const void *)p);
    case HB_HLC: return proto_buf_printf(out, "\"%" PRIu64 "\"", *(const uint64_t *)(const void *)p);
    case HB_U64:
      v = *(const uint64_t *)(const void *)p;
      if (v > (uint64_t)JSON_INT_MAX)
        return proto_err_set(err, PROTO_EINVAL, "%s: %" PRIu64 " is above 2^53 - 1", f->key, v);
      return proto_buf_printf(out, "%" PRIu64, v);
  }
  return PROTO_EINVAL;
}

int proto_heartbeat_encode(const proto_heartbeat *hb, proto_buf *out, proto_err *err) {
  size_t start = out->len;
  int rc = proto_buf_printf(out, "{\"v\":%d", PROTO_VERSION);
  for (size_t i = 0; rc == PROTO_OK && i < HB_N; i++) rc = hb_put(&hb_fields[i], hb, out, err);
  if (rc == PROTO_OK) rc = proto_buf_append(out, "}", 1);
  if (rc != PROTO_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
    if (rc == PROTO_ENOMEM) proto_err_set(err, rc, "heartbeat: out of memory");
  }
  return rc;
}

/* Canonical decimal 0..UINT64_MAX: digits only, no leading zero. */
static int hb_hlc(const cJSON *obj, const char *key, uint64_t *out, proto_err *err) {
  const cJSON *j;
  int rc = member(obj, key, true, &j, err);
  if (rc != PROTO_OK) return rc;
  if (!cJSON_IsString(j) || !j->valuestring)
    return proto_err_set(err, PROTO_ETYPE, "%s: expected a decimal string", key);
  const char *s = j->valuestring;
  size_t n = strlen(s);
  uint64_t v = 0;
  if (n == 0 || n > 20 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
    return proto_err_set(err, PROTO_EINVAL, "%s: not a decimal integer", key);
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return proto_err_set(err, PROTO_ERANGE, "%s: above 2^64 - 1", key);
    v = v * 10 + d;
  }
  *out = v;
  return PROTO_OK;
}

static int hb_get(const hb_field *f, const cJSON *obj, proto_heartbeat *hb, proto_err *err) {
  void *p = (char *)hb + f->off;
  int64_t v = 0;
  int rc;
  switch (f->kind) {
    case HB_ID: return get_id(obj, f->key, p, err);
    case HB_HLC: return hb_hlc(obj, f->key, p, err);
    case HB_U32:
      rc = get_int(obj, f->key, 0, UINT32_MAX, &v, err);
      if (rc == PROTO_OK) *(uint32_t *)p = (uint32_t)v;
      return rc;
    case HB_U64:
      rc = get_int(obj, f->key, 0, JSON_INT_MAX, &v, err);
      if (rc == PROTO_OK) *(uint64_t *)p = (uint64_t)v;
      return rc;
  }
  return PROTO_EINVAL;
}

int proto_heartbeat_decode(const char *json, size_t len, proto_heartbeat *hb, proto_err *err) {
  cJSON *root = NULL;
  proto_heartbeat tmp;
  memset(&tmp, 0, sizeof tmp);
  int rc = parse_object(json, len, HEARTBEAT_MAX, PROTO_JSON_DEPTH_MAX, "heartbeat", &root, err);
  if (rc == PROTO_OK) rc = get_version(root, err);
  for (size_t i = 0; rc == PROTO_OK && i < HB_N; i++) rc = hb_get(&hb_fields[i], root, &tmp, err);
  if (rc == PROTO_OK) *hb = tmp;
  cJSON_Delete(root);
  return rc;
}
