#include "traceframe/verify.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/summary.h"

namespace traceframe {
namespace {

using ::traceframe::testing::EventLine;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

VerifyReport Verify(const std::string& contents, VerifyOptions options = {}) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, contents);
  auto report = VerifyTrace(path, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return *report;
}

std::string FirstError(const VerifyReport& r) {
  return r.errors.empty() ? "" : r.errors.front().message;
}

const std::string kStarted =
    EventLine("r", "e0", "run.started", 100, 0, "{\"status\":\"started\"}");

TEST(VerifyTest, ClosedTraceIsValid) {  // reference T3
  VerifyReport r =
      Verify(Lines({kStarted,
                    EventLine("r", "e1", "permission.decision", 110, 1,
                              "{\"capability\":\"x\",\"decision\":\"allow\"}"),
                    EventLine("r", "e2", "run.finished", 120, 2, "{\"status\":\"success\"}")}));
  EXPECT_TRUE(r.valid) << FirstError(r);
  EXPECT_FALSE(r.open);
  EXPECT_EQ(r.events, 3u);
  EXPECT_EQ(r.run_id, "r");
}

TEST(VerifyTest, FirstEventMustBeRunStarted) {  // T4
  VerifyReport r = Verify(Lines({EventLine("r", "e1", "model.call", 1, 1, "{}")}));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstError(r), "first event must be run.started");
}

TEST(VerifyTest, SeqMustIncrease) {  // T5
  VerifyReport r = Verify(Lines({kStarted, EventLine("r", "e1", "model.call", 1, 2, "{}"),
                                 EventLine("r", "e2", "model.call", 1, 1, "{}")}),
                          {.allow_open = true});
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(FirstError(r), "seq must increase strictly at seq 1");
  EXPECT_EQ(r.errors.front().line_number, 3u);
}

TEST(VerifyTest, OpenTraceNeedsAllowOpen) {  // T6, T7
  const std::string open = Lines({kStarted});
  VerifyReport strict = Verify(open);
  EXPECT_FALSE(strict.valid);
  EXPECT_EQ(FirstError(strict), "last event must be run.finished");
  VerifyReport allowed = Verify(open, {.allow_open = true});
  EXPECT_TRUE(allowed.valid);
  EXPECT_TRUE(allowed.open);
}

TEST(VerifyTest, RunFinishedMustBeLast) {  // T8
  VerifyReport r = Verify(
      Lines({kStarted, EventLine("r", "e1", "run.finished", 1, 1, "{\"status\":\"success\"}"),
             EventLine("r", "e2", "model.call", 1, 2, "{}")}),
      {.allow_open = true});
  EXPECT_EQ(FirstError(r), "run.finished must be last");
  EXPECT_EQ(r.errors.front().line_number, 2u);
}

TEST(VerifyTest, ReferenceChecksInOrder) {
  EXPECT_EQ(FirstError(Verify(Lines({kStarted,
                                     "{\"version\":2,\"run_id\":\"r\",\"event_id\":\"x\","
                                     "\"kind\":\"error\",\"ts_ms\":1,\"seq\":1,\"payload\":{}}"}),
                              {.allow_open = true})),
            "unsupported event version 2 at seq 1");
  EXPECT_EQ(FirstError(Verify(Lines({kStarted, EventLine("other", "e1", "error", 1, 1, "{}")}),
                              {.allow_open = true})),
            "mixed run_id at seq 1");
  EXPECT_EQ(FirstError(Verify(Lines({kStarted, EventLine("r", "  ", "error", 1, 1, "{}")}),
                              {.allow_open = true})),
            "empty event_id at seq 1");
  EXPECT_EQ(FirstError(Verify("")), "trace is empty");
  EXPECT_EQ(FirstError(Verify("\n  \n\n")), "trace is empty");
}

TEST(VerifyTest, InvalidLineIsReportedWithLineAndByte) {  // V1
  const std::string first = Lines({kStarted});
  VerifyReport r = Verify(first + "\n{bad}\n", {.allow_open = true});
  ASSERT_FALSE(r.valid);
  EXPECT_EQ(VerifyIssueCodeName(r.errors.front().code), "invalid_event");
  EXPECT_EQ(r.errors.front().line_number, 3u);
  EXPECT_EQ(r.errors.front().byte_offset, first.size() + 1);
  // A bad line is reported before invariant failures that come earlier.
  VerifyReport both = Verify(Lines({EventLine("r", "e1", "model.call", 1, 1, "{}"), "{bad}"}));
  EXPECT_EQ(VerifyIssueCodeName(both.errors.front().code), "invalid_event");
}

TEST(VerifyTest, AcceptsCrlfBlankLinesAndBom) {
  const std::string crlf = "\xEF\xBB\xBF" + kStarted + "\r\n\r\n   \n" +
                           EventLine("r", "e1", "run.finished", 101, 1, "{\"status\":\"ok\"}") +
                           "\r\n";
  VerifyReport r = Verify(crlf);
  EXPECT_TRUE(r.valid) << FirstError(r);
  EXPECT_EQ(r.events, 2u);
}

TEST(VerifyTest, InvalidUtf8AndNulBytesAreLocatedErrors) {
  const std::string first = Lines({kStarted});
  VerifyReport utf8 =
      Verify(first + EventLine("r", "e1", "error", 1, 1, "{\"m\":\"\xFF\xFE\"}") + "\n",
             {.allow_open = true});
  ASSERT_FALSE(utf8.valid);
  EXPECT_EQ(utf8.errors.front().line_number, 2u);
  EXPECT_NE(utf8.errors.front().message.find("invalid UTF-8"), std::string::npos);
  VerifyReport nul = Verify(first + std::string("{\"a\0\":1}\n", 10), {.allow_open = true});
  ASSERT_FALSE(nul.valid);
  EXPECT_EQ(nul.errors.front().byte_offset, first.size());
}

