// Claude Code transcripts (~/.claude/projects/<cwd>/<session>.jsonl) to
// trace events (docs/import.md "Claude Code"; facts in transcripts.md).
#include <string.h>  // memmem (GNU)

#include <algorithm>
#include <cstring>
#include <deque>
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

// Line types that carry nothing for a trace (counted as understood).
bool IsIgnoredType(std::string_view type) {
  for (std::string_view t :
       {"progress", "file-history-snapshot", "queue-operation", "last-prompt", "summary",
        "custom-title", "attachment", "agent-name", "pr-link", "tag", "mode"}) {
    if (type == t) return true;
  }
  return false;
}

// The tool's primary argument (docs/import.md "command").
std::string PrimaryArgument(std::string_view tool, element input) {
  for (std::string_view key : {"command", "file_path", "notebook_path", "path", "pattern", "url",
                               "query", "description", "prompt", "skill"}) {
    if (std::optional<std::string_view> s = StringField(input, key)) {
      bool cut = false;
      return BoundString(*s, &cut);
    }
  }
  (void)tool;
  return {};
}

// The text of a tool_result's content: a string, or the text blocks of a
// list ("[image]" for an image block). A string is viewed in place (results
// can be megabytes, and only a preview of them is kept); a list is joined
// into `*storage`.
std::string_view ContentText(element content, std::string* storage) {
  std::string_view s;
  if (content.get_string().get(s) == simdjson::SUCCESS) return s;
  simdjson::dom::array blocks;
  if (content.get_array().get(blocks) != simdjson::SUCCESS) return {};
  std::string& out = *storage;
  out.clear();
  for (element block : blocks) {
    std::optional<std::string_view> type = StringField(block, "type");
    if (!out.empty()) out.push_back('\n');
    if (type && *type == "text") {
      if (std::optional<std::string_view> text = StringField(block, "text")) out.append(*text);
    } else if (type) {
      Append(&out, "[", *type, "]");
    }
  }
  return out;
}

