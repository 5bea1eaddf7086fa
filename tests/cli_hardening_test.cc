// CLI regression tests for the fault-injection and hostile-input campaign
// (issue 11): durability after failed syncs, closed stdio, FIFOs and planted
// files, torn-byte saves, typed payload checks, hook exit codes. They run the
// built binary, some under the fault injector (tests/fault_injector.c).
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::traceframe::testing::CliPath;
using ::traceframe::testing::CliResult;
using ::traceframe::testing::EventLine;
using ::traceframe::testing::FileExists;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::RunProgram;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

class CliHardeningTest : public ::testing::Test {
 protected:
  CliResult Run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    return RunCli(args, dir_.path(), "", env);
  }
  // The CLI under `timeout`, for inputs that used to hang it.
  CliResult RunBounded(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"timeout", "20", CliPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, dir_.path());
  }
  std::string Trace() const { return dir_.File("t.traceframe"); }
  void Init() {
    CliResult init = Run({"init", "--file", Trace(), "--run-id", "run-h"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }
  // The environment that loads the fault injector into the CLI for this trace.
  std::vector<std::string> FaultEnv(std::vector<std::string> extra) const {
    extra.push_back(std::string("LD_PRELOAD=") + TRACEFRAME_FAULT_INJECTOR);
    extra.push_back("FI_MATCH=t.traceframe");
    // A sanitized CLI wants its runtime first in the library list.
    extra.push_back("ASAN_OPTIONS=verify_asan_link_order=0");
    return extra;
  }
  TempDir dir_;
};

// Item 3: a failed fdatasync must not leave the event behind an exit 1.
TEST_F(CliHardeningTest, FailedSyncUndoesTheAppend) {
  Init();
  const std::string before = ReadFileOrDie(Trace());
  CliResult rec = Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{}"},
                      FaultEnv({"FI_SYNC_FAIL_AT=1"}));
  EXPECT_EQ(rec.exit_code, 1);
  EXPECT_THAT(rec.err, HasSubstr("failed to sync"));
  EXPECT_THAT(rec.err, HasSubstr("undone"));
  EXPECT_EQ(ReadFileOrDie(Trace()), before);
  // A retry records the event once.
  ASSERT_EQ(Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{}"}).exit_code,
            0);
  EXPECT_EQ(SplitLines(ReadFileOrDie(Trace())).size(), 2u);
  EXPECT_EQ(Run({"verify", "--file", Trace(), "--allow-open", "--strict"}).exit_code, 0);
}

TEST_F(CliHardeningTest, FailedSyncAndFailedUndoNameTheByteRange) {
  Init();
  const size_t size = ReadFileOrDie(Trace()).size();
  CliResult rec = Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{}"},
                      FaultEnv({"FI_SYNC_FAIL_AT=1", "FI_SYNC_FAIL_ALL=1"}));
  EXPECT_EQ(rec.exit_code, 1);
  EXPECT_THAT(rec.err, HasSubstr("could not undo"));
  EXPECT_THAT(rec.err, HasSubstr("bytes " + std::to_string(size) + "-"));
}

// A short write (full disk) is cut back as before.
TEST_F(CliHardeningTest, ShortWriteIsCutBack) {
  Init();
  const std::string before = ReadFileOrDie(Trace());
  CliResult rec = Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload",
                       "{\"pad\":\"" + std::string(200, 'x') + "\"}"},
                      FaultEnv({"FI_WRITE_BUDGET=50"}));
  EXPECT_EQ(rec.exit_code, 1);
  EXPECT_THAT(rec.err, HasSubstr("No space left"));
  EXPECT_EQ(ReadFileOrDie(Trace()), before);
}

// Item 2: with fds 0 and 2 closed, the signal self-pipe took fd 2 and the
// child's stderr byte 15 was read as SIGTERM.
TEST_F(CliHardeningTest, ClosedStdioDoesNotTurnOutputIntoSignals) {
  Init();
  CliResult r = RunProgram(
      {"sh", "-c",
       "\"$0\" exec --file t.traceframe -- sh -c 'printf \"\\017\" >&2; sleep 1' <&- 2>&-; "
       "echo rc=$?",
       CliPath()},
      dir_.path());
  EXPECT_THAT(r.out, HasSubstr("rc=0")) << r.out << r.err;
  EXPECT_THAT(ReadFileOrDie(Trace()), HasSubstr("\"exit_code\":0"));
}

