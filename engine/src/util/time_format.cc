#include "util/time_format.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "traceframe/str_util.h"

namespace traceframe::internal {

std::string UtcTime(int64_t ts_ms, bool with_ms) {
  if (ts_ms < -62167219200000LL || ts_ms > 253402300799999LL) return Cat(ts_ms, " ms");
  int64_t secs = ts_ms / 1000;
  int64_t ms = ts_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return Cat(ts_ms, " ms");
  char buf[64];
  if (with_ms) {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

}  // namespace traceframe::internal
