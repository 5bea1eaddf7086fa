// The run ledger (reference §7, §10 L1-L5, §11.31 fixed).
#include "traceframe/ledger.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using testing::EventLine;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

// Writes a file, creating its parent directories.
void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  testing::WriteFileOrDie(path, contents);
}

std::string ClosedTrace(const std::string& run_id, const std::string& status) {
  return EventLine(run_id, "e0", "run.started", 100, 0, R"({"status":"started"})") + "\n" +
         EventLine(run_id, "e1", "permission.decision", 110, 1,
                   R"({"capability":"fs.write:x","decision":"allow"})") +
         "\n" +
         EventLine(run_id, "e2", "tool.call", 120, 2, R"({"tool":"shell","command":"make"})") +
         "\n" +
         EventLine(run_id, "e3", "tool.result", 130, 3,
                   R"({"tool":"shell","success":false,"exit_code":2})") +
         "\n" + EventLine(run_id, "e4", "run.finished", 140, 4, "{\"status\":\"" + status + "\"}") +
         "\n";
}

std::string OpenTrace(const std::string& run_id) {
  return EventLine(run_id, "e0", "run.started", 100, 0, "{}") + "\n" +
         EventLine(run_id, "e1", "tool.call", 150, 1, R"({"tool":"shell"})") + "\n";
}

TEST(LedgerTest, EntryFromClosedTrace) {  // L1
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), ClosedTrace("run-a", "success"));
  absl::StatusOr<LedgerEntry> e = LedgerEntryForTrace(dir.File("a.traceframe"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->run_id, "run-a");
  EXPECT_EQ(e->status, "success");
  EXPECT_EQ(e->event_count, 5u);
  EXPECT_EQ(e->tool_calls, 1u);
  EXPECT_EQ(e->tool_results, 1u);
  EXPECT_EQ(e->tool_failures, 1u);
  EXPECT_EQ(e->permission_decisions, 1u);
  EXPECT_EQ(e->started_ms, 100);
  EXPECT_EQ(e->finished_ms, 140);
  EXPECT_EQ(e->duration_ms, 40);
  EXPECT_FALSE(e->torn_tail);
  EXPECT_EQ(e->trace_path, dir.File("a.traceframe"));  // absolute (§11.31)
}

TEST(LedgerTest, OpenTraceHasNoFinish) {  // L2
  TempDir dir;
  WriteFileOrDie(dir.File("o.traceframe"), OpenTrace("run-open"));
  absl::StatusOr<LedgerEntry> e = LedgerEntryForTrace(dir.File("o.traceframe"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->status, "open");
  EXPECT_FALSE(e->finished_ms.has_value());
  EXPECT_EQ(e->duration_ms, 50);
}

TEST(LedgerTest, RebuildSortsRecursesAndRoundTrips) {  // L3, recursive listing
  TempDir dir;
  WriteFileOrDie(dir.File("runs/b.traceframe"), ClosedTrace("run-b", "failed"));
  WriteFileOrDie(dir.File("runs/a.traceframe"), ClosedTrace("run-a", "success"));
  WriteFileOrDie(dir.File("runs/nested/deeper/c.traceframe"), OpenTrace("run-c"));
  WriteFileOrDie(dir.File("runs/notes.txt"), "not a trace");
  LedgerRebuildOptions options;
  options.dir = dir.File("runs");
  options.out = dir.File("ledger.traceframe");
  absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->entries.size(), 3u);
  EXPECT_EQ(result->entries[0].run_id, "run-a");
  EXPECT_EQ(result->entries[1].run_id, "run-b");
  EXPECT_EQ(result->entries[2].run_id, "run-c");
  EXPECT_TRUE(result->skipped.empty());
  absl::StatusOr<std::vector<LedgerEntry>> read = ReadLedger(options.out);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(LedgerEntryJson((*read)[i]), LedgerEntryJson(result->entries[i]));
  }
}