// "Exit code N" at the start of a failed Bash result.
std::optional<int64_t> ExitCodeOf(std::string_view text) {
  text = StripWhitespace(text);
  if (!StartsWith(text, "Exit code ")) return std::nullopt;
  text.remove_prefix(10);
  bool neg = false;
  if (!text.empty() && text[0] == '-') {
    neg = true;
    text.remove_prefix(1);
  }
  int64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && i < 10 && text[i] >= '0' && text[i] <= '9'; ++i) {
    v = v * 10 + (text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  return neg ? -v : v;
}

bool LooksHookBlocked(std::string_view text) {
  const std::string_view head = text.substr(0, 400);
  return (Contains(head, "hook") || Contains(head, "Hook")) &&
         (Contains(head, "blocked") || Contains(head, "Blocked") || Contains(head, "hook error") ||
          Contains(head, "denied"));
}

struct ToolCallInfo {
  std::string tool;
  std::string command;
  int64_t ts_ms = 0;
  bool has_ts = false;
};

// The API call whose lines are being read (one response is split over
// several assistant lines). At namespace scope: clang cannot construct a
// nested class with member initializers inside its enclosing class.
struct OpenCall {
  std::string key;
  size_t handle = 0;
  std::string model;
  std::string stop_reason;
  std::optional<TokenUsage> usage;  // absent when no line carried usage
};

class ClaudeMapper : public LineMapper {
 public:
  ClaudeMapper(const ImportContext& context, EventSink* sink) : context_(context), sink_(sink) {}

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
    if (!type) {
      sink_->Skip(number, "no string `type`");
      return;
    }
    if (*type == "assistant") {
      Assistant(number, root);
    } else if (*type == "user") {
      User(root);
    } else if (*type == "system") {
      System(root);
    } else if (!IsIgnoredType(*type)) {
      bool cut = false;
      sink_->Skip(number, Cat("unknown type `", BoundString(type->substr(0, 60), &cut), "`"));
    }
  }

  std::string Finish() override {
    CloseCall();
    std::string out;
    JsonObjectWriter w(&out);
    w.String("status", "imported");
    w.Finish();
    return out;
  }

 private:
  static TokenUsage UsageOf(element usage) {
    TokenUsage u;
    const int64_t input = IntField(usage, "input_tokens").value_or(0);
    const int64_t read = IntField(usage, "cache_read_input_tokens").value_or(0);
    const int64_t create = IntField(usage, "cache_creation_input_tokens").value_or(0);
    const int64_t output = IntField(usage, "output_tokens").value_or(0);
    auto pos = [](int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; };
    // Claude's input_tokens excludes cached input (transcripts.md).
    u.input_tokens = pos(input) + pos(read) + pos(create);
    u.cache_read_input_tokens = pos(read);
    u.cache_creation_input_tokens = pos(create);
    u.output_tokens = pos(output);
    return u;
  }

  void CloseCall() {
    if (!open_) return;
    std::string out;
    JsonObjectWriter w(&out);
    w.String("provider", "anthropic");
    if (!open_->model.empty()) w.String("model", open_->model);
    if (!open_->stop_reason.empty()) w.String("stop_reason", open_->stop_reason);
    if (open_->usage) {
      w.Raw("usage", UsageJson(*open_->usage));
      sink_->model_usage() += *open_->usage;
    }
    w.String("message_id", open_->key.substr(0, open_->key.find('\x1f')));
    w.Finish();
    sink_->Resolve(open_->handle, std::move(out));
    // Only recent keys are remembered (a response's lines are close
    // together), so memory does not grow with the file.
    closed_.push_back(open_->key);
    if (closed_.size() > kClosedKeys) closed_.pop_front();
    open_.reset();
  }

  void ApiError(element root, element message) {
    std::string out;
    JsonObjectWriter w(&out);
    std::string storage;
    std::string_view text;
    if (std::optional<element> content = Field(message, "content")) {
      text = ContentText(*content, &storage);
    }
    w.String("message", text.empty() ? "API error" : FirstLine(text, 2000));
    w.String("source", "api");
    if (std::optional<std::string_view> e = StringField(root, "error")) w.String("error", *e);
    if (std::optional<int64_t> s = IntField(root, "apiErrorStatus")) w.Int("api_error_status", *s);
    w.Finish();
    sink_->Emit(EventKind::kError, std::move(out));
  }

  void Assistant(uint64_t number, element root) {
    std::optional<element> message = Field(root, "message");
    if (!message || message->type() != element_type::OBJECT) {
      sink_->Skip(number, "assistant line without `message`");
      return;
    }
    const std::string_view model = StringField(*message, "model").value_or("");
    if (model == "<synthetic>" || BoolField(root, "isApiErrorMessage").value_or(false)) {
      // A host-made message: an API error when it says so, else nothing
      // (no model was called).
      if (BoolField(root, "isApiErrorMessage").value_or(false) || StringField(root, "error")) {
        ApiError(root, *message);
      }
      return;
    }
    // One API call per (message.id, requestId); lines without an id are
    // one call each.
    std::string key = Cat(StringField(*message, "id").value_or(""), "\x1f",
                          StringField(root, "requestId").value_or(""));
    if (key == "\x1f") key = Cat("line:", number);
    if (!open_ || open_->key != key) {
      CloseCall();
      if (std::find(closed_.begin(), closed_.end(), key) == closed_.end()) {
        open_.emplace();
        open_->key = key;
        open_->handle = sink_->EmitDeferred();
      }
    }
    if (open_ && open_->key == key) {
      if (!model.empty()) open_->model = std::string(model);
      if (std::optional<std::string_view> s = StringField(*message, "stop_reason")) {
        open_->stop_reason = std::string(*s);
      }
      // The same usage is repeated on every line of a response; the last
      // line's output_tokens is the right one (transcripts.md).
      if (std::optional<element> usage = Field(*message, "usage");
          usage && usage->type() == element_type::OBJECT) {
        open_->usage = UsageOf(*usage);
      }
    }
    simdjson::dom::array blocks;
    std::optional<element> content = Field(*message, "content");
    if (!content || content->get_array().get(blocks) != simdjson::SUCCESS) return;
    for (element block : blocks) {
      if (StringField(block, "type").value_or("") != "tool_use") continue;
      ToolUse(block);
    }
  }

  void ToolUse(element block) {
    const std::string id(StringField(block, "id").value_or(""));
    const std::string name(StringField(block, "name").value_or(""));
    std::optional<element> input = Field(block, "input");
    ToolCallInfo info;
    info.tool = name;
    if (input) info.command = PrimaryArgument(name, *input);
    if (sink_->line_ts()) {
      info.ts_ms = *sink_->line_ts();
      info.has_ts = true;
    }
    std::string out;
    JsonObjectWriter w(&out);
    w.String("tool", name);
    if (!info.command.empty()) w.String("command", info.command);
    w.String("tool_use_id", id);
    if (input) {
      w.Raw("input", BoundedInput(*input));
      w.Uint("input_bytes", simdjson::to_string(*input).size());
    }
    if (auto it = context_.subagent_runs.find(id); it != context_.subagent_runs.end()) {
      w.String("subagent_run_id", it->second);
    }
    w.Finish();
    sink_->Emit(EventKind::kToolCall, std::move(out));
    if (!id.empty()) calls_[id] = std::move(info);
  }

  void User(element root) {
    std::optional<element> message = Field(root, "message");
    if (!message) return;
    std::optional<element> content = Field(*message, "content");
    if (!content) return;
    std::string_view text;
    if (content->get_string().get(text) == simdjson::SUCCESS) {
      Interrupted(text);
      return;
    }
    simdjson::dom::array blocks;
    if (content->get_array().get(blocks) != simdjson::SUCCESS) return;
    for (element block : blocks) {
      const std::string_view type = StringField(block, "type").value_or("");
      if (type == "tool_result") {
        ToolResult(root, block);
      } else if (type == "text") {
        Interrupted(StringField(block, "text").value_or(""));
      }
    }
  }

  // "[Request interrupted by user]" / "... for tool use]": an aborted turn.
  void Interrupted(std::string_view text) {
    if (!StartsWith(text, "[Request interrupted by user")) return;
    std::string out;
    JsonObjectWriter w(&out);
    w.String("message", FirstLine(text)).String("source", "user").String("reason", "interrupted");
    w.Finish();
    sink_->Emit(EventKind::kError, std::move(out));
  }

  void ToolResult(element root, element block) {
    const std::string id(StringField(block, "tool_use_id").value_or(""));
    std::string storage;
    std::string_view text;
    if (std::optional<element> content = Field(block, "content")) {
      text = ContentText(*content, &storage);
    }
    // is_error is often absent: absent means false (transcripts.md).
    bool failed = BoolField(block, "is_error").value_or(false);
    std::string reason;
    std::optional<element> extra = Field(root, "toolUseResult");
    bool interrupted = false;
    std::optional<int64_t> duration;
    if (extra) {
      std::string_view s;
      if (extra->get_string().get(s) == simdjson::SUCCESS) {
        if (StartsWith(StripWhitespace(s), "Error")) failed = true;
      } else if (extra->type() == element_type::OBJECT) {
        interrupted = BoolField(*extra, "interrupted").value_or(false);
        duration = IntField(*extra, "durationMs");
        if (!duration) duration = IntField(*extra, "totalDurationMs");
      }
    }
    if (interrupted) failed = true;
    std::optional<int64_t> exit_code = failed ? ExitCodeOf(text) : std::nullopt;
    std::optional<ToolCallInfo> found;
    if (auto it = calls_.find(id); it != calls_.end()) {
      found = std::move(it->second);
      calls_.erase(it);  // paired: memory holds only calls still open
    }
    const ToolCallInfo* call = found ? &*found : nullptr;
    if (!duration && call && call->has_ts && sink_->line_ts() && *sink_->line_ts() >= call->ts_ms) {
      duration = *sink_->line_ts() - call->ts_ms;
    }
    const bool hook_blocked = failed && LooksHookBlocked(text);
    if (failed) {
      reason = interrupted ? "interrupted" : FirstLine(text);
      if (reason.empty()) reason = "error";
    }
    std::string out;
    JsonObjectWriter w(&out);
    if (call) {
      w.String("tool", call->tool);
      if (!call->command.empty()) w.String("command", call->command);
    }
    w.String("tool_use_id", id).Bool("success", !failed);
    if (exit_code) w.Int("exit_code", *exit_code);
    if (duration && *duration >= 0) w.Int("duration_ms", *duration);
    if (failed) w.String("failure", reason);
    if (interrupted) w.Bool("interrupted", true);
    w.String("output_preview", OutputPreview(text)).Uint("output_bytes", text.size());
    w.Finish();
    sink_->Emit(EventKind::kToolResult, std::move(out));
    if (hook_blocked) {
      std::string err;
      JsonObjectWriter ew(&err);
      ew.String("message", reason).String("source", "hook").String("tool_use_id", id);
      ew.Finish();
      sink_->Emit(EventKind::kError, std::move(err));
    }
  }

  void System(element root) {
    const std::string_view subtype = StringField(root, "subtype").value_or("");
    if (subtype == "compact_boundary") {
      std::string out;
      JsonObjectWriter w(&out);
      w.String("provider", "anthropic").String("operation", "compaction");
      if (std::optional<element> meta = Field(root, "compactMetadata")) {
        if (std::optional<std::string_view> t = StringField(*meta, "trigger")) {
          w.String("trigger", *t);
        }
        if (std::optional<int64_t> n = IntField(*meta, "preTokens")) w.Int("pre_tokens", *n);
      }
      w.Finish();
      sink_->Emit(EventKind::kModelCall, std::move(out));
    } else if (subtype == "api_error") {
      std::string out;
      JsonObjectWriter w(&out);
      std::string message = "API error";
      if (std::optional<element> e = Field(root, "error")) {
        if (std::optional<std::string_view> m = StringField(*e, "message")) {
          message = FirstLine(*m, 2000);
        }
      }
      w.String("message", message).String("source", "api");
      if (std::optional<int64_t> n = IntField(root, "retryAttempt")) w.Int("retry_attempt", *n);
      w.Finish();
      sink_->Emit(EventKind::kError, std::move(out));
    }
  }

  const ImportContext& context_;
  EventSink* sink_;
  simdjson::dom::parser parser_;
  std::optional<OpenCall> open_;
  static constexpr size_t kClosedKeys = 64;
  std::deque<std::string> closed_;
  absl::flat_hash_map<std::string, ToolCallInfo> calls_;
};

