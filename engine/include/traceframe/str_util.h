// String helpers that accept std::string_view.
//
// Debian's Abseil (20220623) is built with its own absl::string_view type, so
// absl::StrCat and friends do not take std::string_view, which traceframe and
// simdjson use. Cat()/Append() convert on the way in. Thread-safe.
#ifndef TRACEFRAME_STR_UTIL_H_
#define TRACEFRAME_STR_UTIL_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace traceframe {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

namespace str_internal {
template <typename T>
const T& Pass(const T& value) {
  return value;
}
inline absl::string_view Pass(const std::string_view& value) { return ToAbsl(value); }
}  // namespace str_internal

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(str_internal::Pass(args)...);
}

template <typename... Args>
void Append(std::string* out, const Args&... args) {
  absl::StrAppend(out, str_internal::Pass(args)...);
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
inline bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}
inline std::string_view StripWhitespace(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace traceframe

#endif  // TRACEFRAME_STR_UTIL_H_