TEST(VerifyTest, HugePayloadAndDeepNesting) {
  const std::string big = "{\"out\":\"" + std::string(50 << 20, 'y') + "\"}";
  VerifyReport r = Verify(Lines({kStarted, EventLine("r", "e1", "tool.result", 1, 1, big)}),
                          {.allow_open = true});
  EXPECT_TRUE(r.valid);
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  VerifyReport d =
      Verify(Lines({kStarted, EventLine("r", "e1", "error", 1, 1, deep)}), {.allow_open = true});
  ASSERT_FALSE(d.valid);
  EXPECT_NE(d.errors.front().message.find("nesting"), std::string::npos);
}

TEST(VerifyTest, TornTailFailsWithItsOffset) {
  const std::string good = Lines({kStarted});
  VerifyReport r = Verify(good + "{\"version\":1,\"run_id\":\"torn\",\"ev", {.allow_open = true});
  ASSERT_FALSE(r.valid);
  ASSERT_TRUE(r.torn_tail.has_value());
  EXPECT_EQ(r.torn_tail->offset, good.size());
  EXPECT_EQ(VerifyIssueCodeName(r.errors.front().code), "torn_tail");
  EXPECT_NE(r.errors.front().message.find("traceframe repair"), std::string::npos);
  EXPECT_EQ(r.events, 1u);
}

TEST(VerifyTest, CompleteLastLineWithoutNewlineIsValid) {
  VerifyReport r = Verify(kStarted, {.allow_open = true});
  EXPECT_TRUE(r.valid) << FirstError(r);
  EXPECT_FALSE(r.torn_tail.has_value());
}

TEST(VerifyTest, WarningsBecomeFailuresUnderStrict) {
  const std::string trace = Lines({kStarted, EventLine("r", "e1", "model.call", 90, 3, "{}"),
                                   EventLine("r", "e1", "run.started", 95, 4, "{}"),
                                   EventLine("r", "e3", "run.finished", 99, 5, "{}")});
  VerifyReport lenient = Verify(trace);
  EXPECT_TRUE(lenient.valid) << FirstError(lenient);
  std::vector<std::string> codes;
  for (const auto& w : lenient.warnings) codes.push_back(std::string(VerifyIssueCodeName(w.code)));
  EXPECT_EQ(codes, (std::vector<std::string>{"seq_gap", "ts_backwards", "second_run_started",
                                             "duplicate_event_id", "finished_without_status"}));
  VerifyReport strict = Verify(trace, {.strict = true});
  EXPECT_FALSE(strict.valid);
  EXPECT_EQ(VerifyIssueCodeName(strict.errors.front().code), "seq_gap");
}

// Builds a random trace, sometimes damaged, for the parallel/sequential check.
std::string RandomTrace(std::mt19937& rng) {
  std::vector<std::string> lines;
  const int n = 1 + static_cast<int>(rng() % 60);
  uint64_t seq = 0;
  for (int i = 0; i < n; ++i) {
    std::string kind = i == 0 ? "run.started" : "model.call";
    if (i == n - 1 && rng() % 2) kind = "run.finished";
    if (rng() % 40 == 0) kind = "run.finished";
    std::string run = rng() % 50 == 0 ? "other" : "r";
    std::string id = "e" + std::to_string(rng() % 50 == 0 ? 0 : i);
    seq += rng() % 30 == 0 ? 0 : 1 + (rng() % 20 == 0);
    int64_t ts = 100 + i - (rng() % 25 == 0 ? 10 : 0);
    std::string line =
        EventLine(run, id, kind, ts, seq, "{\"status\":\"ok\",\"i\":" + std::to_string(i) + "}");
    if (rng() % 60 == 0) line = "{garbage";
    lines.push_back(line);
    if (rng() % 15 == 0) lines.push_back("");
  }
  std::string out = Lines(lines);
  if (rng() % 5 == 0) out += "{\"version\":1,\"run_i";
  return out;
}

TEST(VerifyParallelTest, ParallelVerdictEqualsSequential) {
  std::mt19937 rng(12345);
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  for (int round = 0; round < 300; ++round) {
    const std::string trace = RandomTrace(rng);
    WriteFileOrDie(path, trace);
    for (bool allow_open : {false, true}) {
      for (bool strict : {false, true}) {
        VerifyOptions seq_opts{.allow_open = allow_open, .strict = strict, .threads = 1};
        VerifyOptions par_opts = seq_opts;
        par_opts.threads = 2;
        par_opts.min_chunk_bytes = 1 + rng() % 200;
        VerifyReport a = *VerifyTrace(path, seq_opts);
        VerifyReport b = *VerifyTrace(path, par_opts);
        ASSERT_EQ(a.valid, b.valid) << trace;
        ASSERT_EQ(a.events, b.events);
        ASSERT_EQ(a.lines, b.lines);
        ASSERT_EQ(a.open, b.open);
        ASSERT_EQ(a.run_id, b.run_id);
        ASSERT_EQ(a.torn_tail.has_value(), b.torn_tail.has_value());
        if (!a.valid) {
          ASSERT_EQ(a.errors.front().message, b.errors.front().message) << trace;
          ASSERT_EQ(a.errors.front().line_number, b.errors.front().line_number) << trace;
          ASSERT_EQ(a.errors.front().byte_offset, b.errors.front().byte_offset) << trace;
        }
        ASSERT_EQ(a.warning_count, b.warning_count) << trace;
      }
    }
  }
}

TEST(VerifyTest, MissingFileIsAnError) {
  auto r = VerifyTrace("/nonexistent/t.traceframe", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("failed to read trace file"), std::string::npos);
}

}  // namespace
}  // namespace traceframe
