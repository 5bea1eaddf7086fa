// hook ingest, hook install, policy-check.
//
// `hook ingest` runs inside agent hosts on every tool call: it never exits 2
// (hosts read 2 as "block the tool call"), never writes to stdout (some hosts
// inject hook stdout into the model's context) and says what it did on
// stderr, one line, unless --quiet.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_split.h"
#include "cli.h"
#include "progress.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/policy.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

int HookIngest(const HookIngestOptions& options, bool quiet) {
  absl::StatusOr<std::string> input = ReadHookInput(STDIN_FILENO);
  if (!input.ok()) return ReportError(input.status());
  absl::StatusOr<HookIngestResult> result = IngestHookPayload(*input, options);
  if (!result.ok()) return ReportError(result.status());
  if (quiet) return kExitOk;
  std::string line;
  for (const std::string& note : result->notes) Append(&line, "traceframe: note: ", note, "\n");
  if (result->ignored) {
    Append(&line, "traceframe: ignored ", result->ignored_reason, "\n");
  } else {
    std::string events;
    for (const AppendedEvent& e : result->events) {
      if (!events.empty()) events.append(", ");
      Append(&events, EventKindName(e.kind), "#", e.seq);
    }
    if (events.empty()) events = result->created ? "run.started#0" : "(nothing to append)";
    Append(&line, events, " -> ", result->path);
    if (result->resumed_from) Append(&line, " (continues ", *result->resumed_from, ")");
    line.push_back('\n');
  }
  WriteStderr(line);
  return kExitOk;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(ToAbsl(text), ',')) {
    const std::string_view word = StripWhitespace(ToStd(part));
    if (!word.empty()) out.emplace_back(word);
  }
  return out;
}

int HookInstall(HookInstallOptions requested, bool file_given) {
  absl::StatusOr<HookInstallOptions> resolved = ResolveHookInstall(requested, file_given, ".");
  if (!resolved.ok()) return ReportError(resolved.status());
  HookInstallOptions options = *std::move(resolved);
  options.source = NormalizeSource(options.source);
  absl::StatusOr<HookInstallResult> result = InstallHooks(options);
  if (!result.ok()) return ReportError(result.status());
  const std::string format(HookFileFormatName(result->format));
  const std::string host = HookHostNote(options);
  if (options.print) {
    // The snippet alone on stdout, so `hook install --print > file` or `| jq`
    // works; the explanation goes to stderr.
    PrintBlock(stderr, "hook install (print)",
               {{"file", options.file},
                {"format", format},
                {"host", host},
                {"command", result->command},
                {"note",
                 "paste this into the host's hooks/settings file; traceframe writes nothing in "
                 "--print mode"}});
    WriteStdout(result->json);
    return kExitOk;
  }
  PrintBlock(stdout, "hook install",
             {{"file", options.file},
              {"format", format},
              {"host", host},
              {"command", result->command},
              {"result", result->result}});
  return kExitOk;
}

std::string ViolationJson(const PolicyViolation& v) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("seq", v.seq).String("rule", PolicyRuleName(v.rule));
  if (v.capability.empty()) {
    w.Null("capability");
  } else {
    w.String("capability", v.capability);
  }
  w.String("message", v.message);
  w.Finish();
  return out;
}

std::string HostApprovalJson(const HostApproval& a) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("seq", a.call_seq).Uint("ask_seq", a.ask_seq).Uint("result_seq", a.result_seq);
  w.String("capability", a.capability).String("message", a.message);
  w.Finish();
  return out;
}

