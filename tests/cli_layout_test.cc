// CLI tests for the layout of the read commands people scan: `ledger list`
// and `inspect`, and the earlier tool's formats kept behind --classic.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::traceframe::testing::CliResult;
using ::traceframe::testing::EventLine;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

// 2026-03-02 14:05:09.120 UTC
constexpr long long kMarch2 = 1772460309120LL;

std::string Trace(const std::string& run_id, long long start_ms, const std::string& status) {
  return EventLine(run_id, run_id + "-0", "run.started", start_ms, 0, "{}") + "\n" +
         EventLine(run_id, run_id + "-1", "tool.call", start_ms + 500, 1,
                   "{\"tool\":\"Bash\",\"command\":\"make\"}") +
         "\n" +
         EventLine(run_id, run_id + "-2", "run.finished", start_ms + 65000, 2,
                   "{\"status\":\"" + status + "\"}") +
         "\n";
}

TEST(CliLayoutTest, LedgerListIsNewestFirstWithUtcTimesAndRelativePaths) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.File("runs").c_str(), 0755), 0);
  // A run id longer than the earlier tool's 28-character column.
  const std::string long_id = "run-20260302-140509-9a4bc911-2f33-42cb";
  WriteFileOrDie(dir.File("runs/old.traceframe"), Trace("run-old", kMarch2 - 86400000, "failed"));
  WriteFileOrDie(dir.File("runs/new.traceframe"), Trace(long_id, kMarch2, "success"));
  ASSERT_EQ(
      RunCli({"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"}, dir.path()).exit_code,
      0);
  CliResult r = RunCli({"ledger", "list", "--file", "l.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const std::string pad(long_id.size() - 6, ' ');
  EXPECT_EQ(lines[0],
            "run_id" + pad + "  status   started (UTC)         duration  events  errors  trace");
  EXPECT_EQ(lines[1], long_id +
                          "  success  2026-03-02 14:05:09Z     1m 5s       3       0  "
                          "runs/new.traceframe");
  EXPECT_THAT(lines[2], StartsWith("run-old" + std::string(long_id.size() - 7, ' ') +
                                   "  failed   2026-03-01 14:05:09Z"));
  EXPECT_THAT(lines[2], HasSubstr("  runs/old.traceframe"));
  // The stored path is absolute; outside the current directory it stays so.
  TempDir other;
  CliResult elsewhere =
      RunCli({"ledger", "list", "--file", dir.File("l.traceframe")}, other.path());
  EXPECT_THAT(elsewhere.out, HasSubstr(" " + dir.path() + "/runs/new.traceframe"));

  // --classic: the earlier tool's table (reference §7.3), in ledger order.
  CliResult classic = RunCli({"ledger", "list", "--file", "l.traceframe", "--classic"}, dir.path());
  const std::vector<std::string> old = SplitLines(classic.out);
  ASSERT_EQ(old.size(), 3u) << classic.out;
  EXPECT_EQ(old[0], "run_id                       status     events errors duration_ms trace_path");
  EXPECT_THAT(old[1], StartsWith(long_id + " success         3      0       65000 /"));
  EXPECT_THAT(old[2], StartsWith("run-old                      failed          3      0"));
}

TEST(CliLayoutTest, InspectShowsTimesPaddedKindsAndOneLinePayloads) {
  TempDir dir;
  const std::string big = "{\"output\":\"" + std::string(300, 'x') + "\"}";
  WriteFileOrDie(dir.File("t.traceframe"),
                 EventLine("r", "e0", "run.started", kMarch2, 0, "{}") + "\n" +
                     EventLine("r", "e1", "tool.result", kMarch2 + 1500, 1, big) + "\n" +
                     EventLine("r", "e2", "permission.decision", kMarch2 + 2000, 2,
                               "{\"decision\":\"allow\"}") +
                     "\n");
  CliResult r = RunCli({"inspect", "--file", "t.traceframe"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "#000  2026-03-02 14:05:09.120Z  run.started          {}");
  EXPECT_THAT(lines[1], StartsWith("#001  2026-03-02 14:05:10.620Z  tool.result          "
                                   "{\"output\":\"xxxx"));
  EXPECT_THAT(lines[1], HasSubstr("... (313 bytes; --wide shows all)"));
  EXPECT_LT(lines[1].size(), 200u);
  EXPECT_EQ(lines[2],
            "#002  2026-03-02 14:05:11.120Z  permission.decision  {\"decision\":\"allow\"}");

  CliResult wide = RunCli({"inspect", "--file", "t.traceframe", "--wide"}, dir.path());
  EXPECT_THAT(wide.out, HasSubstr(big + "\n"));

  CliResult classic = RunCli({"inspect", "--file", "t.traceframe", "--classic"}, dir.path());
  EXPECT_THAT(classic.out, StartsWith("#000 run.started run=r event=e0 payload={}\n"));
  EXPECT_THAT(classic.out, HasSubstr("#001 tool.result run=r event=e1 payload=" + big + "\n"));

  // --tail with --limit and --from-seq, as --help documents them.
  CliResult tail =
      RunCli({"inspect", "--file", "t.traceframe", "--tail", "2", "--limit", "1"}, dir.path());
  EXPECT_THAT(tail.out, StartsWith("#001 "));
  EXPECT_EQ(SplitLines(tail.out).size(), 1u);
  CliResult help = RunCli({"inspect", "--help"}, dir.path());
  EXPECT_THAT(help.out, HasSubstr("--wide"));
  EXPECT_THAT(help.out, HasSubstr("--classic"));
  EXPECT_THAT(help.out, HasSubstr("with --from-seq"));
}

}  // namespace
}  // namespace traceframe
