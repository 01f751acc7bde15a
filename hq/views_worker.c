/* views_worker.c - the views computed on a reader thread, so hq's one loop
 * thread (HTTP, MQTT ingest, acks) never waits for a view.
 *
 *   loop thread                          worker thread (own read-only
 *                                        connection: hq_views_open)
 *   submit(name, q, tag) ─▶ todo ──────▶ hq_views_run_json (one snapshot)
 *                                            │
 *   take() ◀──────────────── done ◀─────────┘ then wake(ctx)
 *   (hq: on EVENT_WAIT_CANCELLED,                (hq: lws_cancel_service)
 *    answers the requests waiting on tag)
 *
 * Invariants:
 *   W1 the connection is used by the worker thread only (opened before the
 *      thread starts, closed after it is joined): SQLite's NOMUTEX is safe.
 *   W2 a job is in exactly one place: todo, the worker's hands, done, or
 *      handed to the caller by take(); stop() frees what is left.
 *   W3 wake is called with the mutex held, so once stop() has the mutex
 *      and set `stop`, no wake call is running or will run (hq destroys
 *      its lws context only after stop()).
 *   W4 held = jobs submitted and not taken (todo + hands + done) <=
 *      HQ_VIEWS_QUEUE_MAX; submit refuses more (HQ_EBUSY) and queues
 *      nothing.  Done jobs count until taken, so the bound is views_http.c's
 *      (one slot per held job) and does not depend on the thread's speed.
 * Jobs run one at a time, in submission order; WAL keeps the core's writer
 * and this reader out of each other's way (views.c, V2).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views_int.h"

typedef struct job {
  struct job *next;
  hq_views_done d;                 /* tag, name, q in; rc, err, json out */
} job;

typedef struct queue {
  job *head, *tail;
} queue;

struct hq_views_worker {
  hq_views *v;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  queue todo, done;
  size_t queued;                   /* jobs in todo */
  size_t held;                     /* submitted and not taken (W4) */
  bool stop;
  void (*wake)(void *ctx);
  void *wake_ctx;
};

static void put(queue *q, job *j) {
  j->next = NULL;
  if (q->tail) q->tail->next = j;
  else q->head = j;
  q->tail = j;
}

static job *get(queue *q) {
  job *j = q->head;
  if (!j) return NULL;
  q->head = j->next;
  if (!q->head) q->tail = NULL;
  return j;
}

static void free_queue(queue *q) {
  for (job *j; (j = get(q)) != NULL;) {
    proto_buf_close(&j->d.json);
    free(j);
  }
}

static void *run(void *arg) {
  hq_views_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->stop && !w->todo.head) pthread_cond_wait(&w->cv, &w->mu);
    if (w->stop) break;
    job *j = get(&w->todo);
    w->queued--;
    pthread_mutex_unlock(&w->mu);
    hq_err_clear(&j->d.err);
    j->d.rc = hq_views_run_json(w->v, j->d.name, &j->d.q, &j->d.json, &j->d.err);
    pthread_mutex_lock(&w->mu);
    put(&w->done, j);
    if (!w->stop && w->wake) w->wake(w->wake_ctx); /* W3 */
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int hq_views_worker_start(hq_views_worker **out, const hq_views_opts *opts, void (*wake)(void *ctx),
                          void *wake_ctx, hq_err *err) {
  *out = NULL;
  hq_views_worker *w = calloc(1, sizeof *w);
  if (!w) return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  w->wake = wake;
  w->wake_ctx = wake_ctx;
  int rc = hq_views_open(&w->v, opts, err);
  if (rc == HQ_OK && (pthread_mutex_init(&w->mu, NULL) != 0 || pthread_cond_init(&w->cv, NULL) != 0))
    rc = hq_err_set(err, HQ_ENOMEM, "views: cannot create the worker's lock");
  if (rc == HQ_OK && pthread_create(&w->th, NULL, run, w) != 0)
    rc = hq_err_set(err, HQ_ENOMEM, "views: cannot start the worker thread");
  if (rc != HQ_OK) {
    hq_views_close(w->v);
    free(w);
    return rc;
  }
  *out = w;
  return HQ_OK;
}

void hq_views_worker_stop(hq_views_worker *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  sqlite3_interrupt(w->v->db); /* a long view ends now (thread-safe) */
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  free_queue(&w->todo);
  free_queue(&w->done);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  hq_views_close(w->v);
  free(w);
}

int hq_views_worker_submit(hq_views_worker *w, const char *name, const hq_view_query *q, uint64_t tag,
                           hq_err *err) {
  job *j = calloc(1, sizeof *j);
  if (!j) return hq_err_set(err, HQ_ENOMEM, "views: out of memory");
  j->d.tag = tag;
  snprintf(j->d.name, sizeof j->d.name, "%s", name);
  j->d.q = *q;
  proto_buf_init(&j->d.json);
  pthread_mutex_lock(&w->mu);
  size_t held = w->held;
  if (held < HQ_VIEWS_QUEUE_MAX) { /* W4 */
    put(&w->todo, j);
    w->queued++;
    w->held++;
    pthread_cond_signal(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  if (held < HQ_VIEWS_QUEUE_MAX) return HQ_OK;
  free(j);
  return hq_err_set(err, HQ_EBUSY, "views busy: %zu computations queued", held);
}

bool hq_views_worker_take(hq_views_worker *w, hq_views_done *out) {
  pthread_mutex_lock(&w->mu);
  job *j = get(&w->done);
  if (j) w->held--;
  pthread_mutex_unlock(&w->mu);
  if (!j) return false;
  *out = j->d; /* the JSON buffer moves to the caller */
  free(j);
  return true;
}

size_t hq_views_worker_queued(hq_views_worker *w) {
  pthread_mutex_lock(&w->mu);
  size_t n = w->queued;
  pthread_mutex_unlock(&w->mu);
  return n;
}
