// Internal: wall-clock times for people to read.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_TIME_FORMAT_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_TIME_FORMAT_H_

#include <cstdint>
#include <string>

namespace traceframe::internal {

// "2026-11-25 08:58:34.123Z" (with_ms) or "2026-11-25 08:58:34Z", in UTC.
// A time outside the years 0..9999 (ts_ms comes from the file and may be
// anything) is shown as the raw number: "-5 ms".
std::string UtcTime(int64_t ts_ms, bool with_ms);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_TIME_FORMAT_H_
