#include "traceframe/inspect.h"
#include "traceframe/str_util.h"

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "event_parser.h"
#include "scan_internal.h"

namespace traceframe {
namespace {

bool Matches(const InspectOptions& options, const EventView& e) {
  if (options.kind && e.kind != *options.kind) return false;
  if (options.from_seq && e.seq < *options.from_seq) return false;
  return true;
}

// Offset of the first line whose seq >= target, by binary search over byte
// offsets (seq increases strictly in a valid trace). Falls back to 0 when a
// probe cannot be parsed, so a damaged trace is still listed correctly.
uint64_t SeekSeq(const MappedView& view, EventParser& parser, uint64_t target) {
  uint64_t lo = 0, hi = view.size;  // answer in [lo, hi]
  int probes = 0;
  while (lo < hi && probes++ < 128) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const uint64_t start = mid == 0 ? 0 : NextLineStart(view, mid - 1);
    if (start >= hi) {
      hi = mid;  // no line starts in [mid, hi): shrink from above
      continue;
    }
    bool ok = false;
    uint64_t seq = 0;
    uint64_t line_end = start;
    TraceReader::ScanResult r = ScanRange(
        view, parser, start, std::min(hi, NextLineStart(view, start)), 1,
        [&](const EventView& e) {
          ok = true;
          seq = e.seq;
          return false;
        },
        [](const LineError&) { return false; });
    line_end = r.end_offset;
    if (!ok) {
      if (r.error || r.torn) return lo;  // damaged: scan linearly from lo
      hi = start;                        // blank line(s) up to hi
      continue;
    }
    if (seq >= target) {
      hi = start;
    } else {
      lo = line_end;
    }
  }
  return lo;
}

}  // namespace

std::string FormatInspectLine(const EventView& e) {
  char seq[32];
  std::snprintf(seq, sizeof(seq), "#%03llu", static_cast<unsigned long long>(e.seq));
  std::string_view payload = RawPayload(e.line);
  return Cat(seq, " ", EventKindName(e.kind), " run=", e.run_id, " event=", e.event_id,
             " payload=", payload);
}

absl::StatusOr<InspectResult> InspectTrace(const std::string& path, const InspectOptions& options,
                                           const std::function<void(const EventView&)>& fn) {
  absl::StatusOr<std::unique_ptr<TraceReader>> opened = TraceReader::Open(path);
  if (!opened.ok()) return opened.status();
  TraceReader& reader = **opened;
  const MappedView view = ViewOf(reader);
  EventParser parser;
  InspectResult result;
  if (view.size == 0) return absl::FailedPreconditionError(Cat("trace is empty: ", path));

  if (options.tail) {
    // Walk back line by line from the end, keeping the last N matches.
    std::vector<uint64_t> starts;
    uint64_t end = view.size;
    std::optional<TornTail> torn;
    while (end > 0 && starts.size() < *options.tail) {
      const uint64_t start = reader.LastLineStart(end);
      bool matched = false;
      TraceReader::ScanResult r = ScanRange(
          view, parser, start, end, 0,
          [&](const EventView& e) {
            matched = Matches(options, e);
            return false;
          },
          [](const LineError&) { return false; });
      if (r.torn) torn = r.torn;
      if (r.error) {
        return absl::DataLossError(Cat("invalid trace event at byte ", r.error->byte_offset, ": ",
                                       r.error->reason, "; run `traceframe verify --file ", path,
                                       "` for the line number"));
      }
      if (matched) starts.push_back(start);
      end = start;
    }
    result.torn_tail = torn;
    uint64_t emitted = 0;
    for (auto it = starts.rbegin(); it != starts.rend(); ++it) {
      if (options.limit && emitted >= *options.limit) break;
      ScanRange(
          view, parser, *it, NextLineStart(view, *it), 0,
          [&](const EventView& e) {
            fn(e);
            return false;
          },
          [](const LineError&) { return false; });
      ++emitted;
    }
    result.printed = emitted;
    return result;
  }

  uint64_t begin = 0;
  if (options.from_seq && *options.from_seq > 0) begin = SeekSeq(view, parser, *options.from_seq);
  // Line numbers after a seek are unknown without counting; errors name bytes.
  const bool numbered = begin == 0;
  TraceReader::ScanResult scan = ScanRange(
      view, parser, begin, view.size, numbered ? 1 : 0,
      [&](const EventView& e) {
        if (!Matches(options, e)) return true;
        if (options.limit && result.printed >= *options.limit) return false;
        fn(e);
        ++result.printed;
        return true;
      },
      [](const LineError&) { return false; });
  result.torn_tail = scan.torn;
  if (scan.error) {
    return absl::DataLossError(numbered
                                   ? Cat(DescribeLineError(*scan.error), " in ", path)
                                   : Cat("invalid trace event at byte ", scan.error->byte_offset,
                                         ": ", scan.error->reason, " in ", path));
  }
  return result;
}

}  // namespace traceframe
