// `traceframe record --stream` (issue #16, docs/harness-integration.md): the
// CLI behind a pipe, its acks, bad lines, EOF/signals, the lock, and the
// Python and Node clients in examples/.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFileOrDie;
using testing::RunCli;
using testing::RunProgram;
using testing::SplitLines;
using testing::TempDir;

// A running `traceframe` with pipes on stdin, stdout and stderr.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    ::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2], err[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    std::vector<std::string> argv = {testing::CliPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> cargv;
      for (std::string& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~Spawned() {
    CloseIn();
    CloseOut();
    if (err_ >= 0) ::close(err_);
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }

  bool Write(std::string_view text) {
    while (!text.empty()) {
      const ssize_t n = ::write(in_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void CloseIn() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  void CloseOut() {
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }

  // The next line on stdout without its '\n'; false at EOF.
  bool ReadLine(std::string* line) {
    for (;;) {
      const size_t nl = out_buf_.find('\n');
      if (nl != std::string::npos) {
        *line = out_buf_.substr(0, nl);
        out_buf_.erase(0, nl + 1);
        return true;
      }
      char buf[65536];
      const ssize_t n = ::read(out_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      out_buf_.append(buf, static_cast<size_t>(n));
    }
  }
  std::vector<std::string> ReadAllLines() {
    std::vector<std::string> lines;
    std::string line;
    while (ReadLine(&line)) lines.push_back(line);
    return lines;
  }
  std::string ReadAllErr() {
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(err_, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  }
  // The exit code (128+N for signal N).
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool waited_ = false;
  std::string out_buf_;
};

std::string Line(int i) {
  return Cat(R"({"kind":"tool.call","payload":{"tool":"bash","command":"echo )", i,
             R"(","argv":["echo"]},"id":"e)", i, "\"}\n");
}

void ExpectVerifies(const std::string& path, bool open) {
  std::vector<std::string> args = {"verify", "--file", path, "--json"};
  if (open) args.push_back("--allow-open");
  CliResult v = RunCli(args);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, HasSubstr("\"valid\":true"));
  EXPECT_THAT(v.out, HasSubstr(open ? "\"open\":true" : "\"open\":false"));
}

TEST(CliStreamTest, RecordsLinesAcksThemInOrderAndFinishesOnEof) {
  TempDir dir;
  const std::string path = dir.File("s.traceframe");
  std::string input;
  for (int i = 0; i < 50; ++i) input += Line(i);
  input +=
      R"({"kind":"model.call","payload":{"model":"m","provider":"p"},"ts_ms":4102444800000,"id":7})";
  input += "\n\n";  // a blank line: skipped, still counted
  input += R"({"kind":"error","payload":"last line without newline"})";
  CliResult r = RunCli({"record", "--file", path, "--stream", "--init", "run-s", "--label",
                        "task=t1", "--label", "variant=b", "--ack", "--finish-on-eof", "success"},
                       "", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> acks = SplitLines(r.out);
  ASSERT_EQ(acks.size(), 52u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(acks[i], Cat("{\"line\":", i + 1, ",\"seq\":", i + 1, ",\"id\":\"e", i, "\"}"));
  }
  EXPECT_EQ(acks[50], "{\"line\":51,\"seq\":51,\"id\":7}");
  EXPECT_EQ(acks[51], "{\"line\":53,\"seq\":52}");

  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 54u);  // run.started, 52 events, run.finished
  EXPECT_THAT(lines[0], HasSubstr(R"("labels":{"task":"t1","variant":"b"})"));
  EXPECT_THAT(lines[0], HasSubstr("\"run_id\":\"run-s\""));
  EXPECT_THAT(lines[1],
              HasSubstr(R"("payload":{"tool":"bash","command":"echo 0","argv":["echo"]})"));
  EXPECT_THAT(lines[51], HasSubstr("\"ts_ms\":4102444800000,"));
  EXPECT_THAT(lines[52], HasSubstr("\"payload\":\"last line without newline\""));
  EXPECT_THAT(lines[53], HasSubstr(R"("kind":"run.finished")"));
  EXPECT_THAT(lines[53], HasSubstr(R"("status":"success")"));
  ExpectVerifies(path, false);
}

TEST(CliStreamTest, BadLinesAreRejectedWithTheirLineNumbersAndTheRestIsKept) {
  TempDir dir;
  const std::string path = dir.File("bad.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", path, "--run-id", "run-bad"}).exit_code, 0);
  const std::vector<std::string> input = {
      Line(1),                                                 // 1
      "this is not json",                                      // 2
      R"({"kind":"no.such.kind","payload":{}})",               // 3
      R"({"kind":"run.started","payload":{}})",                // 4
      R"({"kind":"error","payload":tru})",                     // 5
      Line(6),                                                 // 6
      R"({"kind":"error","payload":{},"extra":1})",            // 7
      R"({"kind":"error"})",                                   // 8
      R"(["kind","error"])",                                   // 9
      R"({"kind":"error","payload":{},"ts_ms":-5})",           // 10
      R"({"kind":"run.finished","payload":{"no":"status"}})",  // 11
      R"({"kind":"error","payload":{}} trailing)",             // 12
      Line(13),                                                // 13
      R"({"kind":"error","payload":{"a":1,"a":2}})",           // 14
  };
  std::string text;
  for (const std::string& l : input) text += l.back() == '\n' ? l : l + "\n";
  CliResult r = RunCli({"record", "--file", path, "--stream", "--ack"}, "", text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> acks = SplitLines(r.out);
  ASSERT_EQ(acks.size(), 14u) << r.out;
  EXPECT_EQ(acks[0], R"({"line":1,"seq":1,"id":"e1"})");
  EXPECT_EQ(acks[5], R"({"line":6,"seq":2,"id":"e6"})");
  EXPECT_EQ(acks[12], R"({"line":13,"seq":3,"id":"e13"})");
  for (int line : {2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 14}) {
    EXPECT_THAT(acks[line - 1], HasSubstr(Cat("{\"line\":", line, ",\"error\":\"")));
    EXPECT_THAT(r.err, HasSubstr(Cat("Error: line ", line, ": ")));
  }
  EXPECT_THAT(r.err, Not(HasSubstr("Error: line 1:")));
  EXPECT_THAT(r.err, Not(HasSubstr("Error: line 6:")));
  EXPECT_THAT(acks[2], HasSubstr("unknown event kind"));
  EXPECT_THAT(acks[3], HasSubstr("run.started"));
  EXPECT_THAT(acks[4], HasSubstr("invalid JSON payload"));
  EXPECT_THAT(acks[6], HasSubstr("unknown field"));
  EXPECT_THAT(acks[7], HasSubstr("missing \\\"payload\\\""));
  // The library's payload contract (event.h), as for every other way in.
  EXPECT_THAT(acks[10], HasSubstr("status"));
  EXPECT_THAT(acks[13], HasSubstr("duplicate key"));
  EXPECT_THAT(r.err, HasSubstr("11 lines rejected"));
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 4u);  // run.started + the three good lines
  EXPECT_THAT(lines[3], HasSubstr("echo 13"));
  ExpectVerifies(path, true);  // no --finish-on-eof: the run stays open
}

