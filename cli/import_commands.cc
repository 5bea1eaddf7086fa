// import: host transcripts (Claude Code, Codex CLI) become traces
// (docs/import.md). Parsing and output only; the mapping is the engine's
// (traceframe/import.h).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "progress.h"
#include "traceframe/import.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

struct ImportArgs {
  std::string input;
  std::string format = "auto";
  std::string file;
  std::string dir = ".traceframe/runs";
  std::string run_id;
  std::string source;
  std::vector<std::string> labels;
  bool force = false;
  bool json = false;
};

std::string SessionJson(const ImportedSession& s) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("input", s.input).String("state", s.state);
  if (!s.error.empty()) w.String("error", s.error);
  if (!s.trace_path.empty()) w.String("trace", s.trace_path);
  if (!s.run_id.empty()) w.String("run_id", s.run_id);
  if (!s.format.empty()) w.String("format", s.format);
  if (!s.parent_run_id.empty()) w.String("parent_run_id", s.parent_run_id);
  if (s.state == "imported") {
    w.Uint("lines", s.lines).Uint("events", s.events).Uint("model_calls", s.model_calls);
    w.Uint("compactions", s.compactions).Uint("tool_calls", s.tool_calls);
    w.Uint("tool_results", s.tool_results).Uint("tool_failures", s.tool_failures);
    w.Uint("errors", s.errors).Raw("usage", UsageJson(s.usage));
    w.Bool("cut_off_tail", s.cut_off_tail).Uint("skipped_line_count", s.skipped_line_count);
    std::string skipped = "[";
    for (size_t i = 0; i < s.skipped_lines.size(); ++i) {
      if (i) skipped.push_back(',');
      JsonObjectWriter sw(&skipped);
      sw.Uint("line", s.skipped_lines[i].line).String("reason", s.skipped_lines[i].reason);
      sw.Finish();
    }
    skipped.push_back(']');
    w.Raw("skipped_lines", skipped);
  }
  w.Finish();
  return out;
}

std::string ReportJson(const std::string& input, const ImportReport& r) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("input", input).Uint("imported", r.imported).Uint("skipped", r.skipped);
  w.Uint("failed", r.failed);
  std::string sessions = "[";
  for (size_t i = 0; i < r.sessions.size(); ++i) {
    if (i) sessions.push_back(',');
    sessions.append(SessionJson(r.sessions[i]));
  }
  sessions.push_back(']');
  w.Raw("sessions", sessions);
  w.Finish();
  out.push_back('\n');
  return out;
}

int Run(const ImportArgs& args) {
  absl::StatusOr<ImportFormat> format = ParseImportFormat(args.format);
  if (!format.ok()) return ReportError(format.status());
  ImportOptions options;
  options.format = *format;
  options.out_file = args.file;
  options.out_dir = args.dir;
  options.run_id = args.run_id;
  options.source = args.source;
  options.force = args.force;
  for (const std::string& label : args.labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "Error: --label wants KEY=VALUE, got `%s`\n", label.c_str());
      return kExitUsage;
    }
    options.labels.emplace_back(label.substr(0, eq), label.substr(eq + 1));
  }
  ProgressLine progress("importing", "sessions");
  if (auto fn = progress.Callback()) {
    options.progress = [fn](size_t done, size_t total) { fn(done, total); };
  }
  absl::StatusOr<ImportReport> report = ImportTranscripts(args.input, options);
  progress.Clear();
  if (!report.ok()) return ReportError(report.status());
  if (args.json) {
    WriteStdout(ReportJson(args.input, *report));
  } else {
    std::vector<Field> fields = {{"input", args.input},
                                 {"imported", Cat(report->imported)},
                                 {"skipped", Cat(report->skipped, " (current)")},
                                 {"failed", Cat(report->failed)}};
    if (report->sessions.size() == 1 && report->sessions[0].state == "imported") {
      const ImportedSession& s = report->sessions[0];
      fields.push_back({"trace", s.trace_path});
      fields.push_back({"run_id", s.run_id});
      fields.push_back({"format", s.format});
      fields.push_back({"events", Cat(s.events)});
      fields.push_back({"model_calls", Cat(s.model_calls)});
      fields.push_back({"tool_calls", Cat(s.tool_calls, " (", s.tool_failures, " failed)")});
      if (s.skipped_line_count > 0) {
        fields.push_back({"unread", Cat(s.skipped_line_count, " lines (see --json)")});
      }
    } else if (report->sessions.size() == 1 && report->sessions[0].state == "skipped") {
      fields.push_back({"trace", report->sessions[0].trace_path});
    } else {
      fields.push_back({"dir", args.dir});
    }
    PrintBlock(stdout, "import", fields);
    for (const ImportedSession& s : report->sessions) {
      if (s.state == "failed")
        std::fprintf(stderr, "failed: %s: %s\n", s.input.c_str(), s.error.c_str());
    }
  }
  return report->failed > 0 ? kExitFailed : kExitOk;
}

void Install(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "import", "Import Claude Code or Codex transcripts as traces (one per session)");
  auto args = std::make_shared<ImportArgs>();
  cmd->add_option("--input", args->input, "A transcript file, or a directory walked for *.jsonl")
      ->required();
  cmd->add_option("--format", args->format, "auto (default), claude-code or codex");
  auto* file = cmd->add_option("--file", args->file, "Trace to write (a single transcript only)");
  cmd->add_option("--dir", args->dir, "Directory for run-<session>.traceframe files")
      ->excludes(file);
  cmd->add_option("--run-id", args->run_id, "Run id (a single transcript only)");
  cmd->add_option("--source", args->source, "run.started source label (default: the format)");
  cmd->add_option("--label", args->labels, "KEY=VALUE stored in run.started labels (repeatable)");
  cmd->add_flag("--force", args->force, "Re-import current sessions and replace foreign traces");
  cmd->add_flag("--json", args->json, "Print the report as JSON (lists unread lines)");
  cmd->callback([args, &action] { action = [args] { return Run(*args); }; });
}

const CommandGroup kImportCommands(75, {"import"}, Install);

}  // namespace
}  // namespace traceframe::cli
