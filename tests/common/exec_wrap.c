/* exec_wrap.c - the build's programs through $RETAIL_EXEC_WRAPPER, bounded
 * waits times $RETAIL_TIME_SCALE (exec_wrap.h). */
#include "exec_wrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* e_machine of the ELF file at path, or -1 when it is not an ELF file
 * (a script, missing, unreadable). */
static int elf_machine(const char *path) {
  unsigned char h[20];
  int fd = open(path, O_RDONLY | O_CLOEXEC), m = -1;
  if (fd < 0) return -1;
  if (read(fd, h, sizeof h) == (ssize_t)sizeof h && memcmp(h, "\177ELF", 4) == 0)
    m = h[5] == 2 ? h[18] << 8 | h[19] : h[19] << 8 | h[18]; /* EI_DATA 2: big endian */
  close(fd);
  return m;
}

/* Split $RETAIL_EXEC_WRAPPER into words (pointers into words[cap]); their
 * count, 0 when unset or blank, -1 when it does not fit. */
static int wrapper_words(char *words, size_t cap, const char **w, int max) {
  const char *env = getenv("RETAIL_EXEC_WRAPPER");
  int n = 0;
  if (!env || !*env) return 0;
  if (strlen(env) >= cap) return -1;
  strcpy(words, env);
  for (char *save = NULL, *t = strtok_r(words, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
    if (n == max) return -1;
    w[n++] = t;
  }
  return n;
}

/* Is path an ELF executable of this program's architecture (any ELF file
 * when /proc/self/exe cannot be read)? */
static int ours(const char *path) {
  int m = elf_machine(path), own;
  if (m < 0) return 0;
  own = elf_machine("/proc/self/exe");
  return own < 0 || m == own;
}

int test_exec_prepare(test_exec *x, const char *const argv[]) {
  int n = wrapper_words(x->words, sizeof x->words, x->argv, TEST_EXEC_ARGS - 1);
  size_t k;
  if (n > 0 && !ours(argv[0])) n = 0;
  for (k = 0; n >= 0 && argv[k]; k++) {
    if ((size_t)n + k + 1 >= TEST_EXEC_ARGS)
      n = -1;
    else
      x->argv[(size_t)n + k] = argv[k];
  }
  if (n < 0) {
    x->argv[0] = NULL;
    return -1;
  }
  x->argv[(size_t)n + k] = NULL;
  return 0;
}

int test_execv(const char *const argv[]) {
  test_exec x;
  if (test_exec_prepare(&x, argv) != 0) {
    errno = E2BIG;
    return -1;
  }
  execvp(x.argv[0], (char *const *)x.argv);
  return -1;
}

int test_exec_sh_prefix(char *out, size_t cap) {
  char words[1024];
  const char *w[TEST_EXEC_ARGS];
  int n = wrapper_words(words, sizeof words, w, TEST_EXEC_ARGS);
  size_t len = 0;
  out[0] = '\0';
  if (n < 0) return -1;
  for (int i = 0; i < n; i++) {
    int k = snprintf(out + len, cap - len, "'%s' ", w[i]);
    /* a quote inside a word is not worth escaping: never in a path we make */
    if (strchr(w[i], '\'') || k < 0 || (size_t)k >= cap - len) {
      out[0] = '\0';
      return -1;
    }
    len += (size_t)k;
  }
  return 0;
}

int test_time_scale(void) {
  const char *env = getenv("RETAIL_TIME_SCALE");
  char *end = NULL;
  long v = env ? strtol(env, &end, 10) : 1;
  return env && end != env && *end == '\0' && v >= 1 && v <= 100 ? (int)v : 1;
}

int test_scaled_ms(int ms) { return ms * test_time_scale(); }
