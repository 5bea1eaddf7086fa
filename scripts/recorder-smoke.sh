#!/usr/bin/env bash
# Smoke for the C++ TraceRecorder as a harness uses it: the built example
# (examples/harness_recorder.cpp) writes .traceframe/runs/example-harness.traceframe
# in a fresh directory, prints its summary, and the CLI verifies the trace.
# A second run replaces it (force), and a CLI record on the closed run fails.
set -euo pipefail
bin="${TRACEFRAME_BIN:?set TRACEFRAME_BIN to the traceframe binary}"
example="${TRACEFRAME_EXAMPLE:-$(cd "$(dirname "$bin")/.." && pwd)/examples/harness_recorder}"
[ -x "$example" ] || { echo "recorder smoke: $example not built" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "recorder smoke: $*" >&2; exit 1; }

out="$("$example")"
trace=.traceframe/runs/example-harness.traceframe
printf '%s\n' "$out" | grep -q '^run_id: example-harness$' || fail "summary: $out"
printf '%s\n' "$out" | grep -q '^status: success$' || fail "summary: $out"
printf '%s\n' "$out" | grep -q '^events: 9$' || fail "summary: $out"
"$bin" verify --file "$trace" >/dev/null || fail "verify failed"
[ "$(wc -l < "$trace")" = 9 ] || fail "expected 9 lines"

# force: a second run replaces the trace instead of appending to it.
"$example" >/dev/null
[ "$(wc -l < "$trace")" = 9 ] || fail "second run did not replace the trace"
if "$bin" record --file "$trace" --kind error --payload '{}' >/dev/null 2>&1; then
  fail "record after run.finished succeeded"
fi
echo "traceframe recorder smoke: ok"
