#include "read/tail_state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "traceframe/str_util.h"
#include "util/file_util.h"

namespace traceframe {
namespace internal {
namespace {

constexpr uint64_t kTailChunk = 16 * 1024;

bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// Reads the line that ends at `end` (exclusive; the byte at end-1 may be '\n').
// Returns its start offset via *start.
absl::StatusOr<std::string> ReadLineEndingAt(int fd, const std::string& path, uint64_t end,
                                             uint64_t* start) {
  std::string buffer;
  uint64_t lo = end;
  const uint64_t content_end = end;
  for (uint64_t chunk = kTailChunk;; chunk *= 2) {
    const uint64_t new_lo = lo > chunk ? lo - chunk : 0;
    absl::StatusOr<std::string> piece = ReadAt(fd, new_lo, lo - new_lo, path);
    if (!piece.ok()) return piece.status();
    buffer.insert(0, *piece);
    lo = new_lo;
    // Search for the '\n' that precedes the line, ignoring a final one.
    const size_t search_len =
        content_end - lo - ((buffer.size() > 0 && buffer.back() == '\n') ? 1 : 0);
    const void* nl = search_len == 0 ? nullptr : ::memrchr(buffer.data(), '\n', search_len);
    if (nl != nullptr) {
      const size_t idx = static_cast<size_t>(static_cast<const char*>(nl) - buffer.data()) + 1;
      *start = lo + idx;
      return buffer.substr(idx);
    }
    if (lo == 0) {
      *start = 0;
      return buffer;
    }
  }
}

absl::StatusOr<std::string> ReadFirstLine(int fd, const std::string& path, uint64_t size) {
  std::string buffer;
  for (uint64_t chunk = 4096; buffer.size() < size; chunk *= 2) {
    absl::StatusOr<std::string> piece = ReadAt(fd, buffer.size(), chunk, path);
    if (!piece.ok()) return piece.status();
    if (piece->empty()) break;
    const size_t old = buffer.size();
    buffer.append(*piece);
    const size_t nl = buffer.find('\n', old);
    if (nl != std::string::npos) {
      buffer.resize(nl);
      break;
    }
  }
  return buffer;
}

}  // namespace

absl::StatusOr<TailState> ReadTailState(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, "failed to read trace file", path);
  TailState state;
  state.size = static_cast<uint64_t>(st.st_size);
  EventParser parser;
  EventView view;
  std::string reason;
  uint64_t end = state.size;
  bool last_line = true;
  while (end > 0) {
    uint64_t start = 0;
    absl::StatusOr<std::string> line = ReadLineEndingAt(fd, path, end, &start);
    if (!line.ok()) return line.status();
    const bool terminated = !line->empty() && line->back() == '\n';
    if (IsBlankLine(*line)) {
      end = start;
      last_line = false;
      continue;
    }
    std::string_view text(*line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (start == 0 && StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
    const LineParseError err = parser.Parse(text, false, &view, &reason);
    if (err != LineParseError::kNone) {
      if (!terminated && last_line && err == LineParseError::kJsonSyntax) {
        return absl::FailedPreconditionError(
            Cat("trace ", path, " ends in a torn line at byte ", start, " (", state.size - start,
                " bytes, ", reason,
                "): a write was cut short. Nothing was appended; run "
                "`traceframe repair --file ",
                path, "` to move the torn bytes aside"));
      }
      return absl::FailedPreconditionError(
          Cat("the last event of ", path, " (byte ", start, ") is invalid: ", reason,
              "; run `traceframe verify --file ", path, "` for details"));
    }
    state.last_seq = view.seq;
    state.last_kind = view.kind;
    state.last_ts_ms = view.ts_ms;
    state.needs_newline = !terminated && last_line;
    // The run id comes from the first event, as the earlier tool did.
    if (start == 0) {
      state.run_id = std::string(view.run_id);
    } else {
      absl::StatusOr<std::string> first = ReadFirstLine(fd, path, state.size);
      if (!first.ok()) return first.status();
      std::string_view first_text(*first);
      if (!first_text.empty() && first_text.back() == '\r') first_text.remove_suffix(1);
      if (StartsWith(first_text, "\xEF\xBB\xBF")) first_text.remove_prefix(3);
      EventView first_view;
      if (parser.Parse(first_text, false, &first_view, &reason) != LineParseError::kNone) {
        // A blank first line: fall back to the last event's run id.
        state.run_id = std::string(view.run_id);
      } else {
        state.run_id = std::string(first_view.run_id);
      }
    }
    return state;
  }
  return absl::FailedPreconditionError(
      Cat("cannot append to empty trace: ", path, " (create it with `traceframe init`)"));
}

}  // namespace internal
}  // namespace traceframe
