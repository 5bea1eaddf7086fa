// The report's style sheet, inlined into every page (no external resources).
// Filters are CSS only: radio inputs (class "fl", ids f-<group>) placed
// before the timeline section hide the events (classes k-<group>, problem)
// that the checked one does not select.
#ifndef TRACEFRAME_REPORT_RENDER_STYLE_H_
#define TRACEFRAME_REPORT_RENDER_STYLE_H_

#include <string_view>

namespace traceframe::internal {

// The rules every page has.
extern const std::string_view kRenderCss;
// Added only to pages of traces with agent.guess / plan.deviation events.
extern const std::string_view kDeviationCss;

}  // namespace traceframe::internal

#endif  // TRACEFRAME_REPORT_RENDER_STYLE_H_
