// `traceframe hook ingest` and `hook install` through the built binary: the
// reference's HK1-HK17 adapted (confirmations moved from stdout to stderr),
// and the fixes: exit codes, silence on stdout, hostile session ids, bounded
// payloads, concurrent first use, resumed sessions, installer updates.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "test_util.h"
#include "traceframe/hook.h"
#include "util/shell_quote.h"

namespace traceframe {
namespace {

using internal::ShellQuote;

using testing::CliResult;
using testing::FileExists;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFileOrDie;
using testing::RunCli;
using testing::SplitLines;
using ::testing::StartsWith;
using testing::TempDir;
using testing::WriteFileOrDie;

constexpr char kPre[] =
    R"({"hook_event_name":"PreToolUse","session_id":"host-session","tool_name":"Bash",)"
    R"("tool_input":{"command":"cargo test"}})";
constexpr char kPost[] =
    R"({"hook_event_name":"PostToolUse","session_id":"host-session","tool_name":"Bash",)"
    R"("tool_input":{"command":"cargo test"},"tool_response":{"stdout":"test result: ok","exit_code":0}})";

CliResult Ingest(const std::vector<std::string>& flags, const std::string& payload,
                 const std::string& cwd) {
  std::vector<std::string> args = {"hook", "ingest"};
  args.insert(args.end(), flags.begin(), flags.end());
  return RunCli(args, cwd, payload);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    // Each trace's sidecar index (<trace>.idx) is not a trace.
    if (name != "." && name != ".." &&
        !(name.size() > 4 && name.compare(name.size() - 4, 4, ".idx") == 0))
      names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(CliHook, HK1InitIfMissingThenAppend) {
  TempDir dir;
  CliResult r = Ingest({"--init-if-missing", "--run-id", "hook-run", "--file", "t.traceframe"},
                       kPre, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // nothing on stdout, ever
  EXPECT_EQ(r.err, "tool.call#1 -> t.traceframe\n");
  r = Ingest({"--file", "t.traceframe"}, kPost, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("tool.result#2"));
  r = RunCli({"summary", "--file", "t.traceframe"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("run_id: hook-run"));
  EXPECT_THAT(r.out, HasSubstr("tool_calls: 1"));
  EXPECT_THAT(r.out, HasSubstr("tool_results: 1"));
  EXPECT_EQ(RunCli({"finish", "--file", "t.traceframe"}, dir.path()).exit_code, 0);
  EXPECT_EQ(RunCli({"verify", "--file", "t.traceframe"}, dir.path()).exit_code, 0);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  EXPECT_THAT(trace, HasSubstr(R"("source":"generic")"));
  EXPECT_THAT(trace, HasSubstr(R"("hook_event":"PreToolUse")"));
  EXPECT_THAT(trace, HasSubstr(R"("session_id":"host-session")"));
}

TEST(CliHook, HK2SourceLabel) {
  TempDir dir;
  CliResult r = Ingest({"--dir", "runs", "--source", "my-harness"}, kPre, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File("runs/run-host-session.traceframe")),
              HasSubstr(R"("source":"my-harness")"));
}

TEST(CliHook, HK3PermissionAndErrorPayloads) {
  TempDir dir;
  CliResult r =
      Ingest({"--dir", "runs", "--run-id", "r"},
             R"({"decision":"deny","capability":"git.push:main","reason":"blocked"})", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("permission.decision#1"));
  r = Ingest({"--dir", "runs", "--run-id", "r"},
             R"({"hook_event_name":"HookError","error":{"message":"permission hook failed"}})",
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("error#2"));
  r = RunCli({"inspect", "--file", "runs/r.traceframe"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("permission.decision"));
  EXPECT_THAT(r.out, HasSubstr("permission hook failed"));
}

TEST(CliHook, HK4MissingFileWithoutInit) {
  TempDir dir;
  CliResult r = Ingest({"--file", "missing.traceframe"}, kPre, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("trace does not exist"));
  EXPECT_FALSE(FileExists(dir.File("missing.traceframe")));
}

TEST(CliHook, HK5EmptyStdin) {
  TempDir dir;
  for (const std::string& input : {std::string(""), std::string("  \n\t ")}) {
    CliResult r = Ingest({"--dir", "runs"}, input, dir.path());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("missing hook JSON on stdin"));
  }
}

TEST(CliHook, HK6InvalidJsonCreatesNothing) {
  TempDir dir;
  const std::string secret = "{bad " + std::string(10000, 'S');
  CliResult r = Ingest({"--init-if-missing", "--file", "t.traceframe"}, secret, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("invalid JSON payload"));
  EXPECT_LT(r.err.size(), 300u);  // stdin is not echoed back
  EXPECT_FALSE(FileExists(dir.File("t.traceframe")));
  for (const char* bad : {"[1,2]", "\"s\"", "{}", "{\"a\":1}{\"b\":2}"}) {
    r = Ingest({"--dir", "runs"}, bad, dir.path());
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(ListDir(dir.File("runs")).empty());
}

TEST(CliHook, HK7InstallPrint) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--file", ".agent/hooks.json", "--print"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The snippet alone on stdout (it parses as JSON); the block on stderr.
  EXPECT_THAT(r.err, HasSubstr("hook install (print)"));
  EXPECT_THAT(r.out, StartsWith("{"));
  EXPECT_THAT(r.out, Not(HasSubstr("hook install (print)")));
  {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    EXPECT_EQ(parser.parse(r.out).get(root), simdjson::SUCCESS) << r.out;
  }
  EXPECT_THAT(r.out, HasSubstr("traceframe hook ingest"));
  EXPECT_THAT(r.out, HasSubstr("PreToolUse"));
  EXPECT_THAT(r.out, HasSubstr("PostToolUse"));
  EXPECT_THAT(r.out, HasSubstr("--source generic"));
  EXPECT_THAT(r.out, HasSubstr(R"("matcher": "*")"));
  EXPECT_THAT(r.err, HasSubstr("paste this into the host"));
  EXPECT_THAT(r.out, HasSubstr("--dir " + dir.path() + "/.traceframe/runs"));
  EXPECT_FALSE(FileExists(dir.File(".agent/hooks.json")));
  EXPECT_FALSE(FileExists(dir.File(".agent")));
}

constexpr char kForeign[] = R"({
  "notify": ["say", "done"],
  "hooks": {
    "PreToolUse": [
      {"matcher": "Edit", "hooks": [{"type": "command", "command": "my-linter --check", "timeout": 10}]}
    ]
  }
}
)";

TEST(CliHook, HK8InstallMergesIdempotently) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.File(".agent").c_str(), 0755), 0);
  WriteFileOrDie(dir.File(".agent/hooks.json"), kForeign);
  CliResult r = RunCli({"hook", "install", "--file", ".agent/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wired PreToolUse and PostToolUse"));
  std::string text = ReadFileOrDie(dir.File(".agent/hooks.json"));
  EXPECT_THAT(text, HasSubstr("my-linter --check"));
  EXPECT_THAT(text, HasSubstr("\"notify\""));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
  simdjson::dom::array pre, post;
  ASSERT_EQ(root["hooks"]["PreToolUse"].get_array().get(pre), simdjson::SUCCESS);
  ASSERT_EQ(root["hooks"]["PostToolUse"].get_array().get(post), simdjson::SUCCESS);
  EXPECT_EQ(pre.size(), 2u);
  EXPECT_EQ(post.size(), 1u);
  r = RunCli({"hook", "install", "--file", ".agent/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("already wired"));
  const std::string again = ReadFileOrDie(dir.File(".agent/hooks.json"));
  EXPECT_EQ(again, text);
  EXPECT_EQ(Count(again, "traceframe hook ingest"), 2u);
}

TEST(CliHook, HK9InstallRunIdAndMatchers) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--file", ".agent/hooks.json", "--run-id", "demo-run"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFileOrDie(dir.File(".agent/hooks.json"));
  EXPECT_THAT(text, HasSubstr("--run-id demo-run"));
  EXPECT_EQ(Count(text, R"("matcher": "*")"), 2u);
}

