// CLI tests for init, record, finish, verify, summary, inspect and repair: they
// run the built binary, as users and agents do.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
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
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::RunProgram;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

class CliCoreTest : public ::testing::Test {
 protected:
  CliResult Run(const std::vector<std::string>& args) { return RunCli(args, dir_.path()); }
  std::string Trace() const { return dir_.File("t.traceframe"); }
  TempDir dir_;
};

TEST_F(CliCoreTest, HappyPathLifecycle) {  // reference LC1, LC4
  CliResult init = Run({"init", "--file", "t.traceframe", "--run-id", "run-demo"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(init.out,
            "traceframe init\n  file        t.traceframe\n  run_id      run-demo\n"
            "  status      started\n\n");
  CliResult rec = Run({"record", "--file", "t.traceframe", "--kind", "model.call", "--payload",
                       "{\"provider\":\"openai\", \"model\":\"gpt\"}"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_EQ(rec.out,
            "traceframe record\n  file        t.traceframe\n  kind        model.call\n"
            "  seq         1\n\n");
  ASSERT_EQ(Run({"record", "--file", "t.traceframe", "--kind", "permission.decision", "--payload",
                 "{\"capability\":\"fs.write:README.md\",\"decision\":\"allow\"}"})
                .exit_code,
            0);
  ASSERT_EQ(Run({"record", "--file", "t.traceframe", "--kind", "tool.call", "--payload",
                 "{\"tool\":\"shell\",\"command\":\"make\"}"})
                .exit_code,
            0);
  CliResult fin = Run({"finish", "--file", "t.traceframe", "--summary", "verified by CLI test"});
  ASSERT_EQ(fin.exit_code, 0) << fin.err;
  EXPECT_THAT(fin.out, HasSubstr("traceframe finish"));
  EXPECT_THAT(fin.out, HasSubstr("status      success"));
  const std::string file = ReadFileOrDie(Trace());
  EXPECT_THAT(file, HasSubstr("\"kind\":\"run.finished\""));
  EXPECT_THAT(file, HasSubstr("\"summary\":\"verified by CLI test\""));
  // Payloads are stored minified with their key order kept.
  EXPECT_THAT(file, HasSubstr("\"payload\":{\"provider\":\"openai\",\"model\":\"gpt\"}"));

  CliResult verify = Run({"verify", "--file", "t.traceframe"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("result      valid trace"));
  CliResult summary = Run({"summary", "--file", "t.traceframe"});
  ASSERT_EQ(summary.exit_code, 0);
  EXPECT_THAT(summary.out, StartsWith("run_id: run-demo\nstatus: success\nevents: 5\n"));
  EXPECT_THAT(summary.out, HasSubstr("permission_decisions: 1\n"));
  EXPECT_EQ(SplitLines(summary.out).size(), 11u);
  CliResult inspect = Run({"inspect", "--file", "t.traceframe", "--classic"});
  ASSERT_EQ(inspect.exit_code, 0);
  const auto lines = SplitLines(inspect.out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[1], StartsWith("#001 model.call run=run-demo event="));
  EXPECT_THAT(lines[1], HasSubstr(" payload={\"provider\":\"openai\",\"model\":\"gpt\"}"));
  EXPECT_THAT(inspect.out, HasSubstr("tool.call"));
  EXPECT_THAT(inspect.out, HasSubstr("permission.decision"));
}

TEST_F(CliCoreTest, RecordRejectsBadInputAndLeavesTheTraceUntouched) {  // LC2, LC3
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  const std::string before = ReadFileOrDie(Trace());
  CliResult bad_json =
      Run({"record", "--file", "t.traceframe", "--kind", "model.call", "--payload", "{bad"});
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("Error: invalid JSON payload for model.call: "));
  EXPECT_THAT(bad_json.err, HasSubstr("(payload: {bad)"));
  CliResult nested =
      Run({"record", "--file", "t.traceframe", "--kind", "model.call", "--payload", "{\"a\":tru}"});
  EXPECT_EQ(nested.exit_code, 1);
  CliResult kind =
      Run({"record", "--file", "t.traceframe", "--kind", "agent.magic", "--payload", "{}"});
  EXPECT_EQ(kind.exit_code, 1);
  EXPECT_THAT(kind.err, HasSubstr("unknown event kind: agent.magic"));
  CliResult started =
      Run({"record", "--file", "t.traceframe", "--kind", "run.started", "--payload", "{}"});
  EXPECT_THAT(started.err, HasSubstr("run.started is created by traceframe init"));
  CliResult finished =
      Run({"record", "--file", "t.traceframe", "--kind", "run.finished", "--payload", "42"});
  EXPECT_EQ(finished.exit_code, 1);
  EXPECT_THAT(finished.err, HasSubstr("string \"status\""));
  EXPECT_EQ(ReadFileOrDie(Trace()), before);
}

TEST_F(CliCoreTest, PayloadFromFileOrStdin) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  // 50 MB payload: larger than one argv string may be.
  std::string big = "{\"output\":\"" + std::string(50 << 20, 'x') + "\"}";
  WriteFileOrDie(dir_.File("p.json"), big);
  CliResult rec = Run(
      {"record", "--file", "t.traceframe", "--kind", "tool.result", "--payload-file", "p.json"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  CliResult piped =
      RunCli({"record", "--file", "t.traceframe", "--kind", "error", "--payload-file", "-"},
             dir_.path(), "{\"message\":\"from stdin\"}");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  CliResult verify = Run({"verify", "--file", "t.traceframe", "--allow-open"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  CliResult tail = Run({"inspect", "--file", "t.traceframe", "--tail", "1"});
  EXPECT_THAT(tail.out, HasSubstr("from stdin"));
}

TEST_F(CliCoreTest, FinishTwiceFails) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  ASSERT_EQ(Run({"finish", "--file", "t.traceframe"}).exit_code, 0);
  CliResult again = Run({"finish", "--file", "t.traceframe"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("cannot append after run.finished"));
}

TEST_F(CliCoreTest, InitRefusesExistingAndForceReplaces) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "a"}).exit_code, 0);
  CliResult again = Run({"init", "--file", "t.traceframe", "--run-id", "b"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("trace already exists: t.traceframe"));
  EXPECT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "b", "--force"}).exit_code, 0);
  EXPECT_THAT(ReadFileOrDie(Trace()), HasSubstr("\"run_id\":\"b\""));
}

TEST_F(CliCoreTest, VerifyFailuresNameLineAndByte) {  // V1, V2, V3
  WriteFileOrDie(Trace(), "{bad}\n");
  CliResult bad = Run({"verify", "--file", "t.traceframe"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("invalid trace event"));
  EXPECT_THAT(bad.err, HasSubstr("(line 1, byte 0)"));
  ASSERT_EQ(Run({"init", "--file", "open.traceframe", "--run-id", "run-open"}).exit_code, 0);
  CliResult open = Run({"verify", "--file", "open.traceframe"});
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_THAT(open.err, HasSubstr("last event must be run.finished"));
  WriteFileOrDie(Trace(), EventLine("r", "a", "run.started", 1, 0, "{}") + "\n" +
                              EventLine("r", "b", "run.finished", 2, 1, "{\"status\":\"x\"}") +
                              "\n" + EventLine("r", "c", "error", 3, 2, "{}") + "\n");
  CliResult mid = Run({"verify", "--file", "t.traceframe", "--allow-open"});
  EXPECT_EQ(mid.exit_code, 1);
  EXPECT_THAT(mid.err, HasSubstr("run.finished must be last"));
}

TEST_F(CliCoreTest, OpenTraceCanBeReadButNotVerifiedClosed) {  // V4
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "run-open"}).exit_code, 0);
  CliResult summary = Run({"summary", "--file", "t.traceframe"});
  EXPECT_THAT(summary.out, HasSubstr("run_id: run-open"));
  EXPECT_THAT(summary.out, HasSubstr("status: open"));
  EXPECT_THAT(Run({"inspect", "--file", "t.traceframe"}).out, HasSubstr("run.started"));
  CliResult verify = Run({"verify", "--file", "t.traceframe", "--allow-open"});
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_THAT(verify.out, HasSubstr("valid open trace"));
}

