// Token usage, deviations, labels and models: the event model's additions
// (docs/format.md, "Token usage", "Deviations", "Labels"), read the same way
// by the full scan and by the sidecar index (format version 2).
#include "traceframe/usage.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/index.h"
#include "traceframe/labels.h"
#include "traceframe/ledger.h"
#include "traceframe/recorder.h"
#include "traceframe/summary.h"
#include "traceframe/verify.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace {

using ::traceframe::testing::EventLine;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

constexpr char kUsageA[] =
    "{\"input_tokens\":100,\"output_tokens\":20,\"cache_read_input_tokens\":60,"
    "\"cache_creation_input_tokens\":10,\"reasoning_output_tokens\":5}";

// The summary of `path` with the index on (written, then read back) and off.
struct BothWays {
  TraceSummary indexed;
  TraceSummary scanned;
};
BothWays SummarizeBothWays(const std::string& path) {
  BothWays out;
  ::setenv("TRACEFRAME_INDEX", "off", 1);
  absl::StatusOr<TraceSummary> scanned = SummarizeTrace(path);
  ::unsetenv("TRACEFRAME_INDEX");
  EXPECT_TRUE(scanned.ok()) << scanned.status();
  (void)SummarizeTrace(path);  // writes the index
  absl::StatusOr<TraceIndex> index = LoadIndex(path);
  EXPECT_TRUE(index.ok()) << index.status();
  absl::StatusOr<TraceSummary> indexed = SummarizeTrace(path);
  EXPECT_TRUE(indexed.ok()) << indexed.status();
  if (scanned.ok()) out.scanned = *scanned;
  if (indexed.ok()) out.indexed = *indexed;
  return out;
}

std::string Trace(const std::string& finished_payload) {
  return EventLine("r", "e0", "run.started", 1000, 0,
                   "{\"source\":\"claude-code\",\"labels\":{\"variant\":\"b\",\"task\":\"t7\"}}") +
         "\n" +
         EventLine("r", "e1", "model.call", 1001, 1,
                   std::string("{\"model\":\"claude-x\",\"usage\":") + kUsageA + "}") +
         "\n" +
         EventLine("r", "e2", "model.call", 1002, 2,
                   "{\"model\":\"gpt-5\",\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}") +
         "\n" + EventLine("r", "e3", "agent.guess", 1003, 3, "{\"assumption\":\"a\"}") + "\n" +
         EventLine("r", "e4", "model.call", 1004, 4, "{\"model\":\"claude-x\"}") + "\n" +
         EventLine("r", "e5", "run.finished", 1005, 5, finished_payload) + "\n";
}

