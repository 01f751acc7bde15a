#!/usr/bin/env bash
# firmware/sysroot.sh - prepare the arm64 sysroot that the cross build
# (firmware/cmake/aarch64-linux-gnu.cmake) compiles and links against and from
# which qemu-aarch64 loads the test binaries' shared libraries.
#
# Usage: firmware/sysroot.sh [--refresh] [DIR]
#   DIR   default $RETAIL_ARM64_SYSROOT, else build-arm64/sysroot
#   --refresh   rebuild even when the stamp says it is up to date (to pick up
#               new package versions from the mirror)
#
# Why a sysroot: libwebsockets-dev:arm64 cannot be installed beside the
# host's libwebsockets-dev:amd64 (both ship /usr/include/lws_config.h, with
# different contents, so dpkg refuses the second instance).  Instead Debian
# bookworm's arm64 packages are unpacked into DIR with `dpkg-deb -x`;
# nothing is installed.
#
# How, without touching the host's apt or dpkg state (and without root): a
# private apt in DIR.apt/ (its own lists, cache and an empty dpkg status, the
# host's sources and keyrings, arm64 as its only architecture) resolves the
# packages of RETAIL_DEPS_ARM64_SYSROOT (scripts/lib/deps.sh) and every
# dependency they need at run time as if nothing were installed, downloads
# them (`apt-get install --download-only`), and each .deb is unpacked.
# Absolute symlinks (libz.so -> /lib/aarch64-linux-gnu/libz.so.1...) are made
# relative so they resolve inside DIR.  The result lists its packages in
# DIR/.retail-packages.
#
# Cached: DIR/.retail-sysroot holds a hash of the package list, the host's apt
# sources and this script; when it matches, the script prints nothing and
# does nothing.  A new sysroot is made in DIR.new and moved into place only
# when complete, so an interrupted run leaves the old one (or none).
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
# shellcheck source=scripts/lib/deps.sh
source "$RETAIL_ROOT/scripts/lib/deps.sh"

# The host's apt sources (what the private apt reads), one file per line.
sysroot_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && printf '%s\n' "$f"
  done
  return 0
}

# What the sysroot is made from: a change in any of these rebuilds it.
sysroot_hash() {
  local -a srcs
  mapfile -t srcs < <(sysroot_sources)
  {
    printf '%s\n' "${RETAIL_DEPS_ARM64_SYSROOT[@]}"
    cat "${BASH_SOURCE[0]}"
    ((${#srcs[@]} == 0)) || cat "${srcs[@]}"
  } | sha256sum | cut -d' ' -f1
}

# sysroot_apt_conf APTDIR: the private apt configuration.  Given with -c, so
# it is read after the host's apt.conf.d (whose proxy and mirror settings we
# keep) and can clear the host's update hooks, which must not run for a
# foreign, private package list.
sysroot_apt_conf() {
  local aptdir="$1"
  cat <<EOF
Dir::State "$aptdir/state";
Dir::State::status "$aptdir/status";
Dir::Cache "$aptdir/cache";
APT::Architecture "arm64";
#clear APT::Architectures;
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
EOF
  # As root apt downloads as the user _apt, who may not write into a build
  # folder; the download is of public packages into our own cache.
  [[ "$(id -u)" == 0 ]] && printf 'APT::Sandbox::User "root";\n'
  return 0
}

# sysroot_fix_links DIR: make every absolute symlink under DIR relative, so it
# points inside DIR and not at the host's files.
sysroot_fix_links() {
  local root="$1" link target
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    ln -sfn "$(realpath -s -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
  done < <(find "$root" -type l -lname '/*' -print0)
}

# sysroot_make DIR APTDIR HASH: download, unpack, check, move into place.
sysroot_make() {
  local dir="$1" aptdir="$2" hash="$3"
  local new="$dir.new"
  mkdir -p "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial"
  : >"$aptdir/status"
  sysroot_apt_conf "$aptdir" >"$aptdir/apt.conf"
  local -a aptget=(apt-get -c "$aptdir/apt.conf" -q -y -o Dpkg::Use-Pty=0)

  retail_log "arm64 sysroot: fetching Debian's arm64 package lists (private apt in ${aptdir#"$RETAIL_ROOT"/})"
  # A broken third-party source fails the update but not a download from
  # Debian's lists: go on, and let the download decide (as deps.sh does).
  if ! "${aptget[@]}" update >"$aptdir/update.log" 2>&1; then
    retail_warn "arm64 sysroot: apt-get update reported errors (see $aptdir/update.log); trying the download anyway"
  fi
  # Only what this list resolves to today gets unpacked: drop older downloads.
  rm -f "$aptdir"/cache/archives/*.deb
  retail_run_logged "$aptdir/download.log" "${aptget[@]}" install --download-only \
    "${RETAIL_DEPS_ARM64_SYSROOT[@]}" || return

  local -a debs
  mapfile -t debs < <(find "$aptdir/cache/archives" -maxdepth 1 -name '*.deb' | sort)
  ((${#debs[@]} > 0)) || retail_die "arm64 sysroot: apt downloaded nothing (see $aptdir/download.log)"
  rm -rf "$new"
  mkdir -p "$new"
  local deb
  for deb in "${debs[@]}"; do
    dpkg-deb -x "$deb" "$new"
    dpkg-deb -f "$deb" Package Version Architecture | awk '{printf "%s%s", (NR > 1 ? " " : ""), $2} END {print ""}'
  done >"$new/.retail-packages"
  sysroot_fix_links "$new"

  # The files the cross build cannot do without.
  local f
  for f in lib/ld-linux-aarch64.so.1 usr/include/libwebsockets.h usr/include/lws_config.h \
    usr/include/sqlite3.h usr/include/mosquitto.h usr/include/mbedtls/version.h \
    usr/include/cjson/cJSON.h usr/include/cmocka.h; do
    [[ -e "$new/$f" ]] || retail_die "arm64 sysroot: $f missing after unpacking (see $aptdir/download.log)"
  done

  rm -rf "$dir"
  mv "$new" "$dir"
  printf '%s\n' "$hash" >"$dir/.retail-sysroot"
  retail_log "arm64 sysroot: ${#debs[@]} packages, $(du -sh "$dir" | cut -f1) in ${dir#"$RETAIL_ROOT"/}"
}

main() {
  local refresh=0 dir=""
  while (($#)); do
    case "$1" in
      --refresh) refresh=1 ;;
      -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        return 0
        ;;
      -*) retail_die "unknown option $1 (see --help)" ;;
      *) dir="$1" ;;
    esac
    shift
  done
  dir="${dir:-${RETAIL_ARM64_SYSROOT:-$RETAIL_ROOT/build-arm64/sysroot}}"
  mkdir -p "$(dirname "$dir")"
  dir="$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")"

  local hash
  hash="$(sysroot_hash)"
  if ((refresh == 0)) && [[ -f "$dir/.retail-sysroot" && "$(cat "$dir/.retail-sysroot")" == "$hash" ]]; then
    return 0
  fi
  local tool
  for tool in apt-get dpkg-deb realpath; do
    command -v "$tool" >/dev/null 2>&1 ||
      retail_die "$tool not found: the arm64 sysroot is made from Debian packages (Debian bookworm only)"
  done
  sysroot_make "$dir" "$dir.apt" "$hash"
}

main "$@"
