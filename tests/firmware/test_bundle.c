/* test_bundle.c - the firmware library: versions and the install policy,
 * the manifest codec, signatures, bundles (create, verify, tamper),
 * unpacking (hostile archives refused), offer/report messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fw/bundle.h"
#include "fw/file.h"
#include "fw/msg.h"
#include "fw/version.h"

/* ---- versions ---- */

static void test_version_order(void **state) {
  /* ascending, semver 2.0 §11's example plus numbers that sort wrongly as text */
  static const char *const v[] = {"0.9.9",        "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                  "1.0.0-beta",   "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
                                  "1.0.0",        "1.0.1",        "1.0.10",        "1.1.0",
                                  "2.0.0",        "10.0.0"};
  size_t n = sizeof v / sizeof v[0];
  (void)state;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      int c = 99;
      assert_int_equal(fw_version_cmp_str(v[i], v[j], &c, NULL), FW_OK);
      if ((c < 0) != (i < j) || (c == 0) != (i == j)) fail_msg("%s vs %s gave %d", v[i], v[j], c);
    }
  }
}

static void test_version_malformed(void **state) {
  static const char *const bad[] = {"",        "1",        "1.0",          "1.0.0.0",   "01.0.0",
                                    "1.00.0",  "1.0.0-",   "1.0.0-01",     "1.0.0-a..b", "1.0.0+b1",
                                    "a.b.c",   "1.0.0-a b", "1234567890.0.0", "-1.0.0",  "1.0.0 ",
                                    "1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fw_version v;
    fw_err err;
    if (fw_version_parse(bad[i], &v, &err) != FW_EVERSION) fail_msg("\"%s\" was accepted", bad[i]);
    assert_non_null(strstr(err.msg, "version"));
  }
}

static void test_admit(void **state) {
  static const struct {
    const char *cand, *min, *installed, *floor;
    bool rollback;
    int code;
    const char *says;
  } rows[] = {
      {"1.1.0", "1.0.0", "1.0.0", "1.0.0", false, FW_OK, ""},
      {"1.1.0", "1.0.0", "", "", false, FW_OK, ""},                   /* nothing installed */
      {"1.0.0", "1.0.0", "1.1.0", "1.0.0", false, FW_EDOWNGRADE, "below the installed 1.1.0"},
      {"1.0.0", "1.0.0", "1.1.0", "1.0.0", true, FW_OK, ""},          /* explicit rollback */
      {"1.0.0", "1.0.0", "1.2.0", "1.1.0", true, FW_EDOWNGRADE, "minimum version 1.1.0"},
      {"1.1.0", "1.0.0", "1.1.0", "1.0.0", false, FW_EINSTALLED, "already installed"},
      {"1.1.0", "1.0.0", "1.1.0", "1.0.0", true, FW_OK, ""},          /* reinstall */
      {"1.1.0", "1.2.0", "1.0.0", "", false, FW_EVERSION, "above version"},
      {"1.1.0-rc.1", "1.0.0", "1.0.0", "1.0.0", false, FW_OK, ""},
      {"1.1.0-rc.1", "1.0.0", "1.1.0", "1.0.0", false, FW_EDOWNGRADE, "below the installed"},
      {"x", "1.0.0", "1.0.0", "", false, FW_EVERSION, "\"x\""},
  };
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fw_err err;
    fw_err_clear(&err);
    int rc = fw_version_admit(rows[i].cand, rows[i].min, rows[i].installed, rows[i].floor, rows[i].rollback, &err);
    if (rc != rows[i].code || !strstr(err.msg, rows[i].says))
      fail_msg("row %zu: %s (%s) over %s: got %s \"%s\"", i, rows[i].cand, rows[i].min, rows[i].installed,
               fw_err_wire(rc), err.msg);
  }
}

/* ---- manifest ---- */

