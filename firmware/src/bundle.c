/* bundle.c - fw-bundle create / fw-verify, and unpacking a verified payload
 * into a slot (fw/bundle.h says what each guarantees).
 *
 * Order of writes in create: the old manifest.sig goes first, payload.tar
 * and manifest.json are written, manifest.sig comes last.  So a bundle
 * directory either has a signature over its current manifest and payload,
 * or no signature at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "fw/file.h"
#include "fw_int.h"

/* ---- collecting the source tree ---- */

typedef struct entry {
  char path[FW_PATH_MAX];
  bool dir;
  unsigned mode;
  uint64_t size;
} entry;

typedef struct tree {
  entry *v;
  size_t n, cap;
} tree;

static int tree_add(tree *t, const char *path, const struct stat *st, fw_err *err) {
  entry *e;
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    entry *v = realloc(t->v, cap * sizeof *v);
    if (!v) return fw_err_set(err, FW_ENOMEM, "out of memory");
    t->v = v;
    t->cap = cap;
  }
  if (t->n >= FW_FILES_MAX * 2) return fw_err_set(err, FW_EINVAL, "more than %d entries", FW_FILES_MAX);
  if (strlen(path) >= sizeof t->v[0].path) return fw_err_set(err, FW_EINVAL, "%s: path too long", path);
  e = &t->v[t->n++];
  memcpy(e->path, path, strlen(path) + 1);
  e->dir = S_ISDIR(st->st_mode);
  e->mode = (unsigned)st->st_mode & 0777;
  e->size = e->dir ? 0 : (uint64_t)st->st_size;
  return FW_OK;
}

/* Walk root/rel (rel "" = root) and add every entry below it. */
static int collect(const char *root, const char *rel, tree *t, fw_err *err) {
  char dir[PATH_MAX], sub[PATH_MAX], child[PATH_MAX];
  DIR *d;
  struct dirent *de;
  int rc = FW_OK;
  if (!fw__join(dir, sizeof dir, *rel ? root : "", *rel ? rel : root))
    return fw_err_set(err, FW_EINVAL, "%s: path too long", root);
  if (!(d = opendir(dir))) return fw_err_set(err, FW_EIO, "%s: %s", dir, strerror(errno));
  while (rc == FW_OK && (de = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (!fw__join(sub, FW_PATH_MAX, rel, de->d_name) || !fw__path_safe(sub) ||
        !fw__join(child, sizeof child, root, sub)) {
      rc = fw_err_set(err, FW_EINVAL, "%s/%s: name not allowed in a payload", dir, de->d_name);
      break;
    }
    if (lstat(child, &st) != 0) rc = fw_err_set(err, FW_EIO, "%s: %s", child, strerror(errno));
    else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
      rc = fw_err_set(err, FW_EINVAL, "%s: only regular files and directories may be packed", child);
    else if ((rc = tree_add(t, sub, &st, err)) == FW_OK && S_ISDIR(st.st_mode))
      rc = collect(root, sub, t, err);
  }
  closedir(d);
  return rc;
}

static int by_path(const void *a, const void *b) {
  return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* ---- create ---- */

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ" (days_from_civil,
 * H. Hinnant); -1 if malformed. */
static long long parse_rfc3339(const char *s) {
  int y, mo, d, h, mi, se;
  char z = 0, extra;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &se, &z, &extra) != 7 || z != 'Z' ||
      strlen(s) != 20 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
    return -1;
  y -= mo <= 2;
  long long era = y / 400, yoe = y - era * 400;
  long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + se;
}

static int write_payload(const char *src, const tree *t, const char *out, uint64_t mtime,
                         fw_manifest *m, fw_err *err) {
  char tmp[PATH_MAX], file[PATH_MAX];
  fw__tar_w w = {-1, mtime};
  int rc = FW_OK;
  size_t k = 0;
  snprintf(tmp, sizeof tmp, "%s/%s.tmp", out, FW_BUNDLE_PAYLOAD);
  w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w.fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  for (size_t i = 0; rc == FW_OK && i < t->n; i++) {
    const entry *e = &t->v[i];
    snprintf(file, sizeof file, "%s/%s", src, e->path);
    if (e->dir) {
      rc = fw__tar_dir(&w, e->path, e->mode, err);
      continue;
    }
    fw_file *f = &m->files[k++];
    snprintf(f->path, sizeof f->path, "%s", e->path);
    f->size = e->size;
    f->mode = e->mode;
    rc = fw__tar_file(&w, e->path, e->mode, file, e->size, f->sha256, err);
  }
  if (rc == FW_OK) rc = fw__tar_end(&w, err);
  if (rc == FW_OK && fsync(w.fd) != 0) rc = fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  close(w.fd);
  snprintf(file, sizeof file, "%s/%s", out, FW_BUNDLE_PAYLOAD);
  if (rc == FW_OK && rename(tmp, file) != 0) rc = fw_err_set(err, FW_EIO, "%s: %s", file, strerror(errno));
  if (rc != FW_OK) unlink(tmp);
  if (rc == FW_OK) rc = fw_sha256_file(file, m->payload_sha256, &m->payload_size, err);
  return rc;
}

