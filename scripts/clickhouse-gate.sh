#!/usr/bin/env bash
# The ClickHouse stage of the test gate (scripts/test-gate.sh): `traceframe
# ship` against real Debian clickhouse-server processes on loopback ports,
# started and stopped by scripts/clickhouse-server.sh in a temp dir.
#
#   1. ship a directory: FINAL counts and sums match `ledger`;
#   2. ship again: nothing new; append: only the new rows;
#   3. a refused statement (unknown database, wrong password) stops with
#      ClickHouse's message; a down server gives exit 1, checkpoints unchanged;
#   4. kill -9 `ship` mid-way 20 times, then FINAL counts are exact;
#   5. stop the server under `ship --follow`, append, restart: nothing lost;
#   6. a two-shard cluster (two more servers, Distributed tables) answers the
#      fleet query "failure rate per tool" with the figures of the traces.
# TRACEFRAME_BIN names the traceframe binary (traceframe-ship beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${TRACEFRAME_BIN:-$PWD/build/release/cli/traceframe}"
GEN="${TRACEFRAME_GEN:-$(dirname "$BIN")/../bench/gen_trace_tool}"
SERVER="$PWD/scripts/clickhouse-server.sh"
work="$(mktemp -d)"
base=$((20000 + (RANDOM % 2000) * 10))
A_HTTP=$base A_TCP=$((base + 1)) B_HTTP=$((base + 2)) B_TCP=$((base + 3)) C_HTTP=$((base + 4)) C_TCP=$((base + 5))
cleanup() {
  for s in a b c; do bash "$SERVER" stop "$work/ch-$s" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "clickhouse-gate: FAIL: $*" >&2; exit 1; }
# q PORT SQL: one statement over HTTP; prints the answer, fails on an error.
q() { curl -sS --fail-with-body --max-time 60 "http://127.0.0.1:$1/" --data-binary "$2"; }
eq() { [ "$2" = "$3" ] || fail "$1: expected $3, got $2"; }
ship() { "$BIN" ship "$@"; }

bash "$SERVER" start "$work/ch-a" "$A_HTTP" "$A_TCP"
A="http://127.0.0.1:$A_HTTP"
echo "server A: $(q "$A_HTTP" 'SELECT version()') on $A"

# -- a runs directory: 24 closed traces of different sizes, 2 open ones.
runs="$work/runs"
mkdir -p "$runs/sub"
for i in $(seq 1 24); do
  "$GEN" --out "$runs/sub/t$i.traceframe" --events $((40 + i * 13)) --seed "$i" 2>/dev/null
done
for i in 1 2; do "$GEN" --out "$runs/open$i.traceframe" --events 30 --seed $((100 + i)) --open 2>/dev/null; done
ledger_sum() {  # ledger_sum FIELD: the field summed over a fresh ledger of $runs
  "$BIN" ledger rebuild --dir "$runs" --out "$work/ledger.traceframe" >/dev/null
  "$BIN" ledger list --file "$work/ledger.traceframe" --json | jq "[.entries[].$1 // 0] | add"
}

echo "-- [${SECONDS}s] 1. ship a directory; counts and sums match the ledger"
ship --clickhouse "$A" --dir "$runs" --create-tables --json >"$work/s1.json"
events=$(ledger_sum event_count)
eq "events shipped" "$(jq .events "$work/s1.json")" "$events"
eq "FINAL events" "$(q "$A_HTTP" 'SELECT count() FROM traceframe.events FINAL')" "$events"
eq "runs rows" "$(q "$A_HTTP" 'SELECT count() FROM traceframe.runs FINAL')" 26
eq "sum event_count" "$(q "$A_HTTP" 'SELECT sum(event_count) FROM traceframe.runs FINAL')" "$events"
failures=$(ledger_sum tool_failures)
eq "tool failures (events)" \
  "$(q "$A_HTTP" "SELECT count() FROM traceframe.events FINAL WHERE kind = 'tool.result' AND success = 0")" "$failures"
eq "tool failures (runs)" "$(q "$A_HTTP" 'SELECT sum(tool_failures) FROM traceframe.runs FINAL')" "$failures"
eq "model calls" "$(q "$A_HTTP" "SELECT count() FROM traceframe.events FINAL WHERE kind = 'model.call'")" \
  "$(ledger_sum model_calls)"

eq "input tokens (runs)" "$(q "$A_HTTP" 'SELECT sum(input_tokens) FROM traceframe.runs FINAL')" \
  "$(ledger_sum usage.input_tokens)"
