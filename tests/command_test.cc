// Engine tests for command.h: previews, quoting, run ids, RunCommand,
// ExecTrace and RunTrace.
#include "traceframe/command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/summary.h"
#include "traceframe/verify.h"
#include "traceframe/writer.h"
#include "util/shell_quote.h"

namespace traceframe {
namespace {

using internal::ShellQuote;

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::ReadFileOrDie;
using testing::TempDir;

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

CommandOptions Quiet() {
  CommandOptions options;
  options.forward_stdout_fd = -1;
  options.forward_stderr_fd = -1;
  return options;
}

bool Verifies(const std::string& path, bool allow_open) {
  VerifyOptions options;
  options.allow_open = allow_open;
  absl::StatusOr<VerifyReport> report = VerifyTrace(path, options);
  return report.ok() && report->valid;
}

// ---- OutputPreview

TEST(OutputPreviewTest, EmptyOutputGivesEmptyPreview) {
  OutputPreview p;
  EXPECT_EQ(p.Preview(), "");
  EXPECT_EQ(p.bytes(), 0u);
}

TEST(OutputPreviewTest, ExactlyFourThousandMultibyteCharsHaveNoMarker) {
  OutputPreview p;
  const std::string text = Repeat("é", 4000);
  p.Add(text);
  EXPECT_EQ(p.Preview(), text);
  EXPECT_EQ(p.bytes(), 8000u);
}

TEST(OutputPreviewTest, OneCharMoreGetsTheMarker) {
  OutputPreview p;
  p.Add(Repeat("é", 4001));
  EXPECT_EQ(p.Preview(), Repeat("é", 4000) + "\n[truncated]");
}

TEST(OutputPreviewTest, ReferenceCaseOf8003BytesOfEAcute) {
  // Observed on the reference: 8003 bytes of 'é' give 4000 chars + marker
  // (4012 chars in all).
  std::string text = Repeat("é", 4001);
  text.push_back('\xc3');
  ASSERT_EQ(text.size(), 8003u);
  OutputPreview p;
  p.Add(text);
  EXPECT_EQ(p.Preview(), Repeat("é", 4000) + "\n[truncated]");
  EXPECT_EQ(p.bytes(), 8003u);
}

TEST(OutputPreviewTest, MultibyteCharAtTheBoundaryIsKeptWhole) {
  OutputPreview p;
  p.Add(Repeat("a", 3999) + "€b");
  EXPECT_EQ(p.Preview(), Repeat("a", 3999) + "€\n[truncated]");
  OutputPreview four_byte;
  four_byte.Add(Repeat("😀", 4000));
  EXPECT_EQ(four_byte.Preview(), Repeat("😀", 4000));
  four_byte.Add("x");
  EXPECT_EQ(four_byte.Preview(), Repeat("😀", 4000) + "\n[truncated]");
}

TEST(OutputPreviewTest, ChunksSplitInsideCharactersDecodeLikeOneBlock) {
  const std::string text = Repeat("aé€😀", 1200);  // 4800 chars, 12000 bytes
  OutputPreview whole;
  whole.Add(text);
  OutputPreview chunked;
  for (size_t i = 0; i < text.size(); i += 7) chunked.Add(std::string_view(text).substr(i, 7));
  EXPECT_EQ(chunked.Preview(), whole.Preview());
  EXPECT_EQ(chunked.bytes(), text.size());
  EXPECT_EQ(whole.Preview(), Repeat("aé€😀", 1000) + "\n[truncated]");
}

TEST(OutputPreviewTest, InvalidUtf8BecomesReplacementCharacters) {
  OutputPreview p;
  p.Add("ok\xff\xfe!");
  EXPECT_EQ(p.Preview(), "ok\xEF\xBF\xBD\xEF\xBF\xBD!");
}

TEST(OutputPreviewTest, CountsEverythingKeepsLittle) {
  OutputPreview p(10);
  const std::string block(1 << 20, 'x');
  for (int i = 0; i < 64; ++i) p.Add(block);
  EXPECT_EQ(p.bytes(), 64u << 20);
  EXPECT_EQ(p.Preview(), "xxxxxxxxxx\n[truncated]");
}

// ---- Text helpers

TEST(ShellQuoteTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(ShellQuote({"sh", "-c", "echo a; exit 3"}), "sh -c 'echo a; exit 3'");
  EXPECT_EQ(ShellQuote({"echo", "--file", "zz", "a/b.c", "k=v", "x@y:1,2%+"}),
            "echo --file zz a/b.c k=v x@y:1,2%+");
  EXPECT_EQ(ShellQuote({"printf", ""}), "printf ''");
  EXPECT_EQ(ShellQuote({"echo", "it's"}), "echo 'it'\\''s'");
  EXPECT_EQ(ShellQuote({"echo", "$HOME", "*", "~", "a b", "x\ny"}),
            "echo '$HOME' '*' '~' 'a b' 'x\ny'");
  // A bare first word with '=' would be an assignment to sh.
  EXPECT_EQ(ShellQuote({"A=b", "c=d"}), "'A=b' c=d");
  EXPECT_EQ(ShellQuote({"sh", "-c", "kill -TERM $$"}), "sh -c 'kill -TERM $$'");
}

TEST(ShellQuoteTest, QuotedTextRunsTheSameArgvInSh) {
  const std::vector<std::string> argv = {"printf", "[%s]", "it's", "", "a b", "$X", "\\", "\"q\""};
  CommandOptions options = Quiet();
  absl::StatusOr<CommandOutcome> direct = RunCommand(argv, options);
  absl::StatusOr<CommandOutcome> via_sh = RunCommand({"sh", "-c", ShellQuote(argv)}, options);
  ASSERT_TRUE(direct.ok() && via_sh.ok());
  EXPECT_EQ(direct->stdout_preview, "[it's][][a b][$X][\\][\"q\"]");
  EXPECT_EQ(via_sh->stdout_preview, direct->stdout_preview);
}

TEST(RunIdTest, SlugFollowsTheReference) {
  EXPECT_EQ(RunIdSlug("./My_Script.SH"), "my-script-sh");
  EXPECT_EQ(RunIdSlug("/usr/bin/python3"), "usr-bin-python3");
  EXPECT_EQ(RunIdSlug("sh"), "sh");
  EXPECT_EQ(RunIdSlug("..."), "command");
  EXPECT_EQ(RunIdSlug(""), "command");
  EXPECT_EQ(RunIdSlug("ünï"), "n");
  EXPECT_EQ(RunIdSlug(std::string(100, 'a')).size(), 40u);
}

TEST(RunIdTest, DefaultIdHasMillisecondsAndARandomPart) {
  const absl::Time t = absl::FromUnixMillis(1795593030123);  // 2026-11-25T07:50:30.123Z
  const std::string id = DefaultRunId("./My_Script.SH", t);
  EXPECT_THAT(id, MatchesRegex("20261125T075030\\.123Z-[0-9a-z]{6}-my-script-sh"));
  EXPECT_EQ(DefaultRunPath(id), ".traceframe/runs/" + id + ".traceframe");
}

TEST(RunIdTest, IdsMadeInTheSameMillisecondDiffer) {
  const absl::Time t = absl::Now();
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(DefaultRunId("sh", t));
  EXPECT_EQ(ids.size(), 200u);
}

TEST(SignalNameTest, NamesCommonSignals) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGINT), "SIGINT");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(0xffff), "signal 65535");
}

