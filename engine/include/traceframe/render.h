// Rendering a trace as one self-contained HTML page: no scripts, no external
// resources, readable offline and with scripts off (reference §8 structure,
// vocabulary and palette, docs/format.md).
//
// The page is bounded for any trace size. The trace is streamed from its
// memory map; up to head_events + tail_events events are shown in full, and a
// longer trace shows its first and last events plus every error, failed tool
// result and deny, with a visible count of what was left out and the
// `traceframe inspect` command that lists it. Every string from the trace is
// HTML-escaped. Thread-safe (no shared state).
//
// Above the events, what a reviewer needs first: the host context of a hook
// session, the counts, the policy-check verdict (CheckPolicy, policy.h), token
// usage (usage.h) per model, and the tool calls (bars, or for a long run a
// table of the slowest and failed calls), each linked to its event. A tool
// call and its result are paired (each card links to the other). Filters
// (errors only, one kind) are CSS: radio inputs, no script. Rendering reads
// the trace three times (a pass for the pairs and per-model figures, policy
// -check's verify + rules, the render) besides the summary.
#ifndef TRACEFRAME_RENDER_H_
#define TRACEFRAME_RENDER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace traceframe {

struct RenderOptions {
  size_t head_events = 1500;        // shown in full from the start of the trace
  size_t tail_events = 1500;        // shown in full from the end of the trace
  size_t payload_bytes = 3072;      // raw payload text shown per event (full size noted)
  size_t field_bytes = 1024;        // one field value (command, message, ...)
  size_t preview_bytes = 3072;      // stdout/stderr/output previews
  size_t max_timeline_bars = 400;   // tool calls drawn as duration bars
  size_t max_page_bytes = 9 << 20;  // hard cap; events past it are left out (counted)
  // More tool calls than this: instead of one bar each, a table of the
  // slowest and the failed calls (long_run_rows of each).
  size_t long_run_bars = 60;
  size_t long_run_rows = 25;
  // Called now and then with (done, total) in bytes of the trace: the page
  // takes three passes over it (figures, policy verdict, events), reported
  // as one, so `done` reaches `total` once, at the end.
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

struct RenderStats {
  uint64_t events = 0;   // events in the trace (its readable prefix)
  uint64_t shown = 0;    // events rendered in the timeline
  uint64_t omitted = 0;  // events left out (events - shown)
  uint64_t bytes = 0;    // size of the page
};

// Renders the trace at `trace_path`. Errors: the trace cannot be read, is
// empty, or has an invalid line (named by line and byte). A torn tail is
// rendered as a warning over the readable prefix.
absl::StatusOr<std::string> RenderTraceHtml(const std::string& trace_path,
                                            const RenderOptions& options, RenderStats* stats);

// Renders and writes `html_path` atomically (temp file beside it + rename;
// parent directories are created). Refuses to overwrite the trace itself.
absl::StatusOr<RenderStats> RenderTraceToFile(const std::string& trace_path,
                                              const std::string& html_path,
                                              const RenderOptions& options = RenderOptions());

// &, <, >, " and ' replaced by entities: safe in text and quoted attributes.
void AppendHtmlEscaped(std::string* out, std::string_view text);
std::string HtmlEscape(std::string_view text);

}  // namespace traceframe

#endif  // TRACEFRAME_RENDER_H_
