// `traceframe index rebuild|check` and how the CLI's readers and writers
// treat the sidecar index: deleted, truncated, garbage, stale, a trace cut
// below what it covers, concurrent appenders; summary output always equal to
// a full scan (TRACEFRAME_INDEX=off).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "trace_gen.h"

namespace traceframe::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kNoIndex = {"TRACEFRAME_INDEX=off"};

std::string Idx(const std::string& trace) { return trace + ".idx"; }

// summary text and --json, with the index and with a full scan.
void ExpectSummaryMatchesFullScan(const std::string& file, const std::string& what) {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
    std::vector<std::string> args = {"summary", "--file", file};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult with = RunCli(args);
    CliResult without = RunCli(args, "", "", kNoIndex);
    EXPECT_EQ(with.exit_code, without.exit_code) << what;
    EXPECT_EQ(with.out, without.out) << what;
    EXPECT_EQ(with.err, without.err) << what;
  }
}

std::string MakeTrace(const TempDir& dir, int records) {
  const std::string file = dir.File("t.traceframe");
  EXPECT_EQ(RunCli({"init", "--file", file, "--run-id", "run-cli"}).exit_code, 0);
  for (int i = 0; i < records; ++i) {
    EXPECT_EQ(RunCli({"record", "--file", file, "--kind", i % 2 ? "tool.result" : "tool.call",
                      "--payload", i % 4 == 1 ? "{\"success\":false}" : "{\"i\":1}"})
                  .exit_code,
              0);
  }
  return file;
}

TEST(CliIndex, WritersKeepItAndCheckSaysOk) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 6);
  ASSERT_TRUE(FileExists(Idx(file)));
  CliResult check = RunCli({"index", "check", "--file", file});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("traceframe index check\n"));
  EXPECT_THAT(check.out, HasSubstr("  state       ok\n"));
  EXPECT_THAT(check.out, HasSubstr("  events      7\n"));
  ExpectSummaryMatchesFullScan(file, "open");
  ASSERT_EQ(RunCli({"finish", "--file", file, "--status", "success"}).exit_code, 0);
  check = RunCli({"index", "check", "--file", file, "--json"});
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_THAT(check.out, HasSubstr("\"state\":\"ok\",\"ok\":true"));
  EXPECT_THAT(check.out, HasSubstr("\"finished_status\":\"success\""));
  ExpectSummaryMatchesFullScan(file, "closed");
}

TEST(CliIndex, DeletedIndexIsRebuiltByReaders) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 3);
  ASSERT_EQ(unlink(Idx(file).c_str()), 0);
  CliResult check = RunCli({"index", "check", "--file", file});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.out, HasSubstr("state       missing"));
  EXPECT_THAT(check.out, HasSubstr("next        traceframe index rebuild --file"));
  ExpectSummaryMatchesFullScan(file, "deleted");
  EXPECT_TRUE(FileExists(Idx(file)));
  EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0);
  // Appends recreate a missing index of a small trace on their own.
  ASSERT_EQ(unlink(Idx(file).c_str()), 0);
  ASSERT_EQ(RunCli({"record", "--file", file, "--kind", "error", "--payload", "{}"}).exit_code, 0);
  EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0);
}

