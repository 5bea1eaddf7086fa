#include "util/file_util.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace traceframe {

absl::Status ErrnoError(int err, std::string_view what, std::string_view path) {
  std::string message = Cat(what, " ", path, ": ", std::strerror(err), " (os error ", err, ")");
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() { reset(); }

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "failed to write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAt(int fd, uint64_t offset, uint64_t len, std::string_view path) {
  std::string out(len, '\0');
  uint64_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "failed to read", path);
    }
    if (n == 0) break;
    got += static_cast<uint64_t>(n);
  }
  out.resize(got);
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

absl::Status CreateDirectories(std::string_view dir) {
  if (dir.empty() || dir == "." || dir == "/") return absl::OkStatus();
  std::string path(dir);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(Cat("failed to create ", path, ": not a directory"));
  }
  absl::Status parent = CreateDirectories(DirName(path));
  if (!parent.ok()) return parent;
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "failed to create", path);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(std::string_view dir) {
  std::string path(dir.empty() ? "." : dir);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "failed to open directory", path);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return ErrnoError(errno, "failed to sync", path);
  return absl::OkStatus();
}

std::string TempPathBeside(std::string_view path) {
  thread_local absl::BitGen gen;
  std::string dir = DirName(path);
  return Cat(dir, "/.", BaseName(path), ".tmp-", ::getpid(), "-",
             absl::Hex(absl::Uniform<uint32_t>(gen)));
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  absl::Status status = CreateDirectories(DirName(path));
  if (!status.ok()) return status;
  const std::string tmp = TempPathBeside(path);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "failed to write", path);
  status = WriteAll(fd.get(), contents, path);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoError(errno, "failed to sync", path);
  fd.reset();
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "failed to replace", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return SyncDirectory(DirName(path));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "failed to read", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "failed to read", path);
  if (S_ISDIR(st.st_mode)) return ErrnoError(EISDIR, "failed to read", path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "failed to read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::StatusOr<UniqueFd> OpenRegularFile(const std::string& path, int flags,
                                         std::string_view what) {
  UniqueFd fd(::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    absl::Status status = ErrnoError(err, what, path);
    errno = err;  // callers may tell ELOOP (O_NOFOLLOW) apart
    return status;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, what, path);
  if (S_ISDIR(st.st_mode)) return ErrnoError(EISDIR, what, path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        Cat(what, " ", path, ": not a regular file (a FIFO, device or socket is refused)"));
  }
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
    return ErrnoError(errno, what, path);
  }
  return fd;
}

absl::StatusOr<std::string> WriteNewFile(const std::string& path, std::string_view contents) {
  const std::string tmp = TempPathBeside(path);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "failed to write", path);
  absl::Status status = WriteAll(fd.get(), contents, path);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoError(errno, "failed to sync", path);
  fd.reset();
  std::string target = path;
  for (int n = 2; status.ok(); ++n) {
    if (::link(tmp.c_str(), target.c_str()) == 0) break;
    if (errno != EEXIST || n > 10000) {
      status = ErrnoError(errno, "failed to create", target);
      break;
    }
    target = Cat(path, "-", n);
  }
  ::unlink(tmp.c_str());
  if (!status.ok()) return status;
  status = SyncDirectory(DirName(target));
  if (!status.ok()) return status;
  return target;
}

int PipeAboveStdio(int fds[2], int flags) {
  if (::pipe2(fds, flags) != 0) return errno;
  for (int i = 0; i < 2; ++i) {
    if (fds[i] > 2) continue;
    const int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      const int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return err;
    }
    if ((flags & O_CLOEXEC) == 0) ::fcntl(moved, F_SETFD, 0);
    ::close(fds[i]);
    fds[i] = moved;
  }
  return 0;
}

}  // namespace traceframe