TEST(UsageTest, ParseUsageJsonKeepsTheConvention) {
  absl::StatusOr<TokenUsage> u = ParseUsageJson(kUsageA);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->input_tokens, 100u);
  EXPECT_EQ(u->output_tokens, 20u);
  EXPECT_EQ(u->cache_read_input_tokens, 60u);
  EXPECT_EQ(u->cache_creation_input_tokens, 10u);
  EXPECT_EQ(u->reasoning_output_tokens, 5u);
  EXPECT_EQ(UsageJson(*u), kUsageA);
  // Absent fields are 0, extra host counters are ignored.
  u = ParseUsageJson("{\"output_tokens\":3,\"service_tier\":\"x\"}");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->output_tokens, 3u);
  EXPECT_EQ(u->input_tokens, 0u);
  EXPECT_FALSE(TokenUsage{}.any());
  for (const char* bad : {"{\"input_tokens\":-1}", "{\"output_tokens\":1.5}",
                          "{\"input_tokens\":\"12\"}", "[1]", "{\"input_tokens\":"}) {
    absl::StatusOr<TokenUsage> r = ParseUsageJson(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(CheckPayloadUsage(EventKind::kModelCall, "{\"model\":\"m\"}").ok());
  EXPECT_FALSE(CheckPayloadUsage(EventKind::kModelCall, "{\"usage\":{\"input_tokens\":-2}}").ok());
  EXPECT_FALSE(CheckPayloadUsage(EventKind::kRunFinished, "{\"usage\":7}").ok());
  // Other kinds are not held to it.
  EXPECT_TRUE(CheckPayloadUsage(EventKind::kToolResult, "{\"usage\":7}").ok());
}

TEST(LabelsTest, ParseLabelArgs) {
  absl::StatusOr<Labels> labels = ParseLabelArgs({"variant=b", "expr=a=b", "empty="});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->at("variant"), "b");
  EXPECT_EQ(labels->at("expr"), "a=b");
  EXPECT_EQ(labels->at("empty"), "");
  EXPECT_EQ(LabelsJson(*labels), "{\"empty\":\"\",\"expr\":\"a=b\",\"variant\":\"b\"}");
  EXPECT_EQ(ParseLabelArgs({"novalue"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLabelArgs({"=v"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLabelArgs({"k=1", "k=2"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseLabelArgs({"k=1", "k=1"}).ok());
}

TEST(UsageSummaryTest, SumOfModelCallsWhenRunFinishedHasNone) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, Trace("{\"status\":\"success\"}"));
  BothWays s = SummarizeBothWays(path);
  for (const TraceSummary* x : {&s.scanned, &s.indexed}) {
    EXPECT_EQ(x->usage.input_tokens, 107u);
    EXPECT_EQ(x->usage.output_tokens, 23u);
    EXPECT_EQ(x->usage.cache_read_input_tokens, 60u);
    EXPECT_EQ(x->usage.cache_creation_input_tokens, 10u);
    EXPECT_EQ(x->usage.reasoning_output_tokens, 5u);
    EXPECT_EQ(x->deviations, 1u);
    EXPECT_EQ(x->models, (std::vector<std::string>{"claude-x", "gpt-5"}));
    EXPECT_EQ(x->source, "claude-code");
    EXPECT_EQ(x->labels, (Labels{{"task", "t7"}, {"variant", "b"}}));
  }
  EXPECT_EQ(FormatSummaryText(s.indexed), FormatSummaryText(s.scanned));
  EXPECT_EQ(FormatSummaryJson(s.indexed), FormatSummaryJson(s.scanned));
  const std::string text = FormatSummaryText(s.indexed);
  EXPECT_NE(text.find("errors: 0\ndeviations: 1\ntokens: 107 in (60 cache read, 10 cache write), "
                      "23 out (5 reasoning)\nduration: 5 ms\n"),
            std::string::npos)
      << text;
  EXPECT_NE(FormatSummaryJson(s.indexed).find(
                "\"usage\":{\"input_tokens\":107,\"output_tokens\":23,\"cache_read_input_tokens\":"
                "60,\"cache_creation_input_tokens\":10,\"reasoning_output_tokens\":5},"
                "\"deviations\":1,\"models\":[\"claude-x\",\"gpt-5\"],\"source\":\"claude-code\","
                "\"labels\":{\"task\":\"t7\",\"variant\":\"b\"}"),
            std::string::npos);
}

TEST(UsageSummaryTest, RunFinishedTotalWins) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, Trace("{\"status\":\"imported\",\"usage\":{\"input_tokens\":5000,"
                             "\"output_tokens\":900,\"reasoning_output_tokens\":100}}"));
  BothWays s = SummarizeBothWays(path);
  for (const TraceSummary* x : {&s.scanned, &s.indexed}) {
    EXPECT_EQ(x->usage.input_tokens, 5000u);
    EXPECT_EQ(x->usage.output_tokens, 900u);
    EXPECT_EQ(x->usage.cache_read_input_tokens, 0u);
    EXPECT_EQ(x->usage.reasoning_output_tokens, 100u);
  }
}

TEST(UsageSummaryTest, NoUsageKeepsTheEarlierText) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(
      path, EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n" +
                EventLine("r", "e1", "run.finished", 1000, 1, "{\"status\":\"success\"}") + "\n");
  absl::StatusOr<TraceSummary> s = SummarizeTrace(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(FormatSummaryText(*s),
            "run_id: r\nstatus: success\nevents: 2\nmodel_calls: 0\ntool_calls: 0\n"
            "tool_results: 0\ntool_failures: 0\npermission_decisions: 0\nerrors: 0\n"
            "duration: 0 ms\nduration_ms: 0\n");
  EXPECT_NE(FormatSummaryJson(*s).find("\"usage\":{\"input_tokens\":0,"), std::string::npos);
  EXPECT_NE(FormatSummaryJson(*s).find("\"deviations\":0"), std::string::npos);
}

// A trace the renamed earlier tool (slod) wrote with its added kinds
// (tests/fixtures/slod-deviations.slod, in its shape: keys sorted).
TEST(DeviationsTest, SlodTraceVerifiesAndSummarizes) {
  const std::string fixture =
      std::string(TRACEFRAME_SOURCE_DIR) + "/tests/fixtures/slod-deviations.slod";
  TempDir dir;
  const std::string path = dir.File("slod.traceframe");
  WriteFileOrDie(path, ReadFileOrDie(fixture));
  VerifyOptions options;
  options.strict = true;
  absl::StatusOr<VerifyReport> report = VerifyTrace(path, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->valid);
  EXPECT_EQ(report->events, 5u);
  BothWays s = SummarizeBothWays(path);
  EXPECT_EQ(s.scanned.deviations, 2u);
  EXPECT_EQ(s.indexed.deviations, 2u);
  // slod's summary: `deviations: N` before `duration:`.
  EXPECT_NE(FormatSummaryText(s.indexed).find("errors: 0\ndeviations: 2\nduration: 40 ms\n"),
            std::string::npos);
  EXPECT_EQ(s.indexed.model_calls, 1u);
  EXPECT_FALSE(s.indexed.usage.any());
}

TEST(IndexV2Test, OlderIndexVersionIsRebuilt) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, Trace("{\"status\":\"success\"}"));
  ASSERT_TRUE(RebuildIndex(path).ok());
  // Make it a version 1 file: the reader must not trust it, and rebuilds.
  std::string bytes = ReadFileOrDie(IndexPathFor(path));
  ASSERT_GE(bytes.size(), 12u);
  bytes[8] = 1;
  bytes[9] = bytes[10] = bytes[11] = 0;
  WriteFileOrDie(IndexPathFor(path), bytes);
  absl::StatusOr<TraceIndex> stale = LoadIndex(path);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(std::string(stale.status().message()).find("unsupported index version 1"),
            std::string::npos);
  absl::StatusOr<TraceSummary> s = SummarizeTrace(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->usage.input_tokens, 107u);
  absl::StatusOr<TraceIndex> rebuilt = LoadIndex(path);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->facts.call_usage.input_tokens, 107u);
  EXPECT_EQ(rebuilt->facts.count(EventKind::kAgentGuess), 1u);
}

