// Internal: how the ledger finds traces, shared with `ship` so both walk a
// runs directory the same way.
#ifndef TRACEFRAME_ENGINE_SRC_REPORT_LEDGER_INTERNAL_H_
#define TRACEFRAME_ENGINE_SRC_REPORT_LEDGER_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace traceframe {

// The `*.traceframe` files under `dir` (recursively; symlinked files
// followed, symlinked directories not), absolute and sorted. On failure sets
// *status and returns what was found so far.
std::vector<std::string> ListLedgerTraceFiles(const std::string& dir, absl::Status* status);

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_REPORT_LEDGER_INTERNAL_H_