// `needle` in `text` from `from` on, or npos. glibc's memmem, not
// string_view::find: find looks for the needle's first byte with memchr and
// then compares, and these needles start with '"', which JSON text holds
// every few bytes; memmem skips ahead by the whole needle (the scan went
// from a quarter of an import's instructions to a few percent).
size_t FindBytes(std::string_view text, std::string_view needle, size_t from) {
  if (from > text.size()) return std::string_view::npos;
  const void* hit = ::memmem(text.data() + from, text.size() - from, needle.data(), needle.size());
  return hit == nullptr ? std::string_view::npos
                        : static_cast<size_t>(static_cast<const char*>(hit) - text.data());
}

size_t FindByte(std::string_view text, char c, size_t from) {
  if (from >= text.size()) return std::string_view::npos;
  const void* hit = std::memchr(text.data() + from, c, text.size() - from);
  return hit == nullptr ? std::string_view::npos
                        : static_cast<size_t>(static_cast<const char*>(hit) - text.data());
}

// Calls `fn(line)` for each complete line of the first `max_lines`.
template <typename Fn>
void ForLines(std::string_view bytes, size_t max_lines, Fn fn) {
  size_t pos = 0;
  for (size_t n = 0; n < max_lines && pos < bytes.size(); ++n) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) return;
    if (!fn(bytes.substr(pos, nl - pos))) return;
    pos = nl + 1;
  }
}

}  // namespace

