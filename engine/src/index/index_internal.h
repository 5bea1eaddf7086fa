// Internal: the sidecar index as writers and the engine's readers use it.
//
// Writers (AppendEvents, InitTrace, the TraceRecorder's flusher) call
// UpdateIndexAfterWrite with the trace's exclusive lock held, after their
// bytes are written (and synced, if they sync). In the common case (the
// index describes the trace exactly up to where the writer started) this is
// O(1): a pread of the 256-byte header, a pwrite of new entries when a line
// starts a new block, a pwrite of the header. Anything else (no index, an
// index for another trace, a foreign append before ours, run.finished whose
// status string must be stored) takes the slow path, which reads at most
// kWriterScanLimit bytes of the trace and rewrites the index whole (temp +
// rename); a bigger repair is left to readers, which rebuild on demand.
// The index is derived data: a failure here never fails the append.
//
// A TraceRecorder (which holds the lock for its lifetime) can either call
// UpdateIndexAfterWrite after each writev with the lines it wrote (O(1) per
// call; claiming bytes before their fdatasync is safe: after a crash the
// trace is shorter than the index covers, and readers rebuild), or call
// RefreshIndexLocked(path, fd, UINT64_MAX) once before releasing the lock,
// which scans what it wrote (O(bytes recorded), off the hot path).
#ifndef TRACEFRAME_ENGINE_SRC_INDEX_INDEX_INTERNAL_H_
#define TRACEFRAME_ENGINE_SRC_INDEX_INDEX_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "read/scan.h"
#include "traceframe/index.h"
#include "traceframe/trace_reader.h"
#include "traceframe/writer.h"

namespace traceframe {

// The slow path of a writer scans at most this many trace bytes.
inline constexpr uint64_t kWriterScanLimit = 256 * 1024;

// TRACEFRAME_INDEX=off (or 0/false/no): ignore index files entirely.
bool IndexDisabled();

// One event line a writer has just written.
struct WrittenLine {
  uint64_t offset = 0;    // absolute offset of the line's first byte
  std::string_view text;  // the exact bytes of the line, ending in '\n'
  EventKind kind = EventKind::kRunStarted;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  // For tool.result: whether the payload counts as a failure (the rule of
  // EventView::tool_failed). Unset: the line is parsed to find out.
  std::optional<bool> tool_failed;
};

struct IndexWrite {
  std::string trace_path;
  int trace_fd = -1;  // the locked trace; must be readable (O_RDWR or O_RDONLY)
  // The tail state read before writing (its `size` is where the written
  // bytes begin, after a '\n' when needs_newline). nullopt: the writer has
  // just created the trace; its lines start at offset 0.
  std::optional<TailState> before;
  // The lines written, in order. The caller guarantees they are events of
  // this run (version 1, the trace's run id, a fresh event id) with seq
  // increasing from before->last_seq.
  std::vector<WrittenLine> lines;
  uint64_t size_after = 0;  // the trace's size after the write
};

// Keeps `<trace>.idx` current. Best effort; never fails.
void UpdateIndexAfterWrite(const IndexWrite& write);

// For a writer holding the lock that did not report its lines (e.g. a
// recorder at close): brings the index up to the trace's current size by
// reading and scanning at most `scan_limit` bytes it does not cover
// (UINT64_MAX: whatever it takes), else leaves it to readers. Best effort.
void RefreshIndexLocked(const std::string& trace_path, int trace_fd, uint64_t scan_limit);

// Makes the index of a trace that was just created or replaced (not locked
// by the caller) match it: takes the lock, rebuilds when small.
void RefreshIndexAfterCreate(const std::string& trace_path);

// ---- Reader side (summary, inspect).

// The bytes of `<trace>.idx`, read before the trace is mapped (so that a
// trace growing meanwhile is at least as long as what the index covers).
// nullopt when missing or unreadable, or when the index is disabled.
std::optional<std::string> ReadIndexBytes(const std::string& trace_path);

// DecodeIndex, optionally without hashing the entries: callers that use no
// entry (a summary of a fully covered trace), or check each entry they use
// with EntryHolds (inspect), skip that O(index size) pass. An index decoded
// so must not be written back.
absl::StatusOr<TraceIndex> DecodeIndexBytes(std::string_view bytes, bool verify_entries_hash);

// Decodes `bytes` and checks the result against the mapped trace.
absl::StatusOr<TraceIndex> MatchIndex(std::string_view bytes, const MappedView& view,
                                      bool verify_entries_hash = true);

// The line at the entry's offset is the event it names (offset, seq, ts).
bool EntryHolds(const MappedView& view, const IndexEntry& entry);

// Scans the whole mapping into a fresh index. *torn is set to a torn tail.
TraceIndex BuildIndex(const MappedView& view, const IndexBuildOptions& options,
                      std::optional<TornTail>* torn);

// Extends a matching index over [covered_bytes, view.size).
void ExtendIndex(const MappedView& view, TraceIndex* index, const IndexBuildOptions& options,
                 std::optional<TornTail>* torn);

// Writes `index` for `trace_path` if the trace's lock can be had at once,
// the index still matches the file, and the stored one covers less.
void PersistIndexBestEffort(const std::string& trace_path, const TraceIndex& index);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_INDEX_INDEX_INTERNAL_H_
