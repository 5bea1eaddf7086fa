// The traceframe CLI: argument parsing (CLI11) and output formatting only.
// Every behavior lives in the engine (engine/include/traceframe/).
//
// Command groups register themselves from their own .cc file with a static
// CommandGroup object, so adding a group touches no shared file.
#ifndef TRACEFRAME_CLI_CLI_H_
#define TRACEFRAME_CLI_CLI_H_

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "traceframe/labels.h"

namespace traceframe::cli {

// Set by the subcommand that was selected; returns the process exit code.
using Action = std::function<int()>;

using Installer = void (*)(CLI::App& app, Action& action);

// A group of top-level commands, installed in `order` (the help's order).
// `commands` names the top-level commands the installer adds: main installs
// only the group of the command being run (start-up is most of a `hook
// ingest` call, and building every command's options is a good part of it),
// and every group for anything else (help, a typo). A command missing from
// the list still works, through that fallback, just slower to start.
struct CommandGroupInfo {
  int order;
  std::vector<std::string_view> commands;
  Installer install;
};

struct CommandGroup {
  CommandGroup(int order, std::initializer_list<std::string_view> commands, Installer installer);
};

std::vector<CommandGroupInfo>& CommandGroups();

// Adds the command `name` to `parent` now and its options later: `define`
// runs when the parser enters the command (CLI11's pre-parse callback), so a
// process builds the options of the command it runs and of no other (start-up
// is most of a `hook ingest` call). `--help`, the usage errors and their
// closest-match hints see the same options: they are about the command
// entered. `define` also sets the command's callback.
CLI::App* AddCommand(CLI::App* parent, std::string name, std::string description,
                     std::function<void(CLI::App*)> define);

// Exit codes (docs: README "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

using Field = std::pair<std::string, std::string>;

// The action block of the earlier tool:
//   traceframe <title>\n  <label padded to 11> <value>\n ... \n
std::string FormatBlock(std::string_view title, const std::vector<Field>& fields);
void PrintBlock(FILE* stream, std::string_view title, const std::vector<Field>& fields);

// Writes `text` to stderr, control bytes shown as \xNN (messages quote
// paths and payloads; a raw escape sequence would drive the terminal).
void WriteStderr(std::string_view text);

// "Error: <message>" on stderr; returns kExitFailed.
int ReportError(const absl::Status& status);
int ReportError(std::string_view message);

// `--label K=V`, repeatable (traceframe/labels.h). Each occurrence takes
// exactly one value, so `run`'s trailing command is never read as labels.
void AddLabelOption(CLI::App* cmd, std::vector<std::string>* labels);

// For counts, sizes and thread numbers: refuses a negative value as a usage
// error ("--limit: must not be negative: -1") before CLI11 converts it
// (an unsigned option would otherwise wrap -1 to 2^64 - 1).
const CLI::Validator& NonNegative();

// The collected --label values; a bad one throws CLI::ValidationError, a
// usage error (exit 2; hook ingest, which never exits 2, exits 1). Call it
// from the subcommand's callback.
Labels ParseLabelsOrThrow(const std::vector<std::string>& args);

// Writes all of `text` to stdout; a closed stdout (EPIPE) is not an error.
void WriteStdout(std::string_view text);

}  // namespace traceframe::cli

#endif  // TRACEFRAME_CLI_CLI_H_
