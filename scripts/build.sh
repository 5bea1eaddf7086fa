#!/usr/bin/env bash
# Configures and builds one flavour of traceframe into build/<flavour>.
#   scripts/build.sh [release|asan|tsan|coverage|fuzz] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"; shift || true
jobs="${TRACEFRAME_JOBS:-$(nproc)}"
# Tests and benchmarks are named explicitly so that a cached choice from an
# earlier call (quickstart builds without them) never carries over silently;
# arguments given to this script come last and win.
args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRACEFRAME_BUILD_TESTS=ON -DTRACEFRAME_BUILD_BENCH=ON)
case "$flavour" in
  release)  ;;
  asan)     args+=(-DTRACEFRAME_SANITIZE=address,undefined -DTRACEFRAME_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1) ;;
  tsan)     args+=(-DTRACEFRAME_SANITIZE=thread -DTRACEFRAME_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1) ;;
  # Atomic counter updates: the concurrent tests would otherwise corrupt the
  # counts (gcov then reports negative branch counts).
  coverage) args+=(-DTRACEFRAME_COVERAGE=ON -DTRACEFRAME_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-fprofile-update=atomic) ;;
  # The library is instrumented too (fuzzer-no-link): libFuzzer is guided by
  # coverage of the engine code under test, and ASan/UBSan check it.
  fuzz)     args+=(-DTRACEFRAME_BUILD_FUZZ=ON -DTRACEFRAME_BUILD_TESTS=OFF -DTRACEFRAME_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER=clang++ -DTRACEFRAME_STATIC_ABSL=OFF -DTRACEFRAME_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link) ;;
  *) echo "unknown flavour: $flavour" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" "${args[@]}" "$@" >/dev/null
cmake --build "build/$flavour" -j "$jobs"
