// util/parallel.h: the engine's one worker pool (index rebuilds, verify,
// ledger rebuilds, compare's per-tool pass). Also run under TSan (the name
// holds "Parallel").
#include "util/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace traceframe::internal {
namespace {

TEST(ParallelWorkers, EveryItemIsHandedOutExactlyOnce) {
  constexpr size_t kItems = 10000;
  std::vector<std::atomic<int>> seen(kItems);
  std::mutex mu;
  std::set<std::thread::id> threads;
  WorkQueue queue(kItems);
  RunOnWorkers(4, [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    for (size_t i; queue.Next(&i);) seen[i].fetch_add(1);
  });
  for (size_t i = 0; i < kItems; ++i) ASSERT_EQ(seen[i].load(), 1) << i;
  EXPECT_EQ(threads.size(), 4u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 1u) << "the caller is one of the workers";
  size_t more;
  EXPECT_FALSE(queue.Next(&more));
}

TEST(ParallelWorkers, OneWorkerIsTheCallerAlone) {
  std::vector<std::thread::id> ran_on;
  WorkQueue queue(3);
  RunOnWorkers(1, [&] {
    for (size_t i; queue.Next(&i);) ran_on.push_back(std::this_thread::get_id());
  });
  ASSERT_EQ(ran_on.size(), 3u);
  for (const std::thread::id& id : ran_on) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST(ParallelWorkers, WorkerCountIsBoundedByTheItems) {
  EXPECT_EQ(WorkerCount(8, 3), 3u);
  EXPECT_EQ(WorkerCount(2, 100), 2u);
  EXPECT_EQ(WorkerCount(4, 0), 1u);
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(WorkerCount(0, 1000000), cores);
  EXPECT_EQ(WorkerCount(-1, 1), 1u);
}

}  // namespace
}  // namespace traceframe::internal
