#include "traceframe/repair.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "util/file_lock.h"
#include "util/file_util.h"

namespace traceframe {

absl::StatusOr<RepairReport> RepairTrace(const std::string& path) {
  // Repair writes: say so when the open for writing is what failed (a
  // read-only file system, a read-only file), not "failed to read".
  absl::StatusOr<UniqueFd> opened =
      OpenRegularFile(path, O_RDWR, "failed to open trace file for writing");
  if (!opened.ok()) return opened.status();
  UniqueFd fd = std::move(*opened);
  struct stat st;
  absl::Status locked = LockExclusive(fd.get(), path, DefaultLockTimeout());
  if (!locked.ok()) return locked;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "failed to read trace file", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  RepairReport report;
  if (size > 0) {
    // The final segment after the last '\n'.
    uint64_t start = size;
    for (uint64_t chunk = 4096;; chunk *= 2) {
      const uint64_t lo = size > chunk ? size - chunk : 0;
      absl::StatusOr<std::string> piece = ReadAt(fd.get(), lo, size - lo, path);
      if (!piece.ok()) return piece.status();
      const size_t nl = piece->find_last_of('\n');
      if (nl != std::string::npos) {
        start = lo + nl + 1;
        break;
      }
      if (lo == 0) {
        start = 0;
        break;
      }
    }
    if (start < size) {
      absl::StatusOr<std::string> tail = ReadAt(fd.get(), start, size - start, path);
      if (!tail.ok()) return tail.status();
      std::string_view text(*tail);
      while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
      }
      EventParser parser;
      EventView view;
      std::string reason;
      const bool torn =
          !text.empty() && parser.Parse(text, false, &view, &reason) == LineParseError::kJsonSyntax;
      if (torn) {
        report.repaired = true;
        report.torn_offset = start;
        report.torn_length = size - start;
        // Never replace an earlier save: a retried append can tear at the
        // same offset again, and those bytes are evidence too.
        absl::StatusOr<std::string> saved = WriteNewFile(Cat(path, ".torn-", start), *tail);
        if (!saved.ok()) return saved.status();
        report.saved_path = *std::move(saved);
        if (::ftruncate(fd.get(), static_cast<off_t>(start)) != 0 || ::fdatasync(fd.get()) != 0) {
          return ErrnoError(errno, "failed to truncate", path);
        }
      }
    }
  }
  fd.reset();  // unlock before verifying (verify takes a shared lock)
  VerifyOptions options;
  options.allow_open = true;
  absl::StatusOr<VerifyReport> verify = VerifyTrace(path, options);
  if (!verify.ok()) return verify.status();
  report.verify = *std::move(verify);
  return report;
}

}  // namespace traceframe
