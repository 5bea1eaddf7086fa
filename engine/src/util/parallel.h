// Internal: the engine's one way to spread independent items over threads
// (a rebuild's chunks, a directory's traces, an import's sessions).
//
// Each worker pulls the next item from a shared counter, so a slow item
// never holds up the others; the calling thread is one of the workers, so a
// single worker spawns no thread at all. Per-worker state (a simdjson parser)
// lives in the worker function:
//
//   WorkQueue queue(paths.size());
//   RunOnWorkers(WorkerCount(options.threads, paths.size()), [&] {
//     simdjson::dom::parser parser;
//     for (size_t i; queue.Next(&i);) out[i] = ReadOne(paths[i], parser);
//   });
//
// Thread-safe: WorkQueue::Next may be called from any number of threads.
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_PARALLEL_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace traceframe::internal {

// The number of workers for `items` independent items: `requested` when
// positive (an option's `threads`), else one per core; never more than the
// items, never less than one.
inline size_t WorkerCount(int requested, size_t items) {
  const size_t wanted = requested > 0 ? static_cast<size_t>(requested)
                                      : std::max(1u, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min(wanted, items));
}

// Hands out 0, 1, ..., n-1, each exactly once, to whichever thread asks.
class WorkQueue {
 public:
  explicit WorkQueue(size_t n) : n_(n) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Sets *item to the next one; false when all have been handed out.
  bool Next(size_t* item) {
    const size_t k = next_.fetch_add(1, std::memory_order_relaxed);
    if (k >= n_) return false;
    *item = k;
    return true;
  }

 private:
  const size_t n_;
  std::atomic<size_t> next_{0};
};

// Runs `work()` on `workers` threads, the caller's included, and returns when
// every call has returned.
template <typename Work>
void RunOnWorkers(size_t workers, const Work& work) {
  std::vector<std::thread> pool;
  pool.reserve(workers > 0 ? workers - 1 : 0);
  for (size_t t = 1; t < workers; ++t) pool.emplace_back([&work] { work(); });
  work();
  for (std::thread& thread : pool) thread.join();
}

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_PARALLEL_H_