static void sample_manifest(fw_manifest *m, fw_file files[2]) {
  memset(m, 0, sizeof *m);
  memset(files, 0, 2 * sizeof *files);
  m->format = 1;
  snprintf(m->product, sizeof m->product, "storenode");
  snprintf(m->version, sizeof m->version, "1.2.3");
  snprintf(m->min_version, sizeof m->min_version, "1.0.0");
  snprintf(m->created, sizeof m->created, "2026-11-21T23:40:01Z");
  m->payload_size = 4096;
  memset(m->payload_sha256, 0xab, 32);
  snprintf(files[0].path, sizeof files[0].path, "bin/storenode");
  files[0].size = 905216;
  files[0].mode = 0755;
  memset(files[0].sha256, 0x01, 32);
  snprintf(files[1].path, sizeof files[1].path, "www/index.html");
  files[1].size = 7;
  files[1].mode = 0644;
  memset(files[1].sha256, 0xfe, 32);
  m->files = files;
  m->n_files = 2;
}

static void test_manifest_roundtrip(void **state) {
  fw_manifest m, back;
  fw_file files[2];
  proto_buf a, b;
  (void)state;
  sample_manifest(&m, files);
  proto_buf_init(&a);
  proto_buf_init(&b);
  assert_int_equal(fw_manifest_encode(&m, &a, NULL), FW_OK);
  assert_int_equal(fw_manifest_decode(a.data, a.len, &back, NULL), FW_OK);
  assert_string_equal(back.version, "1.2.3");
  assert_string_equal(back.min_version, "1.0.0");
  assert_int_equal(back.payload_size, 4096);
  assert_memory_equal(back.payload_sha256, m.payload_sha256, 32);
  assert_int_equal(back.n_files, 2);
  assert_string_equal(back.files[0].path, "bin/storenode");
  assert_int_equal(back.files[0].mode, 0755);
  assert_memory_equal(back.files[1].sha256, files[1].sha256, 32);
  assert_int_equal(fw_manifest_encode(&back, &b, NULL), FW_OK);
  assert_string_equal(a.data, b.data); /* the signed bytes are a function of the content */
  fw_manifest_free(&back);
  proto_buf_close(&a);
  proto_buf_close(&b);
}

/* Replace the first `old` of the sample manifest by `new`, decode. */
static int decode_patched(const char *old, const char *new, fw_err *err) {
  fw_manifest m, out;
  fw_file files[2];
  proto_buf a, b;
  char *hit;
  int rc;
  sample_manifest(&m, files);
  proto_buf_init(&a);
  proto_buf_init(&b);
  assert_int_equal(fw_manifest_encode(&m, &a, NULL), FW_OK);
  hit = strstr(a.data, old);
  if (!hit) fail_msg("no \"%s\" in %s", old, a.data);
  proto_buf_append(&b, a.data, (size_t)(hit - a.data));
  proto_buf_puts(&b, new);
  proto_buf_puts(&b, hit + strlen(old));
  rc = fw_manifest_decode(b.data, b.len, &out, err);
  if (rc == FW_OK) fw_manifest_free(&out);
  proto_buf_close(&a);
  proto_buf_close(&b);
  return rc;
}

