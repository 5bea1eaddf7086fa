// JSON helpers shared by every writer and reader in traceframe.
//
// Writing: traceframe builds JSON by appending to a std::string with the
// functions below. Output is compact and escapes exactly what JSON requires
// (quote, backslash, control characters), the same rules as the earlier tool,
// so lines are byte-compatible. Invalid UTF-8 in input strings is replaced by
// U+FFFD so that every line written is valid JSON.
//
// Reading: CanonicalizeJson validates a complete JSON text with simdjson's DOM
// parser (RFC 8259, UTF-8 checked) and returns it minified with its key order
// preserved. All functions are thread-safe (no shared state).
#ifndef TRACEFRAME_JSON_H_
#define TRACEFRAME_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace traceframe {

// Appends `value` as a quoted, escaped JSON string.
void AppendJsonString(std::string* out, std::string_view value);

// Returns `value` as a quoted, escaped JSON string.
std::string JsonString(std::string_view value);

// Replaces invalid UTF-8 sequences with U+FFFD. Returns the input unchanged
// (one validation pass, no copy beyond the return) when it is already valid.
std::string SanitizeUtf8(std::string_view value);

// Truncates `text` to at most `max_chars` Unicode scalar values after UTF-8
// sanitizing; sets *truncated when anything was cut. Never splits a character.
std::string TruncateUtf8Chars(std::string_view text, size_t max_chars, bool* truncated);

// Validates `text` as one complete JSON value and returns it minified (all
// insignificant whitespace removed, keys in their original order). The error
// names what is wrong, e.g. "TAPE_ERROR: ..." translated to a readable reason.
absl::StatusOr<std::string> CanonicalizeJson(std::string_view text);

// Same as CanonicalizeJson but only validates.
absl::Status ValidateJson(std::string_view text);

// Writes a compact JSON object field by field: {"a":1,"b":"x"}.
// The caller is responsible for passing already-valid JSON to Raw().
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out);
  JsonObjectWriter& String(std::string_view key, std::string_view value);
  JsonObjectWriter& Int(std::string_view key, int64_t value);
  JsonObjectWriter& Uint(std::string_view key, uint64_t value);
  JsonObjectWriter& Bool(std::string_view key, bool value);
  JsonObjectWriter& Null(std::string_view key);
  // `json` must be one valid, compact JSON value.
  JsonObjectWriter& Raw(std::string_view key, std::string_view json);
  // Closes the object. Must be called exactly once.
  void Finish();

 private:
  void Key(std::string_view key);
  std::string* out_;
  bool first_ = true;
};

}  // namespace traceframe

#endif  // TRACEFRAME_JSON_H_
