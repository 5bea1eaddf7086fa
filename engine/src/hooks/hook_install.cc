// `hook install`: an idempotent merge of the traceframe hook entries into a
// host's hooks/settings JSON file, in one of two shapes: Claude Code and
// Codex ({"hooks":{"<Event>":[{"matcher":..., "hooks":[{"type":"command",
// "command":...}]}]}}) or Cursor ({"version":1,"hooks":{"<event>":
// [{"command":...}]}}).
//
// User config is edited, not regenerated: keys keep their order (simdjson's
// DOM keeps object order), the file's indent unit is reused, foreign entries
// and keys are untouched, an unchanged file is not rewritten, and a changed
// one is replaced atomically (temp + fsync + rename).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "simdjson.h"
#include "traceframe/command.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/ascii.h"
#include "util/file_util.h"
#include "util/shell_quote.h"

namespace traceframe {
using internal::AsciiLower;
using internal::ShellQuote;

namespace {

// An order-preserving JSON value for editing.
struct Value {
  enum Type { kNull, kBool, kNumber, kString, kArray, kObject } type = kNull;
  std::string scalar;  // number text, string contents, "true"/"false"
  std::vector<std::pair<std::string, Value>> members;
  std::vector<Value> items;

  static Value Object() {
    Value v;
    v.type = kObject;
    return v;
  }
  static Value Array() {
    Value v;
    v.type = kArray;
    return v;
  }
  static Value String(std::string s) {
    Value v;
    v.type = kString;
    v.scalar = std::move(s);
    return v;
  }
  static Value Number(std::string text) {
    Value v;
    v.type = kNumber;
    v.scalar = std::move(text);
    return v;
  }
  Value* Find(std::string_view key) {
    for (auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  void Erase(std::string_view key) {
    for (auto it = members.begin(); it != members.end(); ++it) {
      if (it->first == key) {
        members.erase(it);
        return;
      }
    }
  }
  Value& Set(std::string_view key, Value value) {
    if (Value* existing = Find(key)) {
      *existing = std::move(value);
      return *existing;
    }
    members.emplace_back(std::string(key), std::move(value));
    return members.back().second;
  }
};

Value FromElement(simdjson::dom::element e) {
  Value v;
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      v.type = Value::kObject;
      simdjson::dom::object object;
      if (e.get_object().get(object) != simdjson::SUCCESS) break;
      for (auto field : object) {
        v.members.emplace_back(std::string(field.key), FromElement(field.value));
      }
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      v.type = Value::kArray;
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) break;
      for (simdjson::dom::element item : array) {
        v.items.push_back(FromElement(item));
      }
      break;
    }
    case simdjson::dom::element_type::STRING:
      v.type = Value::kString;
      v.scalar = std::string(e.get_string().value_unsafe());
      break;
    case simdjson::dom::element_type::BOOL:
      v.type = Value::kBool;
      v.scalar = e.get_bool().value_unsafe() ? "true" : "false";
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      v.type = Value::kNull;
      break;
    default:
      v.type = Value::kNumber;
      v.scalar = simdjson::to_string(e);
  }
  return v;
}

void Indent(std::string* out, std::string_view unit, int depth) {
  for (int i = 0; i < depth; ++i) out->append(unit);
}

void Emit(std::string* out, const Value& v, std::string_view unit, int depth) {
  switch (v.type) {
    case Value::kNull:
      out->append("null");
      return;
    case Value::kBool:
    case Value::kNumber:
      out->append(v.scalar);
      return;
    case Value::kString:
      AppendJsonString(out, v.scalar);
      return;
    case Value::kArray:
      if (v.items.empty()) {
        out->append("[]");
        return;
      }
      out->append("[\n");
      for (size_t i = 0; i < v.items.size(); ++i) {
        Indent(out, unit, depth + 1);
        Emit(out, v.items[i], unit, depth + 1);
        out->append(i + 1 < v.items.size() ? ",\n" : "\n");
      }
      Indent(out, unit, depth);
      out->push_back(']');
      return;
    case Value::kObject:
      if (v.members.empty()) {
        out->append("{}");
        return;
      }
      out->append("{\n");
      for (size_t i = 0; i < v.members.size(); ++i) {
        Indent(out, unit, depth + 1);
        AppendJsonString(out, v.members[i].first);
        out->append(": ");
        Emit(out, v.members[i].second, unit, depth + 1);
        out->append(i + 1 < v.members.size() ? ",\n" : "\n");
      }
      Indent(out, unit, depth);
      out->push_back('}');
      return;
  }
}

// The whitespace that indents the first indented line: the file's unit.
std::string DetectIndentUnit(std::string_view text) {
  for (size_t nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', nl + 1)) {
    size_t i = nl + 1;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i > nl + 1 && i < text.size() && text[i] != '\n' && text[i] != '\r') {
      return std::string(text.substr(nl + 1, i - nl - 1));
    }
  }
  return "  ";
}

