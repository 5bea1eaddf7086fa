// Mapping a host hook payload to trace events (docs/hooks.md).
//
// The reference tool's table (rules tried in order, first match wins) is kept
// for payloads whose event name is unknown; known host events (Claude Code,
// Codex, Cursor) are mapped by name first. Fixes over the reference: a
// decision no longer swallows the tool event, the value rule no longer lets a
// null shadow later paths, the fallback run id no longer depends on the event
// or command, run ids are filename-safe, host strings are bounded, and events
// with no trace meaning are ignored instead of failing the host's hook.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "format/bounded_json.h"
#include "simdjson.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/ascii.h"
#include "util/hash.h"
#include "util/utf8.h"

namespace traceframe {
using internal::AsciiLower;
using internal::Fnv1a64;
using internal::Utf8Chars;

namespace {

using internal::AppendBounded;
using internal::BoundedCopy;
using internal::BoundString;
using simdjson::dom::element;
using simdjson::dom::element_type;

using Paths = std::initializer_list<std::string_view>;

bool IsBlank(std::string_view s) { return StripWhitespace(s).empty(); }

// Looks up a dotted path ("tool_input.command") through nested objects.
std::optional<element> Lookup(element root, std::string_view path) {
  element current = root;
  while (true) {
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    simdjson::dom::object object;
    if (current.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    element next;
    if (object.at_key(part).get(next) != simdjson::SUCCESS) return std::nullopt;
    current = next;
    if (dot == std::string_view::npos) return current;
    path.remove_prefix(dot + 1);
  }
}

// The reference's string rule: a non-blank string as-is, a number as its JSON
// text, a bool as "true"/"false", an object's first non-blank name, tool,
// command or message; anything else continues with the next path.
std::optional<std::string> StringOf(element value) {
  switch (value.type()) {
    case element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      if (IsBlank(s)) return std::nullopt;
      return std::string(s);
    }
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return simdjson::to_string(value);
    case element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    case element_type::OBJECT:
      for (std::string_view key : {"name", "tool", "command", "message"}) {
        element nested;
        if (value.at_key(key).get(nested) != simdjson::SUCCESS) continue;
        std::string_view s;
        if (nested.get_string().get(s) == simdjson::SUCCESS && !IsBlank(s)) return std::string(s);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<std::string> StringRule(element root, Paths paths) {
  for (std::string_view path : paths) {
    std::optional<element> value = Lookup(root, path);
    if (!value) continue;
    std::optional<std::string> s = StringOf(*value);
    if (s) return s;
  }
  return std::nullopt;
}

// Only a non-blank JSON string counts (a decision must be a word; the
// reference also took numbers and bools, see reference §11 item 20).
std::optional<std::string> StrictStringRule(element root, Paths paths) {
  for (std::string_view path : paths) {
    std::optional<element> value = Lookup(root, path);
    if (!value) continue;
    std::string_view s;
    if (value->get_string().get(s) == simdjson::SUCCESS && !IsBlank(s)) return std::string(s);
  }
  return std::nullopt;
}

// The value rule, fixed: the first path whose value exists and is not null.
// (The reference stopped at the first existing path even when it was null.)
std::optional<element> ValueRule(element root, Paths paths) {
  for (std::string_view path : paths) {
    std::optional<element> value = Lookup(root, path);
    if (value && !value->is_null()) return value;
  }
  return std::nullopt;
}

std::optional<bool> BoolRule(element root, Paths paths) {
  for (std::string_view path : paths) {
    std::optional<element> value = Lookup(root, path);
    if (!value) continue;
    bool b;
    if (value->get_bool().get(b) == simdjson::SUCCESS) return b;
    int64_t n;
    if (value->type() == element_type::INT64 || value->type() == element_type::UINT64) {
      if (value->get_int64().get(n) == simdjson::SUCCESS) return n == 0;
      continue;
    }
    std::string_view s;
    if (value->get_string().get(s) == simdjson::SUCCESS) {
      const std::string word = AsciiLower(StripWhitespace(s));
      if (word == "true" || word == "ok" || word == "success" || word == "allow" ||
          word == "allowed") {
        return true;
      }
      if (word == "false" || word == "failed" || word == "error" || word == "deny" ||
          word == "denied") {
        return false;
      }
    }
  }
  return std::nullopt;
}

// Room left under kHookRawMaxBytes for the markers of open containers (at
// most kHookMaxDepth, each under 60 bytes) and their closing brackets.
constexpr size_t kRawMarkerSlack = 4096;
static_assert(kHookMaxDepth * 64 <= kRawMarkerSlack, "raw markers must fit the slack");

// payload.raw: the whole host payload, bounded and redacted.
struct RawPayload {
  std::string json;
  bool cut = false;
};

RawPayload RawOf(element root) {
  RawPayload raw;
  BoundedCopy copy(&raw.json, kHookRawMaxBytes - kRawMarkerSlack);
  copy.Value(root, 0);
  raw.cut = copy.cut();
  return raw;
}

// Collects payload fields and writes them with sorted keys, as the reference
// serialized every payload.
class PayloadBuilder {
 public:
  void Raw(std::string_view key, std::string json) { fields_[std::string(key)] = std::move(json); }
  void String(std::string_view key, std::string_view value) { Raw(key, JsonString(value)); }
  void Bool(std::string_view key, bool value) { Raw(key, value ? "true" : "false"); }

  // A host string, bounded; "<key>_bytes" records the original size if cut.
  void BoundedString(std::string_view key, std::string_view value) {
    bool truncated = false;
    String(key, BoundString(value, &truncated));
    if (truncated) Raw(Cat(key, "_bytes"), Cat(value.size()));
  }

  // A host JSON value, bounded; "<key>_bytes" records the original size of
  // its JSON text (of the string, for a string) if anything was cut.
  void BoundedValue(std::string_view key, element value) {
    if (value.type() == element_type::STRING) {
      BoundedString(key, value.get_string().value_unsafe());
      return;
    }
    bool truncated = false;
    std::string json;
    AppendBounded(&json, value, &truncated);
    if (json.size() > kHookValueMaxBytes) {
      // Too big even with every string cut (many small values): keep the
      // start of its (redacted) JSON text as a string.
      bool cut = false;
      std::string preview = TruncateUtf8Chars(json, kHookStringMaxChars, &cut);
      preview.append(kHookTruncatedMarker);
      String(key, preview);
      Raw(Cat(key, "_bytes"), Cat(simdjson::to_string(value).size()));
      return;
    }
    Raw(key, std::move(json));
    if (truncated) Raw(Cat(key, "_bytes"), Cat(simdjson::to_string(value).size()));
  }

  std::string Build() const {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, json] : fields_) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(&out, key);
      out.push_back(':');
      out.append(json);
    }
    out.push_back('}');
    return out;
  }

 private:
  std::map<std::string, std::string> fields_;
};

// What a payload means, decided by its event name first, then by the
// reference's content rules.
enum class Meaning {
  kToolCall,
  kToolResult,
  kToolFailure,  // PostToolUseFailure: a result with success false
  kPermissionAsk,
  kPermissionDeny,
  kError,
  kSessionStart,
  kSessionEnd,
  kIgnored,
  kUnknown,
};

Meaning MeaningOfEventName(const std::string& normalized) {
  static const std::map<std::string_view, Meaning>* const kTable =
      new std::map<std::string_view, Meaning>{
          // Claude Code and Codex (PascalCase), Cursor (lowerCamelCase).
          {"pretooluse", Meaning::kToolCall},
          {"beforeshellexecution", Meaning::kToolCall},
          {"beforemcpexecution", Meaning::kToolCall},
          {"posttooluse", Meaning::kToolResult},
          {"aftershellexecution", Meaning::kToolResult},
          {"aftermcpexecution", Meaning::kToolResult},
          {"afterfileedit", Meaning::kToolResult},
          {"posttoolusefailure", Meaning::kToolFailure},
          {"permissionrequest", Meaning::kPermissionAsk},
          {"permissiondenied", Meaning::kPermissionDeny},
          {"stopfailure", Meaning::kError},
          {"sessionstart", Meaning::kSessionStart},
          {"sessionend", Meaning::kSessionEnd},
          // No trace meaning: prompts, notifications, turn ends, compaction,
          // subagent and task bookkeeping, file reads by the editor.
          {"userpromptsubmit", Meaning::kIgnored},
          {"beforesubmitprompt", Meaning::kIgnored},
          {"notification", Meaning::kIgnored},
          {"stop", Meaning::kIgnored},
          {"subagentstart", Meaning::kIgnored},
          {"subagentstop", Meaning::kIgnored},
          {"precompact", Meaning::kIgnored},
          {"postcompact", Meaning::kIgnored},
          {"afteragentresponse", Meaning::kIgnored},
          {"afteragentthought", Meaning::kIgnored},
          {"beforereadfile", Meaning::kIgnored},
          {"beforetabfileread", Meaning::kIgnored},
          {"aftertabfileedit", Meaning::kIgnored},
          {"taskcreated", Meaning::kIgnored},
          {"taskcompleted", Meaning::kIgnored},
          {"teammateidle", Meaning::kIgnored},
          {"instructionsloaded", Meaning::kIgnored},
          {"configchange", Meaning::kIgnored},
          {"cwdchanged", Meaning::kIgnored},
          {"filechanged", Meaning::kIgnored},
          {"worktreecreate", Meaning::kIgnored},
          {"worktreeremove", Meaning::kIgnored},
          {"elicitation", Meaning::kIgnored},
          {"elicitationresult", Meaning::kIgnored},
          {"interrupt", Meaning::kIgnored},
          {"agent-turn-complete", Meaning::kIgnored},
      };
  auto it = kTable->find(normalized);
  return it == kTable->end() ? Meaning::kUnknown : it->second;
}

// The reference's content rules 2-4 for events it does not know by name.
Meaning MeaningOfContent(element root, const std::string& normalized) {
  for (std::string_view word : {"posttooluse", "tool.result", "tool_result", "toolresult"}) {
    if (Contains(normalized, word)) return Meaning::kToolResult;
  }
  if (ValueRule(root,
                {"tool_response", "toolResponse", "result", "success", "exit_code", "exitCode"})) {
    return Meaning::kToolResult;
  }
  if (Contains(normalized, "error") || ValueRule(root, {"error", "error.message", "failure"})) {
    return Meaning::kError;
  }
  for (std::string_view word : {"pretooluse", "tool.call", "tool_call", "toolcall"}) {
    if (Contains(normalized, word)) return Meaning::kToolCall;
  }
  if (ValueRule(root, {"tool_input", "toolInput", "tool_name", "toolName", "tool_call",
                       "request.tool_input"})) {
    return Meaning::kToolCall;
  }
  return Meaning::kUnknown;
}

const Paths kEventNamePaths = {"hook_event_name", "event_name", "event", "type", "name"};
const Paths kSessionPaths = {"session_id", "sessionId", "conversation_id", "conversationId"};
const Paths kDecisionPaths = {"decision",           "permission_decision",
                              "permissionDecision", "permission.decision",
                              "tool_decision",      "hookSpecificOutput.permissionDecision"};
const Paths kToolPaths = {"tool_name",         "toolName",           "tool",
                          "tool.name",         "tool_call.tool",     "tool_call.name",
                          "request.tool_name", "tool_response.tool", "result.tool"};
const Paths kCommandPaths = {"command",
                             "tool_input.command",
                             "toolInput.command",
                             "input.command",
                             "arguments.command",
                             "args.command",
                             "parameters.command",
                             "tool_call.command",
                             "tool_response.command",
                             "result.command",
                             "tool_input.file_path",
                             "file_path"};
const Paths kErrorPaths = {"error", "error_message", "tool_response.error", "result.error"};

// Top-level keys copied into payload.host (bounded), in payload order.
bool IsHostKey(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "session_id", "sessionId",       "conversation_id", "generation_id",
      "turn_id",    "tool_use_id",     "transcript_path", "cwd",
      "workspace",  "workspace_roots", "model",           "permission_mode",
      "agent_id",   "agent_type",      "hook_event_name", "cursor_version"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

std::optional<std::string> HostJson(element root) {
  std::string out = "{";
  bool any = false;
  bool truncated = false;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  // A host key repeated in the payload keeps its first value, as the bounded
  // copy of payload.raw does: a repeated key would make the event one the
  // writer refuses (event.h), and the event would be lost.
  std::vector<std::string_view> copied;
  for (auto field : object) {
    if (!IsHostKey(field.key) || field.value.is_null()) continue;
    if (std::find(copied.begin(), copied.end(), field.key) != copied.end()) continue;
    copied.push_back(field.key);
    if (any) out.push_back(',');
    any = true;
    AppendJsonString(&out, field.key);
    out.push_back(':');
    std::string value;
    AppendBounded(&value, field.value, &truncated);
    if (value.size() > kHookValueMaxBytes) value = JsonString("[omitted: too large]");
    out.append(value);
  }
  out.push_back('}');
  if (!any) return std::nullopt;
  return out;
}

std::optional<std::string> CwdOf(element root) {
  std::optional<std::string> cwd = StringRule(root, {"cwd", "workspace"});
  if (cwd) return cwd;
  // Cursor has no cwd on most events: its first workspace root stands in.
  std::optional<element> roots = Lookup(root, "workspace_roots");
  simdjson::dom::array array;
  if (roots && roots->get_array().get(array) == simdjson::SUCCESS) {
    for (element item : array) {
      std::string_view s;
      if (item.get_string().get(s) == simdjson::SUCCESS && !IsBlank(s)) return std::string(s);
      break;
    }
  }
  return std::nullopt;
}

std::string Hex16(uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[value & 0xF];
    value >>= 4;
  }
  return out;
}

// What every event of one payload shares.
struct Common {
  element root;
  const std::string& source;
  const std::string& hook_event;
  std::optional<std::string> host;  // HostJson
  RawPayload raw;
  size_t payload_bytes;  // the payload text as received
  std::string repaired;  // JSON array of what RepairHostJson changed, or empty
};

// Shared by every kind: source, hook_event, host and raw (+ raw_bytes, the
// size of the payload as received, when raw had to be cut).
void AddCommon(PayloadBuilder* b, const Common& common) {
  b->String("source", common.source);
  b->BoundedString("hook_event", common.hook_event);
  if (common.host) b->Raw("host", *common.host);
  b->Raw("raw", common.raw.json);
  if (common.raw.cut) b->Raw("raw_bytes", Cat(common.payload_bytes));
  if (!common.repaired.empty()) b->Raw("input_repaired", common.repaired);
}

void AddToolAndCommand(PayloadBuilder* b, const std::optional<std::string>& tool,
                       const std::optional<std::string>& command) {
  if (tool) b->BoundedString("tool", *tool);
  if (command) b->BoundedString("command", *command);
}

std::string ToolResultPayload(const Common& common, bool failure,
                              const std::optional<std::string>& tool,
                              const std::optional<std::string>& command) {
  const element root = common.root;
  PayloadBuilder b;
  AddCommon(&b, common);
  AddToolAndCommand(&b, tool, command);
  const std::optional<std::string> error = StringRule(root, kErrorPaths);
  std::optional<element> exit_code =
      ValueRule(root, {"exit_code", "exitCode", "tool_response.exit_code", "tool_response.exitCode",
                       "result.exit_code"});
  bool success;
  if (failure) {
    success = false;
  } else if (std::optional<bool> b_success = BoolRule(
                 root,
                 {"success", "tool_response.success", "result.success", "ok", "status.success"})) {
    success = *b_success;
  } else if (exit_code && (exit_code->type() == element_type::INT64 ||
                           exit_code->type() == element_type::UINT64)) {
    int64_t n = 1;
    success = exit_code->get_int64().get(n) == simdjson::SUCCESS && n == 0;
  } else if (exit_code && exit_code->type() == element_type::STRING) {
    const std::string_view s = StripWhitespace(exit_code->get_string().value_unsafe());
    success = s == "0";
  } else {
    success = !error.has_value();
  }
  b.Bool("success", success);
  if (exit_code) b.BoundedValue("exit_code", *exit_code);
  if (std::optional<element> duration =
          ValueRule(root, {"duration_ms", "durationMs", "duration", "tool_response.duration_ms",
                           "result.duration_ms"})) {
    b.BoundedValue("duration_ms", *duration);
  }
  std::optional<element> output =
      ValueRule(root, {"output", "stdout", "tool_response.output", "tool_response.stdout",
                       "result.output", "result.stdout", "result_json"});
  if (output) {
    b.BoundedValue("output", *output);
  } else if (std::optional<element> response =
                 ValueRule(root, {"tool_response", "toolResponse", "result"})) {
    // No recognizable output field (Write, Edit, MCP tools): keep the
    // response itself, bounded.
    b.BoundedValue("response", *response);
  }
  if (std::optional<element> stderr_value =
          ValueRule(root, {"stderr", "tool_response.stderr", "result.stderr"})) {
    b.BoundedValue("stderr", *stderr_value);
  }
  if (error) b.BoundedString("error", *error);
  if (std::optional<bool> interrupted =
          BoolRule(root, {"is_interrupt", "tool_response.interrupted"})) {
    if (*interrupted) b.Bool("interrupted", true);
  }
  return b.Build();
}

}  // namespace

bool LooksLikeSecretKey(std::string_view key, bool value_is_number) {
  // Lowercased, separators dropped: "X-Api-Key" -> "xapikey". Keys are
  // short: a stack buffer, with the heap only for long ones.
  char buffer[64];
  std::string heap;
  char* folded = buffer;
  if (key.size() > sizeof(buffer)) {
    heap.resize(key.size());
    folded = heap.data();
  }
  size_t n = 0;
  for (char c : key) {
    if (c == '_' || c == '-' || c == '.' || c == ' ') continue;
    folded[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view k(folded, n);
  if (n < 5) return false;  // shorter than the shortest word
  for (std::string_view word : {"secret", "password", "passwd", "apikey", "authorization", "cookie",
                                "credential", "privatekey", "accesskey"}) {
    if (Contains(k, word)) return true;
  }
  return !value_is_number && Contains(k, "token");
}

std::string NormalizeSource(std::string_view label) {
  const std::string_view trimmed = StripWhitespace(label);
  if (trimmed.empty()) return "generic";
  return std::string(trimmed);
}

std::string SafeRunId(std::string_view raw) {
  // "~h" + 16 hex digits. '~' never survives in an unaltered id, so an
  // altered id cannot equal a literal one (a session literally named
  // "a_b-h1234abcd" no longer shares "a/b"'s trace), and the whole 64-bit
  // hash keeps two altered ids apart (issue 11, docs/hooks.md).
  constexpr size_t kSuffix = 18;
  std::string out;
  out.reserve(std::min(raw.size(), kRunIdMaxBytes));
  bool altered = false;
  for (char c : raw) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (safe && !(c == '.' && !out.empty() && out.back() == '.')) {
      out.push_back(c);
    } else if (safe) {
      // ".." is harmless without '/', but never let it look like a path.
      out.back() = '_';
      altered = true;
    } else {
      altered = true;
      // Collapse runs of unsafe bytes (a multibyte character, "/../").
      if (out.empty() || out.back() != '_') out.push_back('_');
    }
  }
  // No hidden files, no "." or ".." names.
  while (!out.empty() && out.front() == '.') {
    out.erase(0, 1);
    altered = true;
  }
  // Nor a trailing '.', which would put ".." before the extension.
  if (!out.empty() && out.back() == '.') {
    out.back() = '_';
    altered = true;
  }
  if (out.empty()) {
    out = "run";
    altered = true;
  }
  if (out.size() > kRunIdMaxBytes) altered = true;
  if (!altered) return out;
  if (out.size() > kRunIdMaxBytes - kSuffix) out.resize(kRunIdMaxBytes - kSuffix);
  Append(&out, "~h", Hex16(Fnv1a64(raw)));
  return out;
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of "\uXXXX" at text[i] (text[i] == '\\'), or -1.
int EscapedUnit(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int unit = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const int d = HexDigit(text[k]);
    if (d < 0) return -1;
    unit = unit * 16 + d;
  }
  return unit;
}

// Repairs what real hosts emit that strict JSON parsers refuse, so the event
// is kept (issue 11 item 4): raw invalid UTF-8 bytes and lone surrogate
// escapes ("\ud83d", Node's JSON.stringify of a string cut inside a pair)
// become U+FFFD; integers beyond 64 bits (Python) and numbers beyond double
// range become strings of their digits. Sets *repairs to a JSON array naming
// what changed; returns nullopt when nothing did.
std::optional<std::string> RepairHostJson(std::string_view json, std::string* repairs) {
  bool utf8 = false, surrogate = false, number = false;
  std::string sanitized;
  if (!simdjson::validate_utf8(json.data(), json.size())) {
    sanitized = SanitizeUtf8(json);
    json = sanitized;
    utf8 = true;
  }
  std::string out;
  out.reserve(json.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < json.size();) {
    const char c = json[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
      } else if (c == '\\') {
        const int unit = EscapedUnit(json, i);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          const int low = EscapedUnit(json, i + 6);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            out.append(json.substr(i, 12));
            i += 12;
            continue;
          }
        }
        if (unit >= 0xD800 && unit <= 0xDFFF) {
          out.append("\\ufffd");
          surrogate = true;
          i += 6;
          continue;
        }
        out.append(json.substr(i, std::min<size_t>(2, json.size() - i)));
        i += 2;
        continue;
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + 1;
      bool integer = true;
      while (j < json.size() &&
             ((json[j] >= '0' && json[j] <= '9') || json[j] == '.' || json[j] == 'e' ||
              json[j] == 'E' || json[j] == '+' || json[j] == '-')) {
        if (json[j] == '.' || json[j] == 'e' || json[j] == 'E') integer = false;
        ++j;
      }
      const std::string_view token = json.substr(i, j - i);
      bool fits;
      if (integer) {
        int64_t as_int;
        uint64_t as_uint;
        const absl::string_view t(token.data(), token.size());
        fits = absl::SimpleAtoi(t, &as_int) || absl::SimpleAtoi(t, &as_uint);
      } else {
        double d;
        fits =
            absl::SimpleAtod(absl::string_view(token.data(), token.size()), &d) && std::isfinite(d);
      }
      if (fits) {
        out.append(token);
      } else {
        Append(&out, "\"", token, "\"");
        number = true;
      }
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!utf8 && !surrogate && !number) return std::nullopt;
  std::string what;
  for (const auto& [done, name] : {std::pair<bool, std::string_view>{utf8, "invalid_utf8"},
                                   {surrogate, "lone_surrogate"},
                                   {number, "number_out_of_range"}}) {
    if (!done) continue;
    Append(&what, what.empty() ? "" : ",", "\"", name, "\"");
  }
  *repairs = Cat("[", what, "]");
  return out;
}

}  // namespace