// ---- RunCommand

TEST(RunCommandTest, PassesTheExitCodeThrough) {
  absl::StatusOr<CommandOutcome> o = RunCommand({"sh", "-c", "exit 7"}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->spawned);
  EXPECT_EQ(o->exit_code, 7);
  EXPECT_FALSE(o->signal.has_value());
  EXPECT_FALSE(o->success());
  EXPECT_EQ(o->WrapperExitCode(), 7);
}

TEST(RunCommandTest, CountsAndPreviewsBothStreams) {
  absl::StatusOr<CommandOutcome> o =
      RunCommand({"sh", "-c", "echo out; echo err >&2; printf 'x%.0s' $(seq 1 5000)"}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->success());
  EXPECT_EQ(o->stdout_bytes, 4u + 5000u);
  EXPECT_EQ(o->stderr_bytes, 4u);
  EXPECT_EQ(o->stderr_preview, "err\n");
  EXPECT_EQ(o->stdout_preview, "out\n" + std::string(3996, 'x') + "\n[truncated]");
}

TEST(RunCommandTest, SignalDeathRecordsTheSignal) {
  absl::StatusOr<CommandOutcome> o = RunCommand({"sh", "-c", "kill -TERM $$"}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->exit_code.has_value());
  EXPECT_EQ(o->signal, SIGTERM);
  EXPECT_EQ(o->WrapperExitCode(), 143);
  EXPECT_FALSE(o->received_signal.has_value());
}

