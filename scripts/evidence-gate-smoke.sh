#!/usr/bin/env bash
# Evidence-gate smoke (reference §9, adapted): `verify` (integrity) and
# `policy-check` (policy) used as two independent gates before a public
# action, the way docs/ci-gate.md and .github/workflows/evidence-gate.yml use
# them. Needs TRACEFRAME_BIN (the gate sets it) or a built binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TRACEFRAME_BIN:-$root/build/release/cli/traceframe}"
[ -x "$bin" ] || { echo "evidence-gate smoke: no traceframe binary at $bin" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "evidence-gate smoke: FAIL: $*" >&2; exit 1; }
gate() { "$bin" verify --file "$1" >/dev/null 2>&1 && "$bin" policy-check --file "$1" >/dev/null 2>&1; }

# A clean run: an allow for git.push:main, then the push, then success.
"$bin" init --file clean.traceframe --run-id gate-clean >/dev/null
"$bin" record --file clean.traceframe --kind permission.decision \
  --payload '{"source":"policy","capability":"git.push:main","decision":"allow"}' >/dev/null
"$bin" record --file clean.traceframe --kind tool.call \
  --payload '{"tool":"shell","command":"git push origin main"}' >/dev/null
"$bin" finish --file clean.traceframe --status success >/dev/null
gate clean.traceframe || fail "a clean, authorized push was blocked"
echo "PASS clean trace passes the gate"

# The example failed run (reference §1.6): valid, but its deny of
# git.push:main was never resolved, so the gate blocks it.
example="$root/examples/agent-run.traceframe"
if [ ! -f "$example" ]; then
  example="$work/agent-run.traceframe"
  {
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-000","kind":"run.started","ts_ms":1772460309120,"seq":0,"payload":{"created_by":"traceframe","status":"started"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-001","kind":"model.call","ts_ms":1772460311460,"seq":1,"payload":{"provider":"openai","model":"gpt-5.5","purpose":"plan file edit"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-002","kind":"permission.decision","ts_ms":1772460311640,"seq":2,"payload":{"source":"policy","capability":"fs.write:README.md","decision":"allow"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-003","kind":"tool.call","ts_ms":1772460311665,"seq":3,"payload":{"tool":"shell","command":"cargo test"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-004","kind":"tool.result","ts_ms":1772460353535,"seq":4,"payload":{"exit_code":101,"stderr":"one test failed"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-005","kind":"permission.decision","ts_ms":1772460356745,"seq":5,"payload":{"source":"policy","capability":"git.push:main","decision":"deny","reason":"public side effect blocked"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-006","kind":"error","ts_ms":1772460356840,"seq":6,"payload":{"message":"verification failed before publish","action":"convert failure into regression test"}}'
    echo '{"version":1,"run_id":"run-agent-demo","event_id":"demo-007","kind":"run.finished","ts_ms":1772460357250,"seq":7,"payload":{"status":"failed"}}'
  } > "$example"
fi
"$bin" verify --file "$example" >/dev/null || fail "the example run must still verify"
echo "PASS example run verifies (integrity gate)"
if gate "$example"; then fail "the example run passed the policy gate"; fi
rc=0; err="$("$bin" policy-check --file "$example" 2>&1 >/dev/null)" || rc=$?
[ "$rc" -eq 1 ] || fail "policy-check exited $rc on the example (want 1)"
grep -qF "unresolved deny at seq 5: capability git.push:main" <<<"$err" || fail "unexpected report: $err"
echo "PASS example run is blocked by policy-check"

# Scope matters: an allow for another branch does not authorize this push,
# and a push hidden behind a git global option is still found.
"$bin" init --file scope.traceframe --run-id gate-scope >/dev/null
"$bin" record --file scope.traceframe --kind permission.decision \
  --payload '{"capability":"git.push:other","decision":"allow"}' >/dev/null
"$bin" record --file scope.traceframe --kind tool.call \
  --payload '{"tool":"shell","command":"git -C repo push origin main"}' >/dev/null
"$bin" finish --file scope.traceframe --status success >/dev/null
if gate scope.traceframe; then fail "an allow for git.push:other authorized a push to main"; fi
echo "PASS allow for another scope does not authorize"

# A mentioned push is not a push.
"$bin" init --file echo.traceframe --run-id gate-echo >/dev/null
"$bin" record --file echo.traceframe --kind tool.call \
  --payload '{"tool":"shell","command":"echo \"remember to git push\""}' >/dev/null
"$bin" finish --file echo.traceframe --status success >/dev/null
gate echo.traceframe || fail "echo of 'git push' was treated as a push"
echo "PASS a quoted mention of git push is not a push"

# Integrity gate catches a tampered trace even when policy would pass.
cp clean.traceframe tampered.traceframe
sed -i 's/"seq":2/"seq":1/' tampered.traceframe
if "$bin" verify --file tampered.traceframe >/dev/null 2>&1; then fail "tampered trace verified"; fi
echo "PASS tampered trace fails the integrity gate"

# Machine-readable verdict for CI annotations.
json="$("$bin" policy-check --file "$example" --json || true)"
grep -qF '"rule":"unresolved_deny"' <<<"$json" || fail "--json lacks the violation: $json"
echo "PASS policy-check --json reports rule and seq"

echo "traceframe evidence-gate smoke: ok"
