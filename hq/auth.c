/* auth.c - bearer tokens of the HTTP API.
 *
 * File (api_tokens_file), one token per line, `#` comments:
 *
 *   <token> <scope>[,<scope>...] [<name>]
 *   9c1f0e...d2  orders,read  mall
 *   51aa7b...07  rider        meituan
 *   e0c4d1...9a  all          ops
 *
 * Tokens are 16..127 visible ASCII characters; scopes are the rows of
 * HQ_SCOPE_MAP (orders, rider, admin, read) or `all`.  The name appears in
 * the log instead of the token, which is never logged.  Every token is
 * compared in constant time, so the answer's timing says nothing about how
 * much of a guess was right.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

#define TOKEN_MIN 16

static const char *const scope_names[HQ_SCOPE__COUNT] = {
#define HQ__SCOPE_NAME(e, name, help) [HQ_SCOPE_BIT_##e] = name,
    HQ_SCOPE_MAP(HQ__SCOPE_NAME)
#undef HQ__SCOPE_NAME
};

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
  if (why) {
    snprintf(msg, cap, "%s", why);
    return -1;
  }
  snprintf(t->token, sizeof t->token, "%s", tok);
  snprintf(t->name, sizeof t->name, "%s", name ? name : "token");
  return 0;
}

int hq_tokens_load(hq_tokens *t, const char *path, hq_err *err) {
  char line[512], msg[128];
  int lineno = 0, rc = HQ_OK;
  FILE *f;
  memset(t, 0, sizeof *t);
  if (!path || !*path) {
    t->open = true;
    return HQ_OK;
  }
  if (!(f = fopen(path, "r"))) return hq_err_set(err, HQ_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
  while (rc == HQ_OK && fgets(line, sizeof line, f)) {
    hq_token tok;
    int r;
    lineno++;
    r = parse_line(line, &tok, msg, sizeof msg);
    if (r < 0) rc = hq_err_set(err, HQ_ECONFIG, "%s:%d: %s", path, lineno, msg);
    if (r != 0) continue;
    hq_token *n = realloc(t->t, (t->n + 1) * sizeof *n);
    if (!n) rc = hq_err_set(err, HQ_ENOMEM, "tokens: out of memory");
    else (t->t = n)[t->n++] = tok;
  }
  fclose(f);
  if (rc == HQ_OK && t->n == 0) rc = hq_err_set(err, HQ_ECONFIG, "%s: no tokens", path);
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
  if (t->open) return HQ_OK;
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
