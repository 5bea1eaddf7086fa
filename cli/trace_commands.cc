// init, record, finish, verify, summary, inspect, repair.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli.h"
#include "progress.h"
#include "stream_commands.h"
#include "traceframe/event.h"
#include "traceframe/inspect.h"
#include "traceframe/json.h"
#include "traceframe/repair.h"
#include "traceframe/run_status.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/usage.h"
#include "traceframe/verify.h"
#include "traceframe/writer.h"

namespace traceframe::cli {
namespace {

std::string Abbreviate(std::string_view text, size_t max = 120) {
  if (text.size() <= max) return std::string(text);
  return Cat(text.substr(0, max), "... (", text.size(), " bytes)");
}

// Reads a payload given inline, or from a file ("-" is stdin).
absl::StatusOr<std::string> LoadPayloadText(const std::string& inline_text,
                                            const std::string& file) {
  if (file.empty()) return inline_text;
  struct stat st;
  if (file != "-" && ::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        Cat("--payload-file ", file, " is a directory; give the file that holds the JSON payload"));
  }
  FILE* in = file == "-" ? stdin : std::fopen(file.c_str(), "rb");
  if (in == nullptr) {
    return absl::NotFoundError(
        Cat("failed to read payload file ", file, ": ", std::strerror(errno)));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), in)) > 0) text.append(buf, n);
  const bool failed = std::ferror(in) != 0;
  const int err = errno;
  if (in != stdin) std::fclose(in);
  if (failed) {
    return absl::DataLossError(Cat("failed to read payload file ", file == "-" ? "(stdin)" : file,
                                   ": ", std::strerror(err)));
  }
  return text;
}

