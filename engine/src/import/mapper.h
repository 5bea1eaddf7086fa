// Internal: what the import driver (import_driver.cc) and the per-format
// line mappers (claude_mapper.cc, codex_mapper.cc) share (docs/import.md).
//
// A mapper sees the transcript one line at a time, in file order, and emits
// events through an EventSink, which gives them dense seqs, timestamps and
// deterministic ids and streams them out; it holds back only events that
// follow a model.call whose usage is still open (Claude splits one API
// response over several lines), so memory does not grow with the file.
#ifndef TRACEFRAME_ENGINE_SRC_IMPORT_MAPPER_H_
#define TRACEFRAME_ENGINE_SRC_IMPORT_MAPPER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "simdjson.h"
#include "traceframe/event.h"
#include "traceframe/import.h"

namespace traceframe::internal {

// What a run.started says and what a mapper needs to know up front, found
// by the driver before the first event is written.
struct ImportContext {
  ImportFormat format = ImportFormat::kAuto;
  std::string run_id;
  std::string session_id;
  std::string source;
  std::string input;         // the path as named
  uint64_t input_bytes = 0;  // complete lines imported
  uint64_t input_hash = 0;   // FNV-1a 64 of those bytes
  std::vector<std::pair<std::string, std::string>> labels;
  std::optional<int64_t> first_ts_ms;
  std::string cwd;
  std::string git_branch;
  std::string host_version;
  std::string model_provider;  // Codex session_meta
  // A Claude Code sub-agent (or compaction) run.
  std::string agent_id;
  std::string parent_run_id;
  std::string parent_tool_use_id;
  bool compaction_run = false;
  // Claude Code: the parent's tool call id -> the sub-agent run it started.
  absl::flat_hash_map<std::string, std::string> subagent_runs;
};

// A 64-bit hash of a transcript's bytes for change detection (run.started
// input.hash): 8 bytes per step through splitmix64's mixer, so hashing
// costs little next to parsing. Stable across builds and machines.
uint64_t InputHash(std::string_view bytes);

// Parses an RFC 3339 timestamp ("2025-09-15T23:46:17.114Z", offsets
// allowed) to Unix epoch milliseconds.
std::optional<int64_t> ParseRfc3339Ms(std::string_view text);

// The event id for the `sub`-th event from source line `line` of run
// `run_id`: 128 bits of hash formatted as a lowercase UUID (version 4
// layout), the same for the same input every time.
std::string DeterministicEventId(std::string_view run_id, uint64_t line, uint32_t sub);
// The same, from Fnv1a64(run_id) computed once per run; the Append form
// writes the 36 characters at the end of `out`.
std::string DeterministicEventId(uint64_t run_hash, uint64_t line, uint32_t sub);
void AppendDeterministicEventId(std::string* out, uint64_t run_hash, uint64_t line, uint32_t sub);

// Streams events in file order (docs/import.md "Events").
class EventSink {
 public:
  using Writer = std::function<absl::Status(std::string_view)>;
  EventSink(const ImportContext& context, Writer writer, ImportedSession* stats);

  // Starts source line `line`; its timestamp, if it has one.
  void BeginLine(uint64_t line, std::optional<int64_t> ts_ms);
  std::optional<int64_t> line_ts() const { return line_ts_; }
  int64_t current_ts() const { return current_ts_; }

  // Emits an event now (held back only behind an open model.call).
  void Emit(EventKind kind, std::string payload);
  // A model.call whose payload is given later by Resolve (its place in the
  // file is here).
  size_t EmitDeferred();
  void Resolve(size_t handle, std::string payload);

  // Writes run.started (first), then run.finished with `finished_payload`
  // after everything else; every deferred event must be resolved.
  absl::Status Start();
  absl::Status Finish(std::string finished_payload);
  absl::Status status() const { return status_; }

  // A line that was not imported (counted, the first ones listed).
  void Skip(uint64_t line, std::string reason);

  // Token usage of emitted model.calls, summed.
  TokenUsage& model_usage() { return model_usage_; }

 private:
  struct Pending {
    EventKind kind;
    uint64_t line;
    uint32_t sub;
    int64_t ts_ms;
    std::string payload;
    bool ready;
    size_t handle;
  };
  void Push(EventKind kind, std::string payload, bool ready);
  void Drain();
  void WriteEvent(EventKind kind, uint64_t line, uint32_t sub, int64_t ts_ms,
                  std::string_view payload);

  const ImportContext& context_;
  Writer writer_;
  ImportedSession* stats_;
  std::deque<Pending> pending_;
  size_t next_handle_ = 0;
  uint64_t line_ = 0;
  uint32_t sub_ = 0;
  std::optional<int64_t> line_ts_;
  int64_t current_ts_ = 0;
  int64_t max_ts_ = 0;
  uint64_t seq_ = 0;
  uint64_t run_hash_ = 0;    // Fnv1a64 of the run id, for event ids
  std::string line_prefix_;  // `{"version":..,"run_id":..,"event_id":"`
  std::string buffer_;
  absl::Status status_;
  TokenUsage model_usage_;
};

// One format's line mapper.
class LineMapper {
 public:
  virtual ~LineMapper() = default;
  // `line` is one complete line without its '\n' (may hold '\r').
  virtual void MapLine(uint64_t number, std::string_view line) = 0;
  // After the last line; returns run.finished's payload.
  virtual std::string Finish() = 0;
  // The run's total when the host gives one (Codex's cumulative
  // total_token_usage); else the sum over model.calls is the run's usage.
  virtual std::optional<TokenUsage> RunUsage() const { return std::nullopt; }
};

std::unique_ptr<LineMapper> NewClaudeMapper(const ImportContext& context, EventSink* sink);
std::unique_ptr<LineMapper> NewCodexMapper(const ImportContext& context, EventSink* sink);

// Header facts (session id, cwd, version, first timestamp...) from the
// first lines, before any event is written. Returns false when nothing in
// them looks like this format.
bool ScanClaudeHeader(std::string_view bytes, ImportContext* context);
bool ScanCodexHeader(std::string_view bytes, ImportContext* context);

// Claude Code: tool call id -> sub-agent id, from the parent transcript's
// agent_progress lines and Task results (toolUseResult.agentId).
void ScanClaudeSubagents(std::string_view bytes,
                         absl::flat_hash_map<std::string, std::string>* agent_by_tool_use);

// ---- small tolerant JSON accessors (wrong types read as absent)

using simdjson::dom::element;

std::optional<element> Field(element object, std::string_view key);
std::optional<std::string_view> StringField(element object, std::string_view key);
std::optional<bool> BoolField(element object, std::string_view key);
// Integers, also from doubles and digit strings ("123").
std::optional<int64_t> IntField(element object, std::string_view key);
std::optional<int64_t> IntOf(element value);
std::optional<double> NumberOf(element value);

// The run.started payload for `context`.
std::string StartedPayload(const ImportContext& context);

// A bounded, redacted preview of tool output text: the first
// kPreviewChars characters (command.h), secrets replaced.
std::string OutputPreview(std::string_view text);
// The first line of `text`, trimmed, cut to `max_chars` characters and
// redacted: a failure reason or error message.
std::string FirstLine(std::string_view text, size_t max_chars = 300);
// A bounded, redacted copy of a tool input value.
std::string BoundedInput(element value);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_IMPORT_MAPPER_H_
