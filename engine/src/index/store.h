// Internal: index files on disk. Every open refuses links, FIFOs and other
// non-regular files (SECURITY.md "Paths"); every whole-file write is temp +
// rename; nothing here syncs (the index is derived: a damaged one fails its
// checksums and is rebuilt).
#ifndef TRACEFRAME_ENGINE_SRC_INDEX_STORE_H_
#define TRACEFRAME_ENGINE_SRC_INDEX_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "traceframe/index.h"
#include "util/file_util.h"

namespace traceframe::internal {

// pread/pwrite of exactly `len` bytes (EINTR retried); false otherwise.
bool ReadExact(int fd, uint64_t off, size_t len, std::string* out);
bool WriteExact(int fd, uint64_t off, std::string_view data);

// `fd` is the file now at `path` (not replaced since it was opened).
bool SameFile(int fd, const std::string& path);
uint64_t FileSize(int fd);

// Opens the index of `trace_path` for reading or in-place update; an invalid
// fd when there is none (or it is not a regular file): the caller rebuilds.
UniqueFd OpenIndexFile(const std::string& trace_path, int flags);

// Replaces `<trace>.idx` with `bytes` (temp + rename), with the trace's
// permissions.
absl::Status WriteIndexBytes(const std::string& trace_path, const std::string& bytes);
absl::Status WriteIndexFile(const std::string& trace_path, const TraceIndex& index);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_INDEX_STORE_H_
