/* version.c - semver-ish versions and the install policy (fw/version.h
 * states the rules; this file only implements them). */
#include "fw/version.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* One number: 1..9 digits, no leading zero unless it is "0". */
static const char *parse_num(const char *p, uint32_t *out) {
  uint32_t v = 0;
  const char *s = p;
  while (isdigit((unsigned char)*p) && p - s < 10) v = v * 10 + (uint32_t)(*p++ - '0');
  if (p == s || p - s > 9 || (*s == '0' && p - s > 1)) return NULL;
  *out = v;
  return p;
}

/* Pre-release: dot-separated non-empty identifiers of [0-9A-Za-z-];
 * numeric identifiers without leading zeros. */
static bool pre_valid(const char *s) {
  const char *id = s;
  if (!*s) return false;
  for (const char *p = s;; p++) {
    if (*p == '.' || *p == '\0') {
      size_t n = (size_t)(p - id);
      bool numeric = true;
      if (n == 0) return false;
      for (const char *q = id; q < p; q++) numeric = numeric && isdigit((unsigned char)*q);
      if (numeric && n > 1 && *id == '0') return false;
      if (*p == '\0') return true;
      id = p + 1;
    } else if (!isalnum((unsigned char)*p) && *p != '-') {
      return false;
    }
  }
}

int fw_version_parse(const char *s, fw_version *out, fw_err *err) {
  const char *p = s;
  if (!s || !*s) return fw_err_set(err, FW_EVERSION, "version: empty");
  if (strlen(s) >= FW_VERSION_MAX)
    return fw_err_set(err, FW_EVERSION, "version: longer than %d bytes", FW_VERSION_MAX - 1);
  memset(out, 0, sizeof *out);
  for (int i = 0; i < 3; i++) {
    p = parse_num(p, &out->num[i]);
    if (!p || (i < 2 && *p++ != '.'))
      return fw_err_set(err, FW_EVERSION, "version \"%s\": expected MAJOR.MINOR.PATCH", s);
  }
  if (*p == '-') {
    if (!pre_valid(p + 1))
      return fw_err_set(err, FW_EVERSION, "version \"%s\": bad pre-release", s);
    snprintf(out->pre, sizeof out->pre, "%s", p + 1);
  } else if (*p) {
    return fw_err_set(err, FW_EVERSION, "version \"%s\": unexpected \"%s\"", s, p);
  }
  return FW_OK;
}

/* semver 2.0 §11.4: identifiers one by one. */
static int cmp_pre(const char *a, const char *b) {
  while (*a && *b) {
    size_t na = strcspn(a, "."), nb = strcspn(b, ".");
    bool da = strspn(a, "0123456789") >= na, db = strspn(b, "0123456789") >= nb;
    int c;
    if (da && db) c = na != nb ? (na < nb ? -1 : 1) : strncmp(a, b, na);
    else if (da != db) c = da ? -1 : 1;
    else {
      c = strncmp(a, b, na < nb ? na : nb);
      if (c == 0 && na != nb) c = na < nb ? -1 : 1;
    }
    if (c) return c < 0 ? -1 : 1;
    a += na + (a[na] == '.');
    b += nb + (b[nb] == '.');
  }
  return *a ? 1 : *b ? -1 : 0;
}

int fw_version_cmp(const fw_version *a, const fw_version *b) {
  for (int i = 0; i < 3; i++)
    if (a->num[i] != b->num[i]) return a->num[i] < b->num[i] ? -1 : 1;
  if (!a->pre[0] || !b->pre[0]) return a->pre[0] ? -1 : b->pre[0] ? 1 : 0;
  return cmp_pre(a->pre, b->pre);
}

int fw_version_cmp_str(const char *a, const char *b, int *cmp, fw_err *err) {
  fw_version va, vb;
  int rc = fw_version_parse(a, &va, err);
  if (rc == FW_OK) rc = fw_version_parse(b, &vb, err);
  if (rc == FW_OK) *cmp = fw_version_cmp(&va, &vb);
  return rc;
}

int fw_version_admit(const char *candidate, const char *cand_min, const char *installed,
                     const char *floor, bool rollback, fw_err *err) {
  int c = 0;
  int rc = fw_version_cmp_str(cand_min, candidate, &c, err);
  if (rc != FW_OK) return rc;
  if (c > 0)
    return fw_err_set(err, FW_EVERSION, "min_version %s is above version %s", cand_min, candidate);
  if (installed && *installed) {
    if ((rc = fw_version_cmp_str(candidate, installed, &c, err)) != FW_OK) return rc;
    if (c < 0 && !rollback)
      return fw_err_set(err, FW_EDOWNGRADE, "%s is below the installed %s and no rollback was asked",
                        candidate, installed);
    if (c == 0 && !rollback) return fw_err_set(err, FW_EINSTALLED, "%s is already installed", candidate);
  }
  if (floor && *floor) {
    if ((rc = fw_version_cmp_str(candidate, floor, &c, err)) != FW_OK) return rc;
    if (c < 0)
      return fw_err_set(err, FW_EDOWNGRADE,
                        "%s is below the minimum version %s set by the installed firmware%s",
                        candidate, floor, rollback ? " (even a rollback may not go there)" : "");
  }
  return FW_OK;
}
