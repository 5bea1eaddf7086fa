// End-to-end latency of `traceframe hook ingest` as an agent host sees it:
// spawn the process with a payload on stdin, wait for it to exit. Measured
// against a 1-event trace and a large (default 1 GiB) trace to show the cost
// does not grow with the trace, and against spawning /bin/true (the floor set
// by process start-up on this machine) and simdjson_noop_tool (the floor of
// any process that loads libsimdjson.so).
//
//   hook_latency_tool --bin build/release/cli/traceframe --dir /tmp/hookbench
//                     [--iterations 300] [--big-bytes 1073741824]
//
// The big trace is generated once under --dir (kept for reruns) by writing
// valid event lines directly. Prints one line per case and the ratios.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "traceframe/event.h"

extern char** environ;

namespace {

struct Args {
  std::string bin = "build/release/cli/traceframe";
  std::string dir = "/tmp/traceframe-hookbench";
  int iterations = 300;
  uint64_t big_bytes = uint64_t{1} << 30;
};

constexpr char kPayload[] =
    R"({"session_id":"bench","transcript_path":"/tmp/t.jsonl","cwd":"/tmp","permission_mode":"default",)"
    R"("hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"cargo test"},)"
    R"("tool_use_id":"toolu_01","tool_response":{"stdout":"test result: ok. 12 passed","stderr":"",)"
    R"("interrupted":false,"exit_code":0}})";

double RunOnce(const std::vector<std::string>& argv, const std::string& stdin_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const auto end = std::chrono::steady_clock::now();
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s exited with status %d\n", argv[0].c_str(), status);
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(end - start).count();
}