TEST(RunCommandTest, SpawnFailureGivesTheOsReason) {
  absl::StatusOr<CommandOutcome> o = RunCommand({"traceframe-no-such-command-xyz"}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->spawned);
  EXPECT_EQ(o->spawn_errno, ENOENT);
  EXPECT_EQ(o->spawn_error, "No such file or directory (os error 2)");
  EXPECT_EQ(o->WrapperExitCode(), 1);

  TempDir dir;
  const std::string script = dir.File("not-executable.sh");
  testing::WriteFileOrDie(script, "#!/bin/sh\necho hi\n");
  o = RunCommand({script}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->spawned);
  EXPECT_EQ(o->spawn_error, "Permission denied (os error 13)");
}

TEST(RunCommandTest, EmptyArgvIsAnError) { EXPECT_FALSE(RunCommand({}, Quiet()).ok()); }

TEST(RunCommandTest, ForwardsOutputToTheGivenDescriptor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  CommandOptions options = Quiet();
  options.forward_stdout_fd = fds[1];
  absl::StatusOr<CommandOutcome> o = RunCommand({"sh", "-c", "echo one; echo two"}, options);
  close(fds[1]);
  ASSERT_TRUE(o.ok()) << o.status();
  char buf[64];
  const ssize_t n = read(fds[0], buf, sizeof(buf));
  close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "one\ntwo\n");
  EXPECT_EQ(o->stdout_preview, "one\ntwo\n");
}

TEST(RunCommandTest, ClosedOutputKeepsDrainingAndCounting) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);  // nobody reads: every forward write fails with EPIPE
  CommandOptions options = Quiet();
  options.forward_stdout_fd = fds[1];
  // Default SIGPIPE disposition here: without the mask the test would die.
  absl::StatusOr<CommandOutcome> o = RunCommand({"seq", "1", "100000"}, options);
  close(fds[1]);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->exit_code, 0);  // the child never saw the closed pipe
  EXPECT_EQ(o->stdout_bytes, 588895u);
  EXPECT_THAT(o->forward_error, HasSubstr("stdout: Broken pipe"));
  EXPECT_THAT(o->stdout_preview, ::testing::StartsWith("1\n2\n3\n"));
}

TEST(RunCommandTest, StreamsOutputWhileTheChildRuns) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  CommandOptions options = Quiet();
  options.forward_stdout_fd = fds[1];
  std::atomic<bool> done{false};
  absl::StatusOr<CommandOutcome> outcome;
  const std::string go = dir.File("go");
  std::thread runner([&] {
    outcome = RunCommand(
        {"sh", "-c", "echo first; while [ ! -e \"$1\" ]; do sleep 0.02; done; echo second", "sh",
         go},
        options);
    done = true;
  });
  std::string got;
  char c;
  while (got.find('\n') == std::string::npos && read(fds[0], &c, 1) == 1) got.push_back(c);
  EXPECT_EQ(got, "first\n");
  // The child is still waiting for `go`, so this cannot race.
  EXPECT_FALSE(done.load());
  testing::WriteFileOrDie(go, "");
  runner.join();
  close(fds[1]);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->stdout_preview, "first\nsecond\n");
  close(fds[0]);
}

