// Entry point: wires the registered command groups into one CLI11 app, and
// applies the conventions every command shares: `help <command>`, `-V`, an
// example in each --help, a closest-match hint for unknown commands and
// options, and exit code 2 for usage errors (1 in the `hook` group).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "traceframe/str_util.h"
#include "traceframe/version.h"

namespace {

constexpr char kVersion[] = "traceframe " TRACEFRAME_VERSION;

// Every subcommand (CLI11 lists only the parsed ones without a filter).
const std::function<bool(CLI::App*)> kAllSubcommands;

// One example per command, shown at the end of its --help.
struct HelpExample {
  const char* path;  // "verify", "hook ingest"
  const char* example;
};
constexpr HelpExample kExamples[] = {
    {"init", "traceframe init --file run.traceframe --run-id run-1"},
    {"record",
     "traceframe record --file run.traceframe --kind model.call --payload "
     "'{\"model\":\"m\"}'"},
    {"finish", "traceframe finish --file run.traceframe --status success"},
    {"verify", "traceframe verify --file run.traceframe --json"},
    {"summary", "traceframe summary --file run.traceframe"},
    {"inspect", "traceframe inspect --file run.traceframe --kind tool.call --limit 10"},
    {"repair", "traceframe repair --file run.traceframe"},
    {"exec", "traceframe exec --file run.traceframe -- make test"},
    {"run", "traceframe run -- make test"},
    {"hook", "traceframe hook install --format claude --file .claude/settings.json"},
    {"hook ingest", "traceframe hook ingest --source claude --dir .traceframe/runs < payload.json"},
    {"hook install", "traceframe hook install --format claude --file .claude/settings.json"},
    {"policy-check", "traceframe policy-check --file run.traceframe --json"},
    {"render", "traceframe render --file run.traceframe --html run.html"},
    {"index", "traceframe index check --file run.traceframe"},
    {"index rebuild", "traceframe index rebuild --file run.traceframe"},
    {"index check", "traceframe index check --file run.traceframe --json"},
    {"ledger", "traceframe ledger rebuild && traceframe ledger list"},
    {"ledger rebuild", "traceframe ledger rebuild --dir .traceframe/runs"},
    {"ledger list", "traceframe ledger list --status failed"},
    {"ledger show", "traceframe ledger show --run-id run-1 --json"},
};

void AddExamples(CLI::App* app, const std::string& path) {
  for (CLI::App* sub : app->get_subcommands(kAllSubcommands)) {
    const std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    for (const HelpExample& e : kExamples) {
      if (sub_path == e.path) sub->footer(std::string("Example:\n  ") + e.example);
    }
    AddExamples(sub, sub_path);
  }
}

// The first word that is not an option: the command.
std::string_view FirstWord(const std::vector<char*>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i][0] != '-') return args[i];
  }
  return {};
}

// Agent hosts read exit code 2 from a hook command as "block the tool call":
// every usage error of the `hook` group exits 1 instead.
bool IsHookGroup(const std::vector<char*>& args) { return FirstWord(args) == "hook"; }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word`, if it is close enough to be a typo.
std::string Closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

// Every usage error: `Error: ...`, the hint, and exit 2 (1 in the hook group).
int PrintUsageError(const std::string& message, bool hook_group) {
  std::fprintf(stderr, "Error: %s\nRun with --help for more information.\n", message.c_str());
  return hook_group ? traceframe::cli::kExitFailed : traceframe::cli::kExitUsage;
}

int UsageError(const std::string& what, std::string_view word, const std::string& suggestion,
               bool hook_group) {
  std::string message = traceframe::Cat("unknown ", what, " \"", word, "\"");
  if (!suggestion.empty()) traceframe::Append(&message, " (did you mean \"", suggestion, "\"?)");
  return PrintUsageError(message, hook_group);
}

// After an ExtrasError: names the first unexpected word of the deepest
// command parsed, with the closest option or subcommand it may have meant.
// Returns -1 when there is nothing to suggest from.
int UnknownWordError(CLI::App& app, bool extras_error, bool hook_group) {
  CLI::App* cur = &app;
  while (!cur->get_subcommands().empty()) cur = cur->get_subcommands().front();
  // Other errors (a missing required option, exec's missing command) keep
  // their own text unless a mistyped subcommand left a group without one.
  if (!extras_error && cur->get_subcommands(kAllSubcommands).empty()) return -1;
  std::vector<std::string> extras = cur->remaining();
  if (extras.empty() || extras.front() == "--") return -1;
  const std::string word = extras.front();
  std::vector<std::string> candidates;
  if (!word.empty() && word[0] == '-') {
    const std::string name = word.substr(0, word.find('='));
    for (const CLI::Option* opt : cur->get_options()) {
      for (const std::string& l : opt->get_lnames()) candidates.push_back("--" + l);
      for (const std::string& s : opt->get_snames()) candidates.push_back("-" + s);
    }
    return UsageError("option", name, Closest(name, candidates), hook_group);
  }
  for (const CLI::App* sub : cur->get_subcommands(kAllSubcommands))
    candidates.push_back(sub->get_name());
  if (candidates.empty()) return -1;
  return UsageError("command", word, Closest(word, candidates), hook_group);
}

// Any other usage error, in the `Error: ...` style with the usage hint. A
// required option left out while a bare word was given (`verify
// run.traceframe`) names the word: it is almost always the value meant.
int OtherUsageError(CLI::App& app, const CLI::ParseError& error, bool hook_group) {
  std::string message = error.what();
  CLI::App* cur = &app;
  while (!cur->get_subcommands().empty()) cur = cur->get_subcommands().front();
  std::string stray;
  for (const std::string& word : cur->remaining()) {
    if (!word.empty() && word[0] != '-') {
      stray = word;
      break;
    }
  }
  if (!stray.empty()) {
    for (const CLI::Option* opt : cur->get_options()) {
      if (opt->get_required() && opt->count() == 0 && !opt->get_lnames().empty()) {
        traceframe::Append(&message, " (did you mean --", opt->get_lnames().front(), " ", stray,
                           "?)");
        break;
      }
    }
  }
  return PrintUsageError(message, hook_group);
}

