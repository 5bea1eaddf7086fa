// Differential fuzzer of the event line validator.
//
// EventParser must accept exactly the lines that simdjson's DOM parser accepts
// as JSON and that satisfy the event schema (docs/format.md), checked here
// independently on the DOM: an object; version, seq unsigned integers;
// ts_ms a signed 64-bit integer; run_id, event_id, kind strings with a known
// kind; a payload of any type; each known field exactly once; unknown fields
// ignored. The padded and unpadded parse paths must agree, the extracted
// fields must equal the DOM's, and RawPayload must return the stored payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "format/event_parser.h"
#include "simdjson.h"
#include "traceframe/trace_reader.h"

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

void Check(bool ok, const char* what, std::string_view line) {
  if (ok) return;
  std::fprintf(stderr, "event_line_fuzz: %s\nline (%zu bytes): %.*s\n", what, line.size(),
               static_cast<int>(std::min<size_t>(line.size(), 2000)), line.data());
  std::abort();
}

bool IsKnownKind(std::string_view k) {
  return k == "run.started" || k == "model.call" || k == "tool.call" || k == "tool.result" ||
         k == "permission.decision" || k == "error" || k == "run.finished";
}

// Non-negative integer that fits u64 (simdjson types positive integers that
// fit int64 as INT64 and larger ones as UINT64).
bool IsUnsigned(element e, uint64_t* out) {
  if (e.type() == element_type::UINT64) {
    *out = e.get_uint64().value_unsafe();
    return true;
  }
  if (e.type() == element_type::INT64) {
    const int64_t v = e.get_int64().value_unsafe();
    *out = static_cast<uint64_t>(v);
    return v >= 0;
  }
  return false;
}

struct Expected {
  uint64_t version = 0, seq = 0;
  int64_t ts_ms = 0;
  std::string_view run_id, event_id, kind;
  element payload;
};

bool SchemaOk(element root, Expected* x) {
  if (root.type() != element_type::OBJECT) return false;
  int version = 0, run_id = 0, event_id = 0, kind = 0, ts = 0, seq = 0, payload = 0;
  const simdjson::dom::object object = root.get_object().value_unsafe();
  for (auto field : object) {
    const std::string_view key = field.key;
    const element v = field.value;
    if (key == "version") {
      if (++version > 1 || !IsUnsigned(v, &x->version)) return false;
    } else if (key == "run_id") {
      if (++run_id > 1 || v.type() != element_type::STRING) return false;
      x->run_id = v.get_string().value_unsafe();
    } else if (key == "event_id") {
      if (++event_id > 1 || v.type() != element_type::STRING) return false;
      x->event_id = v.get_string().value_unsafe();
    } else if (key == "kind") {
      if (++kind > 1 || v.type() != element_type::STRING) return false;
      x->kind = v.get_string().value_unsafe();
      if (!IsKnownKind(x->kind)) return false;
    } else if (key == "ts_ms") {
      if (++ts > 1 || v.type() != element_type::INT64) return false;
      x->ts_ms = v.get_int64().value_unsafe();
    } else if (key == "seq") {
      if (++seq > 1 || !IsUnsigned(v, &x->seq)) return false;
    } else if (key == "payload") {
      if (++payload > 1) return false;
      x->payload = v;
    }
  }
  return version && run_id && event_id && kind && ts && seq && payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  static simdjson::dom::parser* dom = new simdjson::dom::parser();
  static traceframe::EventParser* parser = new traceframe::EventParser();
  static traceframe::EventParser* unpadded_parser = new traceframe::EventParser();

  // The reference verdict, from an independent DOM parse and schema check.
  simdjson::padded_string copy(line);
  element root;
  const bool json_ok = !dom->parse(copy).get(root);
  Expected x;
  const bool expect_ok = json_ok && SchemaOk(root, &x);

  std::string padded(line);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  traceframe::EventView view;
  std::string reason;
  const traceframe::LineParseError got =
      parser->Parse(std::string_view(padded.data(), size), true, &view, &reason);
  traceframe::EventView view2;
  std::string reason2;
  const traceframe::LineParseError got2 = unpadded_parser->Parse(line, false, &view2, &reason2);
  Check(got == got2, "padded and unpadded parses disagree", line);
  Check(reason == reason2 || got == traceframe::LineParseError::kNone,
        "padded and unpadded reasons disagree", line);
  Check((got == traceframe::LineParseError::kNone) == expect_ok,
        expect_ok ? "EventParser rejected a valid event" : "EventParser accepted an invalid event",
        line);
  Check(got != traceframe::LineParseError::kJsonSyntax || !json_ok,
        "valid JSON reported as a syntax error", line);
  Check(got != traceframe::LineParseError::kSchema || json_ok,
        "invalid JSON reported as a schema error", line);
  if (!expect_ok) return 0;

  Check(view.version == x.version && view.seq == x.seq && view.ts_ms == x.ts_ms &&
            view.run_id == x.run_id && view.event_id == x.event_id &&
            traceframe::EventKindName(view.kind) == x.kind,
        "extracted fields differ from the DOM", line);
  const std::string expected_payload = simdjson::to_string(x.payload);
  Check(simdjson::to_string(parser->payload()) == expected_payload,
        "payload element differs from the DOM", line);
  // RawPayload: the stored text of the payload, or empty when the key is
  // spelled with escapes (callers then re-serialize).
  const std::string_view raw = traceframe::RawPayload(line);
  if (!raw.empty()) {
    simdjson::padded_string raw_copy(raw);
    element raw_root;
    Check(!dom->parse(raw_copy).get(raw_root), "RawPayload is not one JSON value", line);
    Check(simdjson::to_string(raw_root) == expected_payload,
          "RawPayload differs from the parsed payload", line);
  }
  return 0;
}
