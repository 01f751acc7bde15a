/* server.c - HQ's answer to a provisioning request, and prov_assign.
 *
 * A request moves through these checks (the policy in prov/server.h); the
 * first that fails decides the answer:
 *
 *   rate ──▶ decode ──▶ serial = topic ──▶ CSR verifies, CN = serial
 *     ──▶ known key?  yes: revoked? refuse : (store? issue-or-same : pending)
 *                     no:  token spent on (serial, key) ──▶ claim kept
 *                          ──▶ store? issue : pending
 *
 * The rate counter is committed on its own (a refused flood must still
 * count).  Everything after the CSR check runs in one registry transaction:
 * the token is only spent if the claim and the certificate (or the pending
 * claim) are stored with it.  The CRL, when an issuance superseded an older
 * certificate, is built inside the transaction and written after COMMIT.
 */
#include <stdio.h>
#include <string.h>

#include "prov/x509.h"
#include "server_int.h"

#define REFUSED_RETRY_S 300

void prov_reply_init(prov_reply *r) {
  memset(r, 0, sizeof *r);
  proto_buf_init(&r->json);
}

void prov_reply_close(prov_reply *r) { proto_buf_close(&r->json); }

static void reply_reset(prov_reply *r) {
  proto_buf json = r->json;
  memset(r, 0, sizeof *r);
  r->json = json;
  proto_buf_reset(&r->json);
}

/* The response for a refusal or a wait (status and reason from code). */
static void not_issued(prov_server *s, prov_response *p, int code, const char *detail) {
  p->status = code == PROV_EUNASSIGNED ? PROV_PENDING : PROV_REFUSED;
  p->reason = code;
  snprintf(p->detail, sizeof p->detail, "%.*s", (int)sizeof p->detail - 1,
           detail && *detail ? detail : prov_strerror(code));
  p->retry_after_s = code == PROV_EUNASSIGNED ? s->o.pending_retry_s
                     : code == PROV_ERATE     ? s->o.rate_window_s
                                              : REFUSED_RETRY_S;
}

static int finish(prov_server *s, prov_response *p, prov_reply *r, prov_err *err) {
  p->hq_time_ms = prov__server_now_ms(s);
  int rc = prov_topic_make(r->topic, sizeof r->topic, p->serial, true, err);
  if (rc == PROV_OK) rc = prov_response_encode(p, &r->json, err);
  if (rc != PROV_OK) return rc;
  r->send = true;
  r->status = p->status;
  r->reason = p->status == PROV_ISSUED ? PROV_OK : p->reason;
  snprintf(r->detail, sizeof r->detail, "%s", p->detail);
  snprintf(r->store_id, sizeof r->store_id, "%s", p->store_id);
  return PROV_OK;
}

/* Fill the issued answer from a certificate row or a fresh one. */
static int fill_issued(prov_server *s, prov_response *p, const char *store, const char *pem,
                       const prov_cert_info *info, prov_reply *r) {
  size_t calen;
  const char *ca = prov_ca_cert_pem(s->ca, &calen);
  p->status = PROV_ISSUED;
  snprintf(p->store_id, sizeof p->store_id, "%s", store);
  snprintf(p->broker_host, sizeof p->broker_host, "%s", s->o.broker_host);
  p->broker_port = s->o.broker_port;
  p->not_after_s = info->not_after_s;
  snprintf(r->cert_serial, sizeof r->cert_serial, "%s", info->cert_serial);
  proto_buf_reset(&p->cert_pem);
  proto_buf_reset(&p->ca_pem);
  proto_buf_reset(&p->node_config);
  if (proto_buf_puts(&p->cert_pem, pem) != 0 || proto_buf_append(&p->ca_pem, ca, calen) != 0 ||
      proto_buf_puts(&p->node_config, s->o.node_config ? s->o.node_config : "") != 0)
    return PROV_ENOMEM;
  return PROV_OK;
}

/* Issue a certificate for (serial, key) as store; supersede the box's
 * certificates for other keys/stores.  Inside the transaction. */
static int issue(prov_server *s, const char *serial, const char *store, const prov_csr_info *ci,
                 prov_response *p, prov_reply *r, proto_buf *crl, prov_err *err) {
  int64_t now_ms = prov__server_now_ms(s), now_s = now_ms / 1000;
  prov_cert_req req = {.cn = store, .device_serial = serial, .uses = PROV_USE_CLIENT,
                       .not_before_s = now_s - BACKDATE_S,
                       .not_after_s = now_s + s->o.device_days * 86400};
  prov_cert_info info;
  proto_buf pem;
  int n = 0;
  proto_buf_init(&pem);
  int rc = prov_ca_issue(s->ca, &req, ci->spki, ci->spki_len, &pem, &info, err);
  if (rc == PROV_OK) rc = prov_registry_cert_add(s->reg, &info, pem.data, now_ms, err);
  if (rc == PROV_OK)
    rc = prov_registry_revoke_superseded(s->reg, serial, info.cert_serial, info.key_hash, store,
                                         now_ms, &n, err);
  if (rc == PROV_OK && n > 0) rc = prov__crl_build(s, crl, err);
  if (rc == PROV_OK && fill_issued(s, p, store, pem.data, &info, r) != PROV_OK)
    rc = prov_err_set(err, PROV_ENOMEM, "answer");
  proto_buf_close(&pem);
  return rc;
}