absl::StatusOr<HookMapping> MapHookPayload(std::string_view json, const HookMapOptions& options) {
  simdjson::dom::parser parser;
  element root;
  simdjson::error_code error = parser.parse(json.data(), json.size(), true).get(root);
  std::string repairs;
  std::optional<std::string> repaired;
  if (error) {
    // Keep the event when the input is what a real host writes.
    repaired = RepairHostJson(json, &repairs);
    if (repaired) {
      error = parser.parse(repaired->data(), repaired->size(), true).get(root);
      if (!error) json = *repaired;
    }
  }
  if (error) {
    // CanonicalizeJson words the reason for people; the input is not echoed.
    const absl::Status status = ValidateJson(json);
    return absl::InvalidArgumentError(
        Cat("invalid JSON payload: ",
            status.ok() ? std::string(simdjson::error_message(error)) : ToStd(status.message())));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("hook payload must be a JSON object");
  }
  if (object.size() == 0) return absl::InvalidArgumentError("hook payload must not be empty");

  HookMapping mapping;
  mapping.hook_event = StringRule(root, kEventNamePaths).value_or("hook.event");
  const std::string normalized = AsciiLower(mapping.hook_event);
  mapping.session_id = StringRule(root, kSessionPaths);
  const std::optional<std::string> cwd = CwdOf(root);
  if (mapping.session_id) {
    mapping.run_id = SafeRunId(Cat("run-", *mapping.session_id));
  } else {
    // Stable context only, so a command's Pre and Post events (and every
    // command of one working directory) share a trace.
    std::string seed = cwd.value_or("");
    seed.push_back('\x1f');
    seed.append(StringRule(root, {"transcript_path"}).value_or(""));
    mapping.run_id = Cat("run-", Hex16(Fnv1a64(seed)));
  }

  Meaning meaning = MeaningOfEventName(normalized);
  if (meaning == Meaning::kUnknown) meaning = MeaningOfContent(root, normalized);

  const std::optional<std::string> decision = meaning == Meaning::kIgnored ||
                                                      meaning == Meaning::kSessionStart ||
                                                      meaning == Meaning::kSessionEnd
                                                  ? std::nullopt
                                                  : StrictStringRule(root, kDecisionPaths);
  if (meaning == Meaning::kUnknown && !decision) meaning = Meaning::kIgnored;

  if (meaning == Meaning::kIgnored) {
    const std::string reason =
        Cat(mapping.hook_event, " has no trace meaning (expected a tool call, tool result, ",
            "permission decision, error or session start/end)");
    if (options.strict)
      return absl::InvalidArgumentError(Cat("unsupported hook payload: ", reason));
    mapping.ignored = true;
    mapping.ignored_reason = reason;
    return mapping;
  }

  std::optional<std::string> tool = StringRule(root, kToolPaths);
  if (!tool) {
    if (normalized == "beforeshellexecution" || normalized == "aftershellexecution") {
      tool = "Shell";
    } else if (normalized == "afterfileedit") {
      tool = "Edit";
    }
  }
  const std::optional<std::string> command = StringRule(root, kCommandPaths);
  const std::string& source = options.source;
  const Common common{root,        source, mapping.hook_event, HostJson(root), RawOf(root),
                      json.size(), repairs};

  // run.started fields, used only if this payload creates the trace.
  {
    std::string& f = mapping.started_fields_json;
    Append(&f, "\"source\":", JsonString(source));
    bool cut = false;
    Append(&f, ",\"hook_event\":", JsonString(BoundString(mapping.hook_event, &cut)));
    if (mapping.session_id) {
      Append(&f, ",\"session_id\":", JsonString(BoundString(*mapping.session_id, &cut)));
    }
    if (meaning == Meaning::kSessionStart) {
      if (std::optional<std::string> s = StringRule(root, {"source"})) {
        Append(&f, ",\"session_source\":", JsonString(BoundString(*s, &cut)));
      }
    }
    if (std::optional<std::string> model = StringRule(root, {"model"})) {
      Append(&f, ",\"model\":", JsonString(BoundString(*model, &cut)));
    }
    if (cwd) Append(&f, ",\"cwd\":", JsonString(BoundString(*cwd, &cut)));
    if (!repairs.empty()) Append(&f, ",\"input_repaired\":", repairs);
    if (meaning == Meaning::kSessionStart) {
      // run.started is this payload's only event: it keeps the payload.
      Append(&f, ",\"raw\":", common.raw.json);
      if (common.raw.cut) Append(&f, ",\"raw_bytes\":", json.size());
    }
  }

  auto add_decision = [&](std::string_view decision_word) {
    PayloadBuilder b;
    AddCommon(&b, common);
    AddToolAndCommand(&b, tool, command);
    b.BoundedString("decision", decision_word);
    if (std::optional<std::string> capability =
            StringRule(root, {"capability", "permission.capability"})) {
      b.BoundedString("capability", *capability);
    } else if (tool) {
      b.BoundedString("capability",
                      command ? Cat("tool:", *tool, ":", *command) : Cat("tool:", *tool));
    }
    if (std::optional<std::string> reason =
            StringRule(root, {"reason", "permission.reason", "permissionDecisionReason",
                              "hookSpecificOutput.permissionDecisionReason"})) {
      b.BoundedString("reason", *reason);
    }
    mapping.events.push_back(PendingEvent{EventKind::kPermissionDecision, b.Build()});
  };

  switch (meaning) {
    case Meaning::kPermissionAsk:
      add_decision(decision.value_or("ask"));
      return mapping;
    case Meaning::kPermissionDeny:
      add_decision(decision.value_or("deny"));
      return mapping;
    default:
      break;
  }
  // A decision is recorded first, then what the payload is about.
  if (decision) add_decision(*decision);

  switch (meaning) {
    case Meaning::kToolCall: {
      PayloadBuilder b;
      AddCommon(&b, common);
      AddToolAndCommand(&b, tool, command);
      if (std::optional<element> input =
              ValueRule(root, {"tool_input", "toolInput", "input", "arguments", "args",
                               "parameters", "tool_call.input"})) {
        b.BoundedValue("input", *input);
      }
      mapping.events.push_back(PendingEvent{EventKind::kToolCall, b.Build()});
      break;
    }
    case Meaning::kToolResult:
    case Meaning::kToolFailure:
      mapping.events.push_back(
          PendingEvent{EventKind::kToolResult,
                       ToolResultPayload(common, meaning == Meaning::kToolFailure, tool, command)});
      break;
    case Meaning::kError: {
      PayloadBuilder b;
      AddCommon(&b, common);
      AddToolAndCommand(&b, tool, command);
      b.BoundedString("message", StringRule(root, {"message", "error_message", "error.message",
                                                   "error", "error_type"})
                                     .value_or("host hook reported an error"));
      if (std::optional<element> details = ValueRule(root, {"error_details"})) {
        b.BoundedValue("details", *details);
      }
      mapping.events.push_back(PendingEvent{EventKind::kError, b.Build()});
      break;
    }
    case Meaning::kSessionEnd: {
      PayloadBuilder b;
      AddCommon(&b, common);
      b.String("status", "ended");
      const std::optional<std::string> reason = StringRule(root, {"reason", "end_reason"});
      if (reason) {
        b.BoundedString("reason", *reason);
        bool cut = false;
        b.String("summary", Cat("session ended: ", BoundString(*reason, &cut)));
      } else {
        b.String("summary", "session ended");
      }
      mapping.events.push_back(PendingEvent{EventKind::kRunFinished, b.Build()});
      break;
    }
    case Meaning::kSessionStart:  // creates the trace; nothing else to append
    default:
      break;
  }
  return mapping;
}

}  // namespace traceframe
