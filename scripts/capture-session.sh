#!/usr/bin/env bash
# Manual demo (not run by the test gate): capture a real agent session end to
# end — wire the host hooks, run an agent, verify, summarize, render.
#
#   AGENT_CMD='my-agent --prompt "list the files and count the lines of notes.txt"' \
#     bash scripts/capture-session.sh
#
# Without AGENT_CMD it falls back to `traceframe run` over the same shell
# commands, so the rest of the pipeline can be seen working. The scratch
# project and its traces are kept; the script prints where.
# examples/agent-session.traceframe is a sanitized capture of such a session.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TRACEFRAME_BIN:-$(command -v traceframe || true)}"
[ -n "$bin" ] || bin="$root/build/release/cli/traceframe"
[ -x "$bin" ] || { echo "capture-session: no traceframe binary (put it on PATH or set TRACEFRAME_BIN)" >&2; exit 1; }
has_command() { "$bin" --help | grep -qE "^  $1 +"; }

project="$(mktemp -d "${TMPDIR:-/tmp}/traceframe-capture.XXXXXX")"
cd "$project"
git init -q .
printf 'traceframe capture demo\nline two: the agent reads this file\nline three: and counts its lines\n' >notes.txt
runs="$project/.traceframe/runs"
mkdir -p "$runs" .agent

# Wire the host: the PostToolUse hook pipes each payload into hook ingest with
# an absolute --dir, so it works from whatever directory the agent runs in.
hook_cmd="$bin hook ingest --source generic --dir $runs"
cat >.agent/hooks.json <<JSON
{
  "hooks": {
    "PostToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "$hook_cmd"}]}
    ]
  }
}
JSON
echo "capture-session: project $project, hooks in .agent/hooks.json"

if [ -n "${AGENT_CMD:-}" ]; then
  echo "capture-session: running the agent: $AGENT_CMD"
  sh -c "$AGENT_CMD" || echo "capture-session: the agent exited with $?" >&2
elif has_command run; then
  "$bin" run --file "$runs/fallback.traceframe" --run-id capture-fallback -- \
    sh -c 'ls -la; wc -l notes.txt; cat notes.txt'
else
  # Neither an agent nor `run`: feed the hook path by hand, as a host would.
  has_command hook || { echo "capture-session: this traceframe has neither run nor hook" >&2; exit 1; }
  for cmd in 'ls -la' 'wc -l notes.txt' 'cat notes.txt'; do
    out=$(sh -c "$cmd" | head -c 2000)
    jq -n --arg c "$cmd" --arg o "$out" --arg cwd "$project" \
      '{hook_event_name:"PostToolUse",tool_name:"Bash",tool_input:{command:$c},
        tool_response:{success:true,exit_code:0,stdout:$o},session_id:"capture-demo",cwd:$cwd}' |
      $hook_cmd
  done
fi

trace=$(find "$runs" -name '*.traceframe' | sort | head -1)
[ -n "$trace" ] || { echo "capture-session: no trace was written under $runs (were the hooks called?)" >&2; exit 1; }
"$bin" verify --allow-open --file "$trace"
"$bin" summary --file "$trace"
"$bin" render --file "$trace" --html "$project/.traceframe/reports/session.html"
echo "capture-session: trace $trace"
echo "capture-session: report $project/.traceframe/reports/session.html"
