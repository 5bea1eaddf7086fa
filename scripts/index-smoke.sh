#!/usr/bin/env bash
# Smoke for the sidecar index (<trace>.idx): appends keep it, readers rebuild
# or extend it, and summary output never depends on it.
set -euo pipefail
bin="${TRACEFRAME_BIN:?set TRACEFRAME_BIN to the traceframe binary}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "index smoke: $*" >&2; exit 1; }
same_summary() {
  [ "$("$bin" summary --file t.traceframe 2>&1)" = "$(TRACEFRAME_INDEX=off "$bin" summary --file t.traceframe 2>&1)" ] ||
    fail "summary with the index differs from a full scan ($1)"
}

"$bin" init --file t.traceframe --run-id smoke >/dev/null
for i in 1 2 3; do
  "$bin" record --file t.traceframe --kind tool.call --payload "{\"i\":$i}" >/dev/null
done
"$bin" record --file t.traceframe --kind tool.result --payload '{"success":false}' >/dev/null
[ -s t.traceframe.idx ] || fail "appends did not write t.traceframe.idx"
"$bin" index check --file t.traceframe | grep -q 'state       ok' || fail "check after appends"
same_summary "kept by appends"

# Deleted, garbage: readers rebuild it.
rm t.traceframe.idx
same_summary "deleted"
[ -s t.traceframe.idx ] || fail "summary did not rebuild the index"
head -c 100 /dev/urandom > t.traceframe.idx
"$bin" index check --file t.traceframe >/dev/null && fail "check passed a garbage index"
same_summary "garbage"

# A foreign writer (echo >>): stale, then extended.
echo '{"version":1,"run_id":"smoke","event_id":"x","kind":"error","ts_ms":1,"seq":5,"payload":{}}' >> t.traceframe
"$bin" index check --file t.traceframe | grep -q 'state       stale' || fail "check after echo >>"
same_summary "foreign append"
"$bin" summary --file t.traceframe | grep -q '^errors: 1$' || fail "foreign event not counted"

# finish, rebuild, inspect seeks.
"$bin" finish --file t.traceframe --status success >/dev/null
"$bin" index rebuild --file t.traceframe | grep -q 'events      7' || fail "rebuild"
same_summary "closed"
"$bin" inspect --file t.traceframe --from-seq 5 --classic | head -1 | grep -q '^#005 error' || fail "from-seq"
"$bin" inspect --file t.traceframe --tail 1 --kind tool.result --classic | grep -q '^#004 tool.result' || fail "tail"
echo "traceframe index smoke: ok"