TEST(LedgerTest, LineFormatKeepsReferenceFieldOrderPlusExtras) {
  LedgerEntry e;
  e.run_id = "fixed";
  e.trace_path = "/r/fixed.traceframe";
  e.status = "success";
  e.event_count = 4;
  e.tool_calls = 1;
  e.tool_results = 1;
  e.started_ms = 7;
  e.finished_ms = 8;
  e.duration_ms = 1;
  EXPECT_EQ(LedgerEntryJson(e),
            R"({"version":1,"run_id":"fixed","trace_path":"/r/fixed.traceframe",)"
            R"("status":"success","event_count":4,"model_calls":0,"tool_calls":1,)"
            R"("tool_results":1,"tool_failures":0,"permission_decisions":0,"errors":0,)"
            R"("started_ms":7,"finished_ms":8,"duration_ms":1,"torn_tail":false,)"
            R"("usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,)"
            R"("cache_creation_input_tokens":0,"reasoning_output_tokens":0},)"
            R"("deviations":0,"models":[],"source":"","labels":{}})");
  e.finished_ms.reset();
  EXPECT_THAT(LedgerEntryJson(e), HasSubstr(R"("finished_ms":null)"));
}

TEST(LedgerTest, ReadsAReferenceLedgerWithoutTheExtraFields) {
  TempDir dir;
  WriteFileOrDie(dir.File("l.traceframe"),
                 R"({"version":1,"run_id":"fixed","trace_path":"r/f.traceframe","status":"open",)"
                 R"("event_count":4,"model_calls":0,"tool_calls":1,"tool_results":1,)"
                 R"("permission_decisions":0,"errors":0,"started_ms":5,"finished_ms":null,)"
                 R"("duration_ms":1,"future_field":[1]})"
                 "\n\n");
  absl::StatusOr<std::vector<LedgerEntry>> read = ReadLedger(dir.File("l.traceframe"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].status, "open");
  EXPECT_EQ((*read)[0].tool_failures, 0u);
  EXPECT_FALSE((*read)[0].finished_ms.has_value());
}

TEST(LedgerTest, FindsEveryEntryOfADuplicateRunId) {  // L4 + §11.31 duplicates
  std::vector<LedgerEntry> entries(3);
  entries[0].run_id = "dup";
  entries[0].trace_path = "/x/1.traceframe";
  entries[1].run_id = "other";
  entries[2].run_id = "dup";
  entries[2].trace_path = "/x/2.traceframe";
  std::vector<LedgerEntry> found = FindLedgerEntries(entries, "dup");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].trace_path, "/x/1.traceframe");
  EXPECT_EQ(found[1].trace_path, "/x/2.traceframe");
  EXPECT_TRUE(FindLedgerEntries(entries, "missing").empty());
}

TEST(LedgerTest, MalformedLedgerLineIsNamed) {  // L5
  TempDir dir;
  WriteFileOrDie(dir.File("l.traceframe"), "{bad\n");
  absl::StatusOr<std::vector<LedgerEntry>> read = ReadLedger(dir.File("l.traceframe"));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(ToStd(read.status().message())),
              HasSubstr("invalid ledger entry at line 1"));
  WriteFileOrDie(dir.File("v.traceframe"),
                 R"({"version":2,"run_id":"x","trace_path":"p","status":"open"})"
                 "\n");
  read = ReadLedger(dir.File("v.traceframe"));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(ToStd(read.status().message())),
              HasSubstr("unsupported ledger version 2 at line 1"));
  read = ReadLedger(dir.File("missing.traceframe"));
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(ToStd(read.status().message())), HasSubstr("failed to read ledger file"));
}

TEST(LedgerTest, OneBadTraceNeverAbortsTheRebuild) {  // §11.31
  TempDir dir;
  WriteFileOrDie(dir.File("runs/a.traceframe"), ClosedTrace("run-a", "success"));
  WriteFileOrDie(dir.File("runs/bad.traceframe"), "{bad}\n");
  WriteFileOrDie(dir.File("runs/empty.traceframe"), "");
  WriteFileOrDie(dir.File("runs/torn.traceframe"),
                 OpenTrace("run-torn") + R"({"version":1,"run_id":"run-torn","ev)");
  LedgerRebuildOptions options;
  options.dir = dir.File("runs");
  options.out = dir.File("ledger.traceframe");
  absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->entries.size(), 2u);
  EXPECT_EQ(result->entries[0].run_id, "run-a");
  EXPECT_EQ(result->entries[1].run_id, "run-torn");
  EXPECT_TRUE(result->entries[1].torn_tail);
  EXPECT_EQ(result->entries[1].event_count, 2u);
  EXPECT_EQ(result->torn, 1u);
  ASSERT_EQ(result->skipped.size(), 2u);
  EXPECT_THAT(result->skipped[0].path, HasSubstr("bad.traceframe"));
  EXPECT_THAT(result->skipped[0].reason, HasSubstr("invalid trace event"));
  EXPECT_THAT(result->skipped[1].path, HasSubstr("empty.traceframe"));
  EXPECT_THAT(result->skipped[1].reason, HasSubstr("empty"));
  EXPECT_THAT(FormatLedgerList(result->entries), HasSubstr("[torn tail"));
  EXPECT_THAT(FormatLedgerShow(result->entries[1]), HasSubstr("torn_tail: yes"));
}

