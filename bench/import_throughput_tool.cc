// Import throughput next to its floor (docs/performance.md "Import"):
// builds a large Claude Code transcript by repeating real fixture lines
// (tests/data/import, ids made unique per repetition so API calls stay
// distinct), then times, in the same run, (a) simdjson's DOM parse of every
// line of it and (b) `traceframe import` of it (parse, map, redact, write
// the trace). Prints both rates and their ratio (target >= 0.5), wall and
// CPU (the import also writes and fsyncs the trace), and the heap
// in use after the import (the transcript is memory-mapped, not on the
// heap).
//
// usage (from the repository root):
//   build/release/bench/import_throughput_tool [MB=256] [fixture.jsonl ...]
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "simdjson.h"
#include "traceframe/import.h"

namespace {

// CPU seconds (user + system) this process has used.
double CpuSeconds() {
  struct rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  std::vector<std::string> fixtures;
  for (int i = 2; i < argc; ++i) fixtures.push_back(argv[i]);
  if (fixtures.empty()) {
    const std::string data = "tests/data/import/claude/";  // run from the repository root
    fixtures.push_back(data +
                       "0daf8cb5-f685-486f-a3f7-90858e84289f/subagents/"
                       "agent-ad92ef969c5ba71db.jsonl");
    fixtures.push_back(data + "0daf8cb5-f685-486f-a3f7-90858e84289f.jsonl");
  }
  std::string block;
  for (const std::string& f : fixtures) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      simdjson::dom::parser probe;
      if (probe.parse(line).error() == simdjson::SUCCESS) block += line + "\n";
    }
  }
  if (block.empty()) {
    std::fprintf(stderr, "no fixture lines\n");
    return 1;
  }
  char dir_template[] = "/tmp/import-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  const std::string input = dir + "/bench-session.jsonl";
  {
    std::ofstream out(input, std::ios::binary);
    size_t written = 0;
    for (size_t rep = 0; written < megabytes << 20; ++rep) {
      const std::string tag = std::to_string(rep) + "_";
      std::string copy = ReplaceAll(block, "\"msg_", "\"msg_" + tag);
      copy = ReplaceAll(copy, "\"req_", "\"req_" + tag);
      copy = ReplaceAll(copy, "\"toolu_", "\"toolu_" + tag);
      out << copy;
      written += copy.size();
    }
  }
  // The generated input goes to disk before anything is timed: left dirty
  // in the page cache, it was written back inside the import's fsync of the
  // trace (ext4 commits the journal for the whole file system), which
  // charged the benchmark's own setup to the import's wall time.
  {
    const int fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  std::string bytes;
  {
    std::ifstream in(input, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  // (a) simdjson DOM parse of each line: the floor any importer pays.
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  simdjson::dom::parser parser;
  size_t lines = 0;
  for (size_t pos = 0; pos < bytes.size();) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos) nl = bytes.size();
    simdjson::dom::element root;
    if (parser.parse(bytes.data() + pos, nl - pos).get(root) == simdjson::SUCCESS) ++lines;
    pos = nl + 1;
  }
  const double dom_s = Seconds(t0);
  const double dom_cpu_s = CpuSeconds() - c0;
  const size_t size = bytes.size();
  std::string().swap(bytes);
  // (b) the import, end to end, to a trace file.
  traceframe::ImportOptions options;
  options.out_file = dir + "/bench.traceframe";
  options.force = true;
  t0 = std::chrono::steady_clock::now();
  c0 = CpuSeconds();
  absl::StatusOr<traceframe::ImportReport> report = traceframe::ImportTranscripts(input, options);
  const double import_s = Seconds(t0);
  const double import_cpu_s = CpuSeconds() - c0;
  if (!report.ok()) {
    std::fprintf(stderr, "import failed: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const struct mallinfo2 heap = ::mallinfo2();
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  const traceframe::ImportedSession& s = report->sessions[0];
  struct stat st;
  const long long trace_bytes =
      ::stat(options.out_file.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  const double mb = static_cast<double>(size) / 1e6;
  std::printf(
      "{\"bytes\":%zu,\"lines\":%zu,\"dom_s\":%.3f,\"dom_mbps\":%.1f,\"import_s\":%.3f,"
      "\"import_mbps\":%.1f,\"ratio\":%.2f,\"dom_cpu_s\":%.3f,\"import_cpu_s\":%.3f,"
      "\"cpu_ratio\":%.2f,\"trace_bytes\":%lld,\"events\":%llu,\"model_calls\":%llu,"
      "\"heap_in_use_mb\":%.1f,\"max_rss_mb\":%.1f}\n",
      size, lines, dom_s, mb / dom_s, import_s, mb / import_s, dom_s / import_s, dom_cpu_s,
      import_cpu_s, dom_cpu_s / import_cpu_s, trace_bytes,
      static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.model_calls),
      static_cast<double>(heap.uordblks + heap.hblkhd) / 1e6, usage.ru_maxrss / 1024.0);
  std::remove(input.c_str());
  std::remove(options.out_file.c_str());
  ::rmdir(dir.c_str());
  return 0;
}