TEST(CliIndex, TruncatedGarbageAndWrongVersionIndexes) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 5);
  const std::string good = ReadFileOrDie(Idx(file));
  std::string wrong_version = good;
  wrong_version[8] = 9;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"garbage", std::string(1000, 'g')},
      {"empty", ""},
      {"wrong version", wrong_version},
  };
  for (const auto& [name, bytes] : cases) {
    WriteFileOrDie(Idx(file), bytes);
    CliResult check = RunCli({"index", "check", "--file", file});
    EXPECT_EQ(check.exit_code, 1) << name;
    EXPECT_THAT(check.out, HasSubstr("state       invalid")) << name;
    if (name == "wrong version") {
      EXPECT_THAT(check.out, HasSubstr("unsupported index version 9"));
    }
    ExpectSummaryMatchesFullScan(file, name);
    // inspect ignores it and still works.
    CliResult inspect = RunCli({"inspect", "--file", file, "--from-seq", "3", "--classic"});
    EXPECT_EQ(inspect.exit_code, 0) << name;
    EXPECT_THAT(inspect.out, HasSubstr("#003 tool.call")) << name;
    EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0) << name << " rebuilt";
    // Appends also repair a broken index of a small trace.
    WriteFileOrDie(Idx(file), bytes);
    ASSERT_EQ(
        RunCli({"record", "--file", file, "--kind", "model.call", "--payload", "{}"}).exit_code, 0);
    EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0) << name;
  }
}

TEST(CliIndex, StaleAfterAForeignAppend) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 2);
  AppendFileOrDie(file,
                  EventLine("run-cli", "foreign-1", "model.call", 1800000000000, 3, "{}") + "\n");
  CliResult check = RunCli({"index", "check", "--file", file});
  EXPECT_EQ(check.exit_code, 0) << "a stale index is correct for what it covers";
  EXPECT_THAT(check.out, HasSubstr("state       stale"));
  ExpectSummaryMatchesFullScan(file, "stale");
  EXPECT_THAT(RunCli({"summary", "--file", file}).out, HasSubstr("events: 4\nmodel_calls: 1\n"));
  EXPECT_THAT(RunCli({"index", "check", "--file", file}).out, HasSubstr("state       ok"));
  // echo >> with a line that is not an event: summary fails exactly as a full scan.
  AppendFileOrDie(file, "hello\n");
  ExpectSummaryMatchesFullScan(file, "bad foreign line");
  EXPECT_EQ(RunCli({"summary", "--file", file}).exit_code, 1);
  // And the next append after a foreign event line goes on from it.
  TempDir dir2;
  const std::string file2 = MakeTrace(dir2, 1);
  AppendFileOrDie(file2, EventLine("run-cli", "foreign-2", "error", 1800000000000, 2, "{}") + "\n");
  ASSERT_EQ(RunCli({"record", "--file", file2, "--kind", "error", "--payload", "{}"}).exit_code, 0);
  EXPECT_THAT(RunCli({"index", "check", "--file", file2}).out, HasSubstr("state       ok"));
  EXPECT_THAT(RunCli({"summary", "--file", file2}).out, HasSubstr("errors: 2\n"));
}

TEST(CliIndex, TraceTruncatedBelowCoveredBytes) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 6);
  const std::string bytes = ReadFileOrDie(file);
  // Cut after the third line: the index covers more than the trace has.
  size_t cut = 0;
  for (int i = 0; i < 3; ++i) cut = bytes.find('\n', cut) + 1;
  WriteFileOrDie(file, bytes.substr(0, cut));
  CliResult check = RunCli({"index", "check", "--file", file});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.out, HasSubstr("state       mismatch"));
  EXPECT_THAT(check.out, HasSubstr("truncated or replaced"));
  ExpectSummaryMatchesFullScan(file, "truncated trace");
  EXPECT_THAT(RunCli({"summary", "--file", file}).out, HasSubstr("events: 3\n"));
  // Cut in the middle of a line: a torn tail, summarized up to it.
  WriteFileOrDie(file, bytes.substr(0, cut + 20));
  ExpectSummaryMatchesFullScan(file, "torn trace");
  EXPECT_THAT(RunCli({"summary", "--file", file}).out, HasSubstr("torn_tail: 20 bytes at byte"));
  // repair moves the torn bytes aside; the index still matches.
  ASSERT_EQ(RunCli({"repair", "--file", file}).exit_code, 0);
  ExpectSummaryMatchesFullScan(file, "repaired trace");
  EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0);
}

