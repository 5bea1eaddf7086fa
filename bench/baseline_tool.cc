// baseline_tool: the figures bench/run_e2e.sh compares traceframe against,
// measured in-process with the same clock, plus traceframe's own library calls.
//
//   baseline_tool parse-many --file F [--threads N] [--repeat R]
//       simdjson DOM parse_many over the file, split at newlines into N parts,
//       one thread per part (the same split verify uses). Every document is
//       fully parsed (DOM tape built); errors are counted.
//   baseline_tool verify  --file F [--threads N] [--repeat R]
//       traceframe::VerifyTrace (strict JSON + invariants), --allow-open.
//   baseline_tool summary --file F [--repeat R]
//       traceframe::SummarizeTrace.
//   baseline_tool write-sync --file SRC --out DST [--batch-bytes B]
//       copies SRC's lines to DST with write(2) in batches of about B bytes
//       (whole lines) and one fdatasync per batch: the raw cost of durable
//       appends of the same preformatted bytes.
//
// Each mode prints one line: "<mode> threads=N bytes=B seconds=S gbps=G ..."
// with the best (minimum) time of --repeat runs; run_e2e.sh parses it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "simdjson.h"
#include "traceframe/summary.h"
#include "traceframe/verify.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds (user + system, all threads) used by this process so far. On a
// shared machine, bytes per CPU second compares work done independently of
// how much of the wall clock other processes took.
double CpuSeconds() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The best wall time and the CPU time of that same run.
struct Timing {
  double wall = 1e100;
  double cpu = 0;
  void Add(double wall_s, double cpu_s) {
    if (wall_s < wall) {
      wall = wall_s;
      cpu = cpu_s;
    }
  }
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "baseline_tool: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// Maps the file read-only followed by at least SIMDJSON_PADDING zero bytes:
// an anonymous reservation with the file mapped over its start, so simdjson
// may read past the end of the last part exactly as it may past any other.
struct PaddedMapping {
  const char* data = nullptr;
  size_t size = 0;
  size_t reserved = 0;
  explicit PaddedMapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die("open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) Die("stat " + path);
    size = static_cast<size_t>(st.st_size);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t file_pages = (size + page - 1) / page * page;
    reserved = file_pages + page;
    void* base = ::mmap(nullptr, reserved, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) Die("mmap");
    if (size > 0 && ::mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
      Die("mmap " + path);
    }
    ::madvise(base, size, MADV_SEQUENTIAL);
    ::close(fd);
    data = static_cast<const char*>(base);
  }
  ~PaddedMapping() { ::munmap(const_cast<char*>(data), reserved); }
};

struct Args {
  std::string mode, file, out;
  int threads = 1;
  int repeat = 1;
  size_t batch_bytes = 64 << 10;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: baseline_tool parse-many|verify|summary|write-sync --file F "
                 "[--threads N] [--repeat R] [--out DST] [--batch-bytes B]\n");
    std::exit(2);
  }
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--file")
      a.file = v;
    else if (k == "--out")
      a.out = v;
    else if (k == "--threads")
      a.threads = std::max(1, std::atoi(v));
    else if (k == "--repeat")
      a.repeat = std::max(1, std::atoi(v));
    else if (k == "--batch-bytes")
      a.batch_bytes = std::strtoull(v, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

// Part boundaries at line starts, like verify's split.
std::vector<size_t> SplitAtNewlines(const char* data, size_t size, int parts) {
  std::vector<size_t> bounds{0};
  for (int i = 1; i < parts; ++i) {
    size_t at = std::max(bounds.back(), size / static_cast<size_t>(parts) * static_cast<size_t>(i));
    const void* nl = at < size ? std::memchr(data + at, '\n', size - at) : nullptr;
    at = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) + 1 : size;
    bounds.push_back(at);
  }
  bounds.push_back(size);
  return bounds;
}

int ParseMany(const Args& a) {
  PaddedMapping m(a.file);
  const std::vector<size_t> bounds = SplitAtNewlines(m.data, m.size, a.threads);
  Timing best;
  uint64_t docs = 0, errors = 0;
  for (int r = 0; r < a.repeat; ++r) {
    std::atomic<uint64_t> total_docs{0}, total_errors{0};
    const double start = Now(), cpu_start = CpuSeconds();
    std::vector<std::thread> pool;
    for (int t = 0; t < a.threads; ++t) {
      pool.emplace_back([&, t] {
        simdjson::dom::parser parser;
        const size_t begin = bounds[t], end = bounds[t + 1];
        if (end <= begin) return;
        uint64_t n = 0, bad = 0;
        simdjson::dom::document_stream stream;
        // Batches of 4 MB hold the largest generated line many times over.
        if (parser
                .parse_many(reinterpret_cast<const uint8_t*>(m.data + begin), end - begin, 4u << 20)
                .get(stream)) {
          ++bad;
        } else {
          for (auto doc : stream) {
            simdjson::dom::element e;
            if (doc.get(e)) {
              ++bad;
            } else {
              ++n;
            }
          }
        }
        total_docs += n;
        total_errors += bad;
      });
    }
    for (auto& th : pool) th.join();
    best.Add(Now() - start, CpuSeconds() - cpu_start);
    docs = total_docs;
    errors = total_errors;
  }
  std::printf(
      "parse-many threads=%d bytes=%zu seconds=%.4f gbps=%.3f cpu_gbps=%.3f docs=%llu "
      "errors=%llu\n",
      a.threads, m.size, best.wall, static_cast<double>(m.size) / best.wall / 1e9,
      static_cast<double>(m.size) / best.cpu / 1e9, static_cast<unsigned long long>(docs),
      static_cast<unsigned long long>(errors));
  return errors == 0 ? 0 : 1;
}

