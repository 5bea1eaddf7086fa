#include "stream/stream_line.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace traceframe::internal {
namespace {

absl::Status Invalid(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

absl::Status JsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      Cat("not a valid JSON object (", simdjson::error_message(error), ")"));
}

std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// The raw text of any value (simdjson 3.0's ondemand value has raw_json only
// on objects and arrays; a scalar is one token).
simdjson::error_code RawValue(simdjson::ondemand::value value, std::string_view* out) {
  simdjson::ondemand::json_type type;
  if (auto error = value.type().get(type)) return error;
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object object;
    if (auto error = value.get_object().get(object)) return error;
    return object.raw_json().get(*out);
  }
  if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array array;
    if (auto error = value.get_array().get(array)) return error;
    return array.raw_json().get(*out);
  }
  *out = TrimRight(value.raw_json_token());
  return simdjson::SUCCESS;
}

}  // namespace

absl::StatusOr<StreamLine> ParseStreamLine(simdjson::ondemand::parser* parser, const char* data,
                                           size_t len, size_t allocated) {
  simdjson::ondemand::document doc;
  if (auto error = parser->iterate(data, len, allocated).get(doc)) return JsonError(error);
  simdjson::ondemand::object object;
  if (auto error = doc.get_object().get(object)) return JsonError(error);
  StreamLine line;
  bool has_kind = false;
  bool has_payload = false;
  bool has_ts = false;
  bool has_id = false;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (auto error = std::move(field_result).get(field)) return JsonError(error);
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return JsonError(error);
    simdjson::ondemand::value value = field.value();
    if (key == "kind") {
      if (has_kind) return Invalid("duplicate field \"kind\"");
      has_kind = true;
      std::string_view name;
      if (value.get_string().get(name)) return Invalid("\"kind\" must be a string");
      std::optional<EventKind> kind = ParseEventKind(name);
      if (!kind) return Invalid(Cat("unknown event kind ", JsonString(name)));
      if (*kind == EventKind::kRunStarted) {
        return Invalid("run.started is written when the trace is created (record --stream --init)");
      }
      line.kind = *kind;
    } else if (key == "payload") {
      if (has_payload) return Invalid("duplicate field \"payload\"");
      has_payload = true;
      if (auto error = RawValue(value, &line.payload)) return JsonError(error);
    } else if (key == "ts_ms") {
      if (has_ts) return Invalid("duplicate field \"ts_ms\"");
      has_ts = true;
      int64_t ts;
      if (value.get_int64().get(ts) || ts < 0) {
        return Invalid("\"ts_ms\" must be an integer >= 0 (ms since the epoch)");
      }
      line.ts_ms = ts;
    } else if (key == "id") {
      if (has_id) return Invalid("duplicate field \"id\"");
      has_id = true;
      simdjson::ondemand::json_type type;
      if (auto error = value.type().get(type)) return JsonError(error);
      const std::string_view raw = value.raw_json_token();
      if (type == simdjson::ondemand::json_type::string) {
        std::string_view unused;
        if (auto error = value.get_string().get(unused)) return JsonError(error);
      } else if (type == simdjson::ondemand::json_type::number) {
        double unused;
        if (auto error = value.get_double().get(unused)) return JsonError(error);
      } else {
        return Invalid("\"id\" must be a string or a number");
      }
      line.id_json = TrimRight(raw);
    } else {
      return Invalid(
          Cat("unknown field ", JsonString(key), " (a line has kind, payload, ts_ms and id)"));
    }
  }
  // (Content after the object fails get_object() above: simdjson checks
  // that a root object's closing brace is the last token.)
  if (!has_kind) return Invalid("missing \"kind\"");
  if (!has_payload) return Invalid("missing \"payload\"");
  // The payload itself (valid JSON, no repeated key, run.finished's status)
  // is checked once, by the recorder's Record(): the trace contract of
  // event.h CanonicalEventPayload, the same for every way in.
  return line;
}

}  // namespace traceframe::internal