bool ScanClaudeHeader(std::string_view bytes, ImportContext* c) {
  simdjson::dom::parser parser;
  bool seen = false;
  ForLines(bytes, 400, [&](std::string_view line) {
    element root;
    if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) return true;
    std::optional<std::string_view> type = StringField(root, "type");
    if (!type) return true;
    // A line of a Claude Code transcript: a message line with its uuid or
    // session id, or a bookkeeping line that names the session.
    const bool message_line = *type == "user" || *type == "assistant" || *type == "system";
    const bool claude_line = message_line ? (Field(root, "uuid") || Field(root, "sessionId"))
                                          : (IsIgnoredType(*type) &&
                                             (Field(root, "sessionId") || Field(root, "leafUuid") ||
                                              *type == "file-history-snapshot"));
    if (!claude_line) return true;
    seen = true;
    if (!c->first_ts_ms) {
      if (std::optional<std::string_view> t = StringField(root, "timestamp")) {
        c->first_ts_ms = ParseRfc3339Ms(*t);
      }
    }
    if (c->session_id.empty()) {
      if (std::optional<std::string_view> s = StringField(root, "sessionId")) {
        c->session_id = std::string(*s);
      }
    }
    if (c->cwd.empty()) c->cwd = std::string(StringField(root, "cwd").value_or(""));
    if (c->git_branch.empty()) {
      c->git_branch = std::string(StringField(root, "gitBranch").value_or(""));
    }
    if (c->host_version.empty()) {
      c->host_version = std::string(StringField(root, "version").value_or(""));
    }
    if (c->agent_id.empty() && BoolField(root, "isSidechain").value_or(false)) {
      c->agent_id = std::string(StringField(root, "agentId").value_or(""));
    }
    return !(c->first_ts_ms && !c->session_id.empty() && !c->cwd.empty() &&
             !c->host_version.empty());
  });
  return seen;
}