// The JSON type with its article, for "X is <type>" messages.
std::string TypeName(const Value& v) {
  switch (v.type) {
    case Value::kNull:
      return "null";
    case Value::kBool:
      return "a boolean";
    case Value::kNumber:
      return "a number";
    case Value::kString:
      return "a string";
    case Value::kArray:
      return "an array";
    case Value::kObject:
      return "an object";
  }
  return "a value";
}

// Tool events filter on tool_name, so they get the matcher; for the others
// (SessionStart filters on startup|resume|...) a tool matcher would never
// match, so their entries have none.
bool IsToolEvent(std::string_view event) {
  const std::string e = AsciiLower(event);
  return e == "pretooluse" || e == "posttooluse" || e == "posttoolusefailure" ||
         e == "permissionrequest" || e == "permissiondenied";
}

std::optional<std::string> WantedMatcher(const HookInstallOptions& options,
                                         std::string_view event) {
  if (!IsToolEvent(event) || options.matcher.empty()) return std::nullopt;
  return options.matcher;
}

Value Handler(const std::string& command) {
  Value h = Value::Object();
  h.Set("type", Value::String("command"));
  h.Set("command", Value::String(command));
  return h;
}

Value Group(const std::optional<std::string>& matcher, const std::string& command) {
  Value g = Value::Object();
  if (matcher) g.Set("matcher", Value::String(*matcher));
  Value hooks = Value::Array();
  hooks.items.push_back(Handler(command));
  g.Set("hooks", std::move(hooks));
  return g;
}

// Ours whether it runs a bare `traceframe` or an absolute (maybe quoted)
// path to it.
bool IsOurs(const Value& handler) {
  if (handler.type != Value::kObject) return false;
  const Value* command = const_cast<Value&>(handler).Find("command");
  return command != nullptr && command->type == Value::kString &&
         Contains(command->scalar, "traceframe") && Contains(command->scalar, " hook ingest");
}

struct HostInfo {
  HookHost host;
  std::string_view name, display, file;
};

constexpr HostInfo kHosts[] = {
    {HookHost::kClaudeCode, "claude-code", "Claude Code", ".claude/settings.json"},
    {HookHost::kCodex, "codex", "Codex", ".codex/hooks.json"},
    {HookHost::kCursor, "cursor", "Cursor", ".cursor/hooks.json"},
};

const HostInfo& InfoOf(HookHost host) {
  for (const HostInfo& info : kHosts) {
    if (info.host == host) return info;
  }
  return kHosts[0];
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The handlers array of a Claude Code / Codex matcher group, if any.
Value* GroupHandlers(Value& group) {
  if (group.type != Value::kObject) return nullptr;
  Value* handlers = group.Find("hooks");
  return handlers != nullptr && handlers->type == Value::kArray ? handlers : nullptr;
}

// A Cursor entry of ours: {"command":"traceframe hook ingest ..."} with no
// nested "hooks" array.
bool IsOurFlatEntry(Value& entry) { return IsOurs(entry) && GroupHandlers(entry) == nullptr; }

// Removes our handlers from Claude Code / Codex matcher groups in `list`
// (a group left empty goes too). Returns whether anything was removed.
bool RemoveNestedEntries(Value* list) {
  bool removed = false;
  for (size_t g = list->items.size(); g-- > 0;) {
    Value* handlers = GroupHandlers(list->items[g]);
    if (handlers == nullptr) continue;
    const size_t before = handlers->items.size();
    for (size_t h = handlers->items.size(); h-- > 0;) {
      if (IsOurs(handlers->items[h])) {
        handlers->items.erase(handlers->items.begin() + static_cast<long>(h));
      }
    }
    if (handlers->items.size() == before) continue;
    removed = true;
    if (handlers->items.empty()) list->items.erase(list->items.begin() + static_cast<long>(g));
  }
  return removed;
}

// Removes Cursor-shaped entries of ours from `list`.
bool RemoveFlatEntries(Value* list) {
  bool removed = false;
  for (size_t i = list->items.size(); i-- > 0;) {
    if (IsOurFlatEntry(list->items[i])) {
      list->items.erase(list->items.begin() + static_cast<long>(i));
      removed = true;
    }
  }
  return removed;
}

std::string_view ParentDirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  std::string_view dir = path.substr(0, slash);
  while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
  const size_t parent_slash = dir.rfind('/');
  return parent_slash == std::string_view::npos ? dir : dir.substr(parent_slash + 1);
}