TEST(IndexV2Test, AppendsKeepUsageAndModelsCurrent) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "r", "{\"labels\":{\"k\":\"v\"}}", false).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall,
                          "{\"model\":\"m1\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}")
                  .ok());
  // Same model again (the in-place path), then a new one (the slow path).
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall,
                          "{\"model\":\"m1\",\"usage\":{\"input_tokens\":20,\"output_tokens\":2}}")
                  .ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall,
                          "{\"model\":\"m2\",\"usage\":{\"input_tokens\":30,\"output_tokens\":3}}")
                  .ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kPlanDeviation, "{\"plan\":\"p\"}").ok());
  absl::StatusOr<TraceIndex> index = LoadIndex(path);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->facts.covered_bytes, ReadFileOrDie(path).size());  // kept by the writers
  EXPECT_EQ(index->facts.call_usage.input_tokens, 60u);
  EXPECT_EQ(index->facts.call_usage.output_tokens, 6u);
  EXPECT_EQ(index->facts.models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(index->facts.labels, (Labels{{"k", "v"}}));
  EXPECT_EQ(index->facts.count(EventKind::kPlanDeviation), 1u);
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, "ok") << check->detail;
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A trace with labels and a source (meta in the index strings) still takes
// the O(1) in-place path: the index file is updated, not replaced. Only a
// model not seen before rewrites it (still without scanning the trace).
TEST(IndexV2Test, LabeledTraceAppendsInPlace) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "r", "{\"source\":\"codex\",\"labels\":{\"k\":\"v\"}}", false).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{\"model\":\"m1\"}").ok());
  const ino_t before = Inode(IndexPathFor(path));
  ASSERT_NE(before, 0u);
  ASSERT_TRUE(AppendEvent(path, EventKind::kToolCall, "{\"tool\":\"shell\"}").ok());
  ASSERT_TRUE(
      AppendEvent(path, EventKind::kModelCall, "{\"model\":\"m1\",\"usage\":{\"input_tokens\":5}}")
          .ok());
  EXPECT_EQ(Inode(IndexPathFor(path)), before);  // in place
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{\"model\":\"m2\"}").ok());
  absl::StatusOr<TraceIndex> index = LoadIndex(path);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->facts.covered_bytes, ReadFileOrDie(path).size());
  EXPECT_EQ(index->facts.source, "codex");
  EXPECT_EQ(index->facts.models, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(index->facts.call_usage.input_tokens, 5u);
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, "ok") << check->detail;
}