// A process started with fd 0, 1 or 2 closed would hand those numbers to the
// next files and pipes it opens; a later write to "stderr" would then land in
// a trace or a signal pipe. Hold them on /dev/null (issue 11, SECURITY.md).
void ReopenClosedStdio() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ReopenClosedStdio();
  // A closed stdout must not kill us before the trace is written.
  std::signal(SIGPIPE, SIG_IGN);
  // Past the file size limit (ulimit -f), fail the write with EFBIG and say
  // so, instead of being killed with the trace's last write half done.
  std::signal(SIGXFSZ, SIG_IGN);
  namespace cli = traceframe::cli;
  // `traceframe help [command...]` is `traceframe [command...] --help`.
  std::vector<char*> args(argv, argv + argc);
  static char kHelpFlag[] = "--help";
  if (args.size() > 1 && std::strcmp(args[1], "help") == 0) {
    args.erase(args.begin() + 1);
    args.push_back(kHelpFlag);
  }
  const bool hook_group = IsHookGroup(args);
  // Never destroyed: freeing the tree's many small allocations at exit cost
  // ~0.1 M instructions per call, a few percent of a `hook ingest`. It is
  // reachable from this static until exit, so leak checkers do not count it.
  static CLI::App& app = *new CLI::App(
      "traceframe: record what AI agents actually do as append-only, verifiable trace files",
      "traceframe");
  app.set_version_flag("-V,--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);
  app.footer(
      "Example:\n  traceframe verify --file run.traceframe\n"
      "Run `traceframe help <command>` for a command's options.");
  cli::Action action;
  auto groups = cli::CommandGroups();
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  // Only the group of the command being run (see cli.h); all of them when
  // args[1] names no known command (help, a typo: the full list is needed),
  // none for -V/--version, which answers before any command is looked at.
  const std::string_view command = args.size() > 1 ? args[1] : "";
  const bool version = command == "-V" || command == "--version";
  auto runs_command = [&](const cli::CommandGroupInfo& group) {
    return std::find(group.commands.begin(), group.commands.end(), command) != group.commands.end();
  };
  const bool known = std::any_of(groups.begin(), groups.end(), runs_command);
  for (const cli::CommandGroupInfo& group : groups) {
    if (version) break;
    if (!known || runs_command(group)) group.install(app, action);
  }
  if (!known && !command.empty() && command[0] != '-') {
    std::vector<std::string> names;
    for (const cli::CommandGroupInfo& group : groups) {
      for (std::string_view name : group.commands) names.emplace_back(name);
    }
    return UsageError("command", command, Closest(command, names), hook_group);
  }
  AddExamples(&app, "");
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // An unexpected word (ExtrasError, or a missing subcommand that was
    // mistyped) gets a closest-match hint; other usage errors CLI11's text.
    const int code =
        UnknownWordError(app, dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr, hook_group);
    if (code >= 0) return code;
    return OtherUsageError(app, e, hook_group);
  }
  if (!action) return hook_group ? cli::kExitFailed : cli::kExitUsage;
  return action();
}
