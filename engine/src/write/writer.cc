#include "traceframe/writer.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "index/index_internal.h"
#include "traceframe/json.h"
#include "util/file_lock.h"
#include "util/file_util.h"
#include "write/host_context.h"

namespace traceframe {
namespace {

constexpr uint64_t kTailChunk = 16 * 1024;

bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

absl::Duration LockTimeout(const WriteOptions& options) {
  return options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
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

namespace {

// Writes run.started into a temp file beside `path`, then links or renames it
// into place. Returns AlreadyExists when `exclusive` and the path exists.
absl::Status CreateTraceFile(const std::string& path, std::string_view run_id,
                             std::string_view started_payload_json, bool exclusive,
                             const WriteOptions& options) {
  absl::Status status = CreateDirectories(DirName(path));
  if (!status.ok()) return status;
  Event started;
  started.run_id = std::string(run_id);
  started.event_id = NewEventId();
  started.kind = EventKind::kRunStarted;
  started.ts_ms = NowEpochMs();
  started.seq = 0;
  started.payload_json = std::string(started_payload_json);
  const std::string line = SerializeEventLine(started);
  const std::string tmp = TempPathBeside(path);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "failed to create", tmp);
  status = WriteAll(fd.get(), line, tmp);
  if (status.ok() && options.sync && ::fsync(fd.get()) != 0) {
    status = ErrnoError(errno, "failed to sync", tmp);
  }
  fd.reset();
  if (status.ok()) {
    if (exclusive) {
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        status = errno == EEXIST ? absl::AlreadyExistsError(Cat("trace already exists: ", path,
                                                                " (pass --force to replace it)"))
                                 : ErrnoError(errno, "failed to create", path);
      }
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      status = ErrnoError(errno, "failed to replace", path);
      ::unlink(tmp.c_str());
    }
  } else {
    ::unlink(tmp.c_str());
  }
  if (status.ok() && options.sync) status = SyncDirectory(DirName(path));
  // A new trace gets its index at once (a replaced one must not keep the old
  // trace's index). Derived data: a failure here is not the caller's.
  if (status.ok()) RefreshIndexAfterCreate(path);
  return status;
}

absl::StatusOr<AppendResult> AppendLocked(int fd, const std::string& path,
                                          const std::vector<PendingEvent>& events,
                                          const WriteOptions& options) {
  absl::StatusOr<TailState> tail = ReadTailState(fd, path);
  if (!tail.ok()) return tail.status();
  if (tail->last_kind == EventKind::kRunFinished) {
    return absl::FailedPreconditionError(
        Cat("cannot append after run.finished: ", path, " is closed (seq ", tail->last_seq, ")"));
  }
  if (tail->last_seq > std::numeric_limits<uint64_t>::max() - events.size()) {
    return absl::OutOfRangeError(
        Cat("cannot append to ", path, ": seq ", tail->last_seq, " is at the u64 maximum"));
  }
  AppendResult result;
  result.run_id = tail->run_id;
  std::string buffer;
  if (tail->needs_newline) buffer.push_back('\n');
  Event event;
  event.run_id = tail->run_id;
  uint64_t seq = tail->last_seq;
  const int64_t now = NowEpochMs();
  for (const PendingEvent& pending : events) {
    event.event_id = NewEventId();
    event.kind = pending.kind;
    event.ts_ms = now;
    event.seq = ++seq;
    event.payload_json = pending.payload_json;
    result.events.push_back(AppendedEvent{pending.kind, seq, tail->size + buffer.size()});
    AppendEventLine(&buffer, event);
  }
  // One write(2) normally: with O_APPEND and the lock, the lines land whole
  // and in order. A short write (a full disk, the file size limit, a signal)
  // is continued, so that the failing call reports the real reason (ENOSPC,
  // EDQUOT, EFBIG) instead of a guess.
  size_t done = 0;
  int err = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (err != 0) {
    // Never leave a partial line behind: cut the file back to where it was.
    if (done > 0 && ::ftruncate(fd, static_cast<off_t>(tail->size)) != 0) {
      return absl::DataLossError(Cat("failed to append to ", path,
                                     " and could not undo a partial write: ", std::strerror(errno),
                                     "; run `traceframe repair --file ", path, "`"));
    }
    return ErrnoError(err, "failed to append to", path);
  }
  if (options.sync && ::fdatasync(fd) != 0) {
    return ErrnoError(errno, "failed to sync", path);
  }
  // Still under the lock, after the sync: the index never claims bytes that
  // are not durable. O(1) unless the index needs repair (index_internal.h).
  if (!IndexDisabled()) {
    IndexWrite update;
    update.trace_path = path;
    update.trace_fd = fd;
    update.before = *tail;
    update.size_after = tail->size + buffer.size();
    for (size_t i = 0; i < result.events.size(); ++i) {
      const AppendedEvent& e = result.events[i];
      const uint64_t end =
          i + 1 < result.events.size() ? result.events[i + 1].offset : update.size_after;
      WrittenLine line;
      line.offset = e.offset;  // already past a '\n' added for needs_newline
      line.text = std::string_view(buffer).substr(line.offset - tail->size, end - line.offset);
      line.kind = e.kind;
      line.seq = e.seq;
      line.ts_ms = now;
      update.lines.push_back(line);
    }
    UpdateIndexAfterWrite(update);
  }
  return result;
}

}  // namespace

absl::StatusOr<AppendResult> InitTrace(const std::string& path, std::string_view run_id,
                                       std::string_view started_payload_json, bool force,
                                       const WriteOptions& options) {
  bool exclusive = !force;
  if (!force) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return absl::AlreadyExistsError(
            Cat("trace already exists: ", path, " (it is a directory)"));
      }
      if (st.st_size > 0) {
        return absl::AlreadyExistsError(
            Cat("trace already exists: ", path, " (pass --force to replace it)"));
      }
      exclusive = false;  // an empty file holds no evidence; replace it
    }
  }
  absl::Status status = CreateTraceFile(path, run_id, started_payload_json, exclusive, options);
  if (!status.ok()) return status;
  AppendResult result;
  result.run_id = std::string(run_id);
  result.created = true;
  result.events.push_back(AppendedEvent{EventKind::kRunStarted, 0, 0});
  return result;
}

