// libFuzzer target: hook payload mapping, run-id sanitizing and the git push
// parser must never crash, and what they produce must be safe: valid JSON
// payloads of bounded size, filename-safe run ids.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
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
    // A fixed set of fields, each bounded.
    Check(event.payload_json.size() < (size_t{2} << 20), "payload bounded");
    Check(event.kind != traceframe::EventKind::kRunStarted, "no run.started");
  }
  return 0;
}
