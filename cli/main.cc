// Entry point: wires the registered command groups into one CLI11 app.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "cli.h"
#include "traceframe/str_util.h"
#include "traceframe/version.h"

namespace {

constexpr char kVersion[] = "traceframe " TRACEFRAME_VERSION;

// `hook ...` runs inside agent hosts, which read exit code 2 as "block the
// action": a typo in a hooks file (`hook ingst`) or a bare `hook` would block
// every tool call. The whole group's usage errors exit 1 instead.
bool IsHookCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    return std::strcmp(argv[i], "hook") == 0;
  }
  return false;
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
    return IsHookCommand(argc, argv) ? cli::kExitFailed : cli::kExitUsage;
  }
  if (!action) return IsHookCommand(argc, argv) ? cli::kExitFailed : cli::kExitUsage;
  return action();
}
