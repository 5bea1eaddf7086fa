// stats, compare: benchmark-driven harness tuning (docs/compare.md). Parses
// arguments, loads the selected runs through the engine, prints a report.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli.h"
#include "progress.h"
#include "traceframe/compare.h"

namespace traceframe::cli {
namespace {

constexpr char kDefaultRuns[] = ".traceframe/runs";
constexpr char kDefaultLedger[] = ".traceframe/ledger.traceframe";

struct Sources {
  std::vector<std::string> dirs;
  std::string ledger;
};

void Warn(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

// The pool label selections draw from: --ledger F as is, else every --dir D
// (its ledger rebuilt), else the default runs directory and ledger.
absl::StatusOr<std::vector<RunFacts>> LoadPool(const Sources& sources) {
  if (!sources.ledger.empty()) return LoadRunsFromLedger(sources.ledger);
  std::vector<std::string> warnings;
  std::vector<RunFacts> pool;
  if (sources.dirs.empty()) {
    auto runs = LoadRunsFromDirectory(kDefaultRuns, kDefaultLedger, &warnings);
    if (!runs.ok()) return runs.status();
    pool = std::move(*runs);
  }
  for (const std::string& dir : sources.dirs) {
    auto runs = LoadRunsFromDirectory(dir, "", &warnings);
    if (!runs.ok()) return runs.status();
    pool.insert(pool.end(), runs->begin(), runs->end());
  }
  Warn(warnings);
  return pool;
}

// The runs of one selection; `pool` is loaded on first need and shared.
absl::StatusOr<std::vector<RunFacts>> Select(const std::string& text, const Sources& sources,
                                             std::optional<std::vector<RunFacts>>* pool) {
  absl::StatusOr<Selection> sel = ParseSelection(text);
  if (!sel.ok()) return sel.status();
  if (sel->kind == Selection::Kind::kLedger) return LoadRunsFromLedger(sel->path);
  if (sel->kind == Selection::Kind::kDirectory) {
    std::vector<std::string> warnings;
    auto runs = LoadRunsFromDirectory(sel->path, "", &warnings);
    Warn(warnings);
    return runs;
  }
  if (!pool->has_value()) {
    auto loaded = LoadPool(sources);
    if (!loaded.ok()) return loaded.status();
    *pool = std::move(*loaded);
  }
  std::vector<RunFacts> out;
  for (const RunFacts& r : **pool) {
    if (MatchesLabels(r, sel->labels)) out.push_back(r);
  }
  return out;
}

absl::StatusOr<std::optional<PriceTable>> LoadPrices(const std::string& path) {
  if (path.empty()) return std::optional<PriceTable>();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot read prices file ", path));
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  absl::StatusOr<PriceTable> table = ParsePrices(text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", table.status().message()));
  }
  return std::optional<PriceTable>(std::move(*table));
}

void AddSourceOptions(CLI::App* cmd, Sources& sources) {
  cmd->add_option("--dir", sources.dirs,
                  "Directory of traces (repeatable); its ledger is rebuilt first")
      ->excludes(cmd->add_option("--ledger", sources.ledger, "Ledger file to read as is"));
}

void InstallCompare(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "compare", "Compare a baseline and a candidate set of runs (docs/compare.md)");
  struct Args {
    Sources sources;
    std::string baseline, candidate, pair_by, prices, fail_if, html;
    std::string success_status = "success";
    bool json = false, no_tools = false;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--baseline", args->baseline,
                  "Selection A: K=V[,K=V...], a directory or a ledger")
      ->required();
  cmd->add_option("--candidate", args->candidate, "Selection B, same forms")->required();
  AddSourceOptions(cmd, args->sources);
  cmd->add_option("--pair-by", args->pair_by,
                  "Label key pairing the runs of both sets (e.g. task)");
  cmd->add_option("--prices", args->prices, "JSON file of per-model prices per million tokens");
  cmd->add_option("--success-status", args->success_status,
                  "run.finished status that counts as success")
      ->capture_default_str();
  cmd->add_option("--fail-if", args->fail_if,
                  "Exit 1 when this expression over the --json fields is true (2: bad expression)");
  cmd->add_flag("--json", args->json, "Print the JSON report (docs/compare.md)");
  cmd->add_option("--html", args->html, "Also write a self-contained HTML page here");
  cmd->add_flag("--no-tools", args->no_tools, "Skip the per-tool table (reads no trace file)");
  cmd->add_option("--threads", args->threads, "Threads for the per-tool pass (0: all cores)")
      ->check(NonNegative());
  cmd->callback([args, &action] {
    action = [args]() -> int {
      std::optional<std::vector<RunFacts>> pool;
      auto a = Select(args->baseline, args->sources, &pool);
      if (!a.ok()) return ReportError(absl::StrCat("--baseline: ", a.status().message()));
      auto b = Select(args->candidate, args->sources, &pool);
      if (!b.ok()) return ReportError(absl::StrCat("--candidate: ", b.status().message()));
      if (a->empty())
        return ReportError(absl::StrCat("--baseline ", args->baseline, " selects no runs"));
      if (b->empty()) {
        return ReportError(absl::StrCat("--candidate ", args->candidate, " selects no runs"));
      }
      auto prices = LoadPrices(args->prices);
      if (!prices.ok()) return ReportError(prices.status());
      CompareOptions options;
      options.success_status = args->success_status;
      options.pair_by = args->pair_by;
      options.prices = prices->has_value() ? &**prices : nullptr;
      options.threads = args->threads;
      options.tools = !args->no_tools;
      ProgressLine progress("compare: reading traces", "traces");
      options.progress = progress.Callback();
      CompareReport report = BuildCompareReport(*a, *b, options);
      progress.Clear();
      if (!args->html.empty()) {
        absl::Status written = WriteReportFile(args->html, report.html);
        if (!written.ok()) return ReportError(written);
      }
      WriteStdout(args->json ? report.json : report.text);
      if (args->fail_if.empty()) return kExitOk;
      absl::StatusOr<bool> fail = EvaluateFailIf(args->fail_if, report.json);
      if (!fail.ok()) {
        ReportError(fail.status());
        return kExitUsage;
      }
      if (*fail) {
        std::fprintf(stderr, "compare: --fail-if is true: %s\n", args->fail_if.c_str());
        return kExitFailed;
      }
      return kExitOk;
    };
  });
}

void InstallStats(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("stats", "Figures of a set of runs, per group with --group-by");
  struct Args {
    Sources sources;
    std::vector<std::string> where;
    std::string group_by, prices;
    std::string success_status = "success";
    bool json = false, no_tools = false;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  AddSourceOptions(cmd, args->sources);
  cmd->add_option("--where", args->where, "Keep runs whose label K equals V (repeatable: all)");
  cmd->add_option("--group-by", args->group_by, "Label key: one report per value");
  cmd->add_option("--prices", args->prices, "JSON file of per-model prices per million tokens");
  cmd->add_option("--success-status", args->success_status,
                  "run.finished status that counts as success")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the JSON report (docs/compare.md)");
  cmd->add_flag("--no-tools", args->no_tools, "Skip the per-tool table (reads no trace file)");
  cmd->add_option("--threads", args->threads, "Threads for the per-tool pass (0: all cores)")
      ->check(NonNegative());
  cmd->callback([args, &action] {
    action = [args]() -> int {
      std::vector<std::pair<std::string, std::string>> where;
      for (const std::string& w : args->where) {
        // Always labels here, even when a file of that name exists.
        const size_t eq = w.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::fprintf(stderr, "Error: --where %s: expected K=V\n", w.c_str());
          return kExitUsage;
        }
        where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
      }
      auto pool = LoadPool(args->sources);
      if (!pool.ok()) return ReportError(pool.status());
      std::vector<RunFacts> runs;
      for (RunFacts& r : *pool) {
        if (MatchesLabels(r, where)) runs.push_back(std::move(r));
      }
      auto prices = LoadPrices(args->prices);
      if (!prices.ok()) return ReportError(prices.status());
      StatsOptions options;
      options.success_status = args->success_status;
      options.group_by = args->group_by;
      options.prices = prices->has_value() ? &**prices : nullptr;
      options.threads = args->threads;
      options.tools = !args->no_tools;
      ProgressLine progress("stats: reading traces", "traces");
      options.progress = progress.Callback();
      StatsReport report = BuildStatsReport(runs, options);
      progress.Clear();
      WriteStdout(args->json ? report.json : report.text);
      return kExitOk;
    };
  });
}

void Install(CLI::App& app, Action& action) {
  InstallStats(app, action);
  InstallCompare(app, action);
}

const CommandGroup kStatsCommands(75, {"stats", "compare"}, Install);

}  // namespace
}  // namespace traceframe::cli