void Install(CLI::App& app, Action& action) {
  // ---- init
  {
    auto* cmd = app.add_subcommand("init", "Create a trace file holding its run.started event");
    auto file = std::make_shared<std::string>();
    auto run_id = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto label_args = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--file", *file, "Trace file to create")->required();
    cmd->add_option("--run-id", *run_id, "Run id recorded in every event")->required();
    cmd->add_flag("--force", *force, "Atomically replace an existing trace");
    AddLabelOption(cmd, label_args.get());
    cmd->callback([=, &action] {
      // Every event carries the run id, and ledgers, compare and stats
      // group runs by it: a blank one makes the run anonymous.
      if (absl::StripAsciiWhitespace(*run_id).empty()) {
        throw CLI::ValidationError("--run-id",
                                   "must not be empty (name the run, e.g. --run-id "
                                   "fix-login-bug)");
      }
      const Labels labels = ParseLabelsOrThrow(*label_args);
      action = [=] {
        absl::StatusOr<AppendResult> result =
            InitTrace(*file, *run_id,
                      DefaultStartedPayload(
                          labels.empty() ? std::string() : Cat("\"labels\":", LabelsJson(labels))),
                      *force);
        if (!result.ok()) return ReportError(result.status());
        PrintBlock(stdout, "init", {{"file", *file}, {"run_id", *run_id}, {"status", "started"}});
        return kExitOk;
      };
    });
  }
  // ---- record
  {
    auto* cmd = app.add_subcommand("record", "Append one event to a trace");
    auto file = std::make_shared<std::string>();
    auto kind = std::make_shared<std::string>();
    auto payload = std::make_shared<std::string>();
    auto payload_file = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Trace file")->required();
    auto* kind_opt = cmd->add_option("--kind", *kind,
                                     "model.call, tool.call, tool.result, permission.decision, "
                                     "error, agent.guess, plan.deviation or run.finished");
    auto* inline_opt = cmd->add_option("--payload", *payload, "Event payload (any JSON value)");
    auto* file_opt = cmd->add_option("--payload-file", *payload_file,
                                     "Read the payload from a file ('-' for stdin)");
    inline_opt->excludes(file_opt);
    // --stream and its options (cli/stream_commands.cc).
    auto stream = std::make_shared<StreamFlags>();
    AddStreamOptions(cmd, stream.get(), {kind_opt, inline_opt, file_opt});
    cmd->callback([=, &action] {
      action = [=]() -> int {
        if (stream->enabled) return RunRecordStream(*file, *stream);
        if (kind->empty()) {
          ReportError("record needs --kind KIND (or --stream)");
          return kExitUsage;
        }
        absl::StatusOr<EventKind> parsed = ParseEventKindOrError(*kind);
        if (!parsed.ok()) return ReportError(parsed.status());
        if (*parsed == EventKind::kRunStarted) {
          return ReportError("run.started is created by traceframe init");
        }
        if (payload->empty() && payload_file->empty()) {
          return ReportError("pass --payload JSON or --payload-file PATH");
        }
        absl::StatusOr<std::string> text = LoadPayloadText(*payload, *payload_file);
        if (!text.ok()) return ReportError(text.status());
        // The library's payload contract (event.h): one JSON value, no
        // repeated keys, run.finished with a string status, usage in its
        // convention.
        absl::StatusOr<std::string> json = CanonicalEventPayload(*parsed, *text);
        if (!json.ok()) {
          return ReportError(Cat(json.status().message(), " (payload: ", Abbreviate(*text), ")"));
        }
        absl::StatusOr<AppendedEvent> appended = AppendEvent(*file, *parsed, *json);
        if (!appended.ok()) return ReportError(appended.status());
        PrintBlock(stdout, "record",
                   {{"file", *file}, {"kind", *kind}, {"seq", Cat(appended->seq)}});
        return kExitOk;
      };
    });
  }
  // ---- finish
  {
    auto* cmd = app.add_subcommand("finish", "Close a trace with run.finished");
    auto file = std::make_shared<std::string>();
    auto status = std::make_shared<std::string>("success");
    auto summary = std::make_shared<std::optional<std::string>>();
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->add_option("--status", *status,
                    Cat("Final status: ", KnownRunStatusList(),
                        " (another word is recorded as given, with a warning)"))
        ->capture_default_str();
    cmd->add_option_function<std::string>(
        "--summary", [summary](const std::string& s) { *summary = s; }, "One-line summary");
    cmd->callback([=, &action] {
      action = [=] {
        std::string payload;
        JsonObjectWriter w(&payload);
        w.String("status", *status);
        if (*summary) w.String("summary", **summary);
        w.Finish();
        absl::StatusOr<AppendedEvent> appended =
            AppendEvent(*file, EventKind::kRunFinished, payload);
        if (!appended.ok()) return ReportError(appended.status());
        PrintBlock(stdout, "finish",
                   {{"file", *file}, {"status", *status}, {"seq", Cat(appended->seq)}});
        if (!IsKnownRunStatus(*status)) {
          // Recorded as given (the status is free text), but a typo would
          // silently count as a failure in stats and compare, and the OTLP
          // export cannot tell what it means.
          WriteStderr(Cat("warning: status \"", *status, "\" is not one of ", KnownRunStatusList(),
                          "; it is recorded as given (check the spelling: readers such as "
                          "stats, compare and export know only these words)\n"));
        }
        return kExitOk;
      };
    });
  }
  // ---- verify
  {
    auto* cmd =
        app.add_subcommand("verify", "Check a trace: strict JSON, schema and run invariants");
    auto file = std::make_shared<std::string>();
    auto options = std::make_shared<VerifyOptions>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->add_flag("--allow-open", options->allow_open, "Accept a trace without run.finished");
    cmd->add_flag("--strict", options->strict,
                  "Fail on warnings too (seq gaps, ts going backwards, a second run.started, "
                  "duplicate event ids, run.finished without status)");
    cmd->add_option("--threads", options->threads, "Threads for large traces (0: all cores)")
        ->check(NonNegative());
    cmd->add_option("--max-errors", options->max_issues, "How many findings to list")
        ->check(NonNegative())
        ->capture_default_str();
    cmd->add_flag("--json", *json, "Print the report as JSON");
    cmd->callback([=, &action] {
      action = [=] {
        VerifyOptions opts = *options;
        ProgressLine progress(Cat("verifying ", *file));
        opts.progress = progress.Callback();
        absl::StatusOr<VerifyReport> report = VerifyTrace(*file, opts);
        progress.Clear();
        if (!report.ok()) return ReportError(report.status());
        if (*json) {
          WriteStdout(FormatVerifyJson(*report));
          return report->valid ? kExitOk : kExitFailed;
        }
        // The verdict first: the action block of a valid trace, or the
        // headline error; details and warnings follow it.
        if (report->valid) {
          PrintBlock(stdout, "verify",
                     {{"file", *file},
                      {"result", options->allow_open ? "valid open trace" : "valid trace"},
                      {"events", Cat(report->events)}});
        }
        WriteStderr(FormatVerifyFindings(*report, *options));
        return report->valid ? kExitOk : kExitFailed;
      };
    });
  }
  // ---- summary
  {
    auto* cmd = app.add_subcommand("summary", "Print a run's status and counts");
    auto file = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->add_flag("--json", *json, "Print the summary as JSON");
    cmd->callback([=, &action] {
      action = [=] {
        // Quick with a current index; a pass over the trace otherwise.
        SummaryOptions options;
        ProgressLine progress(Cat("reading ", *file));
        options.progress = progress.Callback();
        absl::StatusOr<TraceSummary> summary = SummarizeTrace(*file, options);
        progress.Clear();
        if (!summary.ok()) return ReportError(summary.status());
        WriteStdout(*json ? FormatSummaryJson(*summary) + "\n" : FormatSummaryText(*summary));
        return kExitOk;
      };
    });
  }
  // ---- inspect
  {
    auto* cmd = app.add_subcommand("inspect", "List the events of a trace");
    auto file = std::make_shared<std::string>();
    auto kind = std::make_shared<std::string>();
    auto from_seq = std::make_shared<std::optional<uint64_t>>();
    auto limit = std::make_shared<std::optional<uint64_t>>();
    auto tail = std::make_shared<std::optional<uint64_t>>();
    auto json = std::make_shared<bool>(false);
    auto wide = std::make_shared<bool>(false);
    auto classic = std::make_shared<bool>(false);
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->add_option("--kind", *kind, "Only events of this kind");
    cmd->add_option_function<uint64_t>(
           "--from-seq", [from_seq](const uint64_t& v) { *from_seq = v; },
           "Start at this seq (binary search, no full scan)")
        ->check(NonNegative());
    cmd->add_option_function<uint64_t>(
           "--limit", [limit](const uint64_t& v) { *limit = v; },
           "At most this many events (with --from-seq: a page; with --tail: the first of the last "
           "N)")
        ->check(NonNegative());
    cmd->add_option_function<uint64_t>(
           "--tail", [tail](const uint64_t& v) { *tail = v; },
           "Only the last N matching events (read from the end; with --from-seq, the last N at or "
           "after it)")
        ->check(NonNegative());
    cmd->add_flag("--wide", *wide, "Show every payload whole (by default cut to one short line)");
    cmd->add_flag("--classic", *classic,
                  "The earlier tool's line format, #SEQ KIND run=ID event=ID payload=JSON (a "
                  "compatibility format for scripts)");
    cmd->add_flag("--json", *json, "Print the matching event lines as stored (JSON lines)");
    cmd->callback([=, &action] {
      action = [=]() -> int {
        InspectOptions options;
        if (!kind->empty()) {
          absl::StatusOr<EventKind> parsed = ParseEventKindOrError(*kind);
          if (!parsed.ok()) return ReportError(parsed.status());
          options.kind = *parsed;
        }
        options.from_seq = *from_seq;
        options.limit = *limit;
        options.tail = *tail;
        std::string buffer;
        auto flush = [&buffer] {
          WriteStdout(buffer);
          buffer.clear();
        };
        absl::StatusOr<InspectResult> result =
            InspectTrace(*file, options, [&](const EventView& e) {
              if (*json) {
                buffer.append(e.line);
              } else if (*classic) {
                buffer.append(FormatInspectLine(e));
              } else {
                buffer.append(FormatInspectRow(e, *wide));
              }
              buffer.push_back('\n');
              if (buffer.size() > (1 << 16)) flush();
            });
        flush();
        if (!result.ok()) return ReportError(result.status());
        if (result->torn_tail) {
          std::fprintf(stderr,
                       "warning: %s ends in a torn line at byte %llu (%llu bytes); run "
                       "`traceframe repair --file %s`\n",
                       file->c_str(), static_cast<unsigned long long>(result->torn_tail->offset),
                       static_cast<unsigned long long>(result->torn_tail->length), file->c_str());
        }
        return kExitOk;
      };
    });
  }
  // ---- repair
  {
    auto* cmd = app.add_subcommand(
        "repair", "Move a torn tail (a write cut short by a crash) aside so the trace is usable");
    auto file = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Trace file")->required();
    cmd->callback([=, &action] {
      action = [=] {
        absl::StatusOr<RepairReport> report = RepairTrace(*file);
        if (!report.ok()) return ReportError(report.status());
        std::vector<Field> fields = {{"file", *file}};
        if (report->repaired) {
          fields.push_back({"result", "repaired"});
          fields.push_back({"torn_at", Cat("byte ", report->torn_offset)});
          fields.push_back({"torn_bytes", Cat(report->torn_length)});
          fields.push_back({"moved_to", report->saved_path});
        } else {
          fields.push_back({"result", "nothing to repair (no torn tail)"});
        }
        fields.push_back({"events", Cat(report->verify.events)});
        fields.push_back(
            {"verify", report->verify.valid
                           ? "valid open trace"
                           : Cat("still invalid: ", DescribeIssue(report->verify.errors.front()))});
        PrintBlock(stdout, "repair", fields);
        return report->verify.valid ? kExitOk : kExitFailed;
      };
    });
  }
}

const CommandGroup kTraceCommands(
    10, {"init", "record", "finish", "verify", "summary", "inspect", "repair"}, Install);

}  // namespace
}  // namespace traceframe::cli
