// `compare` over 2 x 50,000 runs from ledgers (docs/performance.md "Targets": <= 1 s) and
// `stats --group-by` over 100,000, next to their floor in the same run:
// reading the same ledgers (ReadLedger) without computing anything. Run:
//   build/release/bench/compare_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "traceframe/compare.h"
#include "traceframe/ledger.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

// A ledger of `count` runs of one variant (`side` 0 or 1), task i in run i,
// written once per size and side.
std::string LedgerFile(int count, int side) {
  const std::string path = Cat(std::filesystem::temp_directory_path().string(),
                               "/traceframe-compare-bench-v2-", count, "-", side, ".traceframe");
  if (std::filesystem::exists(path)) return path;
  std::string text;
  for (int i = 0; i < count; ++i) {
    LedgerEntry e;
    const bool b = side == 1;
    e.run_id = Cat("run-", side, "-", i);
    e.trace_path = Cat("/bench/runs/run-", side, "-", i, ".traceframe");
    // A ~ 75% success, B ~ 80%, deterministic.
    e.status = (i * 7919 % 100) < (b ? 80 : 75) ? "success" : "failed";
    e.event_count = 20;
    e.model_calls = 5;
    e.tool_calls = 8;
    e.tool_results = 8;
    e.tool_failures = static_cast<uint64_t>(i % 3 == 0);
    e.started_ms = 1764057600000 + i * 1000LL;
    e.finished_ms = e.started_ms + 30000 + (i * 104729 % 60000);
    e.duration_ms = *e.finished_ms - e.started_ms;
    e.usage.input_tokens = 20000 + static_cast<uint64_t>(i % 5000);
    e.usage.cache_read_input_tokens = 12000;
    e.usage.output_tokens = 1500;
    e.usage.reasoning_output_tokens = 300;
    e.models = {"claude-sonnet-4-5"};
    e.source = "claude-code";
    e.labels = {{"variant", b ? "b" : "a"}, {"task", Cat("task-", i)}};
    text += LedgerEntryJson(e);
    text.push_back('\n');
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

// The floor: reading both ledgers, nothing computed.
void BM_ReadLedgerFloor(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string a = LedgerFile(n, 0), b = LedgerFile(n, 1);
  for (auto _ : state) {
    auto ea = ReadLedger(a);
    auto eb = ReadLedger(b);
    if (!ea.ok() || !eb.ok()) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(ea);
    benchmark::DoNotOptimize(eb);
  }
}
BENCHMARK(BM_ReadLedgerFloor)->Arg(50000)->Unit(benchmark::kMillisecond);

// `compare --baseline A.ledger --candidate B.ledger --no-tools`: both
// ledgers read, every figure and the three reports built.
void BM_CompareFromLedger(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string pa = LedgerFile(n, 0), pb = LedgerFile(n, 1);
  for (auto _ : state) {
    auto a = LoadRunsFromLedger(pa);
    auto b = LoadRunsFromLedger(pb);
    if (!a.ok() || !b.ok()) {
      state.SkipWithError("read failed");
      break;
    }
    CompareOptions options;
    options.pair_by = "task";
    options.tools = false;
    CompareReport report = BuildCompareReport(*a, *b, options);
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_CompareFromLedger)->Arg(50000)->Unit(benchmark::kMillisecond);

// `stats --group-by variant --no-tools` over both ledgers (100,000 runs).
void BM_StatsGroupBy(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string pa = LedgerFile(n, 0), pb = LedgerFile(n, 1);
  for (auto _ : state) {
    auto runs = LoadRunsFromLedger(pa);
    auto more = LoadRunsFromLedger(pb);
    if (!runs.ok() || !more.ok()) {
      state.SkipWithError("read failed");
      break;
    }
    runs->insert(runs->end(), more->begin(), more->end());
    StatsOptions options;
    options.group_by = "variant";
    options.tools = false;
    StatsReport report = BuildStatsReport(*runs, options);
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_StatsGroupBy)->Arg(50000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace traceframe

BENCHMARK_MAIN();
