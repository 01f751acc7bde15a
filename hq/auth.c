/* auth.c - bearer tokens of the HTTP API: the tokens file, the check of a
 * request's token, and `hq api-token`, which makes a line of the file.
 *
 * File (api_tokens_file, required: hq does not start without it), one
 * token per line, `#` comments:
 *
 *   <token> <scope>[,<scope>...] <name>
 *   9c1f0e...d2  orders,read  mall
 *   51aa7b...07  rider        meituan
 *   e0c4d1...9a  all          ops
 *
 * Tokens are 16..127 visible ASCII characters (`hq api-token` makes 64 hex
 * digits, 256 random bits), each token once per file; scopes are the rows
 * of HQ_SCOPE_MAP (orders, rider, admin, read) or `all`; the name (letters,
 * digits, `.`, `_`, `-`; "token" if absent) appears in the log instead of
 * the token, which is never logged, and is the client whose idempotency
 * keys an order carries.  Every token is compared in constant time, so the
 * answer's timing says nothing about how much of a guess was right.
 * SIGHUP loads the file again into a fresh hq_tokens, swapped in only
 * when it loads cleanly (hq_server_reload_tokens, server.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "server.h"

#define TOKEN_MIN 16
#define TOKEN_RANDOM_BYTES 32      /* `hq api-token`: 64 hex digits */
#define MAKE_HINT "make one with `hq api-token --scopes all --name ops >> FILE` (docs/hq.md)"

static const char *const scope_names[HQ_SCOPE__COUNT] = {
#define HQ__SCOPE_NAME(e, name, help) [HQ_SCOPE_BIT_##e] = name,
    HQ_SCOPE_MAP(HQ__SCOPE_NAME)
#undef HQ__SCOPE_NAME
};

/* "orders,read" -> bits; -1 for an unknown or empty list (list is cut up). */
static int parse_scopes(char *list, unsigned *out) {
  *out = 0;
  for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    unsigned bit = 0;
    if (strcasecmp(tok, "all") == 0) bit = HQ_SCOPE_ALL;
    for (int i = 0; i < HQ_SCOPE__COUNT && !bit; i++)
      if (strcasecmp(tok, scope_names[i]) == 0) bit = 1u << i;
    if (!bit) return -1;
    *out |= bit;
  }
  return *out ? 0 : -1;
}

/* A name the log can show as is (no quotes, spaces or `=` to forge fields). */
static bool name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= HQ_TOKEN_NAME_MAX) return false;
  for (const char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("._-", *c)) return false;
  return true;
}

/* One line into t; 1 for a blank/comment line, 0 ok, -1 bad (why in msg). */
static int parse_line(char *line, hq_token *t, char *msg, size_t cap) {
  char *save = NULL, *tok, *scopes, *name;
  const char *why = NULL;
  line[strcspn(line, "\r\n")] = '\0';
  tok = strtok_r(line, " \t", &save);
  if (!tok || *tok == '#') return 1;
  scopes = strtok_r(NULL, " \t", &save);
  name = strtok_r(NULL, " \t", &save);
  memset(t, 0, sizeof *t);
  for (const char *c = tok; *c && !why; c++)
    if (!isgraph((unsigned char)*c)) why = "token: visible ASCII only";
  if (!why && (strlen(tok) < TOKEN_MIN || strlen(tok) >= sizeof t->token))
    why = "token: 16..127 characters";
  if (!why && (!scopes || parse_scopes(scopes, &t->scopes) != 0))
    why = "scopes: comma-separated orders, rider, admin, read or all";
  if (!why && name && !name_ok(name)) why = "name: 1..63 of A-Z a-z 0-9 . _ -";
  if (why) {
    snprintf(msg, cap, "%s", why);
    return -1;
  }
  snprintf(t->token, sizeof t->token, "%s", tok);
  snprintf(t->name, sizeof t->name, "%s", name ? name : "token");
  return 0;
}

/* Append tok unless the file has it already; HQ_OK, or the error on err. */
static int add(hq_tokens *t, const hq_token *tok, const char *path, int lineno, hq_err *err) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->t[i].token, tok->token) == 0)
      return hq_err_set(err, HQ_ECONFIG, "api_tokens_file %s:%d: the same token as '%s'", path,
                        lineno, t->t[i].name);
  hq_token *n = realloc(t->t, (t->n + 1) * sizeof *n);
  if (!n) return hq_err_set(err, HQ_ENOMEM, "tokens: out of memory");
  (t->t = n)[t->n++] = *tok;
  return HQ_OK;
}

int hq_tokens_load(hq_tokens *t, const char *path, hq_err *err) {
  char line[512], msg[128];
  int lineno = 0, rc = HQ_OK;
  FILE *f;
  memset(t, 0, sizeof *t);
  if (!path || !*path)
    return hq_err_set(err, HQ_ECONFIG,
                      "api_tokens_file is not set: the HTTP API and /metrics need bearer tokens; "
                      MAKE_HINT " and set api_tokens_file = FILE");
  if (!(f = fopen(path, "r")))
    return hq_err_set(err, HQ_ECONFIG, "api_tokens_file %s: cannot open: %s", path, strerror(errno));
  while (rc == HQ_OK && fgets(line, sizeof line, f)) {
    hq_token tok;
    int r;
    lineno++;
    r = parse_line(line, &tok, msg, sizeof msg);
    if (r < 0) rc = hq_err_set(err, HQ_ECONFIG, "api_tokens_file %s:%d: %s", path, lineno, msg);
    if (r == 0) rc = add(t, &tok, path, lineno, err);
    memset(&tok, 0, sizeof tok);
  }
  memset(line, 0, sizeof line);
  fclose(f);
  if (rc == HQ_OK && t->n == 0)
    rc = hq_err_set(err, HQ_ECONFIG, "api_tokens_file %s: no tokens; " MAKE_HINT, path);
  if (rc != HQ_OK) hq_tokens_free(t);
  return rc;
}

