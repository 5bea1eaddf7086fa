#!/usr/bin/env bash
# Loads rendered reports in a real browser (headless Chromium): the DOM shows
# the run id, status and counts, the reviewer's sections (token usage, the
# policy-check verdict, call/result pairs and links, open failures, CSS-only
# filters that really hide events, the host context of a hook session, the
# long-run table), hostile payloads stay text (no injected element), and
# screenshots are kept for people to look at:
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-screenshot.png
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-errors-only-screenshot.png
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-hook-session-screenshot.png
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-long-run-screenshot.png
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-hostile-screenshot.png
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TRACEFRAME_BIN:-$root/build/release/cli/traceframe}"
artifacts="${TRACEFRAME_ARTIFACT_DIR:-$root/build/release}"
fail() { echo "render-browser smoke: FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "no traceframe binary at $bin (build first: bash scripts/build.sh release)"
browser=""
for candidate in chromium chromium-browser; do
  if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
[ -n "$browser" ] || fail "chromium is not installed (bash scripts/install-deps.sh installs it)"
mkdir -p "$artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# Headless, offline, no profile left behind: the page must need nothing else.
chrome() {
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$work/profile.XXXXXX")" "$@" 2>"$work/chrome.log"
}
# Renders trace $1 as $work/$2.html and loads it: the DOM goes to $work/$2.dom.
render_and_load() {
  "$bin" render --file "$1" --html "$work/$2.html" >/dev/null || fail "render of $2 failed"
  chrome --dump-dom "file://$work/$2.html" >"$work/$2.dom" || fail "chromium could not load $2.html"
  dom="$work/$2.dom"
}

# ---- a rich run: model call, allowed and denied permissions, tool calls that
# pass and fail, an error, a failed finish.
rich="$work/rich.traceframe"
"$bin" init --file "$rich" --run-id smoke-browser-run >/dev/null
"$bin" record --file "$rich" --kind model.call --payload '{"provider":"openai","model":"gpt-5.5","purpose":"plan the change","duration_ms":1200,"usage":{"input_tokens":15000,"output_tokens":800,"cache_read_input_tokens":12000}}' >/dev/null
"$bin" record --file "$rich" --kind model.call --payload '{"provider":"openai","model":"gpt-5.5","purpose":"review","duration_ms":800,"usage":{"input_tokens":17000,"output_tokens":400}}' >/dev/null
"$bin" record --file "$rich" --kind permission.decision --payload '{"capability":"fs.write:src/","decision":"allow","source":"policy"}' >/dev/null
for i in 1 2 3 4 5 6; do
  "$bin" record --file "$rich" --kind tool.call --payload "{\"tool\":\"shell\",\"command\":\"make step-$i\",\"argv\":[\"make\",\"step-$i\"]}" >/dev/null
  sleep "0.0$((i + 2))"  # results carry no duration_ms: the bars show real call-to-result times
  if [ "$i" = 4 ]; then
    "$bin" record --file "$rich" --kind tool.result --payload "{\"tool\":\"shell\",\"command\":\"make step-$i\",\"success\":false,\"exit_code\":2,\"stderr_preview\":\"step $i failed\"}" >/dev/null
  else
    "$bin" record --file "$rich" --kind tool.result --payload "{\"tool\":\"shell\",\"command\":\"make step-$i\",\"success\":true,\"exit_code\":0,\"stdout_preview\":\"ok\"}" >/dev/null
  fi
done
"$bin" record --file "$rich" --kind tool.call --payload '{"tool":"Read","command":"README.md"}' >/dev/null
"$bin" record --file "$rich" --kind tool.result --payload '{"tool":"Read","command":"README.md","success":true,"duration_ms":12}' >/dev/null
"$bin" record --file "$rich" --kind permission.decision --payload '{"capability":"git.push:main","decision":"deny","reason":"denied by policy"}' >/dev/null
"$bin" record --file "$rich" --kind error --payload '{"message":"push blocked","action":"turn the failure into a regression test"}' >/dev/null
"$bin" finish --file "$rich" --status failed --summary "step 4 failed" >/dev/null
"$bin" render --file "$rich" --html "$work/rich.html" >/dev/null
events=$(grep -c . "$rich")

chrome --dump-dom "file://$work/rich.html" >"$work/rich.dom" || fail "chromium could not load rich.html: $(tail -3 "$work/chrome.log")"
dom="$work/rich.dom"
grep -q 'smoke-browser-run' "$dom" || fail "run id missing from the DOM"
grep -q 'class="badge lg bad">failed<' "$dom" || fail "status badge missing from the DOM"
grep -q "<span class=\"num\">$events</span><span class=\"lbl\">events</span>" "$dom" || fail "event count card missing"
grep -q '<span class="num">7</span><span class="lbl">tool calls</span>' "$dom" || fail "tool call count missing"
grep -q '<span class="num">1</span><span class="lbl">tool failures</span>' "$dom" || fail "tool failure count missing"
grep -q '<span class="num">1</span><span class="lbl">errors</span>' "$dom" || fail "error count missing"
[ "$(grep -o '<li class="event ' "$dom" | wc -l)" = "$events" ] || fail "not every event is in the DOM"
grep -q 'Rendered by traceframe' "$dom" || fail "the page did not parse to its end"
grep -q 'class="bar bad"' "$dom" || fail "the failed tool call has no red bar"
grep -q 'denied by policy' "$dom" || fail "deny reason missing"
# The reviewer's sections (issue 18).
grep -q '<h2>Token usage</h2>' "$dom" || fail "token usage section missing"
grep -q '<td class="n">32,000</td>' "$dom" || fail "the run's input tokens are not in the usage table"
grep -q '<code>gpt-5.5</code> <a class="seq-link" href="#seq-1">#1</a></td><td class="n">2</td>' "$dom" ||
  fail "per-model row missing"
grep -q '<td class="n">1.00 s</td>' "$dom" || fail "median model latency missing"
grep -q '<h2>Policy check</h2>' "$dom" || fail "policy verdict section missing"
grep -q 'class="badge lg bad">1 violation(s)<' "$dom" || fail "policy verdict is not the failing one"
grep -q '<code>unresolved_deny</code>' "$dom" || fail "the violation is not listed"
grep -q 'class="pair"><a class="seq-link" href="#seq-' "$dom" || fail "a tool call does not show its result"
grep -q '<details class="out" open=""><summary>stderr' "$dom" || fail "the failure's stderr is not open"
grep -q '<a href="#seq-' "$dom" || fail "bars do not link to their events"
grep -q '<input type="radio" name="filter" class="fl" id="f-problem"' "$dom" || fail "filters missing"
chrome --window-size=1200,2200 --screenshot="$artifacts/render-screenshot.png" "file://$work/rich.html" >/dev/null ||
  fail "screenshot failed: $(tail -3 "$work/chrome.log")"
[ "$(head -c 4 "$artifacts/render-screenshot.png" | tail -c 3)" = "PNG" ] || fail "screenshot is not a PNG"

# The CSS-only filter really hides events: the same page with "errors only"
# checked (a copy with the radio moved; the browser then lays it out) is
# shorter, and its screenshot shows only the failures.
sed -e 's/ id="f-all" checked/ id="f-all"/' -e 's/ id="f-problem"/ id="f-problem" checked/' \
  "$work/rich.html" >"$work/rich-errors.html"
grep -q 'id="f-problem" checked' "$work/rich-errors.html" || fail "could not check the errors-only filter"
chrome --window-size=1200,2200 --screenshot="$artifacts/render-errors-only-screenshot.png" "file://$work/rich-errors.html" >/dev/null ||
  fail "errors-only screenshot failed"
# A print to PDF lays the page out in full: fewer pages when events are hidden.
chrome --no-pdf-header-footer --print-to-pdf="$work/all.pdf" "file://$work/rich.html" >/dev/null || fail "pdf of the page failed"
chrome --no-pdf-header-footer --print-to-pdf="$work/errors.pdf" "file://$work/rich-errors.html" >/dev/null || fail "pdf of the filtered page failed"
pages() { grep -a -o '/Count [0-9]*' "$1" | head -1 | grep -o '[0-9]*$' || echo 0; }
[ "$(pages "$work/errors.pdf")" -lt "$(pages "$work/all.pdf")" ] ||
  fail "the errors-only filter hid nothing ($(pages "$work/errors.pdf") vs $(pages "$work/all.pdf") pages)"

# ---- a hook session (as `hook ingest` records one): host context, file
# paths shown as paths, no "exit —" badge (hooks send no exit codes).
session="$work/session.traceframe"
printf '%s\n' '{"session_id":"sess-smoke","hook_event_name":"SessionStart","source":"startup","model":"claude-sonnet-4-5","cwd":"/home/dev/proj"}' |
  "$bin" hook ingest --dir "$work/runs" --source claude-code >/dev/null 2>&1 || fail "hook ingest (SessionStart) failed"
printf '%s\n' '{"session_id":"sess-smoke","hook_event_name":"PreToolUse","tool_name":"Read","tool_use_id":"t1","tool_input":{"file_path":"/home/dev/proj/src/main.cc"},"cwd":"/home/dev/proj"}' |
  "$bin" hook ingest --dir "$work/runs" --source claude-code >/dev/null 2>&1 || fail "hook ingest (PreToolUse) failed"
printf '%s\n' '{"session_id":"sess-smoke","hook_event_name":"PostToolUse","tool_name":"Read","tool_use_id":"t1","tool_input":{"file_path":"/home/dev/proj/src/main.cc"},"tool_response":{"type":"text"},"cwd":"/home/dev/proj"}' |
  "$bin" hook ingest --dir "$work/runs" --source claude-code >/dev/null 2>&1 || fail "hook ingest (PostToolUse) failed"
printf '%s\n' '{"session_id":"sess-smoke","hook_event_name":"SessionEnd","reason":"exit","cwd":"/home/dev/proj"}' |
  "$bin" hook ingest --dir "$work/runs" --source claude-code >/dev/null 2>&1 || fail "hook ingest (SessionEnd) failed"
session="$(ls "$work"/runs/*.traceframe | head -1)"
[ -f "$session" ] || fail "hook ingest wrote no trace"
render_and_load "$session" session
grep -q '<h2>Session</h2>' "$dom" || fail "host context missing from the hook session"
grep -q '<code class="chip">claude-code</code>' "$dom" || fail "host missing"
grep -q '<code class="chip">sess-smoke</code>' "$dom" || fail "session id missing"
grep -q '<code class="chip">claude-sonnet-4-5</code>' "$dom" || fail "model missing"
grep -q '<code class="path">/home/dev/proj/src/main.cc</code>' "$dom" || fail "the file path is not shown as a path"
grep -q 'exit —' "$dom" && fail "an exit badge on a host that sends no exit codes"
chrome --window-size=1200,1600 --screenshot="$artifacts/render-hook-session-screenshot.png" "file://$work/session.html" >/dev/null ||
  fail "hook session screenshot failed"

# ---- a long run: 300 tool calls give a table of the slowest and failed
# calls, not 300 slivers.
long="$work/long.traceframe"
{
  printf '{"version":1,"run_id":"run-long","event_id":"e0","kind":"run.started","ts_ms":1795600000000,"seq":0,"payload":{}}\n'
  for i in $(seq 1 300); do
    ok=true; [ $((i % 60)) = 0 ] && ok=false
    printf '{"version":1,"run_id":"run-long","event_id":"c%d","kind":"tool.call","ts_ms":%d,"seq":%d,"payload":{"tool":"shell","command":"step %d"}}\n' "$i" $((1795600000000 + i * 100)) $((2 * i - 1)) "$i"
    printf '{"version":1,"run_id":"run-long","event_id":"r%d","kind":"tool.result","ts_ms":%d,"seq":%d,"payload":{"tool":"shell","command":"step %d","success":%s,"duration_ms":%d}}\n' "$i" $((1795600000000 + i * 100 + 50)) $((2 * i)) "$i" "$ok" $(( (i * 37) % 97 ))
  done
  printf '{"version":1,"run_id":"run-long","event_id":"f","kind":"run.finished","ts_ms":1795600031000,"seq":601,"payload":{"status":"success"}}\n'
} >"$long"
render_and_load "$long" long
grep -q '300 tool calls: too many for a bar each' "$dom" || fail "long run has no slowest/failed table"
grep -q '<h3>Slowest</h3>' "$dom" || fail "slowest table missing"
grep -q '<h3>Failed</h3>' "$dom" || fail "failed table missing"
grep -q 'class="bar ' "$dom" && fail "the long run still draws slivers"
chrome --window-size=1200,2000 --screenshot="$artifacts/render-long-run-screenshot.png" "file://$work/long.html" >/dev/null ||
  fail "long run screenshot failed"

# ---- a hostile run: markup in the run id, commands, outputs, decisions.
evil='<img src=x onerror=alert(1)>'
hostile="$work/hostile.traceframe"
"$bin" init --file "$hostile" --run-id "$evil" >/dev/null
"$bin" record --file "$hostile" --kind tool.call --payload "{\"tool\":\"$evil\",\"command\":\"$evil\",\"argv\":[\"$evil\"]}" >/dev/null
"$bin" record --file "$hostile" --kind tool.result --payload "{\"tool\":\"$evil\",\"command\":\"$evil\",\"success\":false,\"output\":\"$evil\",\"error\":\"$evil\"}" >/dev/null
"$bin" record --file "$hostile" --kind permission.decision --payload "{\"capability\":\"$evil\",\"decision\":\"$evil\",\"reason\":\"\\\"><img src=x onerror=alert(2)>\"}" >/dev/null
"$bin" record --file "$hostile" --kind error --payload '{"message":"<script>alert(3)</script> & </pre></details><b>bold</b>"}' >/dev/null
"$bin" finish --file "$hostile" --status "$evil" >/dev/null
"$bin" render --file "$hostile" --html "$work/hostile.html" >/dev/null
chrome --dump-dom "file://$work/hostile.html" >"$work/hostile.dom" || fail "chromium could not load hostile.html"
dom="$work/hostile.dom"
# An element the browser created is serialized with quoted attributes; text
# (and attribute text) never is.
if grep -q '<img src="x"' "$dom" || grep -q 'onerror="' "$dom"; then fail "an <img> element was injected"; fi
grep -q '<script' "$dom" && fail "a <script> element was injected"
grep -q '<b>bold</b>' "$dom" && fail "a <b> element was injected"
grep -q '&lt;img src=x onerror=alert(1)&gt;' "$dom" || fail "the hostile payload is not shown as text"
grep -q '&lt;script&gt;alert(3)&lt;/script&gt;' "$dom" || fail "the script text is not shown"
grep -q 'Rendered by traceframe' "$dom" || fail "the hostile page did not parse to its end"
chrome --window-size=1200,1600 --screenshot="$artifacts/render-hostile-screenshot.png" "file://$work/hostile.html" >/dev/null ||
  fail "hostile screenshot failed"

echo "screenshots: $artifacts/render-{,errors-only-,hook-session-,long-run-,hostile-}screenshot.png"
echo "traceframe render-browser smoke: ok"
