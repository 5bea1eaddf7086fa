#include "traceframe/summary.h"
#include "traceframe/str_util.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "format/payload_facts.h"
#include "index/index_internal.h"
#include "read/scan.h"
#include "read/trace_analysis.h"
#include "report/report_json.h"
#include "traceframe/json.h"

namespace traceframe {

namespace {

// The summary of a full validating pass (the reference behavior, and the
// source of every error message).
absl::StatusOr<TraceSummary> SummaryFromFullScan(TraceReader& reader, const std::string& path,
                                                 const SummaryOptions& summary_options) {
  VerifyOptions options;
  options.progress = summary_options.progress;
  options.allow_open = true;
  options.max_issues = 1;
  TraceAnalysis analysis = AnalyzeTrace(reader, options);
  for (const VerifyIssue& issue : analysis.report.errors) {
    if (issue.code == VerifyIssueCode::kTornTail) continue;  // summarize the readable prefix
    return absl::DataLossError(Cat(DescribeIssue(issue), " in ", path,
                                   "; run `traceframe verify --file ", path, "` for details"));
  }
  if (analysis.summary.events == 0) {
    return absl::FailedPreconditionError(Cat("trace is empty: ", path));
  }
  return analysis.summary;
}

TraceSummary SummaryFromFacts(const IndexFacts& f, const std::optional<TornTail>& torn) {
  TraceSummary s;
  s.run_id = f.run_id;
  s.finished = f.finished;
  s.status = f.finished ? (f.finished_status ? *f.finished_status : "finished") : "open";
  s.events = f.events;
  s.model_calls = f.count(EventKind::kModelCall);
  s.tool_calls = f.count(EventKind::kToolCall);
  s.tool_results = f.count(EventKind::kToolResult);
  s.tool_failures = f.tool_failures;
  s.permission_decisions = f.count(EventKind::kPermissionDecision);
  s.errors = f.count(EventKind::kError);
  s.first_ts_ms = f.first_ts_ms;
  s.last_ts_ms = f.last_ts_ms;
  s.first_seq = f.first_seq;
  s.last_seq = f.last_seq;
  if (f.finished) s.finished_ts_ms = f.last_ts_ms;
  s.torn_tail = torn;
  s.usage = f.usage();
  s.deviations = f.count(EventKind::kAgentGuess) + f.count(EventKind::kPlanDeviation);
  s.models = f.models;
  s.source = f.source;
  s.labels = f.labels;
  return s;
}

}  // namespace

// With a matching index, only the bytes it does not cover are read: O(1) for
// a closed, indexed trace. The index may serve the summary only when it says
// its covered prefix passed the open-trace checks (it was built by a full
// validating scan, or kept by appends that preserve them), and the tail is
// checked here with the same rules; anything else falls back to the full
// scan, so errors and output are exactly those of a full scan.
absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path) {
  return SummarizeTrace(path, SummaryOptions());
}

absl::StatusOr<TraceSummary> SummarizeTrace(const std::string& path,
                                            const SummaryOptions& options) {
  IndexBuildOptions scan_options;
  scan_options.progress = options.progress;
  // Read the index before mapping the trace: a trace growing meanwhile is
  // then at least as long as what the index covers.
  std::optional<std::string> index_bytes = ReadIndexBytes(path);
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  if (IndexDisabled() || (*reader)->size() == 0)
    return SummaryFromFullScan(**reader, path, options);
  const MappedView view = ViewOf(**reader);
  std::optional<TraceIndex> index;
  std::optional<TornTail> torn;
  bool changed = false;
  if (index_bytes) {
    // The entries are not needed unless the index is extended (and then
    // written back): hash them only then.
    absl::StatusOr<TraceIndex> matched = MatchIndex(*index_bytes, view, false);
    if (matched.ok() && matched->facts.covered_bytes < view.size) {
      matched = MatchIndex(*index_bytes, view, true);
    }
    if (matched.ok()) {
      index = std::move(*matched);
      const uint64_t covered = index->facts.covered_bytes;
      if (covered < view.size) {
        ExtendIndex(view, &*index, scan_options, &torn);
        changed = index->facts.covered_bytes > covered;
      }
    }
  }
  if (!index) {
    index = BuildIndex(view, scan_options, &torn);
    changed = true;
  }
  if (changed) PersistIndexBestEffort(path, *index);
  if (!index->facts.validated || index->facts.events == 0) {
    return SummaryFromFullScan(**reader, path, options);
  }
  return SummaryFromFacts(index->facts, torn);
}

