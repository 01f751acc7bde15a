#!/usr/bin/env bash
# firmware/make-bundle.sh - stage a slot tree from a build and sign it as a
# firmware bundle (docs/firmware.md, "Image").
#
# Usage: firmware/make-bundle.sh --key PRIVATE.pem --out DIR [options]
#   --build DIR        the host build with fw-bundle (default: build)
#   --fw-bundle FILE   the fw-bundle tool (default: DIR/firmware/fw-bundle)
#   --bin DIR          where storenode, storenode-provision, storenode-update
#                      are (default: found in --build; for the box:
#                      build-arm64/stripped)
#   --version V        default: what `storenode --version` says (the health
#                      check wants /healthz to report the bundle's version)
#   --min-version V    the floor this bundle sets (default 0.0.0: no floor)
#
# The tree (the slot):
#   VERSION              the bundle's version, one line: storenode's /healthz
#                        reports it (its `version`; `build` is the compiled one)
#   bin/storenode bin/storenode-provision bin/storenode-update
#   www/                 the tablet web app (node/www)
#   etc/                 storenode.base.conf, update.conf (defaults)
#   systemd/             the units and the sysusers file
# SOURCE_DATE_EPOCH, if set, dates the bundle (reproducible builds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="$root/build" bin="" key="" out="" version="" min="0.0.0" tool=""
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --fw-bundle) tool="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --key) key="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --min-version) min="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "make-bundle: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$key" && -n "$out" ]] || { echo "make-bundle: --key and --out are required" >&2; exit 2; }
tool="${tool:-$build/firmware/fw-bundle}"
[[ -x "$tool" ]] || { echo "make-bundle: no fw-bundle at $tool (--build or --fw-bundle)" >&2; exit 1; }

find_bin() { # name -> path
  if [[ -n "$bin" ]]; then echo "$bin/$1"; return; fi
  find "$build" -type f -name "$1" -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1
}

if [[ -z "$version" ]]; then
  # `storenode X (libwebsockets Y)`; an arm64 binary cannot run here: use the host build's
  version="$("$(find "$build" -type f -name storenode -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1)" --version | awk '{print $2}')"
fi
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "make-bundle: '$version' is not a version" >&2; exit 2; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc" "$stage/systemd"
for name in storenode storenode-provision storenode-update; do
  path="$(find_bin "$name")"
  [[ -x "$path" ]] || { echo "make-bundle: no $name (looked in ${bin:-$build})" >&2; exit 1; }
  install -m 0755 "$path" "$stage/bin/$name"
done
cp -r "$root/node/www" "$stage/www"
install -m 0644 "$here/etc/storenode.base.conf" "$here/etc/update.conf" "$stage/etc/"
install -m 0644 "$here"/systemd/*.service "$here"/systemd/*.timer "$here"/systemd/*.path "$here/systemd/storenode.sysusers" "$stage/systemd/"
printf '%s\n' "$version" >"$stage/VERSION" && chmod 0644 "$stage/VERSION"
find "$stage" -type d -exec chmod 0755 {} + && find "$stage/www" -type f -exec chmod 0644 {} +

"$tool" create --src "$stage" --out "$out" --version "$version" --min-version "$min" --key "$key"
