// Appending events to a trace file from a process (the CLI and hook path).
//
// Every call takes flock(LOCK_EX) on the trace, learns the run id, the last
// seq and whether the run is finished from the first and last lines only
// (O(1) in the trace size), writes all new lines with one write(2), syncs
// with fdatasync unless told not to, and unlocks. Creation is race-free: the
// first line is written to a temp file that is link(2)ed into place, so
// concurrent creators produce exactly one run.started.
//
// All functions are thread-safe and process-safe. For many events from one
// process, prefer TraceRecorder (recorder.h), which batches syncs.
#ifndef TRACEFRAME_WRITER_H_
#define TRACEFRAME_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "traceframe/event.h"

namespace traceframe {

struct WriteOptions {
  // fdatasync after each append (and fsync + directory sync on creation).
  bool sync = true;
  // How long to wait for another writer's lock before failing. The default
  // comes from TRACEFRAME_LOCK_TIMEOUT_MS, else 5 seconds.
  std::optional<absl::Duration> lock_timeout;
  // false: refuse a symbolic link at the trace path (O_NOFOLLOW), as
  // `hook ingest --dir` does, so a planted link cannot redirect an append
  // outside the directory.
  bool follow_symlinks = true;
};

struct PendingEvent {
  EventKind kind;
  std::string payload_json;  // one valid, compact JSON value
};

struct AppendedEvent {
  EventKind kind;
  uint64_t seq;
  uint64_t offset;  // byte offset of the line in the trace
};

struct AppendResult {
  std::string run_id;
  bool created = false;  // this call created the trace (wrote run.started)
  std::vector<AppendedEvent> events;
};

// The ordering contract for a batch appended to an existing trace: no
// run.started (InitTrace and the creating calls write it), and run.finished
// only as the last event. Each payload must pass ValidateEventPayload
// (event.h). InvalidArgument naming the event's position otherwise.
absl::Status ValidateEventBatch(const std::vector<PendingEvent>& events);

// True when `status` is the refusal to append to a finished run (its last
// event is run.finished), from AppendEvents, AppendEvent or TraceRecorder.
// Told apart by an Abseil status payload, not by the message.
bool IsRunFinishedError(const absl::Status& status);

// Durability (docs/format.md "Durability"): an OK return means the lines are
// written and, with options.sync, fdatasync'ed. On a failed write or sync the
// file is cut back to its size before the call and synced again, so the
// events are not in the trace and a retry does not duplicate them; if that
// cut-back fails too, DataLoss names the byte range left in doubt.

// Creates `path` holding one run.started event with `started_payload_json`.
// Without `force`, fails with AlreadyExists if a non-empty file is there.
// With `force`, atomically replaces any existing trace (temp + rename).
absl::StatusOr<AppendResult> InitTrace(const std::string& path, std::string_view run_id,
                                       std::string_view started_payload_json, bool force,
                                       const WriteOptions& options = {});

// Appends `events` in order, in one write, under the trace's lock.
// Checks ValidateEventBatch first (InvalidArgument).
// Refuses (FailedPrecondition) on an empty trace, a finished run, a torn
// tail (naming its byte offset and `traceframe repair`), or a seq overflow.
absl::StatusOr<AppendResult> AppendEvents(const std::string& path,
                                          const std::vector<PendingEvent>& events,
                                          const WriteOptions& options = {});

// Like AppendEvents, but creates the trace first (run.started with
// `started_payload_json`, run id `run_id`) when `path` does not exist.
absl::StatusOr<AppendResult> AppendEventsCreating(const std::string& path, std::string_view run_id,
                                                  std::string_view started_payload_json,
                                                  const std::vector<PendingEvent>& events,
                                                  const WriteOptions& options = {});

// One event; the common case.
absl::StatusOr<AppendedEvent> AppendEvent(const std::string& path, EventKind kind,
                                          std::string_view payload_json,
                                          const WriteOptions& options = {});

// The run.started payload the CLI writes: created_by, host (cwd and git
// branch/commit/repo read from .git without running git), status.
// `extra_fields_json` (compact "key":value pairs, may be empty) is spliced in.
std::string DefaultStartedPayload(std::string_view extra_fields_json = {});

}  // namespace traceframe

#endif  // TRACEFRAME_WRITER_H_
