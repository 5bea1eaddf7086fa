#!/usr/bin/env bash
# The main job on a new machine: install dependencies, build, record a real
# command with `traceframe run`, then print the trace's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TRACEFRAME_JOBS="${TRACEFRAME_JOBS:-$(nproc)}" bash scripts/build.sh release -DTRACEFRAME_BUILD_TESTS=OFF -DTRACEFRAME_BUILD_BENCH=OFF
bin="$PWD/build/release/cli/traceframe"
work="$(mktemp -d)"
cd "$work"
trace="$work/quickstart.traceframe"
# Record a real command: run creates the trace, records tool.call, streams the
# command's output, records tool.result (exit code, byte counts, previews) and
# finishes the run with the command's outcome.
"$bin" run --file "$trace" --run-id quickstart-demo -- uname -a
"$bin" verify --file "$trace"
"$bin" summary --file "$trace"
echo "trace: $trace"