/* Issued again or anew for a key HQ certified before.  Inside the tx. */
static int known_key(prov_server *s, const prov_device *d, const prov_cert_row *c,
                     const prov_csr_info *ci, prov_response *p, prov_reply *r, proto_buf *crl,
                     prov_err *err) {
  int64_t now_s = prov__server_now_ms(s) / 1000;
  if (c->revoked_ms) {
    not_issued(s, p, PROV_EREVOKED,
               "this key's certificate was revoked: the box needs a new key and claim");
    return PROV_OK;
  }
  if (!d->store_id[0]) {
    not_issued(s, p, PROV_EUNASSIGNED, "serial not assigned to a store");
    return PROV_OK;
  }
  if (strcmp(c->info.cn, d->store_id) == 0 &&
      c->info.not_after_s - now_s > s->o.renew_before_days * 86400)
    return fill_issued(s, p, d->store_id, c->pem.data, &c->info, r) == PROV_OK
               ? PROV_OK
               : prov_err_set(err, PROV_ENOMEM, "answer");
  return issue(s, d->serial, d->store_id, ci, p, r, crl, err);
}

/* A key HQ has not certified: spend the token, keep the claim, issue or
 * wait.  Inside the tx. */
static int new_claim(prov_server *s, const prov_request *q, const prov_csr_info *ci,
                     prov_response *p, prov_reply *r, proto_buf *crl, prov_err *err) {
  int64_t now = prov__server_now_ms(s);
  prov_device d;
  prov_claim c;
  prov_err terr = {0};
  char th[PROV_HASH_HEX];
  int rc = PROV_OK;
  memset(&c, 0, sizeof c);
  proto_buf_init(&c.csr);
  bool same = prov_registry_claim_get(s->reg, q->serial, &c, &terr) == PROV_OK &&
              strcmp(c.key_hash, ci->key_hash) == 0;
  if (!same) {
    if (!q->claim_token[0]) {
      not_issued(s, p, PROV_ETOKEN, "a claim token is required for a new key");
      goto done;
    }
    prov__sha256_hex(q->claim_token, strlen(q->claim_token), th);
    rc = prov_registry_token_use(s->reg, th, q->serial, ci->key_hash, now, &terr);
    if (rc == PROV_EDB) {
      prov_err_set(err, rc, "%s", terr.msg);
      goto done;
    }
    if (rc != PROV_OK) { /* a refusal: an answer, not a failure */
      not_issued(s, p, rc, terr.msg);
      rc = PROV_OK;
      goto done;
    }
  }
  if ((rc = prov_registry_register(s->reg, q->serial, NULL, now, err)) != PROV_OK) goto done;
  if ((rc = prov_registry_device(s->reg, q->serial, &d, err)) != PROV_OK) goto done;
  snprintf(c.serial, sizeof c.serial, "%s", q->serial);
  snprintf(c.key_hash, sizeof c.key_hash, "%s", ci->key_hash);
  snprintf(c.nonce, sizeof c.nonce, "%s", q->nonce);
  snprintf(c.agent_version, sizeof c.agent_version, "%s", q->agent_version);
  proto_buf_reset(&c.csr);
  if (proto_buf_append(&c.csr, q->csr_pem.data, q->csr_pem.len) != 0) {
    rc = prov_err_set(err, PROV_ENOMEM, "claim");
    goto done;
  }
  c.pending = d.store_id[0] == '\0';
  if ((rc = prov_registry_claim_put(s->reg, &c, now, err)) != PROV_OK) goto done;
  if (c.pending) not_issued(s, p, PROV_EUNASSIGNED, "serial not assigned to a store yet");
  else rc = issue(s, q->serial, d.store_id, ci, p, r, crl, err);
done:
  proto_buf_close(&c.csr);
  return rc;
}

/* Everything after the CSR check, in one transaction. */
static int decide(prov_server *s, const prov_request *q, const prov_csr_info *ci,
                  prov_response *p, prov_reply *r, proto_buf *crl, prov_err *err) {
  prov_cert_row c;
  prov_device d;
  prov_err nerr = {0};
  memset(&c, 0, sizeof c);
  proto_buf_init(&c.pem);
  int rc = prov_registry_begin(s->reg, err);
  if (rc != PROV_OK) goto done;
  rc = prov_registry_cert_latest(s->reg, q->serial, ci->key_hash, &c, &nerr);
  if (rc == PROV_ENOTFOUND) {
    rc = new_claim(s, q, ci, p, r, crl, err);
  } else if (rc == PROV_OK) {
    rc = prov_registry_device(s->reg, q->serial, &d, err);
    if (rc == PROV_OK) rc = known_key(s, &d, &c, ci, p, r, crl, err);
  } else {
    prov_err_set(err, rc, "%s", nerr.msg);
  }
  if (rc == PROV_OK) rc = prov_registry_commit(s->reg, err);
  else prov_registry_rollback(s->reg);
done:
  proto_buf_close(&c.pem);
  return rc;
}

