/* file.c - atomic whole-file writes (temp + fsync + rename + dir fsync) and
 * bounded reads; see prov/file.h. */
#include "prov/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path) {
  char copy[PATH_CAP];
  snprintf(copy, sizeof copy, "%s", path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int prov_file_write(const char *path, const void *data, size_t len, mode_t mode, prov_err *err) {
  char tmp[PATH_CAP];
  const char *step = "open";
  int fd = -1, rc = PROV_OK;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return prov_err_set(err, PROV_EINVAL, "%s: path too long", path);
  unlink(tmp);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) goto fail;
  step = "chmod";
  if (fchmod(fd, mode) != 0) goto fail;
  step = "write";
  if (write_all(fd, data, len) != 0) goto fail;
  step = "fsync";
  if (fsync(fd) != 0) goto fail;
  step = "close";
  rc = close(fd);
  fd = -1;
  if (rc != 0) goto fail;
  step = "rename";
  if (rename(tmp, path) != 0) goto fail;
  step = "fsync dir";
  if (sync_dir(path) != 0) goto fail;
  return PROV_OK;
fail:
  rc = prov_err_set(err, PROV_EIO, "%s: %s: %s", path, step, strerror(errno));
  if (fd >= 0) close(fd);
  unlink(tmp);
  return rc;
}

int prov_file_read(const char *path, size_t max, proto_buf *out, prov_err *err) {
  char chunk[4096];
  int rc = PROV_OK;
  proto_buf_reset(out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return prov_err_set(err, errno == ENOENT ? PROV_ENOTFOUND : PROV_EIO, "%s: %s", path,
                        strerror(errno));
  for (;;) {
    size_t n = fread(chunk, 1, sizeof chunk, f);
    if (n == 0) break;
    if (out->len + n > max) {
      rc = prov_err_set(err, PROV_EINVAL, "%s: larger than %zu bytes", path, max);
      goto done;
    }
    if (proto_buf_append(out, chunk, n) != 0) {
      rc = prov_err_set(err, PROV_ENOMEM, "%s: out of memory", path);
      goto done;
    }
  }
  if (ferror(f)) rc = prov_err_set(err, PROV_EIO, "%s: read error", path);
  else if (proto_buf_append(out, "", 0) != 0) rc = prov_err_set(err, PROV_ENOMEM, "%s", path);
done:
  fclose(f);
  if (rc != PROV_OK) proto_buf_reset(out);
  return rc;
}

int prov_dir_ensure(const char *path, mode_t mode, prov_err *err) {
  struct stat st;
  if (mkdir(path, mode) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
    return PROV_OK;
  return prov_err_set(err, PROV_EIO, "%s: mkdir: %s", path, strerror(errno));
}
