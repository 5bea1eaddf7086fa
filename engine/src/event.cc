#include "traceframe/event.h"
#include "traceframe/str_util.h"

#include <array>
#include <chrono>
#include <random>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "traceframe/json.h"

namespace traceframe {
namespace {

constexpr std::array<std::string_view, kEventKindCount> kKindNames = {
    "run.started",         "model.call", "tool.call",   "tool.result",
    "permission.decision", "error",      "run.finished"};

}  // namespace

std::string_view EventKindName(EventKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

absl::StatusOr<EventKind> ParseEventKindOrError(std::string_view name) {
  auto kind = ParseEventKind(name);
  if (!kind) {
    return absl::InvalidArgumentError(
        Cat("unknown event kind: ", name,
            " (expected one of run.started, model.call, tool.call, tool.result, "
            "permission.decision, error, run.finished)"));
  }
  return *kind;
}

void AppendEventLine(std::string* out, const Event& event) {
  out->reserve(out->size() + 128 + event.run_id.size() + event.payload_json.size());
  Append(out, "{\"version\":", event.version, ",\"run_id\":");
  AppendJsonString(out, event.run_id);
  out->append(",\"event_id\":");
  AppendJsonString(out, event.event_id);
  Append(out, ",\"kind\":\"", EventKindName(event.kind), "\",\"ts_ms\":", event.ts_ms,
         ",\"seq\":", event.seq, ",\"payload\":");
  out->append(event.payload_json);
  out->append("}\n");
}

std::string SerializeEventLine(const Event& event) {
  std::string out;
  AppendEventLine(&out, event);
  return out;
}

std::string NewEventId() {
  // absl::BitGen is seeded from the OS once per generator; a thread-local one
  // keeps id generation lock-free for the recorder's producer threads.
  thread_local absl::BitGen gen;
  const uint64_t hi = absl::Uniform<uint64_t>(gen);
  const uint64_t lo = absl::Uniform<uint64_t>(gen);
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[b[i] >> 4]);
    id.push_back(kHex[b[i] & 0xF]);
  }
  return id;
}

int64_t NowEpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace traceframe
