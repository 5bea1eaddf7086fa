// Shipping traces into ClickHouse (traceframe/ship.h, docs/clickhouse.md).
#include "traceframe/ship.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "format/event_parser.h"
#include "simdjson.h"
#include "traceframe/json.h"
#include "traceframe/labels.h"
#include "traceframe/ledger.h"
#include "traceframe/str_util.h"
#include "traceframe/trace_reader.h"
#include "util/file_util.h"

namespace traceframe {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// FNV-1a 64: stable across processes and builds (unlike absl::Hash, which is
// seeded per process), which is what a name or identity on disk needs.
uint64_t Fnv1a64(std::string_view data, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string Hex(uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kDigits[value & 15];
    value >>= 4;
  }
  return out;
}

// ClickHouse exception codes that say "later" rather than "never": the
// server is busy, shutting down or lost a connection mid-query.
bool IsTransientClickHouseCode(int code) {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 236:  // ABORTED
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 252:  // TOO_MANY_PARTS
    case 394:  // QUERY_WAS_CANCELLED
      return true;
    default:
      return false;
  }
}

// "Code: 60, e.displayText() = ..." -> 60; 0 when the body has no code.
int ClickHouseCode(std::string_view body) {
  constexpr std::string_view kPrefix = "Code: ";
  const size_t at = body.find(kPrefix);
  if (at == std::string_view::npos) return 0;
  int code = 0;
  for (size_t i = at + kPrefix.size(); i < body.size() && absl::ascii_isdigit(body[i]); ++i) {
    code = code * 10 + (body[i] - '0');
    if (code > 100000) break;
  }
  return code;
}

std::optional<std::string_view> StringField(element value, std::string_view key) {
  std::string_view s;
  if (value[key].get_string().get(s)) return std::nullopt;
  return s;
}

// A token count: a non-negative integer, or a float (some hosts send 12.0).
uint64_t CountField(element usage, std::string_view key) {
  element v;
  if (usage[key].get(v)) return 0;
  uint64_t u;
  if (!v.get_uint64().get(u)) return u;
  double d;
  if (!v.get_double().get(d) && d > 0 && d < 1.8e19) return static_cast<uint64_t>(d);
  return 0;
}

constexpr std::string_view kUsageKeys[] = {"input_tokens", "output_tokens",
                                           "cache_read_input_tokens", "cache_creation_input_tokens",
                                           "reasoning_output_tokens"};

// labels {K: V} as two parallel arrays (ClickHouse 18.16 has no Map type);
// a value that is not a string is kept as its JSON text.
void AppendLabelArrays(std::string* out, std::string_view labels_json) {
  std::string keys = "[";
  std::string values = "[";
  simdjson::dom::parser parser;
  object labels;
  if (!parser.parse(labels_json).get_object().get(labels)) {
    bool first = true;
    for (auto field : labels) {
      if (!first) {
        keys.push_back(',');
        values.push_back(',');
      }
      first = false;
      AppendJsonString(&keys, field.key);
      std::string_view s;
      if (!field.value.get_string().get(s)) {
        AppendJsonString(&values, s);
      } else {
        AppendJsonString(&values, simdjson::minify(field.value));
      }
    }
  }
  keys.push_back(']');
  values.push_back(']');
  Append(out, "\"label_keys\":", keys, ",\"label_values\":", values);
}

void AppendContext(std::string* out, const ShipRunContext& context) {
  out->append("\"host\":");
  AppendJsonString(out, context.host);
  out->append(",\"source\":");
  AppendJsonString(out, context.source);
  out->append(",\"trace_path\":");
  AppendJsonString(out, context.trace_path);
  out->push_back(',');
  AppendLabelArrays(out, context.labels_json);
}

// The DateTime column's value: Unix seconds, sent by the shipper rather than
// computed by the table (DEFAULT/MATERIALIZED are not filled for JSONEachRow
// by 18.16, and a Distributed insert there refuses MATERIALIZED columns).
// DateTime is unsigned 32-bit: clamped.
uint64_t DateTimeSeconds(int64_t ts_ms) {
  if (ts_ms <= 0) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(ts_ms) / 1000, 4294967295ull);
}

