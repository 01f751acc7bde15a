/* agent.c - storenode-provision's run: the phases of agent.h, the request
 * loop with backoff, and the checks on HQ's answer.
 *
 * Request loop (one "session" = one MQTT connection with the claim
 * identity):
 *   connect + subscribe .../<serial>/response ─▶ publish request (new nonce)
 *     ─▶ issued (checked)  done
 *     ─▶ pending           stay connected; ask again after retry_after_s
 *                           (prov_assign at HQ publishes the answer at once)
 *     ─▶ refused           revoked: stop; else wait retry_after_s, new session
 *     ─▶ no answer / link lost: wait retry_min_s doubling to retry_max_s
 *                           (with jitter), new session
 * Answers with another nonce are old ones and ignored, except an "issued"
 * answer that passes the checks: it is ours whatever request it answers.
 */
#define _DEFAULT_SOURCE /* nanosleep */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "prov/file.h"
#include "prov/x509.h"
#include "rt/tls.h"

#ifndef PROV_AGENT_VERSION
#define PROV_AGENT_VERSION "0.0.0"
#endif

typedef struct run {
  const agent_config *c;
  const rt_log *lg;
  char key[AGENT_PATH_MAX + 16], csr[AGENT_PATH_MAX + 16], cert[AGENT_PATH_MAX + 16];
  char ca[AGENT_PATH_MAX + 16], resp[AGENT_PATH_MAX + 16];
  char key_hash[PROV_HASH_HEX];
  char token[PROV_TOKEN_MAX];
  proto_buf factory_ca;           /* ca_file: what we trust */
  bool check_time;                /* broker certificate dates */
  bool clock_ok;                  /* the clock can date the renewal (time_check yes, or trusted) */
} run;

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void random_bytes(void *p, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, p, n) : -1;
  if (fd >= 0) close(fd);
  if (got != (ssize_t)n) { /* no urandom: still unique enough for a nonce/jitter */
    unsigned long long x = (unsigned long long)mono_ms() ^ ((unsigned long long)getpid() << 32);
    for (size_t i = 0; i < n; i++) ((unsigned char *)p)[i] = (unsigned char)(x >> (8 * (i % 8)));
  }
}

static void pause_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Can the wall clock be believed?  Not if the kernel says it is not
 * NTP-synchronised, nor if it is before the CA was made. */
static bool clock_trusted(const proto_buf *ca) {
  prov_cert_info ci;
  if (!rt_tls_clock_synced()) return false;
  return prov_cert_info_get(ca->data, ca->len, &ci, NULL) == PROV_OK &&
         time(NULL) >= ci.not_before_s;
}

/* Is HQ's answer a certificate for us: chains to the factory CA (dates not
 * checked: our clock may be wrong), our key, our serial, CN = store. */
static int check_issued(run *r, const prov_response *p, prov_cert_info *ci, prov_err *err) {
  int rc = prov_cert_verify(p->cert_pem.data, p->cert_pem.len, r->factory_ca.data,
                            r->factory_ca.len, false, err);
  if (rc == PROV_OK) rc = prov_cert_info_get(p->cert_pem.data, p->cert_pem.len, ci, err);
  if (rc != PROV_OK) return rc;
  if (strcmp(ci->key_hash, r->key_hash) != 0)
    return prov_err_set(err, PROV_ECERT, "certificate is for another key");
  if (strcmp(ci->device_serial, r->c->serial) != 0 || strcmp(ci->cn, p->store_id) != 0)
    return prov_err_set(err, PROV_ECERT, "certificate names %s/%s, not %s/%s", ci->cn,
                        ci->device_serial, p->store_id, r->c->serial);
  return PROV_OK;
}

/* ---- one session ---------------------------------------------------------------- */

typedef struct session {
  run *r;
  agent_mq *mq;
  char req_topic[PROTO_TOPIC_MAX], resp_topic[PROTO_TOPIC_MAX];
  char nonce[PROV_NONCE_MAX];
  const proto_buf *csr;
  int64_t retry_after_s;          /* HQ's hint, 0 = none */
} session;

