// exec and run: record a command as tool.call + tool.result (docs/exec.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "traceframe/command.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

constexpr char kCommandFooter[] =
    "The command starts at the first word that is not one of the options above; every word "
    "after it belongs to the command, flags included. `--` before it is optional. traceframe "
    "exits with the command's exit code (128+N when a signal N killed it).";

// Declares the trailing command. CLI11 collects everything from the first
// positional word on (prefix_command); the COMMAND positional exists for the
// help text and so that a leading `--` is accepted: it rejects every value,
// which sends the words to remaining() unparsed.
void AddTrailingCommand(CLI::App* cmd) {
  cmd->prefix_command();
  cmd->validate_positionals();
  cmd->add_option(
         "COMMAND", [](const CLI::results_t&) { return true; },
         "The command to run and its arguments")
      ->check([](const std::string&) { return std::string("belongs to the command"); });
  cmd->footer(kCommandFooter);
}

// The command words, or a usage error (exit 2).
std::vector<std::string> TrailingCommand(CLI::App* cmd) {
  std::vector<std::string> words = cmd->remaining();
  bool marked = false;
  if (!words.empty() && words.front() == "--") {
    words.erase(words.begin());
    marked = true;
  }
  if (words.empty()) {
    throw CLI::ValidationError("COMMAND", Cat("missing the command to run: traceframe ",
                                              cmd->get_name(), " [OPTIONS] [--] CMD ARGS..."));
  }
  // Without `--`, a leading unknown flag is a mistyped option, not a command.
  if (!marked && words.front().size() > 1 && words.front()[0] == '-') {
    throw CLI::ValidationError(words.front(),
                               "unknown option; put the command after `--` if it starts with '-'");
  }
  return words;
}

void PrintExecBlock(const std::string& file, const ExecRecord& record) {
  const CommandOutcome& o = record.outcome;
  std::vector<Field> fields = {{"file", file},
                               {"command", record.command},
                               {"result", o.success() ? "success" : "failed"},
                               {"exit_code", Cat(record.exit_code)}};
  if (o.signal) fields.push_back({"signal", Cat(*o.signal, " (", SignalName(*o.signal), ")")});
  if (o.received_signal) fields.push_back({"interrupted", SignalName(*o.received_signal)});
  fields.push_back({"duration_ms", Cat(o.duration_ms)});
  fields.push_back(
      {"events", Cat("tool.call#", record.call_seq, " -> tool.result#", record.result_seq)});
  PrintBlock(stderr, "exec", fields);
}

std::string SpawnFailure(const ExecRecord& record) {
  return Cat("failed to execute command: ", record.command, ": ", record.outcome.spawn_error);
}

void Install(CLI::App& app, Action& action) {
  // ---- exec
  {
    auto* cmd = app.add_subcommand(
        "exec", "Run a command in an open trace, recording tool.call and tool.result");
    auto file = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Trace file (must exist and be open)")->required();
    AddTrailingCommand(cmd);
    cmd->callback([=, &action] {
      std::vector<std::string> argv = TrailingCommand(cmd);
      action = [=]() -> int {
        std::fflush(stdout);  // the child writes to our descriptor directly
        absl::StatusOr<ExecRecord> record = ExecTrace(*file, argv);
        if (!record.ok()) return ReportError(record.status());
        if (!record->outcome.spawned) {
          ReportError(SpawnFailure(*record));
          return record->exit_code;
        }
        PrintExecBlock(*file, *record);
        return record->exit_code;
      };
    });
  }
  // ---- run
  {
    auto* cmd = app.add_subcommand(
        "run", "Create a trace, run a command in it (as exec does), then finish the run");
    auto file = std::make_shared<std::string>();
    auto run_id = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto quiet = std::make_shared<bool>(false);
    cmd->add_option("--file", *file,
                    "Trace file to create (default: .traceframe/runs/<run_id>.traceframe)");
    cmd->add_option("--run-id", *run_id,
                    "Run id (default: UTC time to the ms, a random part and the command name)");
    cmd->add_flag("--force", *force, "Atomically replace an existing trace at --file/--run-id");
    cmd->add_flag("--quiet", *quiet,
                  "No run/exec/finish blocks on stderr (errors are still reported)");
    auto label_args = std::make_shared<std::vector<std::string>>();
    AddLabelOption(cmd, label_args.get());
    AddTrailingCommand(cmd);
    cmd->callback([=, &action] {
      std::vector<std::string> argv = TrailingCommand(cmd);
      const Labels labels = ParseLabelsOrThrow(*label_args);
      action = [=]() -> int {
        // Every traceframe line goes to stderr: stdout belongs to the wrapped
        // command, byte for byte, so `run -- cmd | jq` works (docs/exec.md).
        const bool loud = !*quiet;
        RunOptions options;
        options.labels = labels;
        options.path = *file;
        options.run_id = *run_id;
        options.force = *force;
        options.on_started = [loud](const std::string& path, const std::string& id,
                                    const std::string& command) {
          if (!loud) return;
          PrintBlock(stderr, "run", {{"file", path}, {"run_id", id}, {"command", command}});
          std::fflush(stderr);  // before the child's output, which bypasses stdio
        };
        std::fflush(stdout);  // the child writes to our descriptor directly
        absl::StatusOr<RunRecord> record = RunTrace(argv, options);
        if (!record.ok()) return ReportError(record.status());
        if (loud && record->exec && record->exec->outcome.spawned) {
          PrintExecBlock(record->path, *record->exec);
        }
        if (loud && record->finish_seq) {
          PrintBlock(stderr, "finish",
                     {{"file", record->path},
                      {"status", record->finish_status},
                      {"seq", Cat(*record->finish_seq)}});
        }
        if (!record->exec_status.ok()) {
          ReportError(record->exec_status);
        } else if (!record->exec->outcome.spawned) {
          ReportError(SpawnFailure(*record->exec));
        }
        if (!record->finish_error.ok()) {
          ReportError(Cat("failed to finish the run: ", ToStd(record->finish_error.message())));
        }
        return record->exit_code;
      };
    });
  }
}

const CommandGroup kExecCommands(20, {"exec", "run"}, Install);

}  // namespace
}  // namespace traceframe::cli
