// Codex CLI rollouts (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl, and the
// legacy unwrapped format) to trace events (docs/import.md "Codex CLI";
// facts in transcripts.md).
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "format/bounded_json.h"
#include "import/mapper.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace traceframe::internal {
namespace {

using simdjson::dom::element_type;

bool IsIgnoredEvent(std::string_view type) {
  for (std::string_view t : {"task_started",
                             "task_complete",
                             "user_message",
                             "agent_message",
                             "agent_reasoning",
                             "agent_reasoning_raw_content",
                             "agent_reasoning_section_break",
                             "stream_error",
                             "exec_command_begin",
                             "exec_command_end",
                             "patch_apply_begin",
                             "patch_apply_end",
                             "mcp_tool_call_begin",
                             "mcp_tool_call_end",
                             "web_search_begin",
                             "web_search_end",
                             "turn_diff",
                             "plan_update",
                             "entered_review_mode",
                             "exited_review_mode",
                             "item_completed",
                             "background_event",
                             "view_image_tool_call",
                             "undo_started",
                             "undo_completed",
                             "deprecation_notice",
                             "warning",
                             "raw_response_item"}) {
    if (type == t) return true;
  }
  return false;
}

bool IsIgnoredItem(std::string_view type) {
  return type == "message" || type == "reasoning" || type == "ghost_snapshot" ||
         type == "compaction" || type == "other";
}

std::optional<int64_t> ParseIntAt(std::string_view text, size_t pos) {
  bool neg = false;
  if (pos < text.size() && text[pos] == '-') {
    neg = true;
    ++pos;
  }
  int64_t v = 0;
  size_t n = 0;
  while (pos < text.size() && n < 12 && text[pos] >= '0' && text[pos] <= '9') {
    v = v * 10 + (text[pos++] - '0');
    ++n;
  }
  if (n == 0) return std::nullopt;
  return neg ? -v : v;
}

// "Wall time: 0.0123 seconds" -> 12 ms.
std::optional<int64_t> WallTimeMs(std::string_view text) {
  const size_t at = text.find("Wall time: ");
  if (at == std::string_view::npos) return std::nullopt;
  const size_t start = at + 11;
  size_t end = start;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == '.')) ++end;
  if (end == start || end - start > 20) return std::nullopt;
  const std::string number(text.substr(start, end - start));
  return static_cast<int64_t>(std::strtod(number.c_str(), nullptr) * 1000.0 + 0.5);
}

// What a tool output says about how the call ended: every failure encoding
// of every version in transcripts.md.
struct Outcome {
  std::optional<bool> success;
  std::optional<int64_t> exit_code;
  std::optional<int64_t> duration_ms;
  std::string text;  // the output shown in the preview
  std::string failure;
  bool running = false;
};

