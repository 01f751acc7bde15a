/* rt/tls.h - the MQTT clients' TLS context (issue 5), shared by storenode's
 * bridge (rt/mqtt.h) and the provisioning agent.
 *
 * A box has no real-time clock: until NTP runs it may believe it is 1970, and
 * every broker certificate looks "not yet valid".  So the validity dates are
 * checked only when the clock can be believed (RT_TLS_TIME_AUTO: the kernel
 * says it is NTP-synchronised).  The chain, the signatures and the broker's
 * host name / IP are always checked.
 */
#ifndef RT_TLS_H
#define RT_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct ssl_ctx_st; /* OpenSSL's SSL_CTX; callers that use it include <openssl/ssl.h> */

typedef enum {
  RT_TLS_TIME_AUTO = 0, /* check dates only when the clock is synchronised */
  RT_TLS_TIME_ALWAYS,   /* always check dates (an unsynchronised 1970 box cannot connect) */
  RT_TLS_TIME_NEVER     /* never check dates */
} rt_tls_time_check;

/* The kernel's word (adjtimex): true if the clock is NTP-synchronised. */
bool rt_tls_clock_synced(void);

/* Decide whether dates are checked: ALWAYS, or AUTO and synced() says so
 * (synced NULL: rt_tls_clock_synced). */
bool rt_tls_check_dates(rt_tls_time_check mode, bool (*synced)(void));

/* A client context used as is (see rt/src/tls.c for why not libmosquitto's
 * own): TLS >= 1.2, trust = cafile only, peer verification with the host
 * name or IP in `host`, the client certificate and key when certfile is set,
 * X509_V_FLAG_NO_CHECK_TIME unless check_dates.  NULL on failure with
 * errbuf naming the file or setting that was wrong; nothing is left. */
struct ssl_ctx_st *rt_tls_client_ctx(const char *cafile, const char *certfile, const char *keyfile,
                                     const char *host, bool check_dates, char *errbuf, size_t cap);
/* Drop the caller's reference (NULL is fine). */
void rt_tls_ctx_free(struct ssl_ctx_st *ctx);

#endif
