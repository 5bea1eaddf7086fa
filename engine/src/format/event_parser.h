// Internal: the simdjson-based parser of one event line. Not thread-safe; each
// thread owns one (it reuses the DOM buffers across lines).
#ifndef TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_
#define TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_

#include <string>
#include <string_view>

#include "simdjson.h"
#include "traceframe/trace_reader.h"

namespace traceframe {

enum class LineParseError {
  kNone = 0,
  kJsonSyntax,  // not one complete JSON value (a torn write looks like this)
  kSchema,      // valid JSON but not a valid event
};

class EventParser {
 public:
  EventParser();

  // Parses `line` into *out (fields other than line/line_number/byte_offset).
  // When `padded` is true, SIMDJSON_PADDING readable bytes must follow line.
  // On failure returns the category and sets *reason.
  LineParseError Parse(std::string_view line, bool padded, EventView* out, std::string* reason);

  // The payload of the last successful Parse.
  simdjson::dom::element payload() const { return payload_; }

  // Parses an arbitrary JSON document (for payload inspection by other modules).
  simdjson::simdjson_result<simdjson::dom::element> ParseDocument(std::string_view json);

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::parser doc_parser_;
  std::string scratch_;
  simdjson::dom::element payload_;
};

// Readable reason for a simdjson error code.
std::string JsonErrorReason(simdjson::error_code error);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_
