// CLI tests for `traceframe exec` and `traceframe run` (the built binary).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

// The traceframe binary started in the background, its stdout on a pipe we
// read (or /dev/null), its stderr in a file.
struct Background {
  pid_t pid = -1;
  int out_fd = -1;  // read end of its stdout, -1 when it writes to /dev/null
};

Background Start(const std::vector<std::string>& args, const std::string& cwd,
                 const std::string& stderr_path, bool pipe_stdout = true) {
  int fds[2] = {-1, -1};
  if (pipe_stdout && pipe2(fds, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = pipe_stdout ? fds[1] : open("/dev/null", O_WRONLY);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    signal(SIGPIPE, SIG_DFL);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<std::string> argv = {CliPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  Background bg;
  bg.pid = pid;
  if (pipe_stdout) {
    close(fds[1]);
    bg.out_fd = fds[0];
  }
  return bg;
}

// Reads one line (without its '\n'); "" at EOF.
std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1) {
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

// Reads until the text read ends with `needle` or EOF; returns all of it.
std::string ReadUntil(int fd, std::string_view needle) {
  std::string text;
  char c;
  while (!EndsWith(text, needle) && read(fd, &c, 1) == 1) text.push_back(c);
  return text;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Exit code (128+N for a signal) and, optionally, the rusage of the process.
int Wait(pid_t pid, struct rusage* usage = nullptr) {
  int status = 0;
  struct rusage ignored;
  while (wait4(pid, &status, 0, usage ? usage : &ignored) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ExecCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    trace_ = dir_.File("t.traceframe");
    CliResult init = RunCli({"init", "--file", trace_, "--run-id", "run-exec"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }
  CliResult Exec(const std::vector<std::string>& command, const std::string& stdin_text = "") {
    std::vector<std::string> args = {"exec", "--file", trace_, "--"};
    args.insert(args.end(), command.begin(), command.end());
    return RunCli(args, dir_.path(), stdin_text);
  }
  std::vector<std::string> Lines() { return SplitLines(ReadFileOrDie(trace_)); }
  TempDir dir_;
  std::string trace_;
};

// ---- Reference inventory LC5-LC10, with sh/echo instead of cargo.

TEST_F(ExecCliTest, LC5ExecRecordsCallAndResult) {
  CliResult r = Exec({"echo", "hello", "world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello world\n");
  EXPECT_THAT(r.err, HasSubstr("traceframe exec\n"));
  EXPECT_THAT(r.err, HasSubstr("  events      tool.call#1 -> tool.result#2\n"));
  EXPECT_THAT(r.err, HasSubstr("  command     echo hello world\n"));
  ASSERT_EQ(RunCli({"finish", "--file", trace_}).exit_code, 0);
  CliResult summary = RunCli({"summary", "--file", trace_});
  EXPECT_THAT(summary.out, HasSubstr("tool_calls: 1"));
  EXPECT_THAT(summary.out, HasSubstr("tool_results: 1"));
  const std::string trace = ReadFileOrDie(trace_);
  EXPECT_THAT(trace, HasSubstr("\"argv\":[\"echo\",\"hello\",\"world\"]"));
  EXPECT_THAT(trace, HasSubstr("\"success\":true"));
  EXPECT_THAT(trace, HasSubstr("\"stdout_preview\":\"hello "));
  EXPECT_THAT(trace, HasSubstr("\"tool\":\"shell\""));
  EXPECT_EQ(RunCli({"verify", "--file", trace_}).exit_code, 0);
}

TEST(RunCliTest, LC6RunCreatesExecutesAndFinishes) {
  TempDir dir;
  const std::string file = dir.File("run.traceframe");
  CliResult r = RunCli({"run", "--file", file, "--run-id", "run-lc6", "--", "sh", "-c",
                        "echo child-out; echo child-err >&2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // stdout is the child's alone; every traceframe block goes to stderr, in
  // order: run block, the child's stderr, exec and finish blocks.
  EXPECT_EQ(r.out, "child-out\n");
  EXPECT_THAT(r.err, StartsWith("traceframe run\n  file        " + file +
                                "\n  run_id      run-lc6\n  command     sh -c 'echo child-out; "
                                "echo child-err >&2'\n\nchild-err\ntraceframe exec\n"));
  EXPECT_THAT(r.err, HasSubstr("traceframe finish\n"));
  EXPECT_THAT(r.err, HasSubstr("  status      success\n  seq         3\n"));
  EXPECT_EQ(RunCli({"verify", "--file", file}).exit_code, 0);
  const std::string trace = ReadFileOrDie(file);
  for (const char* kind : {"run.started", "tool.call", "tool.result", "run.finished"}) {
    EXPECT_THAT(trace, HasSubstr(std::string("\"kind\":\"") + kind + "\""));
  }
  EXPECT_THAT(trace,
              HasSubstr("{\"status\":\"success\",\"summary\":\"traceframe run completed\"}"));
}

// Wrapping a command must not change its output (issue 18): `run -- seq 3 |
// wc -l` prints 3.
TEST(RunCliTest, RunStdoutIsByteIdenticalToTheCommands) {
  TempDir dir;
  const std::vector<std::string> command = {"sh", "-c", "seq 3; printf 'no newline'"};
  CliResult own = RunProgram(command, dir.path());
  ASSERT_EQ(own.exit_code, 0);
  std::vector<std::string> args = {"run", "--file", dir.File("a.traceframe"), "--"};
  args.insert(args.end(), command.begin(), command.end());
  CliResult r = RunCli(args, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, own.out);
  EXPECT_THAT(r.err, HasSubstr("traceframe run\n"));
  EXPECT_THAT(r.err, HasSubstr("traceframe finish\n"));
  // --quiet drops the blocks; the trace is still complete.
  args[2] = dir.File("b.traceframe");
  args.insert(args.begin() + 1, "--quiet");
  r = RunCli(args, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, own.out);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(RunCli({"verify", "--file", dir.File("b.traceframe")}).exit_code, 0);
}

TEST(RunCliTest, LC7RunWithoutFileUsesTheRunsDirectory) {
  TempDir dir;
  CliResult r = RunCli({"run", "--run-id", "default-demo", "--", "echo", "hi"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("  file        .traceframe/runs/default-demo.traceframe\n"));
  const std::string file = dir.File(".traceframe/runs/default-demo.traceframe");
  ASSERT_TRUE(FileExists(file));
  EXPECT_EQ(RunCli({"verify", "--file", file}).exit_code, 0);
}

TEST(RunCliTest, LC8PlainRelativePathsWork) {
  TempDir dir;
  CliResult r = RunCli({"run", "--file", "run.traceframe", "--", "echo", "hi"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("  file        run.traceframe\n"));
  EXPECT_EQ(RunCli({"verify", "--file", "run.traceframe"}, dir.path()).exit_code, 0);
}

TEST(RunCliTest, LC9FailingChildFinishesFailed) {
  TempDir dir;
  const std::string file = dir.File("fail.traceframe");
  CliResult r = RunCli({"run", "--file", file, "--", "sh", "-c", "echo boom >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("traceframe finish\n"));
  EXPECT_THAT(r.err, HasSubstr("  status      failed\n"));
  EXPECT_THAT(r.err, HasSubstr("traceframe exec\n"));
  EXPECT_THAT(r.err, HasSubstr("  result      failed\n  exit_code   3\n"));
  EXPECT_EQ(RunCli({"verify", "--file", file}).exit_code, 0);
  EXPECT_THAT(ReadFileOrDie(file), HasSubstr("\"status\":\"failed\""));
}

TEST(RunCliTest, LC10SpawnFailureIsRecordedAndFinished) {
  TempDir dir;
  const std::string file = dir.File("spawn.traceframe");
  CliResult r = RunCli({"run", "--file", file, "--", "traceframe-no-such-command-xyz", "a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("traceframe finish\n"));
  EXPECT_THAT(r.err, HasSubstr("  status      failed\n  seq         4\n"));
  EXPECT_THAT(r.err, HasSubstr("Error: failed to execute command: traceframe-no-such-command-xyz "
                               "a: No such file or directory (os error 2)"));
  EXPECT_EQ(RunCli({"verify", "--file", file}).exit_code, 0);
  const std::string trace = ReadFileOrDie(file);
  EXPECT_THAT(trace, HasSubstr("\"kind\":\"tool.result\""));
  EXPECT_THAT(trace, HasSubstr("\"kind\":\"error\""));
  EXPECT_THAT(trace, HasSubstr("\"kind\":\"run.finished\""));
  EXPECT_THAT(trace, HasSubstr("\"status\":\"failed\""));
}

// ---- Exit codes, signals, spawn failures

TEST_F(ExecCliTest, PassesTheExitCodeThrough) {
  CliResult r = Exec({"sh", "-c", "exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_THAT(r.err, HasSubstr("  exit_code   7\n"));
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"exit_code\":7,"));
}

TEST_F(ExecCliTest, ReferenceExampleKeepsItsStreamsAndCode) {
  CliResult r = Exec({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_THAT(r.err, StartsWith("err\ntraceframe exec\n"));
  // The command is shell-quoted, so it can be pasted back.
  EXPECT_THAT(ReadFileOrDie(trace_),
              HasSubstr("\"command\":\"sh -c 'echo out; echo err >&2; exit 3'\""));
}

TEST_F(ExecCliTest, SignalDeathExits128PlusNAndRecordsTheSignal) {
  CliResult r = Exec({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.exit_code, 143);
  EXPECT_THAT(r.err, HasSubstr("  exit_code   143\n  signal      15 (SIGTERM)\n"));
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("\"exit_code\":null,\"signal\":15,"));
  EXPECT_THAT(lines[2], HasSubstr("\"success\":false"));
}

TEST_F(ExecCliTest, SpawnFailureRecordsResultAndErrorAndLeavesTheTraceOpen) {
  CliResult r = Exec({"traceframe-no-such-command-xyz"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: failed to execute command: traceframe-no-such-command-xyz: "
                               "No such file or directory (os error 2)"));
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr("\"error\":\"No such file or directory (os error 2)\","
                                  "\"exit_code\":null,\"success\":false"));
  EXPECT_THAT(lines[3], HasSubstr("\"kind\":\"error\""));
  EXPECT_THAT(lines[3], HasSubstr("{\"command\":\"traceframe-no-such-command-xyz\",\"error\":\"No "
                                  "such file or directory (os error 2)\",\"message\":\"failed to "
                                  "execute command\"}"));
  EXPECT_EQ(RunCli({"verify", "--allow-open", "--file", trace_}).exit_code, 0);

  const std::string script = dir_.File("plain.sh");
  WriteFileOrDie(script, "echo hi\n");
  chmod(script.c_str(), 0644);
  r = Exec({script});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Permission denied (os error 13)"));
}

TEST_F(ExecCliTest, ExecOnAFinishedTraceRunsNothing) {
  ASSERT_EQ(RunCli({"finish", "--file", trace_}).exit_code, 0);
  CliResult r = Exec({"touch", dir_.File("ran")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run.finished"));
  EXPECT_FALSE(FileExists(dir_.File("ran")));
}

// ---- The trailing command

TEST_F(ExecCliTest, EveryWordAfterTheCommandBelongsToIt) {
  CliResult r = RunCli({"exec", "--file", trace_, "--", "echo", "--file", "zz"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "--file zz\n");
  r = RunCli({"exec", "--file", trace_, "echo", "--file", "zz", "--", "-x"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "--file zz -- -x\n");
  // A subcommand name is just a word of the command.
  r = RunCli({"exec", "--file", trace_, "echo", "summary", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "summary --help\n");
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"argv\":[\"echo\",\"--file\",\"zz\"]"));
}

TEST_F(ExecCliTest, MissingCommandIsAUsageError) {
  EXPECT_EQ(RunCli({"exec", "--file", trace_}).exit_code, 2);
  CliResult r = RunCli({"exec", "--file", trace_, "--"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing the command to run"));
  EXPECT_EQ(RunCli({"run", "--run-id", "x"}, dir_.path()).exit_code, 2);
  EXPECT_EQ(RunCli({"exec", "--", "true"}).exit_code, 2);  // --file is required
  // An unknown flag before the command is a typo, not a command.
  EXPECT_EQ(RunCli({"exec", "--file", trace_, "--fiel", "x", "true"}).exit_code, 2);
  EXPECT_EQ(Lines().size(), 1u);
}

TEST_F(ExecCliTest, StdinIsInherited) {
  CliResult r = Exec({"cat"}, "piped input\nline two\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "piped input\nline two\n");
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"stdout_bytes\":21,"));
}

// ---- Streaming, closed stdout, big output

TEST_F(ExecCliTest, OutputArrivesWhileTheChildStillRuns) {
  const std::string go = dir_.File("go");
  Background bg = Start({"exec", "--file", trace_, "--", "sh", "-c",
                         "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second"},
                        dir_.path(), dir_.File("stderr"));
  EXPECT_EQ(ReadLine(bg.out_fd), "first");
  // The child waits for `go`, so it is still running: the result is not
  // recorded yet, the call is.
  const std::string during = ReadFileOrDie(trace_);
  EXPECT_THAT(during, HasSubstr("\"kind\":\"tool.call\""));
  EXPECT_THAT(during, Not(HasSubstr("\"kind\":\"tool.result\"")));
  WriteFileOrDie(go, "");
  EXPECT_EQ(ReadAll(bg.out_fd), "second\n");
  close(bg.out_fd);
  EXPECT_EQ(Wait(bg.pid), 0);
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"stdout_preview\":\"first\\nsecond\\n\""));
}

TEST_F(ExecCliTest, ClosedStdoutStillRecordsTheResult) {
  // `traceframe exec -- seq 1 200000 | head -1`.
  Background bg = Start({"exec", "--file", trace_, "--", "seq", "1", "200000"}, dir_.path(),
                        dir_.File("stderr"));
  EXPECT_EQ(ReadLine(bg.out_fd), "1");
  close(bg.out_fd);
  EXPECT_EQ(Wait(bg.pid), 0);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("\"kind\":\"tool.result\""));
  EXPECT_THAT(lines[2], HasSubstr("\"exit_code\":0,"));
  EXPECT_THAT(lines[2], HasSubstr("\"stdout_bytes\":1288895,"));
  EXPECT_THAT(lines[2], HasSubstr("\"success\":true"));
  EXPECT_THAT(ReadFileOrDie(dir_.File("stderr")), HasSubstr("tool.call#1 -> tool.result#2"));
}

TEST_F(ExecCliTest, HugeOutputKeepsMemoryBounded) {
  // 300 MB through traceframe; its peak RSS (wait4 rusage, which also covers
  // the processes it waited for) must stay far below the output size. The
  // bound is on the growth over the same command with almost no output: the
  // absolute peak depends on the machine (it read 73 MB on a CI machine where
  // it reads 10 MB here), the growth over the same process does not.
  const auto peak_rss_kib = [&](uint64_t bytes) {
    Background bg = Start({"exec", "--file", trace_, "--", "sh", "-c",
                           "yes abcdefghi | head -c " + std::to_string(bytes)},
                          dir_.path(), dir_.File("stderr"), /*pipe_stdout=*/false);
    struct rusage usage {};
    EXPECT_EQ(Wait(bg.pid, &usage), 0) << ReadFileOrDie(dir_.File("stderr"));
    return static_cast<int64_t>(usage.ru_maxrss);
  };
  constexpr uint64_t kBytes = 300ull * 1000 * 1000;
  const int64_t small = peak_rss_kib(10);
  const int64_t huge = peak_rss_kib(kBytes);
  EXPECT_LT(huge - small, 32 * 1024)
      << "max RSS in KiB: " << small << " for 10 bytes, " << huge << " for 300 MB";
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[4], HasSubstr("\"stdout_bytes\":" + std::to_string(kBytes) + ","));
  EXPECT_THAT(lines[4], HasSubstr("\"stdout_preview\":\"" + Repeat("abcdefghi\\n", 400) +
                                  "\\n[truncated]\""));
}

TEST_F(ExecCliTest, PreviewsStopAtFourThousandCharacters) {
  WriteFileOrDie(dir_.File("exact"), Repeat("é", 4000));
  WriteFileOrDie(dir_.File("over"), Repeat("é", 4001));
  WriteFileOrDie(dir_.File("edge"), Repeat("a", 3999) + "€b");
  ASSERT_EQ(Exec({"cat", "exact"}).exit_code, 0);
  ASSERT_EQ(Exec({"cat", "over"}).exit_code, 0);
  ASSERT_EQ(Exec({"sh", "-c", "cat edge >&2"}).exit_code, 0);
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_THAT(lines[2],
              HasSubstr("\"stdout_bytes\":8000,\"stdout_preview\":\"" + Repeat("é", 4000) + "\","));
  EXPECT_THAT(lines[4], HasSubstr("\"stdout_bytes\":8002,\"stdout_preview\":\"" +
                                  Repeat("é", 4000) + "\\n[truncated]\","));
  EXPECT_THAT(lines[6], HasSubstr("\"stderr_bytes\":4003,\"stderr_preview\":\"" +
                                  Repeat("a", 3999) + "€\\n[truncated]\","));
}

// ---- Signals sent to traceframe

TEST(RunCliTest, SigintInterruptsTheRun) {
  TempDir dir;
  const std::string file = dir.File("int.traceframe");
  Background bg = Start({"run", "--file", file, "--", "sh", "-c", "echo ready; exec sleep 300"},
                        dir.path(), dir.File("stderr"));
  // stdout is the child's alone; traceframe's blocks are on stderr.
  ASSERT_EQ(ReadUntil(bg.out_fd, "ready\n"), "ready\n");
  ASSERT_EQ(kill(bg.pid, SIGINT), 0);
  const std::string rest = ReadAll(bg.out_fd);
  close(bg.out_fd);
  EXPECT_EQ(Wait(bg.pid), 130);
  EXPECT_EQ(rest, "");
  const std::string err = ReadFileOrDie(dir.File("stderr"));
  EXPECT_THAT(err, StartsWith("traceframe run\n"));
  EXPECT_THAT(err, HasSubstr("traceframe finish\n"));
  EXPECT_THAT(err, HasSubstr("  status      interrupted\n"));
  const std::string trace = ReadFileOrDie(file);
  EXPECT_THAT(trace, HasSubstr("\"exit_code\":null,\"interrupted_by_signal\":2,\"signal\":2,"));
  EXPECT_THAT(trace,
              HasSubstr("{\"status\":\"interrupted\",\"summary\":\"interrupted by SIGINT\"}"));
  EXPECT_EQ(RunCli({"verify", "--file", file}).exit_code, 0);
  EXPECT_THAT(RunCli({"summary", "--file", file}).out, HasSubstr("status: interrupted"));
}

TEST_F(ExecCliTest, SigtermReachesAChildThatHandlesIt) {
  Background bg =
      Start({"exec", "--file", trace_, "--", "sh", "-c",
             "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.02; done"},
            dir_.path(), dir_.File("stderr"));
  EXPECT_EQ(ReadLine(bg.out_fd), "ready");
  ASSERT_EQ(kill(bg.pid, SIGTERM), 0);
  EXPECT_EQ(ReadAll(bg.out_fd), "got-term\n");
  close(bg.out_fd);
  EXPECT_EQ(Wait(bg.pid), 5);
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"exit_code\":5,\"interrupted_by_signal\":15,"));
}

TEST_F(ExecCliTest, SighupIsForwardedToo) {
  Background bg = Start({"exec", "--file", trace_, "--", "sh", "-c", "echo ready; exec sleep 300"},
                        dir_.path(), dir_.File("stderr"));
  EXPECT_EQ(ReadLine(bg.out_fd), "ready");
  ASSERT_EQ(kill(bg.pid, SIGHUP), 0);
  close(bg.out_fd);
  EXPECT_EQ(Wait(bg.pid), 129);
  EXPECT_THAT(ReadFileOrDie(trace_), HasSubstr("\"signal\":1,"));
}

// ---- Default run ids

TEST(RunCliTest, RunsInTheSameSecondGetDifferentIds) {
  TempDir dir;
  std::set<std::string> files;
  // Two back to back, then two at the same time.
  for (int i = 0; i < 2; ++i) {
    CliResult r = RunCli({"run", "--", "true"}, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Background a = Start({"run", "--", "true"}, dir.path(), dir.File("a.err"), false);
  Background b = Start({"run", "--", "true"}, dir.path(), dir.File("b.err"), false);
  EXPECT_EQ(Wait(a.pid), 0);
  EXPECT_EQ(Wait(b.pid), 0);
  CliResult ls = RunProgram({"ls", ".traceframe/runs"}, dir.path());
  std::vector<std::string> names;
  for (const std::string& name : SplitLines(ls.out)) {
    if (!EndsWith(name, ".idx")) names.push_back(name);  // each trace's sidecar index
  }
  ASSERT_EQ(names.size(), 4u) << ls.out;
  for (const std::string& name : names) {
    EXPECT_THAT(name, ::testing::MatchesRegex("[0-9]{8}T[0-9]{6}\\.[0-9]{3}Z-[0-9a-z]{6}-true\\."
                                              "traceframe"));
    EXPECT_EQ(RunCli({"verify", "--file", ".traceframe/runs/" + name}, dir.path()).exit_code, 0);
  }
}

TEST(RunCliTest, ExistingTraceIsRefusedWithoutForce) {
  TempDir dir;
  const std::string file = dir.File("r.traceframe");
  ASSERT_EQ(RunCli({"run", "--file", file, "--", "true"}).exit_code, 0);
  CliResult r = RunCli({"run", "--file", file, "--", "touch", dir.File("ran")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("trace already exists"));
  EXPECT_FALSE(FileExists(dir.File("ran")));
  r = RunCli({"run", "--file", file, "--force", "--", "touch", dir.File("ran")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileExists(dir.File("ran")));
  EXPECT_EQ(SplitLines(ReadFileOrDie(file)).size(), 4u);
}

}  // namespace
}  // namespace traceframe::testing
