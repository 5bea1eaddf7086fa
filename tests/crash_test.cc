// Crash consistency and faults of process appends (docs/format.md, "Appending" and "Durability"):
// - a CLI append loop SIGKILLed at random moments 200 times: the trace always
//   verifies open (or `repair` makes it so), every acknowledged event is
//   present exactly once, and nothing is glued onto a torn tail;
// - a torn write: appends refuse naming the byte offset, repair fixes it;
// - a full disk (RLIMIT_FSIZE): the append fails clearly, no partial line;
// - 64 processes appending while a reader verifies and summarizes in a loop.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/trace_reader.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using testing::CliPath;
using testing::CliResult;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::RunCli;
using testing::TempDir;

// The `n` of every {"n":N,...} payload in the trace, with how often it occurs.
// Fails the test if the readable part of the trace holds an invalid line.
std::map<long long, int> PayloadNumbers(const std::string& path, uint64_t* events) {
  std::map<long long, int> seen;
  auto reader = TraceReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return seen;
  *events = 0;
  TraceReader::ScanResult scan = (*reader)->ScanAll([&](const EventView& e) {
    ++*events;
    const std::string payload(RawPayload(e.line));
    long long n = 0;
    if (std::sscanf(payload.c_str(), "{\"n\":%lld", &n) == 1) ++seen[n];
    return true;
  });
  EXPECT_FALSE(scan.error) << DescribeLineError(*scan.error);
  return seen;
}

// Runs `traceframe record` in a loop, numbering payloads from `first`; after
// each record that exits 0 the number is written to `ack_fd`. Never returns.
[[noreturn]] void AppendLoop(const std::string& trace, long long first, int ack_fd) {
  const std::string bin = CliPath();
  for (long long n = first;; ++n) {
    // Payloads of a few sizes, some larger than a pipe buffer or a page.
    std::string payload = "{\"n\":" + std::to_string(n) + ",\"text\":\"" +
                          std::string(static_cast<size_t>(n % 7 == 0 ? 9000 : n % 50), 'x') + "\"}";
    const pid_t pid = ::fork();
    if (pid == 0) {
      const char* argv[] = {bin.c_str(), "record",    "--file",        trace.c_str(), "--kind",
                            "tool.call", "--payload", payload.c_str(), nullptr};
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execv(bin.c_str(), const_cast<char* const*>(argv));
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      if (::write(ack_fd, &n, sizeof(n)) != sizeof(n)) ::_exit(3);
    }
  }
}

TEST(CrashTest, KilledAppenderNeverLosesAnAcknowledgedEvent) {
  TempDir dir;
  const std::string trace = dir.File("t.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", trace, "--run-id", "crash"}).exit_code, 0);
  // Kill within a few `record` durations (sanitizer builds start slowly):
  // most rounds then die mid-loop, some before the first append completes.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(RunCli({"record", "--file", trace, "--kind", "tool.call", "--payload",
                      "{\"n\":-" + std::to_string(i) + "}"})
                  .exit_code,
              0);
  }
  const auto one_record = (std::chrono::steady_clock::now() - t0) / 3;
  const int64_t max_delay_us = std::max<int64_t>(
      20000, 2 * std::chrono::duration_cast<std::chrono::microseconds>(one_record).count());
  std::mt19937 rng(20240601);
  std::set<long long> acked;
  long long next = 0;
  int repairs = 0;
  // The killed loop's `record` child is re-parented to us, so that we can
  // wait until it is really gone before looking at the trace.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  for (int round = 0; round < 200; ++round) {
    int ack[2];
    ASSERT_EQ(::pipe2(ack, O_CLOEXEC), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::setpgid(0, 0);
      ::close(ack[0]);
      AppendLoop(trace, next, ack[1]);
    }
    ::setpgid(child, child);
    ::close(ack[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % max_delay_us));
    ::kill(-child, SIGKILL);  // the loop and the `record` it is running
    ::kill(child, SIGKILL);
    int status = 0;
    while (::waitpid(-child, &status, 0) > 0 || errno == EINTR) {
    }
    long long n;
    while (::read(ack[0], &n, sizeof(n)) == sizeof(n)) {
      acked.insert(n);
      next = std::max(next, n + 1);
    }
    ::close(ack[0]);
    CliResult verify = RunCli({"verify", "--file", trace, "--allow-open", "--json"});
    if (verify.exit_code != 0) {
      // Only a torn tail is acceptable, and repair must fix it.
      ASSERT_THAT(verify.out, HasSubstr("\"code\":\"torn_tail\"")) << verify.out;
      CliResult repair = RunCli({"repair", "--file", trace});
      ASSERT_EQ(repair.exit_code, 0) << repair.err;
      ++repairs;
      verify = RunCli({"verify", "--file", trace, "--allow-open"});
      ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    }
    // Numbers written but not acknowledged (killed before the ack) are fine;
    // start the next round past them so every number is unique.
    uint64_t events = 0;
    const std::map<long long, int> seen = PayloadNumbers(trace, &events);
    if (!seen.empty()) next = std::max(next, seen.rbegin()->first + 1);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  uint64_t events = 0;
  const std::map<long long, int> seen = PayloadNumbers(trace, &events);
  for (long long n : acked) {
    auto it = seen.find(n);
    ASSERT_TRUE(it != seen.end()) << "acknowledged event " << n << " is missing";
  }
  for (const auto& [n, count] : seen) EXPECT_EQ(count, 1) << "event " << n << " duplicated";
  EXPECT_EQ(events, seen.size() + 1);  // + run.started
  EXPECT_GT(acked.size(), 20u) << "the loop barely ran; the test proves little";
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
  RecordProperty("repairs", repairs);
  ASSERT_EQ(RunCli({"finish", "--file", trace}).exit_code, 0);
  EXPECT_EQ(RunCli({"verify", "--file", trace}).exit_code, 0);
}

