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

bool IsBlankByte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The offset just past the last non-blank byte before `end` (0: all blank),
// and whether a '\n' follows it. Scans backwards one fixed chunk at a time:
// megabytes of trailing blank lines cost one pass, not a read per line.
absl::StatusOr<uint64_t> SkipTrailingBlanks(int fd, const std::string& path, uint64_t end,
                                            bool* newline_after) {
  *newline_after = false;
  uint64_t hi = end;
  while (hi > 0) {
    const uint64_t lo = hi > kTailChunk ? hi - kTailChunk : 0;
    absl::StatusOr<std::string> piece = ReadAt(fd, lo, hi - lo, path);
    if (!piece.ok()) return piece.status();
    if (piece->size() != hi - lo) return ErrnoError(EIO, "short read of", path);
    for (size_t i = piece->size(); i > 0; --i) {
      const char c = (*piece)[i - 1];
      if (!IsBlankByte(c)) return lo + i;
      if (c == '\n') *newline_after = true;
    }
    hi = lo;
  }
  return 0;
}

// The start of the line holding the byte before `end`: just past the
// previous '\n', found backwards a chunk at a time without keeping the
// chunks (a 100 MB last line is then read once, by the caller).
absl::StatusOr<uint64_t> LineStartBefore(int fd, const std::string& path, uint64_t end) {
  uint64_t hi = end;
  while (hi > 0) {
    const uint64_t lo = hi > kTailChunk ? hi - kTailChunk : 0;
    absl::StatusOr<std::string> piece = ReadAt(fd, lo, hi - lo, path);
    if (!piece.ok()) return piece.status();
    const void* nl = piece->empty() ? nullptr : ::memrchr(piece->data(), '\n', piece->size());
    if (nl != nullptr)
      return lo + static_cast<uint64_t>(static_cast<const char*>(nl) - piece->data()) + 1;
    hi = lo;
  }
  return 0;
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
  bool terminated = false;
  absl::StatusOr<uint64_t> content_end = SkipTrailingBlanks(fd, path, state.size, &terminated);
  if (!content_end.ok()) return content_end.status();
  if (*content_end > 0) {
    absl::StatusOr<uint64_t> start_or = LineStartBefore(fd, path, *content_end);
    if (!start_or.ok()) return start_or.status();
    const uint64_t start = *start_or;
    absl::StatusOr<std::string> line = ReadAt(fd, start, *content_end - start, path);
    if (!line.ok()) return line.status();
    std::string_view text(*line);
    if (start == 0 && StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
    const LineParseError err = parser.Parse(text, false, &view, &reason);
    if (err != LineParseError::kNone) {
      if (!terminated && err == LineParseError::kJsonSyntax) {
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
    // Complete but without its '\n': the next append adds it first.
    state.needs_newline = !terminated;
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
