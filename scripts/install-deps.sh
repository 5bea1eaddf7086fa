#!/usr/bin/env bash
# Installs everything traceframe needs to build and test, from Debian's packages.
# Safe to re-run: packages already present are skipped quickly.
set -euo pipefail
PKGS=(cmake ninja-build g++ clang clang-format libclang-rt-14-dev llvm
      libabsl-dev libsimdjson-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
      gcovr git jq python3 curl
      libcurl4-openssl-dev zlib1g-dev  # traceframe-ship (HTTP to ClickHouse)
      clickhouse-server clickhouse-client  # scripts/clickhouse-gate.sh
      chromium)  # scripts/render-browser-smoke.sh loads rendered reports headless
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
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "traceframe: installing nodejs npm" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