/* Fill everything of the manifest but the files and payload. */
static int manifest_head(const fw_bundle_opts *o, fw_manifest *m, long long *mtime, fw_err *err) {
  struct tm tm;
  time_t now = time(NULL);
  int rc = fw_version_admit(o->version, o->min_version, NULL, NULL, false, err);
  if (rc != FW_OK) return rc;
  m->format = FW_MANIFEST_FORMAT;
  snprintf(m->product, sizeof m->product, "%s", o->product ? o->product : "storenode");
  snprintf(m->version, sizeof m->version, "%s", o->version);
  snprintf(m->min_version, sizeof m->min_version, "%s", o->min_version);
  if (o->created) snprintf(m->created, sizeof m->created, "%s", o->created);
  else strftime(m->created, sizeof m->created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  *mtime = parse_rfc3339(m->created);
  if (*mtime < 0) return fw_err_set(err, FW_EINVAL, "created \"%s\": expected YYYY-MM-DDTHH:MM:SSZ", m->created);
  return FW_OK;
}

static int sign_and_write(const fw_bundle_opts *o, const fw_manifest *m, fw_err *err) {
  char path[PATH_MAX];
  unsigned char sig[FW_SIG_MAX];
  size_t sig_len = 0;
  proto_buf b;
  int rc;
  proto_buf_init(&b);
  rc = fw_manifest_encode(m, &b, err);
  if (rc == FW_OK) rc = fw_manifest_sign(b.data, b.len, o->priv_pem, sig, &sig_len, err);
  snprintf(path, sizeof path, "%s/%s", o->out_dir, FW_BUNDLE_MANIFEST);
  if (rc == FW_OK) rc = fw_file_write_atomic(path, b.data, b.len, 0644, err);
  snprintf(path, sizeof path, "%s/%s", o->out_dir, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_write_atomic(path, sig, sig_len, 0644, err);
  proto_buf_close(&b);
  return rc;
}

int fw_bundle_create(const fw_bundle_opts *o, fw_err *err) {
  fw_manifest m;
  tree t = {NULL, 0, 0};
  char fp[17], sigpath[PATH_MAX];
  long long mtime = 0;
  size_t nfiles = 0;
  int rc;
  memset(&m, 0, sizeof m);
  if (!o->src_dir || !o->out_dir || !o->version || !o->min_version || !o->priv_pem)
    return fw_err_set(err, FW_EINVAL, "bundle: src_dir, out_dir, version, min_version and key are required");
  rc = manifest_head(o, &m, &mtime, err);
  if (rc == FW_OK) rc = fw_key_fingerprint(o->priv_pem, fp, err);
  if (rc == FW_OK) rc = collect(o->src_dir, "", &t, err);
  if (rc == FW_OK) {
    qsort(t.v, t.n, sizeof *t.v, by_path);
    for (size_t i = 0; i < t.n; i++) nfiles += !t.v[i].dir;
    if (nfiles == 0 || nfiles > FW_FILES_MAX)
      rc = fw_err_set(err, FW_EINVAL, "%s: %zu files (1..%d allowed)", o->src_dir, nfiles, FW_FILES_MAX);
  }
  if (rc == FW_OK && !(m.files = calloc(nfiles, sizeof *m.files))) rc = fw_err_set(err, FW_ENOMEM, "out of memory");
  m.n_files = nfiles;
  if (rc == FW_OK) rc = fw_mkdirs(o->out_dir, 0755, err);
  snprintf(sigpath, sizeof sigpath, "%s/%s", o->out_dir, FW_BUNDLE_SIG);
  if (rc == FW_OK && unlink(sigpath) != 0 && errno != ENOENT)
    rc = fw_err_set(err, FW_EIO, "%s: %s", sigpath, strerror(errno));
  if (rc == FW_OK) rc = write_payload(o->src_dir, &t, o->out_dir, (uint64_t)mtime, &m, err);
  if (rc == FW_OK) rc = sign_and_write(o, &m, err);
  free(t.v);
  fw_manifest_free(&m);
  return rc;
}

/* ---- verify ---- */

int fw_bundle_verify(const char *dir, const char *pub_pem, fw_manifest *m, fw_err *err) {
  char path[PATH_MAX];
  proto_buf man, sig;
  int rc;
  memset(m, 0, sizeof *m);
  proto_buf_init(&man);
  proto_buf_init(&sig);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_MANIFEST);
  rc = fw_file_read(path, FW_MANIFEST_MAX, &man, err);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_read(path, FW_SIG_MAX, &sig, err);
  if (rc == FW_OK)
    rc = fw_manifest_verify(man.data, man.len, (const unsigned char *)sig.data, sig.len, pub_pem, err);
  if (rc == FW_OK) rc = fw_manifest_decode(man.data, man.len, m, err);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_PAYLOAD);
  if (rc == FW_OK) rc = fw_payload_verify(path, m->payload_size, m->payload_sha256, err);
  if (rc != FW_OK) fw_manifest_free(m);
  proto_buf_close(&man);
  proto_buf_close(&sig);
  return rc;
}