TEST(CliIndex, InitForceReplacesTheIndex) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 4);
  ASSERT_EQ(RunCli({"init", "--file", file, "--run-id", "run-new", "--force"}).exit_code, 0);
  EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0);
  CliResult summary = RunCli({"summary", "--file", file});
  EXPECT_THAT(summary.out, HasSubstr("run_id: run-new\nstatus: open\nevents: 1\n"));
  ExpectSummaryMatchesFullScan(file, "replaced");
}

TEST(CliIndex, ConcurrentAppendersKeepItRight) {
  TempDir dir;
  const std::string file = dir.File("c.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", file, "--run-id", "run-c"}).exit_code, 0);
  constexpr int kProcs = 16, kRecords = 20;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      int failures = 0;
      for (int r = 0; r < kRecords; ++r) {
        CliResult res =
            RunCli({"record", "--file", file, "--kind", r % 2 ? "tool.result" : "tool.call",
                    "--payload", r % 4 == 1 ? "{\"success\":false}" : "{\"p\":1}"});
        if (res.exit_code != 0) ++failures;
      }
      _exit(failures == 0 ? 0 : 1);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CliResult check = RunCli({"index", "check", "--file", file});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_THAT(check.out, HasSubstr("state       ok"));
  EXPECT_THAT(check.out, HasSubstr("events      321\n"));
  CliResult summary = RunCli({"summary", "--file", file});
  EXPECT_THAT(summary.out, HasSubstr("events: 321\nmodel_calls: 0\ntool_calls: 160\n"
                                     "tool_results: 160\ntool_failures: 80\n"));
  ExpectSummaryMatchesFullScan(file, "concurrent");
  EXPECT_EQ(RunCli({"verify", "--file", file, "--allow-open"}).exit_code, 0);
}

TEST(CliIndex, SummaryEqualsFullScanOnGeneratedTraces) {
  TempDir dir;
  const std::string file = dir.File("g.traceframe");
  for (uint64_t seed = 0; seed < 24; ++seed) {
    GenOptions o;
    o.events = 1 + static_cast<int>(seed * 5 % 40);
    o.closed = seed % 2 == 0;
    o.quirks = seed % 3 == 0;
    o.torn = seed % 4 == 3;
    o.defect = seed % 6 == 5 ? static_cast<int>(seed % 9) + 1 : 0;
    WriteFileOrDie(file, GenTrace(seed, o));
    unlink(Idx(file).c_str());
    ExpectSummaryMatchesFullScan(file, "seed " + std::to_string(seed) + " without index");
    ExpectSummaryMatchesFullScan(file, "seed " + std::to_string(seed) + " with index");
  }
}

TEST(CliIndex, RebuildWritesAFreshIndex) {
  TempDir dir;
  const std::string file = MakeTrace(dir, 3);
  WriteFileOrDie(Idx(file), "junk");
  CliResult rebuild = RunCli({"index", "rebuild", "--file", file});
  EXPECT_EQ(rebuild.exit_code, 0) << rebuild.err;
  EXPECT_THAT(rebuild.out, HasSubstr("traceframe index rebuild\n  file        " + file + "\n"));
  EXPECT_THAT(rebuild.out, HasSubstr("  events      4\n"));
  EXPECT_THAT(rebuild.out, HasSubstr("  validated   yes\n"));
  EXPECT_TRUE(rebuild.err.empty()) << "no progress line when stderr is not a terminal";
  EXPECT_EQ(RunCli({"index", "check", "--file", file}).exit_code, 0);

  WriteFileOrDie(dir.File("empty.traceframe"), "");
  CliResult empty = RunCli({"index", "rebuild", "--file", dir.File("empty.traceframe")});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.err, HasSubstr("Error: trace is empty"));
  CliResult missing = RunCli({"index", "check", "--file", dir.File("nope.traceframe")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("Error: failed to read trace file"));
  EXPECT_EQ(RunCli({"index"}).exit_code, 2);
}

}  // namespace
}  // namespace traceframe::testing
