// TraceRecorder: lock-free producers, a writer thread and a syncer thread
// (see recorder.h).
//
// The ring. Producer call number i (0-based, counted from the first seq this
// recorder writes) owns slot i & mask. Each slot carries one atomic state word:
//   2*i      the slot is free for call i (its previous lap was written),
//   2*i + 1  call i has published its line into the slot.
// The writer ("flusher") frees a written slot for the next lap by storing
// 2*(i + cap). A producer therefore waits only when the ring is a whole lap
// ahead of the writer (backpressure), and the writer reads slots strictly in
// order, so the file gets seqs in order without any lock on the hot path.
//
// Durability. The writer publishes written_count_ (indices written), the
// syncer fdatasyncs and publishes durable_count_ (under kNone the writer
// publishes durable_count_ itself). Flush() and kEvery calls raise
// sync_target_ and wait on durable_count_. Keeping the fdatasync off the
// writer matters: one costs milliseconds on real disks, and producers would
// otherwise fill the ring while the writer waits for the disk.
//
// Every claimed index is eventually published, also by a call that is
// refused after claiming (an empty "tombstone" line), so Flush() can wait for
// "everything claimed before me" without knowing who gave up.
//
// Wake-ups use the Dekker pattern with seq_cst atomics: a sleeper announces
// itself (waiter count / idle flag) and then re-checks the condition; a waker
// changes the condition and then checks for sleepers, taking the mutex only
// when there is one. Either side sees the other, so no wake-up is lost and
// the common path takes no lock and makes no syscall.
#include "traceframe/recorder.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "format/event_id.h"
#include "index/index_internal.h"
#include "read/tail_state.h"
#include "simdjson.h"
#include "traceframe/index.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "traceframe/usage.h"
#include "traceframe/writer.h"
#include "util/file_lock.h"
#include "util/file_util.h"
#include "write/writer_internal.h"

namespace traceframe {
namespace {

using Clock = std::chrono::steady_clock;

// Set in the claim counter once run.finished has claimed its index.
constexpr uint64_t kClosedBit = uint64_t{1} << 63;
// A recorder refuses to continue a trace whose seq is this close to the u64
// maximum, so first_seq + index can never overflow.
constexpr uint64_t kMaxStartSeq = std::numeric_limits<uint64_t>::max() - (uint64_t{1} << 62);
// Slots gathered into one flusher round (then written IOV_MAX per writev).
constexpr size_t kMaxGatherSlots = 4096;
constexpr size_t kMaxGatherBytes = 8u << 20;
constexpr size_t kSlotReserve = 512;
// The part of a line between the run id and the payload: event id (36),
// `","kind":"<kind>","ts_ms":` (at most 40), ts (at most 20), `,"seq":` (7),
// seq (at most 20), `,"payload":` (11).
constexpr size_t kMaxLineMiddle = 36 + 40 + 20 + 7 + 20 + 11;
constexpr int kSpinIterations = 256;
constexpr int kYieldIterations = 16;
// Flusher idle states (see FlusherLoop).
constexpr int kAwake = 0;
constexpr int kNapping = 1;
constexpr int kSleeping = 2;
// Syncer states.
constexpr int kSyncerBusy = 0;
constexpr int kSyncerIdle = 1;     // everything written is synced
constexpr int kSyncerWaiting = 2;  // waiting for its max_delay deadline
// Sleeps are woken explicitly; this bound only guards against a lost wake-up.
constexpr std::chrono::milliseconds kSafetyNetWait(100);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

size_t RoundUpPow2(size_t n) {
  size_t cap = 2;
  while (cap < n && cap < (size_t{1} << 40)) cap <<= 1;
  return cap;
}

int DecimalDigits(int64_t v, char* buf, size_t len) {
  const std::to_chars_result r = std::to_chars(buf, buf + len, v);
  return static_cast<int>(r.ptr - buf);
}

}  // namespace

std::string_view SyncPolicyName(SyncPolicy policy) {
  switch (policy) {
    case SyncPolicy::kNone:
      return "none";
    case SyncPolicy::kBatch:
      return "batch";
    case SyncPolicy::kEvery:
      return "every";
  }
  return "batch";
}

std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name) {
  if (name == "none") return SyncPolicy::kNone;
  if (name == "batch") return SyncPolicy::kBatch;
  if (name == "every") return SyncPolicy::kEvery;
  return std::nullopt;
}

namespace {

// Appends `json` (valid JSON: ValidateEventPayload accepted it) minified, key
// order kept, straight into the event's line: no canonical copy per event.
void AppendMinified(std::string* out, std::string_view json) {
  const size_t at = out->size();
  out->resize(at + json.size());
  size_t len = 0;
  if (simdjson::minify(json.data(), json.size(), out->data() + at, len) != simdjson::SUCCESS) {
    // Not reached for valid JSON; the text itself is then still valid.
    out->replace(at, std::string::npos, json.data(), json.size());
    return;
  }
  out->resize(at + len);
}

}  // namespace

class TraceRecorder::Impl {
 public:
  Impl(std::string path, UniqueFd fd, const internal::TailState& tail, RecorderOptions options)
      : path_(std::move(path)),
        run_id_(tail.run_id),
        fd_(std::move(fd)),
        options_(std::move(options)),
        first_seq_(tail.last_seq + 1),
        capacity_(RoundUpPow2(options_.ring_capacity)),
        mask_(capacity_ - 1),
        wake_threshold_(std::max<uint64_t>(1, capacity_ / 4)),
        slots_(new Slot[capacity_]),
        file_size_(tail.size),
        last_ts_ms_(tail.last_ts_ms),
        needs_newline_(tail.needs_newline),
        keep_index_(!IndexDisabled()),
        index_tail_(tail) {
    line_prefix_ = Cat("{\"version\":", kFormatVersion, ",\"run_id\":");
    AppendJsonString(&line_prefix_, run_id_);
    line_prefix_.append(",\"event_id\":\"");
    for (int k = 0; k < kEventKindCount; ++k) {
      kind_infix_[k] =
          Cat("\",\"kind\":\"", EventKindName(static_cast<EventKind>(k)), "\",\"ts_ms\":");
    }
    for (size_t i = 0; i < capacity_; ++i) {
      slots_[i].state.store(2 * i, std::memory_order_relaxed);
      slots_[i].line.reserve(kSlotReserve);
    }
    flusher_ = std::thread([this] { FlusherLoop(); });
    if (options_.sync != SyncPolicy::kNone) syncer_ = std::thread([this] { SyncerLoop(); });
  }