// Encodes a parsed event (the parser holds its payload).
void EncodeParsed(std::string* out, const EventView& view, element payload,
                  std::string_view labels_arrays, const ShipRunContext& context) {
  out->append("{\"run_id\":");
  AppendJsonString(out, view.run_id);
  Append(out, ",\"seq\":", view.seq, ",\"event_id\":");
  AppendJsonString(out, view.event_id);
  Append(out, ",\"kind\":\"", EventKindName(view.kind), "\",\"ts_ms\":", view.ts_ms,
         ",\"ts\":", DateTimeSeconds(view.ts_ms), ",\"host\":");
  AppendJsonString(out, context.host);
  out->append(",\"source\":");
  AppendJsonString(out, context.source);
  out->append(",\"trace_path\":");
  AppendJsonString(out, context.trace_path);
  Append(out, ",", labels_arrays, ",\"tool\":");
  AppendJsonString(out, StringField(payload, "tool").value_or(""));
  out->append(",\"success\":");
  if (view.kind == EventKind::kToolResult) {
    out->push_back(view.tool_failed ? '0' : '1');
  } else {
    out->append("null");
  }
  out->append(",\"model\":");
  AppendJsonString(out, StringField(payload, "model").value_or(""));
  element usage;
  const bool has_usage = !payload["usage"].get(usage) && usage.is_object();
  for (std::string_view key : kUsageKeys) {
    Append(out, ",\"", key, "\":", has_usage ? CountField(usage, key) : 0);
  }
  out->append(",\"payload\":");
  AppendJsonString(out, RawPayload(view.line));
  out->push_back('}');
}

std::string LabelArrays(std::string_view labels_json) {
  std::string out;
  AppendLabelArrays(&out, labels_json);
  return out;
}

std::string Hostname() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// Where a checkpoint may point: the start of the file, just past a '\n', or
// the end of a last line that had no '\n' then (it may have one now).
bool IsLineBoundary(std::string_view data, uint64_t offset) {
  if (offset == 0) return true;
  if (offset > data.size()) return false;
  if (data[offset - 1] == '\n') return true;
  return offset == data.size() || data[offset] == '\n' || data[offset] == '\r';
}

std::string Quoted(std::string_view database) { return Cat("`", database, "`"); }

}  // namespace

absl::Status ClassifyClickHouseAnswer(bool transport_ok, long http_status, std::string_view body,
                                      std::string_view detail) {
  if (!transport_ok) {
    return absl::UnavailableError(Cat("ClickHouse is not reachable: ", detail));
  }
  if (http_status == 200) return absl::OkStatus();
  std::string_view trimmed = body.substr(0, 2000);
  while (!trimmed.empty() && absl::ascii_isspace(trimmed.back())) trimmed.remove_suffix(1);
  while (!trimmed.empty() && absl::ascii_isspace(trimmed.front())) trimmed.remove_prefix(1);
  std::string message(trimmed);
  if (message.empty()) message = Cat("HTTP ", http_status);
  if (http_status == 502 || http_status == 503 || http_status == 504 ||
      IsTransientClickHouseCode(ClickHouseCode(body))) {
    return absl::UnavailableError(
        Cat("ClickHouse is unavailable (HTTP ", http_status, "): ", message));
  }
  const std::string text =
      Cat("ClickHouse refused the statement (HTTP ", http_status, "): ", message);
  switch (http_status) {
    case 401:
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    default:
      return absl::InvalidArgumentError(text);
  }
}

bool IsValidDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
}

std::vector<std::string> ClickHouseCreateTables(std::string_view database) {
  const std::string db = Quoted(database);
  // Keep in step with docs/clickhouse.md ("Tables"); tests/ship_test.cc
  // checks that the document holds these statements.
  return {
      Cat("CREATE DATABASE IF NOT EXISTS ", db),
      Cat("CREATE TABLE IF NOT EXISTS ", db,
          ".events (\n"
          "  run_id String,\n"
          "  seq UInt64,\n"
          "  event_id String,\n"
          "  kind String,\n"
          "  ts_ms Int64,\n"
          "  ts DateTime,\n"
          "  host String,\n"
          "  source String,\n"
          "  trace_path String,\n"
          "  label_keys Array(String),\n"
          "  label_values Array(String),\n"
          "  tool String,\n"
          "  success Nullable(UInt8),\n"
          "  model String,\n"
          "  input_tokens UInt64,\n"
          "  output_tokens UInt64,\n"
          "  cache_read_input_tokens UInt64,\n"
          "  cache_creation_input_tokens UInt64,\n"
          "  reasoning_output_tokens UInt64,\n"
          "  payload String\n"
          ") ENGINE = ReplacingMergeTree\n"
          "PARTITION BY toYYYYMM(ts)\n"
          "ORDER BY (run_id, seq, event_id)"),
      Cat("CREATE TABLE IF NOT EXISTS ", db,
          ".runs (\n"
          "  run_id String,\n"
          "  trace_path String,\n"
          "  host String,\n"
          "  source String,\n"
          "  label_keys Array(String),\n"
          "  label_values Array(String),\n"
          "  status String,\n"
          "  event_count UInt64,\n"
          "  model_calls UInt64,\n"
          "  tool_calls UInt64,\n"
          "  tool_results UInt64,\n"
          "  tool_failures UInt64,\n"
          "  permission_decisions UInt64,\n"
          "  errors UInt64,\n"
          "  started_ms Int64,\n"
          "  finished_ms Nullable(Int64),\n"
          "  duration_ms Nullable(Int64),\n"
          "  torn_tail UInt8,\n"
          "  deviations UInt64,\n"
          "  input_tokens UInt64,\n"
          "  output_tokens UInt64,\n"
          "  cache_read_input_tokens UInt64,\n"
          "  cache_creation_input_tokens UInt64,\n"
          "  reasoning_output_tokens UInt64,\n"
          "  started DateTime,\n"
          "  version UInt64\n"
          ") ENGINE = ReplacingMergeTree(version)\n"
          "ORDER BY run_id"),
  };
}

