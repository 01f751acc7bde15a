/* fw_bundle.c - fw-bundle: make, check and offer firmware bundles.
 *
 *   fw-bundle keygen PRIVATE.pem PUBLIC.pem
 *   fw-bundle create --src DIR --out DIR --version V --min-version V --key PRIVATE.pem
 *                    [--product NAME] [--created YYYY-MM-DDTHH:MM:SSZ]
 *   fw-bundle verify --pub PUBLIC.pem DIR
 *   fw-bundle offer  --bundle DIR --url URL --offer-id ID [--rollback]
 *
 * create: without --created, $SOURCE_DATE_EPOCH if set (reproducible
 * builds), else now.  offer prints the down/update message (docs/protocol.md,
 * "Firmware updates") for a bundle, e.g. for mosquitto_pub -r.
 * Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw/bundle.h"
#include "fw/file.h"
#include "fw/msg.h"

typedef struct args {
  const char *src, *out, *version, *min_version, *key, *pub, *product, *created;
  const char *bundle, *url, *offer_id;
  int rollback;
  const char *pos[2];
  int npos;
} args;

static int usage(void) {
  fputs("usage: fw-bundle keygen PRIVATE.pem PUBLIC.pem\n"
        "       fw-bundle create --src DIR --out DIR --version V --min-version V --key PRIVATE.pem\n"
        "                        [--product NAME] [--created YYYY-MM-DDTHH:MM:SSZ]\n"
        "       fw-bundle verify --pub PUBLIC.pem DIR\n"
        "       fw-bundle offer  --bundle DIR --url URL --offer-id ID [--rollback]\n",
        stderr);
  return 2;
}

/* Option table: name -> member of args. */
typedef struct opt {
  const char *name;
  size_t off;
} opt;
#define OPT(n, m) {n, offsetof(args, m)}
static const opt opts[] = {
    OPT("--src", src),         OPT("--out", out),       OPT("--version", version),
    OPT("--min-version", min_version), OPT("--key", key), OPT("--pub", pub),
    OPT("--product", product), OPT("--created", created), OPT("--bundle", bundle),
    OPT("--url", url),         OPT("--offer-id", offer_id),
};

static int parse(int argc, char **argv, args *a) {
  for (int i = 2; i < argc; i++) {
    size_t k = 0;
    if (strcmp(argv[i], "--rollback") == 0) {
      a->rollback = 1;
      continue;
    }
    while (k < sizeof opts / sizeof opts[0] && strcmp(opts[k].name, argv[i]) != 0) k++;
    if (k < sizeof opts / sizeof opts[0] && i + 1 < argc) {
      *(const char **)((char *)a + opts[k].off) = argv[++i];
    } else if (argv[i][0] != '-' && a->npos < 2) {
      a->pos[a->npos++] = argv[i];
    } else {
      fprintf(stderr, "fw-bundle: unexpected argument %s\n", argv[i]);
      return -1;
    }
  }
  return 0;
}

static int fail(const char *what, const fw_err *err) {
  fprintf(stderr, "fw-bundle %s: %s: %s\n", what, fw_err_wire(err->code), err->msg);
  return 1;
}

static int cmd_keygen(const args *a) {
  proto_buf priv, pub;
  fw_err err = {0};
  int rc;
  if (a->npos != 2) return usage();
  proto_buf_init(&priv);
  proto_buf_init(&pub);
  rc = fw_key_generate(&priv, &pub, &err);
  if (rc == FW_OK) rc = fw_file_write_atomic(a->pos[0], priv.data, priv.len, 0600, &err);
  if (rc == FW_OK) rc = fw_file_write_atomic(a->pos[1], pub.data, pub.len, 0644, &err);
  proto_buf_close(&priv);
  proto_buf_close(&pub);
  return rc == FW_OK ? 0 : fail("keygen", &err);
}

/* Read a PEM file into b (NUL-terminated). */
static int read_pem(const char *path, proto_buf *b, fw_err *err) {
  return fw_file_read(path, 65536, b, err);
}