TEST(CliHook, HK10InstallSourceAndFile) {
  TempDir dir;
  CliResult r =
      RunCli({"hook", "install", "--source", "my-harness", "--file", "hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File("hooks.json")), HasSubstr("--source my-harness"));
}

TEST(CliHook, HK11DirDerivesRunIdFromSession) {
  TempDir dir;
  CliResult r =
      Ingest({"--dir", "runs"},
             R"({"hook_event_name":"PreToolUse","session_id":"sess-A","tool_name":"Bash",)"
             R"("tool_input":{"command":"ls -la"}})",
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string trace = ReadFileOrDie(dir.File("runs/run-sess-A.traceframe"));
  EXPECT_THAT(trace, HasSubstr(R"("run_id":"run-sess-A")"));
  EXPECT_THAT(trace, HasSubstr("ls -la"));
}

TEST(CliHook, HK12SessionsGetTheirOwnTraces) {
  TempDir dir;
  const std::string a = R"({"hook_event_name":"PreToolUse","session_id":"A","tool_name":"Bash"})";
  const std::string b = R"({"hook_event_name":"PreToolUse","session_id":"B","tool_name":"Bash"})";
  const std::string a2 =
      R"({"hook_event_name":"PostToolUse","session_id":"A","tool_name":"Bash","tool_response":{}})";
  EXPECT_EQ(Ingest({"--dir", "runs"}, a, dir.path()).exit_code, 0);
  EXPECT_EQ(Ingest({"--dir", "runs"}, b, dir.path()).exit_code, 0);
  CliResult r = Ingest({"--dir", "runs"}, a2, dir.path());
  EXPECT_THAT(r.err, HasSubstr("tool.result#2"));
  EXPECT_EQ(ListDir(dir.File("runs")),
            (std::vector<std::string>{"run-A.traceframe", "run-B.traceframe"}));
  EXPECT_EQ(
      RunCli({"verify", "--allow-open", "--file", "runs/run-A.traceframe"}, dir.path()).exit_code,
      0);
  EXPECT_EQ(SplitLines(ReadFileOrDie(dir.File("runs/run-A.traceframe"))).size(), 3u);
}

TEST(CliHook, HK13NoSessionIdPreAndPostShareOneTrace) {
  TempDir dir;
  EXPECT_EQ(Ingest({"--dir", "runs"},
                   R"({"hook_event_name":"PreToolUse","tool_name":"Bash","cwd":"/w",)"
                   R"("tool_input":{"command":"cargo build"}})",
                   dir.path())
                .exit_code,
            0);
  EXPECT_EQ(Ingest({"--dir", "runs"},
                   R"({"hook_event_name":"PostToolUse","tool_name":"Bash","cwd":"/w",)"
                   R"("tool_input":{"command":"cargo build"},"tool_response":{"exit_code":0}})",
                   dir.path())
                .exit_code,
            0);
  std::vector<std::string> files = ListDir(dir.File("runs"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_THAT(files[0], ::testing::MatchesRegex("run-[0-9a-f]{16}\\.traceframe"));
  EXPECT_EQ(SplitLines(ReadFileOrDie(dir.File("runs/" + files[0]))).size(), 3u);
}

TEST(CliHook, HK14FileInitDerivesRunId) {
  TempDir dir;
  CliResult r = Ingest({"--file", "t.traceframe", "--init-if-missing"},
                       R"({"tool_name":"Bash","session_id":"sess-file"})", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File("t.traceframe")), HasSubstr(R"("run_id":"run-sess-file")"));
}

TEST(CliHook, HK15NeedsExactlyOneTarget) {
  TempDir dir;
  CliResult r = Ingest({}, kPre, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("pass exactly one of --file or --dir"));
  r = Ingest({"--file", "a", "--dir", "b"}, kPre, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not both"));
  EXPECT_EQ(r.out, "");
}

std::string PathWithCli() {
  const std::string bin = testing::CliPath();
  return "PATH=" + bin.substr(0, bin.rfind('/')) + ":/usr/bin:/bin";
}

// The wired command from a hooks file, as a host would read it.
std::string WiredCommand(const std::string& hooks_json, const std::string& event) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(hooks_json).get(root) != simdjson::SUCCESS) return "";
  simdjson::dom::array groups;
  if (root["hooks"][event].get_array().get(groups) != simdjson::SUCCESS) return "";
  for (simdjson::dom::element g : groups) {
    simdjson::dom::array handlers;
    if (g["hooks"].get_array().get(handlers) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element h : handlers) {
      std::string_view command;
      if (h["command"].get_string().get(command) == simdjson::SUCCESS &&
          command.find("traceframe hook ingest") != std::string_view::npos) {
        return std::string(command);
      }
    }
  }
  return "";
}

TEST(CliHook, HK16WiredCommandRunsAsTheHostWould) {
  TempDir dir;
  ASSERT_EQ(RunCli({"hook", "install", "--file", ".agent/hooks.json"}, dir.path()).exit_code, 0);
  const std::string command =
      WiredCommand(ReadFileOrDie(dir.File(".agent/hooks.json")), "PreToolUse");
  EXPECT_THAT(command, HasSubstr("--dir " + dir.path() + "/.traceframe/runs"));
  EXPECT_THAT(command, Not(HasSubstr("--init-if-missing")));
  EXPECT_THAT(command, Not(HasSubstr("--file")));
  CliResult r = testing::RunProgram(
      {"sh", "-c", command}, dir.path(),
      R"({"hook_event_name":"PreToolUse","session_id":"wired-session","tool_name":"Bash",)"
      R"("tool_input":{"command":"ls"}})",
      {PathWithCli()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("tool.call#1"));
  EXPECT_EQ(
      RunCli({"verify", "--allow-open", "--file", ".traceframe/runs/run-wired-session.traceframe"},
             dir.path())
          .exit_code,
      0);
}

TEST(CliHook, HK17RealisticClaudeCodePair) {
  TempDir dir;
  const std::string session = "00000000-1111-2222-3333-444444444444";
  const std::string common = R"("session_id":")" + session +
                             R"(","transcript_path":"/home/u/.claude/projects/p/)" + session +
                             R"(.jsonl","cwd":"/home/u/p","permission_mode":"default",)"
                             R"("turn_id":"turn-1","tool_use_id":"toolu_01ABC",)";
  CliResult r = Ingest({"--dir", "runs"},
                       "{" + common +
                           R"("hook_event_name":"PreToolUse","tool_name":"Bash",)"
                           R"("tool_input":{"command":"cargo test","description":"Run tests"}})",
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("tool.call#1"));
  r = Ingest(
      {"--dir", "runs"},
      "{" + common +
          R"("hook_event_name":"PostToolUse","tool_name":"Bash",)"
          R"("tool_input":{"command":"cargo test"},"tool_response":{"stdout":"test result: ok. 3 passed",)"
          R"("stderr":"","interrupted":false,"isImage":false,"exit_code":0}})",
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("tool.result#2"));
  const std::string path = "runs/run-" + session + ".traceframe";
  const std::string trace = ReadFileOrDie(dir.File(path));
  EXPECT_THAT(trace, HasSubstr(R"("hook_event":"PreToolUse")"));
  EXPECT_THAT(trace, HasSubstr(R"("hook_event":"PostToolUse")"));
  EXPECT_THAT(trace, HasSubstr(R"("tool":"Bash")"));
  EXPECT_THAT(trace, HasSubstr(R"("command":"cargo test")"));
  EXPECT_THAT(trace, HasSubstr(R"("exit_code":0)"));
  EXPECT_THAT(trace, HasSubstr("test result: ok. 3 passed"));
  EXPECT_THAT(trace, HasSubstr(R"("success":true)"));
  r = RunCli({"summary", "--file", path}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("tool_calls: 1"));
  EXPECT_THAT(r.out, HasSubstr("tool_results: 1"));
}

TEST(CliHook, NeverExitsTwo) {
  TempDir dir;
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--file"},
                                             {"--dir"},
                                             {"--source"},
                                             {"--dir", "runs", "extra-positional"},
                                             {"--file", "a", "--dir", "b"},
                                             {}}) {
    CliResult r = Ingest(flags, kPre, dir.path());
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(flags) << r.err;
    EXPECT_EQ(r.out, "");
  }
  // A directory where the trace should be, an unreadable dir: 1, not 2.
  ASSERT_EQ(mkdir(dir.File("runs").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.File("runs/run-host-session.traceframe").c_str(), 0755), 0);
  CliResult r = Ingest({"--dir", "runs"}, kPre, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
}

TEST(CliHook, IgnoredEventsExitZeroAndCreateNothing) {
  TempDir dir;
  CliResult r = Ingest({"--dir", "runs"},
                       R"({"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"hi"})",
                       dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("ignored UserPromptSubmit"));
  EXPECT_TRUE(ListDir(dir.File("runs")).empty());
  r = Ingest({"--dir", "runs", "--strict"}, R"({"hook_event_name":"Notification","message":"m"})",
             dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unsupported hook payload"));
  r = Ingest({"--dir", "runs", "--quiet"}, R"({"hook_event_name":"Stop"})", dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

TEST(CliHook, QuietSaysNothing) {
  TempDir dir;
  CliResult r = Ingest({"--dir", "runs", "--quiet"}, kPre, dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST(CliHook, DecisionAndCallInOneLockedWrite) {
  TempDir dir;
  CliResult r =
      Ingest({"--dir", "runs"},
             R"({"hook_event_name":"PreToolUse","session_id":"d","tool_name":"Bash",)"
             R"("tool_input":{"command":"git push origin main"},"permissionDecision":"allow"})",
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "permission.decision#1, tool.call#2 -> runs/run-d.traceframe\n");
  const std::vector<std::string> lines =
      SplitLines(ReadFileOrDie(dir.File("runs/run-d.traceframe")));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr(R"("kind":"permission.decision")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("kind":"tool.call")"));
  // The same ts: both were stamped by one append.
  auto ts = [](const std::string& line) {
    const size_t at = line.find("\"ts_ms\":");
    return line.substr(at, line.find(',', at) - at);
  };
  EXPECT_EQ(ts(lines[1]), ts(lines[2]));
  r = RunCli({"policy-check", "--file", "runs/run-d.traceframe"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliHook, HostileSessionIdsNeverWriteOutsideDir) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.File("work").c_str(), 0755), 0);
  const std::vector<std::string> ids = {"x/../../escaped",
                                        "../../../../tmp/pwned",
                                        "/etc/passwd",
                                        "a\\u0000b",
                                        "\\u0000",
                                        std::string(5000, 'L'),
                                        "\\u001b[31mred\\n\\r\\t",
                                        "..",
                                        ".",
                                        "",
                                        "   ",
                                        "a/b/c",
                                        "\\u00e9t\\u00e9/\\u2028",
                                        "con:aux|<>*?\\\""};
  std::set<std::string> expected_files;
  for (const std::string& id : ids) {
    const std::string payload = R"({"hook_event_name":"PreToolUse","tool_name":"Bash",)"
                                R"("cwd":"/w","session_id":")" +
                                id + R"("})";
    CliResult r = Ingest({"--dir", "runs"}, payload, dir.File("work"));
    ASSERT_EQ(r.exit_code, 0) << id << ": " << r.err;
    EXPECT_EQ(r.out, "");
  }
  // Hostile --run-id too.
  CliResult r = Ingest({"--dir", "runs", "--run-id", "../../outside"}, kPre, dir.File("work"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not filename-safe"));
  // Only work/ at the top; only runs/ in work; only plain safe files in runs.
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"work"}));
  EXPECT_EQ(ListDir(dir.File("work")), (std::vector<std::string>{"runs"}));
  const std::vector<std::string> files = ListDir(dir.File("work/runs"));
  EXPECT_GE(files.size(), ids.size() - 3);  // blank ids share the cwd fallback trace
  for (const std::string& name : files) {
    struct stat st;
    ASSERT_EQ(lstat(dir.File("work/runs/" + name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name;
    EXPECT_THAT(name, ::testing::MatchesRegex("[-A-Za-z0-9_.~]+\\.traceframe"));
    EXPECT_LE(name.size(), kRunIdMaxBytes + 11);
    EXPECT_EQ(name.find(".."), std::string::npos);
    EXPECT_EQ(
        RunCli({"verify", "--allow-open", "--file", "work/runs/" + name}, dir.path()).exit_code, 0)
        << name;
  }
}

TEST(CliHook, FiftyMegabyteToolResponseStaysBounded) {
  TempDir dir;
  std::string payload = R"({"hook_event_name":"PostToolUse","session_id":"big","tool_name":"Bash",)"
                        R"("tool_input":{"command":"cat big.log"},"tool_response":{"stdout":")";
  payload.append(50u << 20, 'z');
  payload.append(R"(","exit_code":0}})");
  CliResult r = Ingest({"--dir", "runs"}, payload, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string trace = ReadFileOrDie(dir.File("runs/run-big.traceframe"));
  EXPECT_LT(trace.size(), 16u * 1024);
  EXPECT_THAT(trace, HasSubstr("\\n[truncated]"));
  EXPECT_THAT(trace, HasSubstr("\"output_bytes\":" + std::to_string(50u << 20)));
  EXPECT_EQ(
      RunCli({"verify", "--allow-open", "--file", "runs/run-big.traceframe"}, dir.path()).exit_code,
      0);
}