TEST(IndexV2Test, ModelListIsBounded) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  std::string trace = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
  for (int i = 1; i <= 20; ++i) {
    trace += EventLine("r", "e" + std::to_string(i), "model.call", 1000 + i, i,
                       "{\"model\":\"model-" + std::to_string(i) + "\"}") +
             "\n";
  }
  WriteFileOrDie(path, trace);
  BothWays s = SummarizeBothWays(path);
  ASSERT_EQ(s.indexed.models.size(), kMaxRunModels);
  EXPECT_EQ(s.indexed.models.front(), "model-1");
  EXPECT_EQ(s.indexed.models.back(), "model-16");
  EXPECT_EQ(s.scanned.models, s.indexed.models);
}

TEST(RecorderUsageTest, RecorderWritesUsageLabelsAndDeviations) {
  TempDir dir;
  const std::string path = dir.File("rec.traceframe");
  RecorderOptions options;
  options.labels = {{"variant", "a"}};
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "rec", false, options);
  ASSERT_TRUE(rec.ok()) << rec.status();
  TokenUsage u;
  u.input_tokens = 40;
  u.output_tokens = 4;
  u.cache_read_input_tokens = 30;
  ASSERT_TRUE((*rec)->ModelCall("anthropic", "claude-x", u).ok());
  ASSERT_TRUE((*rec)->Record(EventKind::kAgentGuess, "{\"assumption\":\"x\",\"why\":\"y\"}").ok());
  absl::StatusOr<uint64_t> bad =
      (*rec)->Record(EventKind::kModelCall, "{\"usage\":{\"output_tokens\":-3}}");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*rec)->Finish("success").ok());
  rec->reset();
  absl::StatusOr<TraceSummary> s = SummarizeTrace(path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->usage.input_tokens, 40u);
  EXPECT_EQ(s->usage.cache_read_input_tokens, 30u);
  EXPECT_EQ(s->deviations, 1u);
  EXPECT_EQ(s->labels, (Labels{{"variant", "a"}}));
  EXPECT_EQ(s->models, (std::vector<std::string>{"claude-x"}));
  EXPECT_EQ(s->events, 4u);  // the bad one was refused
  absl::StatusOr<LedgerEntry> entry = LedgerEntryForTrace(path);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->usage, s->usage);
  EXPECT_EQ(entry->labels, s->labels);
  // The ledger line carries the fields and reads back.
  const std::string ledger = dir.File("ledger.jsonl");
  WriteFileOrDie(ledger, LedgerEntryJson(*entry) + "\n");
  absl::StatusOr<std::vector<LedgerEntry>> read = ReadLedger(ledger);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].usage, s->usage);
  EXPECT_EQ((*read)[0].deviations, 1u);
  EXPECT_EQ((*read)[0].models, s->models);
  EXPECT_EQ((*read)[0].labels, s->labels);
}

}  // namespace
}  // namespace traceframe
