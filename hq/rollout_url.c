/* rollout_url.c - the boxes' download credential: signed payload URLs.
 *
 *   <base>/api/v1/firmware/<version>/payload?store=<id>&exp=<unix s>&sig=<hex>
 *   sig = hex(HMAC-SHA256(key, "fw-payload\n" version "\n" store "\n" exp))
 *
 * key: 32 random bytes hq created once and keeps in hq.db (fw_secret,
 * rollout_db.c); never served, never logged.  A box has no API token: its
 * offer, retained on its own store's down/update topic, carries a URL for
 * that store alone, good for fw_url_ttl_s.
 *
 * GET .../payload is allowed with
 *   - a signed URL (sig present): the signature matches (compared in
 *     constant time), exp has not passed, the store is a box of a rollout
 *     of this version, and, with provisioning on, the store is not revoked
 *     (below);
 *   - else a bearer token with the read or admin scope (operators, scripts).
 * 401 without any credential, 403 for a signed URL that is expired,
 * tampered, for another store or version, or for a revoked store.  Every
 * refusal is logged with version, store, exp and why, never the signature.
 *
 * Revoked store: among the registry's devices whose newest certificate was
 * issued for the store (CN = store id), at least one, and every one of them
 * revoked.  Only certificates count: a device registered for the store but
 * not certified yet (never claimed, or pending) says nothing about
 * revocation, so a store without any certificate downloads as with
 * provisioning off (a fleet enrolling its boxes keeps its updates).  Expiry
 * is not revocation (the broker refuses an expired certificate; the box
 * renews).  The URL names the store, not the device: once a replacement box
 * of a revoked store holds a valid certificate, the store downloads again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "rollout_int.h"

#define SIG_HEX 64

/* hex HMAC of (version, store, exp) into out[SIG_HEX + 1]; -1 on failure. */
static int mac(const hq_fw *fw, const char *version, const char *store, int64_t exp, char *out) {
  unsigned char m[32];
  char msg[FW_VERSION_MAX + FW_ID_MAX + 48];
  int len = snprintf(msg, sizeof msg, "fw-payload\n%s\n%s\n%" PRId64, version, store, exp);
  if (len < 0 || (size_t)len >= sizeof msg ||
      mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), fw->key, sizeof fw->key,
                      (const unsigned char *)msg, (size_t)len, m) != 0)
    return -1;
  for (size_t i = 0; i < sizeof m; i++) snprintf(out + 2 * i, 3, "%02x", m[i]);
  return 0;
}

int hq__fw_url(const hq_server *s, const hq_fw *fw, const char *version, const char *store,
               int64_t exp, char *out, size_t cap, hq_err *err) {
  char sig[SIG_HEX + 1];
  int n;
  if (mac(fw, version, store, exp, sig) != 0) return hq_err_set(err, HQ_EIO, "cannot sign the payload URL");
  if (s->cfg->fw_base_url[0])
    n = snprintf(out, cap, "%s/api/v1/firmware/%s/payload?store=%s&exp=%" PRId64 "&sig=%s", s->cfg->fw_base_url,
                 version, store, exp, sig);
  else
    n = snprintf(out, cap, "http://%s:%d/api/v1/firmware/%s/payload?store=%s&exp=%" PRId64 "&sig=%s",
                 s->cfg->http_addr, s->port, version, store, exp, sig);
  return n > 0 && (size_t)n < cap ? HQ_OK : hq_err_set(err, HQ_ECONFIG, "fw_base_url: the payload URL is too long");
}