TEST_F(CliCoreTest, VerifyJsonIsStable) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  CliResult json = Run({"verify", "--file", "t.traceframe", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.out, StartsWith("{\"file\":\"t.traceframe\",\"valid\":false,\"open\":true,"
                                   "\"events\":1,"));
  EXPECT_THAT(json.out, HasSubstr("\"error\":{\"line\":1,\"byte\":0,\"seq\":0,\"code\":"
                                  "\"not_finished\",\"message\":\"last event must be "
                                  "run.finished\"}"));
  CliResult ok = Run({"verify", "--file", "t.traceframe", "--json", "--allow-open"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_THAT(ok.out, HasSubstr("\"valid\":true"));
  EXPECT_THAT(ok.out, HasSubstr("\"error\":null"));
}

TEST_F(CliCoreTest, SummaryJsonHasTheSameFieldsAsNumbers) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  ASSERT_EQ(Run({"record", "--file", "t.traceframe", "--kind", "tool.result", "--payload",
                 "{\"success\":false}"})
                .exit_code,
            0);
  CliResult json = Run({"summary", "--file", "t.traceframe", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, StartsWith("{\"run_id\":\"r\",\"status\":\"open\",\"finished\":false,"
                                   "\"events\":2,\"model_calls\":0,\"tool_calls\":0,"
                                   "\"tool_results\":1,\"tool_failures\":1,"));
}

TEST_F(CliCoreTest, InspectFilters) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(
        Run({"record", "--file", "t.traceframe", "--kind", i % 3 == 0 ? "tool.call" : "model.call",
             "--payload", "{\"i\":" + std::to_string(i) + "}"})
            .exit_code,
        0);
  }
  auto seqs = [](const std::string& out) {
    std::vector<std::string> s;
    for (const auto& l : SplitLines(out)) s.push_back(l.substr(0, l.find(' ')));
    return s;
  };
  EXPECT_EQ(seqs(Run({"inspect", "--file", "t.traceframe", "--tail", "3"}).out),
            (std::vector<std::string>{"#028", "#029", "#030"}));
  EXPECT_EQ(
      seqs(Run({"inspect", "--file", "t.traceframe", "--from-seq", "17", "--limit", "2"}).out),
      (std::vector<std::string>{"#017", "#018"}));
  EXPECT_EQ(
      seqs(Run({"inspect", "--file", "t.traceframe", "--kind", "tool.call", "--tail", "2"}).out),
      (std::vector<std::string>{"#025", "#028"}));
  EXPECT_EQ(
      seqs(Run({"inspect", "--file", "t.traceframe", "--kind", "tool.call", "--from-seq", "20"})
               .out),
      (std::vector<std::string>{"#022", "#025", "#028"}));
  EXPECT_TRUE(Run({"inspect", "--file", "t.traceframe", "--from-seq", "99"}).out.empty());
  CliResult json = Run({"inspect", "--file", "t.traceframe", "--json", "--limit", "1"});
  EXPECT_EQ(json.out, SplitLines(ReadFileOrDie(Trace()))[0] + "\n");
  CliResult bad_kind = Run({"inspect", "--file", "t.traceframe", "--kind", "nope"});
  EXPECT_EQ(bad_kind.exit_code, 1);
}