static void test_manifest_malformed(void **state) {
  static const struct {
    const char *old, *new;
    int code;
    const char *says;
  } rows[] = {
      {"\"format\":1", "\"format\":2", FW_EMANIFEST, "format"},
      {"\"version\":\"1.2.3\",", "", FW_EMANIFEST, "version: required"},
      {"\"version\":\"1.2.3\"", "\"version\":123", FW_EMANIFEST, "version: must be a string"},
      {"\"version\":\"1.2.3\"", "\"version\":\"1.2\"", FW_EVERSION, "MAJOR.MINOR.PATCH"},
      {"\"min_version\":\"1.0.0\"", "\"min_version\":\"2.0.0\"", FW_EVERSION, "above version"},
      {"\"size\":4096", "\"size\":-1", FW_EMANIFEST, "size: out of range"},
      {"\"size\":4096", "\"size\":4096.5", FW_EMANIFEST, "size: out of range"},
      {"abababab", "ABABABAB", FW_EMANIFEST, "hex"},
      {"bin/storenode", "../etc/passwd", FW_EMANIFEST, "unsafe"},
      {"bin/storenode", "/bin/storenode", FW_EMANIFEST, "unsafe"},
      {"bin/storenode", "zzz/storenode", FW_EMANIFEST, "sorted"},
      {"\"mode\":\"0755\"", "\"mode\":\"755\"", FW_EMANIFEST, "octal"},
      {"\"product\":", "\"product\":\"x\",\"product\":", FW_EMANIFEST, "repeated"},
      {"\"files\":[", "\"files\":[],\"x\":[", FW_EMANIFEST, "1..8192"},
      {"]}", "]} x", FW_EMANIFEST, "text after"},
      {"{\"format\"", "[{\"format\"", FW_EMANIFEST, "not a JSON object"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fw_err err;
    fw_err_clear(&err);
    int rc = decode_patched(rows[i].old, rows[i].new, &err);
    if (rc != rows[i].code || !strstr(err.msg, rows[i].says))
      fail_msg("row %zu (%s): got %s \"%s\"", i, rows[i].new, fw_err_wire(rc), err.msg);
  }
}

/* ---- signatures ---- */

typedef struct keys {
  proto_buf priv, pub, priv2, pub2;
} keys;

static int keys_setup(void **state) {
  keys *k = calloc(1, sizeof *k);
  assert_int_equal(fw_key_generate(&k->priv, &k->pub, NULL), FW_OK);
  assert_int_equal(fw_key_generate(&k->priv2, &k->pub2, NULL), FW_OK);
  *state = k;
  return 0;
}

static int keys_teardown(void **state) {
  keys *k = *state;
  proto_buf_close(&k->priv);
  proto_buf_close(&k->pub);
  proto_buf_close(&k->priv2);
  proto_buf_close(&k->pub2);
  free(k);
  return 0;
}

static void test_sign_verify(void **state) {
  keys *k = *state;
  char text[] = "{\"format\":1,\"version\":\"1.0.0\"}";
  unsigned char sig[FW_SIG_MAX];
  size_t n = 0;
  char fp1[17], fp2[17];
  fw_err err;
  assert_int_equal(fw_manifest_sign(text, strlen(text), k->priv.data, sig, &n, NULL), FW_OK);
  assert_true(n > 60 && n <= 72);
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, k->pub.data, NULL), FW_OK);
  text[14] = '2'; /* tampered manifest */
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, k->pub.data, &err), FW_ESIGNATURE);
  assert_non_null(strstr(err.msg, "does not verify"));
  text[14] = '1';
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, k->pub2.data, &err), FW_ESIGNATURE);
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, 0, k->pub.data, &err), FW_ESIGNATURE);
  sig[n / 2] ^= 1;
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, k->pub.data, &err), FW_ESIGNATURE);
  /* keys that are no keys, or the wrong half */
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, "-----BEGIN PUBLIC KEY-----\nxx\n", &err), FW_EKEY);
  assert_int_equal(fw_manifest_verify(text, strlen(text), sig, n, k->priv.data, &err), FW_EKEY);
  assert_int_equal(fw_manifest_sign(text, strlen(text), k->pub.data, sig, &n, &err), FW_EKEY);
  /* the fingerprint names the key pair, from either half */
  assert_int_equal(fw_key_fingerprint(k->priv.data, fp1, NULL), FW_OK);
  assert_int_equal(fw_key_fingerprint(k->pub.data, fp2, NULL), FW_OK);
  assert_string_equal(fp1, fp2);
  assert_int_equal(fw_key_fingerprint(k->pub2.data, fp2, NULL), FW_OK);
  assert_string_not_equal(fp1, fp2);
}

