// Reading trace files: a memory-mapped, streaming view of the events.
//
// TraceReader maps the file read-only and parses one line at a time with
// simdjson; it never copies the trace into the heap, so memory stays bounded
// whatever the file size. A TraceReader is not thread-safe, but several
// readers (in one process or many) may read the same file concurrently, also
// while writers append: the reader snapshots the file size under a brief
// shared lock, so it only ever sees complete appends.
#ifndef TRACEFRAME_TRACE_READER_H_
#define TRACEFRAME_TRACE_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traceframe/event.h"
#include "traceframe/event_view.h"

namespace traceframe {

// The payload exactly as stored in `line` (a validated event line).
std::string_view RawPayload(std::string_view line);

// Bytes at the end of the file that do not form a complete event: what a
// crash mid-write leaves. Readers stop before them; `traceframe repair` moves
// them aside.
struct TornTail {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t line_number = 0;
};

// A parse failure, located.
struct LineError {
  uint64_t line_number = 0;
  uint64_t byte_offset = 0;
  std::string reason;
};

class MappedTrace;
struct MappedView;

class TraceReader {
 public:
  // Opens and maps `path`. Fails if it is missing, a directory, or unreadable.
  // An empty file opens fine (size() == 0).
  static absl::StatusOr<std::unique_ptr<TraceReader>> Open(const std::string& path);
  ~TraceReader();

  const std::string& path() const;
  uint64_t size() const;
  std::string_view data() const;

  // Calls `fn` for each event in [begin, end) (byte offsets; begin must be a
  // line start, end a line end or size()). Stops early when fn returns false.
  // A line that is not a valid event stops the scan with *error set; a final
  // incomplete line is reported in *torn (when end == size()). Returns the
  // number of lines consumed (blank ones included) via *lines.
  // `first_line_number` numbers the line at `begin`.
  struct ScanResult {
    uint64_t events = 0;
    uint64_t lines = 0;
    uint64_t end_offset = 0;  // where the scan stopped
    std::optional<LineError> error;
    std::optional<TornTail> torn;
  };
  ScanResult Scan(uint64_t begin, uint64_t end, uint64_t first_line_number,
                  const std::function<bool(const EventView&)>& fn);
  ScanResult ScanAll(const std::function<bool(const EventView&)>& fn) {
    return Scan(0, size(), 1, fn);
  }

  // Offset of the first byte after the last '\n' (the start of the final line
  // or size()), found by scanning backwards; O(length of the last line).
  uint64_t LastLineStart(uint64_t end) const;

 private:
  friend struct MappedView ViewOf(const TraceReader& reader);
  TraceReader();
  std::unique_ptr<MappedTrace> impl_;
};

// Formats "invalid trace event at line N (byte B): reason".
std::string DescribeLineError(const LineError& error);

}  // namespace traceframe

#endif  // TRACEFRAME_TRACE_READER_H_