TEST(CrashTest, TornWriteRefusesAppendUntilRepaired) {
  TempDir dir;
  const std::string trace = dir.File("t.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", trace, "--run-id", "torn"}).exit_code, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(RunCli({"record", "--file", trace, "--kind", "model.call", "--payload",
                      "{\"i\":" + std::to_string(i) + "}"})
                  .exit_code,
              0);
  }
  const std::string good = ReadFileOrDie(trace);
  // A write cut short: half of the next line, no newline.
  const std::string line =
      testing::EventLine("torn", "e-x", "tool.call", 1700000000000, 4, "{\"cmd\":\"make\"}");
  testing::AppendFileOrDie(trace, line.substr(0, line.size() / 2));
  const std::string offset = std::to_string(good.size());

  CliResult append = RunCli({"record", "--file", trace, "--kind", "tool.call", "--payload", "{}"});
  EXPECT_EQ(append.exit_code, 1);
  EXPECT_THAT(append.err, HasSubstr("byte " + offset));
  EXPECT_THAT(append.err, HasSubstr("traceframe repair"));
  EXPECT_EQ(ReadFileOrDie(trace), good + line.substr(0, line.size() / 2)) << "nothing glued";

  CliResult verify = RunCli({"verify", "--file", trace, "--allow-open", "--json"});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.out, HasSubstr("\"torn_tail\":{\"offset\":" + offset));

  CliResult repair = RunCli({"repair", "--file", trace});
  ASSERT_EQ(repair.exit_code, 0) << repair.err;
  EXPECT_EQ(ReadFileOrDie(trace), good);
  EXPECT_EQ(RunCli({"verify", "--file", trace, "--allow-open"}).exit_code, 0);
  ASSERT_EQ(RunCli({"record", "--file", trace, "--kind", "tool.call", "--payload", "{}"}).exit_code,
            0);
  ASSERT_EQ(RunCli({"finish", "--file", trace}).exit_code, 0);
  EXPECT_EQ(RunCli({"verify", "--file", trace}).exit_code, 0);
}

