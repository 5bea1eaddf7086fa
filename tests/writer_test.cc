#include "traceframe/writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using ::traceframe::testing::AppendFileOrDie;
using ::traceframe::testing::EventLine;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(WriterTest, InitThenAppendCountsSeqFromTheTail) {
  TempDir dir;
  const std::string path = dir.File("runs/t.traceframe");  // parent dirs are created
  auto init = InitTrace(path, "run-1", DefaultStartedPayload(), false);
  ASSERT_TRUE(init.ok()) << init.status();
  auto a = AppendEvent(path, EventKind::kModelCall, "{\"model\":\"m\"}");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->seq, 1u);
  auto b = AppendEvents(path, {{EventKind::kPermissionDecision, "{\"decision\":\"allow\"}"},
                               {EventKind::kToolCall, "{\"tool\":\"shell\"}"}});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->events.size(), 2u);
  EXPECT_EQ(b->events[0].seq, 2u);
  EXPECT_EQ(b->events[1].seq, 3u);
  EXPECT_EQ(b->run_id, "run-1");
  const auto lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1].substr(0, 40), "{\"version\":1,\"run_id\":\"run-1\",\"event_id\"");
  EXPECT_NE(lines[0].find("\"created_by\":\"traceframe\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"status\":\"started\""), std::string::npos);
  EXPECT_NE(lines[3].find("\"payload\":{\"tool\":\"shell\"}}"), std::string::npos);
  VerifyOptions open;
  open.allow_open = true;
  EXPECT_TRUE(VerifyTrace(path, open)->valid);
}

TEST(WriterTest, InitRefusesAnExistingTraceUnlessForced) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "a", "{}", false).ok());
  auto again = InitTrace(path, "b", "{}", false);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(again.status()));
  EXPECT_NE(Msg(again.status()).find("trace already exists: " + path), std::string::npos);
  ASSERT_TRUE(InitTrace(path, "b", "{}", true).ok());
  EXPECT_NE(ReadFileOrDie(path).find("\"run_id\":\"b\""), std::string::npos);
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 1u);
  // A 0-byte file holds no evidence and is replaced without --force.
  WriteFileOrDie(path, "");
  EXPECT_TRUE(InitTrace(path, "c", "{}", false).ok());
  // A file of blank lines is not empty.
  WriteFileOrDie(path, "\n\n");
  EXPECT_FALSE(InitTrace(path, "d", "{}", false).ok());
  // No temp files are left behind.
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(WriterTest, RefusesAfterRunFinished) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "r", "{}", false).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kRunFinished, "{\"status\":\"success\"}").ok());
  const std::string before = ReadFileOrDie(path);
  auto a = AppendEvent(path, EventKind::kError, "{}");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(Msg(a.status()).find("cannot append after run.finished"), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(path), before);
}

TEST(WriterTest, RefusesToGlueOntoATornTail) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  const std::string good = EventLine("r", "e0", "run.started", 1, 0, "{}") + "\n";
  WriteFileOrDie(path, good + "{\"version\":1,\"run_id\":\"torn\",\"ev");
  auto a = AppendEvent(path, EventKind::kError, "{}");
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(a.status()));
  EXPECT_NE(Msg(a.status()).find("torn line at byte " + std::to_string(good.size())),
            std::string::npos)
      << a.status();
  EXPECT_NE(Msg(a.status()).find("traceframe repair"), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(path), good + "{\"version\":1,\"run_id\":\"torn\",\"ev");
}

TEST(WriterTest, AddsTheMissingNewlineBeforeTheNextEvent) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  const std::string first = EventLine("r", "e0", "run.started", 1, 0, "{}");
  WriteFileOrDie(path, first);  // complete, but no '\n'
  auto a = AppendEvent(path, EventKind::kModelCall, "{}");
  ASSERT_TRUE(a.ok()) << a.status();
  const auto lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], first);
  VerifyOptions open;
  open.allow_open = true;
  EXPECT_TRUE(VerifyTrace(path, open)->valid);
}