/* ---- bundles ---- */

static void put(const char *dir, const char *rel, const char *text, int mode) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  *strrchr(p, '/') = '\0';
  assert_int_equal(fw_mkdirs(p, 0755, NULL), FW_OK);
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  assert_int_equal(fw_file_write_atomic(p, text, strlen(text), mode, NULL), FW_OK);
  chmod(p, (mode_t)mode);
}

static void tmpdir(char out[512]) {
  const char *t = getenv("TMPDIR");
  snprintf(out, 512, "%s/fwbundle-XXXXXX", t && *t ? t : "/tmp");
  assert_non_null(mkdtemp(out));
}

static char *slurp(const char *dir, const char *rel, size_t *n) {
  char p[1200];
  proto_buf b;
  proto_buf_init(&b);
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  if (fw_file_read(p, 1u << 24, &b, NULL) != FW_OK) return NULL;
  if (n) *n = b.len;
  return b.data ? b.data : calloc(1, 1);
}

static void make_tree(const char *src) {
  put(src, "bin/storenode", "#!/bin/sh\necho storenode\n", 0755);
  put(src, "etc/storenode.conf", "store_id = store-1\n", 0644);
  put(src, "etc/secret.key", "not really\n", 0600);
  put(src, "www/index.html", "<!doctype html>\n", 0644);
  put(src, "www/js/a-very-long-directory-name-to-need-the-ustar-prefix-field-because-names-stop-at-100-bytes/"
           "and-another-long-directory-name-too/app.js", "console.log(1)\n", 0644);
  put(src, "systemd/storenode.service", "[Service]\n", 0644);
}

