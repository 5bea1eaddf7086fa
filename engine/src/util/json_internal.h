// Internal JSON checks on a parsed simdjson DOM, shared by the write-side
// payload contract (event.cc) and verify (trace_analysis.cc).
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_JSON_INTERNAL_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_JSON_INTERNAL_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

#include "simdjson.h"

namespace traceframe {

// Finds an object key that occurs twice in the same object, at any depth.
// RFC 8259 §4 leaves such objects' meaning open: traceframe reads the first
// value, jq and Python the last, so one payload could mean two things
// (docs/format.md "Payloads"). Returns false when there is none; otherwise
// sets *key to the repeated key and *where to its location ("$.a.b[2]").
bool FindDuplicateKey(simdjson::dom::element element, std::string* key, std::string* where);

// CanonicalizeJson (json.h) with one more check on the parsed document before
// minifying: `check` returns OK or the error to return. Uses a per-thread
// parser (the recorder calls this for every event).
absl::StatusOr<std::string> CanonicalizeJsonChecked(
    std::string_view text, const std::function<absl::Status(simdjson::dom::element)>& check);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_JSON_INTERNAL_H_