TEST(WriterTest, SkipsTrailingBlankLinesAndKeepsTheFirstRunId) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, EventLine("first", "e0", "run.started", 1, 0, "{}") + "\r\n" +
                           EventLine("first", "e1", "model.call", 1, 5, "{}") + "\r\n\n  \n");
  auto a = AppendEvents(path, {{EventKind::kError, "{}"}});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->events[0].seq, 6u);
  EXPECT_EQ(a->run_id, "first");
}

TEST(WriterTest, SeqAtTheMaximumIsAnErrorNotAWrap) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(
      path,
      EventLine("r", "e0", "run.started", 1, std::numeric_limits<uint64_t>::max(), "{}") + "\n");
  auto a = AppendEvent(path, EventKind::kError, "{}");
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(absl::IsOutOfRange(a.status()));
  EXPECT_NE(Msg(a.status()).find("u64 maximum"), std::string::npos);
}

TEST(WriterTest, EmptyAndMissingTraces) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  auto missing = AppendEvent(path, EventKind::kError, "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(Msg(missing.status()).find("failed to read trace file " + path), std::string::npos);
  EXPECT_FALSE(testing::FileExists(path));
  WriteFileOrDie(path, "\n\n");
  auto empty = AppendEvent(path, EventKind::kError, "{}");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(Msg(empty.status()).find("cannot append to empty trace"), std::string::npos);
  auto dir_path = AppendEvent(dir.path(), EventKind::kError, "{}");
  EXPECT_FALSE(dir_path.ok());
}

TEST(WriterConcurrentTest, ConcurrentCreatorsMakeExactlyOneRun) {
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    const std::string path = dir.File("s.traceframe");
    std::vector<std::thread> threads;
    std::atomic<int> created{0};
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        auto r = AppendEventsCreating(path, "run-s", "{}", {{EventKind::kToolCall, "{}"}});
        ASSERT_TRUE(r.ok()) << r.status();
        if (r->created) ++created;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 1);
    const auto lines = SplitLines(ReadFileOrDie(path));
    ASSERT_EQ(lines.size(), 17u);
    VerifyOptions opts;
    opts.allow_open = true;
    opts.strict = true;  // contiguous seq, one run.started, unique ids
    auto report = VerifyTrace(path, opts);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->valid) << DescribeIssue(report->errors.front());
  }
}

TEST(WriterTest, DefaultStartedPayloadRecordsCwdAndGit) {
  TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/repo").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir.path() + "/repo/.git").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir.path() + "/repo/.git/refs").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir.path() + "/repo/.git/refs/heads").c_str(), 0755), 0);
  WriteFileOrDie(dir.path() + "/repo/.git/HEAD", "ref: refs/heads/main\n");
  char old_cwd[4096];
  ASSERT_NE(getcwd(old_cwd, sizeof(old_cwd)), nullptr);
  ASSERT_EQ(chdir((dir.path() + "/repo").c_str()), 0);
  // No commits yet: only the repo name, like `git rev-parse` would give.
  std::string payload = DefaultStartedPayload();
  EXPECT_NE(payload.find("\"git\":{\"repo\":\"repo\"}"), std::string::npos) << payload;
  WriteFileOrDie(dir.path() + "/repo/.git/refs/heads/main",
                 "0123456789abcdef0123456789abcdef01234567\n");
  payload = DefaultStartedPayload();
  EXPECT_NE(payload.find("\"git\":{\"branch\":\"main\",\"commit\":\"0123456\",\"repo\":\"repo\"}"),
            std::string::npos)
      << payload;
  ASSERT_EQ(chdir(old_cwd), 0);
  EXPECT_EQ(payload.substr(0, 27), "{\"created_by\":\"traceframe\",");
  EXPECT_EQ(payload.substr(payload.size() - 20), ",\"status\":\"started\"}");
}

}  // namespace
}  // namespace traceframe