struct Stats {
  double median, p99, mean;
};

Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  const size_t p99 = std::min(v.size() - 1, static_cast<size_t>(v.size() * 0.99));
  return {v[v.size() / 2], v[p99], sum / static_cast<double>(v.size())};
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Writes a valid open trace of about `bytes` bytes.
void GenerateTrace(const std::string& path, uint64_t bytes) {
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::vector<char> buffer(8 << 20);
  std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
  traceframe::Event event;
  event.run_id = "run-bench-big";
  event.kind = traceframe::EventKind::kRunStarted;
  event.ts_ms = 1700000000000;
  event.event_id = "00000000-0000-4000-8000-000000000000";
  event.payload_json = R"({"created_by":"traceframe","status":"started"})";
  std::string line;
  uint64_t written = 0;
  char id[40];
  for (uint64_t seq = 0; written < bytes; ++seq) {
    event.seq = seq;
    event.ts_ms = 1700000000000 + static_cast<int64_t>(seq);
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(seq));
    event.event_id = id;
    if (seq > 0) {
      event.kind = seq % 2 ? traceframe::EventKind::kToolCall : traceframe::EventKind::kToolResult;
      event.payload_json =
          seq % 2
              ? R"({"tool":"Bash","command":"cargo test --workspace","hook_event":"PreToolUse","source":"generic"})"
              : R"({"tool":"Bash","command":"cargo test --workspace","success":true,"exit_code":0,"output":"test result: ok. 12 passed; 0 failed","source":"generic"})";
    }
    line.clear();
    traceframe::AppendEventLine(&line, event);
    std::fwrite(line.data(), 1, line.size(), out);
    written += line.size();
  }
  std::fclose(out);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--bin") {
      args.bin = next();
    } else if (a == "--dir") {
      args.dir = next();
    } else if (a == "--iterations") {
      args.iterations = std::atoi(next().c_str());
    } else if (a == "--big-bytes") {
      args.big_bytes = std::strtoull(next().c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: hook_latency_tool --bin PATH --dir DIR [--iterations N] "
                   "[--big-bytes BYTES]\n");
      return 2;
    }
  }
  if (args.bin.find('/') == std::string::npos || args.bin[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) args.bin = std::string(cwd) + "/" + args.bin;
  }
  ::mkdir(args.dir.c_str(), 0755);
  const std::string payload = args.dir + "/payload.json";
  {
    FILE* f = std::fopen(payload.c_str(), "wb");
    std::fwrite(kPayload, 1, sizeof(kPayload) - 1, f);
    std::fclose(f);
  }
  // An event with no trace meaning: everything but the append and its sync.
  const std::string ignored = args.dir + "/ignored.json";
  {
    FILE* f = std::fopen(ignored.c_str(), "wb");
    std::fputs(R"({"session_id":"bench","hook_event_name":"UserPromptSubmit","prompt":"hi"})", f);
    std::fclose(f);
  }
  const std::string small = args.dir + "/small.traceframe";
  const std::string big = args.dir + "/big.traceframe";
  ::unlink(small.c_str());
  RunOnce({args.bin, "init", "--file", small, "--run-id", "run-bench-small"}, "/dev/null");
  if (FileSize(big) < args.big_bytes) {
    std::fprintf(stderr, "generating %s (%llu bytes)...\n", big.c_str(),
                 static_cast<unsigned long long>(args.big_bytes));
    GenerateTrace(big, args.big_bytes);
  }
  // Warm the page cache and the binary.
  for (int i = 0; i < 5; ++i) {
    RunOnce({"/bin/true"}, payload);
    RunOnce({args.bin, "hook", "ingest", "--quiet", "--file", small}, payload);
    RunOnce({args.bin, "hook", "ingest", "--quiet", "--file", big}, payload);
  }
  // The no-op that loads libsimdjson.so, built next to this tool.
  std::string noop;
  {
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
      std::string dir(self, static_cast<size_t>(n));
      dir.resize(dir.rfind('/') + 1);
      if (::access((dir + "simdjson_noop_tool").c_str(), X_OK) == 0) {
        noop = dir + "simdjson_noop_tool";
      }
    }
  }
  std::vector<double> t_true, t_noop, t_version, t_ignored, t_small, t_big, t_dir, t_nosync;
  const std::string runs = args.dir + "/runs";
  for (int i = 0; i < args.iterations; ++i) {
    t_true.push_back(RunOnce({"/bin/true"}, payload));
    if (!noop.empty()) t_noop.push_back(RunOnce({noop}, payload));
    t_version.push_back(RunOnce({args.bin, "--version"}, payload));
    t_ignored.push_back(RunOnce({args.bin, "hook", "ingest", "--quiet", "--file", small}, ignored));
    t_small.push_back(RunOnce({args.bin, "hook", "ingest", "--quiet", "--file", small}, payload));
    t_big.push_back(RunOnce({args.bin, "hook", "ingest", "--quiet", "--file", big}, payload));
    t_dir.push_back(RunOnce({args.bin, "hook", "ingest", "--quiet", "--dir", runs}, payload));
    t_nosync.push_back(
        RunOnce({args.bin, "hook", "ingest", "--quiet", "--no-sync", "--file", big}, payload));
  }
  const Stats s_true = Summarize(t_true), s_small = Summarize(t_small), s_big = Summarize(t_big),
              s_dir = Summarize(t_dir);
  std::printf("hook ingest latency, %d iterations each, process spawn to exit (ms)\n",
              args.iterations);
  std::printf("%-34s %8s %8s %8s\n", "case", "median", "p99", "mean");
  auto row = [](const char* name, const Stats& s) {
    std::printf("%-34s %8.3f %8.3f %8.3f\n", name, s.median, s.p99, s.mean);
  };
  row("/bin/true (spawn floor)", s_true);
  if (!t_noop.empty()) row("no-op loading libsimdjson.so", Summarize(t_noop));
  row("traceframe --version (start-up)", Summarize(t_version));
  row("ingest, ignored event (no write)", Summarize(t_ignored));
  row("ingest --file, 1-event trace", s_small);
  std::string big_name = "ingest --file, " + std::to_string(FileSize(big) >> 20) + " MiB trace";
  row(big_name.c_str(), s_big);
  row("ingest --dir (session trace)", s_dir);
  std::string nosync_name = "ingest --no-sync, " + std::to_string(FileSize(big) >> 20) + " MiB";
  row(nosync_name.c_str(), Summarize(t_nosync));
  std::printf("big/small median ratio: %.3f (target <= 1.5)\n", s_big.median / s_small.median);
  std::printf("big/small mean ratio:   %.3f\n", s_big.mean / s_small.mean);
  return 0;
}
