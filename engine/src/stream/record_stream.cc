// RecordStream (traceframe/stream.h): JSON lines in, TraceRecorder appends,
// durable acks out.
//
// Threads. The calling thread reads, parses and records (it is the
// recorder's only producer, so seq order is input order). With acks, one
// more thread writes them: the reader queues one item per line and the ack
// thread emits every item up to the recorder's durable watermark
// (TraceRecorder::durable_seq / WaitDurableSeq), so acks never force a sync
// and never run ahead of the disk. Both queues are bounded: the recorder's
// ring blocks the reader when the disk falls behind, and the ack queue
// blocks it when the ack reader does; either way the input pipe fills and
// the producer waits (docs/harness-integration.md: backpressure, nothing dropped).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "simdjson.h"
#include "stream/stream_line.h"
#include "traceframe/json.h"
#include "traceframe/recorder.h"
#include "traceframe/str_util.h"
#include "traceframe/stream.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace internal {
namespace {

constexpr size_t kInitialBuffer = size_t{1} << 20;
constexpr int kPollMs = 100;

void WriteDiag(int fd, std::string_view text) {
  if (fd < 0) return;
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

struct AckItem {
  uint64_t line = 0;
  uint64_t seq = 0;
  bool error = false;
  std::string text;  // the id's raw JSON (may be empty) or the error message
};

// The ack thread and its bounded queue.
class AckWriter {
 public:
  AckWriter(TraceRecorder* recorder, int fd, size_t max_pending)
      : recorder_(recorder), fd_(fd), max_pending_(std::max<size_t>(1, max_pending)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~AckWriter() { Close(); }

  // Queues `batch` (emptied), blocking while too many acks wait.
  void Push(std::vector<AckItem>* batch) {
    if (batch->empty()) return;
    std::unique_lock<std::mutex> lock(mu_);
    space_cv_.wait(lock, [&] { return pending_ < max_pending_ || done_; });
    pending_ += batch->size();
    if (queue_.empty()) {
      queue_.swap(*batch);
    } else {
      for (AckItem& item : *batch) queue_.push_back(std::move(item));
    }
    batch->clear();
    work_cv_.notify_one();
  }

  // No more items: the thread emits the rest as they become durable (or
  // drops them once the recorder failed) and ends.
  void Close() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      work_cv_.notify_one();
    }
    thread_.join();
  }

  bool fd_closed() const { return fd_closed_.load(std::memory_order_acquire); }

 private:
  void Loop() {
    std::vector<AckItem> work;
    std::string out;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) break;
        work.swap(queue_);
      }
      size_t i = 0;
      bool failed = false;
      while (i < work.size() && !failed) {
        const uint64_t durable = recorder_->durable_seq();
        const size_t first = i;
        out.clear();
        while (i < work.size() && (work[i].error || work[i].seq <= durable)) {
          Format(work[i], &out);
          ++i;
        }
        Emit(out);
        Release(i - first);
        if (i < work.size()) {
          failed = !recorder_->WaitDurableSeq(durable, absl::Milliseconds(100)).ok();
        }
      }
      if (failed) {
        // The reader sees the sticky error on its next call and stops; the
        // events still waiting here will never be durable.
        Release(work.size() - i);
        std::lock_guard<std::mutex> lock(mu_);
        done_ = true;
        space_cv_.notify_all();
        queue_.clear();
        break;
      }
      work.clear();
    }
  }

  static void Format(const AckItem& item, std::string* out) {
    out->append("{\"line\":");
    out->append(Cat(item.line));
    if (item.error) {
      out->append(",\"error\":");
      AppendJsonString(out, item.text);
    } else {
      out->append(",\"seq\":");
      out->append(Cat(item.seq));
      if (!item.text.empty()) {
        out->append(",\"id\":");
        out->append(item.text);
      }
    }
    out->append("}\n");
  }

  void Emit(std::string_view text) {
    while (!text.empty() && !fd_closed()) {
      const ssize_t n = ::write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The harness closed its end: stop acking, keep recording.
        fd_closed_.store(true, std::memory_order_release);
        return;
      }
      text.remove_prefix(static_cast<size_t>(n));
    }
  }

  void Release(size_t count) {
    if (count == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    pending_ -= count;
    space_cv_.notify_all();
  }

  TraceRecorder* const recorder_;
  const int fd_;
  const size_t max_pending_;
  std::atomic<bool> fd_closed_{false};
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::vector<AckItem> queue_;  // guarded by mu_
  size_t pending_ = 0;          // queued or being emitted; guarded by mu_
  bool closing_ = false;        // guarded by mu_
  bool done_ = false;           // the thread gave up; guarded by mu_
  std::thread thread_;          // last: started after the fields above
};

class Stream {
 public:
  Stream(TraceRecorder* recorder, const StreamOptions& options, StreamFds fds,
         const std::atomic<bool>* stop)
      : recorder_(recorder), options_(options), fds_(fds), stop_(stop) {
    if (fds_.ack >= 0)
      acks_ = std::make_unique<AckWriter>(recorder, fds_.ack, options_.max_pending_acks);
  }

  absl::StatusOr<StreamResult> Run() {
    absl::Status status = ReadAll();
    if (status.ok() && options_.finish_status && !result_.finished) {
      status = recorder_->Finish(*options_.finish_status);
      if (status.ok()) result_.finished = true;
    }
    if (status.ok()) status = recorder_->Flush();
    if (acks_) {
      acks_->Close();
      result_.acks_closed = acks_->fd_closed();
    }
    if (!status.ok()) {
      WriteDiag(fds_.diag, Cat("Error: stream stopped after line ", result_.lines, ": ",
                               ToStd(status.message()), " (events up to seq ",
                               recorder_->durable_seq(), " are durable)\n"));
      return status;
    }
    result_.run_id = recorder_->run_id();
    result_.last_seq = recorder_->last_seq();
    return result_;
  }

