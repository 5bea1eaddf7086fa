#!/usr/bin/env bash
# End-to-end benchmark: prints the table of docs/performance.md "Targets" for the figures this
# script can measure, each next to a baseline measured in the same run.
#
#   bash bench/run_e2e.sh [build-dir]        (default build/release)
#
# Environment:
#   TRACEFRAME_BENCH_GB=1      size of the generated trace in GiB (4 for the §9 figure)
#   TRACEFRAME_BENCH_DIR=/tmp/traceframe-bench   where traces are generated and kept
#   TRACEFRAME_BENCH_RUNS=3    repetitions of each scan (the best is reported)
#   TRACEFRAME_BENCH_RECORDS=31  `record` calls per latency sample (the median is reported)
#   TRACEFRAME_BENCH_THREADS=2 threads for the parallel figures
# The generated trace is reused while it is newer than gen_trace_tool.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
gen="$build/bench/gen_trace_tool"
base="$build/bench/baseline_tool"
bin="$build/cli/traceframe"
for tool in "$gen" "$base" "$bin"; do
  [ -x "$tool" ] || { echo "missing $tool: run scripts/build.sh release" >&2; exit 1; }
done
gb="${TRACEFRAME_BENCH_GB:-1}"
dir="${TRACEFRAME_BENCH_DIR:-/tmp/traceframe-bench}"
runs="${TRACEFRAME_BENCH_RUNS:-3}"
records="${TRACEFRAME_BENCH_RECORDS:-31}"
threads="${TRACEFRAME_BENCH_THREADS:-2}"
mkdir -p "$dir"
trace="$dir/trace-${gb}g-seed1.traceframe"
open_trace="$dir/record-1g-open.traceframe"
sample="$dir/sample-256m.traceframe"

# Room for the trace, the 1 GB open trace, the 256 MB sample and its copy.
need_kb=$(( (gb + 2) * 1024 * 1024 ))
avail_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if [ ! -s "$trace" ] && [ "$avail_kb" -lt "$need_kb" ]; then
  echo "not enough space in $dir: need $((need_kb / 1024)) MB, have $((avail_kb / 1024)) MB" >&2
  exit 1
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
gbps() { awk -v bytes="$1" -v s="$2" 'BEGIN {printf "%.2f", bytes / s / 1e9}'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }  # " key=value" (gbps is not cpu_gbps)
best_of() {  # best_of N cmd... : the minimum wall time of N runs, in seconds
  local n="$1"; shift
  local best=""
  for _ in $(seq "$n"); do
    local t0 t1 t
    t0=$(now); "$@" >/dev/null; t1=$(now)
    t=$(elapsed "$t0" "$t1")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}

if [ ! -s "$trace" ] || [ "$gen" -nt "$trace" ]; then
  echo "generating $trace (${gb} GiB)..." >&2
  "$gen" --out "$trace" --bytes "${gb}G" --seed 1
fi
if [ ! -s "$sample" ] || [ "$gen" -nt "$sample" ]; then
  "$gen" --out "$sample" --bytes 256M --seed 2
fi
bytes=$(stat -c %s "$trace")
cat "$trace" "$sample" >/dev/null  # warm the page cache: every figure is a hot-cache figure

echo "measuring..." >&2
t_wc=$(best_of "$runs" wc -l "$trace")
pm1=$("$base" parse-many --file "$trace" --threads 1 --repeat "$runs")
pmn=$("$base" parse-many --file "$trace" --threads "$threads" --repeat "$runs")
v1=$("$base" verify --file "$trace" --threads 1 --repeat "$runs")
vn=$("$base" verify --file "$trace" --threads "$threads" --repeat "$runs")
# The summary rows measure the full scan: without TRACEFRAME_INDEX=off the
# first run would write <trace>.idx and the others would read it in a
# millisecond (bench/index_bench.cc measures that case).
sm=$(TRACEFRAME_INDEX=off "$base" summary --file "$trace" --repeat "$runs")
t_cli_verify=$(best_of "$runs" "$bin" verify --file "$trace" --threads "$threads")
t_cli_summary=$(TRACEFRAME_INDEX=off best_of "$runs" "$bin" summary --file "$trace")
"$bin" verify --file "$trace" >/dev/null || { echo "the generated trace does not verify" >&2; exit 1; }

# Heap: peak heap of the CLI verify, from heaptrack when installed (mapped
# file pages are not heap and are not counted).
heap_mb="n/a"
if command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
  rm -f "$dir"/heaptrack.*
  heaptrack -o "$dir/heaptrack.verify" "$bin" verify --file "$trace" --threads "$threads" \
    >/dev/null 2>&1 || true
  ht=$(ls "$dir"/heaptrack.verify* 2>/dev/null | head -1 || true)
  if [ -n "$ht" ]; then
    heap_mb=$(heaptrack_print -f "$ht" 2>/dev/null |
              sed -n 's/^peak heap memory consumption: *\(.*\)$/\1/p' | head -1)
  fi
fi

# jq reads about 0.1 GB/s: measured on the 256 MB sample.
sample_bytes=$(stat -c %s "$sample")
jq_gbps="n/a"
if command -v jq >/dev/null; then
  t_jq=$(best_of 1 jq -c empty "$sample")
  jq_gbps=$(gbps "$sample_bytes" "$t_jq")
fi
ws=$("$base" write-sync --file "$sample" --out "$dir/write-sync.out" --batch-bytes 65536)
rm -f "$dir/write-sync.out"

