// export --format otlp-json: traces as OpenTelemetry requests (docs/otel.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "traceframe/export.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

void Install(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "export", "Write traces as OTLP/JSON, one ExportTraceServiceRequest per trace per line");
  auto format = std::make_shared<std::string>();
  auto options = std::make_shared<OtlpExportOptions>();
  cmd->add_option("--format", *format, "Output format (otlp-json)")
      ->required()
      ->check(CLI::IsMember({"otlp-json"}));
  auto* files = cmd->add_option("--file", options->files, "Trace file (repeatable)");
  auto* dirs =
      cmd->add_option("--dir", options->dirs, "Directory of traces (searched recursively)");
  files->excludes(dirs);
  cmd->add_option("--out", options->out,
                  "File to write (atomically: temp + rename); default stdout");
  cmd->callback([=, &action] {
    if (options->files.empty() && options->dirs.empty()) {
      throw CLI::ValidationError("export", "give --file F ... or --dir D");
    }
    action = [=]() -> int {
      absl::StatusOr<OtlpExportResult> result = ExportOtlpJson(*options);
      if (!result.ok()) return ReportError(result.status());
      uint64_t spans = 0, torn = 0, open = 0;
      for (const OtlpTraceStats& t : result->traces) {
        spans += t.spans;
        if (t.torn) {
          ++torn;
          std::fprintf(stderr,
                       "warning: %s: torn tail of %llu bytes at byte %llu left out (run "
                       "`traceframe repair`)\n",
                       t.path.c_str(), static_cast<unsigned long long>(t.torn->length),
                       static_cast<unsigned long long>(t.torn->offset));
        }
        if (t.dropped_span_events > 0) {
          std::fprintf(stderr, "warning: %s: %llu span events over the cap of %zu dropped\n",
                       t.path.c_str(), static_cast<unsigned long long>(t.dropped_span_events),
                       kOtlpMaxRunSpanEvents);
        }
        if (t.open) ++open;
      }
      for (const OtlpExportFailure& f : result->failed) {
        std::fprintf(stderr, "Error: failed to export %s\n",
                     std::string(f.status.message()).c_str());
      }
      // With --out the data is in the file and stdout gets the summary;
      // without, stdout is the data and the summary would corrupt it.
      if (!options->out.empty()) {
        PrintBlock(stdout, "export",
                   {{"format", *format},
                    {"out", options->out},
                    {"traces", Cat(result->traces.size())},
                    {"spans", Cat(spans)},
                    {"open", Cat(open)},
                    {"torn", Cat(torn)},
                    {"failed", Cat(result->failed.size())},
                    {"bytes", Cat(result->bytes)},
                    {"schema", std::string(kOtlpSchemaUrl)}});
      }
      return result->failed.empty() ? kExitOk : kExitFailed;
    };
  });
}

const CommandGroup kExportCommands(85, {"export"}, Install);

}  // namespace
}  // namespace traceframe::cli