int PolicyCheck(const std::string& file, bool json, bool explicit_allow_only, size_t max_errors) {
  PolicyOptions options;
  options.explicit_allow_only = explicit_allow_only;
  ProgressLine progress(Cat("policy-check ", file));
  options.progress = progress.Callback();
  absl::StatusOr<PolicyReport> report = CheckPolicy(file, options);
  progress.Clear();
  if (!report.ok()) return ReportError(report.status());
  if (json) {
    std::string out;
    JsonObjectWriter w(&out);
    w.String("file", file).Bool("clean", report->violations.empty());
    w.Bool("open", report->open).Uint("events", report->events);
    w.Uint("violation_count", report->violations.size());
    std::string list = "[";
    for (size_t i = 0; i < report->violations.size(); ++i) {
      if (i) list.push_back(',');
      list.append(ViolationJson(report->violations[i]));
    }
    list.push_back(']');
    w.Raw("violations", list);
    // Calls the host asked about and then ran: approved by the host, not
    // by an explicit allow (docs/hooks.md "Policy rules").
    std::string approvals = "[";
    for (size_t i = 0; i < report->host_approvals.size(); ++i) {
      if (i) approvals.push_back(',');
      approvals.append(HostApprovalJson(report->host_approvals[i]));
    }
    approvals.push_back(']');
    w.Raw("approved_by_host", approvals);
    w.Finish();
    out.push_back('\n');
    WriteStdout(out);
    return report->violations.empty() ? kExitOk : kExitFailed;
  }
  std::vector<Field> fields = {{"file", file}};
  if (!report->host_approvals.empty()) {
    fields.push_back({"approved", Cat(report->host_approvals.size(),
                                      " call(s) approved by the host (asked, then ran)")});
  }
  std::string approvals;
  for (const HostApproval& a : report->host_approvals) {
    Append(&approvals, "  approved by host: ", a.message, "\n");
  }
  if (report->violations.empty()) {
    fields.push_back({"result", "clean"});
    WriteStdout(FormatBlock("policy-check", fields) + approvals);
    return kExitOk;
  }
  std::fflush(stdout);
  fields.push_back({"result", Cat(report->violations.size(), " violation(s)")});
  std::string text = FormatBlock("policy-check", fields);
  // A large trace can break the rules tens of thousands of times: the first
  // ones show what is wrong, the count says how much (the verdict is the same).
  const size_t shown =
      max_errors == 0 ? report->violations.size() : std::min(max_errors, report->violations.size());
  for (size_t i = 0; i < shown; ++i) Append(&text, "  - ", report->violations[i].message, "\n");
  if (shown < report->violations.size()) {
    Append(&text, "  ... ", report->violations.size() - shown,
           " more (--max-errors 0 lists them all; --json gives every one)\n");
  }
  text.append(approvals);
  WriteStderr(text);
  return kExitFailed;
}

