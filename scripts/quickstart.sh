#!/usr/bin/env bash
# The main job on a new machine: install what the build needs (no browser,
# no coverage tool, no ClickHouse: those are for the test gate), build the
# `traceframe` binary, record a real command with `traceframe run`, print the
# trace's summary, then say where the binary is and what to try next.
# TRACEFRAME_QUICKSTART_BIN=<binary> skips the install and the build
# (scripts/quickstart-smoke.sh runs the rest with the gate's binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TRACEFRAME_QUICKSTART_BIN:-}"
if [ -z "$bin" ]; then
  bash scripts/install-deps.sh --build
  TRACEFRAME_JOBS="${TRACEFRAME_JOBS:-$(nproc)}" bash scripts/build.sh release -DTRACEFRAME_BUILD_TESTS=OFF -DTRACEFRAME_BUILD_BENCH=OFF
  bin="$PWD/build/release/cli/traceframe"
fi
work="$(mktemp -d)"
cd "$work"
trace="$work/quickstart.traceframe"
# Record a real command: run creates the trace, records tool.call, streams the
# command's output, records tool.result (exit code, byte counts, previews) and
# finishes the run with the command's outcome.
"$bin" run --file "$trace" --run-id quickstart-demo -- uname -a
"$bin" verify --file "$trace"
"$bin" summary --file "$trace"
cat <<NEXT

trace:  $trace
binary: $bin

Put traceframe on your PATH (hooks wire this absolute path either way):
  export PATH="$(dirname "$bin"):\$PATH"                 # this shell only
  mkdir -p ~/.local/bin && ln -sf "$bin" ~/.local/bin/   # for good, if ~/.local/bin is on PATH

Try next:
  traceframe inspect --file $trace                    # the events, one line each
  traceframe render --file $trace --html report.html  # a one-page HTML report
  traceframe run -- make test                         # record any command (.traceframe/runs/)
  traceframe hook install --host claude-code          # record your agent's sessions (or codex, cursor)
  traceframe help                                     # every command
NEXT
