#include "traceframe/writer.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "index/index_internal.h"
#include "read/tail_state.h"
#include "traceframe/json.h"
#include "util/file_lock.h"
#include "util/file_util.h"
#include "write/host_context.h"
#include "write/writer_internal.h"

namespace traceframe {
namespace {

// The status payload that marks a refusal to append to a finished run.
constexpr char kRunFinishedPayloadUrl[] = "traceframe.dev/error/run-finished";

absl::Duration LockTimeout(const WriteOptions& options) {
  return options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
}

}  // namespace

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
  if (!fd.valid()) return ErrnoError(errno, "failed to write", path);
  status = WriteAll(fd.get(), line, path);
  if (status.ok() && options.sync && ::fsync(fd.get()) != 0) {
    status = ErrnoError(errno, "failed to sync", path);
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

// Undoes a failed append: truncates to `size` and syncs. DataLoss naming the
// byte range when that fails too (the bytes may or may not be in the trace).
absl::Status CutBack(int fd, const std::string& path, uint64_t size, uint64_t end, bool sync) {
  if (::ftruncate(fd, static_cast<off_t>(size)) == 0 && (!sync || ::fdatasync(fd) == 0)) {
    return absl::OkStatus();
  }
  return absl::DataLossError(Cat("failed to append to ", path, " and could not undo it (",
                                 std::strerror(errno), "): bytes ", size, "-", end,
                                 " may or may not hold the events; run `traceframe verify --file ",
                                 path, "` and `traceframe repair --file ", path, "` if torn"));
}

absl::StatusOr<AppendResult> AppendLocked(int fd, const std::string& path,
                                          const std::vector<PendingEvent>& events,
                                          const WriteOptions& options) {
  absl::StatusOr<internal::TailState> tail = internal::ReadTailState(fd, path);
  if (!tail.ok()) return tail.status();
  if (tail->last_kind == EventKind::kRunFinished) return RunFinishedError(path, tail->last_seq);
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
    if (done > 0) {
      absl::Status undone = CutBack(fd, path, tail->size, tail->size + done, options.sync);
      if (!undone.ok()) return undone;
    }
    return ErrnoError(err, "failed to append to", path);
  }
  if (options.sync && ::fdatasync(fd) != 0) {
    // The lines may or may not be on disk, and after a failed fsync the page
    // cache cannot be trusted to hold them (PostgreSQL, LevelDB and RocksDB
    // never retry one). Leaving them would turn "exit 1" into "recorded
    // anyway": a retrying caller would duplicate them. So the append is
    // undone: cut back and synced again (docs/format.md "Durability").
    const int sync_err = errno;
    absl::Status undone = CutBack(fd, path, tail->size, tail->size + buffer.size(), true);
    if (!undone.ok()) return undone;
    return ErrnoError(sync_err, "failed to sync (the append was undone)", path);
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
  absl::Status valid = ValidateEventPayload(EventKind::kRunStarted, started_payload_json);
  if (!valid.ok()) return valid;
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
  // Replacing a trace another writer holds (a TraceRecorder, a CLI append)
  // would leave it writing into an unlinked file, its events reported
  // durable and lost: take the old trace's lock first, with the usual
  // timeout and holder in the error, and keep it until the new one is in
  // place.
  UniqueFd old_locked;
  if (force) {
    absl::StatusOr<UniqueFd> old = OpenRegularFile(path, O_RDONLY, "failed to open trace file");
    if (old.ok()) {
      absl::Status locked = LockExclusive(old->get(), path, LockTimeout(options));
      if (!locked.ok()) return locked;
      old_locked = std::move(*old);
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

absl::Status RunFinishedError(std::string_view path, uint64_t seq) {
  absl::Status status = absl::FailedPreconditionError(
      Cat("cannot append after run.finished: ", path, " is closed (seq ", seq, ")"));
  status.SetPayload(kRunFinishedPayloadUrl, absl::Cord(Cat(seq)));
  return status;
}

bool IsRunFinishedError(const absl::Status& status) {
  return status.GetPayload(kRunFinishedPayloadUrl).has_value();
}

absl::Status ValidateEventBatch(const std::vector<PendingEvent>& events) {
  for (size_t i = 0; i < events.size(); ++i) {
    const PendingEvent& event = events[i];
    if (event.kind == EventKind::kRunStarted) {
      return absl::InvalidArgumentError(
          Cat("event ", i + 1, " of ", events.size(),
              ": run.started is only the first event of a trace (written when it is created)"));
    }
    if (event.kind == EventKind::kRunFinished && i + 1 != events.size()) {
      return absl::InvalidArgumentError(
          Cat("event ", i + 1, " of ", events.size(), ": run.finished must be the last event"));
    }
    absl::Status status = ValidateEventPayload(event.kind, event.payload_json);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          Cat("event ", i + 1, " of ", events.size(), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> AppendEventsUnchecked(const std::string& path,
                                                   const std::vector<PendingEvent>& events,
                                                   const WriteOptions& options) {
  absl::StatusOr<UniqueFd> fd =
      OpenTraceLocked(path, LockTimeout(options), options.follow_symlinks);
  if (!fd.ok()) return fd.status();
  return AppendLocked(fd->get(), path, events, options);
}

absl::StatusOr<AppendResult> AppendEvents(const std::string& path,
                                          const std::vector<PendingEvent>& events,
                                          const WriteOptions& options) {
  absl::Status valid = ValidateEventBatch(events);
  if (!valid.ok()) return valid;
  return AppendEventsUnchecked(path, events, options);
}

absl::StatusOr<AppendResult> AppendEventsCreating(const std::string& path, std::string_view run_id,
                                                  std::string_view started_payload_json,
                                                  const std::vector<PendingEvent>& events,
                                                  const WriteOptions& options) {
  absl::Status valid = ValidateEventBatch(events);
  if (valid.ok()) valid = ValidateEventPayload(EventKind::kRunStarted, started_payload_json);
  if (!valid.ok()) return valid;
  bool created = false;
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    absl::Status status = CreateTraceFile(path, run_id, started_payload_json, true, options);
    if (status.ok()) {
      created = true;
    } else if (!absl::IsAlreadyExists(status)) {
      return status;  // lost a creation race is fine: append to the winner's trace
    }
  }
  absl::StatusOr<AppendResult> result = AppendEventsUnchecked(path, events, options);
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
