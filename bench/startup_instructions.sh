#!/usr/bin/env bash
# Start-up cost of the `traceframe` binary in instructions (valgrind's
# callgrind counts them the same way however loaded the machine is), next to
# a no-op linked against the same shared libraries, and checked against a
# recorded budget: exits 1 and says by how much when a case grows past it.
#
#   bash bench/startup_instructions.sh [build-dir]     (default build/release)
#
# Cases (each one process, instructions from exec to exit, dynamic loader
# included):
#   noop          bench/simdjson_noop_tool: loads libsimdjson.so + libstdc++
#   version       traceframe --version
#   ingest-ignore hook ingest of an event that is not recorded (no write)
#   ingest-append hook ingest appending one event to a 1-event trace
#                 (the call agent hosts make before and after every tool call)
# Environment: TRACEFRAME_STARTUP_UPDATE=1 prints budget lines to paste here
# instead of checking them.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
bin="$build/cli/traceframe"
noop="$build/bench/simdjson_noop_tool"
for tool in "$bin" "$noop"; do
  [ -x "$tool" ] || { echo "missing $tool: run scripts/build.sh release" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

# Budgets in instructions (Ir): the figure measured when the budget was set
# (docs/performance.md, "hook ingest start-up") plus ~10% for toolchain and
# library updates. Raise one only with a reason in the commit message.
declare -A budget=(
  [version]=2800000
  [ingest-ignore]=3000000
  [ingest-append]=3200000
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
post='{"session_id":"startup-bench","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"cargo test"},"tool_use_id":"toolu_01","tool_response":{"stdout":"test result: ok. 12 passed","stderr":"","interrupted":false,"exit_code":0}}'
ignored='{"session_id":"startup-bench","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","hook_event_name":"Notification","message":"waiting"}'
printf '%s' "$post" >"$tmp/post.json"
printf '%s' "$ignored" >"$tmp/ignored.json"
trace="$tmp/run.traceframe"
"$bin" init --file "$trace" --run-id startup-bench >/dev/null

# instructions CMD... : the Ir total callgrind collects for one run of CMD.
instructions() {
  local log="$tmp/callgrind.log"
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>"$log" >/dev/null || true
  local n
  n=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log" | tail -1)
  [ -n "$n" ] || { echo "no callgrind total for: $*" >&2; cat "$log" >&2; exit 1; }
  echo "$n"
}

declare -A got
got[noop]=$(instructions "$noop" </dev/null)
got[version]=$(instructions "$bin" --version </dev/null)
got[ingest-ignore]=$(instructions "$bin" hook ingest --source claude --file "$trace" --quiet \
  <"$tmp/ignored.json")
got[ingest-append]=$(instructions "$bin" hook ingest --source claude --file "$trace" --quiet \
  --no-sync <"$tmp/post.json")
# The append must have happened (an ignored or failed call is cheaper).
[ "$(wc -l <"$trace")" -ge 2 ] || { echo "hook ingest did not append to $trace" >&2; exit 1; }

relocs=$(LD_DEBUG=statistics "$bin" --version 2>&1 >/dev/null |
  sed -n 's/.*number of relocations: *\([0-9]*\).*/\1/p' | head -1)

echo "## traceframe start-up instructions (callgrind Ir, one process each)"
echo
echo "| case | instructions | vs no-op | budget |"
echo "|---|---|---|---|"
failed=0
for c in noop version ingest-ignore ingest-append; do
  b="${budget[$c]:-}"
  ratio=$(awk -v a="${got[$c]}" -v b="${got[noop]}" 'BEGIN {printf "%.1fx", a / b}')
  verdict="-"
  if [ -n "$b" ]; then
    if [ "${got[$c]}" -gt "$b" ]; then
      verdict="**OVER by $(awk -v a="${got[$c]}" -v b="$b" 'BEGIN {printf "%d (%.1f%%)", a - b, (a - b) * 100 / b}')**"
      failed=1
    else
      verdict="$b (ok)"
    fi
  fi
  echo "| $c | ${got[$c]} | $ratio | $verdict |"
done
echo
echo "dynamic loader relocations for \`traceframe --version\` (LD_DEBUG=statistics): ${relocs:-n/a}"
if [ "${TRACEFRAME_STARTUP_UPDATE:-}" = 1 ]; then
  for c in version ingest-ignore ingest-append; do
    echo "  [$c]=$(( (got[$c] * 11 / 10 + 99999) / 100000 * 100000 ))"
  done
  exit 0
fi
if [ "$failed" = 1 ]; then
  echo "traceframe start-up instructions: REGRESSION (a case is over its budget above)" >&2
  exit 1
fi
echo "traceframe start-up instructions: within budget"
