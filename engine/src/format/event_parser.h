// Internal: the simdjson-based parser of one event line. Not thread-safe; each
// thread owns one (it reuses the DOM buffers across lines).
#ifndef TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_
#define TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_

#include <string>
#include <string_view>

#include "simdjson.h"
#include "traceframe/event_view.h"

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

  // The schema walk of Parse on a line parsed elsewhere (a document of a
  // parse_many batch, read/trace_reader.cc): the same checks, the same
  // reasons. `root` must stay valid while *out and payload() are used.
  LineParseError ReadEvent(const simdjson::dom::document& doc, EventView* out, std::string* reason);

  // The parser of parse_many batches (read/trace_reader.cc); it allocates
  // nothing until first used.
  simdjson::dom::parser& batch_parser() { return batch_parser_; }

  // The payload of the last successful Parse or ReadEvent.
  simdjson::dom::element payload() const { return payload_; }

  // Whether the payload of the last successful Parse or ReadEvent has an
  // object that repeats a key (then FindDuplicateKey on payload() names it).
  bool PayloadHasDuplicateKey() const;

  // Parses an arbitrary JSON document (for payload inspection by other modules).
  simdjson::simdjson_result<simdjson::dom::element> ParseDocument(std::string_view json);

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::parser doc_parser_;
  simdjson::dom::parser batch_parser_;
  std::string scratch_;
  simdjson::dom::element payload_;
  const simdjson::dom::document* doc_ = nullptr;  // payload_'s document
  size_t payload_index_ = 0;                      // payload_'s index on doc_'s tape
};

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_PARSER_H_