TEST(CliHook, RawPayloadIsKeptRedactedAndBounded) {
  TempDir dir;
  std::string payload =
      R"({"hook_event_name":"PostToolUse","session_id":"raw","tool_name":"Bash",)"
      R"("tool_input":{"command":"deploy --prod","api_token":"tok-SECRET-1"},)"
      R"("env":{"AWS_SECRET_ACCESS_KEY":"wJalr-SECRET-2"},"host_field_from_the_future":"kept",)"
      R"("tool_response":{"stdout":")";
  payload.append(200000, 'q');
  payload.append(R"(","exit_code":0}})");
  CliResult r = Ingest({"--dir", "runs"}, payload, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string trace = ReadFileOrDie(dir.File("runs/run-raw.traceframe"));
  const std::vector<std::string> lines = SplitLines(trace);
  ASSERT_EQ(lines.size(), 2u);
  const std::string& result = lines[1];
  EXPECT_THAT(result, HasSubstr(R"("kind":"tool.result")"));
  EXPECT_THAT(result, HasSubstr(R"("raw":{"hook_event_name":"PostToolUse","session_id":"raw",)"));
  EXPECT_THAT(result, HasSubstr(R"("host_field_from_the_future":"kept")"));
  EXPECT_THAT(result, HasSubstr(R"("api_token":"[redacted]")"));
  EXPECT_THAT(result, HasSubstr(R"("AWS_SECRET_ACCESS_KEY":"[redacted]")"));
  EXPECT_THAT(trace, Not(HasSubstr("tok-SECRET-1")));
  EXPECT_THAT(trace, Not(HasSubstr("wJalr-SECRET-2")));
  EXPECT_THAT(result, HasSubstr("\"raw_bytes\":" + std::to_string(payload.size())));
  // output and raw's stdout: 4000 characters each, not 200000.
  EXPECT_EQ(Count(result, std::string(4000, 'q') + "\\n[truncated]"), 2u);
  EXPECT_LT(result.size(), 12u * 1024);
  EXPECT_EQ(RunCli({"verify", "--allow-open", "--strict", "--file", "runs/run-raw.traceframe"},
                   dir.path())
                .exit_code,
            0);
}

