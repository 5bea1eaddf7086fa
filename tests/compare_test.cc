// The report structures of `stats` / `compare` and the --fail-if language,
// on run sets built in memory with known outcomes.
#include "traceframe/compare.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "stats/run_set.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunFacts MakeRun(const std::string& id, const std::string& task, bool success, int64_t duration) {
  RunFacts r;
  r.run_id = id;
  r.trace_path = "/nonexistent/" + id + ".traceframe";
  r.status = success ? "success" : "failed";
  r.labels["task"] = task;
  r.duration_ms = duration;
  r.started_ms = 1'780'000'000'000;
  r.tool_calls = 4;
  r.tool_failures = success ? 0 : 1;
  r.model_calls = 3;
  return r;
}

// 40 tasks; A fails tasks 0-9 (30 successes), B fails tasks 8-11 (36):
// fixed = 0-7 (8), broke = 10, 11 (2), both fail = 8, 9, both pass = 28.
void FortyTasks(std::vector<RunFacts>* a, std::vector<RunFacts>* b) {
  for (int t = 0; t < 40; ++t) {
    const std::string task = "t" + std::to_string(t);
    a->push_back(MakeRun("a" + std::to_string(t), task, t >= 10, 1000 + t));
    b->push_back(MakeRun("b" + std::to_string(t), task, t < 8 || t >= 12, 900 + t));
  }
}

double Number(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  return root.at_pointer(pointer).get_double().value();
}

TEST(CompareReport, PairedFortyTasks) {
  std::vector<RunFacts> a, b;
  FortyTasks(&a, &b);
  CompareOptions options;
  options.pair_by = "task";
  options.tools = false;
  CompareReport report = BuildCompareReport(a, b, options);
  EXPECT_EQ(Number(report.json, "/baseline/runs"), 40);
  EXPECT_EQ(Number(report.json, "/baseline/successes"), 30);
  EXPECT_EQ(Number(report.json, "/candidate/successes"), 36);
  EXPECT_DOUBLE_EQ(Number(report.json, "/baseline/success_rate"), 0.75);
  EXPECT_DOUBLE_EQ(Number(report.json, "/delta/success_rate"), 0.15);
  EXPECT_EQ(Number(report.json, "/paired/tasks"), 40);
  EXPECT_EQ(Number(report.json, "/paired/fixed"), 8);
  EXPECT_EQ(Number(report.json, "/paired/broke"), 2);
  // Exact McNemar, 8 vs 2: 2 * (C(10,0)+C(10,1)+C(10,2)) / 2^10 = 112/1024.
  EXPECT_DOUBLE_EQ(Number(report.json, "/paired/mcnemar_p"), 0.109375);
  // Newcombe paired method 10 over cells (28, 2, 8, 2), from the Python
  // oracle in statistics_test.cc: -0.0026261177, 0.3023246362.
  EXPECT_NEAR(Number(report.json, "/delta/success_ci/0"), -0.0026261177, 1e-9);
  EXPECT_NEAR(Number(report.json, "/delta/success_ci/1"), 0.3023246362, 1e-9);
  EXPECT_NEAR(Number(report.json, "/success/delta/ci_low"), -0.0026261177, 1e-9);
  EXPECT_THAT(report.json, HasSubstr("\"success_ci_method\":\"newcombe-paired\""));
  EXPECT_THAT(report.text, HasSubstr("success +15.0 pp [-0.3, +30.2]: not decisive"));
  // Regressions first, with their run ids.
  EXPECT_THAT(report.json, HasSubstr("\"flipped\":[{\"task\":\"t10\",\"change\":\"broke\","
                                     "\"baseline_runs\":[\"a10\"],\"candidate_runs\":[\"b10\"]}"));
  const size_t broke = report.text.find("broke t11");
  const size_t fixed = report.text.find("fixed t0");
  ASSERT_NE(broke, std::string::npos);
  ASSERT_NE(fixed, std::string::npos);
  EXPECT_LT(broke, fixed);
  // Durations: A 1000..1039, nearest-rank p50 = rank 20 = 1019, p95 = rank 38 = 1037.
  EXPECT_EQ(Number(report.json, "/baseline/duration_ms/p50"), 1019);
  EXPECT_EQ(Number(report.json, "/baseline/duration_ms/p95"), 1037);
  EXPECT_EQ(Number(report.json, "/candidate/duration_ms/p95"), 937);
  EXPECT_NEAR(Number(report.json, "/duration/p95/ratio"), 937.0 / 1037.0, 1e-9);
  // Tool failures: A 10 of 160 calls, B 4 of 160.
  EXPECT_DOUBLE_EQ(Number(report.json, "/baseline/tool_failure_rate"), 10.0 / 160);
}