static void test_bundle_create_verify_extract(void **state) {
  keys *k = *state;
  char dir[512], src[600], out[600], out2[600], dest[600], tar[700];
  fw_bundle_opts o;
  fw_manifest m;
  fw_err err;
  char *a, *b;
  size_t na, nb;
  tmpdir(dir);
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(out2, sizeof out2, "%s/out2", dir);
  snprintf(dest, sizeof dest, "%s/slot", dir);
  make_tree(src);
  o = (fw_bundle_opts){src, out, "1.4.0", "1.2.0", NULL, "2026-11-21T23:40:01Z", k->priv.data};
  assert_int_equal(fw_bundle_create(&o, &err), FW_OK);
  assert_int_equal(fw_bundle_verify(out, k->pub.data, &m, &err), FW_OK);
  assert_string_equal(m.version, "1.4.0");
  assert_int_equal(m.n_files, 6);
  /* reproducible: the same tree and time give the same signed bytes */
  o.out_dir = out2;
  assert_int_equal(fw_bundle_create(&o, &err), FW_OK);
  a = slurp(out, "payload.tar", &na);
  b = slurp(out2, "payload.tar", &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  free(a);
  free(b);
  a = slurp(out, "manifest.json", NULL);
  b = slurp(out2, "manifest.json", NULL);
  assert_string_equal(a, b);
  free(a);
  free(b);
  /* unpacked: same bytes, same modes */
  snprintf(tar, sizeof tar, "%s/payload.tar", out);
  assert_int_equal(fw_payload_extract(tar, &m, dest, &err), FW_OK);
  for (size_t i = 0; i < m.n_files; i++) {
    char p[1200];
    struct stat st;
    a = slurp(src, m.files[i].path, &na);
    b = slurp(dest, m.files[i].path, &nb);
    assert_non_null(b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    snprintf(p, sizeof p, "%s/%s", dest, m.files[i].path);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, m.files[i].mode);
  }
  assert_int_equal(fw_payload_extract(tar, &m, dest, &err), FW_EIO); /* dest must be new */
  fw_manifest_free(&m);
  fw_rmtree(dir, NULL);
}

static void test_bundle_tampered(void **state) {
  keys *k = *state;
  char dir[512], src[600], out[600], p[700];
  fw_bundle_opts o;
  fw_manifest m;
  fw_err err;
  char *d;
  size_t n;
  tmpdir(dir);
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  make_tree(src);
  o = (fw_bundle_opts){src, out, "1.4.0", "1.2.0", NULL, NULL, k->priv.data};
  assert_int_equal(fw_bundle_create(&o, &err), FW_OK);
  /* wrong key */
  assert_int_equal(fw_bundle_verify(out, k->pub2.data, &m, &err), FW_ESIGNATURE);
  assert_null(m.files);
  /* tampered payload: one bit */
  snprintf(p, sizeof p, "%s/payload.tar", out);
  d = slurp(out, "payload.tar", &n);
  d[600] ^= 1;
  assert_int_equal(fw_file_write_atomic(p, d, n, 0644, NULL), FW_OK);
  assert_int_equal(fw_bundle_verify(out, k->pub.data, &m, &err), FW_EPAYLOAD);
  assert_non_null(strstr(err.msg, "sha256"));
  /* truncated payload */
  assert_int_equal(fw_file_write_atomic(p, d, n - 512, 0644, NULL), FW_OK);
  assert_int_equal(fw_bundle_verify(out, k->pub.data, &m, &err), FW_EPAYLOAD);
  assert_non_null(strstr(err.msg, "bytes"));
  free(d);
  /* tampered manifest: the new version is not what was signed */
  assert_int_equal(fw_bundle_create(&o, &err), FW_OK);
  snprintf(p, sizeof p, "%s/manifest.json", out);
  d = slurp(out, "manifest.json", &n);
  memcpy(strstr(d, "1.4.0"), "9.4.0", 5);
  assert_int_equal(fw_file_write_atomic(p, d, n, 0644, NULL), FW_OK);
  assert_int_equal(fw_bundle_verify(out, k->pub.data, &m, &err), FW_ESIGNATURE);
  free(d);
  fw_rmtree(dir, NULL);
}

static void test_bundle_refuses_links(void **state) {
  keys *k = *state;
  char dir[512], src[600], out[600], p[700];
  fw_bundle_opts o;
  fw_err err;
  tmpdir(dir);
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  make_tree(src);
  snprintf(p, sizeof p, "%s/bin/sh", src);
  assert_int_equal(symlink("/bin/sh", p), 0);
  o = (fw_bundle_opts){src, out, "1.4.0", "1.2.0", NULL, NULL, k->priv.data};
  assert_int_equal(fw_bundle_create(&o, &err), FW_EINVAL);
  assert_non_null(strstr(err.msg, "bin/sh"));
  o = (fw_bundle_opts){src, out, "1.4", "1.2.0", NULL, NULL, k->priv.data};
  assert_int_equal(fw_bundle_create(&o, &err), FW_EVERSION);
  fw_rmtree(dir, NULL);
}

/* ---- hostile archives: hand-made ustar headers ---- */

static void hdr(char h[512], const char *name, char type, size_t size, const char *linkname) {
  unsigned sum = 0;
  memset(h, 0, 512);
  snprintf(h, 100, "%s", name);
  snprintf(h + 100, 8, "%07o", 0644);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011o", (unsigned)size);
  snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  if (linkname) snprintf(h + 157, 100, "%s", linkname);
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  for (int i = 0; i < 512; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
}

/* An archive of one entry with `body`, then the end blocks. */
static void one_entry(const char *path, const char *name, char type, const char *body, const char *link) {
  char buf[512 * 5];
  size_t n = body ? strlen(body) : 0;
  memset(buf, 0, sizeof buf);
  hdr(buf, name, type, n, link);
  if (body) memcpy(buf + 512, body, n);
  assert_int_equal(fw_file_write_atomic(path, buf, sizeof buf, 0644, NULL), FW_OK);
}

static void test_extract_refuses_hostile(void **state) {
  static const struct {
    const char *name;
    char type;
    const char *body, *link, *says;
  } rows[] = {
      {"etc/evil", '0', "x", NULL, "not in the manifest"},
      {"../escape", '0', "x", NULL, "unsafe path"},
      {"/etc/passwd", '0', "x", NULL, "unsafe path"},
      {"bin/storenode", '2', NULL, "/etc/shadow", "entry type '2'"},
      {"bin/storenode", '1', NULL, "etc/x", "entry type '1'"},
      {"bin/storenode", 'x', NULL, NULL, "entry type 'x'"},
      {"bin/storenode", '0', "hello!", NULL, "sha256"},
      {"bin/storenode", '0', "short", NULL, "size or mode"},
  };
  char dir[512], tar[600], dest[600];
  fw_manifest m;
  fw_file f;
  (void)state;
  tmpdir(dir);
  snprintf(tar, sizeof tar, "%s/p.tar", dir);
  memset(&m, 0, sizeof m);
  memset(&f, 0, sizeof f);
  snprintf(f.path, sizeof f.path, "bin/storenode");
  f.size = 6;
  f.mode = 0644;
  m.files = &f;
  m.n_files = 1;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    fw_err err;
    snprintf(dest, sizeof dest, "%s/slot%zu", dir, i);
    one_entry(tar, rows[i].name, rows[i].type, rows[i].body, rows[i].link);
    if (fw_payload_extract(tar, &m, dest, &err) != FW_EARCHIVE || !strstr(err.msg, rows[i].says))
      fail_msg("row %zu (%s): \"%s\"", i, rows[i].name, err.msg);
  }
  /* a listed file missing from the archive */
  one_entry(tar, "www", '5', NULL, NULL);
  snprintf(dest, sizeof dest, "%s/slot-missing", dir);
  {
    fw_err err;
    assert_int_equal(fw_payload_extract(tar, &m, dest, &err), FW_EARCHIVE);
    assert_non_null(strstr(err.msg, "missing"));
  }
  fw_rmtree(dir, NULL);
}

/* ---- messages ---- */

static void test_offer_roundtrip_and_errors(void **state) {
  keys *k = *state;
  fw_offer o, back;
  proto_buf b;
  char man[] = "{\"x\":1}";
  static const struct {
    const char *old, *new, *says;
  } rows[] = {
      {"\"v\":1", "\"v\":2", "v: unsupported"},
      {"http://hq:8080/fw/p.tar", "ftp://hq/p.tar", "url"},
      {"\"offer_id\":\"r-1\"", "\"offer_id\":\"r 1\"", "offer_id"},
      {"\"rollback\":false", "\"rollback\":0", "rollback"},
      {"\"version\":\"1.1.0\"", "\"version\":\"1.1\"", "version"},
      {"\"manifest\":\"", "\"manifest\":\"!!", "manifest: not base64"},
      {"\"sig\":\"", "\"sig\":\"\",\"x\":\"", "sig: empty"},
  };
  memset(&o, 0, sizeof o);
  snprintf(o.offer_id, sizeof o.offer_id, "r-1");
  snprintf(o.version, sizeof o.version, "1.1.0");
  snprintf(o.url, sizeof o.url, "http://hq:8080/fw/p.tar");
  o.manifest = man;
  o.manifest_len = strlen(man);
  assert_int_equal(fw_manifest_sign(man, strlen(man), k->priv.data, o.sig, &o.sig_len, NULL), FW_OK);
  proto_buf_init(&b);
  assert_int_equal(fw_offer_encode(&o, &b, NULL), FW_OK);
  assert_int_equal(fw_offer_decode(b.data, b.len, &back, NULL), FW_OK);
  assert_string_equal(back.manifest, man);
  assert_int_equal(back.sig_len, o.sig_len);
  assert_memory_equal(back.sig, o.sig, o.sig_len);
  assert_false(back.rollback);
  fw_offer_free(&back);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    proto_buf t;
    fw_err err;
    char *hit = strstr(b.data, rows[i].old);
    assert_non_null(hit);
    proto_buf_init(&t);
    proto_buf_append(&t, b.data, (size_t)(hit - b.data));
    proto_buf_puts(&t, rows[i].new);
    proto_buf_puts(&t, hit + strlen(rows[i].old));
    if (fw_offer_decode(t.data, t.len, &back, &err) != FW_EOFFER || !strstr(err.msg, rows[i].says))
      fail_msg("row %zu: \"%s\"", i, err.msg);
    assert_null(back.manifest);
    proto_buf_close(&t);
  }
  proto_buf_close(&b);
}

