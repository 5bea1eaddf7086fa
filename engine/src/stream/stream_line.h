// Internal: one `record --stream` input line, parsed and checked
// (traceframe/stream.h). Every check on a line's shape lives here, in one
// place, so that it can move to the library's shared event validation when
// that exists; the payload's own JSON is validated by TraceRecorder::Record.
#ifndef TRACEFRAME_ENGINE_SRC_STREAM_STREAM_LINE_H_
#define TRACEFRAME_ENGINE_SRC_STREAM_STREAM_LINE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "simdjson.h"
#include "traceframe/event.h"

namespace traceframe::internal {

struct StreamLine {
  EventKind kind = EventKind::kError;
  std::string_view payload;  // raw JSON text (not yet minified)
  std::optional<int64_t> ts_ms;
  std::string_view id_json;  // the id's raw JSON, empty without one
};

// Parses `{"kind","payload","ts_ms"?,"id"?}` from `data[0, len)`; `allocated`
// bytes from `data` are readable (at least len + simdjson::SIMDJSON_PADDING).
// The views point into `data`. Errors are InvalidArgument with the reason.
absl::StatusOr<StreamLine> ParseStreamLine(simdjson::ondemand::parser* parser, const char* data,
                                           size_t len, size_t allocated);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_STREAM_STREAM_LINE_H_
