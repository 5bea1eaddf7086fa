// FNV-1a, 64-bit: simple to specify exactly (the index format stores it, see
// docs/format.md) and extendable: pass the previous hash as `h` to continue a
// running hash over appended bytes.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_HASH_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_HASH_H_

#include <cstdint>
#include <string_view>

namespace traceframe {
namespace internal {

constexpr uint64_t kFnv1a64Basis = 0xcbf29ce484222325ull;

inline uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnv1a64Basis) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_HASH_H_