TEST(CliStreamTest, UsageErrors) {
  TempDir dir;
  const std::string path = dir.File("u.traceframe");
  EXPECT_EQ(RunCli({"record", "--file", path, "--stream", "--kind", "error"}).exit_code, 2);
  EXPECT_EQ(RunCli({"record", "--file", path, "--ack"}).exit_code, 2);
  EXPECT_EQ(RunCli({"record", "--file", path, "--stream", "--sync", "often"}).exit_code, 2);
  EXPECT_EQ(
      RunCli({"record", "--file", path, "--stream", "--init", "r", "--label", "novalue"}).exit_code,
      2);
  CliResult missing = RunCli({"record", "--file", path, "--stream"}, "", Line(1));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("Error: "));
  EXPECT_THAT(missing.err, HasSubstr(path));
  ASSERT_EQ(RunCli({"init", "--file", path, "--run-id", "r"}).exit_code, 0);
  CliResult exists = RunCli({"record", "--file", path, "--stream", "--init", "r2"}, "", "");
  EXPECT_EQ(exists.exit_code, 1);
  EXPECT_THAT(exists.err, HasSubstr("Error: "));
}

TEST(CliStreamTest, ConcurrentAckedEventsSurviveSigkillOfTheStream) {
  TempDir dir;
  const std::string path = dir.File("kill.traceframe");
  auto stream = std::make_unique<Spawned>(std::vector<std::string>{
      "record", "--file", path, "--stream", "--init", "run-kill", "--ack"});
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::string chunk;
    for (int i = 0; !stop.load(); ++i) {
      chunk += Line(i);
      if (chunk.size() > 16384) {
        if (!stream->Write(chunk)) return;
        chunk.clear();
      }
    }
  });
  constexpr int kAcked = 20000;
  std::string ack;
  int last_line = 0;
  while (last_line < kAcked) {
    ASSERT_TRUE(stream->ReadLine(&ack)) << stream->ReadAllErr();
    simdjson::dom::parser parser;
    simdjson::dom::element e = parser.parse(ack);
    last_line = static_cast<int>(int64_t(e["line"]));
    ASSERT_EQ(int64_t(e["seq"]), last_line);
  }
  // The harness dies with the stream: every acked event must be in the file.
  ::kill(stream->pid(), SIGKILL);
  EXPECT_EQ(stream->Wait(), 128 + SIGKILL);
  stop = true;
  writer.join();
  stream.reset();

  CliResult repaired = RunCli({"repair", "--file", path});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err;
  ExpectVerifies(path, true);
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_GT(lines.size(), static_cast<size_t>(kAcked));
  for (int i = 0; i < kAcked; ++i) {
    ASSERT_THAT(lines[i + 1], HasSubstr(Cat("\"command\":\"echo ", i, "\""))) << i;
  }
}

