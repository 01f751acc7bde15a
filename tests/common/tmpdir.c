/* tmpdir.c - per-test temp directories (tmpdir.h). */
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int test_tmpdir_make(char *dir, size_t cap, const char *prefix) {
  int n = snprintf(dir, cap, "/tmp/%s.XXXXXX", prefix);
  if (n < 0 || (size_t)n >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return mkdtemp(dir) ? 0 : -1;
}

void test_tmpdir_remove(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char p[PATH_MAX];
    if (de->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}
