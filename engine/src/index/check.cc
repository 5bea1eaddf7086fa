// `index check` (traceframe/index.h): a stored index against a fresh scan.
#include <optional>
#include <string>
#include <utility>

#include "index/format.h"
#include "index/index_internal.h"
#include "index/scan.h"
#include "traceframe/index.h"
#include "traceframe/str_util.h"

namespace traceframe {

using internal::MatchAgainst;
using internal::ViewSource;

namespace {

// The first field in which two indexes of the same bytes differ, or "".
std::string FirstDifference(const TraceIndex& a, const TraceIndex& b) {
  const IndexFacts& x = a.facts;
  const IndexFacts& y = b.facts;
#define TRACEFRAME_INDEX_DIFF_FACT(name) \
  if (x.name != y.name) return #name;
  TRACEFRAME_INDEX_PLAIN_FACTS(TRACEFRAME_INDEX_DIFF_FACT)
#undef TRACEFRAME_INDEX_DIFF_FACT
  for (int k = 0; k < kEventKindCount; ++k) {
    if (x.kind_counts[k] != y.kind_counts[k]) {
      return Cat("count of ", EventKindName(static_cast<EventKind>(k)));
    }
  }
  if (x.tool_failures != y.tool_failures) return "tool_failures";
  if (x.call_usage != y.call_usage) return "call_usage";
  if (x.finished_usage != y.finished_usage) return "finished_usage";
  if (x.models != y.models) return "models";
  if (x.source != y.source) return "source";
  if (x.labels != y.labels) return "labels";
  if (x.last_kind != y.last_kind) return "last_kind";
  if (x.finished != y.finished) return "finished";
  if (x.finished_status != y.finished_status) return "finished_status";
  if (x.run_id != y.run_id) return "run_id";
  if (x.validated != y.validated) return "validated";
  if (a.block_bytes != b.block_bytes) return "block_bytes";
  if (a.last_event_offset != b.last_event_offset || a.last_event_len != b.last_event_len ||
      a.last_event_hash != b.last_event_hash) {
    return "last_event";
  }
  if (a.entries != b.entries) return "entries";
  return "";
}

}  // namespace

absl::StatusOr<IndexCheckReport> CheckIndex(const std::string& trace_path,
                                            const IndexBuildOptions& options) {
  IndexCheckReport report;
  report.trace_path = trace_path;
  report.index_path = IndexPathFor(trace_path);
  // Bounded like every index read: a planted FIFO, link or huge file is
  // reported, never waited on or read into memory.
  std::optional<std::string> stored_bytes = ReadIndexBytes(trace_path);
  absl::StatusOr<std::string> bytes =
      stored_bytes
          ? absl::StatusOr<std::string>(std::move(*stored_bytes))
          : absl::NotFoundError(Cat("no usable index at ", report.index_path,
                                    " (missing, or a link, FIFO or implausibly large file)"));
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  const MappedView view = ViewOf(**reader);
  report.trace_bytes = view.size;
  std::optional<TornTail> torn;
  report.fresh = BuildIndex(view, options, &torn);
  if (!bytes.ok()) {
    report.state = IndexState::kMissing;
    report.detail = ToStd(bytes.status().message());
    return report;
  }
  report.index_bytes = bytes->size();
  absl::StatusOr<TraceIndex> stored = DecodeIndex(*bytes);
  if (!stored.ok()) {
    report.state = IndexState::kInvalid;
    report.detail = ToStd(stored.status().message());
    return report;
  }
  report.stored = *stored;
  ViewSource src(view);
  absl::Status match = MatchAgainst(*stored, src, view.size);
  if (!match.ok()) {
    report.state = IndexState::kMismatch;
    report.detail = ToStd(match.message());
    return report;
  }
  TraceIndex extended = *stored;
  const bool stale = stored->facts.covered_bytes < report.fresh.facts.covered_bytes;
  if (stale) ExtendIndex(view, &extended, IndexBuildOptions{nullptr, options.threads}, &torn);
  // The head is the identity the stored index was made with; compare the rest.
  extended.head_len = report.fresh.head_len;
  extended.head_hash = report.fresh.head_hash;
  const std::string diff = FirstDifference(extended, report.fresh);
  if (!diff.empty()) {
    report.state = IndexState::kMismatch;
    report.detail = Cat("the index differs from a fresh scan in ", diff);
  } else if (stale) {
    report.state = IndexState::kStale;
    report.detail = Cat("the index covers ", stored->facts.covered_bytes, " of ",
                        report.fresh.facts.covered_bytes, " readable bytes");
  } else {
    report.state = IndexState::kOk;
  }
  return report;
}

}  // namespace traceframe