int Verify(const Args& a) {
  traceframe::VerifyOptions options;
  options.threads = a.threads;
  options.allow_open = true;
  Timing best;
  traceframe::VerifyReport report;
  for (int r = 0; r < a.repeat; ++r) {
    const double start = Now(), cpu_start = CpuSeconds();
    absl::StatusOr<traceframe::VerifyReport> got = traceframe::VerifyTrace(a.file, options);
    best.Add(Now() - start, CpuSeconds() - cpu_start);
    if (!got.ok()) {
      std::fprintf(stderr, "verify failed: %s\n", std::string(got.status().message()).c_str());
      return 1;
    }
    report = std::move(*got);
  }
  std::printf(
      "verify threads=%d bytes=%llu seconds=%.4f gbps=%.3f cpu_gbps=%.3f events=%llu "
      "valid=%d\n",
      a.threads, static_cast<unsigned long long>(report.bytes), best.wall,
      static_cast<double>(report.bytes) / best.wall / 1e9,
      static_cast<double>(report.bytes) / best.cpu / 1e9,
      static_cast<unsigned long long>(report.events), report.valid ? 1 : 0);
  return report.valid ? 0 : 1;
}

int Summary(const Args& a) {
  Timing best;
  uint64_t events = 0;
  struct stat st;
  if (::stat(a.file.c_str(), &st) != 0) Die("stat " + a.file);
  for (int r = 0; r < a.repeat; ++r) {
    const double start = Now(), cpu_start = CpuSeconds();
    absl::StatusOr<traceframe::TraceSummary> got = traceframe::SummarizeTrace(a.file);
    best.Add(Now() - start, CpuSeconds() - cpu_start);
    if (!got.ok()) {
      std::fprintf(stderr, "summary failed: %s\n", std::string(got.status().message()).c_str());
      return 1;
    }
    events = got->events;
  }
  std::printf("summary threads=0 bytes=%lld seconds=%.4f gbps=%.3f cpu_gbps=%.3f events=%llu\n",
              static_cast<long long>(st.st_size), best.wall,
              static_cast<double>(st.st_size) / best.wall / 1e9,
              static_cast<double>(st.st_size) / best.cpu / 1e9,
              static_cast<unsigned long long>(events));
  return 0;
}

int WriteSync(const Args& a) {
  PaddedMapping m(a.file);
  const int fd = ::open(a.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("open " + a.out);
  const double start = Now();
  size_t pos = 0, batches = 0;
  while (pos < m.size) {
    size_t end = std::min(m.size, pos + a.batch_bytes);
    const void* nl = end < m.size ? std::memchr(m.data + end, '\n', m.size - end) : nullptr;
    end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - m.data) + 1 : m.size;
    for (size_t done = pos; done < end;) {
      const ssize_t n = ::write(fd, m.data + done, end - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("write " + a.out);
      done += static_cast<size_t>(n);
    }
    if (::fdatasync(fd) != 0) Die("fdatasync " + a.out);
    ++batches;
    pos = end;
  }
  const double seconds = Now() - start;
  ::close(fd);
  uint64_t lines = 0;
  for (size_t i = 0; i < m.size; ++i) lines += m.data[i] == '\n';
  std::printf(
      "write-sync threads=1 bytes=%zu seconds=%.4f gbps=%.3f batches=%zu "
      "events_per_s=%.0f\n",
      m.size, seconds, static_cast<double>(m.size) / seconds / 1e9, batches,
      static_cast<double>(lines) / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = ParseArgs(argc, argv);
  if (a.file.empty()) {
    std::fprintf(stderr, "--file is required\n");
    return 2;
  }
  if (a.mode == "parse-many") return ParseMany(a);
  if (a.mode == "verify") return Verify(a);
  if (a.mode == "summary") return Summary(a);
  if (a.mode == "write-sync" && !a.out.empty()) return WriteSync(a);
  std::fprintf(stderr, "unknown mode %s\n", a.mode.c_str());
  return 2;
}