static int send_request(session *s, prov_err *err) {
  unsigned char raw[16];
  prov_request q;
  proto_buf json;
  random_bytes(raw, sizeof raw);
  for (size_t i = 0; i < sizeof raw; i++) snprintf(s->nonce + 2 * i, 3, "%02x", raw[i]);
  prov_request_init(&q);
  proto_buf_init(&json);
  snprintf(q.serial, sizeof q.serial, "%s", s->r->c->serial);
  snprintf(q.nonce, sizeof q.nonce, "%s", s->nonce);
  snprintf(q.claim_token, sizeof q.claim_token, "%s", s->r->token);
  snprintf(q.agent_version, sizeof q.agent_version, "%s", PROV_AGENT_VERSION);
  int rc = proto_buf_append(&q.csr_pem, s->csr->data, s->csr->len) == 0 ? PROV_OK : PROV_ENOMEM;
  if (rc == PROV_OK) rc = prov_request_encode(&q, &json, err);
  if (rc == PROV_OK)
    rc = agent_mq_publish(s->mq, s->req_topic, json.data, json.len,
                          (int)s->r->c->response_wait_s * 1000, err);
  if (rc == PROV_OK)
    rt_logf(s->r->lg, RT_LOG_INFO, "request sent", "serial=%s nonce=%s token=%s", q.serial,
            s->nonce, q.claim_token[0] ? "yes" : "no");
  prov_request_close(&q);
  proto_buf_close(&json);
  return rc;
}

/* One answer: PROV_OK issued (in p), PROV_EUNASSIGNED pending, a refusal's
 * code, or -1 for a message that is not for this request. */
static int read_answer(session *s, const proto_buf *msg, prov_response *p) {
  prov_err e = {0};
  char esc[sizeof e.msg + 32];
  prov_cert_info ci;
  if (prov_response_decode(msg->data, msg->len, p, &e) != PROV_OK) {
    rt_logf(s->r->lg, RT_LOG_WARN, "answer ignored", "why=\"%s\"",
            rt_log_esc(esc, sizeof esc, e.msg));
    return -1;
  }
  if (p->status == PROV_ISSUED) {
    if (check_issued(s->r, p, &ci, &e) == PROV_OK) return PROV_OK;
    rt_logf(s->r->lg, RT_LOG_WARN, "certificate refused", "why=\"%s\"",
            rt_log_esc(esc, sizeof esc, e.msg));
    return -1;
  }
  if (strcmp(p->nonce, s->nonce) != 0) return -1;
  s->retry_after_s = p->retry_after_s;
  rt_logf(
      s->r->lg, p->status == PROV_PENDING ? RT_LOG_INFO : RT_LOG_WARN,
      p->status == PROV_PENDING ? "pending: waiting for HQ to assign this box" : "refused by HQ",
      "reason=%s retry_after_s=%lld", prov_err_wire(p->reason), (long long)p->retry_after_s);
  return p->status == PROV_PENDING ? PROV_EUNASSIGNED : p->reason;
}

/* Publish, then read answers until one decides, asking again while
 * pending; all within the deadline (mono ms, 0 = none). */
static int converse(session *s, long long deadline, prov_response *p, prov_err *err) {
  proto_buf msg;
  proto_buf_init(&msg);
  int rc = send_request(s, err);
  long long until = mono_ms() + s->r->c->response_wait_s * 1000;
  while (rc == PROV_OK) {
    if (deadline && until > deadline) until = deadline;
    long long left = until - mono_ms();
    rc = left > 0 ? agent_mq_next(s->mq, (int)left, &msg, err)
                  : prov_err_set(err, PROV_ETIMEOUT, "no answer from HQ in time");
    if (rc == PROV_ETIMEOUT && s->retry_after_s && (!deadline || mono_ms() < deadline)) {
      s->retry_after_s = 0; /* pending and nothing came: ask again */
      rc = send_request(s, err);
      until = mono_ms() + s->r->c->response_wait_s * 1000;
      continue;
    }
    if (rc != PROV_OK) break;
    int a = read_answer(s, &msg, p);
    if (a < 0) continue;
    if (a == PROV_EUNASSIGNED) {
      until = mono_ms() + (p->retry_after_s > 0 ? p->retry_after_s : 30) * 1000;
      continue;
    }
    if (a != PROV_OK)
      rc = prov_err_set(err, a, "refused by HQ: %s: %s", prov_err_wire(a), p->detail);
    break; /* issued or refused: this request is decided */
  }
  proto_buf_close(&msg);
  return rc;
}