  ~Impl() {
    Flush().IgnoreError();  // the sticky error, if any, was reported to callers
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_seq_cst);
      flusher_cv_.notify_all();
    }
    flusher_.join();
    if (syncer_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        syncer_stop_.store(true, std::memory_order_seq_cst);
        syncer_cv_.notify_all();
      }
      syncer_.join();
    }
    // The flusher kept the sidecar index current after every write; the lock
    // is released with fd_.
  }

  const std::string& path() const { return path_; }
  const std::string& run_id() const { return run_id_; }

  uint64_t last_seq() const {
    const uint64_t claimed = claim_.load(std::memory_order_acquire);
    uint64_t count = claimed & ~kClosedBit;
    if (claimed & kClosedBit) count = end_index_.load(std::memory_order_acquire);
    return first_seq_ + count - 1;
  }

  absl::Status status() const {
    if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(mu_);
    return failed_status_;
  }

  RecorderStats stats() const {
    RecorderStats s;
    s.events_written = events_written_.load(std::memory_order_relaxed);
    s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
    s.write_calls = write_calls_.load(std::memory_order_relaxed);
    s.syncs = syncs_.load(std::memory_order_relaxed);
    return s;
  }

  // Queues one event. `payload_json` must be valid compact JSON. `closing`
  // marks run.finished: it claims the last index and closes the run.
  // `tool_failed` tells the index whether a tool.result counts as a failure
  // (unset: the flusher parses the line to find out).
  // `ts_ms`, when set, replaces the clock's reading.
  absl::StatusOr<uint64_t> Submit(EventKind kind, std::string_view payload_json, bool closing,
                                  std::optional<bool> tool_failed = std::nullopt,
                                  std::optional<int64_t> ts_ms = std::nullopt) {
    return SubmitWith(kind, closing, tool_failed, ts_ms, payload_json.size(),
                      [payload_json](std::string* out) {
                        out->append(payload_json.data(), payload_json.size());
                      });
  }

  // Submit with the payload appended by `write_payload(std::string*)` straight
  // into the event's line (valid compact JSON; about `payload_hint` bytes):
  // the helpers serialize their payload once, into the buffer that goes to
  // the ring, instead of into a temporary that is then copied.
  template <typename WritePayload>
  absl::StatusOr<uint64_t> SubmitWith(EventKind kind, bool closing, std::optional<bool> tool_failed,
                                      std::optional<int64_t> ts_ms, size_t payload_hint,
                                      const WritePayload& write_payload) {
    if (failed_.load(std::memory_order_acquire)) return status();
    uint64_t index;
    bool refused = false;
    if (!closing) {
      const uint64_t claimed = claim_.fetch_add(1, std::memory_order_acq_rel);
      index = claimed & ~kClosedBit;
      refused = (claimed & kClosedBit) != 0;
    } else {
      uint64_t claimed = claim_.load(std::memory_order_acquire);
      for (;;) {
        if (claimed & kClosedBit) break;
        if (claim_.compare_exchange_weak(claimed, (claimed + 1) | kClosedBit,
                                         std::memory_order_acq_rel)) {
          break;
        }
      }
      if (claimed & kClosedBit) {
        // A second Finish claims a tombstone like any refused call would.
        index = claim_.fetch_add(1, std::memory_order_acq_rel) & ~kClosedBit;
        refused = true;
      } else {
        index = claimed;
        end_index_.store(index + 1, std::memory_order_release);
      }
    }
    const uint64_t seq = first_seq_ + index;
    // The slot's line was last written by the writer (it freed the slot):
    // ask for it in exclusive state now, so that the transfer overlaps the
    // serialization below instead of stalling the publishing store.
    __builtin_prefetch(&slots_[index & mask_], 1, 3);

    // Serialize outside the ring into this thread's buffer, then swap it into
    // the slot: no copy, and buffers keep their capacity as they circulate.
    thread_local std::string line;
    line.clear();
    int64_t ts = 0;
    uint32_t ts_offset = 0;
    if (!refused) {
      // Byte for byte what AppendEventLine writes (a test holds them equal),
      // with the run id's escaping and the kind's text done once, not per
      // event. The fixed-size middle (id, kind, ts, seq) is assembled on the
      // stack and appended at once.
      ts = ts_ms ? *ts_ms : NowEpochMs();
      line.reserve(line_prefix_.size() + kMaxLineMiddle + payload_hint + 2);
      line.append(line_prefix_);
      char middle[kMaxLineMiddle];
      char* p = middle;
      internal::WriteNewEventId(p);
      p += internal::kEventIdLength;
      const std::string& infix = kind_infix_[static_cast<size_t>(kind)];
      std::memcpy(p, infix.data(), infix.size());
      p += infix.size();
      ts_offset = static_cast<uint32_t>(line.size() + static_cast<size_t>(p - middle));
      // The clock moves once a millisecond; thousands of events share its text.
      thread_local int64_t cached_ts = -1;
      thread_local char ts_digits[24];
      thread_local size_t ts_len = 0;
      if (ts != cached_ts) {
        ts_len = static_cast<size_t>(DecimalDigits(ts, ts_digits, sizeof(ts_digits)));
        cached_ts = ts;
      }
      std::memcpy(p, ts_digits, ts_len);
      p += ts_len;
      std::memcpy(p, ",\"seq\":", 7);
      p += 7;
      p = std::to_chars(p, middle + sizeof(middle), seq).ptr;
      std::memcpy(p, ",\"payload\":", 11);
      p += 11;
      line.append(middle, static_cast<size_t>(p - middle));
      write_payload(&line);
      line.append("}\n", 2);
    }

    Slot& slot = slots_[index & mask_];
    WaitForSlot(slot, 2 * index);
    slot.line.swap(line);
    slot.ts_ms = ts;
    slot.ts_offset = ts_offset;
    slot.kind = kind;
    slot.tool_failed = tool_failed;
    slot.state.store(2 * index + 1, std::memory_order_seq_cst);
    const int idle = flusher_idle_.load(std::memory_order_seq_cst);
    if (idle == kSleeping ||
        (idle == kNapping &&
         index + 1 >= flusher_next_.load(std::memory_order_relaxed) + wake_threshold_)) {
      WakeFlusherIfIdle();
    }

    if (refused) {
      return RunFinishedError(path_, first_seq_ + end_index_.load(std::memory_order_acquire) - 1);
    }
    if (options_.sync == SyncPolicy::kEvery) {
      absl::Status durable = WaitDurable(index + 1);
      if (!durable.ok()) return durable;
    } else if (failed_.load(std::memory_order_acquire)) {
      return status();
    }
    return seq;
  }

  // Record() after its kind checks. The payload contract (event.h
  // CanonicalEventPayload) is checked before a seq is claimed; the minified
  // text is then written once, straight into the line.
  absl::StatusOr<uint64_t> RecordPayload(EventKind kind, std::string_view payload_json,
                                         std::optional<int64_t> ts_ms) {
    absl::Status valid = ValidateEventPayload(kind, payload_json);
    if (!valid.ok()) return valid;
    const bool closing = kind == EventKind::kRunFinished;
    absl::StatusOr<uint64_t> seq =
        SubmitWith(kind, closing, std::nullopt, ts_ms, payload_json.size(),
                   [payload_json](std::string* out) { AppendMinified(out, payload_json); });
    if (!seq.ok() || !closing) return seq;
    absl::Status flushed = Flush();
    if (!flushed.ok()) return flushed;
    return seq;
  }

  absl::Status Flush() {
    if (failed_.load(std::memory_order_acquire)) return status();
    absl::Status durable = WaitDurable(claim_.load(std::memory_order_acquire) & ~kClosedBit);
    if (!durable.ok()) return durable;
    // Durable in our file, but is our file still the trace? Something that
    // ignored the lock (an old CLI's `init --force`, an `mv`, an `rm`) may
    // have replaced or removed it; the events then went to an unlinked
    // file. Fail sticky and say so instead of reporting success.
    struct stat ours;
    struct stat now;
    if (::fstat(fd_.get(), &ours) == 0 &&
        (::stat(path_.c_str(), &now) != 0 || now.st_ino != ours.st_ino ||
         now.st_dev != ours.st_dev)) {
      SetFailed(absl::DataLossError(
          Cat("trace ", path_,
              " was replaced or removed while this recorder held it: the events "
              "recorded since went to the old file, which is no longer at that "
              "path")));
      return status();
    }
    return absl::OkStatus();
  }

  uint64_t durable_seq() const {
    return first_seq_ + durable_count_.load(std::memory_order_acquire) - 1;
  }

  // Sleeps on progress_cv_ like WaitDurable, without RequestSync: the writer
  // and syncer keep their own pace (PublishProgress wakes the waiter).
  absl::StatusOr<uint64_t> WaitDurableSeq(uint64_t after_seq, absl::Duration timeout) {
    // Indices [0, target) durable means seq first_seq_ + target - 1 is.
    const uint64_t target = after_seq + 2 > first_seq_ ? after_seq + 2 - first_seq_ : 0;
    auto done = [&] {
      return durable_count_.load(std::memory_order_seq_cst) >= target ||
             failed_.load(std::memory_order_seq_cst);
    };
    if (!done()) {
      const auto deadline = Clock::now() + absl::ToChronoNanoseconds(timeout);
      std::unique_lock<std::mutex> lock(mu_);
      progress_waiters_.fetch_add(1, std::memory_order_seq_cst);
      while (!done() && Clock::now() < deadline) {
        progress_cv_.wait_until(lock, std::min(deadline, Clock::now() + kSafetyNetWait));
      }
      progress_waiters_.fetch_sub(1, std::memory_order_seq_cst);
    }
    if (failed_.load(std::memory_order_acquire)) return status();
    return durable_seq();
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> state{0};
    int64_t ts_ms = 0;
    uint32_t ts_offset = 0;
    EventKind kind = EventKind::kRunStarted;
    std::optional<bool> tool_failed;
    std::string line;  // empty: a tombstone, nothing to write
  };

  void WaitForSlot(Slot& slot, uint64_t want) {
    for (int i = 0; i < kSpinIterations; ++i) {
      if (slot.state.load(std::memory_order_acquire) == want) return;
      CpuRelax();
    }
    for (int i = 0; i < kYieldIterations; ++i) {
      if (slot.state.load(std::memory_order_acquire) == want) return;
      sched_yield();
    }
    WakeFlusherIfIdle();
    std::unique_lock<std::mutex> lock(mu_);
    slot_waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (slot.state.load(std::memory_order_seq_cst) != want) {
      // The timeout is only a safety net; the flusher notifies.
      space_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    slot_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  // One waker per sleep: the caller that moves the writer's state to kAwake
  // notifies; the others, until the writer sleeps again, see kAwake and skip
  // the mutex and the futex wake (on a loaded machine the writer can take a
  // while to run, and every event would otherwise wake it again). A writer
  // woken this way always goes round its loop and announces itself again
  // before it sleeps, so no later wake-up is lost.
  void WakeFlusherIfIdle() {
    int idle = flusher_idle_.load(std::memory_order_seq_cst);
    while (idle != kAwake) {
      if (flusher_idle_.compare_exchange_weak(idle, kAwake, std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(mu_);
        flusher_cv_.notify_one();
        return;
      }
    }
  }

  // Raises the index the flusher must make durable promptly to `target`.
  void RequestSync(uint64_t target) {
    uint64_t cur = sync_target_.load(std::memory_order_seq_cst);
    while (cur < target &&
           !sync_target_.compare_exchange_weak(cur, target, std::memory_order_seq_cst)) {
    }
    WakeFlusherIfIdle();
    if (options_.sync != SyncPolicy::kNone &&
        syncer_state_.load(std::memory_order_seq_cst) != kSyncerBusy) {
      std::lock_guard<std::mutex> lock(mu_);
      syncer_cv_.notify_one();
    }
  }

  // Waits until the first `target` indices are durable (or written, under
  // kNone), or the recorder failed.
  absl::Status WaitDurable(uint64_t target) {
    if (durable_count_.load(std::memory_order_acquire) >= target) return absl::OkStatus();
    RequestSync(target);
    std::unique_lock<std::mutex> lock(mu_);
    progress_waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (durable_count_.load(std::memory_order_seq_cst) < target &&
           !failed_.load(std::memory_order_seq_cst)) {
      progress_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    progress_waiters_.fetch_sub(1, std::memory_order_seq_cst);
    if (failed_.load(std::memory_order_acquire)) return failed_status_;
    return absl::OkStatus();
  }

  void SetFailed(absl::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_status_.ok()) failed_status_ = std::move(error);
    failed_.store(true, std::memory_order_seq_cst);
    progress_cv_.notify_all();
    space_cv_.notify_all();
    syncer_cv_.notify_all();
  }

  // Rewrites a slot's ts_ms so file order never goes back in time: a producer
  // that claimed an earlier seq may have read the clock a little later.
  void ClampTimestamp(Slot& slot) {
    if (slot.ts_ms >= last_ts_ms_) {
      last_ts_ms_ = slot.ts_ms;
      return;
    }
    char old_digits[24];
    char new_digits[24];
    const int old_len = DecimalDigits(slot.ts_ms, old_digits, sizeof(old_digits));
    const int new_len = DecimalDigits(last_ts_ms_, new_digits, sizeof(new_digits));
    slot.line.replace(slot.ts_offset, static_cast<size_t>(old_len), new_digits,
                      static_cast<size_t>(new_len));
    slot.ts_ms = last_ts_ms_;
  }

  // Writes all of `iov` (in IOV_MAX pieces). On failure the file is cut back
  // to where this round started so no partial line stays behind.
  absl::Status WriteRound(std::vector<iovec>& iov, size_t total) {
    const uint64_t start_size = file_size_;
    size_t done = 0;
    size_t k = 0;
    int err = 0;
    while (done < total) {
      const int count = static_cast<int>(std::min<size_t>(iov.size() - k, IOV_MAX));
      const ssize_t n = ::writev(fd_.get(), &iov[k], count);
      write_calls_.fetch_add(1, std::memory_order_relaxed);
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (n == 0) {
        err = EIO;
        break;
      }
      done += static_cast<size_t>(n);
      size_t left = static_cast<size_t>(n);
      while (left > 0 && k < iov.size()) {
        if (left >= iov[k].iov_len) {
          left -= iov[k].iov_len;
          ++k;
        } else {
          iov[k].iov_base = static_cast<char*>(iov[k].iov_base) + left;
          iov[k].iov_len -= left;
          left = 0;
        }
      }
    }
    if (err != 0) {
      if (done > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(start_size)) != 0) {
        return absl::DataLossError(
            Cat("failed to write to ", path_, " (", std::strerror(err),
                ") and could not cut back a partial write: ", std::strerror(errno),
                "; run `traceframe repair --file ", path_, "`"));
      }
      return ErrnoError(err, "failed to write to", path_);
    }
    file_size_ += total;
    return absl::OkStatus();
  }

  void PublishProgress(uint64_t durable) {
    durable_count_.store(durable, std::memory_order_seq_cst);
    if (progress_waiters_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      progress_cv_.notify_all();
    }
  }

  // The writer thread: gathers published runs in seq order, writes them,
  // frees the slots. It never waits for the disk: syncing is the syncer's.
  void FlusherLoop() {
    // Past the file size limit (ulimit -f) the kernel raises SIGXFSZ, whose
    // default action kills the process mid-write and leaves a torn line.
    // Blocked in this thread (which does all the trace writes), the write
    // fails with EFBIG instead and the usual cut-back and sticky failure run.
    sigset_t xfsz;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    ::pthread_sigmask(SIG_BLOCK, &xfsz, nullptr);
    std::vector<iovec> iov;
    iov.reserve(kMaxGatherSlots + 1);
    uint64_t next = 0;  // next index to write
    const bool syncing = options_.sync != SyncPolicy::kNone;
    for (;;) {
      // Gather the longest unbroken run of published slots.
      iov.clear();
      size_t bytes = 0;
      const uint64_t round_start = next;
      uint64_t end = next;
      const bool failed = failed_.load(std::memory_order_acquire);
      if (needs_newline_ && !failed) {
        static const char kNewline[] = "\n";
        iov.push_back(iovec{const_cast<char*>(kNewline), 1});
        bytes = 1;
      }
      // The lines for the sidecar index are noted here, while each slot is
      // in this core's cache, at the offsets they will have.
      index_lines_.clear();
      const uint64_t round_offset = file_size_;
      while (end - next < kMaxGatherSlots && bytes < kMaxGatherBytes) {
        Slot& slot = slots_[end & mask_];
        if (slot.state.load(std::memory_order_acquire) != 2 * end + 1) break;
        // Each slot was last written by a producer's core: start fetching
        // the next ones while this one is handled.
        __builtin_prefetch(&slots_[(end + 4) & mask_]);
        if (!slot.line.empty() && !failed) {
          ClampTimestamp(slot);
          if (keep_index_) {
            index_lines_.push_back(WrittenLine{round_offset + bytes, slot.line, slot.kind,
                                               first_seq_ + end, slot.ts_ms, slot.tool_failed});
          }
          iov.push_back(iovec{slot.line.data(), slot.line.size()});
          bytes += slot.line.size();
        }
        ++end;
      }

      if (end > next) {
        bool written_ok = false;
        if (!failed) {
          const uint64_t lines = iov.size() - (needs_newline_ ? 1 : 0);
          absl::Status written = bytes > 0 ? WriteRound(iov, bytes) : absl::OkStatus();
          if (written.ok()) {
            written_ok = true;
            UpdateIndex();
            needs_newline_ = false;
            events_written_.fetch_add(lines, std::memory_order_relaxed);
            bytes_written_.fetch_add(bytes, std::memory_order_seq_cst);
          } else {
            SetFailed(std::move(written));
          }
        }
        // Written (or discarded after a failure): free the slots for the next
        // lap and wake producers blocked on a full ring.
        // Release stores (plain moves on x86), then one read-modify-write of
        // the waiter count, not a locked instruction per slot. The Dekker
        // pairing with WaitForSlot: either this RMW comes first in the
        // count's modification order, and the waiter's increment (also an
        // RMW) synchronizes with it and then sees the frees; or the increment
        // comes first and this RMW reads it and notifies. (An RMW rather than
        // a fence: the C++ model states this without fences, and TSan, which
        // the gate runs, does not model fences.)
        for (uint64_t i = next; i < end; ++i) {
          slots_[i & mask_].state.store(2 * (i + capacity_), std::memory_order_release);
        }
        next = end;
        if (slot_waiters_.fetch_add(0, std::memory_order_seq_cst) > 0) {
          std::lock_guard<std::mutex> lock(mu_);
          space_cv_.notify_all();
        }
        if (written_ok) {
          written_count_.store(next, std::memory_order_seq_cst);
          if (!syncing) {
            PublishProgress(next);
          } else if (SyncerShouldWake()) {
            std::lock_guard<std::mutex> lock(mu_);
            syncer_cv_.notify_one();
          }
        }
      }

      flusher_next_.store(next, std::memory_order_relaxed);
      if (stop_.load(std::memory_order_seq_cst) && !SlotPublished(next)) break;
      // A backlog waiting behind a head slot that its producer claimed but has
      // not published yet (preempted, with more threads than cores): nothing
      // can be written until it does. Going round at once spun hot on a core
      // that producer needs (perf: a third of the process's CPU with 4
      // producers on 2 cores); spin briefly, then sleep until it publishes.
      bool head_wait = false;
      if (WorkReady(next)) {
        if (SlotPublished(next) || HeadPublishedSoon(next)) continue;
        head_wait = true;
      }

      // Nothing worth a syscall yet. After a round that wrote something (or
      // with a few events waiting) take a nap of max_delay: producers do not
      // wake a napping writer until a quarter of the ring is waiting, so a
      // busy recorder writes big runs instead of one event per writev. With
      // nothing at all to do, sleep until the next event arrives.
      const bool nap = !head_wait && (end > round_start || SlotPublished(next));
      flusher_idle_.store(nap ? kNapping : kSleeping, std::memory_order_seq_cst);
      auto ready = [&] {
        if (stop_.load(std::memory_order_seq_cst) ||
            flusher_idle_.load(std::memory_order_seq_cst) == kAwake) {  // woken
          return true;
        }
        if (head_wait) return SlotPublished(next);
        return WorkReady(next) || (!nap && SlotPublished(next));
      };
      if (!ready()) {
        std::unique_lock<std::mutex> lock(mu_);
        flusher_cv_.wait_for(
            lock, nap ? absl::ToChronoNanoseconds(options_.max_delay) : kSafetyNetWait, ready);
      }
      flusher_idle_.store(kAwake, std::memory_order_relaxed);
    }
  }

  // Waits a little (spin, then yield) for slot `next` to be published.
  bool HeadPublishedSoon(uint64_t next) const {
    for (int i = 0; i < kSpinIterations / 4; ++i) {
      if (SlotPublished(next)) return true;
      CpuRelax();
    }
    for (int i = 0; i < 2; ++i) {
      sched_yield();
      if (SlotPublished(next)) return true;
    }
    return false;
  }

  // Worth a writer round right away: a quarter of the ring is waiting, or
  // someone waits in Flush() (or a kEvery call) for unwritten events.
  bool WorkReady(uint64_t next) const {
    if (SlotPublished(next + wake_threshold_ - 1)) return true;
    return sync_target_.load(std::memory_order_seq_cst) > next && SlotPublished(next);
  }

  // Whether the writer must wake the syncer (which otherwise sleeps until its
  // max_delay deadline): it is idle, or a sync is due by policy or request.
  bool SyncerShouldWake() const {
    const int state = syncer_state_.load(std::memory_order_seq_cst);
    if (state == kSyncerIdle) return true;
    if (state != kSyncerWaiting) return false;
    return SyncDue(synced_count_.load(std::memory_order_seq_cst),
                   synced_bytes_.load(std::memory_order_seq_cst));
  }

  // A sync is due now, apart from the max_delay deadline: kEvery, a Flush()
  // waiting, or max_bytes written since the last sync.
  bool SyncDue(uint64_t synced, uint64_t synced_bytes) const {
    if (written_count_.load(std::memory_order_seq_cst) <= synced) return false;
    return options_.sync == SyncPolicy::kEvery ||
           sync_target_.load(std::memory_order_seq_cst) > synced ||
           bytes_written_.load(std::memory_order_seq_cst) - synced_bytes >= options_.max_bytes;
  }

  // The syncer thread (kBatch and kEvery): fdatasyncs what the writer has
  // written, by policy, while the writer keeps writing. One sync covers all
  // waiting callers (group commit).
  void SyncerLoop() {
    uint64_t synced = 0;
    Clock::time_point first_unsynced = Clock::now();
    const auto delay = absl::ToChronoNanoseconds(options_.max_delay);
    for (;;) {
      if (failed_.load(std::memory_order_acquire)) {
        // Nothing more will be synced; wait to be stopped.
        std::unique_lock<std::mutex> lock(mu_);
        syncer_cv_.wait_for(lock, kSafetyNetWait,
                            [&] { return syncer_stop_.load(std::memory_order_seq_cst); });
        if (syncer_stop_.load(std::memory_order_seq_cst)) return;
        continue;
      }
      if (written_count_.load(std::memory_order_seq_cst) <= synced) {
        if (syncer_stop_.load(std::memory_order_seq_cst)) return;
        syncer_state_.store(kSyncerIdle, std::memory_order_seq_cst);
        auto ready = [&] {
          return written_count_.load(std::memory_order_seq_cst) > synced ||
                 syncer_stop_.load(std::memory_order_seq_cst) ||
                 failed_.load(std::memory_order_seq_cst);
        };
        if (!ready()) {
          std::unique_lock<std::mutex> lock(mu_);
          syncer_cv_.wait_for(lock, kSafetyNetWait, ready);
        }
        syncer_state_.store(kSyncerBusy, std::memory_order_seq_cst);
        first_unsynced = Clock::now();
        continue;
      }
      const uint64_t synced_bytes = synced_bytes_.load(std::memory_order_relaxed);
      if (!SyncDue(synced, synced_bytes) && Clock::now() < first_unsynced + delay &&
          !syncer_stop_.load(std::memory_order_seq_cst)) {
        syncer_state_.store(kSyncerWaiting, std::memory_order_seq_cst);
        auto ready = [&] {
          return SyncDue(synced, synced_bytes) || syncer_stop_.load(std::memory_order_seq_cst) ||
                 failed_.load(std::memory_order_seq_cst);
        };
        if (!ready()) {
          std::unique_lock<std::mutex> lock(mu_);
          syncer_cv_.wait_until(lock, first_unsynced + delay, ready);
        }
        syncer_state_.store(kSyncerBusy, std::memory_order_seq_cst);
        continue;  // look again: due by request, size or deadline now
      }
      // Bytes first, then the count: the byte figure may lag the count, which
      // only makes the next max_bytes sync come a little early.
      const uint64_t bytes = bytes_written_.load(std::memory_order_seq_cst);
      const uint64_t covered = written_count_.load(std::memory_order_seq_cst);
      const Clock::time_point started = Clock::now();
      int rc;
      do {
        rc = ::fdatasync(fd_.get());
      } while (rc != 0 && errno == EINTR);
      syncs_.fetch_add(1, std::memory_order_relaxed);
      if (rc != 0) {
        SetFailed(ErrnoError(errno, "failed to sync", path_));
        continue;
      }
      synced = covered;
      synced_bytes_.store(bytes, std::memory_order_seq_cst);
      synced_count_.store(covered, std::memory_order_seq_cst);
      // Anything written during the sync has waited since it started.
      first_unsynced = started;
      PublishProgress(covered);
    }
  }

  // Keeps the sidecar index current after a write of index_lines_ (noted
  // while gathering), under the lock this recorder holds (docs/format.md, "Index (.idx)"): O(1)
  // per round, like a CLI append. Runs before the slots are freed, while the
  // lines the entries point into are still there.
  void UpdateIndex() {
    if (!keep_index_ || index_lines_.empty()) return;
    IndexWrite write;
    write.trace_path = path_;
    write.trace_fd = fd_.get();
    write.before = index_tail_;
    write.lines.swap(index_lines_);
    write.size_after = file_size_;
    UpdateIndexAfterWrite(write);
    const WrittenLine& last = write.lines.back();
    index_tail_.last_seq = last.seq;
    index_tail_.last_kind = last.kind;
    index_tail_.last_ts_ms = last.ts_ms;
    index_tail_.size = file_size_;
    index_tail_.needs_newline = false;
    index_lines_.swap(write.lines);
  }

  bool SlotPublished(uint64_t index) const {
    return slots_[index & mask_].state.load(std::memory_order_seq_cst) == 2 * index + 1;
  }

  const std::string path_;
  const std::string run_id_;
  UniqueFd fd_;  // locked (flock LOCK_EX) for the recorder's lifetime
  const RecorderOptions options_;
  const uint64_t first_seq_;
  const size_t capacity_;
  const size_t mask_;
  const uint64_t wake_threshold_;  // a napping flusher is woken this far behind
  std::unique_ptr<Slot[]> slots_;
  // Constant parts of every line: `{"version":1,"run_id":"..","event_id":"`
  // and `","kind":"..","ts_ms":` per kind.
  std::string line_prefix_;
  std::string kind_infix_[kEventKindCount];

  // Cache-line groups, so that no line is shared between fields with
  // different writers: claim_ is written by every producer call, the
  // writer's fields once per event, the next group is read by every producer
  // call and written rarely.
  alignas(64) std::atomic<uint64_t> claim_{0};  // next index to claim | kClosedBit
  std::atomic<uint64_t> end_index_{0};          // run.finished's index + 1, once closed

  // Writer-private (file_size_, last_ts_ms_, needs_newline_, the index's
  // view of the tail and a reused buffer of written lines).
  alignas(64) uint64_t file_size_;
  int64_t last_ts_ms_;
  bool needs_newline_;
  const bool keep_index_;
  internal::TailState index_tail_;
  std::vector<WrittenLine> index_lines_;

  alignas(64) std::atomic<int> flusher_idle_{kAwake};  // kAwake, kNapping or kSleeping
  std::atomic<uint64_t> flusher_next_{0};              // the writer's next index (a hint)
  std::atomic<bool> failed_{false};
  std::atomic<bool> stop_{false};

  alignas(64) std::atomic<uint64_t> sync_target_{0};
  std::atomic<uint64_t> durable_count_{0};

  // Sleeping and the sticky error.
  mutable std::mutex mu_;
  std::condition_variable flusher_cv_;
  std::condition_variable space_cv_;
  std::condition_variable progress_cv_;
  std::atomic<int> slot_waiters_{0};
  std::atomic<int> progress_waiters_{0};
  absl::Status failed_status_;  // guarded by mu_

  std::atomic<uint64_t> events_written_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> write_calls_{0};
  std::atomic<uint64_t> syncs_{0};

  // Written by the writer, read by the syncer and by producers' wake checks.
  std::atomic<uint64_t> written_count_{0};  // indices [0, n) are written
  std::atomic<int> syncer_state_{kSyncerBusy};
  std::atomic<uint64_t> synced_count_{0};
  std::atomic<uint64_t> synced_bytes_{0};
  std::atomic<bool> syncer_stop_{false};
  std::condition_variable syncer_cv_;

  // Last: started after everything above exists, joined in ~Impl.
  std::thread flusher_;  // the writer
  std::thread syncer_;   // kBatch and kEvery only
};

absl::StatusOr<std::unique_ptr<TraceRecorder::Impl>> TraceRecorder::OpenImpl(
    const std::string& path, const RecorderOptions& options,
    std::optional<std::string_view> expected_run_id) {
  const absl::Duration timeout =
      options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
  absl::StatusOr<UniqueFd> fd = OpenTraceLocked(path, timeout);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<internal::TailState> tail = internal::ReadTailState(fd->get(), path);
  if (!tail.ok()) return tail.status();
  if (tail->last_kind == EventKind::kRunFinished) return RunFinishedError(path, tail->last_seq);
  if (tail->last_seq >= kMaxStartSeq) {
    return absl::OutOfRangeError(Cat("cannot record to ", path, ": seq ", tail->last_seq,
                                     " is too close to the u64 maximum"));
  }
  if (expected_run_id && tail->run_id != *expected_run_id) {
    return absl::AbortedError(Cat("trace ", path, " was replaced by run ", tail->run_id,
                                  " while starting run ", *expected_run_id));
  }
  return std::make_unique<TraceRecorder::Impl>(path, std::move(*fd), *tail, options);
}

TraceRecorder::TraceRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TraceRecorder::~TraceRecorder() = default;

absl::StatusOr<std::unique_ptr<TraceRecorder>> TraceRecorder::Start(const std::string& path,
                                                                    std::string_view run_id,
                                                                    bool force,
                                                                    RecorderOptions options) {
  std::string started;
  if (options.started_payload_json) {
    absl::StatusOr<std::string> canonical =
        CanonicalEventPayload(EventKind::kRunStarted, *options.started_payload_json);
    if (!canonical.ok()) return canonical.status();
    started = std::move(*canonical);
    if (!options.labels.empty()) {
      // Labels go into the caller's object as `labels` (docs/format.md).
      if (started.size() < 2 || started.front() != '{') {
        return absl::InvalidArgumentError(
            "RecorderOptions::labels needs a run.started payload that is a JSON object");
      }
      started.pop_back();
      Append(&started, started.size() > 1 ? "," : "", "\"labels\":", LabelsJson(options.labels),
             "}");
    }
  } else {
    started = DefaultStartedPayload(
        options.labels.empty() ? std::string() : Cat("\"labels\":", LabelsJson(options.labels)));
  }
  const absl::Duration timeout =
      options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
  // Replacing a trace another writer holds would leave it writing into an
  // unlinked file: take the old trace's lock first, and keep it until the new
  // one is in place.
  // (InitTrace does that: docs/format.md "Appending".)
  WriteOptions write_options;
  write_options.sync = options.sync != SyncPolicy::kNone;
  write_options.lock_timeout = timeout;
  absl::StatusOr<AppendResult> created = InitTrace(path, run_id, started, force, write_options);
  if (!created.ok()) return created.status();
  // The file holds the run id as written: invalid UTF-8 replaced by U+FFFD.
  absl::StatusOr<std::unique_ptr<Impl>> impl = OpenImpl(path, options, SanitizeUtf8(run_id));
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<TraceRecorder>(new TraceRecorder(std::move(*impl)));
}

absl::StatusOr<std::unique_ptr<TraceRecorder>> TraceRecorder::Open(const std::string& path,
                                                                   RecorderOptions options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = OpenImpl(path, options, std::nullopt);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<TraceRecorder>(new TraceRecorder(std::move(*impl)));
}

// The helpers write their payload straight into the event's line
// (Impl::SubmitWith), keys as literals: byte for byte what JsonObjectWriter
// writes for the same keys (a test holds them equal).
absl::Status TraceRecorder::ModelCall(std::string_view provider, std::string_view model) {
  return impl_
      ->SubmitWith(EventKind::kModelCall, false, std::nullopt, std::nullopt,
                   26 + provider.size() + model.size(),
                   [&](std::string* out) {
                     out->append("{\"model\":");
                     AppendJsonString(out, model);
                     out->append(",\"provider\":");
                     AppendJsonString(out, provider);
                     out->push_back('}');
                   })
      .status();
}

absl::Status TraceRecorder::ModelCall(std::string_view provider, std::string_view model,
                                      const TokenUsage& usage) {
  const std::string usage_json = UsageJson(usage);
  return impl_
      ->SubmitWith(EventKind::kModelCall, false, std::nullopt, std::nullopt,
                   36 + provider.size() + model.size() + usage_json.size(),
                   [&](std::string* out) {
                     out->append("{\"model\":");
                     AppendJsonString(out, model);
                     out->append(",\"provider\":");
                     AppendJsonString(out, provider);
                     out->append(",\"usage\":");
                     out->append(usage_json);
                     out->push_back('}');
                   })
      .status();
}

absl::Status TraceRecorder::PermissionDecision(std::string_view capability,
                                               std::string_view decision) {
  return impl_
      ->SubmitWith(EventKind::kPermissionDecision, false, std::nullopt, std::nullopt,
                   32 + capability.size() + decision.size(),
                   [&](std::string* out) {
                     out->append("{\"capability\":");
                     AppendJsonString(out, capability);
                     out->append(",\"decision\":");
                     AppendJsonString(out, decision);
                     out->push_back('}');
                   })
      .status();
}

absl::Status TraceRecorder::ToolCall(std::string_view tool, std::string_view command,
                                     const std::vector<std::string>& argv) {
  size_t hint = 40 + tool.size() + command.size();
  for (const std::string& arg : argv) hint += arg.size() + 3;
  return impl_
      ->SubmitWith(EventKind::kToolCall, false, std::nullopt, std::nullopt, hint,
                   [&](std::string* out) {
                     out->append("{\"argv\":[");
                     for (size_t i = 0; i < argv.size(); ++i) {
                       if (i > 0) out->push_back(',');
                       AppendJsonString(out, argv[i]);
                     }
                     out->append("],\"command\":");
                     AppendJsonString(out, command);
                     out->append(",\"tool\":");
                     AppendJsonString(out, tool);
                     out->push_back('}');
                   })
      .status();
}

absl::Status TraceRecorder::ToolResult(std::string_view tool, std::string_view command,
                                       bool success, std::optional<int> exit_code,
                                       std::optional<uint64_t> duration_ms) {
  return impl_
      ->SubmitWith(EventKind::kToolResult, false, !success, std::nullopt,
                   100 + tool.size() + command.size(),
                   [&](std::string* out) {
                     out->append("{\"command\":");
                     AppendJsonString(out, command);
                     out->append(",\"duration_ms\":");
                     if (duration_ms) {
                       Append(out, *duration_ms);
                     } else {
                       out->append("null");
                     }
                     out->append(",\"exit_code\":");
                     if (exit_code) {
                       Append(out, *exit_code);
                     } else {
                       out->append("null");
                     }
                     out->append(success ? ",\"success\":true" : ",\"success\":false");
                     out->append(",\"tool\":");
                     AppendJsonString(out, tool);
                     out->push_back('}');
                   })
      .status();
}

absl::Status TraceRecorder::Error(std::string_view message) {
  return impl_
      ->SubmitWith(EventKind::kError, false, std::nullopt, std::nullopt, 14 + message.size(),
                   [&](std::string* out) {
                     out->append("{\"message\":");
                     AppendJsonString(out, message);
                     out->push_back('}');
                   })
      .status();
}

absl::StatusOr<uint64_t> TraceRecorder::Record(EventKind kind, std::string_view payload_json) {
  if (kind == EventKind::kRunStarted) {
    return absl::InvalidArgumentError(
        "run.started is written by TraceRecorder::Start; record another kind");
  }
  return impl_->RecordPayload(kind, payload_json, std::nullopt);
}

absl::StatusOr<uint64_t> TraceRecorder::Record(EventKind kind, std::string_view payload_json,
                                               int64_t ts_ms) {
  if (kind == EventKind::kRunStarted) return Record(kind, payload_json);  // refused there
  if (ts_ms < 0) {
    return absl::InvalidArgumentError(Cat("ts_ms must be >= 0, got ", ts_ms));
  }
  return impl_->RecordPayload(kind, payload_json, ts_ms);
}

absl::Status TraceRecorder::Flush() { return impl_->Flush(); }

uint64_t TraceRecorder::durable_seq() const { return impl_->durable_seq(); }

absl::StatusOr<uint64_t> TraceRecorder::WaitDurableSeq(uint64_t after_seq, absl::Duration timeout) {
  return impl_->WaitDurableSeq(after_seq, timeout);
}

absl::Status TraceRecorder::Finish(std::string_view status,
                                   std::optional<std::string_view> summary) {
  std::string payload;
  JsonObjectWriter w(&payload);
  w.String("status", status);
  if (summary) w.String("summary", *summary);
  w.Finish();
  absl::StatusOr<uint64_t> seq = impl_->Submit(EventKind::kRunFinished, payload, true);
  if (!seq.ok()) return seq.status();
  return impl_->Flush();
}

absl::Status TraceRecorder::status() const { return impl_->status(); }
const std::string& TraceRecorder::path() const { return impl_->path(); }
const std::string& TraceRecorder::run_id() const { return impl_->run_id(); }
uint64_t TraceRecorder::last_seq() const { return impl_->last_seq(); }
RecorderStats TraceRecorder::stats() const { return impl_->stats(); }

}  // namespace traceframe
