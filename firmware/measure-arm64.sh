#!/usr/bin/env bash
# firmware/measure-arm64.sh - the figures of docs/performance.md, "arm64".
#
# Usage: firmware/measure-arm64.sh [--runs N]        (default 3)
#
#   sizes   each executable of RETAIL_ARM64_BINARIES (scripts/lib/arm64.sh)
#           stripped for aarch64 and, for comparison, for the host; `size`
#           of the aarch64 storenode; the Debian shared libraries storenode
#           loads on the box (its DT_NEEDED, transitively, from the sysroot)
#   memory  a do-nothing aarch64 program under qemu-aarch64 (the
#           emulator's floor); then N times tests/bench/rss.bench.mjs
#           (50,000-order database from bench_mkdb, 8 tablets) on storenode
#           under qemu-aarch64 and on the same storenode built for the host
#
# Builds build-arm64/ (firmware/build-arm64.sh --no-test) and a host Release
# -O2 build of the same programs in build-arm64/host/.  bench_mkdb runs
# natively (the SQLite file is the same on both; under qemu it takes ~8x
# longer).  Needs Node.js and tests/integration/node_modules, as
# scripts/bench does.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/deps.sh
source "$RETAIL_ROOT/scripts/lib/deps.sh"
# shellcheck source=scripts/lib/arm64.sh
source "$RETAIL_ROOT/scripts/lib/arm64.sh"

runs=3
case "${1:-}" in
  --runs) runs="${2:?--runs N}" ;;
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  "") ;;
  *) retail_die "unknown argument $1 (see --help)" ;;
esac

HOST_DIR="$RETAIL_ARM64_DIR/host"
QEMU_DIR="$RETAIL_ARM64_DIR/qemu"
QEMU=(qemu-aarch64 -L "$RETAIL_ARM64_SYSROOT")

retail_deps_all arm64
retail_arm64_build
RETAIL_BUILD_TARGETS=(--target bench_mkdb "${RETAIL_ARM64_BINARIES[@]}")
retail_build "$HOST_DIR" Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DRETAIL_BUILD_HQ=OFF \
  -DRETAIL_SANITIZE=OFF >/dev/null

# host_binary NAME: the host build's executable NAME (an x86-64 ELF, e_machine 62).
host_binary() {
  find "$HOST_DIR" -name CMakeFiles -prune -o -type f -name "$1" -perm -u+x -print |
    while IFS= read -r f; do
      [[ "$(od -An -tu2 -j18 -N2 "$f" | tr -d ' ')" == 62 ]] && printf '%s\n' "$f" && break
    done
}

# The sysroot file a DT_NEEDED name resolves to (multiarch dirs), or nothing.
needed_file() {
  local d
  for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
    [[ -e "$RETAIL_ARM64_SYSROOT/$d/$1" ]] && readlink -f "$RETAIL_ARM64_SYSROOT/$d/$1" && return
  done
}

