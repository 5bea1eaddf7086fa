// Internal: small POSIX file helpers with absl::Status errors that name the
// file and the OS reason.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_FILE_UTIL_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_FILE_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace traceframe {

// "<what> <path>: <strerror(errno)> (os error N)" with a code matching errno.
absl::Status ErrnoError(int err, std::string_view what, std::string_view path);

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Opens `path` with `flags` (O_CLOEXEC is added) and requires a regular
// file. Opened non-blocking, so a FIFO or device planted at the path is
// refused instead of hanging the open or a later read (SECURITY.md "Paths");
// the flag is cleared again before returning. On failure errno is kept. `what` starts the error,
// e.g. "failed to read trace file". ENOENT keeps its NotFound code.
absl::StatusOr<UniqueFd> OpenRegularFile(const std::string& path, int flags, std::string_view what);

// Writes `contents` to a new file `path` + suffix, never replacing one: the
// first free name of `path`, `path`-2, `path`-3, ... (link(2) of a synced temp
// file, which fails on an existing name). Returns the name written.
absl::StatusOr<std::string> WriteNewFile(const std::string& path, std::string_view contents);

// pipe2(2) whose two fds are both >= 3: when the caller's process has fd 0,
// 1 or 2 closed, a new pipe would take that number, and the next write to
// "stderr" (or a child's inherited fd 2) would land in the pipe (issue 11:
// a child's output byte read as a signal). Moves them with F_DUPFD_CLOEXEC.
// Returns 0 or the errno.
int PipeAboveStdio(int fds[2], int flags);

// Writes all of `data` at the current offset, retrying short writes and EINTR.
absl::Status WriteAll(int fd, std::string_view data, std::string_view path);
// Reads exactly `len` bytes at `offset` (fewer only at end of file).
absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, uint64_t len, std::string_view path);

// Directory part of a path ("." for a bare file name).
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);
// mkdir -p.
absl::Status CreateDirectories(std::string_view dir);
// fsync a directory so a new name in it survives a crash.
absl::Status SyncDirectory(std::string_view dir);

// Writes `contents` to `path` atomically: a temp file in the same directory,
// fsync, rename over `path`, fsync the directory. Creates parent directories.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// Reads a whole (small) file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// A unique temp name beside `path`: "<dir>/.<base>.tmp-<pid>-<random>".
std::string TempPathBeside(std::string_view path);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_FILE_UTIL_H_
