/* tls.c - the MQTT clients' TLS context (see rt/tls.h).
 *
 * Our own OpenSSL context, handed to libmosquitto with
 * MOSQ_OPT_SSL_CTX_WITH_DEFAULTS = 0, so that a box whose clock cannot be
 * trusted checks the broker's certificate without its dates
 * (X509_V_FLAG_NO_CHECK_TIME).  Not libmosquitto's context + defaults: in
 * 2.0.11 its verify callback finds no client on a caller's context (its TLS
 * init is lazy) and refuses every certificate; and setting the flag on the
 * connection after connect races with the broker's first answer.  The host
 * name check is then OpenSSL's own (X509_VERIFY_PARAM_set1_host / _ip_asc).
 */
#define _DEFAULT_SOURCE /* adjtimex */
#include "rt/tls.h"

#include <stdio.h>
#include <sys/timex.h>

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

bool rt_tls_clock_synced(void) {
  struct timex tx = {0};
  int st = adjtimex(&tx);
  return st != -1 && st != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

bool rt_tls_check_dates(rt_tls_time_check mode, bool (*synced)(void)) {
  if (mode == RT_TLS_TIME_ALWAYS) return true;
  if (mode == RT_TLS_TIME_NEVER) return false;
  return synced ? synced() : rt_tls_clock_synced();
}

/* What was wrong, or NULL: the context is complete. */
static const char *configure(SSL_CTX *ctx, const char *cafile, const char *certfile,
                             const char *keyfile, const char *host) {
  unsigned char ip[16];
  X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
  bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return "TLS version";
  if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) return cafile;
  if (certfile && SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) return certfile;
  if (certfile && (!keyfile || SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1 ||
                   SSL_CTX_check_private_key(ctx) != 1))
    return keyfile ? keyfile : "key file missing";
  if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
             : X509_VERIFY_PARAM_set1_host(param, host, 0)) != 1)
    return "broker host name";
  return NULL;
}

struct ssl_ctx_st *rt_tls_client_ctx(const char *cafile, const char *certfile, const char *keyfile,
                                     const char *host, bool check_dates, char *errbuf, size_t cap) {
  const char *what = !cafile || !*cafile ? "cafile is required" : !host ? "host is required" : NULL;
  SSL_CTX *ctx = what ? NULL : SSL_CTX_new(TLS_client_method());
  if (!what && !ctx) what = "TLS context";
  if (!what) what = configure(ctx, cafile, certfile, keyfile, host);
  if (what) {
    SSL_CTX_free(ctx);
    if (errbuf && cap) snprintf(errbuf, cap, "TLS: %s", what);
    return NULL;
  }
  if (!check_dates) X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  return ctx;
}

void rt_tls_ctx_free(struct ssl_ctx_st *ctx) { SSL_CTX_free(ctx); }
