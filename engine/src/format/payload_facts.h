// Internal: the facts readers take from event payloads beyond the kind
// (token usage, models, run labels and source), shared by verify/summary's
// scan, the index and the ledger, so every reader reads them one way
// (docs/format.md, "Token usage", "Labels").
#ifndef TRACEFRAME_ENGINE_SRC_FORMAT_PAYLOAD_FACTS_H_
#define TRACEFRAME_ENGINE_SRC_FORMAT_PAYLOAD_FACTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "simdjson.h"
#include "traceframe/labels.h"
#include "traceframe/usage.h"

namespace traceframe {

// Reads a `usage` object. Reading is tolerant: a field that is not a
// non-negative integer counts as 0 (verify accepts any payload; writers
// validate with ParseUsageJson). False when `value` is not an object.
bool UsageFromElement(simdjson::dom::element value, TokenUsage* out);

// Checks the shape writers must keep: an object whose known fields are
// non-negative integers. InvalidArgument naming the field otherwise.
absl::Status CheckUsageElement(simdjson::dom::element value);

// payload.labels of run.started: string values as they are, any other value
// as its compact JSON text. Empty when absent or not an object.
Labels LabelsFromElement(simdjson::dom::element payload);
Labels LabelsFromObject(simdjson::dom::object payload);

// Adds `model` to a bounded list of distinct models (kMaxRunModels, names
// cut to kMaxModelNameBytes). Returns true when the list changed.
bool NoteModel(std::vector<std::string>* models, std::string_view model);

// ["a","b"]: a compact JSON array of strings (the models list).
std::string JsonStringArray(const std::vector<std::string>& items);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_FORMAT_PAYLOAD_FACTS_H_
