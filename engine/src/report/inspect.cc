#include "traceframe/inspect.h"
#include "traceframe/str_util.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "index/index_internal.h"
#include "read/scan.h"
#include "util/time_format.h"
#include "util/utf8.h"

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
// [lo, hi] bounds the search (lo a line start); the index narrows it.
uint64_t SeekSeq(const MappedView& view, EventParser& parser, uint64_t target, uint64_t lo,
                 uint64_t hi) {
  // The answer is in [lo, hi].
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

// Newlines in [begin, end).
uint64_t CountLines(const MappedView& view, uint64_t begin, uint64_t end) {
  uint64_t n = 0;
  for (const char* p = view.data + begin; p < view.data + end; ++n) {
    p = static_cast<const char*>(::memchr(p, '\n', static_cast<size_t>(view.data + end - p)));
    if (p == nullptr) break;
    ++p;
  }
  return n;
}

std::string TailError(const LineError& error, const std::string& path) {
  return Cat("invalid trace event at byte ", error.byte_offset, ": ", error.reason,
             "; run `traceframe verify --file ", path, "` for the line number");
}

// --tail with a kind filter, through the index: the ranges between entries
// are scanned from the last one backwards (each forward) until N matches are
// found. The result is the one the backward line walk gives: an invalid line
// is reported only when fewer than N matches follow it.
absl::Status TailByRanges(const MappedView& view, EventParser& parser, const TraceIndex& index,
                          const InspectOptions& options, const std::string& path,
                          std::vector<uint64_t>* starts, std::optional<TornTail>* torn) {
  const uint64_t want = *options.tail;
  uint64_t range_end = view.size;
  for (size_t i = index.entries.size(); i-- > 0 && starts->size() < want;) {
    const uint64_t range_begin = i == 0 ? 0 : index.entries[i].offset;
    if (i > 0 && !EntryHolds(view, index.entries[i])) {
      return absl::AbortedError("index entry does not hold");  // caller walks the lines
    }
    const uint64_t need = want - starts->size();
    std::deque<uint64_t> found;  // the last `need` matches after the last bad line
    std::optional<LineError> error;
    TraceReader::ScanResult r = ScanRange(
        view, parser, range_begin, range_end, 0,
        [&](const EventView& e) {
          if (Matches(options, e)) {
            found.push_back(e.byte_offset);
            if (found.size() > need) found.pop_front();
          }
          return true;
        },
        [&](const LineError& e) {
          error = e;
          found.clear();
          return true;
        });
    if (r.torn) *torn = r.torn;
    for (auto it = found.rbegin(); it != found.rend(); ++it) starts->push_back(*it);
    if (error && starts->size() < want) return absl::DataLossError(TailError(*error, path));
    range_end = range_begin;
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatInspectLine(const EventView& e) {
  char seq[32];
  std::snprintf(seq, sizeof(seq), "#%03llu", static_cast<unsigned long long>(e.seq));
  std::string_view payload = RawPayload(e.line);
  return Cat(seq, " ", EventKindName(e.kind), " run=", e.run_id, " event=", e.event_id,
             " payload=", payload);
}

std::string FormatInspectRow(const EventView& e, bool wide) {
  // Wide enough for the longest kind name, "permission.decision".
  constexpr size_t kKindWidth = 19;
  // A payload longer than this is cut (on a character boundary) and its full
  // size noted; `--wide` shows it whole.
  constexpr size_t kPayloadChars = 100;
  char seq[32];
  std::snprintf(seq, sizeof(seq), "#%03llu", static_cast<unsigned long long>(e.seq));
  const std::string_view kind = EventKindName(e.kind);
  std::string out = Cat(seq, "  ", internal::UtcTime(e.ts_ms, true), "  ", kind);
  if (kind.size() < kKindWidth) out.append(kKindWidth - kind.size(), ' ');
  out.append("  ");
  // The payload is stored as one line of compact JSON (newlines inside
  // strings are escaped), so cutting its length is all it takes.
  const std::string_view payload = RawPayload(e.line);
  if (wide || internal::Utf8Chars(payload) <= kPayloadChars) {
    out.append(payload);
    return out;
  }
  size_t end = 0;
  for (size_t chars = 0; end < payload.size(); ++end) {
    if ((static_cast<unsigned char>(payload[end]) & 0xC0) != 0x80 && chars++ == kPayloadChars) {
      break;
    }
  }
  Append(&out, payload.substr(0, end), "... (", payload.size(), " bytes; --wide shows all)");
  return out;
}

absl::StatusOr<InspectResult> InspectTrace(const std::string& path, const InspectOptions& options,
                                           const std::function<void(const EventView&)>& fn) {
  // The index helps --from-seq and --tail with --kind; it is read before the
  // trace is mapped, used only when it matches, and never rebuilt here (a
  // scan would cost more than these seeks save).
  const bool want_index =
      (options.from_seq && *options.from_seq > 0) || (options.tail && options.kind);
  std::optional<std::string> index_bytes;
  if (want_index) index_bytes = ReadIndexBytes(path);
  absl::StatusOr<std::unique_ptr<TraceReader>> opened = TraceReader::Open(path);
  if (!opened.ok()) return opened.status();
  TraceReader& reader = **opened;
  const MappedView view = ViewOf(reader);
  EventParser parser;
  InspectResult result;
  if (view.size == 0) return absl::FailedPreconditionError(Cat("trace is empty: ", path));
  std::optional<TraceIndex> index;
  if (index_bytes) {
    // Each entry used is checked against the trace (EntryHolds) instead.
    absl::StatusOr<TraceIndex> matched = MatchIndex(*index_bytes, view, false);
    // Seeking by seq relies on seq increasing, which only a validated index promises.
    if (matched.ok() && matched->facts.validated && matched->facts.events > 0) {
      index = std::move(*matched);
    }
  }

  if (options.tail) {
    // Walk back line by line from the end, keeping the last N matches.
    std::vector<uint64_t> starts;
    uint64_t end = view.size;
    std::optional<TornTail> torn;
    if (index && *options.tail > 0) {
      absl::Status status = TailByRanges(view, parser, *index, options, path, &starts, &torn);
      if (absl::IsAborted(status)) {
        starts.clear();  // a bad entry: walk the lines from the end instead
        torn.reset();
      } else if (!status.ok()) {
        return status;
      } else {
        end = 0;  // done: skip the line walk
      }
    }
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
      if (r.error) return absl::DataLossError(TailError(*r.error, path));
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
  uint64_t first_line = 1;
  if (options.from_seq && *options.from_seq > 0 && index) {
    // The entries bracket the target within one block (seq increases
    // strictly in the validated prefix); a binary search finishes the seek,
    // and counting newlines from the entry keeps the line numbers.
    const uint64_t target = *options.from_seq;
    if (index->facts.last_seq < target) {
      begin = index->facts.covered_bytes;
      first_line = index->facts.covered_lines + 1;
      begin = SeekSeq(view, parser, target, begin, view.size);
      first_line += CountLines(view, index->facts.covered_bytes, begin);
    } else {
      auto it = std::lower_bound(index->entries.begin(), index->entries.end(), target,
                                 [](const IndexEntry& e, uint64_t seq) { return e.seq < seq; });
      const bool hi_entry = it != index->entries.end();
      const uint64_t hi = hi_entry ? it->offset : index->facts.covered_bytes;
      if (hi_entry && !EntryHolds(view, *it)) {
        index.reset();  // a bad entry: bisect the whole file instead
      } else if (it != index->entries.begin()) {
        --it;
        if (EntryHolds(view, *it)) {
          const uint64_t lo = it->offset;
          begin = SeekSeq(view, parser, target, lo, hi);
          first_line = it->line + CountLines(view, lo, begin);
        } else {
          index.reset();
        }
      }
    }
  }
  if (options.from_seq && *options.from_seq > 0 && !index) {
    begin = SeekSeq(view, parser, *options.from_seq, 0, view.size);
    // Line numbers after a seek are unknown without counting; errors name bytes.
    if (begin != 0) first_line = 0;
  }
  const bool numbered = first_line != 0;
  TraceReader::ScanResult scan = ScanRange(
      view, parser, begin, view.size, first_line,
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
