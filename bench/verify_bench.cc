// Micro benchmarks of the read and write hot paths: validating one event line
// (EventParser), serializing one event (AppendEventLine) and reading an
// appender's tail state (ReadTailState, which must not grow with the trace).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "format/event_parser.h"
#include "traceframe/event.h"
#include "traceframe/json.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace {

std::string Line(size_t payload_text_bytes) {
  Event e;
  e.run_id = "bench-run";
  e.event_id = "5c1c1b2e-7f0e-4b6e-9c1d-3b0c8e7a9f10";
  e.kind = EventKind::kToolResult;
  e.ts_ms = 1700000000000;
  e.seq = 12345;
  std::string text;
  while (text.size() < payload_text_bytes) text.append("output \"quoted\" café\n\tline ");
  e.payload_json = "{\"tool\":\"bash\",\"success\":true,\"exit_code\":0,\"output\":";
  AppendJsonString(&e.payload_json, text);
  e.payload_json.push_back('}');
  std::string line = SerializeEventLine(e);
  line.pop_back();  // the parser sees lines without their '\n'
  return line;
}

void BM_ParseEventLine(benchmark::State& state) {
  const std::string line = Line(static_cast<size_t>(state.range(0)));
  std::string padded = line;
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  EventParser parser;
  EventView view;
  std::string reason;
  for (auto _ : state) {
    const LineParseError err =
        parser.Parse(std::string_view(padded.data(), line.size()), true, &view, &reason);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(view.seq);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
  state.SetLabel(std::to_string(line.size()) + " B line");
}
BENCHMARK(BM_ParseEventLine)->Arg(300)->Arg(4096)->Arg(65536);

// The same line through the unpadded path (a copy into scratch first): what a
// line at the very end of a mapping costs.
void BM_ParseEventLineUnpadded(benchmark::State& state) {
  const std::string line = Line(static_cast<size_t>(state.range(0)));
  EventParser parser;
  EventView view;
  std::string reason;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parser.Parse(line, false, &view, &reason));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_ParseEventLineUnpadded)->Arg(300);

void BM_SerializeEvent(benchmark::State& state) {
  Event e;
  e.run_id = "bench-run";
  e.event_id = "5c1c1b2e-7f0e-4b6e-9c1d-3b0c8e7a9f10";
  e.kind = EventKind::kModelCall;
  e.ts_ms = 1700000000000;
  e.seq = 12345;
  e.payload_json = "{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"input_tokens\":1234}";
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendEventLine(&out, e);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeEvent);

void BM_JsonEscape(benchmark::State& state) {
  std::string text;
  while (text.size() < 1024) text.append("plain words, \"quotes\", back\\slash, ünïcødé\n");
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendJsonString(&out, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_JsonEscape);

// ReadTailState on traces of 1 event and of range(0) events: the cost must be
// the same (first line + last line only).
void BM_ReadTailState(benchmark::State& state) {
  char dir_template[] = "/tmp/traceframe-bench-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string path = std::string(dir) + "/t.traceframe";
  {
    Event e;
    e.run_id = "bench-run";
    e.event_id = "5c1c1b2e-7f0e-4b6e-9c1d-3b0c8e7a9f10";
    std::string all;
    for (int64_t i = 0; i < state.range(0); ++i) {
      e.seq = static_cast<uint64_t>(i);
      e.kind = i == 0 ? EventKind::kRunStarted : EventKind::kToolCall;
      e.payload_json = "{\"tool\":\"bash\",\"input\":{\"command\":\"make -j2 all\"}}";
      AppendEventLine(&all, e);
    }
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(all.data(), 1, all.size(), f);
    std::fclose(f);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  for (auto _ : state) {
    absl::StatusOr<TailState> tail = ReadTailState(fd, path);
    benchmark::DoNotOptimize(tail);
  }
  ::close(fd);
  std::remove(path.c_str());
  ::rmdir(dir);
}
BENCHMARK(BM_ReadTailState)->Arg(1)->Arg(200000);

}  // namespace
}  // namespace traceframe

BENCHMARK_MAIN();
