// What the sidecar index buys and costs, on big closed traces:
//   - summary of a closed trace with the index vs a full scan;
//   - inspect --tail 10, --tail 10 --kind error, --from-seq N with and without;
//   - one index rebuild (full scan) and the index size per GB;
//   - the cost the index adds to one append (sync off, to isolate it, and on).
//
// Traces are generated once under $TRACEFRAME_BENCH_DIR (default
// /tmp/traceframe-index-bench), sizes in GB from $TRACEFRAME_BENCH_GB
// (default "1"; e.g. "1,4"). "Without the index" means TRACEFRAME_INDEX=off,
// the full validating scan that summary did before the index existed.
//
//   build/release/bench/index_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "traceframe/event.h"
#include "traceframe/index.h"
#include "traceframe/inspect.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace {

std::string BenchDir() {
  const char* dir = std::getenv("TRACEFRAME_BENCH_DIR");
  return dir ? dir : "/tmp/traceframe-index-bench";
}

uint64_t FileBytes(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// A realistic mix of ~250-byte events, written straight to the file.
void Generate(const std::string& path, uint64_t bytes, bool closed) {
  // Made once (temp + rename), then reused by later runs.
  if (FileBytes(path) + 4096 >= bytes) return;
  std::fprintf(stderr, "generating %s (%.1f GB)...\n", path.c_str(), bytes / 1e9);
  const std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) std::abort();
  std::mt19937_64 rng(42);
  Event e;
  e.run_id = "run-bench";
  int64_t ts = 1700000000000;
  std::string buffer;
  uint64_t written = 0;
  static const EventKind kKinds[] = {EventKind::kModelCall,  EventKind::kToolCall,
                                     EventKind::kToolResult, EventKind::kToolCall,
                                     EventKind::kToolResult, EventKind::kPermissionDecision};
  for (uint64_t seq = 0;; ++seq) {
    e.seq = seq;
    e.ts_ms = ts += static_cast<int64_t>(rng() % 50);
    e.event_id = NewEventId();
    if (seq == 0) {
      e.kind = EventKind::kRunStarted;
      e.payload_json = "{\"created_by\":\"index_bench\",\"status\":\"started\"}";
    } else if (written + 600 >= bytes) {
      e.kind = closed ? EventKind::kRunFinished : EventKind::kModelCall;
      e.payload_json = closed ? "{\"status\":\"success\"}" : "{\"model\":\"m\"}";
    } else {
      e.kind = seq % 100000 == 7 ? EventKind::kError : kKinds[rng() % 6];
      switch (e.kind) {
        case EventKind::kToolCall:
          e.payload_json = Cat("{\"tool\":\"Bash\",\"command\":\"make -j2 target-", rng() % 1000,
                               "\",\"cwd\":\"/work/project\"}");
          break;
        case EventKind::kToolResult:
          e.payload_json = Cat("{\"success\":", rng() % 10 ? "true" : "false",
                               ",\"exit_code\":0,\"output\":\"ok ", rng(), "\"}");
          break;
        default:
          e.payload_json = Cat("{\"model\":\"gpt\",\"tokens\":", rng() % 5000, "}");
      }
    }
    const size_t before = buffer.size();
    AppendEventLine(&buffer, e);
    written += buffer.size() - before;
    if (buffer.size() > (8 << 20) || e.kind == EventKind::kRunFinished || written >= bytes) {
      std::fwrite(buffer.data(), 1, buffer.size(), out);
      buffer.clear();
    }
    if (e.kind == EventKind::kRunFinished || written >= bytes) break;
  }
  std::fclose(out);
  std::rename(tmp.c_str(), path.c_str());
}

struct Trace {
  std::string closed;  // closed, indexed
  std::string open;    // open, indexed, for appends
  uint64_t gb = 0;
  uint64_t last_seq = 0;
};

void WithIndex(bool on) {
  if (on) {
    unsetenv("TRACEFRAME_INDEX");
  } else {
    setenv("TRACEFRAME_INDEX", "off", 1);
  }
}

void BM_Summary(benchmark::State& state, const Trace* t, bool indexed) {
  WithIndex(indexed);
  for (auto _ : state) {
    absl::StatusOr<TraceSummary> s = SummarizeTrace(t->closed);
    if (!s.ok()) state.SkipWithError("summary failed");
    benchmark::DoNotOptimize(s);
  }
  WithIndex(true);
  state.counters["trace_GB"] = static_cast<double>(FileBytes(t->closed)) / 1e9;
}

