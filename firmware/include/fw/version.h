/* fw/version.h - firmware versions and the install policy.
 *
 * A version is semver-ish: MAJOR.MINOR.PATCH with an optional pre-release
 * "-rc.1" (numbers of at most 9 digits, no leading zeros; pre-release
 * identifiers [0-9A-Za-z-], dot-separated).  Order as in semver 2.0 §11:
 * numbers numerically; a pre-release sorts before its release; pre-release
 * identifiers compare numerically when both are numbers, else as ASCII, and
 * a number sorts before a word.  Build metadata ("+...") is refused: two
 * different bundles must never compare equal.
 *
 * The install policy (fw_version_admit) is the one place downgrades are
 * decided:
 *   - the floor is the highest min_version of any bundle this box committed;
 *     nothing below it is ever installed again, even as an explicit rollback
 *     (a bundle signed long ago stays valid forever; the floor is what keeps
 *     a fixed vulnerability from being reinstalled);
 *   - below the installed version only with an explicit rollback;
 *   - the installed version again only with an explicit rollback (reinstall);
 *   - a bundle whose own min_version is above its version is malformed.
 */
#ifndef FW_VERSION_H
#define FW_VERSION_H

#include <stdbool.h>
#include <stdint.h>

#include "fw/error.h"

#define FW_VERSION_MAX 48   /* text, NUL included */

typedef struct fw_version {
  uint32_t num[3];
  char pre[FW_VERSION_MAX]; /* "" for a release */
} fw_version;

/* Parse s.  FW_EVERSION naming the text and what is wrong; *out is then
 * unspecified. */
int fw_version_parse(const char *s, fw_version *out, fw_err *err);
/* <0, 0, >0 as a sorts before, with, after b. */
int fw_version_cmp(const fw_version *a, const fw_version *b);
/* Both texts parsed and compared into *cmp; FW_EVERSION if either is bad. */
int fw_version_cmp_str(const char *a, const char *b, int *cmp, fw_err *err);

/* May `candidate` (whose manifest says `cand_min`) replace `installed`
 * (NULL or "": nothing installed) on a box whose floor is `floor` (NULL or
 * "": none)?  FW_OK, or FW_EDOWNGRADE / FW_EINSTALLED / FW_EVERSION with a
 * message naming the versions involved. */
int fw_version_admit(const char *candidate, const char *cand_min, const char *installed,
                     const char *floor, bool rollback, fw_err *err);

#endif
