// `traceframe policy-check` through the built binary: the reference's PC1-PC3
// plus open traces, --json, the example run and invalid traces.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using testing::EventLine;
using ::testing::HasSubstr;
using testing::RunCli;
using testing::TempDir;
using testing::WriteFileOrDie;

std::string Trace(const std::vector<std::pair<std::string, std::string>>& events,
                  bool finished = true) {
  std::string out = EventLine("run-p", "e0", "run.started", 1000, 0,
                              R"({"created_by":"traceframe","status":"started"})") +
                    "\n";
  unsigned long long seq = 1;
  for (const auto& [kind, payload] : events) {
    out += EventLine("run-p", "e" + std::to_string(seq), kind, 1000 + seq, seq, payload) + "\n";
    ++seq;
  }
  if (finished) {
    out += EventLine("run-p", "e" + std::to_string(seq), "run.finished", 1000 + seq, seq,
                     R"({"status":"success"})") +
           "\n";
  }
  return out;
}

TEST(CliPolicy, PC1AllowThenPushIsClean) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"),
                 Trace({{"permission.decision", R"({"capability":"git.push","decision":"allow"})"},
                        {"tool.call", R"({"tool":"shell","command":"git push origin main"})"}}));
  CliResult r = RunCli({"policy-check", "--file", "t.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "traceframe policy-check\n  file        t.traceframe\n  result      clean\n\n");
}

TEST(CliPolicy, PC2UnresolvedDeny) {
  TempDir dir;
  WriteFileOrDie(
      dir.File("t.traceframe"),
      Trace({{"permission.decision", R"({"capability":"fs.write:secrets","decision":"deny"})"}}));
  CliResult r = RunCli({"policy-check", "--file", "t.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("unresolved deny"));
  EXPECT_THAT(r.err, HasSubstr("fs.write:secrets"));
}

TEST(CliPolicy, PC3SensitiveCallWithoutAllow) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"),
                 Trace({{"tool.call", R"({"command":"git push --force origin main"})"}}));
  CliResult r = RunCli({"policy-check", "--file", "t.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("sensitive tool.call"));
}

TEST(CliPolicy, ExampleRunOutputMatchesTheReference) {
  TempDir dir;
  // examples/agent-run.traceframe as reference §1.6 describes it.
  const std::string trace =
      EventLine("run-agent-demo", "demo-000", "run.started", 1000, 0,
                R"({"created_by":"traceframe","status":"started"})") +
      "\n" +
      EventLine("run-agent-demo", "demo-001", "model.call", 1010, 1,
                R"({"provider":"openai","model":"gpt-5.5","purpose":"plan file edit"})") +
      "\n" +
      EventLine("run-agent-demo", "demo-002", "permission.decision", 1020, 2,
                R"({"source":"policy","capability":"fs.write:README.md","decision":"allow"})") +
      "\n" +
      EventLine("run-agent-demo", "demo-003", "tool.call", 1030, 3,
                R"({"tool":"shell","command":"cargo test"})") +
      "\n" +
      EventLine("run-agent-demo", "demo-004", "tool.result", 1080, 4,
                R"({"exit_code":101,"stderr":"one test failed"})") +
      "\n" +
      EventLine(
          "run-agent-demo", "demo-005", "permission.decision", 1090, 5,
          R"({"source":"policy","capability":"git.push:main","decision":"deny","reason":"public side effect blocked"})") +
      "\n" +
      EventLine(
          "run-agent-demo", "demo-006", "error", 1100, 6,
          R"({"message":"verification failed before publish","action":"convert failure into regression test"})") +
      "\n" +
      EventLine("run-agent-demo", "demo-007", "run.finished", 1110, 7, R"({"status":"failed"})") +
      "\n";
  WriteFileOrDie(dir.File("agent-run.traceframe"), trace);
  CliResult r = RunCli({"policy-check", "--file", "agent-run.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "traceframe policy-check\n"
            "  file        agent-run.traceframe\n"
            "  result      1 violation(s)\n"
            "\n"
            "  - unresolved deny at seq 5: capability git.push:main was denied with no later "
            "allow\n");
  EXPECT_EQ(RunCli({"verify", "--file", "agent-run.traceframe"}, dir.path()).exit_code, 0);
}

TEST(CliPolicy, OpenTracesAreCheckedWithOrWithoutAllowOpen) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"),
                 Trace({{"tool.call", R"({"command":"cd repo && git  push origin main"})"}},
                       /*finished=*/false));
  for (bool allow_open : {false, true}) {
    std::vector<std::string> args = {"policy-check", "--file", "t.traceframe"};
    if (allow_open) args.push_back("--allow-open");
    CliResult r = RunCli(args, dir.path());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("sensitive tool.call at seq 1"));
  }
  WriteFileOrDie(dir.File("clean.traceframe"),
                 Trace({{"tool.call", R"({"command":"echo \"git push\""})"}}, false));
  CliResult r = RunCli({"policy-check", "--file", "clean.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliPolicy, JsonListsViolations) {
  TempDir dir;
  WriteFileOrDie(
      dir.File("t.traceframe"),
      Trace({{"permission.decision", R"({"capability":"git.push:dev","decision":"allow"})"},
             {"tool.call", R"({"command":"git push origin main"})"},
             {"permission.decision", R"({"command":"rm -rf /","decision":"blocked"})"}}));
  CliResult r = RunCli({"policy-check", "--file", "t.traceframe", "--json"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr(R"("clean":false)"));
  EXPECT_THAT(r.out, HasSubstr(R"("violation_count":2)"));
  EXPECT_THAT(
      r.out,
      HasSubstr(
          R"({"seq":3,"rule":"unresolved_deny","capability":"rm -rf /","message":"unresolved deny at seq 3: command rm -rf / was denied with no later allow"})"));
  EXPECT_THAT(r.out, HasSubstr(R"({"seq":2,"rule":"sensitive_call","capability":"git.push:main")"));
  WriteFileOrDie(dir.File("c.traceframe"), Trace({}));
  r = RunCli({"policy-check", "--file", "c.traceframe", "--json"}, dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(
      r.out,
      R"({"file":"c.traceframe","clean":true,"open":false,"events":2,"violation_count":0,"violations":[],"approved_by_host":[]})"
      "\n");
}

TEST(CliPolicy, InvalidOrMissingTraceIsAnError) {
  TempDir dir;
  WriteFileOrDie(dir.File("bad.traceframe"), "{bad}\n");
  CliResult r = RunCli({"policy-check", "--file", "bad.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_THAT(r.err, HasSubstr("bad.traceframe"));
  r = RunCli({"policy-check", "--file", "missing.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.traceframe"));
}

// A `git push` the user approved in Claude Code (issue 18): the host sends
// PreToolUse, then its permission request (ask), then PostToolUse once the
// tool ran. That is approval by the host; --explicit-allow-only is stricter.
TEST(CliPolicy, HostAskFollowedByExecutionIsApprovedByTheHost) {
  TempDir dir;
  const std::string common =
      R"("session_id":"s-push","cwd":"/w","tool_name":"Bash","tool_use_id":"toolu_1",)"
      R"("tool_input":{"command":"git push origin main"})";
  const std::vector<std::string> session = {
      R"({"hook_event_name":"SessionStart","session_id":"s-push","source":"startup"})",
      R"({"hook_event_name":"PreToolUse",)" + common + "}",
      R"({"hook_event_name":"PermissionRequest",)" + common + "}",
      R"({"hook_event_name":"PostToolUse",)" + common +
          R"(,"tool_response":{"stdout":"ok","exit_code":0}})",
      R"({"hook_event_name":"SessionEnd","session_id":"s-push","reason":"other"})"};
  for (const std::string& payload : session) {
    CliResult r = RunCli({"hook", "ingest", "--dir", "runs"}, dir.path(), payload);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string file = "runs/run-s-push.traceframe";
  ASSERT_EQ(RunCli({"verify", "--file", file}, dir.path()).exit_code, 0);
  CliResult r = RunCli({"policy-check", "--file", file}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  result      clean\n"));
  EXPECT_THAT(r.out, HasSubstr("approved by host: sensitive tool.call at seq 1: command git push "
                               "origin main approved by the host (permission request at seq 2, "
                               "tool ran: tool.result at seq 3)"));
  r = RunCli({"policy-check", "--json", "--file", file}, dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr(R"("violation_count":0)"));
  EXPECT_THAT(r.out, HasSubstr(R"("approved_by_host":[{"seq":1,"ask_seq":2,"result_seq":3,)"
                               R"("capability":"git.push:main")"));
  r = RunCli({"policy-check", "--explicit-allow-only", "--file", file}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("sensitive tool.call at seq 1"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("approved by host")));
  r = RunCli({"policy-check", "--explicit-allow-only", "--json", "--file", file}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr(R"("violation_count":1)"));
  EXPECT_THAT(r.out, HasSubstr(R"("approved_by_host":[])"));
}

// Asked but never ran (the user said no): still a violation; ran without an
// ask: still a violation.
TEST(CliPolicy, AskWithoutExecutionOrExecutionWithoutAskIsAViolation) {
  TempDir dir;
  const std::string call = R"({"tool":"Bash","command":"git push origin main",)"
                           R"("host":{"tool_use_id":"t1"}})";
  WriteFileOrDie(
      dir.File("asked.traceframe"),
      Trace({{"tool.call", call},
             {"permission.decision", R"({"decision":"ask","command":"git push origin main",)"
                                     R"("host":{"tool_use_id":"t1"}})"}}));
  CliResult r = RunCli({"policy-check", "--file", "asked.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("sensitive tool.call at seq 1"));
  WriteFileOrDie(dir.File("ran.traceframe"),
                 Trace({{"tool.call", call},
                        {"tool.result", R"({"command":"git push origin main","success":true,)"
                                        R"("host":{"tool_use_id":"t1"}})"}}));
  r = RunCli({"policy-check", "--file", "ran.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("sensitive tool.call at seq 1"));
}

}  // namespace
}  // namespace traceframe
