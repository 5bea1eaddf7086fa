// `traceframe stats` and `traceframe compare` on generated run sets with
// known outcomes (docs/compare.md).
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using testing::EventLine;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunCli;
using testing::TempDir;

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  testing::WriteFileOrDie(path, contents);
}

// One run of `task`: a shell call that fails when the run fails (error text
// `why`), a read call that always works, then run.finished.
std::string Trace(const std::string& run_id, const std::string& labels, bool success,
                  int64_t duration_ms, const std::string& why = "boom") {
  const std::string shell_result =
      success ? R"({"tool":"shell","success":true,"duration_ms":40})"
              : R"({"tool":"shell","success":false,"duration_ms":60,"stderr_preview":")" + why +
                    "\\nmore\"}";
  return EventLine(run_id, "e0", "run.started", 1000, 0, R"({"labels":)" + labels + "}") + "\n" +
         EventLine(run_id, "e1", "tool.call", 1001, 1, R"({"tool":"shell"})") + "\n" +
         EventLine(run_id, "e2", "tool.result", 1002, 2, shell_result) + "\n" +
         EventLine(run_id, "e3", "tool.call", 1003, 3, R"({"tool":"read"})") + "\n" +
         EventLine(run_id, "e4", "tool.result", 1013, 4, R"({"tool":"read","success":true})") +
         "\n" +
         EventLine(run_id, "e5", "run.finished", 1000 + duration_ms, 5,
                   success ? R"({"status":"success"})" : R"({"status":"failed"})") +
         "\n";
}

// 40 tasks: A fails tasks 0-9 (30 successes), B fails tasks 8-11 (36).
void FortyTasks(const TempDir& dir) {
  for (int t = 0; t < 40; ++t) {
    const std::string task = "t" + std::to_string(t);
    WriteFileOrDie(
        dir.File("a/" + task + ".traceframe"),
        Trace("a-" + task, R"({"variant":"a","task":")" + task + "\"}", t >= 10, 1000 + t));
    WriteFileOrDie(dir.File("b/" + task + ".traceframe"),
                   Trace("b-" + task, R"({"variant":"b","task":")" + task + "\"}", t < 8 || t >= 12,
                         900 + t, "<denied & gone>"));
  }
}

double Number(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  return root.at_pointer(pointer).get_double().value();
}