std::string ShipCheckpointPath(const std::string& trace_path, std::string_view target,
                               std::string_view database) {
  const uint64_t hash = Fnv1a64(database, Fnv1a64("\x1f", Fnv1a64(target)));
  return Cat(trace_path, ".ship-", Hex(hash, 8));
}

std::string ShipCheckpointJson(const ShipCheckpoint& c) {
  std::string out;
  JsonObjectWriter(&out)
      .Int("version", 1)
      .String("target", c.target)
      .String("run_id", c.run_id)
      .String("first_line_hash", c.first_line_hash)
      .Uint("offset", c.offset)
      .Uint("seq", c.seq)
      .Uint("events", c.events)
      .Finish();
  out.push_back('\n');
  return out;
}

absl::StatusOr<ShipCheckpoint> ParseShipCheckpoint(std::string_view json) {
  simdjson::dom::parser parser;
  object root;
  if (parser.parse(json).get_object().get(root)) {
    return absl::DataLossError("ship checkpoint is not a JSON object");
  }
  int64_t version;
  if (root["version"].get_int64().get(version) || version != 1) {
    return absl::DataLossError("ship checkpoint has no supported version");
  }
  ShipCheckpoint c;
  std::string_view s;
  if (root["target"].get_string().get(s)) return absl::DataLossError("ship checkpoint: no target");
  c.target = std::string(s);
  if (root["run_id"].get_string().get(s)) return absl::DataLossError("ship checkpoint: no run_id");
  c.run_id = std::string(s);
  if (root["first_line_hash"].get_string().get(s)) {
    return absl::DataLossError("ship checkpoint: no first_line_hash");
  }
  c.first_line_hash = std::string(s);
  if (root["offset"].get_uint64().get(c.offset) || root["seq"].get_uint64().get(c.seq) ||
      root["events"].get_uint64().get(c.events)) {
    return absl::DataLossError("ship checkpoint: offset, seq or events missing");
  }
  return c;
}

absl::StatusOr<std::string> EncodeEventRow(std::string_view line, const ShipRunContext& context) {
  EventParser parser;
  EventView view;
  std::string reason;
  if (parser.Parse(line, false, &view, &reason) != LineParseError::kNone) {
    return absl::InvalidArgumentError(Cat("not a valid event: ", reason));
  }
  view.line = line;
  std::string out;
  EncodeParsed(&out, view, parser.payload(), LabelArrays(context.labels_json), context);
  return out;
}