void ScanClaudeSubagents(std::string_view bytes,
                         absl::flat_hash_map<std::string, std::string>* agent_by_tool_use) {
  simdjson::dom::parser parser;
  // Only lines that can link an agent are parsed: progress lines of type
  // agent_progress and tool results (whose toolUseResult may name an
  // agentId). They are found by searching the whole text, not line by line.
  size_t done = 0;  // lines before this offset were looked at
  for (std::string_view needle :
       {std::string_view("\"agent_progress\""), std::string_view("\"toolUseResult\":{")}) {
    done = 0;
    for (size_t at = FindBytes(bytes, needle, 0); at != std::string_view::npos;
         at = FindBytes(bytes, needle, done)) {
      const size_t start = at == 0 ? 0 : bytes.rfind('\n', at - 1) + 1;
      size_t end = FindByte(bytes, '\n', at);
      if (end == std::string_view::npos) end = bytes.size();
      done = end;
      const std::string_view line = bytes.substr(start, end - start);
      // A result names an agent inside toolUseResult, after the needle
      // (sub-agent lines carry a top-level agentId before it).
      const bool is_result = needle[1] == 't';
      if (FindBytes(line, "\"agentId\"", is_result ? at - start : 0) == std::string_view::npos) {
        continue;
      }
      element root;
      if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) continue;
      const std::string_view type = StringField(root, "type").value_or("");
      if (type == "progress") {
        std::optional<element> data = Field(root, "data");
        if (!data || StringField(*data, "type").value_or("") != "agent_progress") continue;
        std::optional<std::string_view> agent = StringField(*data, "agentId");
        std::optional<std::string_view> tool = StringField(root, "parentToolUseID");
        if (!tool) tool = StringField(*data, "parentToolUseID");
        if (agent && tool && !agent->empty() && !tool->empty()) {
          agent_by_tool_use->emplace(std::string(*tool), std::string(*agent));
        }
      } else if (type == "user") {
        std::optional<element> extra = Field(root, "toolUseResult");
        if (!extra) continue;
        std::optional<std::string_view> agent = StringField(*extra, "agentId");
        if (!agent || agent->empty()) continue;
        std::optional<element> message = Field(root, "message");
        std::optional<element> content = message ? Field(*message, "content") : std::nullopt;
        simdjson::dom::array blocks;
        if (!content || content->get_array().get(blocks) != simdjson::SUCCESS) continue;
        for (element block : blocks) {
          if (std::optional<std::string_view> id = StringField(block, "tool_use_id")) {
            agent_by_tool_use->emplace(std::string(*id), std::string(*agent));
          }
        }
      }
    }
  }
}

std::unique_ptr<LineMapper> NewClaudeMapper(const ImportContext& context, EventSink* sink) {
  return std::make_unique<ClaudeMapper>(context, sink);
}

}  // namespace traceframe::internal