# DT_NEEDED of an aarch64 ELF file, transitively: "size path" per library.
needed_closure() {
  local -a todo=("$1")
  local -A seen=()
  local f lib p
  while ((${#todo[@]})); do
    f="${todo[0]}"
    todo=("${todo[@]:1}")
    for lib in $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ -n "${seen[$lib]:-}" ]] && continue
      seen[$lib]=1
      p="$(needed_file "$lib")"
      if [[ -z "$p" ]]; then
        printf '0 %s (not in the sysroot)\n' "$lib"
        continue
      fi
      printf '%s %s\n' "$(stat -c %s "$p")" "${p#"$RETAIL_ARM64_SYSROOT"}"
      todo+=("$p")
    done
  done
}

sizes() {
  retail_log "sizes (bytes)"
  local name arm host
  printf '  %-24s %12s %12s\n' executable "aarch64" "x86-64"
  for name in "${RETAIL_ARM64_BINARIES[@]}"; do
    arm="$RETAIL_ARM64_DIR/stripped/$name"
    host="$(host_binary "$name")"
    [[ -n "$host" ]] && strip -o "$HOST_DIR/$name.stripped" "$host"
    printf '  %-24s %12s %12s\n' "$name" "$(stat -c %s "$arm")" \
      "$([[ -n "$host" ]] && stat -c %s "$HOST_DIR/$name.stripped" || echo -)"
  done
  printf '  size(1) of the aarch64 storenode:\n'
  aarch64-linux-gnu-size "$RETAIL_ARM64_DIR/stripped/storenode" | sed 's/^/    /'
  local total=0 n=0 size path
  printf '  shared libraries storenode loads (sysroot, stripped as Debian ships them):\n'
  while read -r size path; do
    printf '    %10s  %s\n' "$size" "$path"
    total=$((total + size))
    n=$((n + 1))
  done < <(needed_closure "$RETAIL_ARM64_DIR/stripped/storenode" | sort -rn)
  printf '    %10s  total of %d libraries\n' "$total" "$n"
}

# status_line LABEL PID: VmRSS, RssAnon, RssFile (kB) and the file-backed part
# split into the guest's (files under the sysroot or the build) and qemu's.
status_line() {
  local label="$1" pid="$2"
  local rss anon file guest
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
  anon="$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")"
  file="$(awk '/^RssFile:/ {print $2}' "/proc/$pid/status")"
  guest="$(awk -v g="$RETAIL_ARM64_DIR" '
    /^[0-9a-f]+-[0-9a-f]+ / { cur = (NF >= 6 && index($6, g) == 1) }
    /^Rss:/ && cur { s += $2 }
    END { print s + 0 }' "/proc/$pid/smaps")"
  printf '  %-36s VmRSS %6d kB  anon %6d kB  file %6d kB (guest %d, qemu + host libs %d)\n' \
    "$label" "$rss" "$anon" "$file" "$guest" "$((file - guest))"
}

# The emulator's floor: a dynamically linked aarch64 program that says it is
# ready and then waits, measured once it has said so.
floor() {
  retail_log "qemu-aarch64 floor"
  mkdir -p "$QEMU_DIR"
  printf '#include <stdio.h>\n#include <unistd.h>\nint main(void) { puts("ready"); fflush(stdout); pause(); return 0; }\n' |
    aarch64-linux-gnu-gcc --sysroot="$RETAIL_ARM64_SYSROOT" -O2 -x c - -o "$QEMU_DIR/idle"
  local line
  coproc IDLE { exec "${QEMU[@]}" "$QEMU_DIR/idle"; }
  local pid="$IDLE_PID"
  read -r line <&"${IDLE[0]}"
  [[ "$line" == ready ]] || retail_die "the idle program said '$line'"
  status_line "do-nothing aarch64 program" "$pid"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# A storenode that rss.bench.mjs can start like the native one.
qemu_wrapper() {
  local bin
  bin="$(retail__arm64_binary storenode)"
  printf '#!/bin/sh\n# generated by firmware/measure-arm64.sh\nexec %s %q "$@"\n' \
    "$(printf '%q ' "${QEMU[@]}")" "$bin" >"$QEMU_DIR/storenode"
  chmod +x "$QEMU_DIR/storenode"
}

memory() {
  qemu_wrapper
  local mkdb i
  mkdb="$(host_binary bench_mkdb)"
  for ((i = 1; i <= runs; i++)); do
    retail_log "rss.bench.mjs run $i/$runs: storenode under qemu-aarch64"
    node "$RETAIL_ROOT/tests/bench/rss.bench.mjs" --storenode "$QEMU_DIR/storenode" --mkdb "$mkdb"
    retail_log "rss.bench.mjs run $i/$runs: storenode built for the host"
    node "$RETAIL_ROOT/tests/bench/rss.bench.mjs" --storenode "$(host_binary storenode)" --mkdb "$mkdb"
  done
}

retail_log "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-aarch64 --version | head -n 1)"
sizes
floor
memory
