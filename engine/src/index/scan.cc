#include "index/scan.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "format/event_parser.h"
#include "format/payload_facts.h"
#include "index/format.h"
#include "index/index_internal.h"
#include "traceframe/labels.h"
#include "traceframe/str_util.h"
#include "util/hash.h"
#include "util/parallel.h"
#include "util/progress.h"

namespace traceframe {
namespace internal {
namespace {

// Rebuilds split work into chunks of this size; below the threshold, one thread.
constexpr uint64_t kChunkBytes = 64ull << 20;
constexpr uint64_t kParallelThreshold = 64ull << 20;

// The content of the line starting at `off` (without "\n" or "\r\n"),
// reading no further than `limit`.
bool ReadLine(ByteSource& src, uint64_t off, uint64_t limit, std::string* out) {
  if (off >= limit) return false;
  for (uint64_t chunk = 4096;; chunk *= 2) {
    const uint64_t n = std::min(chunk, limit - off);
    std::string_view piece;
    if (!src.Read(off, n, &piece)) return false;
    const size_t nl = piece.find('\n');
    if (nl != std::string_view::npos || off + n == limit) {
      out->assign(piece.substr(0, nl == std::string_view::npos ? piece.size() : nl));
      if (!out->empty() && out->back() == '\r') out->pop_back();
      return true;
    }
  }
}

bool ParseLineAt(ByteSource& src, uint64_t off, uint64_t limit, EventParser& parser,
                 EventView* view, std::string* line) {
  if (!ReadLine(src, off, limit, line)) return false;
  std::string_view text(*line);
  if (off == 0 && StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::string reason;
  return parser.Parse(text, false, view, &reason) == LineParseError::kNone;
}

struct Snap {
  uint64_t offset = 0;
  uint64_t len = 0;
  uint64_t seq = 0;
  uint64_t line = 0;
  int64_t ts_ms = 0;
  EventKind kind = EventKind::kRunStarted;
};

struct Chunk {
  uint64_t begin = 0;  // in view coordinates
  uint64_t end = 0;
  uint64_t stop = 0;  // absolute: where the readable bytes end (a torn tail's start, or end)
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t kind_counts[kEventKindCount] = {};
  uint64_t tool_failures = 0;
  std::optional<Snap> first;  // absolute offsets, chunk-relative lines
  std::optional<Snap> last;
  std::string first_run_id;
  std::optional<std::string> last_status;
  std::optional<TokenUsage> last_usage;  // the last event's, when it is run.finished
  TokenUsage call_usage;
  std::vector<std::string> models;
  std::string first_source;  // the chunk's first event, when run.started
  Labels first_labels;
  bool ok = true;
  // Events after the chunk's first that start a new block; event_index and
  // line relative to the chunk.
  std::vector<IndexEntry> entries;
  std::optional<TornTail> torn;  // absolute offset, chunk-relative line
};

// Scans [c->begin, c->end) of `view`, which holds the trace bytes starting
// at absolute offset `shift`.
void ScanChunk(const MappedView& view, uint64_t shift, uint64_t block, Chunk* c,
               EventParser& parser) {
  TraceReader::ScanResult r = ScanRange(
      view, parser, c->begin, c->end, 1,
      [&](const EventView& e) {
        Snap s;
        s.offset = e.byte_offset + shift;
        s.len = static_cast<uint64_t>(e.line.data() - view.data) + e.line.size() - e.byte_offset;
        s.seq = e.seq;
        s.line = e.line_number;
        s.ts_ms = e.ts_ms;
        s.kind = e.kind;
        if (!c->first) {
          c->first = s;
          c->first_run_id = std::string(e.run_id);
          if (e.kind == EventKind::kRunStarted) {
            std::string_view source;
            if (!parser.payload()["source"].get_string().get(source)) {
              c->first_source = std::string(source);
            }
            c->first_labels = LabelsFromElement(parser.payload());
          }
        } else {
          const Snap& p = *c->last;
          if (e.run_id != c->first_run_id || p.kind == EventKind::kRunFinished || e.seq <= p.seq) {
            c->ok = false;
          }
          if (s.offset / block != p.offset / block) {
            c->entries.push_back(IndexEntry{s.seq, s.offset, s.ts_ms, c->events, s.line});
          }
        }
        if (e.version != 1 || StripWhitespace(e.event_id).empty()) c->ok = false;
        ++c->kind_counts[static_cast<int>(e.kind)];
        if (e.kind == EventKind::kToolResult && e.tool_failed) ++c->tool_failures;
        c->last_status.reset();
        c->last_usage.reset();
        if (e.kind == EventKind::kRunFinished) {
          if (e.finished_status) c->last_status = std::string(*e.finished_status);
          c->last_usage = e.usage;
        } else if (e.kind == EventKind::kModelCall) {
          if (e.usage) c->call_usage += *e.usage;
          if (e.model) NoteModel(&c->models, *e.model);
        }
        c->last = s;
        ++c->events;
        return true;
      },
      [&](const LineError&) {
        c->ok = false;
        return true;
      });
  c->lines = r.lines - (r.torn ? 1 : 0);
  if (r.torn) {
    c->torn = TornTail{r.torn->offset + shift, r.torn->length, r.torn->line_number};
    c->stop = c->torn->offset;
  } else {
    c->stop = r.end_offset + shift;
  }
}

// Folds a chunk that follows the covered prefix into `index`.
void MergeChunk(TraceIndex* index, const Chunk& c, std::optional<TornTail>* torn) {
  IndexFacts& f = index->facts;
  const uint64_t lines_before = f.covered_lines;
  const uint64_t events_before = f.events;
  if (c.first) {
    const Snap& first = *c.first;
    const IndexEntry first_entry{first.seq, first.offset, first.ts_ms, events_before,
                                 lines_before + first.line};
    if (f.events == 0) {
      f.first_seq = first.seq;
      f.first_ts_ms = first.ts_ms;
      f.run_id = c.first_run_id;
      f.source = c.first_source;
      f.labels = c.first_labels;
      if (first.kind != EventKind::kRunStarted) f.validated = false;
      index->entries.push_back(first_entry);
    } else {
      if (f.last_kind == EventKind::kRunFinished || first.seq <= f.last_seq ||
          c.first_run_id != f.run_id) {
        f.validated = false;
      }
      if (first.offset / index->block_bytes != index->last_event_offset / index->block_bytes) {
        index->entries.push_back(first_entry);
      }
    }
    for (IndexEntry e : c.entries) {
      e.event_index += events_before;
      e.line += lines_before;
      index->entries.push_back(e);
    }
    for (int k = 0; k < kEventKindCount; ++k) f.kind_counts[k] += c.kind_counts[k];
    f.tool_failures += c.tool_failures;
    f.call_usage += c.call_usage;
    for (const std::string& model : c.models) NoteModel(&f.models, model);
    f.events += c.events;
    const Snap& last = *c.last;
    f.last_seq = last.seq;
    f.last_ts_ms = last.ts_ms;
    f.last_kind = last.kind;
    f.finished = last.kind == EventKind::kRunFinished;
    f.finished_status = f.finished ? c.last_status : std::nullopt;
    f.finished_usage = f.finished ? c.last_usage : std::nullopt;
    index->last_event_offset = last.offset;
    index->last_event_len = last.len;
    index->last_event_hash = 0;  // set by the caller, which can read the bytes
  }
  if (!c.ok) f.validated = false;
  f.covered_lines += c.lines;
  f.covered_bytes = c.stop;
  if (c.torn) *torn = TornTail{c.torn->offset, c.torn->length, lines_before + c.torn->line_number};
}

}  // namespace

// The cheap checks that tie an index to a trace of `size` bytes.
absl::Status MatchAgainst(const TraceIndex& index, ByteSource& src, uint64_t size) {
  const IndexFacts& f = index.facts;
  auto mismatch = [](std::string_view why) {
    return absl::FailedPreconditionError(Cat("index does not match the trace: ", why));
  };
  if (f.covered_bytes > size) {
    return mismatch(Cat("the trace has ", size, " bytes but the index covers ", f.covered_bytes,
                        " (truncated or replaced)"));
  }
  std::string_view bytes;
  if (f.covered_bytes > 0 && f.covered_bytes < size) {
    if (!src.Read(f.covered_bytes - 1, 1, &bytes)) return mismatch("unreadable");
    if (bytes[0] != '\n') return mismatch("the last covered line has grown");
  }
  if (!src.Read(0, index.head_len, &bytes)) return mismatch("unreadable head");
  if (internal::Fnv1a64(bytes) != index.head_hash)
    return mismatch("the start of the trace differs (rewritten)");
  if (f.events == 0) return absl::OkStatus();
  if (!src.Read(index.last_event_offset, index.last_event_len, &bytes) ||
      internal::Fnv1a64(bytes) != index.last_event_hash) {
    return mismatch("the last covered event differs");
  }
  EventParser parser;
  EventView view;
  std::string line;
  const uint64_t end = index.last_event_offset + index.last_event_len;
  if (!ParseLineAt(src, index.last_event_offset, f.covered_bytes, parser, &view, &line) ||
      line.size() != index.last_event_len || view.seq != f.last_seq || view.kind != f.last_kind ||
      view.ts_ms != f.last_ts_ms) {
    return mismatch("the last covered event is not the one indexed");
  }
  if (end < f.covered_bytes) {
    if (!src.Read(end, 1, &bytes) || (bytes[0] != '\n' && bytes[0] != '\r')) {
      return mismatch("the last covered event's line has grown");
    }
  }
  const IndexEntry& last_entry = index.entries.back();
  if (!ParseLineAt(src, last_entry.offset, f.covered_bytes, parser, &view, &line) ||
      view.seq != last_entry.seq || view.ts_ms != last_entry.ts_ms) {
    return mismatch(Cat("no event with seq ", last_entry.seq, " at byte ", last_entry.offset));
  }
  return absl::OkStatus();
}

// Scans [begin, view.size) (view coordinates) in chunks, in parallel when big,
// and folds the result into `index`.
void ScanInto(const MappedView& view, uint64_t shift, uint64_t begin, TraceIndex* index,
              const IndexBuildOptions& options, std::optional<TornTail>* torn) {
  torn->reset();
  const uint64_t end = view.size;
  if (begin >= end) return;
  const uint64_t total = end - begin;
  size_t chunk_count = static_cast<size_t>(std::max<uint64_t>(1, total / kChunkBytes));
  std::vector<Chunk> chunks(chunk_count);
  uint64_t at = begin;
  for (size_t i = 0; i < chunk_count; ++i) {
    chunks[i].begin = at;
    uint64_t stop =
        i + 1 == chunk_count ? end : NextLineStart(view, begin + total / chunk_count * (i + 1));
    stop = std::max(stop, at);
    chunks[i].end = stop;
    at = stop;
  }
  // Below the threshold one thread (the caller) scans: threads cost more
  // than they save on a small trace.
  const size_t workers = internal::WorkerCount(
      options.threads > 0 || total >= kParallelThreshold ? options.threads : 1, chunk_count);
  WorkQueue queue(chunk_count);
  ProgressMeter meter(options.progress, total);
  RunOnWorkers(workers, [&] {
    EventParser parser;
    for (size_t i; queue.Next(&i);) {
      ScanChunk(view, shift, index->block_bytes, &chunks[i], parser);
      meter.Add(chunks[i].end - chunks[i].begin);
    }
  });
  for (const Chunk& c : chunks) {
    MergeChunk(index, c, torn);
    if (c.torn) break;  // only the last chunk can end in a torn line
  }
}

void FinishIdentity(TraceIndex* index, ByteSource& src, bool set_head) {
  std::string_view bytes;
  if (set_head) {
    index->head_len = std::min<uint64_t>(kIndexHeadBytes, index->facts.covered_bytes);
    index->head_hash = src.Read(0, index->head_len, &bytes) ? internal::Fnv1a64(bytes) : 0;
  }
  if (index->facts.events > 0 && index->last_event_hash == 0) {
    index->last_event_hash = src.Read(index->last_event_offset, index->last_event_len, &bytes)
                                 ? internal::Fnv1a64(bytes)
                                 : 0;
  }
}

TraceIndex EmptyIndex() {
  TraceIndex index;
  index.facts.validated = true;
  return index;
}

}  // namespace internal

using internal::EmptyIndex;
using internal::FinishIdentity;
using internal::MatchAgainst;
using internal::ScanInto;
using internal::ViewSource;

absl::StatusOr<TraceIndex> MatchIndex(std::string_view bytes, const MappedView& view,
                                      bool verify_entries_hash) {
  absl::StatusOr<TraceIndex> index = DecodeIndexBytes(bytes, verify_entries_hash);
  if (!index.ok()) return index.status();
  ViewSource src(view);
  absl::Status status = MatchAgainst(*index, src, view.size);
  if (!status.ok()) return status;
  return index;
}

bool EntryHolds(const MappedView& view, const IndexEntry& entry) {
  if (entry.offset >= view.size || (entry.offset > 0 && view.data[entry.offset - 1] != '\n')) {
    return false;
  }
  thread_local EventParser parser;
  bool holds = false;
  ScanRange(
      view, parser, entry.offset, NextLineStart(view, entry.offset), 0,
      [&](const EventView& e) {
        holds = e.seq == entry.seq && e.byte_offset == entry.offset && e.ts_ms == entry.ts_ms;
        return false;
      },
      [](const LineError&) { return false; });
  return holds;
}

TraceIndex BuildIndex(const MappedView& view, const IndexBuildOptions& options,
                      std::optional<TornTail>* torn) {
  TraceIndex index = EmptyIndex();
  ScanInto(view, 0, 0, &index, options, torn);
  ViewSource src(view);
  FinishIdentity(&index, src, true);
  return index;
}

void ExtendIndex(const MappedView& view, TraceIndex* index, const IndexBuildOptions& options,
                 std::optional<TornTail>* torn) {
  const bool from_start = index->facts.covered_bytes == 0;
  ScanInto(view, 0, index->facts.covered_bytes, index, options, torn);
  ViewSource src(view);
  FinishIdentity(index, src, from_start);
}

}  // namespace traceframe