// What an existing file's shape says: a top-level "version" or flat
// {"command":...} entries only mean Cursor; matcher groups mean Claude.
std::optional<HookFileFormat> FormatOfContent(Value& root) {
  if (root.type != Value::kObject) return std::nullopt;
  if (root.Find("version") != nullptr) return HookFileFormat::kCursor;
  Value* hooks = root.Find("hooks");
  if (hooks == nullptr || hooks->type != Value::kObject) return std::nullopt;
  bool flat = false;
  for (auto& [event, list] : hooks->members) {
    if (list.type != Value::kArray) continue;
    for (Value& entry : list.items) {
      if (entry.type != Value::kObject) continue;
      if (entry.Find("hooks") != nullptr) return HookFileFormat::kClaude;
      if (entry.Find("command") != nullptr) flat = true;
    }
  }
  if (flat) return HookFileFormat::kCursor;
  return std::nullopt;
}

HookFileFormat Resolve(const HookInstallOptions& options, Value* root) {
  if (options.format != HookFileFormat::kAuto) return options.format;
  if (ParentDirName(options.file) == ".cursor") return HookFileFormat::kCursor;
  if (root != nullptr) {
    if (std::optional<HookFileFormat> format = FormatOfContent(*root)) return *format;
  }
  return HookFileFormat::kClaude;
}

std::vector<std::string> EventsToWire(const HookInstallOptions& options, HookFileFormat format) {
  return options.events.empty() ? DefaultHookEvents(format) : options.events;
}

Value CursorEntry(const std::string& command) {
  Value entry = Value::Object();
  entry.Set("command", Value::String(command));
  return entry;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out.append(i + 1 == names.size() ? " and " : ", ");
    out.append(names[i]);
  }
  return out;
}

std::string Describe(const HookInstallResult& r) {
  if (r.wired.empty() && r.updated.empty()) return "already wired";
  std::string out;
  if (!r.wired.empty()) Append(&out, "wired ", JoinNames(r.wired));
  if (!r.updated.empty()) {
    if (!out.empty()) out.append("; ");
    Append(&out, "updated ", JoinNames(r.updated));
  }
  if (!r.present.empty()) Append(&out, " (", JoinNames(r.present), " already present)");
  return out;
}