// Runs `traceframe record` with the file size limited to `limit` bytes, as a
// full disk would. The CLI ignores SIGXFSZ itself, so write(2) fails with
// EFBIG instead of the signal killing it.
CliResult RecordWithFileSizeLimit(const std::string& trace, const std::string& payload,
                                  rlim_t limit) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    struct rlimit rl = {limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &rl);
    ::signal(SIGXFSZ, SIG_DFL);
    ::dup2(err_pipe[1], 2);
    const std::string bin = CliPath();
    const char* argv[] = {bin.c_str(),   "record",    "--file",        trace.c_str(), "--kind",
                          "tool.result", "--payload", payload.c_str(), nullptr};
    ::execv(bin.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  CliResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(err_pipe[0], buf, sizeof(buf))) > 0) result.err.append(buf, n);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TEST(CrashTest, FullDiskFailsClearlyAndLeavesTheTraceValid) {
  TempDir dir;
  const std::string trace = dir.File("t.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", trace, "--run-id", "full"}).exit_code, 0);
  ASSERT_EQ(RunCli({"record", "--file", trace, "--kind", "tool.call", "--payload", "{}"}).exit_code,
            0);
  const std::string before = ReadFileOrDie(trace);
  // Room for a few hundred bytes: the 64 KB payload is cut mid-line.
  const std::string big = "{\"output\":\"" + std::string(65536, 'y') + "\"}";
  CliResult full = RecordWithFileSizeLimit(trace, big, before.size() + 300);
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_THAT(full.err, HasSubstr("Error: failed to append to"));
  EXPECT_THAT(full.err, HasSubstr(trace));
  // The real reason, also when the write was first cut short.
  EXPECT_THAT(full.err, HasSubstr(std::strerror(EFBIG)));
  EXPECT_EQ(ReadFileOrDie(trace), before) << "a partial line was left behind";
  // No room at all.
  full = RecordWithFileSizeLimit(trace, "{}", before.size());
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_THAT(full.err, HasSubstr("Error: failed to append to"));
  EXPECT_EQ(ReadFileOrDie(trace), before);
  EXPECT_EQ(RunCli({"verify", "--file", trace, "--allow-open"}).exit_code, 0);
  // Space again: appends work.
  ASSERT_EQ(
      RunCli({"record", "--file", trace, "--kind", "tool.result", "--payload", big}).exit_code, 0);
  ASSERT_EQ(RunCli({"finish", "--file", trace}).exit_code, 0);
  EXPECT_EQ(RunCli({"verify", "--file", trace}).exit_code, 0);
}

TEST(CrashTest, ConcurrentAppendersWithReaders) {
  constexpr int kWriters = 64;
  constexpr int kPerWriter = 8;
  TempDir dir;
  const std::string trace = dir.File("t.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", trace, "--run-id", "many"}).exit_code, 0);
  const std::string script =
      "i=0; while [ $i -lt " + std::to_string(kPerWriter) +
      " ]; do \"$0\" record --file \"$1\" --kind tool.call --payload "
      "\"{\\\"n\\\":$(( $2 * 1000 + i ))}\" >/dev/null || exit 1; i=$((i+1)); done";
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // 64 processes queue for one lock, slowly under sanitizers: this test
      // is about what lands in the trace, not about lock wait times.
      ::setenv("TRACEFRAME_LOCK_TIMEOUT_MS", "300000", 1);
      const std::string bin = CliPath(), id = std::to_string(w);
      ::execl("/bin/sh", "sh", "-c", script.c_str(), bin.c_str(), trace.c_str(), id.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    writers.push_back(pid);
  }
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::string> failures;
  std::thread reader([&] {
    while (!done.load()) {
      CliResult verify = RunCli({"verify", "--file", trace, "--allow-open"});
      if (verify.exit_code != 0) failures.push_back("verify: " + verify.out + verify.err);
      CliResult summary = RunCli({"summary", "--file", trace});
      if (summary.exit_code != 0) failures.push_back("summary: " + summary.out + summary.err);
      ++reads;
    }
  });
  int failed_writers = 0;
  for (pid_t pid : writers) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed_writers;
  }
  done = true;
  reader.join();
  EXPECT_EQ(failed_writers, 0);
  EXPECT_TRUE(failures.empty()) << failures.size() << " bad reads, first: " << failures.front();
  EXPECT_GT(reads.load(), 0);
  uint64_t events = 0;
  const std::map<long long, int> seen = PayloadNumbers(trace, &events);
  EXPECT_EQ(events, 1u + kWriters * kPerWriter);
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      auto it = seen.find(w * 1000 + i);
      EXPECT_TRUE(it != seen.end() && it->second == 1) << "writer " << w << " event " << i;
    }
  }
  ASSERT_EQ(RunCli({"finish", "--file", trace}).exit_code, 0);
  VerifyOptions options;
  options.strict = true;
  auto report = VerifyTrace(trace, options);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->valid);
  EXPECT_EQ(report->events, 2u + kWriters * kPerWriter);
}

}  // namespace
}  // namespace traceframe
