// What an appender learns about a trace before writing: the last event's
// seq, kind and time, the run id, and whether the last line lacks its '\n'.
// Read by the writer, the recorder and the index upkeep (which sits below
// the writer), so it lives in read/ and neither of them owns it.
#ifndef TRACEFRAME_ENGINE_SRC_READ_TAIL_STATE_H_
#define TRACEFRAME_ENGINE_SRC_READ_TAIL_STATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "traceframe/event.h"

namespace traceframe {
namespace internal {

struct TailState {
  std::string run_id;
  uint64_t last_seq = 0;
  EventKind last_kind = EventKind::kRunStarted;
  int64_t last_ts_ms = 0;
  uint64_t size = 0;
  bool needs_newline = false;  // last line is complete but lacks its '\n'
};

// Reads the tail state of an open trace descriptor (no locking); O(length of
// the last line), not of the trace. Fails (FailedPrecondition) on an empty
// trace, a torn tail or an invalid last event.
absl::StatusOr<TailState> ReadTailState(int fd, const std::string& path);

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_READ_TAIL_STATE_H_
