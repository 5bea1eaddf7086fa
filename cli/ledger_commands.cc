// ledger rebuild, ledger list, ledger show, ledger export.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli.h"
#include "progress.h"
#include "traceframe/ledger.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

constexpr char kDefaultLedger[] = ".traceframe/ledger.traceframe";

std::string CurrentDirectory() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string();
}

void InstallRebuild(CLI::App& ledger, Action& action) {
  auto* cmd = ledger.add_subcommand("rebuild", "Catalog every *.traceframe under --dir into --out");
  auto options = std::make_shared<LedgerRebuildOptions>();
  auto strict = std::make_shared<bool>(false);
  cmd->add_option("--dir", options->dir, "Directory of traces (searched recursively)")
      ->capture_default_str();
  cmd->add_option("--out", options->out, "Ledger file to write (atomically)")
      ->capture_default_str();
  cmd->add_flag("--strict", *strict, "Exit 1 when any trace could not be read");
  cmd->add_option("--threads", options->threads, "Worker threads (0: all cores)")
      ->check(NonNegative());
  cmd->callback([=, &action] {
    action = [=]() -> int {
      LedgerRebuildOptions opts = *options;
      ProgressLine progress(Cat("ledger rebuild ", opts.dir));
      opts.progress = progress.Callback();
      absl::StatusOr<LedgerRebuildResult> result = RebuildLedger(opts);
      progress.Clear();
      if (!result.ok()) return ReportError(result.status());
      for (const std::string& path : result->ledgers) {
        std::fprintf(stderr, "note: %s holds a ledger, not a run; left out\n", path.c_str());
      }
      for (const SkippedTrace& s : result->skipped) {
        std::fprintf(stderr, "warning: skipped %s: %s\n", s.path.c_str(), s.reason.c_str());
      }
      PrintBlock(stdout, "ledger rebuild",
                 {{"dir", opts.dir},
                  {"out", opts.out},
                  {"entries", Cat(result->entries.size())},
                  {"torn", Cat(result->torn)},
                  {"skipped", Cat(result->skipped.size())}});
      if (*strict && !result->skipped.empty()) {
        return ReportError(Cat(result->skipped.size(),
                               " trace(s) could not be read (listed above); --strict fails the "
                               "rebuild (the ledger holds the readable ones)"));
      }
      return kExitOk;
    };
  });
}

void InstallList(CLI::App& ledger, Action& action) {
  auto* cmd = ledger.add_subcommand("list", "List the runs in a ledger");
  auto file = std::make_shared<std::string>(kDefaultLedger);
  auto status = std::make_shared<std::string>();
  auto has_status = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  auto classic = std::make_shared<bool>(false);
  cmd->add_option("--file", *file, "Ledger file")->capture_default_str();
  cmd->add_option_function<std::string>(
      "--status",
      [status, has_status](const std::string& s) {
        *status = s;
        *has_status = true;
      },
      "Only runs with this status (exact match)");
  cmd->add_flag("--json", *json, "Print {\"file\",\"status\",\"entries\":[ledger entries]}");
  cmd->add_flag("--classic", *classic,
                "The earlier tool's fixed-width table in ledger order, paths as stored (a "
                "compatibility format for scripts)");
  cmd->callback([=, &action] {
    action = [=]() -> int {
      absl::StatusOr<std::vector<LedgerEntry>> entries = ReadLedger(*file);
      if (!entries.ok()) return ReportError(entries.status());
      std::vector<LedgerEntry> shown;
      for (LedgerEntry& e : *entries) {
        if (!*has_status || e.status == *status) shown.push_back(std::move(e));
      }
      if (*json) {
        WriteStdout(FormatLedgerListJson(
            *file, *has_status ? std::optional<std::string>(*status) : std::nullopt, shown));
      } else if (*classic) {
        WriteStdout(FormatLedgerList(shown));
      } else {
        WriteStdout(FormatLedgerTable(shown, CurrentDirectory()));
      }
      return kExitOk;
    };
  });
}

void InstallShow(CLI::App& ledger, Action& action) {
  auto* cmd = ledger.add_subcommand("show", "Show one run of a ledger (every trace with that id)");
  auto file = std::make_shared<std::string>(kDefaultLedger);
  auto run_id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--file", *file, "Ledger file")->capture_default_str();
  cmd->add_option("--run-id", *run_id, "Run id")->required();
  cmd->add_flag("--json", *json, "Print {\"file\",\"run_id\",\"entries\":[ledger entries]}");
  cmd->callback([=, &action] {
    action = [=]() -> int {
      absl::StatusOr<std::vector<LedgerEntry>> entries = ReadLedger(*file);
      if (!entries.ok()) return ReportError(entries.status());
      const std::vector<LedgerEntry> found = FindLedgerEntries(*entries, *run_id);
      if (found.empty()) {
        return ReportError(Cat("run not found in ledger: ", *run_id, " (ledger ", *file,
                               "; run `traceframe ledger rebuild` if the run is newer)"));
      }
      if (*json) {
        WriteStdout(FormatLedgerShowJson(*file, *run_id, found));
        return kExitOk;
      }
      if (found.size() > 1) {
        std::fprintf(stderr, "note: run id %s is in %zu traces; all are shown\n", run_id->c_str(),
                     found.size());
      }
      std::string out;
      for (size_t i = 0; i < found.size(); ++i) {
        if (i) out.push_back('\n');
        out.append(FormatLedgerShow(found[i]));
      }
      WriteStdout(out);
      return kExitOk;
    };
  });
}

// The renamed earlier tool's `ledger export --jsonl`: the ledger's entries
// one per line, in the stable shape of docs/ledger.md.
void InstallExport(CLI::App& ledger, Action& action) {
  auto* cmd = ledger.add_subcommand("export", "Print the ledger's entries (--jsonl: one per line)");
  auto file = std::make_shared<std::string>(kDefaultLedger);
  auto jsonl = std::make_shared<bool>(false);
  auto status = std::make_shared<std::string>();
  auto has_status = std::make_shared<bool>(false);
  cmd->add_option("--file", *file, "Ledger file")->capture_default_str();
  cmd->add_flag("--jsonl", *jsonl, "JSON lines, one entry per line (docs/ledger.md)");
  cmd->add_option_function<std::string>(
      "--status",
      [status, has_status](const std::string& s) {
        *status = s;
        *has_status = true;
      },
      "Only runs with this status (exact match)");
  cmd->callback([=, &action] {
    if (!*jsonl)
      throw CLI::ValidationError("--jsonl", "pass --jsonl (only supported export format)");
    action = [=]() -> int {
      absl::StatusOr<std::vector<LedgerEntry>> entries = ReadLedger(*file);
      if (!entries.ok()) return ReportError(entries.status());
      std::string out;
      for (const LedgerEntry& e : *entries) {
        if (*has_status && e.status != *status) continue;
        Append(&out, LedgerEntryJson(e), "\n");
      }
      WriteStdout(out);
      return kExitOk;
    };
  });
}

void Install(CLI::App& app, Action& action) {
  auto* ledger = app.add_subcommand("ledger", "A derived catalog of the runs in a directory");
  ledger->require_subcommand(1);
  InstallRebuild(*ledger, action);
  InstallList(*ledger, action);
  InstallShow(*ledger, action);
  InstallExport(*ledger, action);
}

const CommandGroup kLedgerCommands(70, {"ledger"}, Install);

}  // namespace
}  // namespace traceframe::cli
