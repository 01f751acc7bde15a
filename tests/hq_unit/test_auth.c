/* test_auth.c - the HTTP API's bearer tokens (hq/auth.c) and the scopes of
 * every route hq serves (the tables of hq/http.c):
 *
 *   - there is no open mode: no api_tokens_file, a missing file, a file
 *     without tokens and a bad line are HQ_ECONFIG naming the key;
 *   - a request's token: none / unknown 401, without the scope 403;
 *   - `hq api-token`'s line (hq_token_make) loads back with its scopes;
 *   - every route declares a scope, except the few public ones, and the
 *     public static-file routes serve only the embedded dashboard files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server.h"
#include "tmpdir.h"
#include "views_http.h"

typedef struct fx {
  char dir[64];
  char path[128];
  hq_tokens t;
  hq_err err;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f || test_tmpdir_make(f->dir, sizeof f->dir, "hq_unit_auth") != 0) return -1;
  snprintf(f->path, sizeof f->path, "%s/tokens", f->dir);
  hq_err_clear(&f->err);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  hq_tokens_free(&f->t);
  test_tmpdir_remove(f->dir);
  free(f);
  return 0;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* Loading text fails with HQ_ECONFIG and a message holding each of the words. */
static void expect_refused(fx *f, const char *text, const char *w1, const char *w2) {
  write_file(f->path, text);
  hq_err_clear(&f->err);
  int rc = hq_tokens_load(&f->t, f->path, &f->err);
  if (rc != HQ_ECONFIG) fail_msg("'%s' loaded (rc %d)", text, rc);
  if (!strstr(f->err.msg, w1) || (w2 && !strstr(f->err.msg, w2)))
    fail_msg("'%s': message '%s' lacks '%s' / '%s'", text, f->err.msg, w1, w2 ? w2 : "");
  assert_int_equal(f->t.n, 0);
  assert_null(f->t.t);
}

/* ---- the tokens file ------------------------------------------------------------- */

static void test_no_file_no_start(void **state) {
  fx *f = *state;
  const char *unset[] = {NULL, ""};
  for (size_t i = 0; i < 2; i++) {
    hq_err_clear(&f->err);
    assert_int_equal(hq_tokens_load(&f->t, unset[i], &f->err), HQ_ECONFIG);
    assert_non_null(strstr(f->err.msg, "api_tokens_file is not set"));
    assert_non_null(strstr(f->err.msg, "hq api-token")); /* how to make one */
  }
  hq_err_clear(&f->err);
  assert_int_equal(hq_tokens_load(&f->t, "/nonexistent/hq-tokens", &f->err), HQ_ECONFIG);
  assert_non_null(strstr(f->err.msg, "api_tokens_file /nonexistent/hq-tokens: cannot open"));
}

static void test_empty_and_bad_files(void **state) {
  fx *f = *state;
  expect_refused(f, "", "no tokens", "hq api-token");
  expect_refused(f, "# only a comment\n\n   \n", "no tokens", "api_tokens_file");
  expect_refused(f, "short orders mall\n", ":1: token: 16..127", NULL);
  expect_refused(f, "0123456789abcdef0123\n", ":1: scopes", NULL);
  expect_refused(f, "0123456789abcdef0123 orders,fly mall\n", ":1: scopes", NULL);
  expect_refused(f, "0123456789abcdef0123 orders ma\"ll\n", ":1: name", NULL);
  expect_refused(f, "0123456789abcdef0123 orders mall\n# x\n0123456789abcdef0123 read dash\n",
                 ":3: the same token as 'mall'", "api_tokens_file");
}