TEST(CompareReport, IndependentUsesNewcombe) {
  std::vector<RunFacts> a, b;
  FortyTasks(&a, &b);
  CompareOptions options;
  options.tools = false;
  CompareReport report = BuildCompareReport(a, b, options);
  // Newcombe (1998b) method 10, 36/40 - 30/40 (Python oracle).
  EXPECT_NEAR(Number(report.json, "/delta/success_ci/0"), -0.0194895985, 1e-9);
  EXPECT_NEAR(Number(report.json, "/delta/success_ci/1"), 0.3135123228, 1e-9);
  EXPECT_THAT(report.json, HasSubstr("\"paired\":null"));
}

TEST(CompareReport, RepeatedTrialsGivePassAtK) {
  // Task x: A 1 of 2, B 2 of 2; task y: A 0 of 2, B 1 of 2. k = 2.
  std::vector<RunFacts> a = {MakeRun("a1", "x", true, 1), MakeRun("a2", "x", false, 1),
                             MakeRun("a3", "y", false, 1), MakeRun("a4", "y", false, 1)};
  std::vector<RunFacts> b = {MakeRun("b1", "x", true, 1), MakeRun("b2", "x", true, 1),
                             MakeRun("b3", "y", true, 1), MakeRun("b4", "y", false, 1)};
  CompareOptions options;
  options.pair_by = "task";
  options.tools = false;
  CompareReport report = BuildCompareReport(a, b, options);
  // pass@2 with n = k = 2: 1 when any trial succeeded. A: (1 + 0)/2, B: (1 + 1)/2.
  EXPECT_DOUBLE_EQ(Number(report.json, "/paired/trials/baseline_pass_at_k"), 0.5);
  EXPECT_DOUBLE_EQ(Number(report.json, "/paired/trials/candidate_pass_at_k"), 1.0);
  // pass^2: all trials succeeded. A: 0, B: (1 + 0)/2.
  EXPECT_DOUBLE_EQ(Number(report.json, "/paired/trials/baseline_pass_hat_k"), 0.0);
  EXPECT_DOUBLE_EQ(Number(report.json, "/paired/trials/candidate_pass_hat_k"), 0.5);
  EXPECT_EQ(Number(report.json, "/paired/trials/k"), 2);
  // Several trials: the run-level interval is the independent one, with a note.
  EXPECT_THAT(report.json, HasSubstr("newcombe-independent"));
  EXPECT_THAT(report.json, HasSubstr("treats runs as independent"));
}

TEST(CompareReport, OneRunEachAndTooFewForP95) {
  std::vector<RunFacts> a = {MakeRun("a", "t", true, 5)};
  std::vector<RunFacts> b = {MakeRun("b", "t", true, 7)};
  CompareOptions options;
  options.tools = false;
  CompareReport report = BuildCompareReport(a, b, options);
  EXPECT_DOUBLE_EQ(Number(report.json, "/baseline/success_rate"), 1.0);
  EXPECT_NEAR(Number(report.json, "/baseline/success_ci/0"), 0.2065493144, 1e-9);
  EXPECT_THAT(report.json, HasSubstr("\"p95_too_few\":true"));
  EXPECT_THAT(report.text, HasSubstr("p95 is the slowest run"));
}

