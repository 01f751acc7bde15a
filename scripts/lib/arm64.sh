# shellcheck shell=bash
# scripts/lib/arm64.sh - the arm64 cross build of the box's software and its
# unit tests under qemu-aarch64, shared by scripts/test (its third pass) and
# firmware/build-arm64.sh.  Sourced after common.sh and deps.sh, never run.
# How and why: docs/firmware.md, "Cross build for arm64".
#
# Environment (optional):
#   RETAIL_ARM64_BUILD_DIR=build-arm64     the build folder
#   RETAIL_ARM64_SYSROOT=<build>/sysroot   the sysroot firmware/sysroot.sh makes
#   RETAIL_ARM64_SIM_EVENTS=5000           events per simulator seed under qemu

# What runs on the box: each target is built, checked to exist, stripped into
# <build>/stripped/ (what the firmware bundle ships) and its size reported.
# A new program for the box is added here.
RETAIL_ARM64_BINARIES=(storenode storenode-provision storenode-update)

# The tests that run under qemu-aarch64, as ctest name patterns anchored at
# the start of the name (a prefix, or a whole name ending in $): proto
# (codec, merge, replication messages, clock), its runtime (MQTT bridge,
# sd_notify), the storenode engine, the convergence simulator, and what the
# box runs of firmware and provisioning: bundle verification, key + CSR +
# certificate checks, the box's TLS client against the locked-down broker
# and the bridge's against a not-yet-valid broker certificate, and the
# box's programs end to end: the update agent (fw_update_agent, and in
# `run` mode over MQTT: fw_rollout_mqtt), storenode under a pretend
# systemd (fw_storenode_notify), the provisioning agent and then storenode
# on what it wrote (prov_agent).  Those start the build's aarch64 programs
# themselves, through qemu too: tests/CMakeLists.txt gives each test
# RETAIL_EXEC_WRAPPER (the emulator command) and RETAIL_TIME_SCALE (its
# bounded waits are that many times longer), tests/common/exec_wrap.h.
# Not: the integration and browser tests (Node.js and chromium drive
# storenode), hq's and HQ-side tests (amd64: fw_rollout, prov_server,
# fw_hq_rollout).  New tests of code that runs on the box are added here.
RETAIL_ARM64_TESTS=(proto_ rt_ node_unit_ sim_converge 'fw_bundle$' 'prov_pki$' 'prov_broker$'
  'prov_rt_tls$' 'fw_update_agent$' 'fw_rollout_mqtt$' 'fw_storenode_notify$' 'prov_agent$')

# Environment of the emulated ctest run.  The simulator keeps all its 50
# seeds but runs 5,000 events per seed instead of 20,000: its cost grows
# faster than linearly, and under qemu 20,000 take ~80 s of the pass's
# ~95 s, 5,000 take ~11 s (below ~3,000 a seed may miss its coverage check).
# shellcheck disable=SC2034 # used by scripts/test and firmware/build-arm64.sh
RETAIL_ARM64_TEST_ENV=(RETAIL_SIM_EVENTS="${RETAIL_ARM64_SIM_EVENTS:-5000}")

RETAIL_ARM64_TOOLCHAIN="$RETAIL_ROOT/firmware/cmake/aarch64-linux-gnu.cmake"
RETAIL_ARM64_DIR="${RETAIL_ARM64_BUILD_DIR:-$RETAIL_ROOT/build-arm64}"
RETAIL_ARM64_SYSROOT="${RETAIL_ARM64_SYSROOT:-$RETAIL_ARM64_DIR/sysroot}"