// Wires one event; returns "wired", "updated" or "present".
absl::StatusOr<std::string> MergeEvent(Value* hooks, const std::string& event,
                                       const HookInstallOptions& options,
                                       const std::string& command, std::string_view file) {
  Value* list = hooks->Find(event);
  if (list == nullptr) list = &hooks->Set(event, Value::Array());
  if (list->type != Value::kArray) {
    return absl::FailedPreconditionError(
        Cat("\"hooks\".\"", event, "\" in ", file, " is ", TypeName(*list),
            ", not an array; traceframe changed nothing (fix it by hand or remove it)"));
  }
  const std::optional<std::string> matcher = WantedMatcher(options, event);
  // A Cursor-shaped entry of ours (from an install with --format cursor)
  // is not a handler Claude Code or Codex would run.
  const bool removed_flat = RemoveFlatEntries(list);
  // Every traceframe handler under this event: (group index, handler index).
  std::vector<std::pair<size_t, size_t>> ours;
  for (size_t g = 0; g < list->items.size(); ++g) {
    Value* handlers =
        list->items[g].type == Value::kObject ? list->items[g].Find("hooks") : nullptr;
    if (handlers == nullptr || handlers->type != Value::kArray) continue;
    for (size_t h = 0; h < handlers->items.size(); ++h) {
      if (IsOurs(handlers->items[h])) ours.emplace_back(g, h);
    }
  }
  if (ours.empty()) {
    list->items.push_back(Group(matcher, command));
    return std::string(removed_flat ? "updated" : "wired");
  }
  bool changed = removed_flat;
  // Duplicates would record every event twice: keep only the first.
  for (size_t k = ours.size(); k-- > 1;) {
    Value& group = list->items[ours[k].first];
    Value* handlers = group.Find("hooks");
    handlers->items.erase(handlers->items.begin() + static_cast<long>(ours[k].second));
    if (handlers->items.empty()) {
      list->items.erase(list->items.begin() + static_cast<long>(ours[k].first));
    }
    changed = true;
  }
  Value& group = list->items[ours[0].first];
  Value& handler = group.Find("hooks")->items[ours[0].second];
  Value* current_command = handler.Find("command");
  if (current_command->scalar != command) {
    current_command->scalar = command;
    changed = true;
  }
  Value* type = handler.Find("type");
  if (type == nullptr || type->type != Value::kString || type->scalar != "command") {
    handler.Set("type", Value::String("command"));
    changed = true;
  }
  const Value* current_matcher = group.Find("matcher");
  const std::optional<std::string> have =
      current_matcher != nullptr && current_matcher->type == Value::kString
          ? std::optional<std::string>(current_matcher->scalar)
          : std::nullopt;
  if (have != matcher) {
    Value* handlers = group.Find("hooks");
    if (handlers->items.size() == 1) {
      if (matcher) {
        // Keep the key where it was; new keys go first as in the host docs.
        if (group.Find("matcher") != nullptr) {
          group.Set("matcher", Value::String(*matcher));
        } else {
          group.members.insert(group.members.begin(), {"matcher", Value::String(*matcher)});
        }
      } else {
        group.Erase("matcher");
      }
    } else {
      // The group holds foreign handlers too: leave their matcher alone and
      // move ours into a group of its own.
      Value moved = handler;
      handlers->items.erase(handlers->items.begin() + static_cast<long>(ours[0].second));
      Value g = Value::Object();
      if (matcher) g.Set("matcher", Value::String(*matcher));
      Value hs = Value::Array();
      hs.items.push_back(std::move(moved));
      g.Set("hooks", std::move(hs));
      list->items.push_back(std::move(g));
    }
    changed = true;
  }
  return std::string(changed ? "updated" : "present");
}

// Wires one event in the Cursor shape; returns "wired", "updated" or
// "present". Foreign entries and the other keys of our entry (a timeout the
// user added) are left alone.
absl::StatusOr<std::string> MergeCursorEvent(Value* hooks, const std::string& event,
                                             const std::string& command, std::string_view file) {
  Value* list = hooks->Find(event);
  if (list == nullptr) list = &hooks->Set(event, Value::Array());
  if (list->type != Value::kArray) {
    return absl::FailedPreconditionError(
        Cat("\"hooks\".\"", event, "\" in ", file, " is ", TypeName(*list),
            ", not an array; traceframe changed nothing (fix it by hand or remove it)"));
  }
  // A matcher group of ours (from an install with --format claude) is not an
  // entry Cursor would run.
  bool changed = RemoveNestedEntries(list);
  std::vector<size_t> ours;
  for (size_t i = 0; i < list->items.size(); ++i) {
    if (IsOurFlatEntry(list->items[i])) ours.push_back(i);
  }
  if (ours.empty()) {
    list->items.push_back(CursorEntry(command));
    return std::string(changed ? "updated" : "wired");
  }
  // Duplicates would record every event twice: keep only the first.
  for (size_t k = ours.size(); k-- > 1;) {
    list->items.erase(list->items.begin() + static_cast<long>(ours[k]));
    changed = true;
  }
  Value* current = list->items[ours[0]].Find("command");
  if (current->scalar != command) {
    current->scalar = command;
    changed = true;
  }
  return std::string(changed ? "updated" : "present");
}

}  // namespace

std::string_view HookFileFormatName(HookFileFormat format) {
  switch (format) {
    case HookFileFormat::kAuto:
      return "auto";
    case HookFileFormat::kClaude:
      return "claude";
    case HookFileFormat::kCursor:
      return "cursor";
  }
  return "auto";
}

std::optional<HookFileFormat> ParseHookFileFormat(std::string_view name) {
  for (HookFileFormat format :
       {HookFileFormat::kAuto, HookFileFormat::kClaude, HookFileFormat::kCursor}) {
    if (name == HookFileFormatName(format)) return format;
  }
  return std::nullopt;
}

