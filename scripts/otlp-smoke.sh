#!/usr/bin/env bash
# Smoke for `traceframe export --format otlp-json` (docs/otel.md): exports the
# example traces, a hook-made trace and an exec-made trace, and decodes every
# line with the official OTLP protobuf definitions (scripts/otlp-validate.js:
# @opentelemetry/otlp-transformer's generated opentelemetry-proto root, run by
# protobufjs), also checking the OTLP/JSON encoding rules. Re-exporting must
# give the same bytes; a bad trace is named and left out, the others exported.
#
# The npm packages are installed once into a cache outside the repo
# (TRACEFRAME_OTLP_NODE_DIR, default ~/.cache/traceframe/otlp-node); later runs
# only compare the installed versions (no network).
set -euo pipefail
bin="${TRACEFRAME_BIN:?set TRACEFRAME_BIN to the traceframe binary}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dir="${TRACEFRAME_OTLP_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/traceframe/otlp-node}"
protobufjs_major=7
transformer_version=0.52.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "otlp smoke: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is required (Node 20; scripts/install-deps.sh installs it)"

installed_ok() {
  node -e '
    const [dir, major, tv] = process.argv.slice(1);
    const v = (p) => require(dir + "/node_modules/" + p + "/package.json").version;
    process.exit(v("protobufjs").split(".")[0] === major && v("@opentelemetry/otlp-transformer") === tv ? 0 : 1);
  ' "$node_dir" "$protobufjs_major" "$transformer_version" 2>/dev/null
}
if ! installed_ok; then
  mkdir -p "$node_dir"
  # One installer at a time (the gate may run smokes of two builds).
  exec 9>"$node_dir/.lock"
  flock 9
  if ! installed_ok; then
    echo "otlp smoke: installing protobufjs@$protobufjs_major @opentelemetry/otlp-transformer@$transformer_version into $node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private":true}' > "$node_dir/package.json"
    npm install --prefix "$node_dir" --no-audit --no-fund --no-save --silent \
      "protobufjs@$protobufjs_major" "@opentelemetry/otlp-transformer@$transformer_version" ||
      fail "npm install failed"
    installed_ok || fail "npm did not install the pinned versions"
  fi
  exec 9>&-
fi
schema="$("$bin" export --format otlp-json --file "$repo/examples/agent-run.traceframe" --out "$work/probe.jsonl" |
  awk '$1 == "schema" {print $2}')"
[ -n "$schema" ] || fail "export printed no schema URL"
validate() { NODE_PATH="$node_dir/node_modules" node "$repo/scripts/otlp-validate.js" "$schema" "$@"; }

cd "$work"
mkdir runs
cp "$repo/examples/agent-run.traceframe" "$repo/examples/agent-session.traceframe" runs/

# A hook-made trace (what `hook ingest` writes for a Claude Code session):
# session start, a pre/post tool pair with a tool_use_id, a failure, the end.
hook() { printf '%s' "$1" | "$bin" hook ingest --quiet --source claude-code --dir runs >/dev/null; }
sid=otlp-smoke-session
hook '{"hook_event_name":"SessionStart","session_id":"'$sid'","cwd":"/w","source":"startup","model":"claude-sonnet-4-5"}'
hook '{"hook_event_name":"PreToolUse","session_id":"'$sid'","cwd":"/w","tool_name":"Bash","tool_use_id":"toolu_1","tool_input":{"command":"make test"}}'
hook '{"hook_event_name":"PostToolUse","session_id":"'$sid'","cwd":"/w","tool_name":"Bash","tool_use_id":"toolu_1","tool_input":{"command":"make test"},"tool_response":{"stdout":"ok","exit_code":0}}'
hook '{"hook_event_name":"PostToolUseFailure","session_id":"'$sid'","cwd":"/w","tool_name":"Bash","tool_use_id":"toolu_2","tool_input":{"command":"false"},"error":"exit 1"}'
hook '{"hook_event_name":"SessionEnd","session_id":"'$sid'","cwd":"/w","reason":"exit"}'