Outcome Classify(std::string_view tool, std::string_view output, simdjson::dom::parser* parser) {
  Outcome o;
  o.text = std::string(output);
  const std::string_view trimmed = StripWhitespace(output);
  // shell (0.5x, legacy) and apply_patch success: a JSON string
  // {"output": ..., "metadata": {"exit_code": N, "duration_seconds": x}}.
  if (StartsWith(trimmed, "{")) {
    element root;
    if (parser->parse(trimmed.data(), trimmed.size()).get(root) == simdjson::SUCCESS) {
      if (std::optional<element> meta = Field(root, "metadata")) {
        o.exit_code = IntField(*meta, "exit_code");
        if (std::optional<element> d = Field(*meta, "duration_seconds")) {
          if (std::optional<double> s = NumberOf(*d)) {
            o.duration_ms = static_cast<int64_t>(*s * 1000.0 + 0.5);
          }
        }
        if (std::optional<std::string_view> text = StringField(root, "output")) {
          o.text = std::string(*text);
        }
      }
    }
  }
  if (!o.exit_code && StartsWith(trimmed, "Exit code: ")) {  // shell_command (0.60)
    o.exit_code = ParseIntAt(trimmed, 11);
  }
  if (!o.exit_code) {  // exec_command (0.10x)
    const size_t at = output.find("Process exited with code ");
    if (at != std::string_view::npos) o.exit_code = ParseIntAt(output, at + 25);
  }
  if (!o.duration_ms) o.duration_ms = WallTimeMs(output.substr(0, 512));
  if (o.exit_code) {
    o.success = *o.exit_code == 0;
    if (!*o.success) o.failure = Cat("exit code ", *o.exit_code);
  }
  const std::string_view head = output.substr(0, 1024);
  if (!o.exit_code && Contains(head, "Process running with session ID")) {
    o.running = true;  // continued by write_stdin; its end is reported there
    return o;
  }
  if (Contains(head, "failed in sandbox") || StartsWith(trimmed, "execution error:") ||
      StartsWith(trimmed, "sandbox error")) {
    o.success = false;
    o.failure = FirstLine(trimmed);
  } else if (StartsWith(trimmed, "apply_patch verification failed") ||
             StartsWith(trimmed, "error: Failed to find expected lines") ||
             StartsWith(trimmed, "Failed to apply patch") || StartsWith(trimmed, "Invalid patch")) {
    o.success = false;
    o.failure = FirstLine(trimmed);
  } else if (tool == "apply_patch" && !o.exit_code && !StartsWith(trimmed, "Success") &&
             !StartsWith(trimmed, "Done")) {
    // apply_patch succeeds with JSON metadata or "Success. Updated ...";
    // anything else is its error text.
    o.success = false;
    o.failure = FirstLine(trimmed);
  } else if (StartsWith(trimmed, "aborted") || StartsWith(trimmed, "exec command rejected") ||
             StartsWith(trimmed, "patch rejected")) {
    o.success = false;
    o.failure = FirstLine(trimmed);
  }
  if (!o.success) o.success = true;
  if (!*o.success && o.failure.empty()) o.failure = FirstLine(trimmed);
  return o;
}

// The primary argument of a function call's arguments.
std::string CommandOf(element args) {
  std::optional<element> command = Field(args, "command");
  if (!command) command = Field(args, "cmd");
  if (command) {
    simdjson::dom::array parts;
    if (command->get_array().get(parts) == simdjson::SUCCESS) {
      std::string joined;
      for (element part : parts) {
        std::string_view s;
        if (part.get_string().get(s) != simdjson::SUCCESS) continue;
        if (!joined.empty()) joined.push_back(' ');
        joined.append(s);
      }
      // ["bash", "-lc", "<script>"]: the script is the command.
      if (parts.size() == 3) {
        std::string_view a, b, c;
        if (parts.at(0).get_string().get(a) == simdjson::SUCCESS &&
            parts.at(1).get_string().get(b) == simdjson::SUCCESS &&
            parts.at(2).get_string().get(c) == simdjson::SUCCESS && (b == "-lc" || b == "-c")) {
          joined = std::string(c);
        }
      }
      bool cut = false;
      return BoundString(joined, &cut);
    }
    std::string_view s;
    if (command->get_string().get(s) == simdjson::SUCCESS) {
      bool cut = false;
      return BoundString(s, &cut);
    }
  }
  for (std::string_view key : {"path", "file_path", "query", "url", "pattern", "chars"}) {
    if (std::optional<std::string_view> s = StringField(args, key)) {
      bool cut = false;
      return BoundString(*s, &cut);
    }
  }
  return {};
}

// The first file an apply_patch input names.
std::string PatchTarget(std::string_view input) {
  for (std::string_view marker : {"*** Update File: ", "*** Add File: ", "*** Delete File: "}) {
    const size_t at = input.find(marker);
    if (at == std::string_view::npos) continue;
    const size_t start = at + marker.size();
    const size_t end = input.find('\n', start);
    bool cut = false;
    return BoundString(StripWhitespace(input.substr(start, end - start)), &cut);
  }
  return {};
}

