// Run labels: `labels: {K: V}` in run.started says which harness variant,
// task or experiment a run belongs to (docs/format.md, "Labels"). Set with
// `--label K=V` on init, run, hook ingest/install and import, or with
// RecorderOptions::labels. Thread-safe.
#ifndef TRACEFRAME_LABELS_H_
#define TRACEFRAME_LABELS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace traceframe {

// Label key -> value, sorted by key (the order they are written in).
using Labels = std::map<std::string, std::string>;

// Parses `--label` arguments "K=V" (split at the first '='; V may be empty
// or contain '='). InvalidArgument for a missing '=' or an empty key, and for
// a key given twice with different values.
absl::StatusOr<Labels> ParseLabelArgs(const std::vector<std::string>& args);

// The compact JSON object {"K":"V",...} in key order.
std::string LabelsJson(const Labels& labels);

}  // namespace traceframe

#endif  // TRACEFRAME_LABELS_H_
