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
"$bin" init --file "$trace" --run-id quickstart-demo
"$bin" record --file "$trace" --kind model.call --payload '{"provider":"openai","model":"gpt-5.5"}'
"$bin" record --file "$trace" --kind permission.decision --payload '{"capability":"fs.read:/etc/os-release","decision":"allow"}'
"$bin" finish --file "$trace" --status success --summary "quickstart demo"
"$bin" verify --file "$trace"
"$bin" summary --file "$trace"
echo "trace: $trace"
