/* slots.c - the A/B slots: which one runs, installing the other, swapping.
 *
 * Invariants the machine relies on:
 *   - `current` is a symbolic link "slots/a" or "slots/b", replaced only by
 *     rename(2) of a fully made link: there is no instant without it;
 *   - the slot being installed is never the one `current` points at
 *     (fwa_slot_install refuses it);
 *   - a slot is complete iff its manifest.sig (written last, after every
 *     file and directory was fsync'd) verifies and its files match.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "fw/file.h"

int fwa_slot_current(const char *root, char slot[2], fw_err *err) {
  char link[PATH_MAX], target[64];
  ssize_t n;
  snprintf(link, sizeof link, "%s/current", root);
  n = readlink(link, target, sizeof target - 1);
  if (n < 0) return fw_err_set(err, FW_EIO, "%s: %s", link, strerror(errno));
  target[n] = '\0';
  if (strcmp(target, "slots/a") != 0 && strcmp(target, "slots/b") != 0)
    return fw_err_set(err, FW_ESTATE, "%s points at \"%s\", not slots/a or slots/b", link, target);
  slot[0] = target[6];
  slot[1] = '\0';
  return FW_OK;
}

int fwa_slot_point(const char *root, const char *slot, fw_err *err) {
  char link[PATH_MAX], tmp[PATH_MAX], target[16];
  snprintf(link, sizeof link, "%s/current", root);
  snprintf(tmp, sizeof tmp, "%s/current.tmp", root);
  snprintf(target, sizeof target, "slots/%s", slot);
  if (unlink(tmp) != 0 && errno != ENOENT) return fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  if (symlink(target, tmp) != 0) return fw_err_set(err, FW_EIO, "symlink %s: %s", tmp, strerror(errno));
  if (rename(tmp, link) != 0) {
    int e = errno;
    unlink(tmp);
    return fw_err_set(err, FW_EIO, "rename %s: %s", link, strerror(e));
  }
  return fw_dir_sync(root, err);
}

static void slot_dir(const char *root, const char *slot, char *dst, size_t cap) {
  snprintf(dst, cap, "%s/slots/%s", root, slot);
}

int fwa_slot_install(const char *root, const char *slot, const char *payload, const fw_manifest *m,
                     const fw_offer *o, fw_err *err) {
  char dir[FWA_PATH], path[FWA_PATH + 64], cur[2] = "";
  int rc;
  if (fwa_slot_current(root, cur, NULL) == FW_OK && strcmp(cur, slot) == 0)
    return fw_err_set(err, FW_ESTATE, "refusing to install into slot %s: it is the running one", slot);
  for (size_t i = 0; i < m->n_files; i++)
    if (strcmp(m->files[i].path, FW_BUNDLE_MANIFEST) == 0 || strcmp(m->files[i].path, FW_BUNDLE_SIG) == 0)
      return fw_err_set(err, FW_EARCHIVE, "payload may not contain %s (the slot's own)", m->files[i].path);
  slot_dir(root, slot, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/slots", root);
  rc = fw_mkdirs(path, 0755, err);
  if (rc == FW_OK) rc = fw_rmtree(dir, err);
  if (rc == FW_OK) rc = fw_dir_sync(path, err); /* the old slot is gone before anything new */
  if (rc == FW_OK) rc = fw_payload_extract(payload, m, dir, err);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_MANIFEST);
  if (rc == FW_OK) rc = fw_file_write_atomic(path, o->manifest, o->manifest_len, 0644, err);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_write_atomic(path, o->sig, o->sig_len, 0644, err);
  return rc;
}

static int check_files(const char *dir, const fw_manifest *m, fw_err *err) {
  char path[FWA_PATH + FW_PATH_MAX];
  for (size_t i = 0; i < m->n_files; i++) {
    const fw_file *f = &m->files[i];
    struct stat st;
    int rc;
    snprintf(path, sizeof path, "%s/%s", dir, f->path);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
      return fw_err_set(err, FW_ESTATE, "%s: missing or not a file", path);
    if ((st.st_mode & 0777) != f->mode)
      return fw_err_set(err, FW_ESTATE, "%s: mode %04o, manifest says %04o", path,
                        (unsigned)st.st_mode & 0777, f->mode);
    fw_err why;
    if ((rc = fw_payload_verify(path, f->size, f->sha256, &why)) != FW_OK)
      return fw_err_set(err, FW_ESTATE, "%s: %s", path, why.msg);
  }
  return FW_OK;
}

int fwa_slot_check(const char *root, const char *slot, const char *pub_pem, fw_manifest *out,
                   fw_err *err) {
  char dir[FWA_PATH], path[FWA_PATH + 64];
  proto_buf man, sig;
  fw_manifest m;
  fw_err local;
  int rc;
  memset(&m, 0, sizeof m);
  if (!err) err = &local;
  slot_dir(root, slot, dir, sizeof dir);
  proto_buf_init(&man);
  proto_buf_init(&sig);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_MANIFEST);
  rc = fw_file_read(path, FW_MANIFEST_MAX, &man, err);
  snprintf(path, sizeof path, "%s/%s", dir, FW_BUNDLE_SIG);
  if (rc == FW_OK) rc = fw_file_read(path, FW_SIG_MAX, &sig, err);
  if (rc == FW_OK) rc = fw_manifest_verify(man.data, man.len, (const unsigned char *)sig.data, sig.len, pub_pem, err);
  if (rc == FW_OK) rc = fw_manifest_decode(man.data, man.len, &m, err);
  if (rc == FW_OK) rc = check_files(dir, &m, err);
  if (rc != FW_OK) {
    char why[sizeof err->msg];
    memcpy(why, err->msg, sizeof why);
    rc = fw_err_set(err, FW_ESTATE, "slot %s incomplete: %s", slot, why);
  }
  if (rc == FW_OK && out) *out = m;
  else fw_manifest_free(&m);
  proto_buf_close(&man);
  proto_buf_close(&sig);
  return rc;
}