struct CallInfo {
  std::string tool;
  std::string command;
  int64_t ts_ms = 0;
  bool has_ts = false;
};

struct Totals {
  int64_t input = 0, cached = 0, output = 0, reasoning = 0, total = 0;
  bool operator==(const Totals& o) const {
    return input == o.input && cached == o.cached && output == o.output &&
           reasoning == o.reasoning && total == o.total;
  }
};

Totals TotalsOf(element usage) {
  Totals t;
  t.input = IntField(usage, "input_tokens").value_or(0);
  t.cached = IntField(usage, "cached_input_tokens").value_or(0);
  t.output = IntField(usage, "output_tokens").value_or(0);
  t.reasoning = IntField(usage, "reasoning_output_tokens").value_or(0);
  t.total = IntField(usage, "total_tokens").value_or(0);
  return t;
}

TokenUsage UsageOf(const Totals& t) {
  auto pos = [](int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; };
  TokenUsage u;
  // Codex's input_tokens includes cached input; output includes reasoning.
  u.input_tokens = pos(t.input);
  u.cache_read_input_tokens = pos(t.cached);
  u.output_tokens = pos(t.output);
  u.reasoning_output_tokens = pos(t.reasoning);
  return u;
}

class CodexMapper : public LineMapper {
 public:
  CodexMapper(const ImportContext& context, EventSink* sink)
      : sink_(sink), provider_(context.model_provider) {
    if (provider_.empty()) provider_ = "openai";
  }

  void MapLine(uint64_t number, std::string_view line) override {
    element root;
    if (parser_.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) {
      sink_->BeginLine(number, std::nullopt);
      sink_->Skip(number, "invalid JSON");
      return;
    }
    std::optional<int64_t> ts;
    if (std::optional<std::string_view> t = StringField(root, "timestamp")) {
      ts = ParseRfc3339Ms(*t);
    }
    sink_->BeginLine(number, ts);
    if (root.type() != element_type::OBJECT) {
      sink_->Skip(number, "not a JSON object");
      return;
    }
    std::optional<std::string_view> type = StringField(root, "type");
    std::optional<element> payload = Field(root, "payload");
    if (!type) {
      // Legacy: the meta line ({id, timestamp, ...}) and
      // {"record_type":"state"} markers.
      if (Field(root, "record_type") || (number == 1 && Field(root, "id"))) return;
      sink_->Skip(number, "no string `type`");
      return;
    }
    if (payload && payload->type() == element_type::OBJECT) {
      if (*type == "response_item") {
        Item(number, *payload);
        return;
      }
      if (*type == "event_msg") {
        Event(number, *payload);
        return;
      }
      if (*type == "turn_context") {
        if (std::optional<std::string_view> m = StringField(*payload, "model")) model_ = *m;
        return;
      }
      if (*type == "session_meta") {
        if (std::optional<std::string_view> p = StringField(*payload, "model_provider")) {
          provider_ = *p;
        }
        return;
      }
      if (*type == "compacted") {
        Compaction(kFromCompacted);
        return;
      }
    }
    // Legacy: items are bare lines.
    if (!payload && IsItemType(*type)) {
      Item(number, root);
      return;
    }
    bool cut = false;
    sink_->Skip(number, Cat("unknown type `", BoundString(type->substr(0, 60), &cut), "`"));
  }

  std::string Finish() override {
    std::string out;
    JsonObjectWriter w(&out);
    w.String("status", "imported");
    if (last_total_) {
      // The cumulative total_token_usage: the session's total.
      w.Raw("usage", UsageJson(UsageOf(*last_total_)));
    }
    w.Finish();
    return out;
  }

 private:
  std::optional<TokenUsage> RunUsage() const override {
    if (!last_total_) return std::nullopt;
    return UsageOf(*last_total_);
  }

  enum CompactionSource { kFromCompacted, kFromEvent };

  static bool IsItemType(std::string_view t) {
    return t == "message" || t == "reasoning" || t == "function_call" ||
           t == "function_call_output" || t == "custom_tool_call" ||
           t == "custom_tool_call_output" || t == "local_shell_call" || t == "web_search_call" ||
           t == "ghost_snapshot";
  }

