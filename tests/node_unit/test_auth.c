/* test_auth.c - staff PINs, per-tablet and per-address lockout with an
 * injected clock, sessions (expiry, logout, revocation), no secret stored in clear. */
#include <stdio.h>
#include <string.h>

#include "node_test.h"

static node_staff staff(const char *id, const char *name, node_role role) {
  node_staff s;
  memset(&s, 0, sizeof s);
  snprintf(s.id, sizeof s.id, "%s", id);
  snprintf(s.name, sizeof s.name, "%s", name);
  s.role = role;
  return s;
}

static void add_staff(tctx *t) {
  node_staff li = staff("s-li", "李娜", NODE_ROLE_MANAGER);
  node_staff wang = staff("s-wang", "王强", NODE_ROLE_CLERK);
  T_OK(t, node_staff_set(t->e, &li, "86420753", &t->err));
  T_OK(t, node_staff_set(t->e, &wang, "1357", &t->err));
  T_COMMIT(t);
}

static void pin_login(void **state) {
  tctx *t = *state;
  node_session s, c;
  add_staff(t);
  T_OK(t, node_auth_login(t->e, "tab-1", "86420753", &s, &t->err));
  T_COMMIT(t);
  assert_int_equal(strlen(s.token), 32);
  assert_string_equal(s.staff.id, "s-li");
  assert_string_equal(s.staff.name, "李娜");
  assert_int_equal(s.staff.role, NODE_ROLE_MANAGER);
  assert_string_equal(s.tablet, "tab-1");
  assert_int_equal(s.expires_ms, t->now + 12ull * 3600 * 1000);
  T_OK(t, node_auth_check(t->e, s.token, &c, &t->err));
  assert_string_equal(c.staff.id, "s-li");
  assert_string_equal(c.token, ""); /* the token is only returned by login */
  T_OK(t, node_auth_login(t->e, "tab-2", "1357", &s, &t->err));
  assert_int_equal(s.staff.role, NODE_ROLE_CLERK);
  /* a role change shows in existing sessions */
  node_staff wang = staff("s-wang", "王强", NODE_ROLE_MANAGER);
  T_OK(t, node_staff_set(t->e, &wang, NULL, &t->err)); /* keeps the PIN */
  T_COMMIT(t);
  T_OK(t, node_auth_check(t->e, s.token, &c, &t->err));
  assert_int_equal(c.staff.role, NODE_ROLE_MANAGER);
  T_OK(t, node_auth_login(t->e, "tab-2", "1357", &s, &t->err));
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, "not-a-token", &c, &t->err));
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, "0123456789abcdef0123456789abcdef", &c, &t->err));
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, NULL, &c, &t->err));
}

static void staff_rules(void **state) {
  tctx *t = *state;
  add_staff(t);
  node_staff zhao = staff("s-zhao", "赵六", NODE_ROLE_CLERK);
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &zhao, "1357", &t->err)); /* PIN taken */
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &zhao, NULL, &t->err));   /* new: needs a PIN */
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &zhao, "12", &t->err));
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &zhao, "123456789", &t->err));
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &zhao, "12a4", &t->err));
  node_staff bad = staff("bad id", "x", NODE_ROLE_CLERK);
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &bad, "2468", &t->err));
  bad = staff("s-x", "", NODE_ROLE_CLERK);
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &bad, "2468", &t->err));
  bad = staff("s-x", "x", (node_role)9);
  T_RC(t, NODE_EINVAL, node_staff_set(t->e, &bad, "2468", &t->err));
  /* the same person may keep their own PIN when it is set again */
  node_staff wang = staff("s-wang", "王强", NODE_ROLE_CLERK);
  T_OK(t, node_staff_set(t->e, &wang, "1357", &t->err));
  T_OK(t, node_staff_set(t->e, &zhao, "2468", &t->err));
  T_COMMIT(t);
  node_role r;
  assert_int_equal(node_role_from_name("manager", &r), NODE_OK);
  assert_int_equal(r, NODE_ROLE_MANAGER);
  assert_int_equal(node_role_from_name("boss", &r), NODE_EINVAL);
  assert_string_equal(node_role_name(NODE_ROLE_CLERK), "clerk");
}

static int count_staff(void *ctx, const node_staff *s) {
  (*(int *)ctx)++;
  return 0;
}

