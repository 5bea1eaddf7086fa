// Deterministic generators of varied trace files for index tests: valid and
// invalid, open and closed, with the quirks readers must accept (CRLF, blank
// lines, a BOM, a last line without '\n', a torn tail).
#ifndef TRACEFRAME_TESTS_TRACE_GEN_H_
#define TRACEFRAME_TESTS_TRACE_GEN_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace traceframe::testing {

struct GenOptions {
  int events = 20;
  bool closed = true;
  bool quirks = false;  // CRLF, blank lines, BOM, unterminated last line
  bool torn = false;    // append a torn line
  int defect = 0;       // 0 none; 1..8 a specific invariant or parse failure
  size_t payload_bytes = 16;
};

inline std::string GenPayload(std::mt19937_64& rng, const std::string& kind, size_t bytes) {
  const std::string pad(bytes, 'x');
  if (kind == "tool.result") {
    switch (rng() % 5) {
      case 0:
        return "{\"success\":false,\"pad\":\"" + pad + "\"}";
      case 1:
        return "{\"success\":true,\"pad\":\"" + pad + "\"}";
      case 2:
        return "{\"exit_code\":3}";
      case 3:
        return "{\"exit_code\":0,\"pad\":\"" + pad + "\"}";
      default:
        return "[1,2]";
    }
  }
  if (kind == "run.finished") {
    switch (rng() % 4) {
      case 0:
        return "{\"status\":\"success\"}";
      case 1:
        return "{\"status\":\"failed\",\"summary\":\"s\"}";
      case 2:
        return "{\"status\":7}";
      default:
        return "{}";
    }
  }
  return "{\"n\":" + std::to_string(rng() % 1000) + ",\"pad\":\"" + pad + "\"}";
}

// A trace as file bytes.
inline std::string GenTrace(uint64_t seed, const GenOptions& o) {
  std::mt19937_64 rng(seed);
  static const char* kKinds[] = {"model.call", "tool.call", "tool.result", "permission.decision",
                                 "error"};
  const std::string run = "run-" + std::to_string(seed);
  std::vector<std::string> lines;
  int64_t ts = 1700000000000 + static_cast<int64_t>(seed % 1000);
  uint64_t seq = 0;
  for (int i = 0; i < o.events; ++i) {
    std::string kind = i == 0 ? "run.started" : kKinds[rng() % 5];
    if (o.closed && i + 1 == o.events && i > 0) kind = "run.finished";
    std::string run_id = run;
    std::string event_id = "ev-" + std::to_string(i);
    uint64_t this_seq = seq;
    int64_t this_ts = ts;
    const bool at_defect = o.events > 2 && i == o.events / 2;
    if (at_defect) {
      switch (o.defect) {
        case 1:
          this_seq = seq > 0 ? seq - 1 : 0;
          break;  // seq not increasing
        case 2:
          run_id = "other";
          break;  // mixed run id
        case 3:
          event_id = "  ";
          break;  // blank event id
        case 4:
          kind = "run.finished";
          break;  // finished not last
        case 5:
          this_ts = ts - 5000;
          break;  // ts backwards: a warning only
        case 6:
          this_seq = seq + 3;
          break;  // seq gap: a warning only
        default:
          break;
      }
    }
    if (i == 0 && o.defect == 8) kind = "model.call";  // first not run.started
    std::string line = EventLine(run_id, event_id, kind, this_ts, this_seq,
                                 GenPayload(rng, kind, o.payload_bytes));
    if (at_defect && o.defect == 7) line = "{\"version\":1,\"kind\":\"error\"}";  // missing fields
    if (at_defect && o.defect == 9) line.replace(line.find("\"version\":1"), 11, "\"version\":2");
    lines.push_back(line);
    seq = this_seq + 1;
    ts = this_ts + static_cast<int64_t>(rng() % 2000);
  }
  std::string out;
  if (o.quirks) out = "\xEF\xBB\xBF";
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    const bool last = i + 1 == lines.size();
    if (o.quirks && rng() % 7 == 0) out += "\r";
    if (!(o.quirks && last && !o.torn && rng() % 2 == 0)) out += "\n";
    if (o.quirks && !last && rng() % 9 == 0) out += "\n  \n";
  }
  if (o.torn) out += "{\"version\":1,\"run_id\":\"" + run + "\",\"ev";
  return out;
}

}  // namespace traceframe::testing

#endif  // TRACEFRAME_TESTS_TRACE_GEN_H_
