// TraceRecorder: the in-process writer for harnesses that emit many events
// (docs/harness-integration.md, "The C++ TraceRecorder").
//
// A recorder owns one open trace for its whole lifetime. Producer threads call
// the event methods concurrently without taking a lock: each call claims the
// next seq with one atomic add, serializes its line into a slot of a
// preallocated ring and publishes the slot. One background writer thread
// writes the longest unbroken run of published slots with writev(2) and frees
// the slots; under kBatch and kEvery a second background thread fdatasyncs
// what was written while writing goes on (one sync covers every waiting
// caller). The file format is the CLI's, byte for byte: a trace written by a
// recorder verifies and summarizes like any other.
//
// Ownership and threading:
//  - Start/Open return a std::unique_ptr; the caller owns the recorder. All
//    other methods are thread-safe and may be called from any number of
//    threads at once. The destructor must not race with other calls.
//  - The recorder holds flock(LOCK_EX) on the trace from Start/Open until it
//    is destroyed. A CLI append (`traceframe record`, `finish`, `hook ingest`)
//    on the same trace waits briefly and then fails naming this process.
//  - Events are written in seq order; seq is contiguous. ts_ms never goes
//    backwards in file order (the flusher clamps a late-claimed timestamp).
//  - A successful event call means the event is queued, not that it is on
//    disk. Flush() returns once every event recorded before it is durable
//    (written and fdatasync'ed; only written under SyncPolicy::kNone). Under
//    SyncPolicy::kEvery each event call itself returns once it is durable.
//  - A full ring applies backpressure: producers spin briefly, then block
//    until the flusher frees slots. Events are never dropped.
//  - A failed write or sync puts the recorder in a sticky failed state: every
//    later call returns that error. Everything a successful Flush() (or a
//    kEvery call) acknowledged stays valid on disk; a partial line from a
//    short write is cut back, so the trace never ends in a torn line caused
//    by the recorder.
//  - The destructor flushes what was recorded (the run stays open unless
//    Finish() was called), stops the background threads and releases the
//    lock.
//  - Do not use a recorder in the child of a fork(2): its threads do not
//    exist there.
#ifndef TRACEFRAME_RECORDER_H_
#define TRACEFRAME_RECORDER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "traceframe/event.h"
#include "traceframe/labels.h"
#include "traceframe/usage.h"

namespace traceframe {

enum class SyncPolicy : uint8_t {
  kNone,   // never fdatasync; Flush() means "written to the kernel"
  kBatch,  // fdatasync at most every max_delay or max_bytes (the default)
  kEvery,  // every event call returns once its event is durable (group commit)
};

// "none", "batch", "every".
std::string_view SyncPolicyName(SyncPolicy policy);
std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name);

struct RecorderOptions {
  SyncPolicy sync = SyncPolicy::kBatch;
  // The writer hands queued events to the kernel at least this often, and
  // under kBatch written bytes are synced no later than this after they were
  // written (so an event is durable within about 2 x max_delay)...
  absl::Duration max_delay = absl::Milliseconds(5);
  // ...or as soon as this many bytes are waiting for a sync (kBatch).
  size_t max_bytes = 4u << 20;
  // Ring slots (rounded up to a power of two, at least 2). Each slot holds one
  // serialized event and keeps its buffer for reuse, so memory is about
  // ring_capacity x the typical event size.
  size_t ring_capacity = 8192;
  // How long Start/Open wait for another writer's lock. Default:
  // TRACEFRAME_LOCK_TIMEOUT_MS, else 5 seconds.
  std::optional<absl::Duration> lock_timeout;
  // Start only: the run.started payload (one valid JSON value). Default:
  // DefaultStartedPayload() from writer.h (created_by, host, status).
  std::optional<std::string> started_payload_json;
  // Start only: stored in run.started as `labels: {K: V}` (added to
  // started_payload_json, which must then be an object). Which variant, task
  // or experiment the run belongs to (docs/format.md, "Labels").
  Labels labels;
};

// Counters for benchmarks and diagnostics (a consistent-enough snapshot).
struct RecorderStats {
  uint64_t events_written = 0;  // lines written by the flusher (this session)
  uint64_t bytes_written = 0;
  uint64_t write_calls = 0;  // writev(2) calls
  uint64_t syncs = 0;        // fdatasync(2) calls
};

class TraceRecorder {
 public:
  // Creates the trace at `path` (parent directories too) with a run.started
  // event for `run_id`, then opens and locks it. Without `force` an existing
  // non-empty trace is an AlreadyExists error; with `force` it is replaced
  // atomically (temp file + rename).
  static absl::StatusOr<std::unique_ptr<TraceRecorder>> Start(const std::string& path,
                                                              std::string_view run_id, bool force,
                                                              RecorderOptions options = {});