// Item 6: a second tear at the same offset is saved beside the first.
TEST_F(CliHardeningTest, RepairNeverReplacesSavedTornBytes) {
  Init();
  const std::string good = ReadFileOrDie(Trace());
  const std::string saved = Trace() + ".torn-" + std::to_string(good.size());
  testing::AppendFileOrDie(Trace(), "{\"first torn");
  ASSERT_EQ(Run({"repair", "--file", Trace()}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(saved), "{\"first torn");
  testing::AppendFileOrDie(Trace(), "{\"second torn");
  CliResult again = Run({"repair", "--file", Trace()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFileOrDie(saved), "{\"first torn");
  EXPECT_EQ(ReadFileOrDie(saved + "-2"), "{\"second torn");
  EXPECT_THAT(again.out + again.err, HasSubstr(saved + "-2"));
  EXPECT_EQ(ReadFileOrDie(Trace()), good);
}

// Item 19: when opening for writing fails, repair says so.
TEST_F(CliHardeningTest, RepairOnReadOnlyFileSystemNamesTheWrite) {
  Init();
  testing::AppendFileOrDie(Trace(), "{\"torn");
  CliResult r;
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(Trace().c_str(), 0444), 0);
    r = Run({"repair", "--file", Trace()});
  } else {
    // Root writes through file modes: use a read-only mount instead.
    r = RunProgram({"unshare", "-m", "sh", "-c",
                    "mkdir ro && mount -t tmpfs none ro && cp t.traceframe ro/ && "
                    "mount -o remount,ro ro && \"$0\" repair --file ro/t.traceframe",
                    CliPath()},
                   dir_.path());
  }
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("failed to open trace file for writing"));
  EXPECT_THAT(r.err, Not(HasSubstr("failed to read")));
}

// Item 10: a FIFO at the trace path is refused by every command, at once.
TEST_F(CliHardeningTest, FifoTracePathIsRefusedNotWaitedOn) {
  ASSERT_EQ(::mkfifo(Trace().c_str(), 0644), 0);
  const std::vector<std::vector<std::string>> commands = {
      {"verify", "--file", Trace()},
      {"summary", "--file", Trace()},
      {"inspect", "--file", Trace()},
      {"repair", "--file", Trace()},
      {"render", "--file", Trace(), "--html", dir_.File("r.html")},
      {"index", "rebuild", "--file", Trace()},
      {"policy-check", "--file", Trace()},
      {"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{}"},
  };
  for (const auto& args : commands) {
    CliResult r = RunBounded(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("not a regular file")) << args[0];
  }
}

// Item 9: a planted index (FIFO, link to /dev/zero, huge sparse file) is
// rebuilt, never waited on or read into memory.
TEST_F(CliHardeningTest, HostileIndexIsIgnoredAndRebuilt) {
  Init();
  const std::string idx = Trace() + ".idx";
  ::unlink(idx.c_str());
  ASSERT_EQ(::mkfifo(idx.c_str(), 0644), 0);
  CliResult rec =
      RunBounded({"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{}"});
  EXPECT_EQ(rec.exit_code, 0) << rec.err;
  CliResult sum = RunBounded({"summary", "--file", Trace()});
  EXPECT_EQ(sum.exit_code, 0) << sum.err;

  ::unlink(idx.c_str());
  ASSERT_EQ(::symlink("/dev/zero", idx.c_str()), 0);
  sum = RunBounded({"summary", "--file", Trace()});
  EXPECT_EQ(sum.exit_code, 0) << sum.err;
  EXPECT_THAT(sum.out, HasSubstr("events: 2"));

  ::unlink(idx.c_str());
  ASSERT_EQ(::truncate(idx.c_str(), 0), -1);  // gone
  WriteFileOrDie(idx, "");
  ASSERT_EQ(::truncate(idx.c_str(), 2LL << 30), 0);  // 2 GiB, sparse
  sum = RunBounded({"summary", "--file", Trace()});
  EXPECT_EQ(sum.exit_code, 0) << sum.err;
  EXPECT_THAT(sum.out, HasSubstr("events: 2"));
}

