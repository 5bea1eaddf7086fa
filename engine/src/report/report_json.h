// Internal: JSON pieces several report encoders share (summary, verify,
// ledger), so each shape is written in one place.
#ifndef TRACEFRAME_ENGINE_SRC_REPORT_REPORT_JSON_H_
#define TRACEFRAME_ENGINE_SRC_REPORT_REPORT_JSON_H_

#include <optional>
#include <string>
#include <vector>

#include "traceframe/trace_reader.h"

namespace traceframe::internal {

// {"offset":O,"length":L}, or null without a torn tail.
std::string TornTailJson(const std::optional<TornTail>& torn);

// "[" + encode(item) joined by "," + "]".
template <typename T, typename Encode>
std::string JsonArrayOf(const std::vector<T>& items, Encode encode) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.append(encode(items[i]));
  }
  out.push_back(']');
  return out;
}

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_REPORT_REPORT_JSON_H_
