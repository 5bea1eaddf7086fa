// render: one self-contained HTML page for a trace.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli.h"
#include "progress.h"
#include "traceframe/render.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

void Install(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "render", "Write a trace as one self-contained HTML page (no scripts, works offline)");
  auto file = std::make_shared<std::string>();
  auto html = std::make_shared<std::string>();
  cmd->add_option("--file", *file, "Trace file")->required();
  cmd->add_option("--html", *html, "HTML file to write (atomically)")->required();
  cmd->callback([=, &action] {
    action = [=]() -> int {
      ProgressLine progress(Cat("rendering ", *file));
      RenderOptions options;
      options.progress = progress.Callback();
      absl::StatusOr<RenderStats> stats = RenderTraceToFile(*file, *html, options);
      progress.Clear();
      if (!stats.ok()) return ReportError(stats.status());
      std::vector<Field> fields = {
          {"file", *file}, {"html", *html}, {"events", Cat(stats->events)}};
      if (stats->omitted > 0) {
        fields.push_back({"shown", Cat(stats->shown)});
        fields.push_back({"omitted", Cat(stats->omitted, " (listed with `traceframe inspect`)")});
      }
      PrintBlock(stdout, "render", fields);
      return kExitOk;
    };
  });
}

const CommandGroup kRenderCommands(50, {"render"}, Install);

}  // namespace
}  // namespace traceframe::cli
