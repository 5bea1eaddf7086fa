// Exporting traces as OpenTelemetry OTLP/JSON (docs/otel.md).
//
// Each trace becomes one OTLP ExportTraceServiceRequest on one line, the
// input of the OpenTelemetry Collector's `otlpjsonfile` receiver, mapped by the
// GenAI semantic conventions pinned below: the run is an `invoke_agent` span,
// each model.call a `chat {model}` span, each tool.call/tool.result pair an
// `execute_tool {tool}` span; permission decisions, errors and deviations are
// span events. Trace and span ids are derived from the run id and event ids
// (SHA-256), so exporting the same trace again gives the same bytes.
//
// A trace is read once, streaming; memory is bounded (pending tool calls and
// the run span's events are capped, see docs/otel.md). All functions are
// thread-safe (no shared state).
#ifndef TRACEFRAME_EXPORT_H_
#define TRACEFRAME_EXPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traceframe/trace_reader.h"

namespace traceframe {

// The OpenTelemetry semantic conventions release the export follows; its
// schema URL is written as every ResourceSpans' and ScopeSpans' schemaUrl.
inline constexpr std::string_view kOtlpSemconvVersion = "1.41.0";
inline constexpr std::string_view kOtlpSchemaUrl = "https://opentelemetry.io/schemas/1.41.0";

// Caps that keep memory bounded whatever the trace size (docs/otel.md):
// tool calls waiting for their result (the oldest is exported unmatched when
// full) and events on the run span (the rest counted in droppedEventsCount).
inline constexpr size_t kOtlpMaxPendingToolCalls = 1024;
inline constexpr size_t kOtlpMaxRunSpanEvents = 4096;

// The trace id of a run: 32 lowercase hex digits, the first 16 bytes of
// SHA-256("traceframe.otlp.trace" NUL run_id); never all zero.
std::string OtlpTraceId(std::string_view run_id);
// The span id of an event: 16 lowercase hex digits, the first 8 bytes of
// SHA-256("traceframe.otlp.span" NUL run_id NUL event_id); never all zero.
std::string OtlpSpanId(std::string_view run_id, std::string_view event_id);

// What one exported trace produced.
struct OtlpTraceStats {
  std::string path;
  std::string run_id;
  uint64_t events = 0;
  uint64_t spans = 0;
  uint64_t span_events = 0;
  uint64_t dropped_span_events = 0;   // over kOtlpMaxRunSpanEvents
  uint64_t unmatched_tool_calls = 0;  // tool.call without a tool.result
  uint64_t bytes = 0;                 // of the request line, newline included
  bool open = false;                  // no run.finished: the run span ends at the last event
  std::optional<TornTail> torn;       // exported up to it
};

// Chunks of output, in order; a non-OK status stops the export.
using OtlpSink = std::function<absl::Status(std::string_view)>;

// Writes the trace at `path` as one request line (ending in '\n') to `sink`,
// in chunks of about 1 MiB. Fails (code InvalidArgument, message naming the
// line and byte) on a line that is not an event, a first event that is not
// run.started, an empty trace, or a mixed run_id; the sink may then have
// received part of the line. NotFound/Unavailable when it cannot be read.
absl::StatusOr<OtlpTraceStats> ExportTraceOtlpJson(const std::string& path, const OtlpSink& sink);

struct OtlpExportOptions {
  std::vector<std::string> files;  // exported in this order
  std::vector<std::string> dirs;   // then every *.traceframe under each, sorted (ledgers left out)
  std::string out;                 // written atomically (temp + rename); empty: stdout
};

struct OtlpExportFailure {
  std::string path;
  absl::Status status;  // names the line
};

struct OtlpExportResult {
  std::vector<OtlpTraceStats> traces;     // exported, in output order
  std::vector<OtlpExportFailure> failed;  // left out of the output
  uint64_t bytes = 0;
  // Stdout was closed by its reader (EPIPE, e.g. `| head`): the export
  // stopped there, which is not an error.
  bool output_closed = false;
};

// Exports every trace, one line each. A bad trace is left out entirely (no
// partial line) and listed in `failed`; the others are still exported. Fails
// only when no output can be written or a --dir cannot be listed.
absl::StatusOr<OtlpExportResult> ExportOtlpJson(const OtlpExportOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_EXPORT_H_
