// Internal: flock(2) with a deadline, and naming the process that holds a lock.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_FILE_LOCK_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_FILE_LOCK_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "util/file_util.h"

namespace traceframe {

// The lock wait used when none is given: TRACEFRAME_LOCK_TIMEOUT_MS or 5 s.
absl::Duration DefaultLockTimeout();

// Takes LOCK_EX on fd, retrying until `timeout`. On timeout the error names
// the holder ("held by pid 123 (traceframe-bench)") when /proc tells.
absl::Status LockExclusive(int fd, const std::string& path, absl::Duration timeout);

// Opens the trace at `path` for appending (O_APPEND) and takes its exclusive
// lock, checking that the locked inode is still the one at `path` (an
// `init --force` may have replaced it meanwhile). NotFound when missing.
// Only a regular file is opened; with `follow_symlinks` false, a symbolic
// link at `path` is refused too (O_NOFOLLOW).
absl::StatusOr<UniqueFd> OpenTraceLocked(const std::string& path, absl::Duration timeout,
                                         bool follow_symlinks = true);

// "pid 123 (name)" of a process holding a flock on fd's inode, if any.
std::optional<std::string> DescribeLockHolder(int fd);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_FILE_LOCK_H_
