// TraceRecorder throughput and producer latency (docs/performance.md,
// "Recorder").
//
//   build/release/bench/recorder_bench [--benchmark_filter=...]
//   TRACEFRAME_BENCH_DIR=/path/on/the/disk/to/test  (default: $TMPDIR or /tmp)
//
// BM_Recorder/<producers>/<line bytes>/<sync policy>: each iteration starts a
// fresh trace, P producer threads record N events of about the given line
// size through the Error() helper (payload built and escaped, UUID, seq, ts,
// serialization: the whole producer path), then Flush() makes them durable.
// items_per_second is therefore durable events per second. p50_ns / p99_ns
// are the producer call's latency over every 8th call.
//
// BM_RawWriteFdatasync/<line bytes>/<batch bytes>: the baseline, one thread
// writing the same number of preformatted lines of the same size with
// write(2) per batch and one fdatasync(2) per batch; no serialization.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "traceframe/event.h"
#include "traceframe/recorder.h"

namespace traceframe {
namespace {

std::string BenchDir() {
  if (const char* dir = std::getenv("TRACEFRAME_BENCH_DIR")) return dir;
  if (const char* dir = std::getenv("TMPDIR")) return dir;
  return "/tmp";
}

std::string BenchPath(const char* name) {
  return BenchDir() + "/traceframe-" + name + "-" + std::to_string(::getpid()) + ".traceframe";
}

// The serialized line without payload is ~125 bytes (run id "bench-run", a
// 6-7 digit seq); the Error() payload adds {"message":"..."} = 14 + n.
constexpr size_t kLineOverhead = 146 + 14;

size_t MessageLength(size_t line_bytes) {
  return line_bytes > kLineOverhead ? line_bytes - kLineOverhead : 1;
}

// CPU time of the whole process (all threads, user + system), in ns. The
// machine these numbers come from is shared, so wall-clock throughput says
// as much about the neighbours as about the code; CPU per event does not.
int64_t ProcessCpuNs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1000000000 + static_cast<int64_t>(tv.tv_usec) * 1000;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

int64_t EventsFor(SyncPolicy sync, size_t line_bytes) {
  if (sync == SyncPolicy::kEvery) return 2000;  // one fdatasync is ~1-5 ms here
  return line_bytes >= 1000 ? 100000 : 400000;
}

void BM_Recorder(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  const size_t line_bytes = static_cast<size_t>(state.range(1));
  const SyncPolicy sync = static_cast<SyncPolicy>(state.range(2));
  const int64_t events = EventsFor(sync, line_bytes);
  const int64_t per_thread = events / producers;
  const std::string message(MessageLength(line_bytes), 'm');
  const std::string path = BenchPath("recorder-bench");
  RecorderOptions options;
  options.sync = sync;
  options.started_payload_json = "{\"created_by\":\"recorder_bench\",\"status\":\"started\"}";
  if (const char* ring = std::getenv("TRACEFRAME_BENCH_RING")) {
    options.ring_capacity = static_cast<size_t>(std::atoll(ring));
  }

  std::vector<std::vector<int64_t>> latencies(producers);
  for (auto& l : latencies) l.reserve(per_thread);
  std::vector<int64_t> all;
  uint64_t bytes = 0;
  uint64_t syncs = 0;
  uint64_t writes = 0;
  int64_t cpu_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
        TraceRecorder::Start(path, "bench-run", true, options);
    if (!rec.ok()) {
      state.SkipWithError(rec.status().ToString().c_str());
      return;
    }
    for (auto& l : latencies) l.clear();
    const int64_t cpu_start = ProcessCpuNs();
    state.ResumeTiming();

    std::vector<std::thread> threads;
    for (int t = 0; t < producers; ++t) {
      threads.emplace_back([&, t] {
        std::vector<int64_t>& lat = latencies[t];
        for (int64_t i = 0; i < per_thread; ++i) {
          // Every 8th call is timed: two clock reads per call would cost
          // about as much as the call on this VM's clock.
          if ((i & 7) != 0) {
            if (!(*rec)->Error(message).ok()) std::abort();
            continue;
          }
          const auto start = std::chrono::steady_clock::now();
          const absl::Status s = (*rec)->Error(message);
          const auto end = std::chrono::steady_clock::now();
          if (!s.ok()) std::abort();
          lat.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (!(*rec)->Flush().ok()) std::abort();

    state.PauseTiming();
    cpu_ns += ProcessCpuNs() - cpu_start;
    const RecorderStats stats = (*rec)->stats();
    bytes += stats.bytes_written;
    syncs += stats.syncs;
    writes += stats.write_calls;
    rec->reset();
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    ::unlink(path.c_str());
    state.ResumeTiming();
  }
  const int64_t done = per_thread * producers * state.iterations();
  state.SetItemsProcessed(done);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  auto pct = [&](double p) {
    const size_t k = static_cast<size_t>(p * static_cast<double>(all.size() - 1));
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
    return static_cast<double>(all[k]);
  };
  if (!all.empty()) {
    state.counters["p50_ns"] = pct(0.50);
    state.counters["p99_ns"] = pct(0.99);
  }
  state.counters["line_B"] = static_cast<double>(bytes) / static_cast<double>(done);
  state.counters["cpu_ns_per_event"] = static_cast<double>(cpu_ns) / static_cast<double>(done);
  state.counters["events_per_sync"] =
      syncs == 0 ? 0.0 : static_cast<double>(done) / static_cast<double>(syncs);
  state.counters["events_per_writev"] =
      writes == 0 ? 0.0 : static_cast<double>(done) / static_cast<double>(writes);
  state.SetLabel(std::string(SyncPolicyName(sync)));
}

void RecorderArgs(benchmark::internal::Benchmark* b) {
  for (int sync : {static_cast<int>(SyncPolicy::kNone), static_cast<int>(SyncPolicy::kBatch),
                   static_cast<int>(SyncPolicy::kEvery)}) {
    for (int line : {200, 2000}) {
      for (int producers : {1, 2, 4}) b->Args({producers, line, sync});
    }
  }
  b->ArgNames({"producers", "line_bytes", "sync"});
}
BENCHMARK(BM_Recorder)
    ->Apply(RecorderArgs)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

void BM_RawWriteFdatasync(benchmark::State& state) {
  const size_t line_bytes = static_cast<size_t>(state.range(0));
  const size_t batch_bytes = static_cast<size_t>(state.range(1));
  const int64_t events = EventsFor(SyncPolicy::kBatch, line_bytes);
  // Preformatted lines of the recorder's size, in the recorder's format.
  std::vector<std::string> lines;
  Event event;
  event.run_id = "bench-run";
  event.kind = EventKind::kError;
  event.payload_json = "{\"message\":\"" + std::string(MessageLength(line_bytes), 'm') + "\"}";
  for (int i = 0; i < 1024; ++i) {
    event.event_id = NewEventId();
    event.ts_ms = NowEpochMs();
    event.seq = 100000 + static_cast<uint64_t>(i);
    lines.push_back(SerializeEventLine(event));
  }
  const std::string path = BenchPath("raw-bench");
  std::string buffer;
  buffer.reserve(batch_bytes + 4096);
  uint64_t bytes = 0;
  int64_t cpu_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      state.SkipWithError("open failed");
      return;
    }
    const int64_t cpu_start = ProcessCpuNs();
    state.ResumeTiming();
    auto flush = [&] {
      if (::write(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size()) ||
          ::fdatasync(fd) != 0) {
        std::abort();
      }
      bytes += buffer.size();
      buffer.clear();
    };
    for (int64_t i = 0; i < events; ++i) {
      buffer.append(lines[static_cast<size_t>(i) & 1023]);
      if (buffer.size() >= batch_bytes) flush();
    }
    if (!buffer.empty()) flush();
    state.PauseTiming();
    cpu_ns += ProcessCpuNs() - cpu_start;
    ::close(fd);
    ::unlink(path.c_str());
    state.ResumeTiming();
  }
  state.SetItemsProcessed(events * state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["cpu_ns_per_event"] =
      static_cast<double>(cpu_ns) / static_cast<double>(events * state.iterations());
}
BENCHMARK(BM_RawWriteFdatasync)
    ->ArgNames({"line_bytes", "batch_bytes"})
    ->Args({200, 1 << 20})
    ->Args({200, 4 << 20})
    ->Args({2000, 1 << 20})
    ->Args({2000, 4 << 20})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace
}  // namespace traceframe

BENCHMARK_MAIN();
