#include "format/event_parser.h"
#include "traceframe/str_util.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "format/payload_facts.h"
#include "util/json_internal.h"
#include "util/simdjson_errors.h"

namespace traceframe {
namespace {

enum Field : uint32_t {
  kVersion = 1,
  kRunId = 2,
  kEventId = 4,
  kKind = 8,
  kTsMs = 16,
  kSeq = 32,
  kPayload = 64,
  kAllFields = 127,
};

// Compares with a literal of known length: inlined as a few loads instead of
// a memcmp call (this runs for every field of every line verify reads).
template <size_t N>
bool Is(std::string_view key, const char (&literal)[N]) {
  return std::memcmp(key.data(), literal, N - 1) == 0;
}

Field FieldFor(std::string_view key) {
  switch (key.size()) {
    case 3:
      return Is(key, "seq") ? kSeq : Field(0);
    case 4:
      return Is(key, "kind") ? kKind : Field(0);
    case 5:
      return Is(key, "ts_ms") ? kTsMs : Field(0);
    case 6:
      return Is(key, "run_id") ? kRunId : Field(0);
    case 7:
      return Is(key, "version") ? kVersion : Is(key, "payload") ? kPayload : Field(0);
    case 8:
      return Is(key, "event_id") ? kEventId : Field(0);
    default:
      return Field(0);
  }
}

std::string_view FieldName(uint32_t bit) {
  switch (bit) {
    case kVersion:
      return "version";
    case kRunId:
      return "run_id";
    case kEventId:
      return "event_id";
    case kKind:
      return "kind";
    case kTsMs:
      return "ts_ms";
    case kSeq:
      return "seq";
    default:
      return "payload";
  }
}

}  // namespace

EventParser::EventParser() : parser_(), doc_parser_() {}

simdjson::simdjson_result<simdjson::dom::element> EventParser::ParseDocument(
    std::string_view json) {
  return doc_parser_.parse(json.data(), json.size(), true);
}

LineParseError EventParser::Parse(std::string_view line, bool padded, EventView* out,
                                  std::string* reason) {
  // One huge line (a 50 MB payload) grows the parser's buffers to several
  // times its size; give that memory back once lines are small again.
  constexpr size_t kShrinkAbove = 8u << 20;
  if (parser_.capacity() > kShrinkAbove && line.size() < kShrinkAbove) {
    parser_ = simdjson::dom::parser();
  }
  simdjson::dom::element root;
  simdjson::error_code error;
  if (padded) {
    error =
        parser_.parse(reinterpret_cast<const uint8_t*>(line.data()), line.size(), false).get(root);
  } else {
    scratch_.assign(line.data(), line.size());
    scratch_.append(simdjson::SIMDJSON_PADDING, '\0');
    error = parser_.parse(reinterpret_cast<const uint8_t*>(scratch_.data()), line.size(), false)
                .get(root);
  }
  if (error) {
    *reason = internal::SimdjsonErrorText(error, "line");
    return LineParseError::kJsonSyntax;
  }
  return ReadEvent(parser_.doc, out, reason);
}

bool EventParser::PayloadHasDuplicateKey() const {
  return TapeHasDuplicateKey(*doc_, payload_index_);
}

LineParseError EventParser::ReadEvent(const simdjson::dom::document& doc, EventView* out,
                                      std::string* reason) {
  const simdjson::dom::element root = doc.root();
  doc_ = &doc;
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    *reason = "an event must be a JSON object";
    return LineParseError::kSchema;
  }
  uint32_t seen = 0;
  // The tape index of each value, kept in step with the iteration (the
  // root object is at 1, its first key at 2): PayloadHasDuplicateKey reads
  // the payload from the tape.
  size_t value_index = 1;
  for (auto field : object) {
    value_index = value_index == 1 ? 3 : TapeAfter(doc, value_index) + 1;
    const Field which = FieldFor(field.key);
    if (which == 0) continue;  // unknown top-level fields are ignored
    if (seen & which) {
      *reason = Cat("duplicate field `", field.key, "`");
      return LineParseError::kSchema;
    }
    seen |= which;
    const simdjson::dom::element value = field.value;
    switch (which) {
      case kVersion:
        if (value.get_uint64().get(out->version)) {
          *reason = "invalid type for `version`: expected an unsigned integer";
          return LineParseError::kSchema;
        }
        break;
      case kRunId:
        if (value.get_string().get(out->run_id)) {
          *reason = "invalid type for `run_id`: expected a string";
          return LineParseError::kSchema;
        }
        break;
      case kEventId:
        if (value.get_string().get(out->event_id)) {
          *reason = "invalid type for `event_id`: expected a string";
          return LineParseError::kSchema;
        }
        break;
      case kKind: {
        std::string_view name;
        if (value.get_string().get(name)) {
          *reason = "invalid type for `kind`: expected a string";
          return LineParseError::kSchema;
        }
        auto kind = ParseEventKind(name);
        if (!kind) {
          *reason = Cat("unknown event kind `", name, "`");
          return LineParseError::kSchema;
        }
        out->kind = *kind;
        break;
      }
      case kTsMs:
        if (value.get_int64().get(out->ts_ms)) {
          *reason = "invalid type for `ts_ms`: expected an integer (epoch milliseconds)";
          return LineParseError::kSchema;
        }
        break;
      case kSeq:
        if (value.get_uint64().get(out->seq)) {
          *reason = "invalid type for `seq`: expected an unsigned integer";
          return LineParseError::kSchema;
        }
        break;
      default:  // kPayload
        payload_ = value;
        payload_index_ = value_index;
        break;
    }
  }
  if (seen != kAllFields) {
    for (uint32_t bit = 1; bit < kAllFields; bit <<= 1) {
      if (!(seen & bit)) {
        *reason = Cat("missing field `", FieldName(bit), "`");
        return LineParseError::kSchema;
      }
    }
  }
  out->tool_failed = false;
  out->finished_status.reset();
  out->usage.reset();
  out->model.reset();
  if (out->kind == EventKind::kToolResult || out->kind == EventKind::kRunFinished ||
      out->kind == EventKind::kModelCall) {
    simdjson::dom::object payload;
    if (!payload_.get_object().get(payload)) {
      if (out->kind != EventKind::kToolResult) {
        auto usage = payload["usage"];
        TokenUsage u;
        if (!usage.error() && UsageFromElement(usage.value_unsafe(), &u)) out->usage = u;
      }
      if (out->kind == EventKind::kModelCall) {
        std::string_view model;
        if (!payload["model"].get_string().get(model)) out->model = model;
      } else if (out->kind == EventKind::kRunFinished) {
        std::string_view status;
        if (!payload["status"].get_string().get(status)) out->finished_status = status;
      } else {
        bool success;
        auto success_field = payload["success"];
        if (!success_field.error()) {
          out->tool_failed = !success_field.get_bool().get(success) && !success;
        } else {
          // No success flag: a non-zero integer exit code is a failure (the
          // earlier tool counted these as successes; reference §11.28).
          int64_t code;
          out->tool_failed = !payload["exit_code"].get_int64().get(code) && code != 0;
        }
      }
    }
  }
  return LineParseError::kNone;
}

}  // namespace traceframe
