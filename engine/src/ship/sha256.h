// Internal: SHA-256 (FIPS 180-4), used to derive stable OTLP ids from run
// and event ids (docs/otel.md, "Ids"). Small, dependency-free, thread-safe.
#ifndef TRACEFRAME_ENGINE_SRC_SHIP_SHA256_H_
#define TRACEFRAME_ENGINE_SRC_SHIP_SHA256_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace traceframe::internal {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  std::array<uint8_t, 32> Finish();

 private:
  void Block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_SHIP_SHA256_H_