static int one_session(run *r, const proto_buf *csr, long long deadline, prov_response *p,
                       int64_t *retry_after_s, prov_err *err) {
  const agent_config *c = r->c;
  session s = {.r = r, .csr = csr};
  agent_mq_opts mo = {c->broker_host, (int)c->broker_port, c->serial, c->ca_file, c->claim_certfile,
                      c->claim_keyfile, r->check_time, r->lg};
  int rc = prov_topic_make(s.req_topic, sizeof s.req_topic, c->serial, false, err);
  if (rc == PROV_OK) rc = prov_topic_make(s.resp_topic, sizeof s.resp_topic, c->serial, true, err);
  if (rc == PROV_OK) rc = agent_mq_open(&s.mq, &mo, err);
  if (rc == PROV_OK) rc = agent_mq_start(s.mq, s.resp_topic, (int)c->response_wait_s * 1000, err);
  if (rc == PROV_OK) rc = converse(&s, deadline, p, err);
  *retry_after_s = s.retry_after_s;
  agent_mq_close(s.mq);
  return rc;
}

static int request_loop(run *r, const proto_buf *csr, prov_response *p, prov_err *err) {
  const agent_config *c = r->c;
  long long deadline = c->max_wait_s ? mono_ms() + c->max_wait_s * 1000 : 0;
  double backoff = (double)c->retry_min_s;
  char esc[300];
  for (int attempt = 1;; attempt++) {
    int64_t hint = 0;
    int rc = one_session(r, csr, deadline, p, &hint, err);
    if (rc == PROV_OK || rc == PROV_EREVOKED || rc == PROV_ECONFIG || rc == PROV_ENOMEM) return rc;
    unsigned char j;
    random_bytes(&j, 1);
    double wait = hint > 0 ? (double)hint : backoff * (0.5 + j / 510.0); /* 0.5x .. 1x */
    if (wait > (double)c->retry_max_s) wait = (double)c->retry_max_s;
    backoff = backoff * 2 > (double)c->retry_max_s ? (double)c->retry_max_s : backoff * 2;
    rt_logf(r->lg, RT_LOG_WARN, "provisioning attempt failed",
            "attempt=%d err=%s why=\"%s\" retry_in_s=%.1f", attempt, prov_err_wire(rc),
            rt_log_esc(esc, sizeof esc, err ? err->msg : ""), wait);
    if (deadline && mono_ms() + (long long)(wait * 1000) >= deadline)
      return prov_err_set(err, PROV_ETIMEOUT, "gave up after max_wait_s=%lld (last: %s)",
                          (long long)c->max_wait_s, prov_err_wire(rc));
    pause_s(wait);
  }
}

/* ---- phases --------------------------------------------------------------------- */

static int ensure_key(run *r, agent_phase *phase, prov_err *err) {
  struct stat st;
  int rc = PROV_OK;
  if (stat(r->key, &st) != 0) {
    if (*phase != AGENT_NEW)
      rt_logf(r->lg, RT_LOG_WARN, "key missing: starting over with a new key", "phase=%s",
              agent_phase_name(*phase));
    unlink(r->csr);
    if ((rc = prov_key_generate(r->key, err)) != PROV_OK) return rc;
    rt_logf(r->lg, RT_LOG_INFO, "key generated", "path=%s mode=0600", r->key);
    *phase = AGENT_KEYED;
    return agent_state_save(r->c->state_dir, *phase, err);
  }
  if ((st.st_mode & 077) && chmod(r->key, 0600) != 0)
    return prov_err_set(err, PROV_EIO, "%s: chmod 0600: %s", r->key, strerror(errno));
  if (*phase == AGENT_NEW) {
    *phase = AGENT_KEYED;
    rc = agent_state_save(r->c->state_dir, *phase, err);
  }
  return rc;
}