TEST(CliStreamTest, ConcurrentSigtermFlushesWhatWasReadAndExitsZero) {
  TempDir dir;
  const std::string path = dir.File("term.traceframe");
  Spawned stream({"record", "--file", path, "--stream", "--init", "run-term", "--ack",
                  "--finish-on-eof", "interrupted"});
  std::string text;
  for (int i = 0; i < 1000; ++i) text += Line(i);
  ASSERT_TRUE(stream.Write(text));
  std::string ack;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(stream.ReadLine(&ack));
  // stdin stays open: the signal alone ends the stream.
  ::kill(stream.pid(), SIGTERM);
  EXPECT_EQ(stream.Wait(), 0);
  EXPECT_THAT(stream.ReadAllErr(), HasSubstr("stopped by a signal"));
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 1002u);
  EXPECT_THAT(lines.back(), HasSubstr(R"("status":"interrupted")"));
  ExpectVerifies(path, false);
}

TEST(CliStreamTest, ConcurrentCliRecordDuringAStreamFailsNamingTheHolder) {
  TempDir dir;
  const std::string path = dir.File("held.traceframe");
  Spawned stream({"record", "--file", path, "--stream", "--init", "run-held", "--ack"});
  ASSERT_TRUE(stream.Write(Line(0)));
  std::string ack;
  ASSERT_TRUE(stream.ReadLine(&ack));  // the stream holds the lock now
  CliResult held = RunCli({"record", "--file", path, "--kind", "error", "--payload", "{}"}, "", "",
                          {"TRACEFRAME_LOCK_TIMEOUT_MS=200"});
  EXPECT_EQ(held.exit_code, 1);
  EXPECT_THAT(held.err, HasSubstr("locked by another writer"));
  EXPECT_THAT(held.err, HasSubstr(Cat("pid ", stream.pid())));
  stream.CloseIn();
  EXPECT_EQ(stream.Wait(), 0);
  CliResult free = RunCli({"record", "--file", path, "--kind", "error", "--payload", "{}"});
  EXPECT_EQ(free.exit_code, 0) << free.err;
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 3u);
}

TEST(CliStreamTest, ConcurrentClosedStdoutStopsAcksButNotRecording) {
  TempDir dir;
  const std::string path = dir.File("closed.traceframe");
  Spawned stream({"record", "--file", path, "--stream", "--init", "run-closed", "--ack"});
  stream.CloseOut();
  std::string text;
  for (int i = 0; i < 20000; ++i) text += Line(i);
  ASSERT_TRUE(stream.Write(text));
  stream.CloseIn();
  EXPECT_EQ(stream.Wait(), 0);
  EXPECT_THAT(stream.ReadAllErr(), HasSubstr("acks stopped"));
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 20001u);
  ExpectVerifies(path, true);
}

