// Internal: one streaming pass over a trace that yields both the verify
// report and the summary, sequentially or split across threads.
#ifndef TRACEFRAME_ENGINE_SRC_READ_TRACE_ANALYSIS_H_
#define TRACEFRAME_ENGINE_SRC_READ_TRACE_ANALYSIS_H_

#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"
#include "traceframe/verify.h"

namespace traceframe {

struct TraceAnalysis {
  VerifyReport report;
  TraceSummary summary;
};

// Scans bytes [begin, reader.size()) of the trace. `begin` > 0 continues
// from a known state (used with the sidecar index); 0 is a full pass.
TraceAnalysis AnalyzeTrace(TraceReader& reader, const VerifyOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_READ_TRACE_ANALYSIS_H_
