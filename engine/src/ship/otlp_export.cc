// OTLP/JSON export (docs/otel.md): one ExportTraceServiceRequest per trace
// per line, following the OpenTelemetry GenAI semantic conventions pinned in
// traceframe/export.h.
//
// The request is written while the trace is read: spans go out as soon as
// they are complete (a tool span when its result arrives), the run span last
// (its end and status come from run.finished). Only what cannot be written
// yet is kept: pending tool calls and the run span's events, both capped.
//
// OTLP/JSON encoding (opentelemetry-proto, docs/specification.md "JSON
// Protobuf Encoding"): lowerCamelCase field names, trace and span ids as
// lowercase hex (not base64), enums as integers, 64-bit integers (times,
// intValue) as decimal strings.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ship/sha256.h"
#include "simdjson.h"
#include "traceframe/event.h"
#include "traceframe/export.h"
#include "traceframe/json.h"
#include "traceframe/ledger.h"
#include "traceframe/str_util.h"
#include "traceframe/version.h"
#include "util/file_util.h"

namespace traceframe {
namespace {

using simdjson::dom::element;

constexpr size_t kFlushBytes = size_t{1} << 20;
// Attribute strings are bounded (characters, not bytes): a span is metadata,
// the trace file keeps the full payload.
constexpr size_t kMaxValueChars = 4096;
constexpr size_t kMaxStatusChars = 1024;
constexpr size_t kMaxGenericFields = 32;

// OTLP enums (opentelemetry/proto/trace/v1/trace.proto).
constexpr int kSpanKindInternal = 1;
constexpr int kSpanKindClient = 3;
constexpr int kStatusUnset = 0;
constexpr int kStatusError = 2;

std::string HexId(std::initializer_list<std::string_view> parts, size_t bytes) {
  internal::Sha256 sha;
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) sha.Update(std::string_view("\0", 1));
    first = false;
    sha.Update(part);
  }
  std::array<uint8_t, 32> digest = sha.Finish();
  // All-zero ids are invalid in OTLP; a digest prefix of zeros is 2^-64
  // unlikely, but the rule is absolute.
  if (std::all_of(digest.begin(), digest.begin() + bytes, [](uint8_t b) { return b == 0; })) {
    digest[bytes - 1] = 1;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes * 2, '0');
  for (size_t i = 0; i < bytes; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return out;
}

// ts_ms as the decimal string of Unix nanoseconds (fixed64; negatives clamp
// to 0, which OTLP reads as "unknown").
std::string Nanos(int64_t ts_ms) {
  if (ts_ms <= 0) return "0";
  return Cat(ts_ms, "000000");
}

// --- payload lookups -------------------------------------------------------

std::optional<element> Lookup(element root, std::string_view dotted) {
  element current = root;
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view key = dotted.substr(0, dot);
    simdjson::dom::object object;
    if (current.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    if (object.at_key(key).get(current) != simdjson::SUCCESS) return std::nullopt;
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return current;
}

std::optional<std::string_view> StrAt(element root, std::initializer_list<std::string_view> paths) {
  for (std::string_view path : paths) {
    std::optional<element> e = Lookup(root, path);
    std::string_view s;
    if (e && e->get_string().get(s) == simdjson::SUCCESS && !s.empty()) return s;
  }
  return std::nullopt;
}

std::optional<int64_t> IntOf(element e) {
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) {
    return static_cast<int64_t>(std::min<uint64_t>(u, std::numeric_limits<int64_t>::max()));
  }
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS &&
      d == static_cast<double>(static_cast<int64_t>(d))) {
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<int64_t> IntAt(element root, std::initializer_list<std::string_view> paths) {
  for (std::string_view path : paths) {
    std::optional<element> e = Lookup(root, path);
    if (!e) continue;
    if (std::optional<int64_t> i = IntOf(*e)) return i;
  }
  return std::nullopt;
}

// --- usage (docs/format.md "Token usage": the OpenTelemetry GenAI convention)

struct Usage {
  std::optional<int64_t> input, output, cache_read, cache_creation, reasoning;
  bool any() const { return input || output || cache_read || cache_creation || reasoning; }
  void Add(const Usage& other) {
    auto add = [](std::optional<int64_t>* a, const std::optional<int64_t>& b) {
      if (b) *a = a->value_or(0) + *b;
    };
    add(&input, other.input);
    add(&output, other.output);
    add(&cache_read, other.cache_read);
    add(&cache_creation, other.cache_creation);
    add(&reasoning, other.reasoning);
  }
};

Usage UsageOf(element payload) {
  Usage u;
  std::optional<element> usage = Lookup(payload, "usage");
  if (!usage) return u;
  if (std::optional<element> e = Lookup(*usage, "input_tokens")) u.input = IntOf(*e);
  if (std::optional<element> e = Lookup(*usage, "output_tokens")) u.output = IntOf(*e);
  if (std::optional<element> e = Lookup(*usage, "cache_read_input_tokens"))
    u.cache_read = IntOf(*e);
  if (std::optional<element> e = Lookup(*usage, "cache_creation_input_tokens")) {
    u.cache_creation = IntOf(*e);
  }
  if (std::optional<element> e = Lookup(*usage, "reasoning_output_tokens")) u.reasoning = IntOf(*e);
  return u;
}

// --- OTLP/JSON building ---------------------------------------------------

// Appends KeyValue objects to an "attributes" array.
class Attrs {
 public:
  explicit Attrs(std::string* out) : out_(out) {}
  void Str(std::string_view key, std::string_view value, size_t max_chars = kMaxValueChars) {
    Open(key);
    out_->append("\"stringValue\":");
    bool cut = false;
    if (value.size() > max_chars) {
      AppendJsonString(out_, TruncateUtf8Chars(value, max_chars, &cut));
    } else {
      AppendJsonString(out_, value);
    }
    out_->append("}}");
  }
  void Int(std::string_view key, int64_t value) {
    Open(key);
    Append(out_, "\"intValue\":\"", value, "\"}}");
  }
  void Bool(std::string_view key, bool value) {
    Open(key);
    Append(out_, "\"boolValue\":", value ? "true" : "false", "}}");
  }
  void Double(std::string_view key, double value) {
    Open(key);
    Append(out_, "\"doubleValue\":", value, "}}");
  }
  void OptStr(std::string_view key, std::optional<std::string_view> value) {
    if (value) Str(key, *value);
  }
  void OptInt(std::string_view key, std::optional<int64_t> value) {
    if (value) Int(key, *value);
  }
  void Usage(const struct Usage& u) {
    OptInt("gen_ai.usage.input_tokens", u.input);
    OptInt("gen_ai.usage.output_tokens", u.output);
    OptInt("gen_ai.usage.cache_read.input_tokens", u.cache_read);
    OptInt("gen_ai.usage.cache_creation.input_tokens", u.cache_creation);
    OptInt("gen_ai.usage.reasoning.output_tokens", u.reasoning);
  }
  // A JSON scalar as the matching AnyValue; objects and arrays as their JSON
  // text (a string), which every backend can show.
  void Scalar(std::string_view key, element value) {
    std::string_view s;
    bool b;
    if (value.get_string().get(s) == simdjson::SUCCESS) return Str(key, s);
    if (value.get_bool().get(b) == simdjson::SUCCESS) return Bool(key, b);
    if (std::optional<int64_t> i = IntOf(value)) return Int(key, *i);
    double d;
    if (value.get_double().get(d) == simdjson::SUCCESS) return Double(key, d);
    if (value.is_null()) return;
    Str(key, simdjson::minify(value));
  }
  size_t count() const { return count_; }

 private:
  void Open(std::string_view key) {
    if (count_++) out_->push_back(',');
    out_->append("{\"key\":");
    AppendJsonString(out_, key);
    out_->append(",\"value\":{");
  }
  std::string* out_;
  size_t count_ = 0;
};

// Opens a span object up to its attributes array: the caller adds
// attributes, then calls CloseSpan.
void OpenSpan(std::string* out, std::string_view trace_id, std::string_view span_id,
              std::string_view parent_id, std::string_view name, int kind, int64_t start_ms,
              int64_t end_ms) {
  Append(out, "{\"traceId\":\"", trace_id, "\",\"spanId\":\"", span_id, "\"");
  if (!parent_id.empty()) Append(out, ",\"parentSpanId\":\"", parent_id, "\"");
  out->append(",\"name\":");
  AppendJsonString(out, name);
  Append(out, ",\"kind\":", kind, ",\"startTimeUnixNano\":\"", Nanos(start_ms),
         "\",\"endTimeUnixNano\":\"", Nanos(std::max(start_ms, end_ms)), "\",\"attributes\":[");
}

struct SpanStatus {
  int code = kStatusUnset;
  std::string message;
};

void CloseSpan(std::string* out, std::string_view events, uint64_t dropped_events,
               const SpanStatus& status) {
  out->push_back(']');
  if (!events.empty()) Append(out, ",\"events\":[", events, "]");
  if (dropped_events > 0) Append(out, ",\"droppedEventsCount\":", dropped_events);
  if (status.code != kStatusUnset) {
    out->append(",\"status\":{");
    if (!status.message.empty()) {
      out->append("\"message\":");
      bool cut = false;
      AppendJsonString(out, TruncateUtf8Chars(status.message, kMaxStatusChars, &cut));
      out->push_back(',');
    }
    Append(out, "\"code\":", status.code, "}");
  }
  out->push_back('}');
}

// run.finished statuses that mean the run failed (anything else is UNSET:
// OTLP reserves OK for an explicit success verdict, which a status word is not).
bool IsFailureStatus(std::string_view status) {
  static constexpr std::string_view kWords[] = {"failed",  "failure",   "error",   "errored",
                                                "crashed", "aborted",   "timeout", "timed_out",
                                                "killed",  "cancelled", "canceled"};
  return std::find(std::begin(kWords), std::end(kWords), status) != std::end(kWords);
}

struct PendingCall {
  std::string span_id;
  std::string event_id;
  int64_t ts_ms = 0;
  uint64_t seq = 0;
  std::string tool;
  std::string call_id;
  std::string command;
};

// Where hosts put the id that ties a tool result to its call.
std::optional<std::string_view> CallIdOf(element payload) {
  return StrAt(payload,
               {"tool_use_id", "tool_call_id", "call_id", "host.tool_use_id", "host.tool_call_id"});
}

std::string Bounded(std::string_view value) {
  if (value.size() <= kMaxValueChars) return std::string(value);
  bool cut = false;
  return TruncateUtf8Chars(value, kMaxValueChars, &cut);
}

class TraceExporter {
 public:
  TraceExporter(const std::string& path, const OtlpSink& sink) : path_(path), sink_(sink) {}

  absl::StatusOr<OtlpTraceStats> Run() {
    absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path_);
    if (!reader.ok()) return reader.status();
    stats_.path = path_;
    out_.reserve(kFlushBytes + 64 * 1024);
    TraceReader::ScanResult scan =
        (*reader)->ScanAll([this](const EventView& view) { return OnEvent(view); });
    if (!error_.ok()) return error_;
    if (scan.error) {
      return absl::InvalidArgumentError(Cat(path_, ": ", DescribeLineError(*scan.error)));
    }
    stats_.torn = scan.torn;
    if (!started_) {
      return absl::InvalidArgumentError(
          Cat(path_, ": trace is empty", scan.torn ? " (only a torn tail)" : ""));
    }
    while (!pending_.empty()) EmitUnmatched();
    EmitRunSpan();
    Append(&out_, "]}],\"schemaUrl\":\"", kOtlpSchemaUrl, "\"}]}\n");
    if (absl::Status s = Flush(); !s.ok()) return s;
    return std::move(stats_);
  }

 private:
  absl::Status Flush() {
    if (out_.empty()) return absl::OkStatus();
    stats_.bytes += out_.size();
    absl::Status s = sink_(out_);
    out_.clear();
    return s;
  }

  // Separates spans in the spans array.
  void NextSpan() {
    if (spans_written_++) out_.push_back(',');
    ++stats_.spans;
  }

  bool Fail(const EventView& view, std::string_view what) {
    error_ = absl::InvalidArgumentError(
        Cat(path_, ": line ", view.line_number, " (byte ", view.byte_offset, "): ", what));
    return false;
  }

  bool OnEvent(const EventView& view) {
    ++stats_.events;
    element payload;
    if (parser_.parse(RawPayload(view.line)).get(payload) != simdjson::SUCCESS) {
      return Fail(view, "payload is not valid JSON");
    }
    if (!started_) {
      if (view.kind != EventKind::kRunStarted) return Fail(view, "first event must be run.started");
      StartRun(view, payload);
    } else if (view.run_id != run_id_) {
      return Fail(view, Cat("mixed run_id at seq ", view.seq));
    }
    last_ts_ms_ = std::max(last_ts_ms_, view.ts_ms);
    switch (view.kind) {
      case EventKind::kRunStarted:
        if (view.seq != first_seq_ || view.event_id != root_event_id_) AddRunEvent(view, payload);
        break;
      case EventKind::kModelCall:
        ModelCall(view, payload);
        break;
      case EventKind::kToolCall:
        ToolCall(view, payload);
        break;
      case EventKind::kToolResult:
        ToolResult(view, payload);
        break;
      case EventKind::kRunFinished:
        RunFinished(view, payload);
        break;
      default:  // permission.decision, error, and every other kind
        AddRunEvent(view, payload);
        break;
    }
    if (out_.size() >= kFlushBytes) {
      if (absl::Status s = Flush(); !s.ok()) {
        error_ = s;
        return false;
      }
    }
    return true;
  }

  void StartRun(const EventView& view, element payload) {
    started_ = true;
    run_id_ = std::string(view.run_id);
    stats_.run_id = run_id_;
    root_event_id_ = std::string(view.event_id);
    first_seq_ = view.seq;
    start_ms_ = view.ts_ms;
    trace_id_ = OtlpTraceId(run_id_);
    root_span_id_ = OtlpSpanId(run_id_, view.event_id);
    if (std::optional<std::string_view> s =
            StrAt(payload, {"session_id", "host.session_id", "conversation_id"})) {
      session_ = Bounded(*s);
    }
    if (std::optional<std::string_view> s = StrAt(payload, {"agent", "agent.name", "agent_name"})) {
      agent_ = Bounded(*s);
    } else if (std::optional<std::string_view> source = StrAt(payload, {"source"})) {
      agent_ = Bounded(*source);
    }

    // Attributes known at the start, kept for the run span (written last).
    Attrs a(&root_attrs_);
    a.Str("gen_ai.operation.name", "invoke_agent");
    if (!agent_.empty()) a.Str("gen_ai.agent.name", agent_);
    if (!session_.empty()) a.Str("gen_ai.conversation.id", session_);
    a.OptStr("gen_ai.provider.name", StrAt(payload, {"provider"}));
    a.OptStr("gen_ai.request.model", StrAt(payload, {"model"}));
    a.Str("traceframe.run.id", run_id_);
    a.OptStr("traceframe.source", StrAt(payload, {"source"}));
    a.OptStr("traceframe.hook_event", StrAt(payload, {"hook_event"}));
    if (std::optional<element> labels = Lookup(payload, "labels")) {
      simdjson::dom::object object;
      if (labels->get_object().get(object) == simdjson::SUCCESS) {
        for (auto field : object) a.Scalar(Cat("traceframe.label.", field.key), field.value);
      }
    }
    root_attr_count_ = a.count();

    // The request up to the spans array. service.name groups runs by agent in
    // every backend; vcs.* (semconv VCS registry) say which checkout ran.
    Append(&out_, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    Attrs r(&out_);
    r.Str("service.name", agent_.empty() ? "traceframe" : agent_);
    r.OptStr("vcs.repository.name", StrAt(payload, {"host.git.repo"}));
    r.OptStr("vcs.ref.head.name", StrAt(payload, {"host.git.branch"}));
    r.OptStr("vcs.ref.head.revision", StrAt(payload, {"host.git.commit"}));
    Append(&out_, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"traceframe\",\"version\":\"",
           TRACEFRAME_VERSION, "\"},\"schemaUrl\":\"", kOtlpSchemaUrl, "\",\"spans\":[");
  }

  void ModelCall(const EventView& view, element payload) {
    const std::optional<std::string_view> model =
        StrAt(payload, {"model", "request.model", "response.model"});
    const std::string_view operation = StrAt(payload, {"operation"}).value_or("chat");
    const Usage usage = UsageOf(payload);
    if (usage.any()) {
      model_usage_.Add(usage);
      any_model_usage_ = true;
    }
    // Usage is known once a call returns, so the event is the call's end; a
    // duration in the payload gives its start.
    const int64_t duration =
        std::max<int64_t>(0, IntAt(payload, {"duration_ms", "latency_ms"}).value_or(0));
    NextSpan();
    OpenSpan(&out_, trace_id_, OtlpSpanId(run_id_, view.event_id), root_span_id_,
             model ? Cat(operation, " ", Bounded(*model)) : std::string(operation), kSpanKindClient,
             view.ts_ms - duration, view.ts_ms);
    Attrs a(&out_);
    a.Str("gen_ai.operation.name", operation);
    a.OptStr("gen_ai.provider.name", StrAt(payload, {"provider", "provider_name", "system"}));
    a.OptStr("gen_ai.request.model", model);
    a.OptStr("gen_ai.response.model", StrAt(payload, {"response_model", "response.model"}));
    a.OptStr("gen_ai.response.id", StrAt(payload, {"response_id", "response.id"}));
    if (!session_.empty()) a.Str("gen_ai.conversation.id", session_);
    a.Usage(usage);
    a.Str("traceframe.event.id", view.event_id);
    a.Int("traceframe.seq", static_cast<int64_t>(std::min<uint64_t>(view.seq, INT64_MAX)));
    SpanStatus status;
    if (std::optional<element> error = Lookup(payload, "error"); error && !error->is_null()) {
      status.code = kStatusError;
      status.message = std::string(StrAt(payload, {"error", "error.message"}).value_or(""));
      a.Str("error.type", StrAt(payload, {"error_type", "error.type"}).value_or("_OTHER"));
    }
    CloseSpan(&out_, "", 0, status);
  }

  void ToolCall(const EventView& view, element payload) {
    if (pending_.size() >= kOtlpMaxPendingToolCalls) EmitUnmatched();
    PendingCall call;
    call.span_id = OtlpSpanId(run_id_, view.event_id);
    call.event_id = std::string(view.event_id);
    call.ts_ms = view.ts_ms;
    call.seq = view.seq;
    call.tool = Bounded(StrAt(payload, {"tool", "tool_name", "name"}).value_or(""));
    call.call_id = Bounded(CallIdOf(payload).value_or(""));
    call.command = Bounded(StrAt(payload, {"command"}).value_or(""));
    AddPending(std::move(call));
  }

  void AddPending(PendingCall call) {
    pending_.push_back(std::move(call));
    auto it = std::prev(pending_.end());
    if (it->call_id.empty()) {
      ++pending_without_id_;
    } else {
      // A repeated id: the oldest call is the one its id finds.
      if (!by_call_id_.try_emplace(it->call_id, it).second) ++pending_repeated_ids_;
    }
  }

  PendingCall TakePending(std::list<PendingCall>::iterator it) {
    if (it->call_id.empty()) {
      --pending_without_id_;
    } else if (auto found = by_call_id_.find(it->call_id);
               found != by_call_id_.end() && found->second == it) {
      by_call_id_.erase(found);
      // A later call with the same id becomes the one its id finds (a scan,
      // only while repeated ids are pending: hosts reuse ids rarely).
      for (auto next = std::next(it); pending_repeated_ids_ > 0 && next != pending_.end(); ++next) {
        if (next->call_id == it->call_id) {
          by_call_id_.emplace(next->call_id, next);
          --pending_repeated_ids_;
          break;
        }
      }
    } else {
      --pending_repeated_ids_;
    }
    PendingCall call = std::move(*it);
    pending_.erase(it);
    return call;
  }

  // The call a result answers: the one with its call id (a hash lookup),
  // else the oldest whose tool name agrees (docs/otel.md, "Pairing tool
  // calls"); a result with an id only takes a call without one.
  std::optional<PendingCall> TakeCall(std::string_view call_id, std::string_view tool) {
    if (!call_id.empty()) {
      if (auto found = by_call_id_.find(absl::string_view(call_id.data(), call_id.size()));
          found != by_call_id_.end()) {
        return TakePending(found->second);
      }
      if (pending_without_id_ == 0) return std::nullopt;
    }
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (!call_id.empty() && !it->call_id.empty()) continue;  // ids disagree
      if (!tool.empty() && !it->tool.empty() && it->tool != tool) continue;
      return TakePending(it);
    }
    return std::nullopt;
  }

  void ToolResult(const EventView& view, element payload) {
    const std::string_view result_tool = StrAt(payload, {"tool", "tool_name", "name"}).value_or("");
    const std::string_view result_call_id = CallIdOf(payload).value_or("");
    const std::optional<int64_t> duration = IntAt(payload, {"duration_ms"});
    std::optional<PendingCall> call = TakeCall(result_call_id, result_tool);
    std::string span_id;
    int64_t start_ms;
    std::string tool(result_tool.empty() && call ? std::string_view(call->tool) : result_tool);
    if (call) {
      span_id = std::move(call->span_id);
      start_ms = call->ts_ms;
    } else {
      // A result without its call (a PostToolUse-only hook): the span ends at
      // the result and starts duration_ms earlier when the payload says.
      span_id = OtlpSpanId(run_id_, view.event_id);
      start_ms = view.ts_ms - std::max<int64_t>(0, duration.value_or(0));
    }
    tool = Bounded(tool);
    NextSpan();
    OpenSpan(&out_, trace_id_, span_id, root_span_id_,
             tool.empty() ? std::string("execute_tool") : Cat("execute_tool ", tool),
             kSpanKindInternal, start_ms, view.ts_ms);
    Attrs a(&out_);
    a.Str("gen_ai.operation.name", "execute_tool");
    if (!tool.empty()) a.Str("gen_ai.tool.name", tool);
    if (!result_call_id.empty()) {
      a.Str("gen_ai.tool.call.id", result_call_id);
    } else if (call && !call->call_id.empty()) {
      a.Str("gen_ai.tool.call.id", call->call_id);
    }
    if (std::optional<std::string_view> command = StrAt(payload, {"command"})) {
      a.Str("traceframe.tool.command", *command);
    } else if (call && !call->command.empty()) {
      a.Str("traceframe.tool.command", call->command);
    }
    const std::optional<int64_t> exit_code = IntAt(payload, {"exit_code"});
    a.OptInt("process.exit.code", exit_code);
    a.OptInt("traceframe.tool.duration_ms", duration);
    if (call) {
      a.Str("traceframe.event.id", call->event_id);
      a.Str("traceframe.result_event.id", view.event_id);
    } else {
      a.Str("traceframe.event.id", view.event_id);
    }
    a.Int("traceframe.seq",
          static_cast<int64_t>(std::min<uint64_t>(call ? call->seq : view.seq, INT64_MAX)));
    SpanStatus status;
    if (view.tool_failed) {
      status.code = kStatusError;
      status.message = std::string(
          StrAt(payload, {"error", "error.message", "stderr", "stderr_preview", "message"})
              .value_or(""));
      std::string error_type(StrAt(payload, {"error_type", "error.type"}).value_or(""));
      if (error_type.empty()) error_type = exit_code ? Cat(*exit_code) : "_OTHER";
      a.Str("error.type", error_type);
    }
    CloseSpan(&out_, "", 0, status);
  }

  // A tool call that never got its result: a zero-length span at the call.
  void EmitUnmatched() {
    PendingCall call = TakePending(pending_.begin());
    ++stats_.unmatched_tool_calls;
    NextSpan();
    OpenSpan(&out_, trace_id_, call.span_id, root_span_id_,
             call.tool.empty() ? std::string("execute_tool") : Cat("execute_tool ", call.tool),
             kSpanKindInternal, call.ts_ms, call.ts_ms);
    Attrs a(&out_);
    a.Str("gen_ai.operation.name", "execute_tool");
    if (!call.tool.empty()) a.Str("gen_ai.tool.name", call.tool);
    if (!call.call_id.empty()) a.Str("gen_ai.tool.call.id", call.call_id);
    if (!call.command.empty()) a.Str("traceframe.tool.command", call.command);
    a.Str("traceframe.event.id", call.event_id);
    a.Int("traceframe.seq", static_cast<int64_t>(std::min<uint64_t>(call.seq, INT64_MAX)));
    a.Bool("traceframe.tool.unmatched", true);
    CloseSpan(&out_, "", 0, SpanStatus{});
  }

  // Permission decisions, errors, deviations (agent.guess, plan.deviation)
  // and any other kind: an event on the run span.
  void AddRunEvent(const EventView& view, element payload) {
    if (run_events_count_ >= kOtlpMaxRunSpanEvents) {
      ++stats_.dropped_span_events;
      return;
    }
    ++run_events_count_;
    ++stats_.span_events;
    const std::string_view kind = EventKindName(view.kind);
    std::string* out = &run_events_;
    if (!out->empty()) out->push_back(',');
    Append(out, "{\"timeUnixNano\":\"", Nanos(view.ts_ms), "\",\"name\":");
    if (view.kind == EventKind::kError) {
      // The semconv exception event (exceptions spec): exception.message/type.
      out->append("\"exception\",\"attributes\":[");
    } else {
      AppendJsonString(out, Cat("traceframe.", kind));
      out->append(",\"attributes\":[");
    }
    Attrs a(out);
    a.Str("traceframe.event.kind", kind);
    a.Str("traceframe.event.id", view.event_id);
    a.Int("traceframe.seq", static_cast<int64_t>(std::min<uint64_t>(view.seq, INT64_MAX)));
    if (view.kind == EventKind::kPermissionDecision) {
      a.OptStr("traceframe.permission.decision", StrAt(payload, {"decision"}));
      a.OptStr("traceframe.permission.capability", StrAt(payload, {"capability"}));
      a.OptStr("traceframe.permission.reason", StrAt(payload, {"reason"}));
      a.OptStr("traceframe.permission.source", StrAt(payload, {"source"}));
      a.OptStr("gen_ai.tool.name", StrAt(payload, {"tool"}));
    } else if (view.kind == EventKind::kError) {
      a.Str("exception.message",
            StrAt(payload, {"message", "error", "error.message"}).value_or("error"));
      a.OptStr("exception.type", StrAt(payload, {"type", "error_type", "error.type"}));
      a.OptStr("gen_ai.tool.name", StrAt(payload, {"tool"}));
    } else {
      // agent.guess, plan.deviation, ...: the payload's top-level scalars.
      simdjson::dom::object object;
      if (payload.get_object().get(object) == simdjson::SUCCESS) {
        size_t n = 0;
        for (auto field : object) {
          if (n++ >= kMaxGenericFields) break;
          a.Scalar(Cat("traceframe.", kind, ".", field.key), field.value);
        }
      }
    }
    out->append("]}");
  }

  void RunFinished(const EventView& view, element payload) {
    finished_ = true;
    finished_ms_ = view.ts_ms;
    finished_status_ = std::string(StrAt(payload, {"status"}).value_or(""));
    finished_summary_ = Bounded(StrAt(payload, {"summary"}).value_or(""));
    finished_usage_ = UsageOf(payload);
  }

  void EmitRunSpan() {
    NextSpan();
    const int64_t end_ms = finished_ ? std::max(finished_ms_, last_ts_ms_) : last_ts_ms_;
    OpenSpan(&out_, trace_id_, root_span_id_, "",
             agent_.empty() ? std::string("invoke_agent") : Cat("invoke_agent ", agent_),
             kSpanKindInternal, start_ms_, end_ms);
    out_.append(root_attrs_);
    // Continue the attribute list written at run.started.
    std::string more;
    Attrs a(&more);
    // The run's usage: the host's total on run.finished, else the sum of the
    // model calls (docs/format.md "Token usage").
    if (finished_usage_.any()) {
      a.Usage(finished_usage_);
    } else if (any_model_usage_) {
      a.Usage(model_usage_);
    }
    if (finished_) {
      a.Str("traceframe.run.status", finished_status_.empty() ? "finished" : finished_status_);
      if (!finished_summary_.empty()) a.Str("traceframe.run.summary", finished_summary_);
    } else {
      a.Str("traceframe.run.status", "open");
    }
    a.Int("traceframe.run.events", static_cast<int64_t>(stats_.events));
    if (!more.empty()) {
      if (root_attr_count_ > 0) out_.push_back(',');
      out_.append(more);
    }
    SpanStatus status;
    if (finished_ && IsFailureStatus(finished_status_)) {
      status.code = kStatusError;
      status.message = finished_summary_.empty() ? finished_status_ : finished_summary_;
      // error.type is on the span only when it failed (semconv error.type).
      std::string error_type;
      Attrs e(&error_type);
      e.Str("error.type", finished_status_);
      out_.push_back(',');
      out_.append(error_type);
    }
    stats_.open = !finished_;
    CloseSpan(&out_, run_events_, stats_.dropped_span_events, status);
  }

  const std::string& path_;
  const OtlpSink& sink_;
  absl::Status error_;
  simdjson::dom::parser parser_;
  OtlpTraceStats stats_;
  std::string out_;
  uint64_t spans_written_ = 0;

  bool started_ = false;
  std::string run_id_;
  std::string root_event_id_;
  uint64_t first_seq_ = 0;
  std::string trace_id_;
  std::string root_span_id_;
  std::string session_;
  std::string agent_;
  int64_t start_ms_ = 0;
  int64_t last_ts_ms_ = std::numeric_limits<int64_t>::min();
  std::string root_attrs_;
  size_t root_attr_count_ = 0;
  std::string run_events_;
  uint64_t run_events_count_ = 0;
  Usage model_usage_;
  bool any_model_usage_ = false;

  bool finished_ = false;
  int64_t finished_ms_ = 0;
  std::string finished_status_;
  std::string finished_summary_;
  Usage finished_usage_;

  std::list<PendingCall> pending_;  // oldest first
  absl::flat_hash_map<std::string, std::list<PendingCall>::iterator> by_call_id_;
  size_t pending_without_id_ = 0;
  size_t pending_repeated_ids_ = 0;
};

}  // namespace