# record latency: a 1-event trace vs a 1 GiB open trace, median of N calls.
small="$dir/record-small.traceframe"
"$bin" init --file "$small" --run-id small --force >/dev/null
"$gen" --out "$open_trace" --bytes 1G --seed 3 --open 2>/dev/null
cat "$open_trace" >/dev/null
median_record() {
  local file="$1" samples=()
  for _ in $(seq "$records"); do
    local t0 t1
    t0=$(now)
    "$bin" record --file "$file" --kind tool.call --payload '{"tool":"bash","input":{"command":"ls"}}' >/dev/null
    t1=$(now)
    samples+=("$(elapsed "$t0" "$t1")")
    # Keep the small trace at one event plus the last record.
    [ "$file" = "$small" ] && "$bin" init --file "$small" --run-id small --force >/dev/null
  done
  printf '%s\n' "${samples[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
rec_small=$(median_record "$small")
rec_big=$(median_record "$open_trace")

# Instructions (callgrind): the same work counted the same way however loaded
# the machine is. An 8 MiB trace of the same generator, one thread each.
instr_pm="n/a"; instr_v="n/a"
if command -v valgrind >/dev/null; then
  small_trace="$dir/trace-8m-seed1.traceframe"
  if [ ! -s "$small_trace" ] || [ "$gen" -nt "$small_trace" ]; then
    "$gen" --out "$small_trace" --bytes 8M --seed 1 >/dev/null 2>&1
  fi
  ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' | tail -1
  }
  instr_pm=$(ir "$base" parse-many --file "$small_trace" --threads 1)
  instr_v=$(ir "$base" verify --file "$small_trace" --threads 1)
fi

g_pm1=$(echo "$pm1" | field gbps); g_pmn=$(echo "$pmn" | field gbps)
g_v1=$(echo "$v1" | field gbps); g_vn=$(echo "$vn" | field gbps)
g_sm=$(echo "$sm" | field gbps)
c_pm1=$(echo "$pm1" | field cpu_gbps); c_pmn=$(echo "$pmn" | field cpu_gbps)
c_v1=$(echo "$v1" | field cpu_gbps); c_vn=$(echo "$vn" | field cpu_gbps)
c_sm=$(echo "$sm" | field cpu_gbps)
g_wc=$(gbps "$bytes" "$t_wc")
g_cli_v=$(gbps "$bytes" "$t_cli_verify"); g_cli_s=$(gbps "$bytes" "$t_cli_summary")
ws_eps=$(echo "$ws" | field events_per_s); ws_gbps=$(echo "$ws" | field gbps)
ms() { awk -v s="$1" 'BEGIN {printf "%.2f ms", s * 1000}'; }

cat <<EOF
## traceframe end-to-end benchmark

- trace: $trace ($bytes bytes, $(echo "$vn" | field events) events), hot page cache
- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GB RAM
- threads for parallel figures: $threads; best of $runs runs; record: median of $records calls

GB/s is bytes per wall-clock second; GB/cpu-s is bytes per CPU second (user +
system, all threads), which other processes on a shared machine disturb less.

| work | traceframe | baseline (same run) | ratio | target |
|---|---|---|---|---|
| verify, $threads threads (library) | $g_vn GB/s; $c_vn GB/cpu-s | parse_many $threads threads: $g_pmn GB/s; $c_pmn GB/cpu-s | $(ratio "$g_vn" "$g_pmn")x wall; $(ratio "$c_vn" "$c_pmn")x cpu | >= 3 GB/s, >= 0.75x |
| verify, 1 thread (library) | $g_v1 GB/s; $c_v1 GB/cpu-s | parse_many 1 thread: $g_pm1 GB/s; $c_pm1 GB/cpu-s | $(ratio "$g_v1" "$g_pm1")x wall; $(ratio "$c_v1" "$c_pm1")x cpu | |
| \`traceframe verify --threads $threads\` (process) | $g_cli_v GB/s | parse_many $threads threads $g_pmn GB/s | $(ratio "$g_cli_v" "$g_pmn")x | |
| summary, all cores (library) | $g_sm GB/s; $c_sm GB/cpu-s | parse_many $threads threads: $g_pmn GB/s; $c_pmn GB/cpu-s | $(ratio "$g_sm" "$g_pmn")x wall; $(ratio "$c_sm" "$c_pmn")x cpu | >= 3 GB/s, >= 0.75x |
| \`traceframe summary\` (process, no index) | $g_cli_s GB/s | parse_many $threads threads $g_pmn GB/s | $(ratio "$g_cli_s" "$g_pmn")x | |
| verify heap peak (heaptrack) | $heap_mb | file size $((bytes / 1048576)) MB | | < 64 MB |
| one \`record\` on a 1 GiB trace | $(ms "$rec_big") | same on a 1-event trace $(ms "$rec_small") | $(ratio "$rec_big" "$rec_small")x | <= 1.5x |
| context: \`wc -l\` | $g_wc GB/s | | verify/wc $(ratio "$g_vn" "$g_wc")x | |
| context: \`jq -c empty\` (256 MB sample) | $jq_gbps GB/s | | verify/jq $(ratio "$g_vn" "$jq_gbps")x | |
| baseline for the recorder: write + fdatasync per 64 KB batch (256 MB sample) | | $ws_gbps GB/s, $ws_eps events/s | | |
| verify, 1 thread, instructions (callgrind, 8 MiB trace) | $instr_v | parse_many: $instr_pm | $(ratio "$instr_pm" "$instr_v")x (parse_many / verify) | >= 0.9x |
EOF

# Start-up of the binary (hook ingest) in instructions, against its budget.
echo
if command -v valgrind >/dev/null && [ -x "$build/bench/simdjson_noop_tool" ]; then
  bash bench/startup_instructions.sh "$build" || echo "(start-up instructions over budget: see above)"
else
  echo "start-up instructions: n/a (needs valgrind and $build/bench/simdjson_noop_tool)"
fi
