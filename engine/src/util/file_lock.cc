#include "util/file_lock.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/file_util.h"

namespace traceframe {

absl::Duration DefaultLockTimeout() {
  const char* env = std::getenv("TRACEFRAME_LOCK_TIMEOUT_MS");
  int64_t ms;
  if (env != nullptr && absl::SimpleAtoi(env, &ms) && ms >= 0) return absl::Milliseconds(ms);
  return absl::Seconds(5);
}

std::optional<std::string> DescribeLockHolder(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::nullopt;
  std::ifstream locks("/proc/locks");
  std::string line;
  const std::string want = Cat(":", st.st_ino);
  char dev[32];
  std::snprintf(dev, sizeof(dev), "%02x:%02x", major(st.st_dev), minor(st.st_dev));
  const pid_t self = ::getpid();
  while (std::getline(locks, line)) {
    // "1: FLOCK  ADVISORY  WRITE 12345 fd:01:123456 0 EOF"
    std::vector<std::string_view> parts;
    std::string_view rest(line);
    while (!rest.empty()) {
      const size_t b = rest.find_first_not_of(' ');
      if (b == std::string_view::npos) break;
      rest.remove_prefix(b);
      const size_t e = std::min(rest.find(' '), rest.size());
      parts.push_back(rest.substr(0, e));
      rest.remove_prefix(e);
    }
    if (parts.size() < 6 || parts[1] != "FLOCK") continue;
    std::string_view id = parts[5];
    if (!EndsWith(id, want) || !StartsWith(id, dev)) continue;
    int pid;
    if (!absl::SimpleAtoi(ToAbsl(parts[4]), &pid) || pid == self) continue;
    std::ifstream comm(Cat("/proc/", pid, "/comm"));
    std::string name;
    std::getline(comm, name);
    return name.empty() ? Cat("pid ", pid) : Cat("pid ", pid, " (", name, ")");
  }
  return std::nullopt;
}

absl::Status LockExclusive(int fd, const std::string& path, absl::Duration timeout) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Microseconds(50);
  for (;;) {
    if (errno != EWOULDBLOCK && errno != EINTR) return ErrnoError(errno, "failed to lock", path);
    if (absl::Now() >= deadline) break;
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(backoff));
    backoff = std::min(backoff * 2, absl::Milliseconds(5));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
  }
  std::optional<std::string> holder = DescribeLockHolder(fd);
  return absl::UnavailableError(
      Cat("trace ", path, " is locked by another writer", holder ? Cat(" (", *holder, ")") : "",
          " and stayed locked for ", absl::FormatDuration(timeout),
          "; a TraceRecorder holds the lock for its lifetime. Retry when it is done, or raise "
          "TRACEFRAME_LOCK_TIMEOUT_MS"));
}

// Opens `path` for appending and locks it, making sure the locked inode is
// still the one at `path` (an `init --force` may have replaced it).
absl::StatusOr<UniqueFd> OpenTraceLocked(const std::string& path, absl::Duration timeout,
                                         bool follow_symlinks) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<UniqueFd> opened = OpenRegularFile(
        path, O_RDWR | O_APPEND | (follow_symlinks ? 0 : O_NOFOLLOW), "failed to open trace file");
    if (!opened.ok()) {
      if (!follow_symlinks && errno == ELOOP) {
        return absl::FailedPreconditionError(
            Cat("refusing trace ", path,
                ": it is a symbolic link (traces under a hook --dir must "
                "be regular files; SECURITY.md)"));
      }
      if (absl::IsNotFound(opened.status())) {
        return absl::NotFoundError(
            Cat("failed to read trace file ", path, ": No such file or directory (os error 2)"));
      }
      return opened.status();
    }
    UniqueFd fd = std::move(*opened);
    struct stat st;
    absl::Status locked = LockExclusive(fd.get(), path, timeout);
    if (!locked.ok()) return locked;
    struct stat now;
    if (::stat(path.c_str(), &now) == 0 && ::fstat(fd.get(), &st) == 0 && now.st_ino == st.st_ino &&
        now.st_dev == st.st_dev) {
      return fd;
    }
    if (attempt >= 8) return absl::AbortedError(Cat("trace ", path, " keeps being replaced"));
  }
}

}  // namespace traceframe
