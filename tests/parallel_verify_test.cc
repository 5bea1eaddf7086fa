// The parallel verify path must give exactly the sequential verdict and
// report (docs/format.md, "What `verify` checks"): the same first error, counts, listed issues,
// torn tail and summary, on valid and broken traces, wherever the chunk seams fall.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "read/trace_analysis.h"
#include "test_util.h"
#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using testing::EventLine;
using testing::TempDir;
using testing::WriteFileOrDie;

std::string Describe(const VerifyReport& r, const TraceSummary& s) {
  std::string out =
      "valid=" + std::to_string(r.valid) + " open=" + std::to_string(r.open) +
      " events=" + std::to_string(r.events) + " lines=" + std::to_string(r.lines) +
      " errors=" + std::to_string(r.error_count) + " warnings=" + std::to_string(r.warning_count) +
      " dup_checked=" + std::to_string(r.duplicate_check_events) + " run_id=" + r.run_id;
  if (r.torn_tail) out += " torn=" + std::to_string(r.torn_tail->offset);
  for (const VerifyIssue& i : r.errors)
    out += "\nE " + std::string(VerifyIssueCodeName(i.code)) + " " + DescribeIssue(i);
  for (const VerifyIssue& i : r.warnings)
    out += "\nW " + std::string(VerifyIssueCodeName(i.code)) + " " + DescribeIssue(i);
  return out + "\n" + FormatSummaryJson(s);
}

// Sequential vs parallel with seams every `chunk` bytes, for a few option sets.
void ExpectSameVerdict(const std::string& path, uint64_t chunk) {
  for (int flags = 0; flags < 8; ++flags) {
    VerifyOptions options;
    options.allow_open = flags & 1;
    options.strict = flags & 2;
    options.max_issues = (flags & 4) ? 1 : 20;
    auto reader = TraceReader::Open(path);
    ASSERT_TRUE(reader.ok());
    options.threads = 1;
    const TraceAnalysis sequential = AnalyzeTrace(**reader, options);
    options.threads = 3;
    options.min_chunk_bytes = chunk;
    const TraceAnalysis parallel = AnalyzeTrace(**reader, options);
    ASSERT_EQ(Describe(sequential.report, sequential.summary),
              Describe(parallel.report, parallel.summary))
        << "flags " << flags << ", chunk " << chunk;
  }
}

std::string Trace(int events, bool closed) {
  std::string out = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
  for (int i = 1; i < events; ++i) {
    out += EventLine("r", "e" + std::to_string(i), i % 3 ? "tool.call" : "tool.result", 1000 + i, i,
                     "{\"success\":" + std::string(i % 4 ? "true" : "false") + "}") +
           "\n";
  }
  if (closed) {
    out +=
        EventLine("r", "end", "run.finished", 1000 + events, events, "{\"status\":\"success\"}") +
        "\n";
  }
  return out;
}

void ReplaceFirst(std::string* s, const std::string& from, const std::string& to) {
  const size_t at = s->find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s->replace(at, from.size(), to);
}

TEST(ParallelVerifyTest, SameVerdictOnValidAndBrokenTraces) {
  TempDir dir;
  std::vector<std::string> traces;
  traces.push_back(Trace(40, true));
  traces.push_back(Trace(40, false));
  std::string t = Trace(40, true);
  // A different run id from the middle on: every later event is mixed.
  for (int i = 20; i < 40; ++i) {
    ReplaceFirst(&t, "\"run_id\":\"r\",\"event_id\":\"e" + std::to_string(i) + "\"",
                 "\"run_id\":\"other\",\"event_id\":\"e" + std::to_string(i) + "\"");
  }
  traces.push_back(t);
  t = Trace(40, true);
  ReplaceFirst(&t, "\"event_id\":\"e30\"", "\"event_id\":\"e3\"");  // duplicate id
  ReplaceFirst(&t, "\"seq\":12,", "\"seq\":15,");                   // gap
  ReplaceFirst(&t, "\"seq\":25,", "\"seq\":2,");                    // not increasing
  ReplaceFirst(&t, "\"ts_ms\":1010,", "\"ts_ms\":5,");              // ts backwards
  traces.push_back(t);
  t = Trace(30, true);
  ReplaceFirst(&t, "{\"success\":true}", "{\"success\":tru}");      // invalid line
  t += EventLine("r", "late", "tool.call", 5000, 31, "{}") + "\n";  // after run.finished
  traces.push_back(t);
  t = Trace(30, false) + "{\"version\":1,\"run_id\":\"r\",\"ev";  // torn tail
  traces.push_back(t);
  t = "\xEF\xBB\xBF" + Trace(20, true);  // BOM, CRLF, blank lines
  std::string crlf;
  for (char c : t) {
    if (c == '\n')
      crlf += "\r\n\n";
    else
      crlf += c;
  }
  traces.push_back(crlf);
  std::string many_errors;
  for (int i = 0; i < 60; ++i) {
    many_errors += EventLine("r" + std::to_string(i % 3), " ", "run.started", 10 - i, 0, "1") +
                   "\n" + (i % 7 ? "" : "not json\n");
  }
  traces.push_back(many_errors);
  for (size_t i = 0; i < traces.size(); ++i) {
    const std::string path = dir.File("t" + std::to_string(i));
    WriteFileOrDie(path, traces[i]);
    for (uint64_t chunk : {1, 7, 100, 333, 1000}) {
      SCOPED_TRACE("trace " + std::to_string(i));
      ExpectSameVerdict(path, chunk);
    }
  }
}

// More events than the duplicate check remembers: the sampled ids, and so
// the duplicate warnings, do not depend on how the trace is split.
TEST(ParallelVerifyTest, DuplicateCheckBeyondItsMemoryCapIsDeterministic) {
  TempDir dir;
  const std::string path = dir.File("big.traceframe");
  std::string text = EventLine("r", "id-0", "run.started", 1, 0, "0") + "\n";
  constexpr int kEvents = 300000;
  for (int i = 1; i < kEvents; ++i) {
    // Every 1000th event repeats an earlier id.
    const int id = i % 1000 == 0 ? i - 500 : i;
    text += EventLine("r", "id-" + std::to_string(id), "error", 1, i, "0") + "\n";
  }
  WriteFileOrDie(path, text);
  VerifyOptions options;
  options.allow_open = true;
  options.threads = 1;
  auto sequential = VerifyTrace(path, options);
  ASSERT_TRUE(sequential.ok());
  EXPECT_LT(sequential->duplicate_check_events, static_cast<uint64_t>(kEvents));
  EXPECT_GT(sequential->duplicate_check_events, 50000u);
  EXPECT_GT(sequential->warning_count, 0u) << "about half the duplicates are sampled";
  EXPECT_LT(sequential->warning_count, 300u);
  for (int threads : {2, 3}) {
    options.threads = threads;
    options.min_chunk_bytes = 1 << 20;
    auto parallel = VerifyTrace(path, options);
    ASSERT_TRUE(parallel.ok());
    EXPECT_EQ(parallel->duplicate_check_events, sequential->duplicate_check_events);
    EXPECT_EQ(parallel->warning_count, sequential->warning_count);
    ASSERT_EQ(parallel->warnings.size(), sequential->warnings.size());
    for (size_t i = 0; i < parallel->warnings.size(); ++i) {
      EXPECT_EQ(DescribeIssue(parallel->warnings[i]), DescribeIssue(sequential->warnings[i]));
    }
  }
}

}  // namespace
}  // namespace traceframe
