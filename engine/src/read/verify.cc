#include "traceframe/verify.h"
#include "traceframe/str_util.h"

#include "absl/strings/str_cat.h"
#include "read/trace_analysis.h"

namespace traceframe {

absl::StatusOr<VerifyReport> VerifyTrace(const std::string& path, const VerifyOptions& options) {
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  return AnalyzeTrace(**reader, options).report;
}

std::string DescribeIssue(const VerifyIssue& issue) {
  if (issue.line_number == 0) return issue.message;
  return Cat(issue.message, " (line ", issue.line_number, ", byte ", issue.byte_offset, ")");
}

}  // namespace traceframe
