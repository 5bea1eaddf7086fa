// libFuzzer target: hook payload mapping, run-id sanitizing and the git push
// parser must never crash, and what they produce must be safe: valid JSON
// payloads of bounded size, filename-safe run ids, a bounded payload.raw in
// every event with nothing left under a secret-looking key.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "simdjson.h"
#include "traceframe/event.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/policy.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_trap();
  }
  (void)what;
}

bool FilenameSafe(std::string_view id) {
  if (id.empty() || id.size() > traceframe::kRunIdMaxBytes || id.front() == '.' ||
      id.back() == '.' || id.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';  // '~': altered ids
    if (!ok) return false;
  }
  return true;
}

// No value under a secret-looking key survives, apart from bools and nulls
// (kept), numbers under token-count keys (kept) and the redaction marker.
bool Redacted(simdjson::dom::element value) {
  simdjson::dom::object object;
  if (value.get_object().get(object) == simdjson::SUCCESS) {
    for (auto field : object) {
      if (traceframe::LooksLikeSecretKey(field.key, field.value.is_number())) {
        const auto type = field.value.type();
        std::string_view s;
        if (type != simdjson::dom::element_type::BOOL &&
            type != simdjson::dom::element_type::NULL_VALUE &&
            !(field.value.get_string().get(s) == simdjson::SUCCESS &&
              s == traceframe::kHookRedacted)) {
          return false;
        }
      } else if (!Redacted(field.value)) {
        return false;
      }
    }
    return true;
  }
  simdjson::dom::array array;
  if (value.get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      if (!Redacted(item)) return false;
    }
  }
  return true;
}

// payload.raw: present, bounded, redacted.
void CheckRaw(const std::string& payload_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element raw;
  Check(parser.parse(payload_json)["raw"].get(raw) == simdjson::SUCCESS, "raw present");
  Check(raw.is_object(), "raw is the payload object");
  Check(simdjson::minify(raw).size() <= traceframe::kHookRawMaxBytes, "raw bounded");
  Check(Redacted(raw), "raw redacted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Check(FilenameSafe(traceframe::SafeRunId(input)), "SafeRunId");
  (void)traceframe::FindGitPushes(input);
  (void)traceframe::ClassifyDecision(input);

  traceframe::HookMapOptions options;
  options.strict = size % 2 == 1;
  absl::StatusOr<traceframe::HookMapping> mapping = traceframe::MapHookPayload(input, options);
  if (!mapping.ok()) return 0;
  Check(FilenameSafe(mapping->run_id), "run_id");
  Check(mapping->ignored == mapping->events.empty() || !mapping->ignored, "ignored");
  Check(mapping->events.size() <= 2, "at most a decision and one event");
  Check(traceframe::ValidateJson("{" + mapping->started_fields_json + "}").ok(), "started");
  for (const traceframe::PendingEvent& event : mapping->events) {
    Check(traceframe::ValidateJson(event.payload_json).ok(), "payload JSON");
    // The library's contract (no repeated keys, ...): no host payload makes
    // an event the writer would refuse.
    Check(traceframe::ValidateEventPayload(event.kind, event.payload_json).ok(), "contract");
    // A fixed set of fields, each bounded.
    Check(event.payload_json.size() < (size_t{2} << 20), "payload bounded");
    Check(event.kind != traceframe::EventKind::kRunStarted, "no run.started");
    CheckRaw(event.payload_json);
  }
  if (!mapping->ignored && mapping->events.empty()) {  // SessionStart: run.started keeps raw
    CheckRaw("{" + mapping->started_fields_json + "}");
  }
  return 0;
}
