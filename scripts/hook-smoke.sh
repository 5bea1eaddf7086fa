#!/usr/bin/env bash
# Host-hook smoke (reference §9 hook-smoke, adapted): ingest real payload
# shapes, wire a hooks file, run the wired command as a host would, and gate
# the result with verify + policy-check. Needs TRACEFRAME_BIN (the gate sets
# it) or a built build/release/cli/traceframe. Works in a mktemp dir.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TRACEFRAME_BIN:-$root/build/release/cli/traceframe}"
[ -x "$bin" ] || { echo "hook smoke: no traceframe binary at $bin (set TRACEFRAME_BIN)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "hook smoke: FAIL: $*" >&2; exit 1; }
# Commands owned by other parts of traceframe are exercised when built in.
has_command() { "$bin" --help 2>/dev/null | grep -qE "^  $1( |\$)"; }
has() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }
ingest() { # ingest <payload> <flags...>: checks exit 0 and an empty stdout, prints stderr
  local payload="$1"; shift
  local out err rc=0
  out="$(printf '%s' "$payload" | "$bin" hook ingest "$@" 2>"$work/.err")" || rc=$?
  err="$(cat "$work/.err")"
  [ "$rc" -eq 0 ] || fail "hook ingest exited $rc: $err"
  [ -z "$out" ] || fail "hook ingest wrote to stdout: $out"
  printf '%s' "$err"
}

# 1. Four payloads pinned to one run id land in one trace, in order.
e="$(ingest '{"hook_event_name":"PreToolUse","session_id":"a","tool_name":"Bash","tool_input":{"command":"cargo test"}}' --dir runs --run-id hook-smoke)"
has "$e" "tool.call#1"
e="$(ingest '{"decision":"allow","capability":"fs.write:README.md","source":"policy"}' --dir runs --run-id hook-smoke --source policy)"
has "$e" "permission.decision#2"
e="$(ingest '{"hook_event_name":"PostToolUse","session_id":"b","tool_name":"Bash","tool_input":{"command":"cargo test"},"tool_response":{"stdout":"ok","exit_code":0}}' --dir runs --run-id hook-smoke)"
has "$e" "tool.result#3"
e="$(ingest '{"hook_event_name":"HookError","error":{"message":"permission hook failed"}}' --dir runs --run-id hook-smoke)"
has "$e" "error#4"
trace=runs/hook-smoke.traceframe
grep -q '"source":"policy"' "$trace" || fail "source label not stored"

# 2. finish, verify, summary, inspect (render when this build has it).
"$bin" finish --file "$trace" --status failed --summary "hook smoke" >/dev/null
has "$("$bin" verify --file "$trace")" "valid trace"
s="$("$bin" summary --file "$trace")"
for line in "tool_calls: 1" "tool_results: 1" "permission_decisions: 1" "errors: 1" "status: failed"; do
  has "$s" "$line"
done
has "$("$bin" inspect --file "$trace")" "permission hook failed"
if has_command render; then
  "$bin" render --file "$trace" --html report.html >/dev/null
  has "$(cat report.html)" "traceframe report"
fi

# 3. Ledger (when this build has it).
if has_command ledger; then
  has "$("$bin" ledger rebuild --dir runs --out ledger.traceframe)" "entries     1"
  has "$("$bin" ledger list --file ledger.traceframe --status failed)" "hook-smoke"
  has "$("$bin" ledger show --file ledger.traceframe --run-id hook-smoke)" "errors: 1"
fi

# 4. install --print writes nothing.
p="$("$bin" hook install --file .agent/hooks.json --print 2>print.err)"
has "$p" "--dir $PWD/.traceframe/runs"
has "$(cat print.err)" "hook install (print)"
[ ! -e .agent ] || fail "install --print created .agent"

# 5. install twice over a foreign entry: wired, then already wired.
mkdir -p .agent
printf '{\n  "notify": ["say"],\n  "hooks": {\n    "PreToolUse": [\n      {"matcher": "Edit", "hooks": [{"type": "command", "command": "my-linter"}]}\n    ]\n  }\n}\n' > .agent/hooks.json
has "$("$bin" hook install --file .agent/hooks.json)" "wired PreToolUse and PostToolUse"
has "$("$bin" hook install --file .agent/hooks.json)" "already wired"
[ "$(grep -c 'traceframe hook ingest' .agent/hooks.json)" -eq 2 ] || fail "expected 2 wired entries"
grep -q my-linter .agent/hooks.json || fail "foreign entry lost"
[ "$(head -2 .agent/hooks.json | tail -1)" = '  "notify": [' ] || fail "key order not kept"
# Changed flags update the entry instead of reporting "already wired".
has "$("$bin" hook install --file .agent/hooks.json --source 'my agent')" "updated PreToolUse and PostToolUse"
[ "$(grep -c 'traceframe hook ingest' .agent/hooks.json)" -eq 2 ] || fail "update duplicated entries"

# 6. The wired command, run as the host runs it (through a shell).
wired="$("$bin" hook install --file .agent/hooks.json --print --source 'my agent' 2>&1 >/dev/null | sed -n 's/^  command     //p')"
[ -n "$wired" ] || fail "no command in --print output"
e="$(printf '%s' '{"hook_event_name":"PreToolUse","session_id":"wired-session","tool_name":"Bash","tool_input":{"command":"ls"}}' |
  PATH="$(dirname "$bin"):$PATH" sh -c "$wired" 2>&1 >/dev/null)"
has "$e" "tool.call#1"
wired_trace=.traceframe/runs/run-wired-session.traceframe
has "$("$bin" verify --allow-open --file "$wired_trace")" "valid open trace"
grep -q '"source":"my agent"' "$wired_trace" || fail "quoted source did not round-trip"