# retail_arm64_build: make (or reuse) the sysroot, then configure and build
# everything but hq in RETAIL_ARM64_DIR: Release at -O2, the flags of
# scripts/bench and Debian's packages (CMake's default -O3 gives gcc other
# -Werror warnings than the -O2 and -O0 builds of the other passes check).
# Building all targets, not only those above, keeps the benchmarks
# compiling for arm64.
retail_arm64_build() {
  "$RETAIL_ROOT/firmware/sysroot.sh" "$RETAIL_ARM64_SYSROOT" || return
  # dpkg-deb keeps the packages' file times, so a newer library version can
  # bring headers older than our objects: after a sysroot change, rebuild.
  local pkgs="$RETAIL_ARM64_SYSROOT/.retail-packages" used="$RETAIL_ARM64_DIR/.retail-packages-used"
  if [[ -f "$RETAIL_ARM64_DIR/CMakeCache.txt" ]] && ! cmp -s "$pkgs" "$used"; then
    retail_log "arm64: the sysroot changed, clean rebuild"
    cmake --build "$RETAIL_ARM64_DIR" --target clean >/dev/null 2>&1 || true
  fi
  retail_build "$RETAIL_ARM64_DIR" Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DCMAKE_TOOLCHAIN_FILE="$RETAIL_ARM64_TOOLCHAIN" \
    -DRETAIL_ARM64_SYSROOT="$RETAIL_ARM64_SYSROOT" \
    -DRETAIL_BUILD_HQ=OFF -DRETAIL_SANITIZE=OFF || return
  cp "$pkgs" "$used"
  retail_arm64_strip
}

# Where the build put target NAME's executable, or nothing: found by file
# name (the project sets no OUTPUT_NAME) among the aarch64 ELF files (ELF
# e_machine 183), so a host build folder nested in this one cannot match.
retail__arm64_binary() {
  local f
  while IFS= read -r -d '' f; do
    if [[ "$(od -An -tu2 -j18 -N2 "$f" | tr -d ' ')" == 183 ]]; then
      printf '%s\n' "$f"
      return 0
    fi
  done < <(find "$RETAIL_ARM64_DIR" \( -path "$RETAIL_ARM64_SYSROOT" -o -path "$RETAIL_ARM64_SYSROOT.apt" \
    -o -path "$RETAIL_ARM64_DIR/stripped" -o -name CMakeFiles \) -prune \
    -o -type f -name "$1" -perm -u+x -print0)
}

# retail_arm64_strip: copy each of RETAIL_ARM64_BINARIES, stripped, into
# <build>/stripped/ and print their sizes; fails when one is missing.
retail_arm64_strip() {
  local out="$RETAIL_ARM64_DIR/stripped" name bin
  mkdir -p "$out"
  for name in "${RETAIL_ARM64_BINARIES[@]}"; do
    bin="$(retail__arm64_binary "$name")"
    if [[ -z "$bin" ]]; then
      retail_warn "arm64: the build made no executable '$name' (RETAIL_ARM64_BINARIES)"
      return 1
    fi
    aarch64-linux-gnu-strip -o "$out/$name" "$bin" || return
    retail_log "arm64 $name: $(stat -c %s "$out/$name") bytes stripped ($(stat -c %s "$bin") unstripped), ${out#"$RETAIL_ROOT"/}/$name"
  done
}

# The tests of a configured build DIR that ctest would list with ARGS, one
# name per line.
retail__arm64_names() {
  local dir="$1"
  shift
  (cd "$dir" && ctest -N "$@") | sed -n 's/^ *Test *#[0-9]*: //p'
}

# retail_arm64_tests [CTEST_ARGS...]: an anchored ctest -R regex naming the
# tests to run under emulation: those of RETAIL_ARM64_TESTS that CTEST_ARGS
# (a user's -R/-E/-L filter) also select.  Prints nothing when none is.
retail_arm64_tests() {
  local prefixes names
  prefixes="$(IFS='|' && printf '%s' "${RETAIL_ARM64_TESTS[*]}")"
  names="$(retail__arm64_names "$RETAIL_ARM64_DIR" -R "^($prefixes)")"
  if (($#)); then
    names="$(grep -Fx -f <(retail__arm64_names "$RETAIL_ARM64_DIR" "$@") <<<"$names" || true)"
  fi
  [[ -n "$names" ]] || return 0
  printf '^(%s)$\n' "$(paste -sd'|' <<<"$names")"
}