static void lockout(void **state) {
  tctx *t = *state;
  node_session s;
  add_staff(t);
  for (int i = 1; i <= 4; i++) {
    T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "0000", &s, &t->err));
    assert_null(strstr(t->err.msg, "locked"));
  }
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "9999", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "locked for 60 s"));
  T_COMMIT(t);
  /* even the right PIN is refused now, on that tablet only */
  T_RC(t, NODE_ELOCKED, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "60 more s"));
  T_OK(t, node_auth_login(t->e, "tab-2", "1357", &s, &t->err));
  T_COMMIT(t);
  /* the lock survives a restart */
  t_reopen(t);
  t->now += 59000;
  T_RC(t, NODE_ELOCKED, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "1 more s"));
  t->now += 1000;
  T_OK(t, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  T_COMMIT(t);
  /* a right PIN resets the count */
  for (int i = 0; i < 4; i++)
    T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "0000", &s, &t->err));
  T_OK(t, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "0000", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "4 tries left"));
  /* malformed PINs count as wrong */
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "abc", &s, &t->err));
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", NULL, &s, &t->err));
  T_RC(t, NODE_EINVAL, node_auth_login(t->e, "bad tablet", "1357", &s, &t->err));
  T_COMMIT(t);
}

static void lockout_configured(void **state) {
  tctx *t = *state;
  node_session s;
  node_auth_opts o = {.lockout_attempts = 2, .lockout_s = 10, .kdf_iterations = 1000};
  node_auth_configure(t->e, &o);
  add_staff(t);
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "0000", &s, &t->err));
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-1", "0000", &s, &t->err));
  T_RC(t, NODE_ELOCKED, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  t->now += 10000;
  T_OK(t, node_auth_login(t->e, "tab-1", "1357", &s, &t->err));
  T_COMMIT(t);
}

/* n wrong PINs from peer, each on a new tablet id (so no tablet lock). */
static void wrong_from(tctx *t, const char *peer, int n, int *serial) {
  node_session s;
  char tablet[32];
  for (int i = 0; i < n; i++) {
    snprintf(tablet, sizeof tablet, "rogue-%d", (*serial)++);
    T_RC(t, NODE_EWRONGPIN, node_auth_login_from(t->e, tablet, peer, "0000", &s, &t->err));
    assert_null(strstr(t->err.msg, "address"));
  }
}

/* A client rotating tablet ids: 20 wrong PINs from one address within 5
 * minutes lock the address for 5 minutes (defaults), persisted. */
static void lockout_per_address(void **state) {
  tctx *t = *state;
  node_session s;
  int serial = 0;
  add_staff(t);
  wrong_from(t, "192.168.1.50", 19, &serial);
  T_RC(t, NODE_EWRONGPIN, node_auth_login_from(t->e, "rogue-x", "192.168.1.50",
                                               "0000", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "address 192.168.1.50 is locked for 300 s"));
  T_COMMIT(t);
  /* a new tablet id, the right PIN: refused; another address: fine */
  T_RC(t, NODE_ELOCKED, node_auth_login_from(t->e, "rogue-new", "192.168.1.50",
                                             "1357", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "300 more s"));
  T_OK(t, node_auth_login_from(t->e, "rogue-new", "192.168.1.51", "1357", &s, &t->err));
  T_COMMIT(t);
  /* the lock survives a restart, and ends on time */
  t_reopen(t);
  t->now += 299000;
  T_RC(t, NODE_ELOCKED, node_auth_login_from(t->e, "tab-1", "192.168.1.50", "1357", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "1 more s"));
  t->now += 1000;
  T_OK(t, node_auth_login_from(t->e, "tab-1", "192.168.1.50", "1357", &s, &t->err));
  T_COMMIT(t);
  /* a fixed window: 19 now and 19 after it ended do not lock */
  wrong_from(t, "192.168.1.50", 19, &serial);
  t->now += 300000;
  wrong_from(t, "192.168.1.50", 19, &serial);
  T_OK(t, node_auth_login_from(t->e, "tab-1", "192.168.1.50", "1357", &s, &t->err));
  T_COMMIT(t);
  /* ... and a right PIN does not reset the count: the 20th in the window locks */
  T_RC(t, NODE_EWRONGPIN, node_auth_login_from(t->e, "tab-9", "192.168.1.50", "0000", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "locked for 300 s"));
  T_COMMIT(t);
  /* addresses neither locked nor counting are forgotten */
  t->now += 600000;
  wrong_from(t, "192.168.1.52", 1, &serial);
  T_COMMIT(t);
  assert_int_equal(t_count(t, "SELECT count(*) FROM login_peers"), 1);
}

/* The address key: IPv6 by its /64 (a host picks any address in it), an
 * IPv4-mapped address as the IPv4 one; configured limits. */
