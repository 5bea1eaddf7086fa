// Keeping `<trace>.idx` current from the writer's side (index_internal.h):
// the O(1) in-place update after an append, and the bounded slow path.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "format/event_parser.h"
#include "format/payload_facts.h"
#include "index/format.h"
#include "index/index_internal.h"
#include "index/scan.h"
#include "index/store.h"
#include "util/file_lock.h"
#include "util/hash.h"

namespace traceframe {
namespace {

using internal::AppendEntry;
using internal::DecodeIndexHeader;
using internal::DecodeMeta;
using internal::EmptyIndex;
using internal::EncodeIndexHeader;
using internal::FdSource;
using internal::FileSize;
using internal::FinishIdentity;
using internal::IndexHeader;
using internal::kIndexEntrySize;
using internal::kIndexFlagValidated;
using internal::kIndexHeaderSize;
using internal::MatchAgainst;
using internal::MetaJson;
using internal::OpenIndexFile;
using internal::ReadExact;
using internal::SameFile;
using internal::ScanInto;
using internal::ViewSource;
using internal::WriteExact;
using internal::WriteIndexBytes;
using internal::WriteIndexFile;

// Maps the trace through `fd` and folds [covered_bytes, size) into `index`
// (mapped, not read into the heap: a recorder may catch up on gigabytes).
bool ExtendFromFd(int fd, uint64_t size, TraceIndex* index) {
  const uint64_t from = index->facts.covered_bytes;
  if (from >= size) return true;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t readable = (size + page - 1) / page * page;
  void* addr = ::mmap(nullptr, readable, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) return false;
  const MappedView view{static_cast<const char*>(addr), size, readable};
  std::optional<TornTail> torn;
  ScanInto(view, 0, from, index, IndexBuildOptions{nullptr, 1}, &torn);
  ViewSource src(view);
  FinishIdentity(index, src, from == 0);
  ::munmap(addr, readable);
  return true;
}

// Parses a line's payload facts (the view's string_views live until the
// next call on this thread).
bool ParseWrittenLine(const WrittenLine& line, EventView* view) {
  thread_local EventParser parser;
  std::string_view text = line.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string reason;
  return parser.Parse(text, false, view, &reason) == LineParseError::kNone;
}

bool LineToolFailed(const WrittenLine& line) {
  if (line.tool_failed) return *line.tool_failed;
  EventView view;
  return ParseWrittenLine(line, &view) && view.tool_failed;
}

// The O(1) path: the index describes the trace exactly up to where the
// writer started. Appends entries, then rewrites the header in place, so a
// reader (or a crash) sees either the old header or the new one, both of
// which describe a prefix of the trace; a torn header fails its checksum.
bool UpdateInPlace(const IndexWrite& w, int idx_fd) {
  const internal::TailState& before = *w.before;
  if (w.lines.empty()) return false;
  std::string header_bytes;
  if (!ReadExact(idx_fd, 0, kIndexHeaderSize, &header_bytes)) return false;
  absl::StatusOr<IndexHeader> decoded = DecodeIndexHeader(header_bytes);
  if (!decoded.ok()) return false;
  IndexHeader h = *decoded;
  if (h.events == 0 || h.covered_bytes != before.size || h.last_seq != before.last_seq ||
      h.last_kind != static_cast<uint32_t>(before.last_kind) || h.last_ts_ms != before.last_ts_ms ||
      h.status_len != 0 || h.run_id_len != before.run_id.size()) {
    return false;
  }
  // The strings (run id, then meta: source, labels, models; no status before
  // run.finished) are small: read them when there is meta, else the run id
  // alone is hashed.
  IndexFacts meta;
  if (h.meta_len == 0) {
    if (h.strings_hash != internal::Fnv1a64(before.run_id)) return false;
  } else {
    std::string strings;
    if (!ReadExact(idx_fd, kIndexHeaderSize, h.strings_len(), &strings) ||
        internal::Fnv1a64(strings) != h.strings_hash ||
        strings.compare(0, h.run_id_len, before.run_id) != 0 ||
        !DecodeMeta(std::string_view(strings).substr(h.run_id_len), &meta)) {
      return false;
    }
  }
  const uint64_t old_entries_offset = h.entries_offset();
  const uint64_t old_entry_count = h.entry_count;
  const uint64_t entries_end = old_entries_offset + h.entry_count * kIndexEntrySize;
  if (FileSize(idx_fd) < entries_end) return false;
  uint64_t expect = before.size + (before.needs_newline ? 1 : 0);
  bool meta_changed = false;  // a model not seen before
  std::string new_entries;
  uint64_t prev_offset = h.last_event_offset;
  uint64_t prev_seq = h.last_seq;
  EventKind prev_kind = before.last_kind;
  for (const WrittenLine& line : w.lines) {
    if (line.offset != expect || line.text.empty() || line.text.back() != '\n' ||
        line.kind == EventKind::kRunFinished) {
      return false;  // run.finished stores its status string: the slow path rewrites
    }
    if (prev_kind == EventKind::kRunFinished || line.seq <= prev_seq)
      h.flags &= ~kIndexFlagValidated;
    if (line.offset / h.block_bytes != prev_offset / h.block_bytes) {
      IndexEntry e{line.seq, line.offset, line.ts_ms, h.events, h.covered_lines + 1};
      AppendEntry(&new_entries, e);
      ++h.entry_count;
      h.last_entry_seq = e.seq;
      h.last_entry_offset = e.offset;
    }
    ++h.kind_counts[static_cast<int>(line.kind)];
    if (line.kind == EventKind::kToolResult && LineToolFailed(line)) ++h.tool_failures;
    if (line.kind == EventKind::kModelCall) {
      EventView view;
      if (!ParseWrittenLine(line, &view)) return false;
      if (view.usage) h.call_usage += *view.usage;
      if (view.model && NoteModel(&meta.models, *view.model)) meta_changed = true;
    }
    ++h.events;
    ++h.covered_lines;
    h.last_seq = line.seq;
    h.last_ts_ms = line.ts_ms;
    h.last_kind = static_cast<uint32_t>(line.kind);
    h.last_event_offset = line.offset;
    prev_offset = line.offset;
    prev_seq = line.seq;
    prev_kind = line.kind;
    expect = line.offset + line.text.size();
  }
  if (expect != w.size_after) return false;
  // Only the last line's identity is stored: hash it once, not every line
  // (a recorder round writes thousands).
  std::string_view content = w.lines.back().text;
  content.remove_suffix(1);
  if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  h.last_event_len = content.size();
  h.last_event_hash = internal::Fnv1a64(content);
  h.covered_bytes = expect;
  if (meta_changed) {
    // A new model grows the strings, which moves the entries: rewrite the
    // file whole (temp + rename) from what it held plus these lines; still
    // no scan of the trace, so a big write stays cheap.
    std::string old_entries;
    if (!ReadExact(idx_fd, old_entries_offset, old_entry_count * kIndexEntrySize, &old_entries)) {
      return false;
    }
    const std::string meta_json = MetaJson(meta);
    h.meta_len = static_cast<uint32_t>(meta_json.size());
    h.strings_hash = internal::Fnv1a64(meta_json, internal::Fnv1a64(before.run_id));
    h.entries_hash = internal::Fnv1a64(new_entries, h.entries_hash);
    std::string out = EncodeIndexHeader(h);
    out.append(before.run_id);
    out.append(meta_json);
    out.resize(h.entries_offset(), '\0');
    out.append(old_entries);
    out.append(new_entries);
    return WriteIndexBytes(w.trace_path, out).ok();
  }
  if (!new_entries.empty()) {
    if (!WriteExact(idx_fd, entries_end, new_entries)) return false;
    h.entries_hash = internal::Fnv1a64(new_entries, h.entries_hash);
  }
  return WriteExact(idx_fd, 0, EncodeIndexHeader(h));
}

// The slow path, under the trace's lock: load what is there, extend it over
// what it does not cover, or rebuild a small trace; rewrite the file whole.
void RefreshLocked(const std::string& trace_path, int trace_fd, uint64_t size, uint64_t limit) {
  FdSource src(trace_fd, size);
  std::optional<TraceIndex> index;
  // Look at the header first: when the gap is too big to close here, stop
  // before reading the whole index (this runs on every append until a
  // reader repairs the index, so it must not grow with the trace).
  bool worth_loading = false;
  {
    UniqueFd idx_fd = OpenIndexFile(trace_path, O_RDONLY);
    std::string header_bytes;
    if (idx_fd.valid() && ReadExact(idx_fd.get(), 0, kIndexHeaderSize, &header_bytes)) {
      absl::StatusOr<IndexHeader> h = DecodeIndexHeader(header_bytes);
      worth_loading = h.ok() && h->covered_bytes <= size && size - h->covered_bytes <= limit;
    }
  }
  if (worth_loading) {
    if (std::optional<std::string> bytes = ReadIndexBytes(trace_path)) {
      absl::StatusOr<TraceIndex> decoded = DecodeIndex(*bytes);
      if (decoded.ok() && MatchAgainst(*decoded, src, size).ok()) index = std::move(*decoded);
    }
  }
  if (index && index->facts.covered_bytes == size) return;  // already current
  if (!index) {
    if (size > limit) return;  // too big for an append: readers rebuild on demand
    index = EmptyIndex();
  }
  if (!ExtendFromFd(trace_fd, size, &*index) || index->facts.events == 0) return;
  (void)WriteIndexFile(trace_path, *index);
}

}  // namespace

void UpdateIndexAfterWrite(const IndexWrite& w) {
  if (IndexDisabled() || w.trace_fd < 0) return;
  if (w.before && !w.lines.empty()) {
    UniqueFd idx_fd = OpenIndexFile(w.trace_path, O_RDWR);
    if (idx_fd.valid()) {
      if (w.lines.back().kind != EventKind::kRunFinished) {
        if (UpdateInPlace(w, idx_fd.get())) return;
      } else if (w.lines.size() > 1) {
        // run.finished (always last) stores its status, which only the slow
        // path does. Take the lines before it in place first, so the slow
        // path scans one line, not the whole write: a recorder's last round
        // can be megabytes, far over what the slow path may scan.
        IndexWrite before_finish;
        before_finish.trace_path = w.trace_path;
        before_finish.trace_fd = w.trace_fd;
        before_finish.before = w.before;
        before_finish.lines.assign(w.lines.begin(), w.lines.end() - 1);
        before_finish.size_after = w.lines.back().offset;
        (void)UpdateInPlace(before_finish, idx_fd.get());
      }
    }
  }
  RefreshLocked(w.trace_path, w.trace_fd, w.size_after, kWriterScanLimit);
}

void RefreshIndexAfterCreate(const std::string& trace_path) {
  if (IndexDisabled()) return;
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  if (!LockExclusive(fd.get(), trace_path, DefaultLockTimeout()).ok()) return;
  if (!SameFile(fd.get(), trace_path)) return;
  RefreshLocked(trace_path, fd.get(), FileSize(fd.get()), kWriterScanLimit);
}

void RefreshIndexLocked(const std::string& trace_path, int trace_fd, uint64_t scan_limit) {
  if (IndexDisabled() || trace_fd < 0) return;
  RefreshLocked(trace_path, trace_fd, FileSize(trace_fd), scan_limit);
}

}  // namespace traceframe
