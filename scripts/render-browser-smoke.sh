#!/usr/bin/env bash
# Loads rendered reports in a real browser (headless Chromium): the DOM shows
# the run id, status and counts, hostile payloads stay text (no injected
# element), and a screenshot is kept for people to look at:
#   ${TRACEFRAME_ARTIFACT_DIR:-build/release}/render-screenshot.png
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

# ---- a rich run: model call, allowed and denied permissions, tool calls that
# pass and fail, an error, a failed finish.
rich="$work/rich.traceframe"
"$bin" init --file "$rich" --run-id smoke-browser-run >/dev/null
"$bin" record --file "$rich" --kind model.call --payload '{"provider":"openai","model":"gpt-5.5","purpose":"plan the change"}' >/dev/null
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
chrome --window-size=1200,2200 --screenshot="$artifacts/render-screenshot.png" "file://$work/rich.html" >/dev/null ||
  fail "screenshot failed: $(tail -3 "$work/chrome.log")"
[ "$(head -c 4 "$artifacts/render-screenshot.png" | tail -c 3)" = "PNG" ] || fail "screenshot is not a PNG"

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

echo "screenshots: $artifacts/render-screenshot.png $artifacts/render-hostile-screenshot.png"
echo "traceframe render-browser smoke: ok"
