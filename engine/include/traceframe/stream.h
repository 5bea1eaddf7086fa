// RecordStream: the TraceRecorder behind a pipe (issue #16;
// docs/harness-integration.md). `traceframe record --stream` is this function
// on stdin/stdout/stderr; a C++ program can drive it from any fd triple.
//
// Input: JSON lines, each one object
//   {"kind": "<event kind>", "payload": <any JSON>, "ts_ms": <int>?, "id": <string|number>?}
// `id` is an opaque client key echoed in the line's ack. Blank lines are
// skipped (they still count for line numbers). Every other line is recorded
// through one TraceRecorder (lock-free producer, writev batching, the sync
// policy, the sidecar index kept current, the trace's lock held until the
// function returns: a CLI append meanwhile waits, then fails naming this
// process).
//
// Acks (ack_fd >= 0): one line per non-blank input line, in input order:
//   {"line":N,"seq":S,"id":...}   once the event is durable under the sync
//                                 policy (TraceRecorder::durable_seq()): a
//                                 reader of the ack knows it survives a crash
//   {"line":N,"error":"..."}      a rejected line (after the acks before it)
// ("id" only when the line had one.) A closed ack fd (EPIPE; the caller must
// ignore SIGPIPE) stops the acks, not the recording.
//
// A rejected line (not JSON, not an object, unknown or missing kind,
// run.started, an invalid payload or ts_ms, an unknown field, a line over
// max_line_bytes) is reported on diag_fd as "Error: line N: <why>" and
// skipped; the lines around it are recorded. Only a write or sync failure (the
// recorder's sticky error) or a failure to open the trace stops the stream:
// it returns that error after reporting what was durable.
//
// End: at EOF (or once *stop becomes true: a signal handler sets it; the
// input is polled, so a blocked read notices within ~100 ms) the lines
// already read are recorded, run.finished is appended when finish_on_eof is
// set, everything is flushed and synced, and the function returns.
//
// Memory is bounded: the input buffer grows only to the longest line (at most
// max_line_bytes), the recorder's ring applies backpressure to the reader and
// at most max_pending_acks acks wait for durability; a faster producer is
// slowed by its pipe filling, never dropped.
#ifndef TRACEFRAME_STREAM_H_
#define TRACEFRAME_STREAM_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "traceframe/recorder.h"

namespace traceframe {

struct StreamOptions {
  // Create the trace with run.started for this run id (an existing non-empty
  // trace is an AlreadyExists error). Unset: continue an existing open trace.
  std::optional<std::string> init_run_id;
  // With init_run_id: labels ({K: V} under "labels" in run.started, docs/format.md
  // "Labels", via RecorderOptions::labels: written in key order); a repeated key
  // keeps its last value.
  std::vector<std::pair<std::string, std::string>> labels;
  SyncPolicy sync = SyncPolicy::kBatch;
  // Append run.finished {"status": ...} at the end (EOF or stop), unless an
  // input line already finished the run.
  std::optional<std::string> finish_status;
  // How long to wait for another writer's lock (default: the recorder's).
  std::optional<absl::Duration> lock_timeout;
  size_t max_line_bytes = size_t{16} << 20;
  size_t max_pending_acks = size_t{1} << 18;
  // Recorder ring slots (the backpressure window).
  size_t ring_capacity = 8192;
};

struct StreamFds {
  int in = 0;
  int ack = -1;  // -1: no acks
  int diag = 2;  // rejected lines and notes; -1: none
};

struct StreamResult {
  std::string run_id;
  uint64_t lines = 0;     // input lines read, blank ones included
  uint64_t recorded = 0;  // events recorded from input lines
  uint64_t rejected = 0;
  uint64_t last_seq = 0;  // the trace's last seq (durable)
  bool finished = false;  // the run was closed (by a line or finish_status)
  bool stopped = false;   // ended by *stop rather than EOF
  bool acks_closed = false;
};

// Runs one stream on `path` until EOF on fds.in or *stop (may be null).
absl::StatusOr<StreamResult> RecordStream(const std::string& path, const StreamOptions& options,
                                          StreamFds fds, const std::atomic<bool>* stop = nullptr);

}  // namespace traceframe

#endif  // TRACEFRAME_STREAM_H_