absl::StatusOr<AppendResult> AppendEvents(const std::string& path,
                                          const std::vector<PendingEvent>& events,
                                          const WriteOptions& options) {
  absl::StatusOr<UniqueFd> fd = OpenTraceLocked(path, LockTimeout(options));
  if (!fd.ok()) return fd.status();
  return AppendLocked(fd->get(), path, events, options);
}

absl::StatusOr<AppendResult> AppendEventsCreating(const std::string& path, std::string_view run_id,
                                                  std::string_view started_payload_json,
                                                  const std::vector<PendingEvent>& events,
                                                  const WriteOptions& options) {
  bool created = false;
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    absl::Status status = CreateTraceFile(path, run_id, started_payload_json, true, options);
    if (status.ok()) {
      created = true;
    } else if (!absl::IsAlreadyExists(status)) {
      return status;  // lost a creation race is fine: append to the winner's trace
    }
  }
  absl::StatusOr<AppendResult> result = AppendEvents(path, events, options);
  if (result.ok()) result->created = created;
  return result;
}

absl::StatusOr<AppendedEvent> AppendEvent(const std::string& path, EventKind kind,
                                          std::string_view payload_json,
                                          const WriteOptions& options) {
  absl::StatusOr<AppendResult> result =
      AppendEvents(path, {PendingEvent{kind, std::string(payload_json)}}, options);
  if (!result.ok()) return result.status();
  return result->events.front();
}

std::string DefaultStartedPayload(std::string_view extra_fields_json) {
  std::string out = "{\"created_by\":\"traceframe\"";
  if (!extra_fields_json.empty()) {
    out.push_back(',');
    out.append(extra_fields_json);
  }
  const std::string host = HostContextJson();
  if (!host.empty()) Append(&out, ",\"host\":", host);
  out.append(",\"status\":\"started\"}");
  return out;
}

}  // namespace traceframe
