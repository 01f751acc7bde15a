/* file.c - durable file-system steps (fw/file.h).
 *
 * Durability rule used everywhere: data is fsync'd before the rename that
 * publishes it, and the directory is fsync'd after, so after a power cut a
 * name holds either the old complete content or the new complete content.
 */
#include "fw/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_int.h"

int fw_file_read(const char *path, size_t max, proto_buf *out, fw_err *err) {
  size_t before = out->len;
  char chunk[8192];
  int rc = FW_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  for (;;) {
    int n = fw__read_full(fd, chunk, sizeof chunk);
    if (n < 0) {
      rc = fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
      break;
    }
    if (out->len - before + (size_t)n > max) {
      rc = fw_err_set(err, FW_EINVAL, "%s: larger than %zu bytes", path, max);
      break;
    }
    if (n > 0 && proto_buf_append(out, chunk, (size_t)n) != PROTO_OK) {
      rc = fw_err_set(err, FW_ENOMEM, "%s: out of memory", path);
      break;
    }
    if ((size_t)n < sizeof chunk) break;
  }
  close(fd);
  if (rc != FW_OK) {
    out->len = before;
    if (out->data) out->data[before] = '\0';
  }
  return rc;
}

/* The directory part of path ("." if none). */
static void dir_of(const char *path, char *dir, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, cap, ".");
  else if (slash == path) snprintf(dir, cap, "/");
  else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

int fw_dir_sync(const char *dir, fw_err *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = FW_OK;
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", dir, strerror(errno));
  if (fsync(fd) != 0) rc = fw_err_set(err, FW_EIO, "fsync %s: %s", dir, strerror(errno));
  close(fd);
  return rc;
}

int fw_file_write_atomic(const char *path, const void *data, size_t len, int mode, fw_err *err) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  int rc = FW_OK, fd;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return fw_err_set(err, FW_EINVAL, "%s: path too long", path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  if (fw__write_all(fd, data, len) != 0 || fsync(fd) != 0)
    rc = fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  if (close(fd) != 0 && rc == FW_OK) rc = fw_err_set(err, FW_EIO, "%s: %s", tmp, strerror(errno));
  if (rc == FW_OK && rename(tmp, path) != 0)
    rc = fw_err_set(err, FW_EIO, "rename %s: %s", path, strerror(errno));
  if (rc != FW_OK) {
    unlink(tmp);
    return rc;
  }
  dir_of(path, dir, sizeof dir);
  return fw_dir_sync(dir, err);
}

int fw_mkdirs(const char *path, int mode, fw_err *err) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return fw_err_set(err, FW_EINVAL, "mkdir: bad path \"%s\"", path);
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return fw_err_set(err, FW_EIO, "mkdir %s: %s", buf, strerror(errno));
      if (c == '\0') return FW_OK;
      *p = c;
    }
  }
}

/* Remove everything inside the open directory dfd (closed here). */
static int rm_inside(int dfd, const char *path, fw_err *err) {
  DIR *d = fdopendir(dfd);
  struct dirent *de;
  int rc = FW_OK;
  if (!d) {
    close(dfd);
    return fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  }
  while (rc == FW_OK && (de = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rc = fw_err_set(err, FW_EIO, "%s/%s: %s", path, de->d_name, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      rc = sub < 0 ? fw_err_set(err, FW_EIO, "%s/%s: %s", path, de->d_name, strerror(errno))
                   : rm_inside(sub, de->d_name, err);
      if (rc == FW_OK && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
        rc = fw_err_set(err, FW_EIO, "rmdir %s/%s: %s", path, de->d_name, strerror(errno));
    } else if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
      rc = fw_err_set(err, FW_EIO, "unlink %s/%s: %s", path, de->d_name, strerror(errno));
    }
  }
  closedir(d);
  return rc;
}

int fw_rmtree(const char *path, fw_err *err) {
  struct stat st;
  int fd, rc;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? FW_OK : fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return unlink(path) == 0 ? FW_OK : fw_err_set(err, FW_EIO, "unlink %s: %s", path, strerror(errno));
  fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fw_err_set(err, FW_EIO, "%s: %s", path, strerror(errno));
  rc = rm_inside(fd, path, err);
  if (rc == FW_OK && rmdir(path) != 0)
    rc = fw_err_set(err, FW_EIO, "rmdir %s: %s", path, strerror(errno));
  return rc;
}
