#include "index/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>
#include <utility>

#include "index/format.h"
#include "index/index_internal.h"
#include "index/scan.h"
#include "traceframe/str_util.h"
#include "util/file_lock.h"

namespace traceframe {
namespace internal {

bool ReadExact(int fd, uint64_t off, size_t len, std::string* out) {
  out->resize(len);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out->data() + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool WriteExact(int fd, uint64_t off, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool SameFile(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

uint64_t FileSize(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Opens the index of `trace_path` for reading or in-place update. The index
// is derived data an attacker may have planted: never follow a link, never
// block on a FIFO, refuse anything but a regular file (an invalid fd then
// means "rebuild"; SECURITY.md "Paths").
UniqueFd OpenIndexFile(const std::string& trace_path, int flags) {
  absl::StatusOr<UniqueFd> fd =
      OpenRegularFile(IndexPathFor(trace_path), flags | O_NOFOLLOW, "failed to open index");
  return fd.ok() ? std::move(*fd) : UniqueFd();
}

absl::Status WriteIndexBytes(const std::string& trace_path, const std::string& bytes) {
  const std::string path = IndexPathFor(trace_path);
  const std::string tmp = TempPathBeside(path);
  // The index tells what the trace holds (run id, counts): it gets the
  // trace's permissions, so a private trace keeps a private index.
  struct stat st;
  const mode_t mode = ::stat(trace_path.c_str(), &st) == 0 ? (st.st_mode & 0666) : 0600;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  // Errors name the index, not the temp file beside it (a user knows the
  // one, never the other); the temp file is gone when this returns.
  if (!fd.valid()) return ErrnoError(errno, "failed to write index", path);
  absl::Status status = WriteAll(fd.get(), bytes, path);
  if (status.ok() && ::fchmod(fd.get(), mode) != 0) {
    status = ErrnoError(errno, "failed to write index", path);
  }
  fd.reset();
  // No fsync: the index is derived. After a crash, a short or garbage file
  // fails its checksums and is rebuilt.
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "failed to replace", path);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

absl::Status WriteIndexFile(const std::string& trace_path, const TraceIndex& index) {
  return WriteIndexBytes(trace_path, EncodeIndex(index));
}

}  // namespace internal

using internal::DecodeIndexHeader;
using internal::FdSource;
using internal::FileSize;
using internal::IsOtherIndexVersion;
using internal::kIndexMaxOverhead;
using internal::MatchAgainst;
using internal::OpenIndexFile;
using internal::ReadExact;
using internal::SameFile;
using internal::WriteIndexFile;

bool IndexDisabled() {
  const char* v = std::getenv("TRACEFRAME_INDEX");
  if (v == nullptr) return false;
  const std::string_view s(v);
  return s == "off" || s == "0" || s == "false" || s == "no";
}

std::optional<std::string> ReadIndexBytes(const std::string& trace_path) {
  if (IndexDisabled()) return std::nullopt;
  const std::string path = IndexPathFor(trace_path);
  std::optional<std::string> last;
  // A writer may be rewriting the header in place right now (one holding the
  // trace's lock for long, like a recorder): a torn header fails its
  // checksum, and a moment later it reads whole.
  for (int attempt = 0; attempt < 3; ++attempt) {
    UniqueFd fd = OpenIndexFile(trace_path, O_RDONLY);
    if (!fd.valid()) return std::nullopt;
    // An index holds a header and one small entry per many events: it is
    // far smaller than its trace. A bigger one (a sparse file, a planted
    // blob) is not read into memory; it is rebuilt.
    struct stat idx_st;
    struct stat trace_st;
    if (::fstat(fd.get(), &idx_st) != 0 || ::stat(trace_path.c_str(), &trace_st) != 0 ||
        static_cast<uint64_t>(idx_st.st_size) >
            kIndexMaxOverhead + static_cast<uint64_t>(trace_st.st_size) / 2) {
      return std::nullopt;
    }
    std::string data;
    if (!ReadExact(fd.get(), 0, static_cast<uint64_t>(idx_st.st_size), &data)) return std::nullopt;
    std::optional<std::string> bytes = std::move(data);
    if (DecodeIndexHeader(*bytes).ok()) return std::move(*bytes);
    // Another version (an index written by an older build) is not torn:
    // return it at once, and the caller rebuilds.
    if (IsOtherIndexVersion(*bytes)) return std::move(*bytes);
    last = std::move(*bytes);
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return last;
}

void PersistIndexBestEffort(const std::string& trace_path, const TraceIndex& index) {
  if (IndexDisabled() || index.facts.events == 0) return;
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  // A reader never waits for writers: if the lock is busy, the next reader
  // (or the writer holding it) brings the index up to date.
  bool locked = false;
  for (int attempt = 0; attempt < 5 && !locked; ++attempt) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      locked = true;
    } else if (errno == EWOULDBLOCK || errno == EINTR) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      return;
    }
  }
  if (!locked || !SameFile(fd.get(), trace_path)) return;
  const uint64_t size = FileSize(fd.get());
  FdSource src(fd.get(), size);
  if (!MatchAgainst(index, src, size).ok()) return;
  if (std::optional<std::string> bytes = ReadIndexBytes(trace_path)) {
    absl::StatusOr<TraceIndex> stored = DecodeIndex(*bytes);
    if (stored.ok() && stored->facts.covered_bytes >= index.facts.covered_bytes &&
        MatchAgainst(*stored, src, size).ok()) {
      return;  // a writer got there first
    }
  }
  (void)WriteIndexFile(trace_path, index);
}

absl::StatusOr<TraceIndex> LoadIndex(const std::string& trace_path) {
  std::optional<std::string> bytes = ReadIndexBytes(trace_path);
  if (!bytes) {
    return absl::NotFoundError(
        Cat("no index for ", trace_path, IndexDisabled() ? " (TRACEFRAME_INDEX=off)" : ""));
  }
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  return MatchIndex(*bytes, ViewOf(**reader));
}

absl::StatusOr<TraceIndex> LoadOrRebuildIndex(const std::string& trace_path,
                                              const IndexBuildOptions& options) {
  std::optional<std::string> bytes = ReadIndexBytes(trace_path);
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  const MappedView view = ViewOf(**reader);
  std::optional<TornTail> torn;
  if (bytes) {
    absl::StatusOr<TraceIndex> index = MatchIndex(*bytes, view);
    if (index.ok()) {
      if (index->facts.covered_bytes < view.size) {
        const uint64_t covered = index->facts.covered_bytes;
        ExtendIndex(view, &*index, options, &torn);
        if (index->facts.covered_bytes > covered) PersistIndexBestEffort(trace_path, *index);
      }
      return index;
    }
  }
  TraceIndex index = BuildIndex(view, options, &torn);
  PersistIndexBestEffort(trace_path, index);
  return index;
}

absl::StatusOr<TraceIndex> RebuildIndex(const std::string& trace_path,
                                        const IndexBuildOptions& options) {
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  std::optional<TornTail> torn;
  TraceIndex index = BuildIndex(ViewOf(**reader), options, &torn);
  if (index.facts.events == 0) {
    return absl::FailedPreconditionError(Cat("trace is empty: ", trace_path));
  }
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "failed to read trace file", trace_path);
  absl::Status locked = LockExclusive(fd.get(), trace_path, DefaultLockTimeout());
  if (!locked.ok()) return locked;
  const uint64_t size = FileSize(fd.get());
  FdSource src(fd.get(), size);
  if (!SameFile(fd.get(), trace_path) || !MatchAgainst(index, src, size).ok()) {
    return absl::AbortedError(
        Cat("trace ", trace_path, " was replaced while it was being indexed; run again"));
  }
  absl::Status status = WriteIndexFile(trace_path, index);
  if (!status.ok()) return status;
  return index;
}

}  // namespace traceframe