# An exec-made trace, and an import-like one (what `import` derives from a
# host transcript: usage, labels, the deviation kinds), written as lines.
"$bin" init --file runs/exec.traceframe --run-id run-exec >/dev/null
"$bin" exec --file runs/exec.traceframe -- sh -c 'echo hi; exit 3' >/dev/null 2>&1 || true
"$bin" finish --file runs/exec.traceframe --status failed >/dev/null
ev() { # seq kind payload
  printf '{"version":1,"run_id":"run-usage","event_id":"u-%03d","kind":"%s","ts_ms":%d,"seq":%d,"payload":%s}\n' \
    "$1" "$2" $((1795600000000 + $1 * 250)) "$1" "$3"
}
{
  ev 0 run.started '{"created_by":"traceframe import","source":"codex","session_id":"s-usage","labels":{"variant":"b","task":"t-7"}}'
  ev 1 model.call '{"provider":"anthropic","model":"claude-opus","usage":{"input_tokens":1200,"output_tokens":300,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,"reasoning_output_tokens":120}}'
  ev 2 tool.call '{"tool":"Read","tool_use_id":"c1","command":"README.md"}'
  ev 3 tool.result '{"tool":"Read","tool_use_id":"c1","success":true}'
  ev 4 error '{"message":"rate limited","type":"rate_limit"}'
  ev 5 run.finished '{"status":"success","usage":{"input_tokens":5000,"output_tokens":900}}'
} > runs/usage.traceframe

"$bin" export --format otlp-json --dir runs --out out.jsonl > summary.txt
grep -q '^  failed      0$' summary.txt || fail "export failed: $(cat summary.txt)"
lines="$(wc -l < out.jsonl)"
traces="$(find runs -name '*.traceframe' | wc -l)"
[ "$lines" -eq "$traces" ] || fail "$lines lines for $traces traces"
validate out.jsonl

# The mapping, as a reader of the Collector's output sees it.
grep -q '"name":"chat claude-opus"' out.jsonl || fail "no chat span"
grep -q '"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"1000"}' out.jsonl ||
  fail "no cache read usage"
grep -q '"key":"gen_ai.conversation.id","value":{"stringValue":"'$sid'"}' out.jsonl ||
  fail "no conversation id from the hook session"
grep -q '"name":"execute_tool Bash"' out.jsonl || fail "no execute_tool span for the hook pair"
grep -q '"key":"gen_ai.tool.call.id","value":{"stringValue":"toolu_1"}' out.jsonl || fail "no tool call id"
grep -q '"status":{"message":"[^"]*","code":2}' out.jsonl || fail "no ERROR status"

# Deterministic: the same bytes again, and on stdout.
"$bin" export --format otlp-json --dir runs --out again.jsonl >/dev/null
cmp -s out.jsonl again.jsonl || fail "re-export differs"
"$bin" export --format otlp-json --dir runs > stdout.jsonl
cmp -s out.jsonl stdout.jsonl || fail "stdout export differs from --out"

# A bad trace: named with its line, left out, the others still exported, exit 1.
cp runs/usage.traceframe bad.traceframe
printf '{"version":1,"run_id":"run-usage","event_id":"x","kind":"error","ts_ms":1,"seq":99,"payload":{"a":tru}}\n' >> bad.traceframe
set +e
"$bin" export --format otlp-json --file bad.traceframe --file runs/exec.traceframe --out mixed.jsonl \
  > /dev/null 2> err.txt
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a bad trace exited $rc, not 1"
grep -q "Error: failed to export bad.traceframe: invalid trace event at line" err.txt ||
  fail "error does not name the file and line: $(cat err.txt)"
[ "$(wc -l < mixed.jsonl)" -eq 1 ] || fail "the good trace was not exported next to the bad one"
validate mixed.jsonl
echo "otlp smoke: ok ($lines traces)"
