// index rebuild, index check: the sidecar index (<trace>.idx) for users and CI.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli.h"
#include "progress.h"
#include "traceframe/index.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

std::string Covered(const TraceIndex& index, uint64_t trace_bytes) {
  return Cat(index.facts.covered_bytes, " of ", trace_bytes, " bytes");
}

std::string CheckJson(const IndexCheckReport& r) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("file", r.trace_path)
      .String("index", r.index_path)
      .String("state", IndexStateName(r.state))
      .Bool("ok", r.ok());
  if (r.detail.empty()) {
    w.Null("detail");
  } else {
    w.String("detail", r.detail);
  }
  w.Uint("index_bytes", r.index_bytes).Uint("trace_bytes", r.trace_bytes);
  if (r.stored) {
    w.Raw("stored", FormatIndexJson(*r.stored));
  } else {
    w.Null("stored");
  }
  w.Raw("fresh", FormatIndexJson(r.fresh));
  w.Finish();
  out.push_back('\n');
  return out;
}

void Install(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand(
      "index", "The sidecar index (<trace>.idx): derived, rebuilt on demand, never authoritative");
  group->require_subcommand(1);
  // ---- index rebuild
  {
    auto* cmd = group->add_subcommand("rebuild", "Scan the trace and write a fresh index");
    auto file = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->callback([=, &action] {
      action = [=]() -> int {
        IndexBuildOptions options;
        ProgressLine progress(Cat("indexing ", *file));
        options.progress = progress.Callback();
        absl::StatusOr<TraceIndex> index = RebuildIndex(*file, options);
        progress.Clear();
        if (!index.ok()) return ReportError(index.status());
        struct stat st;
        const std::string index_path = IndexPathFor(*file);
        const uint64_t index_size =
            ::stat(index_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
        PrintBlock(stdout, "index rebuild",
                   {{"file", *file},
                    {"index", index_path},
                    {"events", Cat(index->facts.events)},
                    {"covered", Cat(index->facts.covered_bytes, " bytes")},
                    {"entries", Cat(index->entries.size())},
                    {"validated", index->facts.validated ? "yes" : "no (run traceframe verify)"},
                    {"index_size", Cat(index_size, " bytes")}});
        return kExitOk;
      };
    });
  }
  // ---- index check
  {
    auto* cmd = group->add_subcommand(
        "check", "Compare the index with a fresh scan of the trace (exit 1 unless ok or stale)");
    auto file = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->add_flag("--json", *json, "Print the result as JSON");
    cmd->callback([=, &action] {
      action = [=]() -> int {
        IndexBuildOptions options;
        ProgressLine progress(Cat("checking ", *file));
        options.progress = progress.Callback();
        absl::StatusOr<IndexCheckReport> report = CheckIndex(*file, options);
        progress.Clear();
        if (!report.ok()) return ReportError(report.status());
        // A stale index is correct for what it covers; readers extend it.
        const bool pass = report->ok() || report->state == IndexState::kStale;
        if (*json) {
          WriteStdout(CheckJson(*report));
        } else {
          std::vector<Field> fields = {{"file", *file},
                                       {"index", report->index_path},
                                       {"state", std::string(IndexStateName(report->state))}};
          if (!report->detail.empty()) fields.push_back({"detail", report->detail});
          if (report->stored) {
            fields.push_back({"events", Cat(report->stored->facts.events)});
            fields.push_back({"covered", Covered(*report->stored, report->trace_bytes)});
            fields.push_back({"entries", Cat(report->stored->entries.size())});
          }
          if (!pass) {
            fields.push_back({"next", Cat("traceframe index rebuild --file ", *file)});
          }
          PrintBlock(stdout, "index check", fields);
        }
        return pass ? kExitOk : kExitFailed;
      };
    });
  }
}

const CommandGroup kIndexCommands(60, {"index"}, Install);

}  // namespace
}  // namespace traceframe::cli
