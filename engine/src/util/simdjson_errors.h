// The one table of simdjson error texts, shared by the event parser (a trace
// line) and the JSON helpers (a payload document), so that the same fault
// reads the same everywhere.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_SIMDJSON_ERRORS_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_SIMDJSON_ERRORS_H_

#include <string>
#include <string_view>

#include "simdjson.h"

namespace traceframe {
namespace internal {

// `unit` names what was parsed ("line", "document"): "line too large",
// "empty document".
std::string SimdjsonErrorText(simdjson::error_code error, std::string_view unit);

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_SIMDJSON_ERRORS_H_
