// `ledger rebuild` over many closed traces (docs/performance.md "Targets": 10,000 traces in
// <= 1 s), and `render` of a long trace (bounded page). Run:
//   build/release/bench/ledger_bench --benchmark_filter=Ledger
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "traceframe/ledger.h"
#include "traceframe/render.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

std::string Line(const std::string& run, uint64_t seq, const char* kind,
                 const std::string& payload) {
  return Cat("{\"version\":1,\"run_id\":\"", run, "\",\"event_id\":\"e", seq, "\",\"kind\":\"",
             kind, "\",\"ts_ms\":", 1764057600000 + seq * 10, ",\"seq\":", seq,
             ",\"payload\":", payload, "}\n");
}

// A directory of `count` closed 8-event traces, made once per size.
std::string TraceDir(int count) {
  const std::string dir =
      Cat(std::filesystem::temp_directory_path().string(), "/traceframe-ledger-bench-", count);
  if (std::filesystem::exists(dir + "/done")) return dir;
  std::filesystem::create_directories(dir + "/runs");
  for (int i = 0; i < count; ++i) {
    const std::string run = Cat("run-", i);
    std::string text =
        Line(run, 0, "run.started", R"({"status":"started"})") +
        Line(run, 1, "model.call", R"({"provider":"openai","model":"gpt-5.5"})") +
        Line(run, 2, "tool.call", R"({"tool":"shell","command":"make test"})") +
        Line(run, 3, "tool.result", R"({"tool":"shell","success":true,"exit_code":0})") +
        Line(run, 4, "permission.decision", R"({"capability":"c","decision":"allow"})") +
        Line(run, 5, "tool.call", R"({"tool":"shell","command":"make"})") +
        Line(run, 6, "tool.result", R"({"tool":"shell","success":false,"exit_code":2})") +
        Line(run, 7, "run.finished", R"({"status":"failed"})");
    FILE* f = std::fopen(Cat(dir, "/runs/", run, ".traceframe").c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::fclose(std::fopen((dir + "/done").c_str(), "wb"));
  return dir;
}

void BM_LedgerRebuild(benchmark::State& state) {
  const std::string dir = TraceDir(static_cast<int>(state.range(0)));
  LedgerRebuildOptions options;
  options.dir = dir + "/runs";
  options.out = dir + "/ledger.traceframe";
  for (auto _ : state) {
    absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
    if (!result.ok() || result->entries.size() != static_cast<size_t>(state.range(0))) {
      state.SkipWithError("rebuild failed");
      break;
    }
  }
  state.counters["traces/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LedgerRebuild)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RenderLongTrace(benchmark::State& state) {
  const std::string path = Cat(std::filesystem::temp_directory_path().string(),
                               "/traceframe-render-bench-", state.range(0), ".traceframe");
  if (!std::filesystem::exists(path)) {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::string text = Line("run-long", 0, "run.started", "{}");
    for (int64_t seq = 1; seq < state.range(0); ++seq) {
      text += seq % 2 ? Line("run-long", seq, "tool.call", R"({"tool":"shell","command":"make"})")
                      : Line("run-long", seq, "tool.result",
                             R"({"tool":"shell","command":"make","success":true,"duration_ms":3})");
      if (text.size() > (1 << 20)) {
        std::fwrite(text.data(), 1, text.size(), f);
        text.clear();
      }
    }
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    RenderStats stats;
    absl::StatusOr<std::string> html = RenderTraceHtml(path, RenderOptions(), &stats);
    if (!html.ok()) {
      state.SkipWithError("render failed");
      break;
    }
    bytes = html->size();
  }
  state.counters["page_MB"] = static_cast<double>(bytes) / (1 << 20);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(path)));
}
BENCHMARK(BM_RenderLongTrace)
    ->Arg(10000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace traceframe

BENCHMARK_MAIN();