TEST_F(CliCoreTest, RepairMovesATornTailAsideAndAppendsWorkAgain) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  const std::string good = ReadFileOrDie(Trace());
  testing::AppendFileOrDie(Trace(), "{\"version\":1,\"run_id\":\"r\",\"ev");
  CliResult refused =
      Run({"record", "--file", "t.traceframe", "--kind", "error", "--payload", "{}"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("torn line at byte " + std::to_string(good.size())));
  EXPECT_THAT(Run({"summary", "--file", "t.traceframe"}).out, HasSubstr("torn_tail: "));
  CliResult repair = Run({"repair", "--file", "t.traceframe"});
  ASSERT_EQ(repair.exit_code, 0) << repair.err;
  EXPECT_THAT(repair.out, HasSubstr("result      repaired"));
  EXPECT_THAT(repair.out, HasSubstr("verify      valid open trace"));
  const std::string saved = dir_.File("t.traceframe.torn-" + std::to_string(good.size()));
  EXPECT_EQ(ReadFileOrDie(saved), "{\"version\":1,\"run_id\":\"r\",\"ev");
  EXPECT_EQ(ReadFileOrDie(Trace()), good);
  CliResult healthy = Run({"repair", "--file", "t.traceframe"});
  EXPECT_EQ(healthy.exit_code, 0);
  EXPECT_THAT(healthy.out, HasSubstr("nothing to repair"));
  EXPECT_EQ(
      Run({"record", "--file", "t.traceframe", "--kind", "error", "--payload", "{}"}).exit_code, 0);
}

