#include "traceframe/summary.h"

#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::traceframe::testing::EventLine;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

TEST(HumanDurationTest, MatchesTheEarlierToolAndFixesItsQuirks) {
  EXPECT_EQ(HumanDuration(0), "0 ms");
  EXPECT_EQ(HumanDuration(-95), "-95 ms");
  EXPECT_EQ(HumanDuration(999), "999 ms");
  EXPECT_EQ(HumanDuration(1000), "1.00 s");
  EXPECT_EQ(HumanDuration(1125), "1.12 s");  // printf rounding, as the reference
  EXPECT_EQ(HumanDuration(1375), "1.38 s");
  EXPECT_EQ(HumanDuration(1500), "1.50 s");
  EXPECT_EQ(HumanDuration(59994), "59.99 s");
  EXPECT_EQ(HumanDuration(59999), "1m 0s");  // the reference printed "60.00 s"
  EXPECT_EQ(HumanDuration(60000), "1m 0s");
  EXPECT_EQ(HumanDuration(125000), "2m 5s");
  EXPECT_EQ(HumanDuration(3600000), "1h 0m 0s");  // the reference printed "60m 0s"
  EXPECT_EQ(HumanDuration(3725000), "1h 2m 5s");
}

TEST(SummaryTest, ReferenceExampleTrace) {
  // examples/agent-run.traceframe as reference §1.6 describes it (keys unsorted).
  const std::string trace =
      EventLine("run-agent-demo", "demo-000", "run.started", 1000, 0,
                "{\"created_by\":\"traceframe\",\"status\":\"started\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-001", "model.call", 1010, 1,
                "{\"provider\":\"openai\",\"model\":\"gpt-5.5\",\"purpose\":\"plan file edit\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-002", "permission.decision", 1020, 2,
                "{\"source\":\"policy\",\"capability\":\"fs.write:README.md\",\"decision\":"
                "\"allow\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-003", "tool.call", 1030, 3,
                "{\"tool\":\"shell\",\"command\":\"cargo test\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-004", "tool.result", 1080, 4,
                "{\"exit_code\":101,\"stderr\":\"one test failed\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-005", "permission.decision", 1090, 5,
                "{\"source\":\"policy\",\"capability\":\"git.push:main\",\"decision\":\"deny\","
                "\"reason\":\"public side effect blocked\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-006", "error", 1100, 6,
                "{\"message\":\"verification failed before publish\"}") +
      "\n" +
      EventLine("run-agent-demo", "demo-007", "run.finished", 1110, 7, "{\"status\":\"failed\"}") +
      "\n";
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), trace);
  auto summary = SummarizeTrace(dir.File("a.traceframe"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  // tool_failures is 1: exit_code 101 without a success flag is a failure
  // (the earlier tool said 0; reference §11.28).
  EXPECT_EQ(FormatSummaryText(*summary),
            "run_id: run-agent-demo\n"
            "status: failed\n"
            "events: 8\n"
            "model_calls: 1\n"
            "tool_calls: 1\n"
            "tool_results: 1\n"
            "tool_failures: 1\n"
            "permission_decisions: 2\n"
            "errors: 1\n"
            "duration: 110 ms\n"
            "duration_ms: 110\n");
}

TEST(SummaryTest, OpenTraceAndTornTail) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path,
                 EventLine("run-open", "e0", "run.started", 5, 0, "{}") + "\n" +
                     EventLine("run-open", "e1", "tool.result", 1505, 1, "{\"success\":false}") +
                     "\n{\"version\":1,\"ru");
  auto summary = SummarizeTrace(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->status, "open");
  EXPECT_EQ(summary->tool_failures, 1u);
  ASSERT_TRUE(summary->torn_tail.has_value());
  const std::string text = FormatSummaryText(*summary);
  EXPECT_NE(text.find("duration: 1.50 s\n"), std::string::npos);
  EXPECT_NE(text.find("torn_tail: 16 bytes at byte"), std::string::npos);
  const std::string json = FormatSummaryJson(*summary);
  EXPECT_NE(json.find("\"status\":\"open\""), std::string::npos);
  EXPECT_NE(json.find("\"finished_ms\":null"), std::string::npos);
}

TEST(SummaryTest, InvalidTraceIsAnErrorNamingTheLine) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, EventLine("r", "e0", "run.started", 5, 0, "{}") + "\n" +
                           EventLine("r", "e1", "run.finished", 6, 1, "{\"status\":\"x\"}") + "\n" +
                           EventLine("r", "e2", "error", 7, 2, "{}") + "\n");
  auto summary = SummarizeTrace(path);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(std::string(summary.status().message()).find("run.finished must be last (line 2"),
            std::string::npos)
      << summary.status();
  WriteFileOrDie(path, "");
  EXPECT_FALSE(SummarizeTrace(path).ok());
}

TEST(SummaryTest, FinishedWithoutStatusIsNotShownAsOpen) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, EventLine("r", "e0", "run.started", 5, 0, "{}") + "\n" +
                           EventLine("r", "e1", "run.finished", 6, 1, "{}") + "\n");
  auto summary = SummarizeTrace(path);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status, "finished");
  EXPECT_TRUE(summary->finished);
}

}  // namespace
}  // namespace traceframe