TEST(CliStreamTest, ContinuesAnOpenTraceAndRefusesAfterRunFinished) {
  TempDir dir;
  const std::string path = dir.File("cont.traceframe");
  ASSERT_EQ(RunCli({"init", "--file", path, "--run-id", "run-c"}).exit_code, 0);
  ASSERT_EQ(RunCli({"record", "--file", path, "--kind", "error", "--payload", "{}"}).exit_code, 0);
  const std::string text =
      Line(0) + R"({"kind":"run.finished","payload":{"status":"ok"}})" + "\n" + Line(2);
  CliResult r = RunCli({"record", "--file", path, "--stream", "--ack"}, "", text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> acks = SplitLines(r.out);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[0], R"({"line":1,"seq":2,"id":"e0"})");
  EXPECT_EQ(acks[1], R"({"line":2,"seq":3})");
  EXPECT_THAT(acks[2], HasSubstr(R"({"line":3,"error":"cannot append after run.finished)"));
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 4u);
  ExpectVerifies(path, false);
}

std::string ExamplePath(const std::string& rel) {
  return Cat(TRACEFRAME_SOURCE_DIR, "/examples/", rel);
}

// The issue's proof: a million events from the Python client, each present
// once and in order, and the trace verifies. (Acks are proven above; without
// them this test costs the gate only the Python loop and one verify.)
TEST(CliStreamTest, PythonClientMillionEventsEachOnceInOrder) {
  TempDir dir;
  const std::string path = dir.File("py.traceframe");
  constexpr int kEvents = 1000000;
  CliResult r = RunProgram({"python3", ExamplePath("python/traceframe_stream.py"),
                            testing::CliPath(), path, Cat(kEvents)});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(Cat("events=", kEvents)));
  ExpectVerifies(path, false);
  simdjson::dom::parser parser;
  simdjson::padded_string text = simdjson::padded_string::load(path);
  simdjson::dom::document_stream docs = parser.parse_many(text);
  int64_t n = -1;
  for (simdjson::dom::element e : docs) {
    if (n >= 0 && n < kEvents) {
      ASSERT_EQ(std::string_view(e["payload"]["command"]), Cat("echo ", n));
      ASSERT_EQ(uint64_t(e["seq"]), static_cast<uint64_t>(n + 1));
    }
    ++n;
  }
  EXPECT_EQ(n, kEvents + 1);  // run.started, the events, run.finished
}

TEST(CliStreamTest, PythonClientContextManagerAcksAndRejections) {
  TempDir dir;
  const std::string path = dir.File("pyc.traceframe");
  const std::string script =
      Cat("import sys\n"
          "sys.path.insert(0, '",
          TRACEFRAME_SOURCE_DIR,
          "/examples/python')\n"
          "from traceframe_stream import TraceStream, TraceStreamError\n"
          "with TraceStream(sys.argv[1], init='run-py', labels={'task': 'x'}, ack=True,\n"
          "                 finish_status='success', binary=sys.argv[2]) as s:\n"
          "    a = s.event('model.call', {'provider': 'p', 'model': 'm'}, id='k1')\n"
          "    b = s.write_raw('not json')\n"
          "    c = s.event('error', {'message': 'x'}, ts_ms=1700000000000)\n"
          "    assert s.wait_durable(timeout=30)\n"
          "    acks = s.acks()\n"
          "    assert [x['line'] for x in acks] == [1, 3], acks\n"
          "    assert acks[0] == {'line': 1, 'seq': 1, 'id': 'k1'}, acks\n"
          "    assert s.rejected()[0]['line'] == 2\n"
          "try:\n"
          "    TraceStream(sys.argv[1], binary=sys.argv[2]).close()\n"
          "    raise SystemExit('closed run accepted')\n"
          "except TraceStreamError as e:\n"
          "    assert 'run.finished' in str(e), e\n"
          "print('ok')\n");
  CliResult r = RunProgram({"python3", "-c", script, path, testing::CliPath()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok\n");
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], HasSubstr(R"("labels":{"task":"x"})"));
}

TEST(CliStreamTest, NodeClientAcksInOrderAndRejectsBadLines) {
  TempDir dir;
  const std::string path = dir.File("node.traceframe");
  CliResult r = RunProgram(
      {"node", ExamplePath("node/traceframe-stream.mjs"), testing::CliPath(), path, "2000"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"("acks":2000,"ordered":true)"));
  EXPECT_THAT(r.out, HasSubstr("unknown event kind"));
  EXPECT_THAT(r.out, HasSubstr(R"("lastSeq":2000)"));
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 2002u);
  EXPECT_THAT(lines[0], HasSubstr(R"("labels":{"client":"node"})"));
  ExpectVerifies(path, false);
}

}  // namespace
}  // namespace traceframe