 private:
  bool Stopped() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }

  absl::Status ReadAll() {
    std::vector<char> buf(kInitialBuffer + simdjson::SIMDJSON_PADDING);
    size_t cap = kInitialBuffer;
    size_t begin = 0;
    size_t end = 0;
    bool discarding = false;  // inside a line over max_line_bytes
    bool eof = false;
    for (;;) {
      while (begin < end) {
        const char* start = buf.data() + begin;
        const void* nl = std::memchr(start, '\n', end - begin);
        if (nl == nullptr) break;
        const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - start);
        if (discarding) {
          discarding = false;
        } else {
          absl::Status handled = HandleLine(start, len, buf.size() - begin);
          if (!handled.ok()) return handled;
        }
        begin += len + 1;
      }
      FlushAcks();
      if (eof || Stopped()) {
        result_.stopped = !eof;
        if (begin < end && !discarding) {
          // A last line without its newline.
          absl::Status handled = HandleLine(buf.data() + begin, end - begin, buf.size() - begin);
          if (!handled.ok()) return handled;
          FlushAcks();
        }
        return absl::OkStatus();
      }
      if (begin > 0) {
        std::memmove(buf.data(), buf.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (end == cap) {
        if (discarding) {
          end = 0;
        } else if (cap >= options_.max_line_bytes) {
          ++result_.lines;
          Reject(result_.lines,
                 Cat("line longer than ", options_.max_line_bytes, " bytes; skipped"));
          FlushAcks();
          discarding = true;
          end = 0;
        } else {
          cap = std::min(cap * 2, std::max(options_.max_line_bytes, kInitialBuffer));
          buf.resize(cap + simdjson::SIMDJSON_PADDING);
        }
      }
      // Wait for input in short polls so that *stop is noticed.
      pollfd pfd{fds_.in, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, kPollMs);
      if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
      const ssize_t n = ::read(fds_.in, buf.data() + end, cap - end);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return absl::UnavailableError(Cat("failed to read the input: ", std::strerror(errno)));
      }
      if (n == 0) {
        eof = true;
        continue;
      }
      end += static_cast<size_t>(n);
    }
  }

  // One input line (without its '\n'); `allocated` bytes are readable from
  // `data` (simdjson's padding).
  absl::Status HandleLine(const char* data, size_t len, size_t allocated) {
    const uint64_t line = ++result_.lines;
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t')) {
      --len;
    }
    size_t lead = 0;
    while (lead < len && (data[lead] == ' ' || data[lead] == '\t')) ++lead;
    if (lead == len) return absl::OkStatus();  // blank
    absl::StatusOr<StreamLine> parsed = ParseStreamLine(&parser_, data, len, allocated);
    if (!parsed.ok()) {
      Reject(line, ToStd(parsed.status().message()));
      return absl::OkStatus();
    }
    absl::StatusOr<uint64_t> seq =
        parsed->ts_ms ? recorder_->Record(parsed->kind, parsed->payload, *parsed->ts_ms)
                      : recorder_->Record(parsed->kind, parsed->payload);
    if (!seq.ok()) {
      if (!recorder_->status().ok()) return recorder_->status();  // sticky: stop
      Reject(line, ToStd(seq.status().message()));
      return absl::OkStatus();
    }
    ++result_.recorded;
    if (parsed->kind == EventKind::kRunFinished) result_.finished = true;
    if (acks_) {
      AckItem& item = batch_.emplace_back();
      item.line = line;
      item.seq = *seq;
      item.text.assign(parsed->id_json);
    }
    return absl::OkStatus();
  }

  void Reject(uint64_t line, std::string_view why) {
    ++result_.rejected;
    WriteDiag(fds_.diag, Cat("Error: line ", line, ": ", why, "\n"));
    if (acks_) {
      AckItem& item = batch_.emplace_back();
      item.line = line;
      item.error = true;
      item.text.assign(why);
    }
  }

  void FlushAcks() {
    if (acks_) acks_->Push(&batch_);
  }

  TraceRecorder* const recorder_;
  const StreamOptions& options_;
  const StreamFds fds_;
  const std::atomic<bool>* const stop_;
  std::unique_ptr<AckWriter> acks_;
  std::vector<AckItem> batch_;
  simdjson::ondemand::parser parser_;
  StreamResult result_;
};

}  // namespace
}  // namespace internal

absl::StatusOr<StreamResult> RecordStream(const std::string& path, const StreamOptions& options,
                                          StreamFds fds, const std::atomic<bool>* stop) {
  RecorderOptions recorder_options;
  recorder_options.sync = options.sync;
  recorder_options.lock_timeout = options.lock_timeout;
  recorder_options.ring_capacity = options.ring_capacity;
  absl::StatusOr<std::unique_ptr<TraceRecorder>> recorder;
  if (options.init_run_id) {
    // Labels go into run.started through the recorder (RecorderOptions::
    // labels); a key given twice keeps its last value.
    for (const auto& [key, value] : options.labels) recorder_options.labels[key] = value;
    recorder = TraceRecorder::Start(path, *options.init_run_id, /*force=*/false, recorder_options);
  } else {
    if (!options.labels.empty()) {
      return absl::InvalidArgumentError("labels are written in run.started: pass them with --init");
    }
    recorder = TraceRecorder::Open(path, recorder_options);
  }
  if (!recorder.ok()) return recorder.status();
  internal::Stream stream(recorder->get(), options, fds, stop);
  return stream.Run();
}

}  // namespace traceframe