TEST(CliStatsTest, CompareDirectoriesJson) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli({"compare", "--baseline", "a", "--candidate", "b", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/baseline/runs"), 40);
  EXPECT_EQ(Number(r.out, "/baseline/successes"), 30);
  EXPECT_EQ(Number(r.out, "/candidate/successes"), 36);
  EXPECT_DOUBLE_EQ(Number(r.out, "/delta/success_rate"), 0.15);
  // Newcombe 36/40 - 30/40 (see statistics_test.cc for the oracle).
  EXPECT_NEAR(Number(r.out, "/delta/success_ci/0"), -0.0194895985, 1e-9);
  // Durations from the traces: A 1000..1039 ms, p50 rank 20, p95 rank 38.
  EXPECT_EQ(Number(r.out, "/baseline/duration_ms/p50"), 1019);
  EXPECT_EQ(Number(r.out, "/baseline/duration_ms/p95"), 1037);
  // Per tool: shell fails 10 of 40 on A, 4 of 40 on B; the largest change first.
  EXPECT_THAT(r.out, HasSubstr("\"tools\":[{\"tool\":\"shell\""));
  EXPECT_DOUBLE_EQ(Number(r.out, "/tools/0/baseline/failure_rate"), 0.25);
  EXPECT_DOUBLE_EQ(Number(r.out, "/tools/0/candidate/failure_rate"), 0.1);
  EXPECT_DOUBLE_EQ(Number(r.out, "/tools/0/baseline/calls_per_run"), 1);
  // Latency from the results' duration_ms: 30 x 40 ms and 10 x 60 ms.
  EXPECT_EQ(Number(r.out, "/tools/0/baseline/latency_ms/p50"), 40);
  EXPECT_EQ(Number(r.out, "/tools/0/baseline/latency_ms/p95"), 60);
  // read has no duration_ms: the call/result timestamps (10 ms apart).
  EXPECT_EQ(Number(r.out, "/tools/1/baseline/latency_ms/p50"), 10);
  EXPECT_THAT(r.out, HasSubstr("\"top_error\":\"boom\",\"top_error_count\":10"));
  EXPECT_THAT(r.out, HasSubstr("\"top_error\":\"<denied & gone>\",\"top_error_count\":4"));
  EXPECT_TRUE(std::filesystem::exists(dir.File("a/ledger.traceframe")));
}

TEST(CliStatsTest, CompareText) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli({"compare", "--baseline", "a", "--candidate", "b"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("A 75.0% [59.8, 85.8] (n=40)"));
  EXPECT_THAT(r.out, HasSubstr("B 90.0% [76.9, 96.0] (n=40)"));
  EXPECT_THAT(r.out, HasSubstr("success +15.0 pp [-1.9, +31.4]: not decisive"));
  EXPECT_THAT(r.out, HasSubstr("top error (10x): boom"));
}

TEST(CliStatsTest, FailIfExitCodes) {
  TempDir dir;
  FortyTasks(dir);
  auto compare = [&](const std::string& expr) {
    return RunCli({"compare", "--baseline", "a", "--candidate", "b", "--fail-if", expr},
                  dir.path());
  };
  CliResult r = compare("success.delta.ci_low < -0.01 || duration.p95.ratio > 1.2");
  EXPECT_EQ(r.exit_code, 1) << r.err;  // ci_low is -0.019
  EXPECT_THAT(r.err, HasSubstr("--fail-if is true"));
  r = compare("success.delta.ci_low < -0.05 || duration.p95.ratio > 1.2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = compare("success.delta.ci_low < ");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Error: bad --fail-if expression"));
  r = compare("success.delta.cilow < 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("success.delta.cilow"));
}

TEST(CliStatsTest, HtmlIsSelfContainedAndEscaped) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli(
      {"compare", "--baseline", "a", "--candidate", "b", "--html", "out/report.html"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = testing::ReadFileOrDie(dir.File("out/report.html"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("&lt;denied &amp; gone&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<denied")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
}

TEST(CliStatsTest, StatsOfADirectory) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli({"stats", "--dir", "a", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/groups/0/stats/runs"), 40);
  EXPECT_DOUBLE_EQ(Number(r.out, "/groups/0/stats/success_rate"), 0.75);
  EXPECT_NEAR(Number(r.out, "/groups/0/stats/success_ci/1"), 0.8581288136, 1e-9);
  r = RunCli({"stats", "--dir", "a"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("success    75.0% [59.8, 85.8] (n=40)"));
}

TEST(CliStatsTest, ErrorsAreClear) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli({"compare", "--baseline", "nonsense", "--candidate", "b"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: --baseline: selection 'nonsense'"));
  std::filesystem::create_directories(dir.File("empty"));
  r = RunCli({"compare", "--baseline", "empty", "--candidate", "b"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("selects no runs"));
  r = RunCli({"compare", "--baseline", "a", "--candidate", "b", "--prices", "missing.json"},
             dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.json"));
  r = RunCli({"stats", "--dir", "a", "--where", "novalue"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliStatsTest, CompareByLabelsPairedByTask) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r = RunCli({"compare", "--baseline", "variant=a", "--candidate", "variant=b", "--dir",
                        "a", "--dir", "b", "--pair-by", "task", "--json"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/baseline/runs"), 40);
  EXPECT_EQ(Number(r.out, "/paired/tasks"), 40);
  EXPECT_EQ(Number(r.out, "/paired/fixed"), 8);  // tasks 0-7
  EXPECT_EQ(Number(r.out, "/paired/broke"), 2);  // tasks 10, 11
  // Exact McNemar 8 vs 2: 2 * (1 + 10 + 45) / 1024.
  EXPECT_DOUBLE_EQ(Number(r.out, "/paired/mcnemar_p"), 0.109375);
  // Newcombe paired, cells (28, 2, 8, 2): statistics_test.cc's oracle.
  EXPECT_NEAR(Number(r.out, "/success/delta/ci_low"), -0.0026261177, 1e-9);
  EXPECT_THAT(r.out, HasSubstr("\"flipped\":[{\"task\":\"t10\",\"change\":\"broke\","
                               "\"baseline_runs\":[\"a-t10\"],\"candidate_runs\":[\"b-t10\"]},"
                               "{\"task\":\"t11\",\"change\":\"broke\""));
  r = RunCli(
      {"compare", "--baseline", "variant=a", "--candidate", "variant=b", "--dir", "a", "--dir", "b",
       "--pair-by", "task", "--fail-if", "paired.broke > 0 && paired.mcnemar_p < 0.05"},
      dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;  // p = 0.11: not significant
  EXPECT_THAT(r.out, HasSubstr("broke t10  A: a-t10  B: b-t10"));
}

TEST(CliStatsTest, StatsGroupByVariant) {
  TempDir dir;
  FortyTasks(dir);
  CliResult r =
      RunCli({"stats", "--dir", "a", "--dir", "b", "--group-by", "variant", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"group\":\"a\""));
  EXPECT_DOUBLE_EQ(Number(r.out, "/groups/0/stats/success_rate"), 0.75);
  EXPECT_DOUBLE_EQ(Number(r.out, "/groups/1/stats/success_rate"), 0.9);
  r = RunCli({"stats", "--dir", "a", "--dir", "b", "--where", "variant=b", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/groups/0/stats/runs"), 40);
  EXPECT_EQ(Number(r.out, "/groups/0/stats/successes"), 36);
}

TEST(CliStatsTest, TokensAndCostFromModelCalls) {
  TempDir dir;
  for (int i = 0; i < 2; ++i) {
    const std::string id = "u" + std::to_string(i);
    WriteFileOrDie(dir.File("runs/" + id + ".traceframe"),
                   EventLine(id, "e0", "run.started", 1000, 0, "{}") + "\n" +
                       EventLine(id, "e1", "model.call", 1001, 1,
                                 R"({"model":"m","usage":{"input_tokens":1000000,)"
                                 R"("cache_read_input_tokens":400000,"output_tokens":100000,)"
                                 R"("reasoning_output_tokens":50000}})") +
                       "\n" +
                       EventLine(id, "e2", "run.finished", 1002, 2,
                                 i == 0 ? R"({"status":"success"})" : R"({"status":"failed"})") +
                       "\n");
  }
  testing::WriteFileOrDie(dir.File("prices.json"),
                          R"({"models":{"m":{"input":3,"cached_input":0.3,"output":15}}})");
  CliResult r = RunCli({"stats", "--dir", "runs", "--prices", "prices.json", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/groups/0/stats/usage_per_run/input_tokens"), 1000000);
  EXPECT_EQ(Number(r.out, "/groups/0/stats/usage_per_run/cached_input_tokens"), 400000);
  EXPECT_EQ(Number(r.out, "/groups/0/stats/usage_per_run/reasoning_tokens"), 50000);
  // 0.6M uncached x $3 + 0.4M cached x $0.3 + 0.1M output x $15 per million.
  EXPECT_NEAR(Number(r.out, "/groups/0/stats/cost_per_run"), 3.42, 1e-9);
  EXPECT_NEAR(Number(r.out, "/groups/0/stats/cost_per_success"), 6.84, 1e-9);
  EXPECT_THAT(r.out, HasSubstr("\"models\":[\"m\"]"));
}

TEST(CliStatsTest, CompactionsPerRunFromImportedModelCalls) {
  TempDir dir;
  // Run c0 was compacted twice (import writes a compaction as a model.call
  // with operation "compaction"); c1 has a model call that mentions the word
  // in its text only, which is not a compaction.
  const std::string compaction = R"({"provider":"anthropic","operation":"compaction"})";
  WriteFileOrDie(dir.File("runs/c0.traceframe"),
                 EventLine("c0", "e0", "run.started", 1000, 0, "{}") + "\n" +
                     EventLine("c0", "e1", "model.call", 1001, 1, compaction) + "\n" +
                     EventLine("c0", "e2", "model.call", 1002, 2, compaction) + "\n" +
                     EventLine("c0", "e3", "run.finished", 1003, 3, R"({"status":"success"})") +
                     "\n");
  WriteFileOrDie(
      dir.File("runs/c1.traceframe"),
      EventLine("c1", "e0", "run.started", 1000, 0, "{}") + "\n" +
          EventLine("c1", "e1", "model.call", 1001, 1,
                    R"({"model":"m","note":"no compaction here"})") +
          "\n" + EventLine("c1", "e2", "run.finished", 1002, 2, R"({"status":"success"})") + "\n");
  CliResult r = RunCli({"stats", "--dir", "runs", "--json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Number(r.out, "/groups/0/stats/per_run/compactions"), 1.0);
  r = RunCli({"stats", "--dir", "runs"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("compactions 1"));
}

}  // namespace
}  // namespace traceframe
