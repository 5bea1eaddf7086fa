// ship: runs the `traceframe-ship` helper installed beside this binary
// (cli/ship/ship_main.cc). The HTTP client (libcurl) lives there so that this
// binary, started once per `hook ingest` call, never loads it.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

// The helper's path: beside the running binary (/proc/self/exe), as
// installed by `cmake --install` and as built in build/<preset>/cli/.
std::string HelperPath() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "traceframe-ship";
  std::string path(self, n);
  const size_t slash = path.rfind('/');
  return Cat(path.substr(0, slash + 1), "traceframe-ship");
}

void Install(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "ship",
      "Ship traces into ClickHouse incrementally (traceframe ship --help; docs/clickhouse.md)");
  // Every argument, --help included, belongs to the helper.
  cmd->prefix_command();
  cmd->set_help_flag();
  cmd->callback([cmd, &action] {
    auto args = std::make_shared<std::vector<std::string>>(cmd->remaining());
    action = [args]() -> int {
      const std::string helper = HelperPath();
      std::vector<char*> argv;
      std::string name = "traceframe-ship";
      argv.push_back(name.data());
      for (std::string& a : *args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::fflush(stdout);
      ::execv(helper.c_str(), argv.data());
      return ReportError(Cat("cannot run ", helper, ": ", std::strerror(errno),
                             " (`traceframe ship` needs the traceframe-ship helper installed "
                             "beside the traceframe binary)"));
    };
  });
}

const CommandGroup kGroup(90, {"ship"}, Install);

}  // namespace
}  // namespace traceframe::cli
