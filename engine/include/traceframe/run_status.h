// The words a run ends with: run.finished's `status` (docs/format.md "Run
// status").
#ifndef TRACEFRAME_RUN_STATUS_H_
#define TRACEFRAME_RUN_STATUS_H_

#include <string_view>

namespace traceframe {

// The run.finished statuses traceframe writes and its readers understand:
// success, failed, error, interrupted, cancelled, timeout, crashed, aborted,
// killed, imported. Any other string is valid and kept as given, but a
// reader cannot tell whether it means success or failure (a typo such as
// "sucess" counts as a failure in stats), so `finish` warns about it.
bool IsKnownRunStatus(std::string_view status);

// The same words, comma-separated, for messages.
std::string_view KnownRunStatusList();

}  // namespace traceframe

#endif  // TRACEFRAME_RUN_STATUS_H_
