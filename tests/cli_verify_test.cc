// CLI tests for verify's human output: the verdict first, the real cause of a
// crashed trace as the headline, advice for open traces, cut lists counted.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::traceframe::testing::AppendFileOrDie;
using ::traceframe::testing::CliResult;
using ::traceframe::testing::EventLine;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

class CliVerifyTest : public ::testing::Test {
 protected:
  CliResult Run(const std::vector<std::string>& args) { return RunCli(args, dir_.path()); }
  std::string Trace() const { return dir_.File("t.traceframe"); }
  // run.started then `n` tool.calls, not finished.
  void WriteOpenTrace(int n) {
    std::string text = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
    for (int i = 1; i <= n; ++i) {
      text += EventLine("r", "e" + std::to_string(i), "tool.call", 1000 + i, i, "{}") + "\n";
    }
    WriteFileOrDie(Trace(), text);
  }
  TempDir dir_;
};

TEST_F(CliVerifyTest, ATornTailIsTheHeadlineAndRepairIsTheAdvice) {
  WriteOpenTrace(2);
  AppendFileOrDie(Trace(), "{\"version\":1,\"run_id\":\"r\",\"ev");
  CliResult r = Run({"verify", "--file", "t.traceframe"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_GE(lines.size(), 3u) << r.err;
  // The cause first, then what to do, then the consequence.
  EXPECT_THAT(lines[0], StartsWith("Error: t.traceframe ends in a torn write: 29 bytes at byte "));
  EXPECT_EQ(lines[1],
            "  fix: traceframe repair --file t.traceframe  (moves the torn bytes aside; every "
            "complete event is kept)");
  EXPECT_THAT(lines[2], HasSubstr("also: last event must be run.finished (line 3"));
  // The JSON keeps its fields and adds the primary finding.
  CliResult json = Run({"verify", "--file", "t.traceframe", "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"error\":{\"line\":3"));
  EXPECT_THAT(json.out, HasSubstr("\"primary\":{\"line\":4,"));
  EXPECT_THAT(json.out, HasSubstr("\"code\":\"torn_tail\""));
  EXPECT_THAT(json.out, HasSubstr("\"writer_active\":false}"));
}

TEST_F(CliVerifyTest, AnOpenTraceNobodyWritesSaysFinishOrAllowOpen) {
  WriteOpenTrace(1);
  CliResult r = Run({"verify", "--file", "t.traceframe"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_EQ(lines[0],
            "Error: last event must be run.finished (line 2, byte " +
                std::to_string(EventLine("r", "e0", "run.started", 1000, 0, "{}").size() + 1) +
                ") in t.traceframe");
  EXPECT_THAT(lines[1], HasSubstr("never finished"));
  EXPECT_THAT(lines[1], HasSubstr("traceframe finish --file t.traceframe"));
  EXPECT_THAT(lines[1], HasSubstr("--allow-open"));
}

TEST_F(CliVerifyTest, AnOpenTraceWithALiveWriterSaysItIsStillBeingRecorded) {
  WriteOpenTrace(1);
  // A writer (a TraceRecorder, `record --stream`) holds the exclusive lock
  // for as long as it records.
  const int fd = ::open(Trace().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  CliResult r = Run({"verify", "--file", "t.traceframe"});
  CliResult json = Run({"verify", "--file", "t.traceframe", "--json"});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("a writer is still recording it"));
  EXPECT_THAT(r.err, HasSubstr("--allow-open"));
  EXPECT_THAT(r.err, Not(HasSubstr("never finished")));
  EXPECT_THAT(json.out, HasSubstr("\"writer_active\":true"));
}

TEST_F(CliVerifyTest, ACutListSaysHowManyMoreAndTheHeadlineComesFirst) {
  // Five events whose seq goes backwards: four errors after the first line.
  std::string text = EventLine("r", "e0", "run.started", 1000, 10, "{}") + "\n";
  for (int i = 1; i <= 5; ++i) {
    text += EventLine("r", "e" + std::to_string(i), "tool.call", 1000 + i, 10 - i, "{}") + "\n";
  }
  text += EventLine("r", "e9", "run.finished", 1009, 20, "{\"status\":\"success\"}") + "\n";
  WriteFileOrDie(Trace(), text);
  CliResult r = Run({"verify", "--file", "t.traceframe", "--max-errors", "2"});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_GE(lines.size(), 3u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("Error: seq must increase strictly"));
  EXPECT_THAT(lines[1], StartsWith("  also: seq must increase strictly"));
  EXPECT_EQ(lines[2], "  ... 3 more errors (raise --max-errors to list them)");
}

TEST_F(CliVerifyTest, AValidTracePrintsItsVerdictBeforeItsWarnings) {
  std::string text = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
  for (int i = 1; i <= 3; ++i) {
    text += EventLine("r", "e" + std::to_string(i), "tool.call", 1000 + i, 2 * i, "{}") + "\n";
  }
  text += EventLine("r", "e9", "run.finished", 1009, 9, "{\"status\":\"success\"}") + "\n";
  WriteFileOrDie(Trace(), text);
  CliResult r = Run({"verify", "--file", "t.traceframe", "--max-errors", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("traceframe verify\n"));
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("warning: seq gap"));
  EXPECT_EQ(lines[1], "warning: ... 3 more warnings (raise --max-errors to list them)");
}

}  // namespace
}  // namespace traceframe