std::string OtlpTraceId(std::string_view run_id) {
  return HexId({"traceframe.otlp.trace", run_id}, 16);
}

std::string OtlpSpanId(std::string_view run_id, std::string_view event_id) {
  return HexId({"traceframe.otlp.span", run_id, event_id}, 8);
}

absl::StatusOr<OtlpTraceStats> ExportTraceOtlpJson(const std::string& path, const OtlpSink& sink) {
  TraceExporter exporter(path, sink);
  return exporter.Run();
}

absl::StatusOr<OtlpExportResult> ExportOtlpJson(const OtlpExportOptions& options) {
  std::vector<std::string> files = options.files;
  for (const std::string& dir : options.dirs) {
    absl::StatusOr<std::vector<std::string>> listed = ListRunTraces(dir);
    if (!listed.ok()) return listed.status();
    files.insert(files.end(), listed->begin(), listed->end());
  }

  // The output: a temp file beside --out, renamed over it at the end, so a
  // reader of --out never sees a partial export; else stdout.
  UniqueFd file;
  std::string temp;
  int fd = STDOUT_FILENO;
  if (!options.out.empty()) {
    struct stat st;
    if (::stat(options.out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(Cat("--out ", options.out, " is a directory"));
    }
    if (absl::Status s = CreateDirectories(DirName(options.out)); !s.ok()) return s;
    temp = TempPathBeside(options.out);
    file.reset(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!file.valid()) return ErrnoError(errno, "failed to write", options.out);
    fd = file.get();
  }
  // Errors name the file the user asked for, not its temporary copy.
  const std::string& out_name = options.out.empty() ? std::string("stdout") : options.out;
  auto abandon = [&](absl::Status status) -> absl::Status {
    if (!temp.empty()) ::unlink(temp.c_str());
    return status;
  };

  OtlpExportResult result;
  uint64_t offset = 0;
  for (const std::string& path : files) {
    const uint64_t trace_start = offset;
    absl::Status write_error;
    const OtlpSink sink = [&](std::string_view chunk) {
      while (!chunk.empty()) {
        const ssize_t n = ::write(fd, chunk.data(), chunk.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EPIPE && !file.valid()) {
            // The reader of stdout is gone (`| head`): stop, not an error.
            result.output_closed = true;
            write_error = absl::CancelledError("stdout closed");
          } else {
            write_error = ErrnoError(errno, "failed to write", out_name);
          }
          return write_error;
        }
        chunk.remove_prefix(static_cast<size_t>(n));
        offset += static_cast<uint64_t>(n);
      }
      return absl::OkStatus();
    };
    // Stdout cannot be rewound: a trace large enough to be written in
    // several chunks is checked first (the same pass, output discarded), so
    // a bad trace never leaves a partial line there.
    if (file.valid() == false) {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) > kFlushBytes / 8) {
        absl::StatusOr<OtlpTraceStats> dry =
            ExportTraceOtlpJson(path, [](std::string_view) { return absl::OkStatus(); });
        if (!dry.ok()) {
          result.failed.push_back({path, dry.status()});
          continue;
        }
      }
    }
    absl::StatusOr<OtlpTraceStats> stats = ExportTraceOtlpJson(path, sink);
    if (result.output_closed) return result;
    if (!write_error.ok()) return abandon(write_error);
    if (!stats.ok()) {
      result.failed.push_back({path, stats.status()});
      if (offset != trace_start && file.valid()) {
        // Drop the partial line of the bad trace.
        if (::ftruncate(fd, static_cast<off_t>(trace_start)) != 0 ||
            ::lseek(fd, static_cast<off_t>(trace_start), SEEK_SET) < 0) {
          return abandon(ErrnoError(errno, "failed to truncate", temp));
        }
        offset = trace_start;
      }
      continue;
    }
    result.bytes += stats->bytes;
    result.traces.push_back(std::move(*stats));
  }

  if (file.valid()) {
    if (::fsync(fd) != 0) return abandon(ErrnoError(errno, "failed to sync", temp));
    file.reset();
    if (::rename(temp.c_str(), options.out.c_str()) != 0) {
      return abandon(ErrnoError(errno, "failed to rename to", options.out));
    }
    if (absl::Status s = SyncDirectory(DirName(options.out)); !s.ok()) return s;
  }
  return result;
}

}  // namespace traceframe
