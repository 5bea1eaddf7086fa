// libFuzzer target for the sidecar index reader: DecodeIndex on arbitrary
// bytes, and the checks that tie an index to a trace (MatchIndex), then
// extending it over the trace. Input: a little-endian u16 N, N bytes of
// index file, then the trace bytes. Nothing here may crash, hang, or read
// out of bounds, whatever the index claims.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "index/index_internal.h"
#include "read/scan.h"
#include "simdjson.h"
#include "traceframe/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace traceframe;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TraceIndex> whole = DecodeIndex(input);
  if (whole.ok()) {
    // A decoded index re-encodes to an index that decodes the same way.
    absl::StatusOr<TraceIndex> again = DecodeIndex(EncodeIndex(*whole));
    if (!again.ok() || !(again->entries == whole->entries)) __builtin_trap();
  }
  if (size < 2) return 0;
  size_t n = static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1]) << 8);
  if (n > size - 2) n = size - 2;
  const std::string_view index_bytes = input.substr(2, n);
  // The trace, padded the way a mapping is readable past its end.
  std::string trace(input.substr(2 + n));
  const size_t trace_size = trace.size();
  trace.append(simdjson::SIMDJSON_PADDING, '\0');
  const MappedView view{trace.data(), trace_size, trace.size()};
  IndexBuildOptions options;
  options.threads = 1;
  std::optional<TornTail> torn;
  absl::StatusOr<TraceIndex> matched = MatchIndex(index_bytes, view);
  if (matched.ok()) {
    ExtendIndex(view, &*matched, options, &torn);
    if (matched->facts.covered_bytes > trace_size) __builtin_trap();
  }
  TraceIndex fresh = BuildIndex(view, options, &torn);
  if (fresh.facts.covered_bytes > trace_size) __builtin_trap();
  if (fresh.facts.events > 0) {
    // What a build writes, a reader accepts for the same bytes.
    absl::StatusOr<TraceIndex> back = MatchIndex(EncodeIndex(fresh), view);
    if (!back.ok()) {
      std::fprintf(stderr, "built index rejected: %s\n",
                   std::string(back.status().message()).c_str());
      __builtin_trap();
    }
  }
  return 0;
}