TEST(CliHook, SixtyFourConcurrentFirstEventsMakeOneTrace) {
  TempDir dir;
  constexpr int kN = 64;
  std::vector<std::thread> threads;
  std::vector<int> codes(kN, -1);
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      const std::string payload =
          R"({"hook_event_name":"PreToolUse","session_id":"race","tool_name":"Bash",)"
          R"("tool_input":{"command":"echo )" +
          std::to_string(i) + R"("}})";
      codes[i] = Ingest({"--dir", "runs", "--quiet"}, payload, dir.path()).exit_code;
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kN; ++i) EXPECT_EQ(codes[i], 0) << i;
  EXPECT_EQ(ListDir(dir.File("runs")), (std::vector<std::string>{"run-race.traceframe"}));
  const std::vector<std::string> lines =
      SplitLines(ReadFileOrDie(dir.File("runs/run-race.traceframe")));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kN + 1));
  EXPECT_EQ(Count(ReadFileOrDie(dir.File("runs/run-race.traceframe")), "\"run.started\""), 1u);
  std::set<std::string> commands;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], HasSubstr("\"seq\":" + std::to_string(i) + ","));
    const size_t at = lines[i].find("\"command\":\"echo ");
    if (at != std::string::npos) commands.insert(lines[i].substr(at, 25));
  }
  EXPECT_EQ(commands.size(), static_cast<size_t>(kN));  // every event exactly once
  EXPECT_EQ(RunCli({"verify", "--allow-open", "--strict", "--file", "runs/run-race.traceframe"},
                   dir.path())
                .exit_code,
            0);
}

TEST(CliHook, ResumedSessionContinuesInNumberedTraces) {
  TempDir dir;
  const std::string start =
      R"({"hook_event_name":"SessionStart","session_id":"res","source":"startup",)"
      R"("model":"claude-opus-4","cwd":"/w"})";
  const std::string end = R"({"hook_event_name":"SessionEnd","session_id":"res","reason":"clear"})";
  CliResult r = Ingest({"--dir", "runs"}, start, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "run.started#0 -> runs/run-res.traceframe\n");
  const std::string first = ReadFileOrDie(dir.File("runs/run-res.traceframe"));
  EXPECT_THAT(first, HasSubstr(R"("model":"claude-opus-4")"));
  EXPECT_THAT(first, HasSubstr(R"("cwd":"/w")"));
  EXPECT_THAT(first, HasSubstr(R"("session_source":"startup")"));
  EXPECT_EQ(Ingest({"--dir", "runs"},
                   R"({"hook_event_name":"PreToolUse","session_id":"res","tool_name":"Bash"})",
                   dir.path())
                .exit_code,
            0);
  r = Ingest({"--dir", "runs"}, end, dir.path());
  EXPECT_THAT(r.err, HasSubstr("run.finished#2"));
  EXPECT_EQ(RunCli({"verify", "--file", "runs/run-res.traceframe"}, dir.path()).exit_code, 0);
  r = RunCli({"summary", "--file", "runs/run-res.traceframe"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("status: ended"));
  // The session resumes: a new trace that names the previous one.
  r = Ingest({"--dir", "runs"},
             R"({"hook_event_name":"SessionStart","session_id":"res","source":"resume"})",
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("runs/run-res~2.traceframe (continues run-res.traceframe)"));
  const std::string second = ReadFileOrDie(dir.File("runs/run-res~2.traceframe"));
  EXPECT_THAT(second, HasSubstr(R"("run_id":"run-res~2")"));
  EXPECT_THAT(second, HasSubstr(R"("resumed_from":"run-res.traceframe")"));
  EXPECT_EQ(Ingest({"--dir", "runs"}, end, dir.path()).exit_code, 0);
  r = Ingest(
      {"--dir", "runs"},
      R"({"hook_event_name":"PostToolUse","session_id":"res","tool_name":"Bash","tool_response":{}})",
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File("runs/run-res~3.traceframe")),
              HasSubstr(R"("resumed_from":"run-res~2.traceframe")"));
  // Also for --file.
  ASSERT_EQ(RunCli({"init", "--file", "f.traceframe", "--run-id", "f"}, dir.path()).exit_code, 0);
  ASSERT_EQ(RunCli({"finish", "--file", "f.traceframe"}, dir.path()).exit_code, 0);
  r = Ingest({"--file", "f.traceframe"}, kPre, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File("f~2.traceframe")), HasSubstr(R"("run_id":"f~2")"));
}