std::vector<std::string> DefaultHookEvents(HookFileFormat format) {
  if (format == HookFileFormat::kCursor) return {"beforeShellExecution", "afterShellExecution"};
  return {"PreToolUse", "PostToolUse"};
}

HookFileFormat ResolveHookFileFormat(const HookInstallOptions& options, std::string_view existing) {
  if (options.format != HookFileFormat::kAuto || StripWhitespace(existing).empty()) {
    return Resolve(options, nullptr);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(existing.data(), existing.size(), true).get(element) != simdjson::SUCCESS) {
    return Resolve(options, nullptr);
  }
  Value root = FromElement(element);
  return Resolve(options, &root);
}

std::string_view HookHostName(HookHost host) { return InfoOf(host).name; }
std::string_view HookHostDisplayName(HookHost host) { return InfoOf(host).display; }
std::string_view HookHostFile(HookHost host) { return InfoOf(host).file; }

std::optional<HookHost> ParseHookHost(std::string_view name) {
  for (const HostInfo& info : kHosts) {
    if (name == info.name) return info.host;
  }
  return std::nullopt;
}

std::optional<HookHost> HookHostOfFile(std::string_view path) {
  const std::string_view dir = ParentDirName(path);
  if (dir == ".claude") return HookHost::kClaudeCode;
  if (dir == ".codex") return HookHost::kCodex;
  if (dir == ".cursor") return HookHost::kCursor;
  return std::nullopt;
}

std::vector<std::string> HostDefaultHookEvents(HookHost host) {
  switch (host) {
    case HookHost::kClaudeCode:
      return {"SessionStart",      "PreToolUse",       "PostToolUse", "PostToolUseFailure",
              "PermissionRequest", "PermissionDenied", "SessionEnd"};
    case HookHost::kCodex:
      // Codex has no tool-failure or denial events (docs/hooks.md).
      return {"SessionStart", "PreToolUse", "PostToolUse", "PermissionRequest", "SessionEnd"};
    case HookHost::kCursor:
      // preToolUse/postToolUse cover every tool, shell and MCP included;
      // wiring the before/after*Execution events too would record each
      // shell call twice.
      return {"sessionStart", "preToolUse", "postToolUse", "sessionEnd"};
  }
  return {};
}

const std::vector<std::string>& HostKnownHookEvents(HookHost host) {
  static const auto* const kClaude = new std::vector<std::string>{
      "PreToolUse",       "PostToolUse",      "PostToolUseFailure", "PermissionRequest",
      "PermissionDenied", "UserPromptSubmit", "Notification",       "Stop",
      "StopFailure",      "SubagentStart",    "SubagentStop",       "SessionStart",
      "SessionEnd",       "PreCompact",       "PostCompact",        "TaskCreated",
      "TaskCompleted",    "TeammateIdle",     "InstructionsLoaded", "ConfigChange",
      "CwdChanged",       "FileChanged",      "WorktreeCreate",     "WorktreeRemove",
      "Elicitation",      "ElicitationResult"};
  static const auto* const kCodex = new std::vector<std::string>{
      "PreToolUse",   "PermissionRequest", "PostToolUse",      "PreCompact",    "PostCompact",
      "SessionStart", "SessionEnd",        "UserPromptSubmit", "SubagentStart", "SubagentStop",
      "Stop",         "StopFailure",       "Interrupt"};
  static const auto* const kCursor =
      new std::vector<std::string>{"beforeSubmitPrompt",  "beforeShellExecution",
                                   "afterShellExecution", "beforeMCPExecution",
                                   "afterMCPExecution",   "beforeReadFile",
                                   "afterFileEdit",       "afterAgentResponse",
                                   "afterAgentThought",   "stop",
                                   "preToolUse",          "postToolUse",
                                   "sessionStart",        "sessionEnd",
                                   "subagentStart",       "beforeTabFileRead",
                                   "afterTabFileEdit"};
  switch (host) {
    case HookHost::kClaudeCode:
      return *kClaude;
    case HookHost::kCodex:
      return *kCodex;
    case HookHost::kCursor:
      return *kCursor;
  }
  return *kClaude;
}

absl::StatusOr<std::string> RunningExecutablePath() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) {
    return absl::ErrnoToStatus(errno, "cannot resolve the running binary (/proc/self/exe)");
  }
  return std::string(buffer, static_cast<size_t>(n));
}