// Items 5 and 14: the library's payload contract, through the CLI.
TEST_F(CliHardeningTest, RecordRefusesDuplicateKeysAndAFakeFinishedStatus) {
  Init();
  const std::string before = ReadFileOrDie(Trace());
  CliResult dup = Run({"record", "--file", Trace(), "--kind", "permission.decision", "--payload",
                       "{\"decision\":\"allow\",\"decision\":\"deny\"}"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_THAT(dup.err, HasSubstr("duplicate key \"decision\""));
  CliResult fin = Run({"record", "--file", Trace(), "--kind", "run.finished", "--payload",
                       "{\"x\":{\"status\":\"n\"}}"});
  EXPECT_EQ(fin.exit_code, 1);
  EXPECT_THAT(fin.err, HasSubstr("string \"status\""));
  EXPECT_EQ(ReadFileOrDie(Trace()), before);
}

TEST_F(CliHardeningTest, VerifyWarnsOnDuplicateKeysAndStrictFails) {
  WriteFileOrDie(
      Trace(), EventLine("r", "e0", "run.started", 1, 0, "{}") + "\n" +
                   EventLine("r", "e1", "permission.decision", 2, 1,
                             "{\"decision\":\"allow\",\"decision\":\"deny\"}") +
                   "\n" + EventLine("r", "e2", "run.finished", 3, 2, "{\"status\":\"ok\"}") + "\n");
  CliResult plain = Run({"verify", "--file", Trace()});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(plain.out + plain.err, HasSubstr("decision"));
  CliResult strict = Run({"verify", "--file", Trace(), "--strict"});
  EXPECT_EQ(strict.exit_code, 1);
  CliResult json = Run({"verify", "--file", Trace(), "--json"});
  EXPECT_THAT(json.out, HasSubstr("\"duplicate_key\""));
}

// Item 15: extreme ts_ms saturates instead of overflowing.
TEST_F(CliHardeningTest, SummaryOfExtremeTimestampsSaturates) {
  WriteFileOrDie(
      Trace(),
      EventLine("r", "e0", "run.started", -9223372036854775807LL - 1, 0, "{}") + "\n" +
          EventLine("r", "e1", "run.finished", 9223372036854775807LL, 1, "{\"status\":\"ok\"}") +
          "\n");
  CliResult sum = Run({"summary", "--file", Trace(), "--json"});
  ASSERT_EQ(sum.exit_code, 0) << sum.err;
  EXPECT_THAT(sum.out, HasSubstr("\"duration_ms\":9223372036854775807"));
}

// Item 18: hosts read exit 2 as "block the tool call"; the hook group's
// usage errors exit 1.
TEST_F(CliHardeningTest, HookUsageErrorsExitOneNotTwo) {
  EXPECT_EQ(Run({"hook", "ingst", "--dir", "runs"}).exit_code, 1);
  EXPECT_EQ(Run({"hook"}).exit_code, 1);
  EXPECT_EQ(Run({"hook", "ingest", "--no-such-flag"}).exit_code, 1);
  // Other commands keep exit 2 for usage errors.
  EXPECT_EQ(Run({"verify", "--no-such-flag"}).exit_code, 2);
}

// Item 7: a link planted under --dir is refused, never followed.
TEST_F(CliHardeningTest, HookDirRefusesSymlinkedTraces) {
  ASSERT_EQ(::mkdir(dir_.File("outside").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dir_.File("d").c_str(), 0755), 0);
  ASSERT_EQ(Run({"init", "--file", "outside/victim.traceframe", "--run-id", "victim"}).exit_code,
            0);
  const std::string victim = ReadFileOrDie(dir_.File("outside/victim.traceframe"));
  ASSERT_EQ(::symlink("../outside/victim.traceframe", dir_.File("d/run-s1.traceframe").c_str()), 0);
  CliResult r = RunCli({"hook", "ingest", "--dir", "d"}, dir_.path(),
                       R"({"hook_event_name":"PreToolUse","session_id":"s1","tool_name":"Bash"})");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("symbolic link"));
  EXPECT_EQ(ReadFileOrDie(dir_.File("outside/victim.traceframe")), victim);
}

// Item 8: a session literally named "s-2" and the continuation of finished
// session "s" get different traces.
TEST_F(CliHardeningTest, HookContinuationNeverSharesAnotherSessionsTrace) {
  auto ingest = [&](const std::string& payload) {
    CliResult r = RunCli({"hook", "ingest", "--dir", "d"}, dir_.path(), payload);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  ingest(R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Bash"})");
  ingest(R"({"hook_event_name":"SessionEnd","session_id":"s","reason":"clear"})");
  ingest(R"({"hook_event_name":"PreToolUse","session_id":"s-2","tool_name":"Read"})");
  ingest(R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Write"})");
  const std::string literal = ReadFileOrDie(dir_.File("d/run-s-2.traceframe"));
  const std::string continued = ReadFileOrDie(dir_.File("d/run-s~2.traceframe"));
  EXPECT_THAT(literal, HasSubstr("Read"));
  EXPECT_THAT(literal, Not(HasSubstr("Write")));
  EXPECT_THAT(continued, HasSubstr("Write"));
  EXPECT_THAT(continued, Not(HasSubstr("Read")));
}

// Item 4 and issue 18: what real hosts emit that strict parsers refuse is
// repaired and the event kept, saying so in the payload.
TEST_F(CliHardeningTest, HookKeepsEventsWithLoneSurrogatesBigIntegersAndBadUtf8) {
  auto ingest = [&](const std::string& payload) {
    CliResult r = RunCli({"hook", "ingest", "--dir", "d"}, dir_.path(), payload);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  ingest(R"({"hook_event_name":"PreToolUse","session_id":"u","tool_name":"Bash",)"
         R"("tool_input":{"command":"echo \ud83d cut","n":123456789012345678901234567890,)"
         R"("pair":"\ud83d\ude00"}})");
  ingest(
      "{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"u\",\"tool_name\":\"Bash\","
      "\"tool_input\":{\"command\":\"printf \xff\xfe\"}}");
  // A repeated key in a host payload keeps the event (the first value).
  ingest(R"({"hook_event_name":"PreToolUse","session_id":"u","tool_name":"Bash",)"
         R"("tool_input":{"command":"a","command":"b"}})");
  const std::string trace = ReadFileOrDie(dir_.File("d/run-u.traceframe"));
  const std::vector<std::string> lines = SplitLines(trace);
  ASSERT_EQ(lines.size(), 4u) << trace;
  EXPECT_THAT(lines[1],
              HasSubstr("\"input_repaired\":[\"lone_surrogate\",\"number_out_of_range\"]"));
  EXPECT_THAT(lines[1], HasSubstr("\"123456789012345678901234567890\""));
  EXPECT_THAT(lines[1], HasSubstr("echo \xEF\xBF\xBD cut"));
  EXPECT_THAT(lines[1], HasSubstr("\xF0\x9F\x98\x80"));  // a valid pair is kept
  EXPECT_THAT(lines[2], HasSubstr("\"input_repaired\":[\"invalid_utf8\"]"));
  EXPECT_THAT(lines[2], HasSubstr("printf \xEF\xBF\xBD\xEF\xBF\xBD"));
  EXPECT_THAT(lines[3], HasSubstr("[duplicate keys dropped]"));
  CliResult verify = Run({"verify", "--file", "d/run-u.traceframe", "--allow-open", "--strict"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// Item 17: bidi overrides and control characters are shown, not obeyed.
TEST_F(CliHardeningTest, ReportAndErrorsShowInvisibleCharactersAsEscapes) {
  Init();
  ASSERT_EQ(Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload",
                 "{\"tool\":\"Bash\",\"command\":\"echo \\u202Egnp.exe \\u001b[31mred\"}"})
                .exit_code,
            0);
  CliResult render = Run({"render", "--file", Trace(), "--html", dir_.File("r.html")});
  ASSERT_EQ(render.exit_code, 0) << render.err;
  const std::string html = ReadFileOrDie(dir_.File("r.html"));
  EXPECT_EQ(html.find("\xE2\x80\xAE"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_THAT(html, HasSubstr("\\u202E"));
  EXPECT_THAT(html, HasSubstr("\\u001B"));
  CliResult bad =
      Run({"record", "--file", Trace(), "--kind", "tool.call", "--payload", "{\x1b]0;owned\x07"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err.find('\x1b'), std::string::npos) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("\\x1b]0;owned\\x07"));
}

}  // namespace
}  // namespace traceframe