echo "-- [${SECONDS}s] 2. ship again: nothing new; append: only the new rows"
ship --clickhouse "$A" --dir "$runs" --json >"$work/s2.json"
eq "second ship" "$(jq .events "$work/s2.json")" 0
eq "raw rows after a second ship" "$(q "$A_HTTP" 'SELECT count() FROM traceframe.events')" "$events"
for k in 1 2 3; do "$BIN" record --file "$runs/open1.traceframe" --kind tool.call --payload "{\"tool\":\"Bash\",\"n\":$k}" 2>/dev/null; done
"$BIN" record --file "$runs/open1.traceframe" --kind run.finished --payload '{"status":"success"}' 2>/dev/null
ship --clickhouse "$A" --dir "$runs" --json >"$work/s3.json"
eq "appended rows shipped" "$(jq .events "$work/s3.json")" 4
eq "raw rows after append" "$(q "$A_HTTP" 'SELECT count() FROM traceframe.events')" $((events + 4))
eq "run status updated" "$(q "$A_HTTP" "SELECT status FROM traceframe.runs FINAL WHERE trace_path LIKE '%open1.traceframe'")" success

echo "-- [${SECONDS}s] 3. refusals and a down server"
set +e
out=$(ship --clickhouse "$A" --database nosuchdb --dir "$runs" 2>&1); rc=$?
set -e
eq "unknown database exit" "$rc" 1
grep -q "doesn't exist" <<<"$out" || fail "unknown database: no ClickHouse message in: $out"
printf 'wrong\n' >"$work/pw"
set +e
out=$(ship --clickhouse "$A" --database tfpw --dir "$runs" --user shipper --password-file "$work/pw" 2>&1); rc=$?
set -e
eq "wrong password exit" "$rc" 1
grep -q "Wrong password" <<<"$out" || fail "wrong password: no ClickHouse message in: $out"
printf 's3cret-test\n' >"$work/pw"
ship --clickhouse "$A" --database tfpw --create-tables --dir "$runs/sub" --user shipper --password-file "$work/pw" >/dev/null
checkpoints_before=$(find "$runs" -name '*.ship-*' -exec cat {} + | md5sum)
set +e
out=$(ship --clickhouse "http://127.0.0.1:$C_HTTP" --dir "$runs" 2>&1); rc=$?
set -e
eq "down server exit" "$rc" 1
grep -q "not reachable" <<<"$out" || fail "down server: unclear error: $out"
eq "checkpoints after a failed ship" "$(find "$runs" -name '*.ship-*' -exec cat {} + | md5sum)" "$checkpoints_before"

echo "-- [${SECONDS}s] 4. kill -9 ship mid-way 20 times; FINAL counts exact"
kills="$work/kills"
mkdir -p "$kills"
for i in $(seq 1 8); do "$GEN" --out "$kills/k$i.traceframe" --events 1500 --seed $((200 + i)) 2>/dev/null; done
kill_events=$((8 * 1500))
killed=0
for i in $(seq 1 20); do
  # "$BIN" itself in the background (not a function: $! must be the
  # process that execs traceframe-ship, or kill -9 would hit a subshell).
  "$BIN" ship --clickhouse "$A" --database tfkill --create-tables --dir "$kills" --batch-bytes 16384 >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 4 + 1))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
done
ship --clickhouse "$A" --database tfkill --dir "$kills" --json >"$work/s4.json"
raw=$(q "$A_HTTP" 'SELECT count() FROM tfkill.events')
eq "FINAL events after kill -9" "$(q "$A_HTTP" 'SELECT count() FROM tfkill.events FINAL')" "$kill_events"
eq "distinct keys" "$(q "$A_HTTP" 'SELECT uniqExact(run_id, seq, event_id) FROM tfkill.events')" "$kill_events"
eq "FINAL runs after kill -9" "$(q "$A_HTTP" 'SELECT count() FROM tfkill.runs FINAL')" 8
echo "killed $killed of 20 ships mid-way; raw rows $raw (duplicates collapse), FINAL $kill_events"

echo "-- [${SECONDS}s] 5. server stopped under ship --follow, restarted: nothing lost"
follow="$work/follow"
mkdir -p "$follow"
for i in 1 2 3; do "$GEN" --out "$follow/f$i.traceframe" --events 1500 --seed $((300 + i)) 2>/dev/null; done
"$GEN" --out "$follow/grow.traceframe" --events 20 --seed 399 --open 2>/dev/null
"$BIN" ship --clickhouse "$A" --database tffollow --create-tables --dir "$follow" --follow --interval 0.2 \
  --batch-bytes 16384 --json >"$work/s5.json" 2>"$work/s5.err" &