  void Item(uint64_t number, element item) {
    const std::string_view type = StringField(item, "type").value_or("");
    if (type == "function_call") {
      const std::string_view name = StringField(item, "name").value_or("");
      std::string command;
      std::string input;
      uint64_t input_bytes = 0;
      if (std::optional<std::string_view> args = StringField(item, "arguments")) {
        input_bytes = args->size();
        element parsed;
        if (args_parser_.parse(args->data(), args->size()).get(parsed) == simdjson::SUCCESS) {
          command = CommandOf(parsed);
          input = BoundedInput(parsed);
        } else {
          bool cut = false;
          input = JsonString(BoundString(*args, &cut));
        }
      } else if (std::optional<element> a = Field(item, "arguments")) {
        command = CommandOf(*a);
        input = BoundedInput(*a);
        input_bytes = simdjson::to_string(*a).size();
      }
      Call(name, StringField(item, "call_id").value_or(""), command, input, input_bytes);
    } else if (type == "custom_tool_call") {
      const std::string_view name = StringField(item, "name").value_or("");
      const std::string_view raw = StringField(item, "input").value_or("");
      bool cut = false;
      Call(name, StringField(item, "call_id").value_or(""),
           name == "apply_patch" ? PatchTarget(raw) : std::string(),
           JsonString(BoundString(raw, &cut)), raw.size());
    } else if (type == "local_shell_call") {
      std::string command;
      std::string input;
      uint64_t input_bytes = 0;
      if (std::optional<element> action = Field(item, "action")) {
        command = CommandOf(*action);
        input = BoundedInput(*action);
        input_bytes = simdjson::to_string(*action).size();
      }
      std::string_view id = StringField(item, "call_id").value_or("");
      if (id.empty()) id = StringField(item, "id").value_or("");
      Call("local_shell", id, command, input, input_bytes);
    } else if (type == "web_search_call") {
      std::string query;
      if (std::optional<element> action = Field(item, "action")) query = CommandOf(*action);
      const std::string id(StringField(item, "id").value_or(""));
      Call("web_search", id, query, {}, 0);
      const std::string_view status = StringField(item, "status").value_or("");
      if (!status.empty()) {
        std::string out;
        JsonObjectWriter w(&out);
        w.String("tool", "web_search");
        if (!query.empty()) w.String("command", query);
        w.String("tool_use_id", id).Bool("success", status == "completed");
        if (status != "completed") w.String("failure", status);
        w.Finish();
        sink_->Emit(EventKind::kToolResult, std::move(out));
      }
    } else if (type == "function_call_output" || type == "custom_tool_call_output") {
      Output(item);
    } else if (!IsIgnoredItem(type)) {
      bool cut = false;
      sink_->Skip(number, Cat("unknown item type `", BoundString(type.substr(0, 60), &cut), "`"));
    }
  }

  void Call(std::string_view name, std::string_view id, const std::string& command,
            const std::string& input, uint64_t input_bytes) {
    std::string out;
    JsonObjectWriter w(&out);
    w.String("tool", name);
    if (!command.empty()) w.String("command", command);
    w.String("tool_use_id", id);
    if (!input.empty()) w.Raw("input", input).Uint("input_bytes", input_bytes);
    w.Finish();
    sink_->Emit(EventKind::kToolCall, std::move(out));
    CallInfo info{std::string(name), command, 0, false};
    if (sink_->line_ts()) {
      info.ts_ms = *sink_->line_ts();
      info.has_ts = true;
    }
    if (!id.empty()) calls_[std::string(id)] = std::move(info);
  }

