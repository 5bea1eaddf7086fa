// The trace event model (format v1, docs/format.md).
//
// A trace file holds one run: UTF-8 JSON lines, one event per line, fields in
// the order version, run_id, event_id, kind, ts_ms, seq, payload. Event is a
// plain value type; SerializeEventLine is thread-safe.
#ifndef TRACEFRAME_EVENT_H_
#define TRACEFRAME_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace traceframe {

inline constexpr int kFormatVersion = 1;

enum class EventKind : uint8_t {
  kRunStarted = 0,
  kModelCall,
  kToolCall,
  kToolResult,
  kPermissionDecision,
  kError,
  kRunFinished,
  // The renamed earlier tool's additions (docs/format.md, "Deviations"):
  // payloads {assumption, why, prevention} and {plan, deviation, why} by
  // convention. Both count as the run's `deviations`.
  kAgentGuess,
  kPlanDeviation,
};
inline constexpr int kEventKindCount = 9;

// "run.started", "model.call", ...
std::string_view EventKindName(EventKind kind);

// Parses a kind name (case-sensitive). nullopt for anything else.
std::optional<EventKind> ParseEventKind(std::string_view name);

// Like ParseEventKind but with the CLI's error: "unknown event kind: <name>".
absl::StatusOr<EventKind> ParseEventKindOrError(std::string_view name);

// The trace contract for one payload (docs/format.md "Payloads"), checked
// where payloads enter the library: InitTrace, AppendEvents, AppendEvent,
// TraceRecorder::Record, and the CLI, hook, import and stream paths.
//  - one complete JSON value (RFC 8259, valid UTF-8);
//  - no object repeats a key, at any depth (readers disagree on which value
//    wins, so a repeated "decision" could pass one reader's policy check and
//    fail another's);
//  - run.finished: a JSON object whose "status" is a string;
//  - model.call and run.finished: a `usage` field, when present, keeps the
//    token-usage convention (usage.h CheckPayloadUsage).
// Returns the payload minified (key order kept), or InvalidArgument naming
// the rule broken and where. Thread-safe.
absl::StatusOr<std::string> CanonicalEventPayload(EventKind kind, std::string_view payload_json);

// CanonicalEventPayload without the minified copy.
absl::Status ValidateEventPayload(EventKind kind, std::string_view payload_json);

struct Event {
  int version = kFormatVersion;
  std::string run_id;
  std::string event_id;
  EventKind kind = EventKind::kRunStarted;
  int64_t ts_ms = 0;
  uint64_t seq = 0;
  std::string payload_json = "{}";  // one valid, compact JSON value
};

// Appends the event as one compact JSON line, including the trailing '\n'.
void AppendEventLine(std::string* out, const Event& event);
std::string SerializeEventLine(const Event& event);

// A random RFC 4122 version 4 UUID in lowercase hyphenated form.
std::string NewEventId();
// Appends a new id (36 characters) without a temporary string.
void AppendNewEventId(std::string* out);

// Wall-clock Unix epoch milliseconds.
int64_t NowEpochMs();

}  // namespace traceframe

#endif  // TRACEFRAME_EVENT_H_
