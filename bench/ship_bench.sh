#!/usr/bin/env bash
# Throughput of `traceframe ship` into a local ClickHouse, next to
# `clickhouse-client` inserting the same rows from a JSONEachRow file, in the
# same run on the same server (docs/performance.md, "ship").
#
#   bench/ship_bench.sh [EVENTS (default 100000)] [ROUNDS (default 3)]
#
# Uses build/release (traceframe, traceframe-ship, gen_trace_tool) and starts
# its own server with scripts/clickhouse-server.sh on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-100000}"
rounds="${2:-3}"
BIN="$PWD/build/release/cli/traceframe"
GEN="$PWD/build/release/bench/gen_trace_tool"
work="$(mktemp -d)"
http=$((30000 + (RANDOM % 1000) * 2)); tcp=$((http + 1))
trap 'bash scripts/clickhouse-server.sh stop "$work/ch" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash scripts/clickhouse-server.sh start "$work/ch" "$http" "$tcp"
url="http://127.0.0.1:$http"
q() { curl -sS --fail-with-body "$url/" --data-binary "$1"; }
mkdir -p "$work/runs" "$work/empty"
"$GEN" --out "$work/runs/bench.traceframe" --events "$events" --seed 7 2>/dev/null
bytes=$(stat -c %s "$work/runs/bench.traceframe")
now() { date +%s.%N; }
best_ship=0 best_client=0
for r in $(seq 1 "$rounds"); do
  db="s$r"
  "$BIN" ship --clickhouse "$url" --database "$db" --create-tables --dir "$work/empty" >/dev/null
  find "$work/runs" -name '*.ship-*' -delete
  t0=$(now)
  "$BIN" ship --clickhouse "$url" --database "$db" --dir "$work/runs" ${SHIP_FLAGS:-} >/dev/null
  t1=$(now)
  ship_eps=$(echo "$events / ($t1 - $t0)" | bc -l)
  # The same rows, as the server holds them, inserted by clickhouse-client.
  q "SELECT * FROM $db.events FORMAT JSONEachRow" >"$work/rows.json"
  "$BIN" ship --clickhouse "$url" --database "c$r" --create-tables --dir "$work/empty" >/dev/null
  t0=$(now)
  clickhouse-client --port "$tcp" --query "INSERT INTO c$r.events FORMAT JSONEachRow" <"$work/rows.json"
  t1=$(now)
  client_eps=$(echo "$events / ($t1 - $t0)" | bc -l)
  [ "$(q "SELECT count() FROM c$r.events")" = "$events" ] || { echo "client inserted a different count" >&2; exit 1; }
  printf 'round %d: ship %.0f events/s, clickhouse-client %.0f events/s, ratio %.2fx\n' \
    "$r" "$ship_eps" "$client_eps" "$(echo "$ship_eps / $client_eps" | bc -l)"
  best_ship=$(echo "if ($ship_eps > $best_ship) $ship_eps else $best_ship" | bc -l)
  best_client=$(echo "if ($client_eps > $best_client) $client_eps else $best_client" | bc -l)
done
printf 'trace: %d events, %d bytes; best of %d rounds\n' "$events" "$bytes" "$rounds"
printf 'ship %.0f events/s, clickhouse-client %.0f events/s, ratio %.2fx (target >= 0.5x)\n' \
  "$best_ship" "$best_client" "$(echo "$best_ship / $best_client" | bc -l)"