  void Output(element item) {
    const std::string id(StringField(item, "call_id").value_or(""));
    std::optional<CallInfo> found;
    if (auto it = calls_.find(id); it != calls_.end()) {
      found = std::move(it->second);
      calls_.erase(it);  // paired: memory holds only calls still open
    }
    const CallInfo* call = found ? &*found : nullptr;
    const std::string_view tool = call ? std::string_view(call->tool) : std::string_view();
    Outcome o;
    std::optional<element> output = Field(item, "output");
    std::string_view text;
    if (output && output->get_string().get(text) == simdjson::SUCCESS) {
      o = Classify(tool, text, &output_parser_);
    } else if (output && output->type() == element_type::OBJECT) {
      // {content, success} (MCP and newer function outputs).
      std::string body;
      if (std::optional<std::string_view> c = StringField(*output, "content")) {
        body = std::string(*c);
      } else {
        body = simdjson::to_string(*output);
      }
      o = Classify(tool, body, &output_parser_);
      if (std::optional<bool> s = BoolField(*output, "success"); s && !*s) {
        o.success = false;
        if (o.failure.empty()) o.failure = FirstLine(body);
      }
    } else if (output) {
      o = Classify(tool, simdjson::to_string(*output), &output_parser_);
    }
    if (!o.duration_ms && call && call->has_ts && sink_->line_ts() &&
        *sink_->line_ts() >= call->ts_ms) {
      o.duration_ms = *sink_->line_ts() - call->ts_ms;
    }
    std::string out;
    JsonObjectWriter w(&out);
    if (call) {
      w.String("tool", call->tool);
      if (!call->command.empty()) w.String("command", call->command);
    }
    w.String("tool_use_id", id);
    if (o.running) {
      w.Bool("running", true);
    } else {
      w.Bool("success", o.success.value_or(true));
    }
    if (o.exit_code) w.Int("exit_code", *o.exit_code);
    if (o.duration_ms && *o.duration_ms >= 0) w.Int("duration_ms", *o.duration_ms);
    if (!o.failure.empty() && o.success == false) w.String("failure", o.failure);
    w.String("output_preview", OutputPreview(o.text)).Uint("output_bytes", o.text.size());
    w.Finish();
    sink_->Emit(EventKind::kToolResult, std::move(out));
  }

  void Event(uint64_t number, element payload) {
    const std::string_view type = StringField(payload, "type").value_or("");
    if (type == "token_count") {
      std::optional<element> info = Field(payload, "info");
      if (!info || info->type() != element_type::OBJECT) return;
      std::optional<element> total = Field(*info, "total_token_usage");
      std::optional<element> last = Field(*info, "last_token_usage");
      std::optional<Totals> t;
      if (total && total->type() == element_type::OBJECT) t = TotalsOf(*total);
      // token_count repeats: the same total twice in a row is one step.
      if (t && last_total_ && *t == *last_total_) return;
      Totals step;
      if (last && last->type() == element_type::OBJECT) {
        step = TotalsOf(*last);
      } else if (t) {
        const Totals prev = last_total_.value_or(Totals{});
        step = Totals{t->input - prev.input, t->cached - prev.cached, t->output - prev.output,
                      t->reasoning - prev.reasoning, t->total - prev.total};
      } else {
        return;
      }
      if (t) last_total_ = t;
      const TokenUsage usage = UsageOf(step);
      sink_->model_usage() += usage;
      std::string out;
      JsonObjectWriter w(&out);
      w.String("provider", provider_);
      if (!model_.empty()) w.String("model", model_);
      w.Raw("usage", UsageJson(usage));
      w.Finish();
      sink_->Emit(EventKind::kModelCall, std::move(out));
    } else if (type == "turn_aborted") {
      const std::string_view reason = StringField(payload, "reason").value_or("aborted");
      std::string out;
      JsonObjectWriter w(&out);
      w.String("message", Cat("turn aborted: ", reason)).String("source", "user");
      w.String("reason", reason);
      w.Finish();
      sink_->Emit(EventKind::kError, std::move(out));
    } else if (type == "error") {
      std::string out;
      JsonObjectWriter w(&out);
      w.String("message", FirstLine(StringField(payload, "message").value_or("error")));
      w.String("source", "host");
      w.Finish();
      sink_->Emit(EventKind::kError, std::move(out));
    } else if (type == "context_compacted") {
      Compaction(kFromEvent);
    } else if (!IsIgnoredEvent(type)) {
      bool cut = false;
      sink_->Skip(number, Cat("unknown event_msg `", BoundString(type.substr(0, 60), &cut), "`"));
    }
  }