follower=$!
sleep 0.3
bash "$SERVER" stop "$work/ch-a"
"$GEN" --out "$follow/f4.traceframe" --events 700 --seed 304 2>/dev/null
for k in 1 2 3 4 5; do "$BIN" record --file "$follow/grow.traceframe" --kind tool.call --payload "{\"tool\":\"Edit\",\"k\":$k}" 2>/dev/null; done
sleep 1
bash "$SERVER" start "$work/ch-a" "$A_HTTP" "$A_TCP"
expect=$((3 * 1500 + 700 + 20 + 5))
got=0
for _ in $(seq 1 300); do
  got=$(q "$A_HTTP" 'SELECT count() FROM tffollow.events FINAL' 2>/dev/null || echo 0)
  [ "$got" = "$expect" ] && break
  sleep 0.2
done
kill -TERM "$follower"
wait "$follower" || fail "ship --follow exited non-zero: $(cat "$work/s5.err")"
eq "FINAL events after restart" "$got" "$expect"
grep -q "retrying" "$work/s5.err" || fail "--follow did not report the outage: $(cat "$work/s5.err")"
echo "follow: $(jq -c '{events,retries,passes}' "$work/s5.json")"

echo "-- [${SECONDS}s] 6. two-shard cluster: Distributed tables answer a fleet query"
cat >"$work/remote.xml" <<XML
<remote_servers>
  <tf2>
    <shard><replica><host>127.0.0.1</host><port>$B_TCP</port></replica></shard>
    <shard><replica><host>127.0.0.1</host><port>$C_TCP</port></replica></shard>
  </tf2>
</remote_servers>
XML
bash "$SERVER" start "$work/ch-b" "$B_HTTP" "$B_TCP" "$work/remote.xml"
bash "$SERVER" start "$work/ch-c" "$C_HTTP" "$C_TCP" "$work/remote.xml"
# The cluster DDL of docs/clickhouse.md, without ON CLUSTER / Replicated*
# (those need ZooKeeper): the same statements run on each server.
for port in "$B_HTTP" "$C_HTTP"; do
  q "$port" 'CREATE DATABASE IF NOT EXISTS traceframe'
  "$BIN" ship --clickhouse "http://127.0.0.1:$port" --create-tables --file /dev/null >/dev/null 2>&1 || true
  q "$port" 'RENAME TABLE traceframe.events TO traceframe.events_local, traceframe.runs TO traceframe.runs_local'
  q "$port" "CREATE TABLE traceframe.events AS traceframe.events_local ENGINE = Distributed(tf2, traceframe, events_local, cityHash64(run_id))"
  q "$port" "CREATE TABLE traceframe.runs AS traceframe.runs_local ENGINE = Distributed(tf2, traceframe, runs_local, cityHash64(run_id))"
done
B="http://127.0.0.1:$B_HTTP/?insert_distributed_sync=1"
ship --clickhouse "$B" --dir "$runs" --json >"$work/s6.json"
total=$(ledger_sum event_count)
eq "cluster events" "$(q "$B_HTTP" 'SELECT count() FROM traceframe.events FINAL')" "$total"
on_b=$(q "$B_HTTP" 'SELECT count() FROM traceframe.events_local')
on_c=$(q "$C_HTTP" 'SELECT count() FROM traceframe.events_local')
[ "$on_b" -gt 0 ] && [ "$on_c" -gt 0 ] || fail "one shard is empty (B $on_b, C $on_c)"
eq "shards add up" "$((on_b + on_c))" "$total"
fleet=$(q "$C_HTTP" "SELECT tool, toString(countIf(success = 0)), toString(count()) FROM traceframe.events FINAL
  WHERE kind = 'tool.result' GROUP BY tool ORDER BY tool FORMAT TSV")
# The same figures from the trace files themselves (the failure rule of
# docs/format.md: success:false, or a non-zero exit_code without success).
local_figures=$(cat $(find "$runs" -name '*.traceframe') | jq -r 'select(.kind == "tool.result") | .payload |
  [(.tool // ""), (if has("success") then (if .success == false then 1 else 0 end)
                   elif ((.exit_code | type) == "number" and .exit_code != 0) then 1 else 0 end)] | @tsv' |
  awk -F'\t' '{n[$1]++; f[$1]+=$2} END {for (t in n) printf "%s\t%d\t%d\n", t, f[t], n[t]}' | LC_ALL=C sort)
fleet_sorted=$(LC_ALL=C sort <<<"$fleet")
[ "$fleet_sorted" = "$local_figures" ] || fail "fleet query differs from the traces:
$fleet_sorted
--- traces:
$local_figures"
echo "failure rate per tool (cluster of 2 shards, B $on_b rows, C $on_c rows):"
q "$B_HTTP" "SELECT tool, countIf(success = 0) AS failures, count() AS results,
  round(failures / results, 3) AS failure_rate FROM traceframe.events FINAL
  WHERE kind = 'tool.result' GROUP BY tool ORDER BY failure_rate DESC FORMAT PrettyCompactMonoBlock"
echo "clickhouse-gate: ok (${SECONDS}s)"