  // Continues an existing open trace: takes its lock and learns run id and
  // last seq from its first and last lines. Refuses a finished run, an empty
  // trace and a torn tail (pointing to `traceframe repair`).
  static absl::StatusOr<std::unique_ptr<TraceRecorder>> Open(const std::string& path,
                                                             RecorderOptions options = {});

  ~TraceRecorder();
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;

  // Helpers with the earlier tool's payloads (keys sorted, as it wrote them):
  //   model.call          {"model","provider"}
  //   permission.decision {"capability","decision"}
  //   tool.call           {"argv","command","tool"}
  //   tool.result         {"command","duration_ms","exit_code","success","tool"}
  //                       (an absent exit_code or duration_ms is written as null)
  //   error               {"message"}
  // Strings with invalid UTF-8 are stored with U+FFFD replacements.
  absl::Status ModelCall(std::string_view provider, std::string_view model);
  // With token usage: {"model","provider","usage"} (usage.h).
  absl::Status ModelCall(std::string_view provider, std::string_view model,
                         const TokenUsage& usage);
  absl::Status PermissionDecision(std::string_view capability, std::string_view decision);
  absl::Status ToolCall(std::string_view tool, std::string_view command,
                        const std::vector<std::string>& argv);
  absl::Status ToolResult(std::string_view tool, std::string_view command, bool success,
                          std::optional<int> exit_code, std::optional<uint64_t> duration_ms);
  absl::Status Error(std::string_view message);

  // Records any kind with `payload_json`, which must be one valid JSON value
  // (validated and minified, key order kept); a `usage` on model.call or
  // run.finished must follow the convention (CheckPayloadUsage). Any kind
  // includes agent.guess and plan.deviation. Returns the event's seq.
  // run.started is refused (Start writes it); run.finished closes the run as
  // Finish does.
  absl::StatusOr<uint64_t> Record(EventKind kind, std::string_view payload_json);
  // The same with the event's ts_ms given by the caller (ms since the epoch,
  // >= 0) instead of the clock. File order still never goes back in time: a
  // ts_ms below the previous event's is written as the previous one's.
  absl::StatusOr<uint64_t> Record(EventKind kind, std::string_view payload_json, int64_t ts_ms);

  // Returns once every event recorded before the call is durable (per the
  // sync policy), or the sticky error.
  absl::Status Flush();

  // Appends run.finished {"status","summary"?} and flushes it. Events recorded
  // after Finish (from any thread) and a second Finish fail with
  // FailedPrecondition. The lock is held until the recorder is destroyed.
  absl::Status Finish(std::string_view status,
                      std::optional<std::string_view> summary = std::nullopt);

  // The durable watermark: every event with a seq at or below it is durable
  // under the sync policy (written and fdatasync'ed; under kNone, written to
  // the kernel), so it survives a crash (kNone: a process crash). It starts
  // at the trace's last seq when the recorder opened it, never goes back and
  // stops moving once the recorder failed. One atomic load: any thread may
  // poll it. (An event refused after run.finished still moves it: its seq
  // was claimed but nothing was written for it.)
  uint64_t durable_seq() const;

  // Waits until durable_seq() > after_seq, or `timeout` passes, and returns
  // durable_seq(); the sticky error once the recorder failed. Unlike Flush()
  // it does not ask for an early sync: events become durable at the policy's
  // pace (kBatch: within about 2 x max_delay of being recorded), so a thread
  // that acknowledges events as they become durable (record --stream --ack,
  // docs/harness-integration.md) adds no syncs and no work on the hot path.
  absl::StatusOr<uint64_t> WaitDurableSeq(uint64_t after_seq, absl::Duration timeout);

  // OK, or the sticky error that failed the recorder.
  absl::Status status() const;

  const std::string& path() const;
  const std::string& run_id() const;
  // The seq of the last event claimed so far (run.started's 0 right after
  // Start).
  uint64_t last_seq() const;
  RecorderStats stats() const;

 private:
  class Impl;  // recorder.cc: the ring, the flusher and the syncer

  // Opens `path` locked and reads its tail; `expected_run_id`, when set, must
  // match the trace's run id.
  static absl::StatusOr<std::unique_ptr<Impl>> OpenImpl(
      const std::string& path, const RecorderOptions& options,
      std::optional<std::string_view> expected_run_id);

  explicit TraceRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace traceframe

#endif  // TRACEFRAME_RECORDER_H_