TEST(CompareReport, CostPerRunAndPerSuccess) {
  std::vector<RunFacts> a = {MakeRun("a1", "t", true, 1), MakeRun("a2", "u", false, 1)};
  for (RunFacts& r : a) {
    r.models = {"m"};
    r.usage = RunUsage{1'000'000, 400'000, 100'000, 50'000};
  }
  PriceTable prices;
  prices["m"] = ModelPrice{3.0, 0.3, 15.0};
  CompareOptions options;
  options.tools = false;
  options.prices = &prices;
  CompareReport report = BuildCompareReport(a, a, options);
  // Per run: 0.6M uncached * $3 + 0.4M cached * $0.3 + 0.1M out * $15 = 1.8 + 0.12 + 1.5.
  EXPECT_NEAR(Number(report.json, "/baseline/cost_per_run"), 3.42, 1e-9);
  EXPECT_NEAR(Number(report.json, "/baseline/cost_per_success"), 6.84, 1e-9);
  EXPECT_EQ(Number(report.json, "/baseline/usage_per_run/cached_input_tokens"), 400000);
}

TEST(CompareReport, HtmlEscapesEverything) {
  std::vector<RunFacts> a = {MakeRun("<script>alert(1)</script>", "<b>t</b>", true, 1)};
  std::vector<RunFacts> b = {MakeRun("b", "<b>t</b>", false, 1)};
  CompareOptions options;
  options.pair_by = "task";
  options.tools = false;
  CompareReport report = BuildCompareReport(a, b, options);
  EXPECT_THAT(report.html, Not(HasSubstr("<script")));
  EXPECT_THAT(report.html, Not(HasSubstr("<b>t")));
  EXPECT_THAT(report.html, HasSubstr("&lt;b&gt;t&lt;/b&gt;"));
}

TEST(ParseSelection, LabelsAndErrors) {
  absl::StatusOr<Selection> s = ParseSelection("variant=a,model=x");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, Selection::Kind::kLabels);
  ASSERT_EQ(s->labels.size(), 2u);
  EXPECT_EQ(s->labels[1].first, "model");
  EXPECT_EQ(s->labels[1].second, "x");
  EXPECT_FALSE(ParseSelection("variant").ok());
  EXPECT_FALSE(ParseSelection("=a").ok());
  EXPECT_FALSE(ParseSelection("").ok());
  EXPECT_EQ(ParseSelection("/").value().kind, Selection::Kind::kDirectory);
}

TEST(ParsePrices, ReadsModelsAndDefaultsCachedToInput) {
  absl::StatusOr<PriceTable> t = ParsePrices(
      R"({"models":{"a":{"input":3,"output":15},"b":{"input":1,"cached_input":0.1,"output":2}}})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->at("a").cached_input, 3);
  EXPECT_EQ(t->at("b").cached_input, 0.1);
  EXPECT_FALSE(ParsePrices(R"({"models":{"a":{"input":-1}}})").ok());
  EXPECT_FALSE(ParsePrices("[]").ok());
}

TEST(ReadToolFacts, ParallelPassMatchesOneThread) {
  testing::TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 64; ++i) {
    const std::string id = "r" + std::to_string(i);
    std::string text =
        testing::EventLine(id, "e0", "run.started", 1000, 0, "{}") + "\n" +
        testing::EventLine(id, "e1", "tool.call", 1000, 1, R"({"tool":"shell"})") + "\n" +
        testing::EventLine(id, "e2", "tool.call", 1001, 2, R"({"tool":"shell"})") + "\n" +
        testing::EventLine(id, "e3", "tool.result", 1000 + i, 3,
                           i % 4 == 0 ? R"({"tool":"shell","success":false,"error":"e"})"
                                      : R"({"tool":"shell","success":true})") +
        "\n" +
        testing::EventLine(id, "e4", "permission.decision", 1100, 4,
                           R"({"capability":"c","decision":"deny"})") +
        "\n";
    paths.push_back(dir.File(id + ".traceframe"));
    testing::WriteFileOrDie(paths.back(), text);
  }
  paths.push_back(dir.File("missing.traceframe"));
  std::vector<std::string> unreadable_one, unreadable_many;
  std::vector<RunToolFacts> one = ReadToolFacts(paths, 1, &unreadable_one);
  std::vector<RunToolFacts> many = ReadToolFacts(paths, 4, &unreadable_many);
  ASSERT_EQ(one.size(), many.size());
  EXPECT_EQ(unreadable_many, std::vector<std::string>{dir.File("missing.traceframe")});
  EXPECT_EQ(unreadable_one, unreadable_many);
  for (size_t i = 0; i + 1 < paths.size(); ++i) {
    const ToolFacts& a = one[i].tools.at("shell");
    const ToolFacts& b = many[i].tools.at("shell");
    EXPECT_EQ(a.calls, 2u);
    EXPECT_EQ(a.results, 1u);
    EXPECT_EQ(b.failures, i % 4 == 0 ? 1u : 0u);
    // The result pairs with the first call (FIFO): latency = ts difference.
    ASSERT_EQ(b.latencies_ms.size(), 1u);
    EXPECT_EQ(b.latencies_ms[0], static_cast<double>(i));
    EXPECT_EQ(a.latencies_ms, b.latencies_ms);
    EXPECT_EQ(a.errors, b.errors);
    EXPECT_EQ(many[i].denies, 1u);
  }
}

