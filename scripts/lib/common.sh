# shellcheck shell=bash
# scripts/lib/common.sh - logging, repo root and the CMake build step shared by
# scripts/test, scripts/demo and scripts/bench.  Sourced, never run.
#
# Environment (all optional):
#   RETAIL_JOBS=2          parallel compile jobs (the CI machine has 2 cores)
#   RETAIL_CMAKE_ARGS=...  extra configure arguments, word-split, added last
#   RETAIL_VERBOSE=1       stream configure/build output instead of logging it

RETAIL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RETAIL_JOBS="${RETAIL_JOBS:-2}"

retail_log() { printf '==> %s\n' "$*"; }
retail_warn() { printf 'warning: %s\n' "$*" >&2; }
retail_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# retail_run_logged LOGFILE CMD...: run CMD with its output in LOGFILE (or on
# the terminal with RETAIL_VERBOSE=1); on failure print the log and return the
# command's status, so a build error is never hidden.
retail_run_logged() {
  local logfile="$1"
  shift
  if [[ "${RETAIL_VERBOSE:-0}" == 1 ]]; then
    "$@"
    return
  fi
  local rc=0
  "$@" >"$logfile" 2>&1 || rc=$?
  if ((rc != 0)); then
    printf 'error: command failed (exit %d): %s\n' "$rc" "$*" >&2
    printf -- '---- %s ----\n' "$logfile" >&2
    cat "$logfile" >&2
    printf -- '---- end of %s ----\n' "$logfile" >&2
  fi
  return "$rc"
}

# retail_build DIR BUILD_TYPE [CMAKE_ARGS...]: configure (every time: cheap,
# and it picks up new folders) and build all targets with RETAIL_JOBS jobs.
# Leaves DIR/configure.log and DIR/build.log.  Options are passed explicitly
# (everything on; RETAIL_CMAKE_ARGS comes last and may override) so a cache
# left by a hand-made configure cannot change what is built and tested.
retail_build() {
  local dir="$1" type="$2"
  shift 2
  local -a extra=()
  if [[ -n "${RETAIL_CMAKE_ARGS:-}" ]]; then
    read -r -a extra <<<"$RETAIL_CMAKE_ARGS"
  fi
  mkdir -p "$dir"
  retail_log "build $type in ${dir#"$RETAIL_ROOT"/}"
  retail_run_logged "$dir/configure.log" \
    cmake -S "$RETAIL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DRETAIL_BUILD_TESTS=ON \
    -DRETAIL_BUILD_NODE=ON -DRETAIL_BUILD_HQ=ON "$@" "${extra[@]}" || return
  retail_run_logged "$dir/build.log" cmake --build "$dir" -j "$RETAIL_JOBS" "${RETAIL_BUILD_TARGETS[@]}"
}

# Targets for retail_build's build step (empty: all).  scripts/bench narrows it.
RETAIL_BUILD_TARGETS=()
