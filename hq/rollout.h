/* hq/rollout.h - firmware bundles registered at HQ (issue 6, HQ side):
 *
 *   POST /api/v1/firmware {"path": "<bundle dir on HQ's disk>"}
 *        verify manifest.sig with fw_pubkey and payload.tar against the
 *        manifest (fw_bundle_verify), then remember version, sha256, size
 *   GET  /api/v1/firmware                    the registered bundles
 *   GET  /api/v1/firmware/{version}/payload  payload.tar, with Range
 *        (206 + Content-Range) so an interrupted download resumes; to the
 *        signed URL of a box's offer or a read/admin token (rollout_url.c)
 *
 *   POST /api/v1/rollouts {version, stores, percent_steps|percent, max_failures}
 *   GET  /api/v1/rollouts, GET /api/v1/rollouts/{id}, POST .../{id}/halt
 *
 * Registry, rollouts and the boxes' last reports are held in hq's memory
 * (hq_server.fw) and written through to hq.db (rollout_db.c, tables fw_*),
 * read back on first use after a start: a rollout resumes where it was.
 * docs/firmware.md, "HQ rollout", tells the flow.
 */
#ifndef HQ_ROLLOUT_H
#define HQ_ROLLOUT_H

#include "server.h"

typedef struct hq_fw hq_fw;

/* The registry's and the rollouts' routes (listed in http.c). */
extern const hq_route_table hq_fw_routes;     /* rollout.c */
extern const hq_route_table hq_rollout_routes; /* rollout_run.c */
/* Free the registry and the rollouts (NULL is fine). */
void hq_fw_free(hq_fw *fw);
/* A box's report on retail/v1/stores/<id>/up/update: remembered as that
 * box's state (a bad one is logged and dropped).  false if ev is not on an
 * up/update topic (the caller hands it to ingest). */
bool hq_fw_message(hq_server *s, const rt_mqtt_event *ev);
/* The rollouts' step, on hq's tick: decide (fw_rollout_next), publish the
 * offers, move to the next percentage when a stage has finished. */
void hq_fw_tick(hq_server *s);

#endif
