/* tmpdir.h - test helper: a fresh directory per test under /tmp, removed
 * with its files at the end.
 *
 *   char dir[64];
 *   if (test_tmpdir_make(dir, sizeof dir, "node_unit") != 0) fail;
 *   ... dir is now "/tmp/node_unit.XXXXXX" (mkdtemp); put files in it ...
 *   test_tmpdir_remove(dir);
 *
 * One level only: the tests keep plain files there (a database and its
 * -wal/-shm), so removal unlinks every entry and then the directory; a
 * leftover subdirectory makes the final rmdir fail, which is harmless.
 * Link with nothing but libc; include from C tests via tests/common.
 */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <stddef.h>

/* mkdtemp "/tmp/<prefix>.XXXXXX" into dir.  0, or -1 (errno set; ENAMETOOLONG
 * when the name does not fit cap) with dir not created. */
int test_tmpdir_make(char *dir, size_t cap, const char *prefix);
/* Unlink every entry of dir (names starting with '.' are left), then rmdir
 * it.  Best effort: errors are ignored. */
void test_tmpdir_remove(const char *dir);

#endif
