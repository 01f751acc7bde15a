/* fw/file.h - the file-system steps an update is made of, each one either
 * done durably or reported (none of them leaves a half-written file under
 * the final name).
 */
#ifndef FW_FILE_H
#define FW_FILE_H

#include <stddef.h>

#include "fw/error.h"
#include "proto/buf.h"
#include "proto/error.h"

/* Append the whole file to out (out keeps what it had on failure).  FW_EIO
 * naming the path and errno; FW_EINVAL if it is larger than max bytes. */
int fw_file_read(const char *path, size_t max, proto_buf *out, fw_err *err);
/* Replace path atomically and durably: write "<path>.tmp", fsync, rename,
 * fsync the directory.  On failure path is untouched (the .tmp is removed). */
int fw_file_write_atomic(const char *path, const void *data, size_t len, int mode, fw_err *err);
/* fsync a directory, so a rename or a new entry in it survives power loss. */
int fw_dir_sync(const char *dir, fw_err *err);
/* mkdir -p with mode for the missing parts. */
int fw_mkdirs(const char *path, int mode, fw_err *err);
/* rm -rf without following symbolic links; a missing path is FW_OK. */
int fw_rmtree(const char *path, fw_err *err);

#endif
