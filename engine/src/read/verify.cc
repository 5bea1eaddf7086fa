#include "traceframe/verify.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "read/trace_analysis.h"
#include "util/file_util.h"

namespace traceframe {

std::string_view VerifyIssueCodeName(VerifyIssueCode code) {
  switch (code) {
    case VerifyIssueCode::kInvalidEvent:
      return "invalid_event";
    case VerifyIssueCode::kEmpty:
      return "empty";
    case VerifyIssueCode::kFirstNotRunStarted:
      return "first_not_run_started";
    case VerifyIssueCode::kUnsupportedVersion:
      return "unsupported_version";
    case VerifyIssueCode::kMixedRunId:
      return "mixed_run_id";
    case VerifyIssueCode::kEmptyRunId:
      return "empty_run_id";
    case VerifyIssueCode::kEmptyEventId:
      return "empty_event_id";
    case VerifyIssueCode::kFinishedNotLast:
      return "finished_not_last";
    case VerifyIssueCode::kSeqNotIncreasing:
      return "seq_not_increasing";
    case VerifyIssueCode::kSeqGap:
      return "seq_gap";
    case VerifyIssueCode::kTsBackwards:
      return "ts_backwards";
    case VerifyIssueCode::kSecondRunStarted:
      return "second_run_started";
    case VerifyIssueCode::kFinishedWithoutStatus:
      return "finished_without_status";
    case VerifyIssueCode::kDuplicateEventId:
      return "duplicate_event_id";
    case VerifyIssueCode::kDuplicateKey:
      return "duplicate_key";
    case VerifyIssueCode::kNotFinished:
      return "not_finished";
    case VerifyIssueCode::kTornTail:
      return "torn_tail";
  }
  return "unknown";
}

namespace {

// Whether another process holds the trace's writer lock right now (writers
// append under an exclusive flock; a TraceRecorder keeps it for its life).
bool WriterHoldsLock(const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenRegularFile(path, O_RDONLY, "failed to read trace file");
  if (!fd.ok()) return false;
  if (::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd->get(), LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyTrace(const std::string& path, const VerifyOptions& options) {
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  VerifyReport report = AnalyzeTrace(**reader, options).report;
  // Only an open trace needs to know: "still being recorded" and "never
  // finished" call for different advice.
  if (report.open && report.events > 0) report.writer_active = WriterHoldsLock(path);
  return report;
}

const VerifyIssue* PrimaryIssue(const VerifyReport& report) {
  if (report.errors.empty()) return nullptr;
  for (const VerifyIssue& issue : report.errors) {
    if (issue.code == VerifyIssueCode::kTornTail) return &issue;
  }
  return &report.errors.front();
}

std::string DescribeIssue(const VerifyIssue& issue) {
  if (issue.line_number == 0) return issue.message;
  return Cat(issue.message, " (line ", issue.line_number, ", byte ", issue.byte_offset, ")");
}

}  // namespace traceframe
