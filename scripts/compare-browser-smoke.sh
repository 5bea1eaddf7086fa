#!/usr/bin/env bash
# Loads a `compare --html` page in headless Chromium (like
# render-browser-smoke.sh): the DOM shows the verdict, the success-rate bars
# with interval whiskers, both duration strips and the per-tool table with
# its changes coloured; hostile tool names and error texts stay text. A
# screenshot is kept: ${TRACEFRAME_ARTIFACT_DIR:-build/release}/compare-screenshot.png
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TRACEFRAME_BIN:-$root/build/release/cli/traceframe}"
artifacts="${TRACEFRAME_ARTIFACT_DIR:-$root/build/release}"
fail() { echo "compare-browser smoke: FAIL: $*" >&2; exit 1; }
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
chrome() {
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$work/profile.XXXXXX")" "$@" 2>"$work/chrome.log"
}

evil='<img src=x onerror=alert(1)>'
# side, index, fails (0/1)
one_run() {
  local f="$work/$1/run-$1-$2.traceframe"
  mkdir -p "$work/$1"
  "$bin" init --file "$f" --run-id "run-$1-$2" >/dev/null
  "$bin" record --file "$f" --kind tool.call --payload "{\"tool\":\"$evil\"}" >/dev/null
  if [ "$3" = 1 ]; then
    "$bin" record --file "$f" --kind tool.result --payload "{\"tool\":\"$evil\",\"success\":false,\"duration_ms\":$((50 + $2)),\"error\":\"<script>alert(2)</script> & gone\"}" >/dev/null
    "$bin" finish --file "$f" --status failed >/dev/null
  else
    "$bin" record --file "$f" --kind tool.result --payload "{\"tool\":\"$evil\",\"success\":true,\"duration_ms\":$((20 + $2))}" >/dev/null
    "$bin" finish --file "$f" --status success >/dev/null
  fi
}
for i in 1 2 3 4 5 6; do
  one_run a "$i" $((i <= 3 ? 1 : 0))  # A: 3 of 6 succeed
  one_run b "$i" $((i <= 1 ? 1 : 0))  # B: 5 of 6 succeed
done
"$bin" compare --baseline a --candidate b --html "$work/compare.html" >/dev/null ||
  fail "compare --html failed"
grep -Eq '(src|href)=["'"'"']?(https?:)?//' "$work/compare.html" && fail "the page loads an external resource"

chrome --dump-dom "file://$work/compare.html" >"$work/compare.dom" ||
  fail "chromium could not load compare.html: $(tail -3 "$work/chrome.log")"
dom="$work/compare.dom"
grep -q 'id="verdict">success +33.3 pp' "$dom" || fail "verdict missing from the DOM"
[ "$(grep -o '<svg' "$dom" | wc -l)" -ge 4 ] || fail "expected 2 rate bars and 2 duration strips"
grep -q 'stroke="#000" stroke-width="2"' "$dom" || fail "no interval whisker"
grep -q '<tr class="better"><td>&lt;img src=x onerror=alert(1)&gt;</td>' "$dom" ||
  fail "the per-tool row is not coloured better (B fails less) or its name is not text"
if grep -q '<img src="x"' "$dom" || grep -q 'onerror="' "$dom"; then fail "an <img> element was injected"; fi
grep -q '<script' "$dom" && fail "a <script> element was injected"
grep -q '&lt;script&gt;alert(2)&lt;/script&gt; &amp; gone' "$dom" || fail "the error text is not shown as text"
grep -q 'Compared by traceframe' "$dom" || fail "the page did not parse to its end"
chrome --window-size=1200,1400 --screenshot="$artifacts/compare-screenshot.png" "file://$work/compare.html" >/dev/null ||
  fail "screenshot failed: $(tail -3 "$work/chrome.log")"
[ "$(head -c 4 "$artifacts/compare-screenshot.png" | tail -c 3)" = "PNG" ] || fail "screenshot is not a PNG"
echo "screenshot: $artifacts/compare-screenshot.png"
echo "traceframe compare-browser smoke: ok"
