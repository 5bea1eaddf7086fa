#!/usr/bin/env bash
# The whole test gate, as CI runs it (.ci/run). Stages print a banner; the
# first failure stops the gate with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export TRACEFRAME_JOBS="${TRACEFRAME_JOBS:-$(nproc)}"
stage() { printf '\n==== %s ====\n' "$*"; }

stage "dependencies"
bash scripts/install-deps.sh

stage "clang-format"
bash scripts/check-format.sh

stage "build (warnings as errors) + unit and CLI tests"
bash scripts/build.sh release
ctest --test-dir build/release --output-on-failure -j "$TRACEFRAME_JOBS"

stage "shell smokes"
export TRACEFRAME_BIN="$PWD/build/release/cli/traceframe"
for smoke in scripts/*-smoke.sh; do
  [ -e "$smoke" ] || continue
  echo "-- $smoke"
  bash "$smoke"
done

echo
echo "traceframe test gate: ok"
