// `traceframe render` (reference §2.9, §8, §10 RD1, V4, LC8).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using testing::EventLine;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFileOrDie;
using testing::RunCli;
using testing::TempDir;
using testing::WriteFileOrDie;

const std::string kImportData = std::string(TRACEFRAME_SOURCE_DIR) + "/tests/data/import";

std::string RichTrace() {
  const std::string r = "run-render";
  return EventLine(r, "e0", "run.started", 1000, 0, R"({"status":"started"})") + "\n" +
         EventLine(r, "e1", "tool.call", 1010, 1, R"({"tool":"shell","command":"cargo test"})") +
         "\n" +
         EventLine(r, "e2", "tool.result", 2510, 2,
                   R"({"tool":"shell","command":"cargo test","success":false,"exit_code":1,)"
                   R"("duration_ms":1500})") +
         "\n" +
         EventLine(
             r, "e3", "permission.decision", 2520, 3,
             R"({"capability":"git.push:main","decision":"deny","reason":"denied by policy"})") +
         "\n" + EventLine(r, "e4", "error", 2530, 4, R"({"message":"push blocked"})") + "\n" +
         EventLine(r, "e5", "run.finished", 2540, 5, R"({"status":"failed"})") + "\n";
}

TEST(CliRenderTest, RichTrace) {  // RD1
  TempDir dir;
  WriteFileOrDie(dir.File("rich.traceframe"), RichTrace());
  CliResult r =
      RunCli({"render", "--file", "rich.traceframe", "--html", "report.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("traceframe render"));
  EXPECT_THAT(r.out, HasSubstr("html        report.html"));
  EXPECT_THAT(r.out, HasSubstr("events      6"));
  const std::string html = ReadFileOrDie(dir.File("report.html"));
  for (const char* needle :
       {"traceframe report", "run-render", "Timeline", "cargo test", "exit 1", "1.50 s", "deny",
        "denied by policy", "push blocked", "ev-bad", "tool failures"}) {
    EXPECT_THAT(html, HasSubstr(needle)) << needle;
  }
  r = RunCli({"summary", "--file", "rich.traceframe"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("status: failed"));
  EXPECT_THAT(r.out, HasSubstr("tool_failures: 1"));
  EXPECT_THAT(r.out, HasSubstr("duration:"));
}

TEST(CliRenderTest, OpenTraceRendersIntoANewDirectory) {  // V4
  TempDir dir;
  WriteFileOrDie(dir.File("open.traceframe"),
                 EventLine("run-open", "e0", "run.started", 1000, 0, "{}") + "\n");
  CliResult r = RunCli({"render", "--file", "open.traceframe", "--html", "reports/deep/open.html"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFileOrDie(dir.File("reports/deep/open.html"));
  EXPECT_THAT(html, HasSubstr("run-open"));
  EXPECT_THAT(html, HasSubstr(">open</span>"));
}

TEST(CliRenderTest, ErrorsNameTheFile) {
  TempDir dir;
  CliResult r = RunCli({"render", "--file", "missing.traceframe", "--html", "x.html"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_THAT(r.err, HasSubstr("missing.traceframe"));
  EXPECT_FALSE(testing::FileExists(dir.File("x.html")));

  WriteFileOrDie(dir.File("bad.traceframe"), "{bad}\n");
  r = RunCli({"render", "--file", "bad.traceframe", "--html", "x.html"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("invalid trace event"));

  WriteFileOrDie(dir.File("t.traceframe"), RichTrace());
  r = RunCli({"render", "--file", "t.traceframe", "--html", "t.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refusing"));
  EXPECT_EQ(ReadFileOrDie(dir.File("t.traceframe")), RichTrace());

  r = RunCli({"render", "--file", "t.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);  // --html is required
}

TEST(CliRenderTest, HostileRunIdStaysText) {
  TempDir dir;
  const std::string evil = "<img src=x onerror=alert(1)>";
  WriteFileOrDie(dir.File("evil.traceframe"),
                 EventLine(evil, "e0", "run.started", 1000, 0, "{}") + "\n" +
                     EventLine(evil, "e1", "tool.call", 1001, 1,
                               "{\"tool\":\"shell\",\"command\":\"" + evil + "\"}") +
                     "\n");
  CliResult r = RunCli({"render", "--file", "evil.traceframe", "--html", "evil.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFileOrDie(dir.File("evil.html"));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
}

// An imported Claude Code session (usage on model.call payloads): the report
// has the usage section with a row for the session's model, the policy
// verdict, and the session's host context.
TEST(CliRenderTest, ImportedSessionShowsUsageVerdictAndHost) {
  TempDir dir;
  CliResult r = RunCli(
      {"import", "--input", kImportData + "/claude/0daf8cb5-f685-486f-a3f7-90858e84289f.jsonl",
       "--file", "s.traceframe"},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"summary", "--file", "s.traceframe", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_THAT(r.out, HasSubstr("\"models\":[\""));  // the fixture names its model
  r = RunCli({"render", "--file", "s.traceframe", "--html", "s.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFileOrDie(dir.File("s.html"));
  EXPECT_THAT(html, HasSubstr("<h2>Token usage</h2>"));
  EXPECT_THAT(html, HasSubstr("<th class=\"n\">median latency</th>"));
  EXPECT_THAT(html, HasSubstr("<h2>Policy check</h2>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"k\">tokens</span>"));  // on each model call
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

// What policy-check says is what the report says.
TEST(CliRenderTest, VerdictMatchesPolicyCheck) {
  TempDir dir;
  WriteFileOrDie(dir.File("rich.traceframe"), RichTrace());
  CliResult check = RunCli({"policy-check", "--file", "rich.traceframe"}, dir.path());
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.out + check.err, HasSubstr("1 violation(s)"));
  CliResult r = RunCli({"render", "--file", "rich.traceframe", "--html", "r.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = ReadFileOrDie(dir.File("r.html"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge lg bad\">1 violation(s)</span>"));
  EXPECT_THAT(html, HasSubstr("unresolved deny at seq 3: capability git.push:main"));
}

}  // namespace
}  // namespace traceframe