static int cmd_create(const args *a) {
  fw_bundle_opts o = {a->src, a->out, a->version, a->min_version, a->product, a->created, NULL};
  proto_buf key;
  fw_err err = {0};
  char created[32];
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  int rc;
  if (!a->src || !a->out || !a->version || !a->min_version || !a->key || a->npos) return usage();
  if (!o.created && sde && *sde) {
    time_t t = (time_t)strtoll(sde, NULL, 10);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    o.created = created;
  }
  proto_buf_init(&key);
  rc = read_pem(a->key, &key, &err);
  o.priv_pem = key.data;
  if (rc == FW_OK) rc = fw_bundle_create(&o, &err);
  proto_buf_close(&key);
  if (rc != FW_OK) return fail("create", &err);
  printf("%s: %s %s (min %s) signed\n", a->out, o.product ? o.product : "storenode", a->version,
         a->min_version);
  return 0;
}

static int cmd_verify(const args *a) {
  proto_buf pub;
  fw_manifest m;
  fw_err err = {0};
  char fp[17] = "";
  int rc;
  if (!a->pub || a->npos != 1) return usage();
  proto_buf_init(&pub);
  rc = read_pem(a->pub, &pub, &err);
  if (rc == FW_OK) rc = fw_key_fingerprint(pub.data, fp, &err);
  if (rc == FW_OK) rc = fw_bundle_verify(a->pos[0], pub.data, &m, &err);
  proto_buf_close(&pub);
  if (rc != FW_OK) return fail("verify", &err);
  printf("%s: OK: %s %s (min %s), created %s, %zu files, payload %llu bytes, key %s\n", a->pos[0],
         m.product, m.version, m.min_version, m.created, m.n_files, (unsigned long long)m.payload_size, fp);
  fw_manifest_free(&m);
  return 0;
}

static int cmd_offer(const args *a) {
  char path[4096];
  proto_buf man, sig, out;
  fw_manifest m;
  fw_offer o;
  fw_err err = {0};
  int rc;
  if (!a->bundle || !a->url || !a->offer_id || a->npos) return usage();
  memset(&o, 0, sizeof o);
  proto_buf_init(&man);
  proto_buf_init(&sig);
  proto_buf_init(&out);
  snprintf(path, sizeof path, "%s/%s", a->bundle, FW_BUNDLE_MANIFEST);
  rc = fw_file_read(path, FW_MANIFEST_MAX, &man, &err);
  snprintf(path, sizeof path, "%s/%s", a->bundle, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_read(path, FW_SIG_MAX, &sig, &err);
  if (rc == FW_OK && (rc = fw_manifest_decode(man.data, man.len, &m, &err)) == FW_OK) {
    snprintf(o.version, sizeof o.version, "%s", m.version);
    fw_manifest_free(&m);
  }
  snprintf(o.offer_id, sizeof o.offer_id, "%s", a->offer_id);
  snprintf(o.url, sizeof o.url, "%s", a->url);
  o.manifest = man.data;
  o.manifest_len = man.len;
  memcpy(o.sig, sig.data ? sig.data : "", sig.len <= FW_SIG_MAX ? sig.len : 0);
  o.sig_len = sig.len;
  o.rollback = a->rollback != 0;
  if (rc == FW_OK) rc = fw_offer_encode(&o, &out, &err);
  if (rc == FW_OK) printf("%s\n", out.data);
  proto_buf_close(&man);
  proto_buf_close(&sig);
  proto_buf_close(&out);
  return rc == FW_OK ? 0 : fail("offer", &err);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(const args *);
  } cmds[] = {{"keygen", cmd_keygen}, {"create", cmd_create}, {"verify", cmd_verify}, {"offer", cmd_offer}};
  args a;
  memset(&a, 0, sizeof a);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return usage();
  if (parse(argc, argv, &a) != 0) return 2;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].name, argv[1]) == 0) return cmds[i].fn(&a);
  return usage();
}
