// Recovering from a crash mid-write: `traceframe repair`.
//
// A torn tail (final bytes with no newline that are not a complete event) is
// moved into "<trace>.torn-<offset>" beside the trace (written atomically and
// synced first; nothing is deleted), then the trace is truncated to its last
// complete event. Runs under the trace's exclusive lock. Thread-safe.
#ifndef TRACEFRAME_REPAIR_H_
#define TRACEFRAME_REPAIR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "traceframe/verify.h"

namespace traceframe {

struct RepairReport {
  bool repaired = false;     // false: nothing was torn, nothing changed
  uint64_t torn_offset = 0;  // where the torn bytes started
  uint64_t torn_length = 0;
  std::string saved_path;  // where they were moved
  VerifyReport verify;     // open verification after the repair
};

absl::StatusOr<RepairReport> RepairTrace(const std::string& path);

}  // namespace traceframe

#endif  // TRACEFRAME_REPAIR_H_
