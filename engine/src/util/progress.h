// Internal: feeding a caller's progress callback from a scan that may run on
// several threads.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_PROGRESS_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_PROGRESS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace traceframe::internal {

// Scans call Add() every kStep bytes or so; the cost is one branch per event.
inline constexpr uint64_t kProgressStep = 4ull << 20;

// Sums the work done by any number of threads and calls `fn(done, total)`,
// one call at a time (a worker that finds another one reporting skips its
// report: the next one carries its bytes). The callback is the options'
// (VerifyOptions::progress, ...); an empty one makes this a no-op.
class ProgressMeter {
 public:
  using Fn = std::function<void(uint64_t done, uint64_t total)>;
  ProgressMeter(const Fn& fn, uint64_t total) : fn_(fn), total_(total) {}
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  bool active() const { return static_cast<bool>(fn_); }

  void Add(uint64_t units) {
    if (!fn_ || units == 0) return;
    const uint64_t done = done_.fetch_add(units, std::memory_order_relaxed) + units;
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    // The last report (done == total) must not be skipped.
    if (!lock.owns_lock() && done < total_) return;
    if (!lock.owns_lock()) lock.lock();
    fn_(std::min(done_.load(std::memory_order_relaxed), total_), total_);
  }

 private:
  const Fn& fn_;
  const uint64_t total_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
};

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_PROGRESS_H_
