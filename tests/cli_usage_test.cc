// The CLI side of token usage, deviations and labels: record, summary,
// init/run/hook --label, ledger export --jsonl (docs/format.md, docs/ledger.md).
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::traceframe::testing::CliResult;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CliUsageTest, RecordUsageAndDeviationsThenSummarize) {
  TempDir dir;
  ASSERT_EQ(RunCli({"init", "--file", "t.traceframe", "--run-id", "r1", "--label", "variant=b",
                    "--label", "task=t1"},
                   dir.path())
                .exit_code,
            0);
  CliResult r = RunCli({"record", "--file", "t.traceframe", "--kind", "model.call", "--payload",
                        "{\"provider\":\"anthropic\",\"model\":\"claude-x\",\"usage\":{"
                        "\"input_tokens\":100,\"output_tokens\":20,\"cache_read_input_tokens\":60,"
                        "\"cache_creation_input_tokens\":10,\"reasoning_output_tokens\":5}}"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(RunCli({"record", "--file", "t.traceframe", "--kind", "agent.guess", "--payload",
                    "{\"assumption\":\"a\",\"why\":\"b\",\"prevention\":\"c\"}"},
                   dir.path())
                .exit_code,
            0);
  ASSERT_EQ(RunCli({"record", "--file", "t.traceframe", "--kind", "plan.deviation", "--payload",
                    "{\"plan\":\"p\",\"deviation\":\"d\",\"why\":\"w\"}"},
                   dir.path())
                .exit_code,
            0);
  // A usage that breaks the convention is refused, and nothing is written.
  const std::string before = ReadFileOrDie(dir.File("t.traceframe"));
  r = RunCli({"record", "--file", "t.traceframe", "--kind", "model.call", "--payload",
              "{\"usage\":{\"input_tokens\":-1}}"},
             dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Has(r.err,
                  "Error: invalid model.call payload: `usage.input_tokens` must be a "
                  "non-negative integer"))
      << r.err;
  EXPECT_EQ(ReadFileOrDie(dir.File("t.traceframe")), before);
  ASSERT_EQ(RunCli({"finish", "--file", "t.traceframe"}, dir.path()).exit_code, 0);

  r = RunCli({"verify", "--file", "t.traceframe", "--strict"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"summary", "--file", "t.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Has(r.out,
                  "errors: 0\ndeviations: 2\ntokens: 100 in (60 cache read, 10 cache "
                  "write), 20 out (5 reasoning)\nduration: "))
      << r.out;
  r = RunCli({"summary", "--file", "t.traceframe", "--json"}, dir.path());
  EXPECT_TRUE(Has(r.out,
                  "\"usage\":{\"input_tokens\":100,\"output_tokens\":20,"
                  "\"cache_read_input_tokens\":60,\"cache_creation_input_tokens\":10,"
                  "\"reasoning_output_tokens\":5},\"deviations\":2,\"models\":[\"claude-x\"],"
                  "\"source\":\"\",\"labels\":{\"task\":\"t1\",\"variant\":\"b\"}"))
      << r.out;
  // inspect shows the kinds; render gives deviations their own accent and
  // a tokens card.
  r = RunCli({"inspect", "--file", "t.traceframe"}, dir.path());
  EXPECT_TRUE(Has(r.out, "agent.guess")) << r.out;
  EXPECT_TRUE(Has(r.out, "plan.deviation"));
  r = RunCli({"render", "--file", "t.traceframe", "--html", "page.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string page = ReadFileOrDie(dir.File("page.html"));
  EXPECT_TRUE(Has(page, "<li class=\"event ev-dev k-dev\""));
  EXPECT_TRUE(Has(page, "<label for=\"f-dev\">deviations</label>"));  // a filter for them
  EXPECT_TRUE(Has(page, "<span class=\"badge dev\">agent.guess</span>"));
  EXPECT_TRUE(Has(page, ".ev-dev{--accent:var(--dev)}"));
  EXPECT_TRUE(Has(page, "<span class=\"lbl\">deviations</span>"));
  EXPECT_TRUE(Has(page, "<span class=\"lbl\">input tokens</span>"));
}

TEST(CliUsageTest, BadLabelsAreUsageErrors) {
  TempDir dir;
  for (const char* bad : {"novalue", "=v"}) {
    CliResult r =
        RunCli({"init", "--file", "t.traceframe", "--run-id", "r", "--label", bad}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(Has(r.err, "--label")) << r.err;
    r = RunCli({"run", "--file", "u.traceframe", "--label", bad, "--", "true"}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << bad;
  }
  EXPECT_FALSE(testing::FileExists(dir.File("t.traceframe")));
  EXPECT_FALSE(testing::FileExists(dir.File("u.traceframe")));
  // hook ingest never exits 2 (hosts read 2 as "block"): a bad label is 1.
  CliResult r = RunCli({"hook", "ingest", "--dir", "runs", "--label", "oops"}, dir.path(), "{}");
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliUsageTest, LabelsOnRunAndHooks) {
  TempDir dir;
  CliResult r = RunCli({"run", "--file", "run.traceframe", "--label", "variant=a", "--label",
                        "task=t2", "--", "true"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string first = SplitLines(ReadFileOrDie(dir.File("run.traceframe")))[0];
  EXPECT_TRUE(Has(first, "\"labels\":{\"task\":\"t2\",\"variant\":\"a\"}")) << first;
  // The trailing command was not taken for a label.
  EXPECT_TRUE(Has(ReadFileOrDie(dir.File("run.traceframe")), "\"command\":\"true\""));

  r = RunCli({"hook", "install", "--host", "claude-code", "--print", "--label", "variant=b c"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "--label 'variant=b c'")) << r.out;

  r = RunCli({"hook", "ingest", "--dir", "runs", "--run-id", "h1", "--label", "variant=b"},
             dir.path(),
             "{\"session_id\":\"s1\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
             "\"tool_input\":{\"command\":\"ls\"}}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string hook_first = SplitLines(ReadFileOrDie(dir.File("runs/h1.traceframe")))[0];
  EXPECT_TRUE(Has(hook_first, "\"labels\":{\"variant\":\"b\"}")) << hook_first;
}

TEST(CliUsageTest, LedgerCarriesTheNewFieldsAndExportsJsonl) {
  TempDir dir;
  ASSERT_EQ(
      RunCli({"init", "--file", "runs/a.traceframe", "--run-id", "a", "--label", "v=1"}, dir.path())
          .exit_code,
      0);
  ASSERT_EQ(RunCli({"record", "--file", "runs/a.traceframe", "--kind", "model.call", "--payload",
                    "{\"model\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":2}}"},
                   dir.path())
                .exit_code,
            0);
  ASSERT_EQ(RunCli({"finish", "--file", "runs/a.traceframe"}, dir.path()).exit_code, 0);
  ASSERT_EQ(RunCli({"init", "--file", "runs/b.traceframe", "--run-id", "b"}, dir.path()).exit_code,
            0);
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "ledger.jsonl"}, dir.path()).exit_code,
      0);
  CliResult r = RunCli({"ledger", "export", "--jsonl", "--file", "ledger.jsonl"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(Has(lines[0], "{\"version\":1,\"run_id\":\"a\",\"trace_path\":")) << lines[0];
  EXPECT_TRUE(Has(lines[0],
                  "\"torn_tail\":false,\"usage\":{\"input_tokens\":9,\"output_tokens\":2,"
                  "\"cache_read_input_tokens\":0,\"cache_creation_input_tokens\":0,"
                  "\"reasoning_output_tokens\":0},\"deviations\":0,\"models\":[\"m\"],"
                  "\"source\":\"\",\"labels\":{\"v\":\"1\"}}"))
      << lines[0];
  EXPECT_TRUE(Has(lines[1], "\"run_id\":\"b\""));
  EXPECT_TRUE(Has(lines[1], "\"usage\":{\"input_tokens\":0,"));
  r = RunCli({"ledger", "export", "--jsonl", "--file", "ledger.jsonl", "--status", "open"},
             dir.path());
  ASSERT_EQ(SplitLines(r.out).size(), 1u);
  r = RunCli({"ledger", "export", "--file", "ledger.jsonl"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "pass --jsonl (only supported export format)")) << r.err;
  // ledger show: tokens and labels only for the run that has them.
  r = RunCli({"ledger", "show", "--file", "ledger.jsonl", "--run-id", "a"}, dir.path());
  EXPECT_TRUE(Has(r.out, "tokens: 9 in (0 cache read, 0 cache write), 2 out (0 reasoning)\n"));
  EXPECT_TRUE(Has(r.out, "labels: v=1\n"));
  r = RunCli({"ledger", "show", "--file", "ledger.jsonl", "--run-id", "b"}, dir.path());
  EXPECT_FALSE(Has(r.out, "tokens:"));
  EXPECT_FALSE(Has(r.out, "labels:"));
}

}  // namespace
}  // namespace traceframe