  // A `compacted` line and a context_compacted event next to each other are
  // one compaction.
  void Compaction(CompactionSource source) {
    if (last_compaction_ && *last_compaction_ != source) {
      last_compaction_.reset();
      return;
    }
    last_compaction_ = source;
    std::string out;
    JsonObjectWriter w(&out);
    w.String("provider", provider_).String("operation", "compaction");
    if (!model_.empty()) w.String("model", model_);
    w.Finish();
    sink_->Emit(EventKind::kModelCall, std::move(out));
  }

  EventSink* sink_;
  simdjson::dom::parser parser_;
  simdjson::dom::parser args_parser_;
  simdjson::dom::parser output_parser_;
  std::string provider_;
  std::string model_;
  std::optional<Totals> last_total_;
  std::optional<CompactionSource> last_compaction_;
  absl::flat_hash_map<std::string, CallInfo> calls_;
};

}  // namespace

bool ScanCodexHeader(std::string_view bytes, ImportContext* c) {
  simdjson::dom::parser parser;
  size_t pos = 0;
  bool seen = false;
  for (int n = 0; n < 50 && pos < bytes.size(); ++n) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) break;
    const std::string_view line = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    element root;
    if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) continue;
    std::optional<std::string_view> type = StringField(root, "type");
    std::optional<element> payload = Field(root, "payload");
    if (!c->first_ts_ms) {
      if (std::optional<std::string_view> t = StringField(root, "timestamp")) {
        c->first_ts_ms = ParseRfc3339Ms(*t);
      }
    }
    if (type && payload && payload->type() == element_type::OBJECT) {
      if (*type == "session_meta") {
        seen = true;
        std::optional<std::string_view> id = StringField(*payload, "id");
        if (!id) id = StringField(*payload, "session_id");
        if (id && c->session_id.empty()) c->session_id = std::string(*id);
        c->cwd = std::string(StringField(*payload, "cwd").value_or(c->cwd));
        c->host_version = std::string(StringField(*payload, "cli_version").value_or(""));
        c->model_provider = std::string(StringField(*payload, "model_provider").value_or(""));
        if (std::optional<element> git = Field(*payload, "git")) {
          c->git_branch = std::string(StringField(*git, "branch").value_or(""));
        }
        if (!c->first_ts_ms) {
          if (std::optional<std::string_view> t = StringField(*payload, "timestamp")) {
            c->first_ts_ms = ParseRfc3339Ms(*t);
          }
        }
      } else if (*type == "response_item" || *type == "event_msg" || *type == "turn_context" ||
                 *type == "compacted") {
        seen = true;
        if (*type == "turn_context" && c->cwd.empty()) {
          c->cwd = std::string(StringField(*payload, "cwd").value_or(""));
        }
      }
    } else if (n == 0 && !type && StringField(root, "id") && StringField(root, "timestamp") &&
               (Field(root, "instructions") || Field(root, "git"))) {
      // Legacy: line 1 is a bare meta object {id, timestamp, instructions, git}.
      seen = true;
      c->session_id = std::string(*StringField(root, "id"));
      if (std::optional<element> git = Field(root, "git")) {
        c->git_branch = std::string(StringField(*git, "branch").value_or(""));
      }
      c->cwd = std::string(StringField(root, "cwd").value_or(""));
    }
    if (seen && c->first_ts_ms && !c->session_id.empty()) break;
  }
  return seen;
}

std::unique_ptr<LineMapper> NewCodexMapper(const ImportContext& context, EventSink* sink) {
  return std::make_unique<CodexMapper>(context, sink);
}

}  // namespace traceframe::internal
