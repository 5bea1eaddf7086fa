#include "traceframe/policy.h"

#include <algorithm>
#include <optional>

#include "simdjson.h"
#include "traceframe/str_util.h"
#include "traceframe/trace_reader.h"
#include "traceframe/verify.h"
#include "util/ascii.h"
#include "util/progress.h"

namespace traceframe {
using internal::AsciiLower;

std::string_view PolicyRuleName(PolicyRule rule) {
  switch (rule) {
    case PolicyRule::kUnresolvedDeny:
      return "unresolved_deny";
    case PolicyRule::kSensitiveCall:
      return "sensitive_call";
  }
  return "unknown";
}

namespace {

// ---- shell words

struct Word {
  std::string text;
  bool is_operator = false;     // && || ; | & newline ( )
  bool is_redirection = false;  // >file, 2>&1, <in, or a bare > needing a target
  bool quoted = false;          // any part was quoted (so not an assignment)
};

std::vector<Word> ShellWords(std::string_view s) {
  std::vector<Word> words;
  Word current;
  bool in_word = false;
  auto flush = [&] {
    if (in_word) words.push_back(std::move(current));
    current = Word();
    in_word = false;
  };
  auto add_operator = [&](std::string op) {
    flush();
    Word w;
    w.text = std::move(op);
    w.is_operator = true;
    words.push_back(std::move(w));
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      flush();
    } else if (c == '\n') {
      add_operator("\n");
    } else if (c == '#' && !in_word) {
      while (i < s.size() && s[i] != '\n') ++i;
      --i;
    } else if (c == ';' || c == '(' || c == ')') {
      add_operator(std::string(1, c));
    } else if (c == '&' || c == '|') {
      if (i + 1 < s.size() && (s[i + 1] == c || (c == '|' && s[i + 1] == '&'))) {
        add_operator(std::string(s.substr(i, 2)));
        ++i;
      } else {
        add_operator(std::string(1, c));
      }
    } else if (c == '>' || c == '<') {
      in_word = true;
      current.is_redirection = true;
      current.text.push_back(c);
      while (i + 1 < s.size() && (s[i + 1] == '>' || s[i + 1] == '&' || s[i + 1] == '<')) {
        current.text.push_back(s[++i]);
      }
    } else if (c == '\'') {
      in_word = true;
      current.quoted = true;
      const size_t end = s.find('\'', i + 1);
      const size_t stop = end == std::string_view::npos ? s.size() : end;
      current.text.append(s.substr(i + 1, stop - i - 1));
      i = stop;
    } else if (c == '"') {
      in_word = true;
      current.quoted = true;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size() &&
            (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`')) {
          ++i;
        } else if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\n') {
          i += 2;
          continue;
        }
        current.text.push_back(s[i]);
        ++i;
      }
    } else if (c == '\\') {
      if (i + 1 < s.size()) {
        if (s[i + 1] != '\n') {
          in_word = true;
          current.quoted = true;
          current.text.push_back(s[i + 1]);
        }
        ++i;
      }
    } else {
      in_word = true;
      current.text.push_back(c);
    }
  }
  flush();
  return words;
}

std::string_view BaseCommandName(std::string_view word) {
  const size_t slash = word.rfind('/');
  return slash == std::string_view::npos ? word : word.substr(slash + 1);
}

bool IsAssignment(const Word& w) {
  if (w.quoted && w.text.find('=') == std::string::npos) return false;
  const size_t eq = w.text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    const char c = w.text[i];
    const bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool OneOf(std::string_view word, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

void ParseGitPush(const std::vector<std::string>& args, size_t i, std::vector<GitPush>* out) {
  GitPush push;
  std::vector<std::string> positional;
  bool options_done = false;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!options_done && a == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && a.size() > 1 && a[0] == '-') {
      if (OneOf(a, {"--all", "--mirror", "--tags", "--branches"})) push.unscoped = true;
      if (StartsWith(a, "--repo=")) push.remote = a.substr(7);
      if (OneOf(a, {"-o", "--push-option", "--repo", "--receive-pack", "--exec"}) &&
          i + 1 < args.size()) {
        if (a == "--repo") push.remote = args[i + 1];
        ++i;
      }
      continue;
    }
    positional.push_back(a);
  }
  size_t first_ref = 0;
  if (push.remote.empty() && !positional.empty()) {
    push.remote = positional[0];
    first_ref = 1;
  }
  for (size_t k = first_ref; k < positional.size(); ++k) {
    std::string_view ref = positional[k];
    if (StartsWith(ref, "+")) ref.remove_prefix(1);
    const size_t colon = ref.rfind(':');
    if (colon != std::string_view::npos && colon + 1 < ref.size()) {
      ref = ref.substr(colon + 1);
    } else if (colon != std::string_view::npos) {
      ref = ref.substr(0, colon);
    }
    if (StartsWith(ref, "refs/heads/")) ref.remove_prefix(11);
    if (ref.empty() || ref == "HEAD" || ref == "@") {
      push.unscoped = true;
      continue;
    }
    push.branches.emplace_back(ref);
  }
  if (push.branches.empty()) push.unscoped = true;
  out->push_back(std::move(push));
}

void FindInSimpleCommand(const std::vector<Word>& words, int depth, std::vector<GitPush>* out) {
  std::vector<std::string> args;
  for (size_t k = 0; k < words.size(); ++k) {
    if (words[k].is_redirection) {
      // A bare redirection operator takes the next word as its target.
      const std::string& t = words[k].text;
      if (!t.empty() && (t.back() == '>' || t.back() == '<') && k + 1 < words.size()) ++k;
      continue;
    }
    args.push_back(words[k].text);
  }
  size_t i = 0;
  // Leading assignments and wrappers that run their arguments as a command.
  while (i < args.size()) {
    const std::string_view name = BaseCommandName(args[i]);
    Word probe;
    probe.text = args[i];
    if (IsAssignment(probe) ||
        OneOf(args[i], {"if", "then", "else", "elif", "do", "while", "until", "{", "!"})) {
      ++i;
    } else if (name == "env") {
      ++i;
      while (i < args.size()) {
        Word w;
        w.text = args[i];
        if (OneOf(args[i], {"-u", "-C", "-S", "--unset", "--chdir", "--split-string"})) {
          i += 2;
        } else if (IsAssignment(w) || (args[i].size() > 1 && args[i][0] == '-')) {
          ++i;
        } else {
          break;
        }
      }
    } else if (name == "sudo" || name == "doas") {
      ++i;
      while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        if (args[i] == "--") {
          ++i;
          break;
        }
        if (OneOf(args[i], {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"})) ++i;
        ++i;
      }
    } else if (name == "command" || name == "builtin" || name == "exec" || name == "nohup" ||
               name == "time" || name == "stdbuf") {
      ++i;
      while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') ++i;
    } else if (name == "nice") {
      ++i;
      while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        if (args[i] == "-n") ++i;
        ++i;
      }
    } else if (name == "timeout") {
      ++i;
      while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        if (OneOf(args[i], {"-s", "-k", "--signal", "--kill-after"})) ++i;
        ++i;
      }
      if (i < args.size()) ++i;  // the duration
    } else {
      break;
    }
  }
  if (i >= args.size()) return;
  const std::string_view name = BaseCommandName(args[i]);
  if (name == "git") {
    ++i;
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
      if (OneOf(args[i], {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env",
                          "--super-prefix", "--exec-path"}) &&
          args[i].find('=') == std::string::npos) {
        ++i;
      }
      ++i;
    }
    if (i < args.size() && args[i] == "push") ParseGitPush(args, i + 1, out);
    return;
  }
  if (depth < 4 && OneOf(name, {"sh", "bash", "zsh", "dash", "ksh"})) {
    for (size_t k = i + 1; k + 1 < args.size(); ++k) {
      const std::string& a = args[k];
      if (a.size() > 1 && a[0] == '-' && a[1] != '-' && a.find('c') != std::string::npos) {
        const std::vector<Word> inner = ShellWords(args[k + 1]);
        std::vector<Word> command;
        for (const Word& w : inner) {
          if (w.is_operator) {
            FindInSimpleCommand(command, depth + 1, out);
            command.clear();
          } else {
            command.push_back(w);
          }
        }
        FindInSimpleCommand(command, depth + 1, out);
        return;
      }
      if (a.empty() || a[0] != '-') return;
    }
  }
}

std::optional<std::string> NonBlankString(simdjson::dom::element payload, std::string_view key) {
  std::string_view s;
  if (payload.at_key(key).get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  const std::string_view trimmed = StripWhitespace(s);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

// "git.push" / "git.push:scope": the prefix compared case-insensitively.
bool IsPushCapability(std::string_view capability, std::string* scope) {
  if (capability.size() < 8 || AsciiLower(capability.substr(0, 8)) != "git.push") return false;
  if (capability.size() == 8) {
    scope->clear();
    return true;
  }
  if (capability[8] != ':') return false;
  *scope = std::string(capability.substr(9));
  return true;
}

// The host's id for one tool call (Claude Code / Codex tool_use_id), kept
// by the hook mapping under payload.host.
std::string ToolCallId(simdjson::dom::element payload) {
  std::string_view id;
  if (payload.at_pointer("/host/tool_use_id").get_string().get(id) == simdjson::SUCCESS) {
    return std::string(StripWhitespace(id));
  }
  return {};
}

std::string Describe(const std::optional<std::string>& capability,
                     const std::optional<std::string>& command) {
  if (capability) return Cat("capability ", *capability);
  if (command) return Cat("command ", *command);
  return "unnamed capability";
}

}  // namespace

DecisionClass ClassifyDecision(std::string_view decision) {
  const std::string word = AsciiLower(StripWhitespace(decision));
  if (OneOf(word, {"allow", "allowed", "approve", "approved", "permit"})) {
    return DecisionClass::kAllow;
  }
  if (OneOf(word, {"deny", "denied", "block", "blocked", "reject", "rejected"})) {
    return DecisionClass::kDeny;
  }
  return DecisionClass::kOther;
}

std::vector<GitPush> FindGitPushes(std::string_view command) {
  std::vector<GitPush> pushes;
  std::vector<Word> simple;
  for (Word& w : ShellWords(command)) {
    if (w.is_operator) {
      FindInSimpleCommand(simple, 0, &pushes);
      simple.clear();
    } else {
      simple.push_back(std::move(w));
    }
  }
  FindInSimpleCommand(simple, 0, &pushes);
  return pushes;
}

void PolicyChecker::Observe(EventKind kind, uint64_t seq, std::string_view payload_json) {
  if (kind != EventKind::kPermissionDecision && kind != EventKind::kToolCall &&
      kind != EventKind::kToolResult) {
    return;
  }
  if (kind == EventKind::kToolResult && (explicit_allow_only_ || pending_calls_.empty())) return;
  static thread_local simdjson::dom::parser parser;
  simdjson::dom::element payload;
  if (parser.parse(payload_json.data(), payload_json.size(), true).get(payload) !=
          simdjson::SUCCESS ||
      !payload.is_object()) {
    if (kind == EventKind::kPermissionDecision) return;  // no decision word: neither rule
    return;
  }
  const std::optional<std::string> capability = NonBlankString(payload, "capability");
  const std::optional<std::string> command = NonBlankString(payload, "command");
  const std::string call_id = ToolCallId(payload);
  if (kind == EventKind::kToolResult) {
    // The tool ran: a pending call the host asked about is approved by it.
    for (size_t i = 0; i < pending_calls_.size();) {
      PendingCall& p = pending_calls_[i];
      const bool same_call = !call_id.empty() && !p.call_id.empty()
                                 ? call_id == p.call_id
                                 : command && *command == p.command;
      if (!same_call) {
        ++i;
        continue;
      }
      std::optional<uint64_t> ask_seq;
      if (auto it = asked_ids_.find(p.call_id); !p.call_id.empty() && it != asked_ids_.end()) {
        ask_seq = it->second;
      } else if (auto c = asked_commands_.find(p.command); c != asked_commands_.end()) {
        ask_seq = c->second;
      }
      if (!ask_seq) {
        ++i;
        continue;
      }
      host_approvals_.push_back(
          HostApproval{p.violation.seq, *ask_seq, seq, p.violation.capability,
                       Cat("sensitive tool.call at seq ", p.violation.seq, ": command ", p.command,
                           " approved by the host (permission request at seq ", *ask_seq,
                           ", tool ran: tool.result at seq ", seq, ")")});
      pending_calls_.erase(pending_calls_.begin() + static_cast<long>(i));
    }
    return;
  }
  if (kind == EventKind::kPermissionDecision) {
    std::string_view decision;
    if (payload.at_key("decision").get_string().get(decision) != simdjson::SUCCESS) return;
    const DecisionClass cls = ClassifyDecision(decision);
    if (cls == DecisionClass::kOther && AsciiLower(StripWhitespace(decision)) == "ask") {
      if (!call_id.empty()) asked_ids_.emplace(call_id, seq);
      if (command) asked_commands_.emplace(*command, seq);
    }
    const std::string key = capability ? *capability : command ? *command : std::string();
    if (cls == DecisionClass::kDeny) {
      PendingDeny deny{seq, capability.value_or(command.value_or("")),
                       Describe(capability, command)};
      // Decisions naming nothing cannot be matched by a later allow.
      if (key.empty()) {
        unnamed_denies_.push_back(std::move(deny));
      } else {
        pending_denies_[key].push_back(std::move(deny));
      }
    } else if (cls == DecisionClass::kAllow) {
      if (!key.empty()) pending_denies_.erase(key);
      std::string scope;
      if (capability) {
        if (IsPushCapability(*capability, &scope)) {
          allowed_capabilities_.insert(scope.empty() ? "git.push" : Cat("git.push:", scope));
        } else {
          allowed_capabilities_.insert(*capability);
        }
        // The hook mapping names a tool decision "tool:<tool>:<command>".
        if (StartsWith(*capability, "tool:")) {
          const size_t colon = capability->find(':', 5);
          if (colon != std::string::npos) {
            allowed_commands_.insert(std::string(StripWhitespace(capability->substr(colon + 1))));
          }
        }
      }
      if (command) allowed_commands_.insert(*command);
    }
    return;
  }
  // tool.call: which push capabilities does it need?
  std::vector<std::string> needed;  // each alternative list joined for the message
  std::vector<std::vector<std::string>> alternatives;
  std::string scope;
  if (capability && IsPushCapability(*capability, &scope)) {
    alternatives.push_back(scope.empty()
                               ? std::vector<std::string>{"git.push"}
                               : std::vector<std::string>{Cat("git.push:", scope), "git.push"});
  }
  if (command) {
    for (const GitPush& push : FindGitPushes(*command)) {
      if (push.unscoped) alternatives.push_back({"git.push"});
      for (const std::string& branch : push.branches) {
        std::vector<std::string> alt = {Cat("git.push:", branch)};
        if (!push.remote.empty()) alt.push_back(Cat("git.push:", push.remote, "/", branch));
        alt.push_back("git.push");
        alternatives.push_back(std::move(alt));
      }
    }
  }
  if (alternatives.empty()) return;
  if (command && allowed_commands_.count(*command)) return;
  for (const std::vector<std::string>& alt : alternatives) {
    bool ok = false;
    for (const std::string& cap : alt) ok = ok || allowed_capabilities_.count(cap) > 0;
    if (ok) continue;
    std::string options;
    for (size_t k = 0; k < alt.size(); ++k) {
      if (k) options.append(k + 1 == alt.size() ? " or " : ", ");
      options.append(alt[k]);
    }
    PolicyViolation violation{
        seq, PolicyRule::kSensitiveCall, alt.front(),
        Cat("sensitive tool.call at seq ", seq, ": ", Describe(capability, command),
            " ran with no prior permission.decision allow (needs an allow for ", options, ")")};
    if (!explicit_allow_only_ && command) {
      // Hosts send PreToolUse before their permission request: wait for the
      // ask and the tool's result before calling it a violation.
      pending_calls_.push_back(PendingCall{std::move(violation), call_id, *command});
    } else {
      sensitive_.push_back(std::move(violation));
    }
    return;  // one finding per call
  }
}

std::vector<PolicyViolation> PolicyChecker::Finish() {
  std::vector<PendingDeny> denies = std::move(unnamed_denies_);
  for (auto& [key, list] : pending_denies_) {
    for (PendingDeny& d : list) denies.push_back(std::move(d));
  }
  std::sort(denies.begin(), denies.end(),
            [](const PendingDeny& a, const PendingDeny& b) { return a.seq < b.seq; });
  std::vector<PolicyViolation> out;
  for (PendingDeny& d : denies) {
    out.push_back(PolicyViolation{d.seq, PolicyRule::kUnresolvedDeny, d.capability,
                                  Cat("unresolved deny at seq ", d.seq, ": ", d.description,
                                      " was denied with no later allow")});
  }
  for (PendingCall& p : pending_calls_) sensitive_.push_back(std::move(p.violation));
  std::sort(sensitive_.begin(), sensitive_.end(),
            [](const PolicyViolation& a, const PolicyViolation& b) { return a.seq < b.seq; });
  for (PolicyViolation& v : sensitive_) out.push_back(std::move(v));
  std::sort(host_approvals_.begin(), host_approvals_.end(),
            [](const HostApproval& a, const HostApproval& b) { return a.call_seq < b.call_seq; });
  pending_denies_.clear();
  pending_calls_.clear();
  sensitive_.clear();
  return out;
}

absl::StatusOr<PolicyReport> CheckPolicy(const std::string& path, const PolicyOptions& options) {
  VerifyOptions verify_options;
  verify_options.allow_open = true;
  verify_options.threads = options.verify_threads;
  verify_options.max_issues = 1;
  // Two passes of the same bytes: verify reports the first half.
  if (options.progress) {
    verify_options.progress = [&options](uint64_t done, uint64_t total) {
      options.progress(done, 2 * total);
    };
  }
  absl::StatusOr<VerifyReport> verified = VerifyTrace(path, verify_options);
  if (!verified.ok()) return verified.status();
  if (!verified->valid) {
    std::string reason = verified->errors.empty() ? std::string("invalid trace")
                                                  : DescribeIssue(verified->errors.front());
    return absl::FailedPreconditionError(Cat("cannot check policy of ", path, ": ", reason,
                                             "; run `traceframe verify --file ", path,
                                             "` for details"));
  }
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  PolicyChecker checker(options.explicit_allow_only);
  PolicyReport report;
  report.path = path;
  report.open = verified->open;
  const uint64_t size = (*reader)->size();
  uint64_t reported = 0;
  TraceReader::ScanResult scan = (*reader)->ScanAll([&](const EventView& event) {
    ++report.events;
    checker.Observe(event.kind, event.seq, RawPayload(event.line));
    if (options.progress && event.byte_offset - reported >= internal::kProgressStep) {
      reported = event.byte_offset;
      options.progress(size + reported, 2 * size);
    }
    return true;
  });
  if (options.progress) options.progress(2 * size, 2 * size);
  if (scan.error) return absl::DataLossError(DescribeLineError(*scan.error));
  report.violations = checker.Finish();
  report.host_approvals = checker.host_approvals();
  return report;
}

}  // namespace traceframe
