/* prov/msg.h - the provisioning messages and topics (docs/protocol.md,
 * "Provisioning", has the JSON with real examples).
 *
 *   retail/v1/provision/<serial>/request    box -> HQ   (claim identity)
 *   retail/v1/provision/<serial>/response   HQ -> box
 *
 * Request:  {"v":1,"serial":..,"nonce":..,"claim_token":..,"csr_pem":..,
 *            "agent_version":..}     claim_token may be left out once the
 *            box holds a certificate for its key (retry after a lost answer,
 *            renewal): HQ then recognises the key instead.
 * Response: {"v":1,"serial":..,"nonce":..,"status":"issued"|"pending"|"refused",
 *            "hq_time_ms":..,"retry_after_s":.., and
 *            issued:  "store_id","cert_pem","ca_pem","broker_host","broker_port",
 *                     "not_after_s","node_config"
 *            pending/refused: "reason" (a prov_err wire name), "detail"}
 * The nonce is the box's, per request; HQ echoes it (a response produced
 * by prov_assign echoes the nonce of the request that is pending), so a
 * box can tell the answer to its current request from an old one.
 *
 * Decoding is strict: unknown members are ignored (newer senders), missing
 * or mistyped required ones are PROV_EMSG naming the member.
 */
#ifndef PROV_MSG_H
#define PROV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/event.h"
#include "proto/repl.h"
#include "prov/error.h"
#include "prov/registry.h"

#define PROV_TOPIC_PREFIX PROTO_TOPIC_ROOT "/provision/"
#define PROV_REQUEST_FILTER PROTO_TOPIC_ROOT "/provision/+/request"
#define PROV_RESPONSE_FILTER PROTO_TOPIC_ROOT "/provision/+/response"
#define PROV_TOKEN_MAX 64
#define PROV_HOST_MAX 254
#define PROV_DETAIL_MAX 200
#define PROV_NODE_CONFIG_MAX 4096
#define PROV_MSG_MAX (64 * 1024)

/* "retail/v1/provision/<serial>/request|response".  PROV_EINVAL (not an id,
 * does not fit). */
int prov_topic_make(char *buf, size_t cap, const char *serial, bool response, prov_err *err);
/* Parse either topic; serial holds PROTO_ID_MAX; is_response may be NULL.
 * PROV_EINVAL if the topic is not of that shape. */
int prov_topic_parse(const char *topic, char serial[PROTO_ID_MAX], bool *is_response,
                     prov_err *err);

typedef struct prov_request {
  char serial[PROTO_ID_MAX];
  char nonce[PROV_NONCE_MAX];          /* 8..32 of [0-9a-f] */
  char claim_token[PROV_TOKEN_MAX];    /* "" = none */
  char agent_version[PROTO_ID_MAX];
  proto_buf csr_pem;                   /* caller inits/closes */
} prov_request;

typedef enum { PROV_ISSUED, PROV_PENDING, PROV_REFUSED } prov_status;

typedef struct prov_response {
  char serial[PROTO_ID_MAX];
  char nonce[PROV_NONCE_MAX];          /* "" when the request had none readable */
  prov_status status;
  int reason;                          /* PROV_E*: refused why; pending: PROV_EUNASSIGNED */
  char detail[PROV_DETAIL_MAX];
  int64_t hq_time_ms;                  /* HQ's clock: a box without RTC learns the time */
  int64_t retry_after_s;               /* when to ask again (pending/refused) */
  /* issued only: */
  char store_id[PROTO_ID_MAX];
  char broker_host[PROV_HOST_MAX];
  int broker_port;
  int64_t not_after_s;
  proto_buf cert_pem, ca_pem, node_config;   /* caller inits/closes */
} prov_response;

void prov_request_init(prov_request *q);
void prov_request_close(prov_request *q);
void prov_response_init(prov_response *p);
void prov_response_close(prov_response *p);

/* Append the JSON to out.  PROV_EINVAL naming a field that would not decode. */
int prov_request_encode(const prov_request *q, proto_buf *out, prov_err *err);
int prov_response_encode(const prov_response *p, proto_buf *out, prov_err *err);
/* Replace *q / *p with the decoded message.  PROV_EMSG naming the member;
 * then *p is reset, and *q holds the members read before the bad one (in
 * table order: serial, nonce, ...), so a refusal can echo the nonce. */
int prov_request_decode(const char *json, size_t len, prov_request *q, prov_err *err);
int prov_response_decode(const char *json, size_t len, prov_response *p, prov_err *err);

const char *prov_status_name(prov_status s);

#endif