void Install(CLI::App& app, Action& action) {
  auto* hook = app.add_subcommand("hook", "Record host hook events and wire hosts to traceframe");
  hook->require_subcommand(1);
  // ---- hook ingest
  {
    AddCommand(
        hook, "ingest",
        "Append a host hook payload (JSON on stdin) to a trace. Never exits 2, never "
        "writes to stdout.",
        [&action](CLI::App* cmd) {
          auto options = std::make_shared<HookIngestOptions>();
          auto quiet = std::make_shared<bool>(false);
          cmd->add_option_function<std::string>(
              "--file", [options](const std::string& f) { options->file = f; }, "Trace file");
          cmd->add_option_function<std::string>(
              "--dir", [options](const std::string& d) { options->dir = d; },
              "Directory of traces: <dir>/<run id>.traceframe, created on first use");
          cmd->add_flag("--init-if-missing", options->init_if_missing,
                        "With --file: create the trace if it does not exist");
          cmd->add_option("--source", options->source, "Label stored in every event")
              ->capture_default_str();
          cmd->add_option_function<std::string>(
              "--run-id", [options](const std::string& r) { options->run_id = r; },
              "Run id instead of the one derived from the session id");
          cmd->add_flag("--strict", options->strict,
                        "Fail (exit 1) on events with no trace meaning instead of ignoring them");
          cmd->add_flag("--quiet", *quiet, "No confirmation on stderr");
          auto label_args = std::make_shared<std::vector<std::string>>();
          AddLabelOption(cmd, label_args.get());
          auto no_sync = std::make_shared<bool>(false);
          cmd->add_flag(
              "--no-sync", *no_sync,
              "Skip fdatasync after the append (faster on slow disks; a crash may lose the "
              "last events)");
          cmd->callback([=, &action] {
            const Labels labels = ParseLabelsOrThrow(*label_args);
            action = [=] {
              HookIngestOptions copy = *options;
              copy.labels = labels;
              if (*no_sync) copy.write.sync = false;
              return HookIngest(copy, *quiet);
            };
          });
        });
  }
  // ---- hook install
  {
    AddCommand(
        hook, "install",
        "Wire `traceframe hook ingest` into a hooks/settings JSON file (idempotent)",
        [&action](CLI::App* cmd) {
          auto options = std::make_shared<HookInstallOptions>();
          auto events = std::make_shared<std::optional<std::string>>();
          auto format = std::make_shared<std::string>("auto");
          auto file_given = std::make_shared<bool>(false);
          cmd->add_option_function<std::string>(
                 "--host", [options](const std::string& h) { options->host = ParseHookHost(h); },
                 "Host to wire: writes .claude/settings.json, .codex/hooks.json or "
                 ".cursor/hooks.json "
                 "in its shape with its session events (default: detected from the .claude/, "
                 ".codex/ "
                 "or .cursor/ directory here)")
              ->check(CLI::IsMember({"claude-code", "codex", "cursor"}));
          cmd->add_option_function<std::string>(
              "--file",
              [options, file_given](const std::string& f) {
                options->file = f;
                *file_given = true;
              },
              "Hooks file to write instead of the host's (e.g. .agent/hooks.json, read by no host "
              "by itself)");
          cmd->add_option(
                 "--format", *format,
                 "Hooks file shape: claude (Claude Code / Codex), cursor (flat Cursor "
                 "hooks.json), or auto (cursor for a .cursor directory or a file already in "
                 "Cursor's shape)")
              ->check(CLI::IsMember({"auto", "claude", "cursor"}))
              ->capture_default_str();
          cmd->add_option("--source", options->source, "--source label for the wired command")
              ->capture_default_str();
          cmd->add_option_function<std::string>(
              "--run-id", [options](const std::string& r) { options->run_id = r; },
              "Pin every event to one run id");
          cmd->add_option("--matcher", options->matcher,
                          "Tool matcher for Claude Code / Codex tool events (not used for Cursor)")
              ->capture_default_str();
          cmd->add_option_function<std::string>(
              "--events", [events](const std::string& e) { *events = e; },
              "Comma-separated host events to wire, in the host's names (unknown names are an "
              "error). Default: a whole session (Claude Code: SessionStart,PreToolUse,PostToolUse,"
              "PostToolUseFailure,PermissionRequest,PermissionDenied,SessionEnd; Codex: "
              "SessionStart,"
              "PreToolUse,PostToolUse,PermissionRequest,SessionEnd; Cursor: "
              "sessionStart,preToolUse,"
              "postToolUse,sessionEnd)");
          cmd->add_option("--dir", options->dir,
                          "Trace directory for the wired command, made absolute (under "
                          "$CLAUDE_PROJECT_DIR for Claude Code)")
              ->capture_default_str();
          cmd->add_flag("--print", options->print, "Print the snippet; read and write nothing");
          auto label_args = std::make_shared<std::vector<std::string>>();
          AddLabelOption(cmd, label_args.get());
          cmd->callback([=, &action] {
            const Labels labels = ParseLabelsOrThrow(*label_args);
            action = [=] {
              HookInstallOptions copy = *options;
              copy.labels = labels;
              copy.format = ParseHookFileFormat(*format).value_or(HookFileFormat::kAuto);
              if (events->has_value()) {
                copy.events = SplitList(**events);
                if (copy.events.empty())
                  return ReportError("--events needs at least one event name");
              }
              return HookInstall(copy, *file_given);
            };
          });
        });
  }
  // ---- policy-check
  {
    AddCommand(&app, "policy-check",
               "Check a trace's permission evidence: unresolved denies, sensitive calls "
               "without an allow (open traces are checked too)",
               [&action](CLI::App* cmd) {
                 auto file = std::make_shared<std::string>();
                 auto allow_open = std::make_shared<bool>(false);
                 auto json = std::make_shared<bool>(false);
                 cmd->add_option("--file", *file, "Trace file")->required();
                 cmd->add_flag("--allow-open", *allow_open,
                               "Accepted for compatibility; open traces are always checked");
                 cmd->add_flag("--json", *json,
                               "Print the verdict and violations as JSON on stdout");
                 auto explicit_only = std::make_shared<bool>(false);
                 cmd->add_flag(
                     "--explicit-allow-only", *explicit_only,
                     "Only a permission.decision allow permits a sensitive call; a host's "
                     "permission request followed by the tool running does not count as approval");
                 auto max_errors = std::make_shared<size_t>(20);
                 cmd->add_option("--max-errors", *max_errors,
                                 "How many violations to print (0: all); the verdict and --json "
                                 "are not cut")
                     ->check(NonNegative())
                     ->capture_default_str();
                 // allow_open is captured only to keep the flag's storage alive while
                 // CLI11 writes to it; it changes nothing.
                 cmd->callback([file, json, allow_open, explicit_only, max_errors, &action] {
                   action = [file, json, explicit_only, max_errors] {
                     return PolicyCheck(*file, *json, *explicit_only, *max_errors);
                   };
                 });
               });
  }
}

const CommandGroup kHookCommands(40, {"hook", "policy-check"}, Install);

}  // namespace
}  // namespace traceframe::cli