static void test_check(void **state) {
  fx *f = *state;
  const char *who = NULL;
  write_file(f->path, "# token scopes name\n"
                      "mall-0123456789abcdef orders mall\n"
                      "dash-0123456789abcdef read   dash\n"
                      "ops-0123456789abcdef  all\n");
  assert_int_equal(hq_tokens_load(&f->t, f->path, &f->err), HQ_OK);
  assert_int_equal(f->t.n, 3);
  assert_string_equal(f->t.t[2].name, "token");
  const struct {
    const char *auth;
    unsigned scope;
    int want;
    const char *who;
  } rows[] = {
      {NULL, HQ_SCOPE(READ), HQ_EUNAUTH, ""},
      {"", HQ_SCOPE(READ), HQ_EUNAUTH, ""},
      {"Basic bWFsbDp4", HQ_SCOPE(READ), HQ_EUNAUTH, ""},
      {"Bearer mall-0123456789abcdeX", HQ_SCOPE(ORDERS), HQ_EUNAUTH, ""},
      {"Bearer mall-0123456789abcde", HQ_SCOPE(ORDERS), HQ_EUNAUTH, ""},
      {"Bearer mall-0123456789abcdef", HQ_SCOPE(READ), HQ_EFORBIDDEN, "mall"},
      {"Bearer mall-0123456789abcdef", HQ_SCOPE(ORDERS) | HQ_SCOPE(ADMIN), HQ_OK, "mall"},
      {"bearer  dash-0123456789abcdef", HQ_SCOPE(READ), HQ_OK, "dash"},
      {"Bearer ops-0123456789abcdef", HQ_SCOPE(RIDER), HQ_OK, "token"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    hq_err_clear(&f->err);
    int rc = hq_tokens_check(&f->t, rows[i].auth, rows[i].scope, &who, &f->err);
    if (rc != rows[i].want) fail_msg("row %zu: %d, want %d (%s)", i, rc, rows[i].want, f->err.msg);
    assert_string_equal(who, rows[i].who);
  }
  hq_err_clear(&f->err);
  assert_int_equal(hq_tokens_check(&f->t, "Bearer dash-0123456789abcdef", HQ_SCOPE(ADMIN) | HQ_SCOPE(ORDERS),
                                   &who, &f->err),
                   HQ_EFORBIDDEN);
  assert_string_equal(f->err.msg, "token 'dash' needs the scope orders or admin");
}

/* ---- hq api-token ------------------------------------------------------------------ */

static void test_make_loads_back(void **state) {
  fx *f = *state;
  char a[256], b[256], file[600];
  const char *who = NULL;
  assert_int_equal(hq_token_make(a, sizeof a, "READ,orders", "mall.web", &f->err), HQ_OK);
  assert_int_equal(hq_token_make(b, sizeof b, "admin,all", "ops", &f->err), HQ_OK);
  /* 64 hex digits, the scopes as the file spells them, the name */
  assert_int_equal(strspn(a, "0123456789abcdef"), 64);
  assert_string_equal(a + 64, " orders,read mall.web\n");
  assert_string_equal(b + 64, " all ops\n");
  assert_memory_not_equal(a, b, 64);
  snprintf(file, sizeof file, "# made by hq api-token\n%s%s", a, b);
  write_file(f->path, file);
  assert_int_equal(hq_tokens_load(&f->t, f->path, &f->err), HQ_OK);
  assert_int_equal(f->t.n, 2);
  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %.64s", a);
  assert_int_equal(hq_tokens_check(&f->t, auth, HQ_SCOPE(READ), &who, &f->err), HQ_OK);
  assert_string_equal(who, "mall.web");
  assert_int_equal(hq_tokens_check(&f->t, auth, HQ_SCOPE(ADMIN), &who, &f->err), HQ_EFORBIDDEN);
  snprintf(auth, sizeof auth, "Bearer %.64s", b);
  assert_int_equal(hq_tokens_check(&f->t, auth, HQ_SCOPE(RIDER), &who, &f->err), HQ_OK);
}

static void test_make_refuses(void **state) {
  fx *f = *state;
  char line[256];
  const struct {
    const char *scopes, *name, *field;
  } rows[] = {
      {NULL, "ops", "scopes"},      {"", "ops", "scopes"},        {"orders,,fly", "ops", "scopes"},
      {"orders", NULL, "name"},     {"orders", "", "name"},       {"orders", "two words", "name"},
      {"orders", "by=x", "name"},
      {"orders", "n123456789012345678901234567890123456789012345678901234567890123", "name"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    hq_err_clear(&f->err);
    assert_int_equal(hq_token_make(line, sizeof line, rows[i].scopes, rows[i].name, &f->err), HQ_EINVAL);
    assert_string_equal(f->err.field, rows[i].field);
    assert_string_equal(line, "");
  }
  hq_err_clear(&f->err);
  assert_int_equal(hq_token_make(line, 40, "orders", "mall", &f->err), HQ_EINVAL); /* too small */
  assert_string_equal(line, "");
}

/* ---- the route tables -------------------------------------------------------------- */

/* The routes that need no token; any other route without a scope fails. */
typedef enum { PUB_HEALTH, PUB_STATIC, PUB_HANDLER } pub_kind;
static const struct {
  int method;
  const char *pattern;
  pub_kind kind;
} public_routes[] = {
    {LWSHUMETH_GET, "/healthz", PUB_HEALTH},
    /* The dashboard's files: the page loads and then asks for a token; its
     * data comes from the scoped /api/v1/views (test below: files only). */
    {LWSHUMETH_GET, "/", PUB_STATIC},
    {LWSHUMETH_GET, "/vendor/{}", PUB_STATIC},
    {LWSHUMETH_GET, "/{}", PUB_STATIC},
    /* The one exception: boxes download firmware with a signed URL that the
     * handler itself checks (hq/rollout.c), as they hold no API token. */
    {LWSHUMETH_GET, "/api/v1/firmware/{}/payload", PUB_HANDLER},
};
#define N_PUBLIC (sizeof public_routes / sizeof public_routes[0])

static int public_of(const hq_route *r) {
  for (size_t i = 0; i < N_PUBLIC; i++)
    if (r->method == public_routes[i].method && strcmp(r->pattern, public_routes[i].pattern) == 0)
      return (int)i;
  return -1;
}

static void test_every_route_has_a_scope(void **state) {
  size_t n_tables = 0, n_routes = 0, seen[N_PUBLIC] = {0};
  const hq_route_table *const *tables = hq_http_tables(&n_tables);
  bool metrics = false;
  (void)state;
  assert_true(n_tables >= 6); /* api, views, debug, prov, fw, rollout */
  for (size_t t = 0; t < n_tables; t++) {
    assert_non_null(tables[t]);
    for (size_t i = 0; i < tables[t]->n; i++, n_routes++) {
      const hq_route *r = &tables[t]->routes[i];
      int pub = public_of(r);
      assert_non_null(r->fn);
      if ((r->scope & ~(unsigned)HQ_SCOPE_ALL) != 0) fail_msg("%s: unknown scope bits %#x", r->pattern, r->scope);
      if (pub >= 0) {
        if (r->scope != 0) fail_msg("%s is listed public here but has a scope: update the list", r->pattern);
        seen[pub]++;
      } else if (r->scope == 0) {
        fail_msg("route %d %s has no scope: every route but /healthz, the dashboard's files and the "
                 "firmware payload needs a token", r->method, r->pattern);
      }
      if (strcmp(r->pattern, "/metrics") == 0) {
        assert_int_equal(r->scope, HQ_SCOPE(READ));
        metrics = true;
      }
    }
  }
  assert_true(metrics);
  assert_true(n_routes > N_PUBLIC);
  for (size_t i = 0; i < N_PUBLIC; i++)
    if (public_routes[i].kind != PUB_HANDLER && seen[i] != 1)
      fail_msg("%s: in %zu tables, want 1", public_routes[i].pattern, seen[i]);
}

/* Is name one of the embedded dashboard files? */
static const hq_www_file *www(const char *name) {
  for (size_t i = 0; i < hq_www_n_files; i++)
    if (strcmp(hq_www_files[i].path, name) == 0) return &hq_www_files[i];
  return NULL;
}

static void test_static_routes_serve_files_only(void **state) {
  static const char *const names[] = {
      "metrics", "healthz", "api", "v1", "hq.db", "hq.db-wal", "hq.conf", "tokens", "ca.key",
      "ca.crt", "registry.db", "crl.pem", "views", "stores", "orders", "..", ".", "index.html",
      "app.js", "app.css", "uPlot.min.css", "uPlot.LICENSE.txt", "uPlot.iife.min.js",
  };
  static const char *const exts[] = {".html", ".js", ".css", ".svg", ".png", ".txt"};
  size_t n_tables = 0, served = 0;
  const hq_route_table *const *tables = hq_http_tables(&n_tables);
  (void)state;
  /* The embedded set is the dashboard: markup, code, style, pictures and a licence. */
  assert_true(hq_www_n_files > 0);
  for (size_t i = 0; i < hq_www_n_files; i++) {
    const char *p = hq_www_files[i].path;
    bool ok = false;
    for (size_t e = 0; e < sizeof exts / sizeof exts[0] && !ok; e++)
      ok = strlen(p) > strlen(exts[e]) && strcmp(p + strlen(p) - strlen(exts[e]), exts[e]) == 0;
    if (!ok || strstr(p, "..")) fail_msg("embedded file '%s' is not a dashboard asset", p);
  }
  for (size_t t = 0; t < n_tables; t++) {
    for (size_t i = 0; i < tables[t]->n; i++) {
      const hq_route *r = &tables[t]->routes[i];
      int pub = public_of(r);
      if (pub < 0 || public_routes[pub].kind != PUB_STATIC) continue;
      bool vendor = strncmp(r->pattern, "/vendor/", 8) == 0;
      for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        hq_req q;
        hq_err err;
        char want[80];
        memset(&q, 0, sizeof q);
        hq_err_clear(&err);
        proto_buf_init(&q.out);
        snprintf(q.seg[0], sizeof q.seg[0], "%s", names[k]);
        /* the handlers of files never look at the server: NULL proves it */
        int rc = r->fn(NULL, &q, &err);
        if (strcmp(r->pattern, "/") == 0) snprintf(want, sizeof want, "index.html");
        else snprintf(want, sizeof want, "%s%s", vendor ? "vendor/" : "", names[k]);
        const hq_www_file *f = www(want);
        if (f) {
          if (rc != HQ_OK) fail_msg("%s %s: %d (%s)", r->pattern, names[k], rc, err.msg);
          assert_int_equal(q.out.len, f->len);
          assert_memory_equal(q.out.data, f->data, f->len);
          assert_non_null(q.ctype);
          assert_null(strstr(q.ctype, "json"));
          served++;
        } else if (rc != HQ_ENOTFOUND) {
          fail_msg("%s with '%s' answered %d, want not found", r->pattern, names[k], rc);
        }
        proto_buf_close(&q.out);
      }
    }
  }
  assert_true(served >= 3); /* index.html, app.js, a vendor file */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_no_file_no_start, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_and_bad_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check, setup, teardown),
      cmocka_unit_test_setup_teardown(test_make_loads_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_make_refuses, setup, teardown),
      cmocka_unit_test(test_every_route_has_a_scope),
      cmocka_unit_test(test_static_routes_serve_files_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
