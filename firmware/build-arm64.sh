#!/usr/bin/env bash
# firmware/build-arm64.sh - cross-build the box's software for arm64 and run
# its unit tests under qemu-aarch64.
#
# Usage: firmware/build-arm64.sh [--no-test] [CTEST_ARGS...]
#                                    e.g. firmware/build-arm64.sh -R codec
#
#   1. installs what is missing: the build packages and the "arm64" group of
#      scripts/lib/deps.sh (cross compiler, binutils, qemu-user, dpkg-dev);
#   2. firmware/sysroot.sh: Debian's arm64 packages unpacked into
#      build-arm64/sysroot (cached; quiet when up to date);
#   3. configures build-arm64/ with firmware/cmake/aarch64-linux-gnu.cmake
#      (Release at -O2, no hq) and builds every target;
#   4. strips the box's executables (RETAIL_ARM64_BINARIES in
#      scripts/lib/arm64.sh) into build-arm64/stripped/ and prints their sizes;
#   5. unless --no-test: ctest runs the tests of RETAIL_ARM64_TESTS under
#      qemu-aarch64 (narrowed further by CTEST_ARGS, if given); the aarch64
#      programs a test starts (agents, storenode) run under qemu as well
#      (RETAIL_EXEC_WRAPPER, tests/common/exec_wrap.h), with its bounded
#      waits RETAIL_TEST_TIME_SCALE (CMake, default 3) times longer.
# scripts/test does the same as its third pass.
#
# Environment (optional): RETAIL_ARM64_BUILD_DIR, RETAIL_ARM64_SYSROOT,
# RETAIL_ARM64_SIM_EVENTS (scripts/lib/arm64.sh); RETAIL_JOBS,
# RETAIL_CMAKE_ARGS, RETAIL_VERBOSE (scripts/lib/common.sh);
# RETAIL_SKIP_INSTALL (scripts/lib/deps.sh).
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/deps.sh
source "$RETAIL_ROOT/scripts/lib/deps.sh"
# shellcheck source=scripts/lib/arm64.sh
source "$RETAIL_ROOT/scripts/lib/arm64.sh"

run_tests=1
case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  --no-test)
    run_tests=0
    shift
    ;;
esac

# Node.js and chromium are not needed here.
RETAIL_SKIP_BROWSER=1 retail_deps_install arm64
retail_arm64_build
((run_tests)) || exit 0

regex="$(retail_arm64_tests "$@")"
[[ -n "$regex" ]] || retail_die "no arm64 unit test matches: $*"
retail_log "ctest under qemu-aarch64 in ${RETAIL_ARM64_DIR#"$RETAIL_ROOT"/}"
cd "$RETAIL_ARM64_DIR"
exec env "${RETAIL_ARM64_TEST_ENV[@]}" ctest --output-on-failure -j "$RETAIL_JOBS" "$@" -R "$regex"
