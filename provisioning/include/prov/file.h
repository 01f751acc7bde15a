/* prov/file.h - whole-file writes that survive a power cut, and bounded
 * whole-file reads.
 *
 * prov_file_write: the data goes to "<path>.tmp" (created with `mode`, then
 * fchmod'ed to it, so the umask cannot widen or narrow it), is fsync'ed,
 * renamed over path, and the directory is fsync'ed.  After a crash at any
 * point, path holds either the old content or the new one, never a torn
 * mix; a stale .tmp is simply overwritten by the next write.
 */
#ifndef PROV_FILE_H
#define PROV_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "proto/buf.h"
#include "prov/error.h"

/* PROV_EIO naming the path and step on failure; path is then unchanged. */
int prov_file_write(const char *path, const void *data, size_t len, mode_t mode, prov_err *err);
/* Whole file into out (reset first, NUL-terminated).  PROV_ENOTFOUND if it
 * does not exist, PROV_EIO, or PROV_EINVAL if it is larger than max. */
int prov_file_read(const char *path, size_t max, proto_buf *out, prov_err *err);
/* mkdir with mode if missing (one level).  PROV_EIO if it cannot. */
int prov_dir_ensure(const char *path, mode_t mode, prov_err *err);

#endif
