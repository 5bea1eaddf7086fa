// Listing the events of a trace, filtered, without reading more than needed:
// --from-seq binary-searches the seq-ordered file, --tail walks back from the
// end. Thread-safe.
#ifndef TRACEFRAME_INSPECT_H_
#define TRACEFRAME_INSPECT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "traceframe/event.h"
#include "traceframe/trace_reader.h"

namespace traceframe {

struct InspectOptions {
  std::optional<EventKind> kind;     // only this kind
  std::optional<uint64_t> from_seq;  // events with seq >= from_seq
  std::optional<uint64_t> limit;     // at most this many (after filtering)
  std::optional<uint64_t> tail;      // the last N matching events
};

struct InspectResult {
  uint64_t printed = 0;
  std::optional<TornTail> torn_tail;
};

// Calls `fn` for each matching event in file order. A line that is not a
// valid event stops the listing with an error naming its line and byte
// (events before it have been delivered). Invariants are verify's job:
// inspect shows traces that fail them, so a broken run can be examined.
absl::StatusOr<InspectResult> InspectTrace(const std::string& path, const InspectOptions& options,
                                           const std::function<void(const EventView&)>& fn);

// `inspect --classic`: the earlier tool's line, a compatibility contract
// (reference §4.3):
// "#001 model.call run=<run_id> event=<event_id> payload=<payload as stored>"
std::string FormatInspectLine(const EventView& event);

// `inspect`: the seq, the event's UTC time, the kind padded to one column,
// and the payload as stored, cut to about 100 characters (its size noted)
// unless `wide`:
// "#001  2026-03-02 14:05:09.120Z  model.call           {"provider":...}"
std::string FormatInspectRow(const EventView& event, bool wide);

}  // namespace traceframe

#endif  // TRACEFRAME_INSPECT_H_