static int load_csr(run *r, proto_buf *csr, prov_err *err) {
  int rc = prov_file_read(r->csr, PROV_PEM_MAX, csr, err);
  prov_csr_info ci;
  if (rc == PROV_OK && prov_csr_check(csr->data, csr->len, &ci, NULL) == PROV_OK &&
      strcmp(ci.key_hash, r->key_hash) == 0 && strcmp(ci.cn, r->c->serial) == 0)
    return PROV_OK;
  rc = prov_csr_make(r->key, r->c->serial, csr, err);
  if (rc == PROV_OK) rc = prov_file_write(r->csr, csr->data, csr->len, 0644, err);
  return rc;
}

/* Write what the answer stands for, then phase done. */
static int finish(run *r, const prov_response *p, prov_err *err) {
  prov_cert_info ci;
  int rc = check_issued(r, p, &ci, err);
  if (rc == PROV_OK) rc = prov_file_write(r->cert, p->cert_pem.data, p->cert_pem.len, 0644, err);
  if (rc == PROV_OK) rc = prov_file_write(r->ca, r->factory_ca.data, r->factory_ca.len, 0644, err);
  if (rc == PROV_OK) rc = agent_write_node_config(r->c, p, r->lg, err);
  if (rc == PROV_OK) rc = agent_state_save(r->c->state_dir, AGENT_DONE, err);
  if (rc == PROV_OK)
    rt_logf(r->lg, RT_LOG_INFO, "provisioned", "store=%s cert_serial=%s not_after_s=%lld config=%s",
            p->store_id, ci.cert_serial, (long long)ci.not_after_s, r->c->node_config);
  if (rc == PROV_OK && p->ca_pem.len &&
      (p->ca_pem.len != r->factory_ca.len ||
       memcmp(p->ca_pem.data, r->factory_ca.data, p->ca_pem.len)))
    rt_logf(r->lg, RT_LOG_WARN, "HQ sent another CA certificate; keeping the factory one", NULL);
  return rc;
}

/* Phase done: is the certificate still good for us, and not due? */
static bool still_good(run *r, bool renew) {
  proto_buf pem;
  prov_cert_info ci;
  prov_err e = {0};
  proto_buf_init(&pem);
  bool ok = prov_file_read(r->cert, PROV_PEM_MAX, &pem, &e) == PROV_OK &&
            prov_cert_verify(pem.data, pem.len, r->factory_ca.data, r->factory_ca.len, false, &e) ==
                PROV_OK &&
            prov_cert_info_get(pem.data, pem.len, &ci, &e) == PROV_OK &&
            strcmp(ci.key_hash, r->key_hash) == 0;
  proto_buf_close(&pem);
  if (!ok) {
    char esc[sizeof e.msg + 32];
    rt_logf(r->lg, RT_LOG_WARN, "certificate unusable: asking HQ again", "why=\"%s\"",
            rt_log_esc(esc, sizeof esc, e.msg));
    return false;
  }
  if (renew) return false;
  if (!r->clock_ok) {
    rt_logf(r->lg, RT_LOG_INFO, "provisioned; clock not trusted, renewal check skipped", "store=%s",
            ci.cn);
    return true;
  }
  int64_t left = ci.not_after_s - (int64_t)time(NULL);
  if (left > r->c->renew_before_days * 86400) {
    rt_logf(r->lg, RT_LOG_INFO, "provisioned", "store=%s days_left=%lld", ci.cn,
            (long long)(left / 86400));
    return true;
  }
  rt_logf(r->lg, RT_LOG_INFO, "certificate due for renewal", "days_left=%lld",
          (long long)(left / 86400));
  return false;
}

static void read_token(run *r) {
  proto_buf b;
  prov_err e = {0};
  proto_buf_init(&b);
  r->token[0] = '\0';
  if (r->c->claim_token_file[0] &&
      prov_file_read(r->c->claim_token_file, PROV_TOKEN_MAX * 2, &b, &e) == PROV_OK) {
    size_t n = strcspn(b.data, " \t\r\n");
    if (n < sizeof r->token) memcpy(r->token, b.data, n), r->token[n] = '\0';
  }
  proto_buf_close(&b);
}