TEST(LedgerTest, TheLedgerIsNeverMistakenForARun) {  // §11.31
  TempDir dir;
  WriteFileOrDie(dir.File("runs/a.traceframe"), ClosedTrace("run-a", "success"));
  LedgerRebuildOptions options;
  options.dir = dir.File("runs");
  options.out = dir.File("runs/ledger.traceframe");  // inside the runs dir
  ASSERT_TRUE(RebuildLedger(options).ok());
  // A second rebuild sees its own ledger and leaves it out; a copy of a
  // ledger under another name is recognized by its content.
  std::filesystem::create_directories(dir.File("runs/sub"));
  std::filesystem::copy_file(options.out, dir.File("runs/sub/old-ledger.traceframe"));
  absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->entries.size(), 1u);
  EXPECT_TRUE(result->skipped.empty());
  ASSERT_EQ(result->ledgers.size(), 1u);
  EXPECT_THAT(result->ledgers[0], HasSubstr("old-ledger.traceframe"));
  // The out path written through another spelling is still the ledger.
  options.out = dir.File("runs/../runs/ledger.traceframe");
  result = RebuildLedger(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->entries.size(), 1u);
}

TEST(LedgerTest, WrittenAtomicallyLeavingNoTempFiles) {
  TempDir dir;
  WriteFileOrDie(dir.File("runs/a.traceframe"), ClosedTrace("run-a", "success"));
  WriteFileOrDie(dir.File("out/ledger.traceframe"), "stale contents\n");
  LedgerRebuildOptions options;
  options.dir = dir.File("runs");
  options.out = dir.File("out/ledger.traceframe");
  ASSERT_TRUE(RebuildLedger(options).ok());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File("out"))) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"ledger.traceframe"});
  EXPECT_THAT(testing::ReadFileOrDie(options.out), Not(HasSubstr("stale")));
}

TEST(LedgerTest, ManyTracesOnAllWorkersKeepPathOrder) {
  TempDir dir;
  for (int i = 0; i < 300; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "runs/t%04d.traceframe", i);
    WriteFileOrDie(dir.File(name), ClosedTrace(Cat("run-", i), i % 3 ? "success" : "failed"));
  }
  LedgerRebuildOptions options;
  options.dir = dir.File("runs");
  options.out = dir.File("ledger.traceframe");
  options.threads = 4;
  // Progress is by bytes: the last call reports all of them.
  uint64_t last_done = 0;
  uint64_t last_total = 0;
  options.progress = [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  };
  absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->entries.size(), 300u);
  EXPECT_GT(last_total, 300u);
  EXPECT_EQ(last_done, last_total);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(result->entries[i].run_id, Cat("run-", i));
}

TEST(LedgerTest, MissingDirIsAnError) {
  TempDir dir;
  LedgerRebuildOptions options;
  options.dir = dir.File("nope");
  options.out = dir.File("ledger.traceframe");
  absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(options);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(ToStd(result.status().message())), HasSubstr("failed to read trace dir"));
  EXPECT_FALSE(testing::FileExists(options.out));
}

TEST(LedgerTest, ListAndShowText) {
  EXPECT_EQ(FormatLedgerList({}),
            "run_id                       status     events errors duration_ms trace_path\n"
            "(no runs)\n");
  LedgerEntry e;
  e.run_id = "run-x";
  e.status = "open";
  e.trace_path = "/t/x.traceframe";
  e.event_count = 2;
  e.started_ms = 5;
  e.duration_ms = 9;
  EXPECT_EQ(FormatLedgerList({e}),
            "run_id                       status     events errors duration_ms trace_path\n"
            "run-x                        open            2      0           9 /t/x.traceframe\n");
  EXPECT_EQ(FormatLedgerShow(e),
            "run_id: run-x\nstatus: open\ntrace_path: /t/x.traceframe\nevents: 2\n"
            "model_calls: 0\ntool_calls: 0\ntool_results: 0\ntool_failures: 0\n"
            "permission_decisions: 0\nerrors: 0\nstarted_ms: 5\nfinished_ms: open\n"
            "duration_ms: 9\n");
}

}  // namespace
}  // namespace traceframe
