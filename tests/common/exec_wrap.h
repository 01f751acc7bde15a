/* exec_wrap.h - test helper: start the build's own programs through an
 * emulator when the tests themselves run under one, and stretch bounded
 * waits by a factor.
 *
 * The arm64 pass (docs/firmware.md, "Cross build for arm64") runs the test
 * binaries under qemu-aarch64.  A test that starts a program of the build
 * (the update agent, a fake storenode, storenode) cannot exec that aarch64
 * file directly: the machine has no binfmt_misc handler for it.  ctest
 * hands such tests (tests/CMakeLists.txt, retail_add_test) two variables:
 *
 *   RETAIL_EXEC_WRAPPER  the emulator command, words separated by blanks
 *                        ("/usr/bin/qemu-aarch64 -L <sysroot>"; so no blank
 *                        inside a word); unset or empty: none
 *   RETAIL_TIME_SCALE    a whole number >= 1 the tests multiply their
 *                        bounded waits by (1 when unset or not valid)
 *
 *   test_exec x;
 *   test_exec_prepare(&x, argv);        x.argv: the wrapper's words + argv
 *   posix_spawnp(&pid, x.argv[0], NULL, NULL, (char *const *)x.argv, envp);
 *   test_execv(argv);                   the same, in a forked child
 *   test_exec_sh_prefix(buf, cap);      the wrapper for a generated script
 *
 * Only an ELF executable of the test's own architecture (e_machine of
 * /proc/self/exe, which qemu reports for the emulated program) gets the
 * wrapper: host programs (/bin/sh, mosquitto, hq) and scripts run as they
 * are, so a helper may pass every argv through test_exec_prepare.
 * Link with nothing but libc; include from C tests via tests/common.
 */
#ifndef TEST_EXEC_WRAP_H
#define TEST_EXEC_WRAP_H

#include <stddef.h>

#define TEST_EXEC_ARGS 64

typedef struct test_exec {
  const char *argv[TEST_EXEC_ARGS];   /* NULL-terminated; argv[0] is searched on PATH */
  char words[1024];                   /* the wrapper's words, NUL-separated */
} test_exec;

/* x->argv = argv, with the words of $RETAIL_EXEC_WRAPPER in front when it
 * is set and argv[0] is an ELF executable of this program's architecture.
 * 0, or -1 (x->argv empty) when the whole does not fit TEST_EXEC_ARGS or
 * the wrapper does not fit words. */
int test_exec_prepare(test_exec *x, const char *const argv[]);
/* execvp of the prepared argv (in a child after fork); returns only on
 * failure: -1 with errno set. */
int test_execv(const char *const argv[]);
/* The wrapper as a shell command prefix: each word single-quoted and
 * followed by a blank, "" without a wrapper.  For scripts the tests write
 * that start a program of the build.  0, or -1 (out = "") when it does
 * not fit cap. */
int test_exec_sh_prefix(char *out, size_t cap);
/* $RETAIL_TIME_SCALE: a whole number from 1 to 100, else 1. */
int test_time_scale(void);
/* ms * test_time_scale(): the bound of a wait. */
int test_scaled_ms(int ms);

#endif
