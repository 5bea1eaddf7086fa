// `verify`'s output: the JSON report and the human findings (verify.h).
// The checks themselves live in read/ (trace_analysis.cc); this file only
// words their result, so the CLI stays a thin caller.
#include <string>

#include "absl/strings/str_cat.h"
#include "report/report_json.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "traceframe/verify.h"

namespace traceframe {

namespace {

std::string IssueJson(const VerifyIssue& issue) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("line", issue.line_number).Uint("byte", issue.byte_offset);
  if (issue.seq) {
    w.Uint("seq", *issue.seq);
  } else {
    w.Null("seq");
  }
  w.String("code", VerifyIssueCodeName(issue.code)).String("message", issue.message);
  w.Finish();
  return out;
}

std::string IssueListJson(const std::vector<VerifyIssue>& issues) {
  return internal::JsonArrayOf(issues, IssueJson);
}

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return Cat(n, " ", n == 1 ? one : many);
}

// The headline and what to do about it, for an invalid trace.
void AppendVerdict(const VerifyReport& r, std::string* out) {
  const VerifyIssue& first = r.errors.front();
  if (r.torn_tail) {
    // A crash mid-append: the trace is fine up to the torn bytes, and the
    // "last event must be run.finished" that follows is only a consequence.
    Append(out, "Error: ", r.path,
           " ends in a torn write: ", Plural(r.torn_tail->length, "byte", "bytes"), " at byte ",
           r.torn_tail->offset, " (line ", r.torn_tail->line_number,
           ") are not a complete event, as a crash in the middle of an append leaves\n");
    Append(out, "  fix: traceframe repair --file ", r.path,
           "  (moves the torn bytes aside; every complete event is kept)\n");
  } else {
    Append(out, "Error: ", DescribeIssue(first), " in ", r.path, "\n");
    if (first.code == VerifyIssueCode::kNotFinished) {
      if (r.writer_active) {
        Append(out,
               "  the trace is open: a writer is still recording it (it holds the trace's "
               "lock); verify again when the run has ended, or pass --allow-open to check it "
               "as it stands\n");
      } else {
        Append(out,
               "  the trace is open: it was never finished (no writer holds it); close it with "
               "`traceframe finish --file ",
               r.path, " --status failed`, or pass --allow-open to accept an open trace\n");
      }
    }
  }
  uint64_t listed = 1;  // the headline
  for (size_t i = 0; i < r.errors.size(); ++i) {
    const VerifyIssue& issue = r.errors[i];
    if (issue.code == VerifyIssueCode::kTornTail || (!r.torn_tail && i == 0)) continue;
    Append(out, "  also: ", DescribeIssue(issue), "\n");
    ++listed;
  }
  if (r.error_count > listed) {
    const uint64_t more = r.error_count - listed;
    Append(out, "  ... ", more, " more ", more == 1 ? "error" : "errors",
           " (raise --max-errors to list them)\n");
  }
}

}  // namespace

std::string FormatVerifyJson(const VerifyReport& r) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("file", r.path).Bool("valid", r.valid).Bool("open", r.open).Uint("events", r.events);
  w.Uint("lines", r.lines).Uint("bytes", r.bytes).String("run_id", r.run_id);
  if (r.errors.empty()) {
    w.Null("error");
  } else {
    w.Raw("error", IssueJson(r.errors.front()));
  }
  w.Uint("error_count", r.error_count).Raw("errors", IssueListJson(r.errors));
  w.Uint("warning_count", r.warning_count).Raw("warnings", IssueListJson(r.warnings));
  w.Raw("torn_tail", internal::TornTailJson(r.torn_tail));
  // Added after the first release (fields are only ever added): the finding
  // the verdict rests on (the torn tail when there is one) and whether a
  // writer was still recording the open trace.
  if (const VerifyIssue* primary = PrimaryIssue(r); primary != nullptr) {
    w.Raw("primary", IssueJson(*primary));
  } else {
    w.Null("primary");
  }
  w.Bool("writer_active", r.writer_active);
  w.Finish();
  out.push_back('\n');
  return out;
}

std::string FormatVerifyFindings(const VerifyReport& r, const VerifyOptions& options) {
  std::string out;
  if (!r.valid) AppendVerdict(r, &out);
  if (!options.strict) {
    for (const VerifyIssue& w : r.warnings) Append(&out, "warning: ", DescribeIssue(w), "\n");
    if (r.warning_count > r.warnings.size()) {
      Append(&out, "warning: ... ", r.warning_count - r.warnings.size(), " more ",
             r.warning_count - r.warnings.size() == 1 ? "warning" : "warnings",
             " (raise --max-errors to list them)\n");
    }
  }
  return out;
}

}  // namespace traceframe
