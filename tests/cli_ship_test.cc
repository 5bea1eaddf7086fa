// `traceframe ship` through the built binary: the exec of the
// traceframe-ship helper, usage errors, and a server that cannot be reached
// (the real server is exercised by scripts/clickhouse-gate.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.h"

namespace traceframe::testing {
namespace {

std::string SmallTrace() {
  return EventLine("r1", "e0", "run.started", 1700000000000, 0, "{}") + "\n" +
         EventLine("r1", "e1", "run.finished", 1700000000001, 1, R"({"status":"success"})") + "\n";
}

int CountCheckpoints(const std::string& dir) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().find(".ship-") != std::string::npos) ++n;
  }
  return n;
}

TEST(CliShipTest, HelpComesFromTheHelper) {
  CliResult r = RunCli({"ship", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--clickhouse"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--follow"), std::string::npos);
}

TEST(CliShipTest, UsageErrorsExit2) {
  EXPECT_EQ(RunCli({"ship"}).exit_code, 2);
  CliResult bad_db = RunCli({"ship", "--clickhouse", "http://127.0.0.1:1", "--database", "a b"});
  EXPECT_EQ(bad_db.exit_code, 2);
  EXPECT_NE(bad_db.err.find("invalid --database"), std::string::npos) << bad_db.err;
  EXPECT_EQ(RunCli({"ship", "--clickhouse", "http://x", "--interval", "3"}).exit_code, 2);
}

TEST(CliShipTest, UnreachableServerExits1AndWritesNoCheckpoint) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), SmallTrace());
  CliResult r =
      RunCli({"ship", "--clickhouse", "http://127.0.0.1:1", "--dir", dir.path(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Error: ClickHouse is not reachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was lost"), std::string::npos);
  EXPECT_NE(r.out.find("\"events\":0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"error\":\"ClickHouse is not reachable"), std::string::npos) << r.out;
  EXPECT_EQ(CountCheckpoints(dir.path()), 0);
  EXPECT_EQ(ReadFileOrDie(dir.File("a.traceframe")), SmallTrace());
}

}  // namespace
}  // namespace traceframe::testing
