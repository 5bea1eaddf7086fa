// Internal: the line scanner behind TraceReader, usable on any range of a
// mapping with a caller-owned parser (one per thread for parallel scans).
#ifndef TRACEFRAME_ENGINE_SRC_READ_SCAN_H_
#define TRACEFRAME_ENGINE_SRC_READ_SCAN_H_

#include <functional>

#include "format/event_parser.h"
#include "traceframe/trace_reader.h"

namespace traceframe {

struct MappedView {
  const char* data = nullptr;
  uint64_t size = 0;
  uint64_t readable = 0;  // bytes that may be touched, >= size (page-rounded)
};

MappedView ViewOf(const TraceReader& reader);

// Scans [begin, end). `on_error` decides whether a bad line stops the scan
// (return false) or is skipped (return true); a final incomplete line at the
// end of the file is reported as torn, never to on_error.
TraceReader::ScanResult ScanRange(const MappedView& view, EventParser& parser, uint64_t begin,
                                  uint64_t end, uint64_t first_line_number,
                                  const std::function<bool(const EventView&)>& on_event,
                                  const std::function<bool(const LineError&)>& on_error);

// ScanRange for long scans (verify, summary): the lines go through
// simdjson's parse_many in batches, and any line a batch cannot take as one
// whole JSON object is parsed alone. The events, errors and positions seen
// are exactly ScanRange's; only the parsing is amortized. A scan that stops
// after a few lines should use ScanRange (a batch parses ahead).
TraceReader::ScanResult ScanRangeBatched(const MappedView& view, EventParser& parser,
                                         uint64_t begin, uint64_t end, uint64_t first_line_number,
                                         const std::function<bool(const EventView&)>& on_event,
                                         const std::function<bool(const LineError&)>& on_error);

// Offset just past the first '\n' at or after `offset` (or `size`).
uint64_t NextLineStart(const MappedView& view, uint64_t offset);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_READ_SCAN_H_
