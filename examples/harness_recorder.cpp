// A harness writing its own trace with the C++ TraceRecorder.
//
// Build: part of the normal build (build/release/examples/harness_recorder).
// Run from the directory that should hold `.traceframe/runs/`:
//   ./build/release/examples/harness_recorder
// It replaces .traceframe/runs/example-harness.traceframe, records a small
// agent run (from two threads, as a real harness might) and prints the
// summary the CLI's `traceframe summary` would print.
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "traceframe/recorder.h"
#include "traceframe/summary.h"

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "Error: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main() {
  const std::string path = ".traceframe/runs/example-harness.traceframe";
  // force = true: replace the previous example run atomically.
  absl::StatusOr<std::unique_ptr<traceframe::TraceRecorder>> started =
      traceframe::TraceRecorder::Start(path, "example-harness", /*force=*/true);
  if (!started.ok()) return Fail("start", started.status());
  traceframe::TraceRecorder& recorder = **started;

  absl::Status s = recorder.ModelCall("openai", "gpt-5.5");
  if (s.ok()) s = recorder.PermissionDecision("fs.write:README.md", "allow");
  if (!s.ok()) return Fail("record", s);

  // Two workers run tools in parallel; the recorder is safe to share.
  std::vector<std::thread> workers;
  std::vector<absl::Status> results(2);
  const std::vector<std::vector<std::string>> commands = {{"cargo", "test"}, {"cargo", "clippy"}};
  for (size_t i = 0; i < commands.size(); ++i) {
    workers.emplace_back([&, i] {
      const std::string command = commands[i][0] + " " + commands[i][1];
      absl::Status st = recorder.ToolCall("shell", command, commands[i]);
      if (st.ok()) st = recorder.ToolResult("shell", command, true, 0, 320 + 40 * i);
      results[i] = st;
    });
  }
  for (std::thread& w : workers) w.join();
  for (const absl::Status& r : results) {
    if (!r.ok()) return Fail("tool", r);
  }

  s = recorder
          .Record(traceframe::EventKind::kModelCall,
                  R"({"provider":"openai","model":"gpt-5.5","purpose":"summarize"})")
          .status();
  if (!s.ok()) return Fail("record", s);
  // Flush() is the durability point: everything above is on disk now.
  s = recorder.Flush();
  if (!s.ok()) return Fail("flush", s);
  s = recorder.Finish("success", "harness completed");
  if (!s.ok()) return Fail("finish", s);
  started->reset();  // releases the trace's lock

  absl::StatusOr<traceframe::TraceSummary> summary = traceframe::SummarizeTrace(path);
  if (!summary.ok()) return Fail("summary", summary.status());
  std::printf("trace: %s\n%s", path.c_str(), traceframe::FormatSummaryText(*summary).c_str());
  return 0;
}
