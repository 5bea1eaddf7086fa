#!/usr/bin/env bash
# Smoke for the quickstart (the README's first command): it installs only what
# the build needs, records and summarizes a real command, and ends by saying
# where the binary is, how to put it on PATH and what to try next.
set -euo pipefail
bin="${TRACEFRAME_BIN:?set TRACEFRAME_BIN to the traceframe binary}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "quickstart smoke: $*" >&2; exit 1; }

# The build's packages only: no browser, no coverage tool, no ClickHouse.
bash "$root/scripts/install-deps.sh" --build --print >"$work/pkgs.txt"
grep -qx 'g++' "$work/pkgs.txt" || fail "--build does not install a compiler"
for heavy in chromium gcovr clickhouse-server nodejs libgtest-dev; do
  grep -q "$heavy" "$work/pkgs.txt" && fail "--build installs $heavy"
done
bash "$root/scripts/install-deps.sh" --print >"$work/all.txt"
grep -qx chromium "$work/all.txt" || fail "the gate's list lost chromium"
grep -q 'install-deps.sh --build' "$root/scripts/quickstart.sh" || fail "quickstart installs the gate's packages"

# The rest of the quickstart, with the gate's binary.
TRACEFRAME_QUICKSTART_BIN="$bin" bash "$root/scripts/quickstart.sh" >"$work/out.txt" 2>"$work/err.txt" ||
  fail "quickstart failed: $(cat "$work/err.txt")"
grep -q 'valid trace' "$work/out.txt" || fail "the recorded run does not verify"
grep -q 'status: success' "$work/out.txt" || fail "no summary"
grep -q "^binary: $bin\$" "$work/out.txt" || fail "it does not say where the binary is"
grep -q "export PATH=\"$(dirname "$bin"):\$PATH\"" "$work/out.txt" || fail "no PATH advice"
grep -q '^Try next:' "$work/out.txt" || fail "no next steps"
echo "traceframe quickstart smoke: ok"
