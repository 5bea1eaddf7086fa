// Verifying a trace: every line is complete, strict JSON (RFC 8259, payload
// included) and a valid event, and the run's invariants hold (docs/format.md).
//
// Verification streams over a memory-mapped file with bounded heap. Large
// traces are split at line boundaries and checked on all cores; the verdict
// and the reported first failure are the same as a sequential pass.
// VerifyTrace is thread-safe.
#ifndef TRACEFRAME_VERIFY_H_
#define TRACEFRAME_VERIFY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/trace_reader.h"

namespace traceframe {

struct VerifyOptions {
  bool allow_open = false;  // a trace without a final run.finished is valid
  bool strict = false;      // warnings are failures
  int threads = 0;          // 0: all cores for large traces; 1: sequential
  size_t max_issues = 20;   // how many errors and warnings to keep
  // Smallest part a parallel scan splits off (0: 16 MB). Tests and fuzzers
  // set it to a few bytes to force the parallel path onto tiny traces.
  uint64_t min_chunk_bytes = 0;
  // Called now and then with (bytes checked, bytes in the trace), one call
  // at a time from any of the scanning threads; the last call has done ==
  // total. May be empty.
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

// What a finding is. VerifyIssueCodeName gives the stable identifier shown
// by `verify` and `verify --json` (docs/format.md), e.g. "seq_gap".
enum class VerifyIssueCode : uint8_t {
  kInvalidEvent,
  kEmpty,
  kFirstNotRunStarted,
  kUnsupportedVersion,
  kMixedRunId,
  kEmptyRunId,
  kEmptyEventId,
  kFinishedNotLast,
  kSeqNotIncreasing,
  kSeqGap,
  kTsBackwards,
  kSecondRunStarted,
  kFinishedWithoutStatus,
  kDuplicateEventId,
  kDuplicateKey,
  kNotFinished,
  kTornTail,
};

std::string_view VerifyIssueCodeName(VerifyIssueCode code);

// One finding, located in the file.
struct VerifyIssue {
  uint64_t line_number = 0;
  uint64_t byte_offset = 0;
  std::optional<uint64_t> seq;
  VerifyIssueCode code = VerifyIssueCode::kInvalidEvent;
  std::string message;  // e.g. "seq must increase strictly at seq 4"
};

struct VerifyReport {
  std::string path;
  bool valid = false;
  bool open = true;  // the last event is not run.finished
  uint64_t events = 0;
  uint64_t lines = 0;
  uint64_t bytes = 0;
  std::string run_id;
  // The first failure in file order (what the verdict rests on) and the
  // other failures found, up to max_issues.
  std::vector<VerifyIssue> errors;
  std::vector<VerifyIssue> warnings;
  uint64_t warning_count = 0;
  uint64_t error_count = 0;
  std::optional<TornTail> torn_tail;
  // Duplicate event ids are checked over this many events (bounded memory).
  uint64_t duplicate_check_events = 0;
  // The trace is open and a writer (a TraceRecorder, `record --stream`, an
  // append in progress) held its lock when it was checked: the run is still
  // being recorded, rather than never finished.
  bool writer_active = false;
};

// Errors only for I/O (missing file, unreadable); a bad trace is a report
// with valid == false.
absl::StatusOr<VerifyReport> VerifyTrace(const std::string& path, const VerifyOptions& options);

// "seq must increase strictly at seq 4 (line 5, byte 812)".
std::string DescribeIssue(const VerifyIssue& issue);

// The finding the verdict is explained by: a torn tail when there is one (a
// crash cut the last append short; "last event must be run.finished" is then
// only its consequence), else the first error in file order. Null when valid.
const VerifyIssue* PrimaryIssue(const VerifyReport& report);

// `verify --json`: one object (docs/format.md, "verify --json"), ending in
// '\n'. Fields are only ever added.
std::string FormatVerifyJson(const VerifyReport& report);

// `verify`'s findings for stderr, headline first: for an invalid trace
// "Error: <primary finding> in <file>" then indented detail lines (what to
// do next, the other errors as "also: ...", "... N more errors" when the
// list was cut), then the warnings (none under options.strict, where they are
// errors). Empty for a valid trace without warnings. Ends with '\n' when not
// empty. (engine/src/report/verify_output.cc)
std::string FormatVerifyFindings(const VerifyReport& report, const VerifyOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_VERIFY_H_