# 6b. Cursor's flat .cursor/hooks.json: detected from the path, wired once,
#     and the wired command records Cursor's shell events.
cursor_shell=beforeShellExecution,afterShellExecution
has "$("$bin" hook install --file .cursor/hooks.json --source cursor --events $cursor_shell)" "wired beforeShellExecution and afterShellExecution"
has "$("$bin" hook install --file .cursor/hooks.json --source cursor --events $cursor_shell)" "already wired"
grep -q '"version": 1' .cursor/hooks.json || fail "no version in .cursor/hooks.json"
! grep -q '"matcher"\|"type"' .cursor/hooks.json || fail "Claude-shaped entry in .cursor/hooks.json"
[ "$(grep -c 'traceframe hook ingest' .cursor/hooks.json)" -eq 2 ] || fail "expected 2 Cursor entries"
cursor_wired="$(sed -n 's/^ *"command": "\([^"]*traceframe hook ingest[^"]*\)"$/\1/p' .cursor/hooks.json | head -1)"
[ -n "$cursor_wired" ] || fail "no command in .cursor/hooks.json"
cursor_common='"conversation_id":"conv-smoke","generation_id":"g1","workspace_roots":["/w"],"command":"npm test","cwd":"/w"'
for payload in "{\"hook_event_name\":\"beforeShellExecution\",$cursor_common}" \
               "{\"hook_event_name\":\"afterShellExecution\",$cursor_common,\"output\":\"ok\",\"duration\":5}"; do
  out="$(printf '%s' "$payload" | PATH="$(dirname "$bin"):$PATH" sh -c "$cursor_wired" 2>/dev/null)"
  [ -z "$out" ] || fail "Cursor hook wrote to stdout: $out"
done
cursor_trace=.traceframe/runs/run-conv-smoke.traceframe
for needle in '"kind":"tool.call"' '"kind":"tool.result"' '"tool":"Shell"' '"source":"cursor"' '"raw":{"hook_event_name":"afterShellExecution"'; do
  grep -qF "$needle" "$cursor_trace" || fail "missing $needle in $cursor_trace"
done

# 7. A realistic PreToolUse/PostToolUse pair (Claude Code shape).
sid="00000000-0000-4000-8000-000000000017"
common="\"session_id\":\"$sid\",\"transcript_path\":\"/tmp/t.jsonl\",\"cwd\":\"$work\",\"permission_mode\":\"default\",\"tool_use_id\":\"toolu_1\""
has "$(ingest "{$common,\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"cargo test\"}}" --dir runs)" "tool.call#1"
has "$(ingest "{$common,\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"cargo test\"},\"tool_response\":{\"stdout\":\"test result: ok\",\"stderr\":\"\",\"interrupted\":false,\"exit_code\":0}}" --dir runs)" "tool.result#2"
pair="runs/run-$sid.traceframe"
for needle in '"tool":"Bash"' '"command":"cargo test"' 'test result: ok' '"exit_code":0' '"raw":{"session_id"'; do
  grep -qF "$needle" "$pair" || fail "missing $needle in $pair"
done
# The raw payload is kept with secrets redacted.
ingest '{"hook_event_name":"PreToolUse","session_id":"sec","tool_name":"mcp__x","tool_input":{"api_key":"sk-smoke-secret"},"new_field":"kept"}' --dir runs >/dev/null
grep -qF '"api_key":"[redacted]"' runs/run-sec.traceframe || fail "api_key not redacted"
grep -qF '"new_field":"kept"' runs/run-sec.traceframe || fail "unmapped field not kept in raw"
! grep -q 'sk-smoke-secret' runs/run-sec.traceframe || fail "secret stored"

# 8. Never exit 2, nothing on stdout: usage errors and ignored events.
rc=0; out="$(printf '{}' | "$bin" hook ingest --no-such-flag 2>/dev/null)" || rc=$?
[ "$rc" -eq 1 ] && [ -z "$out" ] || fail "usage error exited $rc (want 1) or wrote stdout"
has "$(ingest '{"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"hi"}' --dir runs)" "ignored"
[ ! -e runs/run-s.traceframe ] || fail "an ignored event created a trace"

# 9. Hostile session id stays inside --dir.
ingest '{"hook_event_name":"PreToolUse","session_id":"x/../../escaped","tool_name":"Bash"}' --dir runs >/dev/null
[ ! -e escaped.traceframe ] && [ ! -e ../escaped.traceframe ] || fail "wrote outside --dir"
[ -z "$(find runs -mindepth 1 -type d)" ] || fail "a session id created a subdirectory"

# 10. policy-check: the hook trace is clean; a deny-only trace and an
#     unauthorized push are not.
has "$("$bin" policy-check --file "$pair")" "clean"
"$bin" init --file deny.traceframe --run-id deny >/dev/null
"$bin" record --file deny.traceframe --kind permission.decision --payload '{"capability":"fs.write:secrets","decision":"deny"}' >/dev/null
rc=0; err="$("$bin" policy-check --file deny.traceframe 2>&1 >/dev/null)" || rc=$?
[ "$rc" -eq 1 ] || fail "deny-only trace passed policy-check"
has "$err" "unresolved deny"
"$bin" init --file push.traceframe --run-id push >/dev/null
"$bin" record --file push.traceframe --kind tool.call --payload '{"tool":"shell","command":"git -C repo push --force origin main"}' >/dev/null
rc=0; err="$("$bin" policy-check --file push.traceframe 2>&1 >/dev/null)" || rc=$?
[ "$rc" -eq 1 ] || fail "unauthorized push passed policy-check"
has "$err" "sensitive tool.call"

echo "traceframe hook smoke: ok"
