// Internal: the writer's unchecked append path and its typed errors.
#ifndef TRACEFRAME_ENGINE_SRC_WRITE_WRITER_INTERNAL_H_
#define TRACEFRAME_ENGINE_SRC_WRITE_WRITER_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traceframe/writer.h"

namespace traceframe {

// FailedPrecondition "cannot append after run.finished: <path> is closed
// (seq N)", marked so that IsRunFinishedError (writer.h) recognizes it.
absl::Status RunFinishedError(std::string_view path, uint64_t seq);

// AppendEvents without the payload and batch contract checks (event.h,
// writer.h). Only for payloads the engine builds itself with the JSON
// writer (exec's tool.call/tool.result, run.finished from a status), which
// are valid by construction.
absl::StatusOr<AppendResult> AppendEventsUnchecked(const std::string& path,
                                                   const std::vector<PendingEvent>& events,
                                                   const WriteOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_WRITE_WRITER_INTERNAL_H_