/* The checks that need no registry, after the message decoded: serial,
 * CSR.  PROV_OK or the refusal's code with why. */
static int check(const char *serial, const prov_request *q, prov_csr_info *ci, prov_err *why) {
  if (strcmp(q->serial, serial) != 0)
    return prov_err_set(why, PROV_ESERIAL, "message names serial %s on the topic of %s", q->serial,
                        serial);
  int rc = prov_csr_check(q->csr_pem.data, q->csr_pem.len, ci, why);
  if (rc != PROV_OK) return rc;
  if (strcmp(ci->cn, serial) != 0)
    return prov_err_set(why, PROV_ESERIAL, "CSR is for %s, not %s", ci->cn, serial);
  return PROV_OK;
}

int prov_handle_request(prov_server *s, const char *topic, const void *payload, size_t len,
                        prov_reply *r, prov_err *err) {
  char serial[PROTO_ID_MAX];
  bool is_response = true;
  prov_request q;
  prov_response p;
  prov_csr_info ci;
  prov_err why = {0};
  proto_buf crl;
  reply_reset(r);
  if (prov_topic_parse(topic, serial, &is_response, err) != PROV_OK || is_response)
    return prov_err_set(err, PROV_EINVAL, "%s: not a provisioning request topic", topic);
  prov_request_init(&q);
  prov_response_init(&p);
  proto_buf_init(&crl);
  snprintf(p.serial, sizeof p.serial, "%s", serial);
  int64_t now = prov__server_now_ms(s);
  /* decoding is cheap and gives the nonce to echo; the rate limit comes
   * before the costly parts (signature check, storage) */
  int drc = prov_request_decode(payload, len, &q, &why);
  snprintf(p.nonce, sizeof p.nonce, "%s", q.nonce);
  int rc = prov_registry_rate(s->reg, serial, now, s->o.rate_window_s * 1000, s->o.rate_max, &why);
  if (rc == PROV_OK && drc != PROV_OK) rc = drc == PROV_ENOMEM ? drc : PROV_EMSG;
  if (rc == PROV_OK) rc = check(serial, &q, &ci, &why);
  if (rc == PROV_EDB || rc == PROV_ENOMEM) {
    prov_err_set(err, rc, "%s", why.msg);
    goto done;
  }
  if (rc != PROV_OK) not_issued(s, &p, rc, why.msg);
  else if ((rc = decide(s, &q, &ci, &p, r, &crl, err)) != PROV_OK) goto done;
  rc = finish(s, &p, r, err);
  if (rc == PROV_OK && crl.len) {
    rc = prov__crl_store(s, &crl, err);
    r->crl_changed = rc == PROV_OK;
  }
done:
  if (rc != PROV_OK && rc != PROV_EIO) reply_reset(r);
  proto_buf_close(&crl);
  prov_response_close(&p);
  prov_request_close(&q);
  return rc;
}

int prov_assign(prov_server *s, const char *serial, const char *store_id, prov_reply *r,
                prov_err *err) {
  prov_claim c;
  prov_csr_info ci;
  prov_response p;
  prov_err nerr = {0};
  proto_buf crl;
  reply_reset(r);
  if (!prov__id_ok(store_id) || prov__reserved_id(store_id))
    return prov_err_set(err, PROV_EINVAL, "store_id %s: not an id, or reserved", store_id);
  memset(&c, 0, sizeof c);
  proto_buf_init(&c.csr);
  proto_buf_init(&crl);
  prov_response_init(&p);
  int rc = prov_registry_begin(s->reg, err);
  if (rc != PROV_OK) goto done;
  rc = prov_registry_register(s->reg, serial, store_id, prov__server_now_ms(s), err);
  bool pending = rc == PROV_OK && prov_registry_claim_get(s->reg, serial, &c, &nerr) == PROV_OK &&
                 c.pending;
  if (pending) {
    c.pending = false;
    snprintf(p.serial, sizeof p.serial, "%s", serial);
    snprintf(p.nonce, sizeof p.nonce, "%s", c.nonce);
    rc = prov_csr_check(c.csr.data, c.csr.len, &ci, err);
    if (rc == PROV_OK) rc = prov_registry_claim_put(s->reg, &c, prov__server_now_ms(s), err);
    if (rc == PROV_OK) rc = issue(s, serial, store_id, &ci, &p, r, &crl, err);
  }
  if (rc == PROV_OK) rc = prov_registry_commit(s->reg, err);
  else prov_registry_rollback(s->reg);
  if (rc == PROV_OK && pending) rc = finish(s, &p, r, err);
  if (rc == PROV_OK && crl.len) {
    rc = prov__crl_store(s, &crl, err);
    r->crl_changed = rc == PROV_OK;
  }
done:
  if (rc != PROV_OK && rc != PROV_EIO) reply_reset(r);
  prov_response_close(&p);
  proto_buf_close(&crl);
  proto_buf_close(&c.csr);
  return rc;
}
