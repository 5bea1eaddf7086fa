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

// False when no object in the value at `index` of `doc`'s tape (simdjson's
// tape format: its docs/tape.md) repeats a key, at any depth, found in one
// linear pass over the tape instead of a walk of the DOM. True when one may
// (a repeated key, or a value too deep or too wide for its fixed room):
// verify calls it for every payload, and FindDuplicateKey, which decides
// and names the key, only when it says true.
bool TapeHasDuplicateKey(const simdjson::dom::document& doc, size_t index);

// The tape index just past the value at tape index `i` of `doc`.
size_t TapeAfter(const simdjson::dom::document& doc, size_t i);

// CanonicalizeJson (json.h) with one more check on the parsed document before
// minifying: `check` returns OK or the error to return. Uses a per-thread
// parser (the recorder calls this for every event).
absl::StatusOr<std::string> CanonicalizeJsonChecked(
    std::string_view text, const std::function<absl::Status(simdjson::dom::element)>& check);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_JSON_INTERNAL_H_