std::string HumanDuration(int64_t ms) {
  if (ms < 1000) return Cat(ms, " ms");
  if (ms < 60000) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f s", static_cast<double>(ms) / 1000.0);
    // 59995..59999 ms round to "60.00 s" (the earlier tool's quirk); show a minute.
    if (std::string_view(buf) != "60.00 s") return buf;
    return "1m 0s";
  }
  const int64_t total_s = ms / 1000;
  if (total_s < 3600) return Cat(total_s / 60, "m ", total_s % 60, "s");
  return Cat(total_s / 3600, "h ", (total_s % 3600) / 60, "m ", total_s % 60, "s");
}

std::string FormatSummaryText(const TraceSummary& s) {
  std::string out =
      Cat("run_id: ", s.run_id, "\nstatus: ", s.status, "\nevents: ", s.events,
          "\nmodel_calls: ", s.model_calls, "\ntool_calls: ", s.tool_calls,
          "\ntool_results: ", s.tool_results, "\ntool_failures: ", s.tool_failures,
          "\npermission_decisions: ", s.permission_decisions, "\nerrors: ", s.errors, "\n");
  // Lines for facts older traces never have come only when there is
  // something to say, so their text stays the earlier tool's byte for byte;
  // `deviations:` sits before `duration:` as the renamed earlier tool
  // prints it.
  if (s.deviations > 0) Append(&out, "deviations: ", s.deviations, "\n");
  if (s.usage.any()) Append(&out, "tokens: ", UsageText(s.usage), "\n");
  Append(&out, "duration: ", HumanDuration(s.duration_ms()), "\nduration_ms: ", s.duration_ms(),
         "\n");
  if (s.torn_tail) {
    Append(&out, "torn_tail: ", s.torn_tail->length, " bytes at byte ", s.torn_tail->offset,
           " (run `traceframe repair`)\n");
  }
  return out;
}

namespace internal {

std::string TornTailJson(const std::optional<TornTail>& torn) {
  if (!torn) return "null";
  std::string out;
  JsonObjectWriter t(&out);
  t.Uint("offset", torn->offset).Uint("length", torn->length);
  t.Finish();
  return out;
}

}  // namespace internal

std::string FormatSummaryJson(const TraceSummary& s) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("run_id", s.run_id)
      .String("status", s.status)
      .Bool("finished", s.finished)
      .Uint("events", s.events)
      .Uint("model_calls", s.model_calls)
      .Uint("tool_calls", s.tool_calls)
      .Uint("tool_results", s.tool_results)
      .Uint("tool_failures", s.tool_failures)
      .Uint("permission_decisions", s.permission_decisions)
      .Uint("errors", s.errors)
      .Int("started_ms", s.first_ts_ms)
      .Int("last_ts_ms", s.last_ts_ms);
  if (s.finished_ts_ms) {
    w.Int("finished_ms", *s.finished_ts_ms);
  } else {
    w.Null("finished_ms");
  }
  w.Int("duration_ms", s.duration_ms()).String("duration", HumanDuration(s.duration_ms()));
  w.Uint("first_seq", s.first_seq).Uint("last_seq", s.last_seq);
  w.Raw("torn_tail", internal::TornTailJson(s.torn_tail));
  w.Raw("usage", UsageJson(s.usage)).Uint("deviations", s.deviations);
  w.Raw("models", JsonStringArray(s.models))
      .String("source", s.source)
      .Raw("labels", LabelsJson(s.labels));
  w.Finish();
  return out;
}

}  // namespace traceframe
