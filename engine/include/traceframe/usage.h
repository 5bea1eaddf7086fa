// Token usage: one convention for every host and writer, OpenTelemetry
// GenAI's (docs/format.md, "Token usage").
//
//   usage = {"input_tokens", "output_tokens", "cache_read_input_tokens",
//            "cache_creation_input_tokens", "reasoning_output_tokens"}
//
// input_tokens counts all input, cached included (Claude's `input_tokens`
// excludes the cache and must be added up; Codex's includes it);
// output_tokens counts all output, reasoning included. A `usage` object goes
// on model.call payloads, or on run.finished as the run's total when a host
// only gives totals. The run's usage is run.finished's when it has one, else
// the sum over its model.call events. Plain values; thread-safe.
#ifndef TRACEFRAME_USAGE_H_
#define TRACEFRAME_USAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "traceframe/event.h"

namespace traceframe {

// A run's `models` (the distinct model.call `model` strings, first seen
// first) keeps at most this many; the index stores the list, so it is
// bounded. A longer name is cut at a character boundary.
inline constexpr size_t kMaxRunModels = 16;
inline constexpr size_t kMaxModelNameBytes = 200;

struct TokenUsage {
  uint64_t input_tokens = 0;   // all input, cached included
  uint64_t output_tokens = 0;  // all output, reasoning included
  uint64_t cache_read_input_tokens = 0;
  uint64_t cache_creation_input_tokens = 0;
  uint64_t reasoning_output_tokens = 0;

  // Some count is non-zero: the trace "has tokens" (text output shows them).
  bool any() const;
  TokenUsage& operator+=(const TokenUsage& o);
  bool operator==(const TokenUsage& o) const;
  bool operator!=(const TokenUsage& o) const { return !(*this == o); }
};

// The five field names, in the order they are written.
inline constexpr std::string_view kUsageFieldNames[5] = {
    "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
    "reasoning_output_tokens"};

// Parses a `usage` JSON object: each of the five fields, when present, must
// be a non-negative integer (absent fields are 0; other keys are ignored, so
// a host's extra counters do no harm). InvalidArgument naming the field
// otherwise.
absl::StatusOr<TokenUsage> ParseUsageJson(std::string_view json);

// The usage convention writers keep: when a model.call or run.finished
// payload (an object) has a `usage` field, it must be a usage object as
// ParseUsageJson accepts. Other kinds and payloads pass. Part of the
// payload contract every writer enforces (event.h CanonicalEventPayload);
// verify does not check it (readers are tolerant).
absl::Status CheckPayloadUsage(EventKind kind, std::string_view payload_json);

// The compact JSON object, all five fields in kUsageFieldNames order.
std::string UsageJson(const TokenUsage& usage);

// "1234 in (1000 cached), 56 out (12 reasoning)": the `tokens:` text of
// summary, ledger show, inspect and render.
std::string UsageText(const TokenUsage& usage);

}  // namespace traceframe

#endif  // TRACEFRAME_USAGE_H_