TEST(CliHook, RunIdIgnoredForExistingFileIsReported) {
  TempDir dir;
  ASSERT_EQ(RunCli({"init", "--file", "t.traceframe", "--run-id", "own"}, dir.path()).exit_code, 0);
  CliResult r = Ingest({"--file", "t.traceframe", "--run-id", "other"}, kPre, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--run-id other not applied"));
}

TEST(ReadHookInput, RefusesOversizedInput) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "{\"a\":12345678}", 14), 14);
  close(fds[1]);
  absl::StatusOr<std::string> r = ReadHookInput(fds[0], 10);
  close(fds[0]);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("larger than"));
}

// ---- hook install fixes

TEST(CliHookInstall, SourceIsShellQuotedAndRoundTrips) {
  TempDir dir;
  CliResult r =
      RunCli({"hook", "install", "--file", ".agent/hooks.json", "--source", "my src; rm -rf ~ 'x'"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string command =
      WiredCommand(ReadFileOrDie(dir.File(".agent/hooks.json")), "PostToolUse");
  EXPECT_THAT(command, HasSubstr(R"(--source 'my src; rm -rf ~ '\''x'\''')"));
  r = testing::RunProgram(
      {"sh", "-c", command}, dir.path(),
      R"({"hook_event_name":"PostToolUse","session_id":"q","tool_name":"Bash"})", {PathWithCli()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFileOrDie(dir.File(".traceframe/runs/run-q.traceframe")),
              HasSubstr(R"("source":"my src; rm -rf ~ 'x'")"));
}

TEST(CliHookInstall, ChangedFlagsUpdateTheEntry) {
  TempDir dir;
  ASSERT_EQ(RunCli({"hook", "install", "--file", ".agent/hooks.json", "--source", "a"}, dir.path())
                .exit_code,
            0);
  CliResult r = RunCli(
      {"hook", "install", "--file", ".agent/hooks.json", "--source", "b", "--matcher", "Bash|Edit"},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("updated PreToolUse and PostToolUse"));
  const std::string text = ReadFileOrDie(dir.File(".agent/hooks.json"));
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 2u);
  EXPECT_EQ(Count(text, "--source b"), 2u);
  EXPECT_EQ(Count(text, "--source a"), 0u);
  EXPECT_EQ(Count(text, R"("matcher": "Bash|Edit")"), 2u);
}

TEST(CliHookInstall, KeyOrderAndIndentArePreserved) {
  TempDir dir;
  const std::string original =
      "{\n    \"zeta\": 1,\n    \"hooks\": {\n        \"Stop\": []\n    },\n    \"alpha\": "
      "{\"b\": 2, \"a\": 1.5}\n}\n";
  WriteFileOrDie(dir.File("settings.json"), original);
  CliResult r = RunCli({"hook", "install", "--file", "settings.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFileOrDie(dir.File("settings.json"));
  EXPECT_LT(text.find("\"zeta\""), text.find("\"hooks\""));
  EXPECT_LT(text.find("\"hooks\""), text.find("\"alpha\""));
  EXPECT_LT(text.find("\"b\""), text.find("\"a\""));
  EXPECT_LT(text.find("\"Stop\""), text.find("\"PreToolUse\""));
  EXPECT_THAT(text, HasSubstr("\n    \"zeta\": 1,"));
  EXPECT_THAT(text, HasSubstr("1.5"));
  // Nothing left behind by the atomic write.
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"settings.json"}));
}

TEST(CliHookInstall, UnchangedFileIsNotRewritten) {
  TempDir dir;
  ASSERT_EQ(RunCli({"hook", "install", "--file", "h.json"}, dir.path()).exit_code, 0);
  // Reformat by hand; an idempotent re-run must keep it byte for byte.
  std::string text = ReadFileOrDie(dir.File("h.json"));
  text += "\n\n";
  WriteFileOrDie(dir.File("h.json"), text);
  struct stat before, after;
  ASSERT_EQ(stat(dir.File("h.json").c_str(), &before), 0);
  CliResult r = RunCli({"hook", "install", "--file", "h.json"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("already wired"));
  ASSERT_EQ(stat(dir.File("h.json").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(ReadFileOrDie(dir.File("h.json")), text);
}

TEST(CliHookInstall, MoreEventsAndNoMatcherForSessionEvents) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--file", "h.json", "--events",
                        "PreToolUse,PostToolUse,PostToolUseFailure,SessionStart,SessionEnd"},
                       dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wired PreToolUse, PostToolUse, PostToolUseFailure, SessionStart "
                               "and SessionEnd"));
  const std::string text = ReadFileOrDie(dir.File("h.json"));
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 5u);
  EXPECT_EQ(Count(text, "\"matcher\""), 3u);
  r = RunCli({"hook", "install", "--file", "h.json", "--events", "PreToolUse"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("already wired"));
}

TEST(CliHookInstall, BlockingForeignConfigIsAnErrorAndChangesNothing) {
  TempDir dir;
  for (const std::string& content :
       {std::string(R"({"hooks":{"PreToolUse":"foreign"}})"), std::string(R"({"hooks":[1]})"),
        std::string("[1,2]"), std::string("{bad")}) {
    WriteFileOrDie(dir.File("h.json"), content);
    CliResult r = RunCli({"hook", "install", "--file", "h.json"}, dir.path());
    EXPECT_EQ(r.exit_code, 1) << content;
    EXPECT_THAT(r.err, HasSubstr("h.json"));
    EXPECT_EQ(ReadFileOrDie(dir.File("h.json")), content);
  }
}

