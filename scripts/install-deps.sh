#!/usr/bin/env bash
# Installs what traceframe needs from Debian's packages.
#   scripts/install-deps.sh            everything the test gate uses (compilers,
#                                      sanitizers, gcovr, chromium, ClickHouse, node)
#   scripts/install-deps.sh --build    only what building the `traceframe` binary
#                                      needs (scripts/quickstart.sh uses this)
#   ... --print                        list the packages instead of installing them
# Safe to re-run: packages already present are skipped quickly.
set -euo pipefail
# The release build of the CLI and library: a compiler, CMake, Ninja, the
# three libraries, and libcurl + zlib for the traceframe-ship helper.
BUILD_PKGS=(cmake ninja-build g++ libabsl-dev libsimdjson-dev libcli11-dev
            libcurl4-openssl-dev zlib1g-dev)
select=all
print=0
for arg in "$@"; do
  case "$arg" in
    --build) select=build ;;
    --print) print=1 ;;
    *) echo "usage: $0 [--build] [--print]" >&2; exit 2 ;;
  esac
done
case "$select" in
  build) PKGS=("${BUILD_PKGS[@]}") ;;
  all) PKGS=("${BUILD_PKGS[@]}" clang clang-format libclang-rt-14-dev llvm
             libgtest-dev libgmock-dev libbenchmark-dev
             gcovr git jq python3 curl
             clickhouse-server clickhouse-client  # scripts/clickhouse-gate.sh
             chromium)  # scripts/render-browser-smoke.sh loads rendered reports headless
    ;;
esac
if [ "$print" = 1 ]; then
  printf '%s\n' "${PKGS[@]}"
  [ "$select" = build ] || echo "nodejs npm (when node is missing)"
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "traceframe: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# scripts/otlp-smoke.sh decodes OTLP/JSON exports with the official protobuf
# definitions, from npm (protobufjs, @opentelemetry/otlp-transformer): it needs
# node and npm. A node already installed (e.g. NodeSource's nodejs, which
# bundles npm) is kept; the smoke installs its npm packages into a cache.
[ "$select" = build ] && exit 0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "traceframe: installing nodejs npm" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
