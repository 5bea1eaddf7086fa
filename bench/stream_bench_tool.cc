// record --stream throughput next to the in-process TraceRecorder, in one
// run (docs/performance.md, "record --stream"; issue #16).
//
//   build/release/bench/stream_bench_tool --bin build/release/cli/traceframe
//       [--events N] [--dir DIR] [--python examples/python/traceframe_stream.py] [--ack]
//
// The same N ~200-byte tool.call events (the line in the trace is ~200
// bytes), --sync batch, three ways:
//   recorder  one producer thread calls TraceRecorder::Record(kind, payload)
//             for each event, then Flush(): durable events/s in-process;
//   pipe-cpp  a C++ producer writes the JSON lines into
//             `traceframe record --stream` (64 KiB writes); the clock stops
//             when the process exited 0, i.e. after its final flush + sync;
//   pipe-py   examples/python/traceframe_stream.py does the same from Python
//             (building its lines included), when --python is given.
// Each prints events/s and its ratio to the recorder. With --ack the pipe
// runs also read every ack (a second thread in the C++ producer).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "traceframe/event.h"
#include "traceframe/recorder.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Payload(int i) {
  static const std::string pad(90, 'x');
  return Cat(R"({"tool":"bash","command":"echo )", i, R"(","argv":["echo",")", i, R"("],"note":")",
             pad, "\"}");
}

pid_t Spawn(const std::vector<std::string>& args, int in_fd, int out_fd) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_fd, 0);
    if (out_fd >= 0) ::dup2(out_fd, 1);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

double CpuSeconds(const rusage& ru) {
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double SelfCpu() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return CpuSeconds(ru);
}

// CPU seconds (all threads, user + system) of the last measured case: on a
// shared machine wall-clock rates move with the neighbours, CPU per event
// does not.
double g_cpu = 0;

int WaitExit(pid_t pid) {
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  g_cpu += CpuSeconds(ru);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double RunRecorder(const std::string& path, const std::vector<std::string>& payloads) {
  ::unlink(path.c_str());
  const double cpu0 = SelfCpu();
  const Clock::time_point start = Clock::now();
  auto rec = TraceRecorder::Start(path, "bench-stream", false);
  if (!rec.ok()) {
    std::fprintf(stderr, "recorder: %s\n", std::string(rec.status().message()).c_str());
    std::exit(1);
  }
  for (const std::string& p : payloads) {
    if (!(*rec)->Record(EventKind::kToolCall, p).ok()) std::exit(1);
  }
  if (!(*rec)->Finish("success").ok()) std::exit(1);
  rec->reset();
  const double rate = static_cast<double>(payloads.size()) / Seconds(start);
  g_cpu = SelfCpu() - cpu0;
  return rate;
}

double RunPipeCpp(const std::string& bin, const std::string& path,
                  const std::vector<std::string>& payloads, bool ack) {
  ::unlink(path.c_str());
  std::string input;
  input.reserve(payloads.size() * 230);
  for (size_t i = 0; i < payloads.size(); ++i) {
    Append(&input, R"({"kind":"tool.call","payload":)", payloads[i], ",\"id\":", i, "}\n");
  }
  const double cpu0 = SelfCpu();
  g_cpu = 0;
  const Clock::time_point start = Clock::now();
  int in[2];
  int out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || (ack && ::pipe2(out, O_CLOEXEC) != 0)) std::exit(1);
  std::vector<std::string> args = {bin,        "record",          "--file",       path,
                                   "--stream", "--init",          "bench-stream", "--sync",
                                   "batch",    "--finish-on-eof", "success"};
  if (ack) args.push_back("--ack");
  const pid_t pid = Spawn(args, in[0], ack ? out[1] : -1);
  ::close(in[0]);
  if (ack) ::close(out[1]);
  std::thread reader;
  size_t ack_lines = 0;
  if (ack) {
    reader = std::thread([&] {
      char buf[1 << 16];
      ssize_t n;
      while ((n = ::read(out[0], buf, sizeof(buf))) > 0) {
        ack_lines += static_cast<size_t>(std::count(buf, buf + n, '\n'));
      }
      ::close(out[0]);
    });
  }
  for (size_t off = 0; off < input.size();) {
    const ssize_t n =
        ::write(in[1], input.data() + off, std::min<size_t>(65536, input.size() - off));
    if (n <= 0) std::exit(1);
    off += static_cast<size_t>(n);
  }
  ::close(in[1]);
  const int code = WaitExit(pid);
  if (ack) reader.join();
  const double rate = static_cast<double>(payloads.size()) / Seconds(start);
  g_cpu += SelfCpu() - cpu0;  // the producer (and ack reader) threads
  if (code != 0 || (ack && ack_lines != payloads.size())) {
    std::fprintf(stderr, "pipe-cpp: exit %d, %zu acks\n", code, ack_lines);
    std::exit(1);
  }
  return rate;
}