TEST(CliHookInstall, MergeIsIdempotentInTheEngine) {
  HookInstallOptions options;
  absl::StatusOr<HookInstallResult> first = MergeHooksJson("", options);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->result, "wired PreToolUse and PostToolUse");
  absl::StatusOr<HookInstallResult> second = MergeHooksJson(first->json, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->result, "already wired");
  EXPECT_EQ(second->json, first->json);
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("plain-1.0/x"), "plain-1.0/x");
  EXPECT_EQ(ShellQuote("a'b"), "'a'\\''b'");
}

// ---- hook install: Cursor's flat hooks.json

// The traceframe command wired for `event` in a Cursor-shaped file.
std::string CursorWiredCommand(const std::string& hooks_json, const std::string& event) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(hooks_json).get(root) != simdjson::SUCCESS) return "";
  simdjson::dom::array entries;
  if (root["hooks"][event].get_array().get(entries) != simdjson::SUCCESS) return "";
  for (simdjson::dom::element e : entries) {
    std::string_view command;
    if (e["command"].get_string().get(command) == simdjson::SUCCESS &&
        command.find("traceframe hook ingest") != std::string_view::npos) {
      return std::string(command);
    }
  }
  return "";
}

TEST(CliHookInstall, CursorFileGetsTheFlatShape) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--file", ".cursor/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  format      cursor\n"));
  EXPECT_THAT(r.out, HasSubstr("Cursor reads .cursor/hooks.json"));
  const std::string wired = testing::CliPath() + " hook ingest --source generic --dir " +
                            dir.path() + "/.traceframe/runs";
  EXPECT_THAT(r.out, HasSubstr("wired beforeShellExecution and afterShellExecution"));
  const std::string text = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  EXPECT_EQ(text,
            "{\n"
            "  \"version\": 1,\n"
            "  \"hooks\": {\n"
            "    \"beforeShellExecution\": [\n"
            "      {\n"
            "        \"command\": \"" +
                wired +
                "\"\n"
                "      }\n"
                "    ],\n"
                "    \"afterShellExecution\": [\n"
                "      {\n"
                "        \"command\": \"" +
                wired +
                "\"\n"
                "      }\n"
                "    ]\n"
                "  }\n"
                "}\n");
  // Idempotent: not even rewritten.
  struct stat before, after;
  ASSERT_EQ(stat(dir.File(".cursor/hooks.json").c_str(), &before), 0);
  r = RunCli({"hook", "install", "--file", ".cursor/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("already wired"));
  ASSERT_EQ(stat(dir.File(".cursor/hooks.json").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(ReadFileOrDie(dir.File(".cursor/hooks.json")), text);
}

TEST(CliHookInstall, CursorMergeKeepsForeignEntriesOrderAndIndent) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.File(".cursor").c_str(), 0755), 0);
  const std::string original = R"({
    "version": 1,
    "hooks": {
        "beforeShellExecution": [
            {"command": "./hooks/audit.sh", "timeout": 5}
        ],
        "stop": [{"command": "notify-send done"}],
        "afterShellExecution": [
            {"command": "traceframe hook ingest --source old --dir .traceframe/runs", "timeout": 3},
            {"command": "./hooks/log.sh"},
            {"command": "traceframe hook ingest --source older --dir x"}
        ]
    },
    "zz_user_key": true
}
)";
  WriteFileOrDie(dir.File(".cursor/hooks.json"), original);
  CliResult r =
      RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--source", "new"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wired beforeShellExecution; updated afterShellExecution"));
  const std::string text = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  // Foreign entries and keys untouched, in their order; the 4-space indent kept.
  EXPECT_THAT(text,
              HasSubstr("\"command\": \"./hooks/audit.sh\",\n                \"timeout\": 5"));
  EXPECT_THAT(text, HasSubstr("notify-send done"));
  EXPECT_THAT(text, HasSubstr("./hooks/log.sh"));
  EXPECT_LT(text.find("\"version\""), text.find("\"hooks\""));
  EXPECT_LT(text.find("\"beforeShellExecution\""), text.find("\"stop\""));
  EXPECT_LT(text.find("\"stop\""), text.find("\"afterShellExecution\""));
  EXPECT_LT(text.find("\"hooks\""), text.find("\"zz_user_key\""));
  EXPECT_LT(text.find("audit.sh"), text.find("--source new"));
  EXPECT_THAT(text, HasSubstr("\n    \"version\": 1,\n"));
  // One entry of ours per event; the first stale one was updated in place
  // (its timeout kept), the duplicate removed.
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 2u);
  EXPECT_EQ(Count(text, "--source new"), 2u);
  EXPECT_EQ(Count(text, "--source old"), 0u);
  EXPECT_LT(text.find("--source new --dir " + dir.path() +
                      "/.traceframe/runs\",\n                \"timeout\": 3"),
            text.find("./hooks/log.sh"));
  EXPECT_THAT(text, Not(HasSubstr("\"matcher\"")));
  EXPECT_THAT(text, Not(HasSubstr("\"type\"")));
  r = RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--source", "new"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("already wired"));
  EXPECT_EQ(ReadFileOrDie(dir.File(".cursor/hooks.json")), text);
}

