#!/usr/bin/env bash
# Smoke for `traceframe exec` / `run` in real shell pipelines: exit codes,
# `| head -1`, a signal from `timeout`, and a trace that verifies each time.
set -euo pipefail
bin="${TRACEFRAME_BIN:?set TRACEFRAME_BIN to the traceframe binary}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "exec smoke: $*" >&2; exit 1; }

# Exit code passthrough; the command is recorded shell-quoted.
"$bin" init --file t.traceframe --run-id smoke >/dev/null
set +e
"$bin" exec --file t.traceframe -- sh -c 'echo a; exit 3' >/dev/null 2>&1
code=$?
set -e
[ "$code" = 3 ] || fail "exit code $code, want 3"
grep -q "\"command\":\"sh -c 'echo a; exit 3'\"" t.traceframe || fail "command not shell-quoted"

# A closed stdout: head exits after one line, the result is still recorded.
first="$("$bin" exec --file t.traceframe -- seq 1 200000 2>/dev/null | head -1)"
[ "$first" = 1 ] || fail "head saw '$first'"
tail -n 1 t.traceframe | grep -q '"stdout_bytes":1288895,' || fail "tool.result missing after | head -1"
"$bin" verify --allow-open --file t.traceframe >/dev/null

# SIGTERM from timeout: forwarded, recorded, run finished as interrupted.
set +e
timeout --preserve-status -s TERM 2 "$bin" run --file r.traceframe -- sleep 30 >/dev/null 2>&1
code=$?
set -e
[ "$code" = 143 ] || fail "timeout run exited $code, want 143"
grep -q '"status":"interrupted"' r.traceframe || fail "run not finished as interrupted"
"$bin" verify --file r.traceframe >/dev/null

# Default run ids: back-to-back runs never collide.
"$bin" run -- true >/dev/null 2>&1
"$bin" run -- true >/dev/null 2>&1
[ "$(ls .traceframe/runs | wc -l)" = 2 ] || fail "default run ids collided"

echo "traceframe exec smoke: ok"
