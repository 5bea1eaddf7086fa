// UTF-8 counting without decoding: every byte that is not a continuation byte
// (10xxxxxx) starts a character. Invalid input is counted the same way; the
// writer has already replaced it by U+FFFD where it matters.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_UTF8_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_UTF8_H_

#include <cstddef>
#include <string_view>

namespace traceframe {
namespace internal {

inline size_t Utf8Chars(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_UTF8_H_