absl::StatusOr<HookInstallOptions> ResolveHookInstall(HookInstallOptions options, bool file_given,
                                                      const std::string& project_dir) {
  const std::string base = project_dir.empty() ? std::string(".") : project_dir;
  if (!options.host && !file_given) {
    std::vector<HookHost> found;
    std::string names;
    for (const HostInfo& info : kHosts) {
      const std::string_view file = info.file;
      const std::string sub(file.substr(0, file.find('/')));
      if (IsDirectory(Cat(base, "/", sub))) {
        found.push_back(info.host);
        if (!names.empty()) names.append(", ");
        Append(&names, sub, "/");
      }
    }
    if (found.empty()) {
      return absl::InvalidArgumentError(
          "no .claude/, .codex/ or .cursor/ directory here to tell which host to wire; pass "
          "--host claude-code|codex|cursor (or --file FILE for another hooks file)");
    }
    if (found.size() > 1) {
      return absl::InvalidArgumentError(
          Cat("several hosts' directories here (", names,
              "); pass --host claude-code|codex|cursor to choose one"));
    }
    options.host = found.front();
  }
  if (options.host) {
    const HookHost host = *options.host;
    if (!file_given) options.file = std::string(HookHostFile(host));
    if (options.format == HookFileFormat::kAuto) {
      options.format =
          host == HookHost::kCursor ? HookFileFormat::kCursor : HookFileFormat::kClaude;
    }
    if (options.source == "generic") options.source = std::string(HookHostName(host));
    if (options.events.empty()) {
      options.events = HostDefaultHookEvents(host);
    } else {
      const std::vector<std::string>& known = HostKnownHookEvents(host);
      for (const std::string& event : options.events) {
        if (std::find(known.begin(), known.end(), event) == known.end()) {
          return absl::InvalidArgumentError(Cat("unknown ", HookHostDisplayName(host),
                                                " hook event \"", event,
                                                "\" in --events (known: ", JoinNames(known), ")"));
        }
      }
    }
  }
  if (options.binary == "traceframe") {
    absl::StatusOr<std::string> self = RunningExecutablePath();
    if (!self.ok()) return self.status();
    options.binary = *std::move(self);
  }
  if (!options.dir.empty() && options.dir.front() != '/') {
    if (options.host == HookHost::kClaudeCode && options.dir_var.empty()) {
      options.dir_var = "CLAUDE_PROJECT_DIR";
    } else if (options.dir_var.empty()) {
      std::string root = base;
      if (root.empty() || root.front() != '/') {
        char cwd[PATH_MAX];
        if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
          return absl::ErrnoToStatus(errno, "cannot read the current directory");
        }
        root = root == "." ? std::string(cwd) : Cat(cwd, "/", root);
      }
      std::string dir = options.dir;
      if (dir.rfind("./", 0) == 0) dir.erase(0, 2);
      options.dir = Cat(root, "/", dir);
    }
  }
  return options;
}

std::string HookHostNote(const HookInstallOptions& options) {
  const std::optional<HookHost> reader = HookHostOfFile(options.file);
  if (!reader) {
    return Cat("no supported host reads ", options.file,
               " by itself; use --host claude-code|codex|cursor to write the file a host reads");
  }
  std::string note = Cat(HookHostDisplayName(*reader), " reads ", options.file);
  if (*reader == HookHost::kCodex) {
    note.append("; Codex runs project hooks once you trust them");
  }
  if (options.host && *options.host != *reader) {
    Append(&note, " (wired with ", HookHostDisplayName(*options.host), "'s event names)");
  }
  return note;
}

std::string HookIngestCommand(const HookInstallOptions& options) {
  const std::string dir = options.dir_var.empty()
                              ? ShellQuote(options.dir)
                              : Cat("\"$", options.dir_var, "\"/", ShellQuote(options.dir));
  std::string command = Cat(ShellQuote(options.binary), " hook ingest --source ",
                            ShellQuote(NormalizeSource(options.source)), " --dir ", dir);
  if (options.run_id) Append(&command, " --run-id ", ShellQuote(*options.run_id));
  for (const auto& [key, value] : options.labels) {
    Append(&command, " --label ", ShellQuote(Cat(key, "=", value)));
  }
  return command;
}