constexpr char kDoc[] =
    R"({"success":{"delta":{"ci_low":-0.08,"ci_high":0.1}},"duration":{"p95":{"ratio":1.3}},)"
    R"("paired":null,"tools":[{"failure_rate":0.25}],"flag":true,"name":"x"})";

bool Eval(const std::string& expr) {
  absl::StatusOr<bool> r = EvaluateFailIf(expr, kDoc);
  EXPECT_TRUE(r.ok()) << expr << ": " << r.status();
  return r.value_or(false);
}

TEST(FailIf, ComparisonsAndLogic) {
  EXPECT_TRUE(Eval("success.delta.ci_low < -0.05"));
  EXPECT_FALSE(Eval("success.delta.ci_low >= -0.05"));
  EXPECT_TRUE(Eval("success.delta.ci_low < -0.05 || duration.p95.ratio > 1.2"));
  EXPECT_FALSE(Eval("success.delta.ci_low < -0.1 || duration.p95.ratio > 1.5"));
  EXPECT_TRUE(Eval("success.delta.ci_low<-0.05&&duration.p95.ratio>1.2"));
  EXPECT_FALSE(Eval("success.delta.ci_low < -0.05 && duration.p95.ratio > 1.5"));
  EXPECT_TRUE(Eval("!(duration.p95.ratio <= 1.2)"));
  EXPECT_TRUE(Eval("1 < 2 && 2 == 2 && 3 != 2 && 1.3 == duration.p95.ratio"));
  EXPECT_TRUE(Eval("tools.0.failure_rate > 0.2"));
  EXPECT_TRUE(Eval("flag == 1"));
  EXPECT_TRUE(Eval("1e-3 < 0.01"));
  // && binds tighter than ||.
  EXPECT_TRUE(Eval("1 > 2 && 1 > 2 || 2 > 1"));
  EXPECT_FALSE(Eval("1 > 2 && (1 > 2 || 2 > 1)"));
}

TEST(FailIf, NullComparesFalse) {
  EXPECT_FALSE(Eval("paired < 1"));
  EXPECT_FALSE(Eval("paired > 1"));
  EXPECT_TRUE(Eval("paired == null"));
  EXPECT_FALSE(Eval("paired != null"));
}

TEST(FailIf, BadExpressionsAreInvalidArgument) {
  for (const char* bad : {"", "success.delta.ci_low <", "a < 1 ||", "(1 < 2", "1 < 2)",
                          "succes.delta.ci_low < 0", "name == 1", "success.delta < 1",
                          "tools.9.failure_rate > 0", "1 <> 2", "a..b < 1", "1 < 2 & 3 < 4"}) {
    absl::StatusOr<bool> r = EvaluateFailIf(bad, kDoc);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FailIf, TypoInShortCircuitedBranchIsStillAnError) {
  absl::StatusOr<bool> r = EvaluateFailIf("1 < 2 || nosuch.field > 0", kDoc);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("nosuch.field"));
}

}  // namespace
}  // namespace traceframe