/* ---- extract ---- */

typedef struct unpack {
  const fw_manifest *m;
  const char *dest;
  bool *seen;
} unpack;

static const fw_file *find_file(const fw_manifest *m, const char *path) {
  size_t lo = 0, hi = m->n_files;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(m->files[mid].path, path);
    if (c == 0) return &m->files[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* mkdir -p of the parent directories of dest/path. */
static int make_parents(const char *dest, const char *path, fw_err *err) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) return FW_OK;
  snprintf(dir, sizeof dir, "%s/%.*s", dest, (int)(slash - path), path);
  return fw_mkdirs(dir, 0755, err);
}

/* Copy e->size bytes from the archive into a new file, hashing them. */
static int copy_out(int in, const fw__tar_entry *e, const char *file, unsigned char h[32], fw_err *err) {
  mbedtls_sha256_context c;
  char buf[16384];
  uint64_t left = e->size;
  int rc = FW_OK;
  int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", file, strerror(errno));
  mbedtls_sha256_init(&c);
  mbedtls_sha256_starts_ret(&c, 0);
  while (rc == FW_OK && left > 0) {
    int n = fw__read_full(in, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (n <= 0) rc = fw_err_set(err, FW_EARCHIVE, "payload: truncated in %s", e->path);
    else if (fw__write_all(fd, buf, (size_t)n) != 0) rc = fw_err_set(err, FW_EIO, "%s: %s", file, strerror(errno));
    else {
      mbedtls_sha256_update_ret(&c, (const unsigned char *)buf, (size_t)n);
      left -= (uint64_t)n;
    }
  }
  mbedtls_sha256_finish_ret(&c, h);
  mbedtls_sha256_free(&c);
  if (rc == FW_OK && (fchmod(fd, (mode_t)e->mode) != 0 || fsync(fd) != 0))
    rc = fw_err_set(err, FW_EIO, "%s: %s", file, strerror(errno));
  if (close(fd) != 0 && rc == FW_OK) rc = fw_err_set(err, FW_EIO, "%s: %s", file, strerror(errno));
  return rc;
}

static int on_entry(void *ctx, const fw__tar_entry *e, int fd, fw_err *err) {
  unpack *u = ctx;
  char file[PATH_MAX];
  unsigned char h[32];
  const fw_file *f;
  int rc;
  snprintf(file, sizeof file, "%s/%s", u->dest, e->path);
  if (e->kind == FW__TAR_DIR) return fw_mkdirs(file, 0755, err);
  if (!(f = find_file(u->m, e->path)))
    return fw_err_set(err, FW_EARCHIVE, "payload: %s is not in the manifest", e->path);
  if (u->seen[f - u->m->files]) return fw_err_set(err, FW_EARCHIVE, "payload: %s twice", e->path);
  if (f->size != e->size || f->mode != e->mode)
    return fw_err_set(err, FW_EARCHIVE, "payload: %s size or mode differs from the manifest", e->path);
  rc = make_parents(u->dest, e->path, err);
  if (rc == FW_OK) rc = copy_out(fd, e, file, h, err);
  if (rc == FW_OK && memcmp(h, f->sha256, 32) != 0)
    rc = fw_err_set(err, FW_EARCHIVE, "payload: %s sha256 differs from the manifest", e->path);
  u->seen[f - u->m->files] = true;
  return rc;
}

/* fsync every directory of the tree, so the new entries survive a power cut. */
static int sync_dirs(const char *root, const char *rel, fw_err *err) {
  char dir[PATH_MAX], sub[PATH_MAX];
  DIR *d;
  struct dirent *de;
  int rc = FW_OK;
  snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
  if (!(d = opendir(dir))) return fw_err_set(err, FW_EIO, "%s: %s", dir, strerror(errno));
  while (rc == FW_OK && (de = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      rc = sync_dirs(root, sub, err);
  }
  closedir(d);
  return rc == FW_OK ? fw_dir_sync(dir, err) : rc;
}

int fw_payload_extract(const char *payload, const fw_manifest *m, const char *dest, fw_err *err) {
  unpack u = {m, dest, calloc(m->n_files ? m->n_files : 1, sizeof(bool))};
  int rc = FW_OK, fd = -1;
  if (!u.seen) return fw_err_set(err, FW_ENOMEM, "out of memory");
  if (mkdir(dest, 0755) != 0) rc = fw_err_set(err, FW_EIO, "%s: %s", dest, strerror(errno));
  if (rc == FW_OK && (fd = open(payload, O_RDONLY | O_CLOEXEC)) < 0)
    rc = fw_err_set(err, FW_EIO, "%s: %s", payload, strerror(errno));
  if (rc == FW_OK) rc = fw__tar_read(fd, on_entry, &u, err);
  for (size_t i = 0; rc == FW_OK && i < m->n_files; i++)
    if (!u.seen[i]) rc = fw_err_set(err, FW_EARCHIVE, "payload: %s is missing", m->files[i].path);
  if (rc == FW_OK) rc = sync_dirs(dest, "", err);
  if (fd >= 0) close(fd);
  free(u.seen);
  return rc;
}
