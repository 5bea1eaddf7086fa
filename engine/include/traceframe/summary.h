// Run summaries: the counts and status of a trace, as `traceframe summary`
// prints them. Summaries work on open traces and on the readable prefix of a
// trace with a torn tail. Thread-safe.
#ifndef TRACEFRAME_SUMMARY_H_
#define TRACEFRAME_SUMMARY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/labels.h"
#include "traceframe/trace_reader.h"
#include "traceframe/usage.h"

namespace traceframe {

struct TraceSummary {
  std::string run_id;
  std::string status;  // run.finished payload.status, "open", or "finished" without one
  bool finished = false;
  uint64_t events = 0;
  uint64_t model_calls = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_results = 0;
  uint64_t tool_failures = 0;
  uint64_t permission_decisions = 0;
  uint64_t errors = 0;
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::optional<int64_t> finished_ts_ms;  // ts of run.finished
  std::optional<TornTail> torn_tail;
  // Token usage (docs/format.md, "Token usage"): run.finished's `usage` when
  // it has one, else the sum over model.call `usage` objects.
  // Text output shows tokens only when usage.any(), so traces without
  // usage print exactly as before.
  TokenUsage usage;
  uint64_t deviations = 0;          // agent.guess + plan.deviation events
  std::vector<std::string> models;  // distinct model.call `model`s, first seen first
  std::string source;               // run.started payload.source ("" when absent)
  Labels labels;                    // run.started payload.labels
  // Saturates instead of overflowing: ts_ms comes from the file and may be
  // anything (INT64_MIN .. INT64_MAX).
  int64_t duration_ms() const {
    int64_t d;
    if (__builtin_sub_overflow(last_ts_ms, first_ts_ms, &d)) {
      return last_ts_ms > first_ts_ms ? INT64_MAX : INT64_MIN;
    }
    return d;
  }
};

struct SummaryOptions {
  // Called now and then with (bytes read, bytes to read) when the summary
  // needs a pass over the trace (no index, or one behind the trace); one call
  // at a time. May be empty.
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

// Reads the trace and checks it as an open trace (a failure is an error that
// names the line and byte), then counts.
absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path);
absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path, const SummaryOptions& options);

// The 11-line text of the earlier tool (reference §4.4), plus a `torn_tail:`
// line when the trace ends in a torn write. Ends with '\n'.
std::string FormatSummaryText(const TraceSummary& summary);

// The same facts as a JSON object (docs/format.md, "summary --json").
std::string FormatSummaryJson(const TraceSummary& summary);

// "950 ms", "1.50 s", "2m 5s", "1h 2m 5s".
std::string HumanDuration(int64_t ms);

}  // namespace traceframe

#endif  // TRACEFRAME_SUMMARY_H_
