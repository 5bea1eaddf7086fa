// CLI tests for progress lines: long passes show "<what>: NN% (...)" on
// stderr when it is a terminal (a pseudo-terminal here), erase it before
// their own output, and print nothing of the kind into a pipe.
#include <fcntl.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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
using ::traceframe::testing::RunCli;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

// Progress shows at once instead of after a second.
const char kNow[] = "TRACEFRAME_PROGRESS_AFTER_MS=0";

struct PtyResult {
  int exit_code = -1;
  std::string terminal;  // what the command wrote to stderr (the terminal)
};

// Runs the CLI with stderr on a pseudo-terminal and stdout on /dev/null.
PtyResult RunWithTerminalStderr(const std::vector<std::string>& args, const std::string& cwd) {
  PtyResult result;
  int master = -1;
  int slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return result;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(master);
    if (::chdir(cwd.c_str()) != 0) ::_exit(127);
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(slave, STDERR_FILENO);
    ::setenv("TRACEFRAME_PROGRESS_AFTER_MS", "0", 1);
    std::vector<std::string> argv = {CliPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(slave);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof(buf));
    if (n > 0) {
      result.terminal.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has closed the terminal
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

class CliProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(dir_.File("runs").c_str(), 0755), 0);
    std::string text = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
    for (int i = 1; i < 50; ++i) {
      text += EventLine("r", "e" + std::to_string(i), "tool.call", 1000 + i, i,
                        "{\"tool\":\"Bash\",\"command\":\"ls\"}") +
              "\n";
    }
    text += EventLine("r", "e50", "run.finished", 1100, 50, "{\"status\":\"success\"}") + "\n";
    WriteFileOrDie(dir_.File("runs/t.traceframe"), text);
  }
  TempDir dir_;
};

TEST_F(CliProgressTest, LongPassesShowPercentOnATerminalAndEraseIt) {
  struct Case {
    std::vector<std::string> args;
    std::string label;
  };
  const std::vector<Case> cases = {
      {{"verify", "--file", "runs/t.traceframe"}, "verifying runs/t.traceframe: 100% ("},
      {{"summary", "--file", "runs/t.traceframe"}, "reading runs/t.traceframe: 100% ("},
      {{"policy-check", "--file", "runs/t.traceframe"}, "policy-check runs/t.traceframe: 100% ("},
      {{"ledger", "rebuild", "--dir", "runs", "--out", "l.traceframe"},
       "ledger rebuild runs: 100% ("},
      {{"index", "rebuild", "--file", "runs/t.traceframe"}, "indexing runs/t.traceframe: 100% ("},
      {{"render", "--file", "runs/t.traceframe", "--html", "page.html"},
       "rendering runs/t.traceframe: 100% ("},
  };
  for (const Case& c : cases) {
    // No index: summary has to read the trace.
    ::unlink(dir_.File("runs/t.traceframe.idx").c_str());
    PtyResult r = RunWithTerminalStderr(c.args, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << c.args[0] << ": " << r.terminal;
    EXPECT_THAT(r.terminal, HasSubstr("\r" + c.label)) << c.args[0];
    EXPECT_THAT(r.terminal, HasSubstr(" of 0.0 GB)")) << c.args[0];
    // Erased before the command's own output.
    EXPECT_THAT(r.terminal, HasSubstr("\r\033[K")) << c.args[0];
  }
}

// stats and compare read every selected trace for the per-tool table: they
// count traces, not bytes.
TEST_F(CliProgressTest, StatsAndCompareCountTheTracesTheyRead) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"stats", "--dir", "runs"}, "\rstats: reading traces: 100% (1 of 1 traces)"},
      {{"compare", "--baseline", "runs", "--candidate", "runs"},
       "\rcompare: reading traces: 100% (2 of 2 traces)"},
  };
  for (const auto& [args, label] : cases) {
    PtyResult r = RunWithTerminalStderr(args, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.terminal;
    EXPECT_THAT(r.terminal, HasSubstr(label)) << args[0];
    EXPECT_THAT(r.terminal, HasSubstr("\r\033[K")) << args[0];
    // --no-tools reads no trace: nothing to show.
    std::vector<std::string> no_tools = args;
    no_tools.push_back("--no-tools");
    PtyResult quiet = RunWithTerminalStderr(no_tools, dir_.path());
    EXPECT_EQ(quiet.exit_code, 0) << quiet.terminal;
    EXPECT_THAT(quiet.terminal, Not(HasSubstr("reading traces"))) << args[0];
  }
}

TEST_F(CliProgressTest, NothingWhenStderrIsNotATerminal) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"verify", "--file", "runs/t.traceframe"},
                                             {"summary", "--file", "runs/t.traceframe"},
                                             {"policy-check", "--file", "runs/t.traceframe"},
                                             {"ledger", "rebuild", "--dir", "runs"}}) {
    ::unlink(dir_.File("runs/t.traceframe.idx").c_str());
    CliResult r = RunCli(args, dir_.path(), "", {kNow});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "") << args[0];
  }
}

TEST_F(CliProgressTest, PolicyCheckMaxErrorsCutsThePrintedListNotTheVerdict) {
  std::string text = EventLine("r", "e0", "run.started", 1000, 0, "{}") + "\n";
  for (int i = 1; i <= 5; ++i) {
    text += EventLine("r", "e" + std::to_string(i), "tool.call", 1000 + i, i,
                      "{\"tool\":\"Bash\",\"command\":\"git push origin main\"}") +
            "\n";
  }
  WriteFileOrDie(dir_.File("push.traceframe"), text);
  CliResult cut =
      RunCli({"policy-check", "--file", "push.traceframe", "--max-errors", "2"}, dir_.path());
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_THAT(cut.err, HasSubstr("result      5 violation(s)"));
  size_t listed = 0;
  for (size_t at = cut.err.find("\n  - "); at != std::string::npos;
       at = cut.err.find("\n  - ", at + 1)) {
    ++listed;
  }
  EXPECT_EQ(listed, 2u) << cut.err;
  EXPECT_THAT(cut.err, HasSubstr("  ... 3 more (--max-errors 0 lists them all"));
  CliResult all =
      RunCli({"policy-check", "--file", "push.traceframe", "--max-errors", "0"}, dir_.path());
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_THAT(all.err, Not(HasSubstr("more (")));
  CliResult json = RunCli(
      {"policy-check", "--file", "push.traceframe", "--max-errors", "1", "--json"}, dir_.path());
  EXPECT_THAT(json.out, HasSubstr("\"violation_count\":5"));
}

}  // namespace
}  // namespace traceframe
