// Shared body of the per-format import fuzz targets (claude_import_fuzz.cc,
// codex_import_fuzz.cc): the mapper must never crash on any bytes, and
// whatever it imports must be a trace that verifies (every line one valid
// JSON event, seq dense from 0, run.started first, run.finished last), the
// same bytes giving the same trace (no clock, no randomness).
#ifndef TRACEFRAME_FUZZ_IMPORT_FUZZ_CHECK_H_
#define TRACEFRAME_FUZZ_IMPORT_FUZZ_CHECK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "traceframe/import.h"
#include "traceframe/json.h"

namespace traceframe::fuzz {

inline void Check(bool ok) {
  if (!ok) __builtin_trap();
}

inline int FuzzImport(const uint8_t* data, size_t size, ImportFormat format,
                      std::string_view name) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ImportOptions options;
  options.format = format;
  ImportedSession session;
  absl::StatusOr<std::string> trace = ImportTranscriptText(bytes, name, options, &session);
  if (!trace.ok()) return 0;
  Check(!trace->empty() && trace->back() == '\n');
  size_t pos = 0;
  uint64_t seq = 0;
  std::string_view last;
  while (pos < trace->size()) {
    const size_t nl = trace->find('\n', pos);
    const std::string_view line(trace->data() + pos, nl - pos);
    Check(ValidateJson(line).ok());
    Check(line.find(",\"seq\":" + std::to_string(seq) + ",") != std::string_view::npos);
    if (seq == 0) Check(line.find("\"kind\":\"run.started\"") != std::string_view::npos);
    ++seq;
    last = line;
    pos = nl + 1;
  }
  Check(last.find("\"kind\":\"run.finished\"") != std::string_view::npos);
  Check(session.events == seq);
  absl::StatusOr<std::string> again = ImportTranscriptText(bytes, name, options);
  Check(again.ok() && *again == *trace);
  return 0;
}

}  // namespace traceframe::fuzz

#endif  // TRACEFRAME_FUZZ_IMPORT_FUZZ_CHECK_H_