TEST(CliHookInstall, FormatIsDetectedFromTheFileOrChosen) {
  TempDir dir;
  // A top-level "version" means Cursor, wherever the file is.
  WriteFileOrDie(dir.File("v.json"), R"({"version":1,"hooks":{}})");
  CliResult r = RunCli({"hook", "install", "--file", "v.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  format      cursor\n"));
  EXPECT_NE(CursorWiredCommand(ReadFileOrDie(dir.File("v.json")), "beforeShellExecution"), "");
  // So do flat entries only; Cursor's "version" is added.
  WriteFileOrDie(dir.File("flat.json"), R"({"hooks":{"afterFileEdit":[{"command":"fmt"}]}})");
  r = RunCli({"hook", "install", "--file", "flat.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wired beforeShellExecution and afterShellExecution; added "
                               "\"version\": 1"));
  std::string text = ReadFileOrDie(dir.File("flat.json"));
  EXPECT_LT(text.find("\"version\": 1"), text.find("\"hooks\""));
  EXPECT_THAT(text, HasSubstr("\"command\": \"fmt\""));
  // Matcher groups mean Claude Code / Codex, as does a new file elsewhere.
  ASSERT_EQ(mkdir(dir.File(".claude").c_str(), 0755), 0);
  WriteFileOrDie(dir.File(".claude/settings.json"),
                 R"({"hooks":{"Stop":[{"hooks":[{"type":"command","command":"x"}]}]}})");
  r = RunCli({"hook", "install", "--file", ".claude/settings.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  format      claude\n"));
  EXPECT_NE(WiredCommand(ReadFileOrDie(dir.File(".claude/settings.json")), "PreToolUse"), "");
  r = RunCli({"hook", "install", "--file", "new.json"}, dir.path());
  EXPECT_THAT(r.out, HasSubstr("  format      claude\n"));
  // --format wins over the path.
  r = RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--format", "claude"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  text = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  EXPECT_NE(WiredCommand(text, "PreToolUse"), "");
  EXPECT_THAT(text, Not(HasSubstr("\"version\"")));
  r = RunCli({"hook", "install", "--file", "c.json", "--format", "cursor"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(CursorWiredCommand(ReadFileOrDie(dir.File("c.json")), "afterShellExecution"), "");
  r = RunCli({"hook", "install", "--file", "bad.json", "--format", "vscode"}, dir.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--format"));
  EXPECT_FALSE(FileExists(dir.File("bad.json")));
}

TEST(CliHookInstall, SwitchingFormatsMovesOurEntry) {
  TempDir dir;
  const std::vector<std::string> base = {"hook",   "install",  "--file",
                                         "h.json", "--events", "beforeShellExecution"};
  auto install = [&](const std::string& format) {
    std::vector<std::string> args = base;
    args.insert(args.end(), {"--format", format});
    return RunCli(args, dir.path());
  };
  ASSERT_EQ(install("claude").exit_code, 0);
  std::string text = ReadFileOrDie(dir.File("h.json"));
  EXPECT_NE(WiredCommand(text, "beforeShellExecution"), "");
  CliResult r = install("cursor");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("updated beforeShellExecution"));
  text = ReadFileOrDie(dir.File("h.json"));
  EXPECT_EQ(WiredCommand(text, "beforeShellExecution"), "");
  EXPECT_NE(CursorWiredCommand(text, "beforeShellExecution"), "");
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 1u);
  r = install("claude");
  EXPECT_THAT(r.out, HasSubstr("updated beforeShellExecution"));
  text = ReadFileOrDie(dir.File("h.json"));
  EXPECT_NE(WiredCommand(text, "beforeShellExecution"), "");
  EXPECT_EQ(CursorWiredCommand(text, "beforeShellExecution"), "");
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 1u);
}

TEST(CliHookInstall, CursorPrintAndMoreEvents) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--print", "--file", ".cursor/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("  format      cursor\n"));
  EXPECT_THAT(r.out, HasSubstr("{\n  \"version\": 1,\n  \"hooks\": {\n    "
                               "\"beforeShellExecution\": [\n      {\n        \"command\": \"" +
                               testing::CliPath() + " hook ingest --source generic --dir " +
                               dir.path() + "/.traceframe/runs\"\n      }\n    ],\n"));
  EXPECT_THAT(r.out, HasSubstr("\"afterShellExecution\""));
  EXPECT_THAT(r.out, Not(HasSubstr("\"matcher\"")));
  EXPECT_THAT(r.out, Not(HasSubstr("PreToolUse")));
  EXPECT_FALSE(FileExists(dir.File(".cursor")));
  r = RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--events",
              "beforeMCPExecution, afterMCPExecution,afterFileEdit"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wired beforeMCPExecution, afterMCPExecution and afterFileEdit"));
  const std::string text = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  EXPECT_EQ(Count(text, "traceframe hook ingest"), 3u);
  EXPECT_THAT(text, Not(HasSubstr("ShellExecution")));
  r = RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--events", " , "}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--events needs at least one event name"));
}

TEST(CliHookInstall, WiredCursorCommandRecordsCursorEvents) {
  TempDir dir;
  ASSERT_EQ(
      RunCli({"hook", "install", "--file", ".cursor/hooks.json", "--source", "cursor"}, dir.path())
          .exit_code,
      0);
  const std::string hooks = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  const std::string before = CursorWiredCommand(hooks, "beforeShellExecution");
  const std::string after = CursorWiredCommand(hooks, "afterShellExecution");
  ASSERT_NE(before, "");
  ASSERT_EQ(before, after);
  const std::string common =
      R"("conversation_id":"conv-9","generation_id":"gen-1","workspace_roots":["/w"],)"
      R"("cursor_version":"2.0.77","command":"npm test","cwd":"/w")";
  CliResult r = testing::RunProgram({"sh", "-c", before}, dir.path(),
                                    "{\"hook_event_name\":\"beforeShellExecution\"," + common + "}",
                                    {PathWithCli()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // Cursor reads a before* hook's stdout as its answer
  EXPECT_THAT(r.err, HasSubstr("tool.call#1"));
  r = testing::RunProgram({"sh", "-c", after}, dir.path(),
                          "{\"hook_event_name\":\"afterShellExecution\"," + common +
                              R"(,"output":"2 passing","duration":812})",
                          {PathWithCli()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("tool.result#2"));
  const std::string path = ".traceframe/runs/run-conv-9.traceframe";
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(dir.File(path)));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], HasSubstr(R"("tool":"Shell")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("command":"npm test")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("source":"cursor")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("cursor_version":"2.0.77")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("output":"2 passing")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("duration_ms":812)"));
  EXPECT_THAT(lines[2], HasSubstr(R"("success":true)"));
  EXPECT_EQ(RunCli({"verify", "--allow-open", "--file", path}, dir.path()).exit_code, 0);
}

TEST(CliHookInstall, CursorMergeIsIdempotentInTheEngine) {
  HookInstallOptions options;
  options.file = "hooks.json";
  options.format = HookFileFormat::kCursor;
  absl::StatusOr<HookInstallResult> first = MergeHooksJson("", options);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->format, HookFileFormat::kCursor);
  EXPECT_EQ(first->result, "wired beforeShellExecution and afterShellExecution");
  absl::StatusOr<HookInstallResult> second = MergeHooksJson(first->json, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->result, "already wired");
  EXPECT_EQ(second->json, first->json);
  // Only "version" missing: added, and said so.
  options.format = HookFileFormat::kAuto;
  options.file = ".cursor/hooks.json";
  absl::StatusOr<HookInstallResult> versionless = MergeHooksJson(
      R"({"hooks":{"beforeShellExecution":[{"command":"traceframe hook ingest --source generic --dir .traceframe/runs"}],)"
      R"("afterShellExecution":[{"command":"traceframe hook ingest --source generic --dir .traceframe/runs"}]}})",
      options);
  ASSERT_TRUE(versionless.ok());
  EXPECT_EQ(versionless->result, "already wired (added \"version\": 1)");
  EXPECT_THAT(versionless->json, ::testing::StartsWith("{\n  \"version\": 1,\n  \"hooks\""));
  // An event that is not an array is an error, as in the Claude shape.
  absl::StatusOr<HookInstallResult> bad =
      MergeHooksJson(R"({"version":1,"hooks":{"beforeShellExecution":{}}})", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("not an array"));
}

