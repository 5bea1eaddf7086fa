// `traceframe ledger rebuild|list|show` (reference §7, §10 LG1-LG4, LC8;
// §11.31 fixed).
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

// Writes a file, creating its parent directories.
void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  testing::WriteFileOrDie(path, contents);
}

std::string Trace(const std::string& run_id, const char* status /* nullptr: open */) {
  std::string t = EventLine(run_id, "e0", "run.started", 1000, 0, "{}") + "\n" +
                  EventLine(run_id, "e1", "tool.call", 1010, 1, R"({"tool":"shell"})") + "\n" +
                  EventLine(run_id, "e2", "error", 1020, 2, R"({"message":"m"})") + "\n";
  if (status != nullptr) {
    t += EventLine(run_id, "e3", "run.finished", 1030, 3,
                   std::string(R"({"status":")") + status + "\"}") +
         "\n";
  }
  return t;
}

TEST(CliLedgerTest, RebuildListFilterShow) {  // LG1
  TempDir dir;
  WriteFileOrDie(dir.File("runs/run-success.traceframe"), Trace("run-success", "success"));
  WriteFileOrDie(dir.File("runs/run-failed.traceframe"), Trace("run-failed", "failed"));
  CliResult r =
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "ledger.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("traceframe ledger rebuild"));
  EXPECT_THAT(r.out, HasSubstr("entries     2"));
  EXPECT_THAT(r.out, HasSubstr("skipped     0"));
  EXPECT_EQ(r.err, "");  // no progress lines when stderr is not a terminal

  r = RunCli({"ledger", "list", "--file", "ledger.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("run_id"));
  EXPECT_THAT(r.out, HasSubstr("run-success"));
  EXPECT_THAT(r.out, HasSubstr("run-failed"));

  r = RunCli({"ledger", "list", "--file", "ledger.traceframe", "--status", "failed"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("run-failed"));
  EXPECT_THAT(r.out, Not(HasSubstr("run-success")));

  r = RunCli({"ledger", "list", "--file", "ledger.traceframe", "--status", "nope"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("(no runs)"));

  r = RunCli({"ledger", "show", "--file", "ledger.traceframe", "--run-id", "run-success"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("run_id: run-success"));
  EXPECT_THAT(r.out, HasSubstr("status: success"));
  EXPECT_THAT(r.out, HasSubstr("trace_path: "));
  EXPECT_THAT(r.out, HasSubstr("errors: 1"));
}

TEST(CliLedgerTest, OpenTraceIsIndexed) {  // LG2
  TempDir dir;
  WriteFileOrDie(dir.File("runs/o.traceframe"), Trace("run-open", nullptr));
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path()).exit_code,
      0);
  CliResult r =
      RunCli({"ledger", "show", "--file", "l.traceframe", "--run-id", "run-open"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("status: open"));
  EXPECT_THAT(r.out, HasSubstr("finished_ms: open"));
}

TEST(CliLedgerTest, ShowOfAMissingRunFails) {  // LG3
  TempDir dir;
  WriteFileOrDie(dir.File("runs/a.traceframe"), Trace("run-a", "success"));
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path()).exit_code,
      0);
  CliResult r =
      RunCli({"ledger", "show", "--file", "l.traceframe", "--run-id", "run-missing"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run not found in ledger: run-missing"));
}

TEST(CliLedgerTest, MalformedTraceIsSkippedAndCounted) {  // LG4, fixed (§11.31)
  TempDir dir;
  WriteFileOrDie(dir.File("runs/good.traceframe"), Trace("run-good", "success"));
  WriteFileOrDie(dir.File("runs/bad.traceframe"), "{bad}\n");
  WriteFileOrDie(dir.File("runs/torn.traceframe"),
                 Trace("run-torn", nullptr) + R"({"version":1,"run_id":"run-torn","ev)");
  CliResult r = RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("bad.traceframe"));
  EXPECT_THAT(r.err, HasSubstr("invalid trace event"));
  EXPECT_THAT(r.out, HasSubstr("entries     2"));
  EXPECT_THAT(r.out, HasSubstr("torn        1"));
  EXPECT_THAT(r.out, HasSubstr("skipped     1"));
  r = RunCli({"ledger", "list", "--file", "l.traceframe"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("run-torn"));
  EXPECT_THAT(r.out, HasSubstr("[torn tail"));

  r = RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe", "--strict"},
             dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("invalid trace event"));
  EXPECT_THAT(r.err, HasSubstr("--strict"));
}

TEST(CliLedgerTest, DuplicateRunIdsAreAllShownWithTheirPaths) {
  TempDir dir;
  WriteFileOrDie(dir.File("runs/one.traceframe"), Trace("run-dup", "success"));
  WriteFileOrDie(dir.File("runs/two/again.traceframe"), Trace("run-dup", "failed"));
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path()).exit_code,
      0);
  CliResult r =
      RunCli({"ledger", "show", "--file", "l.traceframe", "--run-id", "run-dup"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("one.traceframe"));
  EXPECT_THAT(r.out, HasSubstr("two/again.traceframe"));
  EXPECT_THAT(r.out, HasSubstr("status: success"));
  EXPECT_THAT(r.out, HasSubstr("status: failed"));
  EXPECT_THAT(r.err, HasSubstr("is in 2 traces"));
}

TEST(CliLedgerTest, JsonOutputs) {
  TempDir dir;
  WriteFileOrDie(dir.File("runs/a.traceframe"), Trace("run-a", "success"));
  WriteFileOrDie(dir.File("runs/b.traceframe"), Trace("run-b", "failed"));
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path()).exit_code,
      0);
  CliResult r = RunCli({"ledger", "list", "--file", "l.traceframe", "--status", "failed", "--json"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  simdjson::dom::array entries;
  ASSERT_EQ(doc["entries"].get_array().get(entries), simdjson::SUCCESS);
  ASSERT_EQ(entries.size(), 1u);
  std::string_view run_id;
  ASSERT_EQ(entries.at(0)["run_id"].get_string().get(run_id), simdjson::SUCCESS);
  EXPECT_EQ(run_id, "run-b");
  int64_t errors = 0;
  ASSERT_EQ(entries.at(0)["errors"].get_int64().get(errors), simdjson::SUCCESS);
  EXPECT_EQ(errors, 1);

  r = RunCli({"ledger", "show", "--file", "l.traceframe", "--run-id", "run-a", "--json"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  ASSERT_EQ(doc["entries"].get_array().get(entries), simdjson::SUCCESS);
  ASSERT_EQ(entries.size(), 1u);
  std::string_view status;
  ASSERT_EQ(entries.at(0)["status"].get_string().get(status), simdjson::SUCCESS);
  EXPECT_EQ(status, "success");
}

TEST(CliLedgerTest, DefaultPathsAndTheLedgerBesideTheRuns) {  // LC8 + defaults
  TempDir dir;
  WriteFileOrDie(dir.File(".traceframe/runs/a.traceframe"), Trace("run-a", "success"));
  CliResult r = RunCli({"ledger", "rebuild"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("entries     1"));
  EXPECT_THAT(r.out, HasSubstr(".traceframe/ledger.traceframe"));
  r = RunCli({"ledger", "list"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("run-a"));
  // A ledger written inside the runs dir is never listed as a run.
  r = RunCli({"ledger", "rebuild", "--out", ".traceframe/runs/ledger.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli({"ledger", "rebuild", "--out", ".traceframe/runs/ledger.traceframe", "--strict"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("entries     1"));
}

TEST(CliLedgerTest, MissingInputsAreClearErrors) {
  TempDir dir;
  CliResult r = RunCli({"ledger", "rebuild", "--dir", "nope"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("failed to read trace dir nope"));
  r = RunCli({"ledger", "list", "--file", "missing.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("failed to read ledger file missing.traceframe"));
  r = RunCli({"ledger", "show", "--file", "x"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);  // --run-id is required
}

}  // namespace
}  // namespace traceframe