static void test_report_roundtrip(void **state) {
  fw_report r, back;
  proto_buf b;
  fw_err err;
  (void)state;
  memset(&r, 0, sizeof r);
  snprintf(r.store, sizeof r.store, "store-001");
  snprintf(r.offer_id, sizeof r.offer_id, "r-1");
  r.state = FW_ST_DOWNLOADING;
  snprintf(r.version, sizeof r.version, "1.1.0");
  snprintf(r.installed, sizeof r.installed, "1.0.0");
  r.bytes = 1000;
  r.total = 5000;
  r.ts_ms = 1795400062000ULL;
  proto_buf_init(&b);
  assert_int_equal(fw_report_encode(&r, &b, NULL), FW_OK);
  assert_non_null(strstr(b.data, "\"state\":\"downloading\""));
  assert_non_null(strstr(b.data, "\"error\":null"));
  assert_int_equal(fw_report_decode(b.data, b.len, &back, NULL), FW_OK);
  assert_int_equal(back.state, FW_ST_DOWNLOADING);
  assert_int_equal(back.bytes, 1000);
  assert_string_equal(back.installed, "1.0.0");
  assert_string_equal(back.error, "");
  assert_int_equal(fw_report_decode("{\"v\":1,\"state\":\"zzz\"}", 21, &back, &err), FW_EOFFER);
  r.state = FW_ST__COUNT;
  assert_int_equal(fw_report_encode(&r, &b, &err), FW_EINVAL);
  proto_buf_close(&b);
  for (int s = 0; s < FW_ST__COUNT; s++) assert_int_equal(fw_state_from_name(fw_state_name((fw_state)s)), s);
  assert_int_equal(fw_err_from_wire(fw_err_wire(FW_EDOWNGRADE)), FW_EDOWNGRADE);
}