/* Equal, in time that depends only on the length. */
static bool same(const char *a, const char *b, size_t n) {
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

static bool is_box_of(const hq_fw *fw, const char *version, const char *store) {
  for (size_t i = 0; i < fw->n_ro; i++) {
    if (strcmp(fw->ro[i].version, version) != 0) continue;
    for (size_t k = 0; k < fw->ro[i].n; k++)
      if (strcmp(fw->ro[i].box[k].store, store) == 0) return true;
  }
  return false;
}

typedef struct dev_scan {
  const char *store;
  int certified, valid;            /* devices whose newest certificate is for store; unrevoked */
} dev_scan;

static int dev_fn(void *ctx, const prov_device *d) {
  dev_scan *c = ctx;
  if (!d->cert_serial[0] || strcmp(d->cert_cn, c->store) != 0) return 0; /* no say: not certified for it */
  c->certified++;
  if (!d->cert_revoked) c->valid++;
  return 0;
}

/* Why the signed URL (store, exp, sig) is refused, or NULL; HQ_EIO in *rc
 * if the provisioning registry could not be read. */
static const char *refusal(hq_server *s, const hq_fw *fw, const char *version, const char *store,
                           const char *exp_s, const char *sig, char *why, size_t cap, int *rc, hq_err *err) {
  char want[SIG_HEX + 1];
  char *end = NULL;
  long long exp = strtoll(exp_s, &end, 10);
  int64_t now = (int64_t)(proto_wall_ms() / 1000u);
  dev_scan scan = {store, 0, 0};
  prov_err perr = {0};
  *rc = HQ_OK;
  if (!store[0] || strlen(store) >= FW_ID_MAX || !proto_id_valid(store) || !exp_s[0] || *end || exp <= 0 ||
      strlen(sig) != SIG_HEX)
    return "malformed signed URL: store, exp (unix s) and sig (64 hex digits) are required";
  if (mac(fw, version, store, exp, want) != 0 || !same(want, sig, SIG_HEX))
    return "signature does not match this version, store and exp";
  if (exp < now) {
    snprintf(why, cap, "signed URL expired at %lld (now %" PRId64 "): the box needs a fresh offer", exp, now);
    return why;
  }
  if (!is_box_of(fw, version, store)) {
    snprintf(why, cap, "store %s is not a box of any rollout of %s", store, version);
    return why;
  }
  if (!s->prov) return NULL;
  if (prov_registry_devices(prov_server_registry(s->prov), dev_fn, &scan, &perr) != PROV_OK) {
    *rc = hq_err_set(err, HQ_EIO, "provisioning registry: %s", perr.msg);
    return NULL;
  }
  if (scan.certified > 0 && scan.valid == 0) {
    snprintf(why, cap, "store %s is revoked: the certificates of its %d device(s) are all revoked",
             store, scan.certified);
    return why;
  }
  return NULL;
}

int hq__fw_authorize(hq_server *s, hq_fw *fw, hq_req *r, const char *version, hq_err *err) {
  char auth[200] = "", store[96] = "", exp_s[32] = "", sig[96] = "", why[200];
  char e_store[200], e_exp[100], e_why[300];
  int rc = HQ_OK;
  bool has_sig = hq_req_arg(r, "sig", sig, sizeof sig);
  if (r->wsi && lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
      lws_hdr_copy(r->wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
    auth[0] = '\0';
  if (auth[0] || !has_sig) {
    const char *who = "";
    rc = hq_tokens_check(&s->tokens, auth[0] ? auth : NULL, HQ_SCOPE(READ) | HQ_SCOPE(ADMIN), &who, err);
    snprintf(r->who, sizeof r->who, "%s", who);
    if (rc == HQ_EUNAUTH && !auth[0])
      hq_err_set(err, rc, "a signed URL (?store=&exp=&sig=, from the offer) or Authorization: Bearer "
                          "<token> with the read or admin scope is required");
    return rc;
  }
  hq_req_arg(r, "store", store, sizeof store);
  hq_req_arg(r, "exp", exp_s, sizeof exp_s);
  const char *no = refusal(s, fw, version, store, exp_s, sig, why, sizeof why, &rc, err);
  if (rc != HQ_OK || !no) {
    if (rc == HQ_OK)
      rt_logf(s->log, RT_LOG_DEBUG, "firmware download", "version=%s store=%s exp=%s", version, store, exp_s);
    return rc;
  }
  rt_logf(s->log, RT_LOG_WARN, "firmware download refused", "version=%s store=\"%s\" exp=\"%s\" why=\"%s\"",
          version, rt_log_esc(e_store, sizeof e_store, store), rt_log_esc(e_exp, sizeof e_exp, exp_s),
          rt_log_esc(e_why, sizeof e_why, no));
  return hq_err_set(err, HQ_EFORBIDDEN, "%s", no);
}
