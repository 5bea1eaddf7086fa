// otlp_export_tool: export throughput (docs/performance.md, "OTLP export").
//
//   otlp_export_tool --file F [--repeat R]
//
// Times, alternately and in the same process, R runs of:
//   read:   the floor any export pays: TraceReader::ScanAll plus a simdjson
//           DOM parse of every payload, output discarded;
//   export: traceframe::ExportTraceOtlpJson into a sink that counts bytes
//           (the request built in memory, chunked, nothing written to disk).
// Prints the best run of each with events/s, input MB/s, output MB/s, CPU
// seconds, and export/read as a ratio (the figure that survives a loaded
// machine).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "simdjson.h"
#include "traceframe/export.h"
#include "traceframe/trace_reader.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double CpuSeconds() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

volatile uint64_t g_sink = 0;

struct Run {
  double wall = 1e100;
  double cpu = 0;
  uint64_t events = 0;
  uint64_t out_bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: otlp_export_tool --file F [--repeat R]\n");
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "usage: otlp_export_tool --file F [--repeat R]\n");
    return 2;
  }
  uint64_t in_bytes = 0;
  Run read, exported;
  for (int r = 0; r < repeat; ++r) {
    {
      const double t0 = Now(), c0 = CpuSeconds();
      auto reader = traceframe::TraceReader::Open(file);
      if (!reader.ok()) {
        std::fprintf(stderr, "%s\n", std::string(reader.status().message()).c_str());
        return 1;
      }
      in_bytes = (*reader)->size();
      simdjson::dom::parser parser;
      uint64_t events = 0, sink = 0;
      (*reader)->ScanAll([&](const traceframe::EventView& view) {
        simdjson::dom::element payload;
        if (parser.parse(traceframe::RawPayload(view.line)).get(payload) == simdjson::SUCCESS) {
          sink += payload.is_object();
        }
        ++events;
        return true;
      });
      g_sink = sink;  // keeps the parse from being optimized away
      const double wall = Now() - t0;
      if (wall < read.wall) read = {wall, CpuSeconds() - c0, events, 0};
    }
    {
      const double t0 = Now(), c0 = CpuSeconds();
      uint64_t out = 0;
      auto stats = traceframe::ExportTraceOtlpJson(file, [&](std::string_view chunk) {
        out += chunk.size();
        return absl::OkStatus();
      });
      if (!stats.ok()) {
        std::fprintf(stderr, "%s\n", std::string(stats.status().message()).c_str());
        return 1;
      }
      const double wall = Now() - t0;
      if (wall < exported.wall) exported = {wall, CpuSeconds() - c0, stats->events, out};
    }
  }
  auto print = [&](const char* mode, const Run& run) {
    std::printf(
        "%s events=%llu in_bytes=%llu out_bytes=%llu seconds=%.3f cpu=%.3f events_per_s=%.0f "
        "in_mb_per_s=%.1f out_mb_per_s=%.1f in_mb_per_cpu_s=%.1f\n",
        mode, static_cast<unsigned long long>(run.events),
        static_cast<unsigned long long>(in_bytes), static_cast<unsigned long long>(run.out_bytes),
        run.wall, run.cpu, run.events / run.wall, in_bytes / run.wall / 1e6,
        run.out_bytes / run.wall / 1e6, in_bytes / std::max(run.cpu, 1e-9) / 1e6);
  };
  print("read", read);
  print("export", exported);
  std::printf("ratio export/read wall=%.2fx cpu=%.2fx\n", read.wall / exported.wall,
              std::max(read.cpu, 1e-9) / std::max(exported.cpu, 1e-9));
  return 0;
}