TEST(CliHookInstall, ResolveFormat) {
  HookInstallOptions o;
  EXPECT_EQ(ResolveHookFileFormat(o, ""), HookFileFormat::kClaude);
  o.file = ".cursor/hooks.json";
  EXPECT_EQ(ResolveHookFileFormat(o, ""), HookFileFormat::kCursor);
  o.file = "/home/u/.cursor//hooks.json";
  EXPECT_EQ(ResolveHookFileFormat(o, ""), HookFileFormat::kCursor);
  o.file = ".cursor";  // a file named .cursor is not in a .cursor directory
  EXPECT_EQ(ResolveHookFileFormat(o, ""), HookFileFormat::kClaude);
  o.file = "x/hooks.json";
  EXPECT_EQ(ResolveHookFileFormat(o, R"({"version":1})"), HookFileFormat::kCursor);
  EXPECT_EQ(ResolveHookFileFormat(o, R"({"hooks":{"stop":[{"command":"a"}]}})"),
            HookFileFormat::kCursor);
  EXPECT_EQ(
      ResolveHookFileFormat(o, R"({"hooks":{"stop":[{"command":"a"}],"Stop":[{"hooks":[]}]}})"),
      HookFileFormat::kClaude);
  EXPECT_EQ(ResolveHookFileFormat(o, "{bad"), HookFileFormat::kClaude);
  o.format = HookFileFormat::kClaude;
  EXPECT_EQ(ResolveHookFileFormat(o, R"({"version":1})"), HookFileFormat::kClaude);
  EXPECT_EQ(ParseHookFileFormat("cursor"), HookFileFormat::kCursor);
  EXPECT_EQ(ParseHookFileFormat("Cursor"), std::nullopt);
  EXPECT_EQ(DefaultHookEvents(HookFileFormat::kClaude),
            (std::vector<std::string>{"PreToolUse", "PostToolUse"}));
}

// ---- hook install --host (issue 18): the file the host reads, the absolute
// binary, a whole session's events.

// The event names wired in a hooks file (either shape), in file order.
std::vector<std::string> WiredEvents(const std::string& hooks_json) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object hooks;
  if (parser.parse(hooks_json).get(root) != simdjson::SUCCESS) return out;
  if (root["hooks"].get_object().get(hooks) != simdjson::SUCCESS) return out;
  for (auto field : hooks) out.emplace_back(field.key);
  return out;
}

TEST(CliHookHost, ClaudeCodeWritesSettingsWithAbsoluteBinaryAndSessionEvents) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--host", "claude-code"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Claude Code reads .claude/settings.json"));
  const std::string text = ReadFileOrDie(dir.File(".claude/settings.json"));
  EXPECT_EQ(
      WiredEvents(text),
      (std::vector<std::string>{"SessionStart", "PreToolUse", "PostToolUse", "PostToolUseFailure",
                                "PermissionRequest", "PermissionDenied", "SessionEnd"}));
  const std::string command = WiredCommand(text, "PreToolUse");
  EXPECT_THAT(command, StartsWith(testing::CliPath() + " hook ingest --source claude-code"));
  EXPECT_THAT(command, HasSubstr("--dir \"$CLAUDE_PROJECT_DIR\"/.traceframe/runs"));
  EXPECT_THAT(text, HasSubstr(R"("matcher": "*")"));
  EXPECT_FALSE(FileExists(dir.File(".agent")));
  // The wired command records from another directory into the project's
  // runs directory, with no traceframe on PATH.
  ASSERT_EQ(mkdir(dir.File("sub").c_str(), 0755), 0);
  r = testing::RunProgram(
      {"sh", "-c", command}, dir.File("sub"),
      R"({"hook_event_name":"SessionStart","session_id":"s1","source":"startup"})",
      {"PATH=/usr/bin:/bin", "CLAUDE_PROJECT_DIR=" + dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileExists(dir.File(".traceframe/runs/run-s1.traceframe")));
}

TEST(CliHookHost, CodexWritesHooksJsonWithAbsolutePaths) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--host", "codex"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Codex reads .codex/hooks.json"));
  const std::string text = ReadFileOrDie(dir.File(".codex/hooks.json"));
  EXPECT_EQ(WiredEvents(text),
            (std::vector<std::string>{"SessionStart", "PreToolUse", "PostToolUse",
                                      "PermissionRequest", "SessionEnd"}));
  const std::string command = WiredCommand(text, "PostToolUse");
  EXPECT_THAT(command, StartsWith(testing::CliPath() + " hook ingest --source codex"));
  EXPECT_THAT(command, HasSubstr("--dir " + dir.path() + "/.traceframe/runs"));
}

TEST(CliHookHost, CursorWritesFlatHooksJson) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install", "--host", "cursor"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Cursor reads .cursor/hooks.json"));
  const std::string text = ReadFileOrDie(dir.File(".cursor/hooks.json"));
  EXPECT_THAT(text, HasSubstr("\"version\": 1"));
  EXPECT_EQ(WiredEvents(text),
            (std::vector<std::string>{"sessionStart", "preToolUse", "postToolUse", "sessionEnd"}));
  const std::string command = CursorWiredCommand(text, "preToolUse");
  EXPECT_THAT(command, StartsWith(testing::CliPath() + " hook ingest --source cursor"));
  EXPECT_THAT(command, HasSubstr("--dir " + dir.path() + "/.traceframe/runs"));
}

TEST(CliHookHost, DetectsTheHostFromItsDirectory) {
  TempDir dir;
  CliResult r = RunCli({"hook", "install"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: no .claude/, .codex/ or .cursor/ directory here"));
  ASSERT_EQ(mkdir(dir.File(".codex").c_str(), 0755), 0);
  r = RunCli({"hook", "install"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Codex reads .codex/hooks.json"));
  EXPECT_TRUE(FileExists(dir.File(".codex/hooks.json")));
  ASSERT_EQ(mkdir(dir.File(".claude").c_str(), 0755), 0);
  r = RunCli({"hook", "install"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("several hosts' directories here (.claude/, .codex/)"));
  // An explicit file no host reads is said so plainly.
  r = RunCli({"hook", "install", "--file", ".agent/hooks.json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no supported host reads .agent/hooks.json"));
}

TEST(CliHookHost, UnknownEventForTheHostIsAnErrorNotABlock) {
  TempDir dir;
  // Cursor's names are lowerCamelCase: PreToolUse is not one of them.
  CliResult r =
      RunCli({"hook", "install", "--host", "cursor", "--events", "PreToolUse"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: unknown Cursor hook event \"PreToolUse\""));
  EXPECT_FALSE(FileExists(dir.File(".cursor")));
  r = RunCli({"hook", "install", "--host", "claude-code", "--events", "PreToolUse,Stop"},
             dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(WiredEvents(ReadFileOrDie(dir.File(".claude/settings.json"))),
            (std::vector<std::string>{"PreToolUse", "Stop"}));
}

}  // namespace
}  // namespace traceframe
