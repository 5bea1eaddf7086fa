// Entry point: wires the registered command groups into one CLI11 app.
#include <algorithm>
#include <csignal>
#include <cstring>

#include "cli.h"
#include "traceframe/str_util.h"
#include "traceframe/version.h"

namespace {

constexpr char kVersion[] = "traceframe " TRACEFRAME_VERSION;

// `hook ingest` runs inside agent hosts, which read exit code 2 as "block the
// action": its usage errors must exit 1 instead.
bool IsHookIngest(int argc, char** argv) {
  int words = 0;
  for (int i = 1; i < argc && words < 2; ++i) {
    if (argv[i][0] == '-') continue;
    if (words == 0 && std::strcmp(argv[i], "hook") != 0) return false;
    if (words == 1) return std::strcmp(argv[i], "ingest") == 0;
    ++words;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must not kill us before the trace is written.
  std::signal(SIGPIPE, SIG_IGN);
  // Past the file size limit (ulimit -f), fail the write with EFBIG and say
  // so, instead of being killed with the trace's last write half done.
  std::signal(SIGXFSZ, SIG_IGN);
  namespace cli = traceframe::cli;
  CLI::App app{
      "traceframe: record what AI agents actually do as append-only, verifiable trace files",
      "traceframe"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);
  cli::Action action;
  auto groups = cli::CommandGroups();
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  // Only the group of the command being run (see cli.h); all of them when
  // argv[1] names no known command (help, a typo: the full list is needed).
  const std::string_view command = argc > 1 ? argv[1] : "";
  auto runs_command = [&](const cli::CommandGroupInfo& group) {
    return std::find(group.commands.begin(), group.commands.end(), command) != group.commands.end();
  };
  const bool known = std::any_of(groups.begin(), groups.end(), runs_command);
  for (const cli::CommandGroupInfo& group : groups) {
    if (!known || runs_command(group)) group.install(app, action);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return IsHookIngest(argc, argv) ? cli::kExitFailed : cli::kExitUsage;
  }
  if (!action) return cli::kExitUsage;
  return action();
}
