// `traceframe stats` and `traceframe compare`: many runs turned into figures
// with their n and 95% intervals, and a verdict on whether a candidate harness
// is better than a baseline (docs/compare.md). Runs come from the ledger;
// per-tool figures come from one parallel pass over the selected traces.
// All functions are thread-safe (no shared state).
#ifndef TRACEFRAME_COMPARE_H_
#define TRACEFRAME_COMPARE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/ledger.h"

namespace traceframe {

// Token usage of one run, OpenTelemetry GenAI convention (docs/format.md, "Token usage"): input
// includes cached input, output includes reasoning.
struct RunUsage {
  uint64_t input_tokens = 0;
  uint64_t cached_input_tokens = 0;  // cache_read_input_tokens
  uint64_t output_tokens = 0;
  uint64_t reasoning_tokens = 0;
};

// One run as stats/compare see it: the ledger entry's facts.
struct RunFacts {
  std::string run_id;
  std::string trace_path;
  std::string status;
  std::string source;  // the host that produced the run, "" when unknown
  std::map<std::string, std::string> labels;
  std::vector<std::string> models;
  int64_t started_ms = 0;
  std::optional<int64_t> duration_ms;  // nullopt while the run is open
  uint64_t model_calls = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_failures = 0;
  uint64_t errors = 0;
  uint64_t deviations = 0;
  std::optional<RunUsage> usage;  // nullopt: the trace records no usage
};

RunFacts RunFactsFromLedger(const LedgerEntry& entry);

// Per-tool facts of one run, read from its tool.call / tool.result events.
struct ToolFacts {
  uint64_t calls = 0;
  uint64_t results = 0;
  uint64_t failures = 0;
  std::vector<double>
      latencies_ms;  // one per result: payload duration_ms, else result ts - call ts
  std::map<std::string, uint64_t> errors;  // error text of failed results -> count
};

struct RunToolFacts {
  std::map<std::string, ToolFacts> tools;
  uint64_t denies = 0;  // permission.decision events that deny
  // model.call events with "operation": "compaction" (how import records a
  // host's context compaction, docs/import.md).
  uint64_t compactions = 0;
};

// One parallel pass over `paths` (threads: 0 = all cores). A trace that
// cannot be read yields empty facts and a note in *unreadable (may be null).
// `progress`, when set, is called with (traces done, traces in all), one call
// at a time, from the pass's threads.
std::vector<RunToolFacts> ReadToolFacts(
    const std::vector<std::string>& paths, int threads, std::vector<std::string>* unreadable,
    const std::function<void(uint64_t done, uint64_t total)>& progress = nullptr);

// A selection: `K=V[,K=V...]` over run labels, a directory of traces, or a
// ledger file. A text naming an existing directory or file is a path.
struct Selection {
  enum class Kind { kLabels, kDirectory, kLedger };
  Kind kind = Kind::kLabels;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string path;
  std::string text;  // as given, for messages
};

// Errors (InvalidArgument): empty text, a part without '=' or with an empty key.
absl::StatusOr<Selection> ParseSelection(std::string_view text);

bool MatchesLabels(const RunFacts& run,
                   const std::vector<std::pair<std::string, std::string>>& labels);

// The runs of a directory: its ledger (dir/ledger.traceframe) rebuilt first
// (O(1) per closed trace with the sidecar index), or of a ledger file as is.
// `ledger` empty: dir/ledger.traceframe. Unreadable traces are skipped and
// named in *warnings (may be null).
absl::StatusOr<std::vector<RunFacts>> LoadRunsFromDirectory(const std::string& dir,
                                                            const std::string& ledger,
                                                            std::vector<std::string>* warnings);
absl::StatusOr<std::vector<RunFacts>> LoadRunsFromLedger(const std::string& path);

// Per-model prices in US dollars per million tokens (docs/compare.md,
// examples/prices.json): {"models": {"NAME": {"input": x, "cached_input": y,
// "output": z}}}. cached_input defaults to input.
struct ModelPrice {
  double input = 0;
  double cached_input = 0;
  double output = 0;
};
using PriceTable = std::map<std::string, ModelPrice>;
absl::StatusOr<PriceTable> ParsePrices(std::string_view json);

struct CompareOptions {
  std::string success_status = "success";
  std::string pair_by;  // label key; empty: independent sets
  const PriceTable* prices = nullptr;
  int threads = 0;
  bool tools = true;  // the per-tool table (one pass over the traces)
  // Called with (traces read, traces in all) during the per-tool pass, the
  // one that reads every trace (the CLI draws it on a terminal).
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

// The report of `compare` as its --json document (docs/compare.md, the
// contract), its text and its HTML page.
struct CompareReport {
  std::string json;
  std::string text;
  std::string html;
};
CompareReport BuildCompareReport(const std::vector<RunFacts>& baseline,
                                 const std::vector<RunFacts>& candidate,
                                 const CompareOptions& options);

struct StatsOptions {
  std::string success_status = "success";
  std::string group_by;  // label key; empty: one group
  const PriceTable* prices = nullptr;
  int threads = 0;
  bool tools = true;
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;  // as CompareOptions'
};
struct StatsReport {
  std::string json;
  std::string text;
};
StatsReport BuildStatsReport(const std::vector<RunFacts>& runs, const StatsOptions& options);

// Writes a report (the --html page) atomically: temp file + rename.
absl::Status WriteReportFile(const std::string& path, std::string_view contents);

// `--fail-if`: evaluates `expression` against the JSON document `json`
// (docs/compare.md, "The --fail-if language"). Grammar:
//   expr := and ('||' and)* ; and := unary ('&&' unary)* ;
//   unary := '!' unary | '(' expr ')' | operand [cmp operand] ;
//   cmp := '<' | '<=' | '>' | '>=' | '==' | '!=' ;
//   operand := number | 'null' | path ; path := name ('.' (name | index))*
// A path names a field of the document (an array element by its index); a
// number compares numerically, a boolean as 0/1. A comparison involving null
// (a figure with no data, e.g. a rate of 0 runs) is false, except `== null`
// and `!= null`. Errors (InvalidArgument): a syntax error, a path the
// document does not have, a path naming a string, object or array.
absl::StatusOr<bool> EvaluateFailIf(std::string_view expression, std::string_view json);

}  // namespace traceframe

#endif  // TRACEFRAME_COMPARE_H_
