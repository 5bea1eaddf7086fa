// The sidecar index: `<trace>.idx`, a small binary file derived from a trace
// (docs/format.md, "Index (.idx)").
//
// It holds the facts a summary needs (covered bytes, event count, first/last
// seq and ts, per-kind counters, tool failures, final status, run id) and
// sparse entries {seq, offset, ts_ms, event index, line} for the first event
// that starts in each `block_bytes` block of the trace, so readers get O(1)
// summaries and random access by seq. The trace stays the only source of
// truth: the index is trusted only after cheap checks against the trace
// (size, the bytes at its start, the last covered event and the last entry),
// extended over a tail it does not cover, and rebuilt when it does not
// match. Deleting it loses nothing. `verify` never reads it.
//
// Setting the environment variable TRACEFRAME_INDEX=off makes every reader
// and writer ignore index files (benchmarks and A/B checks use it).
//
// All functions are thread-safe and process-safe: index files are written
// under the trace's exclusive lock, either in place (a checksummed header
// rewritten after append-only entries) or whole (temp file + rename).
#ifndef TRACEFRAME_INDEX_H_
#define TRACEFRAME_INDEX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/event.h"
#include "traceframe/labels.h"
#include "traceframe/usage.h"

namespace traceframe {

// Version 2 added event kinds agent.guess and plan.deviation, token usage,
// models, labels and source. A reader meeting another version rebuilds.
inline constexpr uint32_t kIndexFormatVersion = 2;
// An entry is kept for the first event starting in each block of this size.
inline constexpr uint64_t kDefaultIndexBlockBytes = 1ull << 20;

// A point in the trace where a reader can start parsing.
struct IndexEntry {
  uint64_t seq = 0;
  uint64_t offset = 0;  // byte offset of the event's line
  int64_t ts_ms = 0;
  uint64_t event_index = 0;  // 0-based ordinal of the event in the trace
  uint64_t line = 0;         // 1-based physical line number (blank lines counted)
  bool operator==(const IndexEntry& o) const {
    return seq == o.seq && offset == o.offset && ts_ms == o.ts_ms && event_index == o.event_index &&
           line == o.line;
  }
};

// What the index says about the covered prefix [0, covered_bytes) of a trace.
struct IndexFacts {
  uint64_t covered_bytes = 0;  // ends after a complete line (or at the end of the file)
  uint64_t covered_lines = 0;
  uint64_t events = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
  uint64_t kind_counts[kEventKindCount] = {};
  uint64_t tool_failures = 0;
  EventKind last_kind = EventKind::kRunStarted;
  bool finished = false;                       // the last covered event is run.finished
  std::optional<std::string> finished_status;  // its payload.status, if a string
  std::string run_id;                          // the first event's run id
  // What the ledger needs beyond counts (docs/format.md, "Token usage"):
  TokenUsage call_usage;                     // sum of model.call payload.usage
  std::optional<TokenUsage> finished_usage;  // the last event's (run.finished) usage
  std::vector<std::string> models;           // distinct model.call models (bounded)
  std::string source;                        // run.started payload.source
  Labels labels;                             // run.started payload.labels
  // The covered prefix passed the open-trace checks (those of `summary`):
  // every line an event, version 1, one run id, non-blank event ids,
  // run.started first, seq strictly increasing, run.finished only last.
  // Only a validated index may serve a summary.
  bool validated = false;

  uint64_t count(EventKind kind) const { return kind_counts[static_cast<int>(kind)]; }
  // The run's usage: run.finished's when it has one, else the model.call sum.
  TokenUsage usage() const { return finished_usage ? *finished_usage : call_usage; }
};

struct TraceIndex {
  IndexFacts facts;
  uint64_t block_bytes = kDefaultIndexBlockBytes;
  // Identity of the trace: a hash of its first head_len bytes, and of the
  // last covered event's line [last_event_offset, last_event_offset + last_event_len).
  uint64_t head_len = 0;
  uint64_t head_hash = 0;
  uint64_t last_event_offset = 0;
  uint64_t last_event_len = 0;
  uint64_t last_event_hash = 0;
  std::vector<IndexEntry> entries;  // ascending by offset; entries[0] is the first event
};

// "<trace>.idx".
std::string IndexPathFor(const std::string& trace_path);

// The exact file bytes of `index` (docs/format.md).
std::string EncodeIndex(const TraceIndex& index);

// Parses and checks index file bytes: magic, version, header checksum,
// strings and entries checksums, internal consistency. Never trusts sizes
// it has not checked. Says nothing about whether the index matches a trace.
absl::StatusOr<TraceIndex> DecodeIndex(std::string_view bytes);

// Reads `<trace>.idx` and checks it against the trace as it is now (the
// cheap checks above). NotFound when there is no index; FailedPrecondition
// naming the reason when it is invalid or does not match. Never scans.
absl::StatusOr<TraceIndex> LoadIndex(const std::string& trace_path);

struct IndexBuildOptions {
  // Called now and then with (bytes scanned, bytes to scan); may be called
  // from worker threads, one call at a time.
  std::function<void(uint64_t, uint64_t)> progress;
  int threads = 0;  // 0: all cores for large traces
};

// An index covering the whole readable trace: the stored one when it
// matches (extended over an uncovered tail), else a fresh one from a full
// scan. A new or extended index is written back when the trace's lock can
// be had at once (best effort: a read-only directory is fine).
absl::StatusOr<TraceIndex> LoadOrRebuildIndex(const std::string& trace_path,
                                              const IndexBuildOptions& options = {});

// Scans the whole trace and writes a fresh index (waiting for the trace's
// lock like an append does). Fails if the index cannot be written.
absl::StatusOr<TraceIndex> RebuildIndex(const std::string& trace_path,
                                        const IndexBuildOptions& options = {});

struct IndexCheckReport {
  std::string trace_path;
  std::string index_path;
  // "ok", "missing", "invalid" (unreadable, bad checksum, wrong version),
  // "mismatch" (does not describe this trace, or differs from a fresh scan),
  // "stale" (correct, but covers fewer bytes than the trace has).
  std::string state;
  std::string detail;        // why, for anything but "ok"
  uint64_t index_bytes = 0;  // size of the .idx file
  uint64_t trace_bytes = 0;
  std::optional<TraceIndex> stored;  // when it could be decoded
  TraceIndex fresh;                  // from a full scan
  bool ok() const { return state == "ok"; }
};

// Compares the stored index with a full scan of the trace. Errors only for
// I/O on the trace itself.
absl::StatusOr<IndexCheckReport> CheckIndex(const std::string& trace_path,
                                            const IndexBuildOptions& options = {});

// The index as JSON (facts, identity, entry count; no entries).
std::string FormatIndexJson(const TraceIndex& index);

}  // namespace traceframe

#endif  // TRACEFRAME_INDEX_H_
