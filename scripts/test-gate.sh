#!/usr/bin/env bash
# The whole test gate, as CI runs it (.ci/run). Stages print a banner and
# their duration; the first failure stops the gate with a non-zero exit.
#
# Local use: skip stages with TRACEFRAME_GATE_SKIP, a comma-separated list of
#   asan, tsan, fuzz, coverage   (e.g. TRACEFRAME_GATE_SKIP=asan,tsan,fuzz).
# CI sets nothing and runs every stage. Other knobs:
#   TRACEFRAME_FUZZ_SECONDS  time per libFuzzer target (default 45)
#   TRACEFRAME_JOBS          build and ctest parallelism (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
export TRACEFRAME_JOBS="${TRACEFRAME_JOBS:-$(nproc)}"
skip="${TRACEFRAME_GATE_SKIP:-}"
gate_start=$(date +%s)
stage_start=$gate_start
stage() {
  local now
  now=$(date +%s)
  [ "$stage_start" = "$now" ] || printf -- '-- stage took %ss\n' "$((now - stage_start))"
  stage_start=$now
  printf '\n==== %s ====\n' "$*"
}
skipped() {
  case ",$skip," in *",$1,"*) echo "skipped (TRACEFRAME_GATE_SKIP=$skip)"; return 0 ;; esac
  return 1
}
run_smokes() {
  export TRACEFRAME_BIN="$1"
  for smoke in scripts/*-smoke.sh; do
    [ -e "$smoke" ] || continue
    echo "-- $smoke"
    bash "$smoke"
  done
}

stage "dependencies"
bash scripts/install-deps.sh

stage "clang-format"
bash scripts/check-format.sh

stage "build (warnings as errors) + unit and CLI tests"
bash scripts/build.sh release
ctest --test-dir build/release --output-on-failure -j "$TRACEFRAME_JOBS" --no-tests=error

stage "shell smokes"
run_smokes "$PWD/build/release/cli/traceframe"

# A real ClickHouse (Debian's clickhouse-server, loopback ports, temp dir):
# traceframe ship end to end, kill -9, server restart, a two-shard cluster.
stage "ClickHouse: traceframe ship against real servers"
TRACEFRAME_BIN="$PWD/build/release/cli/traceframe" bash scripts/clickhouse-gate.sh

stage "ASan + UBSan: all tests"
if ! skipped asan; then
  bash scripts/build.sh asan
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan --output-on-failure -j "$TRACEFRAME_JOBS"
fi

# Concurrency tests are found by name: every test of the recorder, of
# concurrent appenders and of parallel verify has Concurrent, Parallel,
# Recorder or Thread in its name.
stage "TSan: concurrent tests"
if ! skipped tsan; then
  bash scripts/build.sh tsan
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan-suppressions.txt" \
    ctest --test-dir build/tsan --output-on-failure -j "$TRACEFRAME_JOBS" \
      -R 'Concurrent|Parallel|Recorder|Thread' --no-tests=error
fi

stage "libFuzzer targets (${TRACEFRAME_FUZZ_SECONDS:-45} s each)"
if ! skipped fuzz; then
  bash scripts/build.sh fuzz
  for src in fuzz/*_fuzz.cc; do
    name=$(basename "$src" .cc)
    corpus="fuzz/corpus/$name"
    work=$(mktemp -d)
    # A target fuzzed without its seed corpus starts from nothing and proves
    # little: the corpus folder must be named exactly like the target.
    if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
      echo "fuzz target $name has no corpus in $corpus" >&2
      exit 1
    fi
    cp -r "$corpus/." "$work/"
    echo "-- $name"
    # New inputs go to a scratch copy: the committed corpus only changes on purpose.
    if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$OLDPWD/build/fuzz/fuzz/$name" \
          -max_total_time="${TRACEFRAME_FUZZ_SECONDS:-45}" -timeout=20 -rss_limit_mb=2048 \
          -max_len=262144 -print_final_stats=1 . >"$work.log" 2>&1); then
      tail -n 80 "$work.log"
      echo "fuzz target $name failed; reproducer (crash-*) in $work" >&2
      exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|cov:' "$work.log" | tail -n 4
    rm -f "$work.log"
    rm -rf "$work"
  done
fi

stage "coverage of engine/ and cli/ (line coverage >= 80%)"
if ! skipped coverage; then
  bash scripts/build.sh coverage
  find build/coverage -name '*.gcda' -delete
  ctest --test-dir build/coverage --output-on-failure -j "$TRACEFRAME_JOBS"
  run_smokes "$PWD/build/coverage/cli/traceframe"
  # Line coverage is the enforced figure. Branch counts of lines run by many
  # processes at once can still come out garbled in gcov's text; such lines
  # are skipped rather than failing the report.
  gcovr --root . --filter 'engine/' --filter 'cli/' --exclude-unreachable-branches \
    --gcov-ignore-parse-errors --print-summary --fail-under-line 80 build/coverage | tail -n 4
fi

stage "done"
echo "gate took $(( $(date +%s) - gate_start ))s"
echo
echo "traceframe test gate: ok"
