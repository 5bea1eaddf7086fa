// Internal: reading trace bytes into index facts. The scan behind
// BuildIndex/ExtendIndex (index_internal.h) and the cheap checks that tie a
// stored index to the trace it claims to describe.
//
// Thread-safety: ScanInto runs its own worker threads and returns when they
// are done; a ByteSource is used by one thread at a time.
#ifndef TRACEFRAME_ENGINE_SRC_INDEX_SCAN_H_
#define TRACEFRAME_ENGINE_SRC_INDEX_SCAN_H_

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "read/scan.h"
#include "traceframe/index.h"
#include "traceframe/trace_reader.h"

namespace traceframe::internal {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // [off, off+len) of the trace; false if out of range or unreadable. The
  // view is valid until the next call.
  virtual bool Read(uint64_t off, uint64_t len, std::string_view* out) = 0;
};

// A mapping (or a buffer) holding the trace bytes [shift, shift + view.size).
class ViewSource : public ByteSource {
 public:
  explicit ViewSource(const MappedView& view, uint64_t shift = 0) : view_(view), shift_(shift) {}
  bool Read(uint64_t off, uint64_t len, std::string_view* out) override {
    if (off < shift_ || off - shift_ > view_.size || len > view_.size - (off - shift_)) {
      return false;
    }
    *out = std::string_view(view_.data + (off - shift_), len);
    return true;
  }

 private:
  MappedView view_;
  uint64_t shift_;
};

class FdSource : public ByteSource {
 public:
  FdSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  bool Read(uint64_t off, uint64_t len, std::string_view* out) override {
    if (off > size_ || len > size_ - off) return false;
    buf_.resize(len);
    uint64_t done = 0;
    while (done < len) {
      const ssize_t n =
          ::pread(fd_, buf_.data() + done, len - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<uint64_t>(n);
    }
    *out = buf_;
    return true;
  }

 private:
  int fd_;
  uint64_t size_;
  std::string buf_;
};

// The cheap checks that tie an index to a trace of `size` bytes: the trace
// is at least as long as what the index covers, its head and last covered
// event hash as stored, and the last entry names the event at its offset.
// FailedPrecondition naming the difference otherwise.
absl::Status MatchAgainst(const TraceIndex& index, ByteSource& src, uint64_t size);

// Scans [begin, view.size) (view coordinates; the view holds the trace's
// bytes from absolute offset `shift`) in chunks, in parallel when big, and
// folds the result into `index`, which must cover exactly [0, shift + begin).
// *torn is set when the scan ends in a torn line.
void ScanInto(const MappedView& view, uint64_t shift, uint64_t begin, TraceIndex* index,
              const IndexBuildOptions& options, std::optional<TornTail>* torn);

// Sets what identifies the trace: the hash of its head (when `set_head`),
// and of the last event when the scan left it unset.
void FinishIdentity(TraceIndex* index, ByteSource& src, bool set_head);

// The index of a trace with no events.
TraceIndex EmptyIndex();

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_INDEX_SCAN_H_
