/* prov_run.c - provisioning in the running hq (hq/prov.h): requests from
 * boxes over MQTT, the assign endpoint, the CRL kept fresh.  Everything
 * runs on the loop thread; s->prov is NULL when prov_ca_dir is empty, and
 * then the endpoint answers 404 as if it did not exist.
 */
#include <string.h>

#include "api_json.h"
#include "jw.h"
#include "prov.h"
#include "server.h"

#define CRL_EVERY_MS (24u * 3600u * 1000u)

/* Publish what prov_* said to publish (QoS 1, not retained) and act on a
 * CRL change.  A failed publish is logged: the box asks again. */
static void send_reply(hq_server *s, const prov_reply *r) {
  if (r->send && (!s->mqtt || rt_mqtt_publish(s->mqtt, r->topic, r->json.data, r->json.len, 1, false) != 0))
    rt_logf(s->log, RT_LOG_WARN, "provisioning reply not sent: the box asks again", "topic=%s", r->topic);
  if (r->crl_changed) hq_prov_restart_broker(s->cfg, s->log, "superseded certificate");
}

static void log_reply(hq_server *s, const char *what, const char *serial, int rc, const prov_reply *r,
                      const prov_err *perr) {
  char esc[300];
  if (rc != PROV_OK && rc != PROV_EIO) { /* EINVAL: the caller's input; else HQ failed */
    rt_logf(s->log, rc == PROV_EINVAL ? RT_LOG_WARN : RT_LOG_ERROR, what, "serial=%s code=%s err=\"%s\"", serial, prov_err_wire(rc),
            rt_log_esc(esc, sizeof esc, perr->msg));
    return;
  }
  rt_logf(s->log, r->status == PROV_REFUSED ? RT_LOG_WARN : RT_LOG_INFO, what,
          "serial=%s status=%s reason=%s store=%s cert=%s detail=\"%s\"", serial,
          prov_status_name(r->status), prov_err_wire(r->reason), r->store_id[0] ? r->store_id : "-",
          r->cert_serial[0] ? r->cert_serial : "-", rt_log_esc(esc, sizeof esc, r->detail));
}

int hq_prov_start(hq_server *s, hq_err *err) {
  prov_err perr = {0};
  if (!s->cfg->prov_ca_dir[0]) return HQ_OK;
  int rc = hq_prov_open(&s->prov, s->cfg, err);
  if (rc != HQ_OK) return rc;
  if (prov_server_write_crl(s->prov, &perr) != PROV_OK)
    return hq_err_set(err, HQ_EIO, "provisioning CRL: %s", perr.msg);
  s->prov_crl_ms = proto_wall_ms();
  rt_logf(s->log, RT_LOG_INFO, "provisioning on", "ca_dir=%s broker=%s:%lld", s->cfg->prov_ca_dir,
          s->cfg->prov_broker_host, (long long)s->cfg->prov_broker_port);
  return HQ_OK;
}

void hq_prov_tick(hq_server *s) {
  prov_err perr = {0};
  if (!s->prov || proto_wall_ms() - s->prov_crl_ms < CRL_EVERY_MS) return;
  s->prov_crl_ms = proto_wall_ms();
  if (prov_server_write_crl(s->prov, &perr) != PROV_OK)
    rt_logf(s->log, RT_LOG_ERROR, "CRL rewrite failed", "err=\"%s\"", perr.msg);
}

bool hq_prov_message(hq_server *s, const rt_mqtt_event *ev) {
  char serial[PROTO_ID_MAX] = "?";
  prov_reply r;
  prov_err perr = {0};
  if (!s->prov || strncmp(ev->topic, PROV_TOPIC_PREFIX, strlen(PROV_TOPIC_PREFIX)) != 0) return false;
  prov_topic_parse(ev->topic, serial, NULL, NULL);
  prov_reply_init(&r);
  int rc = prov_handle_request(s->prov, ev->topic, ev->payload, ev->len, &r, &perr);
  if (rc == PROV_OK || rc == PROV_EIO) {
    log_reply(s, "provisioning request", serial, rc, &r, &perr);
    send_reply(s, &r);
  } else {
    log_reply(s, "provisioning request failed", serial, rc, &r, &perr);
  }
  prov_reply_close(&r);
  return true;
}

/* POST /api/v1/devices/{serial}/assign {"store_id"} -> {serial, store_id, box_waiting} */
static int assign(hq_server *s, hq_req *r, hq_err *err) {
  char store[PROTO_ID_MAX];
  prov_reply rep;
  prov_err perr = {0};
  jw w;
  if (!s->prov) return hq_err_set(err, HQ_ENOTFOUND, "provisioning is off (no prov_ca_dir)");
  int rc = hq_json_assign(r->body, r->body_len, store, err);
  if (rc != HQ_OK) return rc;
  prov_reply_init(&rep);
  int prc = prov_assign(s->prov, r->seg[0], store, &rep, &perr);
  log_reply(s, "device assigned", r->seg[0], prc, &rep, &perr);
  if (prc == PROV_OK || prc == PROV_EIO) send_reply(s, &rep);
  if (prc == PROV_EINVAL) rc = hq_err_field(err, HQ_EINVAL, "store_id", "%s", perr.msg);
  else if (prc != PROV_OK && prc != PROV_EIO) rc = hq_err_set(err, HQ_EDB, "%s", perr.msg);
  if (rc == HQ_OK) {
    jw_init(&w, &r->out);
    jw_obj(&w, NULL);
    jw_str(&w, "serial", r->seg[0]);
    jw_str(&w, "store_id", store);
    jw_bool(&w, "box_waiting", rep.send);
    if (rep.cert_serial[0]) jw_str(&w, "cert_serial", rep.cert_serial);
    jw_end(&w);
    rc = jw_done(&w) == PROTO_OK ? HQ_OK : hq_err_set(err, HQ_ENOMEM, NULL);
  }
  prov_reply_close(&rep);
  return rc;
}

static const hq_route routes[] = {
    {LWSHUMETH_POST, "/api/v1/devices/{}/assign", assign, HQ_SCOPE(ADMIN)},
};

const hq_route_table hq_prov_routes = {routes, sizeof routes / sizeof routes[0]};
