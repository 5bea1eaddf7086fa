// ASCII-only case folding for protocol words (hook event names, decisions,
// capabilities): bytes >= 0x80 pass through unchanged, whatever the locale.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_ASCII_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_ASCII_H_

#include <string>
#include <string_view>

namespace traceframe {
namespace internal {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_ASCII_H_