TEST(RunCommandTest, DoesNotWaitForBackgroundProcessesHoldingThePipes) {
  TempDir dir;
  const std::string pid_file = dir.File("bg.pid");
  absl::StatusOr<CommandOutcome> o = RunCommand(
      {"sh", "-c", "sleep 300 & echo $! > \"$1\"; echo started", "sh", pid_file}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->exit_code, 0);
  EXPECT_EQ(o->stdout_preview, "started\n");
  const pid_t bg = static_cast<pid_t>(std::stol(ReadFileOrDie(pid_file)));
  EXPECT_EQ(kill(bg, 0), 0) << "the background sleep should still be running";
  kill(bg, SIGKILL);
}

TEST(RunCommandTest, StopsAtExitEvenWhenABackgroundProcessKeepsWriting) {
  // `yes` keeps the stdout pipe full forever; we take what was there at the
  // child's exit and close the pipe, which ends `yes` with SIGPIPE.
  absl::StatusOr<CommandOutcome> o = RunCommand({"sh", "-c", "yes & echo started"}, Quiet());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->exit_code, 0);
  EXPECT_GT(o->stdout_bytes, 0u);
}

TEST(RunCommandTest, ForwardsATerminationSignalToTheChild) {
  CommandOptions options = Quiet();
  options.on_spawned = [](pid_t) { kill(getpid(), SIGTERM); };
  absl::StatusOr<CommandOutcome> o = RunCommand({"sleep", "300"}, options);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->received_signal, SIGTERM);
  EXPECT_EQ(o->signal, SIGTERM);
  EXPECT_EQ(o->WrapperExitCode(), 143);
}

TEST(RunCommandTest, AnIgnoredSignalStaysIgnoredForTheChild) {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(sigaction(SIGHUP, &ignore, &old), 0);
  absl::StatusOr<CommandOutcome> o =
      RunCommand({"sh", "-c", "kill -HUP $$; echo survived"}, Quiet());
  sigaction(SIGHUP, &old, nullptr);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->exit_code, 0);
  EXPECT_EQ(o->stdout_preview, "survived\n");
}

TEST(RunCommandTest, ChildGetsDefaultSigpipeEvenWhenWeIgnoreIt) {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old), 0);
  // `yes` dies of SIGPIPE once head exits; with an inherited SIG_IGN it would
  // complain about a broken pipe on stderr instead.
  absl::StatusOr<CommandOutcome> o = RunCommand({"sh", "-c", "yes | head -n 2"}, Quiet());
  sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->stdout_preview, "y\ny\n");
  EXPECT_EQ(o->stderr_preview, "");
}

// ---- ExecTrace / RunTrace

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("t.traceframe");
    ASSERT_TRUE(InitTrace(path_, "run-test", DefaultStartedPayload(), false).ok());
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(TraceTest, ToolCallIsDurableBeforeTheChildStarts) {
  CommandOptions options = Quiet();
  std::string seen_at_spawn;
  options.on_spawned = [&](pid_t) { seen_at_spawn = ReadFileOrDie(path_); };
  absl::StatusOr<ExecRecord> r = ExecTrace(path_, {"sh", "-c", "echo hi; exit 3"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(seen_at_spawn, HasSubstr("\"kind\":\"tool.call\""));
  EXPECT_THAT(seen_at_spawn, Not(HasSubstr("tool.result")));
  EXPECT_EQ(r->call_seq, 1u);
  EXPECT_EQ(r->result_seq, 2u);
  EXPECT_EQ(r->exit_code, 3);
  const std::string trace = ReadFileOrDie(path_);
  EXPECT_THAT(trace, HasSubstr("\"payload\":{\"argv\":[\"sh\",\"-c\",\"echo hi; exit 3\"],"
                               "\"command\":\"sh -c 'echo hi; exit 3'\",\"tool\":\"shell\"}"));
  EXPECT_THAT(trace, HasSubstr("\"exit_code\":3,\"stderr_bytes\":0,\"stderr_preview\":\"\","
                               "\"stdout_bytes\":3,\"stdout_preview\":\"hi\\n\","
                               "\"success\":false,\"tool\":\"shell\"}"));
  EXPECT_TRUE(Verifies(path_, true));
}

TEST_F(TraceTest, SpawnFailureRecordsResultAndError) {
  absl::StatusOr<ExecRecord> r = ExecTrace(path_, {"traceframe-no-such-command-xyz"}, Quiet());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->outcome.spawned);
  EXPECT_EQ(r->result_seq, 2u);
  EXPECT_EQ(r->error_seq, 3u);
  const std::string trace = ReadFileOrDie(path_);
  EXPECT_THAT(trace, HasSubstr("\"error\":\"No such file or directory (os error 2)\","
                               "\"exit_code\":null,\"success\":false,\"tool\":\"shell\"}"));
  EXPECT_THAT(trace, HasSubstr("\"kind\":\"error\""));
  EXPECT_THAT(trace, HasSubstr("\"message\":\"failed to execute command\""));
  EXPECT_TRUE(Verifies(path_, true));
}

TEST_F(TraceTest, NothingRunsWhenTheCallCannotBeRecorded) {
  ASSERT_TRUE(AppendEvent(path_, EventKind::kRunFinished, "{\"status\":\"success\"}").ok());
  const std::string marker = dir_.File("ran");
  absl::StatusOr<ExecRecord> r = ExecTrace(path_, {"touch", marker}, Quiet());
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("run.finished"));
  EXPECT_FALSE(testing::FileExists(marker));
  EXPECT_FALSE(ExecTrace(dir_.File("missing.traceframe"), {"touch", marker}, Quiet()).ok());
  EXPECT_FALSE(testing::FileExists(marker));
}

