// Fuzzer of verify and summary over arbitrary file bytes.
//
// The input is written to a temp file and analyzed twice: sequentially and
// split into up to 12 parts on 3 threads (min_chunk_bytes forces the split
// on tiny inputs). Both passes must give the same report (verdict, first
// error, counts, every listed issue, torn tail) and the same summary, and
// neither may crash, leak or read out of bounds. The first input byte picks
// the options (allow_open, strict, max_issues) so all paths are reached.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "read/trace_analysis.h"
#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"

namespace {

std::string Describe(const traceframe::VerifyReport& r) {
  std::string out = "valid=" + std::to_string(r.valid) + " open=" + std::to_string(r.open) +
                    " events=" + std::to_string(r.events) + " lines=" + std::to_string(r.lines) +
                    " errors=" + std::to_string(r.error_count) +
                    " warnings=" + std::to_string(r.warning_count) + " run_id=" + r.run_id;
  if (r.torn_tail) {
    out += " torn=" + std::to_string(r.torn_tail->offset) + "+" +
           std::to_string(r.torn_tail->length) + "@" + std::to_string(r.torn_tail->line_number);
  }
  for (const auto* list : {&r.errors, &r.warnings}) {
    out += list == &r.errors ? "\nE:" : "\nW:";
    for (const traceframe::VerifyIssue& i : *list) {
      out += "\n  " + std::string(traceframe::VerifyIssueCodeName(i.code)) + " " +
             traceframe::DescribeIssue(i) + (i.seq ? " seq=" + std::to_string(*i.seq) : "");
    }
  }
  return out;
}

std::string DescribeSummary(const traceframe::TraceSummary& s) {
  std::string out = traceframe::FormatSummaryJson(s);
  return out + " first_seq=" + std::to_string(s.first_seq) +
         " last_seq=" + std::to_string(s.last_seq);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  ++data;
  --size;
  static const std::string path = [] {
    char name[] = "/tmp/traceframe-verify-fuzz-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) std::abort();
    ::close(fd);
    return std::string(name);
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);

  traceframe::VerifyOptions options;
  options.allow_open = flags & 1;
  options.strict = flags & 2;
  options.max_issues = 1 + ((flags >> 2) & 7);
  options.threads = 1;
  absl::StatusOr<std::unique_ptr<traceframe::TraceReader>> reader =
      traceframe::TraceReader::Open(path);
  if (!reader.ok()) std::abort();
  const traceframe::TraceAnalysis sequential = traceframe::AnalyzeTrace(**reader, options);
  options.threads = 3;
  options.min_chunk_bytes = 1 + (flags >> 5);
  const traceframe::TraceAnalysis parallel = traceframe::AnalyzeTrace(**reader, options);

  const std::string a = Describe(sequential.report), b = Describe(parallel.report);
  const std::string sa = DescribeSummary(sequential.summary),
                    sb = DescribeSummary(parallel.summary);
  if (a != b || sa != sb) {
    std::fprintf(stderr,
                 "verify_fuzz: sequential and parallel differ\n--- sequential\n%s\n%s\n"
                 "--- parallel\n%s\n%s\n",
                 a.c_str(), sa.c_str(), b.c_str(), sb.c_str());
    std::abort();
  }
  return 0;
}