std::string EncodeRunRow(const LedgerEntry& e, const ShipRunContext& context, uint64_t version) {
  std::string out = "{\"run_id\":";
  AppendJsonString(&out, e.run_id);
  out.push_back(',');
  // The ledger's own source and labels when it has them (the same
  // run.started facts, docs/ledger.md).
  ShipRunContext with_path = context;
  with_path.trace_path = e.trace_path;
  if (!e.source.empty()) with_path.source = e.source;
  if (!e.labels.empty()) with_path.labels_json = LabelsJson(e.labels);
  AppendContext(&out, with_path);
  out.append(",\"status\":");
  AppendJsonString(&out, e.status);
  Append(&out, ",\"event_count\":", e.event_count, ",\"model_calls\":", e.model_calls,
         ",\"tool_calls\":", e.tool_calls, ",\"tool_results\":", e.tool_results,
         ",\"tool_failures\":", e.tool_failures,
         ",\"permission_decisions\":", e.permission_decisions, ",\"errors\":", e.errors,
         ",\"started_ms\":", e.started_ms, ",\"started\":", DateTimeSeconds(e.started_ms),
         ",\"finished_ms\":");
  out.append(e.finished_ms ? Cat(*e.finished_ms) : "null");
  out.append(",\"duration_ms\":");
  out.append(e.duration_ms ? Cat(*e.duration_ms) : "null");
  Append(&out, ",\"torn_tail\":", e.torn_tail ? 1 : 0, ",\"deviations\":", e.deviations,
         ",\"input_tokens\":", e.usage.input_tokens, ",\"output_tokens\":", e.usage.output_tokens,
         ",\"cache_read_input_tokens\":", e.usage.cache_read_input_tokens,
         ",\"cache_creation_input_tokens\":", e.usage.cache_creation_input_tokens,
         ",\"reasoning_output_tokens\":", e.usage.reasoning_output_tokens, ",\"version\":", version,
         "}");
  return out;
}

// What a batch holds besides its rows: the checkpoints to write once
// ClickHouse has acknowledged it.
struct Shipper::Pending {
  std::string events;
  std::string runs;
  uint64_t event_rows = 0;
  uint64_t run_rows = 0;
  std::vector<std::pair<std::string, ShipCheckpoint>> checkpoints;  // (path, checkpoint)
};

Shipper::Shipper(ShipOptions options, ShipTransport* transport)
    : options_(std::move(options)), transport_(transport) {
  if (options_.host.empty()) options_.host = Hostname();
}