TEST(RunTraceTest, SuccessFailureAndSpawnFailureFinishTheRun) {
  TempDir dir;
  RunOptions options;
  options.command = Quiet();
  options.path = dir.File("ok.traceframe");
  options.run_id = "run-ok";
  std::string started_path;
  options.on_started = [&](const std::string& path, const std::string& id,
                           const std::string& command) {
    started_path = path;
    EXPECT_EQ(id, "run-ok");
    EXPECT_EQ(command, "true");
  };
  absl::StatusOr<RunRecord> r = RunTrace({"true"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(started_path, options.path);
  EXPECT_EQ(r->finish_status, "success");
  EXPECT_EQ(r->finish_seq, 3u);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_TRUE(Verifies(options.path, false));

  options.on_started = nullptr;
  options.path = dir.File("fail.traceframe");
  r = RunTrace({"sh", "-c", "exit 4"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finish_status, "failed");
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_TRUE(Verifies(options.path, false));

  options.path = dir.File("spawn.traceframe");
  r = RunTrace({"traceframe-no-such-command-xyz"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finish_status, "failed");
  EXPECT_EQ(r->finish_seq, 4u);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_THAT(ReadFileOrDie(options.path), HasSubstr("\"summary\":\"command execution failed\""));
  EXPECT_TRUE(Verifies(options.path, false));

  // An existing trace is refused without force (nothing runs), replaced with it.
  const std::string marker = dir.File("ran");
  r = RunTrace({"touch", marker}, options);
  EXPECT_TRUE(absl::IsAlreadyExists(r.status()));
  EXPECT_FALSE(testing::FileExists(marker));
  options.force = true;
  r = RunTrace({"touch", marker}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(testing::FileExists(marker));
  EXPECT_EQ(r->finish_seq, 3u);
}

TEST(RunTraceTest, InterruptionFinishesWithStatusInterrupted) {
  TempDir dir;
  RunOptions options;
  options.command = Quiet();
  options.command.on_spawned = [](pid_t) { kill(getpid(), SIGINT); };
  options.path = dir.File("int.traceframe");
  options.run_id = "run-int";
  absl::StatusOr<RunRecord> r = RunTrace({"sleep", "300"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->finish_status, "interrupted");
  EXPECT_EQ(r->exit_code, 130);
  const std::string trace = ReadFileOrDie(options.path);
  EXPECT_THAT(trace, HasSubstr("\"exit_code\":null,\"interrupted_by_signal\":2,\"signal\":2,"));
  EXPECT_THAT(trace,
              HasSubstr("{\"status\":\"interrupted\",\"summary\":\"interrupted by SIGINT\"}"));
  EXPECT_TRUE(Verifies(options.path, false));
  absl::StatusOr<TraceSummary> summary = SummarizeTrace(options.path);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status, "interrupted");
}

}  // namespace
}  // namespace traceframe
