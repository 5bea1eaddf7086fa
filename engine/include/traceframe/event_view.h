// EventView: one parsed event line, as every reader of a trace sees it (the
// parser in the format layer fills it; TraceReader, verify, summaries and
// reports consume it). Its own header so that the event parser does not
// depend on the reader that uses it.
//
// A view owns nothing: its string_views point into the bytes it was parsed
// from (a mapped trace, a parser's buffer) and live only as long as they do.
#ifndef TRACEFRAME_EVENT_VIEW_H_
#define TRACEFRAME_EVENT_VIEW_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "traceframe/event.h"
#include "traceframe/usage.h"

namespace traceframe {

// One parsed event. The string_views point into the reader's buffers and are
// valid only until the callback returns.
struct EventView {
  uint64_t line_number = 0;  // 1-based physical line, blank lines counted
  uint64_t byte_offset = 0;  // offset of the line's first byte in the file
  std::string_view line;     // the raw line without its line terminator
  uint64_t version = 0;
  std::string_view run_id;
  std::string_view event_id;
  EventKind kind = EventKind::kRunStarted;
  int64_t ts_ms = 0;
  uint64_t seq = 0;
  // Facts from the payload that summaries need, extracted during the parse.
  bool tool_failed = false;  // tool.result: success:false, or a non-zero exit_code without success
  std::optional<std::string_view> finished_status;  // run.finished: payload.status if a string
  // model.call and run.finished: payload.usage when it is an object
  // (docs/format.md, "Token usage").
  std::optional<TokenUsage> usage;
  std::optional<std::string_view> model;  // model.call: payload.model if a string
};

}  // namespace traceframe

#endif  // TRACEFRAME_EVENT_VIEW_H_