double RunPipePython(const std::string& python, const std::string& bin, const std::string& path,
                     size_t events, bool ack) {
  ::unlink(path.c_str());
  g_cpu = 0;
  const Clock::time_point start = Clock::now();
  std::vector<std::string> args = {"python3", python, bin, path, Cat(events)};
  if (ack) args.push_back("--ack");
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t pid = Spawn(args, devnull, devnull);
  const int code = WaitExit(pid);
  ::close(devnull);
  if (code != 0) {
    std::fprintf(stderr, "pipe-py: exit %d\n", code);
    std::exit(1);
  }
  return static_cast<double>(events) / Seconds(start);
}

}  // namespace
}  // namespace traceframe

int main(int argc, char** argv) {
  using namespace traceframe;
  std::string bin;
  std::string python;
  std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  size_t events = 1000000;
  bool ack = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bin" && i + 1 < argc) {
      bin = argv[++i];
    } else if (a == "--python" && i + 1 < argc) {
      python = argv[++i];
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--events" && i + 1 < argc) {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--ack") {
      ack = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s --bin TRACEFRAME [--events N] [--dir DIR] [--python PY] [--ack]\n",
                   argv[0]);
      return 2;
    }
  }
  if (bin.empty()) {
    std::fprintf(stderr, "--bin is required\n");
    return 2;
  }
  std::vector<std::string> payloads;
  payloads.reserve(events);
  for (size_t i = 0; i < events; ++i) payloads.push_back(Payload(static_cast<int>(i)));
  const std::string path = Cat(dir, "/traceframe-stream-bench-", ::getpid(), ".traceframe");
  // Alternate the runs so a neighbour's burst hits both sides alike; keep
  // each case's best rate and its lowest CPU per event.
  struct Best {
    double rate = 0;
    double cpu_us = 1e18;
    void Add(double r, size_t n) {
      rate = std::max(rate, r);
      cpu_us = std::min(cpu_us, g_cpu * 1e6 / static_cast<double>(n));
    }
  };
  Best rec, cpp, py;
  for (int round = 0; round < 2; ++round) {
    rec.Add(RunRecorder(path, payloads), events);
    cpp.Add(RunPipeCpp(bin, path, payloads, ack), events);
    if (!python.empty()) py.Add(RunPipePython(python, bin, path, events, ack), events);
  }
  ::unlink(path.c_str());
  ::unlink((path + ".idx").c_str());
  std::printf("events=%zu sync=batch ack=%s (best of 2; cpu = all threads and processes)\n", events,
              ack ? "yes" : "no");
  std::printf("recorder  %10.0f events/s  cpu %.2f us/event\n", rec.rate, rec.cpu_us);
  std::printf("pipe-cpp  %10.0f events/s  cpu %.2f us/event  %.2fx recorder (cpu %.2fx)\n",
              cpp.rate, cpp.cpu_us, cpp.rate / rec.rate, cpp.cpu_us / rec.cpu_us);
  if (!python.empty()) {
    std::printf("pipe-py   %10.0f events/s  cpu %.2f us/event  %.2fx recorder (cpu %.2fx)\n",
                py.rate, py.cpu_us, py.rate / rec.rate, py.cpu_us / rec.cpu_us);
  }
  return 0;
}