TEST_F(CliCoreTest, UsageErrorsExitTwoAndHelpWorks) {
  EXPECT_EQ(Run({"bogus"}).exit_code, 2);
  EXPECT_EQ(Run({"record", "--file", "t.traceframe"}).exit_code, 2);
  EXPECT_EQ(Run({}).exit_code, 2);
  CliResult version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, StartsWith("traceframe "));
  for (const char* cmd : {"init", "record", "finish", "verify", "summary", "inspect", "repair"}) {
    CliResult help = Run({cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << cmd;
    EXPECT_THAT(help.out, HasSubstr("--file")) << cmd;
  }
  CliResult missing = Run({"summary", "--file", "missing.traceframe"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err,
              HasSubstr("Error: failed to read trace file missing.traceframe: No such file"));
}

TEST_F(CliCoreTest, ConcurrentRecordsFromManyProcessesLoseNothing) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int p = 0; p < 32; ++p) {
    workers.emplace_back([&, p] {
      const std::string script =
          "i=0; while [ $i -lt 20 ]; do \"$0\" record --file t.traceframe --kind model.call "
          "--payload '{\"p\":" +
          std::to_string(p) +
          ",\"i\":'$i'}' >/dev/null || exit 1; "
          "i=$((i+1)); done";
      // 32 processes queue for one lock, slowly under sanitizers: wait as
      // long as it takes (this test is about what lands, not wait times).
      CliResult r = RunProgram({"sh", "-c", script, testing::CliPath()}, dir_.path(), "",
                               {"TRACEFRAME_LOCK_TIMEOUT_MS=300000"});
      if (r.exit_code != 0) ++failures;
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  const auto lines = SplitLines(ReadFileOrDie(Trace()));
  EXPECT_EQ(lines.size(), 641u);
  CliResult verify = Run({"verify", "--file", "t.traceframe", "--allow-open", "--strict"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("events      641"));
}

TEST_F(CliCoreTest, CliAppendWaitsForAHeldLockThenNamesTheHolder) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  // flock(1) holds the trace's lock until the record below has given up. It
  // says so through a marker file written while it holds the lock: a fixed
  // sleep raced a slow fork+exec on a loaded CI machine (the record then
  // found the lock free and appended).
  const std::string held = dir_.File("held");
  const std::string done = dir_.File("done");
  std::thread holder([&] {
    RunProgram({"flock", Trace(), "sh", "-c",
                "touch \"$0\"; i=0; while [ ! -e \"$1\" ] && [ $i -lt 600 ]; do sleep 0.1; "
                "i=$((i+1)); done",
                held, done});
  });
  for (int i = 0; i < 6000 && !std::filesystem::exists(held); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!std::filesystem::exists(held)) {
    WriteFileOrDie(done, "");
    holder.join();
    FAIL() << "flock never took the lock";
  }
  CliResult r = RunCli({"record", "--file", "t.traceframe", "--kind", "error", "--payload", "{}"},
                       dir_.path(), "", {"TRACEFRAME_LOCK_TIMEOUT_MS=200"});
  WriteFileOrDie(done, "");
  holder.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is locked by another writer (pid "));
  EXPECT_THAT(ReadFileOrDie(Trace()), Not(HasSubstr("\"kind\":\"error\"")));
}

// main installs only the command group of argv[1] (cli.h): every command the
// full help lists must still parse and show its own help when run directly,
// so a group that names a command it does not add (or another group's) fails
// here. A typo still gets the usage error, with the full list behind it.
TEST(CliCommandGroups, EveryListedCommandRunsWithOnlyItsGroupInstalled) {
  const CliResult help = RunCli({"--help"});
  ASSERT_EQ(help.exit_code, 0);
  const size_t at = help.out.find("Subcommands:\n");
  ASSERT_NE(at, std::string::npos) << help.out;
  std::vector<std::string> commands;
  std::istringstream lines(help.out.substr(at + 13));
  for (std::string line; std::getline(lines, line);) {
    if (line.size() < 3 || line[0] != ' ') break;
    std::istringstream words(line);
    std::string name;
    words >> name;
    commands.push_back(name);
  }
  EXPECT_GE(commands.size(), 14u);
  for (const std::string& command : commands) {
    const CliResult r = RunCli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    EXPECT_NE(r.out.find("Usage: traceframe " + command), std::string::npos) << command;
  }
  const CliResult typo = RunCli({"sumary", "--file", "x"});
  EXPECT_EQ(typo.exit_code, 2);
}

}  // namespace
}  // namespace traceframe
