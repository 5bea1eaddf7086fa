// TraceRecorder: lock-free producers, one flusher thread (see recorder.h).
//
// The ring. Producer call number i (0-based, counted from the first seq this
// recorder writes) owns slot i & mask. Each slot carries one atomic state word:
//   2*i      the slot is free for call i (its previous lap was written),
//   2*i + 1  call i has published its line into the slot.
// The flusher frees a written slot for the next lap by storing 2*(i + cap).
// A producer therefore waits only when the ring is a whole lap ahead of the
// flusher (backpressure), and the flusher reads slots strictly in order, so
// the file gets seqs in order without any lock on the hot path.
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
#include <sched.h>
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
#include "file_lock.h"
#include "file_util.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "traceframe/writer.h"

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
constexpr int kSpinIterations = 256;
constexpr int kYieldIterations = 16;

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

// Opens `path` for appending and takes its lock, making sure the locked inode
// is still the one at `path` (an `init --force` may have replaced it).
absl::StatusOr<UniqueFd> OpenAndLock(const std::string& path, absl::Duration timeout) {
  for (int attempt = 0;; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        return absl::NotFoundError(
            Cat("failed to read trace file ", path, ": No such file or directory (os error 2)"));
      }
      return ErrnoError(errno, "failed to open trace file", path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return ErrnoError(EISDIR, "failed to read trace file", path);
    }
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

class TraceRecorder::Impl {
 public:
  Impl(std::string path, UniqueFd fd, const TailState& tail, RecorderOptions options)
      : path_(std::move(path)),
        run_id_(tail.run_id),
        fd_(std::move(fd)),
        options_(std::move(options)),
        first_seq_(tail.last_seq + 1),
        capacity_(RoundUpPow2(options_.ring_capacity)),
        mask_(capacity_ - 1),
        slots_(new Slot[capacity_]),
        file_size_(tail.size),
        last_ts_ms_(tail.last_ts_ms),
        needs_newline_(tail.needs_newline) {
    for (size_t i = 0; i < capacity_; ++i) {
      slots_[i].state.store(2 * i, std::memory_order_relaxed);
      slots_[i].line.reserve(kSlotReserve);
    }
    flusher_ = std::thread([this] { FlusherLoop(); });
  }

  ~Impl() {
    Flush().IgnoreError();  // the sticky error, if any, was reported to callers
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_seq_cst);
      flusher_cv_.notify_all();
    }
    flusher_.join();
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
  absl::StatusOr<uint64_t> Submit(EventKind kind, std::string_view payload_json, bool closing) {
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

    // Serialize outside the ring into this thread's buffer, then swap it into
    // the slot: no copy, and buffers keep their capacity as they circulate.
    thread_local std::string line;
    thread_local Event event;
    line.clear();
    int64_t ts = 0;
    uint32_t ts_offset = 0;
    if (!refused) {
      event.run_id.assign(run_id_);
      event.event_id = NewEventId();
      event.kind = kind;
      event.ts_ms = ts = NowEpochMs();
      event.seq = seq;
      event.payload_json.assign(payload_json.data(), payload_json.size());
      AppendEventLine(&line, event);
      // The first `,"ts_ms":` is the field: run_id is escaped (no bare quote)
      // and the payload comes after it.
      ts_offset = static_cast<uint32_t>(line.find(",\"ts_ms\":") + 9);
    }

    Slot& slot = slots_[index & mask_];
    WaitForSlot(slot, 2 * index);
    slot.line.swap(line);
    slot.ts_ms = ts;
    slot.ts_offset = ts_offset;
    slot.state.store(2 * index + 1, std::memory_order_seq_cst);
    if (flusher_idle_.load(std::memory_order_seq_cst)) WakeFlusher();

    if (refused) {
      return absl::FailedPreconditionError(
          Cat("cannot append after run.finished: ", path_, " is closed (seq ",
              first_seq_ + end_index_.load(std::memory_order_acquire) - 1, ")"));
    }
    if (options_.sync == SyncPolicy::kEvery) {
      absl::Status durable = WaitDurable(index + 1);
      if (!durable.ok()) return durable;
    } else if (failed_.load(std::memory_order_acquire)) {
      return status();
    }
    return seq;
  }

  absl::Status Flush() {
    if (failed_.load(std::memory_order_acquire)) return status();
    return WaitDurable(claim_.load(std::memory_order_acquire) & ~kClosedBit);
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> state{0};
    int64_t ts_ms = 0;
    uint32_t ts_offset = 0;
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
    std::unique_lock<std::mutex> lock(mu_);
    slot_waiters_.fetch_add(1, std::memory_order_seq_cst);
    while (slot.state.load(std::memory_order_seq_cst) != want) {
      // The timeout is only a safety net; the flusher notifies.
      space_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    slot_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  void WakeFlusher() {
    std::lock_guard<std::mutex> lock(mu_);
    flusher_cv_.notify_one();
  }

  // Raises the index the flusher must make durable promptly to `target`.
  void RequestSync(uint64_t target) {
    uint64_t cur = sync_target_.load(std::memory_order_seq_cst);
    while (cur < target &&
           !sync_target_.compare_exchange_weak(cur, target, std::memory_order_seq_cst)) {
    }
    if (flusher_idle_.load(std::memory_order_seq_cst)) WakeFlusher();
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

  void FlusherLoop() {
    std::vector<iovec> iov;
    iov.reserve(kMaxGatherSlots + 1);
    uint64_t next = 0;    // next index to write
    uint64_t synced = 0;  // indices [0, synced) are durable
    size_t unsynced_bytes = 0;
    Clock::time_point first_unsynced{};
    const bool syncing = options_.sync != SyncPolicy::kNone;
    for (;;) {
      // Gather the longest unbroken run of published slots.
      iov.clear();
      size_t bytes = 0;
      uint64_t end = next;
      const bool failed = failed_.load(std::memory_order_acquire);
      if (needs_newline_ && !failed) {
        static const char kNewline[] = "\n";
        iov.push_back(iovec{const_cast<char*>(kNewline), 1});
        bytes = 1;
      }
      while (end - next < kMaxGatherSlots && bytes < kMaxGatherBytes) {
        Slot& slot = slots_[end & mask_];
        if (slot.state.load(std::memory_order_acquire) != 2 * end + 1) break;
        if (!slot.line.empty() && !failed) {
          ClampTimestamp(slot);
          iov.push_back(iovec{slot.line.data(), slot.line.size()});
          bytes += slot.line.size();
        }
        ++end;
      }

      if (end > next) {
        uint64_t lines = 0;
        if (!failed) {
          lines = iov.size() - (needs_newline_ ? 1 : 0);
          absl::Status written = bytes > 0 ? WriteRound(iov, bytes) : absl::OkStatus();
          if (written.ok()) {
            needs_newline_ = false;
            events_written_.fetch_add(lines, std::memory_order_relaxed);
            bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
            if (syncing && unsynced_bytes == 0 && bytes > 0) first_unsynced = Clock::now();
            unsynced_bytes += bytes;
          } else {
            SetFailed(std::move(written));
          }
        }
        // Written (or discarded after a failure): free the slots for the next
        // lap and wake producers blocked on a full ring.
        for (uint64_t i = next; i < end; ++i) {
          slots_[i & mask_].state.store(2 * (i + capacity_), std::memory_order_seq_cst);
        }
        next = end;
        if (slot_waiters_.load(std::memory_order_seq_cst) > 0) {
          std::lock_guard<std::mutex> lock(mu_);
          space_cv_.notify_all();
        }
        if (!syncing && !failed_.load(std::memory_order_acquire)) {
          synced = next;
          PublishProgress(synced);
        }
      }

      // Sync by policy.
      if (syncing && synced < next && !failed_.load(std::memory_order_acquire)) {
        bool sync_now =
            options_.sync == SyncPolicy::kEvery ||
            sync_target_.load(std::memory_order_seq_cst) > synced ||
            unsynced_bytes >= options_.max_bytes ||
            Clock::now() - first_unsynced >= absl::ToChronoNanoseconds(options_.max_delay) ||
            stop_.load(std::memory_order_acquire);
        if (sync_now) {
          const uint64_t covered = next;
          int rc;
          do {
            rc = ::fdatasync(fd_.get());
          } while (rc != 0 && errno == EINTR);
          syncs_.fetch_add(1, std::memory_order_relaxed);
          if (rc != 0) {
            SetFailed(ErrnoError(errno, "failed to sync", path_));
          } else {
            synced = covered;
            unsynced_bytes = 0;
            PublishProgress(synced);
          }
        }
      }

      if (SlotPublished(next)) continue;

      // Idle: sleep until a producer publishes, someone asks for a sync, the
      // batch deadline passes, or we are told to stop.
      flusher_idle_.store(true, std::memory_order_seq_cst);
      if (SlotPublished(next) || WantsSync(synced, next)) {
        flusher_idle_.store(false, std::memory_order_relaxed);
        continue;
      }
      if (stop_.load(std::memory_order_seq_cst)) {
        flusher_idle_.store(false, std::memory_order_relaxed);
        break;
      }
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] {
          return SlotPublished(next) || WantsSync(synced, next) ||
                 stop_.load(std::memory_order_seq_cst);
        };
        if (syncing && synced < next && !failed_.load(std::memory_order_acquire)) {
          flusher_cv_.wait_until(
              lock, first_unsynced + absl::ToChronoNanoseconds(options_.max_delay), ready);
        } else {
          flusher_cv_.wait_for(lock, std::chrono::milliseconds(100), ready);
        }
      }
      flusher_idle_.store(false, std::memory_order_relaxed);
    }
  }

  bool SlotPublished(uint64_t index) const {
    return slots_[index & mask_].state.load(std::memory_order_seq_cst) == 2 * index + 1;
  }

  // A Flush() or kEvery call waits for written data that is not yet synced.
  bool WantsSync(uint64_t synced, uint64_t next) const {
    return options_.sync != SyncPolicy::kNone && synced < next &&
           sync_target_.load(std::memory_order_seq_cst) > synced &&
           !failed_.load(std::memory_order_seq_cst);
  }

  const std::string path_;
  const std::string run_id_;
  UniqueFd fd_;  // locked (flock LOCK_EX) for the recorder's lifetime
  const RecorderOptions options_;
  const uint64_t first_seq_;
  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;

  // Producer side.
  std::atomic<uint64_t> claim_{0};      // next index to claim | kClosedBit
  std::atomic<uint64_t> end_index_{0};  // run.finished's index + 1, once closed
  std::atomic<uint64_t> sync_target_{0};

  // Flusher side (file_size_, last_ts_ms_, needs_newline_ only touched by it).
  uint64_t file_size_;
  int64_t last_ts_ms_;
  bool needs_newline_;
  std::atomic<uint64_t> durable_count_{0};
  std::atomic<bool> flusher_idle_{false};
  std::atomic<bool> stop_{false};

  // Sleeping and the sticky error.
  mutable std::mutex mu_;
  std::condition_variable flusher_cv_;
  std::condition_variable space_cv_;
  std::condition_variable progress_cv_;
  std::atomic<int> slot_waiters_{0};
  std::atomic<int> progress_waiters_{0};
  std::atomic<bool> failed_{false};
  absl::Status failed_status_;  // guarded by mu_

  std::atomic<uint64_t> events_written_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> write_calls_{0};
  std::atomic<uint64_t> syncs_{0};

  std::thread flusher_;  // last: started after everything above exists
};

namespace {

absl::StatusOr<std::unique_ptr<TraceRecorder::Impl>> OpenImpl(
    const std::string& path, const RecorderOptions& options,
    std::optional<std::string_view> expected_run_id) {
  const absl::Duration timeout =
      options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
  absl::StatusOr<UniqueFd> fd = OpenAndLock(path, timeout);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<TailState> tail = ReadTailState(fd->get(), path);
  if (!tail.ok()) return tail.status();
  if (tail->last_kind == EventKind::kRunFinished) {
    return absl::FailedPreconditionError(
        Cat("cannot append after run.finished: ", path, " is closed (seq ", tail->last_seq, ")"));
  }
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

}  // namespace

TraceRecorder::TraceRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TraceRecorder::~TraceRecorder() = default;

absl::StatusOr<std::unique_ptr<TraceRecorder>> TraceRecorder::Start(const std::string& path,
                                                                    std::string_view run_id,
                                                                    bool force,
                                                                    RecorderOptions options) {
  std::string started;
  if (options.started_payload_json) {
    absl::StatusOr<std::string> canonical = CanonicalizeJson(*options.started_payload_json);
    if (!canonical.ok()) {
      return absl::InvalidArgumentError(
          Cat("invalid run.started payload: ", ToStd(canonical.status().message())));
    }
    started = std::move(*canonical);
  } else {
    started = DefaultStartedPayload();
  }
  const absl::Duration timeout =
      options.lock_timeout ? *options.lock_timeout : DefaultLockTimeout();
  // Replacing a trace another writer holds would leave it writing into an
  // unlinked file: take the old trace's lock first, and keep it until the new
  // one is in place.
  UniqueFd old_locked;
  if (force) {
    UniqueFd old(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (old.valid()) {
      struct stat st;
      if (::fstat(old.get(), &st) == 0 && S_ISREG(st.st_mode)) {
        absl::Status locked = LockExclusive(old.get(), path, timeout);
        if (!locked.ok()) return locked;
        old_locked = std::move(old);
      }
    }
  }
  WriteOptions write_options;
  write_options.sync = options.sync != SyncPolicy::kNone;
  write_options.lock_timeout = timeout;
  absl::StatusOr<AppendResult> created = InitTrace(path, run_id, started, force, write_options);
  if (!created.ok()) return created.status();
  absl::StatusOr<std::unique_ptr<Impl>> impl = OpenImpl(path, options, run_id);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<TraceRecorder>(new TraceRecorder(std::move(*impl)));
}

absl::StatusOr<std::unique_ptr<TraceRecorder>> TraceRecorder::Open(const std::string& path,
                                                                   RecorderOptions options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = OpenImpl(path, options, std::nullopt);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<TraceRecorder>(new TraceRecorder(std::move(*impl)));
}

absl::Status TraceRecorder::ModelCall(std::string_view provider, std::string_view model) {
  thread_local std::string payload;
  payload.clear();
  JsonObjectWriter w(&payload);
  w.String("model", model).String("provider", provider).Finish();
  return impl_->Submit(EventKind::kModelCall, payload, false).status();
}

absl::Status TraceRecorder::PermissionDecision(std::string_view capability,
                                               std::string_view decision) {
  thread_local std::string payload;
  payload.clear();
  JsonObjectWriter w(&payload);
  w.String("capability", capability).String("decision", decision).Finish();
  return impl_->Submit(EventKind::kPermissionDecision, payload, false).status();
}

absl::Status TraceRecorder::ToolCall(std::string_view tool, std::string_view command,
                                     const std::vector<std::string>& argv) {
  thread_local std::string payload;
  payload.clear();
  payload.append("{\"argv\":[");
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) payload.push_back(',');
    AppendJsonString(&payload, argv[i]);
  }
  payload.append("],\"command\":");
  AppendJsonString(&payload, command);
  payload.append(",\"tool\":");
  AppendJsonString(&payload, tool);
  payload.push_back('}');
  return impl_->Submit(EventKind::kToolCall, payload, false).status();
}

absl::Status TraceRecorder::ToolResult(std::string_view tool, std::string_view command,
                                       bool success, std::optional<int> exit_code,
                                       std::optional<uint64_t> duration_ms) {
  thread_local std::string payload;
  payload.clear();
  JsonObjectWriter w(&payload);
  w.String("command", command);
  if (duration_ms) {
    w.Uint("duration_ms", *duration_ms);
  } else {
    w.Null("duration_ms");
  }
  if (exit_code) {
    w.Int("exit_code", *exit_code);
  } else {
    w.Null("exit_code");
  }
  w.Bool("success", success).String("tool", tool).Finish();
  return impl_->Submit(EventKind::kToolResult, payload, false).status();
}

absl::Status TraceRecorder::Error(std::string_view message) {
  thread_local std::string payload;
  payload.clear();
  JsonObjectWriter w(&payload);
  w.String("message", message).Finish();
  return impl_->Submit(EventKind::kError, payload, false).status();
}

absl::StatusOr<uint64_t> TraceRecorder::Record(EventKind kind, std::string_view payload_json) {
  if (kind == EventKind::kRunStarted) {
    return absl::InvalidArgumentError(
        "run.started is written by TraceRecorder::Start; record another kind");
  }
  absl::StatusOr<std::string> canonical = CanonicalizeJson(payload_json);
  if (!canonical.ok()) {
    return absl::InvalidArgumentError(Cat("invalid JSON payload for ", EventKindName(kind), ": ",
                                          ToStd(canonical.status().message())));
  }
  if (kind == EventKind::kRunFinished) {
    absl::StatusOr<uint64_t> seq = impl_->Submit(kind, *canonical, true);
    if (!seq.ok()) return seq;
    absl::Status flushed = impl_->Flush();
    if (!flushed.ok()) return flushed;
    return seq;
  }
  return impl_->Submit(kind, *canonical, false);
}

absl::Status TraceRecorder::Flush() { return impl_->Flush(); }

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
