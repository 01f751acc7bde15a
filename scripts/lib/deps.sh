# shellcheck shell=bash
# scripts/lib/deps.sh - the ONE list of Debian packages the project needs, and
# the idempotent installer that scripts/test, scripts/demo and scripts/bench
# call.  Sourced after common.sh, never run.  Why each package is needed:
# docs/dependencies.md (keep the two in step).
#
# Groups: RETAIL_DEPS_BUILD and RETAIL_DEPS_BROWSER are always wanted (the
# browser group unless RETAIL_SKIP_BROWSER=1); RETAIL_DEPS_ARM64 (the cross
# compiler and qemu) only when a caller names the group: `retail_deps_all
# arm64` (scripts/test, firmware/build-arm64.sh).  RETAIL_DEPS_ARM64_SYSROOT
# is not installed on the host at all: firmware/sysroot.sh unpacks those arm64
# packages (and their library dependencies) into the cross build's sysroot.
#
# Environment (optional):
#   RETAIL_SKIP_BROWSER=1   leave out nodejs, npm, chromium and the npm step
#   RETAIL_SKIP_INSTALL=1   check nothing, install nothing (offline hacking)
#
# Behaviour:
#   - all present: prints nothing, runs no apt-get (checked with dpkg-query,
#     counting packages that an installed package Provides, e.g. npm bundled
#     in nodesource's nodejs, which Conflicts with Debian's npm);
#   - something missing: one `apt-get update`, then one `apt-get install
#     --no-install-recommends` of exactly what is missing, as root or through
#     sudo; no root and no sudo is a clear error.

RETAIL_DEPS_BUILD=(
  build-essential cmake pkg-config
  libsqlite3-dev sqlite3
  libmosquitto-dev mosquitto mosquitto-clients
  libwebsockets-dev libmbedtls-dev libcjson-dev libcmocka-dev
)
RETAIL_DEPS_BROWSER=(nodejs npm chromium fonts-noto-cjk)
# The arm64 cross build and its emulated tests (group "arm64").
RETAIL_DEPS_ARM64=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user)
# Debian's arm64 packages in the sysroot (firmware/sysroot.sh): the -dev
# packages of RETAIL_DEPS_BUILD for the box, and libssl-dev (the provisioning
# agent's TLS, also a dependency of libwebsockets-dev); apt adds their
# dependencies.
# shellcheck disable=SC2034 # used by firmware/sysroot.sh
RETAIL_DEPS_ARM64_SYSROOT=(
  libc6-dev libsqlite3-dev libmosquitto-dev libwebsockets-dev
  libmbedtls-dev libcjson-dev libcmocka-dev libssl-dev
)

# Packages wanted now, one per line; arguments name optional groups (arm64).
retail_deps_wanted() {
  printf '%s\n' "${RETAIL_DEPS_BUILD[@]}"
  if [[ "${RETAIL_SKIP_BROWSER:-0}" != 1 ]]; then
    printf '%s\n' "${RETAIL_DEPS_BROWSER[@]}"
  fi
  local group
  for group in "$@"; do
    case "$group" in
      arm64) printf '%s\n' "${RETAIL_DEPS_ARM64[@]}" ;;
      *) retail_die "retail_deps_wanted: unknown package group '$group'" ;;
    esac
  done
}

# Names that installed packages satisfy: the packages themselves plus what
# they Provide (versions stripped), one per line.
retail__deps_satisfied() {
  dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Provides}\n' 2>/dev/null |
    awk -F'\t' '$1 == "installed" {
      print $2
      n = split($3, p, /, */)
      for (i = 1; i <= n; i++) { sub(/ .*/, "", p[i]); if (p[i] != "") print p[i] }
    }'
}

# Wanted packages (groups as for retail_deps_wanted) that nothing installed
# satisfies, one per line.
retail_deps_missing() {
  local have
  have="$(retail__deps_satisfied)"
  retail_deps_wanted "$@" | grep -Fxv -f <(printf '%s\n' "$have") || true
}

# How to run apt-get as root: sets the array RETAIL__AS_ROOT (empty as root).
retail__as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    RETAIL__AS_ROOT=()
  elif command -v sudo >/dev/null 2>&1; then
    # -n without a terminal: fail at once instead of waiting for a password.
    if [[ -t 0 ]]; then RETAIL__AS_ROOT=(sudo); else RETAIL__AS_ROOT=(sudo -n); fi
  else
    retail_die "missing packages ($*) and not root, and sudo is not installed: run this script as root, or install them: apt-get install --no-install-recommends $*"
  fi
}

# Install whatever is missing (groups as for retail_deps_wanted); silent when
# nothing is.  apt-get update runs at most once per shell (RETAIL__APT_UPDATED).
retail_deps_install() {
  [[ "${RETAIL_SKIP_INSTALL:-0}" == 1 ]] && return 0
  command -v dpkg-query >/dev/null 2>&1 ||
    retail_die "dpkg-query not found: scripts/ install packages on Debian (bookworm) only; set RETAIL_SKIP_INSTALL=1 if you installed them yourself"
  local -a missing
  mapfile -t missing < <(retail_deps_missing "$@")
  ((${#missing[@]} == 0)) && return 0

  retail__as_root "${missing[@]}"
  local -a apt=("${RETAIL__AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
    -o Dpkg::Use-Pty=0)
  retail_log "installing Debian packages: ${missing[*]}"
  if [[ -z "${RETAIL__APT_UPDATED:-}" ]]; then
    # A broken third-party source fails update but not an install from
    # Debian's own lists: go on, and let the install decide.
    "${apt[@]}" -qq update || retail_warn "apt-get update failed; trying the install anyway"
    RETAIL__APT_UPDATED=1
  fi
  local log
  log="$(mktemp)"
  if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    retail_die "apt-get install failed: ${missing[*]}"
  fi
  rm -f "$log"
  mapfile -t missing < <(retail_deps_missing "$@")
  ((${#missing[@]} == 0)) || retail_die "still missing after apt-get install: ${missing[*]}"
}

# npm packages of the integration tests: `npm ci` (or `npm install` without a
# lock file) in tests/integration, only when node_modules is missing or older
# than package.json / package-lock.json (npm writes node_modules/.package-lock.json
# on every install, so its mtime says when node_modules was last made).
retail_npm_install() {
  local dir="$RETAIL_ROOT/tests/integration"
  [[ -f "$dir/package.json" ]] || return 0
  [[ "${RETAIL_SKIP_BROWSER:-0}" == 1 ]] && return 0
  local stamp="$dir/node_modules/.package-lock.json"
  if [[ -f "$stamp" && ! "$dir/package.json" -nt "$stamp" &&
    ! ("$dir/package-lock.json" -nt "$stamp") ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || retail_die "npm not found (needed for $dir)"
  local -a cmd=(npm install)
  [[ -f "$dir/package-lock.json" ]] && cmd=(npm ci)
  retail_log "npm: ${cmd[*]} in tests/integration"
  local log rc=0
  log="$(mktemp)"
  # Browsers come from Debian (chromium); never let a package download its own.
  (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    retail_run_logged "$log" "${cmd[@]}" --no-audit --no-fund --loglevel=error) || rc=$?
  rm -f "$log"
  ((rc == 0)) || retail_die "${cmd[*]} failed in $dir"
}

# Everything a script needs before building; arguments name optional
# package groups (arm64).
retail_deps_all() {
  retail_deps_install "$@"
  retail_npm_install
}