static int provision(run *r, agent_phase phase, prov_err *err) {
  prov_response p;
  proto_buf csr, saved;
  prov_err e = {0};
  int rc = PROV_OK;
  prov_response_init(&p);
  proto_buf_init(&csr);
  proto_buf_init(&saved);
  if (phase == AGENT_ISSUED && prov_file_read(r->resp, PROV_MSG_MAX, &saved, &e) == PROV_OK &&
      prov_response_decode(saved.data, saved.len, &p, &e) == PROV_OK && p.status == PROV_ISSUED) {
    rt_logf(r->lg, RT_LOG_INFO, "resuming with HQ's saved answer", NULL);
  } else {
    if (phase != AGENT_DONE) read_token(r); /* a renewal proves the key, not a token */
    if (!r->token[0] && phase != AGENT_DONE)
      rt_logf(r->lg, RT_LOG_WARN, "no claim token: only a key HQ already knows can succeed", NULL);
    rc = load_csr(r, &csr, err);
    if (rc == PROV_OK) rc = request_loop(r, &csr, &p, err);
    proto_buf_reset(&saved);
    if (rc == PROV_OK && prov_response_encode(&p, &saved, err) == PROV_OK)
      rc = prov_file_write(r->resp, saved.data, saved.len, 0600, err);
    if (rc == PROV_OK) rc = agent_state_save(r->c->state_dir, AGENT_ISSUED, err);
  }
  if (rc == PROV_OK) rc = finish(r, &p, err);
  prov_response_close(&p);
  proto_buf_close(&csr);
  proto_buf_close(&saved);
  return rc;
}

int agent_run(const agent_config *c, const agent_run_opts *o, const rt_log *lg, prov_err *err) {
  run r;
  agent_phase phase;
  memset(&r, 0, sizeof r);
  r.c = c, r.lg = lg;
  proto_buf_init(&r.factory_ca);
  agent_path(r.key, sizeof r.key, c, "key.pem");
  agent_path(r.csr, sizeof r.csr, c, "csr.pem");
  agent_path(r.cert, sizeof r.cert, c, "cert.pem");
  agent_path(r.ca, sizeof r.ca, c, "ca.pem");
  agent_path(r.resp, sizeof r.resp, c, "response.json");
  int rc = prov_dir_ensure(c->state_dir, 0700, err);
  if (rc == PROV_OK && chmod(c->state_dir, 0700) != 0) /* made by someone else: still ours only */
    rc = prov_err_set(err, PROV_EIO, "%s: chmod 0700: %s", c->state_dir, strerror(errno));
  if (rc == PROV_OK) rc = prov_file_read(c->ca_file, PROV_PEM_MAX, &r.factory_ca, err);
  if (rc == PROV_OK) rc = agent_state_load(c->state_dir, &phase, err);
  if (rc == PROV_OK) rc = ensure_key(&r, &phase, err);
  if (rc == PROV_OK) rc = prov_key_hash(r.key, r.key_hash, err);
  if (rc != PROV_OK) goto done;
  agent_time_check tc = agent_config_time_check(c);
  /* time_check = yes declares the clock good; no only skips the broker's dates */
  r.clock_ok = tc == AGENT_TIME_YES || clock_trusted(&r.factory_ca);
  r.check_time = tc != AGENT_TIME_NO && r.clock_ok;
  rt_logf(lg, RT_LOG_INFO, "storenode-provision",
          "serial=%s phase=%s broker=%s:%lld check_broker_time=%s", c->serial,
          agent_phase_name(phase), c->broker_host, (long long)c->broker_port,
          r.check_time ? "yes" : "no");
  if (phase == AGENT_DONE && still_good(&r, o && o->renew)) goto done;
  rc = provision(&r, phase, err);
done:
  proto_buf_close(&r.factory_ca);
  memset(r.token, 0, sizeof r.token);
  return rc;
}