void hq_tokens_free(hq_tokens *t) {
  if (t->t) memset(t->t, 0, t->n * sizeof *t->t); /* no secrets left in freed memory */
  free(t->t);
  t->t = NULL;
  t->n = 0;
}

/* Equal, in time that depends only on the lengths. */
static bool same(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  unsigned char d = na != nb;
  for (size_t i = 0; i < na; i++) d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
  return d == 0;
}

int hq_tokens_check(const hq_tokens *t, const char *authorization, unsigned scope,
                    const char **who, hq_err *err) {
  const hq_token *hit = NULL;
  *who = "";
  if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
    return hq_err_set(err, HQ_EUNAUTH, "Authorization: Bearer <token> required");
  const char *given = authorization + 7;
  while (*given == ' ') given++;
  for (size_t i = 0; i < t->n; i++)
    if (same(given, t->t[i].token)) hit = &t->t[i];
  if (!hit) return hq_err_set(err, HQ_EUNAUTH, "unknown token");
  *who = hit->name;
  if ((hit->scopes & scope) == 0) {
    char need[64] = "";
    for (int i = 0; i < HQ_SCOPE__COUNT; i++)
      if (scope & (1u << i))
        snprintf(need + strlen(need), sizeof need - strlen(need), "%s%s", need[0] ? " or " : "",
                 scope_names[i]);
    return hq_err_set(err, HQ_EFORBIDDEN, "token '%s' needs the scope %s", hit->name, need);
  }
  return HQ_OK;
}

/* ---- hq api-token ------------------------------------------------------------------ */

/* n random bytes from the kernel (blocks until its pool is seeded). */
static int random_bytes(unsigned char *out, size_t n, hq_err *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return hq_err_set(err, HQ_EIO, "getrandom: %s", strerror(errno));
    got += (size_t)r;
  }
  return HQ_OK;
}

int hq_token_make(char *line, size_t cap, const char *scopes, const char *name, hq_err *err) {
  unsigned char raw[TOKEN_RANDOM_BYTES];
  char list[128], canon[64] = "", tok[2 * TOKEN_RANDOM_BYTES + 1];
  unsigned bits = 0;
  int rc = HQ_OK;
  line[0] = '\0';
  snprintf(list, sizeof list, "%s", scopes ? scopes : "");
  if (!scopes || strlen(scopes) >= sizeof list || parse_scopes(list, &bits) != 0)
    return hq_err_field(err, HQ_EINVAL, "scopes", "--scopes '%.64s': comma-separated orders, rider, "
                        "admin, read or all", scopes ? scopes : "");
  if (!name || !name_ok(name))
    return hq_err_field(err, HQ_EINVAL, "name", "--name '%.64s': 1..63 of A-Z a-z 0-9 . _ -",
                        name ? name : "");
  for (int i = 0; i < HQ_SCOPE__COUNT; i++) /* the file's spelling, whatever the case given */
    if (bits != HQ_SCOPE_ALL && (bits & (1u << i)))
      snprintf(canon + strlen(canon), sizeof canon - strlen(canon), "%s%s", canon[0] ? "," : "",
               scope_names[i]);
  if (bits == HQ_SCOPE_ALL) snprintf(canon, sizeof canon, "all");
  rc = random_bytes(raw, sizeof raw, err);
  for (size_t i = 0; rc == HQ_OK && i < sizeof raw; i++) snprintf(tok + 2 * i, 3, "%02x", raw[i]);
  if (rc == HQ_OK && snprintf(line, cap, "%s %s %s\n", tok, canon, name) >= (int)cap)
    rc = hq_err_set(err, HQ_EINVAL, "token line: buffer of %zu bytes too small", cap);
  if (rc != HQ_OK) line[0] = '\0';
  memset(raw, 0, sizeof raw);
  memset(tok, 0, sizeof tok);
  return rc;
}

static const char api_token_usage[] = "api-token --scopes SCOPE[,SCOPE...] --name NAME";

bool hq_tokens_is_command(const char *name) { return strcmp(name, "api-token") == 0; }

void hq_tokens_usage(FILE *out) { fprintf(out, "       hq %s\n", api_token_usage); }

int hq_tokens_command(const hq_config *c, int argc, char **argv) {
  const char *scopes = NULL, *name = NULL;
  char line[256];
  hq_err err;
  (void)c;
  hq_err_clear(&err);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc) {
      scopes = argv[++i];
    } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
      name = argv[++i];
    } else {
      fprintf(stderr, "hq api-token: unexpected '%s'\nusage: hq %s\n", argv[i], api_token_usage);
      return 2;
    }
  }
  if (!scopes || !name) {
    fprintf(stderr, "hq api-token: %s missing\nusage: hq %s\n", !scopes ? "--scopes" : "--name",
            api_token_usage);
    return 2;
  }
  if (hq_token_make(line, sizeof line, scopes, name, &err) != HQ_OK) {
    fprintf(stderr, "hq api-token: %s\n", err.msg);
    return err.code == HQ_EINVAL ? 2 : 1;
  }
  fputs(line, stdout); /* the only copy: append it to api_tokens_file */
  memset(line, 0, sizeof line);
  fprintf(stderr, "hq api-token: append the line above to api_tokens_file (keep the file 0600) "
                  "and send hq SIGHUP (kill -HUP) to load it; the token is not kept anywhere else\n");
  return 0;
}