std::string HookSnippetJson(const HookInstallOptions& options) {
  const std::string command = HookIngestCommand(options);
  const HookFileFormat format = Resolve(options, nullptr);
  Value hooks = Value::Object();
  for (const std::string& event : EventsToWire(options, format)) {
    Value list = Value::Array();
    if (format == HookFileFormat::kCursor) {
      list.items.push_back(CursorEntry(command));
    } else {
      list.items.push_back(Group(WantedMatcher(options, event), command));
    }
    hooks.Set(event, std::move(list));
  }
  Value root = Value::Object();
  if (format == HookFileFormat::kCursor) root.Set("version", Value::Number("1"));
  root.Set("hooks", std::move(hooks));
  std::string out;
  Emit(&out, root, "  ", 0);
  out.push_back('\n');
  return out;
}

absl::StatusOr<HookInstallResult> MergeHooksJson(std::string_view existing,
                                                 const HookInstallOptions& options) {
  HookInstallResult result;
  result.command = HookIngestCommand(options);
  const std::string& file = options.file;
  Value root = Value::Object();
  if (!StripWhitespace(existing).empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parser.parse(existing.data(), existing.size(), true).get(element) != simdjson::SUCCESS) {
      const absl::Status status = ValidateJson(existing);
      return absl::InvalidArgumentError(Cat("invalid JSON in ", file, ": ",
                                            status.ok() ? "malformed" : ToStd(status.message()),
                                            "; traceframe changed nothing"));
    }
    root = FromElement(element);
    if (root.type != Value::kObject) {
      return absl::InvalidArgumentError(Cat(file, " must contain a JSON object"));
    }
  }
  result.format = Resolve(options, &root);
  const bool cursor = result.format == HookFileFormat::kCursor;
  // Cursor wants the schema version; an existing one is left as it is.
  const bool add_version = cursor && root.Find("version") == nullptr;
  if (add_version) root.members.insert(root.members.begin(), {"version", Value::Number("1")});
  Value* hooks = root.Find("hooks");
  if (hooks == nullptr) hooks = &root.Set("hooks", Value::Object());
  if (hooks->type != Value::kObject) {
    return absl::FailedPreconditionError(
        Cat("\"hooks\" in ", file, " is ", TypeName(*hooks),
            ", not an object; traceframe changed nothing (fix it by hand or remove it)"));
  }
  for (const std::string& event : EventsToWire(options, result.format)) {
    absl::StatusOr<std::string> outcome =
        cursor ? MergeCursorEvent(hooks, event, result.command, file)
               : MergeEvent(hooks, event, options, result.command, file);
    if (!outcome.ok()) return outcome.status();
    if (*outcome == "wired") {
      result.wired.push_back(event);
    } else if (*outcome == "updated") {
      result.updated.push_back(event);
    } else {
      result.present.push_back(event);
    }
  }
  result.result = Describe(result);
  const bool had_file = !StripWhitespace(existing).empty();
  if (add_version && had_file) {
    result.result.append(result.result == "already wired" ? " (added \"version\": 1)"
                                                          : "; added \"version\": 1");
  }
  if (result.wired.empty() && result.updated.empty() && !add_version && had_file) {
    result.json = std::string(existing);  // unchanged: byte for byte
  } else {
    Emit(&result.json, root, DetectIndentUnit(existing), 0);
    result.json.push_back('\n');
  }
  return result;
}

absl::StatusOr<HookInstallResult> InstallHooks(const HookInstallOptions& options) {
  if (options.print) {
    HookInstallResult result;
    result.command = HookIngestCommand(options);
    result.format = Resolve(options, nullptr);
    result.json = HookSnippetJson(options);
    result.result = "printed";
    return result;
  }
  // Write through a symlink (dotfile managers) instead of replacing it.
  std::string target = options.file;
  struct stat st;
  if (::lstat(target.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char resolved[PATH_MAX];
    if (::realpath(target.c_str(), resolved) != nullptr) target = resolved;
  }
  std::string existing;
  bool exists = false;
  const bool have_mode = ::stat(target.c_str(), &st) == 0;
  const mode_t mode = st.st_mode & 07777;
  absl::StatusOr<std::string> text = ReadFile(target);
  if (text.ok()) {
    existing = std::move(*text);
    exists = true;
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  absl::StatusOr<HookInstallResult> result = MergeHooksJson(existing, options);
  if (!result.ok()) return result;
  if (!exists || result->json != existing) {
    absl::Status status = WriteFileAtomically(target, result->json);
    if (!status.ok()) return status;
    // Keep the user's permissions (settings files may be private).
    if (exists && have_mode) ::chmod(target.c_str(), mode);
    result->written = true;
  }
  return result;
}

}  // namespace traceframe