static void lockout_per_address_keys(void **state) {
  tctx *t = *state;
  node_session s;
  node_auth_opts o = {.kdf_iterations = 1000, .peer_attempts = 3, .peer_window_s = 60,
                      .peer_lockout_s = 30};
  int serial = 0;
  node_auth_configure(t->e, &o);
  add_staff(t);
  wrong_from(t, "2001:db8:0:7::1", 1, &serial);
  wrong_from(t, "2001:db8:0:7:a:b:c:d", 1, &serial);
  T_RC(t, NODE_EWRONGPIN, node_auth_login_from(t->e, "r-1", "2001:db8:0:7::99",
                                               "0000", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "address 2001:db8:0:7::/64 is locked for 30 s"));
  T_RC(t, NODE_ELOCKED, node_auth_login_from(t->e, "r-2", "2001:db8:0:7::5", "1357", &s, &t->err));
  T_OK(t, node_auth_login_from(t->e, "r-2", "2001:db8:0:8::5", "1357", &s, &t->err));
  wrong_from(t, "::ffff:10.0.0.7", 2, &serial);
  T_RC(t, NODE_EWRONGPIN, node_auth_login_from(t->e, "r-3", "10.0.0.7", "0000", &s, &t->err));
  assert_non_null(strstr(t->err.msg, "address 10.0.0.7 is locked"));
  T_RC(t, NODE_ELOCKED, node_auth_login_from(t->e, "r-4", "::ffff:10.0.0.7", "1357", &s, &t->err));
  t->now += 30000;
  T_OK(t, node_auth_login_from(t->e, "r-4", "::ffff:10.0.0.7", "1357", &s, &t->err));
  /* without an address (node_auth_login) only the tablet limit applies */
  T_OK(t, node_auth_login(t->e, "r-5", "1357", &s, &t->err));
  T_COMMIT(t);
}

static void session_expiry_and_revocation(void **state) {
  tctx *t = *state;
  node_session a, b, c;
  node_auth_opts o = {.session_ttl_s = 3600, .kdf_iterations = 1000};
  node_auth_configure(t->e, &o);
  add_staff(t);
  T_OK(t, node_auth_login(t->e, "tab-1", "1357", &a, &t->err));
  T_OK(t, node_auth_login(t->e, "tab-2", "1357", &b, &t->err));
  T_COMMIT(t);
  assert_string_not_equal(a.token, b.token);
  t->now += 3599 * 1000;
  T_OK(t, node_auth_check(t->e, a.token, &c, &t->err));
  t->now += 1000;
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, a.token, &c, &t->err));
  /* logout ends one session */
  t->now -= 2000;
  T_OK(t, node_auth_login(t->e, "tab-3", "86420753", &c, &t->err));
  T_OK(t, node_auth_logout(t->e, a.token, &t->err));
  T_COMMIT(t);
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, a.token, &a, &t->err));
  T_OK(t, node_auth_check(t->e, b.token, &a, &t->err));
  /* a manager revokes every session of a person */
  T_OK(t, node_auth_revoke_staff(t->e, "s-wang", &t->err));
  T_COMMIT(t);
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, b.token, &a, &t->err));
  T_OK(t, node_auth_check(t->e, c.token, &a, &t->err));
  T_RC(t, NODE_ENOTFOUND, node_auth_revoke_staff(t->e, "s-nobody", &t->err));
  /* removing a person ends their sessions and their PIN */
  T_OK(t, node_staff_remove(t->e, "s-li", &t->err));
  T_COMMIT(t);
  T_RC(t, NODE_EEXPIRED, node_auth_check(t->e, c.token, &a, &t->err));
  T_RC(t, NODE_EWRONGPIN, node_auth_login(t->e, "tab-3", "86420753", &a, &t->err));
  T_RC(t, NODE_ENOTFOUND, node_staff_remove(t->e, "s-li", &t->err));
  int n = 0;
  T_OK(t, node_staff_each(t->e, count_staff, &n, &t->err));
  assert_int_equal(n, 1);
}

static void nothing_in_clear(void **state) {
  tctx *t = *state;
  node_session s;
  char wal[sizeof t->path + 8];
  add_staff(t);
  T_OK(t, node_auth_login(t->e, "tab-1", "86420753", &s, &t->err));
  T_COMMIT(t);
  snprintf(wal, sizeof wal, "%s-wal", t->path);
  assert_false(t_file_has(wal, "86420753"));
  assert_false(t_file_has(wal, s.token));
  assert_true(t_file_has(wal, "tab-1")); /* the search itself works */
  t_close(t);                            /* checkpoint into the main file */
  assert_false(t_file_has(t->path, "86420753"));
  assert_false(t_file_has(t->path, s.token));
  assert_true(t_file_has(t->path, "s-li"));
  t_open(t);
  T_OK(t, node_auth_check(t->e, s.token, &s, &t->err));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(pin_login, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(staff_rules, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(lockout, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(lockout_configured, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(lockout_per_address, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(lockout_per_address_keys, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(session_expiry_and_revocation, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(nothing_in_clear, t_setup, t_teardown),
  };
  return cmocka_run_group_tests_name("node_unit_auth", tests, NULL, NULL);
}