absl::Status Shipper::CreateTables() {
  if (!IsValidDatabaseName(options_.database)) {
    return absl::InvalidArgumentError(
        Cat("invalid database name: ", options_.database, " (letters, digits and _ only)"));
  }
  for (const std::string& statement : ClickHouseCreateTables(options_.database)) {
    absl::Status status = transport_->Execute(statement, "");
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Shipper::Flush(Pending* pending, ShipPassResult* result) {
  const std::string db = Quoted(options_.database);
  if (!pending->events.empty()) {
    absl::Status status =
        transport_->Execute(Cat("INSERT INTO ", db, ".events FORMAT JSONEachRow"), pending->events);
    if (!status.ok()) return status;
    ++result->batches;
  }
  if (!pending->runs.empty()) {
    absl::Status status =
        transport_->Execute(Cat("INSERT INTO ", db, ".runs FORMAT JSONEachRow"), pending->runs);
    if (!status.ok()) return status;
    ++result->batches;
  }
  // Acknowledged: only now may the checkpoints move (a crash before this
  // point re-sends the batch, which the tables collapse).
  for (const auto& [path, checkpoint] : pending->checkpoints) {
    absl::Status status = WriteFileAtomically(path, ShipCheckpointJson(checkpoint));
    if (!status.ok()) return status;
  }
  result->events += pending->event_rows;
  result->runs += pending->run_rows;
  result->bytes += pending->events.size() + pending->runs.size();
  *pending = Pending();
  return absl::OkStatus();
}

absl::StatusOr<ShipPassResult> Shipper::ShipOnce() {
  if (!IsValidDatabaseName(options_.database)) {
    return absl::InvalidArgumentError(
        Cat("invalid database name: ", options_.database, " (letters, digits and _ only)"));
  }
  std::vector<std::string> traces;
  for (const std::string& dir : options_.dirs) {
    // The same walk as the ledger and `export` (ledger files left out).
    absl::StatusOr<std::vector<std::string>> found = ListRunTraces(dir);
    if (!found.ok()) return found.status();
    traces.insert(traces.end(), found->begin(), found->end());
  }
  traces.insert(traces.end(), options_.files.begin(), options_.files.end());

  ShipPassResult result;
  Pending pending;
  EventParser parser;
  const uint64_t batch_bytes = std::max<uint64_t>(options_.batch_bytes, 1);
  for (const std::string& path : traces) {
    if (options_.progress) options_.progress(result.traces, traces.size());
    ++result.traces;
    absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
    if (!reader.ok()) {
      result.problems.push_back({path, 0, std::string(reader.status().message())});
      continue;
    }
    const std::string_view data = (*reader)->data();
    // Only complete lines ship: up to the last '\n', plus a last line without
    // its '\n' when it is a whole valid event (a writer adds the '\n' before
    // its next event, docs/format.md); a torn or growing tail waits.
    size_t first_end = data.find('\n');
    if (first_end == std::string_view::npos) first_end = data.size();
    std::string_view first_line = data.substr(0, first_end);
    if (!first_line.empty() && first_line.back() == '\r') first_line.remove_suffix(1);
    EventView first;
    std::string reason;
    if (first_line.empty() ||
        parser.Parse(first_line, false, &first, &reason) != LineParseError::kNone) {
      if (first_end < data.size()) {
        result.problems.push_back({path, 0, Cat("line 1 is not a valid event: ", reason)});
      } else {
        result.waiting_bytes += data.size();
      }
      continue;
    }
    ShipRunContext context;
    context.host = options_.host;
    context.trace_path = path;
    if (first.kind == EventKind::kRunStarted) {
      element labels;
      if (!parser.payload()["labels"].get(labels) && labels.is_object()) {
        context.labels_json = simdjson::minify(labels);
      }
      context.source = std::string(StringField(parser.payload(), "source").value_or(""));
    }
    const std::string labels_arrays = LabelArrays(context.labels_json);

    ShipCheckpoint checkpoint;
    checkpoint.target = options_.target;
    checkpoint.run_id = std::string(first.run_id);
    checkpoint.first_line_hash = Hex(Fnv1a64(first_line), 16);
    const std::string checkpoint_path =
        ShipCheckpointPath(path, options_.target, options_.database);
    if (absl::StatusOr<std::string> saved = ReadFile(checkpoint_path); saved.ok()) {
      absl::StatusOr<ShipCheckpoint> parsed = ParseShipCheckpoint(*saved);
      // Another trace under the same name (replaced, truncated) or a damaged
      // checkpoint: ship from the start; rows already there collapse.
      if (parsed.ok() && parsed->target == checkpoint.target &&
          parsed->run_id == checkpoint.run_id &&
          parsed->first_line_hash == checkpoint.first_line_hash &&
          IsLineBoundary(data, parsed->offset)) {
        checkpoint = *parsed;
      }
    }
    if (checkpoint.offset >= data.size()) continue;

    const uint64_t start_offset = checkpoint.offset;
    uint64_t pos = checkpoint.offset;
    bool trace_ok = true;
    bool shipped_any = false;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      const bool terminated = nl != std::string_view::npos;
      if (!terminated) nl = data.size();
      std::string_view line = data.substr(pos, nl - pos);
      const uint64_t next = terminated ? nl + 1 : nl;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) {
        EventView view;
        if (parser.Parse(line, false, &view, &reason) != LineParseError::kNone) {
          if (!terminated) {  // torn, or still being written: later
            result.waiting_bytes += data.size() - pos;
            break;
          }
          result.problems.push_back(
              {path, pos,
               Cat("invalid event at byte ", pos, ": ", reason,
                   "; shipped up to it (run `traceframe verify` on the trace)")});
          trace_ok = false;
          break;
        }
        view.line = line;
        EncodeParsed(&pending.events, view, parser.payload(), labels_arrays, context);
        pending.events.push_back('\n');
        ++pending.event_rows;
        checkpoint.seq = view.seq;
        ++checkpoint.events;
        shipped_any = true;
      }
      checkpoint.offset = next;
      pos = next;
      if (pending.events.size() >= batch_bytes && pos < data.size()) {
        pending.checkpoints.emplace_back(checkpoint_path, checkpoint);
        absl::Status status = Flush(&pending, &result);
        if (!status.ok()) return status;
      }
    }
    if (checkpoint.offset == start_offset) continue;  // nothing new was complete
    if (shipped_any) ++result.traces_shipped;
    // The run's row: its ledger entry as of now (latest wins by version).
    absl::StatusOr<LedgerEntry> entry = LedgerEntryForTrace(path);
    if (entry.ok()) {
      pending.runs.append(EncodeRunRow(*entry, context, checkpoint.offset));
      pending.runs.push_back('\n');
      ++pending.run_rows;
    } else if (trace_ok) {
      result.problems.push_back(
          {path, checkpoint.offset, Cat("no runs row: ", entry.status().message())});
    }
    pending.checkpoints.emplace_back(checkpoint_path, checkpoint);
    if (pending.events.size() + pending.runs.size() >= batch_bytes) {
      absl::Status status = Flush(&pending, &result);
      if (!status.ok()) return status;
    }
  }
  if (!pending.checkpoints.empty()) {
    absl::Status status = Flush(&pending, &result);
    if (!status.ok()) return status;
  }
  if (options_.progress) options_.progress(traces.size(), traces.size());
  return result;
}

}  // namespace traceframe