void BM_Inspect(benchmark::State& state, const Trace* t, bool indexed, int mode) {
  WithIndex(indexed);
  InspectOptions o;
  if (mode == 0) o.tail = 10;
  if (mode == 1) {
    o.tail = 10;
    o.kind = EventKind::kError;  // one in 100,000 events
  }
  if (mode == 2) {
    o.from_seq = t->last_seq / 2;
    o.limit = 10;
  }
  uint64_t printed = 0;
  for (auto _ : state) {
    absl::StatusOr<InspectResult> r = InspectTrace(t->closed, o, [&](const EventView&) {});
    if (!r.ok()) state.SkipWithError("inspect failed");
    printed = r.ok() ? r->printed : 0;
  }
  WithIndex(true);
  state.counters["printed"] = static_cast<double>(printed);
}

void BM_Append(benchmark::State& state, const Trace* t, bool indexed, bool sync) {
  // Appends without the index leave it stale; bring it up to date first so
  // the indexed appends measure the O(1) path.
  if (indexed && !LoadOrRebuildIndex(t->open).ok()) state.SkipWithError("index failed");
  WithIndex(indexed);
  WriteOptions options;
  options.sync = sync;
  for (auto _ : state) {
    absl::StatusOr<AppendedEvent> r =
        AppendEvent(t->open, EventKind::kModelCall, "{\"model\":\"bench\"}", options);
    if (!r.ok()) state.SkipWithError("append failed");
  }
  WithIndex(true);
}

void BM_Rebuild(benchmark::State& state, const Trace* t) {
  uint64_t idx_bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<TraceIndex> index = RebuildIndex(t->closed);
    if (!index.ok()) state.SkipWithError("rebuild failed");
    idx_bytes = FileBytes(IndexPathFor(t->closed));
  }
  const double gb = static_cast<double>(FileBytes(t->closed)) / 1e9;
  state.counters["index_KB"] = static_cast<double>(idx_bytes) / 1e3;
  state.counters["index_KB_per_GB"] = static_cast<double>(idx_bytes) / 1e3 / gb;
  state.counters["GB_per_s"] =
      benchmark::Counter(gb, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace
}  // namespace traceframe

int main(int argc, char** argv) {
  using namespace traceframe;
  const char* sizes_env = std::getenv("TRACEFRAME_BENCH_GB");
  std::string sizes = sizes_env ? sizes_env : "1";
  ::mkdir(BenchDir().c_str(), 0755);
  static std::vector<Trace> traces;
  for (size_t at = 0; at < sizes.size();) {
    size_t comma = sizes.find(',', at);
    if (comma == std::string::npos) comma = sizes.size();
    Trace t;
    t.gb = std::stoull(sizes.substr(at, comma - at));
    at = comma + 1;
    t.closed = Cat(BenchDir(), "/closed-", t.gb, "g.traceframe");
    t.open = Cat(BenchDir(), "/open-", t.gb, "g.traceframe");
    Generate(t.closed, t.gb * 1000000000ull, true);
    Generate(t.open, t.gb * 1000000000ull, false);
    for (const std::string& path : {t.closed, t.open}) {
      if (!LoadIndex(path).ok()) {
        std::fprintf(stderr, "indexing %s...\n", path.c_str());
        if (!RebuildIndex(path).ok()) std::abort();
      }
    }
    t.last_seq = LoadIndex(t.closed)->facts.last_seq;
    traces.push_back(t);
  }
  for (const Trace& t : traces) {
    const std::string g = Cat("/", t.gb, "GB");
    const Trace* p = &t;
    benchmark::RegisterBenchmark(("summary_indexed" + g).c_str(), BM_Summary, p, true)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("summary_full_scan" + g).c_str(), BM_Summary, p, false)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
    const char* modes[] = {"tail10", "tail10_kind_error", "from_seq_mid"};
    for (int mode = 0; mode < 3; ++mode) {
      benchmark::RegisterBenchmark(Cat("inspect_", modes[mode], "_indexed", g).c_str(), BM_Inspect,
                                   p, true, mode)
          ->Unit(benchmark::kMillisecond);
      auto* b = benchmark::RegisterBenchmark(Cat("inspect_", modes[mode], "_no_index", g).c_str(),
                                             BM_Inspect, p, false, mode);
      b->Unit(benchmark::kMillisecond);
      if (mode == 1) b->Iterations(3);
    }
    benchmark::RegisterBenchmark(("index_rebuild" + g).c_str(), BM_Rebuild, p)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(2);
    for (bool sync : {false, true}) {
      const std::string s = sync ? "_sync" : "_nosync";
      benchmark::RegisterBenchmark(("append_indexed" + s + g).c_str(), BM_Append, p, true, sync)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("append_no_index" + s + g).c_str(), BM_Append, p, false, sync)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