static void test_healthz(void **state) {
  static const char ok[] = "{\"ok\":true,\"store\":\"s\",\"feed\":3,\"version\":\"0.1.0\"}";
  bool good = false;
  char v[16];
  (void)state;
  assert_int_equal(fw_healthz_decode(ok, strlen(ok), &good, v, sizeof v, NULL), FW_OK);
  assert_true(good);
  assert_string_equal(v, "0.1.0");
  assert_int_equal(fw_healthz_decode("{\"ok\":false}", 12, &good, v, sizeof v, NULL), FW_OK);
  assert_false(good);
  assert_string_equal(v, "");
  assert_int_equal(fw_healthz_decode("<html>", 6, &good, v, sizeof v, NULL), FW_EHEALTH);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_order),
      cmocka_unit_test(test_version_malformed),
      cmocka_unit_test(test_admit),
      cmocka_unit_test(test_manifest_roundtrip),
      cmocka_unit_test(test_manifest_malformed),
      cmocka_unit_test(test_sign_verify),
      cmocka_unit_test(test_bundle_create_verify_extract),
      cmocka_unit_test(test_bundle_tampered),
      cmocka_unit_test(test_bundle_refuses_links),
      cmocka_unit_test(test_extract_refuses_hostile),
      cmocka_unit_test(test_offer_roundtrip_and_errors),
      cmocka_unit_test(test_report_roundtrip),
      cmocka_unit_test(test_healthz),
  };
  return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
